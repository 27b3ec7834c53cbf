/* nginx stub_status (web/nginx_status.h). The page is:
 *   Active connections: 1
 *   server accepts handled requests
 *    10 10 12
 *   Reading: 0 Writing: 1 Waiting: 0 */
#include <stdio.h>
#include <string.h>

#include "io/http.h"
#include "web/nginx_status.h"
#include "core/log.h"
#include "core/prom.h"

#define STATUS_MAX 4096

int iw_nginx_status_parse(const char *text, struct iw_nginx_status *s)
{
	memset(s, 0, sizeof *s);
	if (sscanf(text, "Active connections: %lld server accepts handled requests %lld %lld %lld "
			 "Reading: %lld Writing: %lld Waiting: %lld",
		   &s->active, &s->accepts, &s->handled, &s->requests, &s->reading, &s->writing,
		   &s->waiting) != 7)
		return -1;
	return 0;
}

int iw_nginx_status_fetch(const char *url, struct iw_nginx_status *s, char *err, size_t errlen)
{
	const struct iw_http_opts o = { .connect_ms = 1000, .timeout_ms = 2000 };
	struct iw_http_got got;
	int rc = -1;

	memset(s, 0, sizeof *s);
	if (iw_http_get(url, NULL, NULL, STATUS_MAX, &o, &got) != 0)
		snprintf(err, errlen, "%s", got.error);
	else if (got.status != 200)
		snprintf(err, errlen, "status %ld", got.status);
	else if (iw_nginx_status_parse(got.body ? got.body : "", s) != 0)
		snprintf(err, errlen, "not a stub_status page");
	else
		rc = 0;
	iw_http_got_free(&got);
	return rc;
}

void iw_nginx_status_prom(struct iw_buf *b, struct iw_buf *up, const char *port)
{
	struct iw_nginx_status s;
	const char *url = getenv("NGINX_STATUS_URL");
	char buf[256], err[256];
	int ok;

	if (!url || !*url) {
		snprintf(buf, sizeof buf, "http://127.0.0.1:%s/nginx_status",
			 port && strspn(port, "0123456789") == strlen(port) && *port ? port : "80");
		url = buf;
	}
	ok = iw_nginx_status_fetch(url, &s, err, sizeof err) == 0;
	iw_prom_source_up(up, "nginx", ok);
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
