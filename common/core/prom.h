/* Prometheus text exposition (format 0.0.4): HELP/TYPE once per family,
 * then samples; label values escaped. */
#ifndef IW_CORE_PROM_H
#define IW_CORE_PROM_H

#include "core/buf.h"

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" (gauge, counter, histogram). */
int iw_prom_family(struct iw_buf *b, const char *name, const char *type, const char *help);
/* "NAME{LABEL="VALUE"} V": LABEL NULL for none; VALUE escaped. */
int iw_prom_sample(struct iw_buf *b, const char *name, const char *label, const char *value,
		   double v);
/* "NAME{K1="V1",K2="V2"} TEXT": N label pairs (values escaped), TEXT the
 * value as the caller formatted it (a histogram's buckets, several labels). */
int iw_prom_line(struct iw_buf *b, const char *name, int n, const char *const keys[],
		 const char *const values[], const char *text);
/* A sample of "iw_metrics_source_up{source=SOURCE}": 1 when OK, else 0 (a
 * /metrics source that failed; the others still answer). */
void iw_prom_source_up(struct iw_buf *up, const char *source, int ok);
#endif
