/* Outgoing HTTP with libcurl: one reused handle per process (keeps its
 * connection cache), NOSIGNAL, connect and total timeouts, a cap on replies. */
#ifndef IW_HTTP_H
#define IW_HTTP_H

#include <stddef.h>
#include <curl/curl.h>

struct iw_error;

struct iw_http_call {
	const char *method;             /* NULL: GET, or POST when body is set */
	const char *url;
	const char *const *headers;     /* "Name: value" lines, NULL-terminated; may be NULL */
	const char *body;
	size_t body_len;
	long connect_timeout_ms;        /* 0: 5000 */
	long timeout_ms;                /* 0: 30000 */
	size_t max_reply;               /* 0: 8 MiB */
};

struct iw_http_reply {
	long status;                    /* HTTP status, 0 when none was received */
	char *body;                     /* NUL-terminated, malloc'd */
	size_t len;
	CURLcode code;
	char error[CURL_ERROR_SIZE];
};

/* Returns 0 when a reply arrived (any status), -1 on a transport failure
 * (code/error say why; a reply over max_reply fails too). */
int iw_http_do(const struct iw_http_call *call, struct iw_http_reply *reply);
void iw_http_reply_free(struct iw_http_reply *reply);
/* Maps a transport failure to 504 upstream_timeout or 502 upstream_failed,
 * naming UPSTREAM in the message; returns the status. */
int iw_http_fail(struct iw_error *error, const struct iw_http_reply *reply,
		 const char *upstream);
/* Redirects: at most this many hops, and never from https down to http. */
#define IW_HTTP_MAX_REDIRS 5L
/* The protocols a redirect of a transfer of URL may go to: "https" when URL
 * is https (a downgrade would expose the request and its answer), else
 * "http,https". */
const char *iw_http_redir_protocols(const char *url);
/* Applies that policy to H for URL: FOLLOW turns following on (bounded by
 * IW_HTTP_MAX_REDIRS), else redirects are answered, not followed. 0 or -1. */
int iw_http_redirects(CURL *h, const char *url, int follow);
/* The process's reused handle, reset to defaults plus NOSIGNAL. */
CURL *iw_http_handle(void);
void iw_http_cleanup(void);
/* libcurl's process-wide set-up and tear-down (once per program): 0 or -1. */
int iw_http_global_init(void);
void iw_http_global_cleanup(void);
#endif
