/* ercot/ews_reply.c: EWS SOAP "get Reports" replies. */
#include "fuzz.h"
#include "ercot/ews.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_ews_report *r = NULL;
	size_t n = 0;
	char err[256];
	char *s = fuzz_cstr(data, size);

	if (!s)
		return 0;
	if (iw_ews_parse_reply(s, size, &r, &n, err, sizeof err) == 0)
		iw_ews_reports_free(r, n);
	free(s);
	return 0;
}
