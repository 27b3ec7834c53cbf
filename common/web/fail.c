/* The one table from library errors to HTTP answers. */
#include "web/serve.h"

#include <stdio.h>

static const struct {
	int status;
	const char *code;
} answers[IW_ERR__MAX] = {
	[IW_ERR_NONE]       = { 500, "internal_error" }, /* a failure that set nothing */
	[IW_ERR_INPUT]      = { 400, "invalid_request" },
	[IW_ERR_MEDIA_TYPE] = { 415, "invalid_request" },
	[IW_ERR_TOO_BIG]    = { 413, "payload_too_large" },
	[IW_ERR_NOMEM]      = { 500, "internal_error" },
	[IW_ERR_IO]         = { 500, "internal_error" },
	[IW_ERR_NO_SPACE]   = { 507, "insufficient_storage" },
	[IW_ERR_INTERNAL]   = { 500, "internal_error" },
	[IW_ERR_DB_DOWN]    = { 503, "database_unavailable" },
	[IW_ERR_MISCONFIG]  = { 503, "server_misconfigured" },
	[IW_ERR_UPSTREAM]   = { 502, "upstream_failed" },
	[IW_ERR_TIMEOUT]    = { 504, "upstream_timeout" },
	[IW_ERR_BUSY]       = { 409, "busy" },
	[IW_ERR_CONFLICT]   = { 409, "conflict" },
};

int iw_err_status(enum iw_err code)
{
	return code >= 0 && code < IW_ERR__MAX ? answers[code].status : 500;
}

int iw_fail(struct iw_response *resp, struct iw_error *e)
{
	enum iw_err code = e->code >= 0 && e->code < IW_ERR__MAX ? e->code : IW_ERR_NONE;
	int status = iw_error(resp, answers[code].status, answers[code].code, "%s",
			      e->msg[0] ? e->msg : "internal error");

	if (code == IW_ERR_BUSY && e->retry_after_s > 0) {
		char secs[24];
		snprintf(secs, sizeof secs, "%ld", e->retry_after_s);
		iw_header(resp, "Retry-After", secs);
	}
	if (e->detail && resp->body) {
		json_object_object_foreach(e->detail, key, val)
			json_object_object_add(resp->body, key, json_object_get(val));
	}
	iw_err_clear(e);
	return status;
}

int iw_failed(struct iw_response *resp, int rc)
{
	return rc ? iw_fail(resp, &resp->err) : 0;
}
