/* ercot/page.c: the links of an HTML page (MIS fallback). */
#include "fuzz.h"
#include "ercot/mis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_ercot_docs d = { 0 };
	char *s = fuzz_cstr(data, size);

	if (!s)
		return 0;
	iw_ercot_page_parse(s, "https://www.ercot.com/mp/data-products/data-product-details?id=NP4-203",
			    NULL, NULL, &d);
	iw_ercot_docs_free(&d);
	d = (struct iw_ercot_docs){ 0 };
	iw_ercot_page_parse(s, "http://h/p/", "2026-11-28", "CENTERPOINT", &d);
	iw_ercot_docs_free(&d);
	free(s);
	return 0;
}
