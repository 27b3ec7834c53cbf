#include "web/serve.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "core/mime.h"
#include "core/config.h"
#include "io/db.h"
#include "io/http.h"
#include "web/listen_guard.h"
#include "web/stream.h"

#define IW_REQUEST_ID_MAX 64

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 302: return "Found";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 507: return "Insufficient Storage";
	default: return "Status";
	}
}

int iw_error(struct iw_response *resp, int status, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_object *body = json_object_new_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (resp->body)
		json_object_put(resp->body);
	free(resp->raw);
	resp->raw = NULL;
	resp->content_type = NULL;
	resp->body = body;
	resp->status = status;
	resp->error_code = code;
	if (body) {
		json_object_object_add(body, "ok", json_object_new_boolean(0));
		json_object_object_add(body, "error", json_object_new_string(code));
		json_object_object_add(body, "message", json_object_new_string(msg));
	}
	return status;
}

int iw_ok(struct iw_response *resp, json_object *body)
{
	json_object *out = json_object_new_object();

	if (!out) {
		json_object_put(body);
		return iw_error(resp, 500, "internal_error", "out of memory");
	}
	json_object_object_add(out, "ok", json_object_new_boolean(1));
	if (body) {
		json_object_object_foreach(body, key, val) {
			if (strcmp(key, "ok") != 0)
				json_object_object_add(out, key, json_object_get(val));
		}
		json_object_put(body);
	}
	if (resp->body)
		json_object_put(resp->body);
	resp->body = out;
	resp->status = 200;
	return 200;
}

int iw_raw(struct iw_response *resp, int status, const char *content_type, char *data, size_t len)
{
	if (resp->body)
		json_object_put(resp->body);
	resp->body = NULL;
	free(resp->raw);
	resp->raw = data;
	resp->raw_len = len;
	resp->content_type = content_type;
	resp->status = status;
	return status;
}

int iw_header(struct iw_response *resp, const char *name, const char *value)
{
	size_t room = sizeof resp->headers - resp->headers_len;
	int n;

	/* Header injection guard: no CR/LF in names or values. */
	if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
		return -1;
	n = snprintf(resp->headers + resp->headers_len, room, "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= room) {
		resp->headers[resp->headers_len] = '\0';
		return -1;
	}
	resp->headers_len += (size_t)n;
	return 0;
}

