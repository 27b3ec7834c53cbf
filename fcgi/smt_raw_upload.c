/* POST /api/admin/smt/raw-upload (docs/smt.md): the droplet upload server's
 * files, one JSON body each:
 *   {filename (maybe "...partN-of-M"), sizeBytes, sha256, contentBase64,
 *    source:"droplet-upload", receivedAt, esiid?, meter?, storagePath?,
 *    purgeExisting? (first part), postIngest? (last part)}
 * A CSV part is verified (sizeBytes, sha256: 400 on a mismatch) and loaded
 * like a pull (smt/ingest.c): stored, parsed, both interval tables, deduped
 * by sha256 so a resent part is a duplicate. An error report
 * (source "droplet-error") is stored and recorded as kind error-report,
 * never parsed (smt/upload.c). */
#include <string.h>

#include "web/serve.h"
#include "smt/ingest.h"
#include "smt/upload.h"

/* contentBase64 is read from the body itself: the table would copy it. */
static const struct iw_field fields[] = {
	{ "filename", IW_T_STRING, 1, 1, 1024, NULL },
	{ "sizeBytes", IW_T_INT, 1, 0, IW_SMT_PART_MAX, NULL },
	{ "sha256", IW_T_STRING, 1, 64, 64, NULL },
	{ "source", IW_T_STRING, 0, 1, IW_SMT_SOURCE_MAX, NULL },
	{ "receivedAt", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ "esiid", IW_T_ESIID, 0, 0, 0, NULL },
	{ "meter", IW_T_STRING, 0, 1, IW_SMT_METER_MAX, NULL },
	{ "storagePath", IW_T_STRING, 0, 1, 1024, NULL },
	{ "purgeExisting", IW_T_BOOL, 0, 0, 0, NULL },
	{ "postIngest", IW_T_BOOL, 0, 0, 0, NULL },
	{ 0 }
};

static int printable(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* What the answer says about the sender's flags (docs/smt.md). */
static void add_flags(struct iw_request *req, json_object *body)
{
	const char *path = iw_arg_str(req, "storagePath");
	int purge = 0, post = 0;

	iw_arg_bool(req, "purgeExisting", &purge);
	iw_arg_bool(req, "postIngest", &post);
	if (purge)
		json_object_object_add(body, "purgeExisting", json_object_new_string(
			"ignored: nothing is deleted; the part's intervals are upserted, so a re-sent "
			"export replaces the values of the same intervals"));
	if (post)
		json_object_object_add(body, "postIngest", json_object_new_string(
			"done: every part is loaded into both interval tables when it arrives"));
	if (path)
		json_object_object_add(body, "clientStoragePath", json_object_new_string(path));
}

static int raw_upload(struct iw_request *req, struct iw_response *resp)
{
	const char *source = iw_arg_str(req, "source");
	struct iw_smt_file file = {
		.mode = "raw-upload",
		.filename = iw_arg_str(req, "filename"),
		.esiid = iw_arg_str(req, "esiid"),
		.meter = iw_arg_str(req, "meter"),
		.source = source,
		.content_type = "text/csv",
		.captured_at = iw_arg_str(req, "receivedAt"),
		.size_expected = -1,
	};
	struct iw_smt_spool *s;
	json_object *b64, *body = NULL, *v;
	char err[512] = "";
	long long size = -1;
	int rc, report;

	if (!json_object_object_get_ex(req->body, "contentBase64", &b64) ||
	    !json_object_is_type(b64, json_type_string))
		return iw_error(resp, 400, "invalid_request", "contentBase64: is required (a base64 string)");
	if (!printable(file.meter) || !printable(source))
		return iw_error(resp, 400, "invalid_request", "meter/source: printable ASCII only");
	iw_arg_int(req, "sizeBytes", &size);
	report = (source && strcmp(source, IW_SMT_REPORT_SOURCE) == 0) ||
		 strncmp(file.filename, "smt-upload-error-", 17) == 0;
	if (!(s = iw_smt_spool_new(IW_SMT_PLAIN, IW_SMT_PART_MAX, err, sizeof err)))
		return iw_error(resp, 500, "internal_error", "content: %s", err);
	if ((rc = iw_smt_spool_feed_base64(s, json_object_get_string(b64),
					   (size_t)json_object_get_string_len(b64))) != 0 ||
	    (rc = iw_smt_spool_finish(s)) != 0) {
		rc = rc == IW_SMT_SPOOL_ETOOBIG
			     ? iw_error(resp, 413, "payload_too_large", "contentBase64: %s", err)
		     : rc == IW_SMT_SPOOL_EIO ? iw_error(resp, 500, "internal_error", "content: %s", err)
					      : iw_error(resp, 400, "invalid_request", "contentBase64: %s", err);
		goto out;
	}
	if ((rc = iw_failed(resp, iw_smt_upload_verify(s, size, iw_arg_str(req, "sha256"),
							&resp->err))) != 0)
		goto out;
	if (report)
		rc = iw_smt_upload_report(&file, s, &body, &resp->err);
	else
		rc = iw_smt_ingest(&file, s, &body, &resp->err);
	if ((rc = iw_failed(resp, rc)) != 0)
		goto out;
	add_flags(req, body);
	if (json_object_object_get_ex(body, "rows", &v))
		iw_log_count(req, "rows", json_object_get_int64(v));
	if (json_object_object_get_ex(body, "duplicate", &v))
		iw_log_count(req, "duplicate", json_object_get_boolean(v));
	iw_log_count(req, "bytes", (long long)s->size);
	rc = iw_ok(resp, body);
out:
	iw_smt_spool_free(s);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_raw_upload",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.max_body = IW_SMT_PART_BODY_MAX,
		.fields = fields,
		.handler = raw_upload,
		.lock_timeout_ms = 10000,
		.statement_timeout_ms = 240000, /* nginx waits 300 s */
	};
	return iw_serve(&route);
}
