/* The hourly refresh of SmtAuthorization from SMT (the status cron): one run
 * at a time (a transaction-scoped advisory lock), one fetch of the CSP's
 * agreement list per run, one UPDATE for all rows.
 *
 * A proxy failure leaves every row as it was (statuses, messages and
 * smtLastSyncAt, so the next run retries at once): a passing outage must not
 * overwrite good statuses. A row with no usable ESIID, or whose ESIID SMT
 * lists no agreement for, is synced as ERROR with a message saying which. */
#ifndef IW_SMT_REFRESH_H
#define IW_SMT_REFRESH_H

#include "core/err.h"

#define IW_SMT_REFRESH_LIMIT_DEFAULT 50
#define IW_SMT_REFRESH_LIMIT_MAX     1000

struct iw_smt_refresh_counts {
	int scanned, updated, failed, throttled;
	int smt_failed;  /* the agreement list could not be fetched: rows left as they were */
};

/* Refreshes up to LIMIT rows, newest first: PENDING ones (ALL: every live
 * row), skipping rows synced within COOLDOWN_MS. 0, or the enum iw_err in
 * ERROR (IW_ERR_BUSY with a Retry-After when another run holds the lock;
 * the proxy's error, with COUNTS saying what was left, when SMT failed).
 * COUNTS is filled either way. */
int iw_smt_refresh_run(long long limit, int all, long long cooldown_ms,
		       struct iw_smt_refresh_counts *counts, struct iw_error *error);
#endif
