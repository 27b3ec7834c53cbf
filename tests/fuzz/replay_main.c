/* Runs each file named on the command line (or each file of a directory)
 * through LLVMFuzzerTestOneInput once: the corpus regression check of
 * `make test`, built with gcc or clang and the sanitizers of build-san/. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(buf = malloc((size_t)n + 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	long files = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: no %s\n", argv[i]);
			return 2;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			char path[4096];
			if (!d)
				return 2;
			while ((e = readdir(d))) {
				if (e->d_name[0] == '.')
					continue;
				snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
				if (run_file(path) != 0) {
					closedir(d);
					return 2;
				}
				files++;
			}
			closedir(d);
		} else {
			if (run_file(argv[i]) != 0)
				return 2;
			files++;
		}
	}
	printf("replayed %ld inputs\n", files);
	return 0;
}
