/* Time limits of the transactions a route drives itself on raw PGconns
 * (COPY, advisory locks): a lock is waited for at most lock_timeout, a
 * statement runs at most statement_timeout, both set with set_config(...,
 * true) right after BEGIN, so they end with the transaction (pgbouncer
 * transaction pooling keeps no session state).
 *
 * Both are the route's bounds (struct iw_route lock_timeout_ms and
 * statement_timeout_ms, or IW_DB_LOCK_TIMEOUT_MS / IW_DB_STATEMENT_TIMEOUT_MS;
 * see iw_db_set_timeouts), kept below nginx's read timeout so the route
 * answers before nginx gives up.
 *
 * A lock not granted in time (SQLSTATE 55P03) answers 409 busy with
 * Retry-After, naming the lock; a statement cut by the timeout (57014)
 * answers 504. */
#ifndef IW_PG_LIMITS_H
#define IW_PG_LIMITS_H

#include <stddef.h>

#include <libpq-fe.h>

struct iw_error;

#define IW_PG_RETRY_AFTER_S        5
#define IW_SQLSTATE_LOCK_TIMEOUT   "55P03"  /* lock_not_available */
#define IW_SQLSTATE_CANCELED       "57014"  /* query_canceled: statement_timeout */

long iw_pg_lock_timeout_ms(void);
long iw_pg_statement_timeout_ms(void);

/* Applies both limits to the transaction open on CONN: 0, or -1 with
 * SQLSTATE (6 bytes, may be NULL) and ERR set. */
int iw_pg_tx_limits(PGconn *conn, char *err, size_t errlen);

/* The SQLSTATE of R ("" when none) into OUT (6 bytes). */
void iw_pg_sqlstate(const PGresult *r, char out[6]);

/* When SQLSTATE is a lock or statement timeout, sets ERROR (IW_ERR_BUSY
 * naming LOCK, with retry_after_s, or IW_ERR_TIMEOUT) and returns it; else 0. */
int iw_pg_limit_error(struct iw_error *error, const char *sqlstate, const char *lock);

/* PQexecParams on CONN inside a transaction of the route: the result
 * (TUPLES_OK or COMMAND_OK; caller PQclear()s it), or NULL with ERROR set:
 * IW_ERR_BUSY naming LOCK, IW_ERR_TIMEOUT, IW_ERR_DB_DOWN when the connection
 * is gone, else IW_ERR_INTERNAL. */
PGresult *iw_pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
		     const char *lock, struct iw_error *error);

#endif
