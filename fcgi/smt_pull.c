/* POST /api/admin/smt/pull (SPEC §5): SMT files in, or a pull triggered on
 * the droplet.
 *   JSON body, mode "inline": base64 (or base64+gzip) content in the body.
 *   JSON body, any other mode: POST a trigger to DROPLET_WEBHOOK_URL.
 *   any other body ("upload"): the raw file (text/csv, application/gzip,
 *     application/octet-stream) with ?filename=&esiid=&meter=, streamed to a
 *     spool file as it arrives. */
#include <string.h>

#include "core/mime.h"
#include "smt/droplet.h"
#include "smt/ingest.h"
#include "smt/pull.h"
#include "web/serve.h"
#include "web/stream.h"

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

static int pull_inline(struct iw_request *req, struct iw_response *resp)
{
	const char *enc = iw_arg_str(req, "encoding");
	json_object *b64;
	/* Only a type of the allow-list is stored (iw_smt_content_type). */
	struct iw_smt_file file = { .mode = "inline", .content_type = iw_arg_str(req, "mime") };
	struct iw_smt_spool *s = NULL;
	json_object *body = NULL;
	char err[512] = "";
	int rc;

	if (!iw_arg_str(req, "filename"))
		return iw_error(resp, 400, "invalid_request", "filename: is required");
	if (!json_object_object_get_ex(req->body, "content_b64", &b64) ||
	    !json_object_is_type(b64, json_type_string) || json_object_get_string_len(b64) == 0)
		return iw_error(resp, 400, "invalid_request", "content_b64: is required (a base64 string)");
	if ((rc = iw_smt_pull_file(&file, req->args, &resp->err)) == 0 &&
	    (rc = iw_smt_pull_inline(json_object_get_string(b64), (size_t)json_object_get_string_len(b64),
				     enc && strcmp(enc, "base64+gzip") == 0, err, sizeof err, &s,
				     &resp->err)) == 0 &&
	    (rc = iw_smt_ingest(&file, s, &body, &resp->err)) == 0)
		rc = answer(req, resp, body);
	else
		rc = iw_fail(resp, &resp->err);
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

static long body_reader(void *req, char *buf, size_t len)
{
	return iw_body_read(req, buf, len);
}

static int pull_upload(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_file file = { .mode = "upload" };
	struct iw_smt_spool *s = NULL;
	json_object *body = NULL, *args = NULL;
	char err[512] = "";
	unsigned long long total = 0;
	struct iw_stream stream;
	struct iw_progress progress;
	int enc, rc;

	if ((enc = iw_smt_pull_encoding(req->content_type, &file.content_type, &resp->err)) < 0)
		return iw_fail(resp, &resp->err);
	if (req->content_length > (long long)IW_SMT_UPLOAD_MAX)
		return iw_error(resp, 413, "payload_too_large", "body: larger than %u bytes",
				IW_SMT_UPLOAD_MAX);
	if (iw_query_args(req, query_fields, &args, err, sizeof err) != 0)
		return iw_error(resp, 400, "invalid_request", "%s", err);
	if (iw_smt_pull_file(&file, args, &resp->err) != 0) {
		rc = iw_fail(resp, &resp->err);
		goto out;
	}
	/* Accept: application/x-ndjson: the body received and spooled, then
	 * the ingest's steps (web/stream.h; docs/progress.md). nginx buffers the
	 * body, so its reading is no long work, and no event may come before it:
	 * nginx stops sending a request body once the answer's head arrived. */
	iw_stream_progress(&stream, req, resp, &progress);
	file.progress = &progress;
	if ((rc = iw_smt_pull_receive((enum iw_smt_encoding)enc, body_reader, req, err, sizeof err, &s,
				      &total, &resp->err)) != 0) {
		rc = iw_fail(resp, &resp->err);
		goto out;
	}
	if (iw_progress_on(&progress))
		iw_smt_pull_event(&progress, "received", total, req->content_length, s);
	if ((rc = iw_failed(resp, iw_smt_ingest(&file, s, &body, &resp->err))) == 0)
		rc = answer(req, resp, body);
out:
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
	if (!(out = iw_smt_pull_triggered(mode, status, response)))
		return iw_error(resp, 500, "internal_error", "out of memory");
	return iw_ok(resp, out);
}

static int pull(struct iw_request *req, struct iw_response *resp)
{
	const char *mode;
	int rc;

	if (!iw_mime_json(req->content_type))
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
		/* Room for 256 MiB of rows, yet below nginx's fastcgi_read_timeout
		 * (300 s), so the route answers before nginx gives up on it. */
		.statement_timeout_ms = 240000,
	};
	return iw_serve(&route);
}
