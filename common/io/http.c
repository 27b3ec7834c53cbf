#include "io/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/err.h"

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

struct sink {
	struct iw_buf body;
	int overflow;
};

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct sink *s = ctx;
	size_t n;

	if (nmemb && size > SIZE_MAX / nmemb)
		return 0;
	n = size * nmemb;
	if (n > s->body.max - s->body.len) {
		s->overflow = 1;
		return 0; /* aborts the transfer */
	}
	return iw_buf_put(&s->body, data, n) == 0 ? n : 0;
}

int iw_http_do(const struct iw_http_call *call, struct iw_http_reply *reply)
{
	CURL *c = iw_http_handle();
	struct sink s = { .body.max = call->max_reply ? call->max_reply : IW_HTTP_REPLY_MAX };
	struct curl_slist *headers = NULL, *h;

	memset(reply, 0, sizeof *reply);
	if (!c) {
		reply->code = CURLE_FAILED_INIT;
		strcpy(reply->error, "could not create a curl handle");
		return -1;
	}
	for (const char *const *line = call->headers; line && *line; line++) {
		if (!(h = curl_slist_append(headers, *line))) {
			curl_slist_free_all(headers);
			reply->code = CURLE_OUT_OF_MEMORY;
			strcpy(reply->error, "out of memory");
			return -1;
		}
		headers = h;
	}
	curl_easy_setopt(c, CURLOPT_URL, call->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reply->error);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 call->connect_timeout_ms ? call->connect_timeout_ms : IW_HTTP_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, call->timeout_ms ? call->timeout_ms : IW_HTTP_TOTAL_MS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	iw_http_redirects(c, call->url, 0);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
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
	if (s.overflow) {
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
