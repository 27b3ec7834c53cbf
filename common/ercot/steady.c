/* ERCOT steady state: which rows of a loaded extract (temp table
 * ercot_load) are new or differ from "ErcotEsiidIndex", so that a re-post of
 * a full extract writes only those; and, for a full extract, which indexed
 * ESIIDs of its TDSP it no longer lists ("ErcotEsiidGone", one row per file
 * and absent ESIID, instead of a mark on every row). */
#include "ercot/job.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "ercot/stored.h"
#include "io/db_copy.h"

/* Does the index know any of the file's first rows? No: a first load, for
 * which the plain path (sort all rows once, insert) is the fastest. */
static const char SQL_PROBE[] =
	"SELECT 1 FROM (SELECT c0 FROM ercot_load LIMIT 1000) s WHERE EXISTS"
	" (SELECT 1 FROM \"ErcotEsiidIndex\" t WHERE t.\"esiid\" = s.c0) LIMIT 1";

/* One pass over the file's rows and the TDSP's index rows: an ESIID of the
 * file that is new, or whose values differ (and the stored post is not
 * newer), is a candidate; an indexed ESIID the full file lacks is gone. */
#define DIFF_SQL(cols, into) \
	"WITH j AS (SELECT " cols ", t.\"esiid\" AS s FROM ercot_load r FULL JOIN" \
	" (SELECT * FROM \"ErcotEsiidIndex\" WHERE \"tdspCode\" = $1) t ON t.\"esiid\" = r.c0" \
	" WHERE r.c0 IS NULL OR t.\"esiid\" IS NULL" \
	" OR ((t.\"postedAtUtc\" IS NULL OR t.\"postedAtUtc\" <= $2::timestamp(3))" \
	" AND" IW_ERCOT_VALUES_DIFFER "))," \
	" g AS (INSERT INTO \"ErcotEsiidGone\" (\"fileSha256\", \"esiid\", \"tdspCode\")" \
	" SELECT $3, s, $1 FROM j WHERE c0 IS NULL AND $4::boolean ON CONFLICT DO NOTHING RETURNING 1)" \
	" INSERT INTO " into " FROM j WHERE c0 IS NOT NULL"

/* No ESIID twice in the file: the candidates' rows are the rows to write. */
static const char SQL_ROWS_TABLE[] =
	"CREATE TEMP TABLE ercot_rows (LIKE ercot_load) ON COMMIT DROP";
/* The file's row travels whole (a composite), so no column list here can
 * fall behind ercot_load's. */
static const char SQL_DIFF_ROWS[] = DIFF_SQL("r.c0, r AS fr", "ercot_rows SELECT (fr).*");

/* Else the candidate ESIIDs first, then the last row of each (last row of a
 * file wins): the update re-checks it, so an ESIID whose earlier row
 * differed but whose last row equals the stored values is left alone. */
static const char SQL_CAND[] =
	"CREATE TEMP TABLE ercot_cand (c0 text) ON COMMIT DROP";
static const char SQL_DIFF_CAND[] = DIFF_SQL("r.c0", "ercot_cand SELECT c0");
static const char SQL_ROWS[] =
	"CREATE TEMP TABLE ercot_rows ON COMMIT DROP AS"
	" SELECT DISTINCT ON (c0) * FROM ercot_load WHERE c0 IN (SELECT c0 FROM ercot_cand)"
	" ORDER BY c0, ord DESC";

/* The first-load path's gone rows (run before the new rows are inserted). */
static const char SQL_GONE[] =
	"INSERT INTO \"ErcotEsiidGone\" (\"fileSha256\", \"esiid\", \"tdspCode\")"
	" SELECT $3, t.\"esiid\", $1 FROM \"ErcotEsiidIndex\" t WHERE t.\"tdspCode\" = $1"
	" AND $4::boolean AND $2::text IS NOT NULL"
	" AND NOT EXISTS (SELECT 1 FROM ercot_rows r WHERE r.c0 = t.\"esiid\")"
	" ON CONFLICT DO NOTHING";

