/* Streaming parser for Smart Meter Texas interval CSV exports (SPEC §5).
 *
 * Pure: no database, no network, no global state. The caller feeds arbitrary
 * chunks of the file; every complete 15-minute interval row is handed to a
 * callback with its start converted from America/Chicago wall time to UTC.
 *
 *   struct iw_smt_csv *p = iw_smt_csv_new(on_row, ctx);
 *   while (more) if ((rc = iw_smt_csv_feed(p, buf, n)) != 0) goto fail;
 *   rc = iw_smt_csv_finish(p);
 *   st = iw_smt_csv_stats(p);
 *   iw_smt_csv_free(p);
 *
 * Rules (see smt/csv.c for the details):
 * - Columns are found by header name (case-insensitive, trimmed, any order,
 *   extra columns ignored). USAGE_DATE, USAGE_START_TIME and USAGE_KWH are
 *   required; ESIID, USAGE_END_TIME, ESTIMATED_ACTUAL and
 *   CONSUMPTION_SURPLUSGENERATION are optional. Up to IW_SMT_CSV_PREAMBLE_MAX
 *   non-blank lines before the header are skipped.
 * - UTF-8 BOM, CRLF or LF, RFC 4180 quoting ("" escapes, separators and line
 *   breaks inside quotes) are accepted. Blank lines (also ",,,,") are ignored.
 * - kWh is passed on as an exact decimal string in the form the database keeps
 *   (numeric(10,5)): leading zeros dropped, ".5" -> "0.5", more than five
 *   fraction digits rounded half-up to five (counted in kwh_rounded), values
 *   >= 100000 or negative or non-numeric are malformed. Empty kWh -> the row is
 *   skipped and counted as blank (SMT's spring-forward gap rows).
 * - ESTIMATED_ACTUAL starting with E -> estimated; anything else (A, empty)
 *   -> not. CONSUMPTION_SURPLUSGENERATION: empty or C... -> 'C'; G... or S...
 *   -> 'G'; anything else is malformed (a wrong flow would overwrite data).
 * - ESIID: a leading ' and spaces are stripped, then 17-22 digits.
 * - Malformed rows (bad date/time/kWh/ESIID/flow, a time in the DST gap,
 *   wrong field count, a record over IW_SMT_CSV_LINE_MAX) are counted, never
 *   fatal; the first IW_SMT_CSV_REASONS are kept with their line numbers.
 * - Rows of one ESIID, date and flow must be in time order (as SMT writes
 *   them): that is how the repeated hour of the fall-back day is told apart.
 */
#ifndef IW_SMT_CSV_H
#define IW_SMT_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "core/validate.h"

#define IW_SMT_CSV_LINE_MAX     (64 * 1024) /* longest record; longer -> malformed */
#define IW_SMT_CSV_FIELDS_MAX   64          /* columns looked at per record */
#define IW_SMT_CSV_PREAMBLE_MAX 16          /* non-header lines tolerated before it */
#define IW_SMT_CSV_REASONS      5           /* malformed-row reasons kept */
#define IW_SMT_CSV_REASON_LEN   128
#define IW_SMT_CSV_KWH_MAX      24          /* canonical kWh string incl. NUL */

/* Error returns of feed/finish. A non-zero callback return is passed through
 * unchanged, so callbacks should abort with positive codes. */
enum iw_smt_csv_err {
	IW_SMT_CSV_OK = 0,
	IW_SMT_CSV_ENOHEADER = -1, /* no interval header: the caller answers 400 */
	IW_SMT_CSV_ENOMEM = -2,
	IW_SMT_CSV_ESTATE = -3,    /* feed after finish */
};

/* One interval. Pointers are valid only during the callback. */
struct iw_smt_interval {
	const char *esiid;  /* normalised: 17-22 digits */
	int64_t ts_ms;      /* interval start, UTC, ms since the epoch */
	const char *kwh;    /* canonical non-negative decimal, <= 5 fraction digits */
	int estimated;      /* ESTIMATED_ACTUAL was E */
	char flow;          /* 'C' consumption, 'G' surplus generation */
	long line;          /* 1-based line of the record in the file */
};

struct iw_smt_csv_reason {
	long line;
	char msg[IW_SMT_CSV_REASON_LEN];
};

struct iw_smt_csv_stats {
	int header_found;
	long lines;           /* physical lines consumed */
	long rows;            /* intervals handed to the callback */
	long blank;           /* rows with an empty kWh, skipped */
	long malformed;       /* rows rejected */
	long kwh_rounded;     /* kWh values rounded to 5 fraction digits */
	int nreasons;         /* <= IW_SMT_CSV_REASONS */
	struct iw_smt_csv_reason reasons[IW_SMT_CSV_REASONS];
	int64_t min_ts_ms, max_ts_ms; /* valid when rows > 0 */
	char esiid[IW_ESIID_MAX + 1]; /* first ESIID emitted, "" if none */
	int multiple_esiids;  /* rows of more than one ESIID were emitted */
};

typedef int (*iw_smt_csv_row_fn)(const struct iw_smt_interval *row, void *ctx);

struct iw_smt_csv;

/* NULL on allocation failure. ON_ROW may be NULL (count only). */
struct iw_smt_csv *iw_smt_csv_new(iw_smt_csv_row_fn on_row, void *ctx);
/* ESIID used when the file has no ESIID column or a row's ESIID is empty
 * (e.g. from ?esiid=). Returns -1 if it is not a valid ESIID. */
int iw_smt_csv_set_esiid(struct iw_smt_csv *p, const char *esiid);
/* 0, an enum iw_smt_csv_err, or the callback's non-zero return. Errors are
 * sticky: later calls return the same code. */
int iw_smt_csv_feed(struct iw_smt_csv *p, const char *buf, size_t len);
/* Parses a last line without a line break; IW_SMT_CSV_ENOHEADER if no header
 * was ever found. */
int iw_smt_csv_finish(struct iw_smt_csv *p);
const struct iw_smt_csv_stats *iw_smt_csv_stats(const struct iw_smt_csv *p);
void iw_smt_csv_free(struct iw_smt_csv *p);
const char *iw_smt_csv_strerror(int rc);

/* Whether the first non-blank line of BUF (a file's first bytes) is the header
 * of an interval file (has USAGE_START_TIME and USAGE_KWH) rather than another
 * SMT CSV such as a billing or daily read export. */
int iw_smt_csv_is_interval_header(const char *buf, size_t len);

/* America/Chicago wall time -> UTC, DST computed from the date (US rules of
 * 2007 on, and of 1987-2006). IS_DST picks the side of the ambiguous
 * fall-back hour; a time in the spring-forward gap returns -1. */
int iw_smt_chicago_to_utc(int y, int m, int d, int minute_of_day, int is_dst,
			  int64_t *ts_ms);
#endif
