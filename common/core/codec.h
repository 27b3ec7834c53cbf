/* Byte codecs every layer shares. */
#ifndef IW_CODEC_H
#define IW_CODEC_H

#include <stddef.h>

#include <zlib.h>

/* Lower-case hex of the N bytes at IN into OUT (2 * N + 1 bytes). */
void iw_hex_encode(const unsigned char *in, size_t n, char *out);
/* Decodes base64 (standard alphabet, padding required, white space and line
 * breaks ignored) into a malloc'd buffer of *OUT_LEN bytes; NULL when S is
 * not base64 or memory ran out. The cleaned copy of S is wiped (secrets). */
unsigned char *iw_base64_decode(const char *s, size_t slen, size_t *out_len);
/* Inflates gzip or zlib data (one stream) into a malloc'd NUL-terminated
 * buffer of *OUT_LEN bytes; NULL when corrupt, truncated, over MAX bytes or
 * out of memory. */
char *iw_inflate_all(const unsigned char *in, size_t in_len, size_t max, size_t *out_len);

/* Where a streaming decoder hands its output, N bytes at a time: 0 to go
 * on, anything else stops the decoder and is returned by it. */
typedef int (*iw_codec_emit)(void *ctx, const unsigned char *p, size_t n);

#define IW_CODEC_INVALID 1 /* the input is not base64 / not a complete stream */
#define IW_CODEC_CHUNK   (48 * 1024)

/* Streaming base64: the standard alphabet, space, tab, CR and LF skipped,
 * '=' padding only at the end (a missing one tolerated). Zero it to start. */
struct iw_b64_stream {
	unsigned quad, n, pad;
	size_t outn;
	unsigned char out[IW_CODEC_CHUNK];
};
/* Decodes LEN characters of S: 0, IW_CODEC_INVALID, or EMIT's return. */
int iw_b64_feed(struct iw_b64_stream *d, const char *s, size_t len, iw_codec_emit emit, void *ctx);
/* Ends the text (checks its last group) and emits what is left. */
int iw_b64_finish(struct iw_b64_stream *d, iw_codec_emit emit, void *ctx);

/* Streaming inflate. WBITS as zlib's inflateInit2 (16 + 15: gzip only,
 * 32 + 15: gzip or zlib); MEMBERS: concatenated streams (gzip members) go
 * on, else input after the first stream's end is ignored. */
struct iw_inflate_stream {
	z_stream z;
	int wbits, members, init, ended;
	unsigned char out[IW_CODEC_CHUNK];
};
void iw_inflate_start(struct iw_inflate_stream *f, int wbits, int members);
/* Inflates LEN bytes at P: 0, IW_CODEC_INVALID (corrupt), -1 (zlib could
 * not start), or EMIT's return. */
int iw_inflate_feed(struct iw_inflate_stream *f, const unsigned char *p, size_t len,
		    iw_codec_emit emit, void *ctx);
/* 1 when a stream ended (and no member was begun after it). */
int iw_inflate_complete(const struct iw_inflate_stream *f);
void iw_inflate_end(struct iw_inflate_stream *f);
#endif
