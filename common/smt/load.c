/* SMT ingest, the general load: parsed interval rows COPYed into a temporary
 * table of the usage database, repeats collapsed, upserted into
 * UsageIntervalModule (see ingest.c for the order of work). */
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

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"
#include "io/db.h"
#include "io/db_copy.h"
#include "io/db_raw.h"
#include "smt/csv.h"
#include "smt/ingest_load.h"
#include "usage/normalize.h"

/* ---- interval rows -> UsageIntervalModule ---------------------------------------- */

static const char SQL_INGEST_TEMP[] =
	"CREATE TEMP TABLE IF NOT EXISTS iw_ingest (esiid text, ts timestamp(3), "
	"kwh numeric(10,5), estimated boolean, flow char(1), line bigint) ON COMMIT DELETE ROWS";
/* "relation already exists, skipping" would reach stderr as a bare line. */
static const char SQL_QUIET[] = "SET LOCAL client_min_messages = warning";
static const char SQL_INGEST_CLEAR[] = "TRUNCATE iw_ingest";
static const char SQL_INGEST_COPY[] =
	"COPY iw_ingest (esiid, ts, kwh, estimated, flow, line) FROM STDIN";
/* Inserted vs updated: a partitioned table cannot return xmax, so each row
 * sent gets its new id here (the column default's own expression) and a row
 * that comes back with that id was inserted; an updated row keeps its id. */
static const char SQL_INGEST_UPSERT[] =
	"WITH src AS MATERIALIZED ("
	" SELECT DISTINCT ON (esiid, ts, flow) esiid, ts, kwh, estimated, flow"
	" FROM iw_ingest ORDER BY esiid, ts, flow, line DESC), "
	"ids AS MATERIALIZED ("
	" SELECT src.*, lpad(nextval('\"UsageIntervalModule_id_seq\"')::text, 20, '0') AS new_id FROM src), "
	"changed AS ("
	" INSERT INTO \"UsageIntervalModule\" AS t (id, esiid, meter, ts, kwh, estimated, flow, source, filled)"
	" SELECT new_id, esiid, $1, ts, kwh, estimated, flow, $2, false FROM ids"
	" ON CONFLICT (esiid, meter, ts, flow) DO UPDATE SET"
	"  kwh = EXCLUDED.kwh, estimated = EXCLUDED.estimated, source = EXCLUDED.source,"
	"  filled = EXCLUDED.filled, \"updatedAt\" = CURRENT_TIMESTAMP"
	" WHERE (t.kwh, t.estimated, t.source, t.filled) IS DISTINCT FROM"
	"       (EXCLUDED.kwh, EXCLUDED.estimated, EXCLUDED.source, EXCLUDED.filled)"
	" RETURNING t.id) "
	"SELECT (SELECT count(*) FROM src), count(i.new_id), count(*) - count(i.new_id)"
	" FROM changed ch LEFT JOIN ids i ON i.new_id = ch.id";
