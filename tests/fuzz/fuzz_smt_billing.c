/* SMT billing / daily read CSV (smt/billing.c), parse only (no database). */
#include <sys/mman.h>
#include <unistd.h>
#include "fuzz.h"
#include "smt/billing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iw_smt_billing_stats st;
	struct iw_smt_billing_file f = { .raw_file_id = 1, .filename = "fuzz.csv",
					 .source = "fuzz" };
	char err[256];
	int fd = memfd_create("fuzz_billing", 0);

	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	f.fd = fd;
	if (size && data[0] == 'E')
		f.esiid = "10443720000000001";
	iw_smt_billing_load(NULL, &f, &st, err, sizeof err);
	close(fd);
	return 0;
}
