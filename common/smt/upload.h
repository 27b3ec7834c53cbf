/* The droplet upload server's files (POST /api/admin/smt/raw-upload,
 * docs/smt.md): a CSV part goes through iw_smt_ingest like a pull; an
 * error report of the upload pipeline is stored and recorded here. */
#ifndef IW_SMT_UPLOAD_H
#define IW_SMT_UPLOAD_H

#include <json-c/json.h>

#include "smt/ingest.h"
#include "smt/spool.h"

struct iw_error;

#define IW_SMT_PART_MAX      (12u * 1024 * 1024)  /* decoded part (the server sends 10 MiB) */
#define IW_SMT_PART_BODY_MAX (17u * 1024 * 1024)  /* its JSON: base64 is 4/3 of it */
#define IW_SMT_REPORT_SOURCE "droplet-error"
#define IW_SMT_REPORT_KIND   "error-report"

/* Checks the spooled bytes against the sizeBytes and sha256 the sender
 * stated: 0, or IW_ERR_INPUT naming the mismatch in ERROR. */
int iw_smt_upload_verify(const struct iw_smt_spool *spool, long long size, const char *sha256,
			 struct iw_error *error);

/* Stores the spooled error report FILE and records it in raw_smt_files as
 * kind error-report (never parsed); the same bytes again are a duplicate.
 * 0 with *BODY the answer's fields, or the enum iw_err set in ERROR. */
int iw_smt_upload_report(const struct iw_smt_file *file, struct iw_smt_spool *spool,
			 json_object **body, struct iw_error *error);
#endif
