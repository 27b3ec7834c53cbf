/* An ERCOT zip: its CSV members streamed (bounded) into COPY rows, and the
 * download stored. */
#include "ercot/job.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "ercot/stored.h"
#include "io/db.h"
#include "io/db_copy.h"
#include "io/storage.h"

/* The parser's filter: the worker's merge with the stored rows. */
static int stored_keep(void *ctx, const char *esiid, size_t n, const char *hash)
{
	return iw_ercot_stored_keep(ctx, esiid, n, hash);
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
	if (j->stored)
		iw_ercot_csv_set_filter(csv, stored_keep, j->stored);
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
				j->merge_failed = iw_ercot_csv_filter_failed(csv);
				snprintf(j->err, sizeof j->err, "%s", j->copy_failed
					 ? "the database refused the rows"
					 : "a CSV record is longer than the limit");
				zip_fclose(zf);
				goto out;
			}
			j->csv_bytes += got;
			j->rows = iw_ercot_csv_rows(csv);
			iw_ercot_job_advance(j, "load");
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
		j->merge_failed = iw_ercot_csv_filter_failed(csv);
		snprintf(j->err, sizeof j->err, "the database refused the rows");
		goto out;
	}
	/* The stored ESIIDs after the file's last one are gone too. */
	if (j->stored && iw_ercot_stored_finish(j->stored) != 0) {
		j->merge_failed = 1;
		goto out;
	}
	j->rows = iw_ercot_csv_rows(csv);
	j->bad = iw_ercot_csv_bad_rows(csv);
	j->transcoded = iw_ercot_csv_transcoded_rows(csv);
	j->columns = iw_ercot_csv_columns(csv);
	j->ascending = iw_ercot_csv_ascending(csv);
	rc = 0;
out:
	iw_ercot_csv_free(csv);
	free(buf);
	return rc;
}

/* One COPY of the zip's rows into ercot_load. A merge that stopped ends
 * the COPY cleanly (the transaction stays usable) with j->merge_failed. */
static int copy_once(struct job *j, zip_t *za)
{
	char e[256], state[6];
	int rc;

	if (iw_db_copy_start(j->conn, "COPY ercot_load FROM STDIN", PGRES_COPY_IN, e, sizeof e) != 0) {
		snprintf(j->err, sizeof j->err, "COPY refused: %.200s", e);
		return -1;
	}
	rc = load_members(j, za);
	if (iw_db_copy_end(j->conn, rc && !j->merge_failed ? "aborted: the zip could not be read" : NULL,
			   e, sizeof e, state) != 0) {
		/* Rows the server refused before the merge stopped: that error is
		 * the file's (the transaction is aborted), not the merge's. */
		if (j->merge_failed) {
			j->merge_failed = 0;
			rc = 0;
		}
		if (!rc) { /* else the zip's own error stands (our abort's is not news) */
			snprintf(j->sqlstate, sizeof j->sqlstate, "%s", state);
			snprintf(j->err, sizeof j->err, "COPY failed: %.200s", e);
			rc = -1;
		}
	}
	return rc;
}

/* COPY the CSV of the zip into a temp table (in the open transaction):
 * through the stored-rows merge when j->stored is open (only new and
 * changed rows), else every row. A merge that cannot go on (the file is not
 * in ESIID order, ...) costs a second pass without it. */
int iw_ercot_extract_copy_in(struct job *j, zip_t *za)
{
	int rc;

	if (!(j->conn = iw_db_conn(IW_DB_MASTER, NULL))) {
		snprintf(j->err, sizeof j->err, "the database is unavailable");
		return -1;
	}
	rc = copy_once(j, za);
	if (rc == 0 || !j->merge_failed)
		return rc;
	iw_logf("info", "ercot: %s: the steady-state merge stopped (%s): loading every row",
		j->doc->filename, iw_ercot_stored_error(j->stored)[0]
		? iw_ercot_stored_error(j->stored) : "the file is not in ESIID order");
	iw_ercot_stored_close(j->stored);
	j->stored = NULL;
	j->merge_failed = 0;
	if (iw_ercot_job_exec(j, "TRUNCATE ercot_load", 0, NULL) < 0)
		return -1;
	j->csv_bytes = 0;
	j->csv_next = IW_ERCOT_PROGRESS_BYTES;
	j->csv_stream_next = IW_ERCOT_CSV_STREAM_STEP;
	j->rows = 0;
	j->err[0] = 0;
	return copy_once(j, za);
}

int iw_ercot_extract_upload(struct job *j)
{
	struct iw_storage_result res;
	struct iw_storage_put *w = j->w;

	j->w = NULL;
	if (iw_storage_put_commit(w, &res) != 0) {
		snprintf(j->err, sizeof j->err, "storage: %.480s", j->werr[0] ? j->werr : "commit failed");
		return -1;
	}
	if ((long long)res.bytes != j->bytes || strcmp(res.sha256, j->sha) != 0) {
		snprintf(j->err, sizeof j->err, "storage: stored object differs from the download");
		return -1;
	}
	return 0;
}

/* Opens the spooled download with libzip (its own FILE*): NULL with j->err. */
zip_t *iw_ercot_extract_open_zip(struct job *j)
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
