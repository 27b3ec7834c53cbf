/* Settings are a snapshot taken at start-up. */
#include <stdlib.h>

#include "core/config.h"
#include "io/db.h"
#include "unit.h"

int main(void)
{
	char *ci;

	setenv("IW_T_A", "alpha", 1);
	setenv("IW_T_EMPTY", "", 1);
	setenv("IW_T_N", "42", 1);
	setenv("IW_T_BAD", "4x", 1);
	setenv("IW_T_B", "TRUE", 1);
	CHECK_INT(iw_config_load(), 0);
	setenv("IW_T_A", "changed later", 1);
	CHECK_STR(iw_env("IW_T_A"), "alpha");            /* read once */
	CHECK(iw_env("IW_T_EMPTY") == NULL);              /* empty is unset */
	CHECK(iw_env("IW_T") == NULL);                    /* no prefix match */
	CHECK_STR(iw_env_or("IW_T_MISSING", "fallback"), "fallback");
	CHECK_INT(iw_env_int("IW_T_N", 7, 0, 100), 42);
	CHECK_INT(iw_env_int("IW_T_N", 7, 0, 10), 7);      /* out of range */
	CHECK_INT(iw_env_int("IW_T_BAD", 7, 0, 100), 7);
	CHECK(iw_env_bool("IW_T_B", 0));
	CHECK(!iw_env_bool("IW_T_A", 0));
	iw_config_free();

	/* Prisma URLs: parameters libpq rejects are dropped, others kept. */
	ci = iw_db_conninfo("postgresql://u:p@h:25060/defaultdb?schema=public&sslmode=require");
	CHECK_STR(ci, "postgresql://u:p@h:25060/defaultdb?sslmode=require");
	free(ci);
	ci = iw_db_conninfo("postgresql://u@h/db?pgbouncer=true&schema=x");
	CHECK_STR(ci, "postgresql://u@h/db");
	free(ci);
	ci = iw_db_conninfo("host=/tmp dbname=x");
	CHECK_STR(ci, "host=/tmp dbname=x");
	free(ci);
	CHECK(strstr(iw_db_hint("FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute"),
		     "terminate idle connections") != NULL);
	return unit_report("config");
}
