/* GET /api/admin/ercot/ingests (docs/ercot.md): the newest ErcotIngest rows.
 *   ?limit= 1..500 (default 50)  ?status= ok|skipped|error  ?tdsp= a TDSP name */
#include "web/serve.h"
#include "ercot/ingests.h"

static const char *const statuses[] = { "ok", "skipped", "error", NULL };

static const struct iw_field query_fields[] = {
	{ "limit", IW_T_INT, 0, 1, IW_ERCOT_INGESTS_MAX, NULL },
	{ "status", IW_T_ENUM, 0, 0, 0, statuses },
	{ "tdsp", IW_T_STRING, 0, 1, 64, NULL },
	{ 0 }
};

static int ingests(struct iw_request *req, struct iw_response *resp)
{
	json_object *args = NULL, *rows = NULL, *body, *v;
	int limit = IW_ERCOT_INGESTS_DEFAULT, rc;
	char msg[256];

	if (iw_query_args(req, query_fields, &args, msg, sizeof msg) != 0)
		return iw_error(resp, 400, "invalid_request", "%s", msg);
	if (json_object_object_get_ex(args, "limit", &v))
		limit = (int)json_object_get_int64(v);
	if ((rc = iw_failed(resp, iw_ercot_ingests_list(limit, iw_args_str(args, "status"),
							 iw_args_str(args, "tdsp"), &rows, &resp->err))) != 0)
		goto out;
	if (!(body = json_object_new_object())) {
		json_object_put(rows);
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	iw_log_count(req, "rows", (long long)json_object_array_length(rows));
	json_object_object_add(body, "count", json_object_new_int((int)json_object_array_length(rows)));
	json_object_object_add(body, "limit", json_object_new_int(limit));
	json_object_object_add(body, "ingests", rows);
	rc = iw_ok(resp, body);
out:
	json_object_put(args);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "ercot_ingests",
		.methods = IW_GET,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_NONE,
		.handler = ingests,
	};
	return iw_serve(&route);
}
