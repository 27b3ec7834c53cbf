/* The values of an SMT interval CSV row; see csv_values.h and, for the
 * DST rules, csv.c. */
#include "smt/csv_values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"

int iw_smt_csv_is_ws(char c)
{
	return c == ' ' || c == '\t';
}

struct field iw_smt_csv_trim(struct field f)
{
	while (f.n && iw_smt_csv_is_ws(f.s[0])) {
		f.s++;
		f.n--;
	}
	while (f.n && (iw_smt_csv_is_ws(f.s[f.n - 1]) || f.s[f.n - 1] == '\r'))
		f.n--;
	return f;
}

char iw_smt_csv_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Header names compare case-insensitively; ' ' and '-' count as '_'. */
int iw_smt_csv_name_eq(struct field f, const char *name)
{
	size_t i;

	for (i = 0; i < f.n && name[i]; i++) {
		char c = iw_smt_csv_upper(f.s[i]);

		if (c == ' ' || c == '-')
			c = '_';
		if (c != name[i])
			return 0;
	}
	return i == f.n && name[i] == '\0';
}

/* Splits one record (no line break at the end) into trimmed fields; RFC 4180
 * quotes removed and "" unescaped into SCRATCH (at least N bytes). Returns the
 * number of fields, of which the first MAXF are stored. */
int iw_smt_csv_split(const char *s, size_t n, struct field *f, int maxf, char *scratch)
{
	size_t i = 0;
	int nf = 0;
	char *out = scratch;

	for (;;) {
		struct field v;

		while (i < n && iw_smt_csv_is_ws(s[i]))
			i++;
		if (i < n && s[i] == '"') {
			size_t j = ++i;
			int esc = 0;
			const char *q, *c;

			for (;;) {
				q = memchr(s + j, '"', n - j);
				if (!q) {
					j = n; /* unclosed: the field runs to the end */
					break;
				}
				j = (size_t)(q - s);
				if (j + 1 < n && s[j + 1] == '"') {
					esc = 1;
					j += 2;
					continue;
				}
				break;
			}
			if (!esc) {
				v.s = s + i;
				v.n = j - i;
			} else {
				v.s = out;
				for (size_t k = i; k < j; k++) {
					*out++ = s[k];
					if (s[k] == '"')
						k++;
				}
				v.n = (size_t)(out - v.s);
			}
			/* Text between the closing quote and the comma is ignored. */
			i = j < n ? j + 1 : n;
			c = i < n ? memchr(s + i, ',', n - i) : NULL;
			i = c ? (size_t)(c - s) : n;
		} else {
			const char *c = i < n ? memchr(s + i, ',', n - i) : NULL;
			size_t e = c ? (size_t)(c - s) : n;

			v.s = s + i;
			v.n = e - i;
			i = e;
		}
		if (nf < maxf)
			f[nf] = iw_smt_csv_trim(v);
		nf++;
		if (i >= n)
			break;
		i++; /* the comma */
	}
	return nf;
}

