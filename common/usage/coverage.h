/* Interval coverage of one ESIID: per America/Chicago day, how many
 * 15-minute intervals SmtInterval holds against how many the day has (96;
 * 92 on the spring-forward day, 100 on the fall-back day). Read by the
 * admin JSON route and drawn by the explorer's calendar, so it sits below
 * both. */
#ifndef IW_USAGE_COVERAGE_H
#define IW_USAGE_COVERAGE_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "core/err.h"

#define IW_COV_DAYS_MAX 366 /* one window is at most a (leap) year */

struct iw_cov_day {
	char day[11];   /* YYYY-MM-DD, Chicago calendar */
	int expected;   /* 15-minute slots of that day */
	int present;    /* distinct consumption slots held */
	int estimated;  /* of those, flagged estimated */
	int generation; /* distinct surplus-generation slots held */
};

struct iw_cov {
	struct iw_cov_day *v;
	int n;
};

/* Reads the days START..END (YYYY-MM-DD, inclusive, at most IW_COV_DAYS_MAX)
 * of ESIID on CONN (a transaction the caller opened). 0, or an enum iw_err
 * with ERROR set. */
int iw_cov_load(PGconn *conn, const char *esiid, const char *start, const char *end,
		struct iw_cov *out, struct iw_error *error);
/* As iw_cov_load, on the master database of the routes (io/db.h), in a
 * read-only transaction with the route's bounds, rolled back. */
int iw_cov_load_master(const char *esiid, const char *start, const char *end,
		       struct iw_cov *out, struct iw_error *error);
/* The Chicago year of ESIID's newest interval: 1 with *YEAR, 0 when it has
 * none, or -1 with ERROR set. */
int iw_cov_latest_year(PGconn *conn, const char *esiid, int *year, struct iw_error *error);
void iw_cov_free(struct iw_cov *c);
/* {days:[{date,expected,present,estimated,generation}], totals:{...},
 * missingDays:[date...]} (NULL when out of memory). */
json_object *iw_cov_json(const struct iw_cov *c);
/* 0 when S is a real calendar date YYYY-MM-DD. */
int iw_cov_date_valid(const char *s);
#endif
