#include "explorer/browse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/html.h"
#include "core/log.h"
#include "core/validate.h"
#include "explorer/query.h"
#include "explorer/render.h"
#include "explorer/replica.h"

#define ERR_MAX 1024

const char *const iw_xbrowse_db_names[IW_DB__MAX] = {
	[IW_DB_MASTER] = "master",
	[IW_DB_USAGE] = "usage",
};

/* --- links --------------------------------------------------------------- */

/* Writes an href for V (HTML-escaped): only the parameters that differ from
 * the defaults. */
void iw_xbrowse_href(struct iw_buf *b, const struct iw_xview *v, enum iw_xfmt fmt)
{
	iw_buf_printf(b, IW_XBROWSE_BASE "?db=%s", iw_xbrowse_db_names[v->db]);
	if (v->has_table) {
		iw_buf_puts(b, "&amp;table=");
		iw_url_encode(b, v->table);
	}
	if (v->page != 1)
		iw_buf_printf(b, "&amp;page=%ld", v->page);
	if (v->size != IW_XBROWSE_SIZE_DEFAULT)
		iw_buf_printf(b, "&amp;size=%ld", v->size);
	if (v->sort[0]) {
		iw_buf_puts(b, "&amp;sort=");
		iw_url_encode(b, v->sort);
	}
	if (v->dir_given || v->sort[0])
		iw_buf_puts(b, v->desc ? "&amp;dir=desc" : "&amp;dir=asc");
	if (v->q[0]) {
		iw_buf_puts(b, "&amp;q=");
		iw_url_encode(b, v->q);
	}
	if (v->col[0]) {
		iw_buf_puts(b, "&amp;col=");
		iw_url_encode(b, v->col);
	}
	if (v->exact)
		iw_buf_puts(b, "&amp;exact=1");
	if (fmt == IW_XFMT_JSON)
		iw_buf_puts(b, "&amp;format=json");
	else if (fmt == IW_XFMT_CSV)
		iw_buf_puts(b, "&amp;format=csv");
}

/* --- the table list (both databases) -------------------------------------- */

void iw_xbrowse_nav_load(struct iw_xnav *nav)
{
	char err[ERR_MAX];

	for (int d = 0; d < IW_DB__MAX; d++) {
		nav->tables[d] = NULL;
		nav->n[d] = -1;
		nav->replica[d][0] = '\0';
		PGconn *conn = iw_xquery_begin((enum iw_db)d, NULL);
		if (!conn)
			continue;
		nav->n[d] = iw_catalog_tables(conn, &nav->tables[d], err, sizeof err);
		if (nav->n[d] < 0)
			iw_logf("error", "listing the %s tables: %s", iw_xbrowse_db_names[d], err);
		else
			iw_replica_note(conn, nav->replica[d], sizeof nav->replica[d]);
		iw_xquery_end((enum iw_db)d);
	}
}

void iw_xbrowse_nav_free(struct iw_xnav *nav)
{
	for (int d = 0; d < IW_DB__MAX; d++)
		free(nav->tables[d]);
}

static void put_count(struct iw_buf *b, const struct iw_table_info *t)
{
	if (t->rows < 0)
		iw_buf_puts(b, "?");
	else
		iw_buf_printf(b, "%s%lld", t->estimated ? "~" : "", t->rows);
}

