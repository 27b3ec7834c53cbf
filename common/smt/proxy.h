/* Client of the SMT proxy on the droplet (SPEC §3): JSON POSTs to
 * <base>/smt/..., Authorization: Bearer $SMT_PROXY_TOKEN, over the process's
 * reused curl handle. Failures become the documented 5xx answers. */
#ifndef IW_SMT_PROXY_H
#define IW_SMT_PROXY_H

#include <json-c/json.h>

struct iw_error;

#define IW_SMT_CONNECT_MS      5000L
#define IW_SMT_TIMEOUT_MS      30000L          /* SMT_PROXY_TIMEOUT_MS overrides */
#define IW_SMT_REPLY_MAX       ((size_t)8 << 20)
#define IW_SMT_URL_MAX         2048

enum iw_smt_op {
	IW_SMT_MYAGREEMENTS,  /* {agreementNumber?, statusReason?} -> agreements */
	IW_SMT_ESIIDS,        /* {agreementNumber} -> agreementESIIDs */
	IW_SMT_TERMINATE,     /* {agreementNumber, retailCustomerEmail} -> response */
	IW_SMT_SUBSCRIPTIONS, /* {} -> subscriptions */
	IW_SMT_UNSUBSCRIBE,   /* {subscriptionNumber} -> response */
	IW_SMT_REPORT_STATUS, /* {correlationId, serviceType?} -> reportStatus */
	IW_SMT_OP__MAX
};

struct iw_smt_reply {
	long http_status;      /* the proxy's HTTP status, 0 when none arrived */
	long smt_status;       /* the proxy's "status" (SMT's own), 0 when absent */
	json_object *root;     /* the parsed reply, NULL when it was not JSON */
	json_object *payload;  /* borrowed from root: SMT's JSON, may be NULL */
};

/* 0 when the settings allow a call; else IW_ERR_MISCONFIG naming the
 * missing setting, set in ERROR. */
int iw_smt_configured(struct iw_error *error);
/* Posts BODY (borrowed; NULL sends {}) for OP. Returns 0 when the proxy
 * answered ok with JSON; otherwise sets in ERROR IW_ERR_UPSTREAM (SMT
 * refused, the proxy refused our token, the reply was not JSON or too large,
 * the connection failed) or IW_ERR_TIMEOUT, and returns it; the
 * error's detail carries upstreamStatus and what SMT said.
 * REPLY keeps whatever arrived, for audit rows: always iw_smt_reply_free it. */
int iw_smt_call(enum iw_smt_op op, json_object *body, struct iw_smt_reply *reply,
		struct iw_error *error);
void iw_smt_reply_free(struct iw_smt_reply *reply);
/* The proxy path of OP ("/smt/agreements/terminate"). */
const char *iw_smt_op_path(enum iw_smt_op op);
#endif
