/* The document list of a run: bounded, deduplicated, latest day kept. */
#include "ercot/ingest.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "ercot/names.h"

static void doc_free(struct iw_ercot_doc *d)
{
	free(d->filename);
	free(d->tdsp);
	free(d->url);
	free(d->posted);
}

void iw_ercot_docs_free(struct iw_ercot_docs *docs)
{
	for (size_t i = 0; i < docs->n; i++)
		doc_free(&docs->v[i]);
	free(docs->v);
	memset(docs, 0, sizeof *docs);
}

/* The post time of a document, from its timestamp or its constructed name. */
static int doc_time(const char *name, const char *posted, time_t *t)
{
	const char *parts[8];
	size_t lens[8], np;
	char buf[32];

	if (posted && iw_ercot_parse_time(posted, t) == 0)
		return 0;
	np = iw_ercot_name_dot_parts(iw_ercot_name_base_name(name), parts, lens, 8);
	if (np >= 6 && lens[3] == 8 && iw_ercot_name_all_digits(parts[3], 8) && lens[4] >= 6 &&
	    iw_ercot_name_all_digits(parts[4], 6)) {
		snprintf(buf, sizeof buf, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", parts[3], parts[3] + 4,
			 parts[3] + 6, parts[4], parts[4] + 2, parts[4] + 4);
		return iw_ercot_parse_time(buf, t);
	}
	return -1;
}

static unsigned long long fnv1a(const char *s)
{
	unsigned long long h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

int iw_ercot_docs_add(struct iw_ercot_docs *docs, const char *day, const char *tdsp,
		      const char *name, const char *tdsp_name, const char *url,
		      const char *posted, long long size)
{
	struct iw_ercot_doc d = { .size = size };
	char code[IW_ERCOT_TDSP_MAX], file[IW_ERCOT_FILENAME_MAX], when[32];
	time_t t;
	struct tm tm;

	if (++docs->offered > IW_ERCOT_OFFERS_MAX) {
		docs->full = 1;
		return -1;
	}
	if (!name || !url || iw_ercot_safe_filename(name, file, sizeof file) != 0)
		return 0;
	/* A known TDSP wins, from the friendly name or link text first; generic
	 * text ("zip", "Download") must not hide the TDSP in the file name. */
	if (!(tdsp_name && iw_ercot_tdsp_known(tdsp_name, code, sizeof code)) &&
	    !iw_ercot_tdsp_known(name, code, sizeof code) &&
	    iw_ercot_tdsp_code(name, code, sizeof code) != 0 &&
	    (!tdsp_name || iw_ercot_tdsp_code(tdsp_name, code, sizeof code) != 0))
		snprintf(code, sizeof code, "UNKNOWN");
	if (tdsp && strcmp(tdsp, code) != 0)
		return 0;
	when[0] = '\0';
	if (doc_time(name, posted, &t) == 0) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
		if (day && strncmp(when, day, IW_ERCOT_DAY_LEN) != 0)
			return 0;
	}
	/* The same file listed twice (links repeated on a page) counts once;
	 * hashes first, so each offer costs little even against many documents. */
	d.name_hash = fnv1a(file);
	d.url_hash = fnv1a(url);
	for (size_t i = 0; i < docs->n; i++)
		if ((docs->v[i].name_hash == d.name_hash && !strcmp(docs->v[i].filename, file)) ||
		    (docs->v[i].url_hash == d.url_hash && !strcmp(docs->v[i].url, url)))
			return 0;
	if (docs->n >= IW_ERCOT_DOCS_MAX) {
		docs->full = 1;
		return -1;
	}
	if (docs->n == docs->cap) {
		size_t cap = docs->cap ? docs->cap * 2 : 16;
		struct iw_ercot_doc *v = realloc(docs->v, cap * sizeof *v);
		if (!v)
			return -1;
		docs->v = v;
		docs->cap = cap;
	}
	d.filename = strdup(file);
	d.tdsp = strdup(code);
	d.url = strdup(url);
	d.posted = when[0] ? strdup(when) : NULL;
	if (!d.filename || !d.tdsp || !d.url || (when[0] && !d.posted)) {
		doc_free(&d);
		return -1;
	}
	docs->v[docs->n++] = d;
	return 1;
}

const char *iw_ercot_docs_error(const struct iw_ercot_docs *docs)
{
	if (!docs->full)
		return "out of memory";
	return docs->offered > IW_ERCOT_OFFERS_MAX
		? "the listing offers more than " IW_ERCOT_STR(IW_ERCOT_OFFERS_MAX) " entries"
		: "the listing holds more than " IW_ERCOT_STR(IW_ERCOT_DOCS_MAX) " documents";
}

void iw_ercot_docs_keep_latest_day(struct iw_ercot_docs *docs, char day[IW_ERCOT_DAY_LEN + 1])
{
	const char *latest = NULL;
	size_t kept = 0;

	for (size_t i = 0; i < docs->n; i++)
		if (docs->v[i].posted &&
		    (!latest || strncmp(docs->v[i].posted, latest, IW_ERCOT_DAY_LEN) > 0))
			latest = docs->v[i].posted;
	if (!latest)
		return; /* no dates (page links): keep them all, under DAY */
	memcpy(day, latest, IW_ERCOT_DAY_LEN);
	day[IW_ERCOT_DAY_LEN] = '\0';
	for (size_t i = 0; i < docs->n; i++) {
		struct iw_ercot_doc *d = &docs->v[i];
		if (!d->posted || strncmp(d->posted, day, IW_ERCOT_DAY_LEN) == 0)
			docs->v[kept++] = *d;
		else
			doc_free(d);
	}
	docs->n = kept;
}
