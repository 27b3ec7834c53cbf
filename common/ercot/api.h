/* ERCOT Public API (SPEC §6, fetch method 2): a fresh Azure B2C id_token each
 * run (password grant), then the archive listing of the product, paged, and
 * downloads by docId, with Ocp-Apim-Subscription-Key and the bearer token on
 * every call. HTTP 429 is retried after Retry-After (or a short exponential
 * pause), at most IW_ERCOT_API_RETRIES times.
 *
 * Settings: ERCOT_SUBSCRIPTION_KEY, ERCOT_USERNAME, ERCOT_PASSWORD,
 * ERCOT_TOKEN_URL, ERCOT_CLIENT_ID, ERCOT_SCOPE, ERCOT_API_BASE,
 * ERCOT_PRODUCT_ID, ERCOT_API_PAGE_SIZE. The token, the password and the key
 * are never logged and are wiped from memory when the session closes. */
#ifndef IW_ERCOT_API_H
#define IW_ERCOT_API_H

#include <stddef.h>

#include "ercot/ingest.h"

#define IW_ERCOT_API_BASE      "https://api.ercot.com/api/public-reports"
#define IW_ERCOT_TOKEN_URL     "https://ercotb2c.b2clogin.com/ercotb2c.onmicrosoft.com/B2C_1_PUBAPI-ROPC-FLOW/oauth2/v2.0/token"
#define IW_ERCOT_CLIENT_ID     "fec253ea-0d06-4272-a5e6-b478baeecd70"
#define IW_ERCOT_SCOPE         "openid " IW_ERCOT_CLIENT_ID " offline_access"
#define IW_ERCOT_PRODUCT_ID    "ZP15-612"
#define IW_ERCOT_API_RETRIES   5        /* tries after a 429 */
#define IW_ERCOT_API_PAUSE_MS  500L     /* first pause without Retry-After, doubled */
#define IW_ERCOT_API_PAUSE_MAX 60L      /* seconds: longest pause honoured */
#define IW_ERCOT_API_PAGES_MAX 100
#define IW_ERCOT_API_PAGE_SIZE 1000

struct iw_ercot_api;

/* Requests the id_token. NULL with ERR set when the token endpoint refused. */
struct iw_ercot_api *iw_ercot_api_open(char *err, size_t errlen);
/* Lists the archives posted on DAY (and of TDSP when not NULL) into OUT.
 * 0, or -1 with ERR set. */
int iw_ercot_api_list(struct iw_ercot_api *s, const char *day, const char *tdsp,
		      struct iw_ercot_docs *out, char *err, size_t errlen);
/* The session's downloader (for struct iw_ercot_fetcher). */
int iw_ercot_api_download(void *session, const char *url, iw_ercot_sink sink, void *ctx,
			  char *err, size_t errlen);
/* Wipes the token and frees S (NULL is fine). */
void iw_ercot_api_close(struct iw_ercot_api *s);
#endif
