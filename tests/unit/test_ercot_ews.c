/* EWS "get Reports" reply parser on hand-written SOAP: namespaced Reports,
 * entities, CDATA, comments, faults, ReplyCode errors, the gzip+base64
 * Payload/Compressed form, empty lists and every truncation of a reply (each
 * parsed from an exactly-sized heap copy, so ASan sees any read past LEN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "ercot/ews.h"
#include "unit.h"

#define ENV_OPEN \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
	"<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">\n" \
	"<SOAP-ENV:Header/>\n<SOAP-ENV:Body>\n" \
	"<ns0:ResponseMessage xmlns:ns0=\"http://www.ercot.com/schema/2007-06/nodal/ews/message\">\n" \
	"<ns0:Header><ns0:Verb>reply</ns0:Verb><ns0:Noun>Reports</ns0:Noun>" \
	"<ns0:ReplayDetection><ns0:Nonce>abc</ns0:Nonce></ns0:ReplayDetection></ns0:Header>\n" \
	"<ns0:Reply><ns0:ReplyCode>OK</ns0:ReplyCode><ns0:Timestamp>2026-06-03T06:00:00-05:00" \
	"</ns0:Timestamp></ns0:Reply>\n"
/* The same, answering ERROR (ERCOT puts the reason in Reply/Error). */
#define ENV_OPEN_ERR \
	"<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\">" \
	"<SOAP-ENV:Body><ns0:ResponseMessage xmlns:ns0=\"x\">" \
	"<ns0:Header><ns0:Verb>reply</ns0:Verb><ns0:Noun>Reports</ns0:Noun></ns0:Header>" \
	"<ns0:Reply><ns0:ReplyCode>ERROR</ns0:ReplyCode>" \
	"<ns0:Error code=\"401\"> Not authorized for report type 203 </ns0:Error></ns0:Reply>\n"
#define ENV_CLOSE "</ns0:ResponseMessage>\n</SOAP-ENV:Body>\n</SOAP-ENV:Envelope>\n"

#define ONCOR_NAME "ext.00000203.0000000000000000.20260603.055219164.ONCOR_ELEC___DAILY.zip"
#define CNP_NAME   "ext.00000203.0000000000000000.20260603.061503221.CENTERPOINT___DAILY.zip"

#define REPORTS \
	"<ns0:Payload><ns1:Reports xmlns:ns1=\"http://www.ercot.com/schema/2007-06/nodal/ews\">\n" \
	"<!-- <ns1:Report><ns1:URL>https://evil.example/fake.zip</ns1:URL></ns1:Report> -->\n" \
	"<ns1:Report>\n" \
	"  <ns1:ReportTypeID>203</ns1:ReportTypeID>\n" \
	"  <ns1:fileName>" ONCOR_NAME "</ns1:fileName>\n" \
	"  <ns1:created>2026-06-03T05:52:19-05:00</ns1:created>\n" \
	"  <ns1:size>123456789</ns1:size>\n" \
	"  <ns1:URL>https://mis.ercot.com/misdownload/servlets/mirDownload?" \
	"doclookupId=1001&amp;mimic_duns=000000000</ns1:URL>\n" \
	"</ns1:Report>\n" \
	"<ns1:Report>\n" \
	"  <ns1:fileName><![CDATA[" CNP_NAME "]]></ns1:fileName>\n" \
	"  <ns1:created> 2026-06-03T06:15:03Z </ns1:created>\n" \
	"  <ns1:size>n/a</ns1:size>\n" \
	"  <ns1:URL><![CDATA[https://mis.ercot.com/dl?doclookupId=1002&x=<Report>]]></ns1:URL>\n" \
	"</ns1:Report>\n" \
	"<ns1:Report><ns1:fileName>no-url.zip</ns1:fileName><ns1:URL>  </ns1:URL></ns1:Report>\n" \
	"<ns1:Report><ns1:fileName>TNMP&#95;x.zip</ns1:fileName>" \
	"<ns1:URL>https://h/t?a=1&#x26;b=2&amp;amp;c=&lt;3&gt;&nbsp;</ns1:URL></ns1:Report>\n" \
	"</ns1:Reports></ns0:Payload>\n"

static int parse(const char *xml, size_t len, struct iw_ews_report **r, size_t *n, char *err,
		 size_t errlen)
{
	/* An exact-size copy without a NUL: the parser must stay inside LEN. */
	char *copy = malloc(len ? len : 1);
	int rc;

	if (!copy)
		return -2;
	memcpy(copy, xml, len);
	err[0] = '\0';
	rc = iw_ews_parse_reply(copy, len, r, n, err, errlen);
	free(copy);
	return rc;
}

