/* POST /api/admin/smt/cron/status {status?: PENDING|ALL, limit?: 1-1000}:
 * the hourly refresh of SmtAuthorization from SMT. One run at a time (a
 * transaction-scoped advisory lock: whatever way a run ends, the loop's
 * rollback or the commit frees it), one fetch of the CSP's agreement list per
 * run, one UPDATE for all rows.
 *
 * A proxy failure leaves every row as it was (statuses, messages and
 * smtLastSyncAt, so the next run retries at once) and answers the 502/504
 * with the run's counts: a passing outage must not overwrite good statuses.
 * A row with no usable ESIID, or whose ESIID SMT lists no agreement for, is
 * synced as ERROR with a message saying which. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "io/db.h"
#include "smt/admin.h"
#include "web/serve.h"

#define IW_CRON_LIMIT_DEFAULT   50
#define IW_CRON_LIMIT_MAX       1000
#define IW_COOLDOWN_DEFAULT_MS  60000
#define IW_COOLDOWN_MAX_MS      (7LL * 24 * 3600 * 1000)
/* pg advisory lock key of this job: "smtcron" in ASCII. */
#define IW_CRON_LOCK_KEY        "32489968973803374"

static const char lock_sql[] = "SELECT pg_try_advisory_xact_lock($1::bigint)";

/* Newest first; throttled = synced within the cooldown. */
static const char rows_sql[] =
	"SELECT \"id\", \"esiid\", \"smtAgreementId\","
	" (\"smtLastSyncAt\" IS NOT NULL AND \"smtLastSyncAt\" >"
	"  (now() AT TIME ZONE 'UTC') - $2::bigint * interval '1 millisecond') AS throttled"
	" FROM \"SmtAuthorization\""
	" WHERE \"archivedAt\" IS NULL"
	" AND ($3::boolean OR \"smtStatus\" IS NULL OR \"smtStatus\" = 'PENDING')"
	" ORDER BY \"createdAt\" DESC, \"id\" DESC LIMIT $1::integer";

static const char update_sql[] =
	"UPDATE \"SmtAuthorization\" AS a SET"
	" \"smtAgreementId\" = COALESCE(u.agreement, a.\"smtAgreementId\"),"
	" \"smtStatus\" = u.status, \"smtStatusMessage\" = u.message,"
	" \"smtLastSyncAt\" = now() AT TIME ZONE 'UTC', \"updatedAt\" = now() AT TIME ZONE 'UTC'"
	" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
	"  AS u(id, agreement, status, message)"
	" WHERE a.\"id\" = u.id";

static const char *const scopes[] = { "PENDING", "ALL", NULL };

static const struct iw_field fields[] = {
	{ .name = "status", .type = IW_T_ENUM, .choices = scopes },
	{ .name = "limit", .type = IW_T_INT, .min = 1, .max = IW_CRON_LIMIT_MAX },
	{ 0 }
};

/* Appends one element (NULL: SQL NULL) to a Postgres array literal under
 * construction ({"a","b",NULL}), quoting " and \ as arrays require. */
static int array_add(struct iw_buf *a, const char *value)
{
	if (iw_buf_put(a, a->len ? "," : "{", 1) != 0)
		return -1;
	if (!value)
		return iw_buf_put(a, "NULL", 4);
	if (iw_buf_put(a, "\"", 1) != 0)
		return -1;
	for (const char *p = value; *p; p++) {
		if ((*p == '"' || *p == '\\') && iw_buf_put(a, "\\", 1) != 0)
			return -1;
		if (iw_buf_put(a, p, 1) != 0)
			return -1;
	}
	return iw_buf_put(a, "\"", 1);
}

static int array_close(struct iw_buf *a)
{
	return a->len ? iw_buf_put(a, "}", 1) : iw_buf_put(a, "{}", 2);
}

struct run {
	int scanned, updated, failed, throttled;
	struct iw_buf ids, agreements, statuses, messages;
};

static int add_row(struct run *r, const char *id, const char *agreement, const char *status,
		   const char *message)
{
	return array_add(&r->ids, id) || array_add(&r->agreements, agreement) ||
	       array_add(&r->statuses, status) || array_add(&r->messages, message) ? -1 : 0;
}

/* Decides one row's new state from SMT's list. 0, or -1 out of memory. */
static int refresh_row(struct run *r, const struct iw_smt_agreements *list, const char *id,
		       const char *stored_esiid, const char *stored_agreement)
{
	char esiid[IW_SMT_ESIID_LEN + 1], message[IW_SMT_MESSAGE_MAX], number[24];
	const struct iw_smt_agreement *a = NULL;
	json_object *v = stored_esiid ? json_object_new_string(stored_esiid) : NULL;
	long long stored = 0;
	int usable = v && iw_smt_esiid_value(v, esiid) == 0;

	json_object_put(v);
	if (!usable) {
		r->failed++;
		return add_row(r, id, NULL, "ERROR", "no valid ESIID on this authorization");
	}
	if (stored_agreement && iw_parse_positive(stored_agreement, &stored) == 0)
		a = iw_smt_agreement_best(list, esiid, stored);
	if (!a)
		a = iw_smt_agreement_best(list, esiid, 0);
	if (!a) {
		snprintf(message, sizeof message, "SMT lists no agreement for ESIID %s", esiid);
		r->failed++;
		return add_row(r, id, NULL, "ERROR", message);
	}
	iw_smt_agreement_message(a, message, sizeof message);
	snprintf(number, sizeof number, "%lld", a->number);
	r->updated++;
	return add_row(r, id, number, iw_smt_status_name(a->normalized), message);
}

