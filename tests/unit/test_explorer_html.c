/* HTML and URL escaping, CSV quoting of the DB explorer. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/csvout.h"
#include "core/html.h"
#include "unit.h"

static char *escaped(const char *s)
{
	static char out[512];
	struct iw_buf b = { 0 };
	size_t len;
	char *data;

	iw_html_escape(&b, s);
	data = iw_buf_take(&b, &len);
	snprintf(out, sizeof out, "%s", data ? data : "(fail)");
	free(data);
	return out;
}

static char *urlenc(const char *s)
{
	static char out[512];
	struct iw_buf b = { 0 };
	size_t len;
	char *data;

	iw_url_encode(&b, s);
	data = iw_buf_take(&b, &len);
	snprintf(out, sizeof out, "%s", data ? data : "(fail)");
	free(data);
	return out;
}

static char *csv_row(const char *const *fields, int n)
{
	static char out[512];
	struct iw_buf b = { 0 };
	size_t len;
	char *data;

	for (int i = 0; i < n; i++)
		iw_csv_field(&b, fields[i], fields[i] ? strlen(fields[i]) : 0, i == 0);
	iw_csv_end_row(&b);
	data = iw_buf_take(&b, &len);
	snprintf(out, sizeof out, "%s", data ? data : "(fail)");
	free(data);
	return out;
}

int main(void)
{
	/* Every character that matters in text and in quoted attributes. */
	CHECK_STR(escaped("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
	CHECK_STR(escaped("a & b \"c\" 'd'"), "a &amp; b &quot;c&quot; &#39;d&#39;");
	CHECK_STR(escaped("plain ✓ text"), "plain ✓ text");
	CHECK_STR(escaped(""), "");
	CHECK_STR(escaped(NULL), "");
	CHECK_STR(escaped("tab\tnl\ncr\r"), "tab\tnl\ncr\r");
	CHECK_STR(escaped("bell\x07" "del\x7f"), "bell\xEF\xBF\xBD" "del\xEF\xBF\xBD");
	CHECK_STR(escaped("&amp;"), "&amp;amp;");
	{
		/* A NUL inside a counted value does not end it early or pass through. */
		struct iw_buf b = { 0 };
		size_t len;
		char *d;
		iw_html_escape_n(&b, "a\0<", 3);
		d = iw_buf_take(&b, &len);
		CHECK(d && len == 8 && memcmp(d, "a\xEF\xBF\xBD&lt;", 8) == 0);
		free(d);
	}

	CHECK_STR(urlenc("ErcotIngest"), "ErcotIngest");
	CHECK_STR(urlenc("a b&c=d\"<>'#%/"), "a%20b%26c%3Dd%22%3C%3E%27%23%25%2F");
	CHECK_STR(urlenc("é"), "%C3%A9");

	CHECK_INT(iw_utf8_prefix("héllo", 6, 2), 1);  /* does not cut é */
	CHECK_INT(iw_utf8_prefix("héllo", 6, 3), 3);
	CHECK_INT(iw_utf8_prefix("abc", 3, 10), 3);

	{
		const char *plain[] = { "a", "b", "c" };
		const char *tricky[] = { "x,y", "say \"hi\"", "two\nlines", "cr\r", NULL, "" };
		CHECK_STR(csv_row(plain, 3), "a,b,c\r\n");
		CHECK_STR(csv_row(tricky, 6), "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",,\r\n");
	}
	{
		/* OWASP CSV injection: formula-like cells get a leading ', inside the
		 * quotes when the field is quoted; plain numbers keep their sign. */
		const char *formulas[] = { "=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0",
					   "-2+3", "@SUM(A1)", "\tx", "\rx" };
		const char *numbers[] = { "-12", "-0.5", "+7", "-1e-3", "1.5E+10", "a=b", "-", "-e" };
		CHECK_STR(csv_row(formulas, 6),
			  "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",'+1+cmd|' /C calc'!A0,'-2+3,"
			  "'@SUM(A1),'\tx,\"'\rx\"\r\n");
		CHECK_STR(csv_row(numbers, 8), "-12,-0.5,+7,-1e-3,1.5E+10,a=b,'-,'-e\r\n");
		CHECK_INT(iw_csv_formula_like("=1", 2), 1);
		CHECK_INT(iw_csv_formula_like("=1", 0), 0);
		CHECK_INT(iw_csv_formula_like("1=1", 3), 0);
		CHECK_INT(iw_csv_formula_like("-1", 2), 0);
		CHECK_INT(iw_csv_formula_like("-1-1", 4), 1);
	}

	{
		/* The buffer's cap is sticky and frees what it held. */
		struct iw_buf b = { .max = 8 };
		size_t len;
		CHECK_INT(iw_buf_puts(&b, "12345678"), 0);
		CHECK_INT(iw_buf_puts(&b, "9"), -1);
		CHECK_INT(iw_buf_puts(&b, ""), -1);
		CHECK(iw_buf_take(&b, &len) == NULL);
		CHECK(b.data == NULL);
	}
	{
		struct iw_buf b = { 0 };
		size_t len;
		char *d;
		iw_buf_printf(&b, "%d-%s", 42, "x");
		for (int i = 0; i < 2000; i++)
			iw_buf_puts(&b, "abcdefgh");
		d = iw_buf_take(&b, &len);
		CHECK(d && len == 4 + 16000 && strncmp(d, "42-xabc", 7) == 0 && d[len] == '\0');
		free(d);
		d = iw_buf_take(&b, &len); /* empty buffer: an empty string */
		CHECK(d && len == 0 && d[0] == '\0');
		free(d);
	}
	return unit_report("explorer_html");
}
