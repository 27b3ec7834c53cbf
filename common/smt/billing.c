/* Billing / daily read CSV -> SmtBillingRead; see smt/billing.h.
 * Rows go in with one COPY on the caller's master transaction. */
#include "smt/billing.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/buf.h"
#include "core/log.h"
#include "io/db_copy.h"
#include "io/db_raw.h"
#include "core/utf8_fix.h"
#include "core/validate.h"

#define READ_CHUNK   (64 * 1024)
#define FIELDS_MAX   128
#define COPY_FLUSH   (64 * 1024)
#define VALUE_MAX    256        /* longest value kept in a typed column */
#define KWH_INT_MAX  9          /* numeric(14,5) */

enum col {
	C_ESIID, C_METER, C_TDSP_CODE, C_TDSP_NAME, C_START, C_END, C_BILL, C_KWH, C_BILLED,
	C__MAX
};

/* Aliases per column, first match wins. */
static const char *const aliases[C__MAX][6] = {
	[C_ESIID] = { "ESIID", "ESI_ID", NULL },
	[C_METER] = { "METER_NUMBER", "METER", "METER_ID", NULL },
	[C_TDSP_CODE] = { "TDSP_DUNS", "TDSP_CODE", "TDSP", NULL },
	[C_TDSP_NAME] = { "TDSP_NAME", NULL },
	[C_START] = { "READ_START_DATE", "START_DATE", "SERVICE_START_DATE", "USAGE_DATE", NULL },
	[C_END] = { "READ_END_DATE", "END_DATE", "SERVICE_END_DATE", "USAGE_DATE", NULL },
	[C_BILL] = { "BILL_DATE", "BILLING_DATE", "INVOICE_DATE", NULL },
	[C_KWH] = { "KWH", "TOTAL_KWH", "USAGE_KWH", "ACTUAL_KWH", "METERED_KWH", NULL },
	[C_BILLED] = { "BILLED_KWH", "KWH_BILLED", "BILLING_KWH", NULL },
};

static const char SQL_REPLACE[] =
	"DELETE FROM \"SmtBillingRead\" WHERE \"rawSmtFileId\" IN "
	"(SELECT id FROM raw_smt_files WHERE filename = $1 AND id <> $2::bigint)";
static const char SQL_COPY[] =
	"COPY \"SmtBillingRead\" (esiid, meter, \"tdspCode\", \"tdspName\", \"readStart\", "
	"\"readEnd\", \"billDate\", \"kwhTotal\", \"kwhBilled\", source, \"rawSmtFileId\", "
	"\"rawRow\") FROM STDIN";

struct reader {
	int fd;
	char *buf;
	size_t len, pos, cap;
	int eof;
	long line;         /* line number of the next record's first line */
};

/* The next record (quoted line breaks kept), without its line end, in OUT.
 * Returns 1, 0 at the end, -1 on a read error or a record over the limit. */
static int next_record(struct reader *r, struct iw_buf *out, long *first_line)
{
	int quoted = 0;

	out->len = 0;
	*first_line = r->line;
	for (;;) {
		if (r->pos == r->len) {
			ssize_t n;
			if (r->eof)
				break;
			n = read(r->fd, r->buf, r->cap);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if (n == 0) {
				r->eof = 1;
				break;
			}
			r->len = (size_t)n;
			r->pos = 0;
		}
		{
			size_t start = r->pos;
			while (r->pos < r->len) {
				char c = r->buf[r->pos++];
				if (c == '"')
					quoted = !quoted;
				else if (c == '\n') {
					r->line++;
					if (!quoted) {
						size_t n = r->pos - 1 - start;
						if (iw_buf_put(out, r->buf + start, n) != 0)
							return -1;
						if (out->len && out->data[out->len - 1] == '\r')
							out->data[--out->len] = '\0';
						return 1;
					}
				}
			}
			if (iw_buf_put(out, r->buf + start, r->pos - start) != 0 ||
			    out->len > IW_SMT_BILLING_LINE_MAX)
				return -1;
		}
	}
	if (out->len && out->data[out->len - 1] == '\r')
		out->data[--out->len] = '\0';
	return out->len ? 1 : 0;
}

/* Splits REC in place (RFC 4180 quotes); returns the field count. */
static int split(char *rec, char **f, int maxf)
{
	int nf = 0;
	char *p = rec;

	for (;;) {
		char *o = p, *start = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '"' && p[1] == '"') {
					*o++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else if (*p == '\0') {
					break;
				} else {
					*o++ = *p++;
				}
			}
			while (*p && *p != ',')
				p++; /* junk after the closing quote is dropped */
		} else {
			while (*p && *p != ',')
				p++;
			o = p;
		}
		{
			char sep = *p;
			*o = '\0';
			if (nf < maxf)
				f[nf] = start;
			nf++;
			if (sep != ',')
				break;
			p++;
		}
	}
	return nf;
}