static const char SQL_INGEST_ESIIDS[] = "SELECT DISTINCT esiid FROM iw_ingest ORDER BY 1";

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
int iw_smt_load_flush_both(PGconn *a, PGconn *b, char *err, size_t errlen)
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
int iw_smt_load_flush(struct load *l)
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
		     iw_smt_load_flush_both(l->usage, l->master, l->err, sizeof l->err) != 0)) {
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

int iw_smt_load_on_interval(const struct iw_smt_interval *row, void *arg)
{
	struct load *l = arg;
	size_t el = strlen(row->esiid), kl = strlen(row->kwh);
	char *o;

	if (l->n + el + kl + l->meter_len + l->source_len + 64 > COPY_BUF && iw_smt_load_flush(l) != 0)
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


/* Feeds the whole spooled file to P, CHUNK (SPOOL_CHUNK bytes) at a time:
 * 0, the parser's (or its callback's) code, or PARSE_EIO. */
int iw_smt_load_parse_spool(int fd, struct iw_smt_csv *p, char *chunk)
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

/* Parses the spool into the usage database (its own transaction, committed).
 * Returns 0, or the enum iw_err set in ERROR. */
int iw_smt_load_intervals(int fd, const struct iw_smt_file *file, const char *meter,
			  const char *source, struct interval_result *res, struct iw_error *error)
{
	struct load l = { 0 };
	struct iw_smt_csv *p = NULL;
	PGresult *r = NULL;
	char *chunk = NULL;
	const char *params[2] = { meter, source };
	int rc = 0, copying = 0, prc = 0;

	if (!(l.usage = iw_db_conn(IW_DB_USAGE, error)))
		return (int)error->code;
	if (!(l.buf = malloc(COPY_BUF)) || !(chunk = malloc(SPOOL_CHUNK)) ||
	    !(p = iw_smt_csv_new(iw_smt_load_on_interval, &l))) {
		rc = iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (file->esiid && iw_smt_csv_set_esiid(p, file->esiid) != 0) {
		rc = iw_err_set(error, IW_ERR_INPUT, "esiid: not 17-22 digits");
		goto out;
	}
	/* BEGIN replaces a connection found broken: only the one after it is live. */
	if (iw_db_run(IW_DB_USAGE, error, "BEGIN", 0, NULL) != 0 ||
	    !(l.usage = iw_db_conn(IW_DB_USAGE, error))) {
		rc = (int)error->code;
		goto out;
	}
	if (iw_pg_tx_limits(l.usage, l.err, sizeof l.err) != 0)
		goto db_fail;
	if (iw_db_run(IW_DB_USAGE, error, SQL_QUIET, 0, NULL) != 0 ||
	    iw_db_run(IW_DB_USAGE, error, SQL_INGEST_TEMP, 0, NULL) != 0 ||
	    iw_db_run(IW_DB_USAGE, error, SQL_INGEST_CLEAR, 0, NULL) != 0) {
		rc = (int)error->code;
		goto out;
	}
	if (iw_db_copy_start(l.usage, SQL_INGEST_COPY, PGRES_COPY_IN, l.err, sizeof l.err) != 0)
		goto db_fail;
	copying = 1;
	if ((prc = iw_smt_load_parse_spool(fd, p, chunk)) == PARSE_EIO)
		goto io_fail;
	if (prc == 0 && iw_smt_load_flush(&l) != 0)
		prc = 1;
	if (prc != 0) {
		if (prc == IW_SMT_CSV_ENOHEADER) {
			rc = iw_err_set(error, IW_ERR_INPUT,
				      "content: %s", iw_smt_csv_strerror(prc));
			goto out;
		}
		if (prc == IW_SMT_CSV_ENOMEM) {
			rc = iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
			goto out;
		}
		goto db_fail;
	}
	copying = 0;
	if (iw_db_copy_end(l.usage, NULL, l.err, sizeof l.err, l.state) != 0)
		goto db_fail;
	res->st = *iw_smt_csv_stats(p);
	if (res->st.rows > 0) {
		if (!(r = iw_pg_exec(l.usage, SQL_INGEST_UPSERT, 2, params,
				     "on UsageIntervalModule rows", error))) {
			rc = (int)error->code;
			goto out;
		}
		res->distinct = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		res->inserted = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		res->updated = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
		PQclear(r);
		if (!(r = iw_db_exec(IW_DB_USAGE, error, SQL_INGEST_ESIIDS, 0, NULL))) {
			rc = (int)error->code;
			goto out;
		}
		res->nesiids = (size_t)PQntuples(r);
		if (res->nesiids > MAX_FILE_ESIIDS) {
			rc = iw_err_set(error, IW_ERR_INPUT,
				      "content: more than %d ESIIDs in one file", MAX_FILE_ESIIDS);
			goto out;
		}
		if (!(res->esiids = calloc(res->nesiids ? res->nesiids : 1, sizeof *res->esiids))) {
			rc = iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < res->nesiids; i++)
			snprintf(res->esiids[i], sizeof res->esiids[i], "%s",
				 PQgetvalue(r, (int)i, 0));
		PQclear(r);
		r = NULL;
	}
	if (iw_db_commit(IW_DB_USAGE, error) != 0)
		rc = (int)error->code;
	goto out;
io_fail:
	snprintf(l.err, sizeof l.err, "reading the spooled file: %s", strerror(errno));
db_fail:
	iw_logf("error", "interval load failed: %s", l.err[0] ? l.err : "unknown");
	if (PQstatus(l.usage) != CONNECTION_OK)
		rc = iw_err_set(error, IW_ERR_DB_DOWN, "the usage database is unavailable");
	else if (!(rc = iw_pg_limit_error(error, l.state, "on UsageIntervalModule rows")))
		rc = iw_err_set(error, IW_ERR_INTERNAL, "loading the interval rows failed");
out:
	if (copying)
		iw_db_copy_end(l.usage, "ingest aborted", NULL, 0, NULL);
	PQclear(r);
	if (rc)
		iw_db_rollback(IW_DB_USAGE);
	iw_smt_csv_free(p);
	free(chunk);
	free(l.buf);
	return rc;
}
