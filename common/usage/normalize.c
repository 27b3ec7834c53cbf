/* Raw usage (usage DB) -> SmtInterval (master DB); see usage/normalize.h.
 *
 * COPY takes no bind parameters, so the filter reaches the usage database's
 * COPY (SELECT ...) through transaction-local settings (set_config with
 * parameters) that the query reads with current_setting(): values never
 * become SQL text.
 *
 * Two ways into SmtInterval, both exact:
 * - fast path: when SmtInterval holds no row of these ESIIDs in the window
 *   (checked under the per-ESIID advisory lock), every raw row is new and the
 *   stream is COPYed straight into SmtInterval: inserted = raw. A writer that
 *   ignores the lock (unique violation) sends the run to the general path.
 * - general path: COPY into an unindexed temporary table, ANALYZE it, then one
 *   INSERT ... SELECT of the rows that are absent or differ (an anti-join, so
 *   unchanged rows cost a lookup but no row lock or write) ... ON CONFLICT
 *   DO UPDATE ... WHERE values differ, counted in SQL (a row that comes back
 *   with the new id sent for it was inserted). */
#include "usage/normalize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "core/config.h"
#include "io/db.h"
#include "core/log.h"
#include "io/db_copy.h"
#include "io/db_raw.h"
#include "core/err.h"
#include "core/time.h"

#define ESIID_LIST_MAX (IW_USAGE_ESIIDS_MAX * (IW_ESIID_MAX + 1) + 1)
#define SQLSTATE_UNIQUE_VIOLATION "23505"

/* The usage side: a consistent, read-only snapshot of the window. */
static const char SQL_USAGE_BEGIN[] =
	"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
static const char SQL_USAGE_FILTER[] =
	"SELECT set_config('iw.norm_esiids', $1, true), "
	"set_config('iw.norm_start', coalesce($2, ''), true), "
	"set_config('iw.norm_end', coalesce($3, ''), true)";
/* current_setting() is only stable: wrapped in sub-selects so it is read
 * once per statement, not once per row. */
static const char SQL_USAGE_COPY_OUT[] =
	"COPY (SELECT u.esiid, u.meter, u.ts, u.kwh, u.estimated, u.flow, u.source, u.filled "
	"FROM \"UsageIntervalModule\" u "
	"WHERE u.esiid IN (SELECT unnest(string_to_array(current_setting('iw.norm_esiids'), ','))) "
	"AND u.ts >= (SELECT coalesce(nullif(current_setting('iw.norm_start'), '')::timestamp, '-infinity')) "
	"AND u.ts <= (SELECT coalesce(nullif(current_setting('iw.norm_end'), '')::timestamp, 'infinity'))"
	") TO STDOUT";

/* The master side. */
static const char SQL_LOCK_ESIIDS[] =
	"SELECT pg_advisory_xact_lock(hashtextextended('iw.SmtInterval:' || e, 0)) "
	"FROM (SELECT DISTINCT unnest(string_to_array($1, ',')) AS e ORDER BY 1) s";
static const char SQL_WINDOW_EMPTY[] =
	"SELECT NOT EXISTS (SELECT 1 FROM \"SmtInterval\" "
	"WHERE esiid = ANY (string_to_array($1, ',')) "
	"AND ts >= coalesce($2::timestamp, '-infinity') "
	"AND ts <= coalesce($3::timestamp, 'infinity'))";
static const char SQL_SAVEPOINT[] = "SAVEPOINT iw_norm_fast";
static const char SQL_ROLLBACK_SAVEPOINT[] = "ROLLBACK TO SAVEPOINT iw_norm_fast";
static const char SQL_RELEASE_SAVEPOINT[] = "RELEASE SAVEPOINT iw_norm_fast";
static const char SQL_COPY_DIRECT[] =
	"COPY \"SmtInterval\" (esiid, meter, ts, kwh, estimated, flow, source, filled) FROM STDIN";
static const char SQL_TEMP[] =
	"CREATE TEMP TABLE IF NOT EXISTS iw_norm ("
	"esiid text, meter text, ts timestamp(3), kwh numeric(10,5), "
	"estimated boolean, flow char(1), source text, filled boolean) ON COMMIT DELETE ROWS";
