/* Helpers of ERCOT file names that names.c shares with docs.c. */
#ifndef IW_ERCOT_NAMES_H
#define IW_ERCOT_NAMES_H

#include <stddef.h>

/* Splits S at dots into at most MAX parts; returns how many. */
size_t iw_ercot_name_dot_parts(const char *s, const char **parts, size_t *lens, size_t max);
/* 1 when the LEN bytes at S are all digits (LEN > 0). */
int iw_ercot_name_all_digits(const char *s, size_t len);
/* The part of NAME after its last '/'. */
const char *iw_ercot_name_base_name(const char *name);
#endif
