/* The DB explorer's page frame: security headers, the HTML head and header,
 * the login form and the one stylesheet. No script anywhere. */
#ifndef IW_EXPLORER_PAGE_H
#define IW_EXPLORER_PAGE_H

#include "core/buf.h"
#include "core/err.h"

struct iw_request;
struct iw_response;

#define IW_PAGE_BASE "/admin/database"
#define IW_PAGE_CSP  "default-src 'none'; style-src 'self'; " \
		     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

extern const char iw_page_css[];

/* CSP, X-Frame-Options, Referrer-Policy: 0, or -1 when they do not fit. */
int iw_page_security_headers(struct iw_response *resp);
/* Opens the document; TITLE is escaped. CSRF (a browser session's token,
 * may be NULL) adds the log-out button, a POST carrying it. */
int iw_page_head(struct iw_buf *b, const char *title, const char *csrf);
/* The hidden form field carrying CSRF (nothing when NULL). */
int iw_page_csrf_field(struct iw_buf *b, const char *csrf);
/* Sends B as a text/html answer with STATUS (500 when it did not fit). */
int iw_page_send(struct iw_response *resp, int status, struct iw_buf *b);
/* An error as a small HTML page (HTML) or as the JSON error shape. */
int iw_page_fail(struct iw_response *resp, int html, int status, const char *code,
		 const char *message);
/* A library error (web/fail.c's table), as a small HTML page when HTML. */
int iw_page_fail_err(struct iw_response *resp, int html, struct iw_error *e);
/* GET style.css. */
int iw_page_css_send(struct iw_response *resp);
int iw_page_foot(struct iw_buf *b);
/* A whole login page; MESSAGE (may be NULL) is escaped. */
int iw_page_login(struct iw_buf *b, const char *message);
/* A CSV download: B's text as FILENAME (attachment), with
 * X-Truncated-At-Bytes: *CUT_AT when the export was cut (CUT_AT NULL: not). */
int iw_page_send_csv(struct iw_response *resp, struct iw_buf *b, const char *filename,
		     const size_t *cut_at);
/* The path asked for (DOCUMENT_URI, else SCRIPT_NAME) into PATH, trailing
 * slashes dropped: what a program serving several pages dispatches on. */
void iw_page_path(struct iw_request *req, char *path, size_t size);

#endif
