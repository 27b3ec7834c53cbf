/* POST /api/admin/smt/pull (SPEC §5): SMT files in, or a pull triggered on
 * the droplet.
 *   JSON body, mode "inline": base64 (or base64+gzip) content in the body.
 *   JSON body, any other mode: POST a trigger to DROPLET_WEBHOOK_URL.
 *   any other body ("upload"): the raw file (text/csv, application/gzip,
 *     application/octet-stream) with ?filename=&esiid=&meter=, streamed to a
 *     spool file as it arrives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "pg_limits.h"
#include "serve.h"
#include "smt_ingest.h"

#define UPLOAD_CHUNK       (64 * 1024)
#define QUERY_VALUE_MAX    512
#define TRIGGER_TIMEOUT_MS 30000
#define TRIGGER_REPLY_MAX  (1024 * 1024)

static const char *const encodings[] = { "base64", "base64+gzip", NULL };

/* content_b64 is read from the body itself: the table would copy 8 MiB. */
static const struct iw_field fields[] = {
	{ "mode", IW_T_STRING, 0, 1, 32, NULL },
	{ "filename", IW_T_STRING, 0, 1, 1024, NULL },
	{ "encoding", IW_T_ENUM, 0, 0, 0, encodings },
	{ "esiid", IW_T_ESIID, 0, 0, 0, NULL },
	{ "meter", IW_T_STRING, 0, 1, IW_SMT_METER_MAX, NULL },
	{ "source", IW_T_STRING, 0, 1, IW_SMT_SOURCE_MAX, NULL },
	{ "mime", IW_T_STRING, 0, 1, 128, NULL },
	{ "sizeBytes", IW_T_INT, 0, 0, (long long)IW_SMT_UPLOAD_MAX * 4, NULL },
	{ "captured_at", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ "houseId", IW_T_STRING, 0, 1, 128, NULL },
	{ "reason", IW_T_STRING, 0, 1, 256, NULL },
	{ "forceRepost", IW_T_BOOL, 0, 0, 0, NULL },
	{ 0 }
};

static int ct_is(const char *ct, const char *want)
{
	size_t n = strcspn(ct, ";"), w = strlen(want);
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return n == w && strncasecmp(ct, want, w) == 0;
}

