/* The migration history table, laid out exactly as Prisma creates it. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#define LOCK_POLL_MS 200

static const char SQL_EXISTS[] =
    "SELECT to_regclass('public.\"_prisma_migrations\"') IS NOT NULL";
static const char SQL_CREATE[] =
    "CREATE TABLE public.\"_prisma_migrations\" ("
    "\"id\" VARCHAR(36) NOT NULL, "
    "\"checksum\" VARCHAR(64) NOT NULL, "
    "\"finished_at\" TIMESTAMPTZ, "
    "\"migration_name\" VARCHAR(255) NOT NULL, "
    "\"logs\" TEXT, "
    "\"rolled_back_at\" TIMESTAMPTZ, "
    "\"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), "
    "\"applied_steps_count\" INTEGER NOT NULL DEFAULT 0, "
    "CONSTRAINT \"_prisma_migrations_pkey\" PRIMARY KEY (\"id\"))";
/* Columns in enum mig_col order. */
static const char SQL_LOAD[] =
    "SELECT \"id\", \"migration_name\", \"checksum\", "
    "CASE WHEN \"finished_at\" IS NULL THEN 'f' ELSE 't' END, "
    "CASE WHEN \"rolled_back_at\" IS NULL THEN 'f' ELSE 't' END, \"logs\", "
    "to_char(\"started_at\" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' "
    "FROM public.\"_prisma_migrations\" ORDER BY \"started_at\", \"migration_name\"";
static const char SQL_TRY_LOCK[] = "SELECT pg_try_advisory_lock($1::bigint)";
static const char SQL_UNLOCK[] = "SELECT pg_advisory_unlock($1::bigint)";

int
mig_exec(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	char *err;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	err = mig_pg_error(conn, res, NULL);
	fprintf(stderr, "iw-migrate: %s failed: %s\n", what, err ? err : "out of memory");
	free(err);
	PQclear(res);
	return -1;
}

/* 1 when the table exists, 0 when not, -1 on error. */
static int
history_exists(PGconn *conn)
{
	PGresult *res = PQexecParams(conn, SQL_EXISTS, 0, NULL, NULL, NULL, NULL, 0);
	int rc = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	else
		fprintf(stderr, "iw-migrate: cannot read the migration history: %s",
		    PQerrorMessage(conn));
	PQclear(res);
	return rc;
}

int
mig_history_ensure(PGconn *conn)
{
	int exists = history_exists(conn);

	if (exists != 0)
		return exists < 0 ? -1 : 0;
	return mig_exec(conn, "creating _prisma_migrations", SQL_CREATE, 0, NULL);
}

