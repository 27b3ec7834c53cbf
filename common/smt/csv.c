/* Streaming parser for SMT interval CSV files; see smt/csv.h.
 *
 * Speed: records are framed in place (smt/csv_frame.c). The date, its DST
 * kind and the normalised ESIID are cached from the previous row, since a
 * file repeats them 96 times a day.
 *
 * Time: SMT writes America/Chicago wall time. DST is computed from the date
 * (no TZ database): since 2007 it starts the 2nd Sunday of March 2:00 CST and
 * ends the 1st Sunday of November 2:00 CDT; 1987-2006 the 1st Sunday of April
 * and the last Sunday of October. The fall-back day's repeated hour is told
 * apart in smt/csv_fall.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smt/csv.h"
#include "smt/csv_fall.h"
#include "smt/csv_frame.h"
#include "smt/csv_values.h"
#include "core/time.h"

#define INTERVAL_MIN    15
#define DATE_RAW_MAX    16   /* longest USAGE_DATE cached */
#define ESIID_RAW_MAX   40   /* longest raw ESIID field cached */
#define HEADER_PROBE    4096 /* bytes of a first line iw_smt_csv_is_interval_header reads */
#define QUOTE_SHOW      40   /* bytes of a bad value quoted in a reason */

enum col {
	COL_ESIID,
	COL_DATE,
	COL_START,
	COL_END,
	COL_KWH,
	COL_EST,
	COL_FLOW,
	COL__MAX
};

static const char *const col_names[COL__MAX] = {
	[COL_ESIID] = "ESIID",
	[COL_DATE] = "USAGE_DATE",
	[COL_START] = "USAGE_START_TIME",
	[COL_END] = "USAGE_END_TIME",
	[COL_KWH] = "USAGE_KWH",
	[COL_EST] = "ESTIMATED_ACTUAL",
	[COL_FLOW] = "CONSUMPTION_SURPLUSGENERATION",
};

struct iw_smt_csv {
	iw_smt_csv_row_fn on_row;
	void *ctx;
	int err;      /* sticky */
	int finished;
	int bom_checked;

	int col[COL__MAX]; /* field index, -1 when absent */
	int ncols;         /* header fields */
	int need;          /* fields a row must have */
	int preamble;      /* non-header lines seen before the header */

	struct iw_smt_csv_frame frame; /* the byte stream cut into records */

	char *scratch; /* unescaped "" fields of one record */

	/* Cache of the previous row's date. */
	char date_raw[DATE_RAW_MAX];
	size_t date_rawn;
	int64_t date_day;
	int date_kind;

	/* Cache of the previous row's ESIID. */
	char esiid_raw[ESIID_RAW_MAX];
	size_t esiid_rawn;
	char esiid[IW_ESIID_MAX + 1];
	unsigned esiid_gen, esiid_seen_gen;
	char def_esiid[IW_ESIID_MAX + 1];

	struct iw_smt_fall fall;

	struct iw_smt_csv_stats st;
};

/* ---- malformed rows ---- */

static int bad(struct iw_smt_csv *p, long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct iw_smt_csv *p, long line, const char *fmt, ...)
{
	struct iw_smt_csv_reason *r;
	va_list ap;

	p->st.malformed++;
	if (p->st.nreasons >= IW_SMT_CSV_REASONS)
		return 0;
	r = &p->st.reasons[p->st.nreasons++];
	r->line = line;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return 0;
}

