/* The record of each SMT status cron run ("SmtCronRun"), for GET /metrics:
 * written when a run ends, the newest read back. */
#ifndef IW_SMT_CRON_RUNS_H
#define IW_SMT_CRON_RUNS_H

#include "core/err.h"
#include "smt/refresh.h"

struct iw_smt_cron_last {
	int found;
	double finished_at;  /* Unix seconds */
	int ok, scanned, updated, failed, throttled;
	long long failed_runs_24h; /* runs that ended with an error in the last 24 h */
};

/* Records a run of SCOPE with COUNTS; ERR_CODE is NULL on success, else the
 * error's name. 0, or -1 with ERROR set (the caller logs it: the run itself
 * already happened). */
int iw_smt_cron_record(const char *scope, const struct iw_smt_refresh_counts *counts,
		       const char *err_code, struct iw_error *error);
/* The newest run into OUT. 0, or -1 with ERROR set. */
int iw_smt_cron_last(struct iw_smt_cron_last *out, struct iw_error *error);
#endif
