/* The droplet upload server's files; see smt/upload.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "io/db.h"
#include "io/storage.h"
#include "smt/store.h"
#include "smt/upload.h"

/* The report's claim: a concurrent post of the same bytes gets no row and
 * is answered as a duplicate with the row that exists. */
static const char SQL_REPORT[] =
	"INSERT INTO raw_smt_files (filename, size_bytes, sha256, source, content_type, "
	"storage_path, esiid, meter, captured_at, kind) "
	"VALUES ($1, $2::bigint, $3, $4, 'application/json', $5, $6, $7, $8::timestamptz, "
	"'" IW_SMT_REPORT_KIND "') ON CONFLICT (sha256) DO NOTHING RETURNING id, storage_path";
static const char SQL_KNOWN[] =
	"SELECT id, coalesce(storage_path, '') FROM raw_smt_files WHERE sha256 = $1";

int iw_smt_upload_verify(const struct iw_smt_spool *spool, long long size, const char *sha256,
			 struct iw_error *error)
{
	if (size >= 0 && (unsigned long long)size != (unsigned long long)spool->size)
		return iw_err_set(error, IW_ERR_INPUT,
				  "sizeBytes: %lld given, the decoded content has %llu bytes", size,
				  (unsigned long long)spool->size);
	if (sha256 && strcasecmp(sha256, spool->sha256) != 0)
		return iw_err_set(error, IW_ERR_INPUT,
				  "sha256: does not match the decoded content (%s)", spool->sha256);
	return 0;
}

static json_object *report_body(const char *filename, const struct iw_smt_spool *s,
				const char *id, const char *key, int duplicate)
{
	json_object *b = json_object_new_object();
	if (!b)
		return NULL;
	json_object_object_add(b, "kind", json_object_new_string(IW_SMT_REPORT_KIND));
	json_object_object_add(b, "filename", json_object_new_string(filename));
	json_object_object_add(b, "rawFileId", json_object_new_int64(strtoll(id, NULL, 10)));
	json_object_object_add(b, "sha256", json_object_new_string(s->sha256));
	json_object_object_add(b, "sizeBytes", json_object_new_int64((int64_t)s->size));
	json_object_object_add(b, "storagePath", json_object_new_string(key));
	json_object_object_add(b, "duplicate", json_object_new_boolean(duplicate));
	json_object_object_add(b, "rows", json_object_new_int(0));
	return b;
}

/* The row of known bytes: *BODY the duplicate answer, or NULL. */
static int known(const char *filename, const struct iw_smt_spool *s, json_object **body,
		 struct iw_error *error)
{
	const char *p[1] = { s->sha256 };
	PGresult *r = iw_db_exec(IW_DB_MASTER, error, SQL_KNOWN, 1, p);

	*body = NULL;
	if (!r)
		return (int)error->code;
	if (PQntuples(r) == 1 &&
	    !(*body = report_body(filename, s, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), 1))) {
		PQclear(r);
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	}
	PQclear(r);
	return 0;
}

int iw_smt_upload_report(const struct iw_smt_file *file, struct iw_smt_spool *spool,
			 json_object **body, struct iw_error *error)
{
	char filename[IW_SMT_FILENAME_MAX + 1], key[IW_STORAGE_KEY_MAX + 1], date[11], size[24];
	const char *source = file->source ? file->source : IW_SMT_REPORT_SOURCE;
	time_t now = time(NULL);
	struct tm tm;
	PGresult *r;
	int rc;

	*body = NULL;
	iw_smt_filename_sanitize(file->filename, filename);
	if ((rc = known(filename, spool, body, error)) != 0 || *body)
		return rc;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%Y-%m-%d", &tm);
	if (iw_smt_store_key(date, spool->sha256, filename, key, sizeof key) != 0)
		return iw_err_set(error, IW_ERR_INPUT, "filename: not usable in a storage key");
	/* Stored first: the row never names an object that is not there. */
	if ((rc = iw_smt_store_spool(spool->fd, key, "application/json", error)) != 0)
		return rc;
	snprintf(size, sizeof size, "%llu", (unsigned long long)spool->size);
	{
		const char *p[8] = { filename, size, spool->sha256, source, key, file->esiid,
				     file->meter, file->captured_at };
		if (!(r = iw_db_exec(IW_DB_MASTER, error, SQL_REPORT, 8, p)))
			return (int)error->code;
	}
	if (PQntuples(r) == 1)
		*body = report_body(filename, spool, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), 0);
	PQclear(r);
	if (!*body && (rc = known(filename, spool, body, error)) != 0)
		return rc;
	return *body ? 0 : iw_err_set(error, IW_ERR_NOMEM, "out of memory");
}
