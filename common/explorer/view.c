/* The explorer's views (explorer/view.h): what was fcgi/db_explorer.c's
 * sql_view, table_view and index_view, answering into a struct iw_xanswer. */
#include "explorer/view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/html.h"
#include "core/log.h"
#include "core/validate.h"
#include "explorer/catalog.h"
#include "explorer/query.h"
#include "explorer/render.h"

#define ERR_MAX 1024

void iw_xanswer_init(struct iw_xanswer *a)
{
	memset(a, 0, sizeof *a);
	a->rows = -1;
}

void iw_xanswer_free(struct iw_xanswer *a)
{
	iw_buf_free(&a->body);
	json_object_put(a->json);
	a->json = NULL;
	iw_err_clear(&a->err);
}

IW_PRINTF(3, 4)
static void stop(struct iw_xanswer *a, enum iw_xstop why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->message, sizeof a->message, fmt, ap);
	va_end(ap);
	a->stop = why;
	a->kind = IW_XANS_NONE;
	iw_buf_free(&a->body);
}

static void iw_xview_sql_form(struct iw_buf *b, const struct iw_xview *v)
{
	iw_buf_puts(b, "<div class=\"card\"><h2>SELECT box</h2>"
		       "<p class=\"muted\">One read-only statement, " IW_QUERY_TIMEOUT
		       " timeout, at most 500 rows and 8 MiB.</p>"
		       "<form method=\"post\" action=\"" IW_XBROWSE_BASE "\">");
	if (v->csrf)
		iw_html_hidden(b, "csrf", v->csrf);
	iw_buf_puts(b, "<textarea name=\"sql\" spellcheck=\"false\" placeholder=\"SELECT …\">");
	if (v->sql)
		iw_html_escape(b, v->sql);
	iw_buf_puts(b, "</textarea><div class=\"bar\"><label>database <select name=\"db\">");
	for (int d = 0; d < IW_DB__MAX; d++)
		iw_buf_printf(b, "<option value=\"%s\"%s>%s</option>", iw_xbrowse_db_names[d],
			      v->db == (enum iw_db)d ? " selected" : "", iw_xbrowse_db_names[d]);
	iw_buf_puts(b, "</select></label> <label>as <select name=\"format\">"
		       "<option value=\"html\">table</option><option value=\"csv\">CSV</option>"
		       "<option value=\"json\">JSON</option></select></label> "
		       "<button type=\"submit\">Run</button></div></form></div>");
}

static void iw_xview_index(const struct iw_xview *v, const struct iw_xnav *nav, struct iw_xanswer *a)
{
	a->view = "index";
	if (v->fmt == IW_XFMT_CSV) {
		stop(a, IW_XSTOP_INPUT, "format=csv needs a table or sql");
		return;
	}
	if (v->fmt == IW_XFMT_JSON) {
		a->kind = IW_XANS_JSON;
		a->json = iw_xbrowse_nav_json(nav);
		return;
	}
	a->kind = IW_XANS_HTML;
	iw_buf_puts(&a->body, "<main>");
	iw_xbrowse_nav_html(&a->body, nav, NULL);
	iw_buf_puts(&a->body, "<section><div class=\"card\"><h2>Tables</h2><p class=\"muted\">"
			      "Pick a table on the left: newest rows first, 50 a page. "
			      "Counts marked ~ are the planner's estimate.</p></div>");
	iw_xview_sql_form(&a->body, v);
	iw_buf_puts(&a->body, "</section></main>");
}

