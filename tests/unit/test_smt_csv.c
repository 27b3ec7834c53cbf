/* SMT interval CSV parser: UTC placement of every interval (DST days
 * included), tolerated file shapes, malformed rows, streaming. The CSV text is
 * generated here; the generator knows DST days only as hard-coded dates, so it
 * does not share the parser's DST logic. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/csv.h"
#include "core/validate.h"
#include "unit.h"

#define HEADER "ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH," \
	"ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\n"
#define ESIID "10443720000000001"
#define MIN15 (15 * 60 * 1000LL)

/* ---- growable text ---- */

struct text {
	char *p;
	size_t n, cap;
};

static void tprintf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void tprintf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->n : NULL, t->p ? t->cap - t->n : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if (t->p && t->n + (size_t)n < t->cap) {
			t->n += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		if ((t->p = realloc(t->p, t->cap)) == NULL)
			abort();
	}
}

/* ---- generator ---- */

enum kind { NORMAL, SPRING, FALL };

static void hm(char out[8], int minutes)
{
	snprintf(out, 8, "%d:%02d", minutes / 60 % 24, minutes % 60);
}

static void gen_row(struct text *t, int y, int m, int d, int start, int end, const char *kwh)
{
	char s[8], e[8];

	hm(s, start);
	hm(e, end);
	tprintf(t, "'" ESIID ",%02d/%02d/%d,%02d/%02d/%d 08:00:00,%s,%s,%s,A,Consumption\n",
		m, d, y, m, d, y, s, e, kwh);
}

static void kwh_of(char out[16], int i)
{
	snprintf(out, 16, "0.%03d", (i * 37 + 11) % 1000);
}

/* One day of SMT rows as SMT writes them. Rows on a fall-back day, in order:
 * 0:00..1:45 (CDT), "2:00,1:15" (1:00 CST), 1:15..1:45 (CST), 2:00..23:45. */
static void gen_day(struct text *t, int y, int m, int d, enum kind k)
{
	char kwh[16];
	int i = 0;

	if (k == FALL) {
		for (int st = 0; st < 120; st += 15) {
			kwh_of(kwh, i++);
			gen_row(t, y, m, d, st, st + 15, kwh);
		}
		kwh_of(kwh, i++);
		gen_row(t, y, m, d, 120, 75, kwh);
		for (int st = 75; st < 1440; st += 15) {
			kwh_of(kwh, i++);
			gen_row(t, y, m, d, st, st + 15, kwh);
		}
		return;
	}
	for (int st = 0; st < 1440; st += 15) {
		kwh_of(kwh, i++);
		gen_row(t, y, m, d, st, st + 15, k == SPRING && st >= 120 && st < 180 ? "" : kwh);
	}
}

static int days_in(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && y % 4 == 0 ? 29 : dm[m - 1];
}

/* 2025 as one meter's file: 2025-03-09 springs forward, 2025-11-02 falls back. */
static void gen_year_2025(struct text *t)
{
	tprintf(t, HEADER);
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= days_in(2025, m); d++)
			gen_day(t, 2025, m, d, m == 3 && d == 9 ? SPRING : m == 11 && d == 2 ? FALL : NORMAL);
}

/* ---- collecting parser output ---- */

struct row {
	char esiid[IW_ESIID_MAX + 1];
	int64_t ts;
	char kwh[IW_SMT_CSV_KWH_MAX];
	int est;
	char flow;
	long line;
};

struct result {
	struct row *rows;
	size_t n, cap;
	int abort_after; /* callback returns 7 at this row count (0: never) */
	int rc;
	struct iw_smt_csv_stats st;
};

static int collect(const struct iw_smt_interval *iv, void *ctx)
{
	struct result *r = ctx;
	struct row *w;

	if (r->abort_after && (int)r->n == r->abort_after)
		return 7;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		if ((r->rows = realloc(r->rows, r->cap * sizeof(*r->rows))) == NULL)
			abort();
	}
	w = &r->rows[r->n++];
	snprintf(w->esiid, sizeof(w->esiid), "%s", iv->esiid);
	w->ts = iv->ts_ms;
	snprintf(w->kwh, sizeof(w->kwh), "%s", iv->kwh);
	w->est = iv->estimated;
	w->flow = iv->flow;
	w->line = iv->line;
	return 0;
}

/* Parses TEXT fed in CHUNK-byte pieces (0: all at once). */
static void parse_opt(const char *text, size_t n, size_t chunk, const char *def_esiid,
		      struct result *r)
{
	struct iw_smt_csv *p = iw_smt_csv_new(collect, r);

