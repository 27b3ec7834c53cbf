/* SMT file ingest; see smt_ingest.h.
 *
 * Order of work for a new file. Two databases cannot commit together, so
 * every step is idempotent for the same bytes and the dedupe marker (the
 * raw_smt_files row) becomes visible last, with the master rows: a failure at
 * any step leaves either nothing or a state that posting the same bytes again
 * completes exactly, and never a marker without all the rows.
 *   1. store the decoded bytes (atomic put) at a key named by their sha256:
 *      a storage failure leaves nothing anywhere; a later failure leaves an
 *      object that the resend (same day) overwrites with the same bytes.
 *   2. master: BEGIN; claim the sha256 (INSERT raw_smt_files ... ON CONFLICT
 *      DO NOTHING, invisible until COMMIT): a concurrent post of the same
 *      bytes waits here (up to lock_timeout), then answers duplicate.
 *   3. interval file: when no row of the file's ESIIDs is in its time window
 *      yet, the direct load (see "direct load" below) COPYs the rows straight
 *      into UsageIntervalModule and, in parallel, SmtInterval. Otherwise, or
 *      when a unique key says the rows are not all new: usage: COPY the parsed
 *      rows into a temporary table, collapse repeats of an interval (the
 *      later row wins), upsert into UsageIntervalModule, COMMIT; then
 *      normalise the file's ESIIDs and time range into SmtInterval inside the
 *      master transaction. Usage rows committed before a master failure are
 *      what the resend upserts again (unchanged) and normalises.
 *      billing file: replace the file's SmtBillingRead rows (master).
 *   4. record esiid, COMMIT the master transaction (rows + marker at once).
 * Every transaction gets lock_timeout and statement_timeout (pg_limits.h). */
#include "smt_ingest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "pg_limits.h"
#include "serve.h"
#include "smt_billing.h"
#include "smt_csv.h"
#include "smt_store.h"
#include "storage.h"
#include "usage_normalize.h"

#define SPOOL_CHUNK      (64 * 1024)   /* inflate output / read-back chunk */
#define B64_CHUNK        (48 * 1024)   /* decoded bytes per flush */
#define COPY_BUF         (256 * 1024)  /* COPY data sent per PQputCopyData */
#define COPY_BACKLOG_MAX (4 * 1024 * 1024) /* direct load: queued per connection */
#define SNIFF_BYTES      4096
#define MAX_FILE_ESIIDS  4096          /* ESIIDs of one file normalised */

/* ---- spool --------------------------------------------------------------- */

struct iw_smt_spool {
	int fd;
	enum iw_smt_encoding enc;
	int decided;
	unsigned char head[2];
	size_t headn;
	z_stream z;
	int z_init, z_ended;
	EVP_MD_CTX *md;
	uint64_t size, max;
	int err;
	int finished;
	char sha256[65];
	unsigned char *out;             /* SPOOL_CHUNK: inflate / base64 output */
	size_t outn;                    /* base64: decoded bytes waiting */
	unsigned b64_quad, b64_n, b64_pad;
	char *errbuf;
	size_t errlen;
};

const char *iw_smt_spool_strerror(int rc)
{
	switch (rc) {
	case IW_SMT_SPOOL_OK: return "ok";
	case IW_SMT_SPOOL_ETOOBIG: return "decoded content over the size limit";
	case IW_SMT_SPOOL_EBADGZIP: return "not a complete gzip stream";
	case IW_SMT_SPOOL_EBASE64: return "not valid base64";
	default: return "temporary file error";
	}
}

struct iw_smt_spool *iw_smt_spool_new(enum iw_smt_encoding enc, uint64_t max_decoded,
				      char *err, size_t errlen)
{
	struct iw_smt_spool *s = calloc(1, sizeof *s);
	const char *dir = getenv("TMPDIR");
	char path[4096];

	if (!s)
		goto fail;
	s->fd = -1;
	s->enc = enc;
	s->decided = enc != IW_SMT_AUTO;
	s->max = max_decoded;
	s->errbuf = err;
	s->errlen = errlen;
	snprintf(path, sizeof path, "%s/iw-smt-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((s->fd = mkostemp(path, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
		goto fail;
	}
	unlink(path); /* gone with the descriptor, whatever happens */
	if (!(s->out = malloc(SPOOL_CHUNK)) || !(s->md = EVP_MD_CTX_new()) ||
	    EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
		goto fail;
	return s;
fail:
	if (s && !err[0])
		snprintf(err, errlen, "out of memory");
	iw_smt_spool_free(s);
	return NULL;
}

void iw_smt_spool_free(struct iw_smt_spool *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->z_init)
		inflateEnd(&s->z);
	EVP_MD_CTX_free(s->md);
	free(s->out);
	free(s);
}

static int spool_fail(struct iw_smt_spool *s, int rc)
{
	if (!s->err) {
		s->err = rc;
		if (rc == IW_SMT_SPOOL_ETOOBIG)
			snprintf(s->errbuf, s->errlen, "decoded content over %llu bytes",
				 (unsigned long long)s->max);
		else if (rc != IW_SMT_SPOOL_EIO || !s->errbuf[0])
			snprintf(s->errbuf, s->errlen, "%s", iw_smt_spool_strerror(rc));
	}
	return s->err;
}

