/* What the SMT admin routes share: fetching and reading SMT's lists through
 * the proxy, and the SmtAdminAction audit trail. */
#ifndef IW_SMT_ADMIN_H
#define IW_SMT_ADMIN_H

#include <json-c/json.h>

#include "smt/proxy.h"
#include "smt/records.h"

struct iw_error;

/* /smt/agreements/myagreements with FILTER (borrowed, NULL: {}), then every
 * agreement record in SMT's answer. 0, or the enum iw_err set in ERROR.
 * LIST borrows from REPLY: free the list before the reply. */
int iw_smt_fetch_agreements(json_object *filter, struct iw_smt_reply *reply,
			    struct iw_smt_agreements *list, struct iw_error *error);
/* /smt/subscriptions/list, then every subscription record. */
int iw_smt_fetch_subscriptions(struct iw_smt_reply *reply, struct iw_smt_subscriptions *list,
			       struct iw_error *error);
/* The subscription of an ESIID (SMT form) or of agreement NUMBER, live ones
 * first; NULL when none. */
const struct iw_smt_subscription *iw_smt_subscription_for(const struct iw_smt_subscriptions *list,
							   const char *esiid, long long number);

/* Writes an SmtAdminAction row (DETAIL borrowed, may be NULL; AGREEMENT 0
 * and STATUS_CODE 0 are stored as NULL). 0, or -1 (logged). */
int iw_smt_audit(const char *action, const char *esiid, long long agreement, const char *ticket,
		 int ok, long status_code, json_object *detail);
#endif
