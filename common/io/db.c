#include "io/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/log.h"
#include "core/err.h"

#define IW_DB_CONNECT_TIMEOUT "5"

static PGconn *conns[IW_DB__MAX];
/* Bounds of the current request's database work (0: none). Applied with
 * SET LOCAL inside each transaction, never as session state, so they hold
 * under transaction pooling (pgbouncer) too. */
static long lock_timeout_ms, statement_timeout_ms;

void iw_db_set_timeouts(long lock_ms, long statement_ms)
{
	lock_timeout_ms = lock_ms > 0 ? lock_ms : 0;
	statement_timeout_ms = statement_ms > 0 ? statement_ms : 0;
}

long iw_db_lock_timeout_ms(void)
{
	return lock_timeout_ms;
}

long iw_db_statement_timeout_ms(void)
{
	return statement_timeout_ms;
}

/* "SET LOCAL ..." for the current bounds (numbers only: no input reaches it). */
static void timeouts_sql(char *out, size_t len)
{
	int n = 0;

	out[0] = '\0';
	if (lock_timeout_ms)
		n = snprintf(out, len, "SET LOCAL lock_timeout = %ld;", lock_timeout_ms);
	if (statement_timeout_ms && n >= 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, "SET LOCAL statement_timeout = %ld;",
			 statement_timeout_ms);
}

static int starts_with_word(const char *sql, const char *word)
{
	size_t n = strlen(word);

	while (*sql == ' ' || *sql == '\n' || *sql == '\t')
		sql++;
	return strncasecmp(sql, word, n) == 0 &&
	       (sql[n] == '\0' || sql[n] == ' ' || sql[n] == ';' || sql[n] == '\n');
}

static int opens_transaction(const char *sql)
{
	return starts_with_word(sql, "BEGIN") || starts_with_word(sql, "START");
}

/* Statements that open, close or configure a transaction themselves. */
static int controls_transaction(const char *sql)
{
	static const char *const words[] = {
		"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE",
		"SET", "RESET", "DISCARD", "PREPARE", "LISTEN", "UNLISTEN", "VACUUM",
	};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		if (starts_with_word(sql, words[i]))
			return 1;
	return 0;
}

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

static void set_unavailable(struct iw_error *error, enum iw_db db, const char *setting,
			    const char *why)
{
	iw_logf("error", "database %s unavailable: %s", setting, iw_db_hint(why));
	if (error)
		iw_err_set(error, IW_ERR_DB_DOWN, "the %s database is unavailable: %s",
			 db == IW_DB_USAGE ? "usage" : "master", iw_db_hint(why));
}

