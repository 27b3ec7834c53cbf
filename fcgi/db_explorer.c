/* GET /admin/database: the read-only DB explorer (SPEC §7). One program
 * serves the page, its stylesheet, the login and the logout:
 *   GET|POST /admin/database            tables, rows, the SELECT box
 *   GET      /admin/database/style.css  the one stylesheet
 *   POST     /admin/database/login      token= -> session cookie
 *   POST     /admin/database/logout     clears it
 * Auth is the session cookie or x-admin-token, checked here (the route is
 * IW_AUTH_NONE so the login form can be shown). The views are in
 * explorer/view.c; this file parses, dispatches and answers. */
#include <stdlib.h>
#include <string.h>

#include "explorer/conn.h"
#include "explorer/sqlguard.h"
#include "explorer/view.h"
#include "web/form.h"
#include "web/page.h"
#include "web/serve.h"
#include "web/xauth.h"

#define SQL_FORM_MAX (IW_SQLGUARD_MAX * 3 + 256) /* percent-encoding triples it */

static const char *const formats[] = { "html", "json", "csv", NULL };
static const char *const dbs[] = { "master", "usage", NULL };
static const char *const dirs[] = { "asc", "desc", NULL };

/* The view's whole input: the query string (table and sql by hand below:
 * a table name too long matches nothing, sql runs only from a POST form). */
static const struct iw_field query_fields[] = {
	{ "format", IW_T_ENUM, 0, 0, 0, formats },
	{ "db", IW_T_ENUM, 0, 0, 0, dbs },
	{ "page", IW_T_INT, 0, 1, IW_XBROWSE_PAGE_MAX, NULL },
	{ "size", IW_T_INT, 0, 1, IW_XBROWSE_SIZE_MAX, NULL },
	{ "sort", IW_T_STRING, 0, 1, IW_CATALOG_NAME_MAX * 4 - 1, NULL },
	{ "dir", IW_T_ENUM, 0, 0, 0, dirs },
	{ "q", IW_T_STRING, 0, 1, IW_XBROWSE_SEARCH_MAX - 1, NULL },
	{ "col", IW_T_STRING, 0, 1, IW_CATALOG_NAME_MAX * 4 - 1, NULL },
	{ "exact", IW_T_STRING, 0, 1, 8, NULL },
	{ 0 }
};
/* A POSTed SELECT box: these override the query's. */
static const struct iw_field form_fields[] = {
	{ "format", IW_T_ENUM, 0, 0, 0, formats },
	{ "db", IW_T_ENUM, 0, 0, 0, dbs },
	{ 0 }
};

/* Each view's refusal as a status and an error code (IW_XSTOP_ERR answers
 * with its library error's own, iw_page_fail_err). */
static const struct { int status; const char *code; } stops[IW_XSTOP__MAX] = {
	[IW_XSTOP_NONE] = { 200, NULL },
	[IW_XSTOP_INPUT] = { 400, "invalid_request" },
	[IW_XSTOP_NOT_FOUND] = { 404, "not_found" },
	[IW_XSTOP_REFUSED] = { 400, "query_refused" },
	[IW_XSTOP_TIMEOUT] = { 504, "query_timeout" },
	[IW_XSTOP_INTERNAL] = { 500, "internal_error" },
};

static int answer_error(struct iw_response *resp, enum iw_xfmt fmt, int status, const char *code,
			const char *message)
{
	return iw_page_fail(resp, fmt == IW_XFMT_HTML, status, code, message);
}

static int answer(struct iw_request *req, struct iw_response *resp, const struct iw_xview *v,
		  struct iw_xanswer *a)
{
	iw_log_str(req, "view", a->view);
	if (a->table_found)
		iw_log_str(req, "table", v->table);
	if (a->cut_at)
		iw_log_count(req, "cut_at_bytes", (long long)a->cut_at);
	if (a->rows >= 0)
		iw_log_count(req, "rows", a->rows);
	if (a->stop == IW_XSTOP_ERR)
		return iw_page_fail_err(resp, v->fmt == IW_XFMT_HTML, &a->err);
	if (a->kind == IW_XANS_NONE)
		return answer_error(resp, v->fmt, stops[a->stop].status, stops[a->stop].code, a->message);
	if (a->kind == IW_XANS_JSON) {
		json_object *body = a->json;
		a->json = NULL;
		return body ? iw_ok(resp, body) : iw_error(resp, 500, "internal_error", "out of memory");
	}
	if (a->kind == IW_XANS_CSV)
		return iw_page_send_csv(resp, &a->body, a->filename, a->cut_header ? &a->cut_at : NULL);
	iw_page_foot(&a->body); /* the route wrote the head (dispatch) */
	if (a->stop != IW_XSTOP_NONE)
		resp->error_code = stops[a->stop].code;
	return iw_page_send(resp, stops[a->stop].status, &a->body);
}

