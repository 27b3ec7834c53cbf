/* Logging: one JSON object per line on stderr. Never pass a secret, a token
 * or a request body to these functions. */
#ifndef IW_LOG_H
#define IW_LOG_H

#include <json-c/json.h>

#define IW_PRINTF(f, a) __attribute__((format(printf, f, a)))

void iw_log_init(const char *route);
/* Sets the request id that following lines carry (NULL clears it). */
void iw_log_request_id(const char *request_id);
/* Writes FIELDS (borrowed; may be NULL) with ts, level, route and request id. */
void iw_log_event(const char *level, const char *msg, json_object *fields);
void iw_logf(const char *level, const char *fmt, ...) IW_PRINTF(2, 3);
#endif
