/* iw-migrate partitions, retention, and the partition lines of status: the
 * monthly range partitions of the interval tables (docs/ingest.md,
 * "Partitions"). The month logic is SQL the migration installs
 * (iw_interval_month_ensure, iw_interval_partitions_ensure), so the
 * migration's conversion and this step create months the same way. */
#include "migrate.h"
#include "usage/partitions.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Each step is one transaction: a lock it waits for longer than this fails
 * the step (rerun it) instead of queueing every reader of the table behind
 * its ACCESS EXCLUSIVE request. */
#define PART_LOCK_TIMEOUT "10s"

static const char SQL_LOCK_TIMEOUT[] = "SELECT set_config('lock_timeout', $1, true)";
/* Serialises concurrent runs (timer and migrate unit) for the transaction. */
static const char SQL_XACT_LOCK[] =
    "SELECT pg_advisory_xact_lock(hashtextextended('iw.partitions:' || $1, 0))";
static const char SQL_ENSURE[] =
    "SELECT partition_name, moved FROM iw_interval_partitions_ensure($1, $2::int)";
static const char SQL_SUMMARY[] =
    "SELECT count(*), to_char(min(to_date(right(c.relname, 6), 'YYYYMM')), 'YYYY-MM'),"
    " to_char(max(to_date(right(c.relname, 6), 'YYYYMM')), 'YYYY-MM'),"
    " to_regclass(format('public.%I', $1::text || '_default')) IS NOT NULL"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = to_regclass(format('public.%I', $1::text))"
    " AND c.relname = $1::text || '_p' || right(c.relname, 6) AND right(c.relname, 6) ~ '^[0-9]{6}$'";
/* Months strictly before $2 (a first of month), oldest first. */
static const char SQL_OLD_MONTHS[] =
    "SELECT c.relname, to_char(to_date(right(c.relname, 6), 'YYYYMM'), 'YYYY-MM')"
    " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
    " WHERE i.inhparent = to_regclass(format('public.%I', $1::text))"
    " AND c.relname = $1::text || '_p' || right(c.relname, 6) AND right(c.relname, 6) ~ '^[0-9]{6}$'"
    " AND to_date(right(c.relname, 6), 'YYYYMM') < $2::date ORDER BY 2";
/* The newest month retention may drop before: the one before last (UTC). */
static const char SQL_BEFORE_ALLOWED[] =
    "SELECT $1::date <= (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date,"
    " to_char(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month', 'YYYY-MM')";

static PGresult *
query(PGconn *conn, const char *what, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	char *err;

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	err = mig_pg_error(conn, res, NULL);
	fprintf(stderr, "iw-migrate: %s failed: %s\n", what, err ? err : "out of memory");
	free(err);
	PQclear(res);
	return NULL;
}

static void
rollback(PGconn *conn)
{
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
}

/* The months and row counts of table NAME (a DEFAULT partition). malloc'd. */
static char *
default_months_sql(PGconn *conn, const char *name)
{
	char *id = PQescapeIdentifier(conn, name, strlen(name)), *sql = NULL;

	if (!id || asprintf(&sql, "SELECT to_char(date_trunc('month', ts), 'YYYY-MM'), count(*) "
	    "FROM public.%s GROUP BY 1 ORDER BY 1", id) < 0)
		sql = NULL;
	PQfreemem(id);
	if (!sql)
		fprintf(stderr, "iw-migrate: out of memory\n");
	return sql;
}

/* Prints the months of TABLE and what its DEFAULT partition holds. 0 when
 * the default is empty (or the table is not partitioned yet), 1 when it
 * holds rows, -1 on error. */
int
mig_partitions_report(PGconn *conn, const char *table)
{
	const char *params[] = { table };
	PGresult *sum, *rows = NULL;
	char *def = NULL, *sql = NULL;
	long long total = 0;
	int rc = -1;

	if (!(sum = query(conn, "reading the partitions", SQL_SUMMARY, 1, params)))
		return -1;
	if (strcmp(PQgetvalue(sum, 0, 3), "t") != 0) {
		printf("Partitions: %s is not partitioned yet (deploy the migrations).\n", table);
		rc = 0;
		goto out;
	}
	printf("Partitions: %s has %s month%s, %s..%s", table, PQgetvalue(sum, 0, 0),
	    strcmp(PQgetvalue(sum, 0, 0), "1") == 0 ? "" : "s", PQgetvalue(sum, 0, 1),
	    PQgetvalue(sum, 0, 2));
	if (asprintf(&def, "%s_default", table) < 0)
		def = NULL;
	if (!def || !(sql = default_months_sql(conn, def))) {
		printf("\n");
		goto out;
	}
	if (!(rows = query(conn, "reading the default partition", sql, 0, NULL))) {
		printf("\n");
		goto out;
	}
	for (int i = 0; i < PQntuples(rows); i++)
		total += atoll(PQgetvalue(rows, i, 1));
	if (!total) {
		printf("; default partition empty.\n");
		rc = 0;
		goto out;
	}
	printf(".\n  default      \"%s\" holds %lld row%s outside the months:", def, total,
	    total == 1 ? "" : "s");
	for (int i = 0; i < PQntuples(rows); i++)
		printf("%s %s (%s)", i ? "," : "", PQgetvalue(rows, i, 0), PQgetvalue(rows, i, 1));
	printf("\n  Run `iw-migrate%s partitions` to create those months and move the rows "
	    "(rows past the months ahead stay).\n",
	    strcmp(table, "SmtInterval") == 0 ? "" : " --db usage");
	rc = 1;
out:
	PQclear(sum);
	PQclear(rows);
	free(def);
	free(sql);
	return rc;
}