/* A value quoted in a reason: at most QUOTE_SHOW bytes, printable ASCII. */
static const char *shown(struct field f, char out[QUOTE_SHOW + 4])
{
	size_t n = f.n > QUOTE_SHOW ? QUOTE_SHOW : f.n, i;

	for (i = 0; i < n; i++)
		out[i] = f.s[i] >= 0x20 && f.s[i] < 0x7f && f.s[i] != '"' ? f.s[i] : '?';
	if (f.n > n) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

static int bad_value(struct iw_smt_csv *p, long line, enum col c, struct field f)
{
	char buf[QUOTE_SHOW + 4];

	return bad(p, line, "bad %s \"%s\"", col_names[c], shown(f, buf));
}

/* ---- the header ---- */

static int header(struct iw_smt_csv *p, const struct field *f, int nf)
{
	int col[COL__MAX], need = 0, stored = nf < IW_SMT_CSV_FIELDS_MAX ? nf : IW_SMT_CSV_FIELDS_MAX;

	for (int c = 0; c < COL__MAX; c++) {
		col[c] = -1;
		for (int i = 0; i < stored && col[c] < 0; i++)
			if (iw_smt_csv_name_eq(f[i], col_names[c]))
				col[c] = i;
		if (col[c] + 1 > need)
			need = col[c] + 1;
	}
	if (col[COL_DATE] < 0 || col[COL_START] < 0 || col[COL_KWH] < 0) {
		if (++p->preamble > IW_SMT_CSV_PREAMBLE_MAX)
			return IW_SMT_CSV_ENOHEADER;
		return 0;
	}
	memcpy(p->col, col, sizeof(col));
	p->ncols = nf;
	p->need = need;
	p->st.header_found = 1;
	return 0;
}

/* ---- rows ---- */

/* The ESIID of a row, from the cache when the raw field repeats. */
static const char *row_esiid(struct iw_smt_csv *p, struct field f)
{
	char buf[ESIID_RAW_MAX + 1];

	if (f.n && f.s[0] == '\'') { /* Excel's text marker, maybe with spaces after it */
		f.s++;
		f.n--;
		f = iw_smt_csv_trim(f);
	}
	if (f.n == 0)
		return p->def_esiid[0] ? p->def_esiid : NULL;
	if (f.n >= ESIID_RAW_MAX)
		return NULL;
	if (f.n == p->esiid_rawn && memcmp(f.s, p->esiid_raw, f.n) == 0)
		return p->esiid;
	memcpy(buf, f.s, f.n);
	buf[f.n] = '\0';
	if (iw_esiid_normalize(buf, p->esiid) != 0) {
		p->esiid_rawn = 0;
		return NULL;
	}
	memcpy(p->esiid_raw, f.s, f.n);
	p->esiid_rawn = f.n;
	p->esiid_gen++;
	return p->esiid;
}

static int row_date(struct iw_smt_csv *p, struct field f)
{
	int y, m, d;

	if (f.n == p->date_rawn && memcmp(f.s, p->date_raw, f.n) == 0)
		return 0;
	if (iw_smt_csv_parse_date(f, &y, &m, &d) != 0)
		return -1;
	if (y < MIN_YEAR || y > MAX_YEAR)
		return -2;
	p->date_day = iw_days_from_civil(y, (unsigned)m, (unsigned)d);
	p->date_kind = iw_smt_csv_day_kind(y, m, d);
	if (f.n <= DATE_RAW_MAX) {
		memcpy(p->date_raw, f.s, f.n);
		p->date_rawn = f.n;
	} else {
		p->date_rawn = 0;
	}
	return 0;
}

/* Row checks return 0 to go on, or ROW_DONE when the row is done with:
 * skipped as blank (an empty kWh: its date and time still count as an
 * occurrence of a fall-back hour) or counted malformed. */
#define ROW_DONE  1
#define BAD_START 1000 /* row_times: the start time, the end time */
#define BAD_END   1001

static int skip_blank(struct iw_smt_csv *p)
{
	p->st.blank++;
	return ROW_DONE;
}

static int row_width(struct iw_smt_csv *p, const struct field *f, int nf, long line)
{
	int extra = nf > IW_SMT_CSV_FIELDS_MAX;

	if (nf < p->need) {
		bad(p, line, "expected %d fields, got %d", p->ncols, nf);
		return ROW_DONE;
	}
	for (int i = p->ncols; i < nf && i < IW_SMT_CSV_FIELDS_MAX; i++)
		extra |= f[i].n != 0;
	if (nf > p->ncols && extra) {
		bad(p, line, "expected %d fields, got %d", p->ncols, nf);
		return ROW_DONE;
	}
	return 0;
}

/* Field C of the row, or an empty field when the file has no such column. */
static struct field opt_col(const struct iw_smt_csv *p, const struct field *f, int c)
{
	static const struct field none = { "", 0 };

	return p->col[c] >= 0 ? f[p->col[c]] : none;
}

/* The row's flow (C consumption, G generation) and ESIID. */
static int row_who(struct iw_smt_csv *p, const struct field *f, long line, int blank, char *flow,
		   const char **esiid)
{
	struct field flow_f = opt_col(p, f, COL_FLOW);

	*flow = 'C';
	if (flow_f.n) {
		switch (iw_smt_csv_upper(flow_f.s[0])) {
		case 'C':
			break;
		case 'G':
		case 'S':
			*flow = 'G';
			break;
		default:
			if (blank)
				return skip_blank(p);
			bad_value(p, line, COL_FLOW, flow_f);
			return ROW_DONE;
		}
	}
	*esiid = row_esiid(p, opt_col(p, f, COL_ESIID));
	if (*esiid)
		return 0;
	if (blank)
		return skip_blank(p);
	if (p->col[COL_ESIID] < 0)
		bad(p, line, "no ESIID column and no ESIID given");
	else
		bad_value(p, line, COL_ESIID, f[p->col[COL_ESIID]]);
	return ROW_DONE;
}

/* The row's day and its start and end minutes. */
static int row_times(struct iw_smt_csv *p, const struct field *f, long line, int blank, int *start,
		     int *end)
{
	struct field start_f = f[p->col[COL_START]];
	struct field end_f = opt_col(p, f, COL_END);
	char shownbuf[QUOTE_SHOW + 4];
	int rc = row_date(p, f[p->col[COL_DATE]]); /* -2: outside the years, other < 0: bad */

	*end = -1;
	if (rc == 0 && iw_smt_csv_parse_time(start_f, 0, start) != 0)
		rc = BAD_START;
	if (rc == 0 && end_f.n && iw_smt_csv_parse_time(end_f, 1, end) != 0)
		rc = BAD_END;
	if (rc == 0)
		return 0;
	if (blank)
		return skip_blank(p);
	if (rc == BAD_START)
		bad_value(p, line, COL_START, start_f);
	else if (rc == BAD_END)
		bad_value(p, line, COL_END, end_f);
	else if (rc == -2)
		bad(p, line, "USAGE_DATE \"%s\" outside %d-%d", shown(f[p->col[COL_DATE]], shownbuf),
		    MIN_YEAR, MAX_YEAR);
	else
		bad_value(p, line, COL_DATE, f[p->col[COL_DATE]]);
	return ROW_DONE;
}

/* A row's failure from the row callback (placing held rows): sticky. */
static int row_failed(struct iw_smt_csv *p, int rc)
{
	if (!p->err)
		p->err = rc;
	return ROW_DONE;
}

/* The UTC offset of the row's start; START moves back for SMT's transition
 * row (start after end, other than the day's last row ending 0:00). */
static int row_offset(struct iw_smt_csv *p, const struct field *f, long line, int blank,
		      const char *esiid, char flow, int *start, int end, int *offset,
		      struct fall_slot **hold)
{
	char shownbuf[QUOTE_SHOW + 4];
	int first = 0, rc;

	if (end > 0 && end < MIN_PER_DAY && *start > end) {
		if (p->date_kind == DAY_FALL) {
			if ((rc = iw_smt_fall_transition(&p->fall, esiid, p->date_day, flow)) != 0)
				return row_failed(p, rc);
			*offset = CDT_OFFSET_MIN;
			return blank ? skip_blank(p) : 0;
		}
		if (end < INTERVAL_MIN) {
			if (blank)
				return skip_blank(p);
			bad(p, line, "USAGE_START_TIME \"%s\" after USAGE_END_TIME",
			    shown(f[p->col[COL_START]], shownbuf));
			return ROW_DONE;
		}
		*start = end - INTERVAL_MIN;
	}
	if (p->date_kind == DAY_FALL &&
	    (rc = iw_smt_fall_row(&p->fall, esiid, p->date_day, flow, *start, blank, &first,
				  hold)) != 0)
		return row_failed(p, rc);
	if (iw_smt_csv_offset(p->date_kind, *start, first, offset) != 0) {
		if (blank)
			return skip_blank(p);
		bad(p, line, "local time %d:%02d does not exist (DST starts)", *start / 60, *start % 60);
		return ROW_DONE;
	}
	return blank ? skip_blank(p) : 0;
}

/* One interval to the callback, with the file's statistics. HELD: a row
 * placed late (its ESIID is compared, not taken from the row cache). */
static int emit(struct iw_smt_csv *p, const char *esiid, int64_t day, int start, int offset,
		const char *kwh, int estimated, char flow, long line, int held)
{
	struct iw_smt_interval iv;

	iv.esiid = esiid;
	iv.ts_ms = iw_smt_csv_to_ms(day, start, offset);
	iv.kwh = kwh;
	iv.estimated = estimated;
	iv.flow = flow;
	iv.line = line;
	if (held || p->esiid_gen != p->esiid_seen_gen || esiid == p->def_esiid) {
		if (!p->st.esiid[0])
			memcpy(p->st.esiid, esiid, strlen(esiid) + 1);
		else if (strcmp(p->st.esiid, esiid) != 0)
			p->st.multiple_esiids = 1;
		if (!held)
			p->esiid_seen_gen = p->esiid_gen;
	}
	if (p->st.rows == 0 || iv.ts_ms < p->st.min_ts_ms)
		p->st.min_ts_ms = iv.ts_ms;
	if (p->st.rows == 0 || iv.ts_ms > p->st.max_ts_ms)
		p->st.max_ts_ms = iv.ts_ms;
	p->st.rows++;
	return p->on_row ? p->on_row(&iv, p->ctx) : 0;
}

static int row(struct iw_smt_csv *p, const struct field *f, int nf, long line)
{
	struct fall_slot *hold = NULL;
	struct field kwh_f, est_f;
	char kwh[IW_SMT_CSV_KWH_MAX];
	const char *esiid;
	int blank, start, end, offset, rounded, estimated, rc;
	char flow;

	if (row_width(p, f, nf, line))
		return 0;
	kwh_f = f[p->col[COL_KWH]];
	blank = kwh_f.n == 0;
	if (row_who(p, f, line, blank, &flow, &esiid) ||
	    row_times(p, f, line, blank, &start, &end) ||
	    row_offset(p, f, line, blank, esiid, flow, &start, end, &offset, &hold))
		return p->err;
	if (iw_smt_csv_parse_kwh(kwh_f, kwh, &rounded) != 0)
		return bad_value(p, line, COL_KWH, kwh_f);
	p->st.kwh_rounded += rounded;
	est_f = opt_col(p, f, COL_EST);
	estimated = est_f.n && iw_smt_csv_upper(est_f.s[0]) == 'E';
	if (hold) {
		iw_smt_fall_hold(hold, start, kwh, estimated, line);
		return p->err;
	}
	rc = emit(p, esiid, p->date_day, start, offset, kwh, estimated, flow, line, 0);
	return rc ? rc : p->err;
}

/* A held row of the fall-back hour, placed (smt/csv_fall.c). */
static int place_held(void *ctx, const struct fall_slot *s, const struct held_row *h, int offset)
{
	return emit(ctx, s->esiid, s->day, h->start, offset, h->kwh, h->estimated, s->flow, h->line, 1);
}

/* One complete record, line break removed (smt/csv_frame.h). */
static int on_record(void *ctx, const char *s, size_t n, long line)
{
	struct iw_smt_csv *p = ctx;
	struct field f[IW_SMT_CSV_FIELDS_MAX];
	int nf, stored, empty = 1;

	if (!p->bom_checked) {
		p->bom_checked = 1;
		if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
			s += 3;
			n -= 3;
		}
	}
	if (n && s[n - 1] == '\r')
		n--;
	nf = iw_smt_csv_split(s, n, f, IW_SMT_CSV_FIELDS_MAX, p->scratch);
	stored = nf < IW_SMT_CSV_FIELDS_MAX ? nf : IW_SMT_CSV_FIELDS_MAX;
	for (int i = 0; i < stored && empty; i++)
		empty = f[i].n == 0;
	if (empty)
		return 0; /* blank line, or only separators */
	if (!p->st.header_found)
		return header(p, f, nf);
	return row(p, f, nf, line);
}

