/* iw-migrate reset: drop and recreate the public schema of a database whose
 * name allows it, then deploy. */
#include "migrate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>


static const char SQL_DBNAME[] = "SELECT current_database()";
static const char SQL_SCHEMA_OWNER[] =
    "SELECT n.nspowner::regrole::text, n.nspowner::regrole::text = quote_ident(current_user) "
    "FROM pg_namespace n WHERE n.nspname = 'public'";
static const char SQL_SCHEMA_GRANTS[] =
    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, "
    "a.privilege_type, a.is_grantable "
    "FROM pg_namespace n, aclexplode(n.nspacl) a "
    "WHERE n.nspname = 'public' AND a.grantee <> n.nspowner "
    "AND a.privilege_type IN ('USAGE', 'CREATE')";

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcasecmp(s + n - m, suffix) == 0;
}

int
mig_reset_allowed(const char *dbname)
{
	static const char *const suffixes[] = { "_dev", "_test", "-dev", "-test" };
	static const char *const prefixes[] = { "dev_", "test_" };

	if (strcasecmp(dbname, "defaultdb") == 0)	/* production: never */
		return 0;
	if (strcasecmp(dbname, "dev") == 0 || strcasecmp(dbname, "test") == 0)
		return 1;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
		if (has_suffix(dbname, suffixes[i]))
			return 1;
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strlen(dbname) > strlen(prefixes[i]) &&
		    strncasecmp(dbname, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

/* Runs DDL built from role names the server itself quoted (regrole output):
 * identifiers cannot be parameters. SQL is freed. */
static int
exec_ddl(PGconn *conn, const char *what, char *sql, int len)
{
	int rc;

	if (len < 0) {
		fprintf(stderr, "iw-migrate: out of memory\n");
		return -1;
	}
	rc = mig_exec(conn, what, sql, 0, NULL);
	free(sql);
	return rc;
}

/* Drops and recreates schema public in one transaction, keeping its owner
 * and grants (PG 15 default: pg_database_owner, USAGE to PUBLIC). */
static int
recreate_public(PGconn *conn)
{
	PGresult *owner = NULL, *grants = NULL;
	int rc = -1;

	if (mig_exec(conn, "BEGIN", "BEGIN", 0, NULL) != 0)
		return -1;
	owner = PQexecParams(conn, SQL_SCHEMA_OWNER, 0, NULL, NULL, NULL, NULL, 0);
	grants = PQexecParams(conn, SQL_SCHEMA_GRANTS, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(owner) != PGRES_TUPLES_OK || PQresultStatus(grants) != PGRES_TUPLES_OK) {
		fprintf(stderr, "iw-migrate: cannot read schema public's grants: %s",
		    PQerrorMessage(conn));
		goto out;
	}
	if (mig_exec(conn, "dropping schema public", "DROP SCHEMA IF EXISTS public CASCADE",
	    0, NULL) != 0 ||
	    mig_exec(conn, "creating schema public", "CREATE SCHEMA public", 0, NULL) != 0)
		goto out;
	if (PQntuples(owner) == 1 && strcmp(PQgetvalue(owner, 0, 1), "t") != 0) {
		/* Not fatal: the schema then stays ours, which still works. */
		if (mig_exec(conn, "SAVEPOINT", "SAVEPOINT owner", 0, NULL) != 0)
			goto out;
		char *sql = NULL;
		int len = asprintf(&sql, "ALTER SCHEMA public OWNER TO %s", PQgetvalue(owner, 0, 0));
		if (exec_ddl(conn, "restoring the schema owner", sql, len) != 0) {
			if (mig_exec(conn, "ROLLBACK TO SAVEPOINT", "ROLLBACK TO SAVEPOINT owner",
			    0, NULL) != 0)
				goto out;
			fprintf(stderr, "iw-migrate: warning: schema public is now owned by "
			    "the connecting user\n");
		}
	}
	for (int i = 0; i < PQntuples(grants); i++) {
		char *sql = NULL;
		int len = asprintf(&sql, "GRANT %s ON SCHEMA public TO %s%s",
		    PQgetvalue(grants, i, 1), PQgetvalue(grants, i, 0),
		    strcmp(PQgetvalue(grants, i, 2), "t") == 0 ? " WITH GRANT OPTION" : "");
		if (exec_ddl(conn, "restoring a grant on schema public", sql, len) != 0)
			goto out;
	}
	if (mig_exec(conn, "COMMIT", "COMMIT", 0, NULL) != 0)
		goto out;
	rc = 0;
out:
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	PQclear(owner);
	PQclear(grants);
	return rc;
}

/* current_database() as the server reports it (malloc'd), or NULL. */
char *
mig_server_dbname(PGconn *conn)
{
	PGresult *res = PQexecParams(conn, SQL_DBNAME, 0, NULL, NULL, NULL, NULL, 0);
	char *name = NULL;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		name = strdup(PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "iw-migrate: cannot ask the database name: %s",
		    PQerrorMessage(conn));
	PQclear(res);
	return name;
}

int
mig_cmd_reset(struct mig_ctx *c)
{
	struct mig_set set = { 0 };
	char *dbname;
	int rc = MIG_FAIL;

	if (!(dbname = mig_server_dbname(c->conn)))
		return MIG_FAIL;
	if (!mig_reset_allowed(dbname)) {
		fprintf(stderr, "iw-migrate: refusing to reset database \"%s\": reset drops every "
		    "table and is only for dev/test databases (names like *_dev, *_test, dev_*, "
		    "test_*)%s.\n", dbname, strcasecmp(dbname, "defaultdb") == 0 ?
		    "; defaultdb is production and is never reset. Use deploy, and resolve "
		    "for failed migrations" : "");
		rc = MIG_REFUSED;
		goto out;
	}
	/* Read the migrations before dropping anything: a broken directory must
	 * not leave an empty database behind. */
	if (mig_files_load(c->dir, &set) != 0)
		goto out;
	if (mig_lock(c->conn) != 0)
		goto out;
	if (recreate_public(c->conn) == 0) {
		printf("Reset database \"%s\": schema public dropped and recreated.\n", dbname);
		rc = mig_deploy_locked(c, &set);
	}
	mig_unlock(c->conn);
out:
	mig_files_free(&set);
	free(dbname);
	return rc;
}
