/* POST /api/admin/smt/agreements/cancel {esiid, ticket?}: a customer's
 * disconnect. Terminates every live (pending or active) agreement SMT lists
 * for the ESIID, with the email on its authorization, unsubscribes its live
 * subscriptions, marks its authorizations EXPIRED and leaves an audit row.
 * Idempotent: once nothing is live, a cancel makes no SMT change and answers
 * alreadyTerminated:true. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/admin.h"
#include "smt/agreements.h"
#include "web/serve.h"
#include "core/validate.h"

#define IW_TICKET_MAX 200
#define IW_STATUS_OK  200

static const struct iw_field fields[] = {
	{ .name = "esiid", .type = IW_T_ESIID, .required = 1 },
	{ .name = "ticket", .type = IW_T_STRING, .min = 1, .max = IW_TICKET_MAX },
	{ 0 }
};

struct cancel {
	const char *esiid;        /* as given (normalised) */
	char smt[IW_SMT_ESIID_LEN + 1];
	const char *ticket;
	char email[IW_EMAIL_MAX + 1];
	int authorizations;
	long status_code;         /* SMT's status of the last change made */
	long long first_number;   /* for the audit row */
	json_object *terminated;  /* [{agreementNumber,statusCode,result}] */
	json_object *unsubscribed;
	json_object *agreements;  /* the ESIID's agreements as SMT lists them */
};

static int load_authorizations(struct cancel *c, struct iw_response *resp)
{
	return iw_failed(resp, iw_smt_agreements_authorizations(c->smt, &c->authorizations, c->email,
								  sizeof c->email, &resp->err));
}

/* Answers an SMT failure with what was done before it. */
static void add_progress(struct iw_response *resp, const struct cancel *c)
{
	if (!resp->body)
		return;
	json_object_object_add(resp->body, "esiid", json_object_new_string(c->esiid));
	json_object_object_add(resp->body, "terminated", json_object_get(c->terminated));
	json_object_object_add(resp->body, "unsubscribed", json_object_get(c->unsubscribed));
}

static json_object *subscription_value(const char *number)
{
	long long n;

	/* Numbers go back to SMT the way they came: digits as a JSON number. */
	if (iw_parse_positive(number, &n) == 0)
		return json_object_new_int64(n);
	return json_object_new_string(number);
}

/* Appends {<key>: ID, statusCode, result} to LIST (takes ID). */
static int add_done(json_object *list, const char *key, json_object *id, long long status,
		    json_object *payload, struct iw_response *resp)
{
	json_object *done = json_object_new_object();

	if (!done) {
		json_object_put(id);
		return iw_error(resp, 500, "internal_error", "out of memory");
	}
	json_object_object_add(done, key, id);
	json_object_object_add(done, "statusCode", json_object_new_int64(status));
	json_object_object_add(done, "result", json_object_get(payload));
	json_object_array_add(list, done);
	return 0;
}

static int terminate_one(struct cancel *c, const struct iw_smt_agreement *a,
			 struct iw_response *resp)
{
	struct iw_smt_reply reply;
	json_object *call = json_object_new_object();
	int rc;

	if (!call)
		return iw_error(resp, 500, "internal_error", "out of memory");
	json_object_object_add(call, "agreementNumber", json_object_new_int64(a->number));
	json_object_object_add(call, "retailCustomerEmail", json_object_new_string(c->email));
	rc = iw_failed(resp, iw_smt_call(IW_SMT_TERMINATE, call, &reply, &resp->err));
	json_object_put(call);
	if (!c->first_number)
		c->first_number = a->number;
	c->status_code = reply.smt_status ? reply.smt_status : reply.http_status;
	if (rc == 0)
		rc = add_done(c->terminated, "agreementNumber", json_object_new_int64(a->number),
			      c->status_code, reply.payload, resp);
	iw_smt_reply_free(&reply);
	return rc;
}

static int unsubscribe_one(struct cancel *c, const struct iw_smt_subscription *s,
			   struct iw_response *resp)
{
	struct iw_smt_reply reply;
	json_object *call = json_object_new_object();
	int rc;

	if (!call)
		return iw_error(resp, 500, "internal_error", "out of memory");
	json_object_object_add(call, "subscriptionNumber", subscription_value(s->number));
	rc = iw_failed(resp, iw_smt_call(IW_SMT_UNSUBSCRIBE, call, &reply, &resp->err));
	json_object_put(call);
	c->status_code = reply.smt_status ? reply.smt_status : reply.http_status;
	if (rc == 0)
		rc = add_done(c->unsubscribed, "subscriptionNumber", subscription_value(s->number),
			      c->status_code, reply.payload, resp);
	iw_smt_reply_free(&reply);
	return rc;
}

/* A subscription belongs to the ESIID by its own ESIID, or through one of
 * the ESIID's agreements. */
static int subscription_of(const struct iw_smt_subscription *s, const struct cancel *c,
			   const struct iw_smt_agreements *list)
{
	if (s->esiid[0])
		return strcmp(s->esiid, c->smt) == 0;
	for (size_t i = 0; s->agreement && i < list->n; i++)
		if (list->v[i].number == s->agreement && strcmp(list->v[i].esiid, c->smt) == 0)
			return 1;
	return 0;
}