void iw_xbrowse_nav_html(struct iw_buf *b, const struct iw_xnav *nav, const struct iw_xview *cur)
{
	iw_buf_puts(b, "<nav>");
	for (int d = 0; d < IW_DB__MAX; d++) {
		iw_buf_printf(b, "<h2>%s</h2>", iw_xbrowse_db_names[d]);
		if (nav->replica[d][0]) /* our own text: digits and words */
			iw_buf_printf(b, "<p class=\"muted replica\">%s</p>", nav->replica[d]);
		if (nav->n[d] < 0) {
			iw_buf_puts(b, "<p class=\"err\">unavailable</p>");
			continue;
		}
		iw_buf_puts(b, "<ul>");
		for (int i = 0; i < nav->n[d]; i++) {
			const struct iw_table_info *t = &nav->tables[d][i];
			int on = cur && cur->has_table && cur->db == (enum iw_db)d &&
				 strcmp(cur->table, t->name) == 0;
			iw_buf_printf(b, "<li%s><a href=\"" IW_XBROWSE_BASE "?db=%s&amp;table=",
				      on ? " class=\"on\"" : "", iw_xbrowse_db_names[d]);
			iw_url_encode(b, t->name);
			iw_buf_puts(b, "\">");
			iw_html_escape(b, t->name);
			iw_buf_puts(b, "</a><span class=\"n\">");
			put_count(b, t);
			iw_buf_puts(b, "</span></li>");
		}
		iw_buf_puts(b, "</ul>");
	}
	iw_buf_puts(b, "<h2>query</h2><ul><li><a href=\"" IW_XBROWSE_BASE "?sql=\">SELECT box</a></li>"
		       "</ul></nav>");
}

json_object *iw_xbrowse_nav_json(const struct iw_xnav *nav)
{
	json_object *dbs = json_object_new_object();

	for (int d = 0; dbs && d < IW_DB__MAX; d++) {
		json_object *list;
		if (nav->n[d] < 0) {
			json_object_object_add(dbs, iw_xbrowse_db_names[d], NULL);
			continue;
		}
		list = json_object_new_array();
		for (int i = 0; list && i < nav->n[d]; i++) {
			const struct iw_table_info *t = &nav->tables[d][i];
			json_object *o = json_object_new_object();
			if (!o)
				break;
			json_object_object_add(o, "name", json_object_new_string(t->name));
			json_object_object_add(o, "rows", t->rows < 0 ? NULL : json_object_new_int64(t->rows));
			json_object_object_add(o, "estimated", json_object_new_boolean(t->estimated));
			json_object_array_add(list, o);
		}
		json_object_object_add(dbs, iw_xbrowse_db_names[d], list);
	}
	return dbs;
}


/* --- the table browser ----------------------------------------------------- */

/* Newest first: the first of these columns the table has, descending. */
int iw_xbrowse_default_sort(const struct iw_column *cols, int n)
{
	static const char *const names[] = { "createdAt", "created_at", "received_at", "id" };

	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		int c = iw_catalog_find(cols, n, names[i]);
		if (c >= 0)
			return c;
	}
	return -1;
}

/* %, _ and \ match themselves in the ILIKE pattern. */
void iw_xbrowse_like_pattern(struct iw_buf *b, const char *q)
{
	iw_buf_puts(b, "%");
	for (; *q; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			iw_buf_puts(b, "\\");
		iw_buf_put(b, q, 1);
	}
	iw_buf_puts(b, "%");
}

/* Appends the quoted identifier of a catalog name. */
static void put_ident(struct iw_buf *b, PGconn *conn, const char *name)
{
	char *id = PQescapeIdentifier(conn, name, strlen(name));

	if (!id) {
		b->failed = 1;
		return;
	}
	iw_buf_puts(b, id);
	PQfreemem(id);
}

/* ORDER BY the sort column, ties broken by the primary key so pages
 * neither repeat nor skip. NULLS LAST only where NULLs can occur: on a NOT
 * NULL column the default lets a plain index serve both directions. */
static void put_order(struct iw_buf *b, PGconn *conn, const struct iw_column *cols, int n,
		      int sort, int desc)
{
	const char *dir = desc ? "DESC" : "ASC";

	if (sort < 0)
		return;
	iw_buf_puts(b, " ORDER BY ");
	put_ident(b, conn, cols[sort].name);
	iw_buf_printf(b, " %s%s", dir, cols[sort].not_null || !desc ? "" : " NULLS LAST");
	for (int i = 0; i < n; i++) {
		if (!cols[i].primary_key || i == sort)
			continue;
		iw_buf_puts(b, ", ");
		put_ident(b, conn, cols[i].name);
		iw_buf_printf(b, " %s", dir);
	}
}

