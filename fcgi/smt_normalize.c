/* POST /api/admin/smt/normalize (docs/smt.md): re-loads the newest stored
 * raw SMT files through the pull's parser and loader (smt/reload.c).
 *   ?esiid=  files whose recorded ESIID or name carry it
 *   ?limit=  newest N files (default 1, at most 100)
 *   ?source= raw_smt_files.source
 *   ?dryRun=1 parse and count, write nothing
 *   ?purge=1 / ?cleanup=1 (the droplet fetch script's follow-up call):
 *            accepted, answered as ignored: stored originals are never deleted.
 * Body: {} (ignored). Not /api/admin/usage/normalize (usage -> SmtInterval). */
#include <stdlib.h>
#include <string.h>

#include "web/serve.h"
#include "web/stream.h"
#include "smt/ingest.h"
#include "smt/reload.h"

static const struct iw_field query_fields[] = {
	{ "esiid", IW_T_ESIID, 0, 0, 0, NULL },
	{ "limit", IW_T_INT, 0, 1, IW_SMT_RELOAD_LIMIT_MAX, NULL },
	{ "source", IW_T_STRING, 0, 1, IW_SMT_SOURCE_MAX, NULL },
	{ "dryRun", IW_T_STRING, 0, 1, 5, NULL },
	{ "purge", IW_T_STRING, 0, 1, 5, NULL },
	{ "cleanup", IW_T_STRING, 0, 1, 5, NULL },
	{ 0 }
};

/* "1"/"true" -> 1, "0"/"false" -> 0, absent -> 0, else -1. */
static int flag(json_object *args, const char *name)
{
	const char *v = iw_args_str(args, name);
	if (!v || strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		return 0;
	return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ? 1 : -1;
}

static void add_ignored(json_object *ignored, json_object *args, const char *name, const char *why)
{
	if (flag(args, name) == 1)
		json_object_object_add(ignored, name, json_object_new_string(why));
}

static int normalize(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_reload_query q = { .limit = IW_SMT_RELOAD_LIMIT_DEFAULT };
	struct iw_stream stream;
	struct iw_progress progress;
	json_object *args = NULL, *files = NULL, *totals = NULL, *body = NULL, *ignored, *v;
	char msg[256];
	int rc;

	if (iw_query_args(req, query_fields, &args, msg, sizeof msg) != 0)
		return iw_error(resp, 400, "invalid_request", "%s", msg);
	q.esiid = iw_args_str(args, "esiid");
	q.source = iw_args_str(args, "source");
	if (json_object_object_get_ex(args, "limit", &v))
		q.limit = (int)json_object_get_int64(v);
	if ((q.dry_run = flag(args, "dryRun")) < 0 || flag(args, "purge") < 0 ||
	    flag(args, "cleanup") < 0) {
		rc = iw_error(resp, 400, "invalid_request", "dryRun/purge/cleanup: 1, true, 0 or false");
		goto out;
	}
	/* Accept: application/x-ndjson streams a line per file (web/stream.h). */
	iw_stream_progress(&stream, req, resp, &progress);
	q.progress = &progress;
	if ((rc = iw_failed(resp, iw_smt_reload(&q, &files, &totals, &resp->err))) != 0)
		goto out;
	if (!(body = json_object_new_object()) || !(ignored = json_object_new_object())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	add_ignored(ignored, args, "purge",
		    "stored originals and their rows are never deleted by normalize");
	add_ignored(ignored, args, "cleanup",
		    "stored originals are kept: re-loading after a parser fix needs them");
	json_object_object_add(body, "files", files);
	json_object_object_add(body, "totals", totals);
	json_object_object_add(body, "ignored", ignored);
	json_object_object_add(body, "dryRun", json_object_new_boolean(q.dry_run));
	iw_log_count(req, "files", (long long)json_object_array_length(files));
	if (json_object_object_get_ex(totals, "inserted", &v))
		iw_log_count(req, "inserted", json_object_get_int64(v));
	files = totals = NULL;
	rc = iw_ok(resp, body);
	body = NULL;
out:
	json_object_put(files);
	json_object_put(totals);
	json_object_put(body);
	json_object_put(args);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_normalize",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_NONE,
		.handler = normalize,
		.lock_timeout_ms = 10000,
		.statement_timeout_ms = 240000, /* nginx waits 300 s */
	};
	return iw_serve(&route);
}
