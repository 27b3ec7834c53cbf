/* deploy, status, reset, resolve, apply: what `prisma migrate` does, on the
 * same history table, plus drift detection and a one-migration re-run. */
#include "migrate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TABLE "public.\"_prisma_migrations\""

static const char SQL_INSERT_STARTED[] =
    "INSERT INTO " TABLE " (\"id\", \"checksum\", \"migration_name\", \"started_at\", "
    "\"applied_steps_count\") VALUES ($1, $2, $3, now(), 0)";
static const char SQL_FINISHED[] =
    "UPDATE " TABLE " SET \"finished_at\" = clock_timestamp(), \"applied_steps_count\" = 1 "
    "WHERE \"id\" = $1";
static const char SQL_FAILED_LOGS[] =
    "UPDATE " TABLE " SET \"logs\" = $2 WHERE \"id\" = $1";
static const char SQL_ROLL_BACK_FAILED[] =
    "UPDATE " TABLE " SET \"rolled_back_at\" = now() WHERE \"migration_name\" = $1 "
    "AND \"finished_at\" IS NULL AND \"rolled_back_at\" IS NULL";
/* As Prisma records a migration marked applied: a fresh row, finished now. */
static const char SQL_INSERT_APPLIED[] =
    "INSERT INTO " TABLE " (\"id\", \"checksum\", \"migration_name\", \"started_at\", "
    "\"finished_at\", \"applied_steps_count\") VALUES ($1, $2, $3, now(), now(), $4::int)";
static const char SQL_TABLE_EXISTS[] =
    "SELECT to_regclass(format('%I.%I', 'public', $1::text)) IS NOT NULL";
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

static const char *const state_label[MIG_STATE__MAX] = {
	[MIG_PENDING] = "pending",
	[MIG_APPLIED] = "applied",
	[MIG_FAILED] = "failed",
	[MIG_ROLLED_BACK] = "rolled back",
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* How to invoke this tool again for the same database, for printed hints. */
static const char *
self(const struct mig_ctx *c)
{
	return c->db == IW_DB_USAGE ? "iw-migrate --db usage" : "iw-migrate";
}

static void
print_indented(FILE *fp, const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(fp, "    %.*s\n", len, p);
		p = nl ? nl + 1 : NULL;
	}
}

/* Ends a COPY FROM STDIN a script started, which a migration cannot feed. */
static void
refuse_copy(PGconn *conn)
{
	PGresult *r;

	PQputCopyEnd(conn, "COPY FROM STDIN is not supported in a migration");
	while ((r = PQgetResult(conn)))
		PQclear(r);
}

/* BEGIN, then the whole script. 0 with the transaction left open for the
 * caller to record and commit, or -1 rolled back with *ERR set (malloc'd). */
static int
run_script(PGconn *conn, const struct mig_file *f, char **err)
{
	PGresult *res;
	ExecStatusType st;

	*err = NULL;
	res = PQexec(conn, "BEGIN");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*err = mig_pg_error(conn, res, NULL);
		PQclear(res);
		return -1;
	}
	PQclear(res);
	/* Simple-query protocol: every statement of the file, in order. */
	res = PQexec(conn, f->sql);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
		PQclear(res);
		if (PQtransactionStatus(conn) != PQTRANS_INTRANS)
			fprintf(stderr, "iw-migrate: warning: %s ends the transaction itself "
			    "(COMMIT/ROLLBACK inside the file)\n", f->name);
		return 0;
	}
	if (st == PGRES_COPY_IN) {
		refuse_copy(conn);
		*err = strdup("COPY FROM STDIN is not supported in a migration");
	} else {
		*err = mig_pg_error(conn, res, f->sql);
	}
	PQclear(res);
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
	if (!*err)
		*err = strdup("out of memory");
	return -1;
}