void iw_xview_apply(struct iw_xview *v, json_object *args)
{
	const char *s;
	json_object *x;

	if ((s = iw_args_str(args, "format")))
		v->fmt = strcmp(s, "json") == 0 ? IW_XFMT_JSON : strcmp(s, "csv") == 0 ? IW_XFMT_CSV
										: IW_XFMT_HTML;
	if ((s = iw_args_str(args, "db")))
		v->db = strcmp(s, "usage") == 0 ? IW_DB_USAGE : IW_DB_MASTER;
	if (json_object_object_get_ex(args, "page", &x))
		v->page = (long)json_object_get_int64(x);
	if (json_object_object_get_ex(args, "size", &x))
		v->size = (long)json_object_get_int64(x);
	if ((s = iw_args_str(args, "sort")))
		snprintf(v->sort, sizeof v->sort, "%s", s);
	if ((s = iw_args_str(args, "q")))
		snprintf(v->q, sizeof v->q, "%s", s);
	if ((s = iw_args_str(args, "col")))
		snprintf(v->col, sizeof v->col, "%s", s);
	if ((s = iw_args_str(args, "exact")))
		v->exact = strcmp(s, "1") == 0 || strcmp(s, "on") == 0;
	if ((s = iw_args_str(args, "dir"))) {
		v->desc = strcmp(s, "desc") == 0;
		v->dir_given = 1;
	}
}

/* --- the SELECT box -------------------------------------------------------- */

static void sql_grid_html(struct iw_buf *b, const struct iw_select *sel, const char **names,
			  const struct iw_grid *g)
{
	iw_buf_printf(b, "<div class=\"card\"><p class=\"muted\">%d row%s%s", g->nrows,
		      g->nrows == 1 ? "" : "s", sel->truncated ? " (cut at 500)" : "");
	if (sel->cut_at)
		iw_buf_printf(b, " (truncated at %zu bytes)", sel->cut_at);
	iw_buf_puts(b, "</p><div class=\"grid\"><table><thead><tr>");
	for (int c = 0; c < g->ncols; c++) {
		iw_buf_puts(b, "<th>");
		iw_html_escape(b, names[c]);
		iw_buf_puts(b, "</th>");
	}
	iw_buf_puts(b, "</tr></thead><tbody>");
	for (int r = 0; r < g->nrows; r++) {
		iw_buf_puts(b, "<tr>");
		for (int c = 0; c < g->ncols; c++)
			iw_render_cell_html(b, g, r, c);
		iw_buf_puts(b, "</tr>");
	}
	iw_buf_puts(b, "</tbody></table></div></div>");
}

static json_object *sql_json(const struct iw_xview *v, const struct iw_select *sel,
			     const struct iw_grid *g)
{
	json_object *body = json_object_new_object();

	if (!body)
		return NULL;
	json_object_object_add(body, "db", json_object_new_string(iw_xbrowse_db_names[v->db]));
	json_object_object_add(body, "columns", iw_render_json_columns(g, NULL));
	json_object_object_add(body, "rows", iw_render_json_rows(g, 0));
	json_object_object_add(body, "truncated", json_object_new_boolean(sel->truncated || sel->cut_at));
	if (sel->cut_at)
		json_object_object_add(body, "truncatedAtBytes", json_object_new_int64((int64_t)sel->cut_at));
	return body;
}

