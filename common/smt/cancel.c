/* A customer's disconnect (smt/cancel.h), from fcgi/smt_agreements_cancel.c. */
#include "smt/cancel.h"

#include <stdio.h>
#include <string.h>

#include "smt/admin.h"
#include "smt/agreements.h"
#include "smt/proxy.h"

#define IW_STATUS_OK 200

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
		    json_object *payload, struct iw_error *e)
{
	json_object *done = json_object_new_object();

	if (!done) {
		json_object_put(id);
		return iw_err_set(e, IW_ERR_NOMEM, "out of memory");
	}
	json_object_object_add(done, key, id);
	json_object_object_add(done, "statusCode", json_object_new_int64(status));
	json_object_object_add(done, "result", json_object_get(payload));
	json_object_array_add(list, done);
	return 0;
}

/* Calls SMT's OP with CALL (taken; {KEY: ID} and more) and records it in
 * LIST as done: 0, or the enum iw_err set in E. */
static int change_one(struct iw_smt_cancel *c, enum iw_smt_op op, json_object *call,
		      json_object *list, const char *key, json_object *id, struct iw_error *e)
{
	struct iw_smt_reply reply;
	int rc;

	if (!call || !id) {
		json_object_put(call);
		json_object_put(id);
		return iw_err_set(e, IW_ERR_NOMEM, "out of memory");
	}
	json_object_object_add(call, key, json_object_get(id));
	rc = iw_smt_call(op, call, &reply, e);
	json_object_put(call);
	c->status_code = reply.smt_status ? reply.smt_status : reply.http_status;
	if (rc == 0)
		rc = add_done(list, key, json_object_get(id), c->status_code, reply.payload, e);
	json_object_put(id);
	iw_smt_reply_free(&reply);
	return rc;
}

static int terminate_one(struct iw_smt_cancel *c, const struct iw_smt_agreement *a,
			 struct iw_error *e)
{
	json_object *call = json_object_new_object();

	if (call)
		json_object_object_add(call, "retailCustomerEmail", json_object_new_string(c->email));
	if (!c->first_number)
		c->first_number = a->number;
	return change_one(c, IW_SMT_TERMINATE, call, c->terminated, "agreementNumber",
			  json_object_new_int64(a->number), e);
}

static int unsubscribe_one(struct iw_smt_cancel *c, const struct iw_smt_subscription *s,
			   struct iw_error *e)
{
	return change_one(c, IW_SMT_UNSUBSCRIBE, json_object_new_object(), c->unsubscribed,
			  "subscriptionNumber", subscription_value(s->number), e);
}

/* A subscription belongs to the ESIID by its own ESIID, or through one of
 * the ESIID's agreements. */
static int subscription_of(const struct iw_smt_subscription *s, const struct iw_smt_cancel *c,
			   const struct iw_smt_agreements *list)
{
	if (s->esiid[0])
		return strcmp(s->esiid, c->smt) == 0;
	for (size_t i = 0; s->agreement && i < list->n; i++)
		if (list->v[i].number == s->agreement && strcmp(list->v[i].esiid, c->smt) == 0)
			return 1;
	return 0;
}

/* Lists the ESIID's agreements into C; UNKNOWN or NO_EMAIL when the cancel
 * cannot go on, else DONE. */
static enum iw_smt_cancel_end survey(struct iw_smt_cancel *c, const struct iw_smt_agreements *list,
				     const struct iw_smt_subscriptions *subs)
{
	int live = 0, any_sub = 0;

	for (size_t i = 0; i < list->n; i++) {
		if (strcmp(list->v[i].esiid, c->smt) != 0)
			continue;
		json_object_array_add(c->agreements, iw_smt_agreement_json(&list->v[i]));
		live += iw_smt_status_live(list->v[i].normalized);
	}
	if (json_object_array_length(c->agreements) == 0 && c->authorizations == 0) {
		for (size_t i = 0; i < subs->n; i++)
			any_sub |= subscription_of(&subs->v[i], c, list);
		if (!any_sub) {
			snprintf(c->message, sizeof c->message,
				 "esiid: SMT lists no agreement for %s and no authorization is on file", c->smt);
			return IW_SMT_CANCEL_UNKNOWN;
		}
	}
	if (live && !c->email[0]) {
		snprintf(c->message, sizeof c->message,
			 "contactEmail: no SmtAuthorization.contactEmail on file for this ESIID; "
			 "terminate with /api/admin/smt/agreements/terminate and a "
			 "retailCustomerEmail instead");
		return IW_SMT_CANCEL_NO_EMAIL;
	}
	return IW_SMT_CANCEL_DONE;
}

