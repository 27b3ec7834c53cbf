/* What the storage front (storage.c) shares with its two backends,
 * storage_local.c and storage_s3.c. Not for use outside io/storage*. */
#ifndef IW_STORAGE_BACKEND_H
#define IW_STORAGE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "core/err.h"
#include "core/log.h"
#include "io/storage.h"

#define PART_INITIAL_CAP     (64 * 1024)

enum backend {
	BACKEND_LOCAL,
	BACKEND_S3,
};

struct s3_conf {
	const char *bucket;
	const char *endpoint;     /* as configured, scheme optional */
	const char *region;
	const char *key_id;
	const char *secret;
	int path_style;
};

struct iw_storage_put {
	enum backend backend;
	char key[IW_STORAGE_KEY_MAX + 1];
	char *err;
	size_t errlen;
	int failed;
	int failed_errno;         /* errno of the failure, given again by commit */
	EVP_MD_CTX *sha;
	uint64_t bytes;
	struct iw_storage_pipe *pipe; /* the helper thread (storage_pipe.c); NULL until a write */
	/* local */
	int fd;
	char *path;
	char *tmp;
	uint64_t kicked;          /* bytes whose write-back was started */
	/* s3 */
	struct s3_conf s3;
	char *content_type;
	void *h;                  /* CURL * (storage_s3.c) */
	unsigned char *part;
	size_t part_len;
	size_t part_cap;
	char *upload_id;
	char **etags;             /* etags[i] is part i + 1 */
	int parts;
};

/* A setting under its S3_ name or its DigitalOcean Spaces alias. */
const char *iw_storage_setting(const char *name, const char *alias);

/* Hashes LEN bytes and hands them to the backend; on the pipe's thread
 * (storage.c). 0, or -1 with errno kept (ENOSPC...) and ERR set. */
int iw_storage_put_consume(struct iw_storage_put *w, const unsigned char *p, size_t len);

/* The helper thread (storage_pipe.c). write: copies and queues, 0 or -1
 * (a failure of the thread, errno kept). drain: waits until everything
 * written was consumed, 0 or -1 likewise. free: stops and joins the thread,
 * dropping what is still queued; keeps errno. */
int iw_storage_pipe_write(struct iw_storage_put *w, const unsigned char *p, size_t len);
int iw_storage_pipe_drain(struct iw_storage_put *w);
void iw_storage_pipe_free(struct iw_storage_put *w);

/* Local directory backend (storage_local.c). */
int iw_storage_local_begin(struct iw_storage_put *w);
int iw_storage_local_write(struct iw_storage_put *w, const unsigned char *p, size_t len);
void iw_storage_local_discard(struct iw_storage_put *w);
int iw_storage_local_commit(struct iw_storage_put *w);
int iw_storage_local_exists(const char *key);

/* S3 backend (storage_s3.c). */
int iw_storage_s3_begin(struct iw_storage_put *w);
int iw_storage_s3_write(struct iw_storage_put *w, const unsigned char *p, size_t len);
void iw_storage_s3_abort(struct iw_storage_put *w);
int iw_storage_s3_commit(struct iw_storage_put *w);
int iw_storage_s3_exists(const char *key);
/* GET of KEY into SINK: 0, IW_STORAGE_MISSING (404) or -1 (ERR says why). */
int iw_storage_s3_get(const char *key, iw_storage_sink sink, void *arg, char *err, size_t errlen);
/* Frees what the S3 backend holds in W (handle, part buffer, ETags). */
void iw_storage_s3_free(struct iw_storage_put *w);
/* The text of the first <TAG> of an S3 XML reply (printable ASCII) into OUT:
 * 0, or -1 when absent or empty. Internal; exposed for the fuzz target. */
int iw_s3_xml_text(const char *xml, const char *tag, char *out, size_t outlen);

#endif
