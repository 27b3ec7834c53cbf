/* Invalid UTF-8 read as Latin-1; see utf8_fix.h. */
#include "core/utf8_fix.h"

#include <stdlib.h>

size_t iw_utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

int iw_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t l = iw_utf8_seq_len(p + i, n - i);
		if (!l)
			return 0;
		i += l;
	}
	return 1;
}

size_t iw_utf8_repair_to(const char *s, size_t n, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t l = iw_utf8_seq_len(p + i, n - i);
		if (l) {
			for (size_t k = 0; k < l; k++)
				out[o++] = (char)p[i + k];
			i += l;
		} else {
			/* Latin-1: the byte is the code point (0x80..0xFF). */
			out[o++] = (char)(0xC0 | (p[i] >> 6));
			out[o++] = (char)(0x80 | (p[i] & 0x3F));
			i++;
		}
	}
	return o;
}

char *iw_utf8_repair(const char *s, size_t n, size_t *outn)
{
	char *out = malloc(2 * n + 1);

	if (!out)
		return NULL;
	*outn = iw_utf8_repair_to(s, n, out);
	out[*outn] = '\0';
	return out;
}
