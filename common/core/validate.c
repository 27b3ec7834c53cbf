#include "core/validate.h"
#include "core/time.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IW_STRING_MAX_DEFAULT 1024
/* Largest integer a JSON double carries exactly: agreement numbers above it
 * would not round-trip through the SMT proxy's JSON. */
#define IW_AGREEMENT_MAX 9007199254740991LL

int iw_esiid_normalize(const char *in, char out[IW_ESIID_MAX + 1])
{
	const char *end;
	size_t len;

	if (!in)
		return -1;
	while (*in == ' ' || *in == '\t')
		in++;
	if (*in == '\'')
		in++;
	end = in + strlen(in);
	while (end > in && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - in);
	if (len < 17 || len > IW_ESIID_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (in[i] < '0' || in[i] > '9')
			return -1;
	memcpy(out, in, len);
	out[len] = '\0';
	return 0;
}

void iw_esiid_smt(const char *esiid, char out[18])
{
	size_t len = strlen(esiid);

	if (len >= 17) {
		memcpy(out, esiid + len - 17, 17);
	} else {
		memset(out, '0', 17 - len);
		memcpy(out + 17 - len, esiid, len);
	}
	out[17] = '\0';
}

int iw_email_valid(const char *s)
{
	const char *at = NULL, *dot;
	size_t len = strlen(s);

	if (len == 0 || len > IW_EMAIL_MAX)
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' || c == ',')
			return 0;
		if (c == '@') {
			if (at)
				return 0;
			at = p;
		}
	}
	if (!at || at == s || !at[1])
		return 0;
	dot = strchr(at + 1, '.');
	if (!dot || dot == at + 1 || s[len - 1] == '.' || strstr(at, ".."))
		return 0;
	return 1;
}

int iw_parse_positive(const char *s, long long *out)
{
	long long n = 0;

	if (!s || !*s || strlen(s) > 19)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (n > (IW_AGREEMENT_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (n <= 0)
		return -1;
	*out = n;
	return 0;
}

int64_t iw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	/* Howard Hinnant's days_from_civil. */
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int iw_timestamp_parse(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec = 0, frac = 0, oh = 0, om = 0, sign = 0;
	const char *p = s;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec))
			return -1;
		if (*p == '.' || *p == ',') {
			int n = 0;
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			while (isdigit((unsigned char)*p)) {
				if (n < 3)
					frac = frac * 10 + (*p - '0');
				n++;
				p++;
			}
			for (; n < 3; n++)
				frac *= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh))
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om))
			return -1;
	} else {
		return -1; /* a zone is required */
	}
	if (*p || y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 ||
	    d > iw_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	*ms = ((iw_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		sec - sign * (oh * 3600 + om * 60)) * 1000) + frac;
	return 0;
}

void iw_timestamp_format(int64_t ms, char out[32])
{
	int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	/* civil_from_days */
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	char tmp[96];

	y += m <= 2;
	snprintf(tmp, sizeof tmp, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
		 (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
		 (int)(ms - secs * 1000));
	memcpy(out, tmp, 31);
	out[31] = '\0';
}

/* ---- the table-driven validator ---- */

static const char *type_name(enum iw_type t)
{
	static const char *const names[IW_T__MAX] = {
		[IW_T_STRING] = "a string", [IW_T_ESIID] = "an ESIID of 17 to 22 digits",
		[IW_T_AGREEMENT] = "a positive integer", [IW_T_EMAIL] = "an email address",
		[IW_T_TIMESTAMP] = "an ISO-8601 timestamp with a zone",
		[IW_T_ENUM] = "one of the listed values", [IW_T_INT] = "an integer",
		[IW_T_BOOL] = "true or false",
	};
	return t < IW_T__MAX ? names[t] : "valid";
}

/* Integer from a JSON int or a string of digits (optionally signed). */
static int int_value(json_object *v, long long *out)
{
	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		*out = json_object_get_int64(v);
		return errno ? -1 : 0;
	}
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		if (!*s || isspace((unsigned char)*s))
			return -1;
		errno = 0;
		*out = strtoll(s, &end, 10);
		return errno || *end ? -1 : 0;
	}
	return -1;
}

