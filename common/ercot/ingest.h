/* ERCOT daily ingest (SPEC §6): the documents a fetch method lists, the
 * streamed download of one document (sha256 while streaming, spooled to an
 * unlinked temp file), the zip check, the load of the headerless TDSP ESIID
 * extract CSV into "ErcotEsiidIndex", the upload to storage and the
 * "ErcotIngest" row. Memory stays bounded whatever the file size. */
#ifndef IW_ERCOT_INGEST_H
#define IW_ERCOT_INGEST_H

#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "core/progress.h"
#include "io/http.h"
#include "io/run_lock.h"

#define IW_ERCOT_TDSP_MAX       48
#define IW_ERCOT_FILENAME_MAX   200
#define IW_ERCOT_DAY_LEN        10                    /* YYYY-MM-DD */
#define IW_ERCOT_PROGRESS_BYTES (16u * 1024 * 1024)   /* a progress line every ... */
#define IW_ERCOT_FILE_MAX       (8LL * 1024 * 1024 * 1024) /* refuse larger downloads */
#define IW_ERCOT_ROW_MAX        (64u * 1024)          /* longest CSV record accepted */
#define IW_ERCOT_COLUMNS        22                    /* current extract layout */
#define IW_ERCOT_COLUMNS_OLD    19                    /* older files */
#define IW_ERCOT_LIST_MAX       (16u * 1024 * 1024)   /* listing replies */
#define IW_ERCOT_PAGE_MAX       (8u * 1024 * 1024)    /* the ERCOT_PAGE_URL page */
/* Every listing is bounded: documents kept, and entries offered (each offer
 * costs at most one pass over the kept ones), per run. */
#define IW_ERCOT_STR_(x)        #x
#define IW_ERCOT_STR(x)         IW_ERCOT_STR_(x)
#define IW_ERCOT_DOCS_MAX       1000
#define IW_ERCOT_OFFERS_MAX     20000
/* Inflated bytes of the zip's CSV members, each and together (a zip bomb
 * stops there); ERCOT_MEMBER_MAX_BYTES overrides it (tests). */
#define IW_ERCOT_MEMBER_MAX     (4LL * 1024 * 1024 * 1024)
/* The run lock: a lease longer than nginx's 900 s read timeout for the
 * route, renewed per file and step. */
#define IW_ERCOT_LOCK_NAME      "ercot-run"
#define IW_ERCOT_LEASE_S        960L
#define IW_ERCOT_CONNECT_MS     10000L
#define IW_ERCOT_LIST_MS        60000L
#define IW_ERCOT_DOWNLOAD_MS    (30L * 60 * 1000)

/* One file a listing offers. */
struct iw_ercot_doc {
	char *filename;   /* the .zip name, safe as a storage key segment */
	char *tdsp;       /* canonical TDSP code (iw_ercot_tdsp_code) */
	char *url;        /* where to download it */
	char *posted;     /* UTC "YYYY-MM-DD HH:MM:SS" of the post, or NULL */
	long long size;   /* announced size, -1 unknown */
	unsigned long long name_hash, url_hash;  /* quick duplicate check */
};

struct iw_ercot_docs {
	struct iw_ercot_doc *v;
	size_t n, cap;
	size_t offered;   /* iw_ercot_docs_add calls */
	int full;         /* over IW_ERCOT_DOCS_MAX / IW_ERCOT_OFFERS_MAX */
};

/* Why iw_ercot_docs_add failed: "out of memory" or the cap it hit. */
const char *iw_ercot_docs_error(const struct iw_ercot_docs *docs);

/* Keeps the documents of the latest posting day in DOCS (and those without a
 * date) and writes that day to DAY; DAY is left alone when no document has a
 * date. For runs without ?date=: normally today's postings. */
void iw_ercot_docs_keep_latest_day(struct iw_ercot_docs *docs, char day[IW_ERCOT_DAY_LEN + 1]);

/* Adds a document when it was posted on DAY (YYYY-MM-DD, UTC) and belongs to
 * TDSP (canonical code; NULL: any). NAME gives the filename and the TDSP;
 * TDSP_NAME, when set, is a better source of the TDSP (a friendly name).
 * POSTED is an ISO-8601 timestamp (offset honoured; none means UTC) or NULL
 * (then the date in an ERCOT constructed name is used, else the document is
 * taken as current). Returns 1 added, 0 filtered out, -1 out of memory or
 * over a cap (docs->full; see iw_ercot_docs_error). */
int iw_ercot_docs_add(struct iw_ercot_docs *docs, const char *day, const char *tdsp,
		      const char *name, const char *tdsp_name, const char *url,
		      const char *posted, long long size);
void iw_ercot_docs_free(struct iw_ercot_docs *docs);

/* Canonical TDSP code of a file or friendly name (documented in docs/ercot.md):
 * "ext.00000203.0000000000000000.20260603.055219164.ONCOR_ELEC___DAILY.zip"
 * and "…TDSP_ESIID_EXTRACT_ONCOR_FUL.zip" give ONCOR; CNP gives CENTERPOINT.
 * Unknown names give the cleaned name. Returns 0, or -1 when nothing is left. */