/* The anti-join sorts or hashes the window: in memory up to this much
 * (per sort), spilling to disk beyond, so memory stays bounded. */
#define IW_NORMALIZE_WORK_MEM "128MB"
static const char SQL_WORK_MEM[] = "SELECT set_config('work_mem', $1, true)";
static const char SQL_TEMP_CLEAR[] = "TRUNCATE iw_norm";
static const char SQL_COPY_TEMP[] =
	"COPY iw_norm (esiid, meter, ts, kwh, estimated, flow, source, filled) FROM STDIN";
static const char SQL_TEMP_ANALYZE[] = "ANALYZE iw_norm";
/* Inserted vs updated: a partitioned table cannot return xmax, so each row
 * sent gets its new id here (the column default's own expression) and a row
 * that comes back with that id was inserted; an updated row keeps its id. */
static const char SQL_UPSERT[] =
	"WITH src AS MATERIALIZED ("
	" SELECT n.esiid, n.meter, n.ts, n.kwh, n.estimated, n.flow, n.source, n.filled,"
	"  lpad(nextval('\"SmtInterval_id_seq\"')::text, 20, '0') AS new_id"
	" FROM iw_norm n"
	" WHERE NOT EXISTS (SELECT 1 FROM \"SmtInterval\" c"
	"  WHERE c.esiid = n.esiid AND c.meter = n.meter AND c.ts = n.ts AND c.flow = n.flow"
	"  AND c.esiid = ANY (string_to_array($1, ','))"
	"  AND c.ts >= coalesce($2::timestamp, '-infinity') AND c.ts <= coalesce($3::timestamp, 'infinity')"
	"  AND (c.kwh, c.estimated, c.source, c.filled) IS NOT DISTINCT FROM"
	"      (n.kwh, n.estimated, n.source, n.filled))), "
	"changed AS ("
	" INSERT INTO \"SmtInterval\" AS t (id, esiid, meter, ts, kwh, estimated, flow, source, filled)"
	" SELECT new_id, esiid, meter, ts, kwh, estimated, flow, source, filled FROM src"
	" ON CONFLICT (esiid, meter, ts, flow) DO UPDATE SET"
	"  kwh = EXCLUDED.kwh, estimated = EXCLUDED.estimated, source = EXCLUDED.source,"
	"  filled = EXCLUDED.filled, \"updatedAt\" = CURRENT_TIMESTAMP"
	" WHERE (t.kwh, t.estimated, t.source, t.filled) IS DISTINCT FROM"
	"       (EXCLUDED.kwh, EXCLUDED.estimated, EXCLUDED.source, EXCLUDED.filled)"
	" RETURNING t.id) "
	"SELECT count(s.new_id), count(*) - count(s.new_id) FROM changed ch LEFT JOIN src s ON s.new_id = ch.id";

/* SQLSTATE of the last failed statement: a lock or statement timeout is
 * answered as such (io/db_raw.h), anything else as 500. */
static char last_state[6];

void iw_usage_ts_sql(int64_t ms, char out[32])
{
	char iso[32];

	/* "YYYY-MM-DDTHH:MM:SS.mmmZ" -> "YYYY-MM-DD HH:MM:SS.mmm" */
	iw_timestamp_format(ms, iso);
	snprintf(out, 32, "%.10s %.12s", iso, iso + 11);
}

