/* Re-loading stored raw SMT files; see smt/reload.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/err.h"
#include "core/log.h"
#include "core/progress.h"
#include "core/validate.h"
#include "io/db.h"
#include "io/storage.h"
#include "smt/csv.h"
#include "smt/ingest.h"
#include "smt/ingest_load.h"
#include "smt/reload.h"
#include "smt/spool.h"
#include "usage/normalize.h"

/* Newest first; error reports are never parsed. The ESIID is matched on the
 * file's recorded ESIID (the rows' own) or inside its name. */
static const char SQL_FILES[] =
	"SELECT id, filename, coalesce(storage_path, ''), coalesce(esiid, ''), meter, "
	"coalesce(source, '" IW_SMT_SOURCE_DEFAULT "'), sha256 FROM raw_smt_files "
	"WHERE kind <> 'error-report' "
	"AND ($1::text IS NULL OR esiid = $1 OR strpos(filename, $1) > 0) "
	"AND ($2::text IS NULL OR source = $2) "
	"ORDER BY received_at DESC, id DESC LIMIT $3::int";

struct raw_file {
	long long id;
	char *filename, *key, *esiid, *meter, *source, *sha256;
};

struct totals {
	long long files, rows, inserted, updated, unchanged, errors;
	long long n_inserted, n_updated, n_unchanged; /* SmtInterval */
};

static void files_free(struct raw_file *f, int n)
{
	for (int i = 0; f && i < n; i++) {
		free(f[i].filename);
		free(f[i].key);
		free(f[i].esiid);
		free(f[i].meter);
		free(f[i].source);
		free(f[i].sha256);
	}
	free(f);
}

/* The rows of raw_smt_files Q selects, copied out. 0, or the enum iw_err. */
static int select_files(const struct iw_smt_reload_query *q, struct raw_file **out, int *n,
			struct iw_error *error)
{
	char limit[16];
	const char *p[3] = { q->esiid, q->source, limit };
	PGresult *r;
	struct raw_file *f;
	int rows;

	*out = NULL;
	*n = 0;
	snprintf(limit, sizeof limit, "%d", q->limit);
	if (!(r = iw_db_exec(IW_DB_MASTER, error, SQL_FILES, 3, p)))
		return (int)error->code;
	rows = PQntuples(r);
	if (!(f = calloc((size_t)rows + 1, sizeof *f))) {
		PQclear(r);
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	}
	for (int i = 0; i < rows; i++) {
		f[i].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		f[i].filename = strdup(PQgetvalue(r, i, 1));
		f[i].key = strdup(PQgetvalue(r, i, 2));
		f[i].esiid = strdup(PQgetvalue(r, i, 3));
		f[i].meter = PQgetisnull(r, i, 4) ? NULL : strdup(PQgetvalue(r, i, 4));
		f[i].source = strdup(PQgetvalue(r, i, 5));
		f[i].sha256 = strdup(PQgetvalue(r, i, 6));
		if (!f[i].filename || !f[i].key || !f[i].esiid || !f[i].source || !f[i].sha256 ||
		    (!PQgetisnull(r, i, 4) && !f[i].meter)) {
			PQclear(r);
			files_free(f, i + 1);
			return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
		}
	}
	PQclear(r);
	*out = f;
	*n = rows;
	return 0;
}

static int spool_sink(void *arg, const void *buf, size_t len)
{
	return iw_smt_spool_feed(arg, buf, len);
}

static json_object *file_error(const struct raw_file *f, const char *code, const char *msg)
{
	json_object *o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "rawFileId", json_object_new_int64(f->id));
	json_object_object_add(o, "filename", json_object_new_string(f->filename));
	json_object_object_add(o, "error", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	return o;
}

/* Reads F's object into a new spool (*OUT). 0, or 1 with *ENTRY set to the
 * file's error entry (missing, unreadable, changed), or -1 out of memory. */
