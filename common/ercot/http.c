/* The ERCOT listing and download transfers (declared in ercot/ingest.h)
 * through the process's reused curl handle: capped replies, streamed
 * downloads, Retry-After, and a redirect policy that never leaves https. */
#include "ercot/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/config.h"
#include "io/http.h"

#define ERCOT_ERRSNIP       256
#define ERCOT_LOW_SPEED     1024L  /* bytes/s under which ... */
#define ERCOT_LOW_SPEED_S   60L    /* ... for this long a download fails */

struct http_sink {
	CURL *h;
	iw_ercot_sink sink;
	void *ctx;
	struct iw_ercot_reply *reply;   /* buffered mode: into body */
	struct iw_buf body;
	long status;
	long retry_after;
	int refused;                    /* the sink stopped the transfer */
	int too_big;
	char snippet[ERCOT_ERRSNIP];    /* start of a non-2xx body */
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
	if (s->reply) {
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
	if (s->sink(data, n, s->ctx) != n) {
		s->refused = 1;
		return 0;
	}
	return n;
}

/* ERCOT_CA: a PEM bundle trusted instead of the system store (a TLS-inspecting
 * proxy, a test stand-in); literal "\n" escapes become newlines. */
static int set_ca(CURL *h)
{
	const char *ca = iw_env("ERCOT_CA");
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

static CURL *prepare(const char *url, const struct curl_slist *headers, struct http_sink *s,
		     char *errbuf, long timeout_ms)
{
	CURL *h = iw_http_handle();

	if (!h)
		return NULL;
	s->h = h;
	s->retry_after = -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, IW_ERCOT_CONNECT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, ERCOT_LOW_SPEED);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, ERCOT_LOW_SPEED_S);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "iw-admin/1 (ERCOT daily ingest)");
	if (headers)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	/* Our headers carry credentials: never follow a redirect with them. And
	 * a redirect never leaves https for http. */
	if (iw_http_redirects(h, url, !headers) != 0 || set_ca(h) != 0)
		return NULL;
	return h;
}

int iw_ercot_http_get(const char *url, const struct curl_slist *headers, const char *body,
		      struct iw_ercot_reply *reply)
{
	return iw_ercot_http_get_max(url, headers, body, IW_ERCOT_LIST_MAX, reply);
}

int iw_ercot_http_get_max(const char *url, const struct curl_slist *headers, const char *body,
			  size_t max, struct iw_ercot_reply *reply)
{
	struct http_sink s = { .reply = reply, .body.max = max };
	CURL *h;
	CURLcode rc;

	memset(reply, 0, sizeof *reply);
	reply->retry_after = -1;
	if (!(h = prepare(url, headers, &s, reply->error, IW_ERCOT_LIST_MS))) {
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
	reply->retry_after = s.retry_after;
	if (s.too_big)
		snprintf(reply->error, sizeof reply->error, "reply larger than the cap of %zu bytes",
			 max);
	if (rc != CURLE_OK || s.too_big) {
		if (!reply->error[0])
			snprintf(reply->error, sizeof reply->error, "%s", curl_easy_strerror(rc));
		iw_buf_free(&s.body);
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
	return (reply->body = iw_buf_take(&s.body, &reply->len)) ? 0 : -1;
}

void iw_ercot_reply_free(struct iw_ercot_reply *reply)
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

int iw_ercot_http_stream(const char *url, const struct curl_slist *headers,
			 iw_ercot_sink sink, void *ctx, long *status, long *retry_after,
			 char *err, size_t errlen)
{
	struct http_sink s = { .sink = sink, .ctx = ctx };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h;
	CURLcode rc;

	*status = 0;
	*retry_after = -1;
	if (!(h = prepare(url, headers, &s, errbuf, IW_ERCOT_DOWNLOAD_MS))) {
		snprintf(err, errlen, "could not create a curl handle");
		return -1;
	}
	rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	*retry_after = s.retry_after;
	if (s.refused) {
		snprintf(err, errlen, "download stopped: the file could not be spooled");
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return -1;
	}
	if (*status < 200 || *status > 299) {
		printable(s.snippet);
		snprintf(err, errlen, "HTTP %ld%s%.120s", *status, s.snip_len ? ": " : "", s.snippet);
		return -1;
	}
	return 0;
}

