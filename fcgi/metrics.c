/* GET /metrics: Prometheus text (0.0.4) for this host. From a loopback
 * client (a local Prometheus or node agent) without a token; from anywhere
 * else with x-admin-token. Each family comes from its module; a failed
 * source is reported as iw_metrics_source_up{source}=0, the rest still
 * answer (a scrape never fails as a whole on one source).
 *
 * nginx figures: the loopback-only stub_status location /nginx_status of
 * nginx/iw-server.conf, fetched from NGINX_STATUS_URL or, by default,
 * http://127.0.0.1:<the port this request came in on>/nginx_status.
 *
 * Per-route requests and latencies: nginx's access log(s) IW_ACCESS_LOG,
 * read since the last scrape, counters kept in IW_ACCESS_STATE (default
 * /var/lib/iw-admin/access-log.state), see web/access_log.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "ercot/metrics.h"
#include "smt/cron_runs.h"
#include "smt/metrics.h"
#include "usage/partitions.h"
#include "web/access_log.h"
#include "web/nginx_status.h"
#include "web/prom.h"
#include "web/serve.h"

#define URL_MAX 256

static int loopback(const char *addr)
{
	return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
			strcmp(addr, "::ffff:127.0.0.1") == 0);
}

static void source_up(struct iw_buf *b, const char *source, int up)
{
	iw_prom_sample(b, "iw_metrics_source_up", "source", source, up);
}

static void ercot(struct iw_buf *b, struct iw_buf *up)
{
	struct iw_ercot_last_ok last[IW_ERCOT_METRICS_TDSP_MAX];
	struct iw_error err = { 0 };
	int n = iw_ercot_metrics_read(last, &err);

	source_up(up, "ercot", n >= 0);
	if (n < 0) {
		iw_logf("error", "metrics: ErcotIngest: %s", err.msg);
		iw_err_clear(&err);
		return;
	}
	if (n == 0) /* no family without samples */
		return;
	iw_prom_family(b, "iw_ercot_last_success_timestamp_seconds", "gauge",
		       "Time of the newest ErcotIngest row with status ok, per TDSP.");
	for (int i = 0; i < n; i++)
		iw_prom_sample(b, "iw_ercot_last_success_timestamp_seconds", "tdsp", last[i].tdsp, last[i].at);
	iw_prom_family(b, "iw_ercot_last_success_bytes", "gauge",
		       "Size of the newest successful ERCOT file, per TDSP.");
	for (int i = 0; i < n; i++)
		iw_prom_sample(b, "iw_ercot_last_success_bytes", "tdsp", last[i].tdsp, (double)last[i].bytes);
	iw_prom_family(b, "iw_ercot_last_success_rows", "gauge",
		       "Rows of the newest successful ERCOT file, per TDSP.");
	for (int i = 0; i < n; i++)
		iw_prom_sample(b, "iw_ercot_last_success_rows", "tdsp", last[i].tdsp, (double)last[i].rows);
}

