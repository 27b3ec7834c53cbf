/* Lock and statement time limits of raw-connection transactions; see
 * db_raw.h. */
#include "io/db_raw.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "io/db.h"
#include "core/log.h"
#include "core/err.h"

long iw_pg_lock_timeout_ms(void)
{
	return iw_db_lock_timeout_ms();
}

long iw_pg_statement_timeout_ms(void)
{
	return iw_db_statement_timeout_ms();
}

void iw_pg_sqlstate(const PGresult *r, char out[6])
{
	const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(out, 6, "%s", s ? s : "");
}

int iw_pg_tx_limits(PGconn *conn, char *err, size_t errlen)
{
	static const char sql[] = "SELECT set_config('lock_timeout', $1, true), "
				  "set_config('statement_timeout', $2, true)";
	char lock[24], stmt[24];
	const char *params[2] = { lock, stmt };
	PGresult *r;
	int rc;

	snprintf(lock, sizeof lock, "%ld", iw_pg_lock_timeout_ms());
	snprintf(stmt, sizeof stmt, "%ld", iw_pg_statement_timeout_ms());
	r = PQexecParams(conn, sql, 2, NULL, params, NULL, NULL, 0);
	rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
	if (rc)
		snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
	PQclear(r);
	return rc;
}

int iw_pg_limit_error(struct iw_error *error, const char *sqlstate, const char *lock)
{
	if (sqlstate && strcmp(sqlstate, IW_SQLSTATE_LOCK_TIMEOUT) == 0) {
		iw_err_set(error, IW_ERR_BUSY,
			   "lock %s is held by another request (waited %ld ms); retry later",
			   lock ? lock : "on the rows", iw_pg_lock_timeout_ms());
		if (error)
			error->retry_after_s = IW_PG_RETRY_AFTER_S;
		return IW_ERR_BUSY;
	}
	if (sqlstate && strcmp(sqlstate, IW_SQLSTATE_CANCELED) == 0)
		return iw_err_set(error, IW_ERR_TIMEOUT,
				"a database statement ran past the route's %ld ms statement_timeout",
				iw_pg_statement_timeout_ms());
	return 0;
}

PGresult *iw_pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
		     const char *lock, struct iw_error *error)
{
	PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	char state[6];

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return r;
	iw_pg_sqlstate(r, state);
	if (PQstatus(conn) != CONNECTION_OK)
		iw_err_set(error, IW_ERR_DB_DOWN, "a database connection was lost");
	else if (!iw_pg_limit_error(error, state, lock)) {
		iw_logf("error", "SQL error (%s): %s", state,
			r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
		iw_err_set(error, IW_ERR_INTERNAL, "a database statement failed");
	}
	PQclear(r);
	return NULL;
}
