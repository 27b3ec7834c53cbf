/* Byte codecs every layer shares. */
#ifndef IW_CODEC_H
#define IW_CODEC_H

#include <stddef.h>

/* Lower-case hex of the N bytes at IN into OUT (2 * N + 1 bytes). */
void iw_hex_encode(const unsigned char *in, size_t n, char *out);
#endif