int
mig_history_load(PGconn *conn, struct mig_history *h)
{
	int exists = history_exists(conn);
	PGresult *res;

	h->res = NULL;
	if (exists <= 0)
		return exists;
	res = PQexecParams(conn, SQL_LOAD, 0, NULL, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != MIG_COL__MAX) {
		fprintf(stderr, "iw-migrate: cannot read the migration history: %s",
		    PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	h->res = res;
	return 0;
}

void
mig_history_free(struct mig_history *h)
{
	PQclear(h->res);
	h->res = NULL;
}

int
mig_history_rows(const struct mig_history *h)
{
	return h->res ? PQntuples(h->res) : 0;
}

const char *
mig_history_get(const struct mig_history *h, int row, enum mig_col col)
{
	if (PQgetisnull(h->res, row, (int)col))
		return NULL;
	return PQgetvalue(h->res, row, (int)col);
}

enum mig_state
mig_row_state(const struct mig_history *h, int row)
{
	int finished = strcmp(mig_history_get(h, row, MIG_COL_FINISHED), "t") == 0;
	int rolled_back = strcmp(mig_history_get(h, row, MIG_COL_ROLLED_BACK), "t") == 0;

	if (rolled_back)
		return MIG_ROLLED_BACK;
	return finished ? MIG_APPLIED : MIG_FAILED;
}

enum mig_state
mig_history_state(const struct mig_history *h, const char *name, int *row)
{
	int best[MIG_STATE__MAX];
	int n = mig_history_rows(h);

	for (int s = 0; s < MIG_STATE__MAX; s++)
		best[s] = -1;
	for (int i = 0; i < n; i++)	/* rows are oldest first: keep the latest */
		if (strcmp(mig_history_get(h, i, MIG_COL_NAME), name) == 0)
			best[mig_row_state(h, i)] = i;
	/* Applied wins over an older failure that was resolved by re-running it. */
	static const enum mig_state order[] = { MIG_APPLIED, MIG_FAILED, MIG_ROLLED_BACK };
	for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
		if (best[order[k]] >= 0) {
			if (row)
				*row = best[order[k]];
			return order[k];
		}
	}
	if (row)
		*row = -1;
	return MIG_PENDING;
}

int
mig_lock(PGconn *conn)
{
	const char *params[] = { MIG_LOCK_KEY };
	int waited = 0, said = 0;

	for (;;) {
		PGresult *res = PQexecParams(conn, SQL_TRY_LOCK, 1, NULL, params, NULL, NULL, 0);
		int got;

		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
			fprintf(stderr, "iw-migrate: cannot take the migration lock: %s",
			    PQerrorMessage(conn));
			PQclear(res);
			return -1;
		}
		got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (got)
			return 0;
		if (waited >= MIG_LOCK_WAIT_MS) {
			fprintf(stderr, "iw-migrate: another migration run (iw-migrate or prisma "
			    "migrate) still holds the lock after %d s; try again when it is done\n",
			    MIG_LOCK_WAIT_MS / 1000);
			return -1;
		}
		if (!said++)
			printf("Waiting for another migration run to finish...\n");
		fflush(stdout);
		nanosleep(&(struct timespec){ 0, LOCK_POLL_MS * 1000000L }, NULL);
		waited += LOCK_POLL_MS;
	}
}

void
mig_unlock(PGconn *conn)
{
	const char *params[] = { MIG_LOCK_KEY };
	PGresult *res = PQexecParams(conn, SQL_UNLOCK, 1, NULL, params, NULL, NULL, 0);

	PQclear(res);	/* the session ending releases it anyway */
}

int
mig_uuid(char *out)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof b) != 1)
		return -1;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, MIG_UUID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* The 1-based line of SQL holding character POS (1-based, in characters as
 * Postgres counts them), and that line's start and length. */
static int
line_of(const char *sql, long pos, const char **start, int *len)
{
	const char *p = sql, *ls = sql;
	int line = 1;

	for (long chars = 1; *p && chars < pos; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80)
			chars++;
		if (*p == '\n') {
			line++;
			ls = p + 1;
		}
	}
	while (*p && *p != '\n')
		p++;
	*start = ls;
	*len = (int)(p - ls);
	return line;
}

static void
field(FILE *fp, const PGresult *res, int code, const char *label)
{
	const char *v = PQresultErrorField(res, code);

	if (v && *v)
		fprintf(fp, "\n  %s: %s", label, v);
}

char *
mig_pg_error(PGconn *conn, const PGresult *res, const char *sql)
{
	const char *state, *msg, *pos, *ls;
	char *buf = NULL;
	size_t size = 0;
	FILE *fp;
	int len;

	if (!(fp = open_memstream(&buf, &size)))
		return NULL;
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg) {
		fprintf(fp, "ERROR %s: %s", state ? state : "?", msg);
	} else {
		const char *m = conn ? PQerrorMessage(conn) : "";
		size_t ml = strlen(m);
		while (ml && (m[ml - 1] == '\n' || m[ml - 1] == ' '))
			ml--;
		if (!ml && res && PQresultStatus(res) != PGRES_FATAL_ERROR)
			fprintf(fp, "unexpected result %s", PQresStatus(PQresultStatus(res)));
		else
			fprintf(fp, "%.*s", (int)ml, ml ? m : "no reply from the server");
	}
	pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
	if (sql && pos) {
		int line = line_of(sql, strtol(pos, NULL, 10), &ls, &len);
		fprintf(fp, "\n  at line %d: %.*s", line, len > 200 ? 200 : len, ls);
	}
	if (res) {
		field(fp, res, PG_DIAG_MESSAGE_DETAIL, "DETAIL");
		field(fp, res, PG_DIAG_MESSAGE_HINT, "HINT");
		field(fp, res, PG_DIAG_CONTEXT, "CONTEXT");
	}
	if (fclose(fp) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