static void smt(struct iw_buf *b, struct iw_buf *up)
{
	struct iw_smt_cron_last c;
	struct iw_smt_metrics m;
	struct iw_error err = { 0 };
	int ok = iw_smt_cron_last(&c, &err) == 0;

	source_up(up, "smt_cron", ok);
	if (!ok) {
		iw_logf("error", "metrics: SmtCronRun: %s", err.msg);
		iw_err_clear(&err);
	} else if (c.found) {
		iw_prom_family(b, "iw_smt_cron_last_run_timestamp_seconds", "gauge",
			       "End of the newest SMT status cron run.");
		iw_prom_sample(b, "iw_smt_cron_last_run_timestamp_seconds", NULL, NULL, c.finished_at);
		iw_prom_family(b, "iw_smt_cron_last_run_success", "gauge",
			       "1 when the newest SMT status cron run ended without error.");
		iw_prom_sample(b, "iw_smt_cron_last_run_success", NULL, NULL, c.ok);
		iw_prom_family(b, "iw_smt_cron_last_run_rows", "gauge",
			       "Rows of the newest SMT status cron run, by outcome.");
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "scanned", c.scanned);
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "updated", c.updated);
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "failed", c.failed);
		iw_prom_sample(b, "iw_smt_cron_last_run_rows", "outcome", "throttled", c.throttled);
	}
	if (ok) {
		iw_prom_family(b, "iw_smt_cron_failed_runs_24h", "gauge",
			       "SMT status cron runs that ended with an error in the last 24 hours.");
		iw_prom_sample(b, "iw_smt_cron_failed_runs_24h", NULL, NULL, (double)c.failed_runs_24h);
	}
	ok = iw_smt_metrics_read(&m, &err) == 0;
	source_up(up, "smt", ok);
	if (!ok) {
		iw_logf("error", "metrics: SMT: %s", err.msg);
		iw_err_clear(&err);
		return;
	}
	iw_prom_family(b, "iw_smt_raw_files_24h", "gauge", "Raw SMT files received in the last 24 hours.");
	iw_prom_sample(b, "iw_smt_raw_files_24h", NULL, NULL, (double)m.raw_files_24h);
	iw_prom_family(b, "iw_smt_intervals_24h", "gauge", "SmtInterval rows created in the last 24 hours.");
	iw_prom_sample(b, "iw_smt_intervals_24h", NULL, NULL, (double)m.intervals_24h);
	if (m.have_newest) {
		iw_prom_family(b, "iw_smt_newest_interval_age_seconds", "gauge",
			       "Seconds since the newest SmtInterval row was created.");
		iw_prom_sample(b, "iw_smt_newest_interval_age_seconds", NULL, NULL, m.newest_age_s);
	}
}

/* Rows in each interval table's DEFAULT partition: should be 0; anything
 * else waits for `iw-migrate partitions` (docs/ingest.md, "Partitions").
 * Each database on its own: one unreachable still leaves the other's. */
static void partitions(struct iw_buf *b, struct iw_buf *up)
{
	long long rows[IW_DB__MAX];
	int got[IW_DB__MAX] = { 0 }, ok = 1, any = 0;

	for (int d = 0; d < IW_DB__MAX; d++) {
		struct iw_error err = { 0 };
		if (iw_interval_default_rows((enum iw_db)d, &rows[d], &err) == 0) {
			got[d] = any = 1;
			continue;
		}
		iw_logf("error", "metrics: %s_default: %s", iw_interval_table((enum iw_db)d), err.msg);
		iw_err_clear(&err);
		ok = 0;
	}
	source_up(up, "partitions", ok);
	if (!any) /* no family without samples */
		return;
	iw_prom_family(b, "iw_interval_default_partition_rows", "gauge",
		       "Rows in the DEFAULT partition of an interval table (0 when every month exists).");
	for (int d = 0; d < IW_DB__MAX; d++)
		if (got[d])
			iw_prom_sample(b, "iw_interval_default_partition_rows", "table",
				       iw_interval_table((enum iw_db)d), (double)rows[d]);
}

