/* A growable byte buffer (answers being built, upstream replies being read),
 * with a size cap so a large result cannot exhaust memory. */
#ifndef IW_BUF_H
#define IW_BUF_H

#include <stddef.h>

#include "core/log.h"

#define IW_BUF_DEFAULT_MAX (32u * 1024 * 1024)

struct iw_buf {
	char *data;    /* NUL-terminated while len > 0 */
	size_t len;
	size_t cap;
	size_t max;    /* 0: IW_BUF_DEFAULT_MAX */
	int failed;    /* sticky: out of memory or over max */
};

/* Appends; on failure marks the buffer failed and returns -1. */
int iw_buf_put(struct iw_buf *b, const char *s, size_t n);
int iw_buf_puts(struct iw_buf *b, const char *s);
int iw_buf_printf(struct iw_buf *b, const char *fmt, ...) IW_PRINTF(2, 3);
/* Hands the data over (caller frees); the buffer is empty afterwards.
 * Returns NULL when the buffer failed. */
char *iw_buf_take(struct iw_buf *b, size_t *len);
void iw_buf_free(struct iw_buf *b);
#endif
