/* Per-route figures from nginx's access log (web/access_log.c): one line's
 * route, status and bucket; incremental reads with a partial last line,
 * truncation, rotation to PATH.1, a damaged state; the caps; the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "web/access_log.h"
#include "unit.h"

#define LINE(route, status, secs) \
	"{\"uri\":\"/x\",\"status\":" #status ",\"duration_ms\":" #secs ",\"route\":\"" route "\"}\n"

static struct iw_access_route *find(struct iw_access_stats *st, const char *name)
{
	for (int i = 0; i < st->nroutes; i++)
		if (strcmp(st->routes[i].name, name) == 0)
			return &st->routes[i];
	return NULL;
}

static unsigned long long code_n(struct iw_access_route *r, int code)
{
	for (int i = 0; r && i < r->ncodes; i++)
		if (r->codes[i].code == code)
			return r->codes[i].n;
	return 0;
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	fputs(text, f);
	fclose(f);
}

static int update(const char *logs, const char *state, struct iw_access_stats *st)
{
	struct iw_error err = { 0 };
	int rc = iw_access_update(logs, state, st, &err);

	if (rc)
		fprintf(stderr, "update: %s\n", err.msg);
	iw_err_clear(&err);
	return rc;
}

static void lines(void)
{
	static struct iw_access_stats st;
	struct iw_access_route *r;
	const char *l;

	memset(&st, 0, sizeof st);
	l = LINE("/healthz", 200, 0.005);
	CHECK_INT(iw_access_count_line(&st, l, strlen(l) - 1), 0);
	l = LINE("/healthz", 200, 0.006);
	CHECK_INT(iw_access_count_line(&st, l, strlen(l) - 1), 0);
	l = LINE("/healthz", 503, 400.000);
	CHECK_INT(iw_access_count_line(&st, l, strlen(l) - 1), 0);
	r = find(&st, "/healthz");
	CHECK(r != NULL);
	CHECK_INT(r->count, 3);
	CHECK_INT(r->sum_ms, 400011);
	CHECK_INT(r->bucket[0], 1);                 /* le 0.005: equal is inside */
	CHECK_INT(r->bucket[1], 1);                 /* le 0.01 */
	CHECK_INT(r->bucket[IW_ACCESS_BUCKETS], 1); /* +Inf */
	CHECK_INT(code_n(r, 200), 2);
	CHECK_INT(code_n(r, 503), 1);
	l = LINE("", 404, 0.000);
	CHECK_INT(iw_access_count_line(&st, l, strlen(l)), 0);
	l = LINE("/a b", 404, 0.000);
	CHECK_INT(iw_access_count_line(&st, l, strlen(l)), 0);
	CHECK_INT(code_n(find(&st, "other"), 404), 2);
	l = LINE("/_iw/token/api/admin/ercot/cron", 200, 1.5);
	CHECK_INT(iw_access_count_line(&st, l, strlen(l)), 0);
	CHECK_INT(code_n(find(&st, "/api/admin/ercot/cron"), 200), 1);
	l = "127.0.0.1 - - [29/Nov/2026] \"GET / HTTP/1.1\" 200 3";
	CHECK_INT(iw_access_count_line(&st, l, strlen(l)), -1);
	l = LINE("/x", 99, 0.1);
	CHECK_INT(iw_access_count_line(&st, l, strlen(l)), -1);
	CHECK_INT(st.skipped, 2);

	/* Caps: routes beyond the table and codes beyond a route's go to "other". */
	memset(&st, 0, sizeof st);
	for (int i = 0; i < 2 * (IW_ACCESS_ROUTES_MAX + 10); i++) {
		char line[160];
		int n = snprintf(line, sizeof line,
				 "{\"status\":%d,\"duration_ms\":0.001,\"route\":\"/r%d\"}",
				 100 + i % (IW_ACCESS_CODES_MAX + 5), i % 2 ? 1 : i);
		CHECK_INT(iw_access_count_line(&st, line, (size_t)n), 0);
	}
	CHECK_INT(st.nroutes, IW_ACCESS_ROUTES_MAX);
	CHECK(find(&st, "other") != NULL);
	r = find(&st, "/r1");
	CHECK(r != NULL && r->ncodes == IW_ACCESS_CODES_MAX && code_n(r, 0) > 0);
}

