/* The links of the ERCOT data-product page (ERCOT_PAGE_URL, SPEC §6 method 3
 * fallback). The page comes from upstream and may be hostile: the scan is one
 * pass, each byte looked at a bounded number of times (a tag's attributes are
 * read once, a link's text ends at "</a" or at the next "<a"), the page is
 * capped at IW_ERCOT_PAGE_MAX bytes and the links it may offer at
 * IW_ERCOT_OFFERS_MAX. */
#include "ercot/mis.h"
#include "io/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "core/config.h"

#define PAGE_URL_MAX  2048
#define PAGE_TEXT_MAX 300

/* Decodes the few entities an href or a link text carries, in place. */
static void unescape(char *s)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&#38;", '&' }, { "&quot;", '"' }, { "&#39;", '\'' },
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&#x2F;", '/' }, { "&#47;", '/' },
	};
	char *w = s;
	while (*s) {
		int hit = 0;
		for (size_t i = 0; *s == '&' && i < sizeof ents / sizeof ents[0]; i++) {
			size_t l = strlen(ents[i].ent);
			if (!strncasecmp(s, ents[i].ent, l)) {
				*w++ = ents[i].c;
				s += l;
				hit = 1;
				break;
			}
		}
		if (!hit)
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

/* "<a" followed by white space at P (not <abbr>, <area>, </a>). */
static int anchor_at(const char *p, const char *end)
{
	return end - p >= 3 && p[0] == '<' && (p[1] == 'a' || p[1] == 'A') &&
	       isspace((unsigned char)p[2]);
}

/* Reads the attributes of a tag from P (after its name) to its '>', each
 * byte once; the first href attribute's value (quotes removed) goes to
 * *HREF / *HLEN (NULL when none: data-href= or a value holding "href" do not
 * count). Returns the position after the '>', or NULL when the tag does not
 * end before END (a browser drops it too). */
static const char *scan_tag(const char *p, const char *end, const char **href, size_t *hlen)
{
	*href = NULL;
	*hlen = 0;
	while (p < end) {
		const char *name, *v;
		size_t nlen, vlen;

		if (isspace((unsigned char)*p) || *p == '/') {
			p++;
			continue;
		}
		if (*p == '>')
			return p + 1;
		name = p;
		while (p < end && !isspace((unsigned char)*p) && *p != '=' && *p != '>' && *p != '/')
			p++;
		nlen = (size_t)(p - name);
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p >= end || *p != '=') {
			if (!nlen)
				p++;
			continue;
		}
		p++;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p < end && (*p == '"' || *p == '\'')) {
			const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));
			if (!close)
				return NULL;
			v = p + 1;
			vlen = (size_t)(close - v);
			p = close + 1;
		} else {
			v = p;
			while (p < end && !isspace((unsigned char)*p) && *p != '>')
				p++;
			vlen = (size_t)(p - v);
		}
		if (!*href && nlen == 4 && !strncasecmp(name, "href", 4)) {
			*href = v;
			*hlen = vlen;
		}
	}
	return NULL;
}

/* The link text from P, tags inside it left out, into TEXT: it ends at "</a"
 * or at the next "<a " (anchors do not nest). Returns where it stopped. */
static const char *link_text(const char *p, const char *end, char *text, size_t len)
{
	size_t n = 0;

	while (p < end) {
		if (*p == '<') {
			const char *gt;
			if ((end - p >= 3 && p[1] == '/' && (p[2] == 'a' || p[2] == 'A')) || anchor_at(p, end))
				break;
			if (!(gt = memchr(p, '>', (size_t)(end - p))))
				return end;
			p = gt + 1;
			continue;
		}
		if (n + 1 < len)
			text[n++] = *p;
		p++;
	}
	text[n] = '\0';
	return p;
}

/* One link: adds it when it names a zip or a mirDownload. 0, or -1 when the
 * document list refused it (out of memory, over a cap). */
static int add_link(const char *h, size_t hl, const char *text_in, const char *page_url,
		    const char *day, const char *tdsp, struct iw_ercot_docs *out)
{
	char href[PAGE_URL_MAX], text[PAGE_TEXT_MAX], url[PAGE_URL_MAX], name[PAGE_TEXT_MAX];
	const char *path_end, *id;
	size_t pl;

	if (hl >= sizeof href)
		return 0; /* longer than any URL we would fetch */
	memcpy(href, h, hl);
	href[hl] = '\0';
	unescape(href);
	trim(href);
	snprintf(text, sizeof text, "%s", text_in);
	unescape(text);
	trim(text);
	path_end = strpbrk(href, "?#");
	pl = path_end ? (size_t)(path_end - href) : strlen(href);
	id = strcasestr(href, "mirDownload?doclookupId=");
	if (!ends_zip(href, pl) && !id)
		return 0;
	if (iw_http_url_resolve(page_url, href, url, sizeof url) != 0)
		return 0;
	if (ends_zip(text, strlen(text)) && !strchr(text, ' ')) {
		snprintf(name, sizeof name, "%s", text);
	} else if (ends_zip(href, pl)) {
		const char *b = href + pl;
		while (b > href && b[-1] != '/')
			b--;
		snprintf(name, sizeof name, "%.*s", (int)(href + pl - b), b);
	} else {
		id += strlen("mirDownload?doclookupId=");
		snprintf(name, sizeof name, "doclookupId_%.*s.zip", (int)strspn(id, "0123456789"), id);
	}
	return iw_ercot_docs_add(out, day, tdsp, name, text[0] ? text : NULL, url, NULL, -1) < 0 ? -1 : 0;
}

int iw_ercot_page_parse(const char *html, const char *page_url, const char *day,
			const char *tdsp, struct iw_ercot_docs *out)
{
	const char *p = html, *end = html + strlen(html);

	while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
		const char *after, *h;
		char text[PAGE_TEXT_MAX];
		size_t hl;

		if (!anchor_at(p, end)) {
			p++;
			continue;
		}
		if (!(after = scan_tag(p + 2, end, &h, &hl)))
			break;
		p = link_text(after, end, text, sizeof text);
		if (h && add_link(h, hl, text, page_url, day, tdsp, out) != 0)
			return -1;
	}
	return 0;
}

int iw_ercot_page_list(const char *day, const char *tdsp, struct iw_ercot_docs *out,
		       char *err, size_t errlen)
{
	const char *page = iw_env("ERCOT_PAGE_URL");
	struct iw_http_got reply;
	int rc;

	if (!page) {
		snprintf(err, errlen, "ERCOT_PAGE_URL is not set");
		return -1;
	}
	if (iw_ercot_http_get_max(page, NULL, NULL, IW_ERCOT_PAGE_MAX, &reply) != 0) {
		snprintf(err, errlen, "ERCOT page: %s", reply.error);
		return -1;
	}
	if (reply.status != 200) {
		snprintf(err, errlen, "ERCOT page answered HTTP %ld", reply.status);
		iw_http_got_free(&reply);
		return -1;
	}
	rc = iw_ercot_page_parse(reply.body, page, day, tdsp, out);
	if (rc)
		snprintf(err, errlen, "ERCOT page: %s", iw_ercot_docs_error(out));
	iw_http_got_free(&reply);
	return rc;
}
