/* ERCOT ingest of one file: download, check, store, load, record (see
 * ingest.h); the zip's members are read in extract.c. */
#include "ercot/ingest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/evp.h>
#include <zip.h>

#include "core/err.h"
#include "core/config.h"
#include "ercot/job.h"
#include "io/db.h"
#include "core/log.h"
#include "io/storage.h"
#include "core/time.h"
#include "core/codec.h"
#include "core/tmpfile.h"
#define ERCOT_SORT_MEM      "256MB"  /* server-side, per run */
/* The load transaction: waits for a lock at most this long (then the file
 * fails naming the lock), and no statement runs longer than ERCOT_STATEMENT_MS
 * (under nginx's 900 s). ERCOT_LOCK_TIMEOUT_MS / ERCOT_STATEMENT_TIMEOUT_MS
 * lower them (tests). */
#define ERCOT_LOCK_WAIT_MS       30000LL
#define ERCOT_RENEW_S            60   /* lease renewal while downloading, at most every ... */
#define ERCOT_STATEMENT_MS       600000LL


size_t iw_ercot_job_spool(const void *buf, size_t len, void *ctx)
{
	struct job *j = ctx;
	const char *p = buf;
	size_t left = len;

	if (j->bytes + (long long)len > IW_ERCOT_FILE_MAX)
		return 0;
	/* One copy: the bytes go straight into the object's writer (hashed
	 * there), which is published only after the zip check and the load. */
	if (iw_storage_put_write(j->w, buf, len) != 0) {
		j->store_failed = 1;
		j->no_space = iw_errno_no_space(errno);
		return 0;
	}
	while (j->own_spool && left) {
		ssize_t w = write(j->fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			j->no_space = iw_errno_no_space(errno);
			return 0;
		}
		p += w;
		left -= (size_t)w;
	}
	j->bytes += (long long)len;
	iw_ercot_job_advance(j, "download");
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
	" c15 text, c16 text, c17 text, c18 text, c19 text, c20 text, c21 text, c22 text, c23 text,"
	" h bigint, ord bigint)"
	" ON COMMIT DROP";

#define ERCOT_SET_COLUMNS \
	" \"tdspCode\" = $1, \"tdspDuns\" = r.c7, \"serviceAddress1\" = r.c1," \
	" \"serviceAddress2\" = r.c2, \"serviceCity\" = r.c3, \"serviceState\" = r.c4," \
	" \"serviceZip\" = r.c5, \"county\" = r.c6, \"meterReadCycle\" = r.c8, \"status\" = r.c9," \
	" \"premiseType\" = r.c10, \"powerRegion\" = r.c11, \"stationCode\" = r.c12," \
	" \"stationName\" = r.c13, \"metered\" = r.c14, \"openServiceOrders\" = r.c15," \
	" \"polrCustomerClass\" = r.c16, \"settlementAmsIndicator\" = r.c17," \
	" \"tdspAmsIndicator\" = r.c18, \"switchHoldIndicator\" = r.c19," \
	" \"premiseSubType1\" = r.c20, \"premiseSubType2\" = r.c21," \
	" \"addressNumber\" = r.c22, \"addressNorm\" = r.c23, \"valuesHash\" = r.h," \
	" \"postedAtUtc\" = $2::timestamp(3), \"sourceFileSha256\" = $3," \
	" \"updatedAt\" = (now() AT TIME ZONE 'UTC')"

/* Latest post wins: a row is replaced only by a post at least as recent,
 * and only when a value differs. So "postedAtUtc" / "sourceFileSha256" name
 * the post the row's values came from (its "ErcotIngest" row by fileSha256),
 * not the latest post that listed the ESIID (see "ErcotEsiidGone"). */
static const char SQL_UPDATE[] =
	"UPDATE \"ErcotEsiidIndex\" t SET" ERCOT_SET_COLUMNS
	" FROM ercot_rows r WHERE t.\"esiid\" = r.c0"
	" AND (t.\"postedAtUtc\" IS NULL OR t.\"postedAtUtc\" <= $2::timestamp(3))"
	" AND (t.\"tdspCode\" IS DISTINCT FROM $1 OR" IW_ERCOT_VALUES_DIFFER ")";

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
	" \"premiseSubType1\", \"premiseSubType2\", \"addressNumber\", \"addressNorm\", \"valuesHash\","
	" \"postedAtUtc\", \"sourceFileSha256\", \"updatedAt\")"
	" SELECT r.c0, r.c0, $1, r.c7, r.c1, r.c2, r.c3, r.c4, r.c5, r.c6, r.c8, r.c9, r.c10, r.c11,"
	" r.c12, r.c13, r.c14, r.c15, r.c16, r.c17, r.c18, r.c19, r.c20, r.c21, r.c22, r.c23, r.h,"
	" $2::timestamp(3), $3,"
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
int iw_ercot_job_record(struct job *j, const char *status, int with_sha, const char *error,
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

void iw_ercot_job_fail(struct job *j, int with_sha, const char *error, const char *detail)
{
	json_object_object_add(j->result, "error", json_object_new_string(error));
	/* The run answers 507 for it (fcgi/ercot_cron.c): no file can land. */
	if (j->no_space)
		json_object_object_add(j->result, "code", json_object_new_string("no_space"));
	if (iw_ercot_job_record(j, "error", with_sha, error, detail) != 0)
		iw_logf("error", "ercot: could not record the error row of %s", j->doc->filename);
	iw_ercot_job_progress(j, "error", 1);
}

long long iw_ercot_job_exec(struct job *j, const char *sql, int n, const char *const *p)
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
	return iw_ercot_job_exec(j, "SELECT set_config('lock_timeout', $1, true),"
		       " set_config('statement_timeout', $2, true),"
		       " set_config('work_mem', '" ERCOT_SORT_MEM "', true),"
		       /* The steady-state diff hashes a TDSP's index rows (~600 MB for
			* 2M): in memory, in one batch; JIT only adds compile time. */
		       " set_config('hash_mem_multiplier', '4', true), set_config('jit', 'off', true)",
		       2, p) < 0 ? -1 : 0;
}

/* Dedupe, then update the ESIIDs already indexed and insert the new ones;
 * adds "indexed" (rows written) to the result. 0 or -1. */
static int index_rows(struct job *j, const char *const *p)
{
	long long n, m;

	if (iw_ercot_steady_rows(j, p) != 0 || iw_ercot_job_exec(j, "ANALYZE ercot_rows", 0, NULL) < 0 ||
	    (n = iw_ercot_job_exec(j, SQL_UPDATE, 3, p)) < 0 || (m = iw_ercot_job_exec(j, SQL_INSERT, 3, p)) < 0)
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
		iw_ercot_job_fail(j, 1, e, "another session holds a lock on the ESIID index; nothing was stored");
	} else if (!strcmp(j->sqlstate, "57014")) {
		iw_ercot_job_fail(j, 1, "database timeout: the index load exceeded statement_timeout", j->err);
	} else {
		snprintf(e, sizeof e, "%s: %s", what, j->err);
		iw_ercot_job_fail(j, 1, "database error", e);
	}
}

