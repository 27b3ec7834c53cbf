/* Query strings checked against a field table (iw_query_args), as smt_pull's
 * upload reads ?filename=&esiid=&meter=&source=&captured_at=&sizeBytes=. */
#include <string.h>

#include "web/serve.h"
#include "unit.h"

static const struct iw_field fields[] = {
	{ "filename", IW_T_STRING, 1, 1, 1024, NULL },
	{ "esiid", IW_T_ESIID, 0, 0, 0, NULL },
	{ "captured_at", IW_T_TIMESTAMP, 0, 0, 0, NULL },
	{ "sizeBytes", IW_T_INT, 0, 0, 1000, NULL },
	{ 0 }
};

static const char *arg(json_object *args, const char *name)
{
	json_object *v;
	return json_object_object_get_ex(args, name, &v) ? json_object_get_string(v) : NULL;
}

static int parse(const char *query, json_object **args, char *msg, size_t len)
{
	struct iw_request req = { .query = query };
	return iw_query_args(&req, fields, args, msg, len);
}

int main(void)
{
	json_object *args = NULL;
	char msg[256];

	CHECK_INT(parse("filename=a%20b.csv&esiid=%2710443720000000001&captured_at="
			"2026-11-01T06:00:00-06:00&sizeBytes=12", &args, msg, sizeof msg), 0);
	CHECK_STR(arg(args, "filename"), "a b.csv");
	CHECK_STR(arg(args, "esiid"), "10443720000000001");
	CHECK_STR(arg(args, "captured_at"), "2026-11-01T12:00:00.000Z");
	CHECK_STR(arg(args, "sizeBytes"), "12");
	json_object_put(args);

	CHECK_INT(parse("", &args, msg, sizeof msg), -1);
	CHECK(strstr(msg, "filename") != NULL);
	CHECK(args == NULL);
	CHECK_INT(parse("filename=x&esiid=12", &args, msg, sizeof msg), -1);
	CHECK(strncmp(msg, "esiid", 5) == 0);
	CHECK_INT(parse("filename=x&sizeBytes=1001", &args, msg, sizeof msg), -1);
	CHECK(strncmp(msg, "sizeBytes", 9) == 0);
	CHECK_INT(parse("filename=x&sizeBytes=-1", &args, msg, sizeof msg), -1);
	CHECK_INT(parse("filename=%zz", &args, msg, sizeof msg), -1);
	CHECK(strncmp(msg, "filename", 8) == 0);
	/* An empty value counts as absent, as in JSON bodies. */
	CHECK_INT(parse("filename=x&esiid=", &args, msg, sizeof msg), 0);
	CHECK(arg(args, "esiid") == NULL);
	json_object_put(args);
	return unit_report("web_query");
}
