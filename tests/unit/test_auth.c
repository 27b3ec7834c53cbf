/* Secret comparison and the fail-closed admin token rule. */
#include <stdlib.h>

#include "web/auth.h"
#include "core/config.h"
#include "unit.h"

int main(void)
{
	CHECK(iw_secret_equal("s3cret-s3cret-s3cret", "s3cret-s3cret-s3cret"));
	CHECK(!iw_secret_equal("s3cret-s3cret-s3creT", "s3cret-s3cret-s3cret"));
	CHECK(!iw_secret_equal("s3cret", "s3cret-s3cret-s3cret"));    /* prefix */
	CHECK(!iw_secret_equal("s3cret-s3cret-s3cret-", "s3cret-s3cret-s3cret"));
	CHECK(!iw_secret_equal(NULL, "x"));
	CHECK(!iw_secret_equal("", ""));                                 /* unset never matches */

	unsetenv("ADMIN_TOKEN");
	iw_config_load();
	CHECK(!iw_admin_token_configured());
	CHECK_INT(iw_auth_admin_token("anything"), IW_AUTH_MISCONFIGURED);

	setenv("ADMIN_TOKEN", "short", 1);                               /* < 16 bytes */
	iw_config_load();
	CHECK_INT(iw_auth_admin_token("short"), IW_AUTH_MISCONFIGURED);

	setenv("ADMIN_TOKEN", "0123456789abcdef", 1);
	iw_config_load();
	CHECK_INT(iw_auth_admin_token("0123456789abcdef"), IW_AUTH_OK);
	CHECK_INT(iw_auth_admin_token("0123456789abcdeF"), IW_AUTH_DENIED);
	CHECK_INT(iw_auth_admin_token(""), IW_AUTH_DENIED);
	iw_config_free();
	return unit_report("auth");
}
