/* GET /api/admin/ercot/cron/health: which settings a daily ERCOT run lacks,
 * which fetch method and storage it would use. Makes no network calls. */
#include "ercot/config.h"
#include "web/serve.h"

static int health(struct iw_request *req, struct iw_response *resp)
{
	const char *missing[IW_ERCOT_MISSING_MAX];
	size_t n = iw_ercot_missing_settings(missing, IW_ERCOT_MISSING_MAX);
	json_object *body = json_object_new_object();
	json_object *list = json_object_new_array();

	(void)req;
	for (size_t i = 0; i < n; i++)
		json_object_array_add(list, json_object_new_string(missing[i]));
	json_object_object_add(body, "missing", list);
	json_object_object_add(body, "method", json_object_new_string(
		iw_ercot_method_name(iw_ercot_method())));
	json_object_object_add(body, "storage", json_object_new_string(iw_ercot_storage_kind()));
	iw_ok(resp, body);
	if (n) {
		/* Still a 200: the probe answered; ok:false says the run would fail. */
		json_object_object_add(resp->body, "ok", json_object_new_boolean(0));
		json_object_object_add(resp->body, "message",
				       json_object_new_string("required settings are missing"));
	}
	iw_log_count(req, "missing", (long long)n);
	return 200;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "ercot_cron_health",
		.methods = IW_GET,
		.auth = IW_AUTH_CRON,
		.body = IW_BODY_NONE,
		.handler = health,
	};
	return iw_serve(&route);
}
