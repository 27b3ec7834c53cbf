/* The droplet upload server's parts (smt/upload.h): sizeBytes and sha256
 * checked against the decoded bytes; a part's name keeps its suffix. */
#include <ctype.h>
#include <string.h>

#include "core/err.h"
#include "smt/ingest.h"
#include "smt/spool.h"
#include "smt/upload.h"
#include "unit.h"


static void test_verify(void)
{
	const char *text = "ESIID,USAGE_DATE\n";
	char err[256], upper[65];
	struct iw_smt_spool *s = iw_smt_spool_new(IW_SMT_PLAIN, 1024, err, sizeof err);
	struct iw_error e = { 0 };

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(iw_smt_spool_feed(s, text, strlen(text)), 0);
	CHECK_INT(iw_smt_spool_finish(s), 0);
	CHECK_INT(iw_smt_upload_verify(s, (long long)strlen(text), s->sha256, &e), 0);
	for (int i = 0; i < 65; i++)
		upper[i] = (char)toupper((unsigned char)s->sha256[i]);
	CHECK_INT(iw_smt_upload_verify(s, (long long)strlen(text), upper, &e), 0);
	CHECK_INT(iw_smt_upload_verify(s, (long long)strlen(text) + 1, s->sha256, &e), IW_ERR_INPUT);
	CHECK(strstr(e.msg, "sizeBytes") != NULL);
	iw_err_clear(&e);
	upper[0] = upper[0] == 'A' ? 'B' : 'A';
	CHECK_INT(iw_smt_upload_verify(s, (long long)strlen(text), upper, &e), IW_ERR_INPUT);
	CHECK(strstr(e.msg, "sha256") != NULL);
	iw_err_clear(&e);
	iw_smt_spool_free(s);
}

static void test_part_name(void)
{
	char out[IW_SMT_FILENAME_MAX + 1];

	iw_smt_filename_sanitize("/home/smt/IntervalData_10443720000000013.csv.part2-of-3", out);
	CHECK_STR(out, "IntervalData_10443720000000013.csv.part2-of-3");
	CHECK(!iw_smt_is_billing_name(out));
	iw_smt_filename_sanitize("smt-upload-error-fetch-502.json", out);
	CHECK_STR(out, "smt-upload-error-fetch-502.json");
}

int main(void)
{
	test_verify();
	test_part_name();
	return unit_report("smt_upload");
}
