#include "core/progress.h"

#include <stddef.h>
#include <time.h>

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

long long iw_progress_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
