/* Record framing of an SMT interval CSV (not for use outside smt/csv*.c):
 * chunks of any size in, one complete record at a time out, its line break
 * removed (line breaks inside quotes are kept). A record inside the caller's
 * chunk is passed in place; only one that spans chunks is copied, into the
 * carry buffer. A record longer than IW_SMT_CSV_LINE_MAX is reported instead
 * of passed, and framing starts again at the next line break: a stray quote
 * must not swallow the rest of the file. */
#ifndef IW_SMT_CSV_FRAME_H
#define IW_SMT_CSV_FRAME_H

#include <stddef.h>

struct iw_smt_csv_frame {
	/* Handlers; LINE is the record's first line (1-based). 0 goes on,
	 * anything else stops the feed and is returned by it. */
	int (*record)(void *ctx, const char *s, size_t n, long line);
	int (*too_long)(void *ctx, long line);
	void *ctx;
	long lines;       /* physical lines ended so far */
	char *carry;      /* the record spanning chunks */
	size_t carry_len;
	int pending;      /* a record has started */
	int overflow;     /* it exceeded IW_SMT_CSV_LINE_MAX */
	int quote_odd;    /* inside a quoted field */
	long rec_line;    /* its first line */
};

/* 0, or -1 when out of memory (then iw_smt_csv_frame_free is still safe). */
int iw_smt_csv_frame_init(struct iw_smt_csv_frame *r);
void iw_smt_csv_frame_free(struct iw_smt_csv_frame *r);
int iw_smt_csv_frame_feed(struct iw_smt_csv_frame *r, const char *buf, size_t len);
/* The end of the input: a last record without a line break is passed. */
int iw_smt_csv_frame_finish(struct iw_smt_csv_frame *r);
#endif
