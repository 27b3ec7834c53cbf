/* The ERCOT listing and download transfers (declared in ercot/ingest.h):
 * io/http's tuned transfers with ERCOT's timeouts, user agent, low-speed
 * abort, download cap (iw_ercot_http_limits) and ERCOT_CA. */
#include "ercot/ingest.h"

#include "core/config.h"
#include "ercot/config.h"

/* TOTAL_MS: the whole transfer; MAX_BYTES: a streamed body (0: none). */
static struct iw_http_opts ercot_opts(const struct iw_ercot_http_limits *l, long total_ms,
				      long long max_bytes)
{
	return (struct iw_http_opts){
		.connect_ms = l->connect_ms,
		.timeout_ms = total_ms,
		.low_speed_bytes = l->low_speed_bytes,
		.low_speed_s = l->low_speed_s,
		.max_bytes = max_bytes,
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
	struct iw_ercot_http_limits l;
	struct iw_http_opts o;

	iw_ercot_http_limits(&l);
	o = ercot_opts(&l, l.list_ms, 0);

	return iw_http_get(url, headers, body, max, &o, reply);
}

int iw_ercot_http_stream(const char *url, const char *const *headers,
			 iw_ercot_sink sink, void *ctx, long *status, long *retry_after,
			 char *err, size_t errlen)
{
	struct iw_ercot_http_limits l;
	struct iw_http_opts o;

	iw_ercot_http_limits(&l);
	o = ercot_opts(&l, l.download_ms, l.download_max);

	return iw_http_stream(url, headers, &o, sink, ctx, status, retry_after, err, errlen);
}
