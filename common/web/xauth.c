#include "web/xauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "web/auth.h"
#include "core/buf.h"
#include "core/config.h"
#include "web/form.h"
#include "web/page.h"
#include "web/session_state.h"
#include "web/serve.h"

#define LOGIN_FORM_MAX  4096
#define LOGOUT_FORM_MAX 1024
#define TOKEN_MAX       512

static int session_key(unsigned char key[IW_SESSION_KEY_LEN])
{
	return iw_session_key(iw_env("IW_SESSION_SECRET"), iw_env("ADMIN_TOKEN"), key);
}

static int misconfigured(struct iw_response *resp, int html)
{
	return iw_page_fail(resp, html, 503, "server_misconfigured",
			    "ADMIN_TOKEN is not set (or shorter than 16 bytes) on the server");
}

/* The verified session id of the request's cookie into SID: 1, 0 when there
 * is none (or it is forged or expired), -1 when the key is not configured. */
static int cookie_session(struct iw_request *req, char sid[IW_SESSION_ID_LEN + 1],
			  unsigned char key[IW_SESSION_KEY_LEN])
{
	const char *cookies = iw_param(req, "HTTP_COOKIE");
	char value[IW_SESSION_MAX];
	enum iw_session_result r;

	if (!cookies || iw_cookie_get(cookies, IW_SESSION_COOKIE, value, sizeof value) != 1)
		return 0;
	if (session_key(key) != 0)
		return -1;
	r = iw_session_verify(key, value, time(NULL));
	if (r != IW_SESSION_OK) {
		iw_log_str(req, "session", r == IW_SESSION_EXPIRED ? "expired" : "invalid");
		return 0;
	}
	return iw_session_id(value, sid) == 0 ? 1 : 0;
}

/* Identifies the caller into A. HTML picks the error shape of a 503
 * (ADMIN_TOKEN unset: fail closed even for old cookies; session store down). */
static enum iw_xauth_who xauth_check(struct iw_request *req, struct iw_response *resp, int html,
				     struct iw_xauth *a)
{
	const char *token = iw_param(req, "HTTP_X_ADMIN_TOKEN");
	unsigned char key[IW_SESSION_KEY_LEN];
	int r;

	memset(a, 0, sizeof *a);
	a->who = IW_XAUTH_FAILED;
	if (!iw_admin_token_configured()) {
		misconfigured(resp, html);
		return a->who;
	}
	if (token)
		return a->who = iw_auth_admin_token(token) == IW_AUTH_OK ? IW_XAUTH_TOKEN
									 : IW_XAUTH_ANON;
	if ((r = cookie_session(req, a->sid, key)) < 0) {
		misconfigured(resp, html);
		return a->who;
	}
	if (r == 0)
		return a->who = IW_XAUTH_ANON;
	/* Signed and unexpired: is it still live (not logged out)? */
	if ((r = iw_xstate_session_active(resp, a->sid)) < 0) {
		if (html)
			iw_page_fail(resp, 1, 503, "database_unavailable",
				     "the session store (master database) is unavailable");
		return a->who;
	}
	if (r == 0) {
		iw_log_str(req, "session", "revoked");
		return a->who = IW_XAUTH_ANON;
	}
	if (iw_session_csrf(key, a->sid, a->csrf) != 0) {
		iw_page_fail(resp, html, 500, "internal_error", "could not derive the CSRF token");
		return a->who;
	}
	return a->who = IW_XAUTH_SESSION;
}

/* Host[:port] of an absolute URL, compared with the Host header. */
static int same_host(const char *url, const char *host)
{
	const char *p = strstr(url, "://");
	size_t n;

	if (!p || !host)
		return 0;
	p += 3;
	n = strcspn(p, "/?#");
	return strlen(host) == n && strncasecmp(p, host, n) == 0;
}

/* Sec-Fetch-Site is the browser's own word; Referrer-Policy: no-referrer
 * makes browsers send "Origin: null" and no Referer, so those are checked
 * only when they carry a host. The CSRF token is the check that does not
 * depend on what a browser chooses to send. */