static int cancel(struct iw_request *req, struct iw_response *resp)
{
	struct cancel c = { 0 };
	struct iw_smt_reply areply, sreply;
	struct iw_smt_agreements list = { 0 };
	struct iw_smt_subscriptions subs = { 0 };
	json_object *body = NULL, *detail = NULL;
	int rc, called_smt = 0, live = 0, audited;
	long marked = 0;

	memset(&areply, 0, sizeof areply);
	memset(&sreply, 0, sizeof sreply);
	c.esiid = iw_arg_str(req, "esiid");
	c.ticket = iw_arg_str(req, "ticket");
	iw_esiid_smt(c.esiid, c.smt);
	c.terminated = json_object_new_array();
	c.unsubscribed = json_object_new_array();
	c.agreements = json_object_new_array();
	if (!c.terminated || !c.unsubscribed || !c.agreements) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	if ((rc = iw_failed(resp, iw_smt_configured(&resp->err))) != 0 || (rc = load_authorizations(&c, resp)) != 0)
		goto out;
	called_smt = 1;
	if ((rc = iw_failed(resp, iw_smt_fetch_agreements(NULL, &areply, &list, &resp->err))) != 0 ||
	    (rc = iw_failed(resp, iw_smt_fetch_subscriptions(&sreply, &subs, &resp->err))) != 0)
		goto fail;

	for (size_t i = 0; i < list.n; i++) {
		if (strcmp(list.v[i].esiid, c.smt) != 0)
			continue;
		json_object_array_add(c.agreements, iw_smt_agreement_json(&list.v[i]));
		live += iw_smt_status_live(list.v[i].normalized);
	}
	if (json_object_array_length(c.agreements) == 0 && c.authorizations == 0) {
		int any_sub = 0;
		for (size_t i = 0; i < subs.n; i++)
			any_sub |= subscription_of(&subs.v[i], &c, &list);
		if (!any_sub) {
			rc = iw_error(resp, 404, "not_found",
				      "esiid: SMT lists no agreement for %s and no authorization is on file",
				      c.smt);
			goto fail;
		}
	}
	if (live && !c.email[0]) {
		rc = iw_error(resp, 409, "contact_email_missing",
			      "contactEmail: no SmtAuthorization.contactEmail on file for this ESIID; "
			      "terminate with /api/admin/smt/agreements/terminate and a "
			      "retailCustomerEmail instead");
		goto fail;
	}
	for (size_t i = 0; i < list.n; i++) {
		const struct iw_smt_agreement *a = &list.v[i];
		if (strcmp(a->esiid, c.smt) == 0 && iw_smt_status_live(a->normalized) &&
		    (rc = terminate_one(&c, a, resp)) != 0)
			goto fail;
	}
	for (size_t i = 0; i < subs.n; i++) {
		const struct iw_smt_subscription *s = &subs.v[i];
		if (subscription_of(s, &c, &list) && iw_smt_subscription_live(s) &&
		    (rc = unsubscribe_one(&c, s, resp)) != 0)
			goto fail;
	}

	if ((rc = iw_failed(resp, iw_smt_agreements_expire_esiid(c.smt, c.ticket, &marked,
								  &resp->err))) != 0)
		goto fail;
	if (!(body = json_object_new_object()) || !(detail = json_object_new_object())) {
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto fail;
	}
	{
		int already = json_object_array_length(c.terminated) == 0 &&
			      json_object_array_length(c.unsubscribed) == 0;
		long code = c.status_code ? c.status_code : IW_STATUS_OK;
		json_object_object_add(detail, "alreadyTerminated", json_object_new_boolean(already));
		json_object_object_add(detail, "terminated", json_object_get(c.terminated));
		json_object_object_add(detail, "unsubscribed", json_object_get(c.unsubscribed));
		json_object_object_add(detail, "authorizationsUpdated", json_object_new_int((int)marked));
		audited = iw_smt_audit("cancel", c.smt, c.first_number, c.ticket, 1, code, detail) == 0;

		json_object_object_add(body, "esiid", json_object_new_string(c.esiid));
		json_object_object_add(body, "statusCode", json_object_new_int64(code));
		json_object_object_add(body, "alreadyTerminated", json_object_new_boolean(already));
		json_object_object_add(body, "terminated", json_object_get(c.terminated));
		json_object_object_add(body, "unsubscribed", json_object_get(c.unsubscribed));
		json_object_object_add(body, "agreements", json_object_get(c.agreements));
		json_object_object_add(body, "authorizationsUpdated", json_object_new_int((int)marked));
		json_object_object_add(body, "auditRecorded", json_object_new_boolean(audited));
		iw_log_count(req, "terminated", (long long)json_object_array_length(c.terminated));
		iw_log_count(req, "unsubscribed", (long long)json_object_array_length(c.unsubscribed));
	}
	rc = iw_ok(resp, body);
	body = NULL;
	goto out;
fail:
	if (resp->err.code != IW_ERR_NONE)
		rc = iw_fail(resp, &resp->err);
	/* Every cancel that reached SMT leaves a row, failed ones too. */
	if (called_smt && (detail = json_object_new_object())) {
		json_object *msg = NULL;
		json_object_object_get_ex(resp->body, "message", &msg);
		json_object_object_add(detail, "error", json_object_new_string(resp->error_code
					? resp->error_code : "internal_error"));
		json_object_object_add(detail, "message", json_object_get(msg));
		json_object_object_add(detail, "terminated", json_object_get(c.terminated));
		json_object_object_add(detail, "unsubscribed", json_object_get(c.unsubscribed));
		iw_smt_audit("cancel", c.smt, c.first_number, c.ticket, 0,
			     c.status_code ? c.status_code : rc, detail);
	}
	add_progress(resp, &c);
out:
	json_object_put(detail);
	json_object_put(body);
	json_object_put(c.terminated);
	json_object_put(c.unsubscribed);
	json_object_put(c.agreements);
	iw_smt_subscriptions_free(&subs);
	iw_smt_agreements_free(&list);
	iw_smt_reply_free(&sreply);
	iw_smt_reply_free(&areply);
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