static void test_reports(void)
{
	static const char xml[] = ENV_OPEN REPORTS ENV_CLOSE;
	struct iw_ews_report *r = (void *)1;
	size_t n = 99;
	char err[256];

	CHECK_INT(parse(xml, strlen(xml), &r, &n, err, sizeof err), 0);
	CHECK_INT(n, 3);
	if (n == 3 && r) {
		CHECK_STR(r[0].filename, ONCOR_NAME);
		CHECK_STR(r[0].created, "2026-06-03T05:52:19-05:00");
		CHECK_INT(r[0].size, 123456789);
		CHECK_STR(r[0].url, "https://mis.ercot.com/misdownload/servlets/mirDownload?"
			  "doclookupId=1001&mimic_duns=000000000");
		CHECK_STR(r[1].filename, CNP_NAME);
		CHECK_STR(r[1].created, "2026-06-03T06:15:03Z");
		CHECK_INT(r[1].size, -1);
		CHECK_STR(r[1].url, "https://mis.ercot.com/dl?doclookupId=1002&x=<Report>");
		CHECK_STR(r[2].filename, "TNMP_x.zip");
		CHECK_STR(r[2].created, "");
		CHECK_INT(r[2].size, -1);
		CHECK_STR(r[2].url, "https://h/t?a=1&b=2&amp;c=<3>&nbsp;");
	}
	for (size_t i = 0; r && i < n; i++)
		CHECK(strstr(r[i].url, "evil") == NULL);
	iw_ews_reports_free(r, n);
}

/* Other prefixes, no namespace, odd case, attributes, self-closing elements. */
static void test_variants(void)
{
	static const char plain[] =
		"<Envelope><Body><ResponseMessage><Reply><ReplyCode>Ok</ReplyCode></Reply>"
		"<Payload><Reports>"
		"<Report><URL>https://h/a.zip</URL><fileName>a.zip</fileName><size>0</size></Report>"
		"<ews:Report xmlns:ews='x' kind=\"a>b\"><ews:url>https://h/b.zip</ews:url>"
		"<ews:created/><ews:size>-5</ews:size></ews:Report>"
		"<Report/>"
		"</Reports></Payload></ResponseMessage></Body></Envelope>";
	static const char only_reports[] =
		"<Reports><Report><URL>https://h/c.zip</URL><size> 42 </size></Report></Reports>";
	struct iw_ews_report *r = NULL;
	size_t n = 0;
	char err[256];

	CHECK_INT(parse(plain, strlen(plain), &r, &n, err, sizeof err), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_STR(r[0].url, "https://h/a.zip");
		CHECK_STR(r[0].filename, "a.zip");
		CHECK_INT(r[0].size, 0);
		CHECK_STR(r[1].url, "https://h/b.zip");
		CHECK_STR(r[1].filename, "");
		CHECK_STR(r[1].created, "");
		CHECK_INT(r[1].size, -1);
	}
	iw_ews_reports_free(r, n);

	CHECK_INT(parse(only_reports, strlen(only_reports), &r, &n, err, sizeof err), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_STR(r[0].url, "https://h/c.zip");
		CHECK_INT(r[0].size, 42);
	}
	iw_ews_reports_free(r, n);
}

static void test_empty(void)
{
	static const char *const replies[] = {
		ENV_OPEN "<ns0:Payload><ns1:Reports xmlns:ns1=\"x\"/></ns0:Payload>" ENV_CLOSE,
		ENV_OPEN "<ns0:Payload><ns1:Reports xmlns:ns1=\"x\">\n</ns1:Reports></ns0:Payload>"
			ENV_CLOSE,
		ENV_OPEN ENV_CLOSE,
		ENV_OPEN "<!-- <Report><URL>https://x/y.zip</URL></Report> -->"
			"<![CDATA[<Report><URL>https://x/z.zip</URL></Report>]]>" ENV_CLOSE,
	};
	char err[256];

	for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
		struct iw_ews_report *r = (void *)1;
		size_t n = 7;
		CHECK_INT(parse(replies[i], strlen(replies[i]), &r, &n, err, sizeof err), 0);
		CHECK_INT(n, 0);
		iw_ews_reports_free(r, n);
	}
}

