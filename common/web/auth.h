/* Authentication of admin, cron and webhook callers (SPEC §2). */
#ifndef IW_AUTH_H
#define IW_AUTH_H

struct iw_request;

enum iw_auth {
	IW_AUTH_NONE,
	IW_AUTH_ADMIN,   /* x-admin-token */
	IW_AUTH_CRON,    /* Bearer, x-cron-secret or ?token= CRON_SECRET, x-vercel-cron, or admin */
	IW_AUTH_WEBHOOK, /* x-intelliwatt-secret & co., or admin */
	IW_AUTH__MAX
};

enum iw_auth_result {
	IW_AUTH_OK,
	IW_AUTH_DENIED,        /* 401 */
	IW_AUTH_MISCONFIGURED, /* 503: the secret to compare against is not set */
};

/* Constant-time equality of two secrets: CRYPTO_memcmp over SHA-256 digests,
 * so neither the content nor the length of EXPECTED leaks through timing. */
int iw_secret_equal(const char *given, const char *expected);
enum iw_secret_state {
	IW_SECRET_UNSET, /* its method is off */
	IW_SECRET_SHORT, /* set but under 16 bytes: refused, 503 */
	IW_SECRET_OK,
};
/* The state of the secret held by SETTING (e.g. "CRON_SECRET"). */
enum iw_secret_state iw_secret_state(const char *setting);
/* ADMIN_TOKEN is usable: set and at least 16 bytes long. */
int iw_admin_token_configured(void);
/* Checks GIVEN against ADMIN_TOKEN. */
enum iw_auth_result iw_auth_admin_token(const char *given);
enum iw_auth_result iw_auth_check(enum iw_auth kind, const struct iw_request *req);
#endif
