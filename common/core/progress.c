#include "core/progress.h"

#include <stddef.h>

int iw_progress_on(const struct iw_progress *p)
{
	return p && p->event;
}

void iw_progress_emit(const struct iw_progress *p, json_object *ev)
{
	if (ev && iw_progress_on(p))
		p->event(p->ctx, ev);
	json_object_put(ev);
}