/* Fills V from the query string (and FORM for a POSTed SELECT box).
 * Returns 0 or an error status set in RESP (in FMT, the format asked for). */
static int parse_view(struct iw_request *req, struct iw_response *resp, const char *form,
		      enum iw_xfmt fmt, struct iw_xview *v)
{
	json_object *qargs = NULL, *fargs = NULL;
	char msg[256];
	int r;

	memset(v, 0, sizeof *v);
	v->page = 1;
	v->size = IW_XBROWSE_SIZE_DEFAULT;
	if (iw_query_args(req, query_fields, &qargs, msg, sizeof msg) != 0 ||
	    (form && iw_form_args(form, form_fields, &fargs, msg, sizeof msg) != 0)) {
		json_object_put(qargs);
		return answer_error(resp, fmt, 400, "invalid_request", msg);
	}
	iw_xview_apply(v, qargs);
	iw_xview_apply(v, fargs);
	json_object_put(qargs);
	json_object_put(fargs);
	if (!v->dir_given)
		v->desc = !v->sort[0]; /* newest first, or the asked column ascending */
	r = iw_query_get(req, "table", v->table, sizeof v->table);
	v->has_table = r != 0; /* too long or malformed: a name no catalog row has */
	if (r < 0)
		v->table[0] = '\0';
	/* SQL text runs only from a POSTed form: a GET (a link, an <img>, a
	 * prefetch) never carries a statement. */
	if (!form) {
		char probe[2];
		v->sql_asked = iw_query_get(req, "sql", probe, sizeof probe) != 0;
		return 0;
	}
	if ((r = iw_form_dup(form, "sql", IW_SQLGUARD_MAX, &v->sql)) == -2)
		return iw_error(resp, 500, "internal_error", "out of memory");
	if (r < 0)
		return answer_error(resp, v->fmt, 400, "invalid_request", "sql: at most 16384 bytes");
	return 0;
}

static int browse(struct iw_request *req, struct iw_response *resp)
{
	struct iw_xview v;
	struct iw_xanswer a;
	struct iw_xauth who;
	char *form = NULL, buf[16];
	enum iw_xfmt fmt = IW_XFMT_HTML;
	int rc, sql, post = strcmp(req->method, "POST") == 0;

	if (iw_query_get(req, "format", buf, sizeof buf) == 1 && strcmp(buf, "html") != 0)
		fmt = IW_XFMT_JSON; /* json, csv (and junk): unauthenticated answers are JSON */
	if ((rc = iw_xauth_require(req, resp, fmt == IW_XFMT_HTML, &who)) != 0)
		return rc;
	/* Never DATABASE_URL: that role can write. */
	if (iw_xconn_check(&resp->err) != 0)
		return iw_page_fail_err(resp, fmt == IW_XFMT_HTML, &resp->err);
	if (post) {
		int html = fmt == IW_XFMT_HTML;
		if ((rc = iw_xauth_form(req, resp, &who, SQL_FORM_MAX, &html, &form)) != 0)
			return rc;
		fmt = html ? IW_XFMT_HTML : IW_XFMT_JSON;
	}
	rc = parse_view(req, resp, form, fmt, &v);
	free(form);
	if (rc != 0)
		return rc;
	v.csrf = who.who == IW_XAUTH_SESSION ? who.csrf : NULL;
	if (v.sql_asked && v.fmt != IW_XFMT_HTML) {
		iw_header(resp, "Allow", "POST");
		return answer_error(resp, v.fmt, 405, "method_not_allowed",
				    "sql: the SELECT box runs only with POST (form fields sql, db, format)");
	}
	iw_xanswer_init(&a);
	sql = post || v.sql_asked; /* the SELECT box */
	if (sql)
		iw_log_count(req, "sql_bytes", v.sql ? (long long)strlen(v.sql) : 0);
	if (v.fmt == IW_XFMT_HTML)
		iw_page_head(&a.body, sql ? "SELECT box" : v.has_table ? v.table : "Tables", v.csrf);
	iw_xview_run(&v, sql, &a);
	rc = answer(req, resp, &v, &a);
	iw_xanswer_free(&a);
	free(v.sql);
	return rc;
}

/* --- dispatch -------------------------------------------------------------- */

static int explorer(struct iw_request *req, struct iw_response *resp)
{
	char path[128];

	iw_page_path(req, path, sizeof path);
	iw_page_security_headers(resp);
	if (strcmp(path, IW_PAGE_BASE) == 0)
		return browse(req, resp);
	if (strcmp(path, IW_PAGE_BASE "/style.css") == 0)
		return iw_page_css_send(resp);
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
