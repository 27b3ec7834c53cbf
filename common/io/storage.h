/* Object storage (SPEC §6): an S3-compatible bucket when S3_BUCKET (or
 * DO_SPACES_BUCKET) is set, otherwise the local directory STORAGE_DIR. The
 * backend is read from the settings snapshot (iw_config_load() first).
 *
 * Writes are atomic on both backends: a reader sees the whole object or
 * nothing (local: temp file + fsync + rename; S3: a single PUT, or above
 * IW_STORAGE_PART_SIZE a multipart upload that is completed on commit and
 * aborted on any failure). Memory stays bounded by one part buffer however
 * large the object. */
#ifndef IW_STORAGE_H
#define IW_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#define IW_STORAGE_KEY_MAX   1024                 /* bytes, as S3 allows */
#define IW_STORAGE_PART_SIZE (16u * 1024 * 1024)  /* single PUT up to this; multipart parts */
#define IW_STORAGE_MAX_PARTS 10000                /* S3's limit */

struct iw_storage_result {
	char key[IW_STORAGE_KEY_MAX + 1];
	uint64_t bytes;
	char sha256[65];                          /* hex of the whole object */
};

struct iw_storage_put;

/* "s3" or "local". */
const char *iw_storage_backend(void);

/* Fills NAMES (up to MAX) with the required settings that are absent for the
 * chosen backend; returns how many are absent (may exceed MAX). */
int iw_storage_missing_settings(const char **names, size_t max);

/* 1 when KEY is acceptable: 1..IW_STORAGE_KEY_MAX bytes, no leading '/', no
 * empty, "." or ".." segment, no control characters. */
int iw_storage_key_valid(const char *key);

/* Starts writing KEY (CONTENT_TYPE may be NULL: application/octet-stream).
 * ERR (ERRLEN bytes) receives the reason of any failure of this writer (S3
 * failures name the step, key, HTTP status and S3 error <Code>; never a
 * secret), so it must outlive the writer. Returns NULL on failure. */
struct iw_storage_put *iw_storage_put_begin(const char *key, const char *content_type,
					    char *err, size_t errlen);
/* Appends LEN bytes: copied and queued to the writer's thread, which hashes
 * and stores them while the caller goes on. Returns 0, or -1 (the writer is
 * then failed: abort it) with errno kept (ENOSPC/EDQUOT: a full disk). A
 * store error of earlier bytes is reported here, or by flush/commit. */
int iw_storage_put_write(struct iw_storage_put *w, const void *buf, size_t len);
/* Waits until everything written is hashed and stored (a local writer's temp
 * file then holds it all). 0, or -1 as iw_storage_put_write. */
int iw_storage_put_flush(struct iw_storage_put *w);
/* Publishes the object and frees W whatever the outcome. OUT may be NULL.
 * Returns 0, or -1 with nothing published (errno kept, as for a write). */
int iw_storage_put_commit(struct iw_storage_put *w, struct iw_storage_result *out);
/* Discards everything written and frees W (NULL is fine). */
void iw_storage_put_abort(struct iw_storage_put *w);
/* The sha256 (hex) of the bytes written so far (flushes first); the writer
 * goes on. 0 or -1. */
int iw_storage_put_sha256(struct iw_storage_put *w, char out[65]);
/* A local writer's temp file (beside the object, not yet visible), open
 * for reading and writing, so a caller can read back what it wrote without
 * a second copy (after iw_storage_put_flush or _sha256); -1 for the S3
 * backend. The writer keeps owning it. */
int iw_storage_put_local_fd(const struct iw_storage_put *w);

/* One-call put of a buffer. Returns 0 or -1 (ERR says why). */
int iw_storage_put_buffer(const char *key, const char *content_type, const void *buf,
			  size_t len, struct iw_storage_result *out, char *err, size_t errlen);

/* 1 when KEY exists, 0 when it does not, -1 on error (logged). */
int iw_storage_exists(const char *key);

/* Reads the object KEY, handing its bytes to SINK in chunks (a non-zero
 * SINK return stops the read and fails it). Returns 0, IW_STORAGE_MISSING
 * when there is no such object, or -1 (ERR says why). Both backends
 * (io/storage_get.c, io/storage_s3.c). */
#define IW_STORAGE_MISSING 1
typedef int (*iw_storage_sink)(void *arg, const void *buf, size_t len);
int iw_storage_get(const char *key, iw_storage_sink sink, void *arg, char *err, size_t errlen);
#endif