static char *trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* M/D/YYYY or YYYY-MM-DD (anything after a space or 'T' ignored) -> "YYYY-MM-DD". */
static int parse_date(const char *s, char out[11])
{
	unsigned y, m, d;
	int n = 0;

	if (sscanf(s, "%4u-%2u-%2u%n", &y, &m, &d, &n) == 3 && n == 10) {
	} else if (sscanf(s, "%2u/%2u/%4u%n", &m, &d, &y, &n) == 3 && n >= 8 && s[n - 5] == '/') {
	} else {
		return -1;
	}
	if (s[n] && s[n] != ' ' && s[n] != 'T')
		return -1;
	if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	{
		static const unsigned mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
		int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		if (d > mdays[m - 1] || (m == 2 && d == 29 && !leap))
			return -1;
	}
	snprintf(out, 11, "%04u-%02u-%02u", y, m, d);
	return 0;
}

/* A decimal for numeric(14,5): optional '-', digits with optional thousands
 * commas, optional fraction. Rounds nothing: Postgres rounds to 5 places. */
static int parse_kwh(const char *s, char *out, size_t outlen)
{
	size_t o = 0, intd = 0, fracd = 0;
	int dot = 0;

	if (*s == '-')
		out[o++] = *s++;
	for (; *s; s++) {
		if (isdigit((unsigned char)*s)) {
			if (dot)
				fracd++;
			else
				intd++;
		} else if (*s == ',' && !dot && intd) {
			continue;
		} else if (*s == '.' && !dot) {
			dot = 1;
		} else {
			return -1;
		}
		if (o + 2 > outlen)
			return -1;
		out[o++] = *s;
	}
	out[o] = '\0';
	if (intd + fracd == 0 || intd > KWH_INT_MAX || fracd > 12)
		return -1;
	return 0;
}

static int name_is(const char *field, const char *name)
{
	char tmp[64];
	size_t n;

	while (isspace((unsigned char)*field) || *field == '"')
		field++;
	n = strlen(field);
	while (n && (isspace((unsigned char)field[n - 1]) || field[n - 1] == '"'))
		n--;
	if (n >= sizeof tmp)
		return 0;
	memcpy(tmp, field, n);
	tmp[n] = '\0';
	return strcasecmp(tmp, name) == 0;
}

static void reason(struct iw_smt_billing_stats *st, long line, const char *fmt, ...)
	IW_PRINTF(3, 4);
static void reason(struct iw_smt_billing_stats *st, long line, const char *fmt, ...)
{
	va_list ap;

	st->malformed++;
	if (st->nreasons >= IW_SMT_BILLING_REASONS)
		return;
	st->reasons[st->nreasons].line = line;
	va_start(ap, fmt);
	vsnprintf(st->reasons[st->nreasons].msg, sizeof st->reasons[0].msg, fmt, ap);
	va_end(ap);
	st->nreasons++;
}

static const char *cell(char **f, int nf, const int *col, enum col c)
{
	if (col[c] < 0 || col[c] >= nf)
		return "";
	return f[col[c]];
}

/* Appends one COPY line for a data row; 1 when the row is malformed. */
static int row_line(struct iw_buf *out, char **f, int nf, int nheader, char **hdr,
		    const int *col, const struct iw_smt_billing_file *file,
		    struct iw_smt_billing_stats *st, long line)
{
	char esiid[IW_ESIID_MAX + 1], start[11], end[11], bill[11], kwh[40], billed[40], id[24];
	const char *v, *esiid_in;
	char esiid_raw[64];
	json_object *raw;
	int rc = -1;

