/* nginx stub_status (web/nginx_status.h). The page is:
 *   Active connections: 1
 *   server accepts handled requests
 *    10 10 12
 *   Reading: 0 Writing: 1 Waiting: 0 */
#include <stdio.h>
#include <string.h>

#include "io/http.h"
#include "web/nginx_status.h"

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
