/* Default-partition figures of the interval tables (usage/partitions.h). */
#include <stdlib.h>

#include "usage/partitions.h"

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