static int write_decoded(struct iw_smt_spool *s, const unsigned char *p, size_t len)
{
	if (len > s->max - s->size)
		return spool_fail(s, IW_SMT_SPOOL_ETOOBIG);
	s->size += len;
	if (EVP_DigestUpdate(s->md, p, len) != 1)
		return spool_fail(s, IW_SMT_SPOOL_EIO);
	while (len) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(s->errbuf, s->errlen, "temporary file: %s", strerror(errno));
			return spool_fail(s, IW_SMT_SPOOL_EIO);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int inflate_some(struct iw_smt_spool *s, const unsigned char *p, size_t len)
{
	if (!s->z_init) {
		/* 16 + MAX_WBITS: gzip wrapper only. */
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
			return spool_fail(s, IW_SMT_SPOOL_EIO);
		s->z_init = 1;
	}
	s->z.next_in = (unsigned char *)p;
	s->z.avail_in = (uInt)len;
	for (;;) {
		size_t produced;
		int zr;

		if (s->z_ended) {
			if (s->z.avail_in == 0)
				return 0;
			/* Another gzip member follows (gzip files may be concatenated). */
			if (inflateReset(&s->z) != Z_OK)
				return spool_fail(s, IW_SMT_SPOOL_EBADGZIP);
			s->z_ended = 0;
		}
		s->z.next_out = s->out;
		s->z.avail_out = SPOOL_CHUNK;
		zr = inflate(&s->z, Z_NO_FLUSH);
		produced = SPOOL_CHUNK - s->z.avail_out;
		/* Bombs stop here: write_decoded refuses past the cap. */
		if (produced && write_decoded(s, s->out, produced) != 0)
			return s->err;
		if (zr == Z_STREAM_END) {
			s->z_ended = 1;
			continue;
		}
		if (zr == Z_BUF_ERROR || (zr == Z_OK && s->z.avail_in == 0 && produced < SPOOL_CHUNK))
			return 0; /* needs more input */
		if (zr != Z_OK)
			return spool_fail(s, IW_SMT_SPOOL_EBADGZIP);
	}
}

static int process(struct iw_smt_spool *s, const unsigned char *p, size_t len)
{
	return s->enc == IW_SMT_GZIP ? inflate_some(s, p, len) : write_decoded(s, p, len);
}

int iw_smt_spool_feed(struct iw_smt_spool *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (s->err)
		return s->err;
	if (!s->decided) {
		while (s->headn < 2 && len) {
			s->head[s->headn++] = *p++;
			len--;
		}
		if (s->headn < 2)
			return 0;
		s->enc = s->head[0] == 0x1f && s->head[1] == 0x8b ? IW_SMT_GZIP : IW_SMT_PLAIN;
		s->decided = 1;
		if (process(s, s->head, 2) != 0)
			return s->err;
	}
	return len ? process(s, p, len) : 0;
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int b64_flush(struct iw_smt_spool *s)
{
	int rc = 0;
	if (s->outn) {
		unsigned char tmp[B64_CHUNK];
		size_t n = s->outn;
		/* s->out is also the inflate buffer: decode output moves aside. */
		memcpy(tmp, s->out, n);
		s->outn = 0;
		rc = iw_smt_spool_feed(s, tmp, n);
	}
	return rc;
}

static int b64_emit(struct iw_smt_spool *s, unsigned char c)
{
	s->out[s->outn++] = c;
	return s->outn == B64_CHUNK ? b64_flush(s) : 0;
}

/* Strict base64 (standard alphabet); white space anywhere, '=' padding only
 * at the end, a missing padding tolerated. */
int iw_smt_spool_feed_base64(struct iw_smt_spool *s, const char *b64, size_t len)
{
	if (s->err)
		return s->err;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)b64[i], v;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			if (s->b64_n < 2 || ++s->b64_pad > 2)
				return spool_fail(s, IW_SMT_SPOOL_EBASE64);
			continue;
		}
		if (s->b64_pad || (v = b64_value(c)) < 0)
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		s->b64_quad = (s->b64_quad << 6) | (unsigned)v;
		if (++s->b64_n == 4) {
			if (b64_emit(s, (unsigned char)(s->b64_quad >> 16)) ||
			    b64_emit(s, (unsigned char)(s->b64_quad >> 8)) ||
			    b64_emit(s, (unsigned char)s->b64_quad))
				return s->err;
			s->b64_n = 0;
			s->b64_quad = 0;
		}
	}
	return 0;
}

static int b64_finish(struct iw_smt_spool *s)
{
	unsigned q = s->b64_quad;

	switch (s->b64_n) {
	case 0:
		if (s->b64_pad)
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		break;
	case 1:
		return spool_fail(s, IW_SMT_SPOOL_EBASE64);
	case 2:
		if ((q & 0xF) || (s->b64_pad && s->b64_pad != 2))
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		if (b64_emit(s, (unsigned char)(q >> 4)))
			return s->err;
		break;
	case 3:
		if ((q & 0x3) || (s->b64_pad && s->b64_pad != 1))
			return spool_fail(s, IW_SMT_SPOOL_EBASE64);
		if (b64_emit(s, (unsigned char)(q >> 10)) || b64_emit(s, (unsigned char)(q >> 2)))
			return s->err;
		break;
	}
	s->b64_n = s->b64_pad = 0;
	return b64_flush(s);
}

int iw_smt_spool_finish(struct iw_smt_spool *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (s->err)
		return s->err;
	if (s->finished)
		return 0;
	if (b64_finish(s) != 0)
		return s->err;
	if (!s->decided) {
		s->enc = IW_SMT_PLAIN;
		s->decided = 1;
		if (s->headn && process(s, s->head, s->headn) != 0)
			return s->err;
	}
	if (s->enc == IW_SMT_GZIP && !s->z_ended)
		return spool_fail(s, IW_SMT_SPOOL_EBADGZIP);
	if (EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen != 32)
		return spool_fail(s, IW_SMT_SPOOL_EIO);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(s->sha256 + 2 * i, 3, "%02x", md[i]);
	s->finished = 1;
	return 0;
}

uint64_t iw_smt_spool_size(const struct iw_smt_spool *s)
{
	return s->size;
}

const char *iw_smt_spool_sha256(const struct iw_smt_spool *s)
{
	return s->sha256;
}

/* ---- names (sanitising: smt_store.c) ------------------------------------------ */

int iw_smt_is_billing_name(const char *name)
{
	static const char *const marks[] = { "billing", "billread", "monthlybilling",
					     "dailymeterusage" };
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
		if (strcasestr(name, marks[i]))
			return 1;
	return 0;
}

/* ---- interval rows -> UsageIntervalModule ---------------------------------------- */

static const char SQL_INGEST_TEMP[] =
	"CREATE TEMP TABLE IF NOT EXISTS iw_ingest (esiid text, ts timestamp(3), "
	"kwh numeric(10,5), estimated boolean, flow char(1), line bigint) ON COMMIT DELETE ROWS";
/* "relation already exists, skipping" would reach stderr as a bare line. */
static const char SQL_QUIET[] = "SET LOCAL client_min_messages = warning";
static const char SQL_INGEST_CLEAR[] = "TRUNCATE iw_ingest";
static const char SQL_INGEST_COPY[] =
	"COPY iw_ingest (esiid, ts, kwh, estimated, flow, line) FROM STDIN";
static const char SQL_INGEST_UPSERT[] =
	"WITH src AS MATERIALIZED ("
	" SELECT DISTINCT ON (esiid, ts, flow) esiid, ts, kwh, estimated, flow"
	" FROM iw_ingest ORDER BY esiid, ts, flow, line DESC), "
	"changed AS ("
	" INSERT INTO \"UsageIntervalModule\" AS t (esiid, meter, ts, kwh, estimated, flow, source, filled)"
	" SELECT esiid, $1, ts, kwh, estimated, flow, $2, false FROM src"
	" ON CONFLICT (esiid, meter, ts, flow) DO UPDATE SET"
	"  kwh = EXCLUDED.kwh, estimated = EXCLUDED.estimated, source = EXCLUDED.source,"
	"  filled = EXCLUDED.filled, \"updatedAt\" = CURRENT_TIMESTAMP"
	" WHERE (t.kwh, t.estimated, t.source, t.filled) IS DISTINCT FROM"
	"       (EXCLUDED.kwh, EXCLUDED.estimated, EXCLUDED.source, EXCLUDED.filled)"
	" RETURNING (t.xmax = 0) AS inserted) "
	"SELECT (SELECT count(*) FROM src), count(*) FILTER (WHERE inserted),"
	" count(*) FILTER (WHERE NOT inserted) FROM changed";
static const char SQL_INGEST_ESIIDS[] = "SELECT DISTINCT esiid FROM iw_ingest ORDER BY 1";

