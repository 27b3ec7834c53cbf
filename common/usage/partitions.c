/* Default-partition figures of the interval tables (usage/partitions.h). */
#include <stdlib.h>

#include "usage/partitions.h"
#include "core/log.h"
#include "core/prom.h"

/* Names are ours, fixed: no identifier from input reaches SQL text. */
static const char *const SQL_DEFAULT_ROWS[IW_DB__MAX] = {
	[IW_DB_MASTER] = "SELECT count(*) FROM \"SmtInterval_default\"",
	[IW_DB_USAGE] = "SELECT count(*) FROM \"UsageIntervalModule_default\"",
};

const char *iw_interval_table(enum iw_db db)
{
	return db == IW_DB_USAGE ? "UsageIntervalModule" : "SmtInterval";
}

int iw_interval_default_rows(enum iw_db db, long long *rows, struct iw_error *error)
{
	PGresult *res;

	*rows = 0;
	if (!(res = iw_db_exec(db, error, SQL_DEFAULT_ROWS[db], 0, NULL)))
		return -1;
	if (PQntuples(res) == 1)
		*rows = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* Rows in each interval table's DEFAULT partition: should be 0; anything
 * else waits for `iw-migrate partitions` (docs/ingest.md, "Partitions").
 * Each database on its own: one unreachable still leaves the other's. */
void iw_interval_partitions_prom(struct iw_buf *b, struct iw_buf *up)
{
	long long rows[IW_DB__MAX];
	int got[IW_DB__MAX] = { 0 }, ok = 1, any = 0;

	for (int d = 0; d < IW_DB__MAX; d++) {
		struct iw_error err = { 0 };
		if (iw_interval_default_rows((enum iw_db)d, &rows[d], &err) == 0) {
			got[d] = any = 1;
			continue;
		}
		iw_logf("error", "metrics: %s_default: %s", iw_interval_table((enum iw_db)d), err.msg);
		iw_err_clear(&err);
		ok = 0;
	}
	iw_prom_source_up(up, "partitions", ok);
	if (!any) /* no family without samples */
		return;
	iw_prom_family(b, "iw_interval_default_partition_rows", "gauge",
		       "Rows in the DEFAULT partition of an interval table (0 when every month exists).");
	for (int d = 0; d < IW_DB__MAX; d++)
		if (got[d])
			iw_prom_sample(b, "iw_interval_default_partition_rows", "table",
				       iw_interval_table((enum iw_db)d), (double)rows[d]);
}
