/* explorer-role: the DB explorer's least-privilege login role (SPEC §7).
 * NOSUPERUSER, no CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS, member of no
 * role (so no pg_read_server_files, no pg_signal_backend, nothing to SET ROLE
 * to), SELECT on the tables of schema public of this database only, and role
 * settings that make every session read-only and short:
 * default_transaction_read_only, statement_timeout, lock_timeout,
 * idle_in_transaction_session_timeout. Idempotent; safe to run after every
 * deploy and from several processes at once (retried on a concurrent update
 * of the shared role catalog). */
#include "migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"

#define ROLE_DEFAULT "iw_explorer"
#define ATTEMPTS 8

static const struct {
	const char *name, *value;
} role_settings[] = {
	{ "default_transaction_read_only", "on" },
	{ "statement_timeout", "5s" },
	{ "lock_timeout", "1s" },
	{ "idle_in_transaction_session_timeout", "10s" },
};

static const char SQL_ME[] =
    "SELECT rolsuper OR rolcreaterole, current_user FROM pg_roles WHERE rolname = current_user";
static const char SQL_ROLE[] =
    "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls "
    "OR NOT rolcanlogin, oid FROM pg_roles WHERE rolname = $1";
static const char SQL_MEMBER_OF[] =
    "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
    "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1 ORDER BY 1";
static const char SQL_SETTINGS[] =
    "SELECT coalesce(array_to_string(s.setconfig, ','), '') FROM pg_roles r "
    "LEFT JOIN pg_db_role_setting s ON s.setrole = r.oid AND s.setdatabase = 0 "
    "WHERE r.rolname = $1";

struct role {
	PGconn		*conn;
	const char	*setting;	/* EXPLORER_DATABASE_URL or ..._USAGE_... */
	char		 name[128];
	char		*password;	/* from the URL, or NULL */
	char		*ident;		/* quoted name */
	int		 can_manage;	/* the migrating user has CREATEROLE or SUPERUSER */
	char		 state[6];	/* SQLSTATE of the last failure */
};

/* A concurrent run of this command changed the same shared catalog row, or
 * created the role first (23505 on pg_authid_rolname_index: CREATE ROLE
 * racing another CREATE ROLE; the retry finds the role and alters it). */
static int
retryable(const char *state)
{
	return strcmp(state, "XX000") == 0 || strcmp(state, "42710") == 0 ||
	    strcmp(state, "23505") == 0 || strcmp(state, "40001") == 0 ||
	    strcmp(state, "40P01") == 0;
}

static int
run(struct role *r, const char *what, const char *sql)
{
	PGresult *res = PQexec(r->conn, sql);
	ExecStatusType st = PQresultStatus(res);
	const char *code;
	char *err;

	r->state[0] = '\0';
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(r->state, sizeof r->state, "%s", code ? code : "");
	/* A concurrent run is retried, not reported. */
	if (!retryable(r->state)) {
		err = mig_pg_error(r->conn, res, NULL);
		fprintf(stderr, "iw-migrate: %s failed: %s\n", what, err ? err : "out of memory");
		free(err);
	}
	PQclear(res);
	return -1;
}

static int runf(struct role *r, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
runf(struct role *r, const char *what, const char *fmt, ...)
{
	va_list ap;
	char *sql;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&sql, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		fprintf(stderr, "iw-migrate: out of memory\n");
		return -1;
	}
	rc = run(r, what, sql);
	free(sql);
	return rc;
}

static PGresult *
query(struct role *r, const char *sql)
{
	const char *params[1] = { r->name };
	PGresult *res = PQexecParams(r->conn, sql, 1, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *err = mig_pg_error(r->conn, res, NULL);
		fprintf(stderr, "iw-migrate: reading role %s failed: %s\n", r->name,
		    err ? err : "out of memory");
		free(err);
		PQclear(res);
		return NULL;
	}
	return res;
}

/* The role's name and password from the explorer's URL (default iw_explorer). */
static int
role_from_url(struct role *r)
{
	const char *url = iw_env(r->setting);
	PQconninfoOption *opts = NULL;
	char *conninfo = NULL, *err = NULL;
	int rc = -1;

	snprintf(r->name, sizeof r->name, "%s", ROLE_DEFAULT);
	if (!url) {
		printf("note: %s is not set; using role %s (set %s=postgresql://%s:PASSWORD@HOST:PORT/DB "
		    "for the explorer)\n", r->setting, ROLE_DEFAULT, r->setting, ROLE_DEFAULT);
		return 0;
	}
	if (!(conninfo = iw_db_conninfo(url)) || !(opts = PQconninfoParse(conninfo, &err))) {
		fprintf(stderr, "iw-migrate: %s is not a valid PostgreSQL URL\n", r->setting);
		goto out;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (strcmp(o->keyword, "user") == 0)
			snprintf(r->name, sizeof r->name, "%s", o->val);
		else if (strcmp(o->keyword, "password") == 0 && !(r->password = strdup(o->val)))
			goto out;
	}
	rc = 0;
out:
	PQconninfoFree(opts);
	PQfreemem(err);
	free(conninfo);
	return rc;
}

