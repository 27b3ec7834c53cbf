#include "smt/refresh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/buf.h"
#include "core/validate.h"
#include "io/db.h"
#include "smt/admin.h"

#define RETRY_AFTER_S 30
/* pg advisory lock key of this job: "smtcron" in ASCII. */
#define LOCK_KEY        "32489968973803374"

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
	struct iw_smt_refresh_counts c;
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
		r->c.failed++;
		return add_row(r, id, NULL, "ERROR", "no valid ESIID on this authorization");
	}
	if (stored_agreement && iw_parse_positive(stored_agreement, &stored) == 0)
		a = iw_smt_agreement_best(list, esiid, stored);
	if (!a)
		a = iw_smt_agreement_best(list, esiid, 0);
	if (!a) {
		snprintf(message, sizeof message, "SMT lists no agreement for ESIID %s", esiid);
		r->c.failed++;
		return add_row(r, id, NULL, "ERROR", message);
	}
	iw_smt_agreement_message(a, message, sizeof message);
	snprintf(number, sizeof number, "%lld", a->number);
	r->c.updated++;
	return add_row(r, id, number, iw_smt_status_name(a->normalized), message);
}

static void run_free(struct run *r)
{
	iw_buf_free(&r->ids);
	iw_buf_free(&r->agreements);
	iw_buf_free(&r->statuses);
	iw_buf_free(&r->messages);
}

/* Takes the run's lock in the transaction: 0, or the enum iw_err. */
static int lock_run(struct iw_error *error)
{
	const char *params[1] = { LOCK_KEY };
	PGresult *res = iw_db_exec(IW_DB_MASTER, error, lock_sql, 1, params);
	int got;

	if (!res)
		return (int)error->code;
	got = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	if (got)
		return 0;
	iw_err_set(error, IW_ERR_BUSY, "another SMT status run holds the "
		   "iw.smt-cron-status lock; retry when it ends");
	if (error)
		error->retry_after_s = RETRY_AFTER_S;
	return IW_ERR_BUSY;
}

/* Decides every row not throttled from SMT's list and writes them all. */
static int refresh_rows(struct run *r, PGresult *rows, const struct iw_smt_agreements *list,
			struct iw_error *error)
{
	for (int i = 0; i < r->c.scanned; i++) {
		if (PQgetvalue(rows, i, 3)[0] == 't')
			continue;
		if (refresh_row(r, list, PQgetvalue(rows, i, 0),
				PQgetisnull(rows, i, 1) ? NULL : PQgetvalue(rows, i, 1),
				PQgetisnull(rows, i, 2) ? NULL : PQgetvalue(rows, i, 2)) != 0)
			return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	}
	if (array_close(&r->ids) || array_close(&r->agreements) ||
	    array_close(&r->statuses) || array_close(&r->messages))
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	{
		const char *params[4] = { r->ids.data, r->agreements.data, r->statuses.data,
					  r->messages.data };
		if (iw_db_run(IW_DB_MASTER, error, update_sql, 4, params) != 0)
			return (int)error->code;
	}
	return 0;
}

int iw_smt_refresh_run(long long limit, int all, long long cooldown_ms,
		       struct iw_smt_refresh_counts *counts, struct iw_error *error)
{
	struct run r = { 0 };
	struct iw_smt_reply reply;
	struct iw_smt_agreements list = { 0 };
	char limit_text[24], cooldown_text[24];
	const char *params[3] = { limit_text, cooldown_text, all ? "true" : "false" };
	PGresult *rows = NULL;
	int rc, pending = 0, in_tx = 0;

	memset(&reply, 0, sizeof reply);
	snprintf(limit_text, sizeof limit_text, "%lld", limit);
	snprintf(cooldown_text, sizeof cooldown_text, "%lld", cooldown_ms);
	if ((rc = iw_smt_configured(error)) != 0)
		goto out;
	if (iw_db_begin(IW_DB_MASTER, error) != 0) {
		rc = (int)error->code;
		goto out;
	}
	in_tx = 1;
	if ((rc = lock_run(error)) != 0)
		goto out;
	if (!(rows = iw_db_exec(IW_DB_MASTER, error, rows_sql, 3, params))) {
		rc = (int)error->code;
		goto out;
	}
	r.c.scanned = PQntuples(rows);
	for (int i = 0; i < r.c.scanned; i++) {
		if (PQgetvalue(rows, i, 3)[0] == 't')
			r.c.throttled++;
		else
			pending++;
	}
	if (pending) {
		/* The whole CSP list once, not a call per row. */
		if ((rc = iw_smt_fetch_agreements(NULL, &reply, &list, error)) != 0) {
			r.c.failed = pending;
			r.c.smt_failed = 1;
			goto out;
		}
		if ((rc = refresh_rows(&r, rows, &list, error)) != 0)
			goto out;
	}
	if (iw_db_commit(IW_DB_MASTER, error) != 0) {
		rc = (int)error->code;
		goto out;
	}
	in_tx = 0;
out:
	if (in_tx)
		iw_db_rollback(IW_DB_MASTER);
	*counts = r.c;
	PQclear(rows);
	iw_smt_agreements_free(&list);
	iw_smt_reply_free(&reply);
	run_free(&r);
	return rc;
}