	if (!p)
		abort();
	if (def_esiid && iw_smt_csv_set_esiid(p, def_esiid) != 0)
		abort();
	r->rc = 0;
	if (chunk == 0)
		chunk = n ? n : 1;
	for (size_t off = 0; off < n && r->rc == 0; off += chunk)
		r->rc = iw_smt_csv_feed(p, text + off, n - off < chunk ? n - off : chunk);
	if (r->rc == 0)
		r->rc = iw_smt_csv_finish(p);
	r->st = *iw_smt_csv_stats(p);
	iw_smt_csv_free(p);
}

static void parse(const char *text, struct result *r)
{
	parse_opt(text, strlen(text), 0, NULL, r);
}

static void result_free(struct result *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

static int64_t utc(int y, int m, int d, int h, int mi)
{
	return ((iw_days_from_civil(y, (unsigned)m, (unsigned)d) * 24 + h) * 60 + mi) * 60000LL;
}

static const char *iso(int64_t ms)
{
	static char buf[32];

	iw_timestamp_format(ms, buf);
	return buf;
}

/* The interval of the row from file line LINE (-1: none). */
static int64_t line_ts(const struct result *r, long line)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].line == line)
			return r->rows[i].ts;
	return -1;
}

/* Every row is 15 minutes after the previous one, starting at FIRST. */
static int consecutive(const struct result *r, int64_t first)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].ts != first + (int64_t)i * MIN15) {
			fprintf(stderr, "  row %zu (line %ld): %s\n", i, r->rows[i].line, iso(r->rows[i].ts));
			return 0;
		}
	return 1;
}

static int find_reason(const struct result *r, long line, const char *needle)
{
	for (int i = 0; i < r->st.nreasons; i++)
		if (r->st.reasons[i].line == line && strstr(r->st.reasons[i].msg, needle))
			return 1;
	return 0;
}

/* ---- cases ---- */

static void test_normal_winter_day(void)
{
	struct text t = { 0 };
	struct result r = { 0 };
	char kwh[16];

	tprintf(&t, HEADER);
	gen_day(&t, 2025, 1, 15, NORMAL);
	parse(t.p, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 96);
	CHECK_INT(r.st.rows, 96);
	CHECK_INT(r.st.blank, 0);
	CHECK_INT(r.st.malformed, 0);
	CHECK_INT(r.st.header_found, 1);
	CHECK_STR(iso(r.rows[0].ts), "2025-01-15T06:00:00.000Z"); /* 00:00 CST */
	CHECK(consecutive(&r, utc(2025, 1, 15, 6, 0)));
	CHECK_STR(iso(r.rows[95].ts), "2025-01-16T05:45:00.000Z"); /* 23:45 CST */
	kwh_of(kwh, 0);
	CHECK_STR(r.rows[0].kwh, kwh);
	kwh_of(kwh, 50);
	CHECK_STR(r.rows[50].kwh, kwh);
	CHECK_STR(r.rows[0].esiid, ESIID);
	CHECK_INT(r.rows[0].line, 2);
	CHECK_INT(r.rows[95].line, 97);
	CHECK_INT(r.rows[0].flow, 'C');
	CHECK_INT(r.rows[0].est, 0);
	CHECK_INT(r.st.min_ts_ms, utc(2025, 1, 15, 6, 0));
	CHECK_INT(r.st.max_ts_ms, utc(2025, 1, 16, 5, 45));
	CHECK_STR(r.st.esiid, ESIID);
	CHECK_INT(r.st.multiple_esiids, 0);
	CHECK_INT(r.st.lines, 97);
	result_free(&r);
	free(t.p);
}

static void test_summer_day(void)
{
	struct text t = { 0 };
	struct result r = { 0 };

	tprintf(&t, HEADER);
	gen_day(&t, 2025, 7, 4, NORMAL);
	parse(t.p, &r);
	CHECK_INT(r.n, 96);
	CHECK_STR(iso(r.rows[0].ts), "2025-07-04T05:00:00.000Z"); /* 00:00 CDT */
	CHECK(consecutive(&r, utc(2025, 7, 4, 5, 0)));
	result_free(&r);
	free(t.p);
}

static void test_spring_forward(void)
{
	struct text t = { 0 };
	struct result r = { 0 };

	tprintf(&t, HEADER);
	gen_day(&t, 2025, 3, 9, SPRING);
	parse(t.p, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 92);
	CHECK_INT(r.st.blank, 4);
	CHECK_INT(r.st.malformed, 0);
	CHECK_STR(iso(r.rows[7].ts), "2025-03-09T07:45:00.000Z"); /* 01:45 CST */
	CHECK_STR(iso(r.rows[8].ts), "2025-03-09T08:00:00.000Z"); /* 03:00 CDT */
	CHECK_INT(r.rows[8].line, 14); /* after the four blank 2:xx rows */
	CHECK(consecutive(&r, utc(2025, 3, 9, 6, 0)));
	CHECK_STR(iso(r.rows[91].ts), "2025-03-10T04:45:00.000Z"); /* 23:45 CDT */
	result_free(&r);
	free(t.p);
}

