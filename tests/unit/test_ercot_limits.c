/* The ERCOT transfer bounds (ercot/config.c iw_ercot_http_limits): defaults,
 * lowered by their settings, a raise or a bad value keeps the default. */
#include <stdlib.h>

#include "core/config.h"
#include "ercot/config.h"
#include "ercot/ingest.h"
#include "unit.h"

static void check_defaults(const struct iw_ercot_http_limits *l)
{
	CHECK_INT(l->connect_ms, IW_ERCOT_CONNECT_MS);
	CHECK_INT(l->list_ms, IW_ERCOT_LIST_MS);
	CHECK_INT(l->download_ms, IW_ERCOT_DOWNLOAD_MS);
	CHECK_INT(l->low_speed_bytes, 1024);
	CHECK_INT(l->low_speed_s, 60);
	CHECK_INT(l->download_max, 8LL << 30);
}

int main(void)
{
	struct iw_ercot_http_limits l;

	CHECK_INT(iw_config_load(), 0);
	iw_ercot_http_limits(&l);
	check_defaults(&l);
	iw_config_free();

	setenv("ERCOT_HTTP_CONNECT_TIMEOUT_MS", "1000", 1);
	setenv("ERCOT_HTTP_TIMEOUT_MS", "1500", 1);
	setenv("ERCOT_DOWNLOAD_TIMEOUT_MS", "4000", 1);
	setenv("ERCOT_LOW_SPEED_BYTES", "4096", 1);   /* a higher floor is stricter: taken */
	setenv("ERCOT_LOW_SPEED_SECONDS", "2", 1);
	setenv("ERCOT_DOWNLOAD_MAX_BYTES", "33554432", 1);
	CHECK_INT(iw_config_load(), 0);
	iw_ercot_http_limits(&l);
	CHECK_INT(l.connect_ms, 1000);
	CHECK_INT(l.list_ms, 1500);
	CHECK_INT(l.download_ms, 4000);
	CHECK_INT(l.low_speed_bytes, 4096);
	CHECK_INT(l.low_speed_s, 2);
	CHECK_INT(l.download_max, 33554432);
	iw_config_free();

	/* Raised past the default, zero, or not a number: the default. */
	setenv("ERCOT_HTTP_CONNECT_TIMEOUT_MS", "600000", 1);
	setenv("ERCOT_HTTP_TIMEOUT_MS", "0", 1);
	setenv("ERCOT_DOWNLOAD_TIMEOUT_MS", "soon", 1);
	setenv("ERCOT_LOW_SPEED_BYTES", "0", 1);
	setenv("ERCOT_LOW_SPEED_SECONDS", "3600", 1);
	setenv("ERCOT_DOWNLOAD_MAX_BYTES", "17179869184", 1);
	CHECK_INT(iw_config_load(), 0);
	iw_ercot_http_limits(&l);
	check_defaults(&l);
	iw_config_free();
	return unit_report("ercot_limits");
}
