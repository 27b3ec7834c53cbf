/* Rows of a PGresult as HTML cells, CSV or JSON: the three views of the
 * DB explorer's table browser and SELECT box. */
#ifndef IW_EXPLORER_RENDER_H
#define IW_EXPLORER_RENDER_H

#include <stddef.h>
#include <json-c/json.h>
#include <libpq-fe.h>

#include "core/buf.h"
#include "explorer/catalog.h"

#define IW_RENDER_HTML_CHARS 200     /* characters of a value the HTML view shows */
#define IW_RENDER_EXPORT_CHARS 65536 /* characters of a value CSV and JSON carry */

struct iw_grid {
	PGresult *res;
	int nrows;                      /* rows to render (<= PQntuples) */
	int ncols;
	const char *const *names;
	const enum iw_col_kind *kinds;  /* IW_COL_BYTES values hold the size */
};

/* One <td>: NULL, byte sizes and values cut at IW_RENDER_HTML_CHARS marked. */
int iw_render_cell_html(struct iw_buf *b, const struct iw_grid *g, int row, int col);
/* Header row plus every row, RFC 4180. */
int iw_render_csv(struct iw_buf *b, const struct iw_grid *g);
/* The rows as a JSON array: objects keyed by column name (AS_OBJECTS) or
 * arrays. Booleans and integers typed, bytea as {"bytes":N}. NULL on OOM. */
json_object *iw_render_json_rows(const struct iw_grid *g, int as_objects);
/* The column list [{name,type}] (TYPES may be NULL). */
json_object *iw_render_json_columns(const struct iw_grid *g, const char *const *types);
#endif
