#include "smt/agreements.h"

#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>

#include "core/validate.h"
#include "io/db.h"

/* Authorizations are matched in SMT form, whatever form they were stored in. */
#define SQL_SMT_ESIID "right(lpad(regexp_replace(\"esiid\", '[^0-9]', '', 'g'), 17, '0'), 17)"
#define TERMINATE_REASON "terminated by admin"

static const char SQL_AUTHORIZATIONS[] =
	"SELECT \"id\", \"contactEmail\" FROM \"SmtAuthorization\""
	" WHERE " SQL_SMT_ESIID " = $1"
	" ORDER BY (\"archivedAt\" IS NULL) DESC, (\"contactEmail\" IS NOT NULL) DESC,"
	" \"updatedAt\" DESC";

static const char SQL_EXPIRE_ESIID[] =
	"UPDATE \"SmtAuthorization\" SET \"smtStatus\" = 'EXPIRED',"
	" \"smtStatusMessage\" = 'Cancelled by admin',"
	" \"revokedReason\" = 'admin_cancel' || COALESCE(' (ticket ' || $2 || ')', ''),"
	" \"updatedAt\" = now() AT TIME ZONE 'UTC'"
	" WHERE " SQL_SMT_ESIID " = $1 AND \"archivedAt\" IS NULL"
	" AND (\"smtStatus\" IS DISTINCT FROM 'EXPIRED' OR \"revokedReason\" IS NULL)";

static const char SQL_EXPIRE_NUMBER[] =
	"UPDATE \"SmtAuthorization\" SET \"smtStatus\" = 'EXPIRED',"
	" \"smtStatusMessage\" = 'Terminated by admin',"
	" \"revokedReason\" = COALESCE(\"revokedReason\", $2),"
	" \"updatedAt\" = now() AT TIME ZONE 'UTC'"
	" WHERE \"smtAgreementId\" = $1 AND \"archivedAt\" IS NULL";

int iw_smt_agreements_authorizations(const char *smt_esiid, int *count, char *email,
				     size_t email_len, struct iw_error *error)
{
	const char *params[1] = { smt_esiid };
	PGresult *res = iw_db_exec(IW_DB_MASTER, error, SQL_AUTHORIZATIONS, 1, params);

	email[0] = '\0';
	*count = 0;
	if (!res)
		return (int)error->code;
	*count = PQntuples(res);
	for (int i = 0; i < PQntuples(res) && !email[0]; i++) {
		const char *e = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
		if (e && iw_email_valid(e))
			snprintf(email, email_len, "%s", e);
	}
	PQclear(res);
	return 0;
}

static int expire(const char *sql, const char *const params[2], long *updated,
		  struct iw_error *error)
{
	PGresult *res = iw_db_exec(IW_DB_MASTER, error, sql, 2, params);

	*updated = 0;
	if (!res)
		return (int)error->code;
	*updated = atol(PQcmdTuples(res));
	PQclear(res);
	return 0;
}

int iw_smt_agreements_expire_esiid(const char *smt_esiid, const char *ticket, long *updated,
				   struct iw_error *error)
{
	const char *params[2] = { smt_esiid, ticket };

	return expire(SQL_EXPIRE_ESIID, params, updated, error);
}

int iw_smt_agreements_expire_number(long long number, long *updated, struct iw_error *error)
{
	char text[24];
	const char *params[2] = { text, TERMINATE_REASON };

	snprintf(text, sizeof text, "%lld", number);
	return expire(SQL_EXPIRE_NUMBER, params, updated, error);
}
