/* core/codec: base64 and gzip/zlib inflate of whole buffers. */
#include "fuzz.h"
#include "core/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n;
	unsigned char *b = iw_base64_decode((const char *)data, size, &n);
	char *z;

	if (b) {
		z = iw_inflate_all(b, n, 1 << 20, &n);
		free(z);
	}
	free(b);
	z = iw_inflate_all(data, size, 1 << 20, &n);
	free(z);
	return 0;
}
