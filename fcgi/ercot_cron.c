/* GET|POST /api/admin/ercot/cron: the daily ERCOT ingest (SPEC §6). Lists the
 * TDSP ESIID extract files posted on a day (?date=YYYY-MM-DD in UTC; default
 * the latest posting day, normally today; ?tdsp=NAME for one TDSP) with the
 * first configured fetch method,
 * then downloads, checks, stores and indexes each file. One run at a time. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "ercot/api.h"
#include "ercot/config.h"
#include "ercot/ews.h"
#include "ercot/ingest.h"
#include "ercot/mis.h"
#include "web/serve.h"

#define TDSP_ARG_MAX 48

static int ews_download(void *self, const char *url, iw_ercot_sink sink, void *ctx,
			char *err, size_t errlen)
{
	(void)self;
	return iw_ews_download(url, sink, ctx, err, errlen);
}

static int list_ews(const char *day, const char *tdsp, struct iw_ercot_docs *docs,
		    char *err, size_t errlen)
{
	struct iw_ews_report *reports = NULL;
	size_t n = 0;
	int rc = 0;

	if (iw_ews_list_reports(&reports, &n, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (!reports[i].filename || !reports[i].url)
			continue;
		if (iw_ercot_docs_add(docs, day, tdsp, reports[i].filename, NULL, reports[i].url,
				      reports[i].created, reports[i].size) < 0) {
			snprintf(err, errlen, "%s", iw_ercot_docs_error(docs));
			rc = -1;
		}
	}
	iw_ews_reports_free(reports, n);
	return rc;
}

/* Without ?date=, the API is asked for today and then up to this many days
 * back until a day has postings (the listings of the other methods carry every
 * recent post: the latest day among them is taken). */
#define LOOKBACK_DAYS 7

/* DAY (YYYY-MM-DD) becomes the day before. */
static void previous_day(char *day)
{
	struct tm tm = { 0 };
	time_t t;

	if (!strptime(day, "%Y-%m-%d", &tm))
		return;
	t = timegm(&tm) - 86400;
	gmtime_r(&t, &tm);
	strftime(day, IW_ERCOT_DAY_LEN + 1, "%Y-%m-%d", &tm);
}

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
	enum iw_ercot_method method = iw_ercot_method();
	struct iw_ercot_fetcher fetcher = { .method = iw_ercot_method_name(method) };
	struct iw_ercot_docs docs = { 0 };
	struct iw_ercot_api *api = NULL;
	struct iw_run_lock run_lock = { 0 };
	struct iw_run_lock_busy busy;
	json_object *body = NULL, *results = NULL;
	const char *source = fetcher.method;
	long long ok = 0, skipped = 0, failed = 0;
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
	fetcher.lock = &run_lock;
	iw_log_str(req, "fetch", fetcher.method);

	switch (method) {
	case IW_ERCOT_EWS:
		fetcher.download = ews_download;
		rc = list_ews(dated ? day : NULL, filtered ? tdsp : NULL, &docs, err, sizeof err);
		break;
	case IW_ERCOT_API:
		fetcher.download = iw_ercot_api_download;
		rc = -1;
		if ((api = iw_ercot_api_open(err, sizeof err))) {
			fetcher.self = api;
			rc = iw_ercot_api_list(api, day, filtered ? tdsp : NULL, &docs, err, sizeof err);
			/* The API lists by day: without ?date=, look back for the last post. */
			for (int back = 1; !dated && rc == 0 && docs.n == 0 && back < LOOKBACK_DAYS; back++) {
				previous_day(day);
				rc = iw_ercot_api_list(api, day, filtered ? tdsp : NULL, &docs, err,
						       sizeof err);
			}
		}
		break;
	default:
		fetcher.download = iw_ercot_plain_download;
		source = "mis";
		rc = iw_ercot_mis_list(dated ? day : NULL, filtered ? tdsp : NULL, &docs, err, sizeof err);
		if (rc != 0 && iw_env("ERCOT_PAGE_URL")) {
			char perr[256];
			iw_logf("warn", "ercot: MIS listing failed (%.200s); trying ERCOT_PAGE_URL", err);
			source = "page";
			iw_ercot_docs_free(&docs);
			rc = iw_ercot_page_list(dated ? day : NULL, filtered ? tdsp : NULL, &docs, perr, sizeof perr);
			if (rc != 0)
				snprintf(err + strlen(err), sizeof err - strlen(err), "; %s", perr);
		}
		break;
	}
	if (rc != 0) {
		iw_error(resp, 502, "upstream_failed", "ERCOT listing (%s): %s", fetcher.method, err);
		json_object_object_add(resp->body, "method", json_object_new_string(fetcher.method));
		goto out;
	}
	if (!dated)
		iw_ercot_docs_keep_latest_day(&docs, day);
	iw_log_str(req, "date", day);
	iw_log_count(req, "files", (long long)docs.n);

	if (!(body = json_object_new_object()) || !(results = json_object_new_array())) {
		iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < docs.n; i++) {
		json_object *r, *v;
		/* Another run may have taken an expired lease: stop, it owns the work. */
		if (iw_run_lock_renew(&run_lock) == 0) {
			iw_logf("error", "ercot: the run lock " IW_ERCOT_LOCK_NAME " was lost; stopping");
			for (; i < docs.n; i++, failed++) {
				if (!(r = json_object_new_object()))
					break;
				json_object_object_add(r, "tdsp", json_object_new_string(docs.v[i].tdsp));
				json_object_object_add(r, "filename", json_object_new_string(docs.v[i].filename));
				json_object_object_add(r, "error", json_object_new_string(
					"not tried: the lease of the run lock " IW_ERCOT_LOCK_NAME " ran out"
					" and another run took it"));
				json_object_array_add(results, r);
			}
			break;
		}
		if (!(r = iw_ercot_ingest(&docs.v[i], day, &fetcher)))
			continue;
		if (json_object_object_get_ex(r, "error", &v))
			failed++;
		else if (json_object_object_get_ex(r, "skipped", &v))
			skipped++;
		else
			ok++;
		json_object_array_add(results, r);
	}
	json_object_object_add(body, "method", json_object_new_string(fetcher.method));
	json_object_object_add(body, "source", json_object_new_string(source));
	json_object_object_add(body, "date", json_object_new_string(day));
	if (filtered)
		json_object_object_add(body, "tdsp", json_object_new_string(tdsp));
	json_object_object_add(body, "results", results);
	results = NULL;
	iw_ok(resp, body);
	body = NULL;
	iw_log_count(req, "stored", ok);
	iw_log_count(req, "skipped", skipped);
	iw_log_count(req, "failed", failed);
out:
	json_object_put(results);
	json_object_put(body);
	iw_ercot_api_close(api);
	iw_ercot_docs_free(&docs);
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
