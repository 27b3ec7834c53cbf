/* The migration directories: DIR/<YYYYMMDDHHMMSS>_<name>/migration.sql. */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

static int
read_file(const char *path, char **out, size_t *outlen)
{
	FILE *fp;
	struct stat st;
	char *buf = NULL;
	int rc = -1;

	if (!(fp = fopen(path, "rb"))) {
		fprintf(stderr, "iw-migrate: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "iw-migrate: %s is not a regular file\n", path);
		goto out;
	}
	if ((unsigned long long)st.st_size > MIG_SQL_MAX) {
		fprintf(stderr, "iw-migrate: %s is larger than %u bytes\n", path, MIG_SQL_MAX);
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		fprintf(stderr, "iw-migrate: out of memory\n");
		goto out;
	}
	if (fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		fprintf(stderr, "iw-migrate: cannot read %s\n", path);
		goto out;
	}
	buf[st.st_size] = '\0';
	if (memchr(buf, '\0', (size_t)st.st_size)) {
		fprintf(stderr, "iw-migrate: %s contains a NUL byte\n", path);
		goto out;
	}
	*out = buf;
	*outlen = (size_t)st.st_size;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(fp);
	return rc;
}

int
mig_sha256_hex(const void *buf, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	static const char hex[] = "0123456789abcdef";

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -1;
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * mdlen] = '\0';
	return 0;
}

static int
cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct mig_file *)a)->name, ((const struct mig_file *)b)->name);
}

int
mig_files_load(const char *dir, struct mig_set *set)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	size_t cap = 0;
	int rc = -1;

	set->v = NULL;
	set->n = 0;
	if (!(d = opendir(dir))) {
		fprintf(stderr, "iw-migrate: cannot open migrations directory %s: %s\n",
		    dir, strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d))) {
		struct mig_file *f;
		char *sub = NULL;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
			goto nomem;
		if (stat(sub, &st) != 0 || !S_ISDIR(st.st_mode)) {
			free(sub);	/* e.g. Prisma's migration_lock.toml */
			continue;
		}
		free(sub);
		if (strlen(de->d_name) > MIG_NAME_MAX) {
			fprintf(stderr, "iw-migrate: migration name longer than %d "
			    "characters: %s\n", MIG_NAME_MAX, de->d_name);
			goto out;
		}
		if (set->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct mig_file *nv = realloc(set->v, ncap * sizeof *nv);
			if (!nv)
				goto nomem;
			set->v = nv;
			cap = ncap;
		}
		f = &set->v[set->n];
		memset(f, 0, sizeof *f);
		if (!(f->name = strdup(de->d_name)))
			goto nomem;
		set->n++;
		if (asprintf(&f->path, "%s/%s/%s", dir, de->d_name, MIG_SQL_FILE) < 0) {
			f->path = NULL;
			goto nomem;
		}
		/* Prisma refuses a migration directory without its script: so do we. */
		if (read_file(f->path, &f->sql, &f->len) != 0)
			goto out;
		if (mig_sha256_hex(f->sql, f->len, f->checksum) != 0) {
			fprintf(stderr, "iw-migrate: sha256 failed\n");
			goto out;
		}
	}
	if (errno) {
		fprintf(stderr, "iw-migrate: cannot list %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (set->n)
		qsort(set->v, set->n, sizeof *set->v, cmp_file);
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, "iw-migrate: out of memory\n");
out:
	closedir(d);
	if (rc != 0)
		mig_files_free(set);
	return rc;
}

void
mig_files_free(struct mig_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i].name);
		free(set->v[i].path);
		free(set->v[i].sql);
	}
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

const struct mig_file *
mig_files_find(const struct mig_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	return NULL;
}

/* F's bytes with every line ending as CRLF (crlf=1) or LF (crlf=0), hashed. */
static int
normalized_checksum(const struct mig_file *f, int crlf, char *out)
{
	char *buf;
	size_t n = 0;
	int rc;

	if (f->len > (SIZE_MAX - 1) / 2 || !(buf = malloc(f->len * 2 + 1)))
		return -1;
	for (size_t i = 0; i < f->len; i++) {
		if (f->sql[i] == '\r' && i + 1 < f->len && f->sql[i + 1] == '\n')
			continue;	/* the \n that follows writes the ending */
		if (f->sql[i] == '\n' && crlf)
			buf[n++] = '\r';
		buf[n++] = f->sql[i];
	}
	rc = mig_sha256_hex(buf, n, out);
	free(buf);
	return rc;
}

int
mig_checksum_matches(const struct mig_file *f, const char *checksum)
{
	char alt[MIG_CHECKSUM_LEN + 1];

	if (!checksum)
		return 0;
	if (strcmp(f->checksum, checksum) == 0)
		return 1;
	for (int crlf = 0; crlf <= 1; crlf++)
		if (normalized_checksum(f, crlf, alt) == 0 && strcmp(alt, checksum) == 0)
			return 1;
	return 0;
}
