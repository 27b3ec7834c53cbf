#include "io/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/err.h"

#include <openssl/crypto.h>

#define IW_HTTP_CONNECT_MS 5000L
#define IW_HTTP_TOTAL_MS   30000L
#define IW_HTTP_REPLY_MAX  ((size_t)8 << 20)

static CURL *handle;

CURL *iw_http_handle(void)
{
	if (!handle)
		handle = curl_easy_init();
	else
		curl_easy_reset(handle); /* keeps the connection cache */
	if (handle)
		curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
	return handle;
}

const char *iw_http_redir_protocols(const char *url)
{
	return url && !strncasecmp(url, "https://", 8) ? "https" : "http,https";
}

int iw_http_redirects(CURL *h, const char *url, int follow)
{
	if (curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAXREDIRS, follow ? IW_HTTP_MAX_REDIRS : 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, iw_http_redir_protocols(url)) != CURLE_OK)
		return -1;
	return 0;
}

void iw_http_cleanup(void)
{
	if (handle)
		curl_easy_cleanup(handle);
	handle = NULL;
}

void iw_http_reply_free(struct iw_http_reply *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}

int iw_http_fail(struct iw_error *error, const struct iw_http_reply *reply, const char *upstream)
{
	if (reply->code == CURLE_OPERATION_TIMEDOUT)
		return iw_err_set(error, IW_ERR_TIMEOUT, "%s did not answer in time", upstream);
	return iw_err_set(error, IW_ERR_UPSTREAM, "%s: %s", upstream,
			reply->error[0] ? reply->error : curl_easy_strerror(reply->code));
}

int iw_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void iw_http_global_cleanup(void)
{
	curl_global_cleanup();
}

/* ---- tuned transfers: streamed or capped, Retry-After, a CA bundle ---- */

#define HTTP_ERRSNIP 256

struct http_sink {
	CURL *h;
	size_t (*sink)(const void *buf, size_t len, void *ctx);
	void *ctx;
	int buffered;                   /* into body (capped at body.max), not to sink */
	struct iw_buf body;
	long status;
	long retry_after;
	int refused;                    /* the sink stopped the transfer */
	int too_big;
	long long max_bytes, passed;    /* streamed mode: cap (0: none), bytes passed on */
	int sink_errno;                 /* errno when the sink stopped (0: none) */
	char snippet[HTTP_ERRSNIP];    /* start of a non-2xx body */
	size_t snip_len;
};

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *s = arg;
	size_t n = size * nmemb;

	if (n >= 5 && !strncmp(data, "HTTP/", 5))
		s->retry_after = -1; /* a new response (after a redirect or 100) */
	else if (n > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		char buf[32];
		size_t l = n - 12 < sizeof buf - 1 ? n - 12 : sizeof buf - 1;
		char *end;
		long v;
		memcpy(buf, data + 12, l);
		buf[l] = '\0';
		v = strtol(buf, &end, 10);
		if (end != buf && v >= 0)
			s->retry_after = v;
	}
	return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_sink *s = arg;
	size_t n = size * nmemb;

	if (!s->status)
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->buffered) {
		if (n > s->body.max - s->body.len) {
			s->too_big = 1;
			return 0;
		}
		return iw_buf_put(&s->body, data, n) == 0 ? n : 0;
	}
	if (s->status < 200 || s->status > 299) {
		size_t k = sizeof s->snippet - 1 - s->snip_len;
		if (k > n)
			k = n;
		memcpy(s->snippet + s->snip_len, data, k);
		s->snip_len += k;
		s->snippet[s->snip_len] = '\0';
		return n; /* drained, never passed on */
	}
	/* A body over the cap stops here, whatever the peer announced. */
	if (s->max_bytes > 0 && (long long)n > s->max_bytes - s->passed) {
		s->too_big = 1;
		return 0;
	}
	s->passed += (long long)n;
	errno = 0;
	if (s->sink(data, n, s->ctx) != n) {
		s->refused = 1;
		s->sink_errno = errno; /* a full spool disk says so */
		return 0;
	}
	return n;
}

/* CA_PEM: a PEM bundle trusted instead of the system store (a TLS-inspecting
 * proxy, a test stand-in); literal "\n" escapes become newlines. */