static void iw_xview_sql(const struct iw_xview *v, const struct iw_xnav *nav, struct iw_xanswer *a)
{
	struct iw_select sel;
	char err[ERR_MAX];
	const char *names[IW_QUERY_COLS_MAX];
	struct iw_grid g = { 0 };
	PGconn *conn;
	int ran = 0, html = v->fmt == IW_XFMT_HTML;

	a->view = "sql";
	memset(&sel, 0, sizeof sel);
	err[0] = '\0';
	if (v->sql && v->sql[0]) {
		if (!(conn = iw_xquery_begin(v->db, &a->err))) {
			stop(a, IW_XSTOP_ERR, "%s", a->err.msg);
			return;
		}
		ran = iw_xquery_select(conn, v->sql, html ? IW_RENDER_HTML_CHARS + 1 : IW_RENDER_EXPORT_CHARS,
				       html ? IW_QUERY_HTML_BYTE_CAP : IW_QUERY_BYTE_CAP, &sel, err,
				       sizeof err) == 0;
		iw_xquery_end(v->db);
	} else if (!html) {
		stop(a, IW_XSTOP_INPUT, "sql: a SELECT statement is required");
		return;
	}
	if (ran) {
		iw_xquery_select_grid(&sel, names, &g);
		a->rows = g.nrows;
		a->cut_at = sel.cut_at;
	} else if (!html) {
		iw_xquery_select_free(&sel);
		stop(a, IW_XSTOP_REFUSED, "%s", err);
		return;
	}
	if (v->fmt == IW_XFMT_JSON) {
		a->kind = IW_XANS_JSON;
		a->json = sql_json(v, &sel, &g);
	} else if (v->fmt == IW_XFMT_CSV) {
		a->kind = IW_XANS_CSV;
		snprintf(a->filename, sizeof a->filename, "query.csv");
		a->cut_header = sel.cut_at != 0;
		iw_render_csv(&a->body, &g);
	} else {
		a->kind = IW_XANS_HTML;
		iw_buf_puts(&a->body, "<main>");
		iw_xbrowse_nav_html(&a->body, nav, NULL);
		iw_buf_puts(&a->body, "<section>");
		iw_xview_sql_form(&a->body, v);
		if (!ran && err[0]) {
			iw_buf_puts(&a->body, "<div class=\"card\"><p class=\"err\">");
			iw_html_escape(&a->body, err);
			iw_buf_puts(&a->body, "</p></div>");
			a->stop = IW_XSTOP_REFUSED; /* the page, with a 400 */
		}
		if (ran)
			sql_grid_html(&a->body, &sel, names, &g);
		iw_buf_puts(&a->body, "</section></main>");
	}
	iw_xquery_select_free(&sel);
}

/* --- a page of a table ------------------------------------------------------ */

/* Which columns sort and search: 0, or a refusal set in A. */
static int table_columns(const struct iw_xview *v, const struct iw_column *cols, int n, int *sort,
			 int *search_col, struct iw_xanswer *a)
{
	*search_col = -1;
	if (v->sort[0]) {
		if ((*sort = iw_catalog_find(cols, n, v->sort)) < 0) {
			stop(a, IW_XSTOP_INPUT, "sort: no such column");
			return -1;
		}
	} else {
		*sort = iw_xbrowse_default_sort(cols, n);
	}
	if (v->col[0] && ((*search_col = iw_catalog_find(cols, n, v->col)) < 0 ||
			  cols[*search_col].kind == IW_COL_BYTES)) {
		stop(a, IW_XSTOP_INPUT, "col: no such searchable column");
		return -1;
	}
	return 0;
}

/* Reads the page of rows of V: the result, or NULL with a refusal set in A. */
static PGresult *table_rows(PGconn *conn, const struct iw_xview *v, const struct iw_column *cols,
			    int n, int sort, int search_col, struct iw_xanswer *a)
{
	size_t byte_cap = v->fmt == IW_XFMT_HTML ? IW_QUERY_HTML_BYTE_CAP : IW_QUERY_BYTE_CAP;
	struct iw_buf pat = { 0 };
	char err[ERR_MAX], state[6], limit[24], offset[24];
	const char *params[3];
	char *sql = NULL, *pattern = NULL;
	PGresult *res = NULL;
	size_t plen;

	if (v->exact)
		iw_buf_puts(&pat, v->q);
	else
		iw_xbrowse_like_pattern(&pat, v->q);
	if (!(pattern = iw_buf_take(&pat, &plen)) ||
	    !(sql = iw_xbrowse_rows_sql(conn, v, cols, n, sort, search_col,
				iw_xquery_cell_cap(v->fmt == IW_XFMT_HTML ? IW_RENDER_HTML_CHARS + 1
									  : IW_RENDER_EXPORT_CHARS, byte_cap, n)))) {
		stop(a, IW_XSTOP_INTERNAL, "out of memory");
		goto out;
	}
	snprintf(limit, sizeof limit, "%ld", v->size + 1); /* one more: is there a next page? */
	snprintf(offset, sizeof offset, "%ld", (v->page - 1) * v->size);
	params[0] = limit;
	params[1] = offset;
	params[2] = pattern;
	if (!(res = iw_xquery_rows(conn, sql, v->q[0] ? 3 : 2, params, byte_cap, &a->cut_at, err,
				   sizeof err, state))) {
		if (strcmp(state, IW_SQLSTATE_CANCELED) == 0) {
			stop(a, IW_XSTOP_TIMEOUT, "the rows took longer than " IW_QUERY_TIMEOUT
			     ": search one column with exact match, or use fewer pages");
		} else {
			iw_logf("error", "reading rows (%s): %s", state, err);
			stop(a, IW_XSTOP_INTERNAL, "reading the rows failed");
		}
	}
out:
	iw_buf_free(&pat);
	free(sql);
	free(pattern);
	return res;
}

