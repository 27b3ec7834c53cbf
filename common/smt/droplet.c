#include "smt/droplet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/validate.h"
#include "io/http.h"

static json_object *trigger_json(const struct iw_smt_droplet_trigger *t)
{
	json_object *payload = json_object_new_object();
	char now[32];

	if (!payload)
		return NULL;
	iw_timestamp_format((int64_t)time(NULL) * 1000, now);
	json_object_object_add(payload, "reason",
			       json_object_new_string(t->reason ? t->reason : "admin_triggered"));
	json_object_object_add(payload, "esiid", t->esiid ? json_object_new_string(t->esiid) : NULL);
	json_object_object_add(payload, "meter", t->meter ? json_object_new_string(t->meter) : NULL);
	json_object_object_add(payload, "houseId",
			       t->house_id ? json_object_new_string(t->house_id) : NULL);
	json_object_object_add(payload, "forceRepost", json_object_new_boolean(t->force_repost));
	json_object_object_add(payload, "ts", json_object_new_string(now));
	return payload;
}

int iw_smt_droplet_trigger(const struct iw_smt_droplet_trigger *t, long *status,
			   json_object **response, struct iw_error *error)
{
	const char *url = iw_env("DROPLET_WEBHOOK_URL");
	const char *secret = iw_env_or("INTELLIWATT_WEBHOOK_SECRET", iw_env("DROPLET_WEBHOOK_SECRET"));
	const char *headers[3] = { "Content-Type: application/json", NULL, NULL };
	struct iw_http_call call = { 0 };
	struct iw_http_reply reply = { 0 };
	json_object *payload = NULL, *parsed;
	char *hdr = NULL;
	int rc;

	*status = 0;
	*response = NULL;
	if (!url || !secret)
		return iw_err_set(error, IW_ERR_MISCONFIG, "%s is not set",
				  !url ? "DROPLET_WEBHOOK_URL" : "INTELLIWATT_WEBHOOK_SECRET");
	if (!(payload = trigger_json(t)))
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	if (asprintf(&hdr, "x-intelliwatt-secret: %s", secret) < 0) {
		hdr = NULL;
		rc = iw_err_set(error, IW_ERR_NOMEM, "out of memory");
		goto out;
	}
	headers[1] = hdr;
	call.method = "POST";
	call.url = url;
	call.headers = headers;
	call.body = json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
	call.body_len = strlen(call.body);
	call.timeout_ms = IW_SMT_DROPLET_TIMEOUT_MS;
	call.max_reply = IW_SMT_DROPLET_REPLY_MAX;
	if (iw_http_do(&call, &reply) != 0) {
		rc = iw_http_fail(error, &reply, "droplet webhook");
		goto out;
	}
	parsed = reply.body && reply.len ? json_tokener_parse(reply.body) : NULL;
	if (!parsed && reply.body)
		parsed = json_object_new_string_len(reply.body, (int)reply.len);
	*status = reply.status;
	if (reply.status < 200 || reply.status > 299) {
		rc = iw_err_set(error, IW_ERR_UPSTREAM, "droplet webhook answered HTTP %ld",
				reply.status);
		if (error && (error->detail = json_object_new_object())) {
			json_object_object_add(error->detail, "webhookStatus",
					       json_object_new_int64(reply.status));
			json_object_object_add(error->detail, "response", parsed);
		} else {
			json_object_put(parsed);
		}
		goto out;
	}
	*response = parsed;
	rc = 0;
out:
	if (hdr) {
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
	}
	iw_http_reply_free(&reply);
	json_object_put(payload);
	return rc;
}
