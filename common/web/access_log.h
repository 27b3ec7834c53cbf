/* Per-route request counts and latency histograms of one host, from
 * nginx's own access log (log_format iw_json: "route", "status",
 * "duration_ms" = $request_time in seconds). nginx sees every request of a
 * route whatever worker served it, and the answers no program gave (401 of
 * the auth gate, 502/504, 413): counters kept inside the programs could not.
 *
 * Each scrape reads only the lines added since the last one: the byte
 * offset, the file's identity (dev, inode) and the cumulative counters are
 * kept in one state file, updated under an exclusive lock of STATE.lock (so
 * two copies of the metrics program never count a line twice) and replaced
 * atomically. A rotated log (new inode) is finished from PATH.1 when that
 * is the old file (logrotate's rename with delaycompress), then read from
 * its start; a truncated one (copytruncate: shorter than the offset, or
 * its first bytes changed) is read from its start. */
#ifndef IW_WEB_ACCESS_LOG_H
#define IW_WEB_ACCESS_LOG_H

#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"

#define IW_ACCESS_LOGS_MAX    4
#define IW_ACCESS_PATH_MAX    512
#define IW_ACCESS_ROUTES_MAX  64   /* beyond: counted under route "other" */
#define IW_ACCESS_ROUTE_LEN   96
#define IW_ACCESS_CODES_MAX   24   /* per route; beyond: code "other" (0) */
#define IW_ACCESS_BUCKETS     14   /* finite upper bounds; +Inf is one more */
/* Bytes of log read by one scrape at most; the rest waits for the next. */
#define IW_ACCESS_READ_MAX    (16L * 1024 * 1024)


struct iw_access_code {
	int code;                       /* HTTP status; 0: any beyond the cap */
	unsigned long long n;
};

struct iw_access_route {
	char name[IW_ACCESS_ROUTE_LEN];
	struct iw_access_code codes[IW_ACCESS_CODES_MAX];
	int ncodes;
	unsigned long long bucket[IW_ACCESS_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
	unsigned long long count, sum_ms;
};

struct iw_access_pos {
	char path[IW_ACCESS_PATH_MAX];
	unsigned long long dev, ino;
	long long off;
	unsigned long long head;   /* FNV-1a of the first headlen bytes */
	int headlen;               /* up to HEAD_BYTES: tells a file truncated and refilled */
};

struct iw_access_stats {
	struct iw_access_pos logs[IW_ACCESS_LOGS_MAX];
	int nlogs;
	struct iw_access_route routes[IW_ACCESS_ROUTES_MAX];
	int nroutes;
	unsigned long long skipped;      /* lines that were not iw_json */
};

/* LOGS: one or more log paths separated by ':'. Reads their new lines into
 * the counters saved in STATE and saves them; ST holds the result. 0, or an
 * enum iw_err with ERR set (ST is then not to be used). */
int iw_access_update(const char *logs, const char *state, struct iw_access_stats *st,
		     struct iw_error *err);
/* Counts one log line into ST (exposed for the unit test): 0, or -1 when the
 * line is not an iw_json line (ST->skipped counts it). */
int iw_access_count_line(struct iw_access_stats *st, const char *line, size_t len);
/* iw_http_requests_total and iw_http_request_duration_seconds of ST, each
 * series labelled host=HOST. */
int iw_access_prom(struct iw_buf *b, const struct iw_access_stats *st, const char *host);
/* Reads the logs of IW_ACCESS_LOG since the last scrape (counters kept in
 * IW_ACCESS_STATE, default /var/lib/iw-admin/access-log.state) and writes
 * the per-route families of HOST into B, the "access_log" source_up sample
 * into UP. */
void iw_access_log_prom(struct iw_buf *b, struct iw_buf *up, const char *host);
#endif
