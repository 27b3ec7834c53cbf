/* Live progress as NDJSON (issue 16). When the client sends
 * "Accept: application/x-ndjson", a route may wire a library's
 * struct iw_progress to the answer: the head (200, application/x-ndjson, no
 * Content-Length, X-Accel-Buffering: no so nginx passes it unbuffered) goes
 * out at the first event, then one JSON line per event, flushed. The
 * route's answer (success or {ok:false,...}) is the last line.
 *
 * Status rule: an error found before the first event keeps its HTTP status
 * (nothing was sent); once an event was sent the status is 200 and a
 * failure is only the last line, {"ok":false,"error":...,"message":...}. */
#ifndef IW_STREAM_H
#define IW_STREAM_H

#include "core/progress.h"
#include "web/serve.h"

struct iw_stream {
	struct iw_request *req;
	struct iw_response *resp;
	long long t0_ms;  /* the route's start: events carry "ms" since it */
};

/* 1 when the request's Accept header names application/x-ndjson. */
int iw_stream_wanted(const struct iw_request *req);
/* Points P at S when the client wants a stream; else leaves P unset
 * (event NULL: the library skips its events, the answer is unchanged). */
void iw_stream_progress(struct iw_stream *s, struct iw_request *req, struct iw_response *resp,
			struct iw_progress *p);
/* For the accept loop: writes the last line BODY (LEN bytes of JSON) of a
 * streamed answer. */
void iw_stream_finish(struct iw_request *req, const char *body, size_t len);
#endif
