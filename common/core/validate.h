/* Declarative validation of JSON request bodies: a route lists its fields in
 * one table; iw_validate turns the body into normalised arguments. */
#ifndef IW_VALIDATE_H
#define IW_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

enum iw_type {
	IW_T_STRING,    /* string, length in [min, max] (max 0: 1024) */
	IW_T_ESIID,     /* 17-22 digits; leading ' and spaces stripped */
	IW_T_AGREEMENT, /* positive integer, number or numeric string */
	IW_T_EMAIL,     /* <= 254 chars, one @, a dot in the domain */
	IW_T_TIMESTAMP, /* ISO-8601 with zone; normalised to UTC ...Z */
	IW_T_ENUM,      /* one of choices, any case; normalised to the choice */
	IW_T_INT,       /* integer (number or numeric string) in [min, max] */
	IW_T_BOOL,      /* true / false */
	IW_T__MAX
};

struct iw_field {
	const char *name;
	enum iw_type type;
	int required;
	long long min, max;
	const char *const *choices; /* IW_T_ENUM: NULL-terminated */
};

#define IW_ESIID_MAX 22
#define IW_EMAIL_MAX 254

/* Validates BODY against FIELDS (a {0}-terminated table). On success returns 0
 * and sets *ARGS to a new object of normalised values (null and "" count as
 * absent). On failure returns -1 with a message naming the field in MSG. */
int iw_validate(json_object *body, const struct iw_field *fields, json_object **args,
		char *msg, size_t msglen);
/* The text of a validated value NAME of ARGS, NULL when absent. */
const char *iw_args_str(json_object *args, const char *name);

/* Individual validators, also used outside JSON bodies (query strings, CSV). */
int iw_esiid_normalize(const char *in, char out[IW_ESIID_MAX + 1]);
/* SMT's form: the last 17 digits, left-padded with zeros. */
void iw_esiid_smt(const char *esiid, char out[18]);
int iw_email_valid(const char *s);
/* Positive integer from a decimal string (no sign, no spaces around). */
int iw_parse_positive(const char *s, long long *out);
/* ISO-8601 date-time with zone -> milliseconds since the epoch. */
int iw_timestamp_parse(const char *s, int64_t *ms);
/* Milliseconds since the epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void iw_timestamp_format(int64_t ms, char out[32]);
/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t iw_days_from_civil(int64_t y, unsigned m, unsigned d);
#endif
