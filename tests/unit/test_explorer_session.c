/* Session cookies of the DB explorer: signing, verifying, expiry, parsing. */
#include <string.h>

#include "web/form.h"
#include "web/session.h"
#include "web/serve.h"
#include "unit.h"

int main(void)
{
	unsigned char key[IW_SESSION_KEY_LEN], other[IW_SESSION_KEY_LEN], k2[IW_SESSION_KEY_LEN];
	char v[IW_SESSION_MAX], bad[IW_SESSION_MAX], out[64];
	time_t now = 1800000000;

	CHECK_INT(iw_session_key("secret-one", "admin-token-0123456789", key), 0);
	CHECK_INT(iw_session_key(NULL, "admin-token-0123456789", other), 0);
	CHECK(memcmp(key, other, sizeof key) != 0);
	CHECK_INT(iw_session_key("", "admin-token-0123456789", k2), 0); /* empty secret: token */
	CHECK(memcmp(k2, other, sizeof k2) == 0);
	CHECK_INT(iw_session_key(NULL, NULL, k2), -1);
	CHECK_INT(iw_session_key("", "", k2), -1);

	CHECK_INT(iw_session_issue(key, now, IW_SESSION_TTL, v, sizeof v), 0);
	CHECK(strncmp(v, "v1.1800028800.", 14) == 0);
	CHECK_INT(strlen(v), 14 + 16 + 1 + 64);
	CHECK_INT(iw_session_verify(key, v, now), IW_SESSION_OK);
	CHECK_INT(iw_session_verify(key, v, now + IW_SESSION_TTL - 1), IW_SESSION_OK);
	CHECK_INT(iw_session_verify(key, v, now + IW_SESSION_TTL), IW_SESSION_EXPIRED);
	CHECK_INT(iw_session_verify(other, v, now), IW_SESSION_BAD_MAC);
	/* Two logins get different values (nonce). */
	CHECK_INT(iw_session_issue(key, now, IW_SESSION_TTL, bad, sizeof bad), 0);
	CHECK(strcmp(v, bad) != 0);

	/* Every byte of the value matters. */
	for (size_t i = 3; i < strlen(v); i++) {
		strcpy(bad, v);
		if (bad[i] == '.')
			continue;
		bad[i] = bad[i] == '1' ? '2' : '1';
		CHECK(iw_session_verify(key, bad, now) != IW_SESSION_OK);
	}
	/* A longer expiry with the old MAC. */
	strcpy(bad, v);
	memcpy(bad + 3, "1900000000", 10);
	CHECK_INT(iw_session_verify(key, bad, now), IW_SESSION_BAD_MAC);
	CHECK_INT(iw_session_verify(key, "", now), IW_SESSION_MALFORMED);
	CHECK_INT(iw_session_verify(key, NULL, now), IW_SESSION_MALFORMED);
	CHECK_INT(iw_session_verify(key, "v1.", now), IW_SESSION_MALFORMED);
	CHECK_INT(iw_session_verify(key, "v2.1.0123456789abcdef.00", now), IW_SESSION_MALFORMED);
	strcpy(bad, v);
	strcat(bad, "0");
	CHECK_INT(iw_session_verify(key, bad, now), IW_SESSION_MALFORMED);
	/* A validly signed expiry beyond a login's lifetime is refused. */
	CHECK_INT(iw_session_issue(key, now, 30L * 24 * 3600, v, sizeof v), 0);
	CHECK_INT(iw_session_verify(key, v, now), IW_SESSION_EXPIRED);
	CHECK_INT(iw_session_issue(key, now, 0, v, sizeof v), -1);
	CHECK_INT(iw_session_issue(key, now, 60, v, 20), -1);

	/* Cookie header parsing (RFC 6265 §5.4). */
	CHECK_INT(iw_cookie_get("a=1; iw_session=abc; b=2", "iw_session", out, sizeof out), 1);
	CHECK_STR(out, "abc");
	CHECK_INT(iw_cookie_get("iw_session=\"q\"", "iw_session", out, sizeof out), 1);
	CHECK_STR(out, "q");
	CHECK_INT(iw_cookie_get("xiw_session=1; iw_session_old=2", "iw_session", out, sizeof out), 0);
	CHECK_INT(iw_cookie_get("", "iw_session", out, sizeof out), 0);
	CHECK_INT(iw_cookie_get("iw_session=0123456789", "iw_session", out, 5), -1);

	/* Form fields. */
	CHECK_INT(iw_form_get("token=a%2Bb+c&x=1", "token", out, sizeof out), 1);
	CHECK_STR(out, "a+b c");
	CHECK_INT(iw_form_get("tokenx=1&token=", "token", out, sizeof out), 1);
	CHECK_STR(out, "");
	CHECK_INT(iw_form_get("a=1", "token", out, sizeof out), 0);
	CHECK_INT(iw_form_get("token=%zz", "token", out, sizeof out), -1);
	CHECK_INT(iw_form_get("token=%00", "token", out, sizeof out), -1);
	CHECK_INT(iw_form_get("token=12345", "token", out, 5), -1);

	/* The session id is the cookie's nonce; its CSRF token is a MAC of it:
	 * the same for one session, different for another, 64 hex digits. */
	{
		char sid[IW_SESSION_ID_LEN + 1], sid2[IW_SESSION_ID_LEN + 1];
		char t1[IW_CSRF_LEN + 1], t2[IW_CSRF_LEN + 1], t3[IW_CSRF_LEN + 1];
		CHECK_INT(iw_session_id("v1.123.0123456789abcdef." "00", sid), 0);
		CHECK_STR(sid, "0123456789abcdef");
		CHECK_INT(iw_session_id("v1.123.0123456789abcdeX.00", sid), -1);
		CHECK_INT(iw_session_id("garbage", sid), -1);
		CHECK_INT(iw_session_id(NULL, sid), -1);
		CHECK_INT(iw_session_issue(key, now, IW_SESSION_TTL, v, sizeof v), 0);
		CHECK_INT(iw_session_id(v, sid2), 0);
		CHECK(strstr(v, sid2) == v + strcspn(v + 3, ".") + 4);
		CHECK_INT(iw_session_csrf(key, sid, t1), 0);
		CHECK_INT(iw_session_csrf(key, sid, t2), 0);
		CHECK_INT(iw_session_csrf(key, sid2, t3), 0);
		CHECK_STR(t1, t2);
		CHECK(strcmp(t1, t3) != 0);
		CHECK_INT((int)strspn(t1, "0123456789abcdef"), IW_CSRF_LEN);
	}
	return unit_report("explorer_session");
}
