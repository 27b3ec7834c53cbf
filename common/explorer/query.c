#include "explorer/query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "explorer/sqlguard.h"
#include "core/err.h"

PGconn *iw_xquery_begin(enum iw_db db, struct iw_error *error)
{
	return iw_xconn_begin(db, error);
}

void iw_xquery_end(enum iw_db db)
{
	iw_xconn_end(db);
}

size_t iw_xquery_cell_cap(size_t chars, size_t byte_cap, int ncols)
{
	size_t fit = byte_cap / 4 / (size_t)(ncols > 0 ? ncols : 1);

	return fit < 1 ? 1 : fit < chars ? fit : chars;
}

static void set_error(PGconn *conn, const PGresult *res, char *err, size_t errlen, char state[6])
{
	const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	snprintf(state, 6, "%s", code ? code : "");
	snprintf(err, errlen, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	/* Trim libpq's trailing newline. */
	for (size_t l = strlen(err); l > 0 && (err[l - 1] == '\n' || err[l - 1] == ' '); l--)
		err[l - 1] = '\0';
}

/* Appends the one row of ROW (a PGRES_SINGLE_TUPLE result) to *OUT. */
static int append_row(PGresult **out, const PGresult *row)
{
	int t, n = PQnfields(row);

	if (!*out)
		return (*out = PQcopyResult(row, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES)) ? 0 : -1;
	t = PQntuples(*out);
	for (int c = 0; c < n; c++) {
		int isnull = PQgetisnull(row, 0, c);
		if (!PQsetvalue(*out, t, c, isnull ? NULL : PQgetvalue(row, 0, c),
				isnull ? -1 : PQgetlength(row, 0, c)))
			return -1;
	}
	return 0;
}

/* Asks the server to stop sending: the rest would only be thrown away. */
static void cancel(PGconn *conn)
{
	PGcancel *c = PQgetCancel(conn);
	char buf[256];

	if (c && !PQcancel(c, buf, sizeof buf))
		iw_logf("warn", "cancelling a capped explorer statement: %s", buf);
	PQfreeCancel(c);
}

PGresult *iw_xquery_rows(PGconn *conn, const char *sql, int n, const char *const *params,
			size_t byte_cap, size_t *cut_at, char *err, size_t errlen, char state[6])
{
	PGresult *out = NULL, *r;
	size_t total = 0;
	int stopped = 0, failed = 0;

	state[0] = '\0';
	*cut_at = 0;
	if (!PQsendQueryParams(conn, sql, n, NULL, params, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(conn)) {
		set_error(conn, NULL, err, errlen, state);
		while ((r = PQgetResult(conn)))
			PQclear(r);
		return NULL;
	}
	while ((r = PQgetResult(conn))) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_SINGLE_TUPLE) {
			size_t row = 0;
			for (int c = 0; c < PQnfields(r); c++)
				row += (size_t)PQgetlength(r, 0, c);
			if (stopped || failed) {
				/* draining */
			} else if (total + row > byte_cap) {
				stopped = 1;
				*cut_at = total;
				cancel(conn);
			} else if (append_row(&out, r) != 0) {
				failed = 1;
				snprintf(err, errlen, "out of memory");
				cancel(conn);
			} else {
				total += row;
			}
		} else if (st == PGRES_TUPLES_OK) {
			if (!out && !failed) { /* no rows: keep the column list */
				out = r;
				r = NULL;
			}
		} else if (!stopped && !failed) {
			/* After a cap, the cancel's own error is expected. */
			set_error(conn, r, err, errlen, state);
			failed = 1;
		}
		PQclear(r);
	}
	if (failed) {
		PQclear(out);
		return NULL;
	}
	if (!out) { /* capped before the first row: an empty result with the columns */
		snprintf(err, errlen, "the first row alone is larger than %zu bytes", byte_cap);
		return NULL;
	}
	return out;
}

static int explain_failure(const char *state, char *err, size_t errlen)
{
	char msg[512];

	if (strcmp(state, IW_SQLSTATE_CANCELED) == 0) {
		snprintf(err, errlen, "the query ran longer than %s and was cancelled", IW_QUERY_TIMEOUT);
	} else if (strcmp(state, "55P03") == 0) {
		snprintf(err, errlen, "a lock the query needed was held by someone else (lock_timeout %s)",
			 IW_XCONN_LOCK_TIMEOUT);
	} else if (strcmp(state, "42501") == 0) {
		snprintf(msg, sizeof msg, "%s", err);
		snprintf(err, errlen, "refused, the explorer's role may only read: %s", msg);
	} else if (strcmp(state, "25006") == 0) {
		snprintf(msg, sizeof msg, "%s", err);
		snprintf(err, errlen, "refused, the SELECT box is read-only: %s", msg);
	}
	return -1;
}

