/* The local storage writer and its helper thread (io/storage_pipe.c): the
 * bytes, their sha256 and the temp file are whole at flush and commit, a
 * store error of the thread surfaces at a later write or at the end with
 * its errno, and an abort with buffers still queued leaves nothing. The
 * store error is a file size limit (RLIMIT_FSIZE: write() fails with EFBIG),
 * which needs no root and no small disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/codec.h"
#include "core/config.h"
#include "io/storage.h"
#include "unit.h"

#define MiB (1024u * 1024)

static char dir[64];

static unsigned char *pattern(size_t len)
{
	unsigned char *b = malloc(len);

	for (size_t i = 0; b && i < len; i++)
		b[i] = (unsigned char)(i * 2654435761u >> 13);
	return b;
}

static void sha_hex(const unsigned char *b, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(b, len, md, &n, EVP_sha256(), NULL);
	iw_hex_encode(md, n, out);
}

/* Files under DIR/SUB (temp files included). */
static int files_in(const char *sub)
{
	char path[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "%s/%s", dir, sub);
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' || strncmp(e->d_name, ".tmp-", 5) == 0;
	closedir(d);
	return n;
}

/* 5 MiB in uneven chunks: flush makes the temp file and the hash whole
 * before the commit; the object is the bytes written. */
static void test_big_object(void)
{
	size_t len = 5 * MiB + 12345, off = 0, step = 7777;
	unsigned char *b = pattern(len), *back = malloc(len);
	char err[512], want[65], got[65];
	struct iw_storage_result res;
	struct iw_storage_put *w;
	int fd;

	CHECK(b && back);
	sha_hex(b, len, want);
	CHECK((w = iw_storage_put_begin("t/big.bin", NULL, err, sizeof err)) != NULL);
	while (off < len) {
		size_t n = len - off < step ? len - off : step;
		CHECK_INT(iw_storage_put_write(w, b + off, n), 0);
		off += n;
		step = step * 3 % (700 * 1024) + 1;  /* across the 512 KiB buffers */
	}
	CHECK_INT(iw_storage_put_flush(w), 0);
	fd = iw_storage_put_local_fd(w);
	CHECK(fd >= 0 && pread(fd, back, len, 0) == (ssize_t)len && memcmp(back, b, len) == 0);
	CHECK_INT(iw_storage_put_sha256(w, got), 0);
	CHECK_STR(got, want);
	CHECK_INT(iw_storage_put_commit(w, &res), 0);
	CHECK_INT(res.bytes, len);
	CHECK_STR(res.sha256, want);
	CHECK_INT(files_in("t"), 1);
	free(b);
	free(back);
}

/* Smaller than one buffer: consumed at commit, no thread. */
static void test_small_object(void)
{
	char err[512], want[65];
	struct iw_storage_result res;

	sha_hex((const unsigned char *)"hello", 5, want);
	CHECK_INT(iw_storage_put_buffer("t/small.txt", "text/plain", "hello", 5, &res, err, sizeof err), 0);
	CHECK_STR(res.sha256, want);
	CHECK_INT(res.bytes, 5);
	CHECK_INT(files_in("t"), 2);
}

/* The thread's write fails past 1 MiB. 1.25 MiB: every write call is
 * accepted (two buffers of 512 KiB fit), the failure of the last buffer
 * surfaces at the flush, then at the commit, with its errno. */
static void test_error_at_end(void)
{
	size_t len = MiB + MiB / 4;
	unsigned char *b = pattern(len);
	char err[512] = "";
	struct iw_storage_put *w;

	CHECK((w = iw_storage_put_begin("e/end.bin", NULL, err, sizeof err)) != NULL);
	for (size_t off = 0; off < len; off += 64 * 1024)
		CHECK_INT(iw_storage_put_write(w, b + off, 64 * 1024), 0);
	errno = 0;
	CHECK_INT(iw_storage_put_flush(w), -1);
	CHECK_INT(errno, EFBIG);
	CHECK(strstr(err, "write e/end.bin") != NULL);
	errno = 0;
	CHECK_INT(iw_storage_put_commit(w, NULL), -1);
	CHECK_INT(errno, EFBIG);
	CHECK_INT(files_in("e"), 0);
	free(b);
}

/* 8 MiB against the same limit: the queue holds at most eight buffers, so
 * a later write call reports the failure (errno kept), and the abort
 * leaves no temp file. */
static void test_error_at_write(void)
{
	size_t len = 8 * MiB, off;
	unsigned char *b = pattern(len);
	char err[512] = "";
	struct iw_storage_put *w;
	int rc = 0, saved = 0;

	CHECK((w = iw_storage_put_begin("e/write.bin", NULL, err, sizeof err)) != NULL);
	for (off = 0; off < len && rc == 0; off += 64 * 1024) {
		errno = 0;
		if ((rc = iw_storage_put_write(w, b + off, 64 * 1024)) != 0)
			saved = errno;
	}
	CHECK_INT(rc, -1);
	CHECK_INT(saved, EFBIG);
	CHECK(off < len);
	CHECK_INT(iw_storage_put_write(w, b, 10), -1);  /* stays failed */
	iw_storage_put_abort(w);
	CHECK_INT(files_in("e"), 0);
	free(b);
}

/* An abort with buffers queued and the thread busy: joined, nothing left. */
static void test_abort_busy(void)
{
	size_t len = 3 * MiB;
	unsigned char *b = pattern(len);
	char err[512];
	struct iw_storage_put *w;

	CHECK((w = iw_storage_put_begin("a/busy.bin", NULL, err, sizeof err)) != NULL);
	CHECK_INT(iw_storage_put_write(w, b, len), 0);
	iw_storage_put_abort(w);
	CHECK_INT(files_in("a"), 0);
	free(b);
}

int main(void)
{
	struct rlimit old, lim;
	char cmd[96];

	snprintf(dir, sizeof dir, "/tmp/iw-storage-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	unsetenv("S3_BUCKET");
	unsetenv("DO_SPACES_BUCKET");
	setenv("STORAGE_DIR", dir, 1);
	CHECK_INT(iw_config_load(), 0);
	test_big_object();
	test_small_object();
	test_abort_busy();

	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = MiB;
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
	test_error_at_end();
	test_error_at_write();
	setrlimit(RLIMIT_FSIZE, &old);

	iw_config_free();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK_INT(system(cmd), 0);
	return unit_report("io_storage");
}
