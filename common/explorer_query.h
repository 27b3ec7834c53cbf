/* Read-only statements for the DB explorer: every statement runs inside
 * BEGIN READ ONLY with a statement timeout, and the transaction is always
 * rolled back. */
#ifndef IW_EXPLORER_QUERY_H
#define IW_EXPLORER_QUERY_H

#include <stddef.h>
#include <libpq-fe.h>

#include "db.h"
#include "explorer_catalog.h"

#define IW_QUERY_TIMEOUT   "5s"  /* statement_timeout of every explorer statement */
#define IW_QUERY_ROW_CAP   500   /* rows the SELECT box shows */
#define IW_QUERY_COLS_MAX  200   /* columns the SELECT box accepts */
#define IW_SQLSTATE_CANCELED "57014"

struct iw_response;

/* Opens the read-only transaction on DB's connection. NULL with RESP set
 * (503 / 500) when the database cannot be reached. */
PGconn *iw_query_begin(enum iw_db db, struct iw_response *resp);
/* Ends it (ROLLBACK: nothing an explorer statement did is kept). */
void iw_query_end(enum iw_db db);
/* PQexecParams expecting rows; NULL with the server's message in ERR and
 * its SQLSTATE in STATE (6 bytes). */
PGresult *iw_query_rows(PGconn *conn, const char *sql, int n, const char *const *params,
			char *err, size_t errlen, char state[6]);

struct iw_select {
	PGresult *desc;  /* column names and types of the operator's query */
	PGresult *rows;  /* up to IW_QUERY_ROW_CAP + 1 rows, every value as text
			  * cut to CELL_CAP characters (bytea: its size) */
	int ncols;
	enum iw_col_kind kinds[IW_QUERY_COLS_MAX];
	int truncated;   /* the query had more than IW_QUERY_ROW_CAP rows */
};

/* The SELECT box: checks SQL with the statement guard, then runs
 * SELECT ... FROM (<sql>) AS q(c1..cn) LIMIT cap+1 in CONN's read-only
 * transaction. 0, or -1 with a message for the operator in ERR. */
int iw_query_select(PGconn *conn, const char *sql, size_t cell_cap, struct iw_select *out,
		    char *err, size_t errlen);
void iw_query_select_free(struct iw_select *s);
#endif