/* The answer and the audit row of a cancel that got through. */
static int answer(struct iw_smt_cancel *c, long marked, json_object **body, struct iw_error *e)
{
	json_object *detail = NULL;
	int already = json_object_array_length(c->terminated) == 0 &&
		      json_object_array_length(c->unsubscribed) == 0, audited;
	long code = c->status_code ? c->status_code : IW_STATUS_OK;

	if (!(*body = json_object_new_object()) || !(detail = json_object_new_object())) {
		json_object_put(*body);
		*body = NULL;
		return iw_err_set(e, IW_ERR_NOMEM, "out of memory");
	}
	json_object_object_add(detail, "alreadyTerminated", json_object_new_boolean(already));
	json_object_object_add(detail, "terminated", json_object_get(c->terminated));
	json_object_object_add(detail, "unsubscribed", json_object_get(c->unsubscribed));
	json_object_object_add(detail, "authorizationsUpdated", json_object_new_int((int)marked));
	audited = iw_smt_audit("cancel", c->smt, c->first_number, c->ticket, 1, code, detail) == 0;
	json_object_put(detail);
	json_object_object_add(*body, "esiid", json_object_new_string(c->esiid));
	json_object_object_add(*body, "statusCode", json_object_new_int64(code));
	json_object_object_add(*body, "alreadyTerminated", json_object_new_boolean(already));
	json_object_object_add(*body, "terminated", json_object_get(c->terminated));
	json_object_object_add(*body, "unsubscribed", json_object_get(c->unsubscribed));
	json_object_object_add(*body, "agreements", json_object_get(c->agreements));
	json_object_object_add(*body, "authorizationsUpdated", json_object_new_int((int)marked));
	json_object_object_add(*body, "auditRecorded", json_object_new_boolean(audited));
	return 0;
}

enum iw_smt_cancel_end iw_smt_cancel(struct iw_smt_cancel *c, json_object **body,
				     struct iw_error *error)
{
	struct iw_smt_reply areply, sreply;
	struct iw_smt_agreements list = { 0 };
	struct iw_smt_subscriptions subs = { 0 };
	enum iw_smt_cancel_end end = IW_SMT_CANCEL_FAILED;
	long marked = 0;

	*body = NULL;
	memset(&areply, 0, sizeof areply);
	memset(&sreply, 0, sizeof sreply);
	iw_esiid_smt(c->esiid, c->smt);
	c->terminated = json_object_new_array();
	c->unsubscribed = json_object_new_array();
	c->agreements = json_object_new_array();
	if (!c->terminated || !c->unsubscribed || !c->agreements) {
		iw_err_set(error, IW_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (iw_smt_configured(error) != 0 ||
	    iw_smt_agreements_authorizations(c->smt, &c->authorizations, c->email, sizeof c->email,
					     error) != 0)
		goto out;
	c->called_smt = 1;
	if (iw_smt_fetch_agreements(NULL, &areply, &list, error) != 0 ||
	    iw_smt_fetch_subscriptions(&sreply, &subs, error) != 0)
		goto out;
	if ((end = survey(c, &list, &subs)) != IW_SMT_CANCEL_DONE)
		goto out;
	end = IW_SMT_CANCEL_FAILED;
	for (size_t i = 0; i < list.n; i++) {
		const struct iw_smt_agreement *a = &list.v[i];
		if (strcmp(a->esiid, c->smt) == 0 && iw_smt_status_live(a->normalized) &&
		    terminate_one(c, a, error) != 0)
			goto out;
	}
	for (size_t i = 0; i < subs.n; i++) {
		const struct iw_smt_subscription *s = &subs.v[i];
		if (subscription_of(s, c, &list) && iw_smt_subscription_live(s) &&
		    unsubscribe_one(c, s, error) != 0)
			goto out;
	}
	if (iw_smt_agreements_expire_esiid(c->smt, c->ticket, &marked, error) == 0 &&
	    answer(c, marked, body, error) == 0)
		end = IW_SMT_CANCEL_DONE;
out:
	iw_smt_subscriptions_free(&subs);
	iw_smt_agreements_free(&list);
	iw_smt_reply_free(&sreply);
	iw_smt_reply_free(&areply);
	return end;
}

void iw_smt_cancel_audit_failure(const struct iw_smt_cancel *c, const char *code,
				 json_object *message, long status)
{
	json_object *detail = json_object_new_object();

	if (!detail)
		return;
	json_object_object_add(detail, "error", json_object_new_string(code ? code : "internal_error"));
	json_object_object_add(detail, "message", json_object_get(message));
	json_object_object_add(detail, "terminated", json_object_get(c->terminated));
	json_object_object_add(detail, "unsubscribed", json_object_get(c->unsubscribed));
	iw_smt_audit("cancel", c->smt, c->first_number, c->ticket, 0,
		     c->status_code ? c->status_code : status, detail);
	json_object_put(detail);
}

void iw_smt_cancel_free(struct iw_smt_cancel *c)
{
	json_object_put(c->terminated);
	json_object_put(c->unsubscribed);
	json_object_put(c->agreements);
	c->terminated = c->unsubscribed = c->agreements = NULL;
}
