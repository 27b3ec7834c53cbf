/* SMT's JSON as the proxy relays it: agreement and subscription records
 * found anywhere in a payload by key (case-insensitively), and the status
 * normalisation of SPEC §3. Records borrow from the payload they came from. */
#ifndef IW_SMT_RECORDS_H
#define IW_SMT_RECORDS_H

#include <stddef.h>
#include <json-c/json.h>

#define IW_SMT_ESIID_LEN    17
#define IW_SMT_NUMBER_MAX   32  /* subscription numbers as text */
#define IW_SMT_MESSAGE_MAX  256 /* smtStatusMessage */

enum iw_smt_status {
	IW_SMT_PENDING,
	IW_SMT_ACTIVE,
	IW_SMT_DECLINED,
	IW_SMT_EXPIRED,
	IW_SMT_ERROR,
	IW_SMT_STATUS__MAX
};

struct iw_smt_agreement {
	long long number;
	char esiid[IW_SMT_ESIID_LEN + 1]; /* SMT form; "" when the record names none */
	const char *status;               /* SMT's text (status/AgreementStatus) or NULL */
	const char *status_reason;        /* statusReason or NULL */
	enum iw_smt_status normalized;
	json_object *record;              /* the object it was found in */
};

struct iw_smt_agreements {
	struct iw_smt_agreement *v;
	size_t n, cap;
};

struct iw_smt_subscription {
	char number[IW_SMT_NUMBER_MAX];   /* subscriptionNumber / subscriptionId */
	char esiid[IW_SMT_ESIID_LEN + 1]; /* "" when none */
	long long agreement;              /* agreementNumber, 0 when none */
	const char *service_type;         /* serviceType or NULL */
	const char *status;               /* status / subscriptionStatus or NULL */
	json_object *record;
};

struct iw_smt_subscriptions {
	struct iw_smt_subscription *v;
	size_t n, cap;
};

/* Code or text -> normalised status (anything unknown: IW_SMT_ERROR). */
enum iw_smt_status iw_smt_normalize_text(const char *text);
/* A record's status: the statusReason code when it is a known one (it is the
 * more specific of the two: "Non Active"/NACOM is DECLINED), else the text. */
enum iw_smt_status iw_smt_records_status(const char *status, const char *reason);
/* "PENDING", "ACTIVE", ... */
const char *iw_smt_status_name(enum iw_smt_status st);
/* A status that an agreement can still be terminated from. */
int iw_smt_status_live(enum iw_smt_status st);

/* OBJ's member whose key equals one of NAMES (NULL-terminated), any case. */
json_object *iw_smt_key(json_object *obj, const char *const *names);
/* An ESIID value (string with optional leading ' or a JSON integer, 1-22
 * digits) in SMT form. Returns 0, or -1 when V is no ESIID. */
int iw_smt_esiid_value(json_object *v, char out[IW_SMT_ESIID_LEN + 1]);

/* Appends every agreement record under PAYLOAD (an object with an
 * agreementNumber key holding a positive integer). 0, or -1 out of memory. */
int iw_smt_find_agreements(json_object *payload, struct iw_smt_agreements *out);
void iw_smt_agreements_free(struct iw_smt_agreements *list);
/* The agreement an ESIID is governed by: number NUMBER when given (> 0),
 * else ACTIVE before PENDING before the rest, then the highest number
 * (the newest, also when its status is one SMT's table does not know).
 * ESIID in SMT form, or NULL for any. NULL when none matches. */
const struct iw_smt_agreement *iw_smt_agreement_best(const struct iw_smt_agreements *list,
						     const char *esiid, long long number);
/* SMT's words for smtStatusMessage: "Active (ACT)", "Pending", ... */
void iw_smt_agreement_message(const struct iw_smt_agreement *a, char *out, size_t len);
/* {agreementNumber, esiid, agreementStatus, statusReason, normalized, record}. */
json_object *iw_smt_agreement_json(const struct iw_smt_agreement *a);

int iw_smt_find_subscriptions(json_object *payload, struct iw_smt_subscriptions *out);
void iw_smt_subscriptions_free(struct iw_smt_subscriptions *list);
/* Subscriptions are live unless SMT calls them ended or cancelled. */
int iw_smt_subscription_live(const struct iw_smt_subscription *s);

/* The first scalar value under KEY (any case, any depth), or NULL. */
json_object *iw_smt_find_key(json_object *payload, const char *key);
/* Appends to the array OUT every distinct ESIID (SMT form) held under an
 * esiid/ESIIDs key at any depth. 0, or -1 out of memory. */
int iw_smt_collect_esiids(json_object *payload, json_object *out);
#endif
