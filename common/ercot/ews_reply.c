/* The EWS reply: a SOAP envelope whose payload lists the reports (possibly
 * compressed: base64 of gzip'd XML), or a fault. */
#include "ercot/ews.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/xml.h"

#define MAX_REPORTS    100000
#define FAULT_MAX      512

void iw_ews_reports_free(struct iw_ews_report *r, size_t n)
{
	if (!r)
		return;
	for (size_t i = 0; i < n; i++) {
		free(r[i].filename);
		free(r[i].created);
		free(r[i].url);
	}
	free(r);
}

static int parse_reports(const char *p, const char *end, struct iw_ews_report **out,
			 size_t *n, char *err, size_t errlen)
{
	struct iw_ews_report *list = NULL, *grown, *r;
	size_t count = 0, cap = 0;
	const char *b, *e, *after;
	char *size, *stop;

	while (iw_xml_find_element(p, end, "Report", &b, &e, &after) == 0) {
		p = after;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			if (ncap > MAX_REPORTS || !(grown = realloc(list, ncap * sizeof *list)))
				goto fail;
			list = grown;
			cap = ncap;
		}
		r = &list[count];
		memset(r, 0, sizeof *r);
		r->url = iw_xml_child_text(b, e, "URL");
		if (!r->url || !*r->url) {
			free(r->url);               /* nothing to download: skip it */
			continue;
		}
		count++;
		r->filename = iw_xml_child_text(b, e, "fileName");
		r->created = iw_xml_child_text(b, e, "created");
		if ((!r->filename && !(r->filename = strdup(""))) ||
		    (!r->created && !(r->created = strdup(""))))
			goto fail;
		r->size = -1;
		if ((size = iw_xml_child_text(b, e, "size"))) {
			long long v = strtoll(size, &stop, 10);
			if (*size && !*stop && v >= 0)
				r->size = v;
			free(size);
		}
	}
	*out = list;
	*n = count;
	return 0;
fail:
	iw_errf(err, errlen, "out of memory (or over %d reports)", MAX_REPORTS);
	iw_ews_reports_free(list, count);
	return -1;
}

int iw_ews_parse_reply(const char *xml, size_t len, struct iw_ews_report **out,
		       size_t *n, char *err, size_t errlen)
{
	const char *end = xml + len, *b, *e, *after;
	char *text, *code;
	int rc;

	*out = NULL;
	*n = 0;
	if (iw_xml_find_element(xml, end, "Fault", &b, &e, &after) == 0) {
		if (!(text = iw_xml_child_text(b, e, "faultstring")))
			text = iw_xml_text_of(b, e);
		iw_errf(err, errlen, "EWS fault: %.*s", FAULT_MAX, text ? text : "(no text)");
		free(text);
		return -1;
	}
	if ((code = iw_xml_child_text(xml, end, "ReplyCode"))) {
		if (strcasecmp(code, "ERROR") == 0 || strcasecmp(code, "FATAL") == 0) {
			text = iw_xml_child_text(xml, end, "Error");
			iw_errf(err, errlen, "EWS reply %s: %.*s", code, FAULT_MAX,
				text && *text ? text : "(no error text)");
			free(text);
			free(code);
			return -1;
		}
		free(code);
	}
	if (iw_xml_find_element(xml, end, "Compressed", &b, &e, &after) == 0) {
		/* Payload/Compressed: base64 of a gzip'd XML payload. */
		unsigned char *raw;
		size_t raw_len = 0, plain_len = 0;
		char *plain;

		if (!(text = iw_xml_text_of(b, e)) ||
		    !(raw = iw_base64_decode(text, strlen(text), &raw_len))) {
			free(text);
			iw_errf(err, errlen, "EWS reply: compressed payload is not base64");
			return -1;
		}
		free(text);
		plain = iw_inflate_all(raw, raw_len, IW_EWS_MAX_INFLATED, &plain_len);
		free(raw);
		if (!plain) {
			iw_errf(err, errlen, "EWS reply: compressed payload does not inflate");
			return -1;
		}
		rc = parse_reports(plain, plain + plain_len, out, n, err, errlen);
		free(plain);
		return rc;
	}
	if (iw_xml_find_element(xml, end, "ResponseMessage", &b, &e, &after) != 0 &&
	    iw_xml_find_element(xml, end, "Reports", &b, &e, &after) != 0) {
		iw_errf(err, errlen, "EWS reply holds no ResponseMessage");
		return -1;
	}
	return parse_reports(xml, end, out, n, err, errlen);
}
