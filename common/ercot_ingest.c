#include "ercot_ingest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <zip.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "storage.h"

#define ERCOT_LOCK_KEY      "5288439383"              /* advisory lock id of the cron */
#define ERCOT_FILE_MAX      (8LL * 1024 * 1024 * 1024) /* refuse larger downloads */
#define ERCOT_ZIP_CHUNK     (64u * 1024)
#define ERCOT_UPLOAD_CHUNK  (256u * 1024)
#define ERCOT_COPY_FLUSH    (128u * 1024)
#define ERCOT_COPY_CAP      (ERCOT_COPY_FLUSH + 2 * IW_ERCOT_ROW_MAX + 512)
#define ERCOT_SORT_MEM      "256MB"  /* server-side, per run */
#define ERCOT_ERRSNIP       256
#define ERCOT_REDIRECTS     5L
#define ERCOT_LOW_SPEED     1024L  /* bytes/s under which ... */
#define ERCOT_LOW_SPEED_S   60L    /* ... for this long a download fails */

const char *const iw_ercot_column_names[IW_ERCOT_COLUMNS] = {
	"ESIID", "ADDRESS", "ADDRESS_OVERFLOW", "CITY", "STATE", "ZIPCODE", "COUNTY", "DUNS",
	"METER_READ_CYCLE", "STATUS", "PREMISE_TYPE", "POWER_REGION", "STATIONCODE",
	"STATIONNAME", "METERED", "OPEN_SERVICE_ORDERS", "POLR_CUSTOMER_CLASS",
	"SETTLEMENT_AMS_INDICATOR", "TDSP_AMS_INDICATOR", "SWITCH_HOLD_INDICATOR",
	"PREMISE_SUB_TYPE_1", "PREMISE_SUB_TYPE_2",
};

/* ---- names, days, times ------------------------------------------------ */

/* Known TDSPs: a cleaned name equal to an alias, or starting with alias + "_",
 * gets the code. Anything else keeps its cleaned name. */
static const struct {
	const char *alias, *code;
} tdsp_aliases[] = {
	{ "ONCOR", "ONCOR" },             /* ONCOR_ELEC */
	{ "CENTERPOINT", "CENTERPOINT" },
	{ "CNP", "CENTERPOINT" },
	{ "AEP_CENTRAL", "AEP_CENTRAL" },
	{ "AEP_TEXAS_CENTRAL", "AEP_CENTRAL" },
	{ "AEP_NORTH", "AEP_NORTH" },
	{ "AEP_TEXAS_NORTH", "AEP_NORTH" },
	{ "TNMP", "TNMP" },
	{ "LUBBOCK", "LUBBOCK" },
	{ "NUECES", "NUECES" },            /* NUECES_ELEC */
	{ "SHARYLAND", "SHARYLAND" },      /* SHARYLAND_UTILITIES, SHARYLAND_MCALLEN */
};

/* The ERCOT constructed name "ext.<type>.<duns>.<YYYYMMDD>.<HHMMSSmmm>.<NAME>.zip":
 * points PARTS at its dot-separated pieces; returns how many. */
static size_t dot_parts(const char *s, const char **parts, size_t *lens, size_t max)
{
	size_t n = 0;
	while (n < max) {
		const char *d = strchr(s, '.');
		parts[n] = s;
		lens[n] = d ? (size_t)(d - s) : strlen(s);
		n++;
		if (!d)
			break;
		s = d + 1;
	}
	return n;
}

