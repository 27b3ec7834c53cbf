/* Invalid UTF-8 read as Windows-1252; see utf8_fix.h. */
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

size_t iw_utf8_put(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Windows-1252 at 0x80-0x9F (its five unassigned bytes kept as the C1
 * controls Latin-1 reads). */
static const unsigned short cp1252_80[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

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
			/* Above 0x9F the byte is the code point (Latin-1). */
			o += iw_utf8_put(out + o, p[i] < 0xA0 ? cp1252_80[p[i] - 0x80] : p[i]);
			i++;
		}
	}
	return o;
}

char *iw_utf8_repair(const char *s, size_t n, size_t *outn)
{
	char *out = malloc(3 * n + 1);

	if (!out)
		return NULL;
	*outn = iw_utf8_repair_to(s, n, out);
	out[*outn] = '\0';
	return out;
}