/* COMMIT when a transaction is open; 0 or -1 with *ERR set. */
static int
commit(PGconn *conn, char **err)
{
	PGresult *res;
	int rc = 0;

	*err = NULL;
	if (PQtransactionStatus(conn) == PQTRANS_IDLE)
		return 0;
	res = PQexec(conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {	/* e.g. a deferred constraint */
		*err = mig_pg_error(conn, res, NULL);
		rc = -1;
	}
	PQclear(res);
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	return rc;
}

/* In the open transaction: F is applied now (earlier failed rows become
 * rolled back, as `prisma migrate resolve --applied` does). */
static int
record_applied(PGconn *conn, const struct mig_file *f, const char *steps)
{
	char id[MIG_UUID_LEN + 1];
	const char *rb[] = { f->name };
	const char *ins[] = { id, f->checksum, f->name, steps };

	if (mig_uuid(id) != 0) {
		fprintf(stderr, "iw-migrate: no random bytes for an id\n");
		return -1;
	}
	if (mig_exec(conn, "recording the migration", SQL_ROLL_BACK_FAILED, 1, rb) != 0)
		return -1;
	return mig_exec(conn, "recording the migration", SQL_INSERT_APPLIED, 4, ins);
}

/* Deploys one migration the way Prisma does: a started row first, so a
 * crash or an error leaves a failed row that blocks the next deploy. */
static int
deploy_one(struct mig_ctx *c, const struct mig_file *f)
{
	char id[MIG_UUID_LEN + 1];
	const char *start[] = { id, f->checksum, f->name };
	const char *fin[] = { id };
	char *err = NULL;
	long t0;

	if (mig_uuid(id) != 0) {
		fprintf(stderr, "iw-migrate: no random bytes for an id\n");
		return -1;
	}
	if (mig_exec(c->conn, "recording the migration start", SQL_INSERT_STARTED, 3, start) != 0)
		return -1;
	t0 = now_ms();
	if (run_script(c->conn, f, &err) == 0) {
		if (mig_exec(c->conn, "recording the migration", SQL_FINISHED, 1, fin) != 0) {
			PQclear(PQexec(c->conn, "ROLLBACK"));
			err = strdup("could not record the migration as finished");
		} else if (commit(c->conn, &err) == 0) {
			printf("Applied %s (%ld ms)\n", f->name, now_ms() - t0);
			return 0;
		}
	}
	{
		const char *logs[] = { id, err ? err : "out of memory" };
		fprintf(stderr, "iw-migrate: migration %s failed and was rolled back:\n", f->name);
		print_indented(stderr, logs[1]);
		if (mig_exec(c->conn, "recording the failure", SQL_FAILED_LOGS, 2, logs) != 0)
			fprintf(stderr, "iw-migrate: (the failure could not be recorded)\n");
		fprintf(stderr, "It is recorded as failed and blocks deploy. Fix %s, then run\n"
		    "  %s resolve --rolled-back %s\n  %s deploy\n",
		    f->path, self(c), f->name, self(c));
	}
	free(err);
	return -1;
}

static const char *
first_line(const char *s, int *len)
{
	const char *nl;

	if (!s) {
		*len = 0;
		return "";
	}
	nl = strchr(s, '\n');
	*len = nl ? (int)(nl - s) : (int)strlen(s);
	return s;
}

/* Reports every failed migration; the number found. */
static int
report_failed(const struct mig_ctx *c, const struct mig_history *h)
{
	int n = 0, rows = mig_history_rows(h);

	for (int i = 0; i < rows; i++) {
		const char *name = mig_history_get(h, i, MIG_COL_NAME);
		int r, len;
		const char *log;

		if (mig_history_state(h, name, &r) != MIG_FAILED || r != i)
			continue;
		log = first_line(mig_history_get(h, i, MIG_COL_LOGS), &len);
		fprintf(stderr, "iw-migrate: migration %s failed (started %s)%s%.*s\n", name,
		    mig_history_get(h, i, MIG_COL_STARTED), len ? ": " : "", len, log);
		fprintf(stderr, "Deploy is blocked until it is resolved. Fix the migration, then:\n"
		    "  %s resolve --rolled-back %s   (and deploy again)\n"
		    "or, if its changes are already in the database:\n"
		    "  %s resolve --applied %s\n", self(c), name, self(c), name);
		n++;
	}
	return n;
}

static int
deploy_locked(struct mig_ctx *c, const struct mig_set *set)
{
	struct mig_history h = { 0 };
	int applied = 0, already = 0, rc = MIG_FAIL, rows;

	if (mig_history_ensure(c->conn) != 0 || mig_history_load(c->conn, &h) != 0)
		goto out;
	if (report_failed(c, &h) > 0)
		goto out;
	rows = mig_history_rows(&h);
	for (int i = 0; i < rows; i++) {
		const char *name = mig_history_get(&h, i, MIG_COL_NAME);
		int r;
		if (!mig_files_find(set, name) && mig_history_state(&h, name, &r) == MIG_APPLIED &&
		    r == i)
			fprintf(stderr, "iw-migrate: warning: %s is recorded as applied but has no "
			    "directory in %s\n", name, c->dir);
	}
	for (size_t i = 0; i < set->n; i++) {
		const struct mig_file *f = &set->v[i];
		int r;

		if (mig_history_state(&h, f->name, &r) == MIG_APPLIED) {
			if (!mig_checksum_matches(f, mig_history_get(&h, r, MIG_COL_CHECKSUM)))
				fprintf(stderr, "iw-migrate: warning: %s was modified after it "
				    "was applied (its checksum differs from the recorded one)\n",
				    f->name);
			already++;
			continue;
		}
		if (deploy_one(c, f) != 0)
			goto out;
		applied++;
	}
	if (applied)
		printf("Applied %d migration%s; %d already applied.\n", applied,
		    applied == 1 ? "" : "s", already);
	else
		printf("No pending migrations; %d already applied.\n", already);
	rc = MIG_OK;
out:
	mig_history_free(&h);
	return rc;
}

int
mig_cmd_deploy(struct mig_ctx *c)
{
	struct mig_set set;
	int rc;

	if (mig_files_load(c->dir, &set) != 0)
		return MIG_FAIL;
	if (mig_lock(c->conn) != 0) {
		mig_files_free(&set);
		return MIG_FAIL;
	}
	rc = deploy_locked(c, &set);
	mig_unlock(c->conn);
	mig_files_free(&set);
	return rc;
}

/* Tables the applied migrations should have left, and who created them. */
struct expected {
	struct expected_table {
		char		*table;
		const char	*migration;
	}		*v;
	size_t		 n, cap;
	const char	*current;	/* migration being scanned */
};

/* 1 when TABLE was expected (and no longer is). */
static int
expected_remove(struct expected *e, const char *table)
{
	for (size_t i = 0; i < e->n; i++) {
		if (strcmp(e->v[i].table, table) == 0) {
			free(e->v[i].table);
			e->v[i] = e->v[--e->n];
			return 1;
		}
	}
	return 0;
}

static int
expected_add(struct expected *e, const char *table)
{
	expected_remove(e, table);
	if (e->n == e->cap) {
		size_t ncap = e->cap ? e->cap * 2 : 32;
		struct expected_table *nv = realloc(e->v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		e->v = nv;
		e->cap = ncap;
	}
	if (!(e->v[e->n].table = strdup(table)))
		return -1;
	e->v[e->n].migration = e->current;
	e->n++;
	return 0;
}

static int
on_table(enum mig_table_op op, const char *table, const char *new_name, void *arg)
{
	struct expected *e = arg;

	switch (op) {
	case MIG_TABLE_CREATE:
		return expected_add(e, table);
	case MIG_TABLE_DROP:
		expected_remove(e, table);
		return 0;
	case MIG_TABLE_RENAME:
		/* A guarded rename of a table no migration created may not have run. */
		return expected_remove(e, table) ? expected_add(e, new_name) : 0;
	}
	return 0;
}

static void
expected_free(struct expected *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].table);
	free(e->v);
}

