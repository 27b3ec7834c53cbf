/* The DB explorer's view of a database: tables of schema "public" and their
 * columns, read from pg_catalog only. Requested names must match a catalog
 * row exactly; they reach SQL only as PQescapeIdentifier output. */
#ifndef IW_EXPLORER_CATALOG_H
#define IW_EXPLORER_CATALOG_H

#include <stddef.h>
#include <libpq-fe.h>

#include "io/db.h"

#define IW_CATALOG_NAME_MAX   64               /* NAMEDATALEN */
#define IW_CATALOG_EXACT_MAX  (8 * 1024 * 1024) /* tables up to this size get count(*) */
#define IW_CATALOG_TABLES_MAX 512
#define IW_CATALOG_COLUMNS_MAX 256

enum iw_col_kind { IW_COL_TEXT, IW_COL_BOOL, IW_COL_INT, IW_COL_FLOAT, IW_COL_BYTES, IW_COL__MAX };

struct iw_table_info {
	char name[IW_CATALOG_NAME_MAX];
	long long rows;  /* -1: unknown (a view, or never analysed) */
	int estimated;   /* rows is pg_class.reltuples */
};

struct iw_column {
	char name[IW_CATALOG_NAME_MAX];
	char type[IW_CATALOG_NAME_MAX]; /* format_type(), e.g. "timestamp(3) without time zone" */
	enum iw_col_kind kind;
	int primary_key;
	int not_null;
	int text_index;  /* a text/varchar column that leads an index: col::text = $n can use it */
};

/* How a value of type OID is shown and exported. */
enum iw_col_kind iw_col_kind_of(Oid type);

/* Lists the tables of DB with row counts: exact for tables smaller than
 * IW_CATALOG_EXACT_MAX, else the planner's estimate. CONN holds an open
 * read-only transaction. Returns the count (malloc'd *OUT) or -1. */
int iw_catalog_tables(PGconn *conn, struct iw_table_info **out, char *err, size_t errlen);
/* The columns of public.TABLE (exact name). Returns the count (malloc'd
 * *OUT; 0 when there is no such table) or -1. */
int iw_catalog_columns(PGconn *conn, const char *table, struct iw_column **out,
		       char *err, size_t errlen);
/* Index of column NAME in COLS, or -1. */
int iw_catalog_find(const struct iw_column *cols, int n, const char *name);
#endif
