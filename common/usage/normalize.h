/* Normalisation of raw usage intervals (usage DB "UsageIntervalModule") into
 * the master table "SmtInterval" (SPEC §3 /api/admin/usage/normalize, and the
 * last step of every SMT interval file pulled, SPEC §5).
 *
 * Done in bulk and in bounded memory whatever the window: the raw rows are
 * streamed out of the usage database with COPY ... TO STDOUT and, chunk by
 * chunk as they arrive, into a temporary table of the master database with
 * COPY ... FROM STDIN; one INSERT ... ON CONFLICT then writes only the rows
 * that are new or differ, and counts what it did server-side, so
 *   raw = inserted + updated + unchanged
 * holds exactly. Rows of SmtInterval that have no raw row are left alone.
 *
 * Concurrency: normalisations of the same ESIID are serialised by a
 * transaction-scoped advisory lock per ESIID in the master database. */
#ifndef IW_USAGE_NORMALIZE_H
#define IW_USAGE_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "core/progress.h"
#include "core/validate.h"
#include "core/err.h"

#include <libpq-fe.h>

struct iw_error;

#define IW_USAGE_ESIIDS_MAX 256 /* ESIIDs of one run (a house has a few) */

struct iw_usage_filter {
	const char *const *esiids;      /* normalised ESIIDs, 1..IW_USAGE_ESIIDS_MAX */
	size_t nesiids;
	int has_start, has_end;
	int64_t start_ms;               /* ts >= start (interval start, UTC) */
	int64_t end_ms;                 /* ts <= end: the end is inclusive */
	/* Events {event:"normalize",phase:"read"|"write"|"written",rowsRead,...}
	 * as the rows stream (every IW_USAGE_PROGRESS_ROWS) and the write
	 * begins and ends; NULL: none. */
	const struct iw_progress *progress;
};

#define IW_USAGE_PROGRESS_ROWS 50000

struct iw_usage_summary {
	long long raw;                  /* rows of the usage DB in the filter */
	long long inserted;             /* new rows of SmtInterval */
	long long updated;              /* rows whose kwh/estimated/source/filled changed */
	long long unchanged;            /* raw - inserted - updated */
	int fast_path;                  /* the window was empty: rows were COPYed straight in */
	long long copy_ms, write_ms;    /* time streaming the rows / writing SmtInterval */
};

/* Normalises the rows FILTER selects. With IN_TX the caller has a master
 * transaction open (BEGIN on iw_db_conn(IW_DB_MASTER)) and commits it;
 * otherwise the function runs and commits its own. Returns 0, or the
 * enum iw_err set in ERROR (the caller's transaction is then
 * unusable: roll it back). */
int iw_usage_normalize(const struct iw_usage_filter *filter, int in_tx,
		       struct iw_usage_summary *out, struct iw_error *error);

/* The SQL timestamp literal (UTC, "YYYY-MM-DD HH:MM:SS.mmm") of MS. */
void iw_usage_ts_sql(int64_t ms, char out[32]);
/* A set of normalised ESIIDs (F.esiids may point at PTRS). */
struct iw_usage_esiids {
	char ids[IW_USAGE_ESIIDS_MAX][IW_ESIID_MAX + 1];
	const char *ptrs[IW_USAGE_ESIIDS_MAX];
	size_t n;
};

/* Adds the ESIIDs of HOUSE's SmtAuthorization rows (archived ones too) to
 * SET, normalised and without repeats; *SKIPPED counts stored ESIIDs that do
 * not parse. 0, or the enum iw_err in ERROR (IW_ERR_INPUT past
 * IW_USAGE_ESIIDS_MAX). */
int iw_usage_house_esiids(const char *house, struct iw_usage_esiids *set, long long *skipped,
			  struct iw_error *error);

/* Takes the per-ESIID transaction lock that serialises writes to SmtInterval
 * on CONN inside its transaction (ESIID_LIST: comma-separated ESIIDs).
 * Whoever writes SmtInterval rows takes it. 0, or IW_ERR_BUSY (another
 * request holds one of them past lock_timeout; the message names the lock),
 * IW_ERR_TIMEOUT, IW_ERR_DB_DOWN or IW_ERR_INTERNAL set in ERROR. */
int iw_usage_lock_esiids(PGconn *conn, const char *esiid_list, struct iw_error *error);
#endif