static void
operator_message(const struct role *r, const char *me, const char *why)
{
	fprintf(stderr,
	    "iw-migrate: cannot set up the DB explorer's read-only role \"%s\": %s.\n"
	    "  The migrating user \"%s\" (%s) needs CREATEROLE for this. Either run\n"
	    "    iw-migrate --db %s explorer-role\n"
	    "  once with a user that has it (e.g. the cluster's admin user in DATABASE_URL), or\n"
	    "  have an administrator run:\n"
	    "    CREATE ROLE %s LOGIN PASSWORD '...' NOSUPERUSER NOCREATEDB NOCREATEROLE;\n",
	    r->name, why, me, iw_db_setting(r->setting[9] == 'U' ? IW_DB_USAGE : IW_DB_MASTER),
	    r->setting[9] == 'U' ? "usage" : "master", r->ident);
	for (size_t i = 0; i < sizeof role_settings / sizeof *role_settings; i++)
		fprintf(stderr, "    ALTER ROLE %s SET %s = '%s';\n", r->ident, role_settings[i].name,
		    role_settings[i].value);
	fprintf(stderr, "  then run this command again (it grants SELECT, which needs no "
	    "CREATEROLE).\n");
}

/* Attributes, memberships, password and settings: cluster-wide. -1 on error,
 * 1 when the migrating user may not fix what is wrong (message printed). */
static int
setup_role(struct role *r, const char *me)
{
	PGresult *res;
	int exists, bad_attrs = 0, rc = -1;
	char *cfg = NULL;

	if (!(res = query(r, SQL_ROLE)))
		return -1;
	exists = PQntuples(res) == 1;
	bad_attrs = exists && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists) {
		if (!r->can_manage) {
			operator_message(r, me, "it does not exist");
			return 1;
		}
		if (runf(r, "creating the explorer role", "CREATE ROLE %s LOGIN NOSUPERUSER "
		    "NOCREATEDB NOCREATEROLE INHERIT", r->ident) != 0)
			return -1;
		printf("Created role %s\n", r->name);
	} else if (bad_attrs) {
		if (!r->can_manage) {
			operator_message(r, me, "it has privileged attributes");
			return 1;
		}
		if (runf(r, "restricting the explorer role", "ALTER ROLE %s LOGIN NOSUPERUSER "
		    "NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS", r->ident) != 0)
			return -1;
		printf("Restricted role %s\n", r->name);
	}
	/* Member of nothing: not pg_read_server_files, not pg_signal_backend, not
	 * the routes' role (SET ROLE would reach its write privileges). */
	if (!(res = query(r, SQL_MEMBER_OF)))
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		char *g = PQescapeIdentifier(r->conn, PQgetvalue(res, i, 0),
		    strlen(PQgetvalue(res, i, 0)));
		int failed;
		if (!g)
			goto out_res;
		if (!r->can_manage) {
			PQfreemem(g);
			operator_message(r, me, "it is a member of other roles");
			PQclear(res);
			return 1;
		}
		failed = runf(r, "revoking a role membership", "REVOKE %s FROM %s", g, r->ident);
		if (!failed)
			printf("Revoked membership of %s in %s\n", r->name, PQgetvalue(res, i, 0));
		PQfreemem(g);
		if (failed)
			goto out_res;
	}
	PQclear(res);
	res = NULL;
	if (r->password) {
		char *verifier, *lit;
		if (!r->can_manage) {
			printf("note: not setting the password of %s (needs CREATEROLE)\n", r->name);
		} else {
			/* The SCRAM verifier, so the clear password never reaches the
			 * server (or its statement log). */
			if (!(verifier = PQencryptPasswordConn(r->conn, r->password, r->name, NULL))) {
				fprintf(stderr, "iw-migrate: encrypting the explorer password failed: %s",
				    PQerrorMessage(r->conn));
				return -1;
			}
			lit = PQescapeLiteral(r->conn, verifier, strlen(verifier));
			PQfreemem(verifier);
			if (!lit)
				return -1;
			rc = runf(r, "setting the explorer role's password", "ALTER ROLE %s PASSWORD %s",
			    r->ident, lit);
			PQfreemem(lit);
			if (rc != 0)
				return -1;
			rc = -1;
		}
	}
	if (!(res = query(r, SQL_SETTINGS)))
		return -1;
	if (asprintf(&cfg, ",%s,", PQntuples(res) ? PQgetvalue(res, 0, 0) : "") < 0)
		cfg = NULL;
	PQclear(res);
	res = NULL;
	if (!cfg)
		return -1;
	for (size_t i = 0; i < sizeof role_settings / sizeof *role_settings; i++) {
		char want[128];
		snprintf(want, sizeof want, ",%s=%s,", role_settings[i].name, role_settings[i].value);
		if (strstr(cfg, want))
			continue;
		if (!r->can_manage) {
			operator_message(r, me, "its settings are missing");
			free(cfg);
			return 1;
		}
		if (runf(r, "setting the explorer role's defaults", "ALTER ROLE %s SET %s = '%s'",
		    r->ident, role_settings[i].name, role_settings[i].value) != 0)
			goto out_res;
		printf("Set %s = %s for role %s\n", role_settings[i].name, role_settings[i].value,
		    r->name);
	}
	rc = 0;
