/* POST /api/admin/smt/agreements/status {esiid, agreementNumber?}: the
 * ESIID's agreement at SMT (the active one, else pending, else the newest),
 * its normalised status and its subscription, plus every agreement SMT lists
 * for the ESIID. Read-only. */
#include <string.h>

#include "smt/admin.h"
#include "web/serve.h"
#include "core/validate.h"

static const struct iw_field fields[] = {
	{ .name = "esiid", .type = IW_T_ESIID, .required = 1 },
	{ .name = "agreementNumber", .type = IW_T_AGREEMENT },
	{ 0 }
};

static int agreement_status(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_reply areply, sreply;
	struct iw_smt_agreements list = { 0 };
	struct iw_smt_subscriptions subs = { 0 };
	const struct iw_smt_agreement *best;
	const struct iw_smt_subscription *sub;
	char esiid[IW_SMT_ESIID_LEN + 1];
	json_object *filter = NULL, *body = NULL, *status = NULL, *all = NULL;
	long long number = 0;
	int rc;

	memset(&sreply, 0, sizeof sreply);
	iw_esiid_smt(iw_arg_str(req, "esiid"), esiid);
	iw_arg_int(req, "agreementNumber", &number);
	if (!(filter = json_object_new_object())) {
		memset(&areply, 0, sizeof areply);
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	if (number)
		json_object_object_add(filter, "agreementNumber", json_object_new_int64(number));
	if ((rc = iw_failed(resp, iw_smt_fetch_agreements(filter, &areply, &list, &resp->err))) != 0)
		goto out;
	if ((rc = iw_failed(resp, iw_smt_fetch_subscriptions(&sreply, &subs, &resp->err))) != 0)
		goto out;

	best = iw_smt_agreement_best(&list, esiid, number);
	sub = iw_smt_subscription_for(&subs, esiid, best ? best->number : number);
	if (!(body = json_object_new_object()) || !(status = json_object_new_object()) ||
	    !(all = json_object_new_array())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < list.n; i++) {
		const struct iw_smt_agreement *a = &list.v[i];
		if (strcmp(a->esiid, esiid) == 0 || (number && a->number == number && !a->esiid[0]))
			json_object_array_add(all, iw_smt_agreement_json(a));
	}
	json_object_object_add(status, "agreementNumber",
			       best ? json_object_new_int64(best->number) : NULL);
	json_object_object_add(status, "agreementStatus",
			       best && best->status ? json_object_new_string(best->status) : NULL);
	json_object_object_add(status, "statusReason", best && best->status_reason
			       ? json_object_new_string(best->status_reason) : NULL);
	json_object_object_add(status, "normalized", best
			       ? json_object_new_string(iw_smt_status_name(best->normalized)) : NULL);
	json_object_object_add(status, "subscription", sub ? json_object_get(sub->record) : NULL);
	if (!best)
		json_object_object_add(status, "message", json_object_new_string(
			"SMT lists no agreement for this ESIID"));
	json_object_object_add(body, "esiid", json_object_new_string(iw_arg_str(req, "esiid")));
	json_object_object_add(body, "smtEsiid", json_object_new_string(esiid));
	json_object_object_add(body, "status", status);
	json_object_object_add(body, "agreements", all);
	status = all = NULL;
	iw_log_count(req, "agreements", (long long)list.n);
	rc = iw_ok(resp, body);
	body = NULL;
out:
	json_object_put(all);
	json_object_put(status);
	json_object_put(body);
	json_object_put(filter);
	iw_smt_subscriptions_free(&subs);
	iw_smt_agreements_free(&list);
	iw_smt_reply_free(&sreply);
	iw_smt_reply_free(&areply);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_agreements_status",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = agreement_status,
	};
	return iw_serve(&route);
}
