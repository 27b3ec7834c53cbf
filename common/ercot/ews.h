/* ERCOT EWS (Nodal Web Services) client, SPEC §6 fetch method 1: mutual TLS
 * with the market participant's client certificate, SOAP 1.1 MarketInfo
 * "get Reports" signed with WS-Security, and report downloads through the
 * same certificate-configured handle.
 *
 * Settings (iw_env): ERCOT_EWS_BASE (https; a bare origin gets ERCOT's path
 * /2007-08/Nodal/eEDS/EWS/), ERCOT_EWS_REPORTTYPE (default 203), either
 * ERCOT_EWS_PFX (base64 PKCS#12) + ERCOT_EWS_PFX_PASS or ERCOT_EWS_CERT +
 * ERCOT_EWS_KEY (PEM; literal "\n" escapes are turned into newlines),
 * optional ERCOT_EWS_CA (PEM bundle trusted for the server instead of the
 * system store), optional ERCOT_EWS_SOURCE / ERCOT_EWS_USERID (message
 * Header/Source and UserID; default: the certificate's common name),
 * optional ERCOT_EWS_SIGALG "sha256" (default) or "sha1".
 * The certificate is loaded on first use and kept, with the handle, for the
 * process (iw_ews_cleanup forgets both). It stays in memory (curl blobs,
 * never a file) and is never logged. */
#ifndef IW_ERCOT_EWS_H
#define IW_ERCOT_EWS_H

#include <stddef.h>

#define IW_EWS_CONNECT_TIMEOUT_MS  10000L
#define IW_EWS_LIST_TIMEOUT_MS     60000L
#define IW_EWS_DOWNLOAD_TIMEOUT_MS (30L * 60 * 1000)
/* A download slower than this many bytes/s for IW_EWS_LOW_SPEED_SECONDS fails. */
#define IW_EWS_LOW_SPEED_BYTES     1024L
#define IW_EWS_LOW_SPEED_SECONDS   60L
#define IW_EWS_MAX_REPLY           (16u * 1024 * 1024)
/* Cap on a gzip-compressed reply payload once inflated. */
#define IW_EWS_MAX_INFLATED        (64u * 1024 * 1024)
#define IW_EWS_DEFAULT_REPORTTYPE  203
#define IW_EWS_SOAP_PATH           "/2007-08/Nodal/eEDS/EWS/"
#define IW_EWS_SOAP_ACTION         "/BusinessService/NodalService.serviceagent/HttpEndPoint/MarketInfo"

struct iw_ews_report {
	char *filename;
	char *created;
	char *url;
	long long size;                 /* -1 when the reply gave none */
};

/* 1 when ERCOT_EWS_BASE and a client certificate (PFX, or CERT + KEY) are set.
 * Reads settings only: no parsing, no network. */
int iw_ews_configured(void);

/* The SOAP endpoint URL for the current settings into BUF; -1 when unset or
 * too long. */
int iw_ews_endpoint(char *buf, size_t len);

/* Asks EWS for the reports of ERCOT_EWS_REPORTTYPE. On success *OUT holds *N
 * reports (free with iw_ews_reports_free) and 0 is returned; otherwise -1
 * with a message in ERR (SOAP faults carry their faultstring). */
int iw_ews_list_reports(struct iw_ews_report **out, size_t *n, char *err, size_t errlen);
void iw_ews_reports_free(struct iw_ews_report *reports, size_t n);

/* Parses a "get Reports" reply (tolerant scan: any namespace prefix, a
 * gzip+base64 Payload/Compressed, entities, CDATA). Returns 0 with the
 * reports, or -1 with the fault/ReplyCode error in ERR. */
int iw_ews_parse_reply(const char *xml, size_t len, struct iw_ews_report **out,
		       size_t *n, char *err, size_t errlen);

/* Streams URL (https) through the client-certificate handle into SINK, which
 * returns the number of bytes it took (anything else aborts). Returns 0 when
 * the whole body arrived with a 2xx status, -1 otherwise with ERR set. */
int iw_ews_download(const char *url, size_t (*sink)(const void *, size_t, void *),
		    void *ctx, char *err, size_t errlen);

/* Releases the handle and wipes the loaded credentials. */
void iw_ews_cleanup(void);
#endif
