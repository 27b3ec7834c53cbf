/* Object storage in an S3-compatible bucket (the S3 backend of storage.h).
 *
 * S3 requests are signed by libcurl (CURLOPT_AWS_SIGV4). This libcurl (7.88)
 * neither adds x-amz-content-sha256 nor hashes a streamed body: it signs the
 * value of an x-amz-content-sha256 header we set, so each request body is held
 * in memory (one part, <= IW_STORAGE_PART_SIZE) and hashed before it is sent.
 * It also signs the query string as given, so every query here is already in
 * SigV4 canonical form: keys sorted, values RFC 3986 encoded, "uploads=". */
#include "io/storage_backend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "core/codec.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"

#define S3_CONNECT_TIMEOUT_S 10L
#define S3_PART_TIMEOUT_S    300L     /* one PUT of up to a part */
#define S3_CONTROL_TIMEOUT_S 60L      /* HEAD, create, complete, abort */
#define S3_REPLY_MAX         (1024 * 1024)
#define S3_PUT_ATTEMPTS      3        /* a part is retried on 5xx / transport errors */
#define S3_RETRY_BASE_MS     200
#define S3_ETAG_MAX          128
#define S3_CODE_MAX          64
#define S3_DEFAULT_REGION    "us-east-1"
#define PART_INITIAL_CAP     (64 * 1024)

static int sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -1;
	iw_hex_encode(md, mdlen, out);
	return 0;
}

struct s3_call {
	const char *method;       /* PUT, POST, HEAD or DELETE */
	const char *what;         /* for messages: "PUT", "part 3", "complete" … */
	const char *query;        /* canonical form, or NULL */
	const void *body;
	size_t len;
	const char *content_type;
	long timeout_s;
};

struct s3_reply {
	long status;
	char *body;
	size_t len;
	int overflow;
	char etag[S3_ETAG_MAX];
	/* GET: a 2xx body goes to SINK (never held whole); an error body is kept. */
	CURL *h;
	iw_storage_sink sink;
	void *sink_arg;
};

struct s3_source {
	const unsigned char *p;
	size_t left;
};

static int s3_conf_load(struct s3_conf *c, char *err, size_t errlen)
{
	const char *missing[8];
	int n;

	c->bucket = iw_storage_setting("S3_BUCKET", "DO_SPACES_BUCKET");
	c->endpoint = iw_storage_setting("S3_ENDPOINT", "DO_SPACES_ENDPOINT");
	c->region = iw_storage_setting("S3_REGION", "DO_SPACES_REGION");
	c->key_id = iw_storage_setting("S3_ACCESS_KEY_ID", "DO_SPACES_KEY");
	c->secret = iw_storage_setting("S3_SECRET_ACCESS_KEY", "DO_SPACES_SECRET");
	c->path_style = iw_env_bool("S3_FORCE_PATH_STYLE", 0);
	if (!c->region)
		c->region = S3_DEFAULT_REGION;
	if (!c->endpoint || !c->key_id || !c->secret) {
		n = iw_storage_missing_settings(missing, sizeof missing / sizeof missing[0]);
		iw_errf(err, errlen, "S3 settings missing: %s%s%s", n > 0 ? missing[0] : "",
		     n > 1 ? ", " : "", n > 1 ? missing[1] : "");
		return -1;
	}
	return 0;
}

/* RFC 3986 encoding as SigV4 wants it: unreserved characters stay, and '/'
 * when KEEP_SLASH; everything else becomes %XX. */
