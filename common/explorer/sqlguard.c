#include "explorer/sqlguard.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

#define IW_TOKEN_MAX 64 /* longer words are on no deny list */

enum tok_kind { TOK_END, TOK_WORD, TOK_QIDENT, TOK_STRING, TOK_NUMBER, TOK_PARAM, TOK_CHAR };

struct lexer {
	const char *s;
	size_t pos, len;
	enum tok_kind kind;
	size_t start;            /* offset of the current token */
	char text[IW_TOKEN_MAX]; /* word / identifier, lower-cased (truncated) */
	char *why;
	size_t whylen;
};

/* Refused wherever they appear: data-modifying CTEs, SELECT INTO, utility
 * commands. */
static const char *const deny_words[] = {
	"insert", "update", "delete", "merge", "truncate", "drop", "alter", "create",
	"grant", "revoke", "copy", "call", "vacuum", "listen", "notify", "checkpoint",
	"into", "do", "execute", "prepare",
};

/* Functions whose effects outlive the rolled-back transaction or reach
 * outside the database, or that only hold a worker (sleeps). */
static const char *const deny_functions[] = {
	"pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
	"pg_promote", "pg_switch_wal", "pg_notify", "set_config", "nextval", "setval",
	"pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_read_file", "pg_read_binary_file",
	"pg_stat_file", "pg_import_system_collations", "pg_logical_emit_message",
	"pg_log_backend_memory_contexts", "txid_current", "pg_current_xact_id",
	"query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml",
	"cursor_to_xmlschema", "pg_wal_replay_pause", "pg_wal_replay_resume",
	"pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
	"loread", "lowrite", "ts_stat", "ts_rewrite", /* these two run SQL text too */
};
static const char *const deny_prefixes[] = {
	"lo_", "dblink", "pg_advisory_", "pg_try_advisory_", "pg_ls_", "pg_file_",
	"pg_create_", "pg_drop_", "pg_replication_", "pg_stat_reset", "pg_copy_",
};

#define NELEM(a) (sizeof(a) / sizeof *(a))

