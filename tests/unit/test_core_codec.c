/* core/codec and core/time: the one hex, base64 decoder, inflate (whole
 * and streaming) and calendar every layer shares. */
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

struct collected {
	unsigned char data[256];
	size_t len;
	int calls;
};

static int collect(void *ctx, const unsigned char *p, size_t n)
{
	struct collected *c = ctx;

	if (n > sizeof c->data - c->len)
		return -7; /* a sink's refusal is handed back as is */
	memcpy(c->data + c->len, p, n);
	c->len += n;
	c->calls++;
	return 0;
}

/* The streaming base64 the spool feeds in pieces: a group split across
 * feeds, padding only at the end, non-canonical last bits and '='-only
 * text refused, a sink's refusal returned. */
static void base64_stream(void)
{
	struct iw_b64_stream d = { 0 };
	struct collected c = { .len = 0 };
	const char *text = "aG Vs\nbG8=";

	for (const char *p = text; *p; p++)
		CHECK_INT(iw_b64_feed(&d, p, 1, collect, &c), 0);
	CHECK_INT(iw_b64_finish(&d, collect, &c), 0);
	CHECK_INT(c.len, 5);
	CHECK(memcmp(c.data, "hello", 5) == 0);
	CHECK_INT(c.calls, 1); /* buffered: one emit */

	memset(&d, 0, sizeof d);
	CHECK_INT(iw_b64_feed(&d, "aGVsbG8", 7, collect, &c), 0); /* missing padding tolerated */
	CHECK_INT(iw_b64_finish(&d, collect, &c), 0);
	memset(&d, 0, sizeof d);
	CHECK_INT(iw_b64_feed(&d, "aG=Vs", 5, collect, &c), IW_CODEC_INVALID);
	memset(&d, 0, sizeof d);
	CHECK_INT(iw_b64_feed(&d, "cat=", 4, collect, &c), 0);
	CHECK_INT(iw_b64_finish(&d, collect, &c), IW_CODEC_INVALID); /* 't' leaves bits set */
	memset(&d, 0, sizeof d);
	CHECK_INT(iw_b64_feed(&d, "====", 4, collect, &c), IW_CODEC_INVALID);
	CHECK(iw_base64_decode("====", 4, &c.len) == NULL);

	memset(&d, 0, sizeof d);
	c.len = sizeof c.data; /* full: the sink refuses */
	CHECK_INT(iw_b64_feed(&d, "aGVsbG8=", 8, collect, &c), 0);
	CHECK_INT(iw_b64_finish(&d, collect, &c), -7);
}

/* Streaming inflate: two gzip members fed a byte at a time come out as one
 * text with MEMBERS set; without it the second is ignored. */
static void inflate_stream(void)
{
	unsigned char gz[128], two[256];
	uLongf glen;
	z_stream z;
	size_t n;
	struct collected c;
	struct iw_inflate_stream *f = malloc(sizeof *f);

	CHECK(f != NULL);
	if (!f)
		return;
	memset(&z, 0, sizeof z);
	CHECK_INT(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (unsigned char *)"hello ";
	z.avail_in = 6;
	z.next_out = gz;
	z.avail_out = sizeof gz;
	CHECK_INT(deflate(&z, Z_FINISH), Z_STREAM_END);
	glen = sizeof gz - z.avail_out;
	deflateEnd(&z);
	memcpy(two, gz, glen);
	memcpy(two + glen, gz, glen);
	n = 2 * glen;

	for (int members = 1; members >= 0; members--) {
		memset(&c, 0, sizeof c);
		iw_inflate_start(f, 16 + MAX_WBITS, members);
		for (size_t i = 0; i < n; i++)
			CHECK_INT(iw_inflate_feed(f, two + i, 1, collect, &c), 0);
		CHECK(iw_inflate_complete(f));
		CHECK_INT(c.len, members ? 12 : 6);
		CHECK(memcmp(c.data, "hello hello ", c.len) == 0);
		iw_inflate_end(f);
	}
	memset(&c, 0, sizeof c);
	iw_inflate_start(f, 16 + MAX_WBITS, 1);
	CHECK_INT(iw_inflate_feed(f, two, glen - 3, collect, &c), 0); /* truncated */
	CHECK(!iw_inflate_complete(f));
	iw_inflate_end(f);
	iw_inflate_start(f, 16 + MAX_WBITS, 1);
	CHECK_INT(iw_inflate_feed(f, (const unsigned char *)"not gzip", 8, collect, &c),
		  IW_CODEC_INVALID);
	iw_inflate_end(f);
	free(f);
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
	base64_stream();
	inflate_stream();
	calendar();
	return unit_report("core_codec");
}
