/* core/codec and core/time: the one hex, base64 decoder, inflate and
 * calendar every layer shares. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/codec.h"
#include "core/time.h"
#include "unit.h"

static void hex(void)
{
	const unsigned char in[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[2 * sizeof in + 1];

	iw_hex_encode(in, sizeof in, out);
	CHECK_STR(out, "000fa5ff");
	iw_hex_encode(in, 0, out);
	CHECK_STR(out, "");
}

static void base64(void)
{
	size_t n = 0;
	unsigned char *b = iw_base64_decode("aGVs\nbG8=\r\n", 11, &n);

	CHECK(b != NULL);
	CHECK_INT(n, 5);
	CHECK(b && memcmp(b, "hello", 5) == 0);
	free(b);
	b = iw_base64_decode("aGVsbA==", 8, &n);
	CHECK(b && n == 4 && memcmp(b, "hell", 4) == 0);
	free(b);
	CHECK(iw_base64_decode("aGVsbG8", 7, &n) == NULL);  /* padding required */
	CHECK(iw_base64_decode("aGV*bG8=", 8, &n) == NULL); /* not the alphabet */
	CHECK(iw_base64_decode("", 0, &n) == NULL);
}

static void inflate_all(void)
{
	const char text[] = "interval,interval,interval,interval,interval";
	unsigned char z[256];
	uLongf zlen = sizeof z;
	size_t n = 0;
	char *out;

	CHECK_INT(compress(z, &zlen, (const Bytef *)text, sizeof text - 1), Z_OK);
	out = iw_inflate_all(z, zlen, 1024, &n);
	CHECK(out != NULL);
	CHECK_INT(n, sizeof text - 1);
	CHECK_STR(out, text);
	free(out);
	CHECK(iw_inflate_all(z, zlen, 8, &n) == NULL);      /* over the cap */
	CHECK(iw_inflate_all(z, zlen / 2, 1024, &n) == NULL); /* truncated */
	CHECK(iw_inflate_all((const unsigned char *)"plain", 5, 1024, &n) == NULL);
}

static void calendar(void)
{
	CHECK_INT(iw_days_in_month(2024, 2), 29);
	CHECK_INT(iw_days_in_month(2023, 2), 28);
	CHECK_INT(iw_days_in_month(1900, 2), 28);
	CHECK_INT(iw_days_in_month(2000, 2), 29);
	CHECK_INT(iw_days_in_month(2026, 11), 30);
	CHECK_INT(iw_days_in_month(2026, 12), 31);
	CHECK(iw_now_ms() > 0);
}

int main(void)
{
	hex();
	base64();
	inflate_all();
	calendar();
	return unit_report("core_codec");
}
