/* explorer/sqlguard.c: the SELECT box's statement guard. */
#include "fuzz.h"
#include "explorer/sqlguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), why[256];
	size_t n = 0;

	if (!s)
		return 0;
	if (iw_sqlguard_check(s, &n, why, sizeof why) == 0 && n > strlen(s))
		abort(); /* the statement it keeps lies inside the input */
	free(s);
	return 0;
}
