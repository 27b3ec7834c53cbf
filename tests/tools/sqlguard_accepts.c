/* Prints, one per line as hex, the statement iw_sqlguard_check keeps from
 * each file named on the command line that it accepts (for the differential
 * check tests/fuzz/sqlguard_diff.mjs against the Postgres parser). */
#include <stdio.h>
#include <stdlib.h>
#include "explorer/sqlguard.h"

int main(int argc, char **argv)
{
	static char buf[IW_SQLGUARD_MAX + 2];

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n, len = 0;
		char why[256];
		if (!f)
			continue;
		n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		if (iw_sqlguard_check(buf, &len, why, sizeof why) != 0)
			continue;
		printf("%s ", argv[i]);
		for (size_t k = 0; k < len; k++)
			printf("%02x", (unsigned char)buf[k]);
		putchar('\n');
	}
	return 0;
}
