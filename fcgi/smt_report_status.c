/* POST /api/admin/smt/report-status {correlationId, serviceType?}: where an
 * SMT report (ad-hoc or subscription) stands. reportStatus is SMT's object
 * with status, statusCode and statusReason always present (found at any
 * depth and in any case; null when SMT gave none). */
#include <string.h>

#include "smt/proxy.h"
#include "smt/records.h"
#include "web/serve.h"

#define IW_CORRELATION_MAX  128
#define IW_SERVICE_TYPE_MAX 32
#define IW_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static const struct iw_field fields[] = {
	{ .name = "correlationId", .type = IW_T_STRING, .required = 1, .min = 1,
	  .max = IW_CORRELATION_MAX },
	{ .name = "serviceType", .type = IW_T_STRING, .min = 1, .max = IW_SERVICE_TYPE_MAX },
	{ 0 }
};

static int report_status(struct iw_request *req, struct iw_response *resp)
{
	static const char *const keys[] = { "status", "statusCode", "statusReason" };
	struct iw_smt_reply reply;
	const char *id = iw_arg_str(req, "correlationId");
	const char *type = iw_arg_str(req, "serviceType");
	json_object *call = NULL, *body = NULL, *report = NULL;
	int rc;

	if (!id || strspn(id, IW_ID_CHARS "-_.:") != strlen(id))
		return iw_error(resp, 400, "invalid_request",
				"correlationId: letters, digits, '-', '_', '.' or ':' only");
	if (type && strspn(type, IW_ID_CHARS "_-") != strlen(type))
		return iw_error(resp, 400, "invalid_request",
				"serviceType: letters, digits, '_' or '-' only (e.g. ADHOC, SUBSCRIPTION)");
	if (!(call = json_object_new_object()))
		return iw_error(resp, 500, "internal_error", "out of memory");
	json_object_object_add(call, "correlationId", json_object_new_string(id));
	if (type)
		json_object_object_add(call, "serviceType", json_object_new_string(type));
	if ((rc = iw_failed(resp, iw_smt_call(IW_SMT_REPORT_STATUS, call, &reply, &resp->err))) != 0)
		goto out;

	if (json_object_is_type(reply.payload, json_type_object))
		rc = json_object_deep_copy(reply.payload, &report, NULL) == 0 ? 0 : -1;
	else if ((report = json_object_new_object()))
		json_object_object_add(report, "response", json_object_get(reply.payload));
	if (rc != 0 || !report || !(body = json_object_new_object())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		json_object *v = iw_smt_find_key(reply.payload, keys[i]);
		json_object_object_add(report, keys[i], json_object_get(v));
	}
	json_object_object_add(body, "correlationId", json_object_new_string(id));
	json_object_object_add(body, "serviceType", type ? json_object_new_string(type) : NULL);
	json_object_object_add(body, "reportStatus", report);
	report = NULL;
	rc = iw_ok(resp, body);
	body = NULL;
out:
	json_object_put(report);
	json_object_put(body);
	json_object_put(call);
	iw_smt_reply_free(&reply);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_report_status",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = report_status,
	};
	return iw_serve(&route);
}
