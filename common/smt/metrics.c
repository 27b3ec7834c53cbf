/* SMT figures for GET /metrics (smt/metrics.h). Both counts use an index
 * on the time column ("SmtInterval_createdAt_idx"; raw_smt_files is small). */
#include <stdlib.h>
#include <string.h>

#include "io/db.h"
#include "smt/metrics.h"

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
