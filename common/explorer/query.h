/* Read-only statements for the DB explorer: every statement runs on the
 * explorer's own connection (explorer/conn.h) inside BEGIN READ ONLY with a
 * statement timeout, the transaction is always rolled back, and results are
 * read row by row against a byte budget (libpq would otherwise buffer a
 * whole result, however large). */
#ifndef IW_EXPLORER_QUERY_H
#define IW_EXPLORER_QUERY_H

#include <stddef.h>
#include <libpq-fe.h>

#include "explorer/render.h"

#include "io/db.h"
#include "explorer/catalog.h"
#include "explorer/conn.h"

#define IW_QUERY_TIMEOUT   IW_XCONN_TIMEOUT /* statement_timeout of every explorer statement */
#define IW_QUERY_ROW_CAP   500   /* rows the SELECT box shows */
#define IW_QUERY_BYTE_CAP  (8u * 1024 * 1024) /* cell text read for CSV/JSON */
#define IW_QUERY_HTML_BYTE_CAP (2u * 1024 * 1024) /* cell text read for a page */
#define IW_QUERY_COLS_MAX  200   /* columns the SELECT box accepts */
#define IW_SQLSTATE_CANCELED "57014"

struct iw_error;

/* Opens the read-only transaction on DB's explorer connection. NULL with
 * ERROR (may be NULL) set when the database cannot be reached or
 * its setting is missing. */
PGconn *iw_xquery_begin(enum iw_db db, struct iw_error *error);
/* Ends it: nothing an explorer statement did is kept (iw_xconn_end). */
void iw_xquery_end(enum iw_db db);
/* Characters each of NCOLS cells may carry so that one row stays within
 * BYTE_CAP (4 bytes a character at most): min(CHARS, BYTE_CAP / 4 / NCOLS). */
size_t iw_xquery_cell_cap(size_t chars, size_t byte_cap, int ncols);
/* Runs SQL with text parameters and reads the rows one at a time
 * (PQsetSingleRowMode) into one result, stopping (and cancelling the
 * statement) before the cell text passes BYTE_CAP; then *CUT_AT is the
 * byte count read, else 0. NULL with the server's message in ERR and its
 * SQLSTATE in STATE (6 bytes). */
PGresult *iw_xquery_rows(PGconn *conn, const char *sql, int n, const char *const *params,
			size_t byte_cap, size_t *cut_at, char *err, size_t errlen, char state[6]);

struct iw_select {
	PGresult *desc;  /* column names and types of the operator's query */
	PGresult *rows;  /* up to IW_QUERY_ROW_CAP + 1 rows, every value as text
			  * cut to CELL_CAP characters (bytea: its size) */
	int ncols;
	enum iw_col_kind kinds[IW_QUERY_COLS_MAX];
	int truncated;   /* the query had more than IW_QUERY_ROW_CAP rows */
	size_t cut_at;   /* reading stopped at this many bytes of cell text (0: not) */
};

/* The SELECT box: checks SQL with the statement guard, then runs
 * SELECT ... FROM (<sql>) AS q(c1..cn) LIMIT cap+1 in CONN's read-only
 * transaction, every cell cut to CELL_CAP characters (less when many
 * columns), the rows read within BYTE_CAP. 0, or -1 with a message for the
 * operator in ERR. */
int iw_xquery_select(PGconn *conn, const char *sql, size_t cell_cap, size_t byte_cap,
		    struct iw_select *out, char *err, size_t errlen);
void iw_xquery_select_free(struct iw_select *s);
/* G over SEL's rows (at most IW_QUERY_ROW_CAP), NAMES (SEL->ncols slots)
 * filled with its column names. */
void iw_xquery_select_grid(const struct iw_select *sel, const char **names, struct iw_grid *g);
/* G over RES (a page read with one row more than SIZE): at most SIZE rows.
 * 1 when RES holds more than SIZE. */
int iw_xquery_page_grid(PGresult *res, long size, struct iw_grid *g);
/* Frees a result of iw_xquery_rows (NULL is fine). */
void iw_xquery_rows_free(PGresult *res);
#endif
