#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char route_name[64] = "iw";
static char request_id[80];

void iw_log_init(const char *route)
{
	snprintf(route_name, sizeof route_name, "%s", route);
}

void iw_log_request_id(const char *id)
{
	snprintf(request_id, sizeof request_id, "%s", id ? id : "");
}

void iw_log_event(const char *level, const char *msg, json_object *fields)
{
	json_object *line = json_object_new_object();
	struct timespec now;
	struct tm tm;
	char ts[96];
	const char *text;
	size_t len;

	if (!line)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (long)(now.tv_nsec / 1000000) % 1000);
	json_object_object_add(line, "ts", json_object_new_string(ts));
	json_object_object_add(line, "level", json_object_new_string(level));
	json_object_object_add(line, "route", json_object_new_string(route_name));
	if (request_id[0])
		json_object_object_add(line, "request_id", json_object_new_string(request_id));
	if (msg)
		json_object_object_add(line, "msg", json_object_new_string(msg));
	if (fields) {
		json_object_object_foreach(fields, key, val)
			json_object_object_add(line, key, json_object_get(val));
	}
	text = json_object_to_json_string_ext(line, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	/* One write per line so lines of concurrent workers never interleave. */
	{
		char buf[8192];
		if (len + 1 <= sizeof buf) {
			memcpy(buf, text, len);
			buf[len] = '\n';
			if (write(STDERR_FILENO, buf, len + 1) < 0) { /* nothing to do */ }
		} else {
			if (write(STDERR_FILENO, text, len) < 0 || write(STDERR_FILENO, "\n", 1) < 0) { }
		}
	}
	json_object_put(line);
}

void iw_logf(const char *level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	iw_log_event(level, msg, NULL);
}
