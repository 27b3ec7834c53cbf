/* Record framing of an SMT interval CSV; see smt/csv_frame.h. */
#include "smt/csv_frame.h"

#include <stdlib.h>
#include <string.h>

#include "smt/csv.h"

int iw_smt_csv_frame_init(struct iw_smt_csv_frame *r)
{
	r->carry = malloc(IW_SMT_CSV_LINE_MAX);
	return r->carry ? 0 : -1;
}

void iw_smt_csv_frame_free(struct iw_smt_csv_frame *r)
{
	free(r->carry);
	r->carry = NULL;
}

static void carry_append(struct iw_smt_csv_frame *r, const char *s, size_t n)
{
	if (r->overflow)
		return;
	if (n > IW_SMT_CSV_LINE_MAX - r->carry_len) {
		/* Give up on quotes too: a stray quote must not swallow the file. */
		r->overflow = 1;
		r->quote_odd = 0;
		return;
	}
	memcpy(r->carry + r->carry_len, s, n);
	r->carry_len += n;
}

static int quote_parity(const char *s, size_t n)
{
	int odd = 0;

	for (size_t i = 0; i < n; i++)
		odd ^= s[i] == '"';
	return odd;
}

int iw_smt_csv_frame_feed(struct iw_smt_csv_frame *r, const char *buf, size_t len)
{
	size_t pos = 0;
	int rc;

	while (pos < len) {
		const char *s = buf + pos, *nl = memchr(s, '\n', len - pos);
		size_t seg = nl ? (size_t)(nl - s) : len - pos;

		if (!r->pending) {
			r->pending = 1;
			r->rec_line = r->lines + 1;
		}
		if (!r->overflow && memchr(s, '"', seg))
			r->quote_odd ^= quote_parity(s, seg);
		if (!nl) {
			carry_append(r, s, seg);
			break;
		}
		r->lines++;
		pos += seg + 1;
		if (r->quote_odd && !r->overflow) { /* line break inside quotes */
			carry_append(r, s, seg + 1);
			if (!r->overflow)
				continue;
			rc = r->too_long(r->ctx, r->rec_line); /* and resynchronise here */
		} else if (r->carry_len == 0 && !r->overflow) {
			rc = seg > IW_SMT_CSV_LINE_MAX ? r->too_long(r->ctx, r->rec_line)
						       : r->record(r->ctx, s, seg, r->rec_line);
		} else {
			carry_append(r, s, seg);
			rc = r->overflow ? r->too_long(r->ctx, r->rec_line)
					 : r->record(r->ctx, r->carry, r->carry_len, r->rec_line);
		}
		r->carry_len = 0;
		r->overflow = 0;
		r->quote_odd = 0;
		r->pending = 0;
		if (rc)
			return rc;
	}
	return 0;
}

int iw_smt_csv_frame_finish(struct iw_smt_csv_frame *r)
{
	int rc;

	if (!r->pending)
		return 0;
	r->lines++;
	rc = r->overflow ? r->too_long(r->ctx, r->rec_line)
			 : r->record(r->ctx, r->carry, r->carry_len, r->rec_line);
	r->carry_len = 0;
	r->pending = 0;
	return rc;
}
