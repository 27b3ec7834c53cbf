/* GET|POST /api/admin/ercot/cron: the daily ERCOT ingest (SPEC §6). Lists the
 * TDSP ESIID extract files posted on a day (?date=YYYY-MM-DD in UTC; default
 * the latest posting day, normally today; ?tdsp=NAME for one TDSP) with the
 * first configured fetch method,
 * then downloads, checks, stores and indexes each file. One run at a time. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ercot/config.h"
#include "ercot/run.h"
#include "web/serve.h"
#include "web/stream.h"

#define TDSP_ARG_MAX 48

/* ?date= and ?tdsp=: 0, or the 400 already set. */
static int read_query(struct iw_request *req, struct iw_response *resp, char *day,
		      int *dated, char *tdsp, int *filtered)
{
	char arg[TDSP_ARG_MAX];
	int got = iw_query_get(req, "date", day, IW_ERCOT_DAY_LEN + 1);

	if (got < 0 || (got == 1 && !iw_ercot_day_valid(day)))
		return iw_error(resp, 400, "invalid_request", "date: expected a date YYYY-MM-DD");
	*dated = got == 1;
	if (got == 0) {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(day, IW_ERCOT_DAY_LEN + 1, "%Y-%m-%d", &tm);
	}
	*filtered = 0;
	got = iw_query_get(req, "tdsp", arg, sizeof arg);
	if (got < 0 || (got == 1 && (!arg[0] || strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
						   "abcdefghijklmnopqrstuvwxyz0123456789_- ") != strlen(arg) ||
				     iw_ercot_tdsp_code(arg, tdsp, IW_ERCOT_TDSP_MAX) != 0)))
		return iw_error(resp, 400, "invalid_request",
				"tdsp: expected a TDSP name such as ONCOR or CENTERPOINT");
	*filtered = got == 1;
	return 0;
}

/* 409 busy naming the lock, its holder and age; Retry-After: the seconds
 * left on the holder's lease. */
static int busy_error(struct iw_response *resp, const struct iw_run_lock_busy *b)
{
	char after[24];

	snprintf(after, sizeof after, "%lld",
		 b->expires_in_s > 0 && b->expires_in_s <= IW_ERCOT_LEASE_S ? b->expires_in_s
									   : IW_ERCOT_LEASE_S);
	iw_header(resp, "Retry-After", after);
	return iw_error(resp, 409, "busy",
			"an ERCOT run is already in progress: lock \"" IW_ERCOT_LOCK_NAME
			"\" held by %s for %lld s", b->holder[0] ? b->holder : "another run", b->age_s);
}

static int run(struct iw_request *req, struct iw_response *resp)
{
	char day[IW_ERCOT_DAY_LEN + 1], tdsp[IW_ERCOT_TDSP_MAX], err[512] = "";
	const char *missing[IW_ERCOT_MISSING_MAX];
	struct iw_ercot_listing listing = { 0 };
	struct iw_ercot_run_counts counts;
	struct iw_run_lock run_lock = { 0 };
	struct iw_run_lock_busy busy;
	struct iw_stream stream;
	struct iw_progress progress;
	json_object *body = NULL, *results = NULL;
	size_t n;
	int dated = 0, filtered = 0, lock, rc;

	/* A HEAD probe must not start a run of many minutes. */
	if (!strcmp(req->method, "HEAD")) {
		iw_header(resp, "Allow", "GET, POST");
		return iw_error(resp, 405, "method_not_allowed", "method HEAD: this route allows GET, POST");
	}
	if (read_query(req, resp, day, &dated, tdsp, &filtered) != 0)
		return resp->status;
	if ((n = iw_ercot_run_missing_settings(missing, IW_ERCOT_MISSING_MAX)) > 0) {
		char names[256] = "";
		for (size_t i = 0; i < n; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				 i ? ", " : "", missing[i]);
		return iw_error(resp, 503, "server_misconfigured", "missing settings: %s", names);
	}
	if ((lock = iw_run_lock_acquire(&run_lock, IW_ERCOT_LOCK_NAME, IW_ERCOT_LEASE_S, &busy)) < 0)
		return iw_error(resp, 503, "database_unavailable", "the master database is unavailable");
	if (!lock)
		return busy_error(resp, &busy);

	/* With Accept: application/x-ndjson, the files' progress is streamed
	 * (web/stream.h); a listing failure comes before any event. */
	iw_stream_progress(&stream, req, resp, &progress);
	listing.fetcher.progress = &progress;
	rc = iw_ercot_run_list(&listing, day, dated, filtered ? tdsp : NULL, err, sizeof err);
	iw_log_str(req, "fetch", listing.fetcher.method);
	if (rc != 0) {
		iw_error(resp, 502, "upstream_failed", "ERCOT listing (%s): %s", listing.fetcher.method, err);
		json_object_object_add(resp->body, "method", json_object_new_string(listing.fetcher.method));
		goto out;
	}
	iw_log_str(req, "date", day);
	iw_log_count(req, "files", (long long)listing.docs.n);

	if (!(body = json_object_new_object()) ||
	    !(results = iw_ercot_run_files(&listing, day, &run_lock, &counts))) {
		iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_object_object_add(body, "method", json_object_new_string(listing.fetcher.method));
	json_object_object_add(body, "source", json_object_new_string(listing.source));
	json_object_object_add(body, "date", json_object_new_string(day));
	if (filtered)
		json_object_object_add(body, "tdsp", json_object_new_string(tdsp));
	json_object_object_add(body, "results", results);
	results = NULL;
	if (counts.no_space > 0) {
		/* No file can land until space is made: an operator must act. */
		iw_err_set(&resp->err, IW_ERR_NO_SPACE,
			   "%lld of %zu files failed: a local disk is full (STORAGE_DIR, or ERCOT_TMP_DIR "
			   "with S3 storage); each is recorded as an error and the next run retries it",
			   counts.no_space, listing.docs.n);
		resp->err.detail = body; /* the run's fields beside the error */
		body = NULL;
		iw_fail(resp, &resp->err);
	} else {
		iw_ok(resp, body);
		body = NULL;
	}
	iw_log_count(req, "stored", counts.ok);
	iw_log_count(req, "skipped", counts.skipped);
	iw_log_count(req, "failed", counts.failed);
out:
	json_object_put(results);
	json_object_put(body);
	iw_ercot_run_listing_free(&listing);
	iw_run_lock_release(&run_lock);
	return resp->status;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "ercot_cron",
		.methods = IW_GET | IW_POST,
		.auth = IW_AUTH_CRON,
		.body = IW_BODY_NONE,
		.handler = run,
		.statement_timeout_ms = 840000, /* nginx waits 900 s */
	};
	return iw_serve(&route);
}