int iw_xauth_origin_ok(struct iw_request *req)
{
	const char *site = iw_param(req, "HTTP_SEC_FETCH_SITE");
	const char *origin = iw_param(req, "HTTP_ORIGIN");
	const char *referer = iw_param(req, "HTTP_REFERER");
	const char *host = iw_param(req, "HTTP_HOST");

	if (site && *site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return 0;
	if (origin && *origin && strcmp(origin, "null") != 0)
		return same_host(origin, host);
	if (referer && *referer)
		return same_host(referer, host);
	return 1;
}

int iw_xauth_csrf_ok(const struct iw_xauth *a, const char *form)
{
	char given[IW_CSRF_LEN + 8];

	if (a->who == IW_XAUTH_TOKEN)
		return 1;
	if (a->who != IW_XAUTH_SESSION || !form ||
	    iw_form_get(form, "csrf", given, sizeof given) != 1)
		return 0;
	return iw_secret_equal(given, a->csrf);
}

static int over_https(struct iw_request *req)
{
	const char *https = iw_param(req, "HTTPS");
	const char *scheme = iw_param(req, "REQUEST_SCHEME");

	return (https && strcasecmp(https, "on") == 0) || (scheme && strcmp(scheme, "https") == 0);
}

static int set_session_cookie(struct iw_request *req, struct iw_response *resp,
			      const char *value, long max_age)
{
	char line[IW_SESSION_MAX + 200], expires[64];
	time_t at = time(NULL) + max_age;
	struct tm tm;

	if (max_age <= 0)
		at = 0;
	gmtime_r(&at, &tm);
	strftime(expires, sizeof expires, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(line, sizeof line, "%s=%s; Path=/admin; Max-Age=%ld; Expires=%s; HttpOnly; "
		 "SameSite=Strict%s", IW_SESSION_COOKIE, value, max_age > 0 ? max_age : 0, expires,
		 over_https(req) ? "; Secure" : "");
	return iw_header(resp, "Set-Cookie", line);
}

static int redirect_home(struct iw_response *resp)
{
	char *body = strdup("<!DOCTYPE html><p><a href=\"" IW_PAGE_BASE "\">Continue</a></p>\n");

	if (!body)
		return iw_error(resp, 500, "internal_error", "out of memory");
	iw_header(resp, "Location", IW_PAGE_BASE);
	return iw_raw(resp, 303, "text/html; charset=utf-8", body, strlen(body));
}

static int login_page(struct iw_response *resp, int status, const char *message)
{
	struct iw_buf b = { 0 };

	iw_page_login(&b, message);
	return iw_page_send(resp, status, &b);
}

static int limited(struct iw_request *req, struct iw_response *resp, long retry_after)
{
	char secs[24], msg[160];

	snprintf(secs, sizeof secs, "%ld", retry_after);
	snprintf(msg, sizeof msg, "Too many failed logins from this address: try again in %ld "
		 "minute%s.", (retry_after + 59) / 60, retry_after > 60 ? "s" : "");
	iw_header(resp, "Retry-After", secs);
	iw_log_str(req, "login", "limited");
	resp->error_code = "rate_limited";
	return login_page(resp, 429, msg);
}

int iw_xauth_login(struct iw_request *req, struct iw_response *resp)
{
	unsigned char key[IW_SESSION_KEY_LEN];
	char value[IW_SESSION_MAX], sid[IW_SESSION_ID_LEN + 1], token[TOKEN_MAX];
	const char *addr = req->remote_addr && *req->remote_addr ? req->remote_addr : "unknown";
	char *form = NULL;
	long retry_after;
	int rc, ok;

	if (strcmp(req->method, "POST") != 0)
		return login_page(resp, 200, NULL);
	if (!iw_xauth_origin_ok(req))
		return iw_page_fail(resp, 1, 403, "forbidden", "the form was posted from another site");
	if (!iw_admin_token_configured() || session_key(key) != 0)
		return misconfigured(resp, 1);
	if ((rc = iw_form_read(req, resp, LOGIN_FORM_MAX, &form)) != 0)
		return rc;
	rc = iw_form_get(form, "token", token, sizeof token);
	free(form);
	/* Limited addresses are answered before the token is looked at, so a
	 * right guess inside the limit teaches nothing. */
	if ((ok = iw_xstate_login_begin(resp, addr, &retry_after)) != 0) {
		explicit_bzero(token, sizeof token);
		return ok < 0 ? resp->status : limited(req, resp, retry_after);
	}
	ok = rc == 1 && iw_auth_admin_token(token) == IW_AUTH_OK;
	explicit_bzero(token, sizeof token);
	if (!ok) {
		if (iw_xstate_login_done(resp, addr, 0) != 0)
			return resp->status;
		iw_log_str(req, "login", "denied");
		resp->error_code = "unauthorized";
		return login_page(resp, 401, "That token is not the admin token.");
	}
	if (iw_session_issue(key, time(NULL), IW_SESSION_TTL, value, sizeof value) != 0 ||
	    iw_session_id(value, sid) != 0) {
		iw_xstate_login_abort();
		return iw_page_fail(resp, 1, 500, "internal_error", "could not issue a session");
	}
	if (iw_xstate_session_add(resp, sid, IW_SESSION_TTL) != 0 ||
	    iw_xstate_login_done(resp, addr, 1) != 0) {
		iw_xstate_login_abort();
		return resp->status;
	}
	if (set_session_cookie(req, resp, value, IW_SESSION_TTL) != 0)
		return iw_page_fail(resp, 1, 500, "internal_error", "could not issue a session");
	iw_log_str(req, "login", "ok");
	return redirect_home(resp);
}

int iw_xauth_logout(struct iw_request *req, struct iw_response *resp)
{
	unsigned char key[IW_SESSION_KEY_LEN];
	struct iw_xauth a = { .who = IW_XAUTH_ANON };
	char *form = NULL;
	int rc;

	if (strcmp(req->method, "POST") != 0) {
		iw_header(resp, "Allow", "POST");
		return iw_page_fail(resp, 1, 405, "method_not_allowed", "log out with POST");
	}
	if (!iw_xauth_origin_ok(req))
		return iw_page_fail(resp, 1, 403, "forbidden", "the form was posted from another site");
	if ((rc = cookie_session(req, a.sid, key)) < 0)
		return misconfigured(resp, 1);
	if (rc == 1) {
		/* A live session ends only with its own page's token: a forged
		 * cross-site logout is refused like any other POST. */
		if ((rc = iw_form_read(req, resp, LOGOUT_FORM_MAX, &form)) != 0)
			return rc;
		a.who = IW_XAUTH_SESSION;
		if (iw_session_csrf(key, a.sid, a.csrf) != 0) {
			free(form);
			return iw_page_fail(resp, 1, 500, "internal_error", "out of memory");
		}
		rc = iw_xauth_csrf_ok(&a, form);
		free(form);
		if (!rc)
			return iw_page_fail(resp, 1, 403, "forbidden",
					    "the CSRF token is missing or wrong: reload the page");
		if (iw_xstate_session_revoke(resp, a.sid) != 0)
			return resp->status;
		iw_log_str(req, "logout", "revoked");
	}
	set_session_cookie(req, resp, "", 0);
	return redirect_home(resp);
}

int iw_xauth_require(struct iw_request *req, struct iw_response *resp, int html, struct iw_xauth *who)
{
	switch (xauth_check(req, resp, html, who)) {
	case IW_XAUTH_TOKEN:
	case IW_XAUTH_SESSION:
		return 0;
	case IW_XAUTH_FAILED:
		return resp->status;
	case IW_XAUTH_ANON:
		break;
	}
	if (!html)
		return iw_error(resp, 401, "unauthorized", "missing or invalid credentials");
	resp->error_code = "unauthorized";
	return login_page(resp, 401, NULL);
}

int iw_xauth_form(struct iw_request *req, struct iw_response *resp, const struct iw_xauth *who,
		  size_t max, int *html, char **form)
{
	char buf[16];
	int rc;

	if (!iw_xauth_origin_ok(req))
		return iw_page_fail(resp, *html, 403, "forbidden", "the form was posted from another site");
	if ((rc = iw_form_read(req, resp, max, form)) != 0)
		return rc;
	if (iw_form_get(*form, "format", buf, sizeof buf) == 1 && strcmp(buf, "html") != 0)
		*html = 0; /* json, csv (and junk): errors as JSON */
	if (!iw_xauth_csrf_ok(who, *form)) {
		free(*form);
		*form = NULL;
		iw_log_str(req, "csrf", "refused");
		return iw_page_fail(resp, *html, 403, "forbidden",
				    "the form's CSRF token is missing or wrong: reload the page and retry");
	}
	return 0;
}
