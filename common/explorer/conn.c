#include "explorer/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"


static const char *const settings[IW_DB__MAX] = {
	[IW_DB_MASTER] = "EXPLORER_DATABASE_URL",
	[IW_DB_USAGE] = "EXPLORER_USAGE_DATABASE_URL",
};

static PGconn *conns[IW_DB__MAX];

/* Fail closed when the URL names a role that could do more than read:
 * attributes, or membership (SET ROLE / set_config('role') would reach its
 * privileges) in any role but the read-only predefined ones. */
static const char SQL_PRIVILEGED[] =
	"SELECT coalesce((SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication "
	"OR rolbypassrls FROM pg_roles WHERE rolname = current_user), true), "
	"coalesce((SELECT string_agg(g.rolname, ', ' ORDER BY g.rolname) FROM pg_roles g "
	"WHERE g.rolname <> current_user AND pg_has_role(current_user, g.oid, 'MEMBER') "
	"AND g.rolname NOT IN ('pg_read_all_data', 'pg_read_all_settings', 'pg_read_all_stats', "
	"'pg_stat_scan_tables', 'pg_monitor')), '')";

/* The statement runs after SAVEPOINT, so iw_xconn_end can return to a
 * usable state even after an error and still release session locks inside
 * the same transaction. */
static const char SQL_BEGIN[] =
	"BEGIN READ ONLY; SET LOCAL statement_timeout = '" IW_XCONN_TIMEOUT "'; "
	"SET LOCAL lock_timeout = '" IW_XCONN_LOCK_TIMEOUT "'; SAVEPOINT iw_explorer";
static const char SQL_END[] =
	"ROLLBACK TO SAVEPOINT iw_explorer; SELECT pg_advisory_unlock_all(); ROLLBACK";

const char *iw_xconn_setting(enum iw_db db)
{
	return db < IW_DB__MAX ? settings[db] : NULL;
}

const char *iw_xconn_missing(void)
{
	for (int d = 0; d < IW_DB__MAX; d++)
		if (!iw_env(settings[d]))
			return settings[d];
	return NULL;
}

int iw_xconn_check(struct iw_error *err)
{
	const char *missing = iw_xconn_missing();

	if (!missing)
		return 0;
	return iw_err_set(err, IW_ERR_MISCONFIG, "%s is not set: the explorer reads only through"
			  " its own read-only role (see docs/explorer.md)", missing);
}

static void drop(enum iw_db db)
{
	PQfinish(conns[db]);
	conns[db] = NULL;
}

static int exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	int ok = res && (PQresultStatus(res) == PGRES_COMMAND_OK ||
			 PQresultStatus(res) == PGRES_TUPLES_OK);

	/* PQexec returns the last result; earlier failures abort the rest. */
	PQclear(res);
	return ok;
}

/* 0 when the session's role is least-privilege, else -1 with ERROR set. */
static int check_role(PGconn *conn, enum iw_db db, struct iw_error *error)
{
	PGresult *res = PQexec(conn, SQL_PRIVILEGED);
	int rc = -1;

	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		iw_logf("error", "%s: checking the role failed: %s", settings[db],
			res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		if (error)
			iw_err_set(error, IW_ERR_DB_DOWN, "the %s database is unavailable",
				 db == IW_DB_USAGE ? "usage" : "master");
	} else if (strcmp(PQgetvalue(res, 0, 0), "f") != 0 || *PQgetvalue(res, 0, 1)) {
		iw_logf("error", "%s connects as role %s, which is privileged (%s): the explorer "
			"refuses it; run `iw-migrate explorer-role` and use that role",
			settings[db], PQuser(conn), *PQgetvalue(res, 0, 1) ? PQgetvalue(res, 0, 1)
									 : "a role attribute");
		if (error)
			iw_err_set(error, IW_ERR_MISCONFIG, "%s names a privileged role; the "
				 "explorer needs its read-only role (iw-migrate explorer-role)",
				 settings[db]);
	} else {
		rc = 0;
	}
	PQclear(res);
	return rc;
}

static PGconn *connect_db(enum iw_db db, struct iw_error *error)
{
	const char *url = iw_env(settings[db]);
	PGconn *conn;

	if (!url) {
		iw_logf("error", "%s is not set", settings[db]);
		if (error)
			iw_err_set(error, IW_ERR_MISCONFIG, "%s is not set: the explorer reads "
				 "through its own read-only role, never DATABASE_URL", settings[db]);
		return NULL;
	}
	if (!(conn = iw_db_open(url, "iw-admin-explorer", db, settings[db], error)))
		return NULL;
	if (check_role(conn, db, error) != 0) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *iw_xconn_begin(enum iw_db db, struct iw_error *error)
{
	if (db >= IW_DB__MAX)
		return NULL;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (conns[db] && (PQstatus(conns[db]) != CONNECTION_OK ||
				  PQtransactionStatus(conns[db]) != PQTRANS_IDLE))
			drop(db);
		if (!conns[db] && !(conns[db] = connect_db(db, error)))
			return NULL;
		if (exec_ok(conns[db], SQL_BEGIN))
			return conns[db];
		/* A server restart since the last request: one fresh try. */
		iw_logf("warn", "%s: BEGIN failed: %s", settings[db], PQerrorMessage(conns[db]));
		drop(db);
	}
	if (error)
		iw_err_set(error, IW_ERR_DB_DOWN, "the %s database is unavailable",
			 db == IW_DB_USAGE ? "usage" : "master");
	return NULL;
}

void iw_xconn_end(enum iw_db db)
{
	PGconn *conn;

	if (db >= IW_DB__MAX || !(conn = conns[db]))
		return;
	/* Not idle in a transaction (a result left unread, a broken link): the
	 * session is ended rather than trusted. */
	if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) == PQTRANS_ACTIVE ||
	    PQtransactionStatus(conn) == PQTRANS_IDLE || !exec_ok(conn, SQL_END) ||
	    PQtransactionStatus(conn) != PQTRANS_IDLE || !exec_ok(conn, "DISCARD ALL")) {
		iw_logf("warn", "%s: closing the explorer connection after a request",
			settings[db]);
		drop(db);
	}
}