static int all_digits(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

static const char *base_name(const char *name)
{
	const char *s = strrchr(name, '/');
	return s ? s + 1 : name;
}

int iw_ercot_tdsp_code(const char *name, char *out, size_t len)
{
	char buf[256], clean[256];
	const char *parts[8];
	size_t lens[8], np, n = 0, j = 0;
	char *p;

	if (!name || len == 0)
		return -1;
	snprintf(buf, sizeof buf, "%s", base_name(name));
	for (p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	np = dot_parts(buf, parts, lens, 8);
	/* ext.00000203.DUNS.DATE.TIME.NAME[.zip]: the sixth piece. */
	if (np >= 6 && all_digits(parts[1], lens[1]) && all_digits(parts[3], lens[3])) {
		memmove(buf, parts[5], lens[5]);
		buf[lens[5]] = '\0';
	} else if ((p = strstr(buf, ".ZIP")) && p[4] == '\0') {
		*p = '\0';
	}
	if ((p = strstr(buf, "TDSP_ESIID_EXTRACT")))
		memmove(buf, p + 18, strlen(p + 18) + 1);
	/* Keep [A-Z0-9], one '_' between words. */
	for (p = buf; *p && n + 1 < sizeof clean; p++) {
		if (isalnum((unsigned char)*p))
			clean[n++] = *p;
		else if (n && clean[n - 1] != '_')
			clean[n++] = '_';
	}
	while (n && clean[n - 1] == '_')
		n--;
	clean[n] = '\0';
	/* Drop the report kind and any date stamp at the end. */
	for (;;) {
		char *u = strrchr(clean, '_');
		const char *last = u ? u + 1 : clean;
		if (u && (!strcmp(last, "FUL") || !strcmp(last, "FULL") || !strcmp(last, "DAILY") ||
			  all_digits(last, strlen(last))))
			*u = '\0';
		else
			break;
	}
	if (!clean[0])
		return -1;
	for (j = 0; j < sizeof tdsp_aliases / sizeof tdsp_aliases[0]; j++) {
		size_t al = strlen(tdsp_aliases[j].alias);
		if (!strncmp(clean, tdsp_aliases[j].alias, al) && (clean[al] == '\0' || clean[al] == '_')) {
			snprintf(out, len, "%s", tdsp_aliases[j].code);
			return 0;
		}
	}
	if (strlen(clean) >= len)
		clean[len - 1] = '\0';
	snprintf(out, len, "%s", clean);
	return 0;
}

int iw_ercot_tdsp_known(const char *name, char *out, size_t len)
{
	char code[IW_ERCOT_TDSP_MAX];

	if (iw_ercot_tdsp_code(name, code, sizeof code) != 0)
		return 0;
	for (size_t j = 0; j < sizeof tdsp_aliases / sizeof tdsp_aliases[0]; j++) {
		if (!strcmp(code, tdsp_aliases[j].code)) {
			snprintf(out, len, "%s", code);
			return 1;
		}
	}
	return 0;
}

int iw_ercot_safe_filename(const char *name, char *out, size_t len)
{
	size_t n = 0;
	const char *s = base_name(name ? name : "");

	if (len < 8)
		return -1;
	for (; *s && n + 5 < len; s++)
		out[n++] = isalnum((unsigned char)*s) || *s == '.' || *s == '-' || *s == '_' ? *s : '_';
	while (n && out[0] == '.') { /* no hidden names, no "." / ".." */
		memmove(out, out + 1, --n);
	}
	if (!n)
		return -1;
	out[n] = '\0';
	if (n < 4 || strcasecmp(out + n - 4, ".zip") != 0)
		strcpy(out + n, ".zip");
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

int iw_ercot_day_valid(const char *day)
{
	int y, m, d;
	if (!day || strlen(day) != IW_ERCOT_DAY_LEN || day[4] != '-' || day[7] != '-' ||
	    !all_digits(day, 4) || !all_digits(day + 5, 2) || !all_digits(day + 8, 2))
		return 0;
	y = atoi(day);
	m = atoi(day + 5);
	d = atoi(day + 8);
	return y >= 2000 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int iw_ercot_parse_time(const char *ts, time_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	long off = 0;
	char day[IW_ERCOT_DAY_LEN + 1];

	if (!ts || strlen(ts) < IW_ERCOT_DAY_LEN)
		return -1;
	memcpy(day, ts, IW_ERCOT_DAY_LEN);
	day[IW_ERCOT_DAY_LEN] = '\0';
	if (!iw_ercot_day_valid(day))
		return -1;
	tm.tm_year = num(ts, 4) - 1900;
	tm.tm_mon = num(ts + 5, 2) - 1;
	tm.tm_mday = num(ts + 8, 2);
	p = ts + IW_ERCOT_DAY_LEN;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!all_digits(p, 2) || p[2] != ':' || !all_digits(p + 3, 2))
			return -1;
		tm.tm_hour = num(p, 2);
		tm.tm_min = num(p + 3, 2);
		p += 5;
		if (*p == ':' && all_digits(p + 1, 2)) {
			tm.tm_sec = num(p + 1, 2);
			p += 3;
		}
		if (*p == '.' || *p == ',')
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;
			if (!all_digits(p + 1, 2))
				return -1;
			off = num(p + 1, 2) * 3600L;
			p += 3;
			if (*p == ':')
				p++;
			if (all_digits(p, 2)) {
				off += num(p, 2) * 60L;
				p += 2;
			}
			off *= sign;
		}
	}
	if (*p)
		return -1;
	if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}

/* ---- document lists ------------------------------------------------------ */

static void doc_free(struct iw_ercot_doc *d)
{
	free(d->filename);
	free(d->tdsp);
	free(d->url);
	free(d->posted);
}

void iw_ercot_docs_free(struct iw_ercot_docs *docs)
{
	for (size_t i = 0; i < docs->n; i++)
		doc_free(&docs->v[i]);
	free(docs->v);
	memset(docs, 0, sizeof *docs);
}

/* The post time of a document, from its timestamp or its constructed name. */
static int doc_time(const char *name, const char *posted, time_t *t)
{
	const char *parts[8];
	size_t lens[8], np;
	char buf[32];

	if (posted && iw_ercot_parse_time(posted, t) == 0)
		return 0;
	np = dot_parts(base_name(name), parts, lens, 8);
	if (np >= 6 && lens[3] == 8 && all_digits(parts[3], 8) && lens[4] >= 6 &&
	    all_digits(parts[4], 6)) {
		snprintf(buf, sizeof buf, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", parts[3], parts[3] + 4,
			 parts[3] + 6, parts[4], parts[4] + 2, parts[4] + 4);
		return iw_ercot_parse_time(buf, t);
	}
	return -1;
}

int iw_ercot_docs_add(struct iw_ercot_docs *docs, const char *day, const char *tdsp,
		      const char *name, const char *tdsp_name, const char *url,
		      const char *posted, long long size)
{
	struct iw_ercot_doc d = { .size = size };
	char code[IW_ERCOT_TDSP_MAX], file[IW_ERCOT_FILENAME_MAX], when[32];
	time_t t;
	struct tm tm;

	if (!name || !url || iw_ercot_safe_filename(name, file, sizeof file) != 0)
		return 0;
	/* A known TDSP wins, from the friendly name or link text first; generic
	 * text ("zip", "Download") must not hide the TDSP in the file name. */
	if (!(tdsp_name && iw_ercot_tdsp_known(tdsp_name, code, sizeof code)) &&
	    !iw_ercot_tdsp_known(name, code, sizeof code) &&
	    iw_ercot_tdsp_code(name, code, sizeof code) != 0 &&
	    (!tdsp_name || iw_ercot_tdsp_code(tdsp_name, code, sizeof code) != 0))
		snprintf(code, sizeof code, "UNKNOWN");
	if (tdsp && strcmp(tdsp, code) != 0)
		return 0;
	when[0] = '\0';
	if (doc_time(name, posted, &t) == 0) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		if (day && strncmp(when, day, IW_ERCOT_DAY_LEN) != 0)
			return 0;
	}
	/* The same file listed twice (links repeated on a page) counts once. */
	for (size_t i = 0; i < docs->n; i++)
		if (!strcmp(docs->v[i].filename, file) || !strcmp(docs->v[i].url, url))
			return 0;
	if (docs->n == docs->cap) {
		size_t cap = docs->cap ? docs->cap * 2 : 16;
		struct iw_ercot_doc *v = realloc(docs->v, cap * sizeof *v);
		if (!v)
			return -1;
		docs->v = v;
		docs->cap = cap;
	}
	d.filename = strdup(file);
	d.tdsp = strdup(code);
	d.url = strdup(url);
	d.posted = when[0] ? strdup(when) : NULL;
	if (!d.filename || !d.tdsp || !d.url || (when[0] && !d.posted)) {
		doc_free(&d);
		return -1;
	}
	docs->v[docs->n++] = d;
	return 1;
}