int iw_ercot_extract_full(const char *filename)
{
	/* ERCOT names full extracts …_FUL.zip / …_FULL…; daily ones …_DAILY. */
	for (const char *s = filename; (s = strcasestr(s, "_FUL")); s += 4) {
		char c = s[4];
		if (c == '\0' || c == '.' || c == '_' || c == 'L' || c == 'l')
			return 1;
	}
	return 0;
}

/* The gone list of the worker's merge into "ErcotEsiidGone" (a full file). */
static const char SQL_GONE_TABLE[] =
	"CREATE TEMP TABLE ercot_gone (esiid text) ON COMMIT DROP";
static const char SQL_GONE_LISTED[] =
	"INSERT INTO \"ErcotEsiidGone\" (\"fileSha256\", \"esiid\", \"tdspCode\")"
	" SELECT $3, g.esiid, $1 FROM ercot_gone g WHERE $4::boolean AND $2::text IS NOT NULL"
	" ON CONFLICT DO NOTHING";

static int copy_gone(struct job *j, const char *const *p)
{
	size_t len;
	long long count;
	const char *lines = iw_ercot_stored_gone(j->stored, &len, &count);
	char e[256];
	int sent;

	if (!count)
		return 0;
	if (iw_ercot_job_exec(j, SQL_GONE_TABLE, 0, NULL) < 0)
		return -1;
	if (iw_db_copy_start(j->conn, "COPY ercot_gone FROM STDIN", PGRES_COPY_IN, e, sizeof e) != 0) {
		snprintf(j->err, sizeof j->err, "COPY of the gone ESIIDs refused: %.200s", e);
		return -1;
	}
	sent = PQputCopyData(j->conn, lines, (int)len) == 1;
	/* Always ended (with an error when the data failed): a COPY left open
	 * would keep the connection in COPY_IN. */
	if (iw_db_copy_end(j->conn, sent ? NULL : "the gone ESIIDs could not be sent", e, sizeof e,
			   j->sqlstate) != 0 || !sent) {
		snprintf(j->err, sizeof j->err, "COPY of the gone ESIIDs failed: %.200s", e);
		return -1;
	}
	return iw_ercot_job_exec(j, SQL_GONE_LISTED, 4, p) < 0 ? -1 : 0;
}

int iw_ercot_steady_rows(struct job *j, const char *const *p)
{
	long long known;

	/* The worker's merge COPYed only the new and changed rows, in ESIID
	 * order, none twice: they are the rows to write. */
	if (j->stored) {
		size_t len;
		long long gone;

		iw_ercot_stored_gone(j->stored, &len, &gone);
		iw_logf("info", "ercot: %s: steady-state merge: %lld of %lld rows COPYed, %lld stored rows read, %lld gone",
			j->doc->filename, iw_ercot_stored_kept(j->stored), j->rows,
			iw_ercot_stored_rows(j->stored), gone);
		return copy_gone(j, p) != 0 ||
		       iw_ercot_job_exec(j, "ALTER TABLE ercot_load RENAME TO ercot_rows", 0, NULL) < 0
		       ? -1 : 0;
	}

	if ((known = iw_ercot_job_exec(j, SQL_PROBE, 0, NULL)) < 0)
		return -1;
	if (!known) {
		/* A file in ESIID order with none twice is already what to insert. */
		if (iw_ercot_job_exec(j, j->ascending ? "ALTER TABLE ercot_load RENAME TO ercot_rows"
				      : IW_ERCOT_SQL_DEDUP, 0, NULL) < 0 ||
		    iw_ercot_job_exec(j, SQL_GONE, 4, p) < 0)
			return -1;
		return 0;
	}
	if (j->ascending)
		return iw_ercot_job_exec(j, SQL_ROWS_TABLE, 0, NULL) < 0 ||
		       iw_ercot_job_exec(j, SQL_DIFF_ROWS, 4, p) < 0 ? -1 : 0;
	if (iw_ercot_job_exec(j, SQL_CAND, 0, NULL) < 0 ||
	    iw_ercot_job_exec(j, SQL_DIFF_CAND, 4, p) < 0 ||
	    iw_ercot_job_exec(j, SQL_ROWS, 0, NULL) < 0)
		return -1;
	return 0;
}
