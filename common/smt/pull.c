#include "smt/pull.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mime.h"
#include "core/validate.h"

#define UPLOAD_CHUNK (64 * 1024)

int iw_smt_pull_encoding(const char *ct, const char **stored, struct iw_error *e)
{
	if (iw_mime_is(ct, "application/gzip") || iw_mime_is(ct, "application/x-gzip")) {
		*stored = "text/csv";
		return IW_SMT_GZIP;
	}
	if (iw_mime_is(ct, "text/csv") || iw_mime_is(ct, "application/octet-stream")) {
		*stored = iw_mime_is(ct, "text/csv") ? "text/csv" : "application/octet-stream";
		return IW_SMT_AUTO;
	}
	iw_err_set(e, IW_ERR_MEDIA_TYPE,
		   "body: Content-Type must be application/json (inline, trigger), "
		   "text/csv, application/gzip or application/octet-stream (upload)");
	return -1;
}

/* Printable ASCII without separators that would confuse logs or keys. */
static int plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* FILE's meter and source are printable ASCII: 0, or IW_ERR_INPUT in E. */
static int pull_check(const struct iw_smt_file *file, struct iw_error *e)
{
	if ((file->meter && !plain_text(file->meter)) || (file->source && !plain_text(file->source)))
		return iw_err_set(e, IW_ERR_INPUT, "meter/source: at most %d printable ASCII characters",
				  IW_SMT_METER_MAX);
	return 0;
}

int iw_smt_pull_file(struct iw_smt_file *file, json_object *args, struct iw_error *e)
{
	json_object *v;

	file->filename = iw_args_str(args, "filename");
	file->esiid = iw_args_str(args, "esiid");
	file->meter = iw_args_str(args, "meter");
	file->source = iw_args_str(args, "source");
	file->captured_at = iw_args_str(args, "captured_at");
	file->size_expected = -1;
	if (args && json_object_object_get_ex(args, "sizeBytes", &v) &&
	    json_object_is_type(v, json_type_int))
		file->size_expected = json_object_get_int64(v);
	return pull_check(file, e);
}

/* A spool failure RC (its text in ERR) as an enum iw_err; WHAT names the
 * input a decoding error is blamed on. */
static int spool_fail(int rc, const char *err, const char *what, struct iw_error *e)
{
	int saved = errno; /* the spool's failed write(), unchanged since */

	if (rc == IW_SMT_SPOOL_ETOOBIG)
		return iw_err_set(e, IW_ERR_TOO_BIG, "content: %s", err);
	if (rc == IW_SMT_SPOOL_EIO && iw_errno_no_space(saved))
		return iw_err_set(e, IW_ERR_NO_SPACE, "content: the temporary directory is full (%s)", err);
	if (rc == IW_SMT_SPOOL_EIO)
		return iw_err_set(e, IW_ERR_INTERNAL, "content: %s", err);
	return iw_err_set(e, IW_ERR_INPUT, "%s: %s", what, err);
}

int iw_smt_pull_inline(const char *b64, size_t len, int gzip, char *err, size_t errlen,
		       struct iw_smt_spool **out, struct iw_error *e)
{
	struct iw_smt_spool *s;
	int rc;

	err[0] = '\0';
	*out = NULL;
	if (!(s = iw_smt_spool_new(gzip ? IW_SMT_GZIP : IW_SMT_PLAIN, IW_SMT_INLINE_DECODED_MAX, err,
				   errlen)))
		return iw_err_set(e, IW_ERR_INTERNAL, "content: %s", err);
	if ((rc = iw_smt_spool_feed_base64(s, b64, len)) != 0 || (rc = iw_smt_spool_finish(s)) != 0) {
		rc = spool_fail(rc, err, "content_b64", e);
		iw_smt_spool_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int iw_smt_pull_receive(enum iw_smt_encoding enc, iw_smt_reader read, void *ctx, char *err,
			size_t errlen, struct iw_smt_spool **out, unsigned long long *total,
			struct iw_error *e)
{
	struct iw_smt_spool *s = NULL;
	char *chunk;
	int rc = 0;

	err[0] = '\0';
	*out = NULL;
	*total = 0;
	if (!(chunk = malloc(UPLOAD_CHUNK)) || !(s = iw_smt_spool_new(enc, IW_SMT_UPLOAD_MAX, err, errlen))) {
		rc = iw_err_set(e, IW_ERR_INTERNAL, "out of memory or no temporary file");
		goto out;
	}
	for (;;) {
		long n = read(ctx, chunk, UPLOAD_CHUNK);
		if (n < 0) {
			rc = iw_err_set(e, IW_ERR_INPUT, "body: could not be read");
			goto out;
		}
		if (n == 0)
			break;
		*total += (unsigned long long)n;
		if (*total > IW_SMT_UPLOAD_MAX) {
			rc = iw_err_set(e, IW_ERR_TOO_BIG, "body: larger than %u bytes", IW_SMT_UPLOAD_MAX);
			goto out;
		}
		if ((rc = iw_smt_spool_feed(s, chunk, (size_t)n)) != 0) {
			rc = spool_fail(rc, err, "content", e);
			goto out;
		}
	}
	if ((rc = iw_smt_spool_finish(s)) != 0)
		rc = spool_fail(rc, err, "content", e);
out:
	free(chunk);
	if (rc != 0)
		iw_smt_spool_free(s);
	else
		*out = s;
	return rc;
}

void iw_smt_pull_event(const struct iw_progress *p, const char *phase, unsigned long long bytes,
		       long long length, const struct iw_smt_spool *s)
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

json_object *iw_smt_pull_triggered(const char *mode, long status, json_object *response)
{
	json_object *out = json_object_new_object();

	if (!out) {
		json_object_put(response);
		return NULL;
	}
	json_object_object_add(out, "mode", json_object_new_string(mode ? mode : "trigger"));
	json_object_object_add(out, "triggered", json_object_new_boolean(1));
	json_object_object_add(out, "webhookStatus", json_object_new_int64(status));
	json_object_object_add(out, "response", response);
	return out;
}
