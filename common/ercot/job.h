/* One ERCOT file being ingested (not for use outside ercot/ingest.c and
 * ercot/extract.c): its download spool, hash, row counts and the load's
 * raw connection. */
#ifndef IW_ERCOT_JOB_H
#define IW_ERCOT_JOB_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <zip.h>

#include "ercot/ingest.h"
#include "io/run_lock.h"
#include "io/storage.h"

#define ERCOT_FILE_MAX      (8LL * 1024 * 1024 * 1024) /* refuse larger downloads */
#define ERCOT_ZIP_CHUNK     (64u * 1024)
#define ERCOT_UPLOAD_CHUNK  (256u * 1024)

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
	const struct iw_progress *progress; /* the caller's events (NULL: none) */
	long long stream_next, csv_stream_next; /* the next event's bytes */
};

/* Logs a progress event of J (PHASE; DONE marks the last) and hands it to
 * J's progress callback. */
void iw_ercot_job_progress(const struct job *j, const char *phase, int done);
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
/* Stores the spooled download (atomic put) at j->key. */
int iw_ercot_extract_upload(struct job *j);
/* Opens the spooled download with libzip: NULL with j->err. */
zip_t *iw_ercot_extract_open_zip(struct job *j);
#endif
