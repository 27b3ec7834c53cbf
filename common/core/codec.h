/* Byte codecs every layer shares. */
#ifndef IW_CODEC_H
#define IW_CODEC_H

#include <stddef.h>

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
#endif
