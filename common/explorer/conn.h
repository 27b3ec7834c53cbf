/* The DB explorer's own connections (SPEC §7): one per database, through the
 * least-privilege role of EXPLORER_DATABASE_URL / EXPLORER_USAGE_DATABASE_URL
 * (never the routes' DATABASE_URL). Every use is one read-only transaction
 * that is rolled back, and whatever a statement left on the session (a
 * session advisory lock, a setting) is undone before the connection serves
 * the next request. */
#ifndef IW_EXPLORER_CONN_H
#define IW_EXPLORER_CONN_H

#include <libpq-fe.h>

#include "io/db.h"

#define IW_XCONN_TIMEOUT      "5s" /* statement_timeout of every explorer statement */
#define IW_XCONN_LOCK_TIMEOUT "1s" /* lock_timeout: never queue behind a route's lock */

struct iw_error;

/* "EXPLORER_DATABASE_URL" / "EXPLORER_USAGE_DATABASE_URL". */
const char *iw_xconn_setting(enum iw_db db);
/* NULL when both settings are set, else the name of the first one missing. */
const char *iw_xconn_missing(void);
/* 0, or IW_ERR_MISCONFIG with ERR naming the setting that is missing. */
int iw_xconn_check(struct iw_error *err);
/* Opens the read-only transaction on DB's explorer connection (connecting
 * when needed). NULL with ERROR (may be NULL) set: IW_ERR_MISCONFIG
 * when the setting is unset or names a privileged role, IW_ERR_DB_DOWN when the database cannot be reached. */
PGconn *iw_xconn_begin(enum iw_db db, struct iw_error *error);
/* Ends it: rolls back, releases session advisory locks inside that same
 * transaction (so it also holds behind a transaction-pooling pgbouncer),
 * then DISCARD ALL. A connection in any doubtful state is closed instead,
 * which ends the server session and everything it held. */
void iw_xconn_end(enum iw_db db);
#endif
