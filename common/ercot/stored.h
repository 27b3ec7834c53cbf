/* ERCOT steady state in the worker: the index's (ESIID, values hash) pairs of
 * one TDSP, read in ESIID order on a connection of their own while the file
 * is parsed, and merged with the file's rows (also in ESIID order), so that
 * only new and changed rows are COPYed and the stored ESIIDs a full file no
 * longer lists are known without a join over the whole table. */
#ifndef IW_ERCOT_STORED_H
#define IW_ERCOT_STORED_H

#include <stddef.h>

struct iw_ercot_stored;

/* The stream of TDSP's stored rows (a cursor in a read-only transaction on
 * a new connection to DATABASE_URL, held until iw_ercot_stored_finish or
 * _close), for a full extract: the stored ESIIDs the file skips are kept as
 * gone. NULL with ERR set when it cannot start (no connection, BEGIN, the
 * cursor or its first FETCH failed): the load then COPYs every row. */
struct iw_ercot_stored *iw_ercot_stored_open(const char *tdsp, char *err, size_t errlen);

/* The file's next row (ESIID of N bytes, its values hash as COPY text):
 * 1 to COPY it (new, or its values differ or have no hash), 0 to skip it
 * (unchanged), -1 when the merge cannot go on (a stored ESIID out of byte
 * order, a read error, too many gone ESIIDs: see iw_ercot_stored_error). */
int iw_ercot_stored_keep(struct iw_ercot_stored *s, const char *esiid, size_t n,
			 const char *hash);

/* After the file's last row: the stored ESIIDs left are gone too; the
 * second connection is then closed (the gone list stays). 0 or -1. */
int iw_ercot_stored_finish(struct iw_ercot_stored *s);

/* The gone ESIIDs as COPY text lines (one column), and how many. */
const char *iw_ercot_stored_gone(const struct iw_ercot_stored *s, size_t *len, long long *count);

/* Rows read from the index, file rows kept (COPYed), and why the merge
 * stopped ("" if it did not). */
long long iw_ercot_stored_rows(const struct iw_ercot_stored *s);
long long iw_ercot_stored_kept(const struct iw_ercot_stored *s);
const char *iw_ercot_stored_error(const struct iw_ercot_stored *s);

void iw_ercot_stored_close(struct iw_ercot_stored *s);

#endif
