/* ERCOT ingest helpers without network or database: TDSP codes of file and
 * friendly names, timestamps, storage file names, calendar days, the document
 * list (day / TDSP filters, duplicates, latest day) and the HTML link scraper.
 * Expected epochs were computed independently (date -u -d ... +%s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/utf8_fix.h"
#include "ercot/ingest.h"
#include "ercot/mis.h"
#include "unit.h"

#define ONCOR_EXT "ext.00000203.0000000000000000.20260603.055219164.ONCOR_ELEC___DAILY.zip"
#define CNP_EXT   "ext.00000203.0000000000000000.20260603.061503221.CENTERPOINT___DAILY.zip"
#define TNMP_EXT  "ext.00000203.0000000000000000.20260602.055001000.TNMP___DAILY.zip"

/* The code of NAME, or "(fail)" when iw_ercot_tdsp_code refused it. */
static const char *code_of(const char *name)
{
	static char out[IW_ERCOT_TDSP_MAX];
	if (iw_ercot_tdsp_code(name, out, sizeof out) != 0)
		return "(fail)";
	return out;
}

static void test_tdsp_code(void)
{
	char small[4];

	CHECK_STR(code_of(ONCOR_EXT), "ONCOR");
	CHECK_STR(code_of("ext.00000203.0000000000000000.20260603.055219164.oncor_elec___daily.zip"),
		  "ONCOR");
	CHECK_STR(code_of("/some/dir/" ONCOR_EXT), "ONCOR");
	CHECK_STR(code_of(CNP_EXT), "CENTERPOINT");
	CHECK_STR(code_of("TDSP_ESIID_EXTRACT_ONCOR_FUL.zip"), "ONCOR");
	CHECK_STR(code_of("TDSP_ESIID_EXTRACT_CNP_FUL.zip"), "CENTERPOINT");
	CHECK_STR(code_of("CNP"), "CENTERPOINT");
	CHECK_STR(code_of("cnp"), "CENTERPOINT");
	CHECK_STR(code_of("CenterPoint Energy Houston Electric"), "CENTERPOINT");
	CHECK_STR(code_of("ext.00000203.0000000000000000.20260603.055219164.AEP_CENTRAL___DAILY.zip"),
		  "AEP_CENTRAL");
	CHECK_STR(code_of("AEP Texas Central"), "AEP_CENTRAL");
	CHECK_STR(code_of("ext.00000203.0000000000000000.20260603.055219164.AEP_NORTH___DAILY.zip"),
		  "AEP_NORTH");
	CHECK_STR(code_of("AEP_TEXAS_NORTH_FULL"), "AEP_NORTH");
	CHECK_STR(code_of(TNMP_EXT), "TNMP");
	CHECK_STR(code_of("TDSP_ESIID_EXTRACT_TNMP_FUL_20260603.zip"), "TNMP");
	CHECK_STR(code_of("ext.00000203.0000000000000000.20260603.055219164.LUBBOCK___DAILY.zip"),
		  "LUBBOCK");
	CHECK_STR(code_of("ext.00000203.0000000000000000.20260603.055219164.NUECES_ELEC___DAILY.zip"),
		  "NUECES");
	CHECK_STR(code_of("ext.00000203.0000000000000000.20260603.055219164.SHARYLAND_UTILITIES___DAILY.zip"),
		  "SHARYLAND");
	CHECK_STR(code_of("SHARYLAND_MCALLEN"), "SHARYLAND");
	/* A prefix must end at a word boundary. */
	CHECK_STR(code_of("ONCORX"), "ONCORX");
	CHECK_STR(code_of("CNPX_FUL.zip"), "CNPX");
	CHECK_STR(code_of("AEP"), "AEP");
	/* Unknown names keep their cleaned name. */
	CHECK_STR(code_of("ext.00000203.0000000000000000.20260603.055219164.ENTERGY_GULF___DAILY.zip"),
		  "ENTERGY_GULF");
	CHECK_STR(code_of("Swepco  Energ -- full.zip"), "SWEPCO_ENERG");
	CHECK_STR(code_of("mystery-utility_20260603.zip"), "MYSTERY_UTILITY");
	/* Nothing left: refused. */
	CHECK_STR(code_of("___.zip"), "(fail)");
	CHECK_STR(code_of(""), "(fail)");
	CHECK_STR(code_of("DAILY"), "DAILY"); /* the kind is dropped only after a word */
	CHECK_INT(iw_ercot_tdsp_code(NULL, small, sizeof small), -1);
	CHECK_INT(iw_ercot_tdsp_code("ONCOR", small, 0), -1);
	/* A short buffer stays NUL-terminated. */
	CHECK_INT(iw_ercot_tdsp_code("ENTERGY_GULF", small, sizeof small), 0);
	CHECK_INT(strlen(small), 3);
}