/* The job's result object, "posted" time and storage key. 0, or -1 (the
 * error recorded, or no memory: j->result NULL). */
static int job_start(struct job *j)
{
	const struct iw_ercot_doc *doc = j->doc;

	if (!(j->result = json_object_new_object()))
		return -1;
	json_object_object_add(j->result, "tdsp", json_object_new_string(doc->tdsp));
	json_object_object_add(j->result, "filename", json_object_new_string(doc->filename));
	j->next_progress = IW_ERCOT_PROGRESS_BYTES;
	j->csv_next = IW_ERCOT_PROGRESS_BYTES;
	j->stream_next = iw_ercot_job_stream_step(j);
	j->csv_stream_next = IW_ERCOT_CSV_STREAM_STEP;
	if (doc->posted) {
		snprintf(j->posted, sizeof j->posted, "%s", doc->posted);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(j->posted, sizeof j->posted, "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (snprintf(j->key, sizeof j->key, "ercot/%s/%s", j->day, doc->filename) >= (int)sizeof j->key ||
	    !iw_storage_key_valid(j->key)) {
		iw_ercot_job_fail(j, 0, "invalid storage key", doc->filename);
		return -1;
	}
	return 0;
}

/* Waits for the storage writer's thread; a failure marks the job. */
static int store_flushed(struct job *j)
{
	if (iw_storage_put_flush(j->w) == 0)
		return 0;
	j->store_failed = 1;
	j->no_space = iw_errno_no_space(errno);
	return -1;
}

/* Spool: downloads the file into the object's writer (and a spool to read
 * it back), hashes it and renews the run's lease. 0, or -1 (recorded). */
static int job_spool(struct job *j, const struct iw_ercot_fetcher *fetcher)
{
	char derr[512] = "", e[600];

	/* Local storage: the download goes into the object's temp file beside it
	 * and is read back from there (one copy, renamed into place at the end).
	 * S3: parts are sent while downloading, and an unlinked spool keeps the
	 * bytes for the zip check. */
	if (!(j->w = iw_storage_put_begin(j->key, "application/zip", j->werr, sizeof j->werr))) {
		snprintf(j->err, sizeof j->err, "storage: %.480s", j->werr);
		iw_ercot_job_fail(j, 0, "upload failed", j->err);
		return -1;
	}
	if (iw_storage_put_local_fd(j->w) >= 0)
		j->fd = dup(iw_storage_put_local_fd(j->w));
	else
		j->own_spool = (j->fd = iw_tmpfile(iw_env("ERCOT_TMP_DIR"), "iw-ercot")) >= 0;
	if (j->fd < 0) {
		snprintf(j->err, sizeof j->err, "no temp file: %s", strerror(errno));
		iw_ercot_job_fail(j, 0, "download failed", j->err);
		return -1;
	}
	iw_ercot_job_progress(j, "start", 0);
	j->lock = fetcher->lock;
	j->renewed = time(NULL);
	/* The storage writer hashes and writes on its own thread: its error on
	 * the last buffers comes out at the flush (with errno: a full disk). */
	if (fetcher->download(fetcher->self, j->doc->url, iw_ercot_job_spool, j, derr, sizeof derr) != 0 ||
	    store_flushed(j) != 0) {
		if (j->lock_lost) {
			iw_ercot_job_fail(j, 0, "run lock lost", "the lease of " IW_ERCOT_LOCK_NAME
			     " ran out and another run took it");
		} else if (j->store_failed) {
			snprintf(e, sizeof e, "storage: %.480s", j->werr);
			iw_ercot_job_fail(j, 0, "upload failed", e);
		} else {
			snprintf(e, sizeof e, "download failed: %s", derr);
			iw_ercot_job_fail(j, 0, e, derr);
		}
		return -1;
	}
	if (iw_storage_put_sha256(j->w, j->sha) != 0) {
		iw_ercot_job_fail(j, 0, "internal error", "sha256 unavailable");
		return -1;
	}
	iw_ercot_job_progress(j, "download", 1);
	/* Downloads take minutes: extend the run's lease before the load. */
	if (fetcher->lock && iw_run_lock_renew(fetcher->lock) == 0) {
		iw_ercot_job_fail(j, 1, "run lock lost", "the lease of " IW_ERCOT_LOCK_NAME " ran out and another run took it");
		return -1;
	}
	json_object_object_add(j->result, "sha256", json_object_new_string(j->sha));
	return 0;
}

/* Check: a file already ingested (same sha256) is skipped; else the spool
 * must open as a zip. The zip, or NULL (skipped or failed, recorded). */
static zip_t *job_check(struct job *j)
{
	const char *p[1] = { j->sha };
	PGresult *r;
	zip_t *za;

	if (!(r = iw_db_exec(IW_DB_MASTER, NULL, SQL_KNOWN, 1, p))) {
		iw_ercot_job_fail(j, 1, "database unavailable", "could not look the file up");
		return NULL;
	}
	if (PQntuples(r) > 0) {
		PQclear(r);
		json_object_object_add(j->result, "skipped", json_object_new_boolean(1));
		json_object_object_add(j->result, "reason",
				       json_object_new_string("already ingested (same sha256)"));
		if (iw_ercot_job_record(j, "skipped", 0, NULL, NULL) != 0)
			iw_logf("error", "ercot: could not record the skip of %s", j->doc->filename);
		iw_ercot_job_progress(j, "skipped", 1);
		return NULL;
	}
	PQclear(r);
	if (!(za = iw_ercot_extract_open_zip(j)))
		iw_ercot_job_fail(j, 1, j->err, "the download is not a readable zip; nothing was stored");
	return za;
}

/* The stored rows of the file's TDSP, for the worker's merge (only new and
 * changed rows are COPYed). Without it every row is, as before. Full
 * extracts only: a daily file lists a few changes, and merging it would read
 * the TDSP's every stored row to skip them. */
static void open_stored(struct job *j)
{
	char e[200];

	if (!(j->stored = iw_ercot_stored_open(j->doc->tdsp, e, sizeof e)))
		iw_logf("info", "ercot: %s: no steady-state merge (%s): loading every row",
			j->doc->filename, e);
}

/* Load: in a transaction of its own (left open on success), COPY the zip's
 * rows into the temp table and write them into the ESIID index. 0, or -1
 * (rolled back, recorded). */
static int job_load(struct job *j, zip_t *za)
{
	char posted_ts[40];
	const char *p[4];
	int full = iw_ercot_extract_full(j->doc->filename);

	if (iw_db_begin(IW_DB_MASTER, NULL) != 0) {
		iw_ercot_job_fail(j, 1, "database unavailable", "BEGIN failed");
		return -1;
	}
	if (tx_settings(j) != 0 || iw_ercot_job_exec(j, SQL_TEMP, 0, NULL) < 0) {
		iw_db_rollback(IW_DB_MASTER);
		fail_load(j, "could not create the load table");
		return -1;
	}
	if (full)
		open_stored(j);
	if (iw_ercot_extract_copy_in(j, za) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		if (j->sqlstate[0])
			fail_load(j, "COPY failed");
		else
			iw_ercot_job_fail(j, 1, j->err, "the extract could not be loaded; nothing was stored");
		return -1;
	}
	iw_ercot_job_progress(j, "load", 1);
	snprintf(posted_ts, sizeof posted_ts, "%s", j->posted);
	p[0] = j->doc->tdsp;
	p[1] = posted_ts;
	p[2] = j->sha;
	p[3] = full ? "true" : "false";
	if (index_rows(j, p) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		fail_load(j, "the ESIID index update failed");
		return -1;
	}
	iw_ercot_job_progress(j, "indexed", 1);
	return 0;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Logs how the publish's time split between storage (the object made
 * durable and visible) and the database (the "ok" row and the COMMIT of the
 * whole load): the two are different resources an operator tunes apart. */
static void log_publish(const struct job *j, double store_ms, double commit_ms)
{
	json_object *f = json_object_new_object();

	if (!f)
		return;
	json_object_object_add(f, "file", json_object_new_string(j->doc->filename));
	json_object_object_add(f, "storeMs", json_object_new_double(store_ms));
	json_object_object_add(f, "commitMs", json_object_new_double(commit_ms));
	iw_log_event("info", "ercot publish", f);
	json_object_put(f);
}

/* Publish: the object made visible, the "ok" row written, the load's
 * transaction committed. 0, or -1 (rolled back, recorded). */
static int job_publish(struct job *j)
{
	struct timespec t0;
	double store_ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (iw_ercot_extract_upload(j) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		iw_ercot_job_fail(j, 1, "upload failed", j->err);
		return -1;
	}
	store_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (iw_ercot_job_record(j, "ok", 1, NULL, NULL) != 0 || iw_db_commit(IW_DB_MASTER, NULL) != 0) {
		iw_db_rollback(IW_DB_MASTER);
		/* The object is stored; the next run will ingest it again. */
		iw_ercot_job_fail(j, 1, "database error", "the ingest could not be committed");
		return -1;
	}
	log_publish(j, store_ms, ms_since(&t0));
	json_object_object_add(j->result, "key", json_object_new_string(j->key));
	json_object_object_add(j->result, "bytes", json_object_new_int64(j->bytes));
	json_object_object_add(j->result, "rows", json_object_new_int64(j->rows));
	if (j->bad)
		json_object_object_add(j->result, "badRows", json_object_new_int64(j->bad));
	if (j->transcoded)
		json_object_object_add(j->result, "transcodedRows", json_object_new_int64(j->transcoded));
	iw_ercot_job_progress(j, "stored", 1);
	return 0;
}

json_object *iw_ercot_ingest(const struct iw_ercot_doc *doc, const char *day,
			     const struct iw_ercot_fetcher *fetcher)
{
	struct job j = { .doc = doc, .day = day, .method = fetcher->method, .fd = -1,
			 .progress = fetcher->progress };
	zip_t *za = NULL;

	if (job_start(&j) == 0 && job_spool(&j, fetcher) == 0 && (za = job_check(&j)) &&
	    job_load(&j, za) == 0)
		job_publish(&j);
	if (za)
		zip_discard(za);
	iw_ercot_stored_close(j.stored);
	iw_storage_put_abort(j.w); /* nothing visible unless published above */
	if (j.fd >= 0)
		close(j.fd);
	return j.result;
}
