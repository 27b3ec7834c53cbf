/* The SMT record finder and the status normalisation (SPEC §3). */
#include <stdlib.h>
#include <string.h>

#include "smt/records.h"
#include "unit.h"

static void normalisation_table(void)
{
	static const struct {
		const char *in;
		enum iw_smt_status want;
	} cases[] = {
		{ "PEN", IW_SMT_PENDING }, { "pending", IW_SMT_PENDING }, { "Pending", IW_SMT_PENDING },
		{ "ACT", IW_SMT_ACTIVE }, { "Active", IW_SMT_ACTIVE }, { " ACTIVE ", IW_SMT_ACTIVE },
		{ "NACOM", IW_SMT_DECLINED }, { "Not Accepted", IW_SMT_DECLINED },
		{ "NOT_ACCEPTED", IW_SMT_DECLINED }, { "declined", IW_SMT_DECLINED },
		{ "COM", IW_SMT_EXPIRED }, { "Completed", IW_SMT_EXPIRED },
		{ "terminated", IW_SMT_EXPIRED }, { "Non Active", IW_SMT_EXPIRED },
		{ "non-active", IW_SMT_EXPIRED }, { "INACTIVE", IW_SMT_EXPIRED },
		{ "Suspended", IW_SMT_ERROR }, { "", IW_SMT_ERROR }, { "act1", IW_SMT_ERROR },
		{ "Active!", IW_SMT_ERROR }, { "activeactiveactiveactiveactiveactive", IW_SMT_ERROR },
		{ NULL, IW_SMT_ERROR },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		CHECK_INT(iw_smt_normalize_text(cases[i].in), cases[i].want);
	/* The code is the more specific word. */
	CHECK_INT(iw_smt_records_status("Non Active", "NACOM"), IW_SMT_DECLINED);
	CHECK_INT(iw_smt_records_status("Active", "ACT"), IW_SMT_ACTIVE);
	CHECK_INT(iw_smt_records_status("Pending", "awaiting customer"), IW_SMT_PENDING);
	CHECK_INT(iw_smt_records_status(NULL, NULL), IW_SMT_ERROR);
	CHECK_STR(iw_smt_status_name(IW_SMT_DECLINED), "DECLINED");
	CHECK_STR(iw_smt_status_name(IW_SMT_STATUS__MAX), "ERROR");
	CHECK(iw_smt_status_live(IW_SMT_PENDING) && iw_smt_status_live(IW_SMT_ACTIVE));
	CHECK(!iw_smt_status_live(IW_SMT_EXPIRED) && !iw_smt_status_live(IW_SMT_ERROR));
}

static void finds_records_in_any_shape(void)
{
	const char *text =
		"{\"statusCode\":\"0000\",\"data\":{\"list\":["
		"{\"agreementNumber\":101,\"ESIID\":\"10443720001234567\",\"status\":\"Active\","
		" \"statusReason\":\"ACT\"},"
		"{\"AgreementNumber\":\"102\",\"AgreementStatus\":\"Not Accepted\","
		" \"AgreementESIIDs\":[{\"esiId\":\"'1008901000222333444\"}]},"
		"{\"wrapper\":{\"AGREEMENTNUMBER\":103,\"Status\":\"COM\","
		"  \"details\":{\"customer\":{\"Esiid\":443720001234567}}}},"
		"{\"agreementNumber\":\"12a\",\"esiid\":\"10443720001234567\"},"
		"{\"agreementNumber\":-5},{\"agreementNumber\":1.5},{\"agreementNumber\":true},"
		"{\"agreementNumber\":104,\"status\":{\"code\":\"ACT\"}}"
		"]}}";
	json_object *payload = json_tokener_parse(text);
	struct iw_smt_agreements list = { 0 };
	const struct iw_smt_agreement *best;
	char msg[IW_SMT_MESSAGE_MAX];

	CHECK(payload != NULL);
	CHECK_INT(iw_smt_find_agreements(payload, &list), 0);
	CHECK_INT(list.n, 4);
	if (list.n == 4) {
		CHECK_INT(list.v[0].number, 101);
		CHECK_STR(list.v[0].esiid, "10443720001234567");
		CHECK_INT(list.v[0].normalized, IW_SMT_ACTIVE);
		iw_smt_agreement_message(&list.v[0], msg, sizeof msg);
		CHECK_STR(msg, "Active (ACT)");

		CHECK_INT(list.v[1].number, 102);
		/* 19 digits -> the last 17 */
		CHECK_STR(list.v[1].esiid, "08901000222333444");
		CHECK_INT(list.v[1].normalized, IW_SMT_DECLINED);
		CHECK_STR(list.v[1].status, "Not Accepted");

		CHECK_INT(list.v[2].number, 103);
		/* a JSON number, zero-padded back to 17 digits */
		CHECK_STR(list.v[2].esiid, "00443720001234567");
		CHECK_INT(list.v[2].normalized, IW_SMT_EXPIRED);
		iw_smt_agreement_message(&list.v[2], msg, sizeof msg);
		CHECK_STR(msg, "COM");

		CHECK_INT(list.v[3].number, 104);
		CHECK_STR(list.v[3].esiid, "");
		CHECK_INT(list.v[3].normalized, IW_SMT_ERROR);
		iw_smt_agreement_message(&list.v[3], msg, sizeof msg);
		CHECK_STR(msg, "SMT gave no status for agreement 104");
	}
	best = iw_smt_agreement_best(&list, "10443720001234567", 0);
	CHECK(best && best->number == 101);
	best = iw_smt_agreement_best(&list, "99999999999999999", 0);
	CHECK(best == NULL);
	/* By number, also for a record that names no ESIID. */
	best = iw_smt_agreement_best(&list, "10443720001234567", 104);
	CHECK(best && best->number == 104);
	iw_smt_agreements_free(&list);
	CHECK(list.v == NULL && list.n == 0);
	json_object_put(payload);
}

static void prefers_active_then_newest(void)
{
	json_object *payload = json_tokener_parse(
		"[{\"agreementNumber\":5,\"esiid\":\"10443720001234567\",\"status\":\"COM\"},"
		" {\"agreementNumber\":9,\"esiid\":\"10443720001234567\",\"status\":\"COM\"},"
		" {\"agreementNumber\":7,\"esiid\":\"10443720001234567\",\"status\":\"Pending\"},"
		" {\"agreementNumber\":6,\"esiid\":\"10443720001234567\",\"status\":\"Active\"}]");
	struct iw_smt_agreements list = { 0 };
	const struct iw_smt_agreement *best;

	CHECK_INT(iw_smt_find_agreements(payload, &list), 0);
	best = iw_smt_agreement_best(&list, "10443720001234567", 0);
	CHECK(best && best->number == 6);
	list.v[3].normalized = IW_SMT_EXPIRED; /* without the active one: pending */
	best = iw_smt_agreement_best(&list, "10443720001234567", 0);
	CHECK(best && best->number == 7);
	list.v[2].normalized = IW_SMT_EXPIRED; /* all ended: the newest */
	best = iw_smt_agreement_best(&list, "10443720001234567", 0);
	CHECK(best && best->number == 9);
	list.v[0].normalized = IW_SMT_ERROR; /* nothing live: the newest, unknown status or not */
	list.v[0].number = 11;
	best = iw_smt_agreement_best(&list, "10443720001234567", 0);
	CHECK(best && best->number == 11);
	iw_smt_agreements_free(&list);
	json_object_put(payload);
}

static void subscriptions_and_esiids(void)
{
	json_object *payload = json_tokener_parse(
		"{\"subscriptions\":{\"subscription\":["
		"{\"subscriptionNumber\":5001,\"serviceType\":\"SUBSCRIPTION\",\"ESIID\":\"10443720001234567\","
		" \"status\":\"Active\"},"
		"{\"SubscriptionNumber\":\"5002\",\"ServiceType\":\"ADHOC\",\"AgreementNumber\":1002,"
		" \"Status\":\"CANCELLED\"},"
		"{\"subscriptionId\":5003,\"serviceType\":\"ADHOC\",\"details\":{\"esiId\":\"10089010001112223\"}}"
		"]}}");
	struct iw_smt_subscriptions subs = { 0 };
	json_object *esiids = json_object_new_array();

	CHECK_INT(iw_smt_find_subscriptions(payload, &subs), 0);
	CHECK_INT(subs.n, 3);
	if (subs.n == 3) {
		CHECK_STR(subs.v[0].number, "5001");
		CHECK_STR(subs.v[0].esiid, "10443720001234567");
		CHECK_STR(subs.v[0].service_type, "SUBSCRIPTION");
		CHECK(iw_smt_subscription_live(&subs.v[0]));
		CHECK_STR(subs.v[1].number, "5002");
		CHECK_INT(subs.v[1].agreement, 1002);
		CHECK(!iw_smt_subscription_live(&subs.v[1]));
		CHECK_STR(subs.v[2].number, "5003");
		CHECK_STR(subs.v[2].esiid, "10089010001112223");
		CHECK(iw_smt_subscription_live(&subs.v[2]));
	}
	iw_smt_subscriptions_free(&subs);

	CHECK_INT(iw_smt_collect_esiids(payload, esiids), 0);
	CHECK_INT(json_object_array_length(esiids), 2);
	json_object_put(esiids);
	json_object_put(payload);

	payload = json_tokener_parse("{\"AgreementNumber\":\"1\",\"ESIIDs\":[\"10443720001234567\","
				     "{\"esiId\":\"'10089010001112223\"},\"10443720001234567\",\"abc\"]}");
	esiids = json_object_new_array();
	CHECK_INT(iw_smt_collect_esiids(payload, esiids), 0);
	CHECK_INT(json_object_array_length(esiids), 2);
	CHECK_STR(json_object_get_string(json_object_array_get_idx(esiids, 1)), "10089010001112223");
	json_object_put(esiids);
	CHECK_STR(json_object_get_string(iw_smt_find_key(payload, "agreementnumber")), "1");
	CHECK(iw_smt_find_key(payload, "esiids") == NULL); /* an array is not a scalar */
	json_object_put(payload);
}

static void esiid_values(void)
{
	char out[IW_SMT_ESIID_LEN + 1];
	json_object *v;

	v = json_object_new_string(" '10443720001234567 ");
	CHECK_INT(iw_smt_esiid_value(v, out), 0);
	CHECK_STR(out, "10443720001234567");
	json_object_put(v);
	v = json_object_new_string("1044372000123456a");
	CHECK_INT(iw_smt_esiid_value(v, out), -1);
	json_object_put(v);
	v = json_object_new_string("12345678901234567890123");
	CHECK_INT(iw_smt_esiid_value(v, out), -1);
	json_object_put(v);
	v = json_object_new_int64(-4);
	CHECK_INT(iw_smt_esiid_value(v, out), -1);
	json_object_put(v);
	CHECK_INT(iw_smt_esiid_value(NULL, out), -1);
}

int main(void)
{
	normalisation_table();
	finds_records_in_any_shape();
	prefers_active_then_newest();
	subscriptions_and_esiids();
	esiid_values();
	return unit_report("smt_records");
}