/* Builds SELECT left(q.c1::text, CAP), ... FROM (\n<sql>\n) AS q(c1, ...)
 * LIMIT cap+1. The newlines keep a trailing -- comment in SQL from
 * swallowing the wrapper. */
static char *wrapped(const char *sql, size_t len, const struct iw_select *s, size_t cell_cap)
{
	struct iw_buf b = { 0 };
	size_t n;

	iw_buf_puts(&b, "SELECT ");
	for (int i = 0; i < s->ncols; i++) {
		if (s->kinds[i] == IW_COL_BYTES)
			iw_buf_printf(&b, "%soctet_length(q.c%d)", i ? ", " : "", i + 1);
		else
			iw_buf_printf(&b, "%sleft(q.c%d::text, %zu)", i ? ", " : "", i + 1, cell_cap);
	}
	iw_buf_puts(&b, " FROM (\n");
	iw_buf_put(&b, sql, len);
	iw_buf_puts(&b, "\n) AS q(");
	for (int i = 0; i < s->ncols; i++)
		iw_buf_printf(&b, "%sc%d", i ? ", " : "", i + 1);
	iw_buf_printf(&b, ") LIMIT %d", IW_QUERY_ROW_CAP + 1);
	return iw_buf_take(&b, &n);
}

int iw_xquery_select(PGconn *conn, const char *sql, size_t cell_cap, size_t byte_cap,
		    struct iw_select *out, char *err, size_t errlen)
{
	struct iw_buf b = { 0 };
	char state[6];
	char *text = NULL;
	size_t len, n;
	PGresult *res;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (iw_sqlguard_check(sql, &len, err, errlen) != 0)
		return -1;
	/* Describe the query first, so the real run can cap every value. */
	iw_buf_puts(&b, "SELECT * FROM (\n");
	iw_buf_put(&b, sql, len);
	iw_buf_puts(&b, "\n) AS q");
	if (!(text = iw_buf_take(&b, &n))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	res = PQprepare(conn, "", text, 0, NULL);
	free(text);
	text = NULL;
	if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		snprintf(state, sizeof state, "%s", res && PQresultErrorField(res, PG_DIAG_SQLSTATE)
			 ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "");
		PQclear(res);
		return explain_failure(state, err, errlen);
	}
	PQclear(res);
	if (!(out->desc = PQdescribePrepared(conn, "")) ||
	    PQresultStatus(out->desc) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		goto out;
	}
	out->ncols = PQnfields(out->desc);
	if (out->ncols == 0 || out->ncols > IW_QUERY_COLS_MAX) {
		snprintf(err, errlen, "the query must return between 1 and %d columns",
			 IW_QUERY_COLS_MAX);
		goto out;
	}
	for (int i = 0; i < out->ncols; i++)
		out->kinds[i] = iw_col_kind_of(PQftype(out->desc, i));
	cell_cap = iw_xquery_cell_cap(cell_cap, byte_cap, out->ncols);
	if (!(text = wrapped(sql, len, out, cell_cap))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (!(out->rows = iw_xquery_rows(conn, text, 0, NULL, byte_cap, &out->cut_at, err, errlen,
					state))) {
		explain_failure(state, err, errlen);
		goto out;
	}
	if (PQntuples(out->rows) > IW_QUERY_ROW_CAP)
		out->truncated = 1;
	rc = 0;
out:
	free(text);
	if (rc != 0)
		iw_xquery_select_free(out);
	return rc;
}

void iw_xquery_select_free(struct iw_select *s)
{
	PQclear(s->desc);
	PQclear(s->rows);
	s->desc = s->rows = NULL;
}

void iw_xquery_select_grid(const struct iw_select *sel, const char **names, struct iw_grid *g)
{
	for (int i = 0; i < sel->ncols; i++)
		names[i] = PQfname(sel->desc, i);
	g->res = sel->rows;
	g->ncols = sel->ncols;
	g->names = names;
	g->kinds = sel->kinds;
	g->nrows = sel->truncated ? IW_QUERY_ROW_CAP : PQntuples(sel->rows);
}

int iw_xquery_page_grid(PGresult *res, long size, struct iw_grid *g)
{
	g->res = res;
	g->nrows = PQntuples(res) > size ? (int)size : PQntuples(res);
	return PQntuples(res) > size;
}

void iw_xquery_rows_free(PGresult *res)
{
	PQclear(res);
}
