/* The droplet's pull webhook (DROPLET_WEBHOOK_URL): asks the droplet to pull
 * SMT files and post them back to /api/admin/smt/pull. */
#ifndef IW_SMT_DROPLET_H
#define IW_SMT_DROPLET_H

#include <json-c/json.h>

#include "core/err.h"

#define IW_SMT_DROPLET_TIMEOUT_MS 30000
#define IW_SMT_DROPLET_REPLY_MAX  (1024 * 1024)

/* What the trigger asks for; strings borrowed, NULL when not given. */
struct iw_smt_droplet_trigger {
	const char *reason;   /* NULL: "admin_triggered" */
	const char *esiid;
	const char *meter;
	const char *house_id;
	int force_repost;
};

/* POSTs T to the webhook with the shared secret. 0 with *STATUS (2xx) and
 * *RESPONSE (owned: the reply as JSON, or as a string when it is not JSON;
 * NULL when empty). Else the enum iw_err in ERROR: IW_ERR_MISCONFIG (a
 * setting is missing), IW_ERR_UPSTREAM / IW_ERR_TIMEOUT (transport), or
 * IW_ERR_UPSTREAM with detail {webhookStatus, response} for a non-2xx. */
int iw_smt_droplet_trigger(const struct iw_smt_droplet_trigger *t, long *status,
			   json_object **response, struct iw_error *error);
#endif