static void test_parse_time(void)
{
	time_t t = 0;

	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19Z", &t), 0);
	CHECK_INT(t, 1780465939);
	t = 0;
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19.164Z", &t), 0);
	CHECK_INT(t, 1780465939);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19-06:00", &t), 0);
	CHECK_INT(t, 1780487539);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19-0500", &t), 0);
	CHECK_INT(t, 1780483939);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19-05", &t), 0);
	CHECK_INT(t, 1780483939);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T06:22:19+00:30", &t), 0);
	CHECK_INT(t, 1780465939);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T11:52:19+06:00", &t), 0);
	CHECK_INT(t, 1780465939);
	/* No offset: UTC. A space separator too. */
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19", &t), 0);
	CHECK_INT(t, 1780465939);
	CHECK_INT(iw_ercot_parse_time("2026-06-03 05:52:19", &t), 0);
	CHECK_INT(t, 1780465939);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52", &t), 0);
	CHECK_INT(t, 1780465920);
	CHECK_INT(iw_ercot_parse_time("2026-06-03", &t), 0);
	CHECK_INT(t, 1780444800);
	/* An offset that moves the instant to the next UTC day. */
	CHECK_INT(iw_ercot_parse_time("2026-06-03T23:30:00-06:00", &t), 0);
	CHECK_INT(t, 1780551000);
	CHECK_INT(iw_ercot_parse_time("2024-02-29T12:00:00Z", &t), 0);
	CHECK_INT(t, 1709208000);

	/* Bad input leaves *OUT alone and says -1. */
	t = 42;
	CHECK_INT(iw_ercot_parse_time(NULL, &t), -1);
	CHECK_INT(iw_ercot_parse_time("", &t), -1);
	CHECK_INT(iw_ercot_parse_time("yesterday", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-02-30T00:00:00Z", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T25:00:00Z", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:60:00Z", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T5:52:19Z", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03X05:52:19", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19Zjunk", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19+", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19+5", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19-06:0", &t), -1);
	CHECK_INT(iw_ercot_parse_time("2026-06-03T05:52:19 ", &t), -1);
	CHECK_INT(iw_ercot_parse_time("06/03/2026 05:52:19", &t), -1);
	CHECK_INT(t, 42);
}

static const char *safe_of(const char *name)
{
	static char out[IW_ERCOT_FILENAME_MAX];
	if (iw_ercot_safe_filename(name, out, sizeof out) != 0)
		return "(fail)";
	return out;
}

static void test_safe_filename(void)
{
	char big[400], small[7], tiny[12];

	CHECK_STR(safe_of(ONCOR_EXT), ONCOR_EXT);
	CHECK_STR(safe_of("../../etc/passwd"), "passwd.zip");
	CHECK_STR(safe_of("/abs/path/x.zip"), "x.zip");
	CHECK_STR(safe_of("..\\..\\win.zip"), "_.._win.zip"); /* "..\..\win.zip" */
	CHECK_STR(safe_of(".."), "(fail)");
	CHECK_STR(safe_of("."), "(fail)");
	CHECK_STR(safe_of("dir/"), "(fail)");
	CHECK_STR(safe_of(""), "(fail)");
	CHECK_STR(safe_of(NULL), "(fail)");
	CHECK_STR(safe_of(".hidden.zip"), "hidden.zip");
	CHECK_STR(safe_of("...zip"), "zip.zip");
	CHECK_STR(safe_of("Oncor daily (1).ZIP"), "Oncor_daily__1_.ZIP");
	CHECK_STR(safe_of("a;rm -rf $HOME`x`.zip"), "a_rm_-rf__HOME_x_.zip");
	CHECK_STR(safe_of("report"), "report.zip");
	CHECK_STR(safe_of("report.csv"), "report.csv.zip");
	CHECK_STR(safe_of("caf\xc3\xa9.zip"), "caf__.zip");
	CHECK_STR(safe_of("x.zip?sig=abc&e=1"), "x.zip_sig_abc_e_1.zip");
	/* Long names are cut and still end .zip inside the buffer. */
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK_INT(iw_ercot_safe_filename(big, tiny, sizeof tiny), 0);
	CHECK_STR(tiny, "aaaaaaa.zip"); /* 11 chars + NUL */
	{
		const char *s = safe_of(big);
		size_t n = strlen(s);
		CHECK(n < IW_ERCOT_FILENAME_MAX);
		CHECK(n >= 4 && strcmp(s + n - 4, ".zip") == 0);
	}
	CHECK_INT(iw_ercot_safe_filename("x.zip", small, sizeof small), -1);
}

static void test_day_valid(void)
{
	CHECK_INT(iw_ercot_day_valid("2026-06-03"), 1);
	CHECK_INT(iw_ercot_day_valid("2026-02-28"), 1);
	CHECK_INT(iw_ercot_day_valid("2026-02-29"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-02-30"), 0);
	CHECK_INT(iw_ercot_day_valid("2024-02-29"), 1);
	CHECK_INT(iw_ercot_day_valid("2000-02-29"), 1);
	CHECK_INT(iw_ercot_day_valid("2100-02-29"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-04-31"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-12-31"), 1);
	CHECK_INT(iw_ercot_day_valid("2026-13-01"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-00-10"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-01-00"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-1-01"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-01-1"), 0);
	CHECK_INT(iw_ercot_day_valid("2026/01/01"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-01-01 "), 0);
	CHECK_INT(iw_ercot_day_valid("+026-01-01"), 0);
	CHECK_INT(iw_ercot_day_valid("2026-0a-01"), 0);
	CHECK_INT(iw_ercot_day_valid(""), 0);
	CHECK_INT(iw_ercot_day_valid(NULL), 0);
}

/* The index of the document named NAME in DOCS, or -1. */
static long find_doc(const struct iw_ercot_docs *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].filename, name))
			return (long)i;
	return -1;
}

static void test_docs_add(void)
{
	struct iw_ercot_docs d = { 0 };
	long i;

	/* Post time converted to UTC decides the day: 23:30 -06:00 on the 2nd is the 3rd. */
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-03", NULL, ONCOR_EXT, "ONCOR_ELEC",
				    "https://x/1", "2026-06-02T23:30:00-06:00", 1234), 1);
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-02", NULL, "late.zip", "CNP",
				    "https://x/2", "2026-06-02T23:30:00-06:00", -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-03", NULL, "early.zip", "CNP",
				    "https://x/3", "2026-06-03T01:00:00+02:00", -1), 0); /* 06-02 23:00Z */
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-02", NULL, "early.zip", "CNP",
				    "https://x/3", "2026-06-03T01:00:00+02:00", -1), 1);
	CHECK_INT(d.n, 2);
	if (d.n == 2) {
		CHECK_STR(d.v[0].filename, ONCOR_EXT);
		CHECK_STR(d.v[0].tdsp, "ONCOR");
		CHECK_STR(d.v[0].url, "https://x/1");
		CHECK_STR(d.v[0].posted, "2026-06-03 05:30:00");
		CHECK_INT(d.v[0].size, 1234);
		CHECK_STR(d.v[1].tdsp, "CENTERPOINT");
		CHECK_STR(d.v[1].posted, "2026-06-02 23:00:00");
		CHECK_INT(d.v[1].size, -1);
	}
	iw_ercot_docs_free(&d);
	CHECK(d.v == NULL && d.n == 0 && d.cap == 0);

	/* No timestamp: the constructed name's date/time; none at all: current. */
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-03", NULL, ONCOR_EXT, NULL, "u1", NULL, -1), 1);
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-03", NULL, TNMP_EXT, NULL, "u2", NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-03", NULL, "LUBBOCK_FUL.zip", NULL, "u3", NULL, -1), 1);
	/* An unparsable timestamp falls back to the name. */
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-03", NULL, TNMP_EXT, NULL, "u4", "soon", -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, "2026-06-03", NULL, CNP_EXT, NULL, "u5", "garbage", -1), 1);
	CHECK_INT(d.n, 3);
	if ((i = find_doc(&d, ONCOR_EXT)) >= 0)
		CHECK_STR(d.v[i].posted, "2026-06-03 05:52:19");
	else
		CHECK(!"oncor doc missing");
	if ((i = find_doc(&d, "LUBBOCK_FUL.zip")) >= 0) {
		CHECK(d.v[i].posted == NULL);
		CHECK_STR(d.v[i].tdsp, "LUBBOCK");
	} else {
		CHECK(!"lubbock doc missing");
	}
	CHECK(find_doc(&d, CNP_EXT) >= 0);
	iw_ercot_docs_free(&d);

	/* TDSP filter: the friendly name wins over the file name; aliases apply. */
	CHECK_INT(iw_ercot_docs_add(&d, NULL, "CENTERPOINT", ONCOR_EXT, NULL, "a", NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, "CENTERPOINT", "doc_1.zip", "CNP", "b", NULL, -1), 1);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, "CENTERPOINT", "TDSP_ESIID_EXTRACT_CNP_FUL.zip", NULL,
				    "c", NULL, -1), 1);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, "CENTERPOINT", "CENTERPOINT_x.zip", "TNMP", "d",
				    NULL, -1), 0);
	/* An unusable friendly name: the file name decides. */
	CHECK_INT(iw_ercot_docs_add(&d, NULL, "CENTERPOINT", CNP_EXT, "---", "e", NULL, -1), 1);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, "ONCOR", "x.zip", "", "f", NULL, -1), 0);
	CHECK_INT(d.n, 3);
	iw_ercot_docs_free(&d);

	/* Nothing usable anywhere: UNKNOWN (kept when no TDSP filter). */
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "___.zip", NULL, "g", NULL, -1), 1);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, "UNKNOWN", "__.zip", "__", "h", NULL, -1), 1);
	if (d.n == 2) {
		CHECK_STR(d.v[0].tdsp, "UNKNOWN");
		CHECK_STR(d.v[1].tdsp, "UNKNOWN");
	}
	iw_ercot_docs_free(&d);

	/* Missing pieces and unsafe names are filtered out, not errors. */
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, NULL, "ONCOR", "u", NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "x.zip", "ONCOR", NULL, NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "..", "ONCOR", "u", NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "dir/", "ONCOR", "u", NULL, -1), 0);
	CHECK_INT(d.n, 0);
	/* The stored name is the safe one. */
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "../evil name.zip", "ONCOR", "u", NULL, -1), 1);
	if (d.n == 1)
		CHECK_STR(d.v[0].filename, "evil_name.zip");

	/* Duplicates: same URL or same (safe) name counts once. */
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "other.zip", "ONCOR", "u", NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "evil_name.zip", "ONCOR", "v", NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "sub/evil name.zip", "ONCOR", "w", NULL, -1), 0);
	CHECK_INT(iw_ercot_docs_add(&d, NULL, NULL, "other.zip", "ONCOR", "v", NULL, -1), 1);
	CHECK_INT(d.n, 2);
	iw_ercot_docs_free(&d);

	/* Many documents: the list grows past its first allocation. */
	{
		char name[64], url[64];
		int added = 0;
		for (int k = 0; k < 100; k++) {
			snprintf(name, sizeof name, "f%03d.zip", k);
			snprintf(url, sizeof url, "https://h/%d", k);
			added += iw_ercot_docs_add(&d, NULL, NULL, name, "NUECES", url, NULL, k);
		}
		for (int k = 0; k < 100; k += 7) {
			snprintf(name, sizeof name, "f%03d.zip", k);
			snprintf(url, sizeof url, "https://h/%d", k);
			added += iw_ercot_docs_add(&d, NULL, NULL, name, "NUECES", url, NULL, k);
		}
		CHECK_INT(added, 100);
		CHECK_INT(d.n, 100);
		CHECK(d.n <= d.cap);
		if (d.n == 100) {
			CHECK_STR(d.v[99].filename, "f099.zip");
			CHECK_INT(d.v[99].size, 99);
		}
		iw_ercot_docs_free(&d);
	}
}

