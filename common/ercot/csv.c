/* The streaming parser of the headerless extract CSV (declared in
 * ercot/ingest.h): one pass over the bytes, a fixed row buffer, so its cost
 * is linear in the input whatever its shape. */
#include "ercot/ingest.h"
#include "ercot/address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERCOT_COPY_FLUSH    (128u * 1024)
#define ERCOT_COPY_CAP      (ERCOT_COPY_FLUSH + 2 * IW_ERCOT_ROW_MAX + 512 + \
			     IW_ADDR_NUMBER_MAX + IW_ADDR_NORM_MAX)

const char *const iw_ercot_column_names[IW_ERCOT_COLUMNS] = {
	"ESIID", "ADDRESS", "ADDRESS_OVERFLOW", "CITY", "STATE", "ZIPCODE", "COUNTY", "DUNS",
	"METER_READ_CYCLE", "STATUS", "PREMISE_TYPE", "POWER_REGION", "STATIONCODE",
	"STATIONNAME", "METERED", "OPEN_SERVICE_ORDERS", "POLR_CUSTOMER_CLASS",
	"SETTLEMENT_AMS_INDICATOR", "TDSP_AMS_INDICATOR", "SWITCH_HOLD_INDICATOR",
	"PREMISE_SUB_TYPE_1", "PREMISE_SUB_TYPE_2",
};

enum csv_state { CSV_FIELD, CSV_BARE, CSV_QUOTED, CSV_QUOTE };

struct iw_ercot_csv {
	int (*emit)(const char *, size_t, void *);
	void *ctx;
	enum csv_state state;
	char row[IW_ERCOT_ROW_MAX];
	size_t rlen;
	size_t start[IW_ERCOT_COLUMNS], end[IW_ERCOT_COLUMNS];
	int nf;             /* fields ended in this record */
	int any;            /* the record has a character */
	long long seen;     /* input bytes, for the BOM */
	long long bom;      /* BOM bytes dropped */
	long long rows, bad;
	int columns;
	int failed;
	int descending;     /* an ESIID not above the one before it was seen */
	char prev[64];      /* the last ESIID as stored (trimmed) */
	size_t prev_len;
	char *out;
	size_t olen;
};

struct iw_ercot_csv *iw_ercot_csv_new(int (*emit)(const char *, size_t, void *), void *ctx)
{
	struct iw_ercot_csv *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (!(p->out = malloc(ERCOT_COPY_CAP))) {
		free(p);
		return NULL;
	}
	p->emit = emit;
	p->ctx = ctx;
	return p;
}

void iw_ercot_csv_free(struct iw_ercot_csv *p)
{
	if (!p)
		return;
	free(p->out);
	free(p);
}

long long iw_ercot_csv_rows(const struct iw_ercot_csv *p) { return p->rows; }
long long iw_ercot_csv_bad_rows(const struct iw_ercot_csv *p) { return p->bad; }
int iw_ercot_csv_columns(const struct iw_ercot_csv *p) { return p->columns; }
int iw_ercot_csv_ascending(const struct iw_ercot_csv *p) { return !p->descending; }

/* Keeps track of whether the ESIIDs, as they will be stored (trimmed like
 * copy_text does), come in strictly ascending byte order: then the file
 * lists no ESIID twice and the load needs no dedupe sort. */
static void note_order(struct iw_ercot_csv *p, const char *s, size_t n)
{
	int c;

	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (p->descending)
		return;
	if (!n || n > sizeof p->prev) {
		p->descending = 1;
		return;
	}
	c = memcmp(p->prev, s, p->prev_len < n ? p->prev_len : n);
	if (p->rows && (c > 0 || (c == 0 && p->prev_len >= n))) {
		p->descending = 1;
		return;
	}
	memcpy(p->prev, s, n);
	p->prev_len = n;
}

static int csv_flush(struct iw_ercot_csv *p)
{
	if (p->olen && p->emit(p->out, p->olen, p->ctx) != 0)
		return -1;
	p->olen = 0;
	return 0;
}

static void field_end(struct iw_ercot_csv *p)
{
	if (p->nf < IW_ERCOT_COLUMNS)
		p->end[p->nf] = p->rlen;
	p->nf++;
	if (p->nf < IW_ERCOT_COLUMNS)
		p->start[p->nf] = p->rlen;
}

static void copy_text(struct iw_ercot_csv *p, const char *s, size_t n)
{
	/* Trim the padding fixed-width exports leave. */
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (!n) {
		memcpy(p->out + p->olen, "\\N", 2);
		p->olen += 2;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		switch (c) {
		case '\\': p->out[p->olen++] = '\\'; p->out[p->olen++] = '\\'; break;
		case '\t': p->out[p->olen++] = '\\'; p->out[p->olen++] = 't'; break;
		case '\n': p->out[p->olen++] = '\\'; p->out[p->olen++] = 'n'; break;
		case '\r': p->out[p->olen++] = '\\'; p->out[p->olen++] = 'r'; break;
		default: p->out[p->olen++] = c;
		}
	}
}

