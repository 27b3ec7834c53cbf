#include "explorer_csv.h"

#include <string.h>

int iw_csv_field(struct iw_buf *b, const char *s, size_t n, int first)
{
	size_t run = 0;

	if (!first && iw_buf_put(b, ",", 1) != 0)
		return -1;
	if (!s || n == 0)
		return 0;
	/* RFC 4180 §2.6: quote fields holding line breaks, quotes or commas. */
	{
		int quote = 0;
		for (size_t i = 0; i < n && !quote; i++)
			quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
		if (!quote)
			return iw_buf_put(b, s, n);
	}
	if (iw_buf_put(b, "\"", 1) != 0)
		return -1;
	/* §2.7: a quote inside a quoted field is doubled. */
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '"')
			continue;
		if (iw_buf_put(b, s + run, i + 1 - run) != 0 || iw_buf_put(b, "\"", 1) != 0)
			return -1;
		run = i + 1;
	}
	if (iw_buf_put(b, s + run, n - run) != 0)
		return -1;
	return iw_buf_put(b, "\"", 1);
}

int iw_csv_end_row(struct iw_buf *b)
{
	return iw_buf_put(b, "\r\n", 2);
}
