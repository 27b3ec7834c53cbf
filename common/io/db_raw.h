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

struct iw_response;

#define IW_PG_RETRY_AFTER_S        "5"
#define IW_SQLSTATE_LOCK_TIMEOUT   "55P03"  /* lock_not_available */
#define IW_SQLSTATE_CANCELED       "57014"  /* query_canceled: statement_timeout */

long iw_pg_lock_timeout_ms(void);
long iw_pg_statement_timeout_ms(void);

/* Applies both limits to the transaction open on CONN: 0, or -1 with
 * SQLSTATE (6 bytes, may be NULL) and ERR set. */
int iw_pg_tx_limits(PGconn *conn, char *err, size_t errlen);

/* The SQLSTATE of R ("" when none) into OUT (6 bytes). */
void iw_pg_sqlstate(const PGresult *r, char out[6]);

/* When SQLSTATE is a lock or statement timeout, sets the answer (409 busy
 * naming LOCK plus Retry-After, or 504) and returns its status; else 0. */
int iw_pg_limit_error(struct iw_response *resp, const char *sqlstate, const char *lock);

/* PQexecParams on CONN inside a transaction of the route: the result
 * (TUPLES_OK or COMMAND_OK; caller PQclear()s it), or NULL with RESP set:
 * 409 busy naming LOCK, 504, 503 when the connection is gone, else 500. */
PGresult *iw_pg_exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
		     const char *lock, struct iw_response *resp);

/* Takes the per-ESIID lock (IW_USAGE_SQL_LOCK_ESIIDS, $1 = comma-separated
 * ESIIDs) on CONN inside its transaction: 0, or the HTTP status set in RESP
 * (409 busy when another request holds one of them past lock_timeout). */
int iw_pg_lock_esiids(PGconn *conn, const char *esiid_list, struct iw_response *resp);
#endif