static char *uri_encode(const char *s, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t len = strlen(s);
	char *out = malloc(3 * len + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char c = *p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = digits[c >> 4];
			*o++ = digits[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* An IP literal cannot take a bucket subdomain: such endpoints get path style,
 * as the AWS SDKs do. */
static int host_is_ip(const char *host, size_t len)
{
	size_t i;

	if (len > 0 && host[0] == '[')
		return 1;
	for (i = 0; i < len && host[i] != ':' && host[i] != '/'; i++)
		if (host[i] != '.' && (host[i] < '0' || host[i] > '9'))
			return 0;
	return i > 0;
}

static char *s3_url(const struct s3_conf *c, const char *key, const char *query)
{
	const char *ep = c->endpoint, *scheme = "https", *sep = strstr(ep, "://");
	size_t hostlen, schemelen = strlen(scheme);
	char *enc, *url;
	int rc;

	if (sep) {
		scheme = ep;
		schemelen = (size_t)(sep - ep);
		ep = sep + 3;
	}
	hostlen = strlen(ep);
	while (hostlen > 0 && ep[hostlen - 1] == '/')
		hostlen--;
	if (!(enc = uri_encode(key, 1)))
		return NULL;
	if (c->path_style || host_is_ip(ep, hostlen))
		rc = asprintf(&url, "%.*s://%.*s/%s/%s%s%s", (int)schemelen, scheme,
			      (int)hostlen, ep, c->bucket, enc, query ? "?" : "",
			      query ? query : "");
	else
		rc = asprintf(&url, "%.*s://%s.%.*s/%s%s%s", (int)schemelen, scheme, c->bucket,
			      (int)hostlen, ep, enc, query ? "?" : "", query ? query : "");
	free(enc);
	return rc < 0 ? NULL : url;
}

static size_t s3_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_reply *r = arg;
	size_t n = size * nmemb;
	char *grown;
	long status = 0;

	if (r->sink && curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
	    status >= 200 && status <= 299)
		return r->sink(r->sink_arg, data, n) == 0 ? n : 0;
	if (n > S3_REPLY_MAX - r->len) {
		r->overflow = 1;
		return 0;
	}
	if (!(grown = realloc(r->body, r->len + n + 1)))
		return 0;
	r->body = grown;
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t s3_on_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_reply *r = arg;
	size_t n = size * nmemb, len;
	const char *v;

	if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
		v = data + 5;
		len = n - 5;
		while (len > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
			len--;
		if (len < sizeof r->etag) {
			memcpy(r->etag, v, len);
			r->etag[len] = '\0';
		}
	}
	return n;
}

static size_t s3_on_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct s3_source *src = arg;
	size_t n = size * nitems;

	if (n > src->left)
		n = src->left;
	memcpy(buf, src->p, n);
	src->p += n;
	src->left -= n;
	return n;
}

/* Copies the text of the first <TAG> in XML into OUT (printable ASCII only). */
static int xml_text(const char *xml, const char *tag, char *out, size_t outlen)
{
	char open[48], close[48];
	const char *s, *e;
	size_t n, j = 0;

	if (!xml || outlen == 0)
		return -1;
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	if (!(s = strstr(xml, open)))
		return -1;
	s += strlen(open);
	if (!(e = strstr(s, close)))
		return -1;
	n = (size_t)(e - s);
	for (size_t i = 0; i < n && j + 1 < outlen; i++)
		if (s[i] > 0x20 && s[i] < 0x7f)
			out[j++] = s[i];
	out[j] = '\0';
	return j > 0 ? 0 : -1;
}

/* Exposed for the fuzz target (tests/fuzz/fuzz_s3_xml.c). */
int iw_s3_xml_text(const char *xml, const char *tag, char *out, size_t outlen)
{
	return xml_text(xml, tag, out, outlen);
}

static void s3_reply_free(struct s3_reply *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

#define SETOPT(h, opt, val) do { \
	if (curl_easy_setopt((h), (opt), (val)) != CURLE_OK) \
		goto setopt_failed; \
} while (0)

/* Sends one signed request. Returns 0 on a 2xx reply, 1 on another status
 * (R->status set), -1 when no reply came; ERR says why unless 0. */
static int s3_request(CURL *h, const struct s3_conf *c, const char *key,
		      const struct s3_call *call, struct s3_reply *r, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", sigv4[96], hash[65], hdr[128], code[S3_CODE_MAX];
	struct s3_source src = { call->body, call->len };
	struct curl_slist *headers = NULL, *tmp;
	char *url = NULL, *ctype = NULL;
	CURLcode cc;
	int rc = -1;

	{
		iw_storage_sink sink = r->sink;
		void *arg = r->sink_arg;
		memset(r, 0, sizeof *r);
		r->h = h;
		r->sink = sink;
		r->sink_arg = arg;
	}
	if (!(url = s3_url(c, key, call->query)))
		goto nomem;
	if (sha256_hex(call->body ? call->body : "", call->len, hash) == -1) {
		iw_errf(err, errlen, "sha256 failed");
		goto out;
	}
	snprintf(hdr, sizeof hdr, "x-amz-content-sha256: %s", hash);
	if (!(tmp = curl_slist_append(headers, hdr)))
		goto nomem;
	headers = tmp;
	if (call->content_type) {
		if (asprintf(&ctype, "Content-Type: %s", call->content_type) < 0) {
			ctype = NULL;
			goto nomem;
		}
		if (!(tmp = curl_slist_append(headers, ctype)))
			goto nomem;
		headers = tmp;
	}
	snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", c->region);

	curl_easy_reset(h);
	SETOPT(h, CURLOPT_URL, url);
	SETOPT(h, CURLOPT_NOSIGNAL, 1L);
	SETOPT(h, CURLOPT_ERRORBUFFER, errbuf);
	SETOPT(h, CURLOPT_CONNECTTIMEOUT, S3_CONNECT_TIMEOUT_S);
	SETOPT(h, CURLOPT_TIMEOUT, call->timeout_s);
	SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an error, never followed */
	SETOPT(h, CURLOPT_MAXREDIRS, 0L);
	SETOPT(h, CURLOPT_AWS_SIGV4, sigv4);
	SETOPT(h, CURLOPT_USERNAME, c->key_id);
	SETOPT(h, CURLOPT_PASSWORD, c->secret);
	SETOPT(h, CURLOPT_HTTPHEADER, headers);
	SETOPT(h, CURLOPT_WRITEFUNCTION, s3_on_body);
	SETOPT(h, CURLOPT_WRITEDATA, r);
	SETOPT(h, CURLOPT_HEADERFUNCTION, s3_on_header);
	SETOPT(h, CURLOPT_HEADERDATA, r);
	if (strcmp(call->method, "PUT") == 0) {
		SETOPT(h, CURLOPT_UPLOAD, 1L);
		SETOPT(h, CURLOPT_READFUNCTION, s3_on_read);
		SETOPT(h, CURLOPT_READDATA, &src);
		SETOPT(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)call->len);
	} else if (strcmp(call->method, "POST") == 0) {
		SETOPT(h, CURLOPT_POST, 1L);
		SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->len);
		SETOPT(h, CURLOPT_POSTFIELDS, call->body ? call->body : "");
	} else if (strcmp(call->method, "HEAD") == 0) {
		SETOPT(h, CURLOPT_NOBODY, 1L);
	} else {
		SETOPT(h, CURLOPT_CUSTOMREQUEST, call->method);
	}

	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (cc != CURLE_OK) {
		iw_errf(err, errlen, "S3 %s %s: %s", call->what, key,
		     r->overflow ? "reply too large" : errbuf[0] ? errbuf : curl_easy_strerror(cc));
		goto out;
	}
	if (r->status < 200 || r->status > 299) {
		if (xml_text(r->body, "Code", code, sizeof code) == -1)
			snprintf(code, sizeof code, "%s", r->status == 404 ? "NotFound" : "error");
		iw_errf(err, errlen, "S3 %s %s: HTTP %ld %s", call->what, key, r->status, code);
		rc = 1;
		goto out;
	}
	rc = 0;
	goto out;