void iw_ercot_docs_keep_latest_day(struct iw_ercot_docs *docs, char day[IW_ERCOT_DAY_LEN + 1])
{
	const char *latest = NULL;
	size_t kept = 0;

	for (size_t i = 0; i < docs->n; i++)
		if (docs->v[i].posted &&
		    (!latest || strncmp(docs->v[i].posted, latest, IW_ERCOT_DAY_LEN) > 0))
			latest = docs->v[i].posted;
	if (!latest)
		return; /* no dates (page links): keep them all, under DAY */
	memcpy(day, latest, IW_ERCOT_DAY_LEN);
	day[IW_ERCOT_DAY_LEN] = '\0';
	for (size_t i = 0; i < docs->n; i++) {
		struct iw_ercot_doc *d = &docs->v[i];
		if (!d->posted || strncmp(d->posted, day, IW_ERCOT_DAY_LEN) == 0)
			docs->v[kept++] = *d;
		else
			doc_free(d);
	}
	docs->n = kept;
}

/* ---- HTTP ------------------------------------------------------------------ */

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
	if (headers) {
		/* Our headers carry credentials: never follow a redirect with them. */
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	} else {
		curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(h, CURLOPT_MAXREDIRS, ERCOT_REDIRECTS);
		curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	return h;
}

int iw_ercot_http_get(const char *url, const struct curl_slist *headers, const char *body,
		      struct iw_ercot_reply *reply)
{
	struct http_sink s = { .reply = reply, .body.max = IW_ERCOT_LIST_MAX };
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
		snprintf(reply->error, sizeof reply->error, "reply larger than %u bytes",
			 IW_ERCOT_LIST_MAX);
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

/* ---- run lock -------------------------------------------------------------- */

int iw_ercot_lock(void)
{
	PGresult *r = iw_db_exec(IW_DB_MASTER, NULL,
				 "SELECT pg_try_advisory_lock(" ERCOT_LOCK_KEY ")", 0, NULL);
	int got;

	if (!r)
		return -1;
	got = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return got;
}

void iw_ercot_unlock(void)
{
	PGresult *r = iw_db_exec(IW_DB_MASTER, NULL,
				 "SELECT pg_advisory_unlock(" ERCOT_LOCK_KEY ")", 0, NULL);
	if (r)
		PQclear(r);
}

/* ---- extract CSV ------------------------------------------------------------ */

enum csv_state { CSV_FIELD, CSV_BARE, CSV_QUOTED, CSV_QUOTE };

struct iw_ercot_csv {
	int (*emit)(const char *, size_t, void *);
	void *ctx;
	enum csv_state state;
	char row[IW_ERCOT_ROW_MAX];
	size_t rlen;
	size_t start[IW_ERCOT_COLUMNS], end[IW_ERCOT_COLUMNS];
	int nf;             /* fields ended in this record */
	int any;            /* the record has a character */
	long long seen;     /* input bytes, for the BOM */
	long long bom;      /* BOM bytes dropped */
	long long rows, bad;
	int columns;
	int failed;
	char *out;
	size_t olen;
};

struct iw_ercot_csv *iw_ercot_csv_new(int (*emit)(const char *, size_t, void *), void *ctx)
{
	struct iw_ercot_csv *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (!(p->out = malloc(ERCOT_COPY_CAP))) {
		free(p);
		return NULL;
	}
	p->emit = emit;
	p->ctx = ctx;
	return p;
}

void iw_ercot_csv_free(struct iw_ercot_csv *p)
{
	if (!p)
		return;
	free(p->out);
	free(p);
}

long long iw_ercot_csv_rows(const struct iw_ercot_csv *p) { return p->rows; }
long long iw_ercot_csv_bad_rows(const struct iw_ercot_csv *p) { return p->bad; }
int iw_ercot_csv_columns(const struct iw_ercot_csv *p) { return p->columns; }

static int csv_flush(struct iw_ercot_csv *p)
{
	if (p->olen && p->emit(p->out, p->olen, p->ctx) != 0)
		return -1;
	p->olen = 0;
	return 0;
}

static void field_end(struct iw_ercot_csv *p)
{
	if (p->nf < IW_ERCOT_COLUMNS)
		p->end[p->nf] = p->rlen;
	p->nf++;
	if (p->nf < IW_ERCOT_COLUMNS)
		p->start[p->nf] = p->rlen;
}

static void copy_text(struct iw_ercot_csv *p, const char *s, size_t n)
{
	/* Trim the padding fixed-width exports leave. */
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n) {
		memcpy(p->out + p->olen, "\\N", 2);
		p->olen += 2;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		switch (c) {
		case '\\': p->out[p->olen++] = '\\'; p->out[p->olen++] = '\\'; break;
		case '\t': p->out[p->olen++] = '\\'; p->out[p->olen++] = 't'; break;
		case '\n': p->out[p->olen++] = '\\'; p->out[p->olen++] = 'n'; break;
		case '\r': p->out[p->olen++] = '\\'; p->out[p->olen++] = 'r'; break;
		default: p->out[p->olen++] = c;
		}
	}
}

