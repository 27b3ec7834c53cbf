#include "web/stream.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/time.h"

int iw_stream_wanted(const struct iw_request *req)
{
	const char *accept = iw_param(req, "HTTP_ACCEPT");

	/* Media types are case-insensitive; a q=0 refusal is not honoured. */
	for (const char *p = accept; p && *p; p++)
		if (strncasecmp(p, "application/x-ndjson", 20) == 0)
			return 1;
	return 0;
}

/* The head of a streamed answer: always 200, no Content-Length. */
static void write_head(struct iw_request *req, struct iw_response *resp)
{
	char head[IW_HEADERS_MAX + 512];
	int n = snprintf(head, sizeof head,
			 "Status: 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			 "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
			 "X-Content-Type-Options: nosniff\r\nX-Request-Id: %s\r\n%s\r\n",
			 req->request_id, resp->headers);

	if (n < 0 || (size_t)n >= sizeof head)
		n = snprintf(head, sizeof head, "Status: 200 OK\r\nContent-Type: application/x-ndjson\r\n"
			     "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n\r\n");
	FCGX_PutStr(head, n, req->fcgi->out);
	resp->streamed = 1;
}

static void on_event(void *ctx, json_object *ev)
{
	struct iw_stream *s = ctx;
	FCGX_Stream *out = s->req->fcgi->out;
	const char *line;

	if (!s->resp->streamed)
		write_head(s->req, s->resp);
	json_object_object_add(ev, "ms", json_object_new_int64(iw_now_ms() - s->t0_ms));
	line = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	/* A client that went away only makes these writes fail: the work goes on. */
	FCGX_PutStr(line, (int)strlen(line), out);
	FCGX_PutChar('\n', out);
	FCGX_FFlush(out);
}

void iw_stream_progress(struct iw_stream *s, struct iw_request *req, struct iw_response *resp,
			struct iw_progress *p)
{
	s->req = req;
	s->resp = resp;
	s->t0_ms = iw_now_ms();
	p->event = iw_stream_wanted(req) ? on_event : NULL;
	p->ctx = s;
	if (p->event)
		iw_log_count(req, "streamed", 1);
}

void iw_stream_finish(struct iw_request *req, const char *body, size_t len)
{
	FCGX_PutStr(body, (int)len, req->fcgi->out);
	FCGX_PutChar('\n', req->fcgi->out);
}
