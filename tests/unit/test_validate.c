/* Validators and the declarative field table. */
#include <stdlib.h>

#include "unit.h"
#include "core/validate.h"

static const char *const reasons[] = { "PEN", "ACT", "COM", "NACOM", NULL };
static const struct iw_field fields[] = {
	{ "esiid", IW_T_ESIID, 1, 0, 0, NULL },
	{ "agreementNumber", IW_T_AGREEMENT, 0, 0, 0, NULL },
	{ "email", IW_T_EMAIL, 0, 0, 0, NULL },
	{ "start", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ "statusReason", IW_T_ENUM, 0, 0, 0, reasons },
	{ "limit", IW_T_INT, 0, 1, 1000, NULL },
	{ "force", IW_T_BOOL, 0, 0, 0, NULL },
	{ "note", IW_T_STRING, 0, 0, 10, NULL },
	{ 0 }
};

/* Validates JSON text; returns the message on failure, "" on success. */
static const char *run(const char *text, json_object **args)
{
	static char msg[256];
	json_object *body = json_tokener_parse(text);
	int rc = iw_validate(body, fields, args, msg, sizeof msg);
	json_object_put(body);
	return rc == 0 ? "" : msg;
}

static const char *arg(json_object *args, const char *name)
{
	json_object *v;
	return json_object_object_get_ex(args, name, &v) ? json_object_get_string(v) : NULL;
}

int main(void)
{
	char esiid[IW_ESIID_MAX + 1], smt[18], iso[32];
	json_object *args = NULL;
	int64_t ms;
	long long n;

	/* ESIIDs: a leading ' and spaces are stripped; 17-22 digits. */
	CHECK_INT(iw_esiid_normalize(" '10443720004529147 ", esiid), 0);
	CHECK_STR(esiid, "10443720004529147");
	CHECK_INT(iw_esiid_normalize("1008901000123456789012", esiid), 0);
	CHECK_INT(iw_esiid_normalize("1044372000452914", esiid), -1);     /* 16 digits */
	CHECK_INT(iw_esiid_normalize("10443720004529147123", esiid), 0);  /* 20 */
	CHECK_INT(iw_esiid_normalize("10089010001234567890123", esiid), -1); /* 23 */
	CHECK_INT(iw_esiid_normalize("1044372000452914A", esiid), -1);
	CHECK_INT(iw_esiid_normalize("1044372000452914'; DROP TABLE x;--", esiid), -1);
	CHECK_INT(iw_esiid_normalize("", esiid), -1);
	iw_esiid_smt("1008901000123456789012", smt);
	CHECK_STR(smt, "01000123456789012");
	iw_esiid_smt("10443720004529147", smt);
	CHECK_STR(smt, "10443720004529147");
	iw_esiid_smt("123", smt);
	CHECK_STR(smt, "00000000000000123");

	/* Emails. */
	CHECK(iw_email_valid("customer@example.com"));
	CHECK(!iw_email_valid("customer@example"));
	CHECK(!iw_email_valid("a@b@example.com"));
	CHECK(!iw_email_valid("@example.com"));
	CHECK(!iw_email_valid("a b@example.com"));
	CHECK(!iw_email_valid("a@example..com"));
	{
		char longmail[300];
		memset(longmail, 'a', 250);
		strcpy(longmail + 250, "@x.io");
		CHECK(!iw_email_valid(longmail));
	}

	/* Positive integers. */
	CHECK_INT(iw_parse_positive("12", &n), 0);
	CHECK_INT(n, 12);
	CHECK_INT(iw_parse_positive("12a", &n), -1);
	CHECK_INT(iw_parse_positive("-5", &n), -1);
	CHECK_INT(iw_parse_positive("0", &n), -1);
	CHECK_INT(iw_parse_positive("1.5", &n), -1);
	CHECK_INT(iw_parse_positive("99999999999999999999", &n), -1);

	/* Timestamps: zone required, normalised to UTC. */
	CHECK_INT(iw_timestamp_parse("2025-01-01T00:00:00.000Z", &ms), 0);
	CHECK_INT(ms, 1735689600000LL);
	CHECK_INT(iw_timestamp_parse("2025-12-31T23:59:59.999Z", &ms), 0);
	iw_timestamp_format(ms, iso);
	CHECK_STR(iso, "2025-12-31T23:59:59.999Z");
	CHECK_INT(iw_timestamp_parse("2025-03-09T02:30:00-05:00", &ms), 0);
	iw_timestamp_format(ms, iso);
	CHECK_STR(iso, "2025-03-09T07:30:00.000Z");
	CHECK_INT(iw_timestamp_parse("2025-01-01T00:00:00", &ms), -1);
	CHECK_INT(iw_timestamp_parse("2025-02-29T00:00:00Z", &ms), -1);
	CHECK_INT(iw_timestamp_parse("2024-02-29T00:00:00Z", &ms), 0);
	CHECK_INT(iw_timestamp_parse("2025-13-01T00:00:00Z", &ms), -1);
	CHECK_INT(iw_timestamp_parse("yesterday", &ms), -1);
	iw_timestamp_format(-1, iso);
	CHECK_STR(iso, "1969-12-31T23:59:59.999Z");

	/* The table: normalised values, field named on error. */
	CHECK_STR(run("{\"esiid\":\"'10443720004529147\",\"agreementNumber\":\"42\","
		      "\"statusReason\":\"act\",\"limit\":\"7\",\"force\":true,\"unknown\":1}", &args), "");
	CHECK_STR(arg(args, "esiid"), "10443720004529147");
	CHECK_STR(arg(args, "agreementNumber"), "42");
	CHECK_STR(arg(args, "statusReason"), "ACT");
	CHECK_STR(arg(args, "limit"), "7");
	json_object_put(args);
	CHECK_STR(run("{\"esiid\":10443720004529147}", &args), "");
	CHECK_STR(arg(args, "esiid"), "10443720004529147");
	json_object_put(args);
	CHECK_STR(run("{}", &args), "esiid: is required");
	CHECK_STR(run("{\"esiid\":\"  \"}", &args), "esiid: is required");
	CHECK_STR(run("{\"esiid\":\"123\"}", &args), "esiid: must be an ESIID of 17 to 22 digits");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"agreementNumber\":\"12a\"}", &args),
		  "agreementNumber: must be a positive integer");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"agreementNumber\":-5}", &args),
		  "agreementNumber: must be a positive integer");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"agreementNumber\":1.5}", &args),
		  "agreementNumber: must be a positive integer");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"agreementNumber\":true}", &args),
		  "agreementNumber: must be a positive integer");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"email\":\"x@y\"}", &args),
		  "email: must be an email address");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"statusReason\":\"NOPE\"}", &args),
		  "statusReason: must be one of PEN, ACT, COM, NACOM");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"limit\":0}", &args),
		  "limit: must be an integer from 1 to 1000");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"limit\":1001}", &args),
		  "limit: must be an integer from 1 to 1000");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"force\":\"yes\"}", &args),
		  "force: must be true or false");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"note\":\"12345678901\"}", &args),
		  "note: must be 0 to 10 characters");
	CHECK_STR(run("{\"esiid\":\"10443720004529147\",\"start\":\"2025-01-01\"}", &args),
		  "start: must be an ISO-8601 timestamp with a zone");
	return unit_report("validate");
}
