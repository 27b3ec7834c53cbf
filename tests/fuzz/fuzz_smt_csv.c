/* SMT interval CSV (smt/csv.c), fed in chunks whose size the first byte picks
 * so that records split across feeds are exercised. */
#include "fuzz.h"
#include "smt/csv.h"

static int on_row(const struct iw_smt_interval *row, void *ctx)
{
	(void)ctx;
	/* Touch what the callback gets: ASan sees a bad pointer. */
	return row->esiid[0] == '\0' || row->kwh[0] == '\0' ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_smt_csv *p;
	size_t chunk, off = 0;

	if (size == 0)
		return 0;
	chunk = (size_t)(data[0] % 64) + 1;
	if (data[0] >= 192)
		chunk = size; /* one feed */
	data++;
	size--;
	iw_smt_csv_is_interval_header((const char *)data, size);
	if (!(p = iw_smt_csv_new(on_row, NULL)))
		return 0;
	if (size && data[0] == '1')
		iw_smt_csv_set_esiid(p, "10443720000000001");
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (iw_smt_csv_feed(p, (const char *)data + off, n) != 0)
			break;
		off += n;
	}
	iw_smt_csv_finish(p);
	(void)iw_smt_csv_stats(p);
	iw_smt_csv_free(p);
	return 0;
}
