/* COPY on a raw connection: starting it, and the text format's escaping.
 * One of each for every module that streams rows (smt, usage, ercot). */
#ifndef IW_DB_COPY_H
#define IW_DB_COPY_H

#include <stddef.h>

#include <libpq-fe.h>

#include "core/buf.h"

/* Runs SQL (a COPY ... FROM STDIN / TO STDOUT) on CONN: 0 when the server
 * answered WANT (PGRES_COPY_IN or PGRES_COPY_OUT), else -1 with its message
 * in ERR. */
int iw_db_copy_start(PGconn *conn, const char *sql, ExecStatusType want, char *err,
		     size_t errlen);
/* Ends the COPY IN on CONN (ABORT_MSG NULL: commit it, else its failure
 * message) and reads every result: 0, or -1 with the first failure's
 * message in ERR (may be NULL) and its SQLSTATE in STATE (may be NULL). */
int iw_db_copy_end(PGconn *conn, const char *abort_msg, char *err, size_t errlen, char state[6]);
/* Appends S to B in COPY text format (\, tab, CR and LF escaped; NULL as
 * \N). 0, or -1 when B failed. */
int iw_db_copy_escape(struct iw_buf *b, const char *s);
#endif
