/* SMT file ingest (SPEC §5): the decoded bytes of a pulled file are spooled
 * once to an unlinked temporary file while their sha256 is computed; then a
 * file whose sha256 is known is answered as a duplicate, and a new one is
 * loaded (interval rows -> UsageIntervalModule -> SmtInterval, or billing
 * rows -> SmtBillingRead), stored at smt/raw/YYYY-MM-DD/<sha256>-<filename>
 * and recorded in raw_smt_files, in that order, the master side in one
 * transaction: a file is "known" only once all of it has landed.
 *
 *   struct iw_smt_spool *s = iw_smt_spool_new(IW_SMT_GZIP, cap, err, sizeof err);
 *   iw_smt_spool_feed(s, chunk, n) ...;   iw_smt_spool_finish(s);
 *   iw_smt_ingest(&file, s, &body, error);
 *   iw_smt_spool_free(s);
 */
#ifndef IW_SMT_INGEST_H
#define IW_SMT_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "core/progress.h"
#include "core/validate.h"
#include "smt/spool.h"

struct iw_error;

#define IW_SMT_INLINE_BODY_MAX    (8u * 1024 * 1024)    /* inline JSON request */
#define IW_SMT_INLINE_DECODED_MAX (64u * 1024 * 1024)   /* inline content, decoded */
#define IW_SMT_UPLOAD_MAX         (256u * 1024 * 1024)  /* upload body, and decoded */
#define IW_SMT_FILENAME_MAX       200                   /* sanitised filename */
#define IW_SMT_METER_MAX          64
#define IW_SMT_SOURCE_MAX         64
#define IW_SMT_METER_DEFAULT      "unknown"  /* meter of rows when the request names none */
#define IW_SMT_SOURCE_DEFAULT     "smt"
#define IW_SMT_MALFORMED_SHOWN    5          /* malformed rows listed in the answer */

/* A file to ingest. Strings are borrowed. */
struct iw_smt_file {
	const char *mode;          /* "inline" or "upload", echoed */
	const char *filename;      /* as given; sanitised by iw_smt_ingest */
	const char *esiid;         /* normalised, or NULL: the file's own */
	const char *meter;         /* NULL: IW_SMT_METER_DEFAULT */
	const char *source;        /* NULL: IW_SMT_SOURCE_DEFAULT */
	const char *content_type;  /* stored as the object's type; NULL: text/csv */
	const char *captured_at;   /* ISO-8601 UTC or NULL */
	long long size_expected;   /* -1: not given */
	/* Events {event:"pull",phase:"stored"|"loaded",bytes,rows?} after the
	 * store and the row load (NULL: none). */
	const struct iw_progress *progress;
};

/* Basename of NAME in [A-Za-z0-9._-] (others -> '_', no leading '.'),
 * at most IW_SMT_FILENAME_MAX bytes; "upload.csv" when nothing is left. */
void iw_smt_filename_sanitize(const char *name, char out[IW_SMT_FILENAME_MAX + 1]);
/* 1 when NAME marks a billing/daily read export (SPEC §5). */
int iw_smt_is_billing_name(const char *name);

/* Dedupes, loads, stores and records the spooled file; on success sets
 * *BODY to the answer's fields and returns 0, else returns the enum iw_err
 * set in ERROR. Never leaves a transaction open. */
int iw_smt_ingest(const struct iw_smt_file *file, struct iw_smt_spool *spool,
		  json_object **body, struct iw_error *error);
#endif
