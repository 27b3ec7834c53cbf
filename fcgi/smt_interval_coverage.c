/* GET /api/admin/smt/interval-coverage?esiid=&start=&end=: per America/
 * Chicago day of one ESIID, the intervals present against expected (96, or
 * 92 / 100 on the DST days), estimated and generation counts, and the days
 * with none (usage/coverage.h). start/end are dates, at most 366 days. */
#include "core/validate.h"
#include "usage/coverage.h"
#include "web/serve.h"

static const struct iw_field fields[] = {
	{ .name = "esiid", .type = IW_T_ESIID, .required = 1 },
	{ .name = "start", .type = IW_T_STRING, .min = 10, .max = 10, .required = 1 },
	{ .name = "end", .type = IW_T_STRING, .min = 10, .max = 10, .required = 1 },
	{ 0 }
};

static int coverage(struct iw_request *req, struct iw_response *resp)
{
	struct iw_cov cov = { 0 };
	json_object *args = NULL, *body;
	const char *esiid, *start, *end;
	char msg[256];
	int rc;

	if (iw_query_args(req, fields, &args, msg, sizeof msg) != 0)
		return iw_error(resp, 400, "invalid_request", "%s", msg);
	esiid = json_object_get_string(json_object_object_get(args, "esiid"));
	start = json_object_get_string(json_object_object_get(args, "start"));
	end = json_object_get_string(json_object_object_get(args, "end"));
	if ((rc = iw_failed(resp, iw_cov_load_master(esiid, start, end, &cov, &resp->err))) != 0)
		goto out;
	if (!(body = iw_cov_json(&cov))) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_object_object_add(body, "esiid", json_object_new_string(esiid));
	json_object_object_add(body, "start", json_object_new_string(start));
	json_object_object_add(body, "end", json_object_new_string(end));
	json_object_object_add(body, "timeZone", json_object_new_string("America/Chicago"));
	iw_log_count(req, "days", cov.n);
	rc = iw_ok(resp, body);
out:
	iw_cov_free(&cov);
	json_object_put(args);
	return rc;
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_interval_coverage",
		.methods = IW_GET,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_NONE,
		.handler = coverage,
		.statement_timeout_ms = 20000,
	};
	return iw_serve(&route);
}
