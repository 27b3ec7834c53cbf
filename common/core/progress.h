/* Progress of long library work (an ERCOT run, a normalisation, an upload):
 * the library hands events to a callback and knows nothing of where they
 * go (a route streams them as NDJSON lines; see web/stream.h). */
#ifndef IW_PROGRESS_H
#define IW_PROGRESS_H

#include <json-c/json.h>

struct iw_progress {
	/* Receives each event; borrows EV (the caller drops it afterwards). */
	void (*event)(void *ctx, json_object *ev);
	void *ctx;
};

/* 1 when P is set and wants events. */
int iw_progress_on(const struct iw_progress *p);
/* Hands EV (may be NULL: out of memory) to P when set, then drops it. */
void iw_progress_emit(const struct iw_progress *p, json_object *ev);
#endif
