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

#include "core/config.h"
#include "io/db_raw.h"
#include "web/serve.h"
#include "web/stream.h"
#include "smt/droplet.h"
#include "smt/ingest.h"

#define UPLOAD_CHUNK       (64 * 1024)

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
	if ((rc = iw_failed(resp, iw_smt_ingest(&file, s, &body, &resp->err))) == 0)
		rc = answer(req, resp, body);
out:
	iw_smt_spool_free(s);
	return rc;
}

/* The upload's input besides its body: the whole query in one table. */
static const struct iw_field query_fields[] = {
	{ "filename", IW_T_STRING, 1, 1, 1024, NULL },
	{ "esiid", IW_T_ESIID, 0, 0, 0, NULL },
	{ "meter", IW_T_STRING, 0, 1, IW_SMT_METER_MAX, NULL },
	{ "source", IW_T_STRING, 0, 1, IW_SMT_SOURCE_MAX, NULL },
	{ "captured_at", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ "sizeBytes", IW_T_INT, 0, 0, (long long)IW_SMT_UPLOAD_MAX * 4, NULL },
	{ 0 }
};

/* The validated query argument NAME, or NULL. */
static const char *query_str(json_object *args, const char *name)
{
	json_object *v;
	return json_object_object_get_ex(args, name, &v) ? json_object_get_string(v) : NULL;
}

/* The body read whole (nginx buffers it: its reading is no long work).
 * No event may come before: nginx stops sending a request body once the
 * answer's head arrived. */
static void receive_event(const struct iw_progress *p, const char *phase,
			  unsigned long long bytes, long long length, const struct iw_smt_spool *s)
{
	json_object *ev = json_object_new_object();

	if (ev) {
		json_object_object_add(ev, "event", json_object_new_string("pull"));
		json_object_object_add(ev, "phase", json_object_new_string(phase));
		json_object_object_add(ev, "bytesReceived", json_object_new_int64((int64_t)bytes));
		if (length >= 0)
			json_object_object_add(ev, "total", json_object_new_int64(length));
		json_object_object_add(ev, "bytesSpooled", json_object_new_int64((int64_t)iw_smt_spool_size(s)));
	}
	iw_progress_emit(p, ev);
}

static int pull_upload(struct iw_request *req, struct iw_response *resp)
{
	const char *ct = req->content_type;
	struct iw_smt_file file = { .mode = "upload", .size_expected = -1 };
	enum iw_smt_encoding enc;
	struct iw_smt_spool *s = NULL;
	json_object *body = NULL, *args = NULL, *v;
	char err[512] = "", *chunk = NULL;
	unsigned long long total = 0;
	struct iw_stream stream;
	struct iw_progress progress;
	int rc;

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
	if (iw_query_args(req, query_fields, &args, err, sizeof err) != 0)
		return iw_error(resp, 400, "invalid_request", "%s", err);
	file.filename = query_str(args, "filename");
	file.esiid = query_str(args, "esiid");
	file.meter = query_str(args, "meter");
	file.source = query_str(args, "source");
	file.captured_at = query_str(args, "captured_at");
	if (json_object_object_get_ex(args, "sizeBytes", &v))
		file.size_expected = json_object_get_int64(v);
	if ((file.meter && !plain_text(file.meter)) || (file.source && !plain_text(file.source))) {
		rc = iw_error(resp, 400, "invalid_request", "meter/source: at most %d printable characters",
			      IW_SMT_METER_MAX);
		goto out;
	}
	file.content_type = enc == IW_SMT_GZIP ? "text/csv" : ct_is(ct, "text/csv") ? "text/csv"
										   : "application/octet-stream";
	/* Accept: application/x-ndjson: the body received and spooled, then
	 * the ingest's steps (web/stream.h; docs/progress.md). */
	iw_stream_progress(&stream, req, resp, &progress);
	file.progress = &progress;

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
	if (iw_progress_on(&progress))
		receive_event(&progress, "received", total, req->content_length, s);
	if ((rc = iw_failed(resp, iw_smt_ingest(&file, s, &body, &resp->err))) == 0)
		rc = answer(req, resp, body);
out:
	free(chunk);
	iw_smt_spool_free(s);
	json_object_put(args);
	return rc;
}

static int pull_trigger(struct iw_request *req, struct iw_response *resp, const char *mode)
{
	struct iw_smt_droplet_trigger t = {
		.reason = iw_arg_str(req, "reason"),
		.esiid = iw_arg_str(req, "esiid"),
		.meter = iw_arg_str(req, "meter"),
		.house_id = iw_arg_str(req, "houseId"),
	};
	json_object *out, *response = NULL;
	long status = 0;
	int rc;

	iw_arg_bool(req, "forceRepost", &t.force_repost);
	rc = iw_smt_droplet_trigger(&t, &status, &response, &resp->err);
	if (status)
		iw_log_count(req, "webhook_status", status);
	if (rc != 0)
		return iw_fail(resp, &resp->err);
	if (!(out = json_object_new_object())) {
		json_object_put(response);
		return iw_error(resp, 500, "internal_error", "out of memory");
	}
	json_object_object_add(out, "mode", json_object_new_string(mode ? mode : "trigger"));
	json_object_object_add(out, "triggered", json_object_new_boolean(1));
	json_object_object_add(out, "webhookStatus", json_object_new_int64(status));
	json_object_object_add(out, "response", response);
	return iw_ok(resp, out);
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
