/* ercot/csv.c: the ESIID extract CSV (the text inside ERCOT's zips) into
 * COPY rows, fed in chunks the first byte picks; what it emits must be
 * text a UTF-8 database takes. */
#include "fuzz.h"

#include "core/utf8_fix.h"
#include "ercot/ingest.h"

static int emit(const char *buf, size_t len, void *ctx)
{
	size_t *total = ctx;

	/* Postgres refuses a COPY with a NUL or invalid UTF-8: the parser must
	 * never emit one (chunks end at row ends). */
	if (memchr(buf, 0, len) || !iw_utf8_valid(buf, len))
		abort();
	*total += len ? (size_t)(unsigned char)buf[len - 1] : 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t total = 0, chunk, off = 0;
	struct iw_ercot_csv *p;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] % 97) + 1;
	data++;
	size--;
	if (!(p = iw_ercot_csv_new(emit, &total)))
		return 0;
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (iw_ercot_csv_feed(p, (const char *)data + off, n) != 0)
			break;
		off += n;
	}
	iw_ercot_csv_finish(p);
	iw_ercot_csv_free(p);
	return 0;
}
