/* The explorer's coverage calendar: one year of usage/coverage.h days as a
 * server-rendered SVG (a column per week, a cell per day), no script. */
#ifndef IW_EXPLORER_COVERAGE_SVG_H
#define IW_EXPLORER_COVERAGE_SVG_H

#include "core/buf.h"
#include "usage/coverage.h"

/* Appends the SVG of C (the days of one year, in order), its legend and
 * the list of missing days to B. 0, or -1 when out of memory. */
int iw_cov_svg(struct iw_buf *b, const struct iw_cov *c);
#endif
