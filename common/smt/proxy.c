#include "smt/proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "io/http.h"
#include "core/log.h"
#include "core/err.h"

#define IW_SMT_TIMEOUT_MIN_MS  100L
#define IW_SMT_TIMEOUT_MAX_MS  600000L
#define IW_SMT_AUTH_MAX        1024
#define IW_SMT_JSON_DEPTH      64
#define IW_SMT_AGREEMENTS_SUFFIX "/agreements"

static const struct {
	const char *path;
	const char *member; /* where the proxy puts SMT's JSON */
} ops[IW_SMT_OP__MAX] = {
	[IW_SMT_MYAGREEMENTS] = { "/smt/agreements/myagreements", "agreements" },
	[IW_SMT_ESIIDS] = { "/smt/agreements/esiids", "agreementESIIDs" },
	[IW_SMT_TERMINATE] = { "/smt/agreements/terminate", "response" },
	[IW_SMT_SUBSCRIPTIONS] = { "/smt/subscriptions/list", "subscriptions" },
	[IW_SMT_UNSUBSCRIBE] = { "/smt/subscriptions/unsubscribe", "response" },
	[IW_SMT_REPORT_STATUS] = { "/smt/report-status", "reportStatus" },
};

const char *iw_smt_op_path(enum iw_smt_op op)
{
	return op < IW_SMT_OP__MAX ? ops[op].path : "?";
}

/* The proxy's base URL without trailing slashes: SMT_PROXY_URL, or
 * SMT_PROXY_AGREEMENTS_URL minus its "/agreements". 0, or -1 when unset. */
