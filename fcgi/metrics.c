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
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/prom.h"
#include "ercot/metrics.h"
#include "smt/metrics.h"
#include "usage/partitions.h"
#include "web/access_log.h"
#include "web/nginx_status.h"
#include "web/serve.h"

static int loopback(const char *addr)
{
	return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
			strcmp(addr, "::ffff:127.0.0.1") == 0);
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
	iw_ercot_metrics_prom(&b, &up);
	iw_smt_metrics_prom(&b, &up);
	iw_interval_partitions_prom(&b, &up);
	iw_nginx_status_prom(&b, &up, iw_param(req, "SERVER_PORT"));
	iw_access_log_prom(&b, &up, host);
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
