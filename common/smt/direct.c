/* SMT ingest, the direct load (see ingest.c for the order of work). */
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
 * (iw_usage_lock_esiids): it serialises every normalisation of an ESIID. */
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
	    iw_smt_load_parse_spool(fd, p, chunk) == 0) {
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
	struct iw_buf b = { .max = DIRECT_FIELD_MAX - 1 };
	long n = -1;

	if (iw_db_copy_escape(&b, s) == 0) {
		memcpy(out, b.len ? b.data : "", b.len + 1);
		n = (long)b.len;
	}
	iw_buf_free(&b);
	return n;
}

/* 1 when SQL (one boolean column) answers true, 0 when false, -1 (ERROR set). */
static int query_true(enum iw_db db, const char *sql, const char *const params[3],
		      struct iw_error *error)
{
	PGresult *r = iw_db_exec(db, error, sql, 3, params);
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
	if (iw_db_copy_start(l->usage, SQL_USAGE_COPY_DIRECT, PGRES_COPY_IN, l->err, sizeof l->err) != 0)
		return;
	if (l->master && iw_db_copy_start(l->master, SQL_MASTER_COPY_DIRECT, PGRES_COPY_IN, l->err, sizeof l->err) != 0) {
		PQputCopyEnd(l->usage, COPY_ABORT_MSG);
		copy_result(l->usage, l->err, sizeof l->err, l->state);
		return;
	}
	if (l->master && (PQsetnonblocking(l->usage, 1) != 0 || PQsetnonblocking(l->master, 1) != 0))
		abort_msg = COPY_ABORT_MSG;
	else if (!(p = iw_smt_csv_new(iw_smt_load_on_interval, l)) ||
	    (esiid && iw_smt_csv_set_esiid(p, esiid) != 0) || iw_smt_load_parse_spool(fd, p, chunk) != 0 ||
	    iw_smt_load_flush(l) != 0) {
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
	if (l->master && (iw_smt_load_flush_both(l->usage, l->master, l->err, sizeof l->err) != 0 ||
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
 * databases as they were), or the enum iw_err set in ERROR (the usage
 * transaction is then rolled back; the caller rolls the master one back). */
int iw_smt_load_direct(int fd, const struct iw_smt_file *file, const char *meter,
		       const char *source, PGconn *master, struct interval_result *res,
		       struct direct_result *out, struct iw_error *error)
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
		rc = iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
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
	if (iw_db_begin(IW_DB_USAGE, error) != 0 || !(l.usage = iw_db_conn(IW_DB_USAGE, error)))
		goto db_status;
	usage_tx = 1;
	if (iw_pg_tx_limits(l.usage, l.err, sizeof l.err) != 0)
		goto db_fail;
	if ((empty = query_true(IW_DB_USAGE, SQL_USAGE_WINDOW_EMPTY, params, error)) < 0)
		goto db_status;
	if (!empty)
		goto out; /* a re-pull or an overlap: the upsert decides row by row */
	if ((rc = iw_usage_lock_esiids(master, list, error)) != 0)
		goto out;
	if ((empty = query_true(IW_DB_MASTER, SQL_MASTER_WINDOW_EMPTY, params, error)) < 0)
		goto db_status;
	if (empty) {
		if (iw_db_run(IW_DB_MASTER, error, SQL_DIRECT_SAVEPOINT, 0, NULL) != 0)
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
		if (iw_db_run(IW_DB_MASTER, error, SQL_DIRECT_ROLLBACK, 0, NULL) != 0)
			goto db_status;
	} else if (savepoint) {
		if (iw_db_run(IW_DB_MASTER, error, SQL_DIRECT_RELEASE, 0, NULL) != 0)
			goto db_status;
		out->master_done = 1;
	}
	if (uo == COPY_CONFLICT) {
		l.err[strcspn(l.err, "\n")] = '\0';
		iw_logf("info", "direct load declined: %s", l.err);
		goto out; /* repeats inside the file, or a concurrent writer */
	}
	if (keep_esiids(sc, res) != 0) {
		rc = iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (iw_db_commit(IW_DB_USAGE, error) != 0)
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
		rc = iw_err_set(error, IW_ERR_DB_DOWN, "a database connection was lost");
	else if (!(rc = iw_pg_limit_error(error, l.state, "on interval rows")))
		rc = iw_err_set(error, IW_ERR_INTERNAL, "loading the interval rows failed");
	goto out;
db_status:
	rc = (int)error->code;
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
