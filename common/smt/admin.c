#include "smt/admin.h"

#include <stdio.h>
#include <string.h>

#include "io/db.h"
#include "core/log.h"
#include "core/err.h"

static const char audit_sql[] =
	"INSERT INTO \"SmtAdminAction\" (\"action\", \"esiid\", \"agreementNumber\", \"ticket\","
	" \"ok\", \"statusCode\", \"detail\", \"createdAt\")"
	" VALUES ($1, $2, $3::bigint, $4, $5::boolean, $6::integer, $7::jsonb,"
	" now() AT TIME ZONE 'UTC')";

int iw_smt_fetch_agreements(json_object *filter, struct iw_smt_reply *reply,
			    struct iw_smt_agreements *list, struct iw_error *error)
{
	int rc = iw_smt_call(IW_SMT_MYAGREEMENTS, filter, reply, error);

	if (rc != 0)
		return rc;
	if (iw_smt_find_agreements(reply->payload, list) != 0)
		return iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
	return 0;
}

int iw_smt_fetch_subscriptions(struct iw_smt_reply *reply, struct iw_smt_subscriptions *list,
			       struct iw_error *error)
{
	int rc = iw_smt_call(IW_SMT_SUBSCRIPTIONS, NULL, reply, error);

	if (rc != 0)
		return rc;
	if (iw_smt_find_subscriptions(reply->payload, list) != 0)
		return iw_err_set(error, IW_ERR_INTERNAL, "out of memory");
	return 0;
}

const struct iw_smt_subscription *iw_smt_subscription_for(const struct iw_smt_subscriptions *list,
							   const char *esiid, long long number)
{
	const struct iw_smt_subscription *found = NULL;

	for (size_t i = 0; i < list->n; i++) {
		const struct iw_smt_subscription *s = &list->v[i];
		int match = (esiid && s->esiid[0] && strcmp(s->esiid, esiid) == 0) ||
			    (number > 0 && s->agreement == number);
		if (!match)
			continue;
		if (!found || (iw_smt_subscription_live(s) && !iw_smt_subscription_live(found)))
			found = s;
	}
	return found;
}

int iw_smt_audit(const char *action, const char *esiid, long long agreement, const char *ticket,
		 int ok, long status_code, json_object *detail)
{
	char number[24], code[24];
	const char *params[7];
	int rc;

	snprintf(number, sizeof number, "%lld", agreement);
	snprintf(code, sizeof code, "%ld", status_code);
	params[0] = action;
	params[1] = esiid;
	params[2] = agreement > 0 ? number : NULL;
	params[3] = ticket;
	params[4] = ok ? "true" : "false";
	params[5] = status_code ? code : NULL;
	params[6] = detail ? json_object_to_json_string_ext(detail, JSON_C_TO_STRING_PLAIN) : NULL;
	/* The SMT action already happened: an audit failure is logged, and the
	 * caller says so in its answer, but it does not rewrite the answer. */
	rc = iw_db_run(IW_DB_MASTER, NULL, audit_sql, 7, params);
	if (rc != 0)
		iw_logf("error", "SmtAdminAction row for %s not written", action);
	return rc;
}
