/* web/serve.c iw_form_get: query strings and form bodies (percent decoding,
 * '+', repeated and empty keys), into a small and a large buffer. */
#include "fuzz.h"
#include "web/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "esiid", "sql", "date", "csrf", "user", "a", "" };
	char *s = fuzz_cstr(data, size), small[8], big[4096];

	if (!s)
		return 0;
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		iw_form_get(s, keys[i], small, sizeof small);
		iw_form_get(s, keys[i], big, sizeof big);
	}
	free(s);
	return 0;
}
