/* application/x-www-form-urlencoded bodies (and query strings): the
 * explorer's login and SELECT box forms. */
#ifndef IW_EXPLORER_FORM_H
#define IW_EXPLORER_FORM_H

#include <stddef.h>

struct iw_request;
struct iw_response;

#define IW_FORM_MAX (64 * 1024) /* largest form body read */

/* Reads a form body of at most MAX bytes into a malloc'd NUL-terminated
 * string. Returns 0, or an error status already set in RESP (413, 415, 400). */
int iw_form_read(struct iw_request *req, struct iw_response *resp, size_t max, char **out);
/* KEY of FORM decoded into a malloc'd string (*OUT; NULL when absent or
 * empty) of at most MAX bytes: 0, -1 when longer, -2 out of memory. */
int iw_form_dup(const char *form, const char *key, size_t max, char **out);

#endif