static void test_spring_gap_with_value_is_malformed(void)
{
	struct result r = { 0 };

	parse(HEADER "'" ESIID ",3/9/2025,,1:45,2:00,0.1,A,C\n"
	      "'" ESIID ",3/9/2025,,2:15,2:30,0.2,A,C\n"
	      "'" ESIID ",3/9/2025,,3:00,3:15,0.3,A,C\n", &r);
	CHECK_INT(r.n, 2);
	CHECK_INT(r.st.malformed, 1);
	CHECK(find_reason(&r, 3, "does not exist"));
	result_free(&r);
}

static void test_fall_back(void)
{
	struct text t = { 0 };
	struct result r = { 0 };
	int distinct = 1;

	tprintf(&t, HEADER);
	gen_day(&t, 2025, 11, 2, FALL);
	parse(t.p, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 100);
	CHECK_INT(r.st.malformed, 0);
	CHECK_INT(r.st.blank, 0);
	for (size_t i = 0; i < r.n; i++)
		for (size_t j = i + 1; j < r.n; j++)
			distinct &= r.rows[i].ts != r.rows[j].ts;
	CHECK(distinct);
	CHECK(consecutive(&r, utc(2025, 11, 2, 5, 0)));     /* 00:00 CDT */
	CHECK_STR(iso(r.rows[4].ts), "2025-11-02T06:00:00.000Z"); /* 1:00 CDT */
	CHECK_INT(r.rows[8].line, 10);                          /* the "2:00,1:15" row */
	CHECK_STR(iso(r.rows[8].ts), "2025-11-02T07:00:00.000Z"); /* = 1:00 CST */
	CHECK_STR(iso(r.rows[9].ts), "2025-11-02T07:15:00.000Z"); /* 1:15 CST */
	CHECK_STR(iso(r.rows[12].ts), "2025-11-02T08:00:00.000Z"); /* 2:00 CST */
	CHECK_STR(iso(r.rows[99].ts), "2025-11-03T05:45:00.000Z");
	result_free(&r);
	free(t.p);
}

/* Two meters and both flows on the fall-back day: the repeat hour is tracked
 * per ESIID, date and flow, so interleaved files still land right. */
static void test_fall_back_per_esiid_and_flow(void)
{
	struct result r = { 0 };

	parse(HEADER
	      "10443720000000001,11/2/2025,,1:00,1:15,1,A,C\n"
	      "10443720000000001,11/2/2025,,1:00,1:15,2,A,G\n"
	      "10443720000000002,11/2/2025,,1:00,1:15,3,A,C\n"
	      "10443720000000001,11/2/2025,,2:00,1:15,4,A,C\n"
	      "10443720000000001,11/2/2025,,1:00,1:15,5,A,G\n"
	      "10443720000000002,11/2/2025,,1:00,1:15,6,A,C\n", &r);
	CHECK_INT(r.n, 6);
	/* The file begins inside the hour: its first 1:00 rows are placed when
	 * the transition row or the repeat comes, so by line, not by order. */
	CHECK_STR(iso(line_ts(&r, 2)), "2025-11-02T06:00:00.000Z");
	CHECK_STR(iso(line_ts(&r, 3)), "2025-11-02T06:00:00.000Z");
	CHECK_STR(iso(line_ts(&r, 4)), "2025-11-02T06:00:00.000Z");
	CHECK_STR(iso(line_ts(&r, 5)), "2025-11-02T07:00:00.000Z");
	CHECK_STR(iso(line_ts(&r, 6)), "2025-11-02T07:00:00.000Z");
	CHECK_STR(iso(line_ts(&r, 7)), "2025-11-02T07:00:00.000Z");
	CHECK_INT(r.st.multiple_esiids, 1);
	CHECK_STR(r.st.esiid, "10443720000000001");
	result_free(&r);
}

/* Parts of a file cut inside the repeated hour (the droplet upload server):
 * a part that begins there is placed by what follows, in any order. */