/* A record over IW_SMT_CSV_LINE_MAX: preamble before the header, else a
 * malformed row. */
static int on_too_long(void *ctx, long line)
{
	struct iw_smt_csv *p = ctx;

	if (!p->st.header_found)
		return ++p->preamble > IW_SMT_CSV_PREAMBLE_MAX ? IW_SMT_CSV_ENOHEADER : 0;
	return bad(p, line, "line longer than %d bytes", IW_SMT_CSV_LINE_MAX);
}

/* ---- API ---- */

struct iw_smt_csv *iw_smt_csv_new(iw_smt_csv_row_fn on_row, void *ctx)
{
	struct iw_smt_csv *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (iw_smt_csv_frame_init(&p->frame) != 0 || (p->scratch = malloc(IW_SMT_CSV_LINE_MAX)) == NULL)
		goto fail;
	p->frame.record = on_record;
	p->frame.too_long = on_too_long;
	p->frame.ctx = p;
	p->on_row = on_row;
	p->ctx = ctx;
	iw_smt_fall_init(&p->fall, place_held, p);
	for (int c = 0; c < COL__MAX; c++)
		p->col[c] = -1;
	return p;
fail:
	iw_smt_csv_free(p);
	return NULL;
}

int iw_smt_csv_set_esiid(struct iw_smt_csv *p, const char *esiid)
{
	if (iw_esiid_normalize(esiid, p->def_esiid) != 0) {
		p->def_esiid[0] = '\0';
		return -1;
	}
	return 0;
}

