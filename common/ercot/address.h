/* Service-address normalisation for the ESIID lookup (docs/ercot.md, "ESIID
 * lookup"). One implementation of the rules: the loader applies it to every
 * extract row (ercot/csv.c fills "addressNumber" and "addressNorm") and the
 * lookup to the query, so both sides are always folded alike. */
#ifndef IW_ERCOT_ADDRESS_H
#define IW_ERCOT_ADDRESS_H

#include <stddef.h>

#define IW_ADDR_NUMBER_MAX 16   /* house number, with its NUL */
#define IW_ADDR_NORM_MAX   160  /* normalised line, with its NUL */
#define IW_ADDR_IN_MAX     512  /* input bytes read per line (the rest ignored) */

/* A line split into its parts:
 *   number  the leading house number ("1200", "12B"), "" when none;
 *   norm    the rest: upper case, letters/digits only, USPS suffix and
 *           directional abbreviations, ordinal words as numbers, and the
 *           unit (any of APT UNIT STE # BLDG LOT ...) as " UNIT <id>" at the
 *           end, e.g. "N MAIN ST UNIT 2B". */
struct iw_ercot_address {
	char number[IW_ADDR_NUMBER_MAX];
	char norm[IW_ADDR_NORM_MAX];
};

/* Normalises LINE1 (+ LINE2, the overflow line; either may be NULL) into
 * OUT. Never fails: an over-long input is cut at a word. */
void iw_ercot_address_normalize(const char *line1, const char *line2,
				struct iw_ercot_address *out);

/* The unit of a normalised line ("" when none): a pointer into NORM. */
const char *iw_ercot_address_unit(const char *norm);

/* The length of NORM's street part (NORM without its " UNIT ..."). */
size_t iw_ercot_address_street_len(const char *norm);

/* 1 when two normalised lines may name the same place: the same unit (or
 * none on both), no conflicting directional (N against S; a missing one is
 * no conflict), and the same name (words joined, so MOCKING BIRD is
 * MOCKINGBIRD) with the same street type or none on one side, or a name of
 * 6+ letters one typo away. The trigram score ranks the candidates. */
int iw_ercot_address_compatible(const char *norm_a, const char *norm_b);
#endif
