/* SMT figures for GET /metrics (smt/metrics.h). Both counts use an index
 * on the time column ("SmtInterval_createdAt_idx"; raw_smt_files is small). */
#include <stdlib.h>
#include <string.h>

#include "io/db.h"
#include "smt/metrics.h"
#include "core/log.h"
#include "core/prom.h"
#include "smt/cron_runs.h"

/* "createdAt" is timestamp(3) filled with CURRENT_TIMESTAMP in the session
 * zone, so it is compared with LOCALTIMESTAMP, the same clock. */
static const char SQL_SMT[] =
	"SELECT (SELECT count(*) FROM raw_smt_files WHERE received_at > now() - interval '24 hours'),"
	" (SELECT count(*) FROM \"SmtInterval\" WHERE \"createdAt\" > localtimestamp - interval '24 hours'),"
	" (SELECT extract(epoch FROM localtimestamp - max(\"createdAt\")) FROM \"SmtInterval\")";

int iw_smt_metrics_read(struct iw_smt_metrics *out, struct iw_error *error)
{
	PGresult *res;

	memset(out, 0, sizeof *out);
	if (!(res = iw_db_exec(IW_DB_MASTER, error, SQL_SMT, 0, NULL)))
		return -1;
	if (PQntuples(res) == 1) {
		out->raw_files_24h = atoll(PQgetvalue(res, 0, 0));
		out->intervals_24h = atoll(PQgetvalue(res, 0, 1));
		if (!PQgetisnull(res, 0, 2)) {
			out->have_newest = 1;
			out->newest_age_s = strtod(PQgetvalue(res, 0, 2), NULL);
		}
	}
	PQclear(res);
	return 0;
}

void iw_smt_metrics_prom(struct iw_buf *b, struct iw_buf *up)
{
	struct iw_smt_cron_last c;
	struct iw_smt_metrics m;
	struct iw_error err = { 0 };
	int ok = iw_smt_cron_last(&c, &err) == 0;

	iw_prom_source_up(up, "smt_cron", ok);
	if (!ok) {
		iw_logf("error", "metrics: SmtCronRun: %s", err.msg);
		iw_err_clear(&err);
	} else if (c.found) {
		iw_prom_family(b, "iw_smt_cron_last_run_timestamp_seconds", "gauge",
			       "End of the newest SMT status cron run.");
		iw_prom_sample(b, "iw_smt_cron_last_run_timestamp_seconds", NULL, NULL, c.finished_at);
		iw_prom_family(b, "iw_smt_cron_last_run_success", "gauge",
			       "1 when the newest SMT status cron run ended without error.");
		iw_prom_sample(b, "iw_smt_cron_last_run_success", NULL, NULL, c.ok);
		iw_prom_family(b, "iw_smt_cron_last_run_rows", "gauge",
			       "Rows of the newest SMT status cron run, by outcome.");
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "scanned", c.scanned);
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "updated", c.updated);
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "failed", c.failed);
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "throttled", c.throttled);
	}
	if (ok) {
		iw_prom_family(b, "iw_smt_cron_failed_runs_24h", "gauge",
			       "SMT status cron runs that ended with an error in the last 24 hours.");
		iw_prom_sample(b, "iw_smt_cron_failed_runs_24h", NULL, NULL, (double)c.failed_runs_24h);
	}
	ok = iw_smt_metrics_read(&m, &err) == 0;
	iw_prom_source_up(up, "smt", ok);
	if (!ok) {
		iw_logf("error", "metrics: SMT: %s", err.msg);
		iw_err_clear(&err);
		return;
	}
	iw_prom_family(b, "iw_smt_raw_files_24h", "gauge", "Raw SMT files received in the last 24 hours.");
	iw_prom_sample(b, "iw_smt_raw_files_24h", NULL, NULL, (double)m.raw_files_24h);
	iw_prom_family(b, "iw_smt_intervals_24h", "gauge", "SmtInterval rows created in the last 24 hours.");
	iw_prom_sample(b, "iw_smt_intervals_24h", NULL, NULL, (double)m.intervals_24h);
	if (m.have_newest) {
		iw_prom_family(b, "iw_smt_newest_interval_age_seconds", "gauge",
			       "Seconds since the newest SmtInterval row was created.");
		iw_prom_sample(b, "iw_smt_newest_interval_age_seconds", NULL, NULL, m.newest_age_s);
	}
}
