/* GET /api/admin/ercot/lookup-esiid?line1=&line2=&city=&state=&zip=
 * (docs/ercot.md "ESIID lookup"): the ESIID of a service address from our
 * own ERCOT index, admin token. line1 and zip are required; city and state
 * are checked but do not filter (the ZIP is the stronger key, city names
 * vary: FT WORTH / FORT WORTH). */
#include "ercot/lookup.h"
#include "web/serve.h"

static const struct iw_field fields[] = {
	{ .name = "line1", .type = IW_T_STRING, .min = 1, .max = 100, .required = 1 },
	{ .name = "line2", .type = IW_T_STRING, .min = 0, .max = 100 },
	{ .name = "city", .type = IW_T_STRING, .min = 0, .max = 64 },
	{ .name = "state", .type = IW_T_STRING, .min = 0, .max = 32 },
	{ .name = "zip", .type = IW_T_STRING, .min = 5, .max = 10, .required = 1 },
	{ 0 }
};

static int lookup(struct iw_request *req, struct iw_response *resp)
{
	json_object *args = NULL, *body = NULL, *v;
	char msg[256];
	int rc;

	if (iw_query_args(req, fields, &args, msg, sizeof msg) != 0)
		return iw_error(resp, 400, "invalid_request", "%s", msg);
	if ((rc = iw_failed(resp, iw_ercot_lookup(iw_args_str(args, "line1"), iw_args_str(args, "line2"),
						  iw_args_str(args, "zip"), &body, &resp->err))) != 0)
		goto out;
	if (json_object_object_get_ex(body, "matches", &v))
		iw_log_count(req, "candidates", (long long)json_object_array_length(v));
	if (json_object_object_get_ex(body, "match", &v))
		iw_log_count(req, "match", json_object_get_boolean(v));
	rc = iw_ok(resp, body);
out:
	json_object_put(args);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "ercot_lookup_esiid",
		.methods = IW_GET,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_NONE,
		.handler = lookup,
		.statement_timeout_ms = 5000,
	};
	return iw_serve(&route);
}
