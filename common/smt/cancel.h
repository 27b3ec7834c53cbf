/* A customer's disconnect (POST /api/admin/smt/agreements/cancel): every
 * live agreement SMT lists for the ESIID terminated with the email on its
 * authorization, its live subscriptions unsubscribed, its authorizations
 * marked EXPIRED, an audit row. Idempotent: once nothing is live, a cancel
 * makes no SMT change and answers alreadyTerminated:true. */
#ifndef IW_SMT_CANCEL_H
#define IW_SMT_CANCEL_H

#include <json-c/json.h>

#include "core/err.h"
#include "core/validate.h"
#include "smt/records.h"

/* How a cancel ended; the route gives the first three a status. */
enum iw_smt_cancel_end {
	IW_SMT_CANCEL_DONE,     /* *BODY holds the answer */
	IW_SMT_CANCEL_UNKNOWN,  /* SMT lists nothing and no authorization is on file (404) */
	IW_SMT_CANCEL_NO_EMAIL, /* live agreements but no contact email on file (409) */
	IW_SMT_CANCEL_FAILED,   /* the enum iw_err in the error */
};

struct iw_smt_cancel {
	const char *esiid;        /* as given (normalised) */
	const char *ticket;       /* may be NULL */
	char smt[IW_SMT_ESIID_LEN + 1];
	char email[IW_EMAIL_MAX + 1];
	char message[256];        /* UNKNOWN, NO_EMAIL: the answer's message */
	int authorizations;
	int called_smt;           /* a failure after this leaves an audit row */
	long status_code;         /* SMT's status of the last change made */
	long long first_number;   /* for the audit row */
	json_object *terminated;  /* [{agreementNumber,statusCode,result}] */
	json_object *unsubscribed;
	json_object *agreements;  /* the ESIID's agreements as SMT lists them */
};

/* Runs the cancel of C->esiid. DONE with *BODY (owned), or how it ended
 * (FAILED: the enum iw_err set in ERROR). */
enum iw_smt_cancel_end iw_smt_cancel(struct iw_smt_cancel *c, json_object **body,
				     struct iw_error *error);
/* The audit row of a failed cancel that reached SMT: CODE and MESSAGE are
 * the answer's, STATUS its HTTP status (kept when SMT gave none). */
void iw_smt_cancel_audit_failure(const struct iw_smt_cancel *c, const char *code,
				 json_object *message, long status);
void iw_smt_cancel_free(struct iw_smt_cancel *c);
#endif