out_res:
	PQclear(res);
	free(cfg);
	return rc;
}

/* SELECT on this database's schema public, nothing more. */
static int
grant_select(struct role *r)
{
	PGresult *res = PQexec(r->conn, "SELECT quote_ident(current_database())");
	char db[256];

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(db, sizeof db, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	if (runf(r, "granting CONNECT", "GRANT CONNECT ON DATABASE %s TO %s", db, r->ident) != 0 ||
	    runf(r, "granting USAGE on schema public", "GRANT USAGE ON SCHEMA public TO %s",
	    r->ident) != 0 ||
	    runf(r, "revoking writes", "REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
	    "ON ALL TABLES IN SCHEMA public FROM %s", r->ident) != 0 ||
	    runf(r, "revoking sequences", "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %s",
	    r->ident) != 0 ||
	    runf(r, "granting SELECT", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s",
	    r->ident) != 0 ||
	    runf(r, "granting SELECT on future tables", "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
	    "GRANT SELECT ON TABLES TO %s", r->ident) != 0) {
		if (strcmp(r->state, "42501") == 0)
			fprintf(stderr, "  hint: only the tables' owner may grant on them: run "
			    "explorer-role as the user that runs the migrations\n");
		return -1;
	}
	return 0;
}

int
mig_cmd_explorer_role(struct mig_ctx *c)
{
	struct role r = { .conn = c->conn };
	PGresult *res;
	char me[128];
	int rc = MIG_FAIL, step = -1;

	r.setting = c->db == IW_DB_USAGE ? "EXPLORER_USAGE_DATABASE_URL" : "EXPLORER_DATABASE_URL";
	if (role_from_url(&r) != 0)
		goto out;
	if (!(r.ident = PQescapeIdentifier(c->conn, r.name, strlen(r.name))))
		goto out;
	res = PQexec(c->conn, SQL_ME);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		PQclear(res);
		fprintf(stderr, "iw-migrate: reading the migrating user's attributes failed\n");
		goto out;
	}
	r.can_manage = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	snprintf(me, sizeof me, "%s", PQgetvalue(res, 0, 1));
	PQclear(res);
	if (strcmp(me, r.name) == 0) {
		fprintf(stderr, "iw-migrate: %s names the migrating user \"%s\" itself: the explorer "
		    "needs a role of its own (e.g. %s)\n", r.setting, me, ROLE_DEFAULT);
		rc = MIG_REFUSED;
		goto out;
	}
	for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
		if (run(&r, "BEGIN", "BEGIN") != 0)
			goto out;
		step = setup_role(&r, me);
		if (step == 0)
			step = grant_select(&r);
		if (step == 0 && run(&r, "COMMIT", "COMMIT") == 0)
			break;
		PQclear(PQexec(c->conn, "ROLLBACK"));
		if (step > 0 || !retryable(r.state) || attempt == ATTEMPTS) {
			if (step < 0 && retryable(r.state))
				fprintf(stderr, "iw-migrate: the explorer role kept changing under "
				    "another run (SQLSTATE %s)\n", r.state);
			goto out;
		}
		{
			struct timespec ts = { 0, 50000000L * attempt };
			nanosleep(&ts, NULL);
		}
	}
	printf("Explorer role %s: read-only, SELECT on schema public of \"%s\" (%s)\n", r.name,
	    PQdb(c->conn), r.setting);
	rc = MIG_OK;
out:
	if (r.password)
		explicit_bzero(r.password, strlen(r.password));
	free(r.password);
	PQfreemem(r.ident);
	return rc;
}
