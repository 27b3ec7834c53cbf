/* GET /admin/database: the read-only DB explorer (SPEC §7). One program
 * serves the page, its stylesheet, the login and the logout:
 *   GET|POST /admin/database            tables, rows, the SELECT box
 *   GET      /admin/database/style.css  the one stylesheet
 *   POST     /admin/database/login      token= -> session cookie
 *   POST     /admin/database/logout     clears it
 * Auth is the session cookie or x-admin-token, checked here (the route is
 * IW_AUTH_NONE so the login form can be shown). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "web/xauth.h"
#include "explorer/browse.h"
#include "explorer/catalog.h"
#include "explorer/conn.h"
#include "web/form.h"
#include "core/html.h"
#include "web/page.h"
#include "explorer/query.h"
#include "explorer/render.h"
#include "explorer/sqlguard.h"
#include "web/serve.h"

#define SQL_FORM_MAX      (IW_SQLGUARD_MAX * 3 + 256) /* percent-encoding triples it */
#define ERR_MAX           1024

/* --- answers ------------------------------------------------------------- */

static int send_html(struct iw_response *resp, int status, struct iw_buf *b)
{
	return iw_page_send(resp, status, b);
}

static int send_json(struct iw_response *resp, json_object *body)
{
	return iw_ok(resp, body);
}

/* An error as a small HTML page or as JSON, by format. */
static int answer_error(struct iw_response *resp, enum iw_xfmt fmt, int status, const char *code,
		const char *message)
{
	return iw_page_fail(resp, fmt == IW_XFMT_HTML, status, code, message);
}

/* The error iw_xquery_begin left in resp->err (JSON), as a page when FMT is HTML. */
static int fail_unavailable(struct iw_response *resp, enum iw_xfmt fmt)
{
	json_object *m = NULL;
	char msg[512];

	iw_fail(resp, &resp->err);
	if (fmt != IW_XFMT_HTML)
		return resp->status;
	if (!resp->body || !json_object_object_get_ex(resp->body, "message", &m))
		m = NULL;
	snprintf(msg, sizeof msg, "%s", m ? json_object_get_string(m) : "the database is unavailable");
	return answer_error(resp, fmt, resp->status,
		    resp->error_code ? resp->error_code : "database_unavailable", msg);
}

/* --- request parsing ----------------------------------------------------- */

