/* The SELECT box's statement guard. A read-only transaction with a statement
 * timeout is the real protection; this check refuses early, with a message an
 * operator understands, what must never run: more than one statement, any
 * statement that is not a query, row locks, and functions with effects a
 * rollback does not undo (backend signals, advisory locks, files, dblink,
 * large objects, settings, sleeps). It lexes like PostgreSQL: quotes,
 * E'' strings, dollar quotes, nested comments. */
#ifndef IW_EXPLORER_SQLGUARD_H
#define IW_EXPLORER_SQLGUARD_H

#include <stddef.h>

#define IW_SQLGUARD_MAX (16 * 1024) /* longest statement accepted, bytes */

/* Returns 0 when SQL may run and sets *STMT_LEN to the length of the single
 * statement (a trailing ";" and what follows it dropped); else -1 with a
 * reason in WHY. */
int iw_sqlguard_check(const char *sql, size_t *stmt_len, char *why, size_t whylen);
#endif
