#include "io/db_copy.h"

#include <stdio.h>
#include <string.h>

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
