/* Who is calling the DB explorer, and its login, logout and CSRF checks.
 * Browser sessions: an HMAC-signed cookie whose id must also be a live row
 * of "ExplorerSession" (so logout ends it everywhere), and a per-session
 * CSRF token on every POST. API callers: x-admin-token, no CSRF token (a
 * browser never adds that header on its own). */
#ifndef IW_EXPLORER_AUTH_H
#define IW_EXPLORER_AUTH_H

#include <stddef.h>

#include "web/session.h"

struct iw_request;
struct iw_response;

enum iw_xauth_who {
	IW_XAUTH_ANON,    /* no valid credential */
	IW_XAUTH_TOKEN,   /* x-admin-token */
	IW_XAUTH_SESSION, /* a live browser session */
	IW_XAUTH_FAILED,  /* answer already set in RESP (503) */
};

struct iw_xauth {
	enum iw_xauth_who who;
	char sid[IW_SESSION_ID_LEN + 1];
	char csrf[IW_CSRF_LEN + 1];   /* IW_XAUTH_SESSION: the token its forms carry */
};

/* A POST is not cross-site: Sec-Fetch-Site is same-origin or none (when
 * sent), and Origin / Referer, when they carry a host, name this Host. */
int iw_xauth_origin_ok(struct iw_request *req);
/* A POST by A may act: x-admin-token callers always; sessions only when
 * FORM's "csrf" field equals the session's token (constant time). */
int iw_xauth_csrf_ok(const struct iw_xauth *a, const char *form);
/* POST /admin/database/login (GET shows the form): rate-limited per client
 * address (429 + Retry-After after 5 failures in 15 minutes). */
int iw_xauth_login(struct iw_request *req, struct iw_response *resp);
/* POST /admin/database/logout: with the CSRF token, revokes the session on
 * the server and clears the cookie. */
int iw_xauth_logout(struct iw_request *req, struct iw_response *resp);
/* The explorer's gate: 0 for a token or a live session (in WHO), else the
 * status of the answer set in RESP (the login page when HTML, 401, 503). */
int iw_xauth_require(struct iw_request *req, struct iw_response *resp, int html, struct iw_xauth *who);
/* A POSTed form of at most MAX bytes from this site carrying WHO's CSRF
 * token: 0 with *FORM (malloc'd), or the status of the answer set in RESP.
 * *HTML (the error shape) turns 0 when the form asks for another format. */
int iw_xauth_form(struct iw_request *req, struct iw_response *resp, const struct iw_xauth *who,
		  size_t max, int *html, char **form);
#endif
