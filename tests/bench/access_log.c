/* GET /metrics per-route figures (web/access_log.c): what a scrape costs.
 * The lines of 15 s at 1000 requests/s (one scrape interval), then a scrape
 * with nothing new, then a backlog of FULL lines: each scrape reads at most
 * IW_ACCESS_READ_MAX bytes of it. Lines in the local stack's iw_json form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/access_log.h"

#define FULL 1000000
#define STEP 15000

static const char *const routes[] = { "/healthz", "/api/admin/smt/pull", "/api/admin/ercot/ingests",
				      "/metrics", "", "/api/admin/smt/raw-upload" };

static void lines(const char *path, int n, int seed)
{
	FILE *f = fopen(path, "a");

	for (int i = 0; i < n; i++)
		fprintf(f, "{\"ts\":\"2026-11-29T13:48:22+00:00\",\"remote\":\"127.0.0.1\",\"method\":\"GET\","
			"\"uri\":\"%s\",\"status\":%d,\"bytes\":810,\"duration_ms\":%d.%03d,"
			"\"request_id\":\"85a227f4fba4190ccb091ee8d99d978c\",\"route\":\"%s\"}\n",
			routes[(i + seed) % 6], (i % 17) ? 200 : 503, (i % 97) / 50, (i * 7) % 1000,
			routes[(i + seed) % 6]);
	fclose(f);
}

static double update_ms(const char *log, const char *state, struct iw_access_stats *st)
{
	struct iw_error err = { 0 };
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (iw_access_update(log, state, st, &err) != 0)
		fprintf(stderr, "update: %s\n", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &b);
	iw_err_clear(&err);
	return (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

int main(void)
{
	char dir[] = "/tmp/iw-bench-access-XXXXXX", log[96], state[96], cmd[128];
	struct iw_access_stats *st = malloc(sizeof *st);
	double full, step, none;

	if (!st || !mkdtemp(dir))
		return 1;
	snprintf(log, sizeof log, "%s/access.log", dir);
	snprintf(state, sizeof state, "%s/state", dir);
	int scrapes = 0;

	lines(log, STEP, 1);
	step = update_ms(log, state, st);
	none = update_ms(log, state, st);
	lines(log, FULL, 0);
	full = 0;
	for (unsigned long long before = 0; scrapes == 0 || st->routes[0].count != before; scrapes++) {
		before = st->routes[0].count;
		full += update_ms(log, state, st);
	}
	printf("access log: %d new lines %.1f ms (%.2f us/line); nothing new %.2f ms; "
	       "a backlog of %d lines: %d scrapes, %.0f ms in all\n",
	       STEP, step, step * 1e3 / STEP, none, FULL, scrapes - 1, full);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	free(st);
	return system(cmd) == 0 ? 0 : 1;
}
