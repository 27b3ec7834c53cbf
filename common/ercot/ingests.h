/* The newest ErcotIngest rows (GET /api/admin/ercot/ingests), as JSON. */
#ifndef IW_ERCOT_INGESTS_H
#define IW_ERCOT_INGESTS_H

#include <json-c/json.h>

struct iw_error;

#define IW_ERCOT_INGESTS_DEFAULT 50
#define IW_ERCOT_INGESTS_MAX     500

/* The newest LIMIT rows (createdAt, then id, descending), only those of
 * STATUS and TDSP when not NULL: 0 with *ROWS a new array, or the enum
 * iw_err set in ERROR. */
int iw_ercot_ingests_list(int limit, const char *status, const char *tdsp, json_object **rows,
			  struct iw_error *error);
#endif
