/* Storage of a pulled SMT file; see smt/store.h. */
#include "smt/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "core/err.h"
#include "smt/ingest.h"
#include "io/storage.h"

#define STORE_CHUNK (64 * 1024)

size_t iw_smt_ext_len(const char *name, size_t len)
{
	/* i > 0: a leading dot is no extension. */
	for (size_t i = len; i-- > 1 && len - i <= IW_SMT_EXT_MAX;)
		if (name[i] == '.')
			return len - i;
	return 0;
}

void iw_smt_filename_sanitize(const char *name, char out[IW_SMT_FILENAME_MAX + 1])
{
	const char *base = name ? name : "";
	size_t o = 0;

	for (const char *p = base; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	for (const char *p = base; *p && o < IW_SMT_FILENAME_MAX; p++) {
		char c = *p;
		if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-'))
			c = '_';
		if (o == 0 && c == '.')
			c = '_'; /* no hidden files, no "." or ".." */
		out[o++] = c;
	}
	out[o] = '\0';
	{
		/* A long name keeps its extension (".csv"): the tail replaces the
		 * end of what was kept. */
		size_t len = strlen(base), ext = iw_smt_ext_len(base, len);
		if (len > IW_SMT_FILENAME_MAX && ext)
			for (size_t i = 0; i < ext; i++) {
				char c = base[len - ext + i];
				out[IW_SMT_FILENAME_MAX - ext + i] =
					isalnum((unsigned char)c) || c == '.' || c == '-' ? c : '_';
			}
	}
	if (o == 0 || strspn(out, "_") == o)
		snprintf(out, IW_SMT_FILENAME_MAX + 1, "upload.csv");
}

void iw_smt_name_shorten(char *name, size_t max)
{
	size_t len = strlen(name), ext, cut;

	if (len <= max)
		return;
	ext = iw_smt_ext_len(name, len);
	if (ext >= max)
		ext = 0;
	cut = max - ext;
	while (cut > 0 && ((unsigned char)name[cut] & 0xC0) == 0x80)
		cut--; /* name[cut] starts no sequence: cut before its lead byte */
	memmove(name + cut, name + len - ext, ext);
	name[cut + ext] = '\0';
}

int iw_smt_store_key(const char *date, const char *sha256, const char *filename, char *key,
		     size_t keylen)
{
	char name[IW_STORAGE_KEY_MAX + 1];
	size_t n = strlen(filename);

	if (n >= sizeof name)
		return -1;
	memcpy(name, filename, n + 1);
	iw_smt_name_shorten(name, IW_SMT_KEY_NAME_MAX);
	if (snprintf(key, keylen, "%s/%s/%s-%s", IW_SMT_STORE_PREFIX, date, sha256, name) >=
	    (int)keylen)
		return -1;
	return iw_storage_key_valid(key) ? 0 : -1;
}

static int media_is(const char *ct, const char *want)
{
	size_t n = strcspn(ct, ";"), w = strlen(want);

	while (*ct == ' ' && n > 0) {
		ct++;
		n--;
	}
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return n == w && strncasecmp(ct, want, w) == 0;
}

const char *iw_smt_content_type(const char *requested)
{
	if (!requested || media_is(requested, "text/csv") || media_is(requested, "application/gzip") ||
	    media_is(requested, "application/x-gzip"))
		return "text/csv";
	if (media_is(requested, "text/plain"))
		return "text/plain";
	return "application/octet-stream";
}

int iw_smt_store_spool(int fd, const char *key, const char *content_type,
		       struct iw_error *error)
{
	char err[512] = "", *chunk = malloc(STORE_CHUNK);
	struct iw_storage_put *w = NULL;
	int rc, saved;

	if (!chunk)
		return iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
	if (!(w = iw_storage_put_begin(key, content_type, err, sizeof err)))
		goto fail;
	if (lseek(fd, 0, SEEK_SET) != 0)
		goto fail;
	for (;;) {
		ssize_t n = read(fd, chunk, STORE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		if (iw_storage_put_write(w, chunk, (size_t)n) != 0)
			goto fail;
	}
	if (iw_storage_put_commit(w, NULL) != 0) {
		w = NULL;
		goto fail;
	}
	free(chunk);
	return 0;
fail:
	saved = errno; /* before the abort's close/unlink */
	iw_storage_put_abort(w);
	iw_logf("error", "storing %s failed: %s", key, err[0] ? err : strerror(saved));
	if (strcmp(iw_storage_backend(), "s3") == 0)
		rc = iw_err_set(error, IW_ERR_UPSTREAM, "storing the file failed (s3 backend)");
	else if (iw_errno_no_space(saved))
		rc = iw_err_set(error, IW_ERR_NO_SPACE,
				"storing the file failed: the storage disk is full");
	else
		rc = iw_err_set(error, IW_ERR_IO, "storing the file failed (local backend)");
	free(chunk);
	return rc;
}
