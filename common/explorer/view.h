/* The explorer's three views of GET|POST /admin/database: the table list
 * (index), a page of one table's rows, and the SELECT box. Each fills a
 * struct iw_xanswer; fcgi/db_explorer.c turns it into HTTP (status, page
 * frame, headers), so nothing here knows a response. */
#ifndef IW_EXPLORER_VIEW_H
#define IW_EXPLORER_VIEW_H

#include <stddef.h>

#include <json-c/json.h>

#include "core/buf.h"
#include "core/err.h"
#include "explorer/browse.h"

/* Why a view refused or failed; the route's table gives each a status and
 * an error code. */
enum iw_xstop {
	IW_XSTOP_NONE,      /* answered */
	IW_XSTOP_INPUT,     /* 400 invalid_request */
	IW_XSTOP_NOT_FOUND, /* 404 not_found */
	IW_XSTOP_REFUSED,   /* 400 query_refused (the SELECT box's statement) */
	IW_XSTOP_TIMEOUT,   /* 504 query_timeout */
	IW_XSTOP_INTERNAL,  /* 500 internal_error */
	IW_XSTOP_ERR,       /* a library error in err (database down, misconfigured) */
	IW_XSTOP__MAX
};

enum iw_xkind { IW_XANS_NONE, IW_XANS_HTML, IW_XANS_JSON, IW_XANS_CSV };

struct iw_xanswer {
	enum iw_xstop stop;      /* with kind NONE: the whole answer is this error */
	char message[IW_ERR_MSG_MAX];
	struct iw_error err;     /* IW_XSTOP_ERR */
	enum iw_xkind kind;
	struct iw_buf body;      /* HTML: appended after the page head the route wrote
				  * (it adds the foot); CSV: the bytes */
	json_object *json;       /* JSON (owned until taken) */
	char filename[IW_CATALOG_NAME_MAX + 32]; /* CSV: the attachment's name */
	int cut_header;          /* CSV: send X-Truncated-At-Bytes */
	/* for the access log */
	const char *view;        /* "index", "table", "sql" */
	int table_found;
	long long rows;          /* -1: none read */
	size_t cut_at;           /* rows cut at this many bytes (0: not cut) */
};

void iw_xanswer_init(struct iw_xanswer *a);
void iw_xanswer_free(struct iw_xanswer *a);

/* Sets V's fields from ARGS (may be NULL), the values a route's field
 * table validated: format, db, page, size, sort, dir, q, col, exact. */
void iw_xview_apply(struct iw_xview *v, json_object *args);
/* The view V asks for into A: the SELECT box when SQL, else V's table or
 * the index; the table list (nav) is read where the view shows it. */
void iw_xview_run(const struct iw_xview *v, int sql, struct iw_xanswer *a);
#endif
