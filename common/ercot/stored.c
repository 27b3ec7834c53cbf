/* The stored side of the worker's steady-state merge (ercot/stored.h). */
#include "ercot/stored.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/buf.h"
#include "core/config.h"
#include "io/db.h"
#include "io/db_copy.h"
#include "io/db_raw.h"

#define STORED_FETCH     "FETCH 10000 FROM ercot_stored"
/* A full file that drops more ESIIDs than this is not a steady post: the
 * merge gives up and the load takes the SQL path (no list grows unbounded).
 * ERCOT_MERGE_GONE_MAX lowers it (tests). */
#define STORED_GONE_MAX  100000
#define STORED_ESIID_MAX 64

/* In ESIID order: the rows' byte order is checked as they come, since the
 * merge needs it and the column's collation may order otherwise. */
static const char SQL_CURSOR[] =
	"DECLARE ercot_stored NO SCROLL CURSOR FOR SELECT \"esiid\", \"valuesHash\""
	" FROM \"ErcotEsiidIndex\" WHERE \"tdspCode\" = $1 ORDER BY \"esiid\"";

struct iw_ercot_stored {
	PGconn *conn;
	PGresult *batch;
	int at, n;                       /* the current row of the batch */
	char cur[STORED_ESIID_MAX + 1];  /* the current stored ESIID (NUL-terminated) */
	size_t cur_len;
	long long rows, kept;
	long long gone_max;
	struct iw_buf gone;              /* COPY text lines */
	long long gone_count;
	char error[200];
};

static int fail(struct iw_ercot_stored *s, const char *why)
{
	if (!s->error[0])
		snprintf(s->error, sizeof s->error, "%s", why);
	return -1;
}

static int cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

/* Moves to the next stored row (fetching a batch when needed): 1, 0 at the
 * end, -1 on error or a row out of byte order. */
static int advance(struct iw_ercot_stored *s)
{
	const char *e;
	size_t n;

	if (s->batch && ++s->at < s->n)
		goto check;
	PQclear(s->batch);
	s->batch = PQexec(s->conn, STORED_FETCH);
	if (PQresultStatus(s->batch) != PGRES_TUPLES_OK)
		return fail(s, "reading the stored rows failed");
	s->at = 0;
	if ((s->n = PQntuples(s->batch)) == 0) {
		/* The end: no current row (s->batch NULL says so). */
		PQclear(s->batch);
		s->batch = NULL;
		return 0;
	}
check:
	e = PQgetvalue(s->batch, s->at, 0);
	n = (size_t)PQgetlength(s->batch, s->at, 0);
	if (n > STORED_ESIID_MAX)
		return fail(s, "a stored ESIID is longer than the merge handles");
	if (s->rows && cmp(s->cur, s->cur_len, e, n) >= 0)
		return fail(s, "the stored ESIIDs do not come in byte order");
	memcpy(s->cur, e, n);
	s->cur[n] = '\0';
	s->cur_len = n;
	s->rows++;
	return 1;
}

/* The current stored row is not in the file: a gone ESIID (full files). */
static int add_gone(struct iw_ercot_stored *s)
{
	if (++s->gone_count > s->gone_max)
		return fail(s, "the file drops too many stored ESIIDs");
	if (iw_db_copy_escape(&s->gone, s->cur) != 0 || iw_buf_put(&s->gone, "\n", 1) != 0)
		return fail(s, "out of memory");
	return 0;
}

struct iw_ercot_stored *iw_ercot_stored_open(const char *tdsp, char *err, size_t errlen)
{
	struct iw_ercot_stored *s = calloc(1, sizeof *s);
	const char *p[1] = { tdsp };
	PGresult *r;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->gone_max = iw_env_int("ERCOT_MERGE_GONE_MAX", STORED_GONE_MAX, 0, STORED_GONE_MAX);
	if (!(s->conn = iw_db_connect(IW_DB_MASTER, "iw-admin ercot stored rows", NULL))) {
		snprintf(err, errlen, "no second connection");
		goto fail;
	}
	r = PQexec(s->conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		snprintf(err, errlen, "BEGIN failed");
		goto fail;
	}
	PQclear(r);
	if (iw_pg_tx_limits(s->conn, err, errlen) != 0)
		goto fail;
	r = PQexecParams(s->conn, SQL_CURSOR, 1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "the cursor failed: %.120s", PQresultErrorMessage(r));
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	if (advance(s) < 0) {
		snprintf(err, errlen, "%s", s->error);
		goto fail;
	}
	return s;
fail:
	iw_ercot_stored_close(s);
	return NULL;
}

int iw_ercot_stored_keep(struct iw_ercot_stored *s, const char *esiid, size_t n,
			 const char *hash)
{
	int c = 1;

	if (s->error[0])
		return -1;
	/* Stored ESIIDs before this one are not in the file. */
	while (s->batch && (c = cmp(s->cur, s->cur_len, esiid, n)) < 0) {
		if (add_gone(s) != 0 || advance(s) < 0)
			return -1;
	}
	if (!s->batch || c > 0) {
		s->kept++; /* new */
		return 1;
	}
	{
		int same = !PQgetisnull(s->batch, s->at, 1) &&
			   strcmp(PQgetvalue(s->batch, s->at, 1), hash) == 0;
		if (advance(s) < 0)
			return -1;
		s->kept += !same;
		return !same;
	}
}

/* The cursor's transaction and its connection end: the load's own writes
 * need neither (and should not wait on an old snapshot of their table). */
static void end_conn(struct iw_ercot_stored *s)
{
	PQclear(s->batch);
	s->batch = NULL;
	if (s->conn) {
		PQclear(PQexec(s->conn, "ROLLBACK"));
		PQfinish(s->conn);
		s->conn = NULL;
	}
}

int iw_ercot_stored_finish(struct iw_ercot_stored *s)
{
	if (s->error[0])
		return -1;
	while (s->batch) {
		if (add_gone(s) != 0 || advance(s) < 0)
			return -1;
	}
	end_conn(s);
	return 0;
}

const char *iw_ercot_stored_gone(const struct iw_ercot_stored *s, size_t *len, long long *count)
{
	*len = s->gone.len;
	*count = s->gone_count;
	return s->gone.len ? s->gone.data : "";
}

long long iw_ercot_stored_rows(const struct iw_ercot_stored *s) { return s->rows; }
long long iw_ercot_stored_kept(const struct iw_ercot_stored *s) { return s->kept; }
const char *iw_ercot_stored_error(const struct iw_ercot_stored *s) { return s->error; }

void iw_ercot_stored_close(struct iw_ercot_stored *s)
{
	if (!s)
		return;
	end_conn(s);
	iw_buf_free(&s->gone);
	free(s);
}
