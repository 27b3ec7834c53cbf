#include "ercot_mis.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "config.h"

#define ERCOT_URL_MAX  2048
#define ERCOT_TEXT_MAX 300

static const char *doc_str(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static int add_document(json_object *d, const char *base, const char *day, const char *tdsp,
			struct iw_ercot_docs *out)
{
	const char *id = doc_str(d, "DocID"), *cname = doc_str(d, "ConstructedName");
	const char *fname = doc_str(d, "FriendlyName"), *size = doc_str(d, "ContentSize");
	char url[ERCOT_URL_MAX + 128], name[ERCOT_TEXT_MAX];

	if (!id || !*id)
		return 0;
	if (cname && *cname)
		snprintf(name, sizeof name, "%s", cname);
	else
		snprintf(name, sizeof name, "%s_%s.zip", fname ? fname : "doc", id);
	snprintf(url, sizeof url, "%s" IW_ERCOT_MIS_DOWNLOAD "%s", base, id);
	return iw_ercot_docs_add(out, day, tdsp, name, fname, url, doc_str(d, "PublishDate"),
				 size ? atoll(size) : -1) < 0 ? -1 : 0;
}

int iw_ercot_mis_list(const char *day, const char *tdsp, struct iw_ercot_docs *out,
		      char *err, size_t errlen)
{
	char base[ERCOT_URL_MAX], url[ERCOT_URL_MAX + 128];
	struct iw_ercot_reply reply;
	json_object *doc = NULL, *res, *list;
	int rc = -1;

	snprintf(base, sizeof base, "%s", iw_env_or("ERCOT_MIS_BASE", IW_ERCOT_MIS_BASE));
	if (base[0] && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	snprintf(url, sizeof url, "%s" IW_ERCOT_MIS_LIST "%lld", base,
		 iw_env_int("ERCOT_EWS_REPORTTYPE", 203, 1, 99999999));
	if (iw_ercot_http_get(url, NULL, NULL, &reply) != 0) {
		snprintf(err, errlen, "MIS listing: %s", reply.error);
		return -1;
	}
	if (reply.status != 200) {
		snprintf(err, errlen, "MIS listing answered HTTP %ld", reply.status);
		goto out;
	}
	if (!(doc = json_tokener_parse(reply.body)) ||
	    !json_object_object_get_ex(doc, "ListDocsByRptTypeRes", &res) ||
	    !json_object_object_get_ex(res, "DocumentList", &list)) {
		snprintf(err, errlen, "MIS listing: not the expected JSON");
		goto out;
	}
	/* One document may come as an object instead of a one-element list. */
	if (json_object_is_type(list, json_type_object)) {
		json_object *d;
		if (json_object_object_get_ex(list, "Document", &d) &&
		    add_document(d, base, day, tdsp, out) != 0)
			goto oom;
	} else if (json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(list); i++) {
			json_object *e = json_object_array_get_idx(list, i), *d;
			if (e && json_object_object_get_ex(e, "Document", &d) &&
			    add_document(d, base, day, tdsp, out) != 0)
				goto oom;
		}
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	json_object_put(doc);
	iw_ercot_reply_free(&reply);
	return rc;
}

/* Decodes the few entities an href or a link text carries, in place. */
static void unescape(char *s)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&#38;", '&' }, { "&quot;", '"' }, { "&#39;", '\'' },
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&#x2F;", '/' }, { "&#47;", '/' },
	};
	char *w = s;
	while (*s) {
		size_t i, n = sizeof ents / sizeof ents[0];
		for (i = 0; i < n; i++) {
			size_t l = strlen(ents[i].ent);
			if (!strncasecmp(s, ents[i].ent, l)) {
				*w++ = ents[i].c;
				s += l;
				break;
			}
		}
		if (i == n)
			*w++ = *s++;
	}
	*w = '\0';
}

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

static int ends_zip(const char *s, size_t n)
{
	return n >= 4 && !strncasecmp(s + n - 4, ".zip", 4);
}

/* Resolves HREF against the page URL. 0 or -1. */
static int resolve(const char *page, const char *href, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *full = NULL;
	int rc = -1;

	if (!u)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, page, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, href, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK &&
	    (!strncasecmp(full, "http://", 7) || !strncasecmp(full, "https://", 8)) &&
	    strlen(full) < len) {
		strcpy(out, full);
		rc = 0;
	}
	curl_free(full);
	curl_url_cleanup(u);
	return rc;
}

