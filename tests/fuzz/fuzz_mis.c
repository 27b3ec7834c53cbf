/* ercot/mis.c: the MIS document list JSON. */
#include "fuzz.h"
#include "ercot/mis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_ercot_docs d = { 0 };
	char err[256], day[IW_ERCOT_DAY_LEN + 1] = "";
	char *s = fuzz_cstr(data, size);

	if (!s)
		return 0;
	iw_ercot_mis_parse(s, "https://www.ercot.com", size && data[0] == '{' ? NULL : "2026-11-28",
			   NULL, &d, err, sizeof err);
	iw_ercot_docs_keep_latest_day(&d, day);
	iw_ercot_docs_free(&d);
	free(s);
	return 0;
}