int
mig_cmd_partitions(struct mig_ctx *c)
{
	const char *table = iw_interval_table(c->db);
	char ahead[16];
	const char *tparam[] = { table }, *eparams[] = { table, ahead },
	    *lparam[] = { PART_LOCK_TIMEOUT };
	PGresult *res = NULL;
	int rc = MIG_FAIL;

	snprintf(ahead, sizeof ahead, "%d", c->months_ahead);
	if (mig_exec(c->conn, "BEGIN", "BEGIN", 0, NULL) != 0 ||
	    mig_exec(c->conn, "setting lock_timeout", SQL_LOCK_TIMEOUT, 1, lparam) != 0 ||
	    mig_exec(c->conn, "waiting for another partitions run", SQL_XACT_LOCK, 1, tparam) != 0)
		goto out;
	if (!(res = query(c->conn, "creating the months ahead", SQL_ENSURE, 2, eparams)))
		goto out;
	if (mig_exec(c->conn, "COMMIT", "COMMIT", 0, NULL) != 0)
		goto out;
	for (int i = 0; i < PQntuples(res); i++)
		printf("Created %s (%s row%s moved from the default)\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), strcmp(PQgetvalue(res, i, 1), "1") == 0 ? "" : "s");
	if (PQntuples(res) == 0)
		printf("Every month up to %d ahead exists.\n", c->months_ahead);
	rc = mig_partitions_report(c->conn, table) < 0 ? MIG_FAIL : MIG_OK;
out:
	rollback(c->conn);
	PQclear(res);
	return rc;
}

/* The rows and bytes of PART as they are now (what --dry-run reports). */
static int
count_month(struct mig_ctx *c, const char *part, long long *rows, long long *bytes)
{
	char *child = PQescapeIdentifier(c->conn, part, strlen(part)), *sql = NULL;
	PGresult *res = NULL;
	int rc = -1;

	if (!child || asprintf(&sql, "SELECT count(*), pg_total_relation_size('public.%s') "
	    "FROM public.%s", child, child) < 0) {
		sql = NULL;
		fprintf(stderr, "iw-migrate: out of memory\n");
	} else if ((res = query(c->conn, "counting the month", sql, 0, NULL))) {
		*rows = atoll(PQgetvalue(res, 0, 0));
		*bytes = atoll(PQgetvalue(res, 0, 1));
		rc = 0;
	}
	PQclear(res);
	PQfreemem(child);
	free(sql);
	return rc;
}

/* Detaches and drops one month in its own transaction; prints what went. */
static int
drop_month(struct mig_ctx *c, const char *table, const char *part, long long *rows, long long *bytes)
{
	const char *lparam[] = { PART_LOCK_TIMEOUT };
	char *parent = PQescapeIdentifier(c->conn, table, strlen(table));
	char *child = PQescapeIdentifier(c->conn, part, strlen(part));
	char *detach = NULL, *drop = NULL;
	int rc = -1;

	/* asprintf leaves its pointer undefined when it fails. */
	if (parent && child &&
	    asprintf(&detach, "ALTER TABLE public.%s DETACH PARTITION public.%s", parent, child) < 0)
		detach = NULL;
	if (detach && asprintf(&drop, "DROP TABLE public.%s", child) < 0)
		drop = NULL;
	if (!drop) {
		fprintf(stderr, "iw-migrate: out of memory\n");
		goto out;
	}
	/* Counted after the detach, under its lock: exactly the rows dropped. */
	if (mig_exec(c->conn, "BEGIN", "BEGIN", 0, NULL) != 0 ||
	    mig_exec(c->conn, "setting lock_timeout", SQL_LOCK_TIMEOUT, 1, lparam) != 0 ||
	    mig_exec(c->conn, "detaching the month", detach, 0, NULL) != 0 ||
	    count_month(c, part, rows, bytes) != 0 ||
	    mig_exec(c->conn, "dropping the month", drop, 0, NULL) != 0 ||
	    mig_exec(c->conn, "COMMIT", "COMMIT", 0, NULL) != 0)
		goto out;
	rc = 0;
out:
	rollback(c->conn);
	PQfreemem(parent);
	PQfreemem(child);
	free(detach);
	free(drop);
	return rc;
}

/* "YYYY-MM" with a month 01..12 into OUT as "YYYY-MM-01"; 0 or -1. */
static int
parse_month(const char *s, char out[11])
{
	if (!s || strlen(s) != 7 || s[4] != '-')
		return -1;
	for (int i = 0; i < 7; i++)
		if (i != 4 && !isdigit((unsigned char)s[i]))
			return -1;
	if (atoi(s + 5) < 1 || atoi(s + 5) > 12 || atoi(s) < 1900)
		return -1;
	snprintf(out, 11, "%.7s-01", s);
	return 0;
}

int
mig_cmd_retention(struct mig_ctx *c)
{
	const char *table = iw_interval_table(c->db);
	char first[11];
	const char *bparam[] = { first }, *oparams[] = { table, first };
	PGresult *allowed = NULL, *months = NULL;
	char *dbname = NULL;
	long long rows_total = 0, bytes_total = 0;
	int rc = MIG_REFUSED, n;

	if (c->table && strcmp(c->table, table) != 0) {
		fprintf(stderr, "iw-migrate: --table %s is not the interval table of this database "
		    "(%s; the other is in --db %s)\n", c->table, table,
		    c->db == IW_DB_USAGE ? "master" : "usage");
		return MIG_REFUSED;
	}
	if (parse_month(c->before, first) != 0) {
		fprintf(stderr, "iw-migrate: retention needs --before YYYY-MM (drops the months "
		    "before it)\n");
		return MIG_REFUSED;
	}
	if (!(dbname = mig_server_dbname(c->conn)) ||
	    !(allowed = query(c->conn, "reading the clock", SQL_BEFORE_ALLOWED, 1, bparam))) {
		rc = MIG_FAIL;
		goto out;
	}
	if (strcmp(PQgetvalue(allowed, 0, 0), "t") != 0) {
		fprintf(stderr, "iw-migrate: refusing --before %s: the current and the previous "
		    "month are never dropped (the latest allowed is --before %s)\n", c->before,
		    PQgetvalue(allowed, 0, 1));
		goto out;
	}
	/* The names reset refuses are production's: drop there only when told. */
	if (!c->dry_run && !c->force && !mig_reset_allowed(dbname)) {
		fprintf(stderr, "iw-migrate: refusing to drop months of database \"%s\": its name "
		    "is not a dev/test name (*_dev, *_test, dev_*, test_*), so it may be "
		    "production. Check with --dry-run, then add --force.\n", dbname);
		goto out;
	}
	rc = MIG_FAIL;
	if (!(months = query(c->conn, "listing the months", SQL_OLD_MONTHS, 2, oparams)))
		goto out;
	n = PQntuples(months);
	for (int i = 0; i < n; i++) {
		const char *part = PQgetvalue(months, i, 0);
		long long rows = 0, bytes = 0;

		if (c->dry_run) {
			if (count_month(c, part, &rows, &bytes) != 0)
				goto out;
			printf("Would drop %s (%s): %lld rows, %lld bytes\n", part,
			    PQgetvalue(months, i, 1), rows, bytes);
			rows_total += rows;
			bytes_total += bytes;
			continue;
		}
		if (drop_month(c, table, part, &rows, &bytes) != 0) {
			printf("Stopped at %s: %lld rows, %lld bytes dropped before it.\n", part,
			    rows_total, bytes_total);
			goto out;
		}
		printf("Dropped %s (%s): %lld rows, %lld bytes\n", part, PQgetvalue(months, i, 1),
		    rows, bytes);
		rows_total += rows;
		bytes_total += bytes;
	}
	if (c->dry_run)
		printf("Dry run: %d month%s of %s before %s would be dropped: %lld rows, %lld bytes.\n",
		    n, n == 1 ? "" : "s", table, c->before, rows_total, bytes_total);
	else
		printf("Dropped %d month%s of %s before %s: %lld rows, %lld bytes.\n", n,
		    n == 1 ? "" : "s", table, c->before, rows_total, bytes_total);
	rc = MIG_OK;
out:
	free(dbname);
	PQclear(allowed);
	PQclear(months);
	return rc;
}
