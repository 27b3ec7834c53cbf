#include "ercot/config.h"

#include "core/config.h"
#include "ercot/ingest.h"
#include "io/storage.h"

#define ERCOT_LOW_SPEED     1024L  /* bytes/s under which ... */
#define ERCOT_LOW_SPEED_S   60L    /* ... for this long a transfer fails */

static int ews_certificate_set(void)
{
	return iw_env("ERCOT_EWS_PFX") || (iw_env("ERCOT_EWS_CERT") && iw_env("ERCOT_EWS_KEY"));
}

enum iw_ercot_method iw_ercot_method(void)
{
	if (iw_env("ERCOT_EWS_BASE") && ews_certificate_set())
		return IW_ERCOT_EWS;
	if (iw_env("ERCOT_SUBSCRIPTION_KEY"))
		return IW_ERCOT_API;
	return IW_ERCOT_SCRAPE;
}

const char *iw_ercot_method_name(enum iw_ercot_method m)
{
	static const char *const names[IW_ERCOT_METHOD__MAX] = {
		[IW_ERCOT_EWS] = "ews", [IW_ERCOT_API] = "api", [IW_ERCOT_SCRAPE] = "scrape",
	};
	return m < IW_ERCOT_METHOD__MAX ? names[m] : "scrape";
}

const char *iw_ercot_storage_kind(void)
{
	return iw_storage_backend();
}

static void need(const char **names, size_t max, size_t *n, const char *name)
{
	if (*n < max)
		names[(*n)++] = name;
}

static size_t missing(const char **names, size_t max, int with_cron)
{
	const char *storage[8];
	size_t n = 0;
	int ns;

	if (with_cron && !iw_env("CRON_SECRET"))
		need(names, max, &n, "CRON_SECRET");
	/* The storage module decides which settings its backend needs. */
	ns = iw_storage_missing_settings(storage, sizeof storage / sizeof storage[0]);
	for (int i = 0; i < ns && i < (int)(sizeof storage / sizeof storage[0]); i++)
		need(names, max, &n, storage[i]);
	switch (iw_ercot_method()) {
	case IW_ERCOT_EWS:
		break;
	case IW_ERCOT_API:
		if (!iw_env("ERCOT_USERNAME"))
			need(names, max, &n, "ERCOT_USERNAME");
		if (!iw_env("ERCOT_PASSWORD"))
			need(names, max, &n, "ERCOT_PASSWORD");
		break;
	case IW_ERCOT_SCRAPE:
	case IW_ERCOT_METHOD__MAX:
		/* EWS half configured: say what is missing rather than fall back silently. */
		if (iw_env("ERCOT_EWS_BASE") && !ews_certificate_set())
			need(names, max, &n, iw_env("ERCOT_EWS_CERT") ? "ERCOT_EWS_KEY" :
					     iw_env("ERCOT_EWS_KEY") ? "ERCOT_EWS_CERT" : "ERCOT_EWS_PFX");
		break;
	}
	return n;
}

size_t iw_ercot_missing_settings(const char **names, size_t max)
{
	return missing(names, max, 1);
}

size_t iw_ercot_run_missing_settings(const char **names, size_t max)
{
	return missing(names, max, 0);
}

void iw_ercot_http_limits(struct iw_ercot_http_limits *l)
{
	l->connect_ms = (long)iw_env_int("ERCOT_HTTP_CONNECT_TIMEOUT_MS", IW_ERCOT_CONNECT_MS, 100,
					 IW_ERCOT_CONNECT_MS);
	l->list_ms = (long)iw_env_int("ERCOT_HTTP_TIMEOUT_MS", IW_ERCOT_LIST_MS, 100, IW_ERCOT_LIST_MS);
	l->download_ms = (long)iw_env_int("ERCOT_DOWNLOAD_TIMEOUT_MS", IW_ERCOT_DOWNLOAD_MS, 100,
					  IW_ERCOT_DOWNLOAD_MS);
	/* A higher rate floor is stricter: allowed up to 1 MiB/s. */
	l->low_speed_bytes = (long)iw_env_int("ERCOT_LOW_SPEED_BYTES", ERCOT_LOW_SPEED, 1, 1L << 20);
	l->low_speed_s = (long)iw_env_int("ERCOT_LOW_SPEED_SECONDS", ERCOT_LOW_SPEED_S, 1,
					  ERCOT_LOW_SPEED_S);
	l->download_max = iw_env_int("ERCOT_DOWNLOAD_MAX_BYTES", IW_ERCOT_FILE_MAX, 1,
				     IW_ERCOT_FILE_MAX);
}
