#include "web/page.h"

#include <stdio.h>
#include <string.h>

#include "core/html.h"
#include "web/serve.h"

const char iw_page_css[] =
	":root{--fg:#1d2327;--mute:#646970;--line:#dcdcde;--bg:#f6f7f7;--accent:#2271b1}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);"
	"background:var(--bg)}\n"
	"header{display:flex;align-items:center;gap:1em;padding:.6em 1.2em;background:#1d2327;color:#fff}\n"
	"header h1{font-size:16px;margin:0;flex:1}header a{color:#fff;text-decoration:none}\n"
	"header form{margin:0}header button{background:transparent;color:#fff;border:1px solid #8c8f94}\n"
	"main{display:flex;gap:1.2em;padding:1em 1.2em;align-items:flex-start}\n"
	"nav{flex:0 0 15em;background:#fff;border:1px solid var(--line);padding:.6em .8em}\n"
	"nav h2{font-size:12px;text-transform:uppercase;color:var(--mute);margin:.8em 0 .3em}\n"
	"nav ul{list-style:none;margin:0;padding:0}nav li{display:flex;justify-content:space-between;gap:.5em}\n"
	"nav li.on a{font-weight:600}nav .n{color:var(--mute);font-variant-numeric:tabular-nums}\n"
	"section{flex:1;min-width:0}\n.card p{margin:.2em 0 .6em}\n"
	".card{background:#fff;border:1px solid var(--line);padding:.8em 1em;margin-bottom:1em}\n"
	"h2{font-size:18px;margin:.2em 0 .6em}\n"
	"a{color:var(--accent)}\n"
	"form.bar{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;margin:0 0 .8em}\n"
	"input,select,button,textarea{font:inherit}\n"
	"input[type=search]{min-width:18em}\n"
	"textarea{width:100%;min-height:6em;font-family:ui-monospace,Menlo,Consolas,monospace}\n"
	"button{background:var(--accent);color:#fff;border:0;padding:.35em .9em;border-radius:3px;cursor:pointer}\n"
	".grid{overflow-x:auto}\n"
	"table{border-collapse:collapse;min-width:100%;font-size:13px}\n"
	"th,td{border:1px solid var(--line);padding:.25em .5em;text-align:left;vertical-align:top;"
	"white-space:nowrap;max-width:24em;overflow:hidden;text-overflow:ellipsis}\n"
	"tbody tr:nth-child(even){background:#fafafa}tbody tr:hover{background:#f0f6fc}\n"
	"th{background:#f0f0f1;white-space:nowrap}th a{text-decoration:none;color:inherit}\n"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	".null{color:var(--mute);font-style:italic}.cut{color:var(--mute)}\n"
	".pager{display:flex;gap:1em;align-items:center;margin:.8em 0}\n"
	".muted{color:var(--mute)}.err{color:#b32d2e;font-weight:600}\n"
	".login{max-width:26em;margin:4em auto}\n"
	".login input{width:100%;margin:.4em 0 .8em;padding:.4em}\n";

int iw_page_security_headers(struct iw_response *resp)
{
	if (iw_header(resp, "Content-Security-Policy", IW_PAGE_CSP) != 0 ||
	    iw_header(resp, "X-Frame-Options", "DENY") != 0 ||
	    iw_header(resp, "Referrer-Policy", "no-referrer") != 0)
		return -1;
	return 0;
}

int iw_page_csrf_field(struct iw_buf *b, const char *csrf)
{
	return csrf ? iw_html_hidden(b, "csrf", csrf) : 0;
}

int iw_page_head(struct iw_buf *b, const char *title, const char *csrf)
{
	iw_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		       "<meta name=\"robots\" content=\"noindex\"><title>");
	iw_html_escape(b, title);
	iw_buf_puts(b, " · iw-admin</title><link rel=\"stylesheet\" href=\"" IW_PAGE_BASE
		       "/style.css\"></head>\n<body><header><h1><a href=\"" IW_PAGE_BASE
		       "\">iw-admin · database</a></h1>");
	if (csrf) {
		iw_buf_puts(b, "<form method=\"post\" action=\"" IW_PAGE_BASE "/logout\">");
		iw_page_csrf_field(b, csrf);
		iw_buf_puts(b, "<button type=\"submit\">Log out</button></form>");
	}
	return iw_buf_puts(b, "</header>\n");
}