static void files(void)
{
	static struct iw_access_stats st;
	char dir[] = "/tmp/iw-access-XXXXXX", log[128], old[136], state[128], logs[300];
	struct iw_access_route *r;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(log, sizeof log, "%s/access.log", dir);
	snprintf(old, sizeof old, "%s.1", log);
	snprintf(state, sizeof state, "%s/state", dir);

	/* No log yet: nothing counted, no error. */
	CHECK_INT(update(log, state, &st), 0);
	CHECK_INT(st.nroutes, 0);
	/* A partial last line waits for its line feed. */
	append(log, LINE("/a", 200, 0.001) LINE("/a", 200, 0.002) "{\"status\":200,");
	CHECK_INT(update(log, state, &st), 0);
	CHECK_INT(find(&st, "/a")->count, 2);
	append(log, "\"duration_ms\":0.003,\"route\":\"/a\"}\n" LINE("/b", 401, 0.010));
	CHECK_INT(update(log, state, &st), 0);
	CHECK_INT(find(&st, "/a")->count, 3);
	CHECK_INT(find(&st, "/a")->sum_ms, 6);
	CHECK_INT(code_n(find(&st, "/b"), 401), 1);
	/* Nothing new: nothing counted twice. */
	CHECK_INT(update(log, state, &st), 0);
	CHECK_INT(find(&st, "/a")->count, 3);
	/* Rotation: the unread rest of the old file, then the new one. */
	append(log, LINE("/a", 200, 0.001));
	CHECK_INT(rename(log, old), 0);
	append(log, LINE("/a", 200, 0.001) LINE("/a", 200, 0.001));
	CHECK_INT(update(log, state, &st), 0);
	CHECK_INT(find(&st, "/a")->count, 6);
	/* Rotated away with no PATH.1 (compressed at once): its unread line is
	 * lost, the new file is read from its start. */
	append(log, LINE("/a", 200, 0.001));
	{
		char gone[160];

		snprintf(gone, sizeof gone, "%s/access.log-20261129", dir);
		CHECK_INT(rename(log, gone), 0);
	}
	append(log, LINE("/c", 200, 0.001));
	CHECK_INT(update(log, state, &st), 0);
	CHECK_INT(find(&st, "/a")->count, 6);
	CHECK_INT(find(&st, "/c")->count, 1);
	/* Truncated in place (copytruncate), then written again. */
	CHECK(truncate(log, 0) == 0);
	append(log, LINE("/a", 500, 0.001));
	CHECK_INT(update(log, state, &st), 0);
	CHECK_INT(find(&st, "/a")->count, 7);
	CHECK_INT(code_n(find(&st, "/a"), 500), 1);
	/* A second log (the loopback listener's) adds to the same routes. */
	snprintf(logs, sizeof logs, "%s:%s/local.log", log, dir);
	snprintf(old, sizeof old, "%s/local.log", dir);
	append(old, LINE("/a", 200, 0.001));
	CHECK_INT(update(logs, state, &st), 0);
	CHECK_INT(find(&st, "/a")->count, 8);
	CHECK_INT(st.nlogs, 2);
	/* A damaged state starts afresh from the logs' beginnings. */
	CHECK(truncate(state, 0) == 0);
	append(state, "garbage\n");
	CHECK_INT(update(logs, state, &st), 0);
	r = find(&st, "/a");
	CHECK_INT(r ? r->count : 0, 2);
	/* Too many logs: a setting error. */
	{
		struct iw_error err = { 0 };

		CHECK(iw_access_update("/a:/b:/c:/d:/e", state, &st, &err) == IW_ERR_MISCONFIG);
		iw_err_clear(&err);
	}
	snprintf(logs, sizeof logs, "rm -rf '%s'", dir);
	CHECK_INT(system(logs), 0);
}

static void text(void)
{
	static struct iw_access_stats st;
	struct iw_buf b = { 0 };
	const char *l = LINE("/h", 200, 0.007);
	size_t len;
	char *t;

	memset(&st, 0, sizeof st);
	iw_access_count_line(&st, l, strlen(l));
	l = LINE("/h", 404, 0.030);
	iw_access_count_line(&st, l, strlen(l));
	iw_access_prom(&b, &st, "h\"1");
	t = iw_buf_take(&b, &len);
	CHECK_STR(t,
		  "# HELP iw_http_requests_total Requests nginx answered, by route location and HTTP status code (nginx access log).\n"
		  "# TYPE iw_http_requests_total counter\n"
		  "iw_http_requests_total{host=\"h\\\"1\",route=\"/h\",code=\"200\"} 1\n"
		  "iw_http_requests_total{host=\"h\\\"1\",route=\"/h\",code=\"404\"} 1\n"
		  "# HELP iw_http_request_duration_seconds Time nginx took to answer a request ($request_time), by route location.\n"
		  "# TYPE iw_http_request_duration_seconds histogram\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"0.005\"} 0\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"0.01\"} 1\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"0.025\"} 1\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"0.05\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"0.1\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"0.25\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"0.5\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"1\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"2.5\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"5\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"10\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"30\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"60\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"300\"} 2\n"
		  "iw_http_request_duration_seconds_bucket{host=\"h\\\"1\",route=\"/h\",le=\"+Inf\"} 2\n"
		  "iw_http_request_duration_seconds_sum{host=\"h\\\"1\",route=\"/h\"} 0.037\n"
		  "iw_http_request_duration_seconds_count{host=\"h\\\"1\",route=\"/h\"} 2\n"
		  "# HELP iw_http_access_log_lines_skipped_total Access log lines that were not in the iw_json format (not counted above).\n"
		  "# TYPE iw_http_access_log_lines_skipped_total counter\n"
		  "iw_http_access_log_lines_skipped_total{host=\"h\\\"1\"} 0\n");
	free(t);
}

int main(void)
{
	lines();
	files();
	text();
	return unit_report("access_log");
}
