/* Re-loading stored raw SMT files (POST /api/admin/smt/normalize): the
 * newest raw_smt_files rows that match are read back from storage and run
 * through the pull's own parser and general loader (smt/load.c: temporary
 * table + upsert into UsageIntervalModule), then normalised into
 * SmtInterval (usage/normalize.c). Nothing is deleted: the originals and
 * their raw_smt_files rows stay as they are. Same bytes, same rows: a second
 * run inserts and updates nothing. This is how history is re-loaded after a
 * parser fix (docs/smt.md). */
#ifndef IW_SMT_RELOAD_H
#define IW_SMT_RELOAD_H

#include <json-c/json.h>

struct iw_error;
struct iw_progress;

#define IW_SMT_RELOAD_LIMIT_DEFAULT 1
#define IW_SMT_RELOAD_LIMIT_MAX     100

struct iw_smt_reload_query {
	const char *esiid;   /* NULL: any; else files whose recorded ESIID or name carry it */
	const char *source;  /* NULL: any */
	int limit;           /* newest LIMIT files (1..IW_SMT_RELOAD_LIMIT_MAX) */
	int dry_run;         /* parse and count, write nothing */
	const struct iw_progress *progress; /* NULL, or: "listed" (files), then "file" per file */
};

/* Re-loads the files Q selects. Sets *FILES (an array, one object per file:
 * rawFileId, filename, rows, inserted, updated, unchanged, or error) and
 * *TOTALS and returns 0; a file whose object is missing or unreadable is
 * reported in its entry and the others go on. A database failure stops the
 * run: the enum iw_err set in ERROR (files done before it stay loaded). */
int iw_smt_reload(const struct iw_smt_reload_query *q, json_object **files,
		  json_object **totals, struct iw_error *error);
#endif
