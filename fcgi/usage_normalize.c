/* POST /api/admin/usage/normalize (SPEC §3): raw usage of a house or an ESIID
 * (usage DB) -> SmtInterval (master DB), with exact counts.
 *
 * {houseId?, esiid?, source?:"smt", start?, end?}: houseId or esiid is
 * required. houseId selects the ESIIDs of its SmtAuthorization rows (archived
 * ones too: their usage is still the house's); with both, the esiid must be
 * one of the house's. start and end are ISO-8601 with a zone and bound the
 * interval start: start <= ts <= end (both inclusive, so the runbook's
 * "...T23:59:59.999Z" end takes the day's last interval). */
#include <stdlib.h>
#include <string.h>

#include "web/serve.h"
#include "web/stream.h"
#include "usage/normalize.h"

#define HOUSE_ID_MAX 128

static const char *const sources[] = { "smt", NULL };

static const struct iw_field fields[] = {
	{ "houseId", IW_T_STRING, 0, 1, HOUSE_ID_MAX, NULL },
	{ "esiid", IW_T_ESIID, 0, 0, 0, NULL },
	{ "source", IW_T_ENUM, 0, 0, 0, sources },
	{ "start", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ "end", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ 0 }
};

static int normalize(struct iw_request *req, struct iw_response *resp)
{
	const char *house = iw_arg_str(req, "houseId");
	const char *esiid = iw_arg_str(req, "esiid");
	const char *start = iw_arg_str(req, "start");
	const char *end = iw_arg_str(req, "end");
	const char *source = iw_arg_str(req, "source");
	struct iw_usage_esiids *set;
	struct iw_usage_filter f = { 0 };
	struct iw_usage_summary sum;
	struct iw_stream stream;
	struct iw_progress progress;
	json_object *body, *filter, *summary, *list;
	long long skipped = 0;
	int rc;

	if (!house && !esiid)
		return iw_error(resp, 400, "invalid_request", "houseId or esiid: one is required");
	if ((start && iw_timestamp_parse(start, &f.start_ms) != 0) ||
	    (end && iw_timestamp_parse(end, &f.end_ms) != 0))
		return iw_error(resp, 400, "invalid_request", "start/end: not a timestamp");
	f.has_start = start != NULL;
	f.has_end = end != NULL;
	if (start && end && f.start_ms > f.end_ms)
		return iw_error(resp, 400, "invalid_request", "end: before start");
	if (!(set = calloc(1, sizeof *set)))
		return iw_error(resp, 500, "internal_error", "out of memory");
	if (house) {
		if ((rc = iw_failed(resp, iw_usage_house_esiids(house, set, &skipped, &resp->err))) != 0)
			goto out;
		if (esiid) {
			size_t i;
			for (i = 0; i < set->n && strcmp(set->ids[i], esiid) != 0; i++)
				;
			if (i == set->n) {
				rc = iw_error(resp, 404, "not_found",
					      "esiid: not an ESIID of houseId (SmtAuthorization)");
				goto out;
			}
			set->n = 0;
		}
		if (!esiid && set->n == 0) {
			rc = iw_error(resp, 404, "not_found",
				      "houseId: no SmtAuthorization with a valid ESIID");
			goto out;
		}
	}
	if (esiid) {
		strcpy(set->ids[0], esiid);
		set->ptrs[0] = set->ids[0];
		set->n = 1;
	}
	f.esiids = set->ptrs;
	f.nesiids = set->n;
	/* Accept: application/x-ndjson streams the rows' progress (web/stream.h). */
	iw_stream_progress(&stream, req, resp, &progress);
	f.progress = &progress;
	if ((rc = iw_failed(resp, iw_usage_normalize(&f, 0, &sum, &resp->err))) != 0)
		goto out;

	body = json_object_new_object();
	filter = json_object_new_object();
	summary = json_object_new_object();
	list = json_object_new_array();
	if (!body || !filter || !summary || !list) {
		json_object_put(body);
		json_object_put(filter);
		json_object_put(summary);
		json_object_put(list);
		rc = iw_error(resp, 500, "internal_error", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < set->n; i++)
		json_object_array_add(list, json_object_new_string(set->ids[i]));
	json_object_object_add(filter, "houseId", house ? json_object_new_string(house) : NULL);
	json_object_object_add(filter, "esiid", esiid ? json_object_new_string(esiid) : NULL);
	json_object_object_add(filter, "esiids", list);
	json_object_object_add(filter, "source", json_object_new_string(source ? source : "smt"));
	json_object_object_add(filter, "start", start ? json_object_new_string(start) : NULL);
	json_object_object_add(filter, "end", end ? json_object_new_string(end) : NULL);
	json_object_object_add(filter, "endInclusive", json_object_new_boolean(1));
	json_object_object_add(summary, "rawCount", json_object_new_int64(sum.raw));
	json_object_object_add(summary, "insertedCount", json_object_new_int64(sum.inserted));
	json_object_object_add(summary, "updatedCount", json_object_new_int64(sum.updated));
	json_object_object_add(summary, "unchangedCount", json_object_new_int64(sum.unchanged));
	json_object_object_add(body, "filter", filter);
	json_object_object_add(body, "summary", summary);
	iw_log_count(req, "esiids", (long long)set->n);
	iw_log_count(req, "raw", sum.raw);
	iw_log_count(req, "inserted", sum.inserted);
	iw_log_count(req, "updated", sum.updated);
	iw_log_count(req, "copy_ms", sum.copy_ms);
	iw_log_count(req, "write_ms", sum.write_ms);
	iw_log_count(req, "fast_path", sum.fast_path);
	if (skipped)
		iw_log_count(req, "invalid_authorization_esiids", skipped);
	rc = iw_ok(resp, body);
out:
	free(set);
	return rc;
}

/* statement_timeout of the route's own transactions: room for 256 MiB of
 * rows, yet below nginx's fastcgi_read_timeout (600 s), so the route answers
 * before nginx gives up on it. */

int main(void)
{
	static const struct iw_route route = {
		.name = "usage_normalize",
		.methods = IW_POST,
		.auth = IW_AUTH_ADMIN,
		.body = IW_BODY_JSON,
		.fields = fields,
		.handler = normalize,
		.lock_timeout_ms = 10000,
		.statement_timeout_ms = 540000, /* nginx waits 600 s */
	};
	return iw_serve(&route);
}
