/* iw-migrate status: the history against the migration files, and drift
 * (tables the migrations create that are missing). */
#include "migrate.h"
#include "usage/partitions.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>


static const char SQL_TABLE_EXISTS[] =
    "SELECT to_regclass(format('%I.%I', 'public', $1::text)) IS NOT NULL";

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
			log = mig_first_line(mig_history_get(&h, r, MIG_COL_LOGS), &len);
			printf("  %-12s %s (started %s)%s%.*s\n", "failed", f->name,
			    mig_history_get(&h, r, MIG_COL_STARTED), len ? ": " : "", len, log);
			break;
		case MIG_ROLLED_BACK:
			printf("  %-12s %s (deploy will apply it again)\n", "rolled back", f->name);
			break;
		default:
			printf("  %-12s %s\n", mig_state_label[st], f->name);
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
		    mig_state_label[st], name);
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
		    "deploy, or `%s resolve --applied NAME` if it is in place.\n", mig_self(c), mig_self(c));
	if (count[MIG_PENDING] + count[MIG_ROLLED_BACK])
		printf("Pending: run `%s deploy`.\n", mig_self(c));
	if (drift)
		printf("Drift: tables recorded as created are missing; re-run the migration "
		    "with `%s apply NAME`.\n", mig_self(c));
	/* Rows in the DEFAULT partition are reported, not an error of the schema. */
	if (h.res && mig_partitions_report(c->conn, iw_interval_table(c->db)) < 0)
		goto out;
	if (!count[MIG_FAILED] && !count[MIG_PENDING] && !count[MIG_ROLLED_BACK] && !drift) {
		printf("Database schema is up to date.\n");
		rc = MIG_OK;
	}
out:
	mig_history_free(&h);
	mig_files_free(&set);
	return rc;
}
