/* ERCOT figures for GET /metrics: the newest successful file of each TDSP
 * (ErcotIngest status 'ok'). */
#ifndef IW_ERCOT_METRICS_H
#define IW_ERCOT_METRICS_H

#include "core/buf.h"

#include "core/err.h"

#define IW_ERCOT_METRICS_TDSP_MAX 32

struct iw_ercot_last_ok {
	char tdsp[64];
	double at;          /* Unix seconds of its "createdAt" */
	long long bytes;    /* "sizeBytes" (0 when unknown) */
	long long rows;     /* "rowCount" (0 when unknown) */
};

/* Up to IW_ERCOT_METRICS_TDSP_MAX TDSPs into OUT; the count, or -1 with
 * ERROR set. */
int iw_ercot_metrics_read(struct iw_ercot_last_ok *out, struct iw_error *error);
/* The ERCOT families into B, its source_up sample into UP (a failure is
 * logged, never fatal to the scrape). */
void iw_ercot_metrics_prom(struct iw_buf *b, struct iw_buf *up);
#endif
