/* HTML and URL escaping for the DB explorer's server-rendered pages. */
#ifndef IW_EXPLORER_HTML_H
#define IW_EXPLORER_HTML_H

#include <stddef.h>

#include "core/buf.h"

/* Appends S (N bytes) with & < > " ' escaped, so it is safe both as element
 * text and inside a double- or single-quoted attribute. NUL bytes and other
 * C0 controls except tab/newline/CR become U+FFFD. */
int iw_html_escape_n(struct iw_buf *b, const char *s, size_t n);
int iw_html_escape(struct iw_buf *b, const char *s);
/* A hidden form field NAME=VALUE (both escaped). */
int iw_html_hidden(struct iw_buf *b, const char *name, const char *value);
/* Appends S percent-encoded for a query-string value (RFC 3986 unreserved
 * characters kept). The result needs no further HTML escaping. */
int iw_url_encode(struct iw_buf *b, const char *s);
/* Length of the longest prefix of S (at most MAX bytes) that does not cut a
 * UTF-8 sequence in two. */
size_t iw_utf8_prefix(const char *s, size_t len, size_t max);
#endif
