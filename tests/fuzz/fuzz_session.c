/* web/session.c: the Cookie header and the signed session value. */
#include "fuzz.h"
#include "web/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[IW_SESSION_KEY_LEN] = "0123456789abcdef0123456789abcdef";
	char *s = fuzz_cstr(data, size), value[IW_SESSION_MAX], sid[IW_SESSION_ID_LEN + 1];

	if (!s)
		return 0;
	if (iw_cookie_get(s, IW_SESSION_COOKIE, value, sizeof value) == 1 &&
	    iw_session_verify(key, value, 1800000000) == IW_SESSION_OK)
		iw_session_id(value, sid);
	/* The raw bytes as a cookie value too. */
	if (iw_session_verify(key, s, 1800000000) == IW_SESSION_OK)
		iw_session_id(s, sid);
	free(s);
	return 0;
}
