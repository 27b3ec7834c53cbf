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

const char *const mig_state_label[MIG_STATE__MAX] = {
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
const char *
mig_self(const struct mig_ctx *c)
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
		    f->path, mig_self(c), f->name, mig_self(c));
	}
	free(err);
	return -1;
}

const char *
mig_first_line(const char *s, int *len)
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
		log = mig_first_line(mig_history_get(h, i, MIG_COL_LOGS), &len);
		fprintf(stderr, "iw-migrate: migration %s failed (started %s)%s%.*s\n", name,
		    mig_history_get(h, i, MIG_COL_STARTED), len ? ": " : "", len, log);
		fprintf(stderr, "Deploy is blocked until it is resolved. Fix the migration, then:\n"
		    "  %s resolve --rolled-back %s   (and deploy again)\n"
		    "or, if its changes are already in the database:\n"
		    "  %s resolve --applied %s\n", mig_self(c), name, mig_self(c), name);
		n++;
	}
	return n;
}

int
mig_deploy_locked(struct mig_ctx *c, const struct mig_set *set)
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
	rc = mig_deploy_locked(c, &set);
	mig_unlock(c->conn);
	mig_files_free(&set);
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
			    "not failed.\n", f->name, mig_state_label[st]);
			rc = MIG_REFUSED;
			goto out;
		}
		if (mig_exec(c->conn, "marking the migration rolled back", SQL_ROLL_BACK_FAILED,
		    1, params) != 0)
			goto out;
		printf("Marked %s as rolled back; `%s deploy` will apply it again.\n",
		    f->name, mig_self(c));
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