/* SELECT <capped values> FROM (SELECT * FROM <table> [WHERE search]
 * ORDER BY ... LIMIT $1 OFFSET $2) r ORDER BY ...; $3 is the search text.
 * The inner query picks the page on raw rows, so the text casts run on at
 * most one page, not on every row the sort reads. Every name comes from the
 * catalog. */
char *iw_xbrowse_rows_sql(PGconn *conn, const struct iw_xview *v, const struct iw_column *cols, int n,
		      int sort, int search_col, size_t cap)
{
	struct iw_buf b = { 0 };
	size_t len;
	/* An exact search of an indexed text column (SmtInterval by esiid):
	 * the matches are read through that index first (OFFSET 0 keeps the
	 * planner from merging the filter into the sort), then sorted. Else it
	 * may walk the sort column's index (createdAt) backwards, filtering,
	 * through every row loaded after the ESIID's newest one: a cost that
	 * grows with the history of all other meters (docs/ingest.md, Growth). */
	int fence = v->q[0] && v->exact && search_col >= 0 && search_col != sort &&
		    cols[search_col].text_index;

	iw_buf_puts(&b, "SELECT ");
	for (int i = 0; i < n; i++) {
		iw_buf_puts(&b, i ? ", " : "");
		if (cols[i].kind == IW_COL_BYTES) {
			iw_buf_puts(&b, "octet_length(r.");
			put_ident(&b, conn, cols[i].name);
			iw_buf_puts(&b, ")");
		} else {
			iw_buf_puts(&b, "left(r.");
			put_ident(&b, conn, cols[i].name);
			iw_buf_printf(&b, "::text, %zu)", cap);
		}
	}
	iw_buf_puts(&b, " FROM (SELECT * FROM ");
	if (fence)
		iw_buf_puts(&b, "(SELECT * FROM ");
	put_ident(&b, conn, v->table);
	if (v->q[0]) {
		int first = 1;
		iw_buf_puts(&b, " WHERE (");
		for (int i = 0; i < n; i++) {
			if (cols[i].kind == IW_COL_BYTES || (search_col >= 0 && i != search_col))
				continue;
			iw_buf_puts(&b, first ? "" : " OR ");
			put_ident(&b, conn, cols[i].name);
			iw_buf_puts(&b, v->exact ? "::text = $3" : "::text ILIKE $3");
			first = 0;
		}
		iw_buf_puts(&b, first ? "false)" : ")");
	}
	if (fence)
		iw_buf_puts(&b, " OFFSET 0) AS m");
	put_order(&b, conn, cols, n, sort, v->desc);
	iw_buf_puts(&b, " LIMIT $1 OFFSET $2) AS r");
	put_order(&b, conn, cols, n, sort, v->desc);
	return iw_buf_take(&b, &len);
}

