/* Shared by the fuzz targets: each file defines LLVMFuzzerTestOneInput and
 * is linked either with libFuzzer (make fuzz, build-fuzz/) or with
 * replay_main.c, which runs the committed corpus once (make test). */
#ifndef IW_FUZZ_H
#define IW_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (NULL when out of memory). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s) {
		if (size)
			memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}
#endif