static void test_fall_back_part_begins_inside_the_hour(void)
{
	struct result r = { 0 };

	/* After the transition row: the second (CST) occurrence. */
	parse(HEADER
	      ESIID ",11/2/2025,,1:30,1:45,1,A,C\n"
	      ESIID ",11/2/2025,,1:45,2:00,2,A,C\n"
	      ESIID ",11/2/2025,,2:00,2:15,3,A,C\n", &r);
	CHECK_INT(r.n, 3);
	CHECK_STR(iso(line_ts(&r, 2)), "2025-11-02T07:30:00.000Z");
	CHECK_STR(iso(line_ts(&r, 3)), "2025-11-02T07:45:00.000Z");
	CHECK_STR(iso(line_ts(&r, 4)), "2025-11-02T08:00:00.000Z");
	CHECK_INT(r.st.min_ts_ms, line_ts(&r, 2));
	result_free(&r);
	/* Before it: the first (CDT) occurrence, then the transition. */
	memset(&r, 0, sizeof r);
	parse(HEADER
	      ESIID ",11/2/2025,,1:30,1:45,1,E,C\n"
	      ESIID ",11/2/2025,,1:45,2:00,2,A,C\n"
	      ESIID ",11/2/2025,,2:00,1:15,3,A,C\n"
	      ESIID ",11/2/2025,,1:15,1:30,4,A,C\n", &r);
	CHECK_INT(r.n, 4);
	CHECK_STR(iso(line_ts(&r, 2)), "2025-11-02T06:30:00.000Z");
	CHECK_INT(r.rows[0].est, 1);
	CHECK_STR(r.rows[0].kwh, "1");
	CHECK_STR(iso(line_ts(&r, 3)), "2025-11-02T06:45:00.000Z");
	CHECK_STR(iso(line_ts(&r, 4)), "2025-11-02T07:00:00.000Z");
	CHECK_STR(iso(line_ts(&r, 5)), "2025-11-02T07:15:00.000Z");
	result_free(&r);
	/* A file that repeats 1:00 with no transition row, cut at each occurrence. */
	memset(&r, 0, sizeof r);
	parse(HEADER
	      ESIID ",11/2/2025,,1:45,2:00,1,A,C\n"
	      ESIID ",11/2/2025,,1:00,1:15,2,A,C\n"
	      ESIID ",11/2/2025,,1:45,2:00,3,A,C\n", &r);
	CHECK_STR(iso(line_ts(&r, 2)), "2025-11-02T06:45:00.000Z");
	CHECK_STR(iso(line_ts(&r, 3)), "2025-11-02T07:00:00.000Z");
	CHECK_STR(iso(line_ts(&r, 4)), "2025-11-02T07:45:00.000Z");
	result_free(&r);
	/* A part that ends inside the hour after beginning there: CST. */
	memset(&r, 0, sizeof r);
	parse(HEADER ESIID ",11/2/2025,,1:15,1:30,1,A,C\n", &r);
	CHECK_INT(r.n, 1);
	CHECK_STR(iso(line_ts(&r, 2)), "2025-11-02T07:15:00.000Z");
	result_free(&r);
}

/* A fall-back day with holes: a missing or blank daylight-time row must not
 * pull the standard-time row after the transition into its place. */
static void test_fall_back_with_missing_rows(void)
{
	struct result r = { 0 };

	parse(HEADER
	      ESIID ",11/2/2025,,1:00,1:15,1,A,C\n"
	      ESIID ",11/2/2025,,1:30,1:45,,A,C\n"  /* blank 1:30 CDT */
	      ESIID ",11/2/2025,,1:45,2:00,2,A,C\n"
	      ESIID ",11/2/2025,,2:00,1:15,3,A,C\n"
	      ESIID ",11/2/2025,,1:15,1:30,4,A,C\n" /* 1:15 CDT was never sent */
	      ESIID ",11/2/2025,,1:30,1:45,5,A,C\n"
	      ESIID ",11/2/2025,,2:00,2:15,6,A,C\n", &r);
	CHECK_INT(r.n, 6);
	CHECK_INT(r.st.blank, 1);
	CHECK_STR(iso(r.rows[0].ts), "2025-11-02T06:00:00.000Z");
	CHECK_STR(iso(r.rows[1].ts), "2025-11-02T06:45:00.000Z");
	CHECK_STR(iso(r.rows[2].ts), "2025-11-02T07:00:00.000Z");
	CHECK_STR(iso(r.rows[3].ts), "2025-11-02T07:15:00.000Z");
	CHECK_STR(iso(r.rows[4].ts), "2025-11-02T07:30:00.000Z");
	CHECK_STR(iso(r.rows[5].ts), "2025-11-02T08:00:00.000Z");
	result_free(&r);
}

static void test_leap_day(void)
{
	struct text t = { 0 };
	struct result r = { 0 };

	tprintf(&t, HEADER);
	gen_day(&t, 2024, 2, 29, NORMAL);
	tprintf(&t, "'" ESIID ",02/29/2025,,0:00,0:15,0.5,A,Consumption\n");
	parse(t.p, &r);
	CHECK_INT(r.n, 96);
	CHECK_STR(iso(r.rows[0].ts), "2024-02-29T06:00:00.000Z");
	CHECK(consecutive(&r, utc(2024, 2, 29, 6, 0)));
	CHECK_INT(r.st.malformed, 1); /* 2025 has no Feb 29 */
	CHECK(find_reason(&r, 98, "USAGE_DATE"));
	result_free(&r);
	free(t.p);
}

