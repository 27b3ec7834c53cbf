#include "core/mime.h"

#include <string.h>
#include <strings.h>

/* Length of CT's media type: up to ';', trailing spaces cut. */
static size_t type_len(const char *ct)
{
	size_t n = strcspn(ct, ";");

	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return n;
}

int iw_mime_is(const char *ct, const char *want)
{
	size_t n = type_len(ct), w = strlen(want);

	return n == w && strncasecmp(ct, want, w) == 0;
}

int iw_mime_json(const char *ct)
{
	size_t n = type_len(ct);

	if (n == 0)
		return 1; /* no content type: treated as JSON */
	if (iw_mime_is(ct, "application/json"))
		return 1;
	return n >= 17 && strncasecmp(ct, "application/", 12) == 0 &&
	       strncasecmp(ct + n - 5, "+json", 5) == 0;
}
