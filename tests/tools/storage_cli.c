/* storage_cli: drives common/storage from the command line for the
 * integration tests (tests/integration/storage.test.mjs). Settings come from
 * the environment, as in the programs.
 *
 *   storage_cli backend                 prints s3 or local
 *   storage_cli missing                 prints absent required settings, one a line
 *   storage_cli valid KEY               exit 0 when KEY is acceptable, else 1
 *   storage_cli exists KEY              prints 1 or 0 (exit 0 / 1; 2 on error)
 *   storage_cli put KEY [FILE|-] [--type T] [--chunk N] [--buffer] [--abort-after N]
 *       streams FILE (stdin by default) in writes of N bytes (default 65536);
 *       --buffer reads it whole and uses iw_storage_put_buffer; --abort-after N
 *       aborts instead of committing once N bytes are written. Prints the
 *       result as JSON: {"key","bytes","sha256","backend"} or {"aborted":true}.
 * Failures print "storage_cli: REASON" on stderr and exit 1 (2: usage). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "io/storage.h"

#define DEFAULT_CHUNK (64 * 1024)
#define MAX_CHUNK     (64 * 1024 * 1024)

static int usage(void)
{
	fputs("usage: storage_cli backend|missing|valid KEY|exists KEY|"
	      "put KEY [FILE|-] [--type T] [--chunk N] [--buffer] [--abort-after N]\n", stderr);
	return 2;
}

static void print_result(const struct iw_storage_result *r)
{
	printf("{\"key\":\"%s\",\"bytes\":%llu,\"sha256\":\"%s\",\"backend\":\"%s\"}\n", r->key,
	       (unsigned long long)r->bytes, r->sha256, iw_storage_backend());
}

/* Reads all of F into a malloc'd buffer. */
static unsigned char *slurp(FILE *f, size_t *len)
{
	size_t cap = DEFAULT_CHUNK, n = 0, got;
	unsigned char *buf = malloc(cap), *grown;

	if (!buf)
		return NULL;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			if (!(grown = realloc(buf, cap * 2))) {
				free(buf);
				return NULL;
			}
			buf = grown;
			cap *= 2;
		}
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int cmd_put(int argc, char **argv)
{
	const char *key, *file = "-", *type = NULL;
	long long chunk = DEFAULT_CHUNK, abort_after = -1;
	int use_buffer = 0, rc = 1;
	struct iw_storage_result res;
	struct iw_storage_put *w = NULL;
	unsigned char *buf = NULL;
	unsigned long long written = 0;
	char err[512] = "";
	FILE *in = stdin;
	size_t n;

	if (argc < 3)
		return usage();
	key = argv[2];
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
			type = argv[++i];
		else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
			chunk = atoll(argv[++i]);
		else if (strcmp(argv[i], "--abort-after") == 0 && i + 1 < argc)
			abort_after = atoll(argv[++i]);
		else if (strcmp(argv[i], "--buffer") == 0)
			use_buffer = 1;
		else if (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)
			file = argv[i];
		else
			return usage();
	}
	if (chunk < 1 || chunk > MAX_CHUNK)
		return usage();
	if (strcmp(file, "-") != 0 && !(in = fopen(file, "rb"))) {
		fprintf(stderr, "storage_cli: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (use_buffer) {
		if (!(buf = slurp(in, &n))) {
			fprintf(stderr, "storage_cli: cannot read input\n");
			goto out;
		}
		if (iw_storage_put_buffer(key, type, buf, n, &res, err, sizeof err) == -1)
			goto fail;
		print_result(&res);
		rc = 0;
		goto out;
	}
	if (!(buf = malloc((size_t)chunk))) {
		fprintf(stderr, "storage_cli: out of memory\n");
		goto out;
	}
	if (!(w = iw_storage_put_begin(key, type, err, sizeof err)))
		goto fail;
	while ((n = fread(buf, 1, (size_t)chunk, in)) > 0) {
		if (iw_storage_put_write(w, buf, n) == -1)
			goto fail;
		written += n;
		if (abort_after >= 0 && written >= (unsigned long long)abort_after)
			break;
	}
	if (ferror(in)) {
		fprintf(stderr, "storage_cli: read error\n");
		goto out;
	}
	if (abort_after >= 0) {
		iw_storage_put_abort(w);
		w = NULL;
		puts("{\"aborted\":true}");
		rc = 0;
		goto out;
	}
	rc = iw_storage_put_commit(w, &res);
	w = NULL;
	if (rc == -1) {
		rc = 1;
		goto fail;
	}
	print_result(&res);
	goto out;
fail:
	fprintf(stderr, "storage_cli: %s\n", err[0] ? err : "failed");
	rc = 1;
out:
	iw_storage_put_abort(w);
	free(buf);
	if (in != stdin)
		fclose(in);
	return rc;
}

int main(int argc, char **argv)
{
	const char *names[16];
	int n;

	if (argc < 2)
		return usage();
	if (iw_config_load() == -1) {
		fputs("storage_cli: cannot read settings\n", stderr);
		return 1;
	}
	iw_log_init("storage_cli");
	if (strcmp(argv[1], "backend") == 0) {
		puts(iw_storage_backend());
		n = 0;
	} else if (strcmp(argv[1], "missing") == 0) {
		n = iw_storage_missing_settings(names, sizeof names / sizeof names[0]);
		for (int i = 0; i < n && i < 16; i++)
			puts(names[i]);
		n = 0;
	} else if (strcmp(argv[1], "valid") == 0 && argc == 3) {
		n = iw_storage_key_valid(argv[2]) ? 0 : 1;
	} else if (strcmp(argv[1], "exists") == 0 && argc == 3) {
		n = iw_storage_exists(argv[2]);
		if (n >= 0)
			printf("%d\n", n);
		n = n == 1 ? 0 : n == 0 ? 1 : 2;
	} else if (strcmp(argv[1], "put") == 0) {
		n = cmd_put(argc, argv);
	} else {
		n = usage();
	}
	iw_config_free();
	return n;
}
