#include "ercot/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "io/http.h"

#define ERCOT_URL_MAX 2048

struct iw_ercot_api {
	char *lines[2];               /* key, bearer: wiped on close */
	const char *headers[4];       /* lines + Accept, NULL-terminated */
	char base[ERCOT_URL_MAX];
	char product[128];
};

static void wipe_line(char *line)
{
	if (line)
		OPENSSL_cleanse(line, strlen(line));
	free(line);
}

/* How long to wait before try ATTEMPT (0-based) after a 429. */
static long backoff_ms(long retry_after, int attempt)
{
	if (retry_after >= 0)
		return (retry_after > IW_ERCOT_API_PAUSE_MAX ? IW_ERCOT_API_PAUSE_MAX : retry_after) * 1000L;
	return IW_ERCOT_API_PAUSE_MS << attempt;
}

/* The B2C password grant: the id_token into TOKEN. 0, or -1 with ERR. */
static int fetch_token(char *token, size_t tlen, char *err, size_t errlen)
{
	const char *url = iw_env_or("ERCOT_TOKEN_URL", IW_ERCOT_TOKEN_URL);
	char body[4096] = "";
	static const char *const h[] = { "Content-Type: application/x-www-form-urlencoded",
					 "Accept: application/json", NULL };
	struct iw_http_got reply;
	json_object *doc = NULL, *v;
	int rc = -1;

	if (!iw_env("ERCOT_USERNAME") || !iw_env("ERCOT_PASSWORD")) {
		snprintf(err, errlen, "ERCOT_USERNAME and ERCOT_PASSWORD are required");
		return -1;
	}
	if (iw_http_form_add(body, sizeof body, "grant_type", "password") ||
	    iw_http_form_add(body, sizeof body, "username", iw_env("ERCOT_USERNAME")) ||
	    iw_http_form_add(body, sizeof body, "password", iw_env("ERCOT_PASSWORD")) ||
	    iw_http_form_add(body, sizeof body, "scope", iw_env_or("ERCOT_SCOPE", IW_ERCOT_SCOPE)) ||
	    iw_http_form_add(body, sizeof body, "client_id", iw_env_or("ERCOT_CLIENT_ID", IW_ERCOT_CLIENT_ID)) ||
	    iw_http_form_add(body, sizeof body, "response_type", "id_token")) {
		snprintf(err, errlen, "token request: settings too long");
		goto out;
	}
	if (iw_ercot_http_get(url, h, body, &reply) != 0) {
		snprintf(err, errlen, "token endpoint: %s", reply.error);
		goto out;
	}
	doc = json_tokener_parse(reply.body);
	if (reply.status != 200) {
		const char *e = doc && json_object_object_get_ex(doc, "error", &v) ? json_object_get_string(v) : NULL;
		snprintf(err, errlen, "token endpoint answered HTTP %ld%s%.60s", reply.status,
			 e ? ": " : "", e ? e : "");
	} else if (!doc || ((!json_object_object_get_ex(doc, "id_token", &v) ||
			     !json_object_is_type(v, json_type_string)) &&
			    (!json_object_object_get_ex(doc, "access_token", &v) ||
			     !json_object_is_type(v, json_type_string)))) {
		snprintf(err, errlen, "token endpoint: no id_token in the reply");
	} else if ((size_t)json_object_get_string_len(v) >= tlen) {
		snprintf(err, errlen, "token endpoint: token too long");
	} else {
		snprintf(token, tlen, "%s", json_object_get_string(v));
		/* json-c's copy of the token is wiped before it is freed */
		OPENSSL_cleanse((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
		rc = 0;
	}
	if (reply.body)
		OPENSSL_cleanse(reply.body, reply.len);
	iw_http_got_free(&reply);
out:
	OPENSSL_cleanse(body, sizeof body);
	json_object_put(doc);
	return rc;
}

struct iw_ercot_api *iw_ercot_api_open(char *err, size_t errlen)
{
	struct iw_ercot_api *s = calloc(1, sizeof *s);
	char token[16384], line[16500];
	const char *key = iw_env("ERCOT_SUBSCRIPTION_KEY");

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!key) {
		snprintf(err, errlen, "ERCOT_SUBSCRIPTION_KEY is not set");
		goto fail;
	}
	snprintf(s->base, sizeof s->base, "%s", iw_env_or("ERCOT_API_BASE", IW_ERCOT_API_BASE));
	if (s->base[0] && s->base[strlen(s->base) - 1] == '/')
		s->base[strlen(s->base) - 1] = '\0';
	snprintf(s->product, sizeof s->product, "%s", iw_env_or("ERCOT_PRODUCT_ID", IW_ERCOT_PRODUCT_ID));
	if (fetch_token(token, sizeof token, err, errlen) != 0)
		goto fail;
	snprintf(line, sizeof line, "Ocp-Apim-Subscription-Key: %s", key);
	s->lines[0] = strdup(line);
	snprintf(line, sizeof line, "Authorization: Bearer %s", token);
	s->lines[1] = strdup(line);
	s->headers[0] = s->lines[0];
	s->headers[1] = s->lines[1];
	s->headers[2] = "Accept: application/json";
	OPENSSL_cleanse(token, sizeof token);
	OPENSSL_cleanse(line, sizeof line);
	if (!s->lines[0] || !s->lines[1]) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return s;
fail:
	iw_ercot_api_close(s);
	return NULL;
}

void iw_ercot_api_close(struct iw_ercot_api *s)
{
	if (!s)
		return;
	wipe_line(s->lines[0]);
	wipe_line(s->lines[1]);
	free(s);
}

static const char *str_of(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	snprintf(buf, len, "%s", json_object_get_string(v));
	return buf;
}

/* One listing page; *PAGES gets _meta.totalPages. 0 or -1. */
static int list_page(struct iw_ercot_api *s, const char *day, const char *tdsp, int page,
		     int *pages, struct iw_ercot_docs *out, char *err, size_t errlen)
{
	char url[ERCOT_URL_MAX + 512];
	struct iw_http_got reply = { 0 };
	json_object *doc = NULL, *meta, *arr, *v;
	int rc = -1;
	long size = (long)iw_env_int("ERCOT_API_PAGE_SIZE", IW_ERCOT_API_PAGE_SIZE, 1, 10000);

	snprintf(url, sizeof url, "%s/archive/%s?postDatetimeFrom=%sT00:00:00&postDatetimeTo=%sT23:59:59"
		 "&page=%d&size=%ld", s->base, s->product, day, day, page, size);
	for (int attempt = 0;; attempt++) {
		if (iw_ercot_http_get(url, s->headers, NULL, &reply) != 0) {
			snprintf(err, errlen, "archive listing: %s", reply.error);
			return -1;
		}
		if (reply.status != 429 || attempt >= IW_ERCOT_API_RETRIES)
			break;
		iw_logf("info", "ercot api: 429 on the listing, retry %d", attempt + 1);
		iw_sleep_ms(backoff_ms(reply.retry_after, attempt));
		iw_http_got_free(&reply);
	}
	if (reply.status != 200) {
		snprintf(err, errlen, "archive listing answered HTTP %ld", reply.status);
		goto out;
	}
	if (!(doc = json_tokener_parse(reply.body)) ||
	    !json_object_object_get_ex(doc, "archives", &arr) || !json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "archive listing: not the expected JSON");
		goto out;
	}
	*pages = 1;
	if (json_object_object_get_ex(doc, "_meta", &meta) &&
	    json_object_object_get_ex(meta, "totalPages", &v))
		*pages = json_object_get_int(v);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *a = json_object_array_get_idx(arr, i), *links, *ep, *href;
		char id[64], friendly[256], posted[64], name[400], dl[ERCOT_URL_MAX + 256];
		const char *link = NULL;
		size_t fl;

		if (!json_object_is_type(a, json_type_object) || !str_of(a, "docId", id, sizeof id) ||
		    !str_of(a, "friendlyName", friendly, sizeof friendly))
			continue;
		fl = strlen(friendly);
		if (fl > 4 && !strcasecmp(friendly + fl - 4, ".zip"))
			snprintf(name, sizeof name, "%s", friendly);
		else
			snprintf(name, sizeof name, "%s_%s.zip", friendly, id);
		if (json_object_object_get_ex(a, "_links", &links) &&
		    json_object_object_get_ex(links, "endpoint", &ep) &&
		    json_object_object_get_ex(ep, "href", &href))
			link = json_object_get_string(href);
		(void)link; /* downloads go by docId, as ERCOT documents */
		snprintf(dl, sizeof dl, "%s/archive/%s?download=%s", s->base, s->product, id);
		if (iw_ercot_docs_add(out, day, tdsp, name, friendly, dl,
				      str_of(a, "postDatetime", posted, sizeof posted), -1) < 0) {
			snprintf(err, errlen, "archive listing: %s", iw_ercot_docs_error(out));
			goto out;
		}
	}
	rc = 0;
out:
	json_object_put(doc);
	iw_http_got_free(&reply);
	return rc;
}

int iw_ercot_api_list(struct iw_ercot_api *s, const char *day, const char *tdsp,
		      struct iw_ercot_docs *out, char *err, size_t errlen)
{
	int pages = 1;
	for (int page = 1; page <= pages && page <= IW_ERCOT_API_PAGES_MAX; page++)
		if (list_page(s, day, tdsp, page, &pages, out, err, errlen) != 0)
			return -1;
	return 0;
}

int iw_ercot_api_download(void *session, const char *url, iw_ercot_sink sink, void *ctx,
			  char *err, size_t errlen)
{
	struct iw_ercot_api *s = session;
	long status, retry_after;

	for (int attempt = 0;; attempt++) {
		if (iw_ercot_http_stream(url, s->headers, sink, ctx, &status, &retry_after, err,
					 errlen) == 0)
			return 0;
		if (status != 429 || attempt >= IW_ERCOT_API_RETRIES)
			return -1;
		iw_logf("info", "ercot api: 429 on a download, retry %d", attempt + 1);
		iw_sleep_ms(backoff_ms(retry_after, attempt));
	}
}
