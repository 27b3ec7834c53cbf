/* Object storage: the front every caller uses (see storage.h): settings,
 * key rules, and the writer that hashes what it is given and hands it to a
 * backend, storage_local.c (a directory) or storage_s3.c (a bucket), on a
 * helper thread (storage_pipe.c). */
#include "io/storage.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/codec.h"
#include "core/config.h"
#include "core/log.h"
#include "io/storage_backend.h"

static enum backend backend_chosen(void)
{
	return iw_env("S3_BUCKET") || iw_env("DO_SPACES_BUCKET") ? BACKEND_S3 : BACKEND_LOCAL;
}

const char *iw_storage_setting(const char *name, const char *alias)
{
	const char *v = iw_env(name);

	return v ? v : iw_env(alias);
}

const char *iw_storage_backend(void)
{
	return backend_chosen() == BACKEND_S3 ? "s3" : "local";
}

int iw_storage_missing_settings(const char **names, size_t max)
{
	static const struct {
		const char *name, *alias;
	} s3_required[] = {
		{ "S3_ENDPOINT", "DO_SPACES_ENDPOINT" },
		{ "S3_REGION", "DO_SPACES_REGION" },
		{ "S3_ACCESS_KEY_ID", "DO_SPACES_KEY" },
		{ "S3_SECRET_ACCESS_KEY", "DO_SPACES_SECRET" },
	};
	int n = 0;

	if (backend_chosen() == BACKEND_LOCAL) {
		if (!iw_env("STORAGE_DIR")) {
			if (names && max > 0)
				names[0] = "STORAGE_DIR";
			n++;
		}
		return n;
	}
	for (size_t i = 0; i < sizeof s3_required / sizeof s3_required[0]; i++) {
		if (iw_storage_setting(s3_required[i].name, s3_required[i].alias))
			continue;
		if (names && (size_t)n < max)
			names[n] = s3_required[i].name;
		n++;
	}
	return n;
}

int iw_storage_key_valid(const char *key)
{
	size_t len, seg = 0;

	if (!key)
		return 0;
	len = strnlen(key, IW_STORAGE_KEY_MAX + 1);
	if (len == 0 || len > IW_STORAGE_KEY_MAX || key[0] == '/')
		return 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c == '/' || c == '\0') {
			/* No empty, "." or ".." segment: the key maps onto a path. */
			if (i == seg || (i - seg == 1 && key[seg] == '.') ||
			    (i - seg == 2 && key[seg] == '.' && key[seg + 1] == '.'))
				return 0;
			seg = i + 1;
		} else if (c < 0x20 || c == 0x7f) {
			return 0;
		}
	}
	return 1;
}

/* ---- the writer ---- */

/* Keeps errno: a caller tells a full disk apart after the writer is gone. */
static void put_free(struct iw_storage_put *w)
{
	int saved = errno;

	iw_storage_pipe_free(w);
	if (w->fd != -1)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	iw_storage_s3_free(w);
	free(w->content_type);
	EVP_MD_CTX_free(w->sha);
	free(w);
	errno = saved;
}

struct iw_storage_put *iw_storage_put_begin(const char *key, const char *content_type,
					    char *err, size_t errlen)
{
	struct iw_storage_put *w;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!iw_storage_key_valid(key)) {
		iw_errf(err, errlen, "invalid key");
		return NULL;
	}
	/* It becomes a request header: no CR/LF smuggling. */
	for (const char *c = content_type; c && *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			iw_errf(err, errlen, "invalid content type");
			return NULL;
		}
	}
	if (!(w = calloc(1, sizeof *w))) {
		iw_errf(err, errlen, "out of memory");
		return NULL;
	}
	w->fd = -1;
	w->err = err;
	w->errlen = errlen;
	w->backend = backend_chosen();
	snprintf(w->key, sizeof w->key, "%s", key);
	if (!(w->content_type = strdup(content_type ? content_type : "application/octet-stream")) ||
	    !(w->sha = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL)) {
		iw_errf(err, errlen, "out of memory");
		put_free(w);
		return NULL;
	}
	rc = w->backend == BACKEND_S3 ? iw_storage_s3_begin(w) : iw_storage_local_begin(w);
	if (rc == -1) {
		put_free(w);
		return NULL;
	}
	return w;
}