static void iw_xview_table(const struct iw_xview *v, const struct iw_xnav *nav, struct iw_xanswer *a)
{
	struct iw_column *cols = NULL;
	char err[ERR_MAX];
	const char **names = NULL;
	enum iw_col_kind *kinds = NULL;
	PGconn *conn;
	PGresult *res = NULL;
	int n, sort, search_col, more;
	struct iw_grid g = { 0 };

	a->view = "table";
	if (!(conn = iw_xquery_begin(v->db, &a->err))) {
		stop(a, IW_XSTOP_ERR, "%s", a->err.msg);
		return;
	}
	n = iw_catalog_columns(conn, v->table, &cols, err, sizeof err);
	if (n <= 0) {
		stop(a, n < 0 ? IW_XSTOP_INTERNAL : IW_XSTOP_NOT_FOUND, "%s",
		     n < 0 ? "reading the catalog failed" : "table: no such table in this database");
		goto out;
	}
	a->table_found = 1;
	if (table_columns(v, cols, n, &sort, &search_col, a) != 0 ||
	    !(res = table_rows(conn, v, cols, n, sort, search_col, a)))
		goto out;
	names = calloc((size_t)n, sizeof *names);
	kinds = calloc((size_t)n, sizeof *kinds);
	if (!names || !kinds) {
		stop(a, IW_XSTOP_INTERNAL, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		names[i] = cols[i].name;
		kinds[i] = cols[i].kind;
	}
	/* Cut by bytes: the rows read are shown, and the pager goes on from there
	 * only by page number, so say so. */
	more = iw_xquery_page_grid(res, v->size, &g) || a->cut_at;
	g.ncols = n;
	g.names = names;
	g.kinds = kinds;
	a->rows = g.nrows;
	if (v->fmt == IW_XFMT_JSON) {
		a->kind = IW_XANS_JSON;
		a->json = iw_xbrowse_table_json(v, cols, n, sort, &g, more, a->cut_at);
	} else if (v->fmt == IW_XFMT_CSV) {
		a->kind = IW_XANS_CSV;
		iw_render_csv(&a->body, &g);
		iw_xbrowse_csv_filename(a->filename, sizeof a->filename, v);
	} else {
		a->kind = IW_XANS_HTML;
		iw_xbrowse_table_html(&a->body, v, nav, cols, n, sort, &g, more, a->cut_at);
	}
out:
	iw_xquery_end(v->db);
	iw_xquery_rows_free(res);
	free(names);
	free(kinds);
	free(cols);
}

void iw_xview_run(const struct iw_xview *v, int sql, struct iw_xanswer *a)
{
	struct iw_xnav nav = { 0 };

	if (v->fmt == IW_XFMT_HTML || (!v->has_table && !v->sql))
		iw_xbrowse_nav_load(&nav);
	(sql ? iw_xview_sql : v->has_table ? iw_xview_table : iw_xview_index)(v, &nav, a);
	iw_xbrowse_nav_free(&nav);
}
