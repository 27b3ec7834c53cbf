#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IW_BUF_MIN_CAP 4096

static int grow(struct iw_buf *b, size_t need)
{
	size_t max = b->max ? b->max : IW_BUF_DEFAULT_MAX;
	size_t cap;
	char *p;

	if (b->failed)
		return -1;
	if (need > max || b->len > max - need) {
		b->failed = 1;
		return -1;
	}
	if (b->len + need + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : IW_BUF_MIN_CAP;
	while (cap < b->len + need + 1)
		cap *= 2;
	if (!(p = realloc(b->data, cap))) {
		b->failed = 1;
		return -1;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int iw_buf_put(struct iw_buf *b, const char *s, size_t n)
{
	if (grow(b, n) != 0)
		return -1;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int iw_buf_puts(struct iw_buf *b, const char *s)
{
	return iw_buf_put(b, s, strlen(s));
}

int iw_buf_printf(struct iw_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || grow(b, (size_t)n) != 0) {
		b->failed = 1;
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *iw_buf_take(struct iw_buf *b, size_t *len)
{
	char *out;

	if (!b->failed && !b->data && grow(b, 0) == 0)
		b->data[0] = '\0';
	if (b->failed) {
		iw_buf_free(b);
		return NULL;
	}
	out = b->data;
	*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return out;
}

void iw_buf_free(struct iw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = 0;
}
