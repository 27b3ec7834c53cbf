#include "ercot/ingest.h"

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

#include "core/config.h"
#include "io/db.h"
#include "core/log.h"
#include "io/storage.h"
#include "core/time.h"
#include "core/codec.h"

#define ERCOT_FILE_MAX      (8LL * 1024 * 1024 * 1024) /* refuse larger downloads */
#define ERCOT_ZIP_CHUNK     (64u * 1024)
#define ERCOT_UPLOAD_CHUNK  (256u * 1024)
#define ERCOT_SORT_MEM      "256MB"  /* server-side, per run */
/* The load transaction: waits for a lock at most this long (then the file
 * fails naming the lock), and no statement runs longer than ERCOT_STATEMENT_MS
 * (under nginx's 900 s). ERCOT_LOCK_TIMEOUT_MS / ERCOT_STATEMENT_TIMEOUT_MS
 * lower them (tests). */
#define ERCOT_LOCK_WAIT_MS       30000LL
#define ERCOT_RENEW_S            60   /* lease renewal while downloading, at most every ... */
#define ERCOT_STATEMENT_MS       600000LL

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

int iw_ercot_day_valid(const char *day)
{
	int y, m, d;
	if (!day || strlen(day) != IW_ERCOT_DAY_LEN || day[4] != '-' || day[7] != '-' ||
	    !all_digits(day, 4) || !all_digits(day + 5, 2) || !all_digits(day + 8, 2))
		return 0;
	y = atoi(day);
	m = atoi(day + 5);
	d = atoi(day + 8);
	return y >= 2000 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= iw_days_in_month(y, m);
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

static unsigned long long fnv1a(const char *s)
{
	unsigned long long h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int iw_ercot_docs_add(struct iw_ercot_docs *docs, const char *day, const char *tdsp,
		      const char *name, const char *tdsp_name, const char *url,
		      const char *posted, long long size)
{
	struct iw_ercot_doc d = { .size = size };
	char code[IW_ERCOT_TDSP_MAX], file[IW_ERCOT_FILENAME_MAX], when[32];
	time_t t;
	struct tm tm;

	if (++docs->offered > IW_ERCOT_OFFERS_MAX) {
		docs->full = 1;
		return -1;
	}
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
	/* The same file listed twice (links repeated on a page) counts once;
	 * hashes first, so each offer costs little even against many documents. */
	d.name_hash = fnv1a(file);
	d.url_hash = fnv1a(url);
	for (size_t i = 0; i < docs->n; i++)
		if ((docs->v[i].name_hash == d.name_hash && !strcmp(docs->v[i].filename, file)) ||
		    (docs->v[i].url_hash == d.url_hash && !strcmp(docs->v[i].url, url)))
			return 0;
	if (docs->n >= IW_ERCOT_DOCS_MAX) {
		docs->full = 1;
		return -1;
	}
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

const char *iw_ercot_docs_error(const struct iw_ercot_docs *docs)
{
	if (!docs->full)
		return "out of memory";
	return docs->offered > IW_ERCOT_OFFERS_MAX
		? "the listing offers more than " IW_ERCOT_STR(IW_ERCOT_OFFERS_MAX) " entries"
		: "the listing holds more than " IW_ERCOT_STR(IW_ERCOT_DOCS_MAX) " documents";
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
	char sqlstate[6];               /* of the last failed statement in the load */
	struct iw_run_lock *lock;       /* the run's lease, renewed while downloading */
	time_t renewed;
	int lock_lost;
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
	/* A download may outlast the lease (30 min allowed): renew it on the way
	 * (no transaction is open while downloading). */
	if (j->lock && time(NULL) - j->renewed >= ERCOT_RENEW_S) {
		j->renewed = time(NULL);
		if (iw_run_lock_renew(j->lock) == 0) {
			j->lock_lost = 1;
			return 0;
		}
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

static long long ercot_lock_timeout_ms(void)
{
	return iw_env_int("ERCOT_LOCK_TIMEOUT_MS", ERCOT_LOCK_WAIT_MS, 10, ERCOT_STATEMENT_MS);
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
	long long cap = iw_env_int("ERCOT_MEMBER_MAX_BYTES", IW_ERCOT_MEMBER_MAX, 1,
				   IW_ERCOT_MEMBER_MAX);

	if (!buf || !(csv = iw_ercot_csv_new(copy_emit, j))) {
		snprintf(j->err, sizeof j->err, "out of memory");
		goto out;
	}
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
		zip_file_t *zf;
		zip_int64_t got;
		zip_stat_t st;

		if (!name || (*name && name[strlen(name) - 1] == '/'))
			continue;
		/* The declared size refuses an honest bomb before any inflating; the
		 * bytes counted below catch one whose header lies. */
		if (zip_stat_index(za, (zip_uint64_t)i, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
		    st.size > (zip_uint64_t)(cap - j->csv_bytes)) {
			snprintf(j->err, sizeof j->err, "zip member %.100s declares %llu bytes inflated:"
				 " over the cap of %lld bytes", name, (unsigned long long)st.size, cap);
			goto out;
		}
		if (!(zf = zip_fopen_index(za, (zip_uint64_t)i, 0))) {
			snprintf(j->err, sizeof j->err, "zip member %.100s: %s", name,
				 zip_error_strerror(zip_get_error(za)));
			goto out;
		}
		members++;
		while ((got = zip_fread(zf, buf, ERCOT_ZIP_CHUNK)) > 0) {
			if (got > cap - j->csv_bytes) {
				snprintf(j->err, sizeof j->err, "zip member %.100s inflates past the cap"
					 " of %lld bytes", name, cap);
				zip_fclose(zf);
				goto out;
			}
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
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			snprintf(j->sqlstate, sizeof j->sqlstate, "%s", state ? state : "");
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

/* One statement of the load on the raw connection (its SQLSTATE is kept:
 * a lock or statement timeout becomes a clear per-file error). Returns the
 * rows it touched, or -1 with j->sqlstate and j->err set. */
static long long tx_exec(struct job *j, const char *sql, int n, const char *const *p)
{
	PGresult *r;
	long long rows = -1;
	const char *state;

	if (!j->conn && !(j->conn = iw_db_conn(IW_DB_MASTER, NULL))) {
		snprintf(j->err, sizeof j->err, "the database is unavailable");
		return -1;
	}
	r = PQexecParams(j->conn, sql, n, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
		rows = atoll(PQcmdTuples(r));
	} else {
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(j->sqlstate, sizeof j->sqlstate, "%s", state ? state : "");
		snprintf(j->err, sizeof j->err, "%.200s", r ? PQresultErrorMessage(r)
							 : PQerrorMessage(j->conn));
	}
	PQclear(r);
	return rows;
}

/* Timeouts of this transaction (the route's nginx read timeout is 900 s; an
 * index load takes ~20 s per 2M rows) and the memory of its dedupe sort. */
static int tx_settings(struct job *j)
{
	char lock_ms[24], stmt_ms[24];
	const char *p[2] = { lock_ms, stmt_ms };

	snprintf(lock_ms, sizeof lock_ms, "%lld", ercot_lock_timeout_ms());
	snprintf(stmt_ms, sizeof stmt_ms, "%lld",
		 iw_env_int("ERCOT_STATEMENT_TIMEOUT_MS", ERCOT_STATEMENT_MS, 100, ERCOT_STATEMENT_MS));
	return tx_exec(j, "SELECT set_config('lock_timeout', $1, true),"
		       " set_config('statement_timeout', $2, true),"
		       " set_config('work_mem', '" ERCOT_SORT_MEM "', true)", 2, p) < 0 ? -1 : 0;
}

/* Dedupe, then update the ESIIDs already indexed and insert the new ones;
 * adds "indexed" (rows written) to the result. 0 or -1. */
static int index_rows(struct job *j, const char *const *p)
{
	long long n, m;

	if (tx_exec(j, SQL_DEDUP, 0, NULL) < 0 || tx_exec(j, "ANALYZE ercot_rows", 0, NULL) < 0 ||
	    (n = tx_exec(j, SQL_UPDATE, 3, p)) < 0 || (m = tx_exec(j, SQL_INSERT, 3, p)) < 0)
		return -1;
	json_object_object_add(j->result, "indexed", json_object_new_int64(n + m));
	return 0;
}

/* The per-file error of a failed load step: timeouts say which. */
static void fail_load(struct job *j, const char *what)
{
	char e[600];

	if (!strcmp(j->sqlstate, "55P03")) {
		snprintf(e, sizeof e, "database busy: a lock on \"ErcotEsiidIndex\" was not granted"
			 " within %lld ms (lock_timeout)", ercot_lock_timeout_ms());
		fail(j, 1, e, "another session holds a lock on the ESIID index; nothing was stored");
	} else if (!strcmp(j->sqlstate, "57014")) {
		fail(j, 1, "database timeout: the index load exceeded statement_timeout", j->err);
	} else {
		snprintf(e, sizeof e, "%s: %s", what, j->err);
		fail(j, 1, "database error", e);
	}
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
	j.lock = fetcher->lock;
	j.renewed = time(NULL);
	if (fetcher->download(fetcher->self, doc->url, spool, &j, derr, sizeof derr) != 0) {
		char e[600];
		if (j.lock_lost) {
			fail(&j, 0, "run lock lost", "the lease of " IW_ERCOT_LOCK_NAME
			     " ran out and another run took it");
			goto out;
		}
		snprintf(e, sizeof e, "download failed: %s", derr);
		fail(&j, 0, e, derr);
		goto out;
	}
	EVP_DigestFinal_ex(j.md, digest, &dlen);
	iw_hex_encode(digest, dlen, j.sha);
	progress(&j, "download", 1);
	/* Downloads take minutes: extend the run's lease before the load. */
	if (fetcher->lock && iw_run_lock_renew(fetcher->lock) == 0) {
		fail(&j, 1, "run lock lost", "the lease of " IW_ERCOT_LOCK_NAME " ran out and another run took it");
		goto out;
	}
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
	if (tx_settings(&j) != 0 || tx_exec(&j, SQL_TEMP, 0, NULL) < 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		fail_load(&j, "could not create the load table");
		goto out;
	}
	if (copy_in(&j, za) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		if (j.sqlstate[0])
			fail_load(&j, "COPY failed");
		else
			fail(&j, 1, j.err, "the extract could not be loaded; nothing was stored");
		goto out;
	}
	progress(&j, "load", 1);
	snprintf(posted_ts, sizeof posted_ts, "%s", j.posted);
	p[0] = doc->tdsp;
	p[1] = posted_ts;
	p[2] = j.sha;
	if (index_rows(&j, p) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		in_tx = 0;
		fail_load(&j, "the ESIID index update failed");
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