/* The start of the href attribute's value in the tag [P, END), just after
 * its '=': an "href" that begins an attribute, not one inside another
 * attribute's name or value (data-href=, title="href"). */
static const char *href_value(const char *p, const char *end)
{
	for (const char *h = p; (h = strcasestr(h, "href")) && h < end; h += 4) {
		const char *v = h + 4;
		if (!isspace((unsigned char)h[-1]))
			continue;
		while (isspace((unsigned char)*v))
			v++;
		if (*v == '=')
			return v + 1;
	}
	return NULL;
}

int iw_ercot_page_parse(const char *html, const char *page_url, const char *day,
			const char *tdsp, struct iw_ercot_docs *out)
{
	const char *p = html;

	while ((p = strcasestr(p, "<a"))) {
		const char *tag_end = strchr(p, '>'), *h, *close;
		char href[ERCOT_URL_MAX], text[ERCOT_TEXT_MAX], url[ERCOT_URL_MAX], name[ERCOT_TEXT_MAX];
		const char *path_end, *q, *id;
		size_t n = 0, pl;
		char quote = 0;

		if (!tag_end)
			break;
		p += 2;
		if (!isspace((unsigned char)*p)) /* <abbr>, <area>, ... */
			continue;
		if (!(h = href_value(p, tag_end)))
			continue;
		while (isspace((unsigned char)*h))
			h++;
		if (*h == '"' || *h == '\'')
			quote = *h++;
		while (*h && n + 1 < sizeof href && (quote ? *h != quote : !isspace((unsigned char)*h) && *h != '>'))
			href[n++] = *h++;
		href[n] = '\0';
		unescape(href);
		trim(href);
		/* The link text, tags inside it left out. */
		n = 0;
		close = strcasestr(tag_end, "</a");
		for (q = tag_end + 1; close && q < close && n + 1 < sizeof text; q++) {
			if (*q == '<') {
				const char *e = strchr(q, '>');
				if (!e || e > close)
					break;
				q = e;
				continue;
			}
			text[n++] = *q;
		}
		text[n] = '\0';
		unescape(text);
		trim(text);
		p = tag_end + 1;

		path_end = strpbrk(href, "?#");
		pl = path_end ? (size_t)(path_end - href) : strlen(href);
		id = strcasestr(href, "mirDownload?doclookupId=");
		if (!ends_zip(href, pl) && !id)
			continue;
		if (resolve(page_url, href, url, sizeof url) != 0)
			continue;
		if (ends_zip(text, strlen(text)) && !strchr(text, ' '))
			snprintf(name, sizeof name, "%s", text);
		else if (ends_zip(href, pl)) {
			const char *b = href + pl;
			while (b > href && b[-1] != '/')
				b--;
			snprintf(name, sizeof name, "%.*s", (int)(href + pl - b), b);
		} else {
			id += strlen("mirDownload?doclookupId=");
			snprintf(name, sizeof name, "doclookupId_%.*s.zip", (int)strspn(id, "0123456789"), id);
		}
		if (iw_ercot_docs_add(out, day, tdsp, name, text[0] ? text : NULL, url, NULL, -1) < 0)
			return -1;
	}
	return 0;
}

int iw_ercot_page_list(const char *day, const char *tdsp, struct iw_ercot_docs *out,
		       char *err, size_t errlen)
{
	const char *page = iw_env("ERCOT_PAGE_URL");
	struct iw_ercot_reply reply;
	int rc;

	if (!page) {
		snprintf(err, errlen, "ERCOT_PAGE_URL is not set");
		return -1;
	}
	if (iw_ercot_http_get(page, NULL, NULL, &reply) != 0) {
		snprintf(err, errlen, "ERCOT page: %s", reply.error);
		return -1;
	}
	if (reply.status != 200) {
		snprintf(err, errlen, "ERCOT page answered HTTP %ld", reply.status);
		iw_ercot_reply_free(&reply);
		return -1;
	}
	rc = iw_ercot_page_parse(reply.body, page, day, tdsp, out);
	if (rc)
		snprintf(err, errlen, "out of memory");
	iw_ercot_reply_free(&reply);
	return rc;
}

int iw_ercot_plain_download(void *self, const char *url, iw_ercot_sink sink, void *ctx,
			    char *err, size_t errlen)
{
	long status, retry_after;
	(void)self;
	return iw_ercot_http_stream(url, NULL, sink, ctx, &status, &retry_after, err, errlen);
}