int iw_smt_csv_feed(struct iw_smt_csv *p, const char *buf, size_t len)
{
	int rc;

	if (p->err)
		return p->err;
	if (p->finished)
		return p->err = IW_SMT_CSV_ESTATE;
	rc = iw_smt_csv_frame_feed(&p->frame, buf, len);
	p->st.lines = p->frame.lines;
	return rc ? (p->err = rc) : 0;
}

int iw_smt_csv_finish(struct iw_smt_csv *p)
{
	int rc;

	if (p->err)
		return p->err;
	if (p->finished)
		return 0;
	p->finished = 1;
	rc = iw_smt_csv_frame_finish(&p->frame);
	p->st.lines = p->frame.lines;
	if (rc || (rc = iw_smt_fall_finish(&p->fall)) != 0)
		return p->err = rc;
	if (!p->st.header_found)
		return p->err = IW_SMT_CSV_ENOHEADER;
	return 0;
}

const struct iw_smt_csv_stats *iw_smt_csv_stats(const struct iw_smt_csv *p)
{
	return &p->st;
}

void iw_smt_csv_free(struct iw_smt_csv *p)
{
	if (!p)
		return;
	iw_smt_csv_frame_free(&p->frame);
	free(p->scratch);
	free(p);
}

const char *iw_smt_csv_strerror(int rc)
{
	switch (rc) {
	case IW_SMT_CSV_OK:
		return "ok";
	case IW_SMT_CSV_ENOHEADER:
		return "no SMT interval CSV header (USAGE_DATE, USAGE_START_TIME, USAGE_KWH)";
	case IW_SMT_CSV_ENOMEM:
		return "out of memory";
	case IW_SMT_CSV_ESTATE:
		return "parser already finished";
	default:
		return "aborted by the row callback";
	}
}

int iw_smt_csv_is_interval_header(const char *buf, size_t len)
{
	struct field f[IW_SMT_CSV_FIELDS_MAX];
	char scratch[HEADER_PROBE];
	const char *nl;
	size_t n;
	int nf, start = 0, kwh = 0;

	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	while (len && (iw_smt_csv_is_ws(*buf) || *buf == '\r' || *buf == '\n')) {
		buf++;
		len--;
	}
	nl = memchr(buf, '\n', len);
	n = nl ? (size_t)(nl - buf) : len;
	if (n > HEADER_PROBE)
		n = HEADER_PROBE;
	if (n && buf[n - 1] == '\r')
		n--;
	nf = iw_smt_csv_split(buf, n, f, IW_SMT_CSV_FIELDS_MAX, scratch);
	for (int i = 0; i < nf && i < IW_SMT_CSV_FIELDS_MAX; i++) {
		start |= iw_smt_csv_name_eq(f[i], col_names[COL_START]);
		kwh |= iw_smt_csv_name_eq(f[i], col_names[COL_KWH]);
	}
	return start && kwh;
}
