/* POST /api/admin/smt/subscriptions/list {serviceType?}: the CSP's
 * subscriptions at SMT (every record with a subscription number, as SMT gave
 * it), only those of serviceType when one is given. */
#include <string.h>
#include <strings.h>

#include "smt/admin.h"
#include "web/serve.h"

#define IW_SERVICE_TYPE_MAX 32

static const struct iw_field fields[] = {
	{ .name = "serviceType", .type = IW_T_STRING, .min = 1, .max = IW_SERVICE_TYPE_MAX },
	{ 0 }
};

static int list_subscriptions(struct iw_request *req, struct iw_response *resp)
{
	struct iw_smt_reply reply;
	struct iw_smt_subscriptions list = { 0 };
	const char *type = iw_arg_str(req, "serviceType");
	json_object *body = NULL, *out = NULL;
	int rc;

	if (type && strspn(type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
			    strlen(type))
		return iw_error(resp, 400, "invalid_request",
				"serviceType: letters, digits, '_' or '-' only (e.g. SUBSCRIPTION, ADHOC)");
	if ((rc = iw_failed(resp, iw_smt_fetch_subscriptions(&reply, &list, &resp->err))) != 0)
		goto out;
	if (!(body = json_object_new_object()) || !(out = json_object_new_array())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < list.n; i++) {
		const struct iw_smt_subscription *s = &list.v[i];
		if (type && (!s->service_type || strcasecmp(s->service_type, type) != 0))
			continue;
		json_object_array_add(out, json_object_get(s->record));
	}
	iw_log_count(req, "subscriptions", (long long)json_object_array_length(out));
	json_object_object_add(body, "serviceType", type ? json_object_new_string(type) : NULL);
	json_object_object_add(body, "count", json_object_new_int64((int64_t)json_object_array_length(out)));
	json_object_object_add(body, "subscriptions", out);
	out = NULL;
	rc = iw_ok(resp, body);
	body = NULL;
out:
	json_object_put(out);
	json_object_put(body);
	iw_smt_subscriptions_free(&list);
	iw_smt_reply_free(&reply);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_subscriptions_list",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = list_subscriptions,
	};
	return iw_serve(&route);
}