void iw_xbrowse_search_form(struct iw_buf *b, const struct iw_xview *v, const struct iw_column *cols,
			    int n)
{
	iw_buf_printf(b, "<form class=\"bar\" method=\"get\" action=\"" IW_XBROWSE_BASE "\">"
		      "<input type=\"hidden\" name=\"db\" value=\"%s\">"
		      "<input type=\"hidden\" name=\"table\" value=\"", iw_xbrowse_db_names[v->db]);
	iw_html_escape(b, v->table);
	iw_buf_puts(b, "\">");
	if (v->sort[0]) {
		iw_buf_puts(b, "<input type=\"hidden\" name=\"sort\" value=\"");
		iw_html_escape(b, v->sort);
		iw_buf_printf(b, "\"><input type=\"hidden\" name=\"dir\" value=\"%s\">",
			      v->desc ? "desc" : "asc");
	}
	if (v->size != IW_XBROWSE_SIZE_DEFAULT)
		iw_buf_printf(b, "<input type=\"hidden\" name=\"size\" value=\"%ld\">", v->size);
	iw_buf_puts(b, "<input type=\"search\" name=\"q\" placeholder=\"search text\" value=\"");
	iw_html_escape(b, v->q);
	iw_buf_puts(b, "\"><select name=\"col\" aria-label=\"column\"><option value=\"\">all columns</option>");
	for (int i = 0; i < n; i++) {
		if (cols[i].kind == IW_COL_BYTES)
			continue;
		iw_buf_puts(b, "<option value=\"");
		iw_html_escape(b, cols[i].name);
		iw_buf_printf(b, "\"%s>", strcmp(v->col, cols[i].name) == 0 ? " selected" : "");
		iw_html_escape(b, cols[i].name);
		iw_buf_puts(b, "</option>");
	}
	iw_buf_printf(b, "</select><label><input type=\"checkbox\" name=\"exact\" value=\"1\"%s> exact</label>"
		      "<button type=\"submit\">Search</button>", v->exact ? " checked" : "");
	if (v->q[0]) {
		struct iw_xview clear = *v;
		clear.q[0] = clear.col[0] = '\0';
		clear.exact = 0;
		clear.page = 1;
		iw_buf_puts(b, "<a href=\"");
		iw_xbrowse_href(b, &clear, IW_XFMT_HTML);
		iw_buf_puts(b, "\">clear</a>");
	}
	iw_buf_puts(b, "</form>");
}

void iw_xbrowse_header_cell(struct iw_buf *b, const struct iw_xview *v, const struct iw_column *c,
			    int sorted_here)
{
	struct iw_xview next = *v;

	snprintf(next.sort, sizeof next.sort, "%s", c->name);
	/* A click sorts ascending, a second click descending. */
	next.desc = sorted_here && !v->desc;
	next.dir_given = 1;
	next.page = 1;
	iw_buf_puts(b, "<th title=\"");
	iw_html_escape(b, c->type);
	iw_buf_puts(b, "\"><a href=\"");
	iw_xbrowse_href(b, &next, IW_XFMT_HTML);
	iw_buf_puts(b, "\">");
	iw_html_escape(b, c->name);
	if (sorted_here)
		iw_buf_puts(b, v->desc ? " ▼" : " ▲");
	iw_buf_puts(b, "</a></th>");
}