static int read_object(const struct raw_file *f, struct iw_smt_spool **out, json_object **entry)
{
	char err[256] = "", gerr[256] = "";
	struct iw_smt_spool *s;
	int rc;

	*out = NULL;
	*entry = NULL;
	if (!f->key[0]) {
		*entry = file_error(f, "object_missing", "the raw file has no storage path");
		return *entry ? 1 : -1;
	}
	if (!(s = iw_smt_spool_new(IW_SMT_PLAIN, IW_SMT_UPLOAD_MAX, err, sizeof err)))
		return -1;
	rc = iw_storage_get(f->key, spool_sink, s, gerr, sizeof gerr);
	if (rc == 0 && iw_smt_spool_finish(s) != 0) {
		snprintf(gerr, sizeof gerr, "%s", err);
		rc = -1;
	}
	if (rc == IW_STORAGE_MISSING)
		*entry = file_error(f, "object_missing", "the stored object is gone");
	else if (rc != 0)
		*entry = file_error(f, "object_unreadable", gerr);
	else if (strcmp(s->sha256, f->sha256) != 0)
		*entry = file_error(f, "object_changed",
				    "the stored bytes no longer have the recorded sha256");
	else {
		*out = s;
		return 0;
	}
	iw_smt_spool_free(s);
	if (rc != 0 && rc != IW_STORAGE_MISSING)
		iw_logf("error", "normalize: raw file %lld: %s", f->id, gerr);
	return *entry ? 1 : -1;
}

/* Parse only: the rows the file holds. 0, or 1 (not an interval file). */
static int count_rows(int fd, const char *esiid, long long *rows)
{
	struct iw_smt_csv *p = iw_smt_csv_new(NULL, NULL);
	char *chunk = malloc(SPOOL_CHUNK);
	int rc = -1;

	if (p && chunk && (!esiid || iw_smt_csv_set_esiid(p, esiid) == 0)) {
		int prc = iw_smt_load_parse_spool(fd, p, chunk);
		*rows = iw_smt_csv_stats(p)->rows;
		rc = prc == 0 ? 0 : 1;
	}
	free(chunk);
	iw_smt_csv_free(p);
	return rc;
}

static json_object *file_entry(const struct raw_file *f, long long rows, const struct interval_result *ir,
			       const struct iw_usage_summary *norm, int dry_run)
{
	json_object *o = json_object_new_object(), *n;

	if (!o)
		return NULL;
	json_object_object_add(o, "rawFileId", json_object_new_int64(f->id));
	json_object_object_add(o, "filename", json_object_new_string(f->filename));
	json_object_object_add(o, "storagePath", json_object_new_string(f->key));
	json_object_object_add(o, "rows", json_object_new_int64(rows));
	if (dry_run) {
		json_object_object_add(o, "dryRun", json_object_new_boolean(1));
		json_object_object_add(o, "inserted", json_object_new_int(0));
		json_object_object_add(o, "updated", json_object_new_int(0));
		json_object_object_add(o, "unchanged", json_object_new_int(0));
		return o;
	}
	json_object_object_add(o, "intervals", json_object_new_int64(ir->distinct));
	json_object_object_add(o, "inserted", json_object_new_int64(ir->inserted));
	json_object_object_add(o, "updated", json_object_new_int64(ir->updated));
	json_object_object_add(o, "unchanged",
			       json_object_new_int64(ir->distinct - ir->inserted - ir->updated));
	if ((n = json_object_new_object())) {
		json_object_object_add(n, "rawCount", json_object_new_int64(norm->raw));
		json_object_object_add(n, "insertedCount", json_object_new_int64(norm->inserted));
		json_object_object_add(n, "updatedCount", json_object_new_int64(norm->updated));
		json_object_object_add(n, "unchangedCount", json_object_new_int64(norm->unchanged));
		json_object_object_add(o, "intervalNormalized", n);
	}
	return o;
}

/* One file: *ENTRY set (its counts or its error). 0, or the enum iw_err of
 * a database failure that stops the run. */
static int reload_one(const struct raw_file *f, int dry_run, struct totals *t, json_object **entry,
		      struct iw_error *error)
{
	char esiid[IW_ESIID_MAX + 1];
	const char *fesiid = f->esiid[0] && iw_esiid_normalize(f->esiid, esiid) == 0 ? esiid : NULL;
	struct iw_smt_file file = { .mode = "normalize", .filename = f->filename, .esiid = fesiid,
				    .meter = f->meter, .source = f->source, .size_expected = -1 };
	struct interval_result ir = { 0 };
	struct iw_usage_summary norm = { 0 };
	struct iw_smt_spool *s = NULL;
	long long rows = 0;
	int rc = 0, k;

