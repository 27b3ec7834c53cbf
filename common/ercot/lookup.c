/* ESIID lookup (see ercot/lookup.h): the ZIP and house number narrow the
 * candidates through a btree, pg_trgm's similarity() ranks them; the match
 * rules (unit, directional) are ercot/address.c's. */
#include "ercot/lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "ercot/address.h"
#include "io/db.h"

/* score: the similarity of the street parts (the unit is no part of it: a
 * unit must be equal, see is_match); then the whole line ranks the units of
 * one building. */
#define SQL_COLUMNS \
	"SELECT similarity(regexp_replace(\"addressNorm\", '( |^)UNIT .*$', ''), $4) AS score," \
	" esiid, \"serviceAddress1\", \"serviceAddress2\", \"serviceCity\", \"serviceZip\"," \
	" \"tdspCode\", \"premiseType\", status, \"addressNorm\"" \
	" FROM \"ErcotEsiidIndex\" WHERE left(\"serviceZip\", 5) = $1"
#define SQL_ORDER \
	" ORDER BY score DESC, similarity(\"addressNorm\", $3) DESC, esiid LIMIT 5" /* IW_ERCOT_LOOKUP_TOP */

/* With a house number: equality on it (btree on (zip5, number)). */
static const char SQL_NUMBER[] = SQL_COLUMNS " AND \"addressNumber\" = $2" SQL_ORDER;
/* Without one (HWY 290, a rural route): the trigram index within the ZIP,
 * among rows with no number of their own. */
static const char SQL_NO_NUMBER[] =
	SQL_COLUMNS " AND \"addressNumber\" IS NULL AND $2::text IS NULL AND \"addressNorm\" % $3"
	SQL_ORDER;

/* The 5-digit ZIP of ZIP (12345, 12345-6789, 123456789) into OUT: 0 or -1. */
static int zip5(const char *zip, char out[6])
{
	size_t n = strlen(zip);
	for (size_t i = 0; i < n; i++)
		if ((zip[i] < '0' || zip[i] > '9') && !(i == 5 && zip[i] == '-' && n == 10))
			return -1;
	if (n != 5 && n != 9 && n != 10)
		return -1;
	memcpy(out, zip, 5);
	out[5] = 0;
	return 0;
}

static json_object *text_or_null(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : json_object_new_string(PQgetvalue(r, row, col));
}

static json_object *candidate(const PGresult *r, int i, const char *norm)
{
	json_object *m = json_object_new_object();
	if (!m)
		return NULL;
	json_object_object_add(m, "score", json_object_new_double(
		(double)(long)(atof(PQgetvalue(r, i, 0)) * 1000 + 0.5) / 1000));
	json_object_object_add(m, "esiid", text_or_null(r, i, 1));
	json_object_object_add(m, "address", text_or_null(r, i, 2));
	json_object_object_add(m, "address2", text_or_null(r, i, 3));
	json_object_object_add(m, "city", text_or_null(r, i, 4));
	json_object_object_add(m, "zip", text_or_null(r, i, 5));
	json_object_object_add(m, "tdsp", text_or_null(r, i, 6));
	json_object_object_add(m, "premiseType", text_or_null(r, i, 7));
	json_object_object_add(m, "status", text_or_null(r, i, 8));
	/* Same unit, no opposite directional: could be a match. */
	json_object_object_add(m, "compatible", json_object_new_boolean(
		iw_ercot_address_compatible(norm, PQgetvalue(r, i, 9))));
	return m;
}

/* The best row is a match when its score reaches IW_ERCOT_LOOKUP_MATCH,
 * its unit and directionals agree with the query's, and no other row ties
 * with it (N MAIN and S MAIN for a line without a directional). */
static int is_match(const PGresult *r, const char *norm)
{
	double best;
	int n = PQntuples(r);

	if (n < 1 || (best = atof(PQgetvalue(r, 0, 0))) < IW_ERCOT_LOOKUP_MATCH ||
	    !iw_ercot_address_compatible(norm, PQgetvalue(r, 0, 9)))
		return 0;
	for (int i = 1; i < n && atof(PQgetvalue(r, i, 0)) >= best; i++)
		if (iw_ercot_address_compatible(norm, PQgetvalue(r, i, 9)))
			return 0;
	return 1;
}