static void test_year_2025(void)
{
	struct text t = { 0 };
	struct result r = { 0 };

	gen_year_2025(&t);
	parse(t.p, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 35040);
	CHECK_INT(r.st.blank, 4);
	CHECK_INT(r.st.malformed, 0);
	/* Strictly consecutive => all 35,040 distinct and none missing. */
	CHECK(consecutive(&r, utc(2025, 1, 1, 6, 0)));
	CHECK_INT(r.st.min_ts_ms, utc(2025, 1, 1, 6, 0));
	CHECK_INT(r.st.max_ts_ms, utc(2026, 1, 1, 5, 45));
	result_free(&r);
	free(t.p);
}

static int same_results(const struct result *a, const struct result *b)
{
	if (a->rc != b->rc || a->n != b->n || a->st.rows != b->st.rows ||
	    a->st.blank != b->st.blank || a->st.malformed != b->st.malformed ||
	    a->st.lines != b->st.lines || a->st.nreasons != b->st.nreasons)
		return 0;
	for (int i = 0; i < a->st.nreasons; i++)
		if (a->st.reasons[i].line != b->st.reasons[i].line ||
		    strcmp(a->st.reasons[i].msg, b->st.reasons[i].msg) != 0)
			return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct row *x = &a->rows[i], *y = &b->rows[i];

		if (strcmp(x->esiid, y->esiid) || x->ts != y->ts || strcmp(x->kwh, y->kwh) ||
		    x->est != y->est || x->flow != y->flow || x->line != y->line)
			return 0;
	}
	return 1;
}

static void test_chunking_does_not_matter(void)
{
	struct text t = { 0 };
	struct result whole = { 0 }, bytes = { 0 }, sevens = { 0 };

	tprintf(&t, "\xEF\xBB\xBF" "\"ESIID\",\"USAGE_DATE\",\"REVISION_DATE\",\"USAGE_START_TIME\","
		"\"USAGE_END_TIME\",\"USAGE_KWH\",\"ESTIMATED_ACTUAL\",\"CONSUMPTION_SURPLUSGENERATION\"\r\n");
	tprintf(&t, "\"'" ESIID "\",\"03/08/2025\",\"note, with \"\"quotes\"\"\nand a line break\","
		"\"23:45\",\"0:00\",\".5\",\"E\",\"Surplus Generation\"\r\n");
	tprintf(&t, "\r\n");
	tprintf(&t, "'" ESIID ",13/40/2025,,0:00,0:15,1,A,C\r\n");
	gen_day(&t, 2025, 3, 9, SPRING);
	gen_day(&t, 2025, 11, 2, FALL);
	tprintf(&t, "'" ESIID ",11/3/2025,,0:00,0:15,abc,A,C\n");
	tprintf(&t, "'" ESIID ",11/3/2025,,0:15,0:30,1.25,A,C"); /* no final line break */
	parse_opt(t.p, t.n, 0, NULL, &whole);
	parse_opt(t.p, t.n, 1, NULL, &bytes);
	parse_opt(t.p, t.n, 7, NULL, &sevens);
	CHECK_INT(whole.rc, 0);
	CHECK_INT(whole.n, 1 + 92 + 100 + 1);
	CHECK_INT(whole.st.malformed, 2);
	CHECK(find_reason(&whole, 5, "USAGE_DATE"));
	CHECK(find_reason(&whole, 6 + 96 + 100, "USAGE_KWH"));
	CHECK_INT(whole.rows[0].line, 2);
	CHECK_INT(whole.rows[0].flow, 'G');
	CHECK_INT(whole.rows[0].est, 1);
	CHECK_STR(whole.rows[0].kwh, "0.5");
	CHECK_STR(iso(whole.rows[0].ts), "2025-03-09T05:45:00.000Z");
	CHECK_STR(whole.rows[whole.n - 1].kwh, "1.25");
	CHECK_INT(whole.rows[whole.n - 1].line, 6 + 96 + 100 + 1);
	CHECK(same_results(&whole, &bytes));
	CHECK(same_results(&whole, &sevens));
	result_free(&whole);
	result_free(&bytes);
	result_free(&sevens);
	free(t.p);
}

