#include "web/form.h"

#include <stdlib.h>
#include <string.h>

#include "core/mime.h"
#include "web/serve.h"

int iw_form_read(struct iw_request *req, struct iw_response *resp, size_t max, char **out)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (req->content_length > (long long)max)
		return iw_error(resp, 413, "payload_too_large", "body: larger than %zu bytes", max);
	if (!iw_mime_is(req->content_type, "application/x-www-form-urlencoded"))
		return iw_error(resp, 415, "invalid_request",
				"body: Content-Type must be application/x-www-form-urlencoded");
	if ((rc = iw_body_read_all(req, resp, max, &buf, &len)) != 0)
		return rc;
	if (strlen(buf) != len) {
		free(buf);
		return iw_error(resp, 400, "invalid_request", "body: NUL byte in a form");
	}
	*out = buf;
	return 0;
}

int iw_form_dup(const char *form, const char *key, size_t max, char **out)
{
	int r;

	if (!(*out = malloc(max + 1)))
		return -2;
	if ((r = iw_form_get(form, key, *out, max + 1)) <= 0) {
		free(*out);
		*out = NULL;
		return r < 0 ? -1 : 0;
	}
	return 0;
}
