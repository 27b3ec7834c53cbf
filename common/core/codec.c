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

unsigned char *iw_base64_decode(const char *s, size_t slen, size_t *out_len)
{
	char *clean = malloc(slen + 4);
	unsigned char *out = NULL;
	size_t n = 0, pad = 0;
	int got;

	if (!clean)
		return NULL;
	for (size_t i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (isalnum(c) || c == '+' || c == '/' || c == '=')
			clean[n++] = (char)c;
		else if (!isspace(c))
			goto out;
	}
	if (n == 0 || n % 4 != 0 || n > (size_t)0x7ffffff0)
		goto out;
	pad = (clean[n - 1] == '=') + (clean[n - 2] == '=');
	if (!(out = malloc(n / 4 * 3 + 1)))
		goto out;
	got = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
	if (got < 0 || (size_t)got < pad) {
		free(out);
		out = NULL;
		goto out;
	}
	*out_len = (size_t)got - pad;
out:
	OPENSSL_cleanse(clean, slen + 4);
	free(clean);
	return out;
}

char *iw_inflate_all(const unsigned char *in, size_t in_len, size_t max, size_t *out_len)
{
	z_stream zs;
	size_t cap = in_len * 4 + 4096, len = 0;
	char *out = NULL, *grown;
	int zr;

	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return NULL;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)in_len;
	do {
		if (cap > max + 1)
			cap = max + 1;
		if (!(grown = realloc(out, cap)))
			goto fail;
		out = grown;
		zs.next_out = (Bytef *)out + len;
		zs.avail_out = (uInt)(cap - len - 1);
		zr = inflate(&zs, Z_NO_FLUSH);
		len = cap - 1 - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			goto fail;
		if (zs.avail_out == 0) {
			if (cap > max)
				goto fail;          /* over the cap */
			cap *= 2;
		} else if (zs.avail_in == 0) {
			goto fail;                  /* truncated */
		}
	} while (1);
	inflateEnd(&zs);
	out[len] = '\0';
	*out_len = len;
	return out;
fail:
	inflateEnd(&zs);
	free(out);
	return NULL;
}
