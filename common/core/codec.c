#include "core/codec.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

void iw_hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- streaming base64 ---- */

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

static int b64_flush(struct iw_b64_stream *d, iw_codec_emit emit, void *ctx)
{
	size_t n = d->outn;

	d->outn = 0;
	return n ? emit(ctx, d->out, n) : 0;
}

static int b64_put(struct iw_b64_stream *d, unsigned char c, iw_codec_emit emit, void *ctx)
{
	d->out[d->outn++] = c;
	return d->outn == sizeof d->out ? b64_flush(d, emit, ctx) : 0;
}

int iw_b64_feed(struct iw_b64_stream *d, const char *s, size_t len, iw_codec_emit emit, void *ctx)
{
	int rc;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], v;
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			if (d->n < 2 || ++d->pad > 2)
				return IW_CODEC_INVALID;
			continue;
		}
		if (d->pad || (v = b64_value(c)) < 0)
			return IW_CODEC_INVALID;
		d->quad = (d->quad << 6) | (unsigned)v;
		if (++d->n == 4) {
			if ((rc = b64_put(d, (unsigned char)(d->quad >> 16), emit, ctx)) ||
			    (rc = b64_put(d, (unsigned char)(d->quad >> 8), emit, ctx)) ||
			    (rc = b64_put(d, (unsigned char)d->quad, emit, ctx)))
				return rc;
			d->n = 0;
			d->quad = 0;
		}
	}
	return 0;
}

int iw_b64_finish(struct iw_b64_stream *d, iw_codec_emit emit, void *ctx)
{
	unsigned q = d->quad;
	int rc = 0;

	switch (d->n) {
	case 0:
		if (d->pad)
			return IW_CODEC_INVALID;
		break;
	case 1:
		return IW_CODEC_INVALID;
	case 2:
		if ((q & 0xF) || (d->pad && d->pad != 2))
			return IW_CODEC_INVALID;
		rc = b64_put(d, (unsigned char)(q >> 4), emit, ctx);
		break;
	case 3:
		if ((q & 0x3) || (d->pad && d->pad != 1))
			return IW_CODEC_INVALID;
		if (!(rc = b64_put(d, (unsigned char)(q >> 10), emit, ctx)))
			rc = b64_put(d, (unsigned char)(q >> 2), emit, ctx);
		break;
	}
	if (rc)
		return rc;
	d->n = d->pad = 0;
	d->quad = 0;
	return b64_flush(d, emit, ctx);
}

/* ---- streaming inflate ---- */

void iw_inflate_start(struct iw_inflate_stream *f, int wbits, int members)
{
	memset(&f->z, 0, sizeof f->z);
	f->wbits = wbits;
	f->members = members;
	f->init = f->ended = 0;
}

int iw_inflate_feed(struct iw_inflate_stream *f, const unsigned char *p, size_t len,
		    iw_codec_emit emit, void *ctx)
{
	if (!f->init) {
		if (inflateInit2(&f->z, f->wbits) != Z_OK)
			return -1;
		f->init = 1;
	}
	f->z.next_in = (unsigned char *)p;
	f->z.avail_in = (uInt)len;
	for (;;) {
		size_t produced;
		int zr, rc;

		if (f->ended) {
			if (f->z.avail_in == 0 || !f->members)
				return 0;
			/* Another member follows (gzip files may be concatenated). */
			if (inflateReset(&f->z) != Z_OK)
				return IW_CODEC_INVALID;
			f->ended = 0;
		}
		f->z.next_out = f->out;
		f->z.avail_out = sizeof f->out;
		zr = inflate(&f->z, Z_NO_FLUSH);
		produced = sizeof f->out - f->z.avail_out;
		/* Bombs stop in EMIT: it refuses past its cap. */
		if (produced && (rc = emit(ctx, f->out, produced)) != 0)
			return rc;
		if (zr == Z_STREAM_END) {
			f->ended = 1;
			continue;
		}
		if (zr == Z_BUF_ERROR || (zr == Z_OK && f->z.avail_in == 0 && produced < sizeof f->out))
			return 0; /* needs more input */
		if (zr != Z_OK)
			return IW_CODEC_INVALID;
	}
}

int iw_inflate_complete(const struct iw_inflate_stream *f)
{
	return f->ended;
}

void iw_inflate_end(struct iw_inflate_stream *f)
{
	if (f->init)
		inflateEnd(&f->z);
	f->init = 0;
}

/* ---- whole buffers ---- */

struct capped {
	unsigned char *data;
	size_t len, cap, max;
};

static int capped_put(void *ctx, const unsigned char *p, size_t n)
{
	struct capped *b = ctx;
	unsigned char *grown;

	if (n > b->max - b->len)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(grown = realloc(b->data, cap)))
			return -1;
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* B's bytes, NUL-terminated (an empty buffer too), or NULL. */
static unsigned char *capped_take(struct capped *b, size_t *len)
{
	if (!b->data && capped_put(b, (const unsigned char *)"", 0) != 0)
		return NULL;
	*len = b->len;
	return b->data;
}

unsigned char *iw_base64_decode(const char *s, size_t slen, size_t *out_len)
{
	struct iw_b64_stream *d = calloc(1, sizeof *d);
	struct capped b = { .max = (size_t)0x7ffffff0 };
	unsigned char *out = NULL;
	size_t n = 0;

	if (!d)
		return NULL;
	for (size_t i = 0; i < slen; i++)
		n += !isspace((unsigned char)s[i]);
	/* Padding required here: whole groups of four. */
	if (n && n % 4 == 0 && iw_b64_feed(d, s, slen, capped_put, &b) == 0 &&
	    iw_b64_finish(d, capped_put, &b) == 0)
		out = capped_take(&b, out_len);
	if (!out && b.data) {
		OPENSSL_cleanse(b.data, b.cap);
		free(b.data);
	}
	OPENSSL_cleanse(d, sizeof *d); /* it held decoded bytes (secrets) */
	free(d);
	return out;
}

char *iw_inflate_all(const unsigned char *in, size_t in_len, size_t max, size_t *out_len)
{
	struct iw_inflate_stream *f = malloc(sizeof *f);
	struct capped b = { .max = max };
	char *out = NULL;

	if (!f)
		return NULL;
	iw_inflate_start(f, 15 + 32, 0);
	if (iw_inflate_feed(f, in, in_len, capped_put, &b) == 0 && iw_inflate_complete(f))
		out = (char *)capped_take(&b, out_len);
	if (!out)
		free(b.data);
	iw_inflate_end(f);
	free(f);
	return out;
}