const char *iw_param(const struct iw_request *req, const char *name)
{
	return FCGX_GetParam(name, req->fcgi->envp);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int iw_form_get(const char *form, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);

	for (const char *p = form; p && *p;) {
		const char *end = strchr(p, '&');
		size_t seglen = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', seglen);

		if ((eq ? (size_t)(eq - p) : seglen) == klen && strncmp(p, key, klen) == 0) {
			const char *v = eq ? eq + 1 : p + seglen;
			const char *vend = p + seglen;
			size_t o = 0;
			for (; v < vend; v++) {
				int c = (unsigned char)*v;
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					int hi, lo;
					if (vend - v < 3 || (hi = hexval(v[1])) < 0 || (lo = hexval(v[2])) < 0)
						return -1;
					c = hi * 16 + lo;
					v += 2;
				}
				if (c == 0 || o + 1 >= outlen)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

int iw_query_get(const struct iw_request *req, const char *key, char *out, size_t outlen)
{
	return iw_form_get(req->query, key, out, outlen);
}

int iw_query_args(const struct iw_request *req, const struct iw_field *fields, json_object **args,
		  char *msg, size_t msglen)
{
	return iw_form_args(req->query, fields, args, msg, msglen);
}

int iw_form_args(const char *form, const struct iw_field *fields, json_object **args, char *msg,
		 size_t msglen)
{
	json_object *given = json_object_new_object();
	char value[IW_QUERY_VALUE_MAX + 1];
	int rc;

	*args = NULL;
	if (!given) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (const struct iw_field *f = fields; f->name; f++) {
		int r = iw_form_get(form, f->name, value, sizeof value);
		if (r < 0) {
			snprintf(msg, msglen, "%s: malformed or longer than %d bytes (?%s=)", f->name,
				 IW_QUERY_VALUE_MAX, f->name);
			json_object_put(given);
			return -1;
		}
		if (r == 1 && value[0])
			json_object_object_add(given, f->name, json_object_new_string(value));
	}
	rc = iw_validate(given, fields, args, msg, msglen);
	json_object_put(given);
	return rc;
}

long iw_body_read(struct iw_request *req, char *buf, size_t len)
{
	int n;

	if (len > (size_t)1 << 30)
		len = (size_t)1 << 30;
	n = FCGX_GetStr(buf, (int)len, req->in);
	if (n < 0 || (n == 0 && FCGX_GetError(req->in)))
		return -1;
	return n;
}

int iw_body_read_all(struct iw_request *req, struct iw_response *resp, size_t max, char **out,
		     size_t *out_len)
{
	char *buf;
	size_t len = 0;

	*out = NULL;
	*out_len = 0;
	if (req->content_length > (long long)max)
		return iw_error(resp, 413, "payload_too_large", "body: larger than %zu bytes", max);
	if (!(buf = malloc(max + 2)))
		return iw_error(resp, 500, "internal_error", "out of memory");
	for (;;) {
		long n = iw_body_read(req, buf + len, max + 1 - len);
		if (n < 0) {
			free(buf);
			return iw_error(resp, 400, "invalid_request", "body: could not be read");
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return iw_error(resp, 413, "payload_too_large", "body: larger than %zu bytes", max);
		}
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

int iw_body_json(struct iw_request *req, struct iw_response *resp, size_t max)
{
	char *buf = NULL;
	size_t len = 0;
	json_tokener *tok = NULL;
	json_object *obj = NULL;
	char msg[300];
	size_t used = 0;
	int rc = 0;

	if (req->content_length > (long long)max)
		return iw_error(resp, 413, "payload_too_large", "body: larger than %zu bytes", max);
	if (req->content_length > 0 && !iw_mime_json(req->content_type))
		return iw_error(resp, 415, "expected_json", "body: Content-Type must be application/json");
	if ((rc = iw_body_read_all(req, resp, max, &buf, &len)) != 0)
		return rc;
	{
		size_t i = 0;
		while (i < len && isspace((unsigned char)buf[i]))
			i++;
		if (i == len) {
			obj = json_object_new_object(); /* an empty body is {} */
			goto parsed;
		}
	}
	if (!(tok = json_tokener_new_ex(IW_JSON_DEPTH_MAX))) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT
#ifdef JSON_TOKENER_VALIDATE_UTF8
			       | JSON_TOKENER_VALIDATE_UTF8
#endif
	);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	used = json_tokener_get_parse_end(tok);
	/* A bare number or literal is only complete once the tokener sees the
	 * end (it consumed all input): feed it a terminating NUL. */
	if (!obj && json_tokener_get_error(tok) == json_tokener_continue) {
		obj = json_tokener_parse_ex(tok, "", 1);
		used = len;
	}
	if (!obj || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error err = json_tokener_get_error(tok);
		rc = iw_error(resp, 400, "invalid_json", "body: not valid JSON (%s)",
			      err == json_tokener_continue ? "unexpected end of input"
							   : json_tokener_error_desc(err));
		goto out;
	}
	{
		/* Only white space may follow the value. */
		while (used < len && isspace((unsigned char)buf[used]))
			used++;
		if (used != len) {
			rc = iw_error(resp, 400, "invalid_json", "body: unexpected data after the JSON value");
			goto out;
		}
	}
parsed:
	if (!json_object_is_type(obj, json_type_object)) {
		rc = iw_error(resp, 400, "invalid_request", "body: must be a JSON object");
		goto out;
	}
	if (iw_validate(obj, req->route->fields, &req->args, msg, sizeof msg) != 0) {
		rc = iw_error(resp, 400, "invalid_request", "%s", msg);
		goto out;
	}
	req->body = obj;
	obj = NULL;
out:
	json_object_put(obj);
	if (tok)
		json_tokener_free(tok);
	free(buf);
	return rc;
}

const char *iw_arg_str(const struct iw_request *req, const char *name)
{
	json_object *v;
	if (!req->args || !json_object_object_get_ex(req->args, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int iw_arg_int(const struct iw_request *req, const char *name, long long *out)
{
	json_object *v;
	if (!req->args || !json_object_object_get_ex(req->args, name, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	*out = json_object_get_int64(v);
	return 1;
}

int iw_arg_bool(const struct iw_request *req, const char *name, int *out)
{
	json_object *v;
	if (!req->args || !json_object_object_get_ex(req->args, name, &v) ||
	    !json_object_is_type(v, json_type_boolean))
		return 0;
	*out = json_object_get_boolean(v);
	return 1;
}

void iw_log_count(struct iw_request *req, const char *name, long long value)
{
	if (req->log)
		json_object_object_add(req->log, name, json_object_new_int64(value));
}

void iw_log_str(struct iw_request *req, const char *name, const char *value)
{
	if (req->log && value)
		json_object_object_add(req->log, name, json_object_new_string(value));
}

static void request_id(const struct iw_request *req, char out[IW_REQUEST_ID_MAX + 1])
{
	const char *given = iw_param(req, "HTTP_X_REQUEST_ID");
	unsigned char rnd[8];

	if (given && *given && strlen(given) <= IW_REQUEST_ID_MAX &&
	    strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
		    strlen(given)) {
		strcpy(out, given);
		return;
	}
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		memset(rnd, 0, sizeof rnd);
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

static void allow_header(unsigned methods, char *out, size_t len)
{
	snprintf(out, len, "%s%s%s", methods & IW_GET ? "GET" : "",
		 (methods & IW_GET) && (methods & IW_POST) ? ", " : "",
		 methods & IW_POST ? "POST" : "");
}

static void write_response(struct iw_request *req, struct iw_response *resp)
{
	FCGX_Stream *out = req->fcgi->out;
	const char *body;
	size_t len;
	char head[IW_HEADERS_MAX + 512];
	int head_len;

	if (resp->status == 0 || (!resp->body && !resp->raw))
		iw_error(resp, 500, "internal_error", "the handler gave no answer");
	if (resp->raw) {
		body = resp->raw;
		len = resp->raw_len;
	} else {
		body = json_object_to_json_string_ext(resp->body, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
		len = strlen(body);
	}
	if (resp->streamed && !resp->raw) {
		iw_stream_finish(req, body, len);
		return;
	}
	/* libfcgi's FCGX_FPrintF knows no %zu: format the head here. */
	head_len = snprintf(head, sizeof head,
			    "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
			    "X-Request-Id: %s\r\n%s\r\n",
			    resp->status, reason_phrase(resp->status),
			    resp->raw ? resp->content_type : "application/json",
			    len + (resp->raw ? 0 : 1), req->request_id, resp->headers);
	if (head_len < 0 || (size_t)head_len >= sizeof head)
		return;
	FCGX_PutStr(head, head_len, out);
	FCGX_PutStr(body, (int)len, out);
	if (!resp->raw)
		FCGX_PutChar('\n', out);
}

/* The route's database bounds; an operator's explicit setting wins for every route. */
static void bound_database_work(const struct iw_route *route)
{
	long lock = route->lock_timeout_ms ? route->lock_timeout_ms : IW_DB_LOCK_TIMEOUT_MS_DEFAULT;
	long stmt = route->statement_timeout_ms ? route->statement_timeout_ms
						: IW_DB_STATEMENT_TIMEOUT_MS_DEFAULT;

	iw_db_set_timeouts((long)iw_env_int("IW_DB_LOCK_TIMEOUT_MS", lock, 1, 3600000),
			   (long)iw_env_int("IW_DB_STATEMENT_TIMEOUT_MS", stmt, 1, 3600000));
}

static void handle(const struct iw_route *route, FCGX_Request *fcgi)
{
	struct iw_request req = { 0 };
	struct iw_response resp = { 0 };
	struct timespec t0, t1;
	char rid[IW_REQUEST_ID_MAX + 1];
	const char *cl;
	json_object *line;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	req.fcgi = fcgi;
	req.in = fcgi->in;
	req.route = route;
	req.method = iw_param(&req, "REQUEST_METHOD");
	req.query = iw_param(&req, "QUERY_STRING");
	req.content_type = iw_param(&req, "CONTENT_TYPE");
	req.remote_addr = iw_param(&req, "REMOTE_ADDR");
	if (!req.method) req.method = "GET";
	if (!req.query) req.query = "";
	if (!req.content_type) req.content_type = "";
	cl = iw_param(&req, "CONTENT_LENGTH");
	req.content_length = cl && *cl ? strtoll(cl, NULL, 10) : -1;
	request_id(&req, rid);
	req.request_id = rid;
	iw_log_request_id(rid);
	req.log = json_object_new_object();
	bound_database_work(route);

	{
		unsigned m = strcmp(req.method, "GET") == 0 || strcmp(req.method, "HEAD") == 0 ? IW_GET
			   : strcmp(req.method, "POST") == 0 ? IW_POST : 0;
		if (!(m & route->methods)) {
			char allow[32];
			allow_header(route->methods, allow, sizeof allow);
			iw_error(&resp, 405, "method_not_allowed", "method %.16s: this route allows %s",
				 req.method, allow);
			iw_header(&resp, "Allow", allow);
			goto respond;
		}
	}
	switch (iw_auth_check(route->auth, &req)) {
	case IW_AUTH_OK:
		break;
	case IW_AUTH_MISCONFIGURED:
		iw_error(&resp, 503, "server_misconfigured",
			 "authentication is not configured on the server");
		goto respond;
	default:
		iw_error(&resp, 401, "unauthorized", "missing or invalid credentials");
		goto respond;
	}
	if (route->body == IW_BODY_JSON &&
	    iw_body_json(&req, &resp, route->max_body ? route->max_body : IW_JSON_BODY_MAX) != 0)
		goto respond;
	route->handler(&req, &resp);
	/* A library error (enum iw_err in resp.err) the handler returned on
	 * without answering: the one table in web/fail.c answers it. */
	if (resp.err.code != IW_ERR_NONE && (resp.status == 0 || (!resp.body && !resp.raw)))
		iw_fail(&resp, &resp.err);
	iw_err_clear(&resp.err);
respond:
	iw_db_request_done();
	write_response(&req, &resp);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	line = route->quiet_success && resp.status < 300 ? NULL : json_object_new_object();
	if (line) {
		json_object_object_add(line, "method", json_object_new_string(req.method));
		json_object_object_add(line, "status", json_object_new_int(resp.status));
		{
			double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
				    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			char text[32];
			snprintf(text, sizeof text, "%.3f", ms);
			json_object_object_add(line, "duration_ms", json_object_new_double_s(ms, text));
		}
		if (resp.error_code)
			json_object_object_add(line, "error", json_object_new_string(resp.error_code));
		if (req.log) {
			json_object_object_foreach(req.log, key, val)
				json_object_object_add(line, key, json_object_get(val));
		}
		iw_log_event(resp.status >= 500 ? "error" : "info", "request", line);
		json_object_put(line);
	}
	iw_log_request_id(NULL);
	json_object_put(req.log);
	json_object_put(req.body);
	json_object_put(req.args);
	json_object_put(resp.body);
	free(resp.raw);
}

/* Ends a request without libfcgi's lingering close, which waits for nginx to
 * close its end before this process may accept again. Safe once the input is
 * drained: closing a unix socket with unread data would reset the peer. */
static void finish(FCGX_Request *fcgi)
{
	char sink[4096];

	if (fcgi->in && !fcgi->keepConnection) {
		while (FCGX_GetStr(sink, sizeof sink, fcgi->in) > 0)
			;
		fcgi->detached = 1;
	}
	FCGX_Finish_r(fcgi);
	fcgi->detached = 0;
}

int iw_serve(const struct iw_route *route)
{
	FCGX_Request fcgi;
	struct sigaction sa = { 0 };
	int rc = 0;

	if (iw_config_load() != 0)
		return 1;
	iw_log_init(route->name);
	sa.sa_handler = on_stop; /* no SA_RESTART: accept() must return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (iw_http_global_init() != 0 || FCGX_Init() != 0) {
		iw_logf("error", "start-up failed: library initialisation");
		rc = 1;
		goto out;
	}
	if (route->init && route->init() != 0) {
		iw_logf("error", "start-up failed: route initialisation");
		rc = 1;
		goto out;
	}
	/* fd 0: the listening socket from systemd or spawn-fcgi (unix or TCP). */
	if (iw_listen_check(0) != 0 || FCGX_InitRequest(&fcgi, 0, 0) != 0) {
		rc = 1;
		goto out;
	}
	iw_logf("info", "serving");
	while (!stopping && FCGX_Accept_r(&fcgi) >= 0) {
		handle(route, &fcgi);
		finish(&fcgi);
	}
	FCGX_Free(&fcgi, 1);
	iw_logf("info", "stopped");
out:
	iw_db_close_all();
	iw_http_cleanup();
	iw_http_global_cleanup();
	iw_config_free();
	return rc;
}
