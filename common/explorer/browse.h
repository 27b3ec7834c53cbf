/* The database explorer's browsing (GET /admin/database): the parsed view,
 * its links, the table list of both databases, the SQL of a page of rows
 * (search, sort, paging; identifiers quoted, values as parameters) and the
 * HTML pieces of the table page. No HTTP here: fcgi/db_explorer.c answers. */
#ifndef IW_EXPLORER_BROWSE_H
#define IW_EXPLORER_BROWSE_H

#include <stddef.h>

#include <json-c/json.h>
#include <libpq-fe.h>

#include "core/buf.h"
#include "explorer/catalog.h"
#include "explorer/render.h"
#include "io/db.h"

#define IW_XBROWSE_BASE "/admin/database" /* the route; web/page.h IW_PAGE_BASE */
#define IW_XBROWSE_SIZE_DEFAULT 50
#define IW_XBROWSE_SIZE_MAX     500
#define IW_XBROWSE_PAGE_MAX     1000000
#define IW_XBROWSE_SEARCH_MAX   256

enum iw_xfmt { IW_XFMT_HTML, IW_XFMT_JSON, IW_XFMT_CSV, IW_XFMT__MAX };

extern const char *const iw_xbrowse_db_names[IW_DB__MAX];

/* The parsed query of GET /admin/database. */
struct iw_xview {
	enum iw_xfmt fmt;
	enum iw_db db;
	char table[IW_CATALOG_NAME_MAX * 4]; /* longer names match nothing */
	int has_table;
	long page, size;
	char sort[IW_CATALOG_NAME_MAX * 4];
	int desc;      /* sort direction */
	int dir_given;
	char q[IW_XBROWSE_SEARCH_MAX];
	char col[IW_CATALOG_NAME_MAX * 4];
	int exact;
	char *sql;     /* the SELECT box (malloc'd; POST only), or NULL */
	int sql_asked; /* GET ?sql=: show the SELECT box, run nothing */
	const char *csrf; /* a browser session's token for its forms, or NULL */
};

/* The table list of both databases. */
struct iw_xnav {
	struct iw_table_info *tables[IW_DB__MAX];
	int n[IW_DB__MAX]; /* -1: that database is unavailable */
	char replica[IW_DB__MAX][64]; /* "replica, 1.2 s behind", or "" */
};

/* An href for V in format FMT (HTML-escaped): only what differs from the defaults. */
void iw_xbrowse_href(struct iw_buf *b, const struct iw_xview *v, enum iw_xfmt fmt);
/* Lists the tables of both databases (a database that cannot be reached: n = -1). */
void iw_xbrowse_nav_load(struct iw_xnav *nav);
void iw_xbrowse_nav_free(struct iw_xnav *nav);
/* The table list as HTML, CUR (may be NULL) marked. */
void iw_xbrowse_nav_html(struct iw_buf *b, const struct iw_xnav *nav, const struct iw_xview *cur);
/* The table list as JSON: {master: [{name, rows, estimated}], usage: ...}. */
json_object *iw_xbrowse_nav_json(const struct iw_xnav *nav);
/* The column a table page sorts by when none is asked for. */
int iw_xbrowse_default_sort(const struct iw_column *cols, int n);
/* Q as a LIKE pattern (%, _ and \\ escaped), wrapped in %. */
void iw_xbrowse_like_pattern(struct iw_buf *b, const char *q);
/* The SELECT of one page of V (identifiers from the catalog, quoted on
 * CONN; limit, offset and search text as $1..$3); malloc'd, or NULL. */
char *iw_xbrowse_rows_sql(PGconn *conn, const struct iw_xview *v, const struct iw_column *cols, int n,
		      int sort, int search_col, size_t cap);
/* The search form of a table page. */
void iw_xbrowse_search_form(struct iw_buf *b, const struct iw_xview *v, const struct iw_column *cols,
			    int n);
/* A column's header cell: its name, type and sort link. */
void iw_xbrowse_header_cell(struct iw_buf *b, const struct iw_xview *v, const struct iw_column *c,
			    int sorted_here);
/* The CSV download's file name for V. */
void iw_xbrowse_csv_filename(char *out, size_t len, const struct iw_xview *v);
/* A page of rows of table V as JSON: the view, its columns, rows, hasMore
 * and truncatedAtBytes. */
json_object *iw_xbrowse_table_json(const struct iw_xview *v, const struct iw_column *cols, int n,
				   int sort, const struct iw_grid *g, int more, size_t cut_at);
/* The same as the HTML between the page's head and foot: table list,
 * search form, grid, pager and export links. */
void iw_xbrowse_table_html(struct iw_buf *b, const struct iw_xview *v, const struct iw_xnav *nav,
			   const struct iw_column *cols, int n, int sort, const struct iw_grid *g,
			   int more, size_t cut_at);
#endif
