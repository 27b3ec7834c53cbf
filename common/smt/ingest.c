/* SMT file ingest; see smt/ingest.h.
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
 * Every transaction gets lock_timeout and statement_timeout (io/db_raw.h). */
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
#include "io/db_raw.h"
#include "smt/csv.h"
#include "smt/billing.h"
#include "smt/ingest_load.h"
#include "smt/spool.h"
#include "smt/store.h"
#include "io/storage.h"
#include "usage/normalize.h"

/* ---- names (sanitising: smt/store.c) ------------------------------------------ */

int iw_smt_is_billing_name(const char *name)
{
	static const char *const marks[] = { "billing", "billread", "monthlybilling",
					     "dailymeterusage" };
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++)
		if (strcasestr(name, marks[i]))
			return 1;
	return 0;
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

int iw_smt_normalize_file(const struct interval_result *ir, int in_tx,
			  struct iw_usage_summary *sum, struct iw_error *error)
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
		if ((rc = iw_usage_normalize(&f, in_tx, &part, error)) != 0)
			return rc;
		sum->raw += part.raw;
		sum->inserted += part.inserted;
		sum->updated += part.updated;
		sum->unchanged += part.unchanged;
	}
	return 0;
}

/* Known bytes: *BODY is the duplicate answer (nothing is stored or loaded
 * again), or NULL when the sha256 is new. 0, or the enum iw_err in ERROR. */
static int find_known(const struct iw_smt_file *file, const char *filename,
		      const struct iw_smt_spool *spool, json_object **body, struct iw_error *error)
{
	const char *p[1] = { spool->sha256 };
	PGresult *r = iw_db_exec(IW_DB_MASTER, error, SQL_KNOWN, 1, p);

	*body = NULL;
	if (!r)
		return (int)error->code;
	if (PQntuples(r) == 1) {
		*body = base_body(file, filename, spool, PQgetvalue(r, 0, 1), 1);
		if (*body) {
			json_object_object_add(*body, "rawFileId",
					       json_object_new_int64(strtoll(PQgetvalue(r, 0, 0), NULL, 10)));
			json_object_object_add(*body, "rows", json_object_new_int(0));
			json_object_object_add(*body, "skippedRows", json_object_new_int(0));
		}
		PQclear(r);
		return *body ? 0 : iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
	}
	PQclear(r);
	return 0;
}

/* What kind of file: billing by name (SPEC §5), interval by header.
 * 0 with *BILLING set, or the enum iw_err in ERROR. */
static int file_kind(const char *filename, const struct iw_smt_spool *spool, int *billing,
		     struct iw_error *error)
{
	char sniff[SNIFF_BYTES];
	ssize_t sniffed;

	*billing = iw_smt_is_billing_name(filename);
	sniffed = pread(spool->fd, sniff, sizeof sniff, 0);
	if (sniffed < 0)
		return iw_err_set(error, IW_ERR_INTERNAL, "reading the spooled file failed");
	if (!*billing && !iw_smt_csv_is_interval_header(sniff, (size_t)sniffed))
		return iw_err_set(error, IW_ERR_INPUT,
				"content: neither an SMT interval CSV (ESIID,USAGE_DATE,...,USAGE_KWH) "
				"nor a billing export (filename containing billing, billread, "
				"monthlybilling or dailymeterusage)");
	return 0;
}

/* Claims the sha256 in the master transaction open on MASTER: 0 with ID
 * set, or with ID "" when a concurrent post of the same bytes claimed it
 * meanwhile; else the enum iw_err in ERROR. */
