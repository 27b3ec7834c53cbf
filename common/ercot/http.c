/* The ERCOT listing and download transfers (declared in ercot/ingest.h):
 * io/http's tuned transfers with ERCOT's timeouts, user agent, low-speed
 * abort and ERCOT_CA. */
#include "ercot/ingest.h"

#include "core/config.h"

#define ERCOT_LOW_SPEED     1024L  /* bytes/s under which ... */
#define ERCOT_LOW_SPEED_S   60L    /* ... for this long a download fails */

static struct iw_http_opts ercot_opts(long timeout_ms)
{
	return (struct iw_http_opts){
		.connect_ms = IW_ERCOT_CONNECT_MS,
		.timeout_ms = timeout_ms,
		.low_speed_bytes = ERCOT_LOW_SPEED,
		.low_speed_s = ERCOT_LOW_SPEED_S,
		.user_agent = "iw-admin/1 (ERCOT daily ingest)",
		.ca_pem = iw_env("ERCOT_CA"),
		/* Large downloads: fewer, larger writes into storage. */
		.buffer_bytes = 512L * 1024,
	};
}

int iw_ercot_http_get(const char *url, const char *const *headers, const char *body,
		      struct iw_http_got *reply)
{
	return iw_ercot_http_get_max(url, headers, body, IW_ERCOT_LIST_MAX, reply);
}

int iw_ercot_http_get_max(const char *url, const char *const *headers, const char *body,
			  size_t max, struct iw_http_got *reply)
{
	struct iw_http_opts o = ercot_opts(IW_ERCOT_LIST_MS);

	return iw_http_get(url, headers, body, max, &o, reply);
}

int iw_ercot_http_stream(const char *url, const char *const *headers,
			 iw_ercot_sink sink, void *ctx, long *status, long *retry_after,
			 char *err, size_t errlen)
{
	struct iw_http_opts o = ercot_opts(IW_ERCOT_DOWNLOAD_MS);

	return iw_http_stream(url, headers, &o, sink, ctx, status, retry_after, err, errlen);
}