static int esiid_list(const struct iw_usage_filter *f, char *out, size_t outlen)
{
	size_t o = 0;

	if (f->nesiids == 0 || f->nesiids > IW_USAGE_ESIIDS_MAX)
		return -1;
	for (size_t i = 0; i < f->nesiids; i++) {
		size_t n = strlen(f->esiids[i]);
		/* Digits only (normalised ESIIDs): the ',' separator cannot occur. */
		if (n == 0 || n > IW_ESIID_MAX || strspn(f->esiids[i], "0123456789") != n ||
		    o + n + 2 > outlen)
			return -1;
		if (i)
			out[o++] = ',';
		memcpy(out + o, f->esiids[i], n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

static void drain_results(PGconn *conn)
{
	PGresult *r;
	while ((r = PQgetResult(conn)))
		PQclear(r);
}

/* Reads what is left of a COPY OUT so the connection is usable again. */
static void drain_copy_out(PGconn *conn)
{
	char *buf;
	int n;

	while ((n = PQgetCopyData(conn, &buf, 0)) > 0)
		PQfreemem(buf);
	drain_results(conn);
}

/* Ends the COPY IN on CONN; 0 on success. SQLSTATE (6 bytes) is set on failure. */
static int copy_in_end(PGconn *conn, char sqlstate[6], char *err, size_t errlen)
{
	int rc = iw_db_copy_end(conn, NULL, err, errlen, sqlstate);

	if (rc && sqlstate[0])
		memcpy(last_state, sqlstate, sizeof last_state);
	return rc;
}

/* One normalize event of PHASE after ROWS rows read (WRITTEN >= 0: rows written). */
static void emit(const struct iw_progress *p, const char *phase, long long rows, long long written)
{
	json_object *ev;

	if (!iw_progress_on(p) || !(ev = json_object_new_object()))
		return;
	json_object_object_add(ev, "event", json_object_new_string("normalize"));
	json_object_object_add(ev, "phase", json_object_new_string(phase));
	json_object_object_add(ev, "rowsRead", json_object_new_int64(rows));
	if (written >= 0)
		json_object_object_add(ev, "rowsWritten", json_object_new_int64(written));
	iw_progress_emit(p, ev);
}

/* Streams the usage COPY OUT into the master COPY IN already started:
 * each row is passed on as it arrives. */
static int pump(PGconn *usage, PGconn *master, long long *rows, const struct iw_progress *p,
		char *err, size_t errlen)
{
	char *buf;
	int n;
	PGresult *r;
	int rc = 0;

	*rows = 0;
	while ((n = PQgetCopyData(usage, &buf, 0)) > 0) {
		int put = PQputCopyData(master, buf, n);
		PQfreemem(buf);
		if (put != 1) {
			snprintf(err, errlen, "master: %s", PQerrorMessage(master));
			drain_copy_out(usage);
			return -1;
		}
		if (++*rows % IW_USAGE_PROGRESS_ROWS == 0)
			emit(p, "read", *rows, -1);
	}
	if (n == -2) {
		snprintf(err, errlen, "usage: %s", PQerrorMessage(usage));
		rc = -1;
	}
	while ((r = PQgetResult(usage))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
			iw_pg_sqlstate(r, last_state);
			snprintf(err, errlen, "usage: %s", PQresultErrorMessage(r));
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}

static int exec_ok(PGconn *conn, const char *sql, int n, const char *const *params,
		   PGresult **out, char *err, size_t errlen)
{
	PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		iw_pg_sqlstate(r, last_state);
		snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
		PQclear(r);
		return -1;
	}
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

/* One pass: opens the usage snapshot, streams it into TARGET_COPY on master. */
static int stream_window(PGconn *usage, PGconn *master, const char *const fparams[3],
			 const char *target_copy, long long *rows, const struct iw_progress *p,
			 char sqlstate[6], char *err, size_t errlen)
{
	int rc = -1;

	sqlstate[0] = '\0';
	if (exec_ok(usage, SQL_USAGE_BEGIN, 0, NULL, NULL, err, errlen) != 0 ||
	    iw_pg_tx_limits(usage, err, errlen) != 0 ||
	    exec_ok(usage, SQL_USAGE_FILTER, 3, fparams, NULL, err, errlen) != 0)
		goto out;
	if (iw_db_copy_start(master, target_copy, PGRES_COPY_IN, err, errlen) != 0)
		goto out;
	if (iw_db_copy_start(usage, SQL_USAGE_COPY_OUT, PGRES_COPY_OUT, err, errlen) != 0 ||
	    pump(usage, master, rows, p, err, errlen) != 0) {
		/* The abort's own error (57014) says nothing the source's does not. */
		iw_db_copy_end(master, "source failed", NULL, 0, NULL);
		goto out;
	}
	if (copy_in_end(master, sqlstate, err, errlen) != 0)
		goto out;
	rc = 0;
out:
	if (PQtransactionStatus(usage) != PQTRANS_IDLE)
		PQclear(PQexec(usage, rc == 0 ? "COMMIT" : "ROLLBACK"));
	return rc;
}

static long long count_at(PGresult *r, int col)
{
	return PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, col), NULL, 10) : 0;
}

int iw_usage_normalize(const struct iw_usage_filter *f, int in_tx,
		       struct iw_usage_summary *out, struct iw_error *error)
{
	char esiids[ESIID_LIST_MAX], start[32], end[32], sqlstate[6], err[512];
	const char *fparams[3];
	PGconn *usage, *master;
	PGresult *r = NULL;
	long long rows = 0;
	int empty, own_tx = !in_tx, rc;
	long long t0;
	const char *work_mem = iw_env_or("IW_NORMALIZE_WORK_MEM", IW_NORMALIZE_WORK_MEM);

	memset(out, 0, sizeof *out);
	if (esiid_list(f, esiids, sizeof esiids) != 0)
		return iw_err_set(error, IW_ERR_INPUT, "esiid: 1 to %d valid ESIIDs required",
				IW_USAGE_ESIIDS_MAX);
	if (f->has_start)
		iw_usage_ts_sql(f->start_ms, start);
	if (f->has_end)
		iw_usage_ts_sql(f->end_ms, end);
	fparams[0] = esiids;
	fparams[1] = f->has_start ? start : NULL;
	fparams[2] = f->has_end ? end : NULL;

	if (!(usage = iw_db_conn(IW_DB_USAGE, error)) || !(master = iw_db_conn(IW_DB_MASTER, error)))
		return (int)error->code;
	last_state[0] = '\0';
	if (own_tx && (exec_ok(master, "BEGIN", 0, NULL, NULL, err, sizeof err) != 0 ||
		       iw_pg_tx_limits(master, err, sizeof err) != 0))
		goto fail;
	if ((rc = iw_usage_lock_esiids(master, esiids, error)) != 0) {
		if (own_tx)
			iw_db_rollback(IW_DB_MASTER);
		return rc;
	}
	if (exec_ok(master, SQL_WINDOW_EMPTY, 3, fparams, &r, err, sizeof err) != 0)
		goto fail;
	empty = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	r = NULL;

	t0 = iw_now_ms();
	if (empty) {
		if (exec_ok(master, SQL_SAVEPOINT, 0, NULL, NULL, err, sizeof err) != 0)
			goto fail;
		if (stream_window(usage, master, fparams, SQL_COPY_DIRECT, &rows, f->progress,
				  sqlstate, err, sizeof err) == 0) {
			if (exec_ok(master, SQL_RELEASE_SAVEPOINT, 0, NULL, NULL, err, sizeof err) != 0)
				goto fail;
			out->raw = out->inserted = rows;
			out->fast_path = 1;
			out->copy_ms = iw_now_ms() - t0;
			emit(f->progress, "written", rows, rows);
			goto done;
		}
		/* Someone wrote the window without the lock: do it the careful way. */
		if (strcmp(sqlstate, SQLSTATE_UNIQUE_VIOLATION) != 0 ||
		    exec_ok(master, SQL_ROLLBACK_SAVEPOINT, 0, NULL, NULL, err, sizeof err) != 0)
			goto fail;
		iw_logf("warning", "normalise: window written concurrently, retrying with upsert");
	}
	if (exec_ok(master, "SET LOCAL client_min_messages = warning", 0, NULL, NULL, err,
		    sizeof err) != 0 ||
	    exec_ok(master, SQL_WORK_MEM, 1, &work_mem, NULL, err, sizeof err) != 0 ||
	    exec_ok(master, SQL_TEMP, 0, NULL, NULL, err, sizeof err) != 0 ||
	    exec_ok(master, SQL_TEMP_CLEAR, 0, NULL, NULL, err, sizeof err) != 0)
		goto fail;
	if (stream_window(usage, master, fparams, SQL_COPY_TEMP, &rows, f->progress, sqlstate,
			  err, sizeof err) != 0)
		goto fail;
	emit(f->progress, "write", rows, -1);
	out->raw = rows;
	out->copy_ms = iw_now_ms() - t0;
	t0 = iw_now_ms();
	if (rows > 0) {
		/* A temporary table has no statistics: without them the planner
		 * guesses a tiny table and may pick a poor plan for a big window. */
		if (exec_ok(master, SQL_TEMP_ANALYZE, 0, NULL, NULL, err, sizeof err) != 0 ||
		    exec_ok(master, SQL_UPSERT, 3, fparams, &r, err, sizeof err) != 0)
			goto fail;
		out->inserted = count_at(r, 0);
		out->updated = count_at(r, 1);
		emit(f->progress, "written", rows, out->inserted + out->updated);
		PQclear(r);
		r = NULL;
	}
	out->write_ms = iw_now_ms() - t0;
done:
	out->unchanged = out->raw - out->inserted - out->updated;
	if (own_tx && exec_ok(master, "COMMIT", 0, NULL, NULL, err, sizeof err) != 0)
		goto fail;
	return 0;
fail:
	PQclear(r);
	iw_logf("error", "normalise failed: %s", err);
	if (own_tx)
		iw_db_rollback(IW_DB_MASTER);
	if (PQstatus(usage) != CONNECTION_OK || PQstatus(master) != CONNECTION_OK)
		rc = iw_err_set(error, IW_ERR_DB_DOWN, "a database connection was lost");
	else if (!(rc = iw_pg_limit_error(error, last_state, "on SmtInterval rows")))
		rc = iw_err_set(error, IW_ERR_INTERNAL, "normalisation failed");
	return rc;
}

int iw_usage_lock_esiids(PGconn *conn, const char *list, struct iw_error *error)
{
	const char *params[1] = { list };
	PGresult *r = PQexecParams(conn, SQL_LOCK_ESIIDS, 1, NULL, params, NULL, NULL, 0);
	char state[6], lock[96];
	size_t first = strcspn(list, ",");
	int rc = 0;

	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		PQclear(r);
		return 0;
	}
	iw_pg_sqlstate(r, state);
	snprintf(lock, sizeof lock, "iw.SmtInterval:%.*s%s", (int)first, list,
		 list[first] ? " (or another ESIID of the file)" : "");
	if (!(rc = iw_pg_limit_error(error, state, lock))) {
		iw_logf("error", "ESIID lock failed (%s): %s", state, PQresultErrorMessage(r));
		rc = PQstatus(conn) == CONNECTION_OK
			     ? iw_err_set(error, IW_ERR_INTERNAL, "taking the ESIID lock failed")
			     : iw_err_set(error, IW_ERR_DB_DOWN, "the master database is unavailable");
	}
	PQclear(r);
	return rc;
}

static const char SQL_HOUSE_ESIIDS[] =
	"SELECT DISTINCT esiid FROM \"SmtAuthorization\" WHERE \"houseId\" = $1 ORDER BY 1";

int iw_usage_house_esiids(const char *house, struct iw_usage_esiids *set, long long *skipped,
			  struct iw_error *error)
{
	const char *params[1] = { house };
	PGresult *r = iw_db_exec(IW_DB_MASTER, error, SQL_HOUSE_ESIIDS, 1, params);

	*skipped = 0;
	if (!r)
		return (int)error->code;
	for (int i = 0; i < PQntuples(r); i++) {
		char id[IW_ESIID_MAX + 1];
		int dup = 0;
		if (iw_esiid_normalize(PQgetvalue(r, i, 0), id) != 0) {
			(*skipped)++;
			continue;
		}
		for (size_t j = 0; j < set->n && !dup; j++)
			dup = strcmp(set->ids[j], id) == 0;
		if (dup)
			continue;
		if (set->n == IW_USAGE_ESIIDS_MAX) {
			PQclear(r);
			return iw_err_set(error, IW_ERR_INPUT, "houseId: more than %d ESIIDs",
					  IW_USAGE_ESIIDS_MAX);
		}
		strcpy(set->ids[set->n], id);
		set->ptrs[set->n] = set->ids[set->n];
		set->n++;
	}
	PQclear(r);
	return 0;
}