/* Field I of the record (empty when absent) into OUT, NUL-terminated and
 * cut at IW_ADDR_IN_MAX bytes: the normaliser reads no further. */
static void field_str(const struct iw_ercot_csv *p, int i, int nf, char *out)
{
	size_t n = i < nf ? p->end[i] - p->start[i] : 0;
	if (n > IW_ADDR_IN_MAX)
		n = IW_ADDR_IN_MAX;
	memcpy(out, p->row + (i < nf ? p->start[i] : 0), n);
	out[n] = 0;
}

/* The lookup's columns (ercot/address.h) from ADDRESS and ADDRESS_OVERFLOW:
 * the same rules as the lookup's query, applied once per row here. */
static void copy_address(struct iw_ercot_csv *p, int nf)
{
	char l1[IW_ADDR_IN_MAX + 1], l2[IW_ADDR_IN_MAX + 1];
	struct iw_ercot_address a;

	field_str(p, 1, nf, l1);
	field_str(p, 2, nf, l2);
	iw_ercot_address_normalize(l1, l2, &a);
	p->out[p->olen++] = '\t';
	copy_text(p, a.number, strlen(a.number));
	p->out[p->olen++] = '\t';
	copy_text(p, a.norm, strlen(a.norm));
}

static int record_end(struct iw_ercot_csv *p)
{
	int nf;
	size_t esiid_len;
	const char *esiid;

	field_end(p);
	nf = p->nf;
	if (!p->any) {              /* blank line */
		goto reset;
	}
	esiid = p->row + p->start[0];
	esiid_len = p->end[0] - p->start[0];
	while (esiid_len && (*esiid == ' ' || *esiid == '\''))
		esiid++, esiid_len--;
	if (nf < IW_ERCOT_COLUMNS_OLD || !esiid_len) {
		p->bad++;
		goto reset;
	}
	if (p->olen > ERCOT_COPY_FLUSH && csv_flush(p) != 0)
		return -1;
	note_order(p, esiid, esiid_len);
	if (nf > p->columns)
		p->columns = nf > IW_ERCOT_COLUMNS ? IW_ERCOT_COLUMNS : nf;
	for (int i = 0; i < IW_ERCOT_COLUMNS; i++) {
		if (i)
			p->out[p->olen++] = '\t';
		if (i == 0)
			copy_text(p, esiid, esiid_len);
		else if (i < nf)
			copy_text(p, p->row + p->start[i], p->end[i] - p->start[i]);
		else
			copy_text(p, "", 0);
	}
	copy_address(p, nf);
	p->rows++;
	p->olen += (size_t)snprintf(p->out + p->olen, 32, "\t%lld\n", p->rows);
reset:
	p->rlen = 0;
	p->nf = 0;
	p->any = 0;
	p->start[0] = 0;
	p->state = CSV_FIELD;
	return 0;
}

static int put_char(struct iw_ercot_csv *p, char c)
{
	p->any = 1;
	if (p->nf >= IW_ERCOT_COLUMNS)
		return 0; /* extra columns: ignored */
	if (p->rlen >= sizeof p->row)
		return -1;
	p->row[p->rlen++] = c;
	return 0;
}

int iw_ercot_csv_feed(struct iw_ercot_csv *p, const char *buf, size_t len)
{
	for (size_t i = 0; i < len && !p->failed; i++, p->seen++) {
		char c = buf[i];
		int rc = 0;

		/* A UTF-8 byte order mark at the very start is dropped. */
		if (p->seen < 3 && p->seen == p->bom && (unsigned char)c == (unsigned char)"\xEF\xBB\xBF"[p->seen]) {
			p->bom++;
			continue;
		}
		switch (p->state) {
		case CSV_FIELD:
		case CSV_BARE:
			if (c == '"' && p->state == CSV_FIELD) {
				p->state = CSV_QUOTED;
				p->any = 1;
			} else if (c == ',') {
				p->any = 1;
				field_end(p);
				p->state = CSV_FIELD;
			} else if (c == '\n') {
				rc = record_end(p);
			} else if (c != '\r') {
				rc = put_char(p, c);
				p->state = CSV_BARE;
			}
			break;
		case CSV_QUOTED:
			if (c == '"')
				p->state = CSV_QUOTE;
			else
				rc = put_char(p, c);
			break;
		case CSV_QUOTE:
			if (c == '"') {
				rc = put_char(p, c);
				p->state = CSV_QUOTED;
			} else if (c == ',') {
				field_end(p);
				p->state = CSV_FIELD;
			} else if (c == '\n') {
				rc = record_end(p);
			} else if (c != '\r') {
				rc = put_char(p, c); /* lenient: text after a closing quote */
				p->state = CSV_BARE;
			}
			break;
		}
		if (rc)
			p->failed = 1;
	}
	return p->failed ? -1 : 0;
}

int iw_ercot_csv_finish(struct iw_ercot_csv *p)
{
	if (p->failed)
		return -1;
	if ((p->any || p->nf) && record_end(p) != 0)
		return -1;
	return csv_flush(p);
}

