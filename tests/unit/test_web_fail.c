/* The one table from library errors to HTTP answers (web/fail.c), and the
 * error value below web/ (core/err). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "web/serve.h"
#include "unit.h"

static const char *field(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

static void answers(enum iw_err code, int status, const char *wire)
{
	struct iw_response resp = { 0 };
	char want[32];

	snprintf(want, sizeof want, "why %d", (int)code);
	iw_err_set(&resp.err, code, "%s", want);
	CHECK_INT(iw_fail(&resp, &resp.err), status);
	CHECK_INT(resp.status, status);
	CHECK_STR(field(resp.body, "error"), wire);
	CHECK_STR(field(resp.body, "message"), want);
	json_object_put(resp.body);
}

int main(void)
{
	struct iw_response resp = { 0 };
	struct iw_error e = { 0 };
	char buf[8];

	/* Every status and code the routes answered before the table. */
	CHECK_INT(iw_err_status(IW_ERR_INPUT), 400);
	CHECK_INT(iw_err_status(IW_ERR_MEDIA_TYPE), 415);
	CHECK_INT(iw_err_status(IW_ERR_TOO_BIG), 413);
	CHECK_INT(iw_err_status(IW_ERR_NOMEM), 500);
	CHECK_INT(iw_err_status(IW_ERR_IO), 500);
	CHECK_INT(iw_err_status(IW_ERR_INTERNAL), 500);
	CHECK_INT(iw_err_status(IW_ERR_DB_DOWN), 503);
	CHECK_INT(iw_err_status(IW_ERR_MISCONFIG), 503);
	CHECK_INT(iw_err_status(IW_ERR_UPSTREAM), 502);
	CHECK_INT(iw_err_status(IW_ERR_TIMEOUT), 504);
	CHECK_INT(iw_err_status(IW_ERR_BUSY), 409);
	CHECK_INT(iw_err_status(IW_ERR_CONFLICT), 409);
	for (int c = 0; c < IW_ERR__MAX; c++)
		CHECK(strcmp(iw_err_name((enum iw_err)c), "unknown") != 0);

	/* The message is kept as set; codes on the wire as before. */
	iw_err_set(&resp.err, IW_ERR_DB_DOWN, "the %s database is unavailable", "master");
	CHECK_INT(iw_fail(&resp, &resp.err), 503);
	CHECK_STR(field(resp.body, "error"), "database_unavailable");
	CHECK_STR(field(resp.body, "message"), "the master database is unavailable");
	CHECK_STR(resp.error_code, "database_unavailable");
	CHECK_INT(resp.err.code, IW_ERR_NONE); /* cleared once answered */
	json_object_put(resp.body);
	memset(&resp, 0, sizeof resp);

	/* Busy names a Retry-After. */
	iw_err_set(&resp.err, IW_ERR_BUSY, "lock x is held");
	resp.err.retry_after_s = 5;
	CHECK_INT(iw_fail(&resp, &resp.err), 409);
	CHECK_STR(field(resp.body, "error"), "busy");
	CHECK(strstr(resp.headers, "Retry-After: 5\r\n") != NULL);
	json_object_put(resp.body);
	memset(&resp, 0, sizeof resp);

	/* Detail fields join the answer (SMT's words, the webhook's status). */
	iw_err_set(&resp.err, IW_ERR_UPSTREAM, "SMT refused");
	resp.err.detail = json_object_new_object();
	json_object_object_add(resp.err.detail, "upstreamStatus", json_object_new_int(400));
	CHECK_INT(iw_fail(&resp, &resp.err), 502);
	CHECK_STR(field(resp.body, "upstreamStatus"), "400");
	CHECK(resp.err.detail == NULL);
	json_object_put(resp.body);
	memset(&resp, 0, sizeof resp);

	answers(IW_ERR_TOO_BIG, 413, "payload_too_large");
	answers(IW_ERR_TIMEOUT, 504, "upstream_timeout");
	answers(IW_ERR_MISCONFIG, 503, "server_misconfigured");

	/* A NULL error is allowed below web/ (callers that only log). */
	CHECK_INT(iw_err_set(NULL, IW_ERR_IO, "x"), IW_ERR_IO);
	CHECK_INT(iw_err_set(&e, IW_ERR_INPUT, "esiid: %s", "bad"), IW_ERR_INPUT);
	CHECK_STR(e.msg, "esiid: bad");
	iw_err_clear(&e);
	CHECK_INT(e.code, IW_ERR_NONE);
	iw_errf(buf, sizeof buf, "%s", "truncated text");
	CHECK_STR(buf, "truncat");
	iw_errf(NULL, 0, "%s", "nothing");
	return unit_report("web_fail");
}