static void test_keep_latest_day(void)
{
	struct iw_ercot_docs d = { 0 };
	char day[IW_ERCOT_DAY_LEN + 1] = "1999-01-01";

	iw_ercot_docs_add(&d, NULL, NULL, "a.zip", "ONCOR", "ua", "2026-06-01T05:00:00Z", -1);
	iw_ercot_docs_add(&d, NULL, NULL, "b.zip", "ONCOR", "ub", "2026-06-03T05:00:00Z", -1);
	iw_ercot_docs_add(&d, NULL, NULL, "c.zip", "TNMP", "uc", NULL, -1);
	/* 2026-06-02 22:00 -06:00 is 2026-06-03 04:00 UTC: the latest day too. */
	iw_ercot_docs_add(&d, NULL, NULL, "d.zip", "CNP", "ud", "2026-06-02T22:00:00-06:00", -1);
	iw_ercot_docs_add(&d, NULL, NULL, "e.zip", "CNP", "ue", "2026-06-02T12:00:00Z", -1);
	CHECK_INT(d.n, 5);
	iw_ercot_docs_keep_latest_day(&d, day);
	CHECK_STR(day, "2026-06-03");
	CHECK_INT(d.n, 3);
	CHECK(find_doc(&d, "b.zip") >= 0);
	CHECK(find_doc(&d, "c.zip") >= 0);
	CHECK(find_doc(&d, "d.zip") >= 0);
	CHECK(find_doc(&d, "a.zip") < 0);
	CHECK(find_doc(&d, "e.zip") < 0);
	/* Order kept. */
	if (d.n == 3) {
		CHECK_STR(d.v[0].filename, "b.zip");
		CHECK_STR(d.v[1].filename, "c.zip");
		CHECK_STR(d.v[2].filename, "d.zip");
	}
	/* Idempotent. */
	iw_ercot_docs_keep_latest_day(&d, day);
	CHECK_INT(d.n, 3);
	CHECK_STR(day, "2026-06-03");
	iw_ercot_docs_free(&d);

	/* Nothing dated: all kept, DAY untouched. */
	strcpy(day, "2026-05-05");
	iw_ercot_docs_add(&d, NULL, NULL, "x.zip", "ONCOR", "ux", NULL, -1);
	iw_ercot_docs_add(&d, NULL, NULL, "y.zip", "TNMP", "uy", NULL, -1);
	iw_ercot_docs_keep_latest_day(&d, day);
	CHECK_INT(d.n, 2);
	CHECK_STR(day, "2026-05-05");
	iw_ercot_docs_free(&d);

	/* Empty list: DAY untouched. */
	iw_ercot_docs_keep_latest_day(&d, day);
	CHECK_INT(d.n, 0);
	CHECK_STR(day, "2026-05-05");

	/* A dated constructed name (no timestamp) counts as dated. */
	iw_ercot_docs_add(&d, NULL, NULL, TNMP_EXT, NULL, "t1", NULL, -1);
	iw_ercot_docs_add(&d, NULL, NULL, ONCOR_EXT, NULL, "t2", NULL, -1);
	iw_ercot_docs_keep_latest_day(&d, day);
	CHECK_STR(day, "2026-06-03");
	CHECK_INT(d.n, 1);
	if (d.n == 1)
		CHECK_STR(d.v[0].filename, ONCOR_EXT);
	iw_ercot_docs_free(&d);
}