static void test_errors(void)
{
	static const char fault[] =
		"<?xml version=\"1.0\"?>"
		"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">"
		"<soapenv:Body><soapenv:Fault>"
		"<faultcode>soapenv:Client</faultcode>"
		"<faultstring>Signature verification failed: certificate &lt;CN=x&gt; unknown"
		"</faultstring><detail><code>E42</code></detail>"
		"</soapenv:Fault></soapenv:Body></soapenv:Envelope>";
	static const char fault12[] =
		"<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body>"
		"<env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code>"
		"<env:Reason><env:Text xml:lang=\"en\">Service down</env:Text></env:Reason>"
		"</env:Fault></env:Body></env:Envelope>";
	static const char reply_error[] =
		ENV_OPEN_ERR "<ns0:Payload><ns1:Reports xmlns:ns1=\"x\"><ns1:Report>"
		"<ns1:URL>https://h/a.zip</ns1:URL></ns1:Report></ns1:Reports></ns0:Payload>"
		ENV_CLOSE;
	static const char reply_fatal[] =
		"<ResponseMessage><Reply><ReplyCode>FATAL</ReplyCode></Reply></ResponseMessage>";
	static const char not_ews[] = "<html><body>502 Bad Gateway</body></html>";
	struct iw_ews_report *r = (void *)1;
	size_t n = 5;
	char err[256], tiny[12];

	CHECK_INT(parse(fault, strlen(fault), &r, &n, err, sizeof err), -1);
	CHECK_STR(err, "EWS fault: Signature verification failed: certificate <CN=x> unknown");
	CHECK(r == NULL);
	CHECK_INT(n, 0);

	CHECK_INT(parse(fault12, strlen(fault12), &r, &n, err, sizeof err), -1);
	CHECK(strncmp(err, "EWS fault: ", 11) == 0);
	CHECK(strstr(err, "Service down") != NULL);

	CHECK_INT(parse(reply_error, strlen(reply_error), &r, &n, err, sizeof err), -1);
	CHECK_STR(err, "EWS reply ERROR: Not authorized for report type 203");
	CHECK(r == NULL);
	CHECK_INT(n, 0);

	CHECK_INT(parse(reply_fatal, strlen(reply_fatal), &r, &n, err, sizeof err), -1);
	CHECK_STR(err, "EWS reply FATAL: (no error text)");

	CHECK_INT(parse(not_ews, strlen(not_ews), &r, &n, err, sizeof err), -1);
	CHECK_STR(err, "EWS reply holds no ResponseMessage");
	CHECK_INT(parse("", 0, &r, &n, err, sizeof err), -1);
	CHECK(err[0] != '\0');

	/* A short error buffer is cut, still terminated; none at all is fine. */
	CHECK_INT(iw_ews_parse_reply(fault, strlen(fault), &r, &n, tiny, sizeof tiny), -1);
	CHECK_INT(strlen(tiny), sizeof tiny - 1);
	CHECK_INT(iw_ews_parse_reply(fault, strlen(fault), &r, &n, NULL, 0), -1);
}

/* Every prefix of a good reply: no crash, no read past LEN; a reply cut
 * inside the report list is an error, never a partial list. */
static void test_truncated(void)
{
	static const char xml[] = ENV_OPEN REPORTS ENV_CLOSE;
	size_t len = strlen(xml), list_end, bad = 0, errors = 0, partial = 0;
	char err[256];

	list_end = (size_t)(strstr(xml, "</ns1:Reports>") - xml) + strlen("</ns1:Reports>");
	for (size_t cut = 0; cut < len; cut++) {
		struct iw_ews_report *r = NULL;
		size_t n = 0;
		int rc = parse(xml, cut, &r, &n, err, sizeof err);

		if (rc == -1) {
			errors++;
			if (r || n || !err[0])
				bad++;
		} else if (rc == 0) {
			if (cut < list_end)
				partial++;
			else if (n != 3)
				bad++;
		} else {
			bad++;
		}
		iw_ews_reports_free(r, n);
	}
	CHECK_INT(bad, 0);
	CHECK_INT(partial, 0);
	CHECK(errors >= list_end - 1);

	/* A cut fault is still an error. */
	{
		static const char fault[] =
			"<s:Envelope xmlns:s=\"e\"><s:Body><s:Fault><faultcode>s:Server</faultcode>"
			"<faultstring>Boom &amp; more</faultstring></s:Fault></s:Body></s:Envelope>";
		size_t ok = 0;
		for (size_t cut = 0; cut <= strlen(fault); cut++) {
			struct iw_ews_report *r = NULL;
			size_t n = 0;
			if (parse(fault, cut, &r, &n, err, sizeof err) == -1 && !r && !n && err[0])
				ok++;
			iw_ews_reports_free(r, n);
		}
		CHECK_INT(ok, strlen(fault) + 1);
		CHECK_STR(err, "EWS fault: Boom & more");
	}
}

