/* Names and types of stored SMT files (smt_store.h) and the Latin-1 repair
 * of non-UTF-8 text (utf8_fix.h). */
#include <stdlib.h>
#include <string.h>

#include "smt/ingest.h"
#include "smt/store.h"
#include "core/utf8_fix.h"
#include "unit.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_shorten(void)
{
	char s[512];

	strcpy(s, "short.csv");
	iw_smt_name_shorten(s, 120);
	CHECK_STR(s, "short.csv");

	memset(s, 'a', 300);
	strcpy(s + 300, ".csv");
	iw_smt_name_shorten(s, 120);
	CHECK_INT(strlen(s), 120);
	CHECK(strcmp(s + 116, ".csv") == 0);

	/* An "extension" longer than IW_SMT_EXT_MAX is no extension. */
	memset(s, 'b', 300);
	s[100] = '.';
	s[300] = '\0';
	iw_smt_name_shorten(s, 120);
	CHECK_INT(strlen(s), 120);
	CHECK(s[119] == 'b');

	/* Never half a UTF-8 sequence: "é" (2 bytes) straddling the cut. */
	memset(s, 'c', 300);
	memcpy(s + 115, "\xC3\xA9", 2);
	strcpy(s + 300, ".csv");
	iw_smt_name_shorten(s, 120);
	CHECK_INT(strlen(s), 119);
	CHECK(iw_utf8_valid(s, strlen(s)));
	CHECK(strcmp(s + 115, ".csv") == 0);
}

static void test_key(void)
{
	char name[300], key[1100], *last;

	memset(name, 'x', 250);
	strcpy(name + 246, ".csv");
	CHECK_INT(iw_smt_store_key("2026-11-29", SHA, name, key, sizeof key), 0);
	last = strrchr(key, '/') + 1;
	CHECK(strncmp(key, "smt/raw/2026-11-29/" SHA "-xxx", 19 + 64 + 4) == 0);
	CHECK_INT(strlen(last), 65 + IW_SMT_KEY_NAME_MAX);
	/* The local backend's temp name beside it fits NAME_MAX too. */
	CHECK(strlen(".tmp-") + strlen(last) + strlen("-XXXXXX") <= 255);
	CHECK(strcmp(key + strlen(key) - 4, ".csv") == 0);
	CHECK_INT(iw_smt_store_key("2026-11-29", SHA, "a.csv", key, 20), -1);
}

static void test_sanitize(void)
{
	char in[600], out[IW_SMT_FILENAME_MAX + 1];

	iw_smt_filename_sanitize("../x/Interval Data (1).csv", out);
	CHECK_STR(out, "Interval_Data__1_.csv");
	iw_smt_filename_sanitize(".hidden", out);
	CHECK_STR(out, "_hidden");
	memset(in, 'n', 500);
	strcpy(in + 500, ".CSV");
	iw_smt_filename_sanitize(in, out);
	CHECK_INT(strlen(out), IW_SMT_FILENAME_MAX);
	CHECK_STR(out + IW_SMT_FILENAME_MAX - 4, ".CSV");
	/* A long non-ASCII name: sanitised to ASCII, extension kept. */
	for (int i = 0; i < 250; i++)
		memcpy(in + 2 * i, "\xC3\xA9", 2);
	strcpy(in + 500, ".c$v");
	iw_smt_filename_sanitize(in, out);
	CHECK_STR(out + IW_SMT_FILENAME_MAX - 4, ".c_v");
}

static void test_content_type(void)
{
	CHECK_STR(iw_smt_content_type(NULL), "text/csv");
	CHECK_STR(iw_smt_content_type("text/csv"), "text/csv");
	CHECK_STR(iw_smt_content_type(" Text/CSV ; charset=utf-8"), "text/csv");
	CHECK_STR(iw_smt_content_type("application/gzip"), "text/csv");
	CHECK_STR(iw_smt_content_type("text/plain"), "text/plain");
	CHECK_STR(iw_smt_content_type("application/octet-stream"), "application/octet-stream");
	CHECK_STR(iw_smt_content_type("text/html"), "application/octet-stream");
	CHECK_STR(iw_smt_content_type("text/csvx"), "application/octet-stream");
	CHECK_STR(iw_smt_content_type("image/svg+xml"), "application/octet-stream");
}

static void repaired(const char *in, size_t n, const char *want)
{
	size_t outn = 0;
	char *out = iw_utf8_repair(in, n, &outn);
	CHECK_STR(out, want);
	CHECK_INT(outn, strlen(want));
	CHECK(out && iw_utf8_valid(out, outn));
	free(out);
}

static void test_utf8(void)
{
	CHECK(iw_utf8_valid("plain", 5));
	CHECK(iw_utf8_valid("Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", 14));
	CHECK(!iw_utf8_valid("Caf\xE9", 4));
	CHECK(!iw_utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
	CHECK(!iw_utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
	CHECK(!iw_utf8_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
	CHECK(!iw_utf8_valid("\xE2\x82", 2));         /* truncated */
	repaired("Caf\xE9", 4, "Caf\xC3\xA9");
	repaired("\xC9nergie \xC3\xA9", 10, "\xC3\x89nergie \xC3\xA9");
	repaired("\xE2\x82 x", 4, "\xC3\xA2\xE2\x80\x9A x"); /* 0x82: Windows-1252 ‚ */
	repaired("\x93" "Q\x94 \x80" "5 \x85", 8, "\xE2\x80\x9CQ\xE2\x80\x9D \xE2\x82\xAC" "5 \xE2\x80\xA6");
	repaired("\x81\x8D\x9F", 3, "\xC2\x81\xC2\x8D\xC5\xB8"); /* unassigned kept as C1; Ÿ */
	repaired("\xFF", 1, "\xC3\xBF");
	repaired("", 0, "");
}

int main(void)
{
	test_shorten();
	test_key();
	test_sanitize();
	test_content_type();
	test_utf8();
	return unit_report("smt_store");
}