PGconn *iw_db_open(const char *url, const char *application, enum iw_db db,
		   const char *setting, struct iw_error *error)
{
	const char *keys[] = { "dbname", "connect_timeout", "application_name", NULL };
	const char *vals[] = { NULL, IW_DB_CONNECT_TIMEOUT, application, NULL };
	PGconn *conn;

	if (!(vals[0] = iw_db_conninfo(url))) {
		if (error)
			iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
		return NULL;
	}
	conn = PQconnectdbParams(keys, vals, 1);
	free((char *)vals[0]);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		set_unavailable(error, db, setting, conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

PGconn *iw_db_connect(enum iw_db db, const char *application, struct iw_error *error)
{
	const char *url = iw_env(iw_db_setting(db));

	if (!url) {
		iw_logf("error", "%s is not set", iw_db_setting(db));
		if (error)
			iw_err_set(error, IW_ERR_MISCONFIG, "%s is not set", iw_db_setting(db));
		return NULL;
	}
	return iw_db_open(url, application, db, iw_db_setting(db), error);
}

static void idle_notice(void *arg, const char *message)
{
	(void)arg;
	iw_logf("warn", "database, while idle: %.*s", (int)strcspn(message, "\n"), message);
}

/* 1 when an idle connection is known dead: Postgres restarted, or the
 * backend was terminated, while this worker waited. The server's FATAL and
 * EOF are already in the socket; reading them (non-blocking: the socket
 * always is, for libpq) marks the connection bad before anything is sent,
 * so the next statement goes to a new connection and nothing is retried.
 * Twice: one read returns the FATAL message, the next one sees the EOF. */
static int idle_and_dead(PGconn *conn)
{
	PQnoticeProcessor before;
	int dead = 0;

	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return 0; /* never swap a connection under an open transaction */
	/* libpq hands an idle connection's FATAL to the notice processor, whose
	 * default writes it raw to stderr: log it as a line of ours instead. */
	before = PQsetNoticeProcessor(conn, idle_notice, NULL);
	for (int i = 0; i < 2 && !dead; i++)
		dead = !PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK;
	PQsetNoticeProcessor(conn, before, NULL); /* no processor of ours takes an argument */
	return dead;
}

PGconn *iw_db_conn(enum iw_db db, struct iw_error *error)
{
	if (db >= IW_DB__MAX)
		return NULL;
	if (conns[db] && (PQstatus(conns[db]) != CONNECTION_OK || idle_and_dead(conns[db]))) {
		PQfinish(conns[db]);
		conns[db] = NULL;
	}
	if (!conns[db])
		conns[db] = iw_db_connect(db, "iw-admin", error);
	return conns[db];
}

/* The 409/503 answers for a statement the server cancelled: a lock not
 * granted within lock_timeout, or a statement past statement_timeout. */
static int cancelled(const PGresult *res, struct iw_error *error)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *context = PQresultErrorField(res, PG_DIAG_CONTEXT);
	char what[160] = "a database lock";

	if (!state)
		return 0;
	if (strcmp(state, "55P03") == 0) { /* lock_not_available */
		/* "while updating tuple (0,1) in relation "X"": name the relation. */
		const char *rel = context ? strstr(context, "relation \"") : NULL;
		if (rel) {
			rel += strlen("relation \"");
			snprintf(what, sizeof what, "a lock on table \"%.*s\"",
				 (int)strcspn(rel, "\"\n"), rel);
		}
		iw_logf("warn", "lock not granted within %ld ms: %s", lock_timeout_ms, what);
		if (error) {
			iw_err_set(error, IW_ERR_BUSY,
				   "another request holds %s; waited %ld ms, retry later", what,
				   lock_timeout_ms);
			error->retry_after_s = lock_timeout_ms / 1000 + 1;
		}
		return 1;
	}
	if (strcmp(state, "57014") == 0) { /* query_canceled: statement_timeout */
		iw_logf("error", "statement cancelled after %ld ms", statement_timeout_ms);
		if (error)
			iw_err_set(error, IW_ERR_TIMEOUT,
				 "a database statement ran past this route's %ld ms statement_timeout",
				 statement_timeout_ms);
		return 1;
	}
	return 0;
}

/* An autocommit statement with the request's bounds, in one round trip: a
 * libpq pipeline of BEGIN, the bounds, SQL and COMMIT. Returns SQL's result,
 * or the first error; NULL when the connection broke (the caller drops it).
 * *UNTOUCHED: it broke before the server ran anything of the pipeline (the
 * pipeline could not be sent, or its BEGIN failed: as a backend terminated
 * between two requests answers), so a retry is safe. */
static PGresult *exec_in_bounded_transaction(PGconn *conn, const char *sql, int nparams,
					     const char *const *params, int *untouched)
{
	static const char set_bounds[] =
		"SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)";
	enum { QUERIES = 4, STATEMENT = 2 };
	char lock[24], stmt[24];
	const char *bounds[2] = { lock, stmt };
	PGresult *keep = NULL, *r;
	int failed = 0;

	snprintf(lock, sizeof lock, "%ld", lock_timeout_ms);
	snprintf(stmt, sizeof stmt, "%ld", statement_timeout_ms);
	if (PQenterPipelineMode(conn) != 1)
		return NULL;
	if (!PQsendQueryParams(conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsendQueryParams(conn, set_bounds, 2, NULL, bounds, NULL, NULL, 0) ||
	    !PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0) ||
	    !PQsendQueryParams(conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQpipelineSync(conn)) {
		*untouched = 1; /* a write to a closed socket: the server is gone */
		goto broken;
	}
	for (int q = 0; q < QUERIES; q++) {
		ExecStatusType st;

		if (!(r = PQgetResult(conn))) {
			*untouched = q == 0;
			goto broken;
		}
		st = PQresultStatus(r);
		/* A failed BEGIN aborts the pipeline: the server skips the rest
		 * until the Sync, so nothing ran (a terminated backend's FATAL
		 * arrives here, before libpq has read the EOF). */
		if (q == 0 && st == PGRES_FATAL_ERROR)
			*untouched = 1;
		if (st == PGRES_FATAL_ERROR && !failed) {
			PQclear(keep); /* SQL's result, when COMMIT is what failed */
			keep = r;
			failed = 1;
		} else if (q == STATEMENT && !failed) {
			keep = r;
		} else {
			PQclear(r);
		}
		if ((r = PQgetResult(conn)) != NULL) { /* one result per query */
			PQclear(r);
			goto broken;
		}
	}
	if (!(r = PQgetResult(conn)) || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
		PQclear(r);
		goto broken;
	}
	PQclear(r);
	if (PQexitPipelineMode(conn) != 1)
		goto broken;
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) /* a failed statement's block */
		PQclear(PQexec(conn, "ROLLBACK"));
	return keep;
broken:
	PQclear(keep);
	return NULL;
}

/* Runs SQL once: an autocommit statement in a transaction of its own with
 * the request's bounds; a statement that opens a transaction gets the bounds
 * right after it; anything else as it is. */
static PGresult *exec_bounded(PGconn *conn, const char *sql, int nparams,
			      const char *const *params, int *untouched)
{
	char bounds[128];
	PGresult *res, *r;

	timeouts_sql(bounds, sizeof bounds);
	if (!bounds[0])
		return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (opens_transaction(sql)) {
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;
		r = PQexec(conn, bounds);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			PQclear(res);
			return r;
		}
		PQclear(r);
		return res;
	}
	if (PQtransactionStatus(conn) == PQTRANS_IDLE && !controls_transaction(sql))
		return exec_in_bounded_transaction(conn, sql, nparams, params, untouched);
	return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
}

