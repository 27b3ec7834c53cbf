#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int iw_err_set(struct iw_error *e, enum iw_err code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return (int)code;
	iw_err_clear(e);
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return (int)code;
}

void iw_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void iw_err_clear(struct iw_error *e)
{
	if (!e)
		return;
	json_object_put(e->detail);
	e->detail = NULL;
	e->code = IW_ERR_NONE;
	e->msg[0] = '\0';
	e->retry_after_s = 0;
}

const char *iw_err_name(enum iw_err code)
{
	static const char *const names[IW_ERR__MAX] = {
		[IW_ERR_NONE] = "none",           [IW_ERR_INPUT] = "input",
		[IW_ERR_MEDIA_TYPE] = "media_type", [IW_ERR_TOO_BIG] = "too_big",
		[IW_ERR_NOMEM] = "no_memory",     [IW_ERR_IO] = "io",
		[IW_ERR_NO_SPACE] = "no_space",
		[IW_ERR_INTERNAL] = "internal",   [IW_ERR_DB_DOWN] = "database_down",
		[IW_ERR_MISCONFIG] = "misconfigured", [IW_ERR_UPSTREAM] = "upstream",
		[IW_ERR_TIMEOUT] = "timeout",     [IW_ERR_BUSY] = "busy",
		[IW_ERR_CONFLICT] = "conflict",
	};
	return code >= 0 && code < IW_ERR__MAX && names[code] ? names[code] : "unknown";
}

int iw_errno_no_space(int e)
{
	return e == ENOSPC || e == EDQUOT;
}
