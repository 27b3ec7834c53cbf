/* One ERCOT file being ingested (not for use outside ercot/ingest.c,
 * ercot/extract.c and ercot/progress.c): its download spool, hash, row
 * counts and the load's raw connection. */
#ifndef IW_ERCOT_JOB_H
#define IW_ERCOT_JOB_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <zip.h>

#include "ercot/ingest.h"
#include "ercot/stored.h"
#include "io/run_lock.h"
#include "io/storage.h"

#define ERCOT_ZIP_CHUNK     (64u * 1024)
#define ERCOT_UPLOAD_CHUNK  (256u * 1024)

struct job {
	const struct iw_ercot_doc *doc;
	const char *day;
	const char *method;
	json_object *result;
	int fd;                         /* the download, read back for the zip */
	int own_spool;                  /* fd is a spool of ours to write (S3) */
	struct iw_storage_put *w;       /* the object, written while downloading */
	char werr[512];                 /* the storage writer's failure */
	int store_failed;
	int no_space;                   /* a local disk filled up (ENOSPC, EDQUOT) */
	long long bytes, next_progress;
	char sha[65];
	char key[IW_STORAGE_KEY_MAX + 1];
	char posted[32];
	long long rows, bad, transcoded;
	int columns;
	int ascending;                  /* ESIIDs strictly ascending: none twice */
	long long csv_bytes, csv_next;
	char err[512];
	PGconn *conn;
	int copy_failed;
	char sqlstate[6];               /* of the last failed statement in the load */
	struct iw_ercot_stored *stored; /* the stored rows' merge (ercot/stored.h), or NULL */
	int merge_failed;               /* the merge stopped: load every row */
	struct iw_run_lock *lock;       /* the run's lease, renewed while downloading */
	time_t renewed;
	int lock_lost;
	const struct iw_progress *progress; /* the caller's events (NULL: none) */
	long long stream_next, csv_stream_next; /* the next event's bytes */
};

/* Logs a progress event of J (PHASE; DONE marks the last) and hands it to
 * J's progress callback. */
void iw_ercot_job_progress(const struct job *j, const char *phase, int done);
/* After J's bytes of PHASE ("download": j->bytes, "load": j->csv_bytes)
 * grew: a logged progress event every IW_ERCOT_PROGRESS_BYTES, and between
 * them a streamed one (to the progress callback only) every stream step. */
void iw_ercot_job_advance(struct job *j, const char *phase);
/* Streamed download events of J come this many bytes apart. */
long long iw_ercot_job_stream_step(const struct job *j);
#define IW_ERCOT_CSV_STREAM_STEP (1024LL * 1024) /* a load event per MiB of CSV */
/* The download sink: hashes and spools BUF; LEN to go on. */
size_t iw_ercot_job_spool(const void *buf, size_t len, void *ctx);
/* Writes the "ErcotIngest" row of this file. Returns 0 or -1. */
int iw_ercot_job_record(struct job *j, const char *status, int with_sha, const char *error,
		  const char *detail);
/* Sets the result's error, records the error row and logs the end. */
void iw_ercot_job_fail(struct job *j, int with_sha, const char *error, const char *detail);

/* extract.c: the zip's CSV members COPYed into the load's temporary table. */
int iw_ercot_extract_copy_in(struct job *j, zip_t *za);
/* Publishes the object written while downloading (rename into place, or
 * the multipart upload completed) and checks its size and sha256. */
int iw_ercot_extract_upload(struct job *j);
/* Opens the spooled download with libzip: NULL with j->err. */
zip_t *iw_ercot_extract_open_zip(struct job *j);
/* Steady state (a re-post of a full extract writes only the rows that
 * changed): do the stored row T and the file's row R hold different values? By the
 * hash of the file's values (ercot/csv.c values_hash) stored with each row:
 * one number compared instead of 21 columns. A row without a hash (written
 * before it existed, or hashing failed) counts as different, and gets one
 * when rewritten. */
#define IW_ERCOT_VALUES_DIFFER " (t.\"valuesHash\" = r.h) IS NOT TRUE"

/* Within one file the last row of an ESIID wins: one row per ESIID, in ESIID
 * order (new index entries then arrive in key order). */
#define IW_ERCOT_SQL_DEDUP \
	"CREATE TEMP TABLE ercot_rows ON COMMIT DROP AS" \
	" SELECT DISTINCT ON (c0) * FROM ercot_load ORDER BY c0, ord DESC"

/* One statement of the load transaction on J's raw connection: the rows it
 * touched (or returned), or -1 with j->err and j->sqlstate set. */
long long iw_ercot_job_exec(struct job *j, const char *sql, int n, const char *const *p);
/* steady.c: fills the temp table ercot_rows with the rows to write (all of
 * them on a first load; else only the new and changed ESIIDs) and records
 * the ESIIDs a full file no longer lists. P: tdsp, posted, sha256,
 * "true"/"false" (a full extract). 0 or -1. */
int iw_ercot_steady_rows(struct job *j, const char *const *p);
/* 1 when FILENAME is a full extract (…_FUL…), 0 for a daily change file. */
int iw_ercot_extract_full(const char *filename);
#endif
