/* GET /admin/coverage?esiid=&year=: the explorer's interval-coverage
 * calendar of one ESIID for one year (the year of its newest interval when
 * none is given): a server-rendered SVG, a cell per America/Chicago day,
 * the missing days listed under it. Same session cookie (Path=/admin), the
 * same read-only role and the same CSP as /admin/database; no script. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/html.h"
#include "core/validate.h"
#include "explorer/conn.h"
#include "explorer/coverage_svg.h"
#include "explorer/query.h"
#include "usage/coverage.h"
#include "web/page.h"
#include "web/serve.h"
#include "web/xauth.h"

#define YEAR_MIN 2000
#define YEAR_MAX 2100

static int fail(struct iw_response *resp, int status, const char *code, const char *msg)
{
	return iw_page_fail(resp, 1, status, code, msg);
}

/* The error a library call left in resp->err, as a small page. */
static int fail_lib(struct iw_response *resp)
{
	char msg[IW_ERR_MSG_MAX];
	int status = iw_err_status(resp->err.code);
	const char *code = resp->err.code == IW_ERR_DB_DOWN ? "database_unavailable" :
			   resp->err.code == IW_ERR_MISCONFIG ? "server_misconfigured" :
			   status == 504 ? "query_timeout" : "internal_error";

	snprintf(msg, sizeof msg, "%s", resp->err.msg[0] ? resp->err.msg : "reading failed");
	iw_err_clear(&resp->err);
	return fail(resp, status, code, msg);
}

static int page(struct iw_request *req, struct iw_response *resp)
{
	struct iw_xauth who;
	struct iw_cov cov = { 0 };
	struct iw_buf b = { 0 };
	char raw[64], esiid[IW_ESIID_MAX + 1], start[16], end[16], title[64];
	int year = 0, found, rc;
	PGconn *conn;

	iw_page_security_headers(resp);
	if ((rc = iw_xauth_require(req, resp, 1, &who)) != 0)
		return rc;
	if (iw_xconn_missing())
		return fail(resp, 503, "server_misconfigured",
			    "the explorer's read-only role is not set (see docs/explorer.md)");
	if (iw_query_get(req, "esiid", raw, sizeof raw) != 1 || iw_esiid_normalize(raw, esiid) != 0)
		return fail(resp, 400, "invalid_request", "esiid: 17-22 digits");
	if (iw_query_get(req, "year", raw, sizeof raw) != 0) {
		char *e;
		long y = strtol(raw, &e, 10);
		if (!raw[0] || *e || y < YEAR_MIN || y > YEAR_MAX)
			return fail(resp, 400, "invalid_request", "year: 2000 to 2100");
		year = (int)y;
	}
	iw_log_str(req, "esiid", esiid);
	if (!(conn = iw_xquery_begin(IW_DB_MASTER, &resp->err)))
		return fail_lib(resp);
	if (!year) {
		found = iw_cov_latest_year(conn, esiid, &year, &resp->err);
		if (found < 0) {
			rc = fail_lib(resp);
			goto out;
		}
		if (!found) {
			time_t now = time(NULL);
			struct tm tm;
			gmtime_r(&now, &tm);
			year = tm.tm_year + 1900;
		}
	}
	snprintf(start, sizeof start, "%04d-01-01", year);
	snprintf(end, sizeof end, "%04d-12-31", year);
	if (iw_cov_load(conn, esiid, start, end, &cov, &resp->err) != 0) {
		rc = fail_lib(resp);
		goto out;
	}
	iw_log_count(req, "days", cov.n);
	snprintf(title, sizeof title, "Coverage %s %d", esiid, year);
	iw_page_head(&b, title, who.who == IW_XAUTH_SESSION ? who.csrf : NULL);
	iw_buf_printf(&b, "<main><section><div class=\"card\"><h2>Interval coverage of %s in %d "
			  "<span class=\"muted\">· America/Chicago days</span></h2><p>"
			  "<a href=\"/admin/coverage?esiid=%s&amp;year=%d\">%d</a> · "
			  "<a href=\"/admin/coverage?esiid=%s&amp;year=%d\">%d</a> · "
			  "<a href=\"" IW_PAGE_BASE "?table=SmtInterval&amp;col=esiid&amp;exact=1&amp;q=%s\">"
			  "SmtInterval rows</a> · "
			  "<a href=\"/api/admin/smt/interval-coverage?esiid=%s&amp;start=%s&amp;end=%s\">"
			  "JSON</a></p>",
		      esiid, year, esiid, year - 1, year - 1, esiid, year + 1, year + 1, esiid, esiid,
		      start, end);
	iw_cov_svg(&b, &cov);
	iw_buf_puts(&b, "</div></section></main>");
	iw_page_foot(&b);
	rc = iw_page_send(resp, 200, &b);
out:
	iw_xquery_end(IW_DB_MASTER);
	iw_cov_free(&cov);
	iw_buf_free(&b);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "db_coverage",
		.methods = IW_GET,
		.auth = IW_AUTH_NONE, /* cookie or x-admin-token, checked in page() */
		.body = IW_BODY_NONE,
		.handler = page,
	};
	return iw_serve(&route);
}
