/* ERCOT file names, days and times: TDSP codes, safe filenames, dates. */
#include "ercot/names.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/time.h"
#include "ercot/ingest.h"

/* Known TDSPs: a cleaned name equal to an alias, or starting with alias + "_",
 * gets the code. Anything else keeps its cleaned name. */
static const struct {
	const char *alias, *code;
} tdsp_aliases[] = {
	{ "ONCOR", "ONCOR" },             /* ONCOR_ELEC */
	{ "CENTERPOINT", "CENTERPOINT" },
	{ "CNP", "CENTERPOINT" },
	{ "AEP_CENTRAL", "AEP_CENTRAL" },
	{ "AEP_TEXAS_CENTRAL", "AEP_CENTRAL" },
	{ "AEP_NORTH", "AEP_NORTH" },
	{ "AEP_TEXAS_NORTH", "AEP_NORTH" },
	{ "TNMP", "TNMP" },
	{ "LUBBOCK", "LUBBOCK" },
	{ "NUECES", "NUECES" },            /* NUECES_ELEC */
	{ "SHARYLAND", "SHARYLAND" },      /* SHARYLAND_UTILITIES, SHARYLAND_MCALLEN */
};

/* The ERCOT constructed name "ext.<type>.<duns>.<YYYYMMDD>.<HHMMSSmmm>.<NAME>.zip":
 * points PARTS at its dot-separated pieces; returns how many. */
size_t iw_ercot_name_dot_parts(const char *s, const char **parts, size_t *lens, size_t max)
{
	size_t n = 0;
	while (n < max) {
		const char *d = strchr(s, '.');
		parts[n] = s;
		lens[n] = d ? (size_t)(d - s) : strlen(s);
		n++;
		if (!d)
			break;
		s = d + 1;
	}
	return n;
}

