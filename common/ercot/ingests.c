/* The newest ErcotIngest rows; see ercot/ingests.h. The rows are built into
 * one JSON array by the database (json_agg), so every column keeps its type. */
#include <stdio.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "ercot/ingests.h"
#include "io/db.h"

/* createdAt is a timestamp(3) without zone written as CURRENT_TIMESTAMP:
 * the writer's session TimeZone (the server's, UTC on our hosts); it is
 * answered as stored, with a Z. headers is left out: it is large. */
static const char SQL_LIST[] =
	"SELECT coalesce(json_agg(t ORDER BY t.\"createdAt\" DESC, t.id DESC), '[]')::text FROM ("
	" SELECT id, to_char(\"createdAt\", 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS \"createdAt\","
	" status, tdsp, filename, \"rowCount\", \"sizeBytes\", \"fileSha256\", \"storageKey\","
	" \"fileUrl\", \"sourceUrl\", note, error, \"errorDetail\""
	" FROM \"ErcotIngest\""
	" WHERE ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR tdsp = $3)"
	" ORDER BY \"createdAt\" DESC, id DESC LIMIT $1::int) t";

int iw_ercot_ingests_list(int limit, const char *status, const char *tdsp, json_object **rows,
			  struct iw_error *error)
{
	char n[16];
	const char *p[3] = { n, status, tdsp };
	PGresult *r;

	*rows = NULL;
	snprintf(n, sizeof n, "%d", limit);
	if (!(r = iw_db_exec(IW_DB_MASTER, error, SQL_LIST, 3, p)))
		return (int)error->code;
	if (PQntuples(r) == 1)
		*rows = json_tokener_parse(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*rows || !json_object_is_type(*rows, json_type_array)) {
		json_object_put(*rows);
		*rows = NULL;
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	}
	return 0;
}
