/* POST /api/admin/smt/agreements/esiids {agreementNumber}: the ESIIDs SMT
 * lists for one agreement, as SMT gave them (data) and in SMT form (esiids). */
#include "smt/proxy.h"
#include "smt/records.h"
#include "web/serve.h"

static const struct iw_field fields[] = {
	{ .name = "agreementNumber", .type = IW_T_AGREEMENT, .required = 1 },
	{ 0 }
};

static int esiids(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_reply reply;
	json_object *filter = json_object_new_object(), *body = NULL, *list = NULL;
	long long number = 0;
	int rc;

	iw_arg_int(req, "agreementNumber", &number);
	if (!filter)
		return iw_error(resp, 500, "internal_error", "out of memory");
	json_object_object_add(filter, "agreementNumber", json_object_new_int64(number));
	if ((rc = iw_failed(resp, iw_smt_call(IW_SMT_ESIIDS, filter, &reply, &resp->err))) != 0)
		goto out;
	if (!(body = json_object_new_object()) || !(list = json_object_new_array()) ||
	    iw_smt_collect_esiids(reply.payload, list) != 0) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_object_object_add(body, "agreementNumber", json_object_new_int64(number));
	json_object_object_add(body, "data", json_object_get(reply.payload));
	json_object_object_add(body, "esiids", list);
	iw_log_count(req, "esiids", (long long)json_object_array_length(list));
	list = NULL;
	rc = iw_ok(resp, body);
	body = NULL;
out:
	json_object_put(list);
	json_object_put(body);
	json_object_put(filter);
	iw_smt_reply_free(&reply);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_agreements_esiids",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = esiids,
	};
	return iw_serve(&route);
}