int iw_ercot_lookup(const char *line1, const char *line2, const char *zip, json_object **answer,
		    struct iw_error *error)
{
	struct iw_ercot_address a;
	char z[6], street[IW_ADDR_NORM_MAX];
	const char *p[4];
	json_object *out = NULL, *q, *list;
	PGresult *r;
	int n, match;

	*answer = NULL;
	if (!zip || zip5(zip, z) != 0)
		return iw_err_set(error, IW_ERR_INPUT, "zip: must be 5 digits, or ZIP+4 (12345-6789)");
	iw_ercot_address_normalize(line1, line2, &a);
	if (!a.norm[0])
		return iw_err_set(error, IW_ERR_INPUT, "line1: no street in the address");
	p[0] = z;
	p[1] = a.number[0] ? a.number : NULL;
	p[2] = a.norm;
	snprintf(street, sizeof street, "%.*s", (int)iw_ercot_address_street_len(a.norm), a.norm);
	p[3] = street;
	if (!(r = iw_db_exec(IW_DB_MASTER, error, a.number[0] ? SQL_NUMBER : SQL_NO_NUMBER, 4, p)))
		return (int)error->code;
	n = PQntuples(r);
	match = is_match(r, a.norm);
	if (!(out = json_object_new_object()) || !(q = json_object_new_object()) ||
	    !(list = json_object_new_array())) {
		json_object_put(out);
		PQclear(r);
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	}
	json_object_object_add(out, "match", json_object_new_boolean(match));
	json_object_object_add(q, "number", a.number[0] ? json_object_new_string(a.number) : NULL);
	json_object_object_add(q, "normalized", json_object_new_string(a.norm));
	json_object_object_add(q, "zip", json_object_new_string(z));
	json_object_object_add(out, "query", q);
	json_object_object_add(out, "threshold", json_object_new_double(IW_ERCOT_LOOKUP_MATCH));
	for (int i = 0; i < n; i++)
		json_object_array_add(list, candidate(r, i, a.norm));
	json_object_object_add(out, "best", match ? json_object_get(json_object_array_get_idx(list, 0))
						  : NULL);
	json_object_object_add(out, "matches", list);
	PQclear(r);
	*answer = out;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The indexes, built once after a load. */

static const char SQL_MISSING[] =
	"SELECT ((to_regclass('\"ErcotEsiidIndex_addressNorm_trgm_idx\"') IS NULL"
	" OR to_regclass('\"ErcotEsiidIndex_zip5_number_idx\"') IS NULL)"
	" AND EXISTS (SELECT 1 FROM \"ErcotEsiidIndex\"))::int";

/* Rows loaded before the columns existed, by id (keyset, the primary key). */
static const char SQL_OLD_ROWS[] =
	"SELECT id, \"serviceAddress1\", \"serviceAddress2\" FROM \"ErcotEsiidIndex\""
	" WHERE id > $1 AND \"addressNorm\" IS NULL AND \"serviceAddress1\" IS NOT NULL"
	" ORDER BY id LIMIT 5000";
static const char SQL_FILL[] =
	"UPDATE \"ErcotEsiidIndex\" t SET \"addressNumber\" = nullif(u.num, ''),"
	" \"addressNorm\" = u.norm FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, num, norm)"
	" WHERE t.id = u.id";

/* S as an element of a text[] literal: quoted, " and \ escaped. */
static int array_add(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t need = *len + 2 * strlen(s) + 5; /* , " " NUL and the closing } */
	if (need > *cap) {
		size_t c = *cap ? *cap : 4096;
		char *nb;
		while (c < need)
			c *= 2;
		if (!(nb = realloc(*buf, c)))
			return -1;
		*buf = nb;
		*cap = c;
	}
	(*buf)[*len] = *len ? ',' : '{';
	(*len)++;
	(*buf)[(*len)++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = *s;
	}
	(*buf)[(*len)++] = '"';
	(*buf)[*len] = 0;
	return 0;
}

/* Fills "addressNumber"/"addressNorm" of the rows that lack them (with
 * the C rules: one implementation). Returns the rows filled, or -1. */
static long long backfill(void)
{
	char last[128] = "";
	long long filled = 0;

	for (;;) {
		char *arr[3] = { NULL, NULL, NULL };
		size_t len[3] = { 0 }, cap[3] = { 0 };
		const char *p[3] = { last };
		PGresult *r = iw_db_exec(IW_DB_MASTER, NULL, SQL_OLD_ROWS, 1, p);
		int n, bad = 0;

		if (!r)
			return -1;
		if ((n = PQntuples(r)) == 0) {
			PQclear(r);
			return filled;
		}
		for (int i = 0; i < n && !bad; i++) {
			struct iw_ercot_address a;
			iw_ercot_address_normalize(PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), &a);
			bad = array_add(&arr[0], &len[0], &cap[0], PQgetvalue(r, i, 0)) ||
			      array_add(&arr[1], &len[1], &cap[1], a.number) ||
			      array_add(&arr[2], &len[2], &cap[2], a.norm);
		}
		snprintf(last, sizeof last, "%s", PQgetvalue(r, n - 1, 0));
		PQclear(r);
		for (int k = 0; k < 3 && !bad; k++) {
			/* array_add leaves room for the closing brace. */
			arr[k][len[k]++] = '}';
			arr[k][len[k]] = 0;
		}
		if (!bad)
			bad = iw_db_run(IW_DB_MASTER, NULL, SQL_FILL, 3, (const char *const *)arr) != 0;
		for (int k = 0; k < 3; k++)
			free(arr[k]);
		if (bad)
			return -1;
		filled += n;
	}
}

