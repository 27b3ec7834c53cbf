/* The streaming parser of the headerless extract CSV (declared in
 * ercot/ingest.h): one pass over the bytes, a fixed row buffer, so its cost
 * is linear in the input whatever its shape. */
#include "ercot/ingest.h"
#include "core/utf8_fix.h"
#include "ercot/address.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#define ERCOT_COPY_FLUSH    (128u * 1024)
/* A row's bytes at most triple: escaped (2) or repaired (UTF-8 of
 * Windows-1252, up to 3; core/utf8_fix.h). */
#define ERCOT_COPY_CAP      (ERCOT_COPY_FLUSH + 3 * IW_ERCOT_ROW_MAX + 512 + \
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
	long long rows, bad, transcoded;
	int columns;
	int failed;
	int descending;     /* an ESIID not above the one before it was seen */
	char prev[64];      /* the last ESIID as stored (trimmed) */
	size_t prev_len;
	char *out;
	size_t olen;
	char *fixed;        /* a field with its stray bytes read as Windows-1252 */
	EVP_MD *sha256;     /* fetched once: an implicit fetch a row takes a lock */
	/* The steady-state filter (ercot/stored.h): NULL, or asked about each
	 * row; a row it declines is not COPYed. */
	int (*keep)(void *ctx, const char *esiid, size_t n, const char *hash);
	void *keep_ctx;
	int keep_failed;    /* the filter gave up, or the file is not in order */
	EVP_MD_CTX *md;     /* the row's values hash (values_hash) */
};

