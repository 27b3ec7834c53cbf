#include "web/session_state.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/db.h"
#include "web/serve.h"

#define WINDOW "interval '900 seconds'" /* IW_LOGIN_WINDOW_S */
_Static_assert(IW_LOGIN_WINDOW_S == 900, "WINDOW must match IW_LOGIN_WINDOW_S");
_Static_assert(IW_LOGIN_FAILURES_MAX == 5, "SQL_LIMITED's OFFSET must match");

static const char SQL_SESSION_ADD[] =
	"INSERT INTO \"ExplorerSession\" (id, \"expiresAt\") "
	"VALUES ($1, now() + make_interval(secs => $2::int)) ON CONFLICT (id) DO NOTHING";
static const char SQL_SESSION_ACTIVE[] =
	"SELECT 1 FROM \"ExplorerSession\" WHERE id = $1 AND \"revokedAt\" IS NULL "
	"AND \"expiresAt\" > now()";
static const char SQL_SESSION_REVOKE[] =
	"UPDATE \"ExplorerSession\" SET \"revokedAt\" = now() WHERE id = $1 AND \"revokedAt\" IS NULL";
/* Sessions are kept a day past expiry, then go. */
static const char SQL_SESSION_PRUNE[] =
	"DELETE FROM \"ExplorerSession\" WHERE \"expiresAt\" < now() - interval '1 day'";

/* Per address, across every worker and host; released at COMMIT/ROLLBACK. */
static const char SQL_LOGIN_LOCK[] =
	"SELECT pg_advisory_xact_lock(hashtextextended('iw-explorer-login ' || $1, 0))";
static const char SQL_FAILURE_PRUNE[] =
	"DELETE FROM \"ExplorerLoginFailure\" WHERE at <= now() - " WINDOW;
/* The 5th newest failure inside the window decides: when it leaves the
 * window, the address has 4 and may try again. */
static const char SQL_LIMITED[] =
	"SELECT greatest(1, ceil(extract(epoch FROM at + " WINDOW " - now())))::bigint "
	"FROM \"ExplorerLoginFailure\" WHERE addr = $1 AND at > now() - " WINDOW " "
	"ORDER BY at DESC OFFSET 4 LIMIT 1";
static const char SQL_FAILURE_ADD[] =
	"INSERT INTO \"ExplorerLoginFailure\" (addr) VALUES ($1)";
static const char SQL_FAILURE_FORGET[] =
	"DELETE FROM \"ExplorerLoginFailure\" WHERE addr = $1";

/* The answer of the database error the last call left in RESP: -1. */
static int failed(struct iw_response *resp)
{
	iw_fail(resp, &resp->err);
	return -1;
}

int iw_xstate_session_add(struct iw_response *resp, const char *sid, long ttl)
{
	char secs[24];
	const char *params[2] = { sid, secs };

	snprintf(secs, sizeof secs, "%ld", ttl);
	if (iw_db_run(IW_DB_MASTER, &resp->err, SQL_SESSION_PRUNE, 0, NULL) != 0 ||
	    iw_db_run(IW_DB_MASTER, &resp->err, SQL_SESSION_ADD, 2, params) != 0)
		return failed(resp);
	return 0;
}

int iw_xstate_session_active(struct iw_response *resp, const char *sid)
{
	long unused;
	int found = iw_db_first_long(IW_DB_MASTER, &resp->err, SQL_SESSION_ACTIVE, 1, &sid, &unused);

	return found < 0 ? failed(resp) : found;
}

int iw_xstate_session_revoke(struct iw_response *resp, const char *sid)
{
	return iw_db_run(IW_DB_MASTER, &resp->err, SQL_SESSION_REVOKE, 1, &sid) != 0 ? failed(resp) : 0;
}

int iw_xstate_login_begin(struct iw_response *resp, const char *addr, long *retry_after)
{
	int limited;

	*retry_after = 0;
	if (iw_db_begin(IW_DB_MASTER, &resp->err) != 0)
		return failed(resp);
	if (iw_db_run(IW_DB_MASTER, &resp->err, SQL_LOGIN_LOCK, 1, &addr) != 0 ||
	    iw_db_run(IW_DB_MASTER, &resp->err, SQL_FAILURE_PRUNE, 0, NULL) != 0 ||
	    (limited = iw_db_first_long(IW_DB_MASTER, &resp->err, SQL_LIMITED, 1, &addr,
					 retry_after)) < 0) {
		iw_db_rollback(IW_DB_MASTER);
		return failed(resp);
	}
	if (limited) {
		/* The prune is kept: it is what bounds the table. */
		if (iw_db_commit(IW_DB_MASTER, &resp->err) != 0) {
			iw_db_rollback(IW_DB_MASTER);
			return failed(resp);
		}
		return 1;
	}
	return 0;
}

int iw_xstate_login_done(struct iw_response *resp, const char *addr, int ok)
{
	if (iw_db_run(IW_DB_MASTER, &resp->err, ok ? SQL_FAILURE_FORGET : SQL_FAILURE_ADD, 1, &addr) != 0 ||
	    iw_db_commit(IW_DB_MASTER, &resp->err) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		return failed(resp);
	}
	return 0;
}

void iw_xstate_login_abort(void)
{
	iw_db_rollback(IW_DB_MASTER);
}
