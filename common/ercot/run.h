/* One ERCOT run (the cron): the fetch method's listing of a day, with the
 * API's look-back and the MIS -> page fallback, then each file ingested
 * while the run's lease is renewed. */
#ifndef IW_ERCOT_RUN_H
#define IW_ERCOT_RUN_H

#include <stddef.h>

#include <json-c/json.h>

#include "ercot/api.h"
#include "ercot/config.h"
#include "ercot/ingest.h"
#include "io/run_lock.h"

/* Without a date, the API is asked for today and then up to this many days
 * back until a day has postings (the listings of the other methods carry
 * every recent post: the latest day among them is taken). */
#define IW_ERCOT_LOOKBACK_DAYS 7

struct iw_ercot_listing {
	enum iw_ercot_method method;
	struct iw_ercot_fetcher fetcher; /* how the files are downloaded */
	const char *source;              /* "mis" or "page" for the MIS method, else the method */
	struct iw_ercot_docs docs;
	struct iw_ercot_api *api;        /* the API method's session */
};

/* Lists the files of DAY (YYYY-MM-DD; when DATED is 0, DAY holds today and
 * becomes the latest posting day) for TDSP (NULL: all) with the configured
 * method. 0, or -1 with ERR set. Free L with iw_ercot_run_listing_free. */
int iw_ercot_run_list(struct iw_ercot_listing *l, char day[IW_ERCOT_DAY_LEN + 1], int dated,
		      const char *tdsp, char *err, size_t errlen);
void iw_ercot_run_listing_free(struct iw_ercot_listing *l);

struct iw_ercot_run_counts {
	long long ok, skipped, failed;
	long long no_space; /* of the failed: a local disk was full */
};

/* Ingests every listed file of DAY, renewing LOCK's lease before each; a
 * lost lease stops the run (the rest are reported as not tried). The
 * per-file results as a JSON array (NULL when out of memory). */
json_object *iw_ercot_run_files(struct iw_ercot_listing *l, const char *day,
				struct iw_run_lock *lock, struct iw_ercot_run_counts *counts);
#endif
