#include "explorer/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type oids from pg_type.dat (stable across releases). */
#define OID_BOOL   16
#define OID_BYTEA  17
#define OID_INT8   20
#define OID_INT2   21
#define OID_INT4   23
#define OID_OID    26
#define OID_FLOAT4 700
#define OID_FLOAT8 701

static const char sql_tables[] =
	/* A partitioned table's own reltuples stays -1 (autovacuum analyzes
	 * only its partitions): its estimate and size are theirs, summed. */
	"SELECT c.relname, c.relkind, "
	"CASE WHEN c.relkind = 'p' THEN coalesce(p.tuples, -1) ELSE c.reltuples END::bigint, "
	"CASE WHEN c.relkind IN ('r','m') THEN pg_relation_size(c.oid) "
	"     WHEN c.relkind = 'p' THEN coalesce(p.bytes, 0) END "
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"LEFT JOIN LATERAL (SELECT sum(k.reltuples) FILTER (WHERE k.reltuples >= 0) AS tuples, "
	"                          sum(pg_relation_size(k.oid)) AS bytes "
	"     FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid "
	"     WHERE c.relkind = 'p' AND i.inhparent = c.oid) p ON true "
	"WHERE n.nspname = 'public' AND c.relkind IN ('r','p','v','m') AND NOT c.relispartition "
	"ORDER BY c.relname";

static const char sql_columns[] =
	"SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, "
	"EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary "
	"        AND a.attnum = ANY (i.indkey)), a.attnotnull, "
	"a.atttypid IN (25, 1043) AND EXISTS (SELECT 1 FROM pg_index i "
	"        WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum) "
	"FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
	"JOIN pg_attribute a ON a.attrelid = c.oid "
	"WHERE n.nspname = 'public' AND c.relname = $1 AND c.relkind IN ('r','p','v','m') "
	"AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

enum iw_col_kind iw_col_kind_of(Oid type)
{
	switch (type) {
	case OID_BOOL: return IW_COL_BOOL;
	case OID_BYTEA: return IW_COL_BYTES;
	case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID: return IW_COL_INT;
	case OID_FLOAT4: case OID_FLOAT8: return IW_COL_FLOAT;
	default: return IW_COL_TEXT;
	}
}

static PGresult *exec(PGconn *conn, const char *sql, int n, const char *const *params,
		      char *err, size_t errlen)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);

	if (res && PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	snprintf(err, errlen, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, IW_CATALOG_NAME_MAX, "%s", src);
}

/* Exact count(*) of a table the catalog named. */
static long long count_rows(PGconn *conn, const char *name, char *err, size_t errlen)
{
	char *ident = PQescapeIdentifier(conn, name, strlen(name));
	char sql[IW_CATALOG_NAME_MAX * 2 + 64];
	PGresult *res;
	long long n;

	if (!ident) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", ident);
	PQfreemem(ident);
	if (!(res = exec(conn, sql, 0, NULL, err, errlen)))
		return -1;
	n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return n;
}

int iw_catalog_tables(PGconn *conn, struct iw_table_info **out, char *err, size_t errlen)
{
	PGresult *res = exec(conn, sql_tables, 0, NULL, err, errlen);
	struct iw_table_info *t;
	int n;

	*out = NULL;
	if (!res)
		return -1;
	n = PQntuples(res);
	if (n > IW_CATALOG_TABLES_MAX)
		n = IW_CATALOG_TABLES_MAX;
	if (!(t = calloc((size_t)n + 1, sizeof *t))) {
		PQclear(res);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *kind = PQgetvalue(res, i, 1);
		long long tuples = strtoll(PQgetvalue(res, i, 2), NULL, 10);
		long long bytes = PQgetisnull(res, i, 3) ? -1 : strtoll(PQgetvalue(res, i, 3), NULL, 10);

		copy_name(t[i].name, PQgetvalue(res, i, 0));
		t[i].rows = -1;
		if (kind[0] == 'v')
			continue; /* a view: counting could run any query */
		if (bytes >= 0 && bytes <= IW_CATALOG_EXACT_MAX) {
			if ((t[i].rows = count_rows(conn, t[i].name, err, errlen)) < 0) {
				PQclear(res);
				free(t);
				return -1;
			}
		} else if (tuples >= 0) {
			t[i].rows = tuples;
			t[i].estimated = 1;
		}
	}
	PQclear(res);
	*out = t;
	return n;
}

int iw_catalog_columns(PGconn *conn, const char *table, struct iw_column **out,
		       char *err, size_t errlen)
{
	const char *params[1] = { table };
	PGresult *res;
	struct iw_column *c;
	int n;

	*out = NULL;
	if (!table || strlen(table) >= IW_CATALOG_NAME_MAX)
		return 0; /* longer than any catalog name */
	if (!(res = exec(conn, sql_columns, 1, params, err, errlen)))
		return -1;
	n = PQntuples(res);
	if (n > IW_CATALOG_COLUMNS_MAX)
		n = IW_CATALOG_COLUMNS_MAX;
	if (!(c = calloc((size_t)n + 1, sizeof *c))) {
		PQclear(res);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++) {
		copy_name(c[i].name, PQgetvalue(res, i, 0));
		copy_name(c[i].type, PQgetvalue(res, i, 1));
		c[i].kind = iw_col_kind_of((Oid)strtoul(PQgetvalue(res, i, 2), NULL, 10));
		c[i].primary_key = PQgetvalue(res, i, 3)[0] == 't';
		c[i].not_null = PQgetvalue(res, i, 4)[0] == 't';
		c[i].text_index = PQgetvalue(res, i, 5)[0] == 't';
	}
	PQclear(res);
	*out = c;
	return n;
}

int iw_catalog_find(const struct iw_column *cols, int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return i;
	return -1;
}
