/* smt/spool: the streaming gzip and base64 decoders of a pulled file. The
 * first byte picks the mode (plain/gzip/auto, raw or base64) and the chunk
 * size; the cap is small so that the too-big path is reached too. */
#include "fuzz.h"
#include "smt/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_smt_spool *s;
	char err[256];
	size_t chunk, off = 0;
	int b64;

	if (size == 0)
		return 0;
	b64 = data[0] & 1;
	chunk = (size_t)((data[0] >> 3) % 32) * 7 + 1;
	s = iw_smt_spool_new((enum iw_smt_encoding)((data[0] >> 1) % 3), 256 * 1024, err,
			     sizeof err);
	data++;
	size--;
	if (!s)
		return 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		int rc = b64 ? iw_smt_spool_feed_base64(s, (const char *)data + off, n)
			     : iw_smt_spool_feed(s, data + off, n);
		if (rc != 0)
			break;
		off += n;
	}
	iw_smt_spool_finish(s);
	iw_smt_spool_free(s);
	return 0;
}
