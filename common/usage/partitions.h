/* The monthly partitions of the interval tables (docs/ingest.md,
 * "Partitions"): "SmtInterval" (master) and "UsageIntervalModule" (usage)
 * are range-partitioned on "ts", one partition a month plus a DEFAULT one
 * that catches any row outside the months created. A row there means the
 * months ahead were not created in time (iw-migrate partitions), or a
 * timestamp far off: /metrics reports the count. */
#ifndef IW_USAGE_PARTITIONS_H
#define IW_USAGE_PARTITIONS_H

#include "core/buf.h"

#include "core/err.h"
#include "io/db.h"

/* The interval table of DB: "SmtInterval" or "UsageIntervalModule". */
const char *iw_interval_table(enum iw_db db);

/* Rows in DB's interval table's DEFAULT partition into *ROWS. 0, or -1 with
 * ERROR set (also when the table is not partitioned yet). */
int iw_interval_default_rows(enum iw_db db, long long *rows, struct iw_error *error);
/* iw_interval_default_partition_rows of each database into B, the
 * "partitions" source_up sample into UP. */
void iw_interval_partitions_prom(struct iw_buf *b, struct iw_buf *up);
#endif