static int record_end(struct iw_ercot_csv *p)
{
	int nf;
	size_t esiid_len;
	const char *esiid;

	field_end(p);
	nf = p->nf;
	if (!p->any) {              /* blank line */
		goto reset;
	}
	esiid = p->row + p->start[0];
	esiid_len = p->end[0] - p->start[0];
	while (esiid_len && (*esiid == ' ' || *esiid == '\''))
		esiid++, esiid_len--;
	if (nf < IW_ERCOT_COLUMNS_OLD || !esiid_len) {
		p->bad++;
		goto reset;
	}
	if (p->olen > ERCOT_COPY_FLUSH && csv_flush(p) != 0)
		return -1;
	if (nf > p->columns)
		p->columns = nf > IW_ERCOT_COLUMNS ? IW_ERCOT_COLUMNS : nf;
	for (int i = 0; i < IW_ERCOT_COLUMNS; i++) {
		if (i)
			p->out[p->olen++] = '\t';
		if (i == 0)
			copy_text(p, esiid, esiid_len);
		else if (i < nf)
			copy_text(p, p->row + p->start[i], p->end[i] - p->start[i]);
		else
			copy_text(p, "", 0);
	}
	p->rows++;
	p->olen += (size_t)snprintf(p->out + p->olen, 32, "\t%lld\n", p->rows);
reset:
	p->rlen = 0;
	p->nf = 0;
	p->any = 0;
	p->start[0] = 0;
	p->state = CSV_FIELD;
	return 0;
}

static int put_char(struct iw_ercot_csv *p, char c)
{
	p->any = 1;
	if (p->nf >= IW_ERCOT_COLUMNS)
		return 0; /* extra columns: ignored */
	if (p->rlen >= sizeof p->row)
		return -1;
	p->row[p->rlen++] = c;
	return 0;
}

int iw_ercot_csv_feed(struct iw_ercot_csv *p, const char *buf, size_t len)
{
	for (size_t i = 0; i < len && !p->failed; i++, p->seen++) {
		char c = buf[i];
		int rc = 0;

		/* A UTF-8 byte order mark at the very start is dropped. */
		if (p->seen < 3 && p->seen == p->bom && (unsigned char)c == (unsigned char)"\xEF\xBB\xBF"[p->seen]) {
			p->bom++;
			continue;
		}
		switch (p->state) {
		case CSV_FIELD:
		case CSV_BARE:
			if (c == '"' && p->state == CSV_FIELD) {
				p->state = CSV_QUOTED;
				p->any = 1;
			} else if (c == ',') {
				p->any = 1;
				field_end(p);
				p->state = CSV_FIELD;
			} else if (c == '\n') {
				rc = record_end(p);
			} else if (c != '\r') {
				rc = put_char(p, c);
				p->state = CSV_BARE;
			}
			break;
		case CSV_QUOTED:
			if (c == '"')
				p->state = CSV_QUOTE;
			else
				rc = put_char(p, c);
			break;
		case CSV_QUOTE:
			if (c == '"') {
				rc = put_char(p, c);
				p->state = CSV_QUOTED;
			} else if (c == ',') {
				field_end(p);
				p->state = CSV_FIELD;
			} else if (c == '\n') {
				rc = record_end(p);
			} else if (c != '\r') {
				rc = put_char(p, c); /* lenient: text after a closing quote */
				p->state = CSV_BARE;
			}
			break;
		}
		if (rc)
			p->failed = 1;
	}
	return p->failed ? -1 : 0;
}

int iw_ercot_csv_finish(struct iw_ercot_csv *p)
{
	if (p->failed)
		return -1;
	if ((p->any || p->nf) && record_end(p) != 0)
		return -1;
	return csv_flush(p);
}

/* ---- one file --------------------------------------------------------------- */

struct job {
	const struct iw_ercot_doc *doc;
	const char *day;
	const char *method;
	json_object *result;
	int fd;                         /* the spooled download */
	EVP_MD_CTX *md;
	long long bytes, next_progress;
	char sha[65];
	char key[IW_STORAGE_KEY_MAX + 1];
	char posted[32];
	long long rows, bad;
	int columns;
	long long csv_bytes, csv_next;
	char err[512];
	PGconn *conn;
	int copy_failed;
};

static void progress(const struct job *j, const char *phase, int done)
{
	json_object *f = json_object_new_object();
	if (!f)
		return;
	json_object_object_add(f, "tdsp", json_object_new_string(j->doc->tdsp));
	json_object_object_add(f, "file", json_object_new_string(j->doc->filename));
	json_object_object_add(f, "phase", json_object_new_string(phase));
	json_object_object_add(f, "bytes", json_object_new_int64(j->bytes));
	json_object_object_add(f, "rows", json_object_new_int64(j->rows));
	if (done)
		json_object_object_add(f, "done", json_object_new_boolean(1));
	iw_log_event("info", "ercot progress", f);
	json_object_put(f);
}