setopt_failed:
	iw_errf(err, errlen, "libcurl lacks a needed option (AWS SigV4?)");
	goto out;
nomem:
	iw_errf(err, errlen, "out of memory");
out:
	/* The handle must not keep pointers into this frame. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	free(ctype);
	free(url);
	return rc;
}

/* A PUT (object or part), retried on transport errors and 5xx. */
static int s3_put_retrying(struct iw_storage_put *w, const struct s3_call *call,
			   struct s3_reply *r)
{
	int rc = -1;

	for (int attempt = 1; attempt <= S3_PUT_ATTEMPTS; attempt++) {
		if (attempt > 1) {
			s3_reply_free(r);
			iw_sleep_ms(S3_RETRY_BASE_MS << (attempt - 2));
		}
		rc = s3_request(w->h, &w->s3, w->key, call, r, w->err, w->errlen);
		if (rc == 0 || (rc == 1 && r->status < 500))
			break;
	}
	return rc;
}

int iw_storage_s3_begin(struct iw_storage_put *w)
{
	if (s3_conf_load(&w->s3, w->err, w->errlen) == -1)
		return -1;
	if (!(w->h = curl_easy_init())) {
		iw_errf(w->err, w->errlen, "curl_easy_init failed");
		return -1;
	}
	return 0;
}