static int
cmp_expected(const void *a, const void *b)
{
	const struct expected_table *x = a, *y = b;
	int d = strcmp(x->migration, y->migration);
	return d ? d : strcmp(x->table, y->table);
}

/* Prints each table an applied migration created that is missing: the
 * number missing, or -1 on error. */
static int
check_drift(struct mig_ctx *c, const struct mig_set *set, const struct mig_history *h)
{
	struct expected e = { 0 };
	int missing = 0;

	for (size_t i = 0; i < set->n; i++) {
		if (mig_history_state(h, set->v[i].name, NULL) != MIG_APPLIED)
			continue;
		e.current = set->v[i].name;
		if (mig_scan_tables(set->v[i].sql, set->v[i].len, on_table, &e) != 0) {
			fprintf(stderr, "iw-migrate: out of memory\n");
			missing = -1;
			goto out;
		}
	}
	if (e.n)
		qsort(e.v, e.n, sizeof *e.v, cmp_expected);
	for (size_t i = 0; i < e.n; i++) {
		const char *params[] = { e.v[i].table };
		PGresult *res = PQexecParams(c->conn, SQL_TABLE_EXISTS, 1, NULL, params,
		    NULL, NULL, 0);

		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			fprintf(stderr, "iw-migrate: cannot check table %s: %s", e.v[i].table,
			    PQerrorMessage(c->conn));
			PQclear(res);
			missing = -1;
			goto out;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
			printf("  %-12s %s: table public.\"%s\" does not exist\n", "drift",
			    e.v[i].migration, e.v[i].table);
			missing++;
		}
		PQclear(res);
	}