/* ---- Payload/Compressed: base64 of gzip'd XML ---- */

static char *gzip_b64(const char *plain)
{
	z_stream zs;
	size_t cap = compressBound(strlen(plain)) + 64;
	unsigned char *gz = malloc(cap);
	char *b64 = NULL;
	size_t gzlen;

	memset(&zs, 0, sizeof zs);
	if (!gz || deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(gz);
		return NULL;
	}
	zs.next_in = (Bytef *)plain;
	zs.avail_in = (uInt)strlen(plain);
	zs.next_out = gz;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&zs);
		free(gz);
		return NULL;
	}
	gzlen = cap - zs.avail_out;
	deflateEnd(&zs);
	if ((b64 = malloc(4 * ((gzlen + 2) / 3) + 1)))
		EVP_EncodeBlock((unsigned char *)b64, gz, (int)gzlen);
	free(gz);
	return b64;
}

/* A reply whose payload is PAYLOAD, inserted with 76-column line breaks. */
static char *compressed_reply(const char *b64)
{
	size_t bl = strlen(b64), cap = bl + bl / 76 + 1024, o;
	char *x = malloc(cap);

	if (!x)
		return NULL;
	o = (size_t)snprintf(x, cap, "%s<ns0:Payload><ns0:Compressed>\n", ENV_OPEN);
	for (size_t i = 0; i < bl; i += 76) {
		size_t k = bl - i < 76 ? bl - i : 76;
		memcpy(x + o, b64 + i, k);
		o += k;
		x[o++] = '\n';
	}
	snprintf(x + o, cap - o, "</ns0:Compressed><ns0:format>XML</ns0:format></ns0:Payload>%s",
		 ENV_CLOSE);
	return x;
}

static void test_compressed(void)
{
	static const char inner[] =
		"<ns1:Reports xmlns:ns1=\"x\">"
		"<ns1:Report><ns1:fileName>" ONCOR_NAME "</ns1:fileName>"
		"<ns1:created>2026-06-03T05:52:19-05:00</ns1:created><ns1:size>77</ns1:size>"
		"<ns1:URL>https://h/d?id=1&amp;b=2</ns1:URL></ns1:Report>"
		"<ns1:Report><ns1:URL>https://h/d?id=2</ns1:URL></ns1:Report>"
		"</ns1:Reports>";
	struct iw_ews_report *r = NULL;
	size_t n = 0;
	char err[256], *b64 = gzip_b64(inner), *xml = b64 ? compressed_reply(b64) : NULL;

	CHECK(xml != NULL);
	if (xml) {
		CHECK_INT(parse(xml, strlen(xml), &r, &n, err, sizeof err), 0);
		CHECK_INT(n, 2);
		if (n == 2) {
			CHECK_STR(r[0].filename, ONCOR_NAME);
			CHECK_STR(r[0].created, "2026-06-03T05:52:19-05:00");
			CHECK_INT(r[0].size, 77);
			CHECK_STR(r[0].url, "https://h/d?id=1&b=2");
			CHECK_STR(r[1].url, "https://h/d?id=2");
		}
		iw_ews_reports_free(r, n);
		r = NULL;
		n = 0;
	}
	free(xml);

	/* Corrupted payloads: not base64, base64 of a cut gzip stream. */
	xml = compressed_reply("not*base64!");
	if (xml) {
		CHECK_INT(parse(xml, strlen(xml), &r, &n, err, sizeof err), -1);
		CHECK_STR(err, "EWS reply: compressed payload is not base64");
		CHECK(r == NULL);
	}
	free(xml);
	if (b64 && strlen(b64) > 40) {
		b64[40] = '\0'; /* a multiple of 4: valid base64, truncated gzip */
		xml = compressed_reply(b64);
		if (xml) {
			CHECK_INT(parse(xml, strlen(xml), &r, &n, err, sizeof err), -1);
			CHECK_STR(err, "EWS reply: compressed payload does not inflate");
		}
		free(xml);
	}
	xml = compressed_reply("SGVsbG8gd29ybGQ="); /* "Hello world": not gzip */
	if (xml) {
		CHECK_INT(parse(xml, strlen(xml), &r, &n, err, sizeof err), -1);
		CHECK_STR(err, "EWS reply: compressed payload does not inflate");
	}
	free(xml);
	free(b64);
}

int main(void)
{
	test_reports();
	test_variants();
	test_empty();
	test_errors();
	test_truncated();
	test_compressed();
	return unit_report("ercot_ews");
}
