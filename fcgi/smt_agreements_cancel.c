/* POST /api/admin/smt/agreements/cancel {esiid, ticket?}: a customer's
 * disconnect (smt/cancel.h). Terminates every live (pending or active)
 * agreement SMT lists for the ESIID, with the email on its authorization,
 * unsubscribes its live subscriptions, marks its authorizations EXPIRED and
 * leaves an audit row, failed cancels that reached SMT too. */
#include "core/validate.h"
#include "smt/cancel.h"
#include "web/serve.h"

#define IW_TICKET_MAX 200

static const struct iw_field fields[] = {
	{ .name = "esiid", .type = IW_T_ESIID, .required = 1 },
	{ .name = "ticket", .type = IW_T_STRING, .min = 1, .max = IW_TICKET_MAX },
	{ 0 }
};

static int cancel(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_cancel c = {
		.esiid = iw_arg_str(req, "esiid"),
		.ticket = iw_arg_str(req, "ticket"),
	};
	json_object *body = NULL, *msg = NULL;
	int rc;

	switch (iw_smt_cancel(&c, &body, &resp->err)) {
	case IW_SMT_CANCEL_DONE:
		iw_log_count(req, "terminated", (long long)json_object_array_length(c.terminated));
		iw_log_count(req, "unsubscribed", (long long)json_object_array_length(c.unsubscribed));
		iw_smt_cancel_free(&c);
		return iw_ok(resp, body);
	case IW_SMT_CANCEL_UNKNOWN:
		rc = iw_error(resp, 404, "not_found", "%s", c.message);
		break;
	case IW_SMT_CANCEL_NO_EMAIL:
		rc = iw_error(resp, 409, "contact_email_missing", "%s", c.message);
		break;
	case IW_SMT_CANCEL_FAILED:
	default:
		rc = iw_fail(resp, &resp->err);
		break;
	}
	/* Every cancel that reached SMT leaves a row, and its answer says what
	 * was done before it failed. */
	if (c.called_smt && resp->body) {
		json_object_object_get_ex(resp->body, "message", &msg);
		iw_smt_cancel_audit_failure(&c, resp->error_code, msg, rc);
		json_object_object_add(resp->body, "esiid", json_object_new_string(c.esiid));
		json_object_object_add(resp->body, "terminated", json_object_get(c.terminated));
		json_object_object_add(resp->body, "unsubscribed", json_object_get(c.unsubscribed));
	}
	iw_smt_cancel_free(&c);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_agreements_cancel",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = cancel,
		.statement_timeout_ms = 240000, /* nginx waits 300 s */
	};
	return iw_serve(&route);
}