static size_t spool(const void *buf, size_t len, void *ctx)
{
	struct job *j = ctx;
	const char *p = buf;
	size_t left = len;

	if (j->bytes + (long long)len > ERCOT_FILE_MAX)
		return 0;
	if (EVP_DigestUpdate(j->md, buf, len) != 1)
		return 0;
	while (left) {
		ssize_t w = write(j->fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		p += w;
		left -= (size_t)w;
	}
	j->bytes += (long long)len;
	if (j->bytes >= j->next_progress) {
		progress(j, "download", 0);
		j->next_progress += IW_ERCOT_PROGRESS_BYTES;
	}
	return len;
}

static int open_spool(void)
{
	const char *dir = iw_env_or("ERCOT_TMP_DIR", "/tmp");
	char path[4096];
	int fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	if (snprintf(path, sizeof path, "%s/iw-ercot-XXXXXX", dir) >= (int)sizeof path)
		return -1;
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path); /* nothing left behind, whatever happens to the process */
	return fd;
}

static const char SQL_KNOWN[] =
	"SELECT 1 FROM \"ErcotIngest\" WHERE \"fileSha256\" = $1 AND \"status\" = 'ok'";

static const char SQL_RECORD[] =
	"INSERT INTO \"ErcotIngest\" (\"status\", \"note\", \"fileUrl\", \"fileSha256\", \"tdsp\","
	" \"rowCount\", \"headers\", \"error\", \"errorDetail\", \"filename\", \"storageKey\","
	" \"sizeBytes\", \"sourceUrl\")"
	" VALUES ($1, $2, $3, $4, $5, $6::int, $7::jsonb, $8, $9, $10, $11, $12::bigint, $13)"
	" ON CONFLICT (\"fileSha256\") DO UPDATE SET \"status\" = EXCLUDED.\"status\","
	" \"note\" = EXCLUDED.\"note\", \"fileUrl\" = EXCLUDED.\"fileUrl\", \"tdsp\" = EXCLUDED.\"tdsp\","
	" \"rowCount\" = EXCLUDED.\"rowCount\", \"headers\" = EXCLUDED.\"headers\","
	" \"error\" = EXCLUDED.\"error\", \"errorDetail\" = EXCLUDED.\"errorDetail\","
	" \"filename\" = EXCLUDED.\"filename\", \"storageKey\" = EXCLUDED.\"storageKey\","
	" \"sizeBytes\" = EXCLUDED.\"sizeBytes\", \"sourceUrl\" = EXCLUDED.\"sourceUrl\","
	" \"createdAt\" = (now() AT TIME ZONE 'UTC')"
	" WHERE \"ErcotIngest\".\"status\" <> 'ok'";

static const char SQL_TEMP[] =
	"CREATE TEMP TABLE ercot_load (c0 text, c1 text, c2 text, c3 text, c4 text, c5 text,"
	" c6 text, c7 text, c8 text, c9 text, c10 text, c11 text, c12 text, c13 text, c14 text,"
	" c15 text, c16 text, c17 text, c18 text, c19 text, c20 text, c21 text, ord bigint)"
	" ON COMMIT DROP";

/* Within one file the last row of an ESIID wins: one row per ESIID, in ESIID
 * order (new index entries then arrive in key order). */
static const char SQL_DEDUP[] =
	"CREATE TEMP TABLE ercot_rows ON COMMIT DROP AS"
	" SELECT DISTINCT ON (c0) * FROM ercot_load ORDER BY c0, ord DESC";

#define ERCOT_SET_COLUMNS \
	" \"tdspCode\" = $1, \"tdspDuns\" = r.c7, \"serviceAddress1\" = r.c1," \
	" \"serviceAddress2\" = r.c2, \"serviceCity\" = r.c3, \"serviceState\" = r.c4," \
	" \"serviceZip\" = r.c5, \"county\" = r.c6, \"meterReadCycle\" = r.c8, \"status\" = r.c9," \
	" \"premiseType\" = r.c10, \"powerRegion\" = r.c11, \"stationCode\" = r.c12," \
	" \"stationName\" = r.c13, \"metered\" = r.c14, \"openServiceOrders\" = r.c15," \
	" \"polrCustomerClass\" = r.c16, \"settlementAmsIndicator\" = r.c17," \
	" \"tdspAmsIndicator\" = r.c18, \"switchHoldIndicator\" = r.c19," \
	" \"premiseSubType1\" = r.c20, \"premiseSubType2\" = r.c21," \
	" \"postedAtUtc\" = $2::timestamp(3), \"sourceFileSha256\" = $3," \
	" \"updatedAt\" = (now() AT TIME ZONE 'UTC')"

/* Latest post wins: a row is replaced only by a post at least as recent. */
static const char SQL_UPDATE[] =
	"UPDATE \"ErcotEsiidIndex\" t SET" ERCOT_SET_COLUMNS
	" FROM ercot_rows r WHERE t.\"esiid\" = r.c0"
	" AND (t.\"postedAtUtc\" IS NULL OR t.\"postedAtUtc\" <= $2::timestamp(3))";

/* New ESIIDs. A plain INSERT (no ON CONFLICT: 2-3x faster for millions of
 * rows); the run lock makes this the only writer. The id is the ESIID itself:
 * unique like it, and increasing with it, so the primary-key index is
 * appended to rather than written at random places as with a uuid. */
