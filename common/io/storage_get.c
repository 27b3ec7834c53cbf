/* Reading a stored object back (io/storage.h, iw_storage_get): the local
 * backend reads STORAGE_DIR/<key> in chunks, S3 streams a GET
 * (io/storage_s3.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "io/storage.h"
#include "io/storage_backend.h"

#define GET_CHUNK (64 * 1024)

static int local_get(const char *key, iw_storage_sink sink, void *arg, char *err, size_t errlen)
{
	const char *dir = iw_env("STORAGE_DIR");
	char *path = NULL, *buf = NULL;
	int fd = -1, rc = -1;

	if (!dir) {
		iw_errf(err, errlen, "STORAGE_DIR is not set");
		return -1;
	}
	if (asprintf(&path, "%s/%s", dir, key) < 0) {
		path = NULL;
		iw_errf(err, errlen, "out of memory");
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = IW_STORAGE_MISSING;
		else
			iw_errf(err, errlen, "open %s: %s", key, strerror(errno));
		goto out;
	}
	if (!(buf = malloc(GET_CHUNK))) {
		iw_errf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, GET_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			iw_errf(err, errlen, "read %s: %s", key, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (sink(arg, buf, (size_t)n) != 0) {
			iw_errf(err, errlen, "reading %s: the consumer refused the bytes", key);
			goto out;
		}
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

int iw_storage_get(const char *key, iw_storage_sink sink, void *arg, char *err, size_t errlen)
{
	if (!iw_storage_key_valid(key)) {
		iw_errf(err, errlen, "invalid storage key");
		return -1;
	}
	if (strcmp(iw_storage_backend(), "s3") == 0)
		return iw_storage_s3_get(key, sink, arg, err, errlen);
	return local_get(key, sink, arg, err, errlen);
}