int iw_ercot_tdsp_code(const char *name, char *out, size_t len);
/* 1 and the code in OUT when NAME maps to one of the known TDSPs (ONCOR,
 * CENTERPOINT, AEP_CENTRAL, ...); 0 for any other name. */
int iw_ercot_tdsp_known(const char *name, char *out, size_t len);
/* A safe storage filename from NAME (basename, [A-Za-z0-9._-], ends .zip). */
int iw_ercot_safe_filename(const char *name, char *out, size_t len);
/* 1 when DAY is a real calendar date YYYY-MM-DD. */
int iw_ercot_day_valid(const char *day);
/* Parses an ISO-8601 timestamp; 0 with *OUT (UTC), or -1. */
int iw_ercot_parse_time(const char *ts, time_t *out);

/* The body sink a download writes into: returns LEN to go on. */
typedef size_t (*iw_ercot_sink)(const void *buf, size_t len, void *ctx);

/* How a fetch method downloads: DOWNLOAD streams URL into SINK; 0 when the
 * whole body arrived with a 2xx status, else -1 with ERR set. */
struct iw_ercot_fetcher {
	const char *method;
	int (*download)(void *self, const char *url, iw_ercot_sink sink, void *ctx,
			char *err, size_t errlen);
	void *self;
	struct iw_run_lock *lock;   /* the run's lock, renewed per step (NULL: none) */
	const struct iw_progress *progress; /* per-file events (NULL: none) */
};

/* GET (or POST when BODY is set) with ERCOT's bounds (io/http's
 * iw_http_get; HEADERS: "Name: value" lines or NULL). 0 when a reply
 * arrived (any status), -1 on a transport failure. Free with iw_http_got_free. */
int iw_ercot_http_get(const char *url, const char *const *headers, const char *body,
		      struct iw_http_got *reply);
/* The same with a reply cap of MAX bytes (a longer reply fails, saying so). */
int iw_ercot_http_get_max(const char *url, const char *const *headers, const char *body,
			  size_t max, struct iw_http_got *reply);
/* Streams a GET of URL into SINK (only a 2xx body reaches it). STATUS gets
 * the HTTP status and RETRY_AFTER the Retry-After seconds (or -1). 0 when a
 * 2xx body arrived whole, else -1 with ERR set. */
int iw_ercot_http_stream(const char *url, const char *const *headers,
			 iw_ercot_sink sink, void *ctx, long *status, long *retry_after,
			 char *err, size_t errlen);


/* Downloads, checks, stores and indexes DOC for DAY; always records an
 * "ErcotIngest" row. Returns the per-file result object
 * {tdsp,filename,key,bytes,rows} / {tdsp,filename,skipped,reason} /
 * {tdsp,filename,error}, or NULL when out of memory. */
json_object *iw_ercot_ingest(const struct iw_ercot_doc *doc, const char *day,
			     const struct iw_ercot_fetcher *fetcher);

/* Streaming parser of the extract CSV into COPY text rows (exposed for tests
 * and the benchmark). */
struct iw_ercot_csv;
/* EMIT receives complete COPY text rows (22 columns, the address number and
 * normalised line of ercot/address.h, the ordinal; \N for empty). */
struct iw_ercot_csv *iw_ercot_csv_new(int (*emit)(const char *buf, size_t len, void *ctx),
				      void *ctx);
/* Feeds LEN bytes; 0 or -1 (a record over IW_ERCOT_ROW_MAX, or EMIT failed). */
int iw_ercot_csv_feed(struct iw_ercot_csv *p, const char *buf, size_t len);
/* Ends the input (a last record without a newline); 0 or -1. */
int iw_ercot_csv_finish(struct iw_ercot_csv *p);
long long iw_ercot_csv_rows(const struct iw_ercot_csv *p);     /* rows read (COPYed or filtered) */
/* Rows skipped: fewer than 19 fields, no ESIID, a NUL byte, an ESIID not UTF-8. */
long long iw_ercot_csv_bad_rows(const struct iw_ercot_csv *p);
/* Rows read (as rows counts them) whose bytes after the ESIID were not all
 * UTF-8: the stray ones read as Windows-1252 (core/utf8_fix.h). */
long long iw_ercot_csv_transcoded_rows(const struct iw_ercot_csv *p);
int iw_ercot_csv_columns(const struct iw_ercot_csv *p);        /* widest row seen, capped at 22 */
/* 1 when the rows' ESIIDs (as stored) were strictly ascending: none twice. */
int iw_ercot_csv_ascending(const struct iw_ercot_csv *p);
/* Asks KEEP about each row (its ESIID as stored, its values hash as COPY
 * text): 1 COPYs it, 0 drops it, -1 stops the parse. Rows must then come in
 * strictly ascending ESIID order, or the parse stops too; either way
 * iw_ercot_csv_filter_failed() is then 1. */
void iw_ercot_csv_set_filter(struct iw_ercot_csv *p,
			     int (*keep)(void *ctx, const char *esiid, size_t n, const char *hash),
			     void *ctx);
int iw_ercot_csv_filter_failed(const struct iw_ercot_csv *p);
void iw_ercot_csv_free(struct iw_ercot_csv *p);
/* The extract's column names (IW_ERCOT_COLUMNS of them). */
extern const char *const iw_ercot_column_names[IW_ERCOT_COLUMNS];
#endif