static int iw_smt_csv_parse_uint(const char *s, size_t n, int *out)
{
	int v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* M/D/YYYY (SMT) or YYYY-MM-DD. */
int iw_smt_csv_parse_date(struct field f, int *y, int *m, int *d)
{
	const char *s = f.s, *e = f.s + f.n, *a, *b;

	if ((a = memchr(s, '/', f.n)) != NULL) {
		b = memchr(a + 1, '/', (size_t)(e - a - 1));
		if (!b || a - s > 2 || b - a - 1 > 2 || e - b - 1 != 4 ||
		    iw_smt_csv_parse_uint(s, (size_t)(a - s), m) || iw_smt_csv_parse_uint(a + 1, (size_t)(b - a - 1), d) ||
		    iw_smt_csv_parse_uint(b + 1, 4, y))
			return -1;
	} else if (f.n == 10 && s[4] == '-' && s[7] == '-') {
		if (iw_smt_csv_parse_uint(s, 4, y) || iw_smt_csv_parse_uint(s + 5, 2, m) || iw_smt_csv_parse_uint(s + 8, 2, d))
			return -1;
	} else {
		return -1;
	}
	if (*m < 1 || *m > 12 || *d < 1 || *d > iw_days_in_month(*y, *m))
		return -1;
	return 0;
}

/* H:MM or HH:MM, optionally :00 seconds; minutes of the day. 24:00 only when
 * ALLOW_24 (an end time). */
int iw_smt_csv_parse_time(struct field f, int allow_24, int *minutes)
{
	const char *c = memchr(f.s, ':', f.n);
	size_t hn, rest;
	int h, mi, sec;

	if (!c || (hn = (size_t)(c - f.s)) < 1 || hn > 2)
		return -1;
	rest = f.n - hn - 1;
	if (rest != 2 && rest != 5)
		return -1;
	if (iw_smt_csv_parse_uint(f.s, hn, &h) || iw_smt_csv_parse_uint(c + 1, 2, &mi))
		return -1;
	if (rest == 5 && (c[3] != ':' || iw_smt_csv_parse_uint(c + 4, 2, &sec) || sec != 0))
		return -1;
	if (mi > 59 || h > 24 || (h == 24 && (!allow_24 || mi != 0)))
		return -1;
	*minutes = h * 60 + mi;
	return 0;
}

static int weekday(int64_t days)
{
	return (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
}

static int nth_sunday(int y, int m, int nth)
{
	int wd = weekday(iw_days_from_civil(y, (unsigned)m, 1));

	return 1 + (7 - wd) % 7 + 7 * (nth - 1);
}

static int last_sunday(int y, int m)
{
	int last = iw_days_in_month(y, m);

	return last - weekday(iw_days_from_civil(y, (unsigned)m, (unsigned)last));
}

enum day_kind iw_smt_csv_day_kind(int y, int m, int d)
{
	int start, end, md = m * 100 + d;

	if (y >= 2007) {
		start = 300 + nth_sunday(y, 3, 2);
		end = 1100 + nth_sunday(y, 11, 1);
	} else {
		start = 400 + nth_sunday(y, 4, 1);
		end = 1000 + last_sunday(y, 10);
	}
	if (md < start || md > end)
		return DAY_CST;
	if (md == start)
		return DAY_SPRING;
	if (md == end)
		return DAY_FALL;
	return DAY_CDT;
}

int64_t iw_smt_csv_to_ms(int64_t day, int minute, int offset)
{
	return (day * MIN_PER_DAY + minute + offset) * 60000;
}

int iw_smt_csv_offset(enum day_kind kind, int minute, int fall_first, int *offset)
{
	switch (kind) {
	case DAY_CST:
		*offset = CST_OFFSET_MIN;
		return 0;
	case DAY_CDT:
		*offset = CDT_OFFSET_MIN;
		return 0;
	case DAY_SPRING:
		if (minute >= 120 && minute < 180)
			return -1;
		*offset = minute < 120 ? CST_OFFSET_MIN : CDT_OFFSET_MIN;
		return 0;
	case DAY_FALL:
		break;
	}
	if (minute < 60)
		*offset = CDT_OFFSET_MIN;
	else if (minute >= 120)
		*offset = CST_OFFSET_MIN;
	else
		*offset = fall_first ? CDT_OFFSET_MIN : CST_OFFSET_MIN;
	return 0;
}

int iw_smt_chicago_to_utc(int y, int m, int d, int minute, int is_dst, int64_t *ts_ms)
{
	int offset;

	if (y < MIN_YEAR || y > MAX_YEAR || m < 1 || m > 12 || d < 1 ||
	    d > iw_days_in_month(y, m) || minute < 0 || minute >= MIN_PER_DAY)
		return -1;
	if (iw_smt_csv_offset(iw_smt_csv_day_kind(y, m, d), minute, is_dst, &offset) != 0)
		return -1;
	*ts_ms = iw_smt_csv_to_ms(iw_days_from_civil(y, (unsigned)m, (unsigned)d), minute, offset);
	return 0;
}

/* Canonical numeric(10,5) text of a non-negative decimal; rounds half-up to
 * five fraction digits (*ROUNDED set). -1 when not a number or too large. */
int iw_smt_csv_parse_kwh(struct field f, char out[IW_SMT_CSV_KWH_MAX], int *rounded)
{
	const char *s = f.s, *e = f.s + f.n, *ip, *fp = NULL;
	size_t in = 0, fn = 0;
	char digits[KWH_INT_DIGITS + KWH_FRAC_DIGITS + 1];
	size_t nd, k;
	int carry = 0;
	char *o = out;

	*rounded = 0;
	while (s < e && *s == '0' && s + 1 < e && s[1] >= '0' && s[1] <= '9')
		s++; /* leading zeros */
	ip = s;
	while (s < e && *s >= '0' && *s <= '9')
		s++;
	in = (size_t)(s - ip);
	if (s < e && *s == '.') {
		fp = ++s;
		while (s < e && *s >= '0' && *s <= '9')
			s++;
		fn = (size_t)(s - fp);
	}
	if (s != e || in + fn == 0 || in > KWH_INT_DIGITS)
		return -1;
	if (in == 1 && *ip == '0')
		in = 0; /* "0.25": the integer part is written back as "0" */
	memcpy(digits, ip, in);
	nd = fn > KWH_FRAC_DIGITS ? KWH_FRAC_DIGITS : fn;
	if (nd)
		memcpy(digits + in, fp, nd);
	if (fn > KWH_FRAC_DIGITS) {
		*rounded = 1;
		carry = fp[KWH_FRAC_DIGITS] >= '5';
		for (k = in + nd; carry && k-- > 0;) {
			if (digits[k] == '9') {
				digits[k] = '0';
			} else {
				digits[k]++;
				carry = 0;
			}
		}
		if (carry) { /* 9.999996 -> 10.00000 */
			if (in == KWH_INT_DIGITS)
				return -1;
			*o++ = '1';
		}
	}
	if (in == 0 && !carry)
		*o++ = '0';
	memcpy(o, digits, in);
	o += in;
	if (nd) {
		*o++ = '.';
		memcpy(o, digits + in, nd);
		o += nd;
	}
	*o = '\0';
	return 0;
}