out:
	expected_free(&e);
	return missing;
}

int
mig_cmd_status(struct mig_ctx *c)
{
	struct mig_set set;
	struct mig_history h = { 0 };
	int count[MIG_STATE__MAX] = { 0 };
	int modified = 0, orphans = 0, drift = 0, rc = MIG_FAIL, rows;

	if (mig_files_load(c->dir, &set) != 0)
		return MIG_FAIL;
	if (mig_history_load(c->conn, &h) != 0)
		goto out;
	printf("%zu migration%s in %s\n", set.n, set.n == 1 ? "" : "s", c->dir);
	if (!h.res)
		printf("No migration history (_prisma_migrations) in this database yet.\n");
	for (size_t i = 0; i < set.n; i++) {
		const struct mig_file *f = &set.v[i];
		int r, len;
		enum mig_state st = mig_history_state(&h, f->name, &r);
		const char *log;

		count[st]++;
		switch (st) {
		case MIG_APPLIED:
			if (mig_checksum_matches(f, mig_history_get(&h, r, MIG_COL_CHECKSUM))) {
				printf("  %-12s %s\n", "applied", f->name);
			} else {
				printf("  %-12s %s (modified since: checksum differs)\n",
				    "applied", f->name);
				modified++;
			}
			break;
		case MIG_FAILED:
			log = first_line(mig_history_get(&h, r, MIG_COL_LOGS), &len);
			printf("  %-12s %s (started %s)%s%.*s\n", "failed", f->name,
			    mig_history_get(&h, r, MIG_COL_STARTED), len ? ": " : "", len, log);
			break;
		case MIG_ROLLED_BACK:
			printf("  %-12s %s (deploy will apply it again)\n", "rolled back", f->name);
			break;
		default:
			printf("  %-12s %s\n", state_label[st], f->name);
			break;
		}
	}
	rows = mig_history_rows(&h);
	for (int i = 0; i < rows; i++) {
		const char *name = mig_history_get(&h, i, MIG_COL_NAME);
		int r;
		enum mig_state st;

		if (mig_files_find(&set, name))
			continue;
		st = mig_history_state(&h, name, &r);
		if (r != i || st == MIG_ROLLED_BACK)
			continue;
		printf("  %-12s %s (recorded in the database, no directory here)\n",
		    state_label[st], name);
		if (st == MIG_FAILED)
			count[MIG_FAILED]++;
		orphans++;
	}
	if ((drift = check_drift(c, &set, &h)) < 0)
		goto out;
	printf("%d applied, %d pending, %d failed, %d drifted", count[MIG_APPLIED],
	    count[MIG_PENDING] + count[MIG_ROLLED_BACK], count[MIG_FAILED], drift);
	if (modified)
		printf(", %d modified", modified);
	if (orphans)
		printf(", %d without a directory", orphans);
	printf("\n");
	if (count[MIG_FAILED])
		printf("Failed: fix the migration, then `%s resolve --rolled-back NAME` and "
		    "deploy, or `%s resolve --applied NAME` if it is in place.\n", self(c), self(c));
	if (count[MIG_PENDING] + count[MIG_ROLLED_BACK])
		printf("Pending: run `%s deploy`.\n", self(c));
	if (drift)
		printf("Drift: tables recorded as created are missing; re-run the migration "
		    "with `%s apply NAME`.\n", self(c));
	if (!count[MIG_FAILED] && !count[MIG_PENDING] && !count[MIG_ROLLED_BACK] && !drift) {
		printf("Database schema is up to date.\n");
		rc = MIG_OK;
	}
out:
	mig_history_free(&h);
	mig_files_free(&set);
	return rc;
}

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
static char *
server_dbname(PGconn *conn)
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

	if (!(dbname = server_dbname(c->conn)))
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
		rc = deploy_locked(c, &set);
	}
	mig_unlock(c->conn);
out:
	mig_files_free(&set);
	free(dbname);
	return rc;
}