static const char SQL_INSERT[] =
	"INSERT INTO \"ErcotEsiidIndex\" (\"id\", \"esiid\", \"tdspCode\", \"tdspDuns\","
	" \"serviceAddress1\", \"serviceAddress2\", \"serviceCity\", \"serviceState\", \"serviceZip\","
	" \"county\", \"meterReadCycle\", \"status\", \"premiseType\", \"powerRegion\", \"stationCode\","
	" \"stationName\", \"metered\", \"openServiceOrders\", \"polrCustomerClass\","
	" \"settlementAmsIndicator\", \"tdspAmsIndicator\", \"switchHoldIndicator\","
	" \"premiseSubType1\", \"premiseSubType2\", \"postedAtUtc\", \"sourceFileSha256\", \"updatedAt\")"
	" SELECT r.c0, r.c0, $1, r.c7, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c8, r.c9, r.c10, r.c11,"
	" r.c12, r.c13, r.c14, r.c15, r.c16, r.c17, r.c18, r.c19, r.c20, r.c21, $2::timestamp(3), $3,"
	" (now() AT TIME ZONE 'UTC')"
	" FROM ercot_rows r WHERE NOT EXISTS"
	" (SELECT 1 FROM \"ErcotEsiidIndex\" t WHERE t.\"esiid\" = r.c0)";

static char *headers_json(int columns)
{
	json_object *a = json_object_new_array();
	char *s;
	if (!a)
		return NULL;
	for (int i = 0; i < columns && i < IW_ERCOT_COLUMNS; i++)
		json_object_array_add(a, json_object_new_string(iw_ercot_column_names[i]));
	s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	json_object_put(a);
	return s;
}

/* Where the object lives, for "fileUrl". */
static void file_url(const char *key, char *out, size_t len)
{
	const char *bucket = iw_env("S3_BUCKET") ? iw_env("S3_BUCKET") : iw_env("DO_SPACES_BUCKET");
	if (!strcmp(iw_storage_backend(), "s3"))
		snprintf(out, len, "s3://%s/%s", bucket ? bucket : "", key);
	else
		snprintf(out, len, "file://%s/%s", iw_env_or("STORAGE_DIR", "."), key);
}

/* Writes the "ErcotIngest" row of this file. SHA NULL for rows without a
 * content hash (download failures, skips). Returns 0 or -1. */
static int record(struct job *j, const char *status, int with_sha, const char *error,
		  const char *detail)
{
	char rows[32], size[32], url[IW_STORAGE_KEY_MAX + 4200], note[160];
	char *headers = NULL;
	const char *p[13];
	int ok = !strcmp(status, "ok"), rc;

	snprintf(rows, sizeof rows, "%lld", j->rows);
	snprintf(size, sizeof size, "%lld", j->bytes);
	snprintf(note, sizeof note, "method=%s posted=%s%s%s", j->method,
		 j->posted[0] ? j->posted : "unknown", with_sha || !j->sha[0] ? "" : " sha256=",
		 with_sha || !j->sha[0] ? "" : j->sha);
	if (ok) {
		file_url(j->key, url, sizeof url);
		headers = headers_json(j->columns);
	}
	p[0] = status;
	p[1] = note;
	p[2] = ok ? url : NULL;
	p[3] = with_sha && j->sha[0] ? j->sha : NULL;
	p[4] = j->doc->tdsp;
	p[5] = ok ? rows : NULL;
	p[6] = headers;
	p[7] = error;
	p[8] = detail;
	p[9] = j->doc->filename;
	p[10] = ok ? j->key : NULL;
	p[11] = j->bytes ? size : NULL;
	p[12] = j->doc->url;
	rc = iw_db_run(IW_DB_MASTER, NULL, SQL_RECORD, 13, p);
	free(headers);
	return rc;
}

static void fail(struct job *j, int with_sha, const char *error, const char *detail)
{
	json_object_object_add(j->result, "error", json_object_new_string(error));
	if (record(j, "error", with_sha, error, detail) != 0)
		iw_logf("error", "ercot: could not record the error row of %s", j->doc->filename);
	progress(j, "error", 1);
}

static int copy_emit(const char *buf, size_t len, void *ctx)
{
	struct job *j = ctx;
	if (PQputCopyData(j->conn, buf, (int)len) == 1)
		return 0;
	j->copy_failed = 1;
	return -1;
}

/* Streams every file of the zip through the CSV parser into COPY. 0, or -1
 * with j->err set (corrupt member, CRC error, database error). */
