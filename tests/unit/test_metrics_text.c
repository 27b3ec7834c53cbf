/* GET /metrics building blocks: the Prometheus text writer (label escapes,
 * values) and the stub_status parser; the coverage date check. */
#include <stdlib.h>

#include "core/buf.h"
#include "usage/coverage.h"
#include "web/nginx_status.h"
#include "core/prom.h"
#include "unit.h"

int main(void)
{
	struct iw_buf b = { 0 };
	struct iw_nginx_status s;
	size_t len;
	char *text;

	iw_prom_family(&b, "x_total", "counter", "Things.");
	iw_prom_sample(&b, "x_total", "tdsp", "A\"B\\C\nD", 3);
	iw_prom_sample(&b, "x_total", NULL, NULL, 1764412800.25);
	iw_prom_sample(&b, "x_total", "k", "", 9007199254740991.0);
	text = iw_buf_take(&b, &len);
	CHECK_STR(text, "# HELP x_total Things.\n# TYPE x_total counter\n"
			"x_total{tdsp=\"A\\\"B\\\\C\\nD\"} 3\n"
			"x_total 1764412800.25\n"
			"x_total{k=\"\"} 9007199254740991\n");
	free(text);

	CHECK_INT(iw_nginx_status_parse("Active connections: 3 \nserver accepts handled requests\n"
					" 10 9 42 \nReading: 1 Writing: 2 Waiting: 0 \n", &s), 0);
	CHECK_INT(s.active, 3);
	CHECK_INT(s.accepts, 10);
	CHECK_INT(s.handled, 9);
	CHECK_INT(s.requests, 42);
	CHECK_INT(s.reading, 1);
	CHECK_INT(s.writing, 2);
	CHECK_INT(s.waiting, 0);
	CHECK_INT(iw_nginx_status_parse("<html>502 Bad Gateway</html>", &s), -1);
	CHECK_INT(iw_nginx_status_parse("Active connections: 3\n", &s), -1);

	CHECK_INT(iw_cov_date_valid("2024-02-29"), 0);
	CHECK_INT(iw_cov_date_valid("2023-02-29"), -1);
	CHECK_INT(iw_cov_date_valid("2024-13-01"), -1);
	CHECK_INT(iw_cov_date_valid("2024-1-011"), -1);
	CHECK_INT(iw_cov_date_valid("2024-01-01 "), -1);
	CHECK_INT(iw_cov_date_valid("+024-01-01"), -1);
	return unit_report("metrics_text");
}