/* NAME's migration, or NULL with the refusal printed. */
static const struct mig_file *
find_named(const struct mig_ctx *c, const struct mig_set *set)
{
	const struct mig_file *f = mig_files_find(set, c->name);

	if (!f)
		fprintf(stderr, "iw-migrate: no migration named %s in %s\n", c->name, c->dir);
	return f;
}

static int
resolve_locked(struct mig_ctx *c, const struct mig_file *f)
{
	struct mig_history h = { 0 };
	enum mig_state st;
	char *err = NULL;
	int rc = MIG_FAIL;

	if (mig_history_ensure(c->conn) != 0 || mig_history_load(c->conn, &h) != 0)
		goto out;
	st = mig_history_state(&h, f->name, NULL);
	if (!c->resolve_applied) {
		const char *params[] = { f->name };
		if (st != MIG_FAILED) {
			fprintf(stderr, "iw-migrate: %s cannot be marked rolled back: it is %s, "
			    "not failed.\n", f->name, state_label[st]);
			rc = MIG_REFUSED;
			goto out;
		}
		if (mig_exec(c->conn, "marking the migration rolled back", SQL_ROLL_BACK_FAILED,
		    1, params) != 0)
			goto out;
		printf("Marked %s as rolled back; `%s deploy` will apply it again.\n",
		    f->name, self(c));
		rc = MIG_OK;
		goto out;
	}
	if (st == MIG_APPLIED) {
		printf("%s is already recorded as applied; nothing changed.\n", f->name);
		rc = MIG_OK;
		goto out;
	}
	if (mig_exec(c->conn, "BEGIN", "BEGIN", 0, NULL) != 0)
		goto out;
	if (record_applied(c->conn, f, "0") != 0 || commit(c->conn, &err) != 0) {
		if (err)
			fprintf(stderr, "iw-migrate: recording the migration failed: %s\n", err);
		PQclear(PQexec(c->conn, "ROLLBACK"));
		goto out;
	}
	printf("Recorded %s as applied (without running it).\n", f->name);
	rc = MIG_OK;
out:
	free(err);
	mig_history_free(&h);
	return rc;
}

/* Runs FN on the migration the command names, under the migration lock. */
static int
on_named_migration(struct mig_ctx *c, int (*fn)(struct mig_ctx *, const struct mig_file *))
{
	struct mig_set set;
	const struct mig_file *f;
	int rc = MIG_REFUSED;

	if (mig_files_load(c->dir, &set) != 0)
		return MIG_FAIL;
	if ((f = find_named(c, &set))) {
		rc = MIG_FAIL;
		if (mig_lock(c->conn) == 0) {
			rc = fn(c, f);
			mig_unlock(c->conn);
		}
	}
	mig_files_free(&set);
	return rc;
}

int
mig_cmd_resolve(struct mig_ctx *c)
{
	return on_named_migration(c, resolve_locked);
}

static int
apply_locked(struct mig_ctx *c, const struct mig_file *f)
{
	struct mig_history h = { 0 };
	enum mig_state st;
	char *err = NULL;
	long t0;
	int rc = MIG_FAIL;

	if (mig_history_ensure(c->conn) != 0 || mig_history_load(c->conn, &h) != 0)
		goto out;
	st = mig_history_state(&h, f->name, NULL);
	t0 = now_ms();
	if (run_script(c->conn, f, &err) != 0) {
		fprintf(stderr, "iw-migrate: %s failed and was rolled back (history unchanged):\n",
		    f->name);
		print_indented(stderr, err);
		goto out;
	}
	if (st != MIG_APPLIED && record_applied(c->conn, f, "1") != 0) {
		PQclear(PQexec(c->conn, "ROLLBACK"));
		goto out;
	}
	if (commit(c->conn, &err) != 0) {
		fprintf(stderr, "iw-migrate: %s failed at commit:\n", f->name);
		print_indented(stderr, err);
		goto out;
	}
	printf("Ran %s (%ld ms); %s.\n", f->name, now_ms() - t0, st == MIG_APPLIED ?
	    "it was already recorded as applied" : "recorded as applied");
	rc = MIG_OK;
out:
	free(err);
	mig_history_free(&h);
	return rc;
}

int
mig_cmd_apply(struct mig_ctx *c)
{
	return on_named_migration(c, apply_locked);
}
