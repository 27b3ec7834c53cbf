/* core/validate: a JSON body through a field table with every type, and the
 * single-value validators on the raw bytes. */
#include <json-c/json.h>
#include "fuzz.h"
#include "core/validate.h"

static const char *const kinds[] = { "INTERVAL", "billing", "Daily", NULL };
static const struct iw_field fields[] = {
	{ "esiid", IW_T_ESIID, 0, 0, 0, NULL },
	{ "name", IW_T_STRING, 0, 1, 64, NULL },
	{ "agreement", IW_T_AGREEMENT, 0, 0, 0, NULL },
	{ "email", IW_T_EMAIL, 0, 0, 0, NULL },
	{ "since", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ "kind", IW_T_ENUM, 0, 0, 0, kinds },
	{ "limit", IW_T_INT, 0, -5, 1000, NULL },
	{ "dry", IW_T_BOOL, 0, 0, 0, NULL },
	{ 0 }
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), esiid[IW_ESIID_MAX + 1], msg[256];
	json_object *body, *args = NULL;
	int64_t ms;
	long long v;

	if (!s)
		return 0;
	iw_esiid_normalize(s, esiid);
	iw_email_valid(s);
	iw_parse_positive(s, &v);
	if (iw_timestamp_parse(s, &ms) == 0) {
		char out[32];
		iw_timestamp_format(ms, out);
	}
	if ((body = json_tokener_parse(s))) {
		if (iw_validate(body, fields, &args, msg, sizeof msg) == 0)
			json_object_put(args);
		json_object_put(body);
	}
	free(s);
	return 0;
}
