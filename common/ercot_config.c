#include "ercot_config.h"

#include "config.h"

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
	return iw_env("S3_BUCKET") ? "s3" : "local";
}

static void need(const char **names, size_t max, size_t *n, const char *name)
{
	if (*n < max)
		names[(*n)++] = name;
}

size_t iw_ercot_missing_settings(const char **names, size_t max)
{
	size_t n = 0;

	if (!iw_env("CRON_SECRET"))
		need(names, max, &n, "CRON_SECRET");
	if (iw_env("S3_BUCKET")) {
		if (!iw_env("S3_ENDPOINT") && !iw_env("DO_SPACES_ENDPOINT"))
			need(names, max, &n, "S3_ENDPOINT");
		if (!iw_env("S3_REGION"))
			need(names, max, &n, "S3_REGION");
		if (!iw_env("S3_ACCESS_KEY_ID"))
			need(names, max, &n, "S3_ACCESS_KEY_ID");
		if (!iw_env("S3_SECRET_ACCESS_KEY"))
			need(names, max, &n, "S3_SECRET_ACCESS_KEY");
	} else if (!iw_env("STORAGE_DIR")) {
		need(names, max, &n, "STORAGE_DIR");
	}
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
		if (iw_env("ERCOT_EWS_BASE") && !ews_certificate_set())
			need(names, max, &n, "ERCOT_EWS_PFX");
		break;
	}
	return n;
}
