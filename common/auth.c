#include "auth.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "config.h"
#include "serve.h"

#define IW_ADMIN_TOKEN_MIN 16

int iw_secret_equal(const char *given, const char *expected)
{
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

	if (!given || !expected || !*expected)
		return 0;
	SHA256((const unsigned char *)given, strlen(given), a);
	SHA256((const unsigned char *)expected, strlen(expected), b);
	return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

int iw_admin_token_configured(void)
{
	const char *want = iw_env("ADMIN_TOKEN");
	return want && strlen(want) >= IW_ADMIN_TOKEN_MIN;
}

enum iw_auth_result iw_auth_admin_token(const char *given)
{
	if (!iw_admin_token_configured())
		return IW_AUTH_MISCONFIGURED;
	return iw_secret_equal(given, iw_env("ADMIN_TOKEN")) ? IW_AUTH_OK : IW_AUTH_DENIED;
}

static int admin_ok(const struct iw_request *req)
{
	const char *given = iw_param(req, "HTTP_X_ADMIN_TOKEN");
	return given && iw_auth_admin_token(given) == IW_AUTH_OK;
}

static const char *bearer_token(const struct iw_request *req)
{
	const char *h = iw_param(req, "HTTP_AUTHORIZATION");

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

static enum iw_auth_result cron_check(const struct iw_request *req)
{
	const char *secret = iw_env("CRON_SECRET");
	const char *vercel = iw_param(req, "HTTP_X_VERCEL_CRON");
	char token[512];
	int has_token;

	/* nginx clears x-vercel-cron for every client but the local scheduler. */
	if (vercel && *vercel)
		return IW_AUTH_OK;
	if (secret) {
		if (iw_secret_equal(bearer_token(req), secret))
			return IW_AUTH_OK;
		has_token = iw_query_get(req, "token", token, sizeof token);
		if (has_token == 1 && iw_secret_equal(token, secret))
			return IW_AUTH_OK;
	}
	if (admin_ok(req))
		return IW_AUTH_OK;
	return secret || iw_admin_token_configured() ? IW_AUTH_DENIED : IW_AUTH_MISCONFIGURED;
}

static enum iw_auth_result webhook_check(const struct iw_request *req)
{
	static const char *const headers[] = {
		"HTTP_X_INTELLIWATT_SECRET", "HTTP_X_SMT_SECRET", "HTTP_X_WEBHOOK_SECRET",
	};
	const char *primary = iw_env("INTELLIWATT_WEBHOOK_SECRET");
	const char *alias = iw_env("DROPLET_WEBHOOK_SECRET");

	for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
		const char *given = iw_param(req, headers[i]);
		if (!given)
			continue;
		if (iw_secret_equal(given, primary) || iw_secret_equal(given, alias))
			return IW_AUTH_OK;
	}
	if (admin_ok(req))
		return IW_AUTH_OK;
	return primary || alias || iw_admin_token_configured() ? IW_AUTH_DENIED
							       : IW_AUTH_MISCONFIGURED;
}

enum iw_auth_result iw_auth_check(enum iw_auth kind, const struct iw_request *req)
{
	switch (kind) {
	case IW_AUTH_NONE:
		return IW_AUTH_OK;
	case IW_AUTH_ADMIN:
		if (!iw_admin_token_configured())
			return IW_AUTH_MISCONFIGURED;
		return admin_ok(req) ? IW_AUTH_OK : IW_AUTH_DENIED;
	case IW_AUTH_CRON:
		return cron_check(req);
	case IW_AUTH_WEBHOOK:
		return webhook_check(req);
	case IW_AUTH__MAX:
		break;
	}
	return IW_AUTH_DENIED;
}