static int base_url(char *out, size_t len)
{
	const char *url = iw_env("SMT_PROXY_URL");
	size_t n, sfx = strlen(IW_SMT_AGREEMENTS_SUFFIX);
	int strip = 0;

	if (!url) {
		if (!(url = iw_env("SMT_PROXY_AGREEMENTS_URL")))
			return -1;
		strip = 1;
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (strip && n >= sfx && strncmp(url + n - sfx, IW_SMT_AGREEMENTS_SUFFIX, sfx) == 0)
		n -= sfx;
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

int iw_smt_configured(struct iw_error *error)
{
	char base[IW_SMT_URL_MAX];

	if (base_url(base, sizeof base) != 0)
		return iw_err_set(error, IW_ERR_MISCONFIG,
				"SMT_PROXY_URL is not set (nor SMT_PROXY_AGREEMENTS_URL)");
	if (!iw_env("SMT_PROXY_TOKEN"))
		return iw_err_set(error, IW_ERR_MISCONFIG, "SMT_PROXY_TOKEN is not set");
	return 0;
}

void iw_smt_reply_free(struct iw_smt_reply *reply)
{
	json_object_put(reply->root);
	memset(reply, 0, sizeof *reply);
}

static json_object *parse_object(const char *text, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(IW_SMT_JSON_DEPTH);
	json_object *obj;

	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj && (json_tokener_get_error(tok) != json_tokener_success ||
		    !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

/* Adds what SMT said to the error's answer, so an operator sees its words. */
static void add_upstream(struct iw_error *error, const struct iw_smt_reply *reply)
{
	json_object *said = NULL;

	if (!error || !(error->detail || (error->detail = json_object_new_object())))
		return;
	json_object_object_add(error->detail, "upstreamStatus",
			       reply->smt_status ? json_object_new_int64(reply->smt_status) : NULL);
	if (reply->root && !json_object_object_get_ex(reply->root, "response", &said))
		json_object_object_get_ex(reply->root, "error", &said);
	json_object_object_add(error->detail, "upstream", json_object_get(said));
}

int iw_smt_call(enum iw_smt_op op, json_object *body, struct iw_smt_reply *reply,
		struct iw_error *error)
{
	char base[IW_SMT_URL_MAX], url[IW_SMT_URL_MAX], auth[IW_SMT_AUTH_MAX];
	const char *token = iw_env("SMT_PROXY_TOKEN"), *text;
	const char *headers[4] = { "Content-Type: application/json", "Accept: application/json", auth, NULL };
	struct iw_http_call call = { 0 };
	struct iw_http_reply http;
	json_object *ok = NULL, *st = NULL;
	int rc;

	memset(reply, 0, sizeof *reply);
	if (op >= IW_SMT_OP__MAX)
		return iw_err_set(error, IW_ERR_INTERNAL, "unknown SMT operation");
	if ((rc = iw_smt_configured(error)) != 0)
		return rc;
	if (base_url(base, sizeof base) != 0 ||
	    (size_t)snprintf(url, sizeof url, "%s%s", base, ops[op].path) >= sizeof url)
		return iw_err_set(error, IW_ERR_MISCONFIG, "SMT_PROXY_URL is too long");
	if ((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", token) >= sizeof auth)
		return iw_err_set(error, IW_ERR_MISCONFIG, "SMT_PROXY_TOKEN is too long");
	text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : "{}";

	call.method = "POST";
	call.url = url;
	call.headers = headers;
	call.body = text;
	call.body_len = strlen(text);
	call.connect_timeout_ms = IW_SMT_CONNECT_MS;
	call.timeout_ms = (long)iw_env_int("SMT_PROXY_TIMEOUT_MS", IW_SMT_TIMEOUT_MS,
					   IW_SMT_TIMEOUT_MIN_MS, IW_SMT_TIMEOUT_MAX_MS);
	if (call.connect_timeout_ms > call.timeout_ms)
		call.connect_timeout_ms = call.timeout_ms;
	call.max_reply = IW_SMT_REPLY_MAX;

	rc = iw_http_do(&call, &http);
	/* The token is in no buffer of ours after the call: scrub our copy. */
	explicit_bzero(auth, sizeof auth);
	if (rc != 0) {
		iw_logf("warn", "SMT proxy %s: transport failure: %s", ops[op].path, http.error);
		rc = iw_http_fail(error, &http, "SMT proxy");
		goto out;
	}
	reply->http_status = http.status;
	reply->root = parse_object(http.body, http.len);
	if (reply->root) {
		if (json_object_object_get_ex(reply->root, "status", &st) &&
		    json_object_is_type(st, json_type_int))
			reply->smt_status = (long)json_object_get_int64(st);
		json_object_object_get_ex(reply->root, ops[op].member, &reply->payload);
		json_object_object_get_ex(reply->root, "ok", &ok);
	}
	if (http.status == 401 || http.status == 403) {
		iw_logf("warn", "SMT proxy %s: HTTP %ld (token refused)", ops[op].path, http.status);
		rc = iw_err_set(error, IW_ERR_UPSTREAM,
			      "SMT proxy refused SMT_PROXY_TOKEN (HTTP %ld)", http.status);
	} else if (http.status == 504) {
		iw_logf("warn", "SMT proxy %s: HTTP 504", ops[op].path);
		rc = iw_err_set(error, IW_ERR_TIMEOUT, "SMT did not answer the proxy in time");
		add_upstream(error, reply);
	} else if (http.status >= 200 && http.status < 300 && !reply->root) {
		iw_logf("warn", "SMT proxy %s: HTTP %ld with a reply that is not a JSON object",
			ops[op].path, http.status);
		rc = iw_err_set(error, IW_ERR_UPSTREAM, "SMT proxy: the reply is not JSON");
	} else if (http.status < 200 || http.status >= 300 ||
		   (ok && !json_object_get_boolean(ok))) {
		iw_logf("warn", "SMT proxy %s: HTTP %ld, SMT status %ld", ops[op].path,
			http.status, reply->smt_status);
		if (reply->root)
			rc = iw_err_set(error, IW_ERR_UPSTREAM,
				      "SMT refused the request to %s (SMT status %ld)", ops[op].path,
				      reply->smt_status ? reply->smt_status : http.status);
		else
			rc = iw_err_set(error, IW_ERR_UPSTREAM, "SMT proxy answered HTTP %ld",
				      http.status);
		add_upstream(error, reply);
	} else {
		rc = 0;
	}
out:
	iw_http_reply_free(&http);
	return rc;
}
