#include "explorer_form.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve.h"

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int iw_form_get(const char *form, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key);

	for (const char *p = form; p && *p;) {
		const char *end = strchr(p, '&');
		size_t seg = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', seg);

		if ((eq ? (size_t)(eq - p) : seg) == klen && strncmp(p, key, klen) == 0) {
			const char *v = eq ? eq + 1 : p + seg, *vend = p + seg;
			size_t o = 0;
			for (; v < vend; v++) {
				int c = (unsigned char)*v, hi, lo;
				if (c == '+') {
					c = ' ';
				} else if (c == '%') {
					if (vend - v < 3 || (hi = hexval(v[1])) < 0 || (lo = hexval(v[2])) < 0)
						return -1;
					c = hi * 16 + lo;
					v += 2;
				}
				if (c == 0 || o + 1 >= outlen)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

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
