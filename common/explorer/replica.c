#include "explorer/replica.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* Lag in seconds, one decimal; NULL before the standby replayed a commit. */
static const char SQL_REPLICA[] =
	"SELECT pg_is_in_recovery(), round(extract(epoch FROM now() - "
	"pg_last_xact_replay_timestamp())::numeric, 1)::text";

void iw_replica_note(PGconn *conn, char *out, size_t n)
{
	PGresult *res = PQexec(conn, SQL_REPLICA);

	out[0] = '\0';
	if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		iw_logf("warn", "replica check failed: %s",
			res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	} else if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		if (PQgetisnull(res, 0, 1))
			snprintf(out, n, "replica, no transaction replayed yet");
		else
			snprintf(out, n, "replica, %s s behind", PQgetvalue(res, 0, 1));
	}
	PQclear(res);
}
