/* Differential property of the SMT CSV parser's clock: iw_smt_chicago_to_utc
 * (hand-written US DST rules) against Debian's tzdata (TZ=America/Chicago,
 * mktime/localtime_r) for every 15-minute local time of 1990-2040.
 * For each wall time the tz database gives 0 instants (spring-forward gap),
 * 1, or 2 (the repeated fall-back hour: CDT first, then CST); the parser must
 * refuse the first, give the one instant for either is_dst, and pick the
 * CDT / CST instant by is_dst for the last. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "unit.h"
#include "smt/csv.h"

/* The instants whose Chicago wall time is Y-M-D H:MI, from tzdata: up to 2,
 * earliest first. */
static int tz_instants(int y, int m, int d, int minute, time_t out[2])
{
	int n = 0;

	for (int dst = 1; dst >= 0; dst--) {
		struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
				 .tm_hour = minute / 60, .tm_min = minute % 60, .tm_isdst = dst };
		struct tm back;
		time_t t = mktime(&tm);
		if (t == (time_t)-1 || !localtime_r(&t, &back))
			continue;
		if (back.tm_year != y - 1900 || back.tm_mon != m - 1 || back.tm_mday != d ||
		    back.tm_hour != minute / 60 || back.tm_min != minute % 60)
			continue; /* mktime normalised a time in the gap */
		if (n == 1 && out[0] == t)
			continue;
		out[n++] = t;
	}
	if (n == 2 && out[1] < out[0]) {
		time_t x = out[0];
		out[0] = out[1];
		out[1] = x;
	}
	return n;
}

int main(void)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long checked = 0, gaps = 0, repeats = 0, bad = 0;

	if (setenv("TZ", "America/Chicago", 1) != 0)
		return 1;
	tzset();
	for (int y = 1990; y <= 2040; y++)
		for (int m = 1; m <= 12; m++) {
			int days = mdays[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
			for (int d = 1; d <= days; d++)
				for (int minute = 0; minute < 24 * 60; minute += 15) {
					time_t want[2];
					int64_t dst_ms = 0, std_ms = 0;
					int n = tz_instants(y, m, d, minute, want);
					int rd = iw_smt_chicago_to_utc(y, m, d, minute, 1, &dst_ms);
					int rs = iw_smt_chicago_to_utc(y, m, d, minute, 0, &std_ms);
					int ok;
					checked++;
					if (n == 0) {
						gaps++;
						ok = rd == -1 && rs == -1;
					} else if (n == 1) {
						ok = rd == 0 && rs == 0 && dst_ms == (int64_t)want[0] * 1000 &&
						     std_ms == (int64_t)want[0] * 1000;
					} else {
						repeats++;
						ok = rd == 0 && rs == 0 && dst_ms == (int64_t)want[0] * 1000 &&
						     std_ms == (int64_t)want[1] * 1000;
					}
					if (!ok && bad++ < 10)
						fprintf(stderr, "FAIL %04d-%02d-%02d %02d:%02d: tz %d instants, "
							"parser dst %d/%lld std %d/%lld\n", y, m, d,
							minute / 60, minute % 60, n, rd, (long long)dst_ms,
							rs, (long long)std_ms);
				}
		}
	CHECK_INT(bad, 0);
	/* 51 years, one spring-forward hour and one repeated hour each. */
	CHECK_INT(gaps, 51 * 4);
	CHECK_INT(repeats, 51 * 4);
	CHECK(checked > 1780000);
	printf("tz diff: %ld local times, %ld in gaps, %ld repeated\n", checked, gaps, repeats);
	return unit_report("smt_tz_diff");
}