int iw_ercot_name_all_digits(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

const char *iw_ercot_name_base_name(const char *name)
{
	const char *s = strrchr(name, '/');
	return s ? s + 1 : name;
}

int iw_ercot_tdsp_code(const char *name, char *out, size_t len)
{
	char buf[256], clean[256];
	const char *parts[8];
	size_t lens[8], np, n = 0, j = 0;
	char *p;

	if (!name || len == 0)
		return -1;
	snprintf(buf, sizeof buf, "%s", iw_ercot_name_base_name(name));
	for (p = buf; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	np = iw_ercot_name_dot_parts(buf, parts, lens, 8);
	/* ext.00000203.DUNS.DATE.TIME.NAME[.zip]: the sixth piece. */
	if (np >= 6 && iw_ercot_name_all_digits(parts[1], lens[1]) && iw_ercot_name_all_digits(parts[3], lens[3])) {
		memmove(buf, parts[5], lens[5]);
		buf[lens[5]] = '\0';
	} else if ((p = strstr(buf, ".ZIP")) && p[4] == '\0') {
		*p = '\0';
	}
	if ((p = strstr(buf, "TDSP_ESIID_EXTRACT")))
		memmove(buf, p + 18, strlen(p + 18) + 1);
	/* Keep [A-Z0-9], one '_' between words. */
	for (p = buf; *p && n + 1 < sizeof clean; p++) {
		if (isalnum((unsigned char)*p))
			clean[n++] = *p;
		else if (n && clean[n - 1] != '_')
			clean[n++] = '_';
	}
	while (n && clean[n - 1] == '_')
		n--;
	clean[n] = '\0';
	/* Drop the report kind and any date stamp at the end. */
	for (;;) {
		char *u = strrchr(clean, '_');
		const char *last = u ? u + 1 : clean;
		if (u && (!strcmp(last, "FUL") || !strcmp(last, "FULL") || !strcmp(last, "DAILY") ||
			  iw_ercot_name_all_digits(last, strlen(last))))
			*u = '\0';
		else
			break;
	}
	if (!clean[0])
		return -1;
	for (j = 0; j < sizeof tdsp_aliases / sizeof tdsp_aliases[0]; j++) {
		size_t al = strlen(tdsp_aliases[j].alias);
		if (!strncmp(clean, tdsp_aliases[j].alias, al) && (clean[al] == '\0' || clean[al] == '_')) {
			snprintf(out, len, "%s", tdsp_aliases[j].code);
			return 0;
		}
	}
	if (strlen(clean) >= len)
		clean[len - 1] = '\0';
	snprintf(out, len, "%s", clean);
	return 0;
}

int iw_ercot_tdsp_known(const char *name, char *out, size_t len)
{
	char code[IW_ERCOT_TDSP_MAX];

	if (iw_ercot_tdsp_code(name, code, sizeof code) != 0)
		return 0;
	for (size_t j = 0; j < sizeof tdsp_aliases / sizeof tdsp_aliases[0]; j++) {
		if (!strcmp(code, tdsp_aliases[j].code)) {
			snprintf(out, len, "%s", code);
			return 1;
		}
	}
	return 0;
}

int iw_ercot_safe_filename(const char *name, char *out, size_t len)
{
	size_t n = 0;
	const char *s = iw_ercot_name_base_name(name ? name : "");

	if (len < 8)
		return -1;
	for (; *s && n + 5 < len; s++)
		out[n++] = isalnum((unsigned char)*s) || *s == '.' || *s == '-' || *s == '_' ? *s : '_';
	while (n && out[0] == '.') { /* no hidden names, no "." / ".." */
		memmove(out, out + 1, --n);
	}
	if (!n)
		return -1;
	out[n] = '\0';
	if (n < 4 || strcasecmp(out + n - 4, ".zip") != 0)
		strcpy(out + n, ".zip");
	return 0;
}

int iw_ercot_day_valid(const char *day)
{
	int y, m, d;
	if (!day || strlen(day) != IW_ERCOT_DAY_LEN || day[4] != '-' || day[7] != '-' ||
	    !iw_ercot_name_all_digits(day, 4) || !iw_ercot_name_all_digits(day + 5, 2) || !iw_ercot_name_all_digits(day + 8, 2))
		return 0;
	y = atoi(day);
	m = atoi(day + 5);
	d = atoi(day + 8);
	return y >= 2000 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= iw_days_in_month(y, m);
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int iw_ercot_parse_time(const char *ts, time_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	long off = 0;
	char day[IW_ERCOT_DAY_LEN + 1];

	if (!ts || strlen(ts) < IW_ERCOT_DAY_LEN)
		return -1;
	memcpy(day, ts, IW_ERCOT_DAY_LEN);
	day[IW_ERCOT_DAY_LEN] = '\0';
	if (!iw_ercot_day_valid(day))
		return -1;
	tm.tm_year = num(ts, 4) - 1900;
	tm.tm_mon = num(ts + 5, 2) - 1;
	tm.tm_mday = num(ts + 8, 2);
	p = ts + IW_ERCOT_DAY_LEN;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (!iw_ercot_name_all_digits(p, 2) || p[2] != ':' || !iw_ercot_name_all_digits(p + 3, 2))
			return -1;
		tm.tm_hour = num(p, 2);
		tm.tm_min = num(p + 3, 2);
		p += 5;
		if (*p == ':' && iw_ercot_name_all_digits(p + 1, 2)) {
			tm.tm_sec = num(p + 1, 2);
			p += 3;
		}
		if (*p == '.' || *p == ',')
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;
			if (!iw_ercot_name_all_digits(p + 1, 2))
				return -1;
			off = num(p + 1, 2) * 3600L;
			p += 3;
			if (*p == ':')
				p++;
			if (iw_ercot_name_all_digits(p, 2)) {
				off += num(p, 2) * 60L;
				p += 2;
			}
			off *= sign;
		}
	}
	if (*p)
		return -1;
	if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}