struct iw_ercot_csv *iw_ercot_csv_new(int (*emit)(const char *, size_t, void *), void *ctx)
{
	struct iw_ercot_csv *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (!(p->out = malloc(ERCOT_COPY_CAP)) || !(p->fixed = malloc(3 * IW_ERCOT_ROW_MAX)) ||
	    !(p->md = EVP_MD_CTX_new()) ||
	    !(p->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
		EVP_MD_CTX_free(p->md);
		free(p->fixed);
		free(p->out);
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
	EVP_MD_free(p->sha256);
	EVP_MD_CTX_free(p->md);
	free(p->fixed);
	free(p->out);
	free(p);
}

long long iw_ercot_csv_rows(const struct iw_ercot_csv *p) { return p->rows; }
long long iw_ercot_csv_bad_rows(const struct iw_ercot_csv *p) { return p->bad; }
long long iw_ercot_csv_transcoded_rows(const struct iw_ercot_csv *p) { return p->transcoded; }
int iw_ercot_csv_columns(const struct iw_ercot_csv *p) { return p->columns; }
int iw_ercot_csv_ascending(const struct iw_ercot_csv *p) { return !p->descending; }

void iw_ercot_csv_set_filter(struct iw_ercot_csv *p,
			     int (*keep)(void *ctx, const char *esiid, size_t n, const char *hash),
			     void *ctx)
{
	p->keep = keep;
	p->keep_ctx = ctx;
}

int iw_ercot_csv_filter_failed(const struct iw_ercot_csv *p) { return p->keep_failed; }

/* S, N trimmed of the padding copy_text trims: the value as stored. */
static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Keeps track of whether the ESIIDs S, N (trimmed: as they will be stored)
 * come in strictly ascending byte order: then the file lists no ESIID twice
 * and the load needs no dedupe sort. */
static void note_order(struct iw_ercot_csv *p, const char *s, size_t n)
{
	int c;

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
	trim(&s, &n); /* the padding fixed-width exports leave */
	if (!n) {
		memcpy(p->out + p->olen, "\\N", 2);
		p->olen += 2;
		return;
	}
	/* Runs without a byte to escape go in one copy; a local cursor, since
	 * stores through p->out (char) would make the compiler reload p->olen
	 * at every byte. */
	char *o = p->out + p->olen;
	for (size_t i = 0, k; i < n; i = k + 1) {
		for (k = i; k < n && s[k] != '\\' && s[k] != '\t' && s[k] != '\n' && s[k] != '\r'; k++)
			;
		memcpy(o, s + i, k - i);
		o += k - i;
		if (k == n)
			break;
		*o++ = '\\';
		*o++ = s[k] == '\\' ? '\\' : s[k] == '\t' ? 't' : s[k] == '\n' ? 'n' : 'r';
	}
	p->olen = (size_t)(o - p->out);
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

/* V (>= 0) in decimal at OUT: its length. printf cost a tenth of the
 * parse, twice a row. */
static size_t put_decimal(char *out, unsigned long long v)
{
	char d[20];
	size_t n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = d[n - 1 - i];
	return n;
}

/* The first 64 bits of the SHA-256 of the row's values as COPYed (the
 * fields after the ESIID, escaped and tab-separated: equal bytes are equal
 * values, different values different bytes), as COPY text into OUT: stored
 * beside the row as "valuesHash", so that a re-post finds its changed rows by
 * comparing one number instead of every column (ercot/steady.c); its
 * length, OUT NUL-terminated. \N (NULL)
 * when hashing failed: the row then counts as changed, never as unchanged. */
static size_t values_hash(struct iw_ercot_csv *p, size_t from, size_t to, char out[24])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	unsigned long long h = 0;
	size_t len;

	if (EVP_DigestInit_ex2(p->md, p->sha256, NULL) != 1 ||
	    EVP_DigestUpdate(p->md, p->out + from, to - from) != 1 ||
	    EVP_DigestFinal_ex(p->md, d, &n) != 1 || n < 8) {
		memcpy(out, "\\N", 3);
		return 2;
	}
	for (int i = 0; i < 8; i++)
		h = h << 8 | d[i];
	/* As a signed bigint: two's complement, written by hand. */
	if (h >> 63) {
		out[0] = '-';
		len = 1 + put_decimal(out + 1, ~h + 1);
	} else {
		len = put_decimal(out, h);
	}
	out[len] = '\0';
	return len;
}

/* How the record's fields reach a UTF-8 database, which refuses a text COPY
 * row with a NUL byte or invalid UTF-8 (and with it the whole file): 0 as
 * they are (the usual ASCII), 1 with stray bytes read as Windows-1252
 * (legacy exports write Ñ as the one byte 0xD1; core/utf8_fix.h), -1 not at
 * all (a NUL, or an ESIID that is not text: the row is bad). */
static int record_text(const struct iw_ercot_csv *p, int nf)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	int fields = nf < IW_ERCOT_COLUMNS ? nf : IW_ERCOT_COLUMNS;
	uint64_t w, flagged = 0;
	size_t i = 0;

	/* Eight bytes at a time: a byte 0 or >= 0x80 sets its high bit in
	 * (w - ones) | w (a borrow only follows a 0 byte, flagged anyway). */
	for (; i + 8 <= p->rlen; i += 8) {
		memcpy(&w, p->row + i, 8);
		flagged |= ((w - ones) | w) & highs;
	}
	for (; i < p->rlen; i++)
		flagged |= (unsigned char)p->row[i] - 1u >= 0x7Fu;
	if (!flagged)
		return 0;
	if (memchr(p->row, 0, p->rlen))
		return -1;
	/* Field by field: a sequence cut by a separator is two bad halves. */
	for (int f = 0; f < fields; f++) {
		if (!iw_utf8_valid(p->row + p->start[f], p->end[f] - p->start[f]))
			return f ? 1 : -1;
	}
	return 0;
}

/* Field I (> 0) as COPY text, repaired first when the record needs it
 * (valid UTF-8 comes through the repair unchanged). */
static void copy_field(struct iw_ercot_csv *p, int i, int repair)
{
	const char *s = p->row + p->start[i];
	size_t n = p->end[i] - p->start[i];

	if (repair) {
		n = iw_utf8_repair_to(s, n, p->fixed);
		s = p->fixed;
	}
	copy_text(p, s, n);
}

static int record_end(struct iw_ercot_csv *p)
{
	int nf, text = 0;
	size_t esiid_len, values_from, row_from, hash_len;
	const char *esiid;
	char hash[24];

	field_end(p);
	nf = p->nf;
	if (!p->any) {              /* blank line */
		goto reset;
	}
	esiid = p->row + p->start[0];
	esiid_len = p->end[0] - p->start[0];
	while (esiid_len && (*esiid == ' ' || *esiid == '\''))
		esiid++, esiid_len--;
	if (nf < IW_ERCOT_COLUMNS_OLD || !esiid_len ||
	    (text = record_text(p, nf)) < 0) {
		p->bad++;
		goto reset;
	}
	p->transcoded += text;
	trim(&esiid, &esiid_len); /* as stored */
	if (p->olen > ERCOT_COPY_FLUSH && csv_flush(p) != 0)
		return -1;
	row_from = p->olen;
	note_order(p, esiid, esiid_len);
	/* The filter merges two ESIID-ordered streams: a file out of order
	 * ends it (the caller loads the file again without it). */
	if (p->keep && p->descending) {
		p->keep_failed = 1;
		return -1;
	}
	if (nf > p->columns)
		p->columns = nf > IW_ERCOT_COLUMNS ? IW_ERCOT_COLUMNS : nf;
	copy_text(p, esiid, esiid_len);
	values_from = p->olen;
	for (int i = 1; i < IW_ERCOT_COLUMNS; i++) {
		p->out[p->olen++] = '\t';
		if (i < nf)
			copy_field(p, i, text);
		else
			copy_text(p, "", 0);
	}
	hash_len = values_hash(p, values_from, p->olen, hash);
	p->rows++;
	if (p->keep) {
		int k;

		if ((k = p->keep(p->keep_ctx, esiid, esiid_len, hash)) < 0) {
			p->keep_failed = 1;
			return -1;
		}
		if (!k) { /* unchanged: not COPYed */
			p->olen = row_from;
			goto reset;
		}
	}
	copy_address(p, nf);
	p->out[p->olen++] = '\t';
	memcpy(p->out + p->olen, hash, hash_len);
	p->olen += hash_len;
	p->out[p->olen++] = '\t';
	p->olen += put_decimal(p->out + p->olen, p->rows);
	p->out[p->olen++] = '\n';
reset:
	p->rlen = 0;
	p->nf = 0;
	p->any = 0;
	p->start[0] = 0;
	p->state = CSV_FIELD;
	return 0;
}

/* Appends the N field bytes at S to the record: 0, or -1 past the cap. */
static int put_run(struct iw_ercot_csv *p, const char *s, size_t n)
{
	p->any = 1;
	if (p->nf >= IW_ERCOT_COLUMNS)
		return 0; /* extra columns: ignored */
	if (n > sizeof p->row - p->rlen)
		return -1;
	memcpy(p->row + p->rlen, s, n);
	p->rlen += n;
	return 0;
}

static int put_char(struct iw_ercot_csv *p, char c)
{
	return put_run(p, &c, 1);
}

/* The end of the run of bytes from I that no state change can stop at:
 * up to the next ',', '\n' or '\r' in a bare field. */
static size_t bare_run_end(const char *buf, size_t i, size_t len)
{
	while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
		i++;
	return i;
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
				/* The rest of a bare field's bytes in one copy. */
				size_t e = bare_run_end(buf, i + 1, len);
				rc = put_run(p, buf + i, e - i);
				p->seen += (long long)(e - i - 1);
				i = e - 1;
				p->state = CSV_BARE;
			}
			break;
		case CSV_QUOTED:
			if (c == '"') {
				p->state = CSV_QUOTE;
			} else {
				/* Up to the next quote in one copy. */
				const char *q = memchr(buf + i, '"', len - i);
				size_t e = q ? (size_t)(q - buf) : len;
				rc = put_run(p, buf + i, e - i);
				p->seen += (long long)(e - i - 1);
				i = e - 1;
			}
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

