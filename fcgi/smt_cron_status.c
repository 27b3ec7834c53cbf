/* POST /api/admin/smt/cron/status {status?: PENDING|ALL, limit?: 1-1000}:
 * the hourly refresh of SmtAuthorization from SMT (smt/refresh.h). A proxy
 * failure answers the 502/504 with the run's counts. */
#include <string.h>

#include "core/config.h"
#include "smt/cron_runs.h"
#include "smt/refresh.h"
#include "web/serve.h"

#define IW_COOLDOWN_DEFAULT_MS  60000
#define IW_COOLDOWN_MAX_MS      (7LL * 24 * 3600 * 1000)

static const char *const scopes[] = { "PENDING", "ALL", NULL };

static const struct iw_field fields[] = {
	{ .name = "status", .type = IW_T_ENUM, .choices = scopes },
	{ .name = "limit", .type = IW_T_INT, .min = 1, .max = IW_SMT_REFRESH_LIMIT_MAX },
	{ 0 }
};

static void add_counts(json_object *body, const struct iw_smt_refresh_counts *r)
{
	if (!body)
		return;
	json_object_object_add(body, "scanned", json_object_new_int(r->scanned));
	json_object_object_add(body, "updated", json_object_new_int(r->updated));
	json_object_object_add(body, "failed", json_object_new_int(r->failed));
	json_object_object_add(body, "throttled", json_object_new_int(r->throttled));
}

static void log_counts(struct iw_request *req, const struct iw_smt_refresh_counts *r)
{
	iw_log_count(req, "scanned", r->scanned);
	iw_log_count(req, "updated", r->updated);
	iw_log_count(req, "failed", r->failed);
	iw_log_count(req, "throttled", r->throttled);
}

/* For GET /metrics: every run that ran (a busy refusal did nothing). A
 * failed write is logged; the run's answer stands. */
static void record_run(const char *scope, const struct iw_smt_refresh_counts *c,
		       const struct iw_error *e)
{
	struct iw_error err = { 0 };

	if (e && e->code == IW_ERR_BUSY)
		return;
	if (iw_smt_cron_record(scope ? scope : "PENDING", c, e ? iw_err_name(e->code) : NULL,
			       &err) != 0)
		iw_logf("error", "recording the cron run failed: %s", err.msg);
	iw_err_clear(&err);
}

static int cron_status(struct iw_request *req, struct iw_response *resp)
{
	const char *scope = iw_arg_str(req, "status");
	long long limit = IW_SMT_REFRESH_LIMIT_DEFAULT;
	long long cooldown = iw_env_int("SMT_STATUS_REFRESH_COOLDOWN_MS", IW_COOLDOWN_DEFAULT_MS, 0,
					IW_COOLDOWN_MAX_MS);
	struct iw_smt_refresh_counts counts;
	json_object *body;
	int rc;

	iw_arg_int(req, "limit", &limit);
	rc = iw_smt_refresh_run(limit, scope && strcmp(scope, "ALL") == 0, cooldown, &counts,
				&resp->err);
	log_counts(req, &counts);
	record_run(scope, &counts, rc == 0 ? NULL : &resp->err);
	if (rc != 0) {
		rc = iw_fail(resp, &resp->err);
		if (counts.smt_failed) /* say what the run left as it was */
			add_counts(resp->body, &counts);
		return rc;
	}
	if (!(body = json_object_new_object()))
		return iw_error(resp, 500, "internal_error", "out of memory");
	json_object_object_add(body, "status", json_object_new_string(scope ? scope : "PENDING"));
	add_counts(body, &counts);
	return iw_ok(resp, body);
}

int main(void)
{
	static const struct iw_route route = {
		.name = "smt_cron_status",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = cron_status,
		.statement_timeout_ms = 240000, /* nginx waits 300 s */
	};
	return iw_serve(&route);
}
