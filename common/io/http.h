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

/* A tuned transfer (the ERCOT client) on the reused handle: a connect and a
 * total timeout, an optional low-speed abort, Retry-After kept, a redirect
 * never followed when HEADERS are given (they carry credentials) and never
 * from https down to http, a CA bundle instead of the system store. */
struct iw_http_opts {
	long connect_ms, timeout_ms;
	long low_speed_bytes, low_speed_s;  /* abort below this rate for this long (0: off) */
	long long max_bytes;                /* iw_http_stream: body bytes passed on at most (0: no cap) */
	const char *user_agent;             /* NULL: libcurl's */
	const char *ca_pem;                 /* literal "\n" escapes allowed; NULL: the system store */
	int https_only;                     /* refuse any other scheme, redirects included */
	/* Mutual TLS (cert NULL: none): CERT is CERT_LEN bytes of PKCS#12
	 * (cert_type "P12") or PEM text ("PEM", with KEY_PEM); KEY_PASS unlocks
	 * either (may be NULL). A transport failure with no HTTP status then
	 * says the certificate may have been refused. */
	const void *cert;
	size_t cert_len;
	const char *cert_type;
	const char *key_pem;
	const char *key_pass;
	long buffer_bytes;                  /* receive buffer (CURLOPT_BUFFERSIZE); 0: libcurl's 16 KiB */
};

struct iw_http_got {
	long status;
	char *body;            /* NUL-terminated, malloc'd */
	size_t len;
	long retry_after;      /* Retry-After seconds, -1 when absent */
	char error[CURL_ERROR_SIZE];
};

/* GET (or POST when BODY is set), the reply capped at MAX bytes (a longer
 * one fails, saying so). HEADERS: "Name: value" lines, NULL-terminated, or
 * NULL. 0 when a reply arrived (any status), -1 on a transport failure. */
int iw_http_get(const char *url, const char *const *headers, const char *body, size_t max,
		const struct iw_http_opts *o, struct iw_http_got *reply);
void iw_http_got_free(struct iw_http_got *reply);
/* Streams a GET of URL into SINK (only a 2xx body reaches it; SINK returns
 * LEN to go on). STATUS gets the HTTP status and RETRY_AFTER the Retry-After
 * seconds (or -1). 0 when a 2xx body arrived whole, else -1 with ERR set. */
int iw_http_stream(const char *url, const char *const *headers, const struct iw_http_opts *o,
		   size_t (*sink)(const void *buf, size_t len, void *ctx), void *ctx,
		   long *status, long *retry_after, char *err, size_t errlen);
/* Appends "&NAME=VALUE" form-encoded to BUF (the encoded copy is wiped):
 * 0, or -1 when it does not fit. */
int iw_http_form_add(char *buf, size_t len, const char *name, const char *value);
/* HREF resolved against BASE into OUT (http or https only): 0 or -1. */
int iw_http_url_resolve(const char *base, const char *href, char *out, size_t len);
#endif
