/* ERCOT MIS scraping (SPEC §6, fetch method 3): the public MIS document list
 * JSON of the report type, else the links of the HTML page ERCOT_PAGE_URL.
 * Downloads are plain GETs (redirects followed, never from https to http).
 *
 * Settings: ERCOT_MIS_BASE (default https://www.ercot.com),
 * ERCOT_EWS_REPORTTYPE (report type id, default 203), ERCOT_PAGE_URL. */
#ifndef IW_ERCOT_MIS_H
#define IW_ERCOT_MIS_H

#include <stddef.h>

#include "ercot/ingest.h"

#define IW_ERCOT_MIS_BASE     "https://www.ercot.com"
#define IW_ERCOT_MIS_LIST     "/misapp/servlets/IceDocListJsonWS?reportTypeId="
#define IW_ERCOT_MIS_DOWNLOAD "/misdownload/servlets/mirDownload?doclookupId="

/* The MIS JSON listing: documents posted on DAY (and of TDSP). 0 or -1. */
int iw_ercot_mis_list(const char *day, const char *tdsp, struct iw_ercot_docs *out,
		      char *err, size_t errlen);
/* Parses a MIS listing BODY (JSON): documents of DAY (and of TDSP), download
 * URLs under BASE. 0 or -1 with ERR (exposed for the fuzz target). */
int iw_ercot_mis_parse(const char *body, const char *base, const char *day,
		       const char *tdsp, struct iw_ercot_docs *out, char *err, size_t errlen);
/* The zip / mirDownload links of the page at ERCOT_PAGE_URL. 0 or -1. */
int iw_ercot_page_list(const char *day, const char *tdsp, struct iw_ercot_docs *out,
		       char *err, size_t errlen);
/* Extracts the links of HTML (exposed for tests): adds them to OUT. One
 * linear pass (common/ercot/page.c); 0, or -1 when OUT refused a link (out of
 * memory or over a cap: iw_ercot_docs_error). */
int iw_ercot_page_parse(const char *html, const char *page_url, const char *day,
			const char *tdsp, struct iw_ercot_docs *out);
/* A plain GET download (for struct iw_ercot_fetcher; SELF unused). */
int iw_ercot_plain_download(void *self, const char *url, iw_ercot_sink sink, void *ctx,
			    char *err, size_t errlen);
#endif
