/* POST /api/admin/smt/agreements/myagreements {agreementNumber?,
 * statusReason?}: the CSP's agreements at SMT, each with its normalised
 * status. The filter goes to SMT and is applied again here, so a proxy that
 * ignores it still gives the operator what was asked for. */
#include "smt/admin.h"
#include "web/serve.h"

#include <string.h>

static const char *const reasons[] = { "PEN", "ACT", "COM", "NACOM", NULL };

static const struct iw_field fields[] = {
	{ .name = "agreementNumber", .type = IW_T_AGREEMENT },
	{ .name = "statusReason", .type = IW_T_ENUM, .choices = reasons },
	{ 0 }
};

static int myagreements(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_reply reply;
	struct iw_smt_agreements list = { 0 };
	const char *reason = iw_arg_str(req, "statusReason");
	json_object *filter = json_object_new_object(), *body = NULL, *out = NULL;
	long long number = 0;
	int rc;

	iw_arg_int(req, "agreementNumber", &number);
	if (!filter)
		return iw_error(resp, 500, "internal_error", "out of memory");
	json_object_object_add(filter, "agreementNumber", number ? json_object_new_int64(number) : NULL);
	json_object_object_add(filter, "statusReason", reason ? json_object_new_string(reason) : NULL);
	{
		/* SMT gets only the fields that were given. */
		json_object *sent = json_object_new_object();
		if (!sent) {
			rc = iw_error(resp, 500, "internal_error", "out of memory");
			memset(&reply, 0, sizeof reply);
			goto out;
		}
		if (number)
			json_object_object_add(sent, "agreementNumber", json_object_new_int64(number));
		if (reason)
			json_object_object_add(sent, "statusReason", json_object_new_string(reason));
		rc = iw_failed(resp, iw_smt_fetch_agreements(sent, &reply, &list, &resp->err));
		json_object_put(sent);
		if (rc != 0)
			goto out;
	}
	if (!(body = json_object_new_object()) || !(out = json_object_new_array())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < list.n; i++) {
		const struct iw_smt_agreement *a = &list.v[i];
		if (number && a->number != number)
			continue;
		if (reason && a->normalized != iw_smt_normalize_text(reason))
			continue;
		json_object_array_add(out, iw_smt_agreement_json(a));
	}
	iw_log_count(req, "agreements", (long long)json_object_array_length(out));
	json_object_object_add(body, "filter", json_object_get(filter));
	json_object_object_add(body, "count", json_object_new_int64((int64_t)json_object_array_length(out)));
	json_object_object_add(body, "agreements", out);
	out = NULL;
	rc = iw_ok(resp, body);
	body = NULL;
out:
	json_object_put(out);
	json_object_put(body);
	json_object_put(filter);
	iw_smt_agreements_free(&list);
	iw_smt_reply_free(&reply);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_agreements_myagreements",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = myagreements,
	};
	return iw_serve(&route);
}