static void test_bom_crlf_quotes_apostrophe(void)
{
	struct result r = { 0 };

	parse("\xEF\xBB\xBF" "ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,USAGE_END_TIME,"
	      "USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\r\n"
	      "\"'" ESIID "\",\"1/15/2025\",\"01/16/2025 08:00:00\",\"0:00\",\"0:15\",\"0.256\",\"A\",\"Consumption\"\r\n"
	      " ' " ESIID " , 01/15/2025 ,\"x,y\",00:15,00:30, .125 ,A,Consumption\r\n", &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 2);
	CHECK_INT(r.st.malformed, 0);
	CHECK_STR(r.rows[0].esiid, ESIID);
	CHECK_STR(r.rows[0].kwh, "0.256");
	CHECK_STR(iso(r.rows[0].ts), "2025-01-15T06:00:00.000Z");
	CHECK_STR(r.rows[1].esiid, ESIID);
	CHECK_STR(r.rows[1].kwh, "0.125");
	CHECK_STR(iso(r.rows[1].ts), "2025-01-15T06:15:00.000Z");
	result_free(&r);
}

static void test_columns_in_another_order(void)
{
	struct result r = { 0 };

	parse("usage_kwh , Extra,Usage_Start_Time,esiid,USAGE_END_TIME,usage date\n"
	      "1.5,zzz,13:00,'" ESIID ",13:15,7/4/2025\n", &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 1);
	CHECK_STR(r.rows[0].kwh, "1.5");
	CHECK_STR(iso(r.rows[0].ts), "2025-07-04T18:00:00.000Z"); /* 13:00 CDT */
	CHECK_INT(r.rows[0].flow, 'C');
	CHECK_INT(r.rows[0].est, 0);
	result_free(&r);
}

static void test_flows_and_estimates(void)
{
	struct result r = { 0 };

	parse(HEADER
	      ESIID ",1/2/2025,,0:00,0:15,1,E,Consumption\n"
	      ESIID ",1/2/2025,,0:00,0:15,2,A,Surplus Generation\n"
	      ESIID ",1/2/2025,,0:15,0:30,3,e,generation\n"
	      ESIID ",1/2/2025,,0:15,0:30,4,,G\n"
	      ESIID ",1/2/2025,,0:30,0:45,5,A,\n"
	      ESIID ",1/2/2025,,0:30,0:45,6,A,c\n"
	      ESIID ",1/2/2025,,0:45,1:00,7,A,S\n"
	      ESIID ",1/2/2025,,0:45,1:00,8,A,Other\n", &r);
	CHECK_INT(r.n, 7);
	CHECK_INT(r.rows[0].flow, 'C');
	CHECK_INT(r.rows[0].est, 1);
	CHECK_INT(r.rows[1].flow, 'G');
	CHECK_INT(r.rows[1].est, 0);
	CHECK_INT(r.rows[2].flow, 'G');
	CHECK_INT(r.rows[2].est, 1);
	CHECK_INT(r.rows[3].flow, 'G');
	CHECK_INT(r.rows[3].est, 0);
	CHECK_INT(r.rows[4].flow, 'C');
	CHECK_INT(r.rows[5].flow, 'C');
	CHECK_INT(r.rows[6].flow, 'G');
	CHECK_INT(r.rows[0].ts, r.rows[1].ts); /* same interval, two flows */
	CHECK_INT(r.st.malformed, 1);
	CHECK(find_reason(&r, 9, "CONSUMPTION_SURPLUSGENERATION"));
	result_free(&r);
}

static void test_malformed_rows(void)
{
	struct result r = { 0 };

	parse(HEADER
	      ESIID ",1/2/2025,,0:00,0:15,1,A,C\n"          /* 2 ok */
	      ESIID ",13/40/2025,,0:15,0:30,1,A,C\n"        /* 3 bad date */
	      ESIID ",1/2/2025,,25:00,25:15,1,A,C\n"        /* 4 bad time */
	      ESIID ",1/2/2025,,0:45,1:00,abc,A,C\n"        /* 5 bad kWh */
	      ESIID ",1/2/2025,,1:00,1:15\n"                /* 6 too few fields */
	      "12345,1/2/2025,,1:15,1:30,1,A,C\n"           /* 7 bad ESIID */
	      ESIID ",1/2/2025,,1:30,1:45,1,A,C,,,extra\n"  /* 8 too many fields */
	      ESIID ",1/2/1900,,1:30,1:45,1,A,C\n"          /* 9 year out of range */
	      ESIID ",1/2/2025,,1:45,2:00,-1,A,C\n"         /* 10 negative */
	      ",,,,,,,\n"                                   /* 11 ignored */
	      ESIID ",1/2/2025,,2:00,2:15,100000,A,C\n"     /* 12 too large */
	      ESIID ",1/2/2025,,2:15,2:30,1,A,C,,\n",       /* 13 ok: empty extras */
	      &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 2);
	CHECK_INT(r.rows[0].line, 2);
	CHECK_INT(r.rows[1].line, 13);
	CHECK_INT(r.st.malformed, 9);
	CHECK_INT(r.st.nreasons, IW_SMT_CSV_REASONS);
	CHECK(find_reason(&r, 3, "bad USAGE_DATE \"13/40/2025\""));
	CHECK(find_reason(&r, 4, "bad USAGE_START_TIME \"25:00\""));
	CHECK(find_reason(&r, 5, "bad USAGE_KWH \"abc\""));
	CHECK(find_reason(&r, 6, "expected 8 fields, got 5"));
	CHECK(find_reason(&r, 7, "bad ESIID"));
	result_free(&r);
}

