/* The ESIID lookup's address normalisation (ercot/address.c). */
#include "ercot/address.h"
#include "unit.h"

static struct iw_ercot_address a;

static const char *norm(const char *l1, const char *l2)
{
	iw_ercot_address_normalize(l1, l2, &a);
	return a.norm;
}

/* Two spellings give the same number and line. */
static void same(const char *x1, const char *x2, const char *y1, const char *y2)
{
	struct iw_ercot_address b;
	iw_ercot_address_normalize(x1, x2, &a);
	iw_ercot_address_normalize(y1, y2, &b);
	CHECK_STR(a.number, b.number);
	CHECK_STR(a.norm, b.norm);
}

int main(void)
{
	/* Case, punctuation, whitespace. */
	CHECK_STR(norm("  123   n. main  st. ", NULL), "N MAIN ST");
	CHECK_STR(a.number, "123");
	CHECK_STR(norm("4501 O'Connor Rd.", ""), "OCONNOR RD");
	CHECK_STR(norm("12 N.W. Loop, Bldg-3", NULL), "NW LOOP UNIT 3");
	/* Suffixes and directionals. */
	CHECK_STR(norm("100 North Main Street", NULL), "N MAIN ST");
	CHECK_STR(norm("100 SOUTHWEST Parkway", NULL), "SW PKWY");
	CHECK_STR(norm("9 Elm Avenue", NULL), "ELM AVE");
	CHECK_STR(norm("9 Oak Boulevard", NULL), "OAK BLVD");
	CHECK_STR(norm("9 Oak Drive", NULL), "OAK DR");
	CHECK_STR(norm("9 Oak Road", NULL), "OAK RD");
	CHECK_STR(norm("9 Oak Lane", NULL), "OAK LN");
	CHECK_STR(norm("9 Oak Court", NULL), "OAK CT");
	CHECK_STR(norm("9 Oak Circle", NULL), "OAK CIR");
	CHECK_STR(norm("9 Oak Place", NULL), "OAK PL");
	CHECK_STR(norm("9 Oak Trail", NULL), "OAK TRL");
	CHECK_STR(norm("9 Oak Highway", NULL), "OAK HWY");
	CHECK_STR(norm("9 Oak Crossing", NULL), "OAK XING");
	/* Units: every designator folds to UNIT; the id's words join. */
	CHECK_STR(norm("1200 Elm St Apt 210", NULL), "ELM ST UNIT 210");
	CHECK_STR(a.number, "1200");
	same("1200 Elm St Apt 210", NULL, "1200 ELM STREET", "#210");
	same("1200 Elm St Apt 210", NULL, "1200 elm st # 210", NULL);
	same("1200 Elm St Apt 210", NULL, "1200 Elm St Suite 210", NULL);
	same("1200 Elm St Apt 210", NULL, "1200 Elm St Ste. 210", NULL);
	same("1200 Elm St Apt 210", NULL, "1200 Elm St Unit 210", NULL);
	same("1200 Elm St Apt 210", NULL, "1200 Elm St 210", NULL);
	same("5 Pine Ct Apt 2-B", NULL, "5 PINE COURT", "UNIT 2B");
	CHECK_STR(norm("77 Lake Dr", "Bldg 3 Apt 210"), "LK DR UNIT 3 210");
	CHECK_STR(norm("8 Oak Ln Lot 14", NULL), "OAK LN UNIT 14");
	CHECK_STR(norm("1200 Main St B", NULL), "MAIN ST UNIT B");
	CHECK_STR(norm("1200 Main St S", NULL), "MAIN ST S");
	/* Texas roads: the number after the type stays in the street. */
	CHECK_STR(norm("14000 Farm to Market Road 1960 W", NULL), "FM 1960 W");
	CHECK_STR(norm("14000 FM Rd 1960 W", NULL), "FM 1960 W");
	CHECK_STR(norm("300 County Road 4510", NULL), "CR 4510");
	CHECK_STR(norm("300 State Highway 6 S", NULL), "SH 6 S");
	CHECK_STR(norm("300 US Highway 59", NULL), "US 59");
	CHECK_STR(norm("300 Hwy 290", NULL), "HWY 290");
	/* Ordinals. */
	same("10 West Third Street", NULL, "10 W 3rd St", NULL);
	same("10 Twelfth Ave", NULL, "10 12TH AVENUE", NULL);
	/* Numbers. */
	CHECK_STR(norm("12B Oak St", NULL), "OAK ST");
	CHECK_STR(a.number, "12B");
	CHECK_STR(norm("Oak St", NULL), "OAK ST");
	CHECK_STR(a.number, "");
	CHECK_STR(norm("100", NULL), "100");
	CHECK_STR(a.number, "");
	CHECK_STR(norm(NULL, NULL), "");
	/* Bounded: a huge line is cut, never overflows. */
	{
		char big[4000];
		memset(big, 'A', sizeof big - 1);
		big[sizeof big - 1] = 0;
		for (int i = 50; i < 3990; i += 50)
			big[i] = ' ';
		norm(big, big);
		CHECK(strlen(a.norm) < IW_ADDR_NORM_MAX);
		CHECK(strlen(a.norm) > 100);
	}
	/* Units and directionals: compatibility. */
	CHECK_STR(iw_ercot_address_unit("ELM ST UNIT 210"), "210");
	CHECK_STR(iw_ercot_address_unit("ELM ST"), "");
	CHECK_INT(iw_ercot_address_street_len("ELM ST UNIT 210"), 6);
	CHECK_INT(iw_ercot_address_street_len("ELM ST"), 6);
	CHECK_INT(iw_ercot_address_street_len("UNIT 4"), 0);
	CHECK(iw_ercot_address_compatible("N MAIN ST UNIT 4", "N MAIN ST UNIT 4"));
	CHECK(iw_ercot_address_compatible("MAIN ST", "N MAIN ST"));
	CHECK(!iw_ercot_address_compatible("S MAIN ST", "N MAIN ST"));
	CHECK(!iw_ercot_address_compatible("HWY 290 W", "HWY 290 E"));
	CHECK(!iw_ercot_address_compatible("N MAIN ST UNIT 4", "N MAIN ST UNIT 5"));
	CHECK(!iw_ercot_address_compatible("N MAIN ST", "N MAIN ST UNIT 5"));
	/* Names: the same words, a missing type, a typo; not another word. */
	CHECK(iw_ercot_address_compatible("MOCKING BIRD LN", "MOCKINGBIRD LN"));
	CHECK(iw_ercot_address_compatible("NE ELM", "ELM ST"));
	CHECK(iw_ercot_address_compatible("OAK CRK", "OAK CRK DR"));
	CHECK(iw_ercot_address_compatible("JEFERSON ST", "JEFFERSON ST"));
	CHECK(iw_ercot_address_compatible("JEFFERSEN ST", "JEFFERSON ST"));
	CHECK(!iw_ercot_address_compatible("JEFFERSON FRST DR", "JEFFERSON HL DR"));
	CHECK(!iw_ercot_address_compatible("OAK CRK DR", "OAK HOLW DR"));
	CHECK(!iw_ercot_address_compatible("ELM ST", "ELM DR"));
	CHECK(!iw_ercot_address_compatible("WASHINGTON ST", "WASHINGTON PARK ST"));
	CHECK(!iw_ercot_address_compatible("OAK ST", "LIVE OAK ST"));
	CHECK(!iw_ercot_address_compatible("ELM ST", "ELK ST"));
	CHECK(iw_ercot_address_compatible("AVE N", "AVE N"));
	CHECK(!iw_ercot_address_compatible("AVE N", "AVE S"));
	CHECK(iw_ercot_address_compatible("FM 1960 W", "FM 1960"));
	return unit_report("ercot_address");
}