	if (nf > FIELDS_MAX || nf != nheader) {
		reason(st, line, "%d fields, the header has %d", nf, nheader);
		return 1;
	}
	for (int i = 0; i < nf; i++)
		f[i] = trim(f[i]);
	esiid_in = cell(f, nf, col, C_ESIID);
	if (*esiid_in == '\'')
		esiid_in++;
	snprintf(esiid_raw, sizeof esiid_raw, "%s", esiid_in);
	if (!*esiid_raw && file->esiid)
		snprintf(esiid_raw, sizeof esiid_raw, "%s", file->esiid);
	if (iw_esiid_normalize(esiid_raw, esiid) != 0) {
		reason(st, line, "ESIID: not 17-22 digits");
		return 1;
	}
	start[0] = end[0] = bill[0] = kwh[0] = billed[0] = '\0';
	if (*(v = cell(f, nf, col, C_START)) && parse_date(v, start) != 0) {
		reason(st, line, "read start date: not M/D/YYYY or YYYY-MM-DD");
		return 1;
	}
	if (*(v = cell(f, nf, col, C_END)) && parse_date(v, end) != 0) {
		reason(st, line, "read end date: not M/D/YYYY or YYYY-MM-DD");
		return 1;
	}
	if (*(v = cell(f, nf, col, C_BILL)) && parse_date(v, bill) != 0) {
		reason(st, line, "bill date: not M/D/YYYY or YYYY-MM-DD");
		return 1;
	}
	if (*(v = cell(f, nf, col, C_KWH)) && parse_kwh(v, kwh, sizeof kwh) != 0) {
		reason(st, line, "kWh: not a decimal");
		return 1;
	}
	if (*(v = cell(f, nf, col, C_BILLED)) && parse_kwh(v, billed, sizeof billed) != 0) {
		reason(st, line, "billed kWh: not a decimal");
		return 1;
	}
	if (!start[0] && !end[0]) {
		reason(st, line, "no read date");
		return 1;
	}
	if (!(raw = json_object_new_object()))
		return -1;
	for (int i = 0; i < nf; i++)
		json_object_object_add(raw, trim(hdr[i]), json_object_new_string(f[i]));
	snprintf(id, sizeof id, "%lld", file->raw_file_id);
#define COL(s) (iw_db_copy_escape(out, (s)) == 0 && iw_buf_put(out, "\t", 1) == 0)
#define OPT(s) ((s)[0] ? (s) : NULL)
	{
		char vbuf[VALUE_MAX + 1];
		const char *meter = cell(f, nf, col, C_METER);
		const char *tcode = cell(f, nf, col, C_TDSP_CODE);
		const char *tname = cell(f, nf, col, C_TDSP_NAME);
		if (!*meter && file->meter)
			meter = file->meter;
		if (COL(esiid) &&
		    COL(*meter ? (snprintf(vbuf, sizeof vbuf, "%s", meter), vbuf) : NULL) &&
		    COL(OPT(tcode)) && COL(OPT(tname)) && COL(OPT(start)) && COL(OPT(end)) &&
		    COL(OPT(bill)) && COL(OPT(kwh)) && COL(OPT(billed)) && COL(file->source) &&
		    COL(id) && iw_db_copy_escape(out, json_object_to_json_string_ext(raw,
						JSON_C_TO_STRING_PLAIN)) == 0 &&
		    iw_buf_put(out, "\n", 1) == 0)
			rc = 0;
	}
#undef COL
#undef OPT
	json_object_put(raw);
	return rc;
}

/* Postgres refuses invalid UTF-8: REC's stray bytes read as Windows-1252
 * instead. 0, or -1 when out of memory. */
static int repair_record(struct iw_buf *rec, struct iw_smt_billing_stats *st)
{
	size_t n;
	char *fixed;

	if (iw_utf8_valid(rec->data, rec->len))
		return 0;
	if (!(fixed = iw_utf8_repair(rec->data, rec->len, &n)))
		return -1;
	free(rec->data);
	rec->data = fixed;
	rec->len = n;
	rec->cap = n + 1; /* known to be allocated; a larger block only grows later */
	st->transcoded++;
	return 0;
}

/* The header record P: its trimmed names in HDR (kept in COPY), the column
 * of each kind in COL. The number of fields, or -1 (ERR set) when it is not
 * a billing header. */
