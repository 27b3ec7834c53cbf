#include "core/xml.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8_fix.h"

static int starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

static const char *past(const char *p, const char *end, const char *pat)
{
	const char *q = memmem(p, end - p, pat, strlen(pat));
	return q ? q + strlen(pat) : NULL;
}

/* The next markup at or after P; -1 when none or unterminated. */
int iw_xml_next_tag(const char *p, const char *end, struct iw_xml_tag *t)
{
	const char *lt = memchr(p, '<', end - p), *q, *name;
	char quote = 0;
	int closing = 0;

	if (!lt)
		return -1;
	t->begin = lt;
	t->kind = IW_XML_OTHER;
	t->local = NULL;
	t->local_len = 0;
	if (starts(lt, end, "<!--"))
		q = past(lt + 4, end, "-->");
	else if (starts(lt, end, "<![CDATA["))
		q = past(lt + 9, end, "]]>");
	else if (starts(lt, end, "<?"))
		q = past(lt + 2, end, "?>");
	else if (starts(lt, end, "<!"))
		q = past(lt + 2, end, ">");
	else
		q = NULL;
	if (q || starts(lt, end, "<!") || starts(lt, end, "<?")) {
		t->end = q;
		return q ? 0 : -1;
	}
	q = lt + 1;
	if (q < end && *q == '/') {
		closing = 1;
		q++;
	}
	name = q;
	while (q < end && !isspace((unsigned char)*q) && *q != '>' && *q != '/')
		q++;
	t->local = name;
	t->local_len = (size_t)(q - name);
	for (const char *c = name; c < q; c++) {
		if (*c == ':') {
			t->local = c + 1;
			t->local_len = (size_t)(q - c - 1);
		}
	}
	for (; q < end; q++) {
		if (quote) {
			if (*q == quote)
				quote = 0;
		} else if (*q == '"' || *q == '\'') {
			quote = *q;
		} else if (*q == '>') {
			break;
		}
	}
	if (q >= end)
		return -1;
	t->kind = closing ? IW_XML_END : (q[-1] == '/' ? IW_XML_EMPTY : IW_XML_START);
	t->end = q + 1;
	return 0;
}

int iw_xml_is_named(const struct iw_xml_tag *t, const char *local)
{
	return t->local && t->local_len == strlen(local) &&
	       strncasecmp(t->local, local, t->local_len) == 0;
}

/* Finds the first element named LOCAL (any prefix, any case) in [P, END):
 * its content range and the position after it. */
int iw_xml_find_element(const char *p, const char *end, const char *local,
			const char **in_begin, const char **in_end, const char **after)
{
	struct iw_xml_tag t;
	int depth;

	while (iw_xml_next_tag(p, end, &t) == 0) {
		p = t.end;
		if (!iw_xml_is_named(&t, local) || (t.kind != IW_XML_START && t.kind != IW_XML_EMPTY))
			continue;
		*in_begin = t.end;
		if (t.kind == IW_XML_EMPTY) {
			*in_end = *after = t.end;
			return 0;
		}
		for (depth = 1; iw_xml_next_tag(p, end, &t) == 0; p = t.end) {
			if (!iw_xml_is_named(&t, local))
				continue;
			if (t.kind == IW_XML_START)
				depth++;
			else if (t.kind == IW_XML_END && --depth == 0) {
				*in_end = t.begin;
				*after = t.end;
				return 0;
			}
		}
		return -1;
	}
	return -1;
}

/* Decodes the entity at P (which is '&'); returns its length, 0 if unknown. */
static size_t entity(const char *p, const char *end, char *o, size_t *olen)
{
	static const struct { const char *name; char c; } named[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	const char *semi;
	unsigned long cp;
	char *stop;
	/* A character reference is short: looking further for its ';' would make
	 * text full of "&#" quadratic. */
	size_t room = (size_t)(end - p) < 13 ? (size_t)(end - p) : 13;

	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		if (starts(p, end, named[i].name)) {
			o[0] = named[i].c;
			*olen = 1;
			return strlen(named[i].name);
		}
	}
	if (!starts(p, end, "&#") || !(semi = memchr(p, ';', room)))
		return 0;
	if (p[2] == 'x' || p[2] == 'X')
		cp = strtoul(p + 3, &stop, 16);
	else
		cp = strtoul(p + 2, &stop, 10);
	if (stop != semi || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*olen = iw_utf8_put(o, cp);
	return (size_t)(semi - p) + 1;
}

/* The text of [P, END): CDATA kept, entities decoded, markup dropped, trimmed. */
char *iw_xml_text_of(const char *p, const char *end)
{
	char *out = malloc((size_t)(end - p) + 1), *o = out, *s;
	struct iw_xml_tag t;
	size_t n, olen;

	if (!out)
		return NULL;
	while (p < end) {
		if (*p == '<') {
			if (starts(p, end, "<![CDATA[")) {
				const char *close = memmem(p + 9, end - p - 9, "]]>", 3);
				if (!close)
					break;
				memcpy(o, p + 9, (size_t)(close - p - 9));
				o += close - p - 9;
				p = close + 3;
			} else if (iw_xml_next_tag(p, end, &t) == 0) {
				p = t.end;
			} else {
				break;
			}
		} else if (*p == '&' && (n = entity(p, end, o, &olen)) > 0) {
			o += olen;
			p += n;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	while (o > out && isspace((unsigned char)o[-1]))
		*--o = '\0';
	for (s = out; isspace((unsigned char)*s); s++)
		;
	if (s != out)
		memmove(out, s, strlen(s) + 1);
	return out;
}

/* The text of the first LOCAL element in [P, END), or NULL. */
char *iw_xml_child_text(const char *p, const char *end, const char *local)
{
	const char *b, *e, *after;

	if (iw_xml_find_element(p, end, local, &b, &e, &after))
		return NULL;
	return iw_xml_text_of(b, e);
}
