#include "web/auth.h"

#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/config.h"
#include "web/serve.h"

/* SPEC §2: every shared secret is at least this long, or it is refused. */
#define IW_SECRET_MIN 16

int iw_secret_equal(const char *given, const char *expected)
{
	unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

	if (!given || !expected || !*expected)
		return 0;
	SHA256((const unsigned char *)given, strlen(given), a);
	SHA256((const unsigned char *)expected, strlen(expected), b);
	return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

enum iw_secret_state iw_secret_state(const char *setting)
{
	const char *v = iw_env(setting);

	if (!v || !*v)
		return IW_SECRET_UNSET;
	return strlen(v) < IW_SECRET_MIN ? IW_SECRET_SHORT : IW_SECRET_OK;
}

/* GIVEN matches SETTING, which is usable (a short secret never matches). */
static int matches(const char *given, const char *setting)
{
	return iw_secret_state(setting) == IW_SECRET_OK && iw_secret_equal(given, iw_env(setting));
}

int iw_admin_token_configured(void)
{
	return iw_secret_state("ADMIN_TOKEN") == IW_SECRET_OK;
}

enum iw_auth_result iw_auth_admin_token(const char *given)
{
	if (!iw_admin_token_configured())
		return IW_AUTH_MISCONFIGURED;
	return iw_secret_equal(given, iw_env("ADMIN_TOKEN")) ? IW_AUTH_OK : IW_AUTH_DENIED;
}

static int admin_ok(const struct iw_request *req)
{
	return matches(iw_param(req, "HTTP_X_ADMIN_TOKEN"), "ADMIN_TOKEN");
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

/* After every accepted credential failed: 503 when one of the secrets the
 * route accepts is set but too short (fail closed, loudly) or none is set at
 * all; 401 otherwise. An unset secret only turns its own method off. */
static enum iw_auth_result refusal(const char *const *settings, size_t n)
{
	int usable = 0;

	for (size_t i = 0; i < n; i++) {
		enum iw_secret_state st = iw_secret_state(settings[i]);
		if (st == IW_SECRET_SHORT)
			return IW_AUTH_MISCONFIGURED;
		usable |= st == IW_SECRET_OK;
	}
	return usable ? IW_AUTH_DENIED : IW_AUTH_MISCONFIGURED;
}

static enum iw_auth_result cron_check(const struct iw_request *req)
{
	static const char *const settings[] = { "CRON_SECRET", "ADMIN_TOKEN" };
	const char *vercel = iw_param(req, "HTTP_X_VERCEL_CRON");
	char token[512];

	/* nginx clears x-vercel-cron for every client but the local scheduler. */
	if (vercel && *vercel)
		return IW_AUTH_OK;
	if (matches(bearer_token(req), "CRON_SECRET") ||
	    matches(iw_param(req, "HTTP_X_CRON_SECRET"), "CRON_SECRET"))
		return IW_AUTH_OK;
	if (iw_query_get(req, "token", token, sizeof token) == 1 && matches(token, "CRON_SECRET"))
		return IW_AUTH_OK;
	if (admin_ok(req))
		return IW_AUTH_OK;
	return refusal(settings, sizeof settings / sizeof *settings);
}

static enum iw_auth_result webhook_check(const struct iw_request *req)
{
	static const char *const headers[] = {
		"HTTP_X_INTELLIWATT_SECRET", "HTTP_X_SMT_SECRET", "HTTP_X_WEBHOOK_SECRET",
	};
	static const char *const settings[] = {
		"INTELLIWATT_WEBHOOK_SECRET", "DROPLET_WEBHOOK_SECRET", "ADMIN_TOKEN",
	};

	for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
		const char *given = iw_param(req, headers[i]);
		if (given && (matches(given, settings[0]) || matches(given, settings[1])))
			return IW_AUTH_OK;
	}
	if (admin_ok(req))
		return IW_AUTH_OK;
	return refusal(settings, sizeof settings / sizeof *settings);
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
