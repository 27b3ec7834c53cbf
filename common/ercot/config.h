/* Which ERCOT fetch method and storage a run would use, and which required
 * settings are missing (SPEC §6). Reads settings only: no network. */
#ifndef IW_ERCOT_CONFIG_H
#define IW_ERCOT_CONFIG_H

#include <stddef.h>

enum iw_ercot_method {
	IW_ERCOT_EWS,     /* mutual-TLS EWS */
	IW_ERCOT_API,     /* ERCOT Public API */
	IW_ERCOT_SCRAPE,  /* MIS listing JSON, then the HTML page */
	IW_ERCOT_METHOD__MAX
};

#define IW_ERCOT_MISSING_MAX 16

enum iw_ercot_method iw_ercot_method(void);
const char *iw_ercot_method_name(enum iw_ercot_method m);
/* "s3" when S3_BUCKET (or DO_SPACES_BUCKET) is set, else "local". */
const char *iw_ercot_storage_kind(void);
/* Fills NAMES with the required settings that are absent; returns the count.
 * Includes CRON_SECRET (needed by the scheduler's calls). */
size_t iw_ercot_missing_settings(const char **names, size_t max);
/* The same without CRON_SECRET: what a run itself cannot do without. */
size_t iw_ercot_run_missing_settings(const char **names, size_t max);

/* The bounds of the MIS, page and API transfers (ercot/http.c). Each
 * default may be lowered by its setting (a value out of range keeps the
 * default): a peer that never answers, trickles or never ends fails within
 * them. */
struct iw_ercot_http_limits {
	long connect_ms;          /* ERCOT_HTTP_CONNECT_TIMEOUT_MS, 10000 */
	long list_ms;             /* ERCOT_HTTP_TIMEOUT_MS: a listing, page or token call, 60000 */
	long download_ms;         /* ERCOT_DOWNLOAD_TIMEOUT_MS: one file, 30 min */
	long low_speed_bytes;     /* ERCOT_LOW_SPEED_BYTES: under this many bytes/s ... 1024 */
	long low_speed_s;         /* ERCOT_LOW_SPEED_SECONDS: ... for this long fails, 60 */
	long long download_max;   /* ERCOT_DOWNLOAD_MAX_BYTES: bytes of one file, 8 GiB */
};
void iw_ercot_http_limits(struct iw_ercot_http_limits *l);
#endif
