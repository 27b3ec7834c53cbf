#include "core/html.h"

#include <string.h>

int iw_html_escape_n(struct iw_buf *b, const char *s, size_t n)
{
	size_t run = 0; /* start of the pending run of plain bytes */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep;

		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				rep = "\xEF\xBF\xBD";
			else if (c == 0x7f)
				rep = "\xEF\xBF\xBD";
			else
				continue;
		}
		if (i > run && iw_buf_put(b, s + run, i - run) != 0)
			return -1;
		if (iw_buf_puts(b, rep) != 0)
			return -1;
		run = i + 1;
	}
	return n > run ? iw_buf_put(b, s + run, n - run) : 0;
}

int iw_html_escape(struct iw_buf *b, const char *s)
{
	return iw_html_escape_n(b, s ? s : "", s ? strlen(s) : 0);
}

int iw_url_encode(struct iw_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char enc[3];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			if (iw_buf_put(b, (const char *)&c, 1) != 0)
				return -1;
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
		if (iw_buf_put(b, enc, 3) != 0)
			return -1;
	}
	return 0;
}

size_t iw_utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	if (n == len)
		return n;
	/* Back up over continuation bytes to the start of the cut sequence. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int iw_html_hidden(struct iw_buf *b, const char *name, const char *value)
{
	iw_buf_puts(b, "<input type=\"hidden\" name=\"");
	iw_html_escape(b, name);
	iw_buf_puts(b, "\" value=\"");
	iw_html_escape(b, value);
	return iw_buf_puts(b, "\">");
}
