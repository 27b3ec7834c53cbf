/* The DB explorer's page frame: security headers, the HTML head and header,
 * the login form and the one stylesheet. No script anywhere. */
#ifndef IW_EXPLORER_PAGE_H
#define IW_EXPLORER_PAGE_H

#include "buf.h"

struct iw_response;

#define IW_PAGE_BASE "/admin/database"
#define IW_PAGE_CSP  "default-src 'none'; style-src 'self'; " \
		     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

extern const char iw_page_css[];

/* CSP, X-Frame-Options, Referrer-Policy: 0, or -1 when they do not fit. */
int iw_page_security_headers(struct iw_response *resp);
/* Opens the document; TITLE is escaped. AUTHED adds the log-out button. */
int iw_page_head(struct iw_buf *b, const char *title, int authed);
int iw_page_foot(struct iw_buf *b);
/* A whole login page; MESSAGE (may be NULL) is escaped. */
int iw_page_login(struct iw_buf *b, const char *message);
#endif
