/* Object storage in a local directory (STORAGE_DIR): a temp file beside
 * the object, fsync'd and renamed into place, so a reader sees all or nothing. */
#include "io/storage_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"

#define LOCAL_DIR_MODE       0750
#define LOCAL_FILE_MODE      0640
#define LOCAL_KICK_BYTES     (8u * 1024 * 1024)

/* Creates the directories above PATH, from byte FROM on (mkdir -p). */
static int mkdir_parents(char *path, size_t from)
{
	struct stat st;

	for (size_t i = from; path[i]; i++) {
		if (path[i] != '/' || i == 0)
			continue;
		path[i] = '\0';
		/* An existing directory may still refuse mkdir (EACCES above it). */
		if (mkdir(path, LOCAL_DIR_MODE) == -1 && errno != EEXIST) {
			int saved = errno;

			if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
				path[i] = '/';
				errno = saved;
				return -1;
			}
		}
		path[i] = '/';
	}
	return 0;
}

int iw_storage_local_begin(struct iw_storage_put *w)
{
	const char *dir = iw_env("STORAGE_DIR");
	char *slash;

	if (!dir) {
		iw_errf(w->err, w->errlen, "STORAGE_DIR is not set");
		return -1;
	}
	if (asprintf(&w->path, "%s/%s", dir, w->key) < 0) {
		w->path = NULL;
		goto nomem;
	}
	if (mkdir_parents(w->path, 1) == -1) {
		iw_errf(w->err, w->errlen, "cannot create the directories of %s: %s",
		     w->key, strerror(errno));
		return -1;
	}
	/* The temp file sits beside the target so that rename() is atomic. */
	slash = strrchr(w->path, '/');
	if (asprintf(&w->tmp, "%.*s/.tmp-%s-XXXXXX", (int)(slash - w->path), w->path,
		     slash + 1) < 0) {
		w->tmp = NULL;
		goto nomem;
	}
	if ((w->fd = mkostemp(w->tmp, O_CLOEXEC)) == -1) {
		iw_errf(w->err, w->errlen, "cannot create a file for %s: %s", w->key,
		     strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		return -1;
	}
	if (fchmod(w->fd, LOCAL_FILE_MODE) == -1) {
		iw_errf(w->err, w->errlen, "chmod: %s", strerror(errno));
		return -1;
	}
	return 0;
nomem:
	iw_errf(w->err, w->errlen, "out of memory");
	return -1;
}

/* Starts the write-back of what was written since the last call, every
 * LOCAL_KICK_BYTES: the disk works while the caller produces more (a
 * download), and the fsync at commit waits only for the tail. */
static void kick_writeback(struct iw_storage_put *w, size_t len)
{
#ifdef SYNC_FILE_RANGE_WRITE
	uint64_t end = w->bytes + len;

	if (end - w->kicked < LOCAL_KICK_BYTES)
		return;
	(void)sync_file_range(w->fd, (off_t)w->kicked, (off_t)(end - w->kicked),
			      SYNC_FILE_RANGE_WRITE);
	w->kicked = end;
#else
	(void)w;
	(void)len;
#endif
}

int iw_storage_local_write(struct iw_storage_put *w, const unsigned char *p, size_t len)
{
	size_t total = len;

	while (len > 0) {
		ssize_t n = write(w->fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			int saved = errno;

			iw_errf(w->err, w->errlen, "write %s: %s", w->key, strerror(saved));
			errno = saved; /* the caller tells a full disk apart */
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	kick_writeback(w, total);
	return 0;
}

void iw_storage_local_discard(struct iw_storage_put *w)
{
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	w->tmp = NULL;
}

int iw_storage_local_commit(struct iw_storage_put *w)
{
	char *slash;
	int dfd, rc;

	if (fsync(w->fd) == -1) {
		iw_errf(w->err, w->errlen, "fsync %s: %s", w->key, strerror(errno));
		return -1;
	}
	rc = close(w->fd);
	w->fd = -1;
	if (rc == -1) {
		iw_errf(w->err, w->errlen, "close %s: %s", w->key, strerror(errno));
		return -1;
	}
	if (rename(w->tmp, w->path) == -1) {
		iw_errf(w->err, w->errlen, "rename to %s: %s", w->key, strerror(errno));
		return -1;
	}
	free(w->tmp);
	w->tmp = NULL;
	/* Make the rename itself durable. */
	slash = strrchr(w->path, '/');
	*slash = '\0';
	dfd = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*slash = '/';
	if (dfd != -1) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int iw_storage_local_exists(const char *key)
{
	const char *dir = iw_env("STORAGE_DIR");
	struct stat st;
	char *path;
	int rc;

	if (!dir) {
		iw_logf("error", "storage: STORAGE_DIR is not set");
		return -1;
	}
	if (asprintf(&path, "%s/%s", dir, key) < 0)
		return -1;
	if (stat(path, &st) == 0)
		rc = S_ISREG(st.st_mode) ? 1 : 0;
	else if (errno == ENOENT || errno == ENOTDIR)
		rc = 0;
	else {
		iw_logf("error", "storage: stat %s: %s", key, strerror(errno));
		rc = -1;
	}
	free(path);
	return rc;
}
