#include "explorer/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/csvout.h"
#include "core/html.h"

/* Byte length of the first MAX characters of the UTF-8 string S (LEN bytes);
 * *CUT says whether S is longer. */
static size_t utf8_chars(const char *s, size_t len, size_t max, int *cut)
{
	size_t chars = 0, i = 0;

	while (i < len) {
		if (chars == max) {
			*cut = 1;
			return i;
		}
		i++;
		while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
			i++;
		chars++;
	}
	*cut = 0;
	return len;
}

int iw_render_cell_html(struct iw_buf *b, const struct iw_grid *g, int row, int col)
{
	const char *v;
	size_t len, shown;
	int cut;
	enum iw_col_kind kind = g->kinds[col];

	if (PQgetisnull(g->res, row, col))
		return iw_buf_puts(b, "<td class=\"null\">null</td>");
	v = PQgetvalue(g->res, row, col);
	len = (size_t)PQgetlength(g->res, row, col);
	if (kind == IW_COL_BYTES) {
		iw_buf_puts(b, "<td class=\"num muted\">");
		iw_html_escape(b, v);
		return iw_buf_puts(b, " bytes</td>");
	}
	iw_buf_puts(b, kind == IW_COL_INT || kind == IW_COL_FLOAT ? "<td class=\"num\">" : "<td>");
	shown = utf8_chars(v, len, IW_RENDER_HTML_CHARS, &cut);
	iw_html_escape_n(b, v, shown);
	if (cut)
		iw_buf_puts(b, "<span class=\"cut\" title=\"cut: full value in CSV/JSON\">…</span>");
	return iw_buf_puts(b, "</td>");
}

int iw_render_csv(struct iw_buf *b, const struct iw_grid *g)
{
	for (int c = 0; c < g->ncols; c++)
		iw_csv_field(b, g->names[c], strlen(g->names[c]), c == 0);
	iw_csv_end_row(b);
	for (int r = 0; r < g->nrows; r++) {
		for (int c = 0; c < g->ncols; c++) {
			if (PQgetisnull(g->res, r, c))
				iw_csv_field(b, NULL, 0, c == 0);
			else
				iw_csv_field(b, PQgetvalue(g->res, r, c),
					     (size_t)PQgetlength(g->res, r, c), c == 0);
		}
		iw_csv_end_row(b);
	}
	return b->failed ? -1 : 0;
}

static json_object *json_value(const struct iw_grid *g, int r, int c)
{
	const char *v;
	char *end;

	if (PQgetisnull(g->res, r, c))
		return NULL;
	v = PQgetvalue(g->res, r, c);
	switch (g->kinds[c]) {
	case IW_COL_BOOL:
		return json_object_new_boolean(v[0] == 't');
	case IW_COL_INT: {
		long long n;
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno == 0 && *v && *end == '\0')
			return json_object_new_int64(n);
		break;
	}
	case IW_COL_BYTES: {
		json_object *o = json_object_new_object();
		if (o)
			json_object_object_add(o, "bytes", json_object_new_int64(strtoll(v, NULL, 10)));
		return o;
	}
	case IW_COL_FLOAT:
	case IW_COL_TEXT:
	case IW_COL__MAX:
		break;
	}
	/* Everything else as text: numeric keeps its precision that way. */
	return json_object_new_string_len(v, PQgetlength(g->res, r, c));
}

json_object *iw_render_json_rows(const struct iw_grid *g, int as_objects)
{
	json_object *rows = json_object_new_array();

	for (int r = 0; rows && r < g->nrows; r++) {
		json_object *row = as_objects ? json_object_new_object() : json_object_new_array();
		if (!row) {
			json_object_put(rows);
			return NULL;
		}
		for (int c = 0; c < g->ncols; c++) {
			if (as_objects)
				json_object_object_add(row, g->names[c], json_value(g, r, c));
			else
				json_object_array_add(row, json_value(g, r, c));
		}
		json_object_array_add(rows, row);
	}
	return rows;
}

json_object *iw_render_json_columns(const struct iw_grid *g, const char *const *types)
{
	json_object *cols = json_object_new_array();

	for (int c = 0; cols && c < g->ncols; c++) {
		json_object *o = json_object_new_object();
		if (!o)
			break;
		json_object_object_add(o, "name", json_object_new_string(g->names[c]));
		if (types)
			json_object_object_add(o, "type", json_object_new_string(types[c]));
		json_object_array_add(cols, o);
	}
	return cols;
}