static void test_kwh_canonical_form(void)
{
	struct result r = { 0 };

	parse(HEADER
	      ESIID ",1/2/2025,,0:00,0:15,.256,A,C\n"
	      ESIID ",1/2/2025,,0:15,0:30,007.50,A,C\n"
	      ESIID ",1/2/2025,,0:30,0:45,1.2345678,A,C\n"
	      ESIID ",1/2/2025,,0:45,1:00,9.999996,A,C\n"
	      ESIID ",1/2/2025,,1:00,1:15,99999.99999,A,C\n"
	      ESIID ",1/2/2025,,1:15,1:30,0,A,C\n"
	      ESIID ",1/2/2025,,1:30,1:45,3.,A,C\n"
	      ESIID ",1/2/2025,,1:45,2:00,99999.999996,A,C\n"
	      ESIID ",1/2/2025,,2:00,2:15,1e3,A,C\n", &r);
	CHECK_INT(r.n, 7);
	CHECK_STR(r.rows[0].kwh, "0.256");
	CHECK_STR(r.rows[1].kwh, "7.50");
	CHECK_STR(r.rows[2].kwh, "1.23457");
	CHECK_STR(r.rows[3].kwh, "10.00000");
	CHECK_STR(r.rows[4].kwh, "99999.99999");
	CHECK_STR(r.rows[5].kwh, "0");
	CHECK_STR(r.rows[6].kwh, "3");
	CHECK_INT(r.st.kwh_rounded, 2);
	CHECK_INT(r.st.malformed, 2);
	result_free(&r);
}

static void test_no_header(void)
{
	struct result r = { 0 };
	struct text t = { 0 };

	parse("", &r);
	CHECK_INT(r.rc, IW_SMT_CSV_ENOHEADER);
	result_free(&r);
	parse("ESIID,READ_DATE,METER_TYPE,START_READING,END_READING,ENERGY_DATA_KWH\n"
	      ESIID ",01/02/2025,AMS,1,2,3\n", &r);
	CHECK_INT(r.rc, IW_SMT_CSV_ENOHEADER);
	CHECK_INT(r.n, 0);
	result_free(&r);

	/* A long run of non-header lines stops the parse early. */
	for (int i = 0; i < 1000; i++)
		tprintf(&t, "not,a,header,%d\n", i);
	parse(t.p, &r);
	CHECK_INT(r.rc, IW_SMT_CSV_ENOHEADER);
	CHECK(r.st.lines < 100);
	result_free(&r);
	free(t.p);

	/* A title line before the header is tolerated. */
	parse("Smart Meter Texas export\n" HEADER ESIID ",1/2/2025,,0:00,0:15,1,A,C\n", &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 1);
	CHECK_INT(r.rows[0].line, 3);
	result_free(&r);

	/* A header alone is a valid, empty file. */
	parse(HEADER, &r);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.n, 0);
	CHECK_INT(r.st.header_found, 1);
	result_free(&r);
}

static void test_interval_header_detection(void)
{
	static const char interval[] = "\xEF\xBB\xBF\r\n\"ESIID\",\"USAGE_DATE\",\"USAGE_START_TIME\",\"USAGE_KWH\"\r\n1,2";
	static const char billing[] = "ESIID,METER_READ_DATE,START_READING,END_READING,USAGE_KWH\n";

	CHECK_INT(iw_smt_csv_is_interval_header(HEADER, strlen(HEADER)), 1);
	CHECK_INT(iw_smt_csv_is_interval_header(interval, sizeof(interval) - 1), 1);
	CHECK_INT(iw_smt_csv_is_interval_header(billing, sizeof(billing) - 1), 0);
	CHECK_INT(iw_smt_csv_is_interval_header("", 0), 0);
	CHECK_INT(iw_smt_csv_is_interval_header("USAGE_START", 11), 0);
}

static void test_callback_abort(void)
{
	struct text t = { 0 };
	struct result r = { 0 };

	tprintf(&t, HEADER);
	gen_day(&t, 2025, 1, 2, NORMAL);
	r.abort_after = 3;
	parse(t.p, &r);
	CHECK_INT(r.rc, 7);
	CHECK_INT(r.n, 3);
	result_free(&r);
	free(t.p);
}