static int set_ca(CURL *h, const char *ca)
{
	struct curl_blob blob;
	char *pem, *w;
	int rc;

	if (!ca)
		return 0;
	if (!(pem = malloc(strlen(ca) + 1)))
		return -1;
	for (w = pem; *ca; ca++) {
		if (ca[0] == '\\' && ca[1] == 'n') {
			*w++ = '\n';
			ca++;
		} else {
			*w++ = *ca;
		}
	}
	*w = '\0';
	blob = (struct curl_blob){ pem, strlen(pem), CURL_BLOB_COPY };
	rc = curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob) == CURLE_OK ? 0 : -1;
	free(pem);
	return rc;
}

/* O's client certificate, key and password on H: 0 or -1. */
static int set_client_cert(CURL *h, const struct iw_http_opts *o)
{
	struct curl_blob blob;
	CURLcode c = CURLE_OK;

	if (!o->cert)
		return 0;
	blob = (struct curl_blob){ (void *)o->cert, o->cert_len, CURL_BLOB_COPY };
	c = curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
	if (c == CURLE_OK)
		c = curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, o->cert_type ? o->cert_type : "PEM");
	if (c == CURLE_OK && o->key_pem) {
		blob = (struct curl_blob){ (void *)o->key_pem, strlen(o->key_pem), CURL_BLOB_COPY };
		c = curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
		if (c == CURLE_OK)
			c = curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (c == CURLE_OK && o->key_pass)
		c = curl_easy_setopt(h, CURLOPT_KEYPASSWD, o->key_pass);
	return c == CURLE_OK ? 0 : -1;
}

/* With TLS 1.3 a refused client certificate surfaces after the handshake,
 * as a reset or an alert on the first read: say what it most likely means. */
static const char *tls_hint(const struct iw_http_opts *o, CURLcode rc, long status)
{
	if (!o->cert || status != 0)
		return "";
	switch (rc) {
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_GOT_NOTHING:
		return " (the server closed the TLS connection: was the client certificate"
		       " refused?)";
	default:
		return "";
	}
}

/* LINES as a curl list in *OUT (NULL when there are none): 0 or -1. */
static int header_list(const char *const *lines, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *h;

	*out = NULL;
	for (; lines && *lines; lines++) {
		if (!(h = curl_slist_append(l, *lines))) {
			curl_slist_free_all(l);
			return -1;
		}
		l = h;
	}
	*out = l;
	return 0;
}

int iw_http_do(const struct iw_http_call *call, struct iw_http_reply *reply)
{
	CURL *c = iw_http_handle();
	struct http_sink s = {
		.h = c,
		.buffered = 1,
		.body.max = call->max_reply ? call->max_reply : IW_HTTP_REPLY_MAX,
	};
	struct curl_slist *headers = NULL;

	memset(reply, 0, sizeof *reply);
	if (!c) {
		reply->code = CURLE_FAILED_INIT;
		strcpy(reply->error, "could not create a curl handle");
		return -1;
	}
	if (header_list(call->headers, &headers) != 0) {
		reply->code = CURLE_OUT_OF_MEMORY;
		strcpy(reply->error, "out of memory");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, call->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reply->error);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 call->connect_timeout_ms ? call->connect_timeout_ms : IW_HTTP_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, call->timeout_ms ? call->timeout_ms : IW_HTTP_TOTAL_MS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	iw_http_redirects(c, call->url, 0);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (call->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, call->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
	}
	if (call->method)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call->method);
	reply->code = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	if (s.too_big) {
		reply->code = CURLE_FILESIZE_EXCEEDED;
		strcpy(reply->error, "reply larger than the allowed size");
	}
	if (reply->code != CURLE_OK) {
		if (!reply->error[0])
			strncpy(reply->error, curl_easy_strerror(reply->code), sizeof reply->error - 1);
		iw_buf_free(&s.body);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply->status);
	return (reply->body = iw_buf_take(&s.body, &reply->len)) ? 0 : -1;
}

static CURL *prepare(const char *url, const struct curl_slist *headers, struct http_sink *s,
		     char *errbuf, const struct iw_http_opts *o, long timeout_ms)
{
	CURL *h = iw_http_handle();

	if (!h)
		return NULL;
	s->h = h;
	s->retry_after = -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (o->low_speed_bytes > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_bytes);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o->low_speed_s);
	}
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, o->https_only ? "https" : "http,https");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (o->buffer_bytes > 0)
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, o->buffer_bytes);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
	if (o->user_agent)
		curl_easy_setopt(h, CURLOPT_USERAGENT, o->user_agent);
	if (headers)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	/* Our headers carry credentials: never follow a redirect with them. And
	 * a redirect never leaves https for http. */
	if (iw_http_redirects(h, url, !headers) != 0 || set_ca(h, o->ca_pem) != 0 ||
	    set_client_cert(h, o) != 0)
		return NULL;
	return h;
}

