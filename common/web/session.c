#include "web/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define IW_SESSION_NONCE_LEN 8
#define IW_SESSION_MAC_HEX   (2 * IW_SESSION_KEY_LEN)
#define IW_SESSION_SIGNED_MAX 64

static const char label_secret[] = "iw-admin explorer session key v1 (IW_SESSION_SECRET)";
static const char label_admin[] = "iw-admin explorer session key v1 (ADMIN_TOKEN)";

int iw_session_key(const char *secret, const char *admin_token,
		   unsigned char key[IW_SESSION_KEY_LEN])
{
	const char *base = secret && *secret ? secret : admin_token;
	const char *label = secret && *secret ? label_secret : label_admin;
	unsigned int len = IW_SESSION_KEY_LEN;

	if (!base || !*base)
		return -1;
	if (!HMAC(EVP_sha256(), base, (int)strlen(base), (const unsigned char *)label,
		  strlen(label), key, &len) || len != IW_SESSION_KEY_LEN)
		return -1;
	return 0;
}

static int mac_hex(const unsigned char key[IW_SESSION_KEY_LEN], const char *msg, size_t n,
		   char out[IW_SESSION_MAC_HEX + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, IW_SESSION_KEY_LEN, (const unsigned char *)msg, n, mac, &len) ||
	    len != IW_SESSION_KEY_LEN)
		return -1;
	for (unsigned int i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

int iw_session_issue(const unsigned char key[IW_SESSION_KEY_LEN], time_t now, long ttl,
		     char *out, size_t outlen)
{
	unsigned char nonce[IW_SESSION_NONCE_LEN];
	char signed_part[IW_SESSION_SIGNED_MAX], mac[IW_SESSION_MAC_HEX + 1];
	int n;

	if (ttl <= 0 || RAND_bytes(nonce, sizeof nonce) != 1)
		return -1;
	n = snprintf(signed_part, sizeof signed_part, "v1.%lld.", (long long)now + ttl);
	if (n < 0 || (size_t)n + 2 * sizeof nonce >= sizeof signed_part)
		return -1;
	for (size_t i = 0; i < sizeof nonce; i++)
		snprintf(signed_part + n + 2 * i, 3, "%02x", nonce[i]);
	if (mac_hex(key, signed_part, strlen(signed_part), mac) != 0)
		return -1;
	n = snprintf(out, outlen, "%s.%s", signed_part, mac);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

enum iw_session_result iw_session_verify(const unsigned char key[IW_SESSION_KEY_LEN],
					 const char *value, time_t now)
{
	char mac[IW_SESSION_MAC_HEX + 1];
	const char *dot, *p;
	char *end;
	long long expiry;
	size_t signed_len;

	if (!value || strncmp(value, "v1.", 3) != 0)
		return IW_SESSION_MALFORMED;
	p = value + 3;
	if (*p < '0' || *p > '9')
		return IW_SESSION_MALFORMED;
	expiry = strtoll(p, &end, 10);
	if (*end != '.' || end - p > 19)
		return IW_SESSION_MALFORMED;
	p = end + 1;
	if (strspn(p, "0123456789abcdef") != 2 * IW_SESSION_NONCE_LEN ||
	    p[2 * IW_SESSION_NONCE_LEN] != '.')
		return IW_SESSION_MALFORMED;
	dot = p + 2 * IW_SESSION_NONCE_LEN;
	signed_len = (size_t)(dot - value);
	if (strlen(dot + 1) != IW_SESSION_MAC_HEX)
		return IW_SESSION_MALFORMED;
	if (mac_hex(key, value, signed_len, mac) != 0 ||
	    CRYPTO_memcmp(mac, dot + 1, IW_SESSION_MAC_HEX) != 0)
		return IW_SESSION_BAD_MAC;
	/* A validly signed expiry further out than a login lasts was not issued
	 * by this version: refuse it too. */
	if (expiry <= (long long)now || expiry > (long long)now + IW_SESSION_TTL + 60)
		return IW_SESSION_EXPIRED;
	return IW_SESSION_OK;
}

int iw_session_id(const char *value, char out[IW_SESSION_ID_LEN + 1])
{
	const char *p = value ? strchr(value, '.') : NULL;

	if (!p || !(p = strchr(p + 1, '.')) ||
	    strspn(p + 1, "0123456789abcdef") != IW_SESSION_ID_LEN)
		return -1;
	memcpy(out, p + 1, IW_SESSION_ID_LEN);
	out[IW_SESSION_ID_LEN] = '\0';
	return 0;
}

int iw_session_csrf(const unsigned char key[IW_SESSION_KEY_LEN], const char *sid,
		    char out[IW_CSRF_LEN + 1])
{
	char msg[8 + IW_SESSION_ID_LEN];
	int n = snprintf(msg, sizeof msg, "csrf.%s", sid);

	if (n < 0 || (size_t)n >= sizeof msg)
		return -1;
	return mac_hex(key, msg, (size_t)n, out);
}

int iw_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = header;

	/* RFC 6265 §5.4: "name=value" pairs separated by "; ". */
	while (p && *p) {
		const char *end = strchr(p, ';');
		size_t seg = end ? (size_t)(end - p) : strlen(p);

		while (seg && (*p == ' ' || *p == '\t')) {
			p++;
			seg--;
		}
		if (seg > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t vlen = seg - nlen - 1;
			const char *v = p + nlen + 1;
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (vlen + 1 > outlen)
				return -1;
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}