static int load_members(struct job *j, zip_t *za)
{
	struct iw_ercot_csv *csv = NULL;
	zip_int64_t n = zip_get_num_entries(za, 0);
	char *buf = malloc(ERCOT_ZIP_CHUNK);
	int rc = -1, members = 0;

	if (!buf || !(csv = iw_ercot_csv_new(copy_emit, j))) {
		snprintf(j->err, sizeof j->err, "out of memory");
		goto out;
	}
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
		zip_file_t *zf;
		zip_int64_t got;

		if (!name || (*name && name[strlen(name) - 1] == '/'))
			continue;
		if (!(zf = zip_fopen_index(za, (zip_uint64_t)i, 0))) {
			snprintf(j->err, sizeof j->err, "zip member %.100s: %s", name,
				 zip_error_strerror(zip_get_error(za)));
			goto out;
		}
		members++;
		while ((got = zip_fread(zf, buf, ERCOT_ZIP_CHUNK)) > 0) {
			if (iw_ercot_csv_feed(csv, buf, (size_t)got) != 0) {
				snprintf(j->err, sizeof j->err, "%s", j->copy_failed
					 ? "the database refused the rows"
					 : "a CSV record is longer than the limit");
				zip_fclose(zf);
				goto out;
			}
			j->csv_bytes += got;
			j->rows = iw_ercot_csv_rows(csv);
			if (j->csv_bytes >= j->csv_next) {
				progress(j, "load", 0);
				j->csv_next += IW_ERCOT_PROGRESS_BYTES;
			}
		}
		if (got < 0) {
			snprintf(j->err, sizeof j->err, "zip member %.100s: %s", name,
				 zip_error_strerror(zip_file_get_error(zf)));
			zip_fclose(zf);
			goto out;
		}
		zip_fclose(zf);
	}
	if (!members) {
		snprintf(j->err, sizeof j->err, "the zip holds no file");
		goto out;
	}
	if (iw_ercot_csv_finish(csv) != 0) {
		snprintf(j->err, sizeof j->err, "the database refused the rows");
		goto out;
	}
	j->rows = iw_ercot_csv_rows(csv);
	j->bad = iw_ercot_csv_bad_rows(csv);
	j->columns = iw_ercot_csv_columns(csv);
	rc = 0;
out:
	iw_ercot_csv_free(csv);
	free(buf);
	return rc;
}

