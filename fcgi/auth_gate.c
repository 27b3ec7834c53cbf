/* nginx auth_request target: authenticates a request from its headers alone,
 * before nginx reads (and spools) its body, so an anonymous 256 MiB upload is
 * refused without being written anywhere. The location that asks names the
 * credential kind in the IW_AUTH_KIND parameter; the route program checks the
 * credentials again itself.
 *
 * Answers 200 (let it through), 401 (denied) or 403 (the secrets are not
 * configured: the asking location turns that into its 503 JSON). */
#include <string.h>

#include "web/serve.h"

static int gate(struct iw_request *req, struct iw_response *resp)
{
	static const struct { const char *name; enum iw_auth kind; } kinds[] = {
		{ "admin", IW_AUTH_ADMIN }, { "cron", IW_AUTH_CRON }, { "webhook", IW_AUTH_WEBHOOK },
	};
	const char *want = iw_param(req, "IW_AUTH_KIND");

	for (size_t i = 0; want && i < sizeof kinds / sizeof *kinds; i++) {
		if (strcmp(want, kinds[i].name) != 0)
			continue;
		iw_log_str(req, "kind", want);
		switch (iw_auth_check(kinds[i].kind, req)) {
		case IW_AUTH_OK:
			return iw_ok(resp, NULL);
		case IW_AUTH_MISCONFIGURED:
			return iw_error(resp, 403, "server_misconfigured",
					"authentication is not configured on the server");
		default:
			return iw_error(resp, 401, "unauthorized", "missing or invalid credentials");
		}
	}
	return iw_error(resp, 500, "server_misconfigured", "IW_AUTH_KIND: not admin, cron or webhook");
}

int main(void)
{
	static const struct iw_route route = {
		.name = "auth_gate",
		.methods = IW_GET | IW_POST,
		.auth = IW_AUTH_NONE, /* this program is the check */
		.body = IW_BODY_NONE,
		.handler = gate,
		.quiet_success = 1, /* a line per upload would double the log; refusals are logged */
	};
	return iw_serve(&route);
}
