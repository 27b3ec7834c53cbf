/* Interval coverage (usage/coverage.h). The day grouping and each day's
 * length come from PostgreSQL's tz database in one statement: the same
 * America/Chicago rules the CSV parser applies (smt/csv.c converts Chicago
 * wall time to the UTC "ts" stored), read back the other way, and only one
 * row per day leaves the server instead of ~35 000 intervals. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"
#include "io/db.h"
#include "io/db_raw.h"
#include "usage/coverage.h"

/* ts is UTC wall time (timestamp without zone). Each day's bounds are its
 * local midnights; their distance / 15 min is the expected count. */
static const char SQL_COVERAGE[] =
	"WITH days AS ("
	" SELECT d::date AS day,"
	"  (d::date::timestamp AT TIME ZONE 'America/Chicago') AS lo,"
	"  ((d::date + 1)::timestamp AT TIME ZONE 'America/Chicago') AS hi"
	" FROM generate_series($2::date, $3::date, interval '1 day') d),"
	" iv AS ("
	" SELECT (ts AT TIME ZONE 'UTC' AT TIME ZONE 'America/Chicago')::date AS day,"
	"  count(DISTINCT ts) FILTER (WHERE flow = 'C') AS present,"
	"  count(DISTINCT ts) FILTER (WHERE flow = 'C' AND estimated) AS estimated,"
	"  count(DISTINCT ts) FILTER (WHERE flow = 'G') AS generation"
	" FROM \"SmtInterval\""
	" WHERE esiid = $1"
	"  AND ts >= ($2::date::timestamp AT TIME ZONE 'America/Chicago') AT TIME ZONE 'UTC'"
	"  AND ts < (($3::date + 1)::timestamp AT TIME ZONE 'America/Chicago') AT TIME ZONE 'UTC'"
	" GROUP BY 1)"
	" SELECT to_char(days.day, 'YYYY-MM-DD'),"
	"  (extract(epoch FROM hi - lo) / 900)::int,"
	"  coalesce(iv.present, 0), coalesce(iv.estimated, 0), coalesce(iv.generation, 0)"
	" FROM days LEFT JOIN iv USING (day) ORDER BY days.day";

static const char SQL_LATEST[] =
	"SELECT extract(year FROM max(ts) AT TIME ZONE 'UTC' AT TIME ZONE 'America/Chicago')::int"
	" FROM \"SmtInterval\" WHERE esiid = $1";

int iw_cov_date_valid(const char *s)
{
	int y, m, d;
	char tail;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return -1;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return -1;
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > iw_days_in_month(y, m))
		return -1;
	return 0;
}

/* Days since 1970-01-01 of a valid YYYY-MM-DD (civil calendar). */
static long days_of(const char *s)
{
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	long era, yoe, doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

int iw_cov_load(PGconn *conn, const char *esiid, const char *start, const char *end,
		struct iw_cov *out, struct iw_error *error)
{
	const char *params[3] = { esiid, start, end };
	PGresult *res;
	int n;

	memset(out, 0, sizeof *out);
	if (iw_cov_date_valid(start) || iw_cov_date_valid(end) || strcmp(start, end) > 0)
		return iw_err_set(error, IW_ERR_INPUT, "start and end: dates YYYY-MM-DD, start <= end");
	if (days_of(end) - days_of(start) + 1 > IW_COV_DAYS_MAX)
		return iw_err_set(error, IW_ERR_INPUT, "start..end: at most %d days", IW_COV_DAYS_MAX);
	if (!(res = iw_pg_exec(conn, SQL_COVERAGE, 3, params, "SmtInterval", error)))
		return error && error->code ? (int)error->code : IW_ERR_INTERNAL;
	n = PQntuples(res);
	if (n > 0 && !(out->v = calloc((size_t)n, sizeof *out->v))) {
		PQclear(res);
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct iw_cov_day *d = &out->v[i];
		snprintf(d->day, sizeof d->day, "%s", PQgetvalue(res, i, 0));
		d->expected = atoi(PQgetvalue(res, i, 1));
		d->present = atoi(PQgetvalue(res, i, 2));
		d->estimated = atoi(PQgetvalue(res, i, 3));
		d->generation = atoi(PQgetvalue(res, i, 4));
	}
	out->n = n;
	PQclear(res);
	return 0;
}

int iw_cov_load_master(const char *esiid, const char *start, const char *end,
		       struct iw_cov *out, struct iw_error *error)
{
	PGconn *conn;
	int rc;

	memset(out, 0, sizeof *out);
	if (iw_db_begin(IW_DB_MASTER, error) != 0)
		return error && error->code ? (int)error->code : IW_ERR_DB_DOWN;
	if (!(conn = iw_db_conn(IW_DB_MASTER, error))) {
		iw_db_rollback(IW_DB_MASTER);
		return error && error->code ? (int)error->code : IW_ERR_DB_DOWN;
	}
	rc = iw_cov_load(conn, esiid, start, end, out, error);
	iw_db_rollback(IW_DB_MASTER); /* read only: nothing to keep */
	return rc;
}

int iw_cov_latest_year(PGconn *conn, const char *esiid, int *year, struct iw_error *error)
{
	const char *params[1] = { esiid };
	PGresult *res = iw_pg_exec(conn, SQL_LATEST, 1, params, "SmtInterval", error);
	int found;

	if (!res)
		return -1;
	found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
	if (found)
		*year = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return found;
}

void iw_cov_free(struct iw_cov *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static json_object *counts(long long expected, long long present, long long estimated,
			   long long generation)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "expected", json_object_new_int64(expected));
	json_object_object_add(o, "present", json_object_new_int64(present));
	json_object_object_add(o, "estimated", json_object_new_int64(estimated));
	json_object_object_add(o, "generation", json_object_new_int64(generation));
	return o;
}

json_object *iw_cov_json(const struct iw_cov *c)
{
	json_object *body = json_object_new_object(), *days = json_object_new_array(),
		    *missing = json_object_new_array(), *tot;
	long long e = 0, p = 0, s = 0, g = 0;
	int full = 0;

	if (!body || !days || !missing)
		goto fail;
	for (int i = 0; i < c->n; i++) {
		const struct iw_cov_day *d = &c->v[i];
		json_object *o = counts(d->expected, d->present, d->estimated, d->generation);
		if (!o)
			goto fail;
		json_object_object_add(o, "date", json_object_new_string(d->day));
		json_object_array_add(days, o);
		if (d->present == 0)
			json_object_array_add(missing, json_object_new_string(d->day));
		full += d->present >= d->expected;
		e += d->expected;
		p += d->present;
		s += d->estimated;
		g += d->generation;
	}
	if (!(tot = counts(e, p, s, g)))
		goto fail;
	json_object_object_add(tot, "days", json_object_new_int(c->n));
	json_object_object_add(tot, "completeDays", json_object_new_int(full));
	json_object_object_add(tot, "missingDays", json_object_new_int(
				       (int)json_object_array_length(missing)));
	json_object_object_add(body, "days", days);
	json_object_object_add(body, "totals", tot);
	json_object_object_add(body, "missingDays", missing);
	return body;
fail:
	json_object_put(body);
	json_object_put(days);
	json_object_put(missing);
	return NULL;
}
