#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "serve.h"

#define IW_DB_CONNECT_TIMEOUT "5"

static PGconn *conns[IW_DB__MAX];

const char *iw_db_setting(enum iw_db db)
{
	static const char *const names[IW_DB__MAX] = {
		[IW_DB_MASTER] = "DATABASE_URL",
		[IW_DB_USAGE] = "USAGE_DATABASE_URL",
	};
	return db < IW_DB__MAX ? names[db] : "DATABASE_URL";
}

/* Query parameters Prisma and poolers add that libpq does not know. */
static int foreign_param(const char *p, size_t len)
{
	static const char *const names[] = {
		"schema", "pgbouncer", "connection_limit", "pool_timeout", "socket_timeout",
		"statement_cache_size", "connect_timeout_ms",
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		size_t n = strlen(names[i]);
		if (len > n && strncmp(p, names[i], n) == 0 && p[n] == '=')
			return 1;
	}
	return 0;
}

char *iw_db_conninfo(const char *url)
{
	const char *q;
	char *out, *o;
	int first = 1;

	if (!url)
		return NULL;
	if (!(out = malloc(strlen(url) + 1)))
		return NULL;
	if (strncmp(url, "postgres://", 11) != 0 && strncmp(url, "postgresql://", 13) != 0) {
		strcpy(out, url); /* a key=value conninfo string */
		return out;
	}
	q = strchr(url, '?');
	if (!q) {
		strcpy(out, url);
		return out;
	}
	memcpy(out, url, (size_t)(q - url));
	o = out + (q - url);
	for (const char *p = q + 1; *p;) {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len && !foreign_param(p, len)) {
			*o++ = first ? '?' : '&';
			memcpy(o, p, len);
			o += len;
			first = 0;
		}
		p += len + (end ? 1 : 0);
	}
	*o = '\0';
	return out;
}

const char *iw_db_hint(const char *err)
{
	if (!err)
		return "unknown error";
	if (strstr(err, "remaining connection slots are reserved") ||
	    strstr(err, "too many clients"))
		return "no connection slots left on the server: terminate idle connections "
		       "(or lower the pool sizes) and retry";
	if (strstr(err, "password authentication failed"))
		return "the server refused the user name or password in the URL";
	if (strstr(err, "does not exist") && strstr(err, "database"))
		return "the database named in the URL does not exist";
	if (strstr(err, "timeout expired"))
		return "the server did not answer in time: check host, port and firewall";
	if (strstr(err, "Connection refused") || strstr(err, "No such file or directory"))
		return "nothing listens at that host/port or socket: is Postgres running?";
	if (strstr(err, "could not translate host name"))
		return "the host name in the URL does not resolve";
	if (strstr(err, "SSL"))
		return "TLS negotiation failed: check sslmode and certificates";
	return "check the URL and that the server is up";
}

static void set_unavailable(struct iw_response *resp, enum iw_db db, const char *why)
{
	iw_logf("error", "database %s unavailable: %s", iw_db_setting(db), iw_db_hint(why));
	if (resp)
		iw_error(resp, 503, "database_unavailable", "the %s database is unavailable: %s",
			 db == IW_DB_USAGE ? "usage" : "master", iw_db_hint(why));
}

static PGconn *connect_db(enum iw_db db, struct iw_response *resp)
{
	const char *url = iw_env(iw_db_setting(db));
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { NULL, IW_DB_CONNECT_TIMEOUT, "iw-admin", NULL };
	PGconn *conn;

	if (!url) {
		iw_logf("error", "%s is not set", iw_db_setting(db));
		if (resp)
			iw_error(resp, 503, "server_misconfigured", "%s is not set", iw_db_setting(db));
		return NULL;
	}
	if (!(vals[0] = iw_db_conninfo(url))) {
		if (resp)
			iw_error(resp, 500, "internal_error", "out of memory");
		return NULL;
	}
	conn = PQconnectdbParams(keys, vals, 1);
	free((char *)vals[0]);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		set_unavailable(resp, db, conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *iw_db_conn(enum iw_db db, struct iw_response *resp)
{
	if (db >= IW_DB__MAX)
		return NULL;
	if (conns[db] && PQstatus(conns[db]) != CONNECTION_OK) {
		PQfinish(conns[db]);
		conns[db] = NULL;
	}
	if (!conns[db])
		conns[db] = connect_db(db, resp);
	return conns[db];
}

PGresult *iw_db_exec(enum iw_db db, struct iw_response *resp, const char *sql,
		     int nparams, const char *const *params)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGconn *conn = iw_db_conn(db, resp);
		PGTransactionStatusType before;
		PGresult *res;
		ExecStatusType st;

		if (!conn)
			return NULL;
		before = PQtransactionStatus(conn);
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
		st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			return res;
		if (PQstatus(conn) == CONNECTION_BAD) {
			PQclear(res);
			PQfinish(conn);
			conns[db] = NULL;
			/* Retry only a statement that ran outside a transaction. */
			if (before == PQTRANS_IDLE && attempt == 0)
				continue;
			set_unavailable(resp, db, "server closed the connection unexpectedly");
			return NULL;
		}
		iw_logf("error", "SQL error (%s): %s", PQresultErrorField(res, PG_DIAG_SQLSTATE)
			? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "?",
			res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		if (resp)
			iw_error(resp, 500, "internal_error", "a database statement failed");
		PQclear(res);
		return NULL;
	}
	return NULL;
}

int iw_db_run(enum iw_db db, struct iw_response *resp, const char *sql,
	      int nparams, const char *const *params)
{
	PGresult *res = iw_db_exec(db, resp, sql, nparams, params);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int iw_db_begin(enum iw_db db, struct iw_response *resp)
{
	return iw_db_run(db, resp, "BEGIN", 0, NULL);
}

int iw_db_commit(enum iw_db db, struct iw_response *resp)
{
	return iw_db_run(db, resp, "COMMIT", 0, NULL);
}

void iw_db_rollback(enum iw_db db)
{
	if (db < IW_DB__MAX && conns[db] && PQstatus(conns[db]) == CONNECTION_OK &&
	    PQtransactionStatus(conns[db]) != PQTRANS_IDLE)
		PQclear(PQexec(conns[db], "ROLLBACK"));
}

void iw_db_request_done(void)
{
	for (int db = 0; db < IW_DB__MAX; db++)
		iw_db_rollback((enum iw_db)db);
}

int iw_db_ping(enum iw_db db)
{
	PGresult *res = iw_db_exec(db, NULL, "SELECT 1", 0, NULL);
	if (!res)
		return 0;
	PQclear(res);
	return 1;
}

void iw_db_close_all(void)
{
	for (int db = 0; db < IW_DB__MAX; db++) {
		PQfinish(conns[db]);
		conns[db] = NULL;
	}
}
