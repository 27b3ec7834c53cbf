/* GET /healthz: liveness of the program and its databases. No auth, so it
 * says nothing beyond {ok, db}. */
#include "io/db.h"
#include "web/serve.h"

static int healthz(struct iw_request *req, struct iw_response *resp)
{
	int up = iw_db_ping(IW_DB_MASTER) && iw_db_ping(IW_DB_USAGE);
	json_object *body;

	(void)req;
	if (!up) {
		iw_error(resp, 503, "database_unavailable", "a database is unavailable");
		json_object_object_add(resp->body, "db", json_object_new_string("unavailable"));
		return 503;
	}
	body = json_object_new_object();
	json_object_object_add(body, "db", json_object_new_string("ok"));
	return iw_ok(resp, body);
}

int main(void)
{
	static const struct iw_route route = {
		.name = "healthz",
		.methods = IW_GET,
		.auth = IW_AUTH_NONE,
		.body = IW_BODY_NONE,
		.handler = healthz,
		.lock_timeout_ms = 1000,
		.statement_timeout_ms = 2000, /* a probe answers fast or says 503 */
	};
	return iw_serve(&route);
}
