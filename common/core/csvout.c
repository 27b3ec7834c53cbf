#include "core/csvout.h"

#include <string.h>

/* A plain decimal number ("-12", "-0.5", "-1e-3"): a spreadsheet reads it
 * as a number, never as a formula, so it keeps its sign. */
static int plain_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits && i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t exp = 0;
		if (++i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			exp++;
		if (!exp)
			return 0;
	}
	return digits && i == n;
}

int iw_csv_formula_like(const char *s, size_t n)
{
	if (!s || n == 0 || !strchr("=+-@\t\r", s[0]) || s[0] == '\0')
		return 0;
	return !plain_number(s, n);
}

int iw_csv_field(struct iw_buf *b, const char *s, size_t n, int first)
{
	size_t run = 0;
	int guard;

	if (!first && iw_buf_put(b, ",", 1) != 0)
		return -1;
	if (!s || n == 0)
		return 0;
	/* OWASP CSV injection: a cell a spreadsheet would run as a formula gets
	 * a leading ' so it is shown as text. */
	guard = iw_csv_formula_like(s, n);
	/* RFC 4180 §2.6: quote fields holding line breaks, quotes or commas. */
	{
		int quote = 0;
		for (size_t i = 0; i < n && !quote; i++)
			quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
		if (!quote)
			return (guard && iw_buf_put(b, "'", 1) != 0) ? -1 : iw_buf_put(b, s, n);
	}
	if (iw_buf_put(b, guard ? "\"'" : "\"", guard ? 2 : 1) != 0)
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
