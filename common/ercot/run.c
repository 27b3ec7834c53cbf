#include "ercot/run.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "ercot/ews.h"
#include "ercot/lookup.h"
#include "ercot/mis.h"

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

/* The API lists by day: without a date, look back for the last post. */
static int list_api(struct iw_ercot_listing *l, char *day, int dated, const char *tdsp,
		    char *err, size_t errlen)
{
	int rc;

	if (!(l->api = iw_ercot_api_open(err, errlen)))
		return -1;
	l->fetcher.self = l->api;
	rc = iw_ercot_api_list(l->api, day, tdsp, &l->docs, err, errlen);
	for (int back = 1; !dated && rc == 0 && l->docs.n == 0 && back < IW_ERCOT_LOOKBACK_DAYS;
	     back++) {
		previous_day(day);
		rc = iw_ercot_api_list(l->api, day, tdsp, &l->docs, err, errlen);
	}
	return rc;
}

/* The MIS listing, or the page at ERCOT_PAGE_URL when MIS fails. */
static int list_mis(struct iw_ercot_listing *l, const char *day, const char *tdsp, char *err,
		    size_t errlen)
{
	int rc = iw_ercot_mis_list(day, tdsp, &l->docs, err, errlen);

	if (rc != 0 && iw_env("ERCOT_PAGE_URL")) {
		char perr[256];
		iw_logf("warn", "ercot: MIS listing failed (%.200s); trying ERCOT_PAGE_URL", err);
		l->source = "page";
		iw_ercot_docs_free(&l->docs);
		rc = iw_ercot_page_list(day, tdsp, &l->docs, perr, sizeof perr);
		if (rc != 0)
			snprintf(err + strlen(err), errlen - strlen(err), "; %s", perr);
	}
	return rc;
}

int iw_ercot_run_list(struct iw_ercot_listing *l, char day[IW_ERCOT_DAY_LEN + 1], int dated,
		      const char *tdsp, char *err, size_t errlen)
{
	int rc;

	l->method = iw_ercot_method();
	l->fetcher.method = iw_ercot_method_name(l->method);
	l->source = l->fetcher.method;
	switch (l->method) {
	case IW_ERCOT_EWS:
		l->fetcher.download = ews_download;
		rc = list_ews(dated ? day : NULL, tdsp, &l->docs, err, errlen);
		break;
	case IW_ERCOT_API:
		l->fetcher.download = iw_ercot_api_download;
		rc = list_api(l, day, dated, tdsp, err, errlen);
		break;
	default:
		l->fetcher.download = iw_ercot_plain_download;
		l->source = "mis";
		rc = list_mis(l, dated ? day : NULL, tdsp, err, errlen);
		break;
	}
	if (rc == 0 && !dated)
		iw_ercot_docs_keep_latest_day(&l->docs, day);
	return rc;
}

void iw_ercot_run_listing_free(struct iw_ercot_listing *l)
{
	iw_ercot_api_close(l->api);
	l->api = NULL;
	iw_ercot_docs_free(&l->docs);
}

/* The files from I on, reported as not tried: the lease ran out. */
static void not_tried(const struct iw_ercot_docs *docs, size_t i, json_object *results,
		      struct iw_ercot_run_counts *counts)
{
	json_object *r;

	for (; i < docs->n; i++, counts->failed++) {
		if (!(r = json_object_new_object()))
			break;
		json_object_object_add(r, "tdsp", json_object_new_string(docs->v[i].tdsp));
		json_object_object_add(r, "filename", json_object_new_string(docs->v[i].filename));
		json_object_object_add(r, "error", json_object_new_string(
			"not tried: the lease of the run lock " IW_ERCOT_LOCK_NAME " ran out"
			" and another run took it"));
		json_object_array_add(results, r);
	}
}

json_object *iw_ercot_run_files(struct iw_ercot_listing *l, const char *day,
				struct iw_run_lock *lock, struct iw_ercot_run_counts *counts)
{
	json_object *results = json_object_new_array();

	memset(counts, 0, sizeof *counts);
	if (!results)
		return NULL;
	l->fetcher.lock = lock;
	if (iw_progress_on(l->fetcher.progress)) {
		json_object *ev = json_object_new_object(), *files = json_object_new_array();
		for (size_t i = 0; ev && files && i < l->docs.n; i++) {
			json_object *f = json_object_new_object();
			if (!f)
				break;
			json_object_object_add(f, "tdsp", json_object_new_string(l->docs.v[i].tdsp));
			json_object_object_add(f, "file", json_object_new_string(l->docs.v[i].filename));
			if (l->docs.v[i].size > 0)
				json_object_object_add(f, "total", json_object_new_int64(l->docs.v[i].size));
			json_object_array_add(files, f);
		}
		if (ev && files) {
			json_object_object_add(ev, "event", json_object_new_string("listed"));
			json_object_object_add(ev, "date", json_object_new_string(day));
			json_object_object_add(ev, "files", files);
			files = NULL;
		}
		json_object_put(files);
		iw_progress_emit(l->fetcher.progress, ev);
	}
	for (size_t i = 0; i < l->docs.n; i++) {
		json_object *r, *v;
		/* Another run may have taken an expired lease: stop, it owns the work. */
		if (iw_run_lock_renew(lock) == 0) {
			iw_logf("error", "ercot: the run lock " IW_ERCOT_LOCK_NAME " was lost; stopping");
			not_tried(&l->docs, i, results, counts);
			break;
		}
		if (!(r = iw_ercot_ingest(&l->docs.v[i], day, &l->fetcher)))
			continue;
		if (json_object_object_get_ex(r, "error", &v)) {
			counts->failed++;
			if (json_object_object_get_ex(r, "code", &v) &&
			    !strcmp(json_object_get_string(v), "no_space"))
				counts->no_space++;
		} else if (json_object_object_get_ex(r, "skipped", &v)) {
			counts->skipped++;
		} else {
			counts->ok++;
		}
		json_object_array_add(results, r);
	}
	/* The lookup's indexes, after the first load rather than during it; also
	 * after a run with nothing new (rows from before the migration). Only
	 * while the run still holds its lock: the build blocks writers. */
	if (iw_run_lock_renew(lock) == 1)
		(void)iw_ercot_lookup_indexes_ensure();
	return results;
}
