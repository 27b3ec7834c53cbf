/* Bench: parse one meter-year of SMT interval CSV (35,040 intervals, 2025)
 * held in memory, fed whole and in 64 KiB chunks as an upload arrives. The
 * baseline, measured in the same run over the same bytes, is a memchr line
 * count: the least any line parser must do. Prints numbers; asserts nothing
 * but that every interval came out. Usage: smt_csv_parse [iterations] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smt/csv.h"

#define ITERATIONS_DEFAULT 50
#define UPLOAD_CHUNK       (64 * 1024)
#define YEAR_INTERVALS     35040
#define ESIID              "10443720000000001"

struct text {
	char *p;
	size_t n, cap;
};

static int text_add(struct text *t, const char *s, size_t n)
{
	if (t->n + n + 1 > t->cap) {
		size_t cap = (t->cap + n + 1) * 2;
		char *p = realloc(t->p, cap);

		if (!p)
			return -1;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = '\0';
	return 0;
}

static int row_add(struct text *t, int m, int d, int start, int end, int i, int blank)
{
	char line[160], kwh[16] = "";
	int n;

	if (!blank) /* SMT leaves the kWh of the spring-forward gap empty */
		snprintf(kwh, sizeof(kwh), "%d.%03d", i % 3, (i * 37 + 11) % 1000);
	n = snprintf(line, sizeof(line), "'" ESIID ",%02d/%02d/2025,%02d/%02d/2025 08:00:00,"
		     "%d:%02d,%d:%02d,%s,A,Consumption\n", m, d, m, d,
		     start / 60 % 24, start % 60, end / 60 % 24, end % 60, kwh);
	return text_add(t, line, (size_t)n);
}

/* 2025: spring forward 3/9 (2:00-2:45 blank), fall back 11/2 (100 rows). */
static int gen_year(struct text *t)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	static const char header[] = "ESIID,USAGE_DATE,REVISION_DATE,USAGE_START_TIME,"
		"USAGE_END_TIME,USAGE_KWH,ESTIMATED_ACTUAL,CONSUMPTION_SURPLUSGENERATION\n";
	int i = 0;

	if (text_add(t, header, sizeof(header) - 1))
		return -1;
	for (int m = 1; m <= 12; m++) {
		for (int d = 1; d <= dm[m - 1]; d++) {
			if (m == 11 && d == 2) {
				for (int st = 0; st < 120; st += 15)
					if (row_add(t, m, d, st, st + 15, i++, 0))
						return -1;
				if (row_add(t, m, d, 120, 75, i++, 0))
					return -1;
				for (int st = 75; st < 1440; st += 15)
					if (row_add(t, m, d, st, st + 15, i++, 0))
						return -1;
				continue;
			}
			for (int st = 0; st < 1440; st += 15)
				if (row_add(t, m, d, st, st + 15, i++,
					    m == 3 && d == 9 && st >= 120 && st < 180))
					return -1;
		}
	}
	return 0;
}

struct sink {
	uint64_t sum;
	long rows;
};

static int on_row(const struct iw_smt_interval *iv, void *ctx)
{
	struct sink *s = ctx;

	s->sum += (uint64_t)iv->ts_ms + (unsigned char)iv->kwh[0] + (unsigned char)iv->flow;
	s->rows++;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_once(const struct text *t, size_t chunk, struct sink *s)
{
	struct iw_smt_csv *p = iw_smt_csv_new(on_row, s);
	int rc = 0;

	if (!p)
		return -1;
	for (size_t off = 0; off < t->n && rc == 0; off += chunk)
		rc = iw_smt_csv_feed(p, t->p + off, t->n - off < chunk ? t->n - off : chunk);
	if (rc == 0)
		rc = iw_smt_csv_finish(p);
	iw_smt_csv_free(p);
	return rc;
}

static size_t count_lines(const struct text *t)
{
	const char *s = t->p, *e = t->p + t->n;
	size_t n = 0;

	while ((s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
		s++;
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	struct text t = { 0 };
	int iters = argc > 1 ? atoi(argv[1]) : ITERATIONS_DEFAULT;
	double t0, base_ms, whole_ms, chunk_ms;
	volatile size_t lines = 0;
	struct sink s = { 0 };

	if (iters < 1)
		iters = 1;
	if (gen_year(&t) != 0) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}

	/* Warm-up, and the one check: every interval of the year came out. */
	if (parse_once(&t, t.n, &s) != 0 || s.rows != YEAR_INTERVALS) {
		fprintf(stderr, "smt_csv_parse: got %ld intervals, want %d\n", s.rows, YEAR_INTERVALS);
		free(t.p);
		return 1;
	}

	t0 = now_ms();
	for (int i = 0; i < iters; i++)
		lines += count_lines(&t);
	base_ms = (now_ms() - t0) / iters;

	t0 = now_ms();
	for (int i = 0; i < iters; i++)
		parse_once(&t, t.n, &s);
	whole_ms = (now_ms() - t0) / iters;

	t0 = now_ms();
	for (int i = 0; i < iters; i++)
		parse_once(&t, UPLOAD_CHUNK, &s);
	chunk_ms = (now_ms() - t0) / iters;

	printf("smt_csv_parse: %zu bytes, %zu lines, %d intervals, %d iterations\n",
	       t.n, lines / (size_t)iters, YEAR_INTERVALS, iters);
	printf("  baseline memchr line count: %8.3f ms\n", base_ms);
	printf("  parse, one chunk:           %8.3f ms  %6.1f M rows/s  %7.1f MB/s  %5.1fx baseline\n",
	       whole_ms, YEAR_INTERVALS / whole_ms / 1e3, t.n / whole_ms / 1e3, whole_ms / base_ms);
	printf("  parse, 64 KiB chunks:       %8.3f ms  %6.1f M rows/s  %7.1f MB/s  %5.1fx baseline\n",
	       chunk_ms, YEAR_INTERVALS / chunk_ms / 1e3, t.n / chunk_ms / 1e3, chunk_ms / base_ms);
	printf("  (checksum %llu)\n", (unsigned long long)s.sum);
	free(t.p);
	return 0;
}