void iw_xbrowse_csv_filename(char *out, size_t len, const struct iw_xview *v)
{
	size_t o = 0;

	for (const char *p = v->table; *p && o + 16 < len; p++) {
		char c = *p;
		out[o++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '_' || c == '-' ? c : '_';
	}
	snprintf(out + o, len - o, "-p%ld.csv", v->page);
}

json_object *iw_xbrowse_table_json(const struct iw_xview *v, const struct iw_column *cols, int n,
				   int sort, const struct iw_grid *g, int more, size_t cut_at)
{
	json_object *body = json_object_new_object();
	const char **types = calloc((size_t)n, sizeof *types);

	for (int i = 0; types && i < n; i++)
		types[i] = cols[i].type;
	json_object_object_add(body, "db", json_object_new_string(iw_xbrowse_db_names[v->db]));
	json_object_object_add(body, "table", json_object_new_string(v->table));
	json_object_object_add(body, "page", json_object_new_int64(v->page));
	json_object_object_add(body, "size", json_object_new_int64(v->size));
	json_object_object_add(body, "sort", sort >= 0 ? json_object_new_string(cols[sort].name) : NULL);
	json_object_object_add(body, "dir", json_object_new_string(v->desc ? "desc" : "asc"));
	json_object_object_add(body, "q", v->q[0] ? json_object_new_string(v->q) : NULL);
	json_object_object_add(body, "columns", iw_render_json_columns(g, types));
	json_object_object_add(body, "rows", iw_render_json_rows(g, 1));
	json_object_object_add(body, "hasMore", json_object_new_boolean(more));
	if (cut_at)
		json_object_object_add(body, "truncatedAtBytes", json_object_new_int64((int64_t)cut_at));
	free(types);
	return body;
}

/* The SmtInterval page of one ESIID (searched by esiid) links its coverage
 * calendar (/admin/coverage, fcgi/db_coverage.c). */
static void coverage_link(struct iw_buf *b, const struct iw_xview *v)
{
	char esiid[IW_ESIID_MAX + 1];

	if (v->db != IW_DB_MASTER || strcmp(v->table, "SmtInterval") != 0 ||
	    strcmp(v->col, "esiid") != 0 || iw_esiid_normalize(v->q, esiid) != 0)
		return;
	iw_buf_printf(b, "<p><a class=\"coverage\" href=\"/admin/coverage?esiid=%s\">"
			 "Interval coverage calendar of %s</a></p>", esiid, esiid);
}

void iw_xbrowse_table_html(struct iw_buf *b, const struct iw_xview *v, const struct iw_xnav *nav,
			   const struct iw_column *cols, int n, int sort, const struct iw_grid *g,
			   int more, size_t cut_at)
{
	iw_buf_puts(b, "<main>");
	iw_xbrowse_nav_html(b, nav, v);
	iw_buf_puts(b, "<section><div class=\"card\"><h2>");
	iw_html_escape(b, v->table);
	iw_buf_printf(b, " <span class=\"muted\">· %s</span></h2>", iw_xbrowse_db_names[v->db]);
	iw_xbrowse_search_form(b, v, cols, n);
	coverage_link(b, v);
	iw_buf_puts(b, "<div class=\"grid\"><table><thead><tr>");
	for (int i = 0; i < n; i++)
		iw_xbrowse_header_cell(b, v, &cols[i], i == sort && v->sort[0]);
	iw_buf_puts(b, "</tr></thead><tbody>");
	for (int r = 0; r < g->nrows; r++) {
		iw_buf_puts(b, "<tr>");
		for (int c = 0; c < n; c++)
			iw_render_cell_html(b, g, r, c);
		iw_buf_puts(b, "</tr>");
	}
	if (g->nrows == 0)
		iw_buf_printf(b, "<tr><td class=\"muted\" colspan=\"%d\">no rows</td></tr>", n);
	iw_buf_puts(b, "</tbody></table></div><div class=\"pager\">");
	if (v->page > 1) {
		struct iw_xview prev = *v;
		prev.page--;
		iw_buf_puts(b, "<a rel=\"prev\" href=\"");
		iw_xbrowse_href(b, &prev, IW_XFMT_HTML);
		iw_buf_puts(b, "\">← newer</a>");
	}
	iw_buf_printf(b, "<span>page %ld · rows %ld–%ld</span>", v->page,
		      g->nrows ? (v->page - 1) * v->size + 1 : 0, (v->page - 1) * v->size + g->nrows);
	if (cut_at)
		iw_buf_printf(b, "<span class=\"err\">truncated at %zu bytes: use a smaller size</span>",
			      cut_at);
	if (more) {
		struct iw_xview next = *v;
		next.page++;
		iw_buf_puts(b, "<a rel=\"next\" href=\"");
		iw_xbrowse_href(b, &next, IW_XFMT_HTML);
		iw_buf_puts(b, "\">older →</a>");
	}
	iw_buf_puts(b, "<span class=\"muted\">export: <a href=\"");
	iw_xbrowse_href(b, v, IW_XFMT_CSV);
	iw_buf_puts(b, "\">CSV</a> · <a href=\"");
	iw_xbrowse_href(b, v, IW_XFMT_JSON);
	iw_buf_puts(b, "\">JSON</a></span></div></div></section></main>");
}