static int read_header(const char *p, struct iw_buf *copy, char **hdr, int *col,
		       const struct iw_smt_billing_file *file, char *err, size_t errlen)
{
	int nf;

	if (iw_buf_put(copy, p, strlen(p)) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	nf = split(copy->data, hdr, FIELDS_MAX);
	if (nf > FIELDS_MAX)
		nf = FIELDS_MAX;
	for (int c = 0; c < C__MAX; c++) {
		col[c] = -1;
		for (int a = 0; aliases[c][a] && col[c] < 0; a++)
			for (int i = 0; i < nf && col[c] < 0; i++)
				if (name_is(hdr[i], aliases[c][a]))
					col[c] = i;
	}
	if ((col[C_START] < 0 && col[C_END] < 0) || (col[C_KWH] < 0 && col[C_BILLED] < 0) ||
	    (col[C_ESIID] < 0 && !file->esiid)) {
		snprintf(err, errlen, "no billing CSV header (an ESIID, a read date and a kWh column)");
		return -1;
	}
	for (int i = 0; i < nf; i++)
		hdr[i] = trim(hdr[i]);
	return nf;
}

/* Replaces the rows of earlier versions of FILE and opens the COPY: 0, or
 * -1 with ERR and the SQLSTATE in ST. */
static int begin_load(PGconn *master, const struct iw_smt_billing_file *file,
		      struct iw_smt_billing_stats *st, char *err, size_t errlen)
{
	char id[24];
	const char *params[2] = { file->filename, id };
	PGresult *res;
	int ok;

	snprintf(id, sizeof id, "%lld", file->raw_file_id);
	res = PQexecParams(master, SQL_REPLACE, 2, NULL, params, NULL, NULL, 0);
	if (!(ok = PQresultStatus(res) == PGRES_COMMAND_OK)) {
		iw_pg_sqlstate(res, st->sqlstate);
		snprintf(err, errlen, "%s", PQresultErrorMessage(res));
	} else {
		st->replaced = strtol(PQcmdTuples(res), NULL, 10);
	}
	PQclear(res);
	if (!ok)
		return -1;
	return iw_db_copy_start(master, SQL_COPY, PGRES_COPY_IN, err, errlen);
}

int iw_smt_billing_load(PGconn *master, const struct iw_smt_billing_file *file,
			struct iw_smt_billing_stats *st, char *err, size_t errlen)
{
	struct reader r = { .fd = file->fd, .line = 1, .cap = READ_CHUNK };
	struct iw_buf rec = { 0 }, hdr_copy = { 0 }, out = { 0 };
	char *f[FIELDS_MAX], *hdr[FIELDS_MAX];
	int col[C__MAX], nheader = 0, copying = 0, rc = IW_SMT_BILLING_EIO;
	long line;
	int got;

	memset(st, 0, sizeof *st);
	if (lseek(file->fd, 0, SEEK_SET) != 0 || !(r.buf = malloc(r.cap))) {
		snprintf(err, errlen, "cannot read the spooled file");
		goto out;
	}
	while ((got = next_record(&r, &rec, &line)) == 1) {
		char *p;
		if (repair_record(&rec, st) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		p = rec.data;
		if (!nheader && line == 1 && rec.len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3;
		if (strspn(p, ", \t") == strlen(p)) {
			st->blank++;
			continue;
		}
		if (!nheader) {
			if ((nheader = read_header(p, &hdr_copy, hdr, col, file, err, errlen)) < 0) {
				rc = hdr_copy.failed ? IW_SMT_BILLING_EIO : IW_SMT_BILLING_ENOHEADER;
				goto out;
			}
			if (!master)
				continue; /* parse only (the fuzz target) */
			if (begin_load(master, file, st, err, errlen) != 0) {
				rc = IW_SMT_BILLING_EDB;
				goto out;
			}
			copying = 1;
			continue;
		}
		{
			int nf = split(p, f, FIELDS_MAX);
			int bad = row_line(&out, f, nf, nheader, hdr, col, file, st, line);
			if (bad < 0)
				goto out;
			if (bad == 0)
				st->rows++;
		}
		if (!master)
			out.len = 0;
		if (out.len >= COPY_FLUSH) {
			if (PQputCopyData(master, out.data, (int)out.len) != 1) {
				snprintf(err, errlen, "%s", PQerrorMessage(master));
				rc = IW_SMT_BILLING_EDB;
				goto out;
			}
			out.len = 0;
		}
	}
	if (got < 0) {
		snprintf(err, errlen, "cannot read the spooled file (or a record over %d bytes)",
			 IW_SMT_BILLING_LINE_MAX);
		goto out;
	}
	if (!nheader) {
		snprintf(err, errlen, "no billing CSV header (the file is empty)");
		rc = IW_SMT_BILLING_ENOHEADER;
		goto out;
	}
	rc = IW_SMT_BILLING_OK;
	if (!master)
		goto out;
	if (out.len && PQputCopyData(master, out.data, (int)out.len) != 1) {
		snprintf(err, errlen, "%s", PQerrorMessage(master));
		rc = IW_SMT_BILLING_EDB;
		goto out;
	}
	copying = 0;
	if (iw_db_copy_end(master, NULL, err, errlen, st->sqlstate) != 0)
		rc = IW_SMT_BILLING_EDB;
out:
	if (copying)
		iw_db_copy_end(master, "billing load aborted", NULL, 0, NULL);
	free(r.buf);
	iw_buf_free(&rec);
	iw_buf_free(&hdr_copy);
	iw_buf_free(&out);
	return rc;
}