static int is_absent(json_object *v)
{
	if (!v)
		return 1;
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		while (*s == ' ' || *s == '\t')
			s++;
		return *s == '\0';
	}
	return 0;
}

static int check_field(const struct iw_field *f, json_object *v, json_object *args,
		       char *msg, size_t msglen)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	long long n;

	switch (f->type) {
	case IW_T_STRING: {
		long long max = f->max ? f->max : IW_STRING_MAX_DEFAULT;
		long long len;
		if (!s)
			break;
		len = (long long)strlen(s);
		if (len < f->min || len > max) {
			snprintf(msg, msglen, "%s: must be %lld to %lld characters", f->name,
				 f->min, max);
			return -1;
		}
		json_object_object_add(args, f->name, json_object_new_string(s));
		return 0;
	}
	case IW_T_ESIID: {
		char esiid[IW_ESIID_MAX + 1], num[24];
		if (json_object_is_type(v, json_type_int)) {
			snprintf(num, sizeof num, "%" PRId64, json_object_get_int64(v));
			s = num;
		}
		if (!s || iw_esiid_normalize(s, esiid) != 0)
			break;
		json_object_object_add(args, f->name, json_object_new_string(esiid));
		return 0;
	}
	case IW_T_AGREEMENT:
		if (json_object_is_type(v, json_type_int)) {
			n = json_object_get_int64(v);
			if (n <= 0 || n > IW_AGREEMENT_MAX)
				break;
		} else if (!s || iw_parse_positive(s, &n) != 0) {
			break;
		}
		json_object_object_add(args, f->name, json_object_new_int64(n));
		return 0;
	case IW_T_EMAIL:
		if (!s || !iw_email_valid(s))
			break;
		json_object_object_add(args, f->name, json_object_new_string(s));
		return 0;
	case IW_T_TIMESTAMP: {
		int64_t ms;
		char iso[32];
		if (!s || iw_timestamp_parse(s, &ms) != 0)
			break;
		iw_timestamp_format(ms, iso);
		json_object_object_add(args, f->name, json_object_new_string(iso));
		return 0;
	}
	case IW_T_ENUM:
		if (!s || !f->choices)
			break;
		for (const char *const *c = f->choices; *c; c++) {
			if (strcasecmp(*c, s) == 0) {
				json_object_object_add(args, f->name, json_object_new_string(*c));
				return 0;
			}
		}
		{
			size_t off = (size_t)snprintf(msg, msglen, "%s: must be one of", f->name);
			for (const char *const *c = f->choices; *c && off < msglen; c++)
				off += (size_t)snprintf(msg + off, msglen - off, "%s %s",
							c == f->choices ? "" : ",", *c);
		}
		return -1;
	case IW_T_INT:
		if (int_value(v, &n) != 0)
			break;
		if (n < f->min || n > f->max) {
			snprintf(msg, msglen, "%s: must be an integer from %lld to %lld", f->name,
				 f->min, f->max);
			return -1;
		}
		json_object_object_add(args, f->name, json_object_new_int64(n));
		return 0;
	case IW_T_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			break;
		json_object_object_add(args, f->name, json_object_new_boolean(json_object_get_boolean(v)));
		return 0;
	case IW_T__MAX:
		break;
	}
	snprintf(msg, msglen, "%s: must be %s", f->name, type_name(f->type));
	return -1;
}

const char *iw_args_str(json_object *args, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(args, name, &v) ? json_object_get_string(v) : NULL;
}

int iw_validate(json_object *body, const struct iw_field *fields, json_object **args,
		char *msg, size_t msglen)
{
	json_object *out = json_object_new_object();

	if (!out) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (const struct iw_field *f = fields; f && f->name; f++) {
		json_object *v = NULL;
		json_object_object_get_ex(body, f->name, &v);
		if (is_absent(v)) {
			if (f->required) {
				snprintf(msg, msglen, "%s: is required", f->name);
				goto fail;
			}
			continue;
		}
		if (check_field(f, v, out, msg, msglen) != 0)
			goto fail;
	}
	*args = out;
	return 0;
fail:
	json_object_put(out);
	return -1;
}