/* The COPY of parsed rows in progress. The temporary-table rows carry the
 * line number (the later repeat wins); the direct rows carry the columns of
 * the target tables, whose column lists are the same in both databases. */
struct load {
	PGconn *usage;
	PGconn *master;          /* direct load: the same rows into SmtInterval too */
	int direct;
	const char *meter_copy;  /* direct load: COPY-escaped meter and source */
	const char *source_copy;
	size_t meter_len, source_len;
	size_t backlog;          /* bytes queued since both were last drained */
	char *buf;
	size_t n;
	char err[256];
	char state[6];           /* SQLSTATE of the first failure */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* "YYYY-MM-DD HH:MM:SS.mmm" of MS (UTC), without snprintf: one per row. */
static size_t format_ts(int64_t ms, char *o)
{
	int64_t days = floor_div(ms, 86400000), rem = ms - days * 86400000;
	/* civil_from_days (H. Hinnant) */
	int64_t z = days + 719468, era = floor_div(z, 146097);
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	unsigned h = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60),
		 s = (unsigned)(rem / 1000 % 60), msec = (unsigned)(rem % 1000);

	if (m <= 2)
		y++;
	if (y < 0 || y > 9999)
		y = 0;
#define D2(v) (*o++ = (char)('0' + (v) / 10), *o++ = (char)('0' + (v) % 10))
	*o++ = (char)('0' + y / 1000);
	*o++ = (char)('0' + y / 100 % 10);
	D2((unsigned)(y % 100));
	*o++ = '-';
	D2(m);
	*o++ = '-';
	D2(d);
	*o++ = ' ';
	D2(h);
	*o++ = ':';
	D2(mi);
	*o++ = ':';
	D2(s);
	*o++ = '.';
	*o++ = (char)('0' + msec / 100);
	D2(msec % 100);
#undef D2
	return 23;
}

/* Sends what libpq holds for A and B (both nonblocking), writing to
 * whichever socket has room, so both servers take data at once rather than
 * in turn: 0, or -1 with ERR set. */
