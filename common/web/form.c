#include "web/form.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/serve.h"

static int is_form_type(const char *ct)
{
	size_t n = strcspn(ct, ";");

	while (n > 0 && ct[n - 1] == ' ')
		n--;
	return n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

int iw_form_read(struct iw_request *req, struct iw_response *resp, size_t max, char **out)
{
	char *buf;
	size_t len = 0;

	*out = NULL;
	if (req->content_length > (long long)max)
		return iw_error(resp, 413, "payload_too_large", "body: larger than %zu bytes", max);
	if (!is_form_type(req->content_type))
		return iw_error(resp, 415, "invalid_request",
				"body: Content-Type must be application/x-www-form-urlencoded");
	if (!(buf = malloc(max + 2)))
		return iw_error(resp, 500, "internal_error", "out of memory");
	for (;;) {
		long n = iw_body_read(req, buf + len, max + 1 - len);
		if (n < 0) {
			free(buf);
			return iw_error(resp, 400, "invalid_request", "body: could not be read");
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			free(buf);
			return iw_error(resp, 413, "payload_too_large", "body: larger than %zu bytes", max);
		}
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		free(buf);
		return iw_error(resp, 400, "invalid_request", "body: NUL byte in a form");
	}
	*out = buf;
	return 0;
}
