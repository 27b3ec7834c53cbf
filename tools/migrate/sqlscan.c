/* Finds the tables a migration script creates, drops and renames, so `status`
 * can tell when a migration recorded as applied is missing its tables (drift).
 * A small tokenizer: comments and string literals are skipped, dollar-quoted
 * bodies (DO blocks with guarded renames) are read like the rest. */
#include "migrate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum tok_kind { TOK_WORD, TOK_QUOTED, TOK_PUNCT };

struct tok {
	enum tok_kind	 kind;
	char		*text;	/* WORD lowercased; QUOTED unescaped */
};

struct toks {
	struct tok	*v;
	size_t		 n, cap;
};

static int
is_ident_start(unsigned char c)
{
	return isalpha(c) || c == '_' || c >= 0x80;
}

static int
is_ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static int
push(struct toks *t, enum tok_kind kind, const char *s, size_t len)
{
	char *text;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		struct tok *nv = realloc(t->v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	if (!(text = malloc(len + 1)))
		return -1;
	if (kind == TOK_QUOTED) {	/* "" inside a quoted identifier is one " */
		size_t o = 0;
		for (size_t i = 0; i < len; i++) {
			text[o++] = s[i];
			if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
				i++;
		}
		text[o] = '\0';
	} else {
		for (size_t i = 0; i < len; i++)
			text[i] = kind == TOK_WORD ? (char)tolower((unsigned char)s[i]) : s[i];
		text[len] = '\0';
	}
	t->v[t->n].kind = kind;
	t->v[t->n].text = text;
	t->n++;
	return 0;
}

static void
toks_free(struct toks *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
}

/* Length of a dollar-quote delimiter ($$ or $tag$) at P, or 0. */
static size_t
dollar_delim(const char *p, const char *end)
{
	const char *q = p + 1;

	if (q < end && *q == '$')
		return 2;
	if (q >= end || !(isalpha((unsigned char)*q) || *q == '_'))
		return 0;
	while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
		q++;
	return q < end && *q == '$' ? (size_t)(q - p) + 1 : 0;
}

static int
tokenize(const char *sql, size_t len, struct toks *t)
{
	const char *p = sql, *end = sql + len;

	while (p < end) {
		unsigned char c = (unsigned char)*p;

		if (isspace(c)) {
			p++;
		} else if (c == '-' && p + 1 < end && p[1] == '-') {
			while (p < end && *p != '\n')
				p++;
		} else if (c == '/' && p + 1 < end && p[1] == '*') {
			int depth = 0;	/* SQL block comments nest */
			do {
				if (p + 1 < end && p[0] == '/' && p[1] == '*') {
					depth++;
					p += 2;
				} else if (p + 1 < end && p[0] == '*' && p[1] == '/') {
					depth--;
					p += 2;
				} else {
					p++;
				}
			} while (p < end && depth > 0);
		} else if (c == '\'' || ((c == 'e' || c == 'E') && p + 1 < end && p[1] == '\'' &&
		    (p == sql || !is_ident_char((unsigned char)p[-1])))) {
			int esc = c != '\'';	/* E'..' strings take backslash escapes */
			p += esc ? 2 : 1;
			while (p < end) {
				if (esc && *p == '\\' && p + 1 < end) {
					p += 2;
				} else if (*p == '\'') {
					if (p + 1 < end && p[1] == '\'') {
						p += 2;
					} else {
						p++;
						break;
					}
				} else {
					p++;
				}
			}
		} else if (c == '"') {
			const char *s = ++p;
			while (p < end && !(*p == '"' && !(p + 1 < end && p[1] == '"')))
				p += *p == '"' ? 2 : 1;
			if (push(t, TOK_QUOTED, s, (size_t)(p - s)) != 0)
				return -1;
			if (p < end)
				p++;
		} else if (c == '$') {
			size_t d = dollar_delim(p, end);
			p += d ? d : 1;	/* a body is tokenized like the rest */
			while (!d && p < end && isdigit((unsigned char)*p))
				p++;	/* $1 */
		} else if (is_ident_start(c)) {
			const char *s = p;
			while (p < end && is_ident_char((unsigned char)*p))
				p++;
			if (push(t, TOK_WORD, s, (size_t)(p - s)) != 0)
				return -1;
		} else if (isdigit(c)) {
			while (p < end && (isalnum((unsigned char)*p) || *p == '.'))
				p++;
		} else {
			if (push(t, TOK_PUNCT, p, 1) != 0)
				return -1;
			p++;
		}
	}
	return 0;
}

static int
is_word(const struct toks *t, size_t i, const char *w)
{
	return i < t->n && t->v[i].kind == TOK_WORD && strcmp(t->v[i].text, w) == 0;
}

static int
is_punct(const struct toks *t, size_t i, char c)
{
	return i < t->n && t->v[i].kind == TOK_PUNCT && t->v[i].text[0] == c;
}

static int
is_ident(const struct toks *t, size_t i)
{
	return i < t->n && (t->v[i].kind == TOK_WORD || t->v[i].kind == TOK_QUOTED);
}

/* A possibly schema-qualified table name at *I; its name in public, or NULL
 * (another schema, or no name). Advances *I past it either way. */
static const char *
qname(const struct toks *t, size_t *i)
{
	const char *schema, *name;

	if (!is_ident(t, *i))
		return NULL;
	if (is_punct(t, *i + 1, '.') && is_ident(t, *i + 2)) {
		schema = t->v[*i].text;
		name = t->v[*i + 2].text;
		*i += 3;
		return strcmp(schema, "public") == 0 ? name : NULL;
	}
	name = t->v[*i].text;
	*i += 1;
	return name;
}

/* Skips the optional words W1 W2 W3 (NULL-terminated) when all are present. */
static void
skip_words(const struct toks *t, size_t *i, const char *w1, const char *w2, const char *w3)
{
	if (!is_word(t, *i, w1) || !is_word(t, *i + 1, w2))
		return;
	if (w3 && !is_word(t, *i + 2, w3))
		return;
	*i += w3 ? 3 : 2;
}

int
mig_scan_tables(const char *sql, size_t len, mig_table_cb cb, void *arg)
{
	struct toks t = { 0 };
	const char *name;
	int rc = -1;

	if (tokenize(sql, len, &t) != 0)
		goto out;
	rc = 0;
	for (size_t i = 0; i < t.n && rc == 0; i++) {
		size_t j = i + 1;

		if (is_word(&t, i, "create")) {
			int temp = 0;
			if (is_word(&t, j, "global") || is_word(&t, j, "local"))
				j++;
			if (is_word(&t, j, "temp") || is_word(&t, j, "temporary"))
				temp = 1, j++;
			else if (is_word(&t, j, "unlogged"))
				j++;
			if (!is_word(&t, j, "table"))
				continue;
			j++;
			skip_words(&t, &j, "if", "not", "exists");
			if ((name = qname(&t, &j)) && !temp)
				rc = cb(MIG_TABLE_CREATE, name, NULL, arg);
		} else if (is_word(&t, i, "drop") && is_word(&t, j, "table")) {
			j++;
			skip_words(&t, &j, "if", "exists", NULL);
			do {
				if ((name = qname(&t, &j)) && rc == 0)
					rc = cb(MIG_TABLE_DROP, name, NULL, arg);
			} while (is_punct(&t, j, ',') && ++j);
		} else if (is_word(&t, i, "alter") && is_word(&t, j, "table")) {
			j++;
			skip_words(&t, &j, "if", "exists", NULL);
			if (is_word(&t, j, "only"))
				j++;
			name = qname(&t, &j);
			if (name && is_word(&t, j, "rename") && is_word(&t, j + 1, "to") &&
			    is_ident(&t, j + 2))
				rc = cb(MIG_TABLE_RENAME, name, t.v[j + 2].text, arg);
		}
	}
out:
	toks_free(&t);
	return rc;
}
