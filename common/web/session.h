/* Session cookies for the DB explorer: "v1.<expiry>.<nonce>.<mac>", where
 * mac = hex HMAC-SHA256(key, "v1.<expiry>.<nonce>"). The expiry is inside
 * the signed value, so a client cannot extend it. */
#ifndef IW_EXPLORER_SESSION_H
#define IW_EXPLORER_SESSION_H

#include <stddef.h>
#include <time.h>

#define IW_SESSION_COOKIE   "iw_session"
#define IW_SESSION_TTL      (8 * 3600)   /* seconds a login lasts */
#define IW_SESSION_KEY_LEN  32
#define IW_SESSION_MAX      128          /* room for a cookie value */
#define IW_SESSION_ID_LEN   16           /* hex nonce: the server-side session id */
#define IW_CSRF_LEN         64           /* hex HMAC-SHA256 */

enum iw_session_result {
	IW_SESSION_OK,
	IW_SESSION_MALFORMED,
	IW_SESSION_BAD_MAC,
	IW_SESSION_EXPIRED,
};

/* The signing key: HMAC-SHA256 of a fixed label under SECRET when given
 * (IW_SESSION_SECRET), else under ADMIN_TOKEN with another label (so a new
 * admin token ends every session). -1 when neither is set. */
int iw_session_key(const char *secret, const char *admin_token,
		   unsigned char key[IW_SESSION_KEY_LEN]);
/* Writes a cookie value valid until NOW + TTL into OUT. 0 or -1. */
int iw_session_issue(const unsigned char key[IW_SESSION_KEY_LEN], time_t now, long ttl,
		     char *out, size_t outlen);
/* Checks VALUE: signature (constant time), then expiry. */
enum iw_session_result iw_session_verify(const unsigned char key[IW_SESSION_KEY_LEN],
					 const char *value, time_t now);
/* The session id (the nonce) of a cookie VALUE already verified, into OUT
 * (IW_SESSION_ID_LEN + 1 bytes). 0 or -1. */
int iw_session_id(const char *value, char out[IW_SESSION_ID_LEN + 1]);
/* The CSRF token of session SID: hex HMAC-SHA256(key, "csrf." SID), into
 * OUT (IW_CSRF_LEN + 1 bytes). 0 or -1. */
int iw_session_csrf(const unsigned char key[IW_SESSION_KEY_LEN], const char *sid,
		    char out[IW_CSRF_LEN + 1]);
/* Copies cookie NAME from a Cookie header into OUT: 1 found, 0 absent,
 * -1 too long. */
int iw_cookie_get(const char *header, const char *name, char *out, size_t outlen);
#endif