PGresult *iw_db_exec(enum iw_db db, struct iw_error *error, const char *sql,
		     int nparams, const char *const *params)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		PGconn *conn = iw_db_conn(db, error);
		PGTransactionStatusType before;
		PGresult *res;
		ExecStatusType st;
		int untouched = 0;

		if (!conn)
			return NULL;
		before = PQtransactionStatus(conn);
		res = exec_bounded(conn, sql, nparams, params, &untouched);
		st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
			return res;
		if (!res || PQstatus(conn) == CONNECTION_BAD) {
			/* A pipeline that broke off leaves the connection unusable. */
			PQclear(res);
			PQfinish(conn);
			conns[db] = NULL;
			/* Retry only what changed nothing: a BEGIN outside a
			 * transaction, or an autocommit pipeline the server ran
			 * none of (a backend terminated after iw_db_conn()'s
			 * check). Any other statement may have run and committed
			 * before the connection broke. */
			if (before == PQTRANS_IDLE && attempt == 0 &&
			    (untouched || opens_transaction(sql)))
				continue;
			set_unavailable(error, db, iw_db_setting(db), "server closed the connection unexpectedly");
			return NULL;
		}
		if (res && cancelled(res, error)) {
			PQclear(res);
			return NULL;
		}
		iw_logf("error", "SQL error (%s): %s", PQresultErrorField(res, PG_DIAG_SQLSTATE)
			? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "?",
			res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		if (error)
			iw_err_set(error, IW_ERR_INTERNAL, "a database statement failed");
		PQclear(res);
		return NULL;
	}
	return NULL;
}

int iw_db_run(enum iw_db db, struct iw_error *error, const char *sql,
	      int nparams, const char *const *params)
{
	PGresult *res = iw_db_exec(db, error, sql, nparams, params);
	if (!res)
		return -1;
	PQclear(res);
	return 0;
}

int iw_db_first_long(enum iw_db db, struct iw_error *error, const char *sql, int nparams,
		     const char *const *params, long *out)
{
	PGresult *res = iw_db_exec(db, error, sql, nparams, params);
	int found;

	*out = 0;
	if (!res)
		return -1;
	found = PQntuples(res) > 0;
	if (found && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
		*out = strtol(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return found;
}

int iw_db_begin(enum iw_db db, struct iw_error *error)
{
	return iw_db_run(db, error, "BEGIN", 0, NULL);
}

int iw_db_commit(enum iw_db db, struct iw_error *error)
{
	return iw_db_run(db, error, "COMMIT", 0, NULL);
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