static void test_long_line(void)
{
	struct text t = { 0 };
	struct result whole = { 0 }, chunks = { 0 };
	static char big[IW_SMT_CSV_LINE_MAX + 100];

	memset(big, 'x', sizeof(big) - 1);
	tprintf(&t, HEADER);
	tprintf(&t, ESIID ",1/2/2025,%s,0:00,0:15,1,A,C\n", big);
	/* An unbalanced quote must not swallow the rest of the file. */
	tprintf(&t, ESIID ",1/2/2025,\"%s,0:00,0:15,1,A,C\n", big);
	tprintf(&t, ESIID ",1/2/2025,,0:15,0:30,2,A,C\n");
	parse_opt(t.p, t.n, 0, NULL, &whole);
	parse_opt(t.p, t.n, 4096, NULL, &chunks);
	CHECK_INT(whole.rc, 0);
	CHECK_INT(whole.n, 1);
	CHECK_INT(whole.st.malformed, 2);
	CHECK(find_reason(&whole, 2, "longer than"));
	CHECK(find_reason(&whole, 3, "longer than"));
	CHECK_INT(whole.rows[0].line, 4);
	CHECK(same_results(&whole, &chunks));
	result_free(&whole);
	result_free(&chunks);
	free(t.p);
}

static void test_esiid_from_caller(void)
{
	static const char csv[] = "USAGE_DATE,USAGE_START_TIME,USAGE_END_TIME,USAGE_KWH\n1/2/2025,0:00,0:15,1\n";
	struct result r = { 0 };

	parse_opt(csv, sizeof(csv) - 1, 0, "'" ESIID, &r);
	CHECK_INT(r.n, 1);
	CHECK_STR(r.rows[0].esiid, ESIID);
	CHECK_STR(r.st.esiid, ESIID);
	result_free(&r);
	parse(csv, &r);
	CHECK_INT(r.n, 0);
	CHECK_INT(r.st.malformed, 1);
	CHECK(find_reason(&r, 2, "no ESIID"));
	result_free(&r);
}

static void test_chicago_rules(void)
{
	int64_t ts;

	/* 2007+ rules. */
	CHECK_INT(iw_smt_chicago_to_utc(2025, 12, 25, 0, 0, &ts), 0);
	CHECK_STR(iso(ts), "2025-12-25T06:00:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2025, 3, 8, 720, 0, &ts), 0);
	CHECK_STR(iso(ts), "2025-03-08T18:00:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2025, 3, 9, 150, 0, &ts), -1);
	CHECK_INT(iw_smt_chicago_to_utc(2025, 11, 2, 90, 1, &ts), 0);
	CHECK_STR(iso(ts), "2025-11-02T06:30:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2025, 11, 2, 90, 0, &ts), 0);
	CHECK_STR(iso(ts), "2025-11-02T07:30:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2024, 3, 10, 180, 0, &ts), 0); /* 2nd Sunday of March 2024 */
	CHECK_STR(iso(ts), "2024-03-10T08:00:00.000Z");
	/* 1987-2006 rules: 1st Sunday of April, last Sunday of October. */
	CHECK_INT(iw_smt_chicago_to_utc(2006, 3, 20, 0, 0, &ts), 0);
	CHECK_STR(iso(ts), "2006-03-20T06:00:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2006, 4, 2, 150, 0, &ts), -1);
	CHECK_INT(iw_smt_chicago_to_utc(2006, 4, 3, 0, 0, &ts), 0);
	CHECK_STR(iso(ts), "2006-04-03T05:00:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2006, 10, 29, 60, 0, &ts), 0);
	CHECK_STR(iso(ts), "2006-10-29T07:00:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2006, 11, 1, 0, 0, &ts), 0);
	CHECK_STR(iso(ts), "2006-11-01T06:00:00.000Z");
	CHECK_INT(iw_smt_chicago_to_utc(2025, 2, 29, 0, 0, &ts), -1);
}

int main(void)
{
	test_normal_winter_day();
	test_summer_day();
	test_spring_forward();
	test_spring_gap_with_value_is_malformed();
	test_fall_back();
	test_fall_back_per_esiid_and_flow();
	test_fall_back_with_missing_rows();
	test_fall_back_part_begins_inside_the_hour();
	test_leap_day();
	test_year_2025();
	test_chunking_does_not_matter();
	test_bom_crlf_quotes_apostrophe();
	test_columns_in_another_order();
	test_flows_and_estimates();
	test_malformed_rows();
	test_kwh_canonical_form();
	test_no_header();
	test_interval_header_detection();
	test_callback_abort();
	test_long_line();
	test_esiid_from_caller();
	test_chicago_rules();
	return unit_report("smt_csv");
}