int iw_ercot_lookup_indexes_ensure(void)
{
	static const char *const create[] = {
		"CREATE INDEX IF NOT EXISTS \"ErcotEsiidIndex_zip5_number_idx\" ON \"ErcotEsiidIndex\""
		" (left(\"serviceZip\", 5), \"addressNumber\")",
		"CREATE INDEX IF NOT EXISTS \"ErcotEsiidIndex_addressNorm_trgm_idx\" ON"
		" \"ErcotEsiidIndex\" USING gin (\"addressNorm\" gin_trgm_ops)",
	};
	struct iw_error err = { 0 };
	struct timespec t0, t1;
	long missing = 0;
	long long filled;

	if (iw_db_first_long(IW_DB_MASTER, &err, SQL_MISSING, 0, NULL, &missing) < 0) {
		iw_logf("error", "ercot lookup: could not check its indexes: %s", err.msg);
		return -1;
	}
	if (!missing)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((filled = backfill()) < 0) {
		iw_logf("error", "ercot lookup: the backfill of addressNorm failed");
		return -1;
	}
	for (size_t i = 0; i < sizeof create / sizeof create[0]; i++) {
		/* A plain CREATE INDEX: it blocks writers (the run lock makes this
		 * run the only one) but not the lookups' reads. */
		if (iw_db_begin(IW_DB_MASTER, &err) != 0 ||
		    iw_db_run(IW_DB_MASTER, &err, "SELECT set_config('statement_timeout', '600000', true),"
			      " set_config('lock_timeout', '30000', true),"
			      " set_config('maintenance_work_mem', '256MB', true)", 0, NULL) != 0 ||
		    iw_db_run(IW_DB_MASTER, &err, create[i], 0, NULL) != 0 ||
		    iw_db_commit(IW_DB_MASTER, &err) != 0) {
			iw_db_rollback(IW_DB_MASTER);
			iw_logf("error", "ercot lookup: index build failed: %s", err.msg);
			return -1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	iw_logf("info", "ercot lookup: indexes built in %.1f s (%lld old rows normalised)",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, filled);
	return 1;
}