int iw_page_foot(struct iw_buf *b)
{
	return iw_buf_puts(b, "</body></html>\n");
}

int iw_page_login(struct iw_buf *b, const char *message)
{
	iw_page_head(b, "Log in", NULL);
	iw_buf_puts(b, "<div class=\"login card\"><h2>Log in</h2>"
		       "<p class=\"muted\">The database explorer is read-only. Enter the admin token.</p>");
	if (message) {
		iw_buf_puts(b, "<p class=\"err\">");
		iw_html_escape(b, message);
		iw_buf_puts(b, "</p>");
	}
	iw_buf_puts(b, "<form method=\"post\" action=\"" IW_PAGE_BASE "/login\">"
		       "<label for=\"token\">Admin token</label>"
		       "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" "
		       "required autofocus><button type=\"submit\">Log in</button></form></div>\n");
	return iw_page_foot(b);
}

int iw_page_send(struct iw_response *resp, int status, struct iw_buf *b)
{
	size_t len;
	char *data = iw_buf_take(b, &len);

	if (!data)
		return iw_error(resp, 500, "internal_error", "the page did not fit in memory");
	return iw_raw(resp, status, "text/html; charset=utf-8", data, len);
}

int iw_page_fail(struct iw_response *resp, int html, int status, const char *code,
		 const char *message)
{
	struct iw_buf b = { 0 };

	if (!html)
		return iw_error(resp, status, code, "%s", message);
	iw_page_head(&b, "Error", NULL);
	iw_buf_puts(&b, "<main><section><div class=\"card\"><h2>");
	iw_html_escape(&b, code);
	iw_buf_puts(&b, "</h2><p class=\"err\">");
	iw_html_escape(&b, message);
	iw_buf_puts(&b, "</p><p><a href=\"" IW_PAGE_BASE "\">Back to the tables</a></p>"
		       "</div></section></main>");
	iw_page_foot(&b);
	resp->error_code = code;
	return iw_page_send(resp, status, &b);
}

int iw_page_fail_err(struct iw_response *resp, int html, struct iw_error *e)
{
	char msg[IW_ERR_MSG_MAX];

	snprintf(msg, sizeof msg, "%s", e->msg[0] ? e->msg : "the database is unavailable");
	iw_fail(resp, e);
	if (!html)
		return resp->status;
	return iw_page_fail(resp, html, resp->status,
			    resp->error_code ? resp->error_code : "database_unavailable", msg);
}

int iw_page_css_send(struct iw_response *resp)
{
	char *css = strdup(iw_page_css);

	if (!css)
		return iw_error(resp, 500, "internal_error", "out of memory");
	return iw_raw(resp, 200, "text/css; charset=utf-8", css, strlen(css));
}

int iw_page_send_csv(struct iw_response *resp, struct iw_buf *b, const char *filename,
		     const size_t *cut_at)
{
	char disp[512], at[24], *data;
	size_t len;

	if (!(data = iw_buf_take(b, &len)))
		return iw_error(resp, 500, "internal_error", "the export did not fit in memory");
	if (cut_at) {
		snprintf(at, sizeof at, "%zu", *cut_at);
		iw_header(resp, "X-Truncated-At-Bytes", at);
	}
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
	iw_header(resp, "Content-Disposition", disp);
	return iw_raw(resp, 200, "text/csv; charset=utf-8", data, len);
}

void iw_page_path(struct iw_request *req, char *path, size_t size)
{
	const char *uri = iw_param(req, "DOCUMENT_URI");
	size_t len;

	if (!uri || !*uri)
		uri = iw_param(req, "SCRIPT_NAME");
	snprintf(path, size, "%s", uri ? uri : "");
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
}