	*entry = NULL;
	if (iw_smt_is_billing_name(f->filename)) {
		*entry = file_error(f, "not_reloaded", "billing exports are not re-loaded here");
		goto counted;
	}
	if ((k = read_object(f, &s, entry)) != 0) {
		if (k < 0)
			return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
		goto counted;
	}
	if ((k = count_rows(s->fd, fesiid, &rows)) != 0) {
		if (k < 0)
			rc = iw_err_set(error, IW_ERR_NOMEM, "out of memory");
		else
			*entry = file_error(f, "not_interval", "no SMT interval header in the stored file");
		goto out;
	}
	if (!dry_run) {
		if ((rc = iw_smt_load_intervals(s->fd, &file, f->meter ? f->meter : IW_SMT_METER_DEFAULT,
						f->source, &ir, error)) != 0)
			goto out;
		if (ir.nesiids && (rc = iw_smt_normalize_file(&ir, 0, &norm, error)) != 0)
			goto out;
		t->inserted += ir.inserted;
		t->updated += ir.updated;
		t->unchanged += ir.distinct - ir.inserted - ir.updated;
		t->n_inserted += norm.inserted;
		t->n_updated += norm.updated;
		t->n_unchanged += norm.unchanged;
	}
	t->rows += rows;
	if (!(*entry = file_entry(f, rows, &ir, &norm, dry_run)))
		rc = iw_err_set(error, IW_ERR_NOMEM, "out of memory");
out:
	free(ir.esiids);
	iw_smt_spool_free(s);
	return rc;
counted:
	t->errors++;
	return *entry ? 0 : iw_err_set(error, IW_ERR_NOMEM, "out of memory");
}

static json_object *totals_json(const struct totals *t, int dry_run)
{
	json_object *o = json_object_new_object(), *n;
	if (!o)
		return NULL;
	json_object_object_add(o, "files", json_object_new_int64(t->files));
	json_object_object_add(o, "errors", json_object_new_int64(t->errors));
	json_object_object_add(o, "rows", json_object_new_int64(t->rows));
	json_object_object_add(o, "inserted", json_object_new_int64(t->inserted));
	json_object_object_add(o, "updated", json_object_new_int64(t->updated));
	json_object_object_add(o, "unchanged", json_object_new_int64(t->unchanged));
	json_object_object_add(o, "dryRun", json_object_new_boolean(dry_run));
	if ((n = json_object_new_object())) {
		json_object_object_add(n, "insertedCount", json_object_new_int64(t->n_inserted));
		json_object_object_add(n, "updatedCount", json_object_new_int64(t->n_updated));
		json_object_object_add(n, "unchangedCount", json_object_new_int64(t->n_unchanged));
		json_object_object_add(o, "intervalNormalized", n);
	}
	return o;
}

/* "listed" with the number of files, then "file" with each file's entry. */
static void reload_event(const struct iw_progress *p, const char *phase, int index, int count,
			 json_object *entry)
{
	json_object *ev;

	if (!iw_progress_on(p) || !(ev = json_object_new_object()))
		return;
	json_object_object_add(ev, "event", json_object_new_string(phase));
	json_object_object_add(ev, "files", json_object_new_int(count));
	if (entry) {
		json_object_object_add(ev, "index", json_object_new_int(index + 1));
		json_object_object_add(ev, "file", json_object_get(entry));
	}
	iw_progress_emit(p, ev);
}

int iw_smt_reload(const struct iw_smt_reload_query *q, json_object **files_out,
		  json_object **totals_out, struct iw_error *error)
{
	struct raw_file *f = NULL;
	struct totals t = { 0 };
	json_object *files;
	int n = 0, rc;

	*files_out = *totals_out = NULL;
	if ((rc = select_files(q, &f, &n, error)) != 0)
		return rc;
	if (!(files = json_object_new_array())) {
		files_free(f, n);
		return iw_err_set(error, IW_ERR_NOMEM, "out of memory");
	}
	reload_event(q->progress, "listed", 0, n, NULL);
	for (int i = 0; i < n; i++) {
		json_object *entry = NULL;
		if ((rc = reload_one(&f[i], q->dry_run, &t, &entry, error)) != 0)
			goto fail;
		t.files++;
		json_object_array_add(files, entry);
		reload_event(q->progress, "file", i, n, entry);
	}
	if (!(*totals_out = totals_json(&t, q->dry_run))) {
		rc = iw_err_set(error, IW_ERR_NOMEM, "out of memory");
		goto fail;
	}
	files_free(f, n);
	*files_out = files;
	return 0;
fail:
	files_free(f, n);
	json_object_put(files);
	return rc;
}
