/* SMT status cron runs (smt/cron_runs.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/db.h"
#include "smt/cron_runs.h"

static const char SQL_RECORD[] =
	"INSERT INTO \"SmtCronRun\" (scope, ok, scanned, updated, failed, throttled, error)"
	" VALUES ($1, $2::boolean, $3::int, $4::int, $5::int, $6::int, $7)";

static const char SQL_LAST[] =
	"SELECT extract(epoch FROM r.\"finishedAt\"), r.ok::int, r.scanned, r.updated, r.failed,"
	" r.throttled,"
	" (SELECT count(*) FROM \"SmtCronRun\" WHERE NOT ok AND \"finishedAt\" > now() - interval '24 hours')"
	" FROM \"SmtCronRun\" r ORDER BY r.\"finishedAt\" DESC, r.id DESC LIMIT 1";

int iw_smt_cron_record(const char *scope, const struct iw_smt_refresh_counts *counts,
		       const char *err_code, struct iw_error *error)
{
	char n[4][16];
	const char *params[7];

	snprintf(n[0], sizeof n[0], "%d", counts->scanned);
	snprintf(n[1], sizeof n[1], "%d", counts->updated);
	snprintf(n[2], sizeof n[2], "%d", counts->failed);
	snprintf(n[3], sizeof n[3], "%d", counts->throttled);
	params[0] = scope;
	params[1] = err_code ? "false" : "true";
	params[2] = n[0];
	params[3] = n[1];
	params[4] = n[2];
	params[5] = n[3];
	params[6] = err_code;
	return iw_db_run(IW_DB_MASTER, error, SQL_RECORD, 7, params);
}

int iw_smt_cron_last(struct iw_smt_cron_last *out, struct iw_error *error)
{
	PGresult *res;

	memset(out, 0, sizeof *out);
	if (!(res = iw_db_exec(IW_DB_MASTER, error, SQL_LAST, 0, NULL)))
		return -1;
	if (PQntuples(res) == 1) {
		out->found = 1;
		out->finished_at = strtod(PQgetvalue(res, 0, 0), NULL);
		out->ok = atoi(PQgetvalue(res, 0, 1));
		out->scanned = atoi(PQgetvalue(res, 0, 2));
		out->updated = atoi(PQgetvalue(res, 0, 3));
		out->failed = atoi(PQgetvalue(res, 0, 4));
		out->throttled = atoi(PQgetvalue(res, 0, 5));
		out->failed_runs_24h = atoll(PQgetvalue(res, 0, 6));
	}
	PQclear(res);
	return 0;
}
