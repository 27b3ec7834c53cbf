/* The values of an SMT interval CSV row (not for use outside smt/csv*.c):
 * fields, dates, times of day, America/Chicago wall time to UTC, kWh text. */
#ifndef IW_SMT_CSV_VALUES_H
#define IW_SMT_CSV_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "smt/csv.h"

#define MIN_YEAR        1987 /* earliest DST rules implemented */
#define MAX_YEAR        2199
#define CST_OFFSET_MIN  360  /* UTC - 6 */
#define CDT_OFFSET_MIN  300  /* UTC - 5 */
#define MIN_PER_DAY     1440
#define KWH_INT_DIGITS  5    /* numeric(10,5) */
#define KWH_FRAC_DIGITS 5

enum day_kind {
	DAY_CST,
	DAY_CDT,
	DAY_SPRING, /* 2:00-2:59 does not exist */
	DAY_FALL,   /* 1:00-1:59 happens twice */
};

/* A field of a record: S is not NUL-terminated. */
struct field {
	const char *s;
	size_t n;
};

/* Fields of a record. */
int iw_smt_csv_is_ws(char c);
/* F without surrounding blanks (and a trailing CR). */
struct field iw_smt_csv_trim(struct field f);
char iw_smt_csv_upper(char c);
/* 1 when F names NAME (case-insensitive, trimmed). */
int iw_smt_csv_name_eq(struct field f, const char *name);
/* Splits one record into trimmed fields (RFC 4180 quotes removed, ""
 * unescaped into SCRATCH); returns the number of fields, the first MAXF stored. */
int iw_smt_csv_split(const char *s, size_t n, struct field *f, int maxf, char *scratch);

/* YYYY-MM-DD or MM/DD/YYYY: 0 with Y, M, D set, else -1. */
int iw_smt_csv_parse_date(struct field f, int *y, int *m, int *d);
/* H:MM (ALLOW_24: 24:00 too): 0 with *MINUTES after midnight, else -1. */
int iw_smt_csv_parse_time(struct field f, int allow_24, int *minutes);
/* Whether Y-M-D is a CST, CDT, spring-forward or fall-back day. */
enum day_kind iw_smt_csv_day_kind(int y, int m, int d);
/* The one Chicago rule: *OFFSET (minutes west of UTC) of local MINUTE on a
 * day of KIND; in the fall-back hour (1:00-1:59) FALL_FIRST picks its first
 * occurrence (CDT) over the repeat (CST). -1 for a minute of the spring gap. */
int iw_smt_csv_offset(enum day_kind kind, int minute, int fall_first, int *offset);
/* UTC milliseconds of MINUTE of DAY (days since 1970-01-01) at OFFSET minutes west. */
int64_t iw_smt_csv_to_ms(int64_t day, int minute, int offset);
/* kWh text into OUT (numeric(10,5) form); *ROUNDED when digits were dropped.
 * 0, or -1 when not a number that fits. */
int iw_smt_csv_parse_kwh(struct field f, char out[IW_SMT_CSV_KWH_MAX], int *rounded);
#endif
