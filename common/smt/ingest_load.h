/* What the three parts of SMT ingest share (not for use elsewhere):
 * ingest.c (the whole file), load.c (the general load through a temporary
 * table) and direct.c (the direct load into a window nobody has written). */
#ifndef IW_SMT_INGEST_LOAD_H
#define IW_SMT_INGEST_LOAD_H

#include <stddef.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "smt/csv.h"
#include "smt/ingest.h"

#define SPOOL_CHUNK      (64 * 1024)   /* inflate output / read-back chunk */
#define B64_CHUNK        (48 * 1024)   /* decoded bytes per flush */
#define COPY_BUF         (256 * 1024)  /* COPY data sent per PQputCopyData */
#define COPY_BACKLOG_MAX (4 * 1024 * 1024) /* direct load: queued per connection */
#define SNIFF_BYTES      4096
#define MAX_FILE_ESIIDS  4096          /* ESIIDs of one file normalised */
#define PARSE_EIO (-100) /* reading the spool failed (errno set) */

/* The COPY of parsed rows in progress. The temporary-table rows carry the
 * line number (the later repeat wins); the direct rows carry the columns of
 * the target tables, whose column lists are the same in both databases. */
struct load {
	PGconn *usage;
	PGconn *master;          /* direct load: the same rows into SmtInterval too */
	int direct;
	const char *meter_copy;  /* direct load: COPY-escaped meter and source */
	const char *source_copy;
	size_t meter_len, source_len;
	size_t backlog;          /* bytes queued since both were last drained */
	char *buf;
	size_t n;
	char err[256];
	char state[6];           /* SQLSTATE of the first failure */
};

struct interval_result {
	struct iw_smt_csv_stats st;
	long long distinct, inserted, updated;
	char (*esiids)[IW_ESIID_MAX + 1];
	size_t nesiids;
};

struct direct_result {
	int usage_done;   /* the rows are in UsageIntervalModule, committed */
	int master_done;  /* ... and in SmtInterval, in the caller's transaction */
};

/* Sends what is queued on both connections (direct load). 0 or -1 (ERR). */
int iw_smt_load_flush_both(PGconn *a, PGconn *b, char *err, size_t errlen);
/* Sends L's buffered COPY rows. 0 or -1 (l->err). */
int iw_smt_load_flush(struct load *l);
/* iw_smt_csv row callback: one interval row into L's COPY buffer. */
int iw_smt_load_on_interval(const struct iw_smt_interval *row, void *arg);
/* Feeds the spooled file FD through parser P (CHUNK: SPOOL_CHUNK bytes):
 * the parser's result, or PARSE_EIO. */
int iw_smt_load_parse_spool(int fd, struct iw_smt_csv *p, char *chunk);
/* Parses the spool into the usage database (its own transaction, committed).
 * Returns 0, or the enum iw_err set in ERROR. */
int iw_smt_load_intervals(int fd, const struct iw_smt_file *file, const char *meter,
			  const char *source, struct interval_result *res, struct iw_error *error);
/* The direct load (direct.c): 0 with OUT saying how far it got, or the
 * enum iw_err set in ERROR. */
int iw_smt_load_direct(int fd, const struct iw_smt_file *file, const char *meter,
		       const char *source, PGconn *master, struct interval_result *res,
		       struct direct_result *out, struct iw_error *error);
/* Normalises the file's ESIIDS (in chunks the filter allows) over its
 * [min, max] interval starts into SmtInterval, summed into SUM; IN_TX as
 * iw_usage_normalize. 0, or the enum iw_err set in ERROR. */
struct iw_usage_summary;
int iw_smt_normalize_file(const struct interval_result *ir, int in_tx,
			  struct iw_usage_summary *sum, struct iw_error *error);
#endif
