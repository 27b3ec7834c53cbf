/* ERCOT figures for GET /metrics (ercot/metrics.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ercot/metrics.h"
#include "io/db.h"
#include "core/log.h"
#include "core/prom.h"

/* "createdAt" is timestamp(3) in the session zone: ::timestamptz reads it
 * back in that zone. */
static const char SQL_LAST_OK[] =
	"SELECT DISTINCT ON (tdsp) tdsp, extract(epoch FROM \"createdAt\"::timestamptz),"
	" coalesce(\"sizeBytes\", 0), coalesce(\"rowCount\", 0)"
	" FROM \"ErcotIngest\" WHERE status = 'ok' AND tdsp IS NOT NULL AND tdsp <> ''"
	" ORDER BY tdsp, \"createdAt\" DESC LIMIT 32";

int iw_ercot_metrics_read(struct iw_ercot_last_ok *out, struct iw_error *error)
{
	PGresult *res;
	int n;

	if (!(res = iw_db_exec(IW_DB_MASTER, error, SQL_LAST_OK, 0, NULL)))
		return -1;
	n = PQntuples(res);
	if (n > IW_ERCOT_METRICS_TDSP_MAX)
		n = IW_ERCOT_METRICS_TDSP_MAX;
	for (int i = 0; i < n; i++) {
		snprintf(out[i].tdsp, sizeof out[i].tdsp, "%s", PQgetvalue(res, i, 0));
		out[i].at = strtod(PQgetvalue(res, i, 1), NULL);
		out[i].bytes = atoll(PQgetvalue(res, i, 2));
		out[i].rows = atoll(PQgetvalue(res, i, 3));
	}
	PQclear(res);
	return n;
}

void iw_ercot_metrics_prom(struct iw_buf *b, struct iw_buf *up)
{
	struct iw_ercot_last_ok last[IW_ERCOT_METRICS_TDSP_MAX];
	struct iw_error err = { 0 };
	int n = iw_ercot_metrics_read(last, &err);

	iw_prom_source_up(up, "ercot", n >= 0);
	if (n < 0) {
		iw_logf("error", "metrics: ErcotIngest: %s", err.msg);
		iw_err_clear(&err);
		return;
	}
	if (n == 0) /* no family without samples */
		return;
	iw_prom_family(b, "iw_ercot_last_success_timestamp_seconds", "gauge",
		       "Time of the newest ErcotIngest row with status ok, per TDSP.");
	for (int i = 0; i < n; i++)
		iw_prom_sample(b, "iw_ercot_last_success_timestamp_seconds", "tdsp", last[i].tdsp, last[i].at);
	iw_prom_family(b, "iw_ercot_last_success_bytes", "gauge",
		       "Size of the newest successful ERCOT file, per TDSP.");
	for (int i = 0; i < n; i++)
		iw_prom_sample(b, "iw_ercot_last_success_bytes", "tdsp", last[i].tdsp, (double)last[i].bytes);
	iw_prom_family(b, "iw_ercot_last_success_rows", "gauge",
		       "Rows of the newest successful ERCOT file, per TDSP.");
	for (int i = 0; i < n; i++)
		iw_prom_sample(b, "iw_ercot_last_success_rows", "tdsp", last[i].tdsp, (double)last[i].rows);
}