/* Reads a query (GET) or form (POST) field. */
static int field(struct iw_request *req, const char *form, const char *key, char *out, size_t n)
{
	return form ? iw_form_get(form, key, out, n) : iw_query_get(req, key, out, n);
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Fills V from the query string (and FORM for a POSTed SELECT box).
 * Returns 0 or an error status set in RESP. */
static int parse_view(struct iw_request *req, struct iw_response *resp, const char *form,
		      struct iw_xview *v)
{
	char buf[32];
	int r;

	memset(v, 0, sizeof *v);
	v->page = 1;
	v->size = IW_XBROWSE_SIZE_DEFAULT;
	v->desc = 1;
	if (field(req, form, "format", buf, sizeof buf) == 1 ||
	    iw_query_get(req, "format", buf, sizeof buf) == 1) {
		if (strcmp(buf, "json") == 0) v->fmt = IW_XFMT_JSON;
		else if (strcmp(buf, "csv") == 0) v->fmt = IW_XFMT_CSV;
		else if (strcmp(buf, "html") != 0)
			return answer_error(resp, IW_XFMT_HTML, 400, "invalid_request", "format: html, json or csv");
	}
	if (field(req, form, "db", buf, sizeof buf) == 1) {
		if (strcmp(buf, "usage") == 0) v->db = IW_DB_USAGE;
		else if (strcmp(buf, "master") != 0)
			return answer_error(resp, v->fmt, 400, "invalid_request", "db: master or usage");
	}
	r = iw_query_get(req, "table", v->table, sizeof v->table);
	v->has_table = r != 0; /* too long or malformed: a name no catalog row has */
	if (r < 0)
		v->table[0] = '\0';
	if (iw_query_get(req, "page", buf, sizeof buf) == 1 &&
	    parse_long(buf, 1, IW_XBROWSE_PAGE_MAX, &v->page) != 0)
		return answer_error(resp, v->fmt, 400, "invalid_request", "page: an integer from 1");
	if (iw_query_get(req, "size", buf, sizeof buf) == 1 &&
	    parse_long(buf, 1, IW_XBROWSE_SIZE_MAX, &v->size) != 0)
		return answer_error(resp, v->fmt, 400, "invalid_request", "size: an integer from 1 to 500");
	if (iw_query_get(req, "sort", v->sort, sizeof v->sort) < 0)
		return answer_error(resp, v->fmt, 400, "invalid_request", "sort: no such column");
	if (iw_query_get(req, "dir", buf, sizeof buf) == 1) {
		if (strcmp(buf, "asc") == 0) v->desc = 0;
		else if (strcmp(buf, "desc") != 0)
			return answer_error(resp, v->fmt, 400, "invalid_request", "dir: asc or desc");
		v->dir_given = 1;
	} else if (v->sort[0]) {
		v->desc = 0;
	}
	if (iw_query_get(req, "q", v->q, sizeof v->q) < 0)
		return answer_error(resp, v->fmt, 400, "invalid_request", "q: at most 255 bytes");
	if (iw_query_get(req, "col", v->col, sizeof v->col) < 0)
		return answer_error(resp, v->fmt, 400, "invalid_request", "col: no such column");
	if (iw_query_get(req, "exact", buf, sizeof buf) == 1)
		v->exact = strcmp(buf, "1") == 0 || strcmp(buf, "on") == 0;
	/* SQL text runs only from a POSTed form: a GET (a link, an <img>, a
	 * prefetch) never carries a statement. */
	if (!form) {
		char probe[2];
		v->sql_asked = iw_query_get(req, "sql", probe, sizeof probe) != 0;
	} else {
		size_t cap = IW_SQLGUARD_MAX + 1;
		if (!(v->sql = malloc(cap)))
			return iw_error(resp, 500, "internal_error", "out of memory");
		r = iw_form_get(form, "sql", v->sql, cap);
		if (r < 0) {
			free(v->sql);
			v->sql = NULL;
			return answer_error(resp, v->fmt, 400, "invalid_request", "sql: at most 16384 bytes");
		}
		if (r == 0) {
			free(v->sql);
			v->sql = NULL;
		}
	}
	return 0;
}

/* --- the SELECT box -------------------------------------------------------- */

static void render_sql_form(struct iw_buf *b, const struct iw_xview *v)
{
	iw_buf_puts(b, "<div class=\"card\"><h2>SELECT box</h2>"
		       "<p class=\"muted\">One read-only statement, " IW_QUERY_TIMEOUT
		       " timeout, at most 500 rows and 8 MiB.</p>"
		       "<form method=\"post\" action=\"" IW_PAGE_BASE "\">");
	iw_page_csrf_field(b, v->csrf);
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

static int sql_view(struct iw_request *req, struct iw_response *resp, struct iw_xview *v,
		    const struct iw_xnav *nav)
{
	struct iw_select sel;
	struct iw_buf b = { 0 };
	char err[ERR_MAX];
	const char *names[IW_QUERY_COLS_MAX];
	struct iw_grid g = { 0 };
	PGconn *conn;
	int status = 200, ran = 0;

	iw_log_str(req, "view", "sql");
	iw_log_count(req, "sql_bytes", v->sql ? (long long)strlen(v->sql) : 0);
	memset(&sel, 0, sizeof sel);
	err[0] = '\0';
	if (v->sql && v->sql[0]) {
		if (!(conn = iw_xquery_begin(v->db, &resp->err)))
			return fail_unavailable(resp, v->fmt);
		ran = iw_xquery_select(conn, v->sql,
				      v->fmt == IW_XFMT_HTML ? IW_RENDER_HTML_CHARS + 1 : IW_RENDER_EXPORT_CHARS,
				      v->fmt == IW_XFMT_HTML ? IW_QUERY_HTML_BYTE_CAP : IW_QUERY_BYTE_CAP,
				      &sel, err, sizeof err) == 0;
		iw_xquery_end(v->db);
		if (!ran)
			status = 400;
	} else if (v->fmt != IW_XFMT_HTML) {
		return answer_error(resp, v->fmt, 400, "invalid_request", "sql: a SELECT statement is required");
	}
	if (ran) {
		iw_xquery_select_grid(&sel, names, &g);
		iw_log_count(req, "rows", g.nrows);
		if (sel.cut_at)
			iw_log_count(req, "cut_at_bytes", (long long)sel.cut_at);
	}
	if (v->fmt != IW_XFMT_HTML && !ran) {
		iw_xquery_select_free(&sel);
		return answer_error(resp, v->fmt, 400, "query_refused", err);
	}
	if (v->fmt == IW_XFMT_JSON) {
		json_object *body = json_object_new_object();
		json_object_object_add(body, "db", json_object_new_string(iw_xbrowse_db_names[v->db]));
		json_object_object_add(body, "columns", iw_render_json_columns(&g, NULL));
		json_object_object_add(body, "rows", iw_render_json_rows(&g, 0));
		json_object_object_add(body, "truncated",
				       json_object_new_boolean(sel.truncated || sel.cut_at));
		if (sel.cut_at)
			json_object_object_add(body, "truncatedAtBytes",
					       json_object_new_int64((int64_t)sel.cut_at));
		iw_xquery_select_free(&sel);
		return send_json(resp, body);
	}
	if (v->fmt == IW_XFMT_CSV) {
		size_t len;
		char *data;
		iw_render_csv(&b, &g);
		if (sel.cut_at) {
			char at[24];
			snprintf(at, sizeof at, "%zu", sel.cut_at);
			iw_header(resp, "X-Truncated-At-Bytes", at);
		}
		iw_xquery_select_free(&sel);
		if (!(data = iw_buf_take(&b, &len)))
			return iw_error(resp, 500, "internal_error", "the export did not fit in memory");
		iw_header(resp, "Content-Disposition", "attachment; filename=\"query.csv\"");
		return iw_raw(resp, 200, "text/csv; charset=utf-8", data, len);
	}
	iw_page_head(&b, "SELECT box", v->csrf);
	iw_buf_puts(&b, "<main>");
	iw_xbrowse_nav_html(&b, nav, NULL);
	iw_buf_puts(&b, "<section>");
	render_sql_form(&b, v);
	if (!ran && err[0]) {
		iw_buf_puts(&b, "<div class=\"card\"><p class=\"err\">");
		iw_html_escape(&b, err);
		iw_buf_puts(&b, "</p></div>");
		resp->error_code = "query_refused";
	}
	if (ran) {
		iw_buf_printf(&b, "<div class=\"card\"><p class=\"muted\">%d row%s%s", g.nrows,
			      g.nrows == 1 ? "" : "s", sel.truncated ? " (cut at 500)" : "");
		if (sel.cut_at)
			iw_buf_printf(&b, " (truncated at %zu bytes)", sel.cut_at);
		iw_buf_puts(&b, "</p><div class=\"grid\"><table><thead><tr>");
		for (int c = 0; c < g.ncols; c++) {
			iw_buf_puts(&b, "<th>");
			iw_html_escape(&b, names[c]);
			iw_buf_puts(&b, "</th>");
		}
		iw_buf_puts(&b, "</tr></thead><tbody>");
		for (int r = 0; r < g.nrows; r++) {
			iw_buf_puts(&b, "<tr>");
			for (int c = 0; c < g.ncols; c++)
				iw_render_cell_html(&b, &g, r, c);
			iw_buf_puts(&b, "</tr>");
		}
		iw_buf_puts(&b, "</tbody></table></div></div>");
	}
	iw_xquery_select_free(&sel);
	iw_buf_puts(&b, "</section></main>");
	iw_page_foot(&b);
	return send_html(resp, status, &b);
}

static int table_view(struct iw_request *req, struct iw_response *resp, struct iw_xview *v,
		      const struct iw_xnav *nav)
{
	struct iw_column *cols = NULL;
	struct iw_buf b = { 0 }, pat = { 0 };
	char err[ERR_MAX], state[6], limit[24], offset[24];
	const char *params[3];
	const char **names = NULL;
	enum iw_col_kind *kinds = NULL;
	PGconn *conn;
	PGresult *res = NULL;
	char *sql = NULL, *pattern = NULL;
	int n, sort, search_col = -1, more, rc;
	size_t plen, cut_at = 0;
	size_t byte_cap = v->fmt == IW_XFMT_HTML ? IW_QUERY_HTML_BYTE_CAP : IW_QUERY_BYTE_CAP;
	struct iw_grid g = { 0 };

	iw_log_str(req, "view", "table");
	if (!(conn = iw_xquery_begin(v->db, &resp->err)))
		return fail_unavailable(resp, v->fmt);
	n = iw_catalog_columns(conn, v->table, &cols, err, sizeof err);
	if (n < 0) {
		rc = answer_error(resp, v->fmt, 500, "internal_error", "reading the catalog failed");
		goto out;
	}
	if (n == 0) {
		rc = answer_error(resp, v->fmt, 404, "not_found", "table: no such table in this database");
		goto out;
	}
	iw_log_str(req, "table", v->table);
	if (v->sort[0]) {
		if ((sort = iw_catalog_find(cols, n, v->sort)) < 0) {
			rc = answer_error(resp, v->fmt, 400, "invalid_request", "sort: no such column");
			goto out;
		}
	} else {
		sort = iw_xbrowse_default_sort(cols, n);
	}
	if (v->col[0] && ((search_col = iw_catalog_find(cols, n, v->col)) < 0 ||
			  cols[search_col].kind == IW_COL_BYTES)) {
		rc = answer_error(resp, v->fmt, 400, "invalid_request", "col: no such searchable column");
		goto out;
	}
	if (v->exact)
		iw_buf_puts(&pat, v->q);
	else
		iw_xbrowse_like_pattern(&pat, v->q);
	if (!(pattern = iw_buf_take(&pat, &plen)) ||
	    !(sql = iw_xbrowse_rows_sql(conn, v, cols, n, sort, search_col,
			     iw_xquery_cell_cap(v->fmt == IW_XFMT_HTML ? IW_RENDER_HTML_CHARS + 1
								  : IW_RENDER_EXPORT_CHARS, byte_cap, n)))) {
		rc = answer_error(resp, v->fmt, 500, "internal_error", "out of memory");
		goto out;
	}
	snprintf(limit, sizeof limit, "%ld", v->size + 1); /* one more: is there a next page? */
	snprintf(offset, sizeof offset, "%ld", (v->page - 1) * v->size);
	params[0] = limit;
	params[1] = offset;
	params[2] = pattern;
	if (!(res = iw_xquery_rows(conn, sql, v->q[0] ? 3 : 2, params, byte_cap, &cut_at, err,
				  sizeof err, state))) {
		if (strcmp(state, IW_SQLSTATE_CANCELED) == 0) {
			rc = answer_error(resp, v->fmt, 504, "query_timeout",
				  "the rows took longer than " IW_QUERY_TIMEOUT
				  ": search one column with exact match, or use fewer pages");
		} else {
			iw_logf("error", "reading rows (%s): %s", state, err);
			rc = answer_error(resp, v->fmt, 500, "internal_error", "reading the rows failed");
		}
		goto out;
	}
	names = calloc((size_t)n, sizeof *names);
	kinds = calloc((size_t)n, sizeof *kinds);
	if (!names || !kinds) {
		rc = answer_error(resp, v->fmt, 500, "internal_error", "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		names[i] = cols[i].name;
		kinds[i] = cols[i].kind;
	}
	/* Cut by bytes: the rows read are shown, and the pager goes on from there
	 * only by page number, so say so. */
	more = iw_xquery_page_grid(res, v->size, &g) || cut_at;
	if (cut_at)
		iw_log_count(req, "cut_at_bytes", (long long)cut_at);
	g.ncols = n;
	g.names = names;
	g.kinds = kinds;
	iw_log_count(req, "rows", g.nrows);

	if (v->fmt == IW_XFMT_JSON) {
		rc = send_json(resp, iw_xbrowse_table_json(v, cols, n, sort, &g, more, cut_at));
		goto out;
	}
	if (v->fmt == IW_XFMT_CSV) {
		char disp[IW_CATALOG_NAME_MAX + 64], fname[IW_CATALOG_NAME_MAX + 32];
		size_t len;
		char *data;
		iw_render_csv(&b, &g);
		if (!(data = iw_buf_take(&b, &len))) {
			rc = iw_error(resp, 500, "internal_error", "the export did not fit in memory");
			goto out;
		}
		iw_xbrowse_csv_filename(fname, sizeof fname, v);
		snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", fname);
		iw_header(resp, "Content-Disposition", disp);
		rc = iw_raw(resp, 200, "text/csv; charset=utf-8", data, len);
		goto out;
	}

	iw_page_head(&b, v->table, v->csrf);
	iw_xbrowse_table_html(&b, v, nav, cols, n, sort, &g, more, cut_at);
	iw_page_foot(&b);
	rc = send_html(resp, 200, &b);
out:
	iw_xquery_end(v->db);
	iw_buf_free(&b);
	iw_buf_free(&pat);
	iw_xquery_rows_free(res);
	free(sql);
	free(pattern);
	free(names);
	free(kinds);
	free(cols);
	return rc;
}

static int index_view(struct iw_request *req, struct iw_response *resp, struct iw_xview *v,
		      const struct iw_xnav *nav)
{
	struct iw_buf b = { 0 };

	iw_log_str(req, "view", "index");
	if (v->fmt == IW_XFMT_CSV)
		return answer_error(resp, v->fmt, 400, "invalid_request", "format=csv needs a table or sql");
	if (v->fmt == IW_XFMT_JSON)
		return send_json(resp, iw_xbrowse_nav_json(nav));
	iw_page_head(&b, "Tables", v->csrf);
	iw_buf_puts(&b, "<main>");
	iw_xbrowse_nav_html(&b, nav, NULL);
	iw_buf_puts(&b, "<section><div class=\"card\"><h2>Tables</h2><p class=\"muted\">"
		       "Pick a table on the left: newest rows first, 50 a page. "
		       "Counts marked ~ are the planner's estimate.</p></div>");
	render_sql_form(&b, v);
	iw_buf_puts(&b, "</section></main>");
	iw_page_foot(&b);
	return send_html(resp, 200, &b);
}

static int browse(struct iw_request *req, struct iw_response *resp)
{
	struct iw_xview v;
	struct iw_xnav nav = { 0 };
	struct iw_xauth who;
	char *form = NULL;
	enum iw_xfmt fmt = IW_XFMT_HTML;
	const char *missing;
	char buf[16];
	int rc, post = strcmp(req->method, "POST") == 0;

	if (iw_query_get(req, "format", buf, sizeof buf) == 1 && strcmp(buf, "html") != 0)
		fmt = IW_XFMT_JSON; /* json, csv (and junk): unauthenticated answers are JSON */
	switch (iw_xauth_check(req, resp, fmt == IW_XFMT_HTML, &who)) {
	case IW_XAUTH_TOKEN:
	case IW_XAUTH_SESSION:
		break;
	case IW_XAUTH_FAILED:
		return resp->status;
	case IW_XAUTH_ANON:
		if (fmt != IW_XFMT_HTML)
			return iw_error(resp, 401, "unauthorized", "missing or invalid credentials");
		resp->error_code = "unauthorized";
		{
			struct iw_buf b = { 0 };
			iw_page_login(&b, NULL);
			return send_html(resp, 401, &b);
		}
	}
	/* Never DATABASE_URL: that role can write. */
	if ((missing = iw_xconn_missing())) {
		char msg[160];
		snprintf(msg, sizeof msg, "%s is not set: the explorer reads only through its own "
			 "read-only role (see docs/explorer.md)", missing);
		return answer_error(resp, fmt, 503, "server_misconfigured", msg);
	}
	if (post) {
		if (!iw_xauth_origin_ok(req))
			return answer_error(resp, fmt, 403, "forbidden", "the form was posted from another site");
		if ((rc = iw_form_read(req, resp, SQL_FORM_MAX, &form)) != 0)
			return rc;
		if (iw_form_get(form, "format", buf, sizeof buf) == 1 && strcmp(buf, "html") != 0)
			fmt = IW_XFMT_JSON;
		if (!iw_xauth_csrf_ok(&who, form)) {
			free(form);
			iw_log_str(req, "csrf", "refused");
			return answer_error(resp, fmt, 403, "forbidden",
				    "the form's CSRF token is missing or wrong: reload the page and retry");
		}
	}
	rc = parse_view(req, resp, form, &v);
	free(form);
	if (rc != 0)
		return rc;
	v.csrf = who.who == IW_XAUTH_SESSION ? who.csrf : NULL;
	if (v.sql_asked && v.fmt != IW_XFMT_HTML) {
		iw_header(resp, "Allow", "POST");
		return answer_error(resp, v.fmt, 405, "method_not_allowed",
			    "sql: the SELECT box runs only with POST (form fields sql, db, format)");
	}
	if (v.fmt == IW_XFMT_HTML || (!v.has_table && !v.sql))
		iw_xbrowse_nav_load(&nav);
	if (post || v.sql_asked)
		rc = sql_view(req, resp, &v, &nav);
	else if (v.has_table)
		rc = table_view(req, resp, &v, &nav);
	else
		rc = index_view(req, resp, &v, &nav);
	iw_xbrowse_nav_free(&nav);
	free(v.sql);
	return rc;
}

/* --- dispatch -------------------------------------------------------------- */

static int stylesheet(struct iw_response *resp)
{
	char *css = strdup(iw_page_css);

	if (!css)
		return iw_error(resp, 500, "internal_error", "out of memory");
	return iw_raw(resp, 200, "text/css; charset=utf-8", css, strlen(css));
}

static int explorer(struct iw_request *req, struct iw_response *resp)
{
	const char *uri = iw_param(req, "DOCUMENT_URI");
	char path[128];
	size_t len;

	if (!uri || !*uri)
		uri = iw_param(req, "SCRIPT_NAME");
	snprintf(path, sizeof path, "%s", uri ? uri : "");
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	iw_page_security_headers(resp);
	if (strcmp(path, IW_PAGE_BASE) == 0)
		return browse(req, resp);
	if (strcmp(path, IW_PAGE_BASE "/style.css") == 0)
		return stylesheet(resp);
	if (strcmp(path, IW_PAGE_BASE "/login") == 0)
		return iw_xauth_login(req, resp);
	if (strcmp(path, IW_PAGE_BASE "/logout") == 0)
		return iw_xauth_logout(req, resp);
	return iw_error(resp, 404, "not_found", "no such route");
}

int main(void)
{
	static const struct iw_route route = {
		.name = "db_explorer",
		.methods = IW_GET | IW_POST,
		.auth = IW_AUTH_NONE, /* cookie or x-admin-token, checked in browse() */
		.body = IW_BODY_RAW,
		.max_body = SQL_FORM_MAX,
		.handler = explorer,
	};
	return iw_serve(&route);
}
