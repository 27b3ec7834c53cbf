/* Errors that are not HTTP. Library functions below web/ return 0 or a
 * non-zero enum iw_err and describe the failure in a struct iw_error; only
 * web/fail.c turns one into a status and a JSON error code (one table). */
#ifndef IW_ERR_H
#define IW_ERR_H

#include <stddef.h>

#include <json-c/json.h>

#include "core/log.h"

enum iw_err {
	IW_ERR_NONE = 0,
	IW_ERR_INPUT,       /* the caller's input is invalid */
	IW_ERR_MEDIA_TYPE,  /* the body's content type is not accepted */
	IW_ERR_TOO_BIG,     /* the input is larger than its cap */
	IW_ERR_NOMEM,       /* out of memory */
	IW_ERR_IO,          /* a local file, spool or storage write failed */
	IW_ERR_NO_SPACE,    /* a local disk is full (ENOSPC, EDQUOT) */
	IW_ERR_INTERNAL,    /* a bug or a failure with no better name */
	IW_ERR_DB_DOWN,     /* a database cannot be reached */
	IW_ERR_MISCONFIG,   /* a setting is missing or invalid */
	IW_ERR_UPSTREAM,    /* an upstream service failed or answered badly */
	IW_ERR_TIMEOUT,     /* an upstream or a statement ran out of time */
	IW_ERR_BUSY,        /* a lock is held by another run: retry later */
	IW_ERR_CONFLICT,    /* the request conflicts with the current state */
	IW_ERR__MAX
};

#define IW_ERR_MSG_MAX 512

struct iw_error {
	enum iw_err code;
	char msg[IW_ERR_MSG_MAX];
	long retry_after_s;   /* IW_ERR_BUSY: seconds for Retry-After (0: none) */
	json_object *detail;  /* owned; extra fields for the answer (may be NULL) */
};

/* Sets E (may be NULL) to CODE and the formatted message; returns CODE. A
 * second call replaces the first (the detail too). */
int iw_err_set(struct iw_error *e, enum iw_err code, const char *fmt, ...) IW_PRINTF(3, 4);
/* Formats a reason into ERR (ERRLEN bytes; nothing when ERR is NULL or
 * ERRLEN is 0): for the modules that report failures as text. */
void iw_errf(char *err, size_t errlen, const char *fmt, ...) IW_PRINTF(3, 4);
/* Frees E's detail and clears it. */
void iw_err_clear(struct iw_error *e);
/* 1 when errno E says a local disk is full (ENOSPC, or EDQUOT: a quota):
 * what IW_ERR_NO_SPACE stands for. */
int iw_errno_no_space(int e);
/* A short name of CODE ("busy"), for logs and tests. */
const char *iw_err_name(enum iw_err code);
#endif
