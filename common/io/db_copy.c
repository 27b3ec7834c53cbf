#include "io/db_copy.h"

#include <stdio.h>
#include <string.h>

#include "io/db_raw.h"

int iw_db_copy_start(PGconn *conn, const char *sql, ExecStatusType want, char *err,
		     size_t errlen)
{
	PGresult *r = PQexec(conn, sql);
	int rc = r && PQresultStatus(r) == want ? 0 : -1;

	if (rc)
		snprintf(err, errlen, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(conn));
	PQclear(r);
	return rc;
}

int iw_db_copy_escape(struct iw_buf *b, const char *s)
{
	if (!s)
		return iw_buf_put(b, "\\N", 2);
	for (const char *p = s; *p;) {
		size_t run = strcspn(p, "\\\t\r\n");
		if (run && iw_buf_put(b, p, run) != 0)
			return -1;
		p += run;
		if (*p) {
			char esc[2] = { '\\', *p == '\t' ? 't' : *p == '\r' ? 'r' : *p == '\n' ? 'n' : '\\' };
			if (iw_buf_put(b, esc, 2) != 0)
				return -1;
			p++;
		}
	}
	return 0;
}

int iw_db_copy_end(PGconn *conn, const char *abort_msg, char *err, size_t errlen, char state[6])
{
	PGresult *r;
	int rc = 0;

	if (state)
		state[0] = '\0';
	if (PQputCopyEnd(conn, abort_msg) != 1) {
		if (err)
			snprintf(err, errlen, "%s", PQerrorMessage(conn));
		rc = -1;
	}
	while ((r = PQgetResult(conn))) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == 0) {
			if (state)
				iw_pg_sqlstate(r, state);
			if (err)
				snprintf(err, errlen, "%s", PQresultErrorMessage(r));
			rc = -1;
		}
		PQclear(r);
	}
	return rc;
}
