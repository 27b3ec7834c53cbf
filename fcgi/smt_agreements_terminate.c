/* POST /api/admin/smt/agreements/terminate {agreementNumber,
 * retailCustomerEmail}: ends one agreement at SMT. Every attempt, failed or
 * not, leaves an SmtAdminAction row; local authorizations that carry the
 * agreement are marked EXPIRED. */
#include "smt/admin.h"
#include "smt/agreements.h"
#include "web/serve.h"

#include <stdio.h>
#include <stdlib.h>

static const struct iw_field fields[] = {
	{ .name = "agreementNumber", .type = IW_T_AGREEMENT, .required = 1 },
	{ .name = "retailCustomerEmail", .type = IW_T_EMAIL, .required = 1 },
	{ 0 }
};

static int terminate(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_reply reply;
	const char *email = iw_arg_str(req, "retailCustomerEmail");
	json_object *call = json_object_new_object(), *detail = json_object_new_object();
	json_object *body = NULL;
	long long number = 0;
	int rc, audited;
	long updated = 0;

	iw_arg_int(req, "agreementNumber", &number);
	if (!call || !detail) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		json_object_put(call);
		json_object_put(detail);
		return rc;
	}
	json_object_object_add(call, "agreementNumber", json_object_new_int64(number));
	json_object_object_add(call, "retailCustomerEmail", json_object_new_string(email));
	rc = iw_failed(resp, iw_smt_call(IW_SMT_TERMINATE, call, &reply, &resp->err));

	json_object_object_add(detail, "retailCustomerEmail", json_object_new_string(email));
	json_object_object_add(detail, "httpStatus", json_object_new_int64(reply.http_status));
	if (rc != 0) {
		json_object *err = NULL;
		json_object_object_get_ex(resp->body, "message", &err);
		json_object_object_add(detail, "error", json_object_get(err));
		/* What SMT said when it refused (the proxy's "response"), if anything. */
		if (reply.root) {
			json_object *said = NULL;
			json_object_object_get_ex(reply.root, "response", &said);
			json_object_object_add(detail, "response", json_object_get(said));
		}
		iw_smt_audit("terminate", NULL, number, NULL, 0,
			     reply.smt_status ? reply.smt_status : reply.http_status, detail);
		goto out;
	}
	json_object_object_add(detail, "result", json_object_get(reply.payload));
	audited = iw_smt_audit("terminate", NULL, number, NULL, 1,
			       reply.smt_status ? reply.smt_status : reply.http_status, detail) == 0;

	if ((rc = iw_failed(resp, iw_smt_agreements_expire_number(number, &updated, &resp->err))) != 0)
		goto out;
	if (!(body = json_object_new_object())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_object_object_add(body, "agreementNumber", json_object_new_int64(number));
	json_object_object_add(body, "retailCustomerEmail", json_object_new_string(email));
	json_object_object_add(body, "statusCode",
			       json_object_new_int64(reply.smt_status ? reply.smt_status : reply.http_status));
	json_object_object_add(body, "result", json_object_get(reply.payload));
	json_object_object_add(body, "authorizationsUpdated",
			       json_object_new_int((int)updated));
	json_object_object_add(body, "auditRecorded", json_object_new_boolean(audited));
	rc = iw_ok(resp, body);
out:
	json_object_put(call);
	json_object_put(detail);
	iw_smt_reply_free(&reply);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_agreements_terminate",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = terminate,
	};
	return iw_serve(&route);
}