static int claim(PGconn *master, const struct iw_smt_file *file, const char *filename,
		 const struct iw_smt_spool *spool, const char *source, const char *ctype,
		 const char *key, char id[24], struct iw_error *error)
{
	char size[24], lock[80];
	const char *p[9] = { filename, size, spool->sha256, source, ctype, key,
			     file->esiid, file->meter, file->captured_at };
	PGresult *r;

	id[0] = '\0';
	snprintf(size, sizeof size, "%llu", (unsigned long long)spool->size);
	snprintf(lock, sizeof lock, "raw_smt_files:%s", spool->sha256);
	/* A concurrent post of the same bytes holds the claim until it ends. */
	if (!(r = iw_pg_exec(master, SQL_CLAIM, 9, p, lock, error)))
		return (int)error->code;
	if (PQntuples(r) == 1)
		snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

struct ingest_rows {
	int billing;
	struct iw_smt_billing_stats bs;    /* billing file */
	struct interval_result ir;         /* interval file */
	struct iw_usage_summary norm;
	long long t_load, t_norm;
};

/* 3. The rows, inside the master transaction. 0, or the enum iw_err. */
static int load_rows(PGconn *master, const struct iw_smt_file *file, int fd, const char *id,
		     const char *filename, const char *meter, const char *source,
		     struct ingest_rows *rows, struct iw_error *error)
{
	long long t0 = iw_now_ms();
	int rc;

	if (rows->billing) {
		struct iw_smt_billing_file bf = { .fd = fd, .raw_file_id = strtoll(id, NULL, 10),
						  .filename = filename, .esiid = file->esiid,
						  .meter = file->meter, .source = source };
		char err[512] = "";
		int brc = iw_smt_billing_load(master, &bf, &rows->bs, err, sizeof err);
		if (brc == IW_SMT_BILLING_ENOHEADER)
			return iw_err_set(error, IW_ERR_INPUT, "content: %s", err);
		if (brc != 0) {
			iw_logf("error", "billing load failed: %s", err);
			if (!(rc = iw_pg_limit_error(error, rows->bs.sqlstate, "on SmtBillingRead rows")))
				rc = iw_err_set(error, IW_ERR_INTERNAL, "loading the billing rows failed");
			return rc;
		}
		rows->t_load = iw_now_ms() - t0;
		return 0;
	}
	{
		struct direct_result direct;

		if ((rc = iw_smt_load_direct(fd, file, meter, source, master, &rows->ir, &direct,
					     error)) != 0)
			return rc;
		if (!direct.usage_done &&
		    (rc = iw_smt_load_intervals(fd, file, meter, source, &rows->ir, error)) != 0)
			return rc;
		rows->t_load = iw_now_ms() - t0;
		t0 = iw_now_ms();
		if (direct.master_done)
			rows->norm.raw = rows->norm.inserted = rows->ir.inserted;
		else if (rows->ir.nesiids && (rc = iw_smt_normalize_file(&rows->ir, 1, &rows->norm, error)) != 0)
			return rc;
		rows->t_norm = iw_now_ms() - t0;
	}
	return 0;
}

static void add_billing_fields(json_object *body, const struct iw_smt_billing_stats *bs)
{
	struct iw_smt_csv_reason rs[IW_SMT_BILLING_REASONS];

	json_object_object_add(body, "rows", json_object_new_int64(bs->rows));
	json_object_object_add(body, "skippedRows", json_object_new_int64(bs->malformed));
	json_object_object_add(body, "malformedRows", json_object_new_int64(bs->malformed));
	for (int i = 0; i < bs->nreasons; i++) {
		rs[i].line = bs->reasons[i].line;
		snprintf(rs[i].msg, sizeof rs[i].msg, "%s", bs->reasons[i].msg);
	}
	json_object_object_add(body, "malformed", reasons_json(rs, bs->nreasons));
	json_object_object_add(body, "billingInserted", json_object_new_int64(bs->rows));
	json_object_object_add(body, "billingReplaced", json_object_new_int64(bs->replaced));
	json_object_object_add(body, "latin1Lines", json_object_new_int64(bs->transcoded));
}

static void add_interval_fields(json_object *body, const struct interval_result *ir,
				const struct iw_usage_summary *norm)
{
	json_object *loaded = json_object_new_object();

	json_object_object_add(body, "esiid", ir->st.esiid[0] ? json_object_new_string(ir->st.esiid) : NULL);
	json_object_object_add(body, "rows", json_object_new_int64(ir->st.rows));
	json_object_object_add(body, "skippedRows", json_object_new_int64(ir->st.blank + ir->st.malformed));
	json_object_object_add(body, "blankRows", json_object_new_int64(ir->st.blank));
	json_object_object_add(body, "malformedRows", json_object_new_int64(ir->st.malformed));
	json_object_object_add(body, "malformed", reasons_json(ir->st.reasons, ir->st.nreasons));
	if (ir->st.rows > 0) {
		char first[32], last[32];
		iw_timestamp_format(ir->st.min_ts_ms, first);
		iw_timestamp_format(ir->st.max_ts_ms, last);
		json_object_object_add(body, "firstIntervalStart", json_object_new_string(first));
		json_object_object_add(body, "lastIntervalStart", json_object_new_string(last));
	}
	if (loaded) {
		json_object_object_add(loaded, "intervals", json_object_new_int64(ir->distinct));
		json_object_object_add(loaded, "supersededInFile",
				       json_object_new_int64(ir->st.rows - ir->distinct));
		json_object_object_add(loaded, "insertedCount", json_object_new_int64(ir->inserted));
		json_object_object_add(loaded, "updatedCount", json_object_new_int64(ir->updated));
		json_object_object_add(loaded, "unchangedCount",
				       json_object_new_int64(ir->distinct - ir->inserted - ir->updated));
		json_object_object_add(body, "usageLoaded", loaded);
	}
	json_object_object_add(body, "intervalNormalized", summary_json(norm));
}

/* The answer of a new file. NULL when out of memory. */
static json_object *new_file_body(const struct iw_smt_file *file, const char *filename,
				  const struct iw_smt_spool *spool, const char *key, const char *id,
				  const char *meter, const char *source,
				  const struct ingest_rows *rows, long long t_store)
{
	json_object *body = base_body(file, filename, spool, key, 0), *t;

	if (!body)
		return NULL;
	json_object_object_add(body, "rawFileId", json_object_new_int64(strtoll(id, NULL, 10)));
	json_object_object_add(body, "kind", json_object_new_string(rows->billing ? "billing" : "interval"));
	json_object_object_add(body, "meter", json_object_new_string(meter));
	json_object_object_add(body, "source", json_object_new_string(source));
	if (rows->billing)
		add_billing_fields(body, &rows->bs);
	else
		add_interval_fields(body, &rows->ir, &rows->norm);
	if ((t = json_object_new_object())) {
		json_object_object_add(t, "load", json_object_new_int64(rows->t_load));
		json_object_object_add(t, "normalize", json_object_new_int64(rows->t_norm));
		json_object_object_add(t, "storeAndCommit", json_object_new_int64(t_store));
		json_object_object_add(body, "timingsMs", t);
	}
	return body;
}

/* A progress event of the pull (ROWS < 0: not counted). */
static void pull_event(const struct iw_smt_file *file, const char *phase,
		       const struct iw_smt_spool *spool, long long rows)
{
	json_object *ev;

	if (!iw_progress_on(file->progress) || !(ev = json_object_new_object()))
		return;
	json_object_object_add(ev, "event", json_object_new_string("pull"));
	json_object_object_add(ev, "phase", json_object_new_string(phase));
	json_object_object_add(ev, "bytes", json_object_new_int64((int64_t)spool->size));
	if (rows >= 0)
		json_object_object_add(ev, "rows", json_object_new_int64(rows));
	iw_progress_emit(file->progress, ev);
}

int iw_smt_ingest(const struct iw_smt_file *file, struct iw_smt_spool *spool,
		  json_object **body_out, struct iw_error *error)
{
	char filename[IW_SMT_FILENAME_MAX + 1], key[IW_STORAGE_KEY_MAX + 1], id[24], date[11];
	const char *meter = file->meter ? file->meter : IW_SMT_METER_DEFAULT;
	const char *source = file->source ? file->source : IW_SMT_SOURCE_DEFAULT;
	const char *ctype = iw_smt_content_type(file->content_type);
	struct ingest_rows rows = { 0 };
	PGconn *master;
	int rc = 0, in_tx = 0;
	time_t now = time(NULL);
	struct tm tm;
	long long t_store = 0, t0;

	*body_out = NULL;
	if (iw_smt_spool_finish(spool) != 0)
		return iw_err_set(error, spool->err == IW_SMT_SPOOL_ETOOBIG ? IW_ERR_TOO_BIG
				  : spool->err == IW_SMT_SPOOL_EIO ? IW_ERR_IO : IW_ERR_INPUT,
				  "content: %s", spool->errbuf);
	if (file->size_expected >= 0 && (uint64_t)file->size_expected != spool->size)
		return iw_err_set(error, IW_ERR_INPUT,
				"sizeBytes: %lld given, the decoded content has %llu bytes",
				file->size_expected, (unsigned long long)spool->size);
	iw_smt_filename_sanitize(file->filename, filename);
	{
		/* The stored bytes are the decoded ones: "x.csv.gz" is kept as "x.csv". */
		size_t n = strlen(filename);
		if (spool->enc == IW_SMT_GZIP && n > 3 && strcasecmp(filename + n - 3, ".gz") == 0)
			filename[n - 3] = '\0';
	}
	if ((rc = find_known(file, filename, spool, body_out, error)) != 0 || *body_out)
		return rc;
	if ((rc = file_kind(filename, spool, &rows.billing, error)) != 0)
		return rc;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%d", &tm);
	if (iw_smt_store_key(date, spool->sha256, filename, key, sizeof key) != 0)
		return iw_err_set(error, IW_ERR_INPUT, "filename: not usable in a storage key");

	/* 1. Store first: nothing is written to a database unless the bytes are
	 * kept. The key holds the sha256: a resend puts the same bytes there. */
	t0 = iw_now_ms();
	if ((rc = iw_smt_store_spool(spool->fd, key, ctype, error)) != 0)
		return rc;
	t_store = iw_now_ms() - t0;
	pull_event(file, "stored", spool, -1);

	/* 2. Claim the sha256 in the master transaction. */
	/* The connection after BEGIN: BEGIN replaces one found broken. */
	if (iw_db_begin(IW_DB_MASTER, error) != 0 || !(master = iw_db_conn(IW_DB_MASTER, error)))
		return (int)error->code;
	in_tx = 1;
	{
		char err[256];
		if (iw_pg_tx_limits(master, err, sizeof err) != 0) {
			iw_logf("error", "setting the master limits failed: %s", err);
			/* A connection lost since BEGIN (a server restart): 503, not 500. */
			rc = PQstatus(master) != CONNECTION_OK
				     ? iw_err_set(error, IW_ERR_DB_DOWN, "a database connection was lost")
				     : iw_err_set(error, IW_ERR_INTERNAL, "a database statement failed");
			goto out;
		}
	}
	if ((rc = claim(master, file, filename, spool, source, ctype, key, id, error)) != 0)
		goto out;
	if (!id[0]) {
		/* Claimed meanwhile by a concurrent post of the same bytes. */
		iw_db_rollback(IW_DB_MASTER);
		return iw_smt_ingest(file, spool, body_out, error);
	}

	/* 3. Rows. */
	if ((rc = load_rows(master, file, spool->fd, id, filename, meter, source, &rows, error)) != 0)
		goto out;
	pull_event(file, "loaded", spool, rows.billing ? -1 : rows.ir.st.rows);
	t0 = iw_now_ms();

	/* 4. Record, commit: the rows and the marker become visible at once. */
	{
		const char *fesiid = rows.billing ? file->esiid
						  : (rows.ir.st.esiid[0] ? rows.ir.st.esiid : file->esiid);
		const char *p[2] = { id, fesiid };
		if (iw_db_run(IW_DB_MASTER, error, SQL_RECORD_ESIID, 2, p) != 0 ||
		    iw_db_commit(IW_DB_MASTER, error) != 0) {
			rc = (int)error->code;
			goto out;
		}
		in_tx = 0;
	}
	t_store += iw_now_ms() - t0;

	if (!(*body_out = new_file_body(file, filename, spool, key, id, meter, source, &rows, t_store)))
		rc = iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
out:
	if (in_tx)
		iw_db_rollback(IW_DB_MASTER);
	free(rows.ir.esiids);
	return rc;
}