/* COPY the CSV of the zip into a temp table (in the open transaction). */
static int copy_in(struct job *j, zip_t *za)
{
	PGresult *r;
	int rc;

	if (!(j->conn = iw_db_conn(IW_DB_MASTER, NULL))) {
		snprintf(j->err, sizeof j->err, "the database is unavailable");
		return -1;
	}
	r = PQexec(j->conn, "COPY ercot_load FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		snprintf(j->err, sizeof j->err, "COPY refused: %.200s", PQerrorMessage(j->conn));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	rc = load_members(j, za);
	if (PQputCopyEnd(j->conn, rc ? "aborted: the zip could not be read" : NULL) != 1 && !rc) {
		snprintf(j->err, sizeof j->err, "COPY could not end");
		rc = -1;
	}
	while ((r = PQgetResult(j->conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !rc) {
			snprintf(j->err, sizeof j->err, "COPY failed: %.200s",
				 PQresultErrorMessage(r));
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}

static int upload(struct job *j)
{
	char err[512] = "";
	struct iw_storage_result res;
	struct iw_storage_put *w;
	unsigned char *buf = malloc(ERCOT_UPLOAD_CHUNK);
	off_t off = 0;

	if (!buf) {
		snprintf(j->err, sizeof j->err, "out of memory");
		return -1;
	}
	if (!(w = iw_storage_put_begin(j->key, "application/zip", err, sizeof err))) {
		snprintf(j->err, sizeof j->err, "storage: %s", err);
		free(buf);
		return -1;
	}
	for (;;) {
		ssize_t n = pread(j->fd, buf, ERCOT_UPLOAD_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(j->err, sizeof j->err, "spool read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (iw_storage_put_write(w, buf, (size_t)n) != 0) {
			snprintf(j->err, sizeof j->err, "storage: %s", err[0] ? err : "write failed");
			goto fail;
		}
		off += n;
	}
	free(buf);
	if (iw_storage_put_commit(w, &res) != 0) {
		snprintf(j->err, sizeof j->err, "storage: %s", err[0] ? err : "commit failed");
		return -1;
	}
	if ((long long)res.bytes != j->bytes || strcmp(res.sha256, j->sha) != 0) {
		snprintf(j->err, sizeof j->err, "storage: stored object differs from the download");
		return -1;
	}
	return 0;
fail:
	free(buf);
	iw_storage_put_abort(w);
	return -1;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Opens the spooled download with libzip (its own FILE*): NULL with j->err. */
static zip_t *open_zip(struct job *j)
{
	zip_error_t zerr;
	zip_source_t *src;
	zip_t *za;
	FILE *fp;
	int fd = dup(j->fd);

	zip_error_init(&zerr);
	if (fd < 0 || !(fp = fdopen(fd, "rb"))) {
		if (fd >= 0)
			close(fd);
		snprintf(j->err, sizeof j->err, "spool: %s", strerror(errno));
		return NULL;
	}
	if (!(src = zip_source_filep_create(fp, 0, -1, &zerr))) {
		fclose(fp);
		snprintf(j->err, sizeof j->err, "not a valid zip: %s", zip_error_strerror(&zerr));
		zip_error_fini(&zerr);
		return NULL;
	}
	if (!(za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr))) {
		snprintf(j->err, sizeof j->err, "not a valid zip: %s", zip_error_strerror(&zerr));
		zip_source_free(src);
	}
	zip_error_fini(&zerr);
	return za;
}

/* Dedupe, then update the ESIIDs already indexed and insert the new ones;
 * adds "indexed" (rows written) to the result. 0 or -1. */
static int index_rows(struct job *j, const char *const *p)
{
	long long n = 0;
	PGresult *r;

	if (iw_db_run(IW_DB_MASTER, NULL, SQL_DEDUP, 0, NULL) != 0 ||
	    iw_db_run(IW_DB_MASTER, NULL, "ANALYZE ercot_rows", 0, NULL) != 0)
		return -1;
	if (!(r = iw_db_exec(IW_DB_MASTER, NULL, SQL_UPDATE, 3, p)))
		return -1;
	n += atoll(PQcmdTuples(r));
	PQclear(r);
	if (!(r = iw_db_exec(IW_DB_MASTER, NULL, SQL_INSERT, 3, p)))
		return -1;
	n += atoll(PQcmdTuples(r));
	PQclear(r);
	json_object_object_add(j->result, "indexed", json_object_new_int64(n));
	return 0;
}

json_object *iw_ercot_ingest(const struct iw_ercot_doc *doc, const char *day,
			     const struct iw_ercot_fetcher *fetcher)
{
	struct job j = { .doc = doc, .day = day, .method = fetcher->method, .fd = -1 };
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char derr[512] = "", posted_ts[40];
	const char *p[3];
	zip_t *za = NULL;
	PGresult *r;
	int in_tx = 0;

	if (!(j.result = json_object_new_object()))
		return NULL;
	json_object_object_add(j.result, "tdsp", json_object_new_string(doc->tdsp));
	json_object_object_add(j.result, "filename", json_object_new_string(doc->filename));
	j.next_progress = IW_ERCOT_PROGRESS_BYTES;
	j.csv_next = IW_ERCOT_PROGRESS_BYTES;
	if (doc->posted) {
		snprintf(j.posted, sizeof j.posted, "%s", doc->posted);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(j.posted, sizeof j.posted, "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (snprintf(j.key, sizeof j.key, "ercot/%s/%s", day, doc->filename) >= (int)sizeof j.key ||
	    !iw_storage_key_valid(j.key)) {
		fail(&j, 0, "invalid storage key", doc->filename);
		goto out;
	}
	if ((j.fd = open_spool()) < 0) {
		snprintf(j.err, sizeof j.err, "no temp file: %s", strerror(errno));
		fail(&j, 0, "download failed", j.err);
		goto out;
	}
	if (!(j.md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(j.md, EVP_sha256(), NULL) != 1) {
		fail(&j, 0, "internal error", "sha256 unavailable");
		goto out;
	}
	progress(&j, "start", 0);
	if (fetcher->download(fetcher->self, doc->url, spool, &j, derr, sizeof derr) != 0) {
		char e[600];
		snprintf(e, sizeof e, "download failed: %s", derr);
		fail(&j, 0, e, derr);
		goto out;
	}
	EVP_DigestFinal_ex(j.md, digest, &dlen);
	hex(digest, dlen, j.sha);
	progress(&j, "download", 1);
	json_object_object_add(j.result, "sha256", json_object_new_string(j.sha));

	p[0] = j.sha;
	if (!(r = iw_db_exec(IW_DB_MASTER, NULL, SQL_KNOWN, 1, p))) {
		fail(&j, 1, "database unavailable", "could not look the file up");
		goto out;
	}
	if (PQntuples(r) > 0) {
		PQclear(r);
		json_object_object_add(j.result, "skipped", json_object_new_boolean(1));
		json_object_object_add(j.result, "reason",
				       json_object_new_string("already ingested (same sha256)"));
		if (record(&j, "skipped", 0, NULL, NULL) != 0)
			iw_logf("error", "ercot: could not record the skip of %s", doc->filename);
		goto out;
	}
	PQclear(r);

	if (!(za = open_zip(&j))) {
		fail(&j, 1, j.err, "the download is not a readable zip; nothing was stored");
		goto out;
	}
	if (iw_db_begin(IW_DB_MASTER, NULL) != 0) {
		fail(&j, 1, "database unavailable", "BEGIN failed");
		goto out;
	}
	in_tx = 1;
	if (iw_db_run(IW_DB_MASTER, NULL, SQL_TEMP, 0, NULL) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		fail(&j, 1, "database error", "could not create the load table");
		goto out;
	}
	if (copy_in(&j, za) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		fail(&j, 1, j.err, "the extract could not be loaded; nothing was stored");
		goto out;
	}
	progress(&j, "load", 1);
	/* The dedupe sort of a full extract (millions of rows) in memory, for
	 * this transaction only. */
	if (iw_db_run(IW_DB_MASTER, NULL, "SET LOCAL work_mem = '" ERCOT_SORT_MEM "'", 0, NULL) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		fail(&j, 1, "database error", "SET work_mem failed");
		goto out;
	}
	snprintf(posted_ts, sizeof posted_ts, "%s", j.posted);
	p[0] = doc->tdsp;
	p[1] = posted_ts;
	p[2] = j.sha;
	if (index_rows(&j, p) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		fail(&j, 1, "database error", "the ESIID index update failed");
		goto out;
	}
	progress(&j, "indexed", 1);
	if (upload(&j) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		fail(&j, 1, "upload failed", j.err);
		goto out;
	}
	if (record(&j, "ok", 1, NULL, NULL) != 0 || iw_db_commit(IW_DB_MASTER, NULL) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		/* The object is stored; the next run will ingest it again. */
		fail(&j, 1, "database error", "the ingest could not be committed");
		goto out;
	}
	in_tx = 0;
	json_object_object_add(j.result, "key", json_object_new_string(j.key));
	json_object_object_add(j.result, "bytes", json_object_new_int64(j.bytes));
	json_object_object_add(j.result, "rows", json_object_new_int64(j.rows));
	if (j.bad)
		json_object_object_add(j.result, "badRows", json_object_new_int64(j.bad));
	progress(&j, "stored", 1);
out:
	if (in_tx)
		iw_db_rollback(IW_DB_MASTER);
	if (za)
		zip_discard(za);
	if (j.md)
		EVP_MD_CTX_free(j.md);
	if (j.fd >= 0)
		close(j.fd);
	return j.result;
}
