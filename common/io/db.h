/* PostgreSQL access: one persistent connection per process to each database,
 * parameters only, reconnect after a failure. */
#ifndef IW_DB_H
#define IW_DB_H

#include <libpq-fe.h>

struct iw_error;

enum iw_db { IW_DB_MASTER, IW_DB_USAGE, IW_DB__MAX };

/* Bounds for the current request's database work, in ms (0: none): each
 * transaction this module opens or runs a statement in gets SET LOCAL
 * lock_timeout / statement_timeout. A lock not granted in time makes
 * iw_db_exec fail with IW_ERR_BUSY (and a Retry-After); a statement past
 * its limit, IW_ERR_TIMEOUT. Set by the accept loop from the route. */
void iw_db_set_timeouts(long lock_ms, long statement_ms);
long iw_db_lock_timeout_ms(void);
long iw_db_statement_timeout_ms(void);
/* The connection to DB, connecting or resetting it when needed (also an
 * idle one the server closed meanwhile: read without blocking, before
 * anything is sent). NULL with IW_ERR_DB_DOWN or IW_ERR_MISCONFIG set in
 * ERROR (may be NULL). A pointer kept across a later call may be stale. */
PGconn *iw_db_conn(enum iw_db db, struct iw_error *error);
/* PQexecParams with text parameters. Returns a result whose status is
 * TUPLES_OK or COMMAND_OK (caller PQclear()s it), or NULL with ERROR set:
 * IW_ERR_DB_DOWN when the database is unreachable, IW_ERR_BUSY or
 * IW_ERR_TIMEOUT when the server cancelled it, IW_ERR_INTERNAL otherwise.
 * A BEGIN that fails because the connection dropped is retried once on a
 * fresh connection; no other statement is (it may have run). */
PGresult *iw_db_exec(enum iw_db db, struct iw_error *error, const char *sql,
		     int nparams, const char *const *params);
/* As iw_db_exec, for statements whose result is not needed: 0 or -1. */
int iw_db_run(enum iw_db db, struct iw_error *error, const char *sql,
	      int nparams, const char *const *params);
/* As iw_db_exec, for a query read as one number: 1 with *OUT the first
 * column of the first row (0 when NULL or not a number), 0 when there is no
 * row, -1 (ERROR set). For callers outside io/ and the domains, which do not
 * use libpq themselves. */
int iw_db_first_long(enum iw_db db, struct iw_error *error, const char *sql, int nparams,
		     const char *const *params, long *out);
/* BEGIN / COMMIT / ROLLBACK helpers: 0 or -1 (ERROR set). */
int iw_db_begin(enum iw_db db, struct iw_error *error);
int iw_db_commit(enum iw_db db, struct iw_error *error);
void iw_db_rollback(enum iw_db db);
/* Rolls back any transaction a request left open (called by the loop). */
void iw_db_request_done(void);
/* 1 when DB answers SELECT 1. */
int iw_db_ping(enum iw_db db);
void iw_db_close_all(void);
/* The setting name holding DB's URL ("DATABASE_URL", "USAGE_DATABASE_URL"). */
const char *iw_db_setting(enum iw_db db);
/* Connection string for libpq from a Prisma-style URL: drops the query
 * parameters libpq rejects (schema=, pgbouncer=, connection_limit=, ...).
 * Returns a malloc'd string or NULL. */
char *iw_db_conninfo(const char *url);
/* A short explanation an operator can act on, for a libpq error message. */
const char *iw_db_hint(const char *pq_error);
/* A new connection to URL (postgres:// URL or conninfo) of database DB as
 * APPLICATION, with a connect timeout; SETTING names URL's setting in the
 * log. NULL with IW_ERR_DB_DOWN (or IW_ERR_INTERNAL) set in ERROR (may be
 * NULL). */
PGconn *iw_db_open(const char *url, const char *application, enum iw_db db,
		   const char *setting, struct iw_error *error);
/* A new connection of its own to database DB (its setting's URL) as
 * APPLICATION; NULL as iw_db_open, or IW_ERR_MISCONFIG when it is unset. */
PGconn *iw_db_connect(enum iw_db db, const char *application, struct iw_error *error);
#endif