int iw_http_get(const char *url, const char *const *header_lines, const char *body, size_t max,
		const struct iw_http_opts *o, struct iw_http_got *reply)
{
	struct http_sink s = { .buffered = 1, .body.max = max };
	struct curl_slist *headers;
	CURL *h;
	CURLcode rc;

	memset(reply, 0, sizeof *reply);
	reply->retry_after = -1;
	if (header_list(header_lines, &headers) != 0) {
		snprintf(reply->error, sizeof reply->error, "out of memory");
		return -1;
	}
	if (!(h = prepare(url, headers, &s, reply->error, o, o->timeout_ms))) {
		curl_slist_free_all(headers);
		snprintf(reply->error, sizeof reply->error, "could not create a curl handle");
		return -1;
	}
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	reply->retry_after = s.retry_after;
	if (s.too_big)
		snprintf(reply->error, sizeof reply->error, "reply larger than the cap of %zu bytes",
			 max);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
	if (rc != CURLE_OK || s.too_big) {
		size_t used;
		if (!reply->error[0])
			snprintf(reply->error, sizeof reply->error, "%s", curl_easy_strerror(rc));
		used = strlen(reply->error);
		if (!s.too_big)
			snprintf(reply->error + used, sizeof reply->error - used, "%s",
				 tls_hint(o, rc, reply->status));
		iw_buf_free(&s.body);
		return -1;
	}
	return (reply->body = iw_buf_take(&s.body, &reply->len)) ? 0 : -1;
}

void iw_http_got_free(struct iw_http_got *reply)
{
	free(reply->body);
	reply->body = NULL;
	reply->len = 0;
}

/* Keeps a printable, one-line prefix of an upstream error body. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = ' ';
}

int iw_http_stream(const char *url, const char *const *header_lines, const struct iw_http_opts *o,
		   size_t (*sink)(const void *buf, size_t len, void *ctx), void *ctx,
		   long *status, long *retry_after, char *err, size_t errlen)
{
	struct http_sink s = { .sink = sink, .ctx = ctx, .max_bytes = o->max_bytes };
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode rc;

	*status = 0;
	*retry_after = -1;
	if (header_list(header_lines, &headers) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!(h = prepare(url, headers, &s, errbuf, o, o->timeout_ms))) {
		curl_slist_free_all(headers);
		snprintf(err, errlen, "could not create a curl handle");
		return -1;
	}
	rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	*retry_after = s.retry_after;
	if (s.too_big) {
		snprintf(err, errlen, "download stopped: larger than the cap of %lld bytes",
			 o->max_bytes);
		return -1;
	}
	if (s.refused && iw_errno_no_space(s.sink_errno)) {
		snprintf(err, errlen, "download stopped: the spool disk is full (%s)",
			 strerror(s.sink_errno));
		return -1;
	}
	if (s.refused) {
		snprintf(err, errlen, "download stopped: the file could not be spooled");
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s%s", errbuf[0] ? errbuf : curl_easy_strerror(rc),
			 tls_hint(o, rc, *status));
		return -1;
	}
	if (*status < 200 || *status > 299) {
		printable(s.snippet);
		snprintf(err, errlen, "HTTP %ld%s%.120s", *status, s.snip_len ? ": " : "", s.snippet);
		return -1;
	}
	return 0;
}

int iw_http_form_add(char *buf, size_t len, const char *name, const char *value)
{
	char *enc = curl_easy_escape(NULL, value, 0);
	size_t used = strlen(buf);
	int n;

	if (!enc)
		return -1;
	n = snprintf(buf + used, len - used, "%s%s=%s", used ? "&" : "", name, enc);
	OPENSSL_cleanse(enc, strlen(enc));
	curl_free(enc);
	return n < 0 || (size_t)n >= len - used ? -1 : 0;
}

int iw_http_url_resolve(const char *base, const char *href, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *full = NULL;
	int rc = -1;

	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, href, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK &&
	    (!strncasecmp(full, "http://", 7) || !strncasecmp(full, "https://", 8)) &&
	    strlen(full) < len) {
		strcpy(out, full);
		rc = 0;
	}
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}
