/* Content-Type comparisons (parameters after ';' ignored, any case). */
#ifndef IW_CORE_MIME_H
#define IW_CORE_MIME_H

/* 1 when CT's media type is WANT. */
int iw_mime_is(const char *ct, const char *want);
/* 1 when CT is JSON: none, application/json or application/<x>+json. */
int iw_mime_json(const char *ct);
#endif