static void nginx(struct iw_request *req, struct iw_buf *b, struct iw_buf *up)
{
	struct iw_nginx_status s;
	const char *url = getenv("NGINX_STATUS_URL"), *port = iw_param(req, "SERVER_PORT");
	char buf[URL_MAX], err[256];
	int ok;

	if (!url || !*url) {
		snprintf(buf, sizeof buf, "http://127.0.0.1:%s/nginx_status",
			 port && strspn(port, "0123456789") == strlen(port) && *port ? port : "80");
		url = buf;
	}
	ok = iw_nginx_status_fetch(url, &s, err, sizeof err) == 0;
	source_up(up, "nginx", ok);
	if (!ok) {
		iw_logf("warn", "metrics: nginx stub_status: %s", err);
		return;
	}
	iw_prom_family(b, "iw_nginx_connections_active", "gauge", "nginx: open client connections.");
	iw_prom_sample(b, "iw_nginx_connections_active", NULL, NULL, (double)s.active);
	iw_prom_family(b, "iw_nginx_connections", "gauge", "nginx: connections by state.");
	iw_prom_sample(b, "iw_nginx_connections", "state", "reading", (double)s.reading);
	iw_prom_sample(b, "iw_nginx_connections", "state", "writing", (double)s.writing);
	iw_prom_sample(b, "iw_nginx_connections", "state", "waiting", (double)s.waiting);
	iw_prom_family(b, "iw_nginx_connections_accepted_total", "counter", "nginx: accepted connections.");
	iw_prom_sample(b, "iw_nginx_connections_accepted_total", NULL, NULL, (double)s.accepts);
	iw_prom_family(b, "iw_nginx_connections_handled_total", "counter", "nginx: handled connections.");
	iw_prom_sample(b, "iw_nginx_connections_handled_total", NULL, NULL, (double)s.handled);
	iw_prom_family(b, "iw_nginx_http_requests_total", "counter", "nginx: client requests.");
	iw_prom_sample(b, "iw_nginx_http_requests_total", NULL, NULL, (double)s.requests);
}

static void access_log(struct iw_buf *b, struct iw_buf *up, const char *host)
{
	const char *logs = getenv("IW_ACCESS_LOG"), *state = getenv("IW_ACCESS_STATE");
	struct iw_access_stats *st;
	struct iw_error err = { 0 };
	int ok;

	if (!logs || !*logs) {
		source_up(up, "access_log", 0);
		iw_logf("warn", "metrics: IW_ACCESS_LOG is not set: no per-route figures");
		return;
	}
	if (!state || !*state)
		state = "/var/lib/iw-admin/access-log.state";
	if (!(st = malloc(sizeof *st))) {
		source_up(up, "access_log", 0);
		return;
	}
	ok = iw_access_update(logs, state, st, &err) == 0;
	source_up(up, "access_log", ok);
	if (ok)
		iw_access_prom(b, st, host);
	else
		iw_logf("error", "metrics: access log: %s", err.msg);
	iw_err_clear(&err);
	free(st);
}

static int metrics(struct iw_request *req, struct iw_response *resp)
{
	struct iw_buf b = { 0 }, up = { 0 };
	char host[256] = "";
	size_t len;
	char *text;

	if (!loopback(req->remote_addr)) {
		switch (iw_auth_check(IW_AUTH_ADMIN, req)) {
		case IW_AUTH_OK:
			break;
		case IW_AUTH_MISCONFIGURED:
			return iw_error(resp, 503, "server_misconfigured", "ADMIN_TOKEN is not set");
		default:
			return iw_error(resp, 401, "unauthorized",
					"missing or invalid credentials (x-admin-token, or a loopback client)");
		}
	}
	gethostname(host, sizeof host - 1);
	iw_prom_family(&b, "iw_metrics_host_info", "gauge", "The host that answered this scrape.");
	iw_prom_sample(&b, "iw_metrics_host_info", "host", host, 1);
	ercot(&b, &up);
	smt(&b, &up);
	partitions(&b, &up);
	nginx(req, &b, &up);
	access_log(&b, &up, host);
	iw_prom_family(&b, "iw_metrics_source_up", "gauge",
		       "1 when a source of this scrape answered (ercot, smt, smt_cron, partitions, nginx, access_log).");
	iw_buf_put(&b, up.data ? up.data : "", up.len);
	iw_buf_free(&up);
	if (!(text = iw_buf_take(&b, &len)))
		return iw_error(resp, 500, "internal_error", "out of memory");
	return iw_raw(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

int main(void)
{
	static const struct iw_route route = {
		.name = "metrics",
		.methods = IW_GET,
		.auth = IW_AUTH_NONE, /* loopback, or x-admin-token: checked in metrics() */
		.body = IW_BODY_NONE,
		.handler = metrics,
		.statement_timeout_ms = 5000,
	};
	return iw_serve(&route);
}
