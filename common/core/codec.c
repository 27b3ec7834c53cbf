#include "core/codec.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "core/buf.h"

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

/* core/buf.h as an emit: a growable buffer with its cap (max). */
static int buf_emit(void *ctx, const unsigned char *p, size_t n)
{
	return iw_buf_put(ctx, (const char *)p, n) == 0 ? 0 : -1;
}

unsigned char *iw_base64_decode(const char *s, size_t slen, size_t *out_len)
{
	struct iw_b64_stream *d = calloc(1, sizeof *d);
	struct iw_buf b = { .max = (size_t)0x7ffffff0 };
	unsigned char *out = NULL;

	if (!d)
		return NULL;
	/* Padding required here: whole groups of four (the last one's
	 * characters and '='s), and something decoded. */
	if (iw_b64_feed(d, s, slen, buf_emit, &b) == 0 && (d->n + d->pad) % 4 == 0 &&
	    iw_b64_finish(d, buf_emit, &b) == 0 && b.len > 0)
		out = (unsigned char *)iw_buf_take(&b, out_len);
	if (!out && b.data)
		OPENSSL_cleanse(b.data, b.cap); /* decoded secrets of a refused text */
	iw_buf_free(&b);
	OPENSSL_cleanse(d, sizeof *d); /* it held decoded bytes (secrets) */
	free(d);
	return out;
}

char *iw_inflate_all(const unsigned char *in, size_t in_len, size_t max, size_t *out_len)
{
	struct iw_inflate_stream *f = malloc(sizeof *f);
	struct iw_buf b = { .max = max };
	char *out = NULL;

	if (!f)
		return NULL;
	iw_inflate_start(f, 15 + 32, 0);
	if (iw_inflate_feed(f, in, in_len, buf_emit, &b) == 0 && iw_inflate_complete(f))
		out = iw_buf_take(&b, out_len);
	iw_buf_free(&b);
	iw_inflate_end(f);
	free(f);
	return out;
}
