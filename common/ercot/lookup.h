/* ESIID lookup by service address from our own "ErcotEsiidIndex"
 * (GET /api/admin/ercot/lookup-esiid; docs/ercot.md "ESIID lookup"). */
#ifndef IW_ERCOT_LOOKUP_H
#define IW_ERCOT_LOOKUP_H

#include <json-c/json.h>

struct iw_error;

#define IW_ERCOT_LOOKUP_TOP   5
/* match:true needs a trigram similarity of at least this (docs/ercot.md:
 * chosen from the accuracy test of tests/bench/esiid_lookup.bench.mjs). */
#define IW_ERCOT_LOOKUP_MATCH 0.5

/* The best IW_ERCOT_LOOKUP_TOP rows of ZIP (5 digits, or ZIP+4 as 12345-6789
 * or 9 digits) for the address LINE1 (+ LINE2): rows with the same house
 * number, ranked by trigram similarity of the normalised line. 0 with
 * *ANSWER a new object {match, query:{number, normalized, zip}, best, matches:
 * [{score, esiid, address, address2, city, zip, tdsp, premiseType, status,
 * compatible}]},
 * or the enum iw_err set in ERROR (IW_ERR_INPUT for a bad ZIP or an empty
 * line). */
int iw_ercot_lookup(const char *line1, const char *line2, const char *zip, json_object **answer,
		    struct iw_error *error);

/* Builds the lookup's indexes when missing and the index has rows (after a
 * load: never maintained row by row during a first load), after filling
 * the normalised columns of rows loaded before they existed. 1 built, 0
 * nothing to do, -1 (logged). */
int iw_ercot_lookup_indexes_ensure(void);
#endif
