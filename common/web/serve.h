/* The accept loop every route program runs (fcgiapp, one request at a time
 * per process): method, auth, body cap, JSON parsing, validation, handler,
 * one response writer with one error shape. A handler never writes headers. */
#ifndef IW_SERVE_H
#define IW_SERVE_H

#include <stddef.h>
#include <fcgiapp.h>
#include <json-c/json.h>

#include "core/err.h"
#include "web/auth.h"
#include "core/log.h"
#include "core/validate.h"

enum iw_method { IW_GET = 1u << 0, IW_POST = 1u << 1 };

enum iw_body_kind {
	IW_BODY_JSON, /* body parsed as a JSON object ({} when empty), then validated */
	IW_BODY_NONE, /* body ignored */
	IW_BODY_RAW,  /* handler reads req->in itself (uploads, forms) */
};

#define IW_JSON_BODY_MAX   (64 * 1024)  /* default cap for JSON routes */
#define IW_JSON_DEPTH_MAX  32
#define IW_HEADERS_MAX     2048
/* Database bounds of a route that names none. IW_DB_LOCK_TIMEOUT_MS and
 * IW_DB_STATEMENT_TIMEOUT_MS, when set, override them for every route. */
#define IW_DB_LOCK_TIMEOUT_MS_DEFAULT       5000
#define IW_DB_STATEMENT_TIMEOUT_MS_DEFAULT 30000

struct iw_request {
	FCGX_Request *fcgi;
	FCGX_Stream *in;
	const char *method;
	const char *query;        /* raw QUERY_STRING, never NULL */
	const char *content_type; /* never NULL */
	const char *remote_addr;
	const char *request_id;
	long long content_length; /* -1 when absent */
	json_object *body;        /* IW_BODY_JSON: the parsed object */
	json_object *args;        /* IW_BODY_JSON: validated, normalised fields */
	json_object *log;         /* extra fields for the access-log line */
	const struct iw_route *route;
};

struct iw_response {
	int status;
	json_object *body;        /* JSON answer; the loop adds "ok" */
	const char *content_type; /* non-JSON answer (HTML, CSV): with raw */
	char *raw;                /* malloc'd; freed by the loop */
	size_t raw_len;
	char headers[IW_HEADERS_MAX]; /* extra "Name: value\r\n" lines */
	size_t headers_len;
	const char *error_code;   /* set by iw_error, for the log line */
	struct iw_error err;      /* a library call's error: iw_fail(resp, &resp->err) answers it */
	int streamed;             /* web/stream.c sent the head: the answer is the last line */
};

typedef int (*iw_handler)(struct iw_request *req, struct iw_response *resp);

struct iw_route {
	const char *name;
	unsigned methods;                 /* IW_GET | IW_POST */
	enum iw_auth auth;
	enum iw_body_kind body;
	size_t max_body;                  /* 0: IW_JSON_BODY_MAX */
	const struct iw_field *fields;    /* validation table, {0}-terminated; may be NULL */
	iw_handler handler;
	int (*init)(void);                /* optional, once at start-up; non-zero aborts */
	long lock_timeout_ms;             /* 0: the default; see iw_db_set_timeouts */
	long statement_timeout_ms;        /* 0: the default; keep below nginx's read timeout */
	int quiet_success;                /* no log line for a 2xx answer (the auth gate: nginx's
					     access log already has the request) */
};

/* Runs ROUTE until SIGTERM/SIGINT; returns the process exit code. */
int iw_serve(const struct iw_route *route);

/* Sets an error answer {ok:false,error,message}; returns STATUS. */
int iw_error(struct iw_response *resp, int status, const char *code, const char *fmt, ...)
	IW_PRINTF(4, 5);
/* Sets the answer of a library error E (web/fail.c: one table from enum
 * iw_err to status and JSON code; Retry-After for busy; E's detail fields
 * added), clears E and returns the status. */
int iw_fail(struct iw_response *resp, struct iw_error *e);
/* 0 when RC (a library call's result) is 0; else iw_fail(resp, &resp->err). */
int iw_failed(struct iw_response *resp, int rc);
/* The HTTP status enum iw_err CODE answers with. */
int iw_err_status(enum iw_err code);
/* Sets a 200 JSON answer (takes ownership of BODY; NULL makes {}); returns 200. */
int iw_ok(struct iw_response *resp, json_object *body);
/* Sets a non-JSON answer (takes ownership of the malloc'd DATA). */
int iw_raw(struct iw_response *resp, int status, const char *content_type, char *data, size_t len);
/* Adds a response header; returns -1 when it does not fit. */
int iw_header(struct iw_response *resp, const char *name, const char *value);

/* A FastCGI parameter (e.g. "HTTP_X_ADMIN_TOKEN"), or NULL. */
const char *iw_param(const struct iw_request *req, const char *name);
/* Copies the decoded value of KEY in FORM ("a=1&b=2", + as space,
 * application/x-www-form-urlencoded) into OUT.
 * Returns 1 when found, 0 when absent, -1 when it does not fit or is malformed. */
int iw_form_get(const char *form, const char *key, char *out, size_t outlen);
/* Copies the URL-decoded value of query KEY into OUT.
 * Returns 1 when found, 0 when absent, -1 when it does not fit or is malformed. */
int iw_query_get(const struct iw_request *req, const char *key, char *out, size_t outlen);
/* The query string's parameters checked against FIELDS, the same table a
 * JSON body has (each value a string first: IW_T_INT reads numeric text;
 * IW_T_BOOL fits no query). 0 with *ARGS (owned: the normalised values), or -1 with a
 * message naming the parameter in MSG. */
#define IW_QUERY_VALUE_MAX 1024
int iw_query_args(const struct iw_request *req, const struct iw_field *fields, json_object **args,
		  char *msg, size_t msglen);
/* The same over a form body (application/x-www-form-urlencoded). */
int iw_form_args(const char *form, const struct iw_field *fields, json_object **args, char *msg,
		 size_t msglen);
/* Reads the whole body, at most MAX bytes, into *OUT (malloc'd, NUL added)
 * and *OUT_LEN. 0, or an error status already set in RESP (413, 400, 500). */
int iw_body_read_all(struct iw_request *req, struct iw_response *resp, size_t max, char **out,
		     size_t *out_len);
/* Reads up to LEN body bytes; returns the count (0 at the end), -1 on error. */
long iw_body_read(struct iw_request *req, char *buf, size_t len);
/* For IW_BODY_RAW handlers: read, parse and validate a JSON body themselves.
 * Returns 0, or an error status already set in RESP. */
int iw_body_json(struct iw_request *req, struct iw_response *resp, size_t max);

/* Validated arguments (IW_BODY_JSON routes): NULL / 0 when absent. */
const char *iw_arg_str(const struct iw_request *req, const char *name);
int iw_arg_int(const struct iw_request *req, const char *name, long long *out);
int iw_arg_bool(const struct iw_request *req, const char *name, int *out);

/* Adds a count or string to the access-log line. */
void iw_log_count(struct iw_request *req, const char *name, long long value);
void iw_log_str(struct iw_request *req, const char *name, const char *value);
#endif
