/* SMT billing / daily read CSV exports (SPEC §5) -> "SmtBillingRead".
 *
 * Columns are found by header name (case-insensitive, any order; first
 * matching alias wins); every row is also kept whole as rawRow (jsonb).
 *   esiid      ESIID, ESI_ID                       (or the request's esiid)
 *   meter      METER_NUMBER, METER, METER_ID
 *   tdspCode   TDSP_DUNS, TDSP_CODE, TDSP
 *   tdspName   TDSP_NAME
 *   readStart  READ_START_DATE, START_DATE, SERVICE_START_DATE, USAGE_DATE
 *   readEnd    READ_END_DATE, END_DATE, SERVICE_END_DATE, USAGE_DATE
 *   billDate   BILL_DATE, BILLING_DATE, INVOICE_DATE
 *   kwhTotal   KWH, TOTAL_KWH, USAGE_KWH, ACTUAL_KWH, METERED_KWH
 *   kwhBilled  BILLED_KWH, KWH_BILLED, BILLING_KWH
 * The header must name a date (readStart or readEnd) and a kWh column.
 * Dates: M/D/YYYY or YYYY-MM-DD (a time after them is ignored); kWh: a
 * decimal, optionally negative, thousands commas allowed; empty -> NULL. A
 * row with a bad value is counted as malformed, never fatal. A line that is
 * not valid UTF-8 has its stray bytes read as Windows-1252 (utf8_fix.h). */
#ifndef IW_SMT_BILLING_H
#define IW_SMT_BILLING_H

#include <stddef.h>

#include <libpq-fe.h>

#define IW_SMT_BILLING_REASONS   5
#define IW_SMT_BILLING_LINE_MAX  (64 * 1024)

enum iw_smt_billing_err {
	IW_SMT_BILLING_OK = 0,
	IW_SMT_BILLING_ENOHEADER = -1, /* no usable header: 400 */
	IW_SMT_BILLING_EDB = -2,       /* the database refused: 500 */
	IW_SMT_BILLING_EIO = -3,       /* reading the spool / memory: 500 */
};

struct iw_smt_billing_stats {
	long rows;       /* rows inserted */
	long malformed;  /* rows rejected */
	long blank;      /* empty lines */
	long replaced;   /* rows of earlier versions of this file deleted */
	long transcoded; /* lines whose invalid UTF-8 was read as Windows-1252 */
	char sqlstate[6]; /* of a database refusal (lock timeout: 55P03) */
	int nreasons;
	struct {
		long line;
		char msg[128];
	} reasons[IW_SMT_BILLING_REASONS];
};

struct iw_smt_billing_file {
	int fd;                    /* the decoded file, read from offset 0 */
	long long raw_file_id;     /* raw_smt_files.id of this file */
	const char *filename;      /* sanitised: earlier versions share it */
	const char *esiid;         /* default ESIID, or NULL */
	const char *meter;         /* default meter, or NULL */
	const char *source;        /* SmtBillingRead.source */
};

/* Replaces the rows of earlier versions of the same file (same filename,
 * another raw_smt_files id) by this file's rows, on MASTER inside the
 * caller's transaction (MASTER NULL: parse and count only, for the fuzz
 * target). Returns 0 or an enum iw_smt_billing_err (ERR says why). */
int iw_smt_billing_load(PGconn *master, const struct iw_smt_billing_file *file,
			struct iw_smt_billing_stats *st, char *err, size_t errlen);
#endif
