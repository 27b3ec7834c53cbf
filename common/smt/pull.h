/* The input side of POST /api/admin/smt/pull: an inline or uploaded file
 * into a spool (with the spool's failures as enum iw_err), the checks of
 * its fields, the upload's "received" event and the trigger's answer.
 * fcgi/smt_pull.c parses and answers; smt/ingest.c takes the spool. */
#ifndef IW_SMT_PULL_H
#define IW_SMT_PULL_H

#include <stddef.h>

#include <json-c/json.h>

#include "core/err.h"
#include "core/progress.h"
#include "smt/ingest.h"
#include "smt/spool.h"

/* Reads up to LEN bytes into BUF: the count, 0 at the end, -1 on error. */
typedef long (*iw_smt_reader)(void *ctx, char *buf, size_t len);

/* The spool encoding of an upload of content type CT, and in *STORED the
 * type its object is stored with. -1 (IW_ERR_MEDIA_TYPE in E) for a type
 * the upload does not take. */
int iw_smt_pull_encoding(const char *ct, const char **stored, struct iw_error *e);
/* FILE's filename, esiid, meter, source, captured_at and size_expected from
 * ARGS (the route's validated body or query); its meter and source must be
 * printable ASCII. */
int iw_smt_pull_file(struct iw_smt_file *file, json_object *args, struct iw_error *e);
/* Spools B64 (LEN bytes of base64, gzip'd when GZIP): 0 with *OUT, or the
 * enum iw_err set in E. ERR (ERRLEN bytes) is the spool's message buffer:
 * it must live as long as *OUT. */
int iw_smt_pull_inline(const char *b64, size_t len, int gzip, char *err, size_t errlen,
		       struct iw_smt_spool **out, struct iw_error *e);
/* Spools what READ gives (at most IW_SMT_UPLOAD_MAX bytes): 0 with *OUT and
 * *TOTAL (the bytes read), or the enum iw_err set in E. ERR as above. */
int iw_smt_pull_receive(enum iw_smt_encoding enc, iw_smt_reader read, void *ctx, char *err,
			size_t errlen, struct iw_smt_spool **out, unsigned long long *total,
			struct iw_error *e);
/* The event {event:"pull", phase, bytesReceived, total?, bytesSpooled}
 * (LENGTH < 0: no total). */
void iw_smt_pull_event(const struct iw_progress *p, const char *phase, unsigned long long bytes,
		       long long length, const struct iw_smt_spool *s);
/* The trigger's answer {mode, triggered, webhookStatus, response} (takes
 * RESPONSE), or NULL when out of memory. */
json_object *iw_smt_pull_triggered(const char *mode, long status, json_object *response);
#endif