static int refuse(struct lexer *lx, const char *fmt, ...) IW_PRINTF(2, 3);
static int refuse(struct lexer *lx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(lx->why, lx->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static int ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int ident_char(int c)
{
	return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static void set_text(struct lexer *lx, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < sizeof lx->text; i++) {
		char c = p[i];
		lx->text[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	lx->text[i] = '\0';
}

/* Skips white space and comments (-- to end of line; nested block comments). */
static int skip_space(struct lexer *lx)
{
	const char *s = lx->s;

	while (lx->pos < lx->len) {
		char c = s[lx->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			lx->pos++;
		} else if (c == '-' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '-') {
			while (lx->pos < lx->len && s[lx->pos] != '\n')
				lx->pos++;
		} else if (c == '/' && lx->pos + 1 < lx->len && s[lx->pos + 1] == '*') {
			int depth = 1;
			lx->pos += 2;
			while (depth > 0) {
				if (lx->pos + 1 >= lx->len)
					return refuse(lx, "unterminated /* comment");
				if (s[lx->pos] == '/' && s[lx->pos + 1] == '*') {
					depth++;
					lx->pos += 2;
				} else if (s[lx->pos] == '*' && s[lx->pos + 1] == '/') {
					depth--;
					lx->pos += 2;
				} else {
					lx->pos++;
				}
			}
		} else {
			break;
		}
	}
	return 0;
}

/* 'text' with '' doubled; BACKSLASH: E'' strings, where \ escapes a byte. */
static int lex_string(struct lexer *lx, int backslash)
{
	lx->pos++; /* opening quote */
	for (;;) {
		if (lx->pos >= lx->len)
			return refuse(lx, "unterminated string literal");
		if (backslash && lx->s[lx->pos] == '\\') {
			lx->pos += 2;
			continue;
		}
		if (lx->s[lx->pos] == '\'') {
			if (lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '\'') {
				lx->pos += 2;
				continue;
			}
			lx->pos++;
			lx->kind = TOK_STRING;
			return 0;
		}
		lx->pos++;
	}
}

static int lex_qident(struct lexer *lx)
{
	size_t n = 0;

	lx->pos++;
	char buf[IW_TOKEN_MAX];

	for (;;) {
		if (lx->pos >= lx->len)
			return refuse(lx, "unterminated quoted identifier");
		if (lx->s[lx->pos] == '"') {
			if (lx->pos + 1 < lx->len && lx->s[lx->pos + 1] == '"') {
				if (n + 1 < sizeof buf)
					buf[n++] = '"';
				lx->pos += 2;
				continue;
			}
			break;
		}
		if (n + 1 < sizeof buf)
			buf[n++] = lx->s[lx->pos];
		lx->pos++;
	}
	lx->pos++;
	set_text(lx, buf, n);
	lx->kind = TOK_QIDENT;
	return 0;
}

/* $tag$ ... $tag$ (the tag may be empty): the opener's length at AT, or 0. */
static int dollar_tag_len(const struct lexer *lx, size_t at)
{
	size_t i = at + 1;

	if (i < lx->len && lx->s[i] == '$')
		return 2;
	if (i >= lx->len || !ident_start((unsigned char)lx->s[i]))
		return 0;
	while (i < lx->len && ident_char((unsigned char)lx->s[i]) && lx->s[i] != '$')
		i++;
	return i < lx->len && lx->s[i] == '$' ? (int)(i + 1 - at) : 0;
}

static int lex_dollar(struct lexer *lx, size_t tag)
{
	const char *open = lx->s + lx->pos;

	lx->pos += tag;
	for (;;) {
		if (lx->pos + tag > lx->len)
			return refuse(lx, "unterminated dollar-quoted string");
		if (memcmp(lx->s + lx->pos, open, tag) == 0) {
			lx->pos += tag;
			lx->kind = TOK_STRING;
			return 0;
		}
		lx->pos++;
	}
}

static int next(struct lexer *lx)
{
	const char *s = lx->s;
	unsigned char c;

	if (skip_space(lx) != 0)
		return -1;
	lx->start = lx->pos;
	lx->text[0] = '\0';
	if (lx->pos >= lx->len) {
		lx->kind = TOK_END;
		return 0;
	}
	c = (unsigned char)s[lx->pos];
	if (c == '\'')
		return lex_string(lx, 0);
	if ((c == 'e' || c == 'E') && lx->pos + 1 < lx->len && s[lx->pos + 1] == '\'') {
		lx->pos++;
		return lex_string(lx, 1);
	}
	if ((c == 'u' || c == 'U') && lx->pos + 2 < lx->len && s[lx->pos + 1] == '&') {
		if (s[lx->pos + 2] == '"')
			return refuse(lx, "U&\"...\" identifiers are not accepted here");
		if (s[lx->pos + 2] == '\'') {
			lx->pos += 2;
			return lex_string(lx, 0);
		}
	}
	if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') &&
	    lx->pos + 1 < lx->len && s[lx->pos + 1] == '\'') {
		lx->pos++;
		return lex_string(lx, 0);
	}
	if (c == '"')
		return lex_qident(lx);
	if (c == '$') {
		int tag = dollar_tag_len(lx, lx->pos);
		if (tag > 0)
			return lex_dollar(lx, (size_t)tag);
		lx->pos++;
		while (lx->pos < lx->len && s[lx->pos] >= '0' && s[lx->pos] <= '9')
			lx->pos++;
		lx->kind = TOK_PARAM;
		return 0;
	}
	if (ident_start(c)) {
		while (lx->pos < lx->len && ident_char((unsigned char)s[lx->pos]))
			lx->pos++;
		set_text(lx, s + lx->start, lx->pos - lx->start);
		lx->kind = TOK_WORD;
		return 0;
	}
	if (c >= '0' && c <= '9') {
		while (lx->pos < lx->len && (ident_char((unsigned char)s[lx->pos]) || s[lx->pos] == '.'))
			lx->pos++;
		lx->kind = TOK_NUMBER;
		return 0;
	}
	if (c == 0)
		return refuse(lx, "NUL byte in the statement");
	lx->pos++;
	lx->text[0] = (char)c;
	lx->text[1] = '\0';
	lx->kind = TOK_CHAR;
	return 0;
}

static int denied_function(const char *name)
{
	for (size_t i = 0; i < NELEM(deny_functions); i++)
		if (strcmp(name, deny_functions[i]) == 0)
			return 1;
	for (size_t i = 0; i < NELEM(deny_prefixes); i++)
		if (strncmp(name, deny_prefixes[i], strlen(deny_prefixes[i])) == 0)
			return 1;
	return 0;
}

static int denied_word(const char *word)
{
	for (size_t i = 0; i < NELEM(deny_words); i++)
		if (strcmp(word, deny_words[i]) == 0)
			return 1;
	return 0;
}

int iw_sqlguard_check(const char *sql, size_t *stmt_len, char *why, size_t whylen)
{
	struct lexer lx = { .s = sql, .why = why, .whylen = whylen };
	char prev[IW_TOKEN_MAX] = "";  /* previous word or identifier */
	enum tok_kind prev_kind = TOK_END;
	size_t end = 0, ntok = 0;
	int depth = 0, semicolon = 0;

	if (whylen)
		why[0] = '\0';
	if (!sql)
		return refuse(&lx, "no statement");
	lx.len = strlen(sql);
	if (lx.len > IW_SQLGUARD_MAX)
		return refuse(&lx, "statement longer than %d bytes", IW_SQLGUARD_MAX);
	for (;;) {
		if (next(&lx) != 0)
			return -1;
		if (lx.kind == TOK_END)
			break;
		if (semicolon)
			return refuse(&lx, "only one statement may run (found text after \";\")");
		if (lx.kind == TOK_CHAR && lx.text[0] == ';') {
			semicolon = 1;
			continue;
		}
		if (ntok++ == 0 &&
		    !(lx.kind == TOK_WORD && (strcmp(lx.text, "select") == 0 ||
					      strcmp(lx.text, "with") == 0 ||
					      strcmp(lx.text, "values") == 0 ||
					      strcmp(lx.text, "table") == 0)) &&
		    !(lx.kind == TOK_CHAR && lx.text[0] == '('))
			return refuse(&lx, "only SELECT, WITH, VALUES or TABLE queries may run: the SELECT box is read-only");
		if (lx.kind == TOK_WORD && denied_word(lx.text))
			return refuse(&lx, "\"%s\" is not allowed: the SELECT box is read-only", lx.text);
		if (lx.kind == TOK_WORD && prev_kind == TOK_WORD && strcmp(prev, "for") == 0 &&
		    (strcmp(lx.text, "share") == 0 || strcmp(lx.text, "no") == 0 ||
		     strcmp(lx.text, "key") == 0))
			return refuse(&lx, "row locks (FOR SHARE/UPDATE) are not allowed");
		if (lx.kind == TOK_CHAR && lx.text[0] == '(') {
			if ((prev_kind == TOK_WORD || prev_kind == TOK_QIDENT) && denied_function(prev))
				return refuse(&lx, "function %s() is not allowed in the SELECT box", prev);
			depth++;
		} else if (lx.kind == TOK_CHAR && lx.text[0] == ')') {
			if (--depth < 0)
				return refuse(&lx, "unbalanced parentheses");
		}
		if (lx.kind == TOK_WORD || lx.kind == TOK_QIDENT)
			memcpy(prev, lx.text, sizeof prev);
		else
			prev[0] = '\0';
		prev_kind = lx.kind;
		end = lx.pos;
	}
	if (ntok == 0)
		return refuse(&lx, "no statement");
	if (depth != 0)
		return refuse(&lx, "unbalanced parentheses");
	*stmt_len = end;
	return 0;
}