static void run_free(struct run *r)
{
	iw_buf_free(&r->ids);
	iw_buf_free(&r->agreements);
	iw_buf_free(&r->statuses);
	iw_buf_free(&r->messages);
}

static void add_counts(json_object *body, const struct run *r)
{
	json_object_object_add(body, "scanned", json_object_new_int(r->scanned));
	json_object_object_add(body, "updated", json_object_new_int(r->updated));
	json_object_object_add(body, "failed", json_object_new_int(r->failed));
	json_object_object_add(body, "throttled", json_object_new_int(r->throttled));
}

static void log_counts(struct iw_request *req, const struct run *r)
{
	iw_log_count(req, "scanned", r->scanned);
	iw_log_count(req, "updated", r->updated);
	iw_log_count(req, "failed", r->failed);
	iw_log_count(req, "throttled", r->throttled);
}

static int cron_status(struct iw_request *req, struct iw_response *resp)
{
	struct run r = { 0 };
	struct iw_smt_reply reply;
	struct iw_smt_agreements list = { 0 };
	const char *scope = iw_arg_str(req, "status");
	long long limit = IW_CRON_LIMIT_DEFAULT;
	char limit_text[24], cooldown_text[24];
	PGresult *rows = NULL, *res;
	json_object *body;
	int rc, pending = 0;

	memset(&reply, 0, sizeof reply);
	iw_arg_int(req, "limit", &limit);
	snprintf(limit_text, sizeof limit_text, "%lld", limit);
	snprintf(cooldown_text, sizeof cooldown_text, "%lld",
		 iw_env_int("SMT_STATUS_REFRESH_COOLDOWN_MS", IW_COOLDOWN_DEFAULT_MS, 0,
			    IW_COOLDOWN_MAX_MS));
	if ((rc = iw_failed(resp, iw_smt_configured(&resp->err))) != 0)
		goto out;
	if (iw_db_begin(IW_DB_MASTER, &resp->err) != 0) {
		rc = iw_fail(resp, &resp->err);
		goto out;
	}
	{
		const char *params[1] = { IW_CRON_LOCK_KEY };
		int got;
		if (!(res = iw_db_exec(IW_DB_MASTER, &resp->err, lock_sql, 1, params))) {
			rc = iw_fail(resp, &resp->err);
			goto out;
		}
		got = PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		if (!got) {
			rc = iw_error(resp, 409, "busy", "another SMT status run holds the "
				      "iw.smt-cron-status lock; retry when it ends");
			iw_header(resp, "Retry-After", "30");
			goto out;
		}
	}
	{
		const char *params[3] = { limit_text, cooldown_text,
					  scope && strcmp(scope, "ALL") == 0 ? "true" : "false" };
		if (!(rows = iw_db_exec(IW_DB_MASTER, &resp->err, rows_sql, 3, params))) {
			rc = iw_fail(resp, &resp->err);
			goto out;
		}
	}
	r.scanned = PQntuples(rows);
	for (int i = 0; i < r.scanned; i++) {
		if (PQgetvalue(rows, i, 3)[0] == 't')
			r.throttled++;
		else
			pending++;
	}
	if (pending) {
		/* The whole CSP list once, not a call per row. */
		if ((rc = iw_failed(resp, iw_smt_fetch_agreements(NULL, &reply, &list, &resp->err))) != 0) {
			r.failed = pending;
			add_counts(resp->body, &r);
			goto out;
		}
		for (int i = 0; i < r.scanned; i++) {
			if (PQgetvalue(rows, i, 3)[0] == 't')
				continue;
			if (refresh_row(&r, &list, PQgetvalue(rows, i, 0),
					PQgetisnull(rows, i, 1) ? NULL : PQgetvalue(rows, i, 1),
					PQgetisnull(rows, i, 2) ? NULL : PQgetvalue(rows, i, 2)) != 0) {
				rc = iw_error(resp, 500, "internal_error", "out of memory");
				goto out;
			}
		}
		if (array_close(&r.ids) || array_close(&r.agreements) ||
		    array_close(&r.statuses) || array_close(&r.messages)) {
			rc = iw_error(resp, 500, "internal_error", "out of memory");
			goto out;
		}
		{
			const char *params[4] = { r.ids.data, r.agreements.data, r.statuses.data, r.messages.data };
			if (iw_db_run(IW_DB_MASTER, &resp->err, update_sql, 4, params) != 0) {
				rc = iw_fail(resp, &resp->err);
				goto out;
			}
		}
	}
	if (iw_db_commit(IW_DB_MASTER, &resp->err) != 0) {
		rc = iw_fail(resp, &resp->err);
		goto out;
	}
	if (!(body = json_object_new_object())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	json_object_object_add(body, "status", json_object_new_string(scope ? scope : "PENDING"));
	add_counts(body, &r);
	rc = iw_ok(resp, body);
out:
	log_counts(req, &r);
	PQclear(rows);
	iw_smt_agreements_free(&list);
	iw_smt_reply_free(&reply);
	run_free(&r);
	return rc; /* a transaction left open is rolled back by the loop */
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