int iw_storage_put_consume(struct iw_storage_put *w, const unsigned char *p, size_t len)
{
	int rc;

	if (!EVP_DigestUpdate(w->sha, p, len)) {
		iw_errf(w->err, w->errlen, "sha256 failed");
		errno = EIO;
		return -1;
	}
	rc = w->backend == BACKEND_S3 ? iw_storage_s3_write(w, p, len) : iw_storage_local_write(w, p, len);
	if (rc == 0)
		w->bytes += len;
	return rc;
}

int iw_storage_put_write(struct iw_storage_put *w, const void *buf, size_t len)
{
	if (!w || w->failed)
		return -1;
	if (len == 0)
		return 0;
	/* Copied and queued: hashed and stored on the writer's thread. */
	if (iw_storage_pipe_write(w, buf, len) == -1) {
		w->failed = 1;
		w->failed_errno = errno;
		return -1;
	}
	return 0;
}

int iw_storage_put_flush(struct iw_storage_put *w)
{
	if (!w || w->failed)
		return -1;
	if (iw_storage_pipe_drain(w) == -1) {
		w->failed = 1;
		w->failed_errno = errno;
		return -1;
	}
	return 0;
}

int iw_storage_put_commit(struct iw_storage_put *w, struct iw_storage_result *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc = -1;

	if (!w)
		return -1;
	if (w->failed || iw_storage_put_flush(w) == -1) {
		errno = w->failed_errno;
		iw_storage_put_abort(w); /* keeps errno (ENOSPC...) */
		return -1;
	}
	if (!EVP_DigestFinal_ex(w->sha, md, &mdlen) || mdlen != 32) {
		iw_errf(w->err, w->errlen, "sha256 failed");
		iw_storage_put_abort(w);
		return -1;
	}
	rc = w->backend == BACKEND_S3 ? iw_storage_s3_commit(w) : iw_storage_local_commit(w);
	if (rc == 0 && out) {
		snprintf(out->key, sizeof out->key, "%s", w->key);
		out->bytes = w->bytes;
		iw_hex_encode(md, mdlen, out->sha256);
	}
	if (rc == -1 && w->backend == BACKEND_LOCAL)
		iw_storage_local_discard(w);
	put_free(w);
	return rc;
}

void iw_storage_put_abort(struct iw_storage_put *w)
{
	int saved = errno;

	if (!w)
		return;
	iw_storage_pipe_free(w); /* the thread is done before the backend goes */
	if (w->backend == BACKEND_S3)
		iw_storage_s3_abort(w);
	else
		iw_storage_local_discard(w);
	put_free(w);
	errno = saved;
}

int iw_storage_put_sha256(struct iw_storage_put *w, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *copy;
	int ok;

	if (iw_storage_put_flush(w) == -1 || !(copy = EVP_MD_CTX_new()))
		return -1;
	ok = EVP_MD_CTX_copy_ex(copy, w->sha) && EVP_DigestFinal_ex(copy, md, &mdlen) && mdlen == 32;
	EVP_MD_CTX_free(copy);
	if (!ok)
		return -1;
	iw_hex_encode(md, mdlen, out);
	return 0;
}

int iw_storage_put_local_fd(const struct iw_storage_put *w)
{
	return w && w->backend == BACKEND_LOCAL ? w->fd : -1;
}

int iw_storage_put_buffer(const char *key, const char *content_type, const void *buf,
			  size_t len, struct iw_storage_result *out, char *err, size_t errlen)
{
	struct iw_storage_put *w = iw_storage_put_begin(key, content_type, err, errlen);

	if (!w)
		return -1;
	if (iw_storage_put_write(w, buf, len) == -1) {
		iw_storage_put_abort(w);
		return -1;
	}
	return iw_storage_put_commit(w, out);
}

int iw_storage_exists(const char *key)
{
	if (!iw_storage_key_valid(key)) {
		iw_logf("error", "storage: invalid key");
		return -1;
	}
	return backend_chosen() == BACKEND_S3 ? iw_storage_s3_exists(key) : iw_storage_local_exists(key);
}