static int is_json(const char *ct)
{
	size_t n = strcspn(ct, ";");
	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return n == 0 || ct_is(ct, "application/json") ||
	       (n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
		strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* Printable ASCII without separators that would confuse logs or keys. */
static int plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int answer(struct iw_request *req, struct iw_response *resp, json_object *body)
{
	json_object *v;
	if (json_object_object_get_ex(body, "rows", &v))
		iw_log_count(req, "rows", json_object_get_int64(v));
	if (json_object_object_get_ex(body, "skippedRows", &v))
		iw_log_count(req, "skipped", json_object_get_int64(v));
	if (json_object_object_get_ex(body, "duplicate", &v))
		iw_log_count(req, "duplicate", json_object_get_boolean(v));
	if (json_object_object_get_ex(body, "sizeBytes", &v))
		iw_log_count(req, "bytes", json_object_get_int64(v));
	return iw_ok(resp, body);
}

static int spool_error(struct iw_response *resp, struct iw_smt_spool *s, int rc, const char *err)
{
	int saved = errno; /* the spool's failed write(), unchanged since */

	(void)s;
	if (rc == IW_SMT_SPOOL_ETOOBIG)
		return iw_error(resp, 413, "payload_too_large", "content: %s", err);
	if (rc == IW_SMT_SPOOL_EIO && (saved == ENOSPC || saved == EDQUOT))
		return iw_error(resp, 507, "insufficient_storage",
				"content: the temporary directory is full (%s)", err);
	if (rc == IW_SMT_SPOOL_EIO)
		return iw_error(resp, 500, "internal_error", "content: %s", err);
	return iw_error(resp, 400, "invalid_request", "content_b64: %s", err);
}

static int pull_inline(struct iw_request *req, struct iw_response *resp)
{
	const char *enc = iw_arg_str(req, "encoding");
	const char *mime = iw_arg_str(req, "mime");
	json_object *b64;
	struct iw_smt_file file = {
		.mode = "inline",
		.filename = iw_arg_str(req, "filename"),
		.esiid = iw_arg_str(req, "esiid"),
		.meter = iw_arg_str(req, "meter"),
		.source = iw_arg_str(req, "source"),
		.captured_at = iw_arg_str(req, "captured_at"),
		.size_expected = -1,
	};
	struct iw_smt_spool *s;
	json_object *body = NULL;
	char err[512] = "";
	int gzip = enc && strcmp(enc, "base64+gzip") == 0, rc;
	long long size;

	if (!file.filename)
		return iw_error(resp, 400, "invalid_request", "filename: is required");
	if (!json_object_object_get_ex(req->body, "content_b64", &b64) ||
	    !json_object_is_type(b64, json_type_string) || json_object_get_string_len(b64) == 0)
		return iw_error(resp, 400, "invalid_request", "content_b64: is required (a base64 string)");
	if ((file.meter && !plain_text(file.meter)) || (file.source && !plain_text(file.source)))
		return iw_error(resp, 400, "invalid_request", "meter/source: printable ASCII only");
	if (iw_arg_int(req, "sizeBytes", &size))
		file.size_expected = size;
	/* Only a type of the allow-list is stored (iw_smt_content_type). */
	file.content_type = mime;
	if (!(s = iw_smt_spool_new(gzip ? IW_SMT_GZIP : IW_SMT_PLAIN, IW_SMT_INLINE_DECODED_MAX,
				   err, sizeof err)))
		return iw_error(resp, 500, "internal_error", "content: %s", err);
	if ((rc = iw_smt_spool_feed_base64(s, json_object_get_string(b64),
					   (size_t)json_object_get_string_len(b64))) != 0 ||
	    (rc = iw_smt_spool_finish(s)) != 0) {
		rc = spool_error(resp, s, rc, err);
		goto out;
	}
	if ((rc = iw_smt_ingest(&file, s, &body, resp)) == 0)
		rc = answer(req, resp, body);
out:
	iw_smt_spool_free(s);
	return rc;
}

/* ?NAME= into OUT (which must hold QUERY_VALUE_MAX); NULL when absent. */
static const char *query(struct iw_request *req, const char *name, char *out, int *bad)
{
	int r = iw_query_get(req, name, out, QUERY_VALUE_MAX);
	if (r < 0)
		*bad = 1;
	return r == 1 && *out ? out : NULL;
}

static int pull_upload(struct iw_request *req, struct iw_response *resp)
{
	char qfile[QUERY_VALUE_MAX], qesiid[QUERY_VALUE_MAX], qmeter[QUERY_VALUE_MAX],
		qsource[QUERY_VALUE_MAX], qcap[QUERY_VALUE_MAX], qsize[QUERY_VALUE_MAX];
	char esiid[IW_ESIID_MAX + 1], captured[32];
	const char *ct = req->content_type, *v;
	struct iw_smt_file file = { .mode = "upload", .size_expected = -1 };
	enum iw_smt_encoding enc;
	struct iw_smt_spool *s = NULL;
	json_object *body = NULL;
	char err[512] = "", *chunk = NULL;
	unsigned long long total = 0;
	int bad = 0, rc;

	if (ct_is(ct, "application/gzip") || ct_is(ct, "application/x-gzip"))
		enc = IW_SMT_GZIP;
	else if (ct_is(ct, "text/csv") || ct_is(ct, "application/octet-stream"))
		enc = IW_SMT_AUTO;
	else
		return iw_error(resp, 415, "unsupported_media_type",
				"body: Content-Type must be application/json (inline, trigger), "
				"text/csv, application/gzip or application/octet-stream (upload)");
	if (req->content_length > (long long)IW_SMT_UPLOAD_MAX)
		return iw_error(resp, 413, "payload_too_large", "body: larger than %u bytes",
				IW_SMT_UPLOAD_MAX);
	file.filename = query(req, "filename", qfile, &bad);
	if (bad || !file.filename)
		return iw_error(resp, 400, "invalid_request", "filename: is required (?filename=)");
	if ((v = query(req, "esiid", qesiid, &bad))) {
		if (iw_esiid_normalize(v, esiid) != 0)
			return iw_error(resp, 400, "invalid_request", "esiid: not 17-22 digits");
		file.esiid = esiid;
	}
	file.meter = query(req, "meter", qmeter, &bad);
	file.source = query(req, "source", qsource, &bad);
	if (bad || (file.meter && (strlen(file.meter) > IW_SMT_METER_MAX || !plain_text(file.meter))) ||
	    (file.source && (strlen(file.source) > IW_SMT_SOURCE_MAX || !plain_text(file.source))))
		return iw_error(resp, 400, "invalid_request", "meter/source: at most %d printable characters",
				IW_SMT_METER_MAX);
	if ((v = query(req, "captured_at", qcap, &bad))) {
		int64_t ms;
		if (iw_timestamp_parse(v, &ms) != 0)
			return iw_error(resp, 400, "invalid_request", "captured_at: not an ISO-8601 timestamp with zone");
		iw_timestamp_format(ms, captured);
		file.captured_at = captured;
	}
	if ((v = query(req, "sizeBytes", qsize, &bad))) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (*end || n < 0)
			return iw_error(resp, 400, "invalid_request", "sizeBytes: not a byte count");
		file.size_expected = n;
	}
	file.content_type = enc == IW_SMT_GZIP ? "text/csv" : ct_is(ct, "text/csv") ? "text/csv"
										   : "application/octet-stream";

	if (!(chunk = malloc(UPLOAD_CHUNK)) ||
	    !(s = iw_smt_spool_new(enc, IW_SMT_UPLOAD_MAX, err, sizeof err))) {
		rc = iw_error(resp, 500, "internal_error", "out of memory or no temporary file");
		goto out;
	}
	for (;;) {
		long n = iw_body_read(req, chunk, UPLOAD_CHUNK);
		if (n < 0) {
			rc = iw_error(resp, 400, "invalid_request", "body: could not be read");
			goto out;
		}
		if (n == 0)
			break;
		total += (unsigned long long)n;
		if (total > IW_SMT_UPLOAD_MAX) {
			rc = iw_error(resp, 413, "payload_too_large", "body: larger than %u bytes",
				      IW_SMT_UPLOAD_MAX);
			goto out;
		}
		if ((rc = iw_smt_spool_feed(s, chunk, (size_t)n)) != 0) {
			rc = spool_error(resp, s, rc, err);
			goto out;
		}
	}
	if ((rc = iw_smt_spool_finish(s)) != 0) {
		rc = spool_error(resp, s, rc, err);
		goto out;
	}
	if ((rc = iw_smt_ingest(&file, s, &body, resp)) == 0)
		rc = answer(req, resp, body);
out:
	free(chunk);
	iw_smt_spool_free(s);
	return rc;
}

static int pull_trigger(struct iw_request *req, struct iw_response *resp, const char *mode)
{
	const char *url = iw_env("DROPLET_WEBHOOK_URL");
	const char *secret = iw_env_or("INTELLIWATT_WEBHOOK_SECRET", iw_env("DROPLET_WEBHOOK_SECRET"));
	const char *reason = iw_arg_str(req, "reason");
	const char *esiid = iw_arg_str(req, "esiid"), *meter = iw_arg_str(req, "meter"),
		   *house = iw_arg_str(req, "houseId");
	struct iw_http_call call = { 0 };
	struct iw_http_reply reply = { 0 };
	struct curl_slist *headers = NULL, *h;
	json_object *out = NULL, *parsed, *payload = json_object_new_object();
	char now[32], *hdr = NULL;
	int force = 0, rc;

	if (!url || !secret) {
		json_object_put(payload);
		return iw_error(resp, 503, "server_misconfigured", "%s is not set",
				!url ? "DROPLET_WEBHOOK_URL" : "INTELLIWATT_WEBHOOK_SECRET");
	}
	if (!payload)
		return iw_error(resp, 500, "internal_error", "out of memory");
	iw_arg_bool(req, "forceRepost", &force);
	iw_timestamp_format((int64_t)time(NULL) * 1000, now);
	json_object_object_add(payload, "reason", json_object_new_string(reason ? reason : "admin_triggered"));
	json_object_object_add(payload, "esiid", esiid ? json_object_new_string(esiid) : NULL);
	json_object_object_add(payload, "meter", meter ? json_object_new_string(meter) : NULL);
	json_object_object_add(payload, "houseId", house ? json_object_new_string(house) : NULL);
	json_object_object_add(payload, "forceRepost", json_object_new_boolean(force));
	json_object_object_add(payload, "ts", json_object_new_string(now));
	if (asprintf(&hdr, "x-intelliwatt-secret: %s", secret) < 0) {
		hdr = NULL;
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	if (!(h = curl_slist_append(NULL, "Content-Type: application/json")) ||
	    !(headers = h, h = curl_slist_append(headers, hdr))) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	headers = h;
	call.method = "POST";
	call.url = url;
	call.headers = headers;
	call.body = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
	call.body_len = strlen(call.body);
	call.timeout_ms = TRIGGER_TIMEOUT_MS;
	call.max_reply = TRIGGER_REPLY_MAX;
	if (iw_http_do(&call, &reply) != 0) {
		rc = iw_http_fail(resp, &reply, "droplet webhook");
		goto out;
	}
	parsed = reply.body && reply.len ? json_tokener_parse(reply.body) : NULL;
	if (!parsed && reply.body)
		parsed = json_object_new_string_len(reply.body, (int)reply.len);
	iw_log_count(req, "webhook_status", reply.status);
	if (reply.status < 200 || reply.status > 299) {
		rc = iw_error(resp, 502, "upstream_failed", "droplet webhook answered HTTP %ld",
			      reply.status);
		json_object_object_add(resp->body, "webhookStatus", json_object_new_int64(reply.status));
		json_object_object_add(resp->body, "response", parsed);
		goto out;
	}
	if (!(out = json_object_new_object())) {
		json_object_put(parsed);
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_object_object_add(out, "mode", json_object_new_string(mode ? mode : "trigger"));
	json_object_object_add(out, "triggered", json_object_new_boolean(1));
	json_object_object_add(out, "webhookStatus", json_object_new_int64(reply.status));
	json_object_object_add(out, "response", parsed);
	rc = iw_ok(resp, out);
out:
	if (hdr) {
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
	}
	curl_slist_free_all(headers);
	iw_http_reply_free(&reply);
	json_object_put(payload);
	return rc;
}

static int pull(struct iw_request *req, struct iw_response *resp)
{
	const char *mode;
	int rc;

	if (!is_json(req->content_type))
		return pull_upload(req, resp);
	if ((rc = iw_body_json(req, resp, IW_SMT_INLINE_BODY_MAX)) != 0)
		return rc;
	mode = iw_arg_str(req, "mode");
	if (mode && strcmp(mode, "inline") == 0)
		return pull_inline(req, resp);
	if (mode && strcmp(mode, "upload") == 0)
		return iw_error(resp, 400, "invalid_request",
				"mode: upload sends the raw file as the body (text/csv, application/gzip "
				"or application/octet-stream) with ?filename=");
	return pull_trigger(req, resp, mode);
}

/* statement_timeout of the route's own transactions: room for 256 MiB of
 * rows, yet below nginx's fastcgi_read_timeout (300 s), so the route answers
 * before nginx gives up on it. */

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_pull",
		.methods = IW_POST,
		.auth = IW_AUTH_WEBHOOK,
		.body = IW_BODY_RAW,
		.max_body = IW_SMT_UPLOAD_MAX,
		.fields = fields,
		.handler = pull,
		.lock_timeout_ms = 10000,
		.statement_timeout_ms = 240000, /* nginx waits 300 s */
	};
	return iw_serve(&route);
}