#define PAGE_URL "https://www.ercot.com/mp/data-products/data-product-details?id=ZP15-612"

static void test_page_parse(void)
{
	struct iw_ercot_docs d = { 0 };
	long i;
	static const char html[] =
		"<html><head><title>TDSP ESIID Extract</title></head><body>\n"
		"<abbr title=\"x\">ESIID</abbr> <area href=\"area.zip\">\n"
		"<table>\n"
		/* relative path, dated constructed name, link text with markup */
		"<tr><td><a href=\"files/" ONCOR_EXT "\"><b>ONCOR</b> daily</a></td></tr>\n"
		/* root-relative mirDownload with an entity, the name in the text */
		"<tr><td><A HREF='/misdownload/servlets/mirDownload?doclookupId=1234567&amp;mimic=1'>"
		"TDSP_ESIID_EXTRACT_CNP_FUL.zip</A></td></tr>\n"
		/* mirDownload, no usable text: doclookupId_<id>.zip */
		"<tr><td><a class=\"dl\" href=\"https://www.ercot.com/misdownload/servlets/mirDownload?"
		"doclookupId=999&#38;x=1\">Download</a></td></tr>\n"
		/* a .zip with a query string, unquoted, upper case */
		"<tr><td><a href=https://cdn.example.com/x/AEP_NORTH_FUL.ZIP?sig=a%20b>file</a></td></tr>\n"
		/* entity-encoded slashes */
		"<tr><td><a href=\"&#x2F;data&#47;NUECES_ELEC_FULL.zip\">n</a></td></tr>\n"
		/* not a download */
		"<tr><td><a href=\"/docs/readme.pdf\">readme.zip</a></td></tr>\n"
		"<tr><td><a href=\"ftp://ftp.example.com/TNMP.zip\">ftp</a></td></tr>\n"
		"<tr><td><a href=\"mailto:ops@example.com?subject=a.zip\">mail</a></td></tr>\n"
		"<tr><td><a name=\"anchor\">no href</a></td></tr>\n"
		/* the first link again: counted once */
		"<tr><td><a href=\"files/" ONCOR_EXT "\">again</a></td></tr>\n"
		"</table></body></html>\n";

	CHECK_INT(iw_ercot_page_parse(html, PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(d.n, 5);

	if ((i = find_doc(&d, ONCOR_EXT)) >= 0) {
		CHECK_STR(d.v[i].url, "https://www.ercot.com/mp/data-products/files/" ONCOR_EXT);
		CHECK_STR(d.v[i].tdsp, "ONCOR");
		CHECK_STR(d.v[i].posted, "2026-06-03 05:52:19");
		CHECK_INT(d.v[i].size, -1);
	} else {
		CHECK(!"oncor link missing");
	}
	if ((i = find_doc(&d, "TDSP_ESIID_EXTRACT_CNP_FUL.zip")) >= 0) {
		CHECK_STR(d.v[i].url, "https://www.ercot.com/misdownload/servlets/mirDownload?"
			  "doclookupId=1234567&mimic=1");
		CHECK_STR(d.v[i].tdsp, "CENTERPOINT");
		CHECK(d.v[i].posted == NULL);
	} else {
		CHECK(!"cnp link missing");
	}
	if ((i = find_doc(&d, "doclookupId_999.zip")) >= 0)
		CHECK_STR(d.v[i].url, "https://www.ercot.com/misdownload/servlets/mirDownload?"
			  "doclookupId=999&x=1");
	else
		CHECK(!"doclookupId link missing");
	if ((i = find_doc(&d, "AEP_NORTH_FUL.ZIP")) >= 0) {
		CHECK_STR(d.v[i].url, "https://cdn.example.com/x/AEP_NORTH_FUL.ZIP?sig=a%20b");
		/* Generic link text ("file") does not hide the TDSP of the file name. */
		CHECK_STR(d.v[i].tdsp, "AEP_NORTH");
	} else {
		CHECK(!"aep link missing");
	}
	if ((i = find_doc(&d, "NUECES_ELEC_FULL.zip")) >= 0) {
		CHECK_STR(d.v[i].url, "https://www.ercot.com/data/NUECES_ELEC_FULL.zip");
		CHECK_STR(d.v[i].tdsp, "NUECES"); /* not "N", the link text */
	} else {
		CHECK(!"nueces link missing");
	}
	CHECK(find_doc(&d, "readme.zip") < 0);
	CHECK(find_doc(&d, "TNMP.zip") < 0);
	CHECK(find_doc(&d, "area.zip") < 0);
	iw_ercot_docs_free(&d);

	/* The day and TDSP filters apply to links too. */
	CHECK_INT(iw_ercot_page_parse(html, PAGE_URL, "2026-06-02", NULL, &d), 0);
	CHECK_INT(d.n, 4); /* the dated ONCOR file is of 06-03 */
	CHECK(find_doc(&d, ONCOR_EXT) < 0);
	iw_ercot_docs_free(&d);
	CHECK_INT(iw_ercot_page_parse(html, PAGE_URL, NULL, "CENTERPOINT", &d), 0);
	CHECK_INT(d.n, 1);
	if (d.n == 1)
		CHECK_STR(d.v[0].filename, "TDSP_ESIID_EXTRACT_CNP_FUL.zip");
	iw_ercot_docs_free(&d);

	/* Degenerate pages: nothing found, no crash. */
	CHECK_INT(iw_ercot_page_parse("", PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(iw_ercot_page_parse("<a", PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(iw_ercot_page_parse("<a href=\"x.zip\"", PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(iw_ercot_page_parse("<a href=\"unterminated.zip>text", PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(iw_ercot_page_parse("<a href=>x</a><a href=\"\">y</a>", PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(d.n, 0);
	iw_ercot_docs_free(&d);
	/* An href without a closing </a>: found, the name from the URL. */
	CHECK_INT(iw_ercot_page_parse("<a href=\"/z/LUBBOCK.zip\">", PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(d.n, 1);
	if (d.n == 1) {
		CHECK_STR(d.v[0].filename, "LUBBOCK.zip");
		CHECK_STR(d.v[0].tdsp, "LUBBOCK");
	}
	iw_ercot_docs_free(&d);
	/* A page URL that cannot be a base: relative links are dropped. */
	CHECK_INT(iw_ercot_page_parse("<a href=\"x.zip\">x</a>", "not a url", NULL, NULL, &d), 0);
	CHECK_INT(d.n, 0);
	iw_ercot_docs_free(&d);
	/* A very long href is cut, never overflows. */
	{
		size_t len = 10000;
		char *big = malloc(len + 64);
		if (big) {
			strcpy(big, "<a href=\"https://h/");
			memset(big + strlen(big), 'q', len);
			strcpy(big + 19 + len, ".zip\">t</a>");
			CHECK_INT(iw_ercot_page_parse(big, PAGE_URL, NULL, NULL, &d), 0);
			CHECK_INT(d.n, 0); /* cut: no longer ends .zip */
			iw_ercot_docs_free(&d);
			free(big);
		}
	}

	/* A generic link text ("zip", "Download", "file") must not hide the
	 * TDSP of the file name, or a ?tdsp= run would drop the file. */
	CHECK_INT(iw_ercot_page_parse("<a href=\"/f/" ONCOR_EXT "\">zip</a>", PAGE_URL, NULL,
				      "ONCOR", &d), 0);
	CHECK_INT(d.n, 1);
	iw_ercot_docs_free(&d);
	/* "href" inside another attribute's name or value is not the href. */
	CHECK_INT(iw_ercot_page_parse("<a data-href=\"a.pdf\" href=\"/b/ONCOR.zip\">b</a>",
				      PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(d.n, 1);
	iw_ercot_docs_free(&d);
	CHECK_INT(iw_ercot_page_parse("<a title=\"href\" href=\"/b/ONCOR.zip\">b</a>",
				      PAGE_URL, NULL, NULL, &d), 0);
	CHECK_INT(d.n, 1);
	iw_ercot_docs_free(&d);
}

static int null_sink(const char *buf, size_t len, void *ctx)
{
	(void)buf;
	(void)len;
	(void)ctx;
	return 0;
}

/* iw_ercot_csv_ascending of ESIIDS (one 19-field record each). */
static int ascending_of(const char *const *esiids, int n)
{
	struct iw_ercot_csv *p = iw_ercot_csv_new(null_sink, NULL);
	char line[128];
	int r;

	if (!p)
		return -1;
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof line, "%s,,,,,,,,,,,,,,,,,,\r\n", esiids[i]);
		iw_ercot_csv_feed(p, line, strlen(line));
	}
	iw_ercot_csv_finish(p);
	r = iw_ercot_csv_ascending(p);
	iw_ercot_csv_free(p);
	return r;
}

/* The load skips its dedupe sort only when no ESIID can repeat: strictly
 * ascending as stored (trimmed), so a padded repeat is caught. */
static void test_csv_ascending(void)
{
	const char *up[] = { "1008901000000000000001", "10443720000000001", "10443720000000002" };
	const char *same[] = { "10443720000000001", "10443720000000001" };
	const char *padded[] = { "10443720000000001", " 10443720000000001\t" };
	const char *quoted[] = { "'10443720000000001", "10443720000000001" };
	const char *down[] = { "10443720000000002", "10443720000000001" };
	const char *prefix[] = { "104437200000000011", "10443720000000001" };

	CHECK_INT(ascending_of(up, 3), 1);
	CHECK_INT(ascending_of(same, 2), 0);
	CHECK_INT(ascending_of(padded, 2), 0);
	CHECK_INT(ascending_of(quoted, 2), 0);
	CHECK_INT(ascending_of(down, 2), 0);
	CHECK_INT(ascending_of(prefix, 2), 0);
}

struct sink {
	char text[4096];
	size_t len;
};

static int keep_sink(const char *buf, size_t len, void *ctx)
{
	struct sink *k = ctx;
	if (len > sizeof k->text - 1 - k->len)
		return -1;
	memcpy(k->text + k->len, buf, len);
	k->len += len;
	k->text[k->len] = '\0';
	return 0;
}

/* COPY text a UTF-8 database takes: valid UTF-8 as it is, stray bytes read
 * as Latin-1, a record with a NUL or a non-UTF-8 ESIID skipped as bad. */
static void test_csv_text(void)
{
	static const char in[] =
		"10400000000000001,1 CA\xD1" "ADA DR,,CITY,TX,,,,,,,,,,,,,,\n"  /* Latin-1 */
		"10400000000000002,2 CA\xC3\x91" "ADA DR,,CITY,TX,,,,,,,,,,,,,,\n" /* UTF-8 */
		"10400000000000003,3 MAIN\0 ST,,CITY,TX,,,,,,,,,,,,,,\n"        /* NUL */
		"1040000000000\xFF" "4,4 OAK,,CITY,TX,,,,,,,,,,,,,,\n"          /* ESIID */
		"10400000000000005,\xED\xA0\x80,,CITY,TX,,,,,,,,,,,,,,\n";    /* surrogate */
	struct sink k = { .len = 0 };
	struct iw_ercot_csv *p = iw_ercot_csv_new(keep_sink, &k);

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_INT(iw_ercot_csv_feed(p, in, sizeof in - 1), 0);
	CHECK_INT(iw_ercot_csv_finish(p), 0);
	CHECK_INT((int)iw_ercot_csv_rows(p), 3);
	CHECK_INT((int)iw_ercot_csv_bad_rows(p), 2);
	CHECK_INT((int)iw_ercot_csv_transcoded_rows(p), 2);
	CHECK(strstr(k.text, "10400000000000001\t1 CA\xC3\x91" "ADA DR\t") != NULL);
	CHECK(strstr(k.text, "10400000000000002\t2 CA\xC3\x91" "ADA DR\t") != NULL);
	CHECK(strstr(k.text, "10400000000000005\t\xC3\xAD\xC2\xA0\xE2\x82\xAC\t") != NULL);
	CHECK(strstr(k.text, "10400000000000003") == NULL);
	CHECK(strstr(k.text, "OAK") == NULL);
	CHECK(iw_utf8_valid(k.text, k.len));
	iw_ercot_csv_free(p);
}

int main(void)
{
	test_csv_ascending();
	test_csv_text();
	test_tdsp_code();
	test_parse_time();
	test_safe_filename();
	test_day_valid();
	test_docs_add();
	test_keep_latest_day();
	test_page_parse();
	return unit_report("ercot_ingest");
}
