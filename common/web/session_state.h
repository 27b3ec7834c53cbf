/* The DB explorer's server-side state in the master database (tables
 * "ExplorerSession" and "ExplorerLoginFailure"), written through the routes'
 * connection (iw_db_*, DATABASE_URL), never the explorer's read-only role:
 * sessions that logout ends for every worker and host, and the login rate
 * limit per client address. Every function returns -1 with RESP set (503 /
 * 500) when the database fails. */
#ifndef IW_EXPLORER_STATE_H
#define IW_EXPLORER_STATE_H

struct iw_response;

#define IW_LOGIN_FAILURES_MAX 5         /* failed logins an address may make ... */
#define IW_LOGIN_WINDOW_S     (15 * 60) /* ... within this many seconds */

/* Records session SID (the cookie's nonce) valid for TTL seconds. 0 or -1. */
int iw_xstate_session_add(struct iw_response *resp, const char *sid, long ttl);
/* 1 when SID is recorded, not revoked and not expired; 0 when not; -1. */
int iw_xstate_session_active(struct iw_response *resp, const char *sid);
/* Marks SID revoked. 0 or -1. */
int iw_xstate_session_revoke(struct iw_response *resp, const char *sid);

/* One login attempt from ADDR, serialised per address across workers and
 * hosts (a transaction-scoped advisory lock): opens a transaction, prunes
 * old rows, and says whether ADDR is limited: 1 with *RETRY_AFTER = seconds
 * until the window passes, 0 not limited, -1 on a database error. After 0
 * the caller ends it with iw_xstate_login_done(); after 1 it is closed. */
int iw_xstate_login_begin(struct iw_response *resp, const char *addr, long *retry_after);
/* Records the outcome (a failure, or success: the address's failures are
 * forgotten) and commits. 0 or -1. */
int iw_xstate_login_done(struct iw_response *resp, const char *addr, int ok);
/* Rolls back a login transaction left open on an error path. */
void iw_xstate_login_abort(void);
#endif
