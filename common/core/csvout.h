/* CSV output (RFC 4180): CRLF line ends, fields quoted when they hold a
 * comma, a quote, CR or LF, quotes doubled. A field that starts with = + - @
 * TAB or CR (and is not a plain number such as -12.5) gets a leading ' so
 * spreadsheets show it as text instead of running it (OWASP CSV injection). */
#ifndef IW_EXPLORER_CSV_H
#define IW_EXPLORER_CSV_H

#include <stddef.h>

#include "core/buf.h"

/* Appends one field; FIRST says it starts a row (no comma before it).
 * S NULL writes an empty field. */
int iw_csv_field(struct iw_buf *b, const char *s, size_t n, int first);
int iw_csv_end_row(struct iw_buf *b);
/* 1 when a spreadsheet could take S (N bytes) for a formula. */
int iw_csv_formula_like(const char *s, size_t n);
#endif
