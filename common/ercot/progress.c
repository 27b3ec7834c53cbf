/* An ERCOT file's progress: a logged "ercot progress" line at each phase and
 * every IW_ERCOT_PROGRESS_BYTES, and between them streamed events for a
 * caller that follows the run live (docs/progress.md). */
#include <string.h>

#include <json-c/json.h>

#include "core/log.h"
#include "core/progress.h"
#include "ercot/ingest.h"
#include "ercot/job.h"

void iw_ercot_job_progress(const struct job *j, const char *phase, int done)
{
	json_object *f = json_object_new_object();
	if (!f)
		return;
	json_object_object_add(f, "tdsp", json_object_new_string(j->doc->tdsp));
	json_object_object_add(f, "file", json_object_new_string(j->doc->filename));
	json_object_object_add(f, "phase", json_object_new_string(phase));
	json_object_object_add(f, "bytes", json_object_new_int64(j->bytes));
	json_object_object_add(f, "rows", json_object_new_int64(j->rows));
	if (done)
		json_object_object_add(f, "done", json_object_new_boolean(1));
	iw_log_event("info", "ercot progress", f);
	if (iw_progress_on(j->progress)) {
		json_object_object_add(f, "event", json_object_new_string("file"));
		if (j->doc->size > 0)
			json_object_object_add(f, "total", json_object_new_int64(j->doc->size));
		iw_progress_emit(j->progress, json_object_get(f));
	}
	json_object_put(f);
}

/* A streamed "file" event between two logged ones: a download event
 * carries the announced size ("total"), a load event the CSV rows so far. */
static void stream_event(const struct job *j, const char *phase)
{
	json_object *ev;

	if (!iw_progress_on(j->progress))
		return;
	if ((ev = json_object_new_object())) {
		json_object_object_add(ev, "event", json_object_new_string("file"));
		json_object_object_add(ev, "tdsp", json_object_new_string(j->doc->tdsp));
		json_object_object_add(ev, "file", json_object_new_string(j->doc->filename));
		json_object_object_add(ev, "phase", json_object_new_string(phase));
		json_object_object_add(ev, "bytes", json_object_new_int64(j->bytes));
		if (!strcmp(phase, "load"))
			json_object_object_add(ev, "rows", json_object_new_int64(j->rows));
		else if (j->doc->size > 0)
			json_object_object_add(ev, "total", json_object_new_int64(j->doc->size));
	}
	iw_progress_emit(j->progress, ev);
}

/* Bytes between two streamed events of one file: 2 % of its announced size
 * (so a client sees every 10 % several times), else every 1 MiB. */
long long iw_ercot_job_stream_step(const struct job *j)
{
	long long step = j->doc->size > 0 ? j->doc->size / 50 : 1024 * 1024;
	return step < 16 * 1024 ? 16 * 1024 : step;
}

void iw_ercot_job_advance(struct job *j, const char *phase)
{
	int load = !strcmp(phase, "load");
	long long at = load ? j->csv_bytes : j->bytes;
	long long *next = load ? &j->csv_next : &j->next_progress;
	long long *stream_next = load ? &j->csv_stream_next : &j->stream_next;
	long long step = load ? IW_ERCOT_CSV_STREAM_STEP : iw_ercot_job_stream_step(j);

	if (at >= *next) {
		iw_ercot_job_progress(j, phase, 0);
		*next += IW_ERCOT_PROGRESS_BYTES;
	} else if (at >= *stream_next) {
		stream_event(j, phase);
	}
	while (*stream_next <= at)
		*stream_next += step;
}