static int s3_create_upload(struct iw_storage_put *w)
{
	struct s3_call call = { "POST", "create-multipart", "uploads=", NULL, 0,
				w->content_type, S3_CONTROL_TIMEOUT_S };
	struct s3_reply r = { 0 };
	char id[512];
	int rc = -1;

	if (s3_request(w->h, &w->s3, w->key, &call, &r, w->err, w->errlen) != 0)
		goto out;
	if (xml_text(r.body, "UploadId", id, sizeof id) == -1) {
		iw_errf(w->err, w->errlen, "S3 create-multipart %s: no UploadId", w->key);
		goto out;
	}
	if (!(w->upload_id = uri_encode(id, 0))) {
		iw_errf(w->err, w->errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	s3_reply_free(&r);
	return rc;
}

static int s3_upload_part(struct iw_storage_put *w)
{
	struct s3_call call = { "PUT", NULL, NULL, w->part, w->part_len, NULL,
				S3_PART_TIMEOUT_S };
	struct s3_reply r = { 0 };
	char what[32], *query = NULL, **grown;
	int rc = -1, number = w->parts + 1;

	if (!w->upload_id && s3_create_upload(w) == -1)
		return -1;
	if (number > IW_STORAGE_MAX_PARTS) {
		iw_errf(w->err, w->errlen, "%s exceeds %d parts", w->key,
		     IW_STORAGE_MAX_PARTS);
		return -1;
	}
	if (!(grown = realloc(w->etags, (size_t)number * sizeof *grown))) {
		iw_errf(w->err, w->errlen, "out of memory");
		return -1;
	}
	w->etags = grown;
	w->etags[number - 1] = NULL;
	snprintf(what, sizeof what, "part %d", number);
	if (asprintf(&query, "partNumber=%d&uploadId=%s", number, w->upload_id) < 0) {
		iw_errf(w->err, w->errlen, "out of memory");
		return -1;
	}
	call.what = what;
	call.query = query;
	if (s3_put_retrying(w, &call, &r) != 0)
		goto out;
	if (!r.etag[0]) {
		iw_errf(w->err, w->errlen, "S3 %s %s: no ETag", what, w->key);
		goto out;
	}
	if (!(w->etags[number - 1] = strdup(r.etag))) {
		iw_errf(w->err, w->errlen, "out of memory");
		goto out;
	}
	w->parts = number;
	w->part_len = 0;
	rc = 0;
out:
	s3_reply_free(&r);
	free(query);
	return rc;
}

int iw_storage_s3_write(struct iw_storage_put *w, const unsigned char *p, size_t len)
{
	while (len > 0) {
		size_t n, want;
		unsigned char *grown;

		/* A full part is sent only once more data shows it is not the last,
		 * so an object of exactly one part is a single PUT. */
		if (w->part_len == IW_STORAGE_PART_SIZE && s3_upload_part(w) == -1)
			return -1;
		n = IW_STORAGE_PART_SIZE - w->part_len;
		if (n > len)
			n = len;
		if (w->part_len + n > w->part_cap) {
			want = w->part_cap ? w->part_cap : PART_INITIAL_CAP;
			while (want < w->part_len + n)
				want *= 2;
			if (want > IW_STORAGE_PART_SIZE)
				want = IW_STORAGE_PART_SIZE;
			if (!(grown = realloc(w->part, want))) {
				iw_errf(w->err, w->errlen, "out of memory");
				return -1;
			}
			w->part = grown;
			w->part_cap = want;
		}
		memcpy(w->part + w->part_len, p, n);
		w->part_len += n;
		p += n;
		len -= n;
	}
	return 0;
}

void iw_storage_s3_abort(struct iw_storage_put *w)
{
	struct s3_call call = { "DELETE", "abort-multipart", NULL, NULL, 0, NULL,
				S3_CONTROL_TIMEOUT_S };
	char why[256] = "";
	struct s3_reply r = { 0 };
	char *query;

	if (!w->upload_id || !w->h)
		return;
	if (asprintf(&query, "uploadId=%s", w->upload_id) < 0)
		return;
	call.query = query;
	if (s3_request(w->h, &w->s3, w->key, &call, &r, why, sizeof why) != 0)
		iw_logf("warn", "storage: %s (the incomplete upload is left to the "
			"bucket's lifecycle rule)", why);
	s3_reply_free(&r);
	free(query);
	free(w->upload_id);
	w->upload_id = NULL;
}

static char *s3_complete_xml(const struct iw_storage_put *w)
{
	char *xml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&xml, &len);

	if (!f)
		return NULL;
	fputs("<CompleteMultipartUpload>", f);
	for (int i = 0; i < w->parts; i++) {
		fprintf(f, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
		for (const char *e = w->etags[i]; *e; e++) {
			if (*e == '&')
				fputs("&amp;", f);
			else if (*e == '<')
				fputs("&lt;", f);
			else if (*e == '>')
				fputs("&gt;", f);
			else
				fputc(*e, f);
		}
		fputs("</ETag></Part>", f);
	}
	fputs("</CompleteMultipartUpload>", f);
	if (fclose(f) != 0) {
		free(xml);
		return NULL;
	}
	return xml;
}

static int s3_complete(struct iw_storage_put *w)
{
	struct s3_call call = { "POST", "complete-multipart", NULL, NULL, 0, "application/xml",
				S3_CONTROL_TIMEOUT_S };
	char *query = NULL, *xml = NULL, code[S3_CODE_MAX];
	struct s3_reply r = { 0 };
	int rc = -1;

	if (!(xml = s3_complete_xml(w)) ||
	    asprintf(&query, "uploadId=%s", w->upload_id) < 0) {
		query = NULL;
		iw_errf(w->err, w->errlen, "out of memory");
		goto out;
	}
	call.query = query;
	call.body = xml;
	call.len = strlen(xml);
	if (s3_request(w->h, &w->s3, w->key, &call, &r, w->err, w->errlen) != 0)
		goto out;
	/* S3 may answer 200 and still fail the completion in the body. */
	if (r.body && strstr(r.body, "<Error>")) {
		if (xml_text(r.body, "Code", code, sizeof code) == -1)
			snprintf(code, sizeof code, "error");
		iw_errf(w->err, w->errlen, "S3 complete-multipart %s: %s", w->key, code);
		goto out;
	}
	rc = 0;
out:
	s3_reply_free(&r);
	free(query);
	free(xml);
	return rc;
}

int iw_storage_s3_commit(struct iw_storage_put *w)
{
	struct s3_call call = { "PUT", "PUT", NULL, w->part, w->part_len, w->content_type,
				S3_PART_TIMEOUT_S };
	struct s3_reply r = { 0 };
	int rc;

	if (!w->upload_id) {
		rc = s3_put_retrying(w, &call, &r);
		s3_reply_free(&r);
		return rc == 0 ? 0 : -1;
	}
	/* The last part always holds at least one byte (see s3_write). */
	if (s3_upload_part(w) == -1 || s3_complete(w) == -1) {
		iw_storage_s3_abort(w);
		return -1;
	}
	free(w->upload_id);
	w->upload_id = NULL;
	return 0;
}

int iw_storage_s3_exists(const char *key)
{
	struct s3_call call = { "HEAD", "HEAD", NULL, NULL, 0, NULL, S3_CONTROL_TIMEOUT_S };
	struct s3_conf c;
	struct s3_reply r = { 0 };
	char why[256];
	CURL *h;
	int rc;

	if (s3_conf_load(&c, why, sizeof why) == -1) {
		iw_logf("error", "storage: %s", why);
		return -1;
	}
	if (!(h = curl_easy_init()))
		return -1;
	rc = s3_request(h, &c, key, &call, &r, why, sizeof why);
	if (rc == 0)
		rc = 1;
	else if (rc == 1 && r.status == 404)
		rc = 0;
	else {
		iw_logf("error", "storage: %s", why);
		rc = -1;
	}
	s3_reply_free(&r);
	curl_easy_cleanup(h);
	return rc;
}

int iw_storage_s3_get(const char *key, iw_storage_sink sink, void *arg, char *err, size_t errlen)
{
	struct s3_call call = { "GET", "GET", NULL, NULL, 0, NULL, S3_PART_TIMEOUT_S };
	struct s3_reply r = { .sink = sink, .sink_arg = arg };
	struct s3_conf c;
	CURL *h;
	int rc;

	if (s3_conf_load(&c, err, errlen) == -1)
		return -1;
	if (!(h = curl_easy_init())) {
		iw_errf(err, errlen, "out of memory");
		return -1;
	}
	rc = s3_request(h, &c, key, &call, &r, err, errlen);
	if (rc == 1 && r.status == 404)
		rc = IW_STORAGE_MISSING;
	else if (rc != 0)
		rc = -1;
	s3_reply_free(&r);
	curl_easy_cleanup(h);
	return rc;
}

void iw_storage_s3_free(struct iw_storage_put *w)
{
	for (int i = 0; i < w->parts; i++)
		free(w->etags[i]);
	free(w->etags);
	free(w->upload_id);
	free(w->part);
	if (w->h)
		curl_easy_cleanup(w->h);
}