static int flush_both(PGconn *a, PGconn *b, char *err, size_t errlen)
{
	for (;;) {
		int fa = PQflush(a), fb = PQflush(b), n = 0;
		struct pollfd pf[2];

		if (fa < 0 || fb < 0) {
			snprintf(err, errlen, "%s", PQerrorMessage(fa < 0 ? a : b));
			return -1;
		}
		if (fa == 0 && fb == 0)
			return 0;
		/* POLLIN too: libpq reads what a server says while it waits. */
		if (fa)
			pf[n++] = (struct pollfd){ .fd = PQsocket(a), .events = POLLOUT | POLLIN };
		if (fb)
			pf[n++] = (struct pollfd){ .fd = PQsocket(b), .events = POLLOUT | POLLIN };
		if (poll(pf, (nfds_t)n, -1) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* With a master COPY too (nonblocking), the chunk is queued for both
 * servers and sent as far as each takes it; only past COPY_BACKLOG_MAX
 * queued bytes does the parse wait for both to catch up. So neither server
 * waits for the other (a meter-year fits the backlog) and memory stays
 * bounded. */
static int load_flush(struct load *l)
{
	if (!l->n)
		return 0;
	if (PQputCopyData(l->usage, l->buf, (int)l->n) != 1) {
		snprintf(l->err, sizeof l->err, "usage: %s", PQerrorMessage(l->usage));
		return 1;
	}
	if (l->master) {
		if (PQputCopyData(l->master, l->buf, (int)l->n) != 1) {
			snprintf(l->err, sizeof l->err, "master: %s", PQerrorMessage(l->master));
			return 1;
		}
		l->backlog += l->n;
		if (PQflush(l->usage) < 0 || PQflush(l->master) < 0 ||
		    (l->backlog >= COPY_BACKLOG_MAX &&
		     flush_both(l->usage, l->master, l->err, sizeof l->err) != 0)) {
			if (!l->err[0])
				snprintf(l->err, sizeof l->err, "sending rows: %s",
					 PQerrorMessage(l->usage));
			return 1;
		}
		if (l->backlog >= COPY_BACKLOG_MAX)
			l->backlog = 0;
	}
	l->n = 0;
	return 0;
}

static char *put_field(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	o += n;
	*o++ = '\t';
	return o;
}

static int on_interval(const struct iw_smt_interval *row, void *arg)
{
	struct load *l = arg;
	size_t el = strlen(row->esiid), kl = strlen(row->kwh);
	char *o;

	if (l->n + el + kl + l->meter_len + l->source_len + 64 > COPY_BUF && load_flush(l) != 0)
		return 1;
	o = put_field(l->buf + l->n, row->esiid, el);
	if (l->direct)
		o = put_field(o, l->meter_copy, l->meter_len);
	o += format_ts(row->ts_ms, o);
	*o++ = '\t';
	o = put_field(o, row->kwh, kl);
	*o++ = row->estimated ? 't' : 'f';
	*o++ = '\t';
	*o++ = row->flow == 'G' ? 'G' : 'C';
	*o++ = '\t';
	if (l->direct) {
		o = put_field(o, l->source_copy, l->source_len);
		*o++ = 'f'; /* filled */
		*o++ = '\n';
	} else {
		o += sprintf(o, "%ld\n", row->line);
	}
	l->n = (size_t)(o - l->buf);
	return 0;
}

#define PARSE_EIO (-100) /* reading the spool failed (errno set) */

/* Feeds the whole spooled file to P, CHUNK (SPOOL_CHUNK bytes) at a time:
 * 0, the parser's (or its callback's) code, or PARSE_EIO. */
static int parse_spool(int fd, struct iw_smt_csv *p, char *chunk)
{
	off_t off = 0;
	int prc;

	for (;;) {
		ssize_t n = pread(fd, chunk, SPOOL_CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PARSE_EIO;
		if (n == 0)
			break;
		off += n;
		if ((prc = iw_smt_csv_feed(p, chunk, (size_t)n)) != 0)
			return prc;
	}
	return iw_smt_csv_finish(p);
}

struct interval_result {
	struct iw_smt_csv_stats st;
	long long distinct, inserted, updated;
	char (*esiids)[IW_ESIID_MAX + 1];
	size_t nesiids;
};

/* Parses the spool into the usage database (its own transaction, committed).
 * Returns 0, or the HTTP status set in RESP. */
static int load_intervals(int fd, const struct iw_smt_file *file, const char *meter,
			  const char *source, struct interval_result *res, struct iw_response *resp)
{
	struct load l = { 0 };
	struct iw_smt_csv *p = NULL;
	PGresult *r = NULL;
	char *chunk = NULL;
	const char *params[2] = { meter, source };
	int rc = 0, copying = 0, prc = 0;

	if (!(l.usage = iw_db_conn(IW_DB_USAGE, resp)))
		return resp->status;
	if (!(l.buf = malloc(COPY_BUF)) || !(chunk = malloc(SPOOL_CHUNK)) ||
	    !(p = iw_smt_csv_new(on_interval, &l))) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	if (file->esiid && iw_smt_csv_set_esiid(p, file->esiid) != 0) {
		rc = iw_error(resp, 400, "invalid_request", "esiid: not 17-22 digits");
		goto out;
	}
	/* BEGIN replaces a connection found broken: only the one after it is live. */
	if (iw_db_run(IW_DB_USAGE, resp, "BEGIN", 0, NULL) != 0 ||
	    !(l.usage = iw_db_conn(IW_DB_USAGE, resp))) {
		rc = resp->status;
		goto out;
	}
	if (iw_pg_tx_limits(l.usage, l.err, sizeof l.err) != 0)
		goto db_fail;
	if (iw_db_run(IW_DB_USAGE, resp, SQL_QUIET, 0, NULL) != 0 ||
	    iw_db_run(IW_DB_USAGE, resp, SQL_INGEST_TEMP, 0, NULL) != 0 ||
	    iw_db_run(IW_DB_USAGE, resp, SQL_INGEST_CLEAR, 0, NULL) != 0) {
		rc = resp->status;
		goto out;
	}
	r = PQexec(l.usage, SQL_INGEST_COPY);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		snprintf(l.err, sizeof l.err, "%s", PQresultErrorMessage(r));
		goto db_fail;
	}
	PQclear(r);
	r = NULL;
	copying = 1;
	if ((prc = parse_spool(fd, p, chunk)) == PARSE_EIO)
		goto io_fail;
	if (prc == 0 && load_flush(&l) != 0)
		prc = 1;
	if (prc != 0) {
		if (prc == IW_SMT_CSV_ENOHEADER) {
			rc = iw_error(resp, 400, "invalid_request",
				      "content: %s", iw_smt_csv_strerror(prc));
			goto out;
		}
		if (prc == IW_SMT_CSV_ENOMEM) {
			rc = iw_error(resp, 500, "internal_error", "out of memory");
			goto out;
		}
		goto db_fail;
	}
	copying = 0;
	if (PQputCopyEnd(l.usage, NULL) != 1) {
		snprintf(l.err, sizeof l.err, "%s", PQerrorMessage(l.usage));
		goto db_fail;
	}
	while ((r = PQgetResult(l.usage))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !l.err[0]) {
			iw_pg_sqlstate(r, l.state);
			snprintf(l.err, sizeof l.err, "%s", PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	if (l.err[0])
		goto db_fail;
	res->st = *iw_smt_csv_stats(p);
	if (res->st.rows > 0) {
		if (!(r = iw_pg_exec(l.usage, SQL_INGEST_UPSERT, 2, params,
				     "on UsageIntervalModule rows", resp))) {
			rc = resp->status;
			goto out;
		}
		res->distinct = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		res->inserted = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		res->updated = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
		PQclear(r);
		if (!(r = iw_db_exec(IW_DB_USAGE, resp, SQL_INGEST_ESIIDS, 0, NULL))) {
			rc = resp->status;
			goto out;
		}
		res->nesiids = (size_t)PQntuples(r);
		if (res->nesiids > MAX_FILE_ESIIDS) {
			rc = iw_error(resp, 400, "invalid_request",
				      "content: more than %d ESIIDs in one file", MAX_FILE_ESIIDS);
			goto out;
		}
		if (!(res->esiids = calloc(res->nesiids ? res->nesiids : 1, sizeof *res->esiids))) {
			rc = iw_error(resp, 500, "internal_error", "out of memory");
			goto out;
		}
		for (size_t i = 0; i < res->nesiids; i++)
			snprintf(res->esiids[i], sizeof res->esiids[i], "%s",
				 PQgetvalue(r, (int)i, 0));
		PQclear(r);
		r = NULL;
	}
	if (iw_db_commit(IW_DB_USAGE, resp) != 0)
		rc = resp->status;
	goto out;
io_fail:
	snprintf(l.err, sizeof l.err, "reading the spooled file: %s", strerror(errno));
db_fail:
	iw_logf("error", "interval load failed: %s", l.err[0] ? l.err : "unknown");
	if (PQstatus(l.usage) != CONNECTION_OK)
		rc = iw_error(resp, 503, "database_unavailable", "the usage database is unavailable");
	else if (!(rc = iw_pg_limit_error(resp, l.state, "on UsageIntervalModule rows")))
		rc = iw_error(resp, 500, "internal_error", "loading the interval rows failed");
out:
	if (copying) {
		PQputCopyEnd(l.usage, "ingest aborted");
		while ((r = PQgetResult(l.usage)))
			PQclear(r);
	}
	PQclear(r);
	if (rc)
		iw_db_rollback(IW_DB_USAGE);
	iw_smt_csv_free(p);
	free(chunk);
	free(l.buf);
	return rc;
}

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- direct load: a window nobody has written ------------------------------------ */

/* A new meter-year is the common case and the costly one. When the usage
 * database holds no row of the file's ESIIDs in the file's time window, every
 * row of the file is new: the rows are COPYed straight into
 * UsageIntervalModule, with no temporary table and no upsert. When SmtInterval
 * is empty in that window too (checked under the normalisation lock), usage's
 * window afterwards holds exactly the file's rows, which is what normalising
 * it would copy: the same bytes go into SmtInterval at the same time, over
 * the master connection, and the two servers work in parallel.
 * The unique keys keep this exact: a repeat inside the file, or a writer that
 * got into the window meanwhile, fails the COPY (unique violation), which is
 * undone (usage: its whole transaction; master: a savepoint) before the file
 * takes the general path from scratch. */

#define DIRECT_ESIIDS_MAX IW_USAGE_ESIIDS_MAX   /* one window check, one lock list */
#define DIRECT_LIST_MAX   (DIRECT_ESIIDS_MAX * (IW_ESIID_MAX + 1) + 1)
#define DIRECT_FIELD_MAX  (2 * IW_SMT_METER_MAX + 1)   /* COPY-escaped meter / source */
#define SQLSTATE_UNIQUE_VIOLATION "23505"

static const char SQL_USAGE_WINDOW_EMPTY[] =
	"SELECT NOT EXISTS (SELECT 1 FROM \"UsageIntervalModule\" "
	"WHERE esiid = ANY (string_to_array($1, ',')) AND ts >= $2::timestamp AND ts <= $3::timestamp)";
/* Writes to SmtInterval take usage_normalize's per-ESIID lock
 * (IW_USAGE_SQL_LOCK_ESIIDS): it serialises every normalisation of an ESIID. */
static const char SQL_MASTER_WINDOW_EMPTY[] =
	"SELECT NOT EXISTS (SELECT 1 FROM \"SmtInterval\" "
	"WHERE esiid = ANY (string_to_array($1, ',')) AND ts >= $2::timestamp AND ts <= $3::timestamp)";
static const char SQL_DIRECT_SAVEPOINT[] = "SAVEPOINT iw_ingest_direct";
static const char SQL_DIRECT_ROLLBACK[] = "ROLLBACK TO SAVEPOINT iw_ingest_direct";
static const char SQL_DIRECT_RELEASE[] = "RELEASE SAVEPOINT iw_ingest_direct";
/* Same columns, same order, in both tables: one buffer feeds both COPYs. */
static const char SQL_USAGE_COPY_DIRECT[] =
	"COPY \"UsageIntervalModule\" (esiid, meter, ts, kwh, estimated, flow, source, filled) "
	"FROM STDIN";
static const char SQL_MASTER_COPY_DIRECT[] =
	"COPY \"SmtInterval\" (esiid, meter, ts, kwh, estimated, flow, source, filled) FROM STDIN";

/* The file's ESIIDs and window, from a parse that touches no database. */
struct scan {
	char esiids[DIRECT_ESIIDS_MAX][IW_ESIID_MAX + 1];
	size_t n;
	struct iw_smt_csv_stats st;
};

#define SCAN_TOO_MANY 1 /* callback abort: more ESIIDs than the direct path takes */

static int on_scan(const struct iw_smt_interval *row, void *arg)
{
	struct scan *sc = arg;

	/* Rows come grouped by ESIID: the search from the end stops at once. */
	for (size_t i = sc->n; i-- > 0;)
		if (strcmp(sc->esiids[i], row->esiid) == 0)
			return 0;
	if (sc->n == DIRECT_ESIIDS_MAX)
		return SCAN_TOO_MANY;
	snprintf(sc->esiids[sc->n++], sizeof sc->esiids[0], "%s", row->esiid);
	return 0;
}

/* 0 when the file parses with at least one row and few enough ESIIDs for the
 * direct path; -1 otherwise (the general path then reports what is wrong). */
static int scan_file(int fd, const char *esiid, char *chunk, struct scan *sc)
{
	struct iw_smt_csv *p = iw_smt_csv_new(on_scan, sc);
	int rc = -1;

	if (p && (!esiid || iw_smt_csv_set_esiid(p, esiid) == 0) &&
	    parse_spool(fd, p, chunk) == 0) {
		sc->st = *iw_smt_csv_stats(p);
		rc = sc->st.rows > 0 ? 0 : -1;
	}
	iw_smt_csv_free(p);
	return rc;
}

/* S in COPY text format into OUT (DIRECT_FIELD_MAX + 1 bytes): its length,
 * or -1 when it does not fit. */
static long copy_escape(const char *s, char *out)
{
	size_t o = 0;

	for (; *s; s++) {
		char c = *s, e = c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n'
				 : c == '\r' ? 'r' : 0;
		if (o + 2 > DIRECT_FIELD_MAX)
			return -1;
		if (e) {
			out[o++] = '\\';
			c = e;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return (long)o;
}

/* 1 when SQL (one boolean column) answers true, 0 when false, -1 (RESP set). */
static int query_true(enum iw_db db, const char *sql, const char *const params[3],
		      struct iw_response *resp)
{
	PGresult *r = iw_db_exec(db, resp, sql, 3, params);
	int t;

	if (!r)
		return -1;
	t = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return t;
}

enum copy_outcome { COPY_OK, COPY_CONFLICT, COPY_FAILED };

/* Reads the result of the COPY IN ended on CONN. The first error message
 * goes to ERR when it is still empty. */
static enum copy_outcome copy_result(PGconn *conn, char *err, size_t errlen, char state[6])
{
	enum copy_outcome out = COPY_OK;
	PGresult *r;

	while ((r = PQgetResult(conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && out == COPY_OK) {
			const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
			out = st && strcmp(st, SQLSTATE_UNIQUE_VIOLATION) == 0 ? COPY_CONFLICT
									     : COPY_FAILED;
			if (!err[0]) {
				snprintf(state, 6, "%s", st ? st : "");
				snprintf(err, errlen, "%s", PQresultErrorMessage(r));
			}
		}
		PQclear(r);
	}
	return out;
}

static int copy_begin(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	PGresult *r = PQexec(conn, sql);
	int rc = PQresultStatus(r) == PGRES_COPY_IN ? 0 : -1;

	if (rc)
		snprintf(err, errlen, "%s", PQresultErrorMessage(r));
	PQclear(r);
	return rc;
}

#define COPY_ABORT_MSG "ingest aborted"

/* Parses the file again, streaming its rows into L->usage (and L->master when
 * set) with COPY; sets the outcome of each side and the stats of the parse. */
static void copy_direct(int fd, const char *esiid, char *chunk, struct load *l,
			enum copy_outcome *usage_out, enum copy_outcome *master_out,
			struct iw_smt_csv_stats *st)
{
	struct iw_smt_csv *p = NULL;
	const char *abort_msg = NULL;
	int usage_ended, master_ended;

	*usage_out = *master_out = COPY_FAILED;
	if (copy_begin(l->usage, SQL_USAGE_COPY_DIRECT, l->err, sizeof l->err) != 0)
		return;
	if (l->master && copy_begin(l->master, SQL_MASTER_COPY_DIRECT, l->err, sizeof l->err) != 0) {
		PQputCopyEnd(l->usage, COPY_ABORT_MSG);
		copy_result(l->usage, l->err, sizeof l->err, l->state);
		return;
	}
	if (l->master && (PQsetnonblocking(l->usage, 1) != 0 || PQsetnonblocking(l->master, 1) != 0))
		abort_msg = COPY_ABORT_MSG;
	else if (!(p = iw_smt_csv_new(on_interval, l)) ||
	    (esiid && iw_smt_csv_set_esiid(p, esiid) != 0) || parse_spool(fd, p, chunk) != 0 ||
	    load_flush(l) != 0) {
		/* Bytes that parsed once parse again: this is memory, I/O or a
		 * connection, and both sides are abandoned. */
		abort_msg = COPY_ABORT_MSG;
		if (!l->err[0])
			snprintf(l->err, sizeof l->err, "parsing the spooled file again failed");
	} else {
		*st = *iw_smt_csv_stats(p);
	}
	iw_smt_csv_free(p);
	/* Everything sent, then blocking again: the ends and results below
	 * wait as usual. */
	if (l->master && (flush_both(l->usage, l->master, l->err, sizeof l->err) != 0 ||
			  PQsetnonblocking(l->usage, 0) != 0 || PQsetnonblocking(l->master, 0) != 0))
		abort_msg = COPY_ABORT_MSG;
	/* Both ends first, then both results: the servers finish in parallel. */
	usage_ended = PQputCopyEnd(l->usage, abort_msg) == 1;
	master_ended = !l->master || PQputCopyEnd(l->master, abort_msg) == 1;
	if ((!usage_ended || !master_ended) && !l->err[0])
		snprintf(l->err, sizeof l->err, "%s",
			 PQerrorMessage(usage_ended ? l->master : l->usage));
	*usage_out = copy_result(l->usage, l->err, sizeof l->err, l->state);
	if (l->master)
		*master_out = copy_result(l->master, l->err, sizeof l->err, l->state);
	if (abort_msg || !usage_ended)
		*usage_out = COPY_FAILED;
	if (abort_msg || !master_ended)
		*master_out = COPY_FAILED;
}

struct direct_result {
	int usage_done;   /* the rows are in UsageIntervalModule, committed */
	int master_done;  /* ... and in SmtInterval, in the caller's transaction */
};

/* Hands the scanned ESIIDs to RES (the list the caller normalises). */
static int keep_esiids(const struct scan *sc, struct interval_result *res)
{
	if (!(res->esiids = calloc(sc->n, sizeof *res->esiids)))
		return -1;
	memcpy(res->esiids, sc->esiids, sc->n * sizeof *res->esiids);
	res->nesiids = sc->n;
	return 0;
}

static void esiid_list(const struct scan *sc, char out[DIRECT_LIST_MAX])
{
	size_t o = 0;

	for (size_t i = 0; i < sc->n; i++) {
		size_t n = strlen(sc->esiids[i]);
		if (i)
			out[o++] = ',';
		memcpy(out + o, sc->esiids[i], n);
		o += n;
	}
	out[o] = '\0';
}

/* Takes the direct path when the windows allow it (see above). Returns 0 with
 * OUT saying what was done (nothing: the general path follows, with both
 * databases as they were), or the HTTP status set in RESP (the usage
 * transaction is then rolled back; the caller rolls the master one back). */
static int load_direct(int fd, const struct iw_smt_file *file, const char *meter,
		       const char *source, PGconn *master, struct interval_result *res,
		       struct direct_result *out, struct iw_response *resp)
{
	char meter_copy[DIRECT_FIELD_MAX + 1], source_copy[DIRECT_FIELD_MAX + 1];
	char start[32], end[32], *list = NULL, *chunk = NULL;
	const char *params[3];
	struct scan *sc = NULL;
	struct load l = { .master = NULL, .direct = 1 };
	struct iw_smt_csv_stats st = { 0 };
	enum copy_outcome uo, mo;
	long ml = copy_escape(meter, meter_copy), sl = copy_escape(source, source_copy);
	int rc = 0, usage_tx = 0, savepoint = 0, empty;

	memset(out, 0, sizeof *out);
	if (ml < 0 || sl < 0)
		return 0;
	if (!(sc = malloc(sizeof *sc)) || !(list = malloc(DIRECT_LIST_MAX)) ||
	    !(chunk = malloc(SPOOL_CHUNK)) || !(l.buf = malloc(COPY_BUF))) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	sc->n = 0;
	if (scan_file(fd, file->esiid, chunk, sc) != 0)
		goto out;
	esiid_list(sc, list);
	iw_usage_ts_sql(sc->st.min_ts_ms, start);
	iw_usage_ts_sql(sc->st.max_ts_ms, end);
	params[0] = list;
	params[1] = start;
	params[2] = end;

	/* The connection after BEGIN: BEGIN replaces one found broken. */
	if (iw_db_begin(IW_DB_USAGE, resp) != 0 || !(l.usage = iw_db_conn(IW_DB_USAGE, resp)))
		goto db_status;
	usage_tx = 1;
	if (iw_pg_tx_limits(l.usage, l.err, sizeof l.err) != 0)
		goto db_fail;
	if ((empty = query_true(IW_DB_USAGE, SQL_USAGE_WINDOW_EMPTY, params, resp)) < 0)
		goto db_status;
	if (!empty)
		goto out; /* a re-pull or an overlap: the upsert decides row by row */
	if ((rc = iw_pg_lock_esiids(master, list, resp)) != 0)
		goto out;
	if ((empty = query_true(IW_DB_MASTER, SQL_MASTER_WINDOW_EMPTY, params, resp)) < 0)
		goto db_status;
	if (empty) {
		if (iw_db_run(IW_DB_MASTER, resp, SQL_DIRECT_SAVEPOINT, 0, NULL) != 0)
			goto db_status;
		savepoint = 1;
		l.master = master;
	}
	l.meter_copy = meter_copy;
	l.meter_len = (size_t)ml;
	l.source_copy = source_copy;
	l.source_len = (size_t)sl;
	copy_direct(fd, file->esiid, chunk, &l, &uo, &mo, &st);
	if (uo == COPY_FAILED || (savepoint && mo == COPY_FAILED))
		goto db_fail;
	if (savepoint && (uo == COPY_CONFLICT || mo == COPY_CONFLICT)) {
		/* Not the rows normalising would give, or written meanwhile:
		 * SmtInterval as it was, the normaliser decides. */
		if (iw_db_run(IW_DB_MASTER, resp, SQL_DIRECT_ROLLBACK, 0, NULL) != 0)
			goto db_status;
	} else if (savepoint) {
		if (iw_db_run(IW_DB_MASTER, resp, SQL_DIRECT_RELEASE, 0, NULL) != 0)
			goto db_status;
		out->master_done = 1;
	}
	if (uo == COPY_CONFLICT) {
		l.err[strcspn(l.err, "\n")] = '\0';
		iw_logf("info", "direct load declined: %s", l.err);
		goto out; /* repeats inside the file, or a concurrent writer */
	}
	if (keep_esiids(sc, res) != 0) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	if (iw_db_commit(IW_DB_USAGE, resp) != 0)
		goto db_status;
	usage_tx = 0;
	res->st = st;
	res->distinct = res->inserted = st.rows;
	res->updated = 0;
	out->usage_done = 1;
	goto out;
db_fail:
	iw_logf("error", "direct interval load failed: %s", l.err[0] ? l.err : "unknown");
	if (PQstatus(l.usage) != CONNECTION_OK || PQstatus(master) != CONNECTION_OK)
		rc = iw_error(resp, 503, "database_unavailable", "a database connection was lost");
	else if (!(rc = iw_pg_limit_error(resp, l.state, "on interval rows")))
		rc = iw_error(resp, 500, "internal_error", "loading the interval rows failed");
	goto out;
db_status:
	rc = resp->status;
out:
	if (usage_tx)
		iw_db_rollback(IW_DB_USAGE);
	if (rc == 0 && !out->usage_done) {
		free(res->esiids);
		res->esiids = NULL;
		res->nesiids = 0;
		out->master_done = 0;
	}
	free(sc);
	free(list);
	free(chunk);
	free(l.buf);
	return rc;
}

/* ---- the whole file ------------------------------------------------------------------ */

static const char SQL_KNOWN[] =
	"SELECT id, coalesce(storage_path, '') FROM raw_smt_files WHERE sha256 = $1";
static const char SQL_CLAIM[] =
	"INSERT INTO raw_smt_files (filename, size_bytes, sha256, source, content_type, "
	"storage_path, esiid, meter, captured_at) "
	"VALUES ($1, $2::bigint, $3, $4, $5, $6, $7, $8, $9::timestamptz) "
	"ON CONFLICT (sha256) DO NOTHING RETURNING id";
static const char SQL_RECORD_ESIID[] =
	"UPDATE raw_smt_files SET esiid = coalesce(esiid, $2), updated_at = now() WHERE id = $1::bigint";

static json_object *summary_json(const struct iw_usage_summary *s)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "rawCount", json_object_new_int64(s->raw));
	json_object_object_add(o, "insertedCount", json_object_new_int64(s->inserted));
	json_object_object_add(o, "updatedCount", json_object_new_int64(s->updated));
	json_object_object_add(o, "unchangedCount", json_object_new_int64(s->unchanged));
	return o;
}

static json_object *reasons_json(const struct iw_smt_csv_reason *r, int n)
{
	json_object *a = json_object_new_array();
	for (int i = 0; a && i < n && i < IW_SMT_MALFORMED_SHOWN; i++) {
		json_object *o = json_object_new_object();
		if (!o)
			break;
		json_object_object_add(o, "line", json_object_new_int64(r[i].line));
		json_object_object_add(o, "reason", json_object_new_string(r[i].msg));
		json_object_array_add(a, o);
	}
	return a;
}

static json_object *base_body(const struct iw_smt_file *file, const char *filename,
			      const struct iw_smt_spool *s, const char *path, int duplicate)
{
	json_object *b = json_object_new_object();
	if (!b)
		return NULL;
	json_object_object_add(b, "mode", json_object_new_string(file->mode));
	json_object_object_add(b, "filename", json_object_new_string(filename));
	json_object_object_add(b, "sha256", json_object_new_string(s->sha256));
	json_object_object_add(b, "sizeBytes", json_object_new_int64((int64_t)s->size));
	json_object_object_add(b, "storagePath", json_object_new_string(path));
	json_object_object_add(b, "duplicate", json_object_new_boolean(duplicate));
	return b;
}

/* Normalises ESIIDS (in chunks the filter allows) over [MIN, MAX] into SUM. */
static int normalize_file(const struct interval_result *ir, struct iw_usage_summary *sum,
			  struct iw_response *resp)
{
	const char *ptrs[IW_USAGE_ESIIDS_MAX];
	size_t i = 0;

	memset(sum, 0, sizeof *sum);
	while (i < ir->nesiids) {
		struct iw_usage_filter f = { .has_start = 1, .has_end = 1,
					     .start_ms = ir->st.min_ts_ms, .end_ms = ir->st.max_ts_ms };
		struct iw_usage_summary part;
		size_t n = 0;
		int rc;
		for (; i < ir->nesiids && n < IW_USAGE_ESIIDS_MAX; i++)
			ptrs[n++] = ir->esiids[i];
		f.esiids = ptrs;
		f.nesiids = n;
		if ((rc = iw_usage_normalize(&f, 1, &part, resp)) != 0)
			return rc;
		sum->raw += part.raw;
		sum->inserted += part.inserted;
		sum->updated += part.updated;
		sum->unchanged += part.unchanged;
	}
	return 0;
}

int iw_smt_ingest(const struct iw_smt_file *file, struct iw_smt_spool *spool,
		  json_object **body_out, struct iw_response *resp)
{
	char filename[IW_SMT_FILENAME_MAX + 1], key[IW_STORAGE_KEY_MAX + 1], size[24], id[24];
	char date[11], sniff[SNIFF_BYTES];
	const char *meter = file->meter ? file->meter : IW_SMT_METER_DEFAULT;
	const char *source = file->source ? file->source : IW_SMT_SOURCE_DEFAULT;
	const char *ctype = iw_smt_content_type(file->content_type);
	struct interval_result ir = { 0 };
	struct iw_smt_billing_stats bs = { 0 };
	struct iw_usage_summary norm = { 0 };
	json_object *body = NULL;
	PGresult *r = NULL;
	PGconn *master;
	int rc = 0, billing, in_tx = 0;
	ssize_t sniffed;
	time_t now = time(NULL);
	struct tm tm;
	long long t_load = 0, t_norm = 0, t_store = 0, t0;

	*body_out = NULL;
	if (iw_smt_spool_finish(spool) != 0)
		return iw_error(resp, spool->err == IW_SMT_SPOOL_ETOOBIG ? 413
				      : spool->err == IW_SMT_SPOOL_EIO ? 500 : 400,
				spool->err == IW_SMT_SPOOL_ETOOBIG ? "payload_too_large"
				: spool->err == IW_SMT_SPOOL_EIO ? "internal_error" : "invalid_request",
				"content: %s", spool->errbuf);
	if (file->size_expected >= 0 && (uint64_t)file->size_expected != spool->size)
		return iw_error(resp, 400, "invalid_request",
				"sizeBytes: %lld given, the decoded content has %llu bytes",
				file->size_expected, (unsigned long long)spool->size);
	iw_smt_filename_sanitize(file->filename, filename);
	{
		/* The stored bytes are the decoded ones: "x.csv.gz" is kept as "x.csv". */
		size_t n = strlen(filename);
		if (spool->enc == IW_SMT_GZIP && n > 3 && strcasecmp(filename + n - 3, ".gz") == 0)
			filename[n - 3] = '\0';
	}
	snprintf(size, sizeof size, "%llu", (unsigned long long)spool->size);

	/* Known bytes: nothing is stored or loaded again. */
	{
		const char *p[1] = { spool->sha256 };
		if (!(r = iw_db_exec(IW_DB_MASTER, resp, SQL_KNOWN, 1, p)))
			return resp->status;
		if (PQntuples(r) == 1) {
			body = base_body(file, filename, spool, PQgetvalue(r, 0, 1), 1);
			if (body) {
				json_object_object_add(body, "rawFileId",
						       json_object_new_int64(strtoll(PQgetvalue(r, 0, 0), NULL, 10)));
				json_object_object_add(body, "rows", json_object_new_int(0));
				json_object_object_add(body, "skippedRows", json_object_new_int(0));
			}
			PQclear(r);
			if (!body)
				return iw_error(resp, 500, "internal_error", "out of memory");
			*body_out = body;
			return 0;
		}
		PQclear(r);
		r = NULL;
	}

	/* What kind of file: billing by name (SPEC §5), interval by header. */
	billing = iw_smt_is_billing_name(filename);
	sniffed = pread(spool->fd, sniff, sizeof sniff, 0);
	if (sniffed < 0)
		return iw_error(resp, 500, "internal_error", "reading the spooled file failed");
	if (!billing && !iw_smt_csv_is_interval_header(sniff, (size_t)sniffed))
		return iw_error(resp, 400, "invalid_request",
				"content: neither an SMT interval CSV (ESIID,USAGE_DATE,...,USAGE_KWH) "
				"nor a billing export (filename containing billing, billread, "
				"monthlybilling or dailymeterusage)");

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%d", &tm);
	if (iw_smt_store_key(date, spool->sha256, filename, key, sizeof key) != 0)
		return iw_error(resp, 400, "invalid_request", "filename: not usable in a storage key");

	/* 1. Store first: nothing is written to a database unless the bytes are
	 * kept. The key holds the sha256: a resend puts the same bytes there. */
	t0 = now_ms();
	if ((rc = iw_smt_store_spool(spool->fd, key, ctype, resp)) != 0)
		return rc;
	t_store = now_ms() - t0;

	/* 2. Claim the sha256 in the master transaction. */
	/* The connection after BEGIN: BEGIN replaces one found broken. */
	if (iw_db_begin(IW_DB_MASTER, resp) != 0 || !(master = iw_db_conn(IW_DB_MASTER, resp)))
		return resp->status;
	in_tx = 1;
	{
		char err[256];
		if (iw_pg_tx_limits(master, err, sizeof err) != 0) {
			iw_logf("error", "setting the master limits failed: %s", err);
			/* A connection lost since BEGIN (a server restart): 503, not 500. */
			rc = PQstatus(master) != CONNECTION_OK
				     ? iw_error(resp, 503, "database_unavailable",
						"a database connection was lost")
				     : iw_error(resp, 500, "internal_error", "a database statement failed");
			goto out;
		}
	}
	{
		const char *p[9] = { filename, size, spool->sha256, source, ctype, key,
				     file->esiid, file->meter, file->captured_at };
		char lock[80];
		snprintf(lock, sizeof lock, "raw_smt_files:%s", spool->sha256);
		/* A concurrent post of the same bytes holds the claim until it ends. */
		if (!(r = iw_pg_exec(master, SQL_CLAIM, 9, p, lock, resp))) {
			rc = resp->status;
			goto out;
		}
		if (PQntuples(r) == 0) {
			/* Claimed meanwhile by a concurrent post of the same bytes. */
			PQclear(r);
			r = NULL;
			iw_db_rollback(IW_DB_MASTER);
			in_tx = 0;
			return iw_smt_ingest(file, spool, body_out, resp);
		}
		snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		r = NULL;
	}

	/* 3. Rows. */
	t0 = now_ms();
	if (billing) {
		struct iw_smt_billing_file bf = { .fd = spool->fd, .raw_file_id = strtoll(id, NULL, 10),
						  .filename = filename, .esiid = file->esiid,
						  .meter = file->meter, .source = source };
		char err[512] = "";
		int brc = iw_smt_billing_load(master, &bf, &bs, err, sizeof err);
		if (brc == IW_SMT_BILLING_ENOHEADER) {
			rc = iw_error(resp, 400, "invalid_request", "content: %s", err);
			goto out;
		}
		if (brc != 0) {
			iw_logf("error", "billing load failed: %s", err);
			if (!(rc = iw_pg_limit_error(resp, bs.sqlstate, "on SmtBillingRead rows")))
				rc = iw_error(resp, 500, "internal_error", "loading the billing rows failed");
			goto out;
		}
	} else {
		struct direct_result direct;

		if ((rc = load_direct(spool->fd, file, meter, source, master, &ir, &direct, resp)) != 0)
			goto out;
		if (!direct.usage_done &&
		    (rc = load_intervals(spool->fd, file, meter, source, &ir, resp)) != 0)
			goto out;
		t_load = now_ms() - t0;
		t0 = now_ms();
		if (direct.master_done)
			norm.raw = norm.inserted = ir.inserted;
		else if (ir.nesiids && (rc = normalize_file(&ir, &norm, resp)) != 0)
			goto out;
		t_norm = now_ms() - t0;
	}
	if (billing)
		t_load = now_ms() - t0;
	t0 = now_ms();

	/* 4. Record, commit: the rows and the marker become visible at once. */
	{
		const char *fesiid = billing ? file->esiid : (ir.st.esiid[0] ? ir.st.esiid : file->esiid);
		const char *p[2] = { id, fesiid };
		if (iw_db_run(IW_DB_MASTER, resp, SQL_RECORD_ESIID, 2, p) != 0 ||
		    iw_db_commit(IW_DB_MASTER, resp) != 0) {
			rc = resp->status;
			goto out;
		}
		in_tx = 0;
	}
	t_store += now_ms() - t0;

	if (!(body = base_body(file, filename, spool, key, 0))) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_object_object_add(body, "rawFileId", json_object_new_int64(strtoll(id, NULL, 10)));
	json_object_object_add(body, "kind", json_object_new_string(billing ? "billing" : "interval"));
	json_object_object_add(body, "meter", json_object_new_string(meter));
	json_object_object_add(body, "source", json_object_new_string(source));
	if (billing) {
		json_object_object_add(body, "rows", json_object_new_int64(bs.rows));
		json_object_object_add(body, "skippedRows", json_object_new_int64(bs.malformed));
		json_object_object_add(body, "malformedRows", json_object_new_int64(bs.malformed));
		{
			struct iw_smt_csv_reason rs[IW_SMT_BILLING_REASONS];
			for (int i = 0; i < bs.nreasons; i++) {
				rs[i].line = bs.reasons[i].line;
				snprintf(rs[i].msg, sizeof rs[i].msg, "%s", bs.reasons[i].msg);
			}
			json_object_object_add(body, "malformed", reasons_json(rs, bs.nreasons));
		}
		json_object_object_add(body, "billingInserted", json_object_new_int64(bs.rows));
		json_object_object_add(body, "billingReplaced", json_object_new_int64(bs.replaced));
		json_object_object_add(body, "latin1Lines", json_object_new_int64(bs.transcoded));
	} else {
		json_object *loaded = json_object_new_object();
		json_object_object_add(body, "esiid", ir.st.esiid[0] ? json_object_new_string(ir.st.esiid) : NULL);
		json_object_object_add(body, "rows", json_object_new_int64(ir.st.rows));
		json_object_object_add(body, "skippedRows", json_object_new_int64(ir.st.blank + ir.st.malformed));
		json_object_object_add(body, "blankRows", json_object_new_int64(ir.st.blank));
		json_object_object_add(body, "malformedRows", json_object_new_int64(ir.st.malformed));
		json_object_object_add(body, "malformed", reasons_json(ir.st.reasons, ir.st.nreasons));
		if (ir.st.rows > 0) {
			char first[32], last[32];
			iw_timestamp_format(ir.st.min_ts_ms, first);
			iw_timestamp_format(ir.st.max_ts_ms, last);
			json_object_object_add(body, "firstIntervalStart", json_object_new_string(first));
			json_object_object_add(body, "lastIntervalStart", json_object_new_string(last));
		}
		if (loaded) {
			json_object_object_add(loaded, "intervals", json_object_new_int64(ir.distinct));
			json_object_object_add(loaded, "supersededInFile",
					       json_object_new_int64(ir.st.rows - ir.distinct));
			json_object_object_add(loaded, "insertedCount", json_object_new_int64(ir.inserted));
			json_object_object_add(loaded, "updatedCount", json_object_new_int64(ir.updated));
			json_object_object_add(loaded, "unchangedCount",
					       json_object_new_int64(ir.distinct - ir.inserted - ir.updated));
			json_object_object_add(body, "usageLoaded", loaded);
		}
		json_object_object_add(body, "intervalNormalized", summary_json(&norm));
	}
	{
		json_object *t = json_object_new_object();
		if (t) {
			json_object_object_add(t, "load", json_object_new_int64(t_load));
			json_object_object_add(t, "normalize", json_object_new_int64(t_norm));
			json_object_object_add(t, "storeAndCommit", json_object_new_int64(t_store));
			json_object_object_add(body, "timingsMs", t);
		}
	}
	*body_out = body;
	body = NULL;
out:
	PQclear(r);
	json_object_put(body);
	if (in_tx)
		iw_db_rollback(IW_DB_MASTER);
	free(ir.esiids);
	return rc;
}
