/* The fall-back hour of SMT interval CSVs; see smt/csv_fall.h.
 *
 * On the fall-back day the hour 1:00-1:59 happens twice: the first row of a
 * given start time (per ESIID, date and flow) is CDT, a repeat is CST; SMT's
 * transition row "2:00,1:15" (start after end) is the 1:00 CST interval, and
 * every 1:xx row after it is CST. Rows must come in time order within a day
 * for this to work, as SMT writes them.
 *
 * A file that begins inside that hour (a part of a larger export, cut by the
 * droplet upload server anywhere) has no earlier row to compare with: its
 * first 1:xx rows are held back until the file says which hour they were.
 * A transition row, a repeated start or a start earlier than theirs after
 * them: they were the first (CDT) occurrence. The hour ending (a row at
 * 2:00 or later, the end of the file) with none of these: they were the
 * second (CST) one, after the transition row that the previous part holds.
 * So every part is placed exactly, in any order, with no state kept between
 * parts (a part lying wholly inside the hour, FALL_HELD rows at most, is
 * taken as CST). More than FALL_SLOTS keys inside the hour at once are not
 * told apart.
 */
#include <stdio.h>
#include <string.h>

#include "smt/csv_fall.h"
#include "smt/csv_values.h"

void iw_smt_fall_init(struct iw_smt_fall *f, iw_smt_fall_place_fn place, void *ctx)
{
	memset(f, 0, sizeof(*f));
	f->place = place;
	f->ctx = ctx;
}

/* The held rows of S, placed at OFFSET (CDT: they were the first occurrence
 * of the hour; CST: the second), in the order they came. */
static int place_held(struct iw_smt_fall *f, struct fall_slot *s, int offset)
{
	int rc = 0, n = s->nheld;

	s->nheld = 0;
	if (offset == CST_OFFSET_MIN)
		s->fell = 1;
	else
		s->before = 1;
	for (int i = 0; i < n && rc == 0; i++)
		rc = f->place(f->ctx, s, &s->held[i], offset);
	return rc;
}

static struct fall_slot *find(struct iw_smt_fall *f, const char *esiid, int64_t day, char flow)
{
	for (int i = 0; i < FALL_SLOTS; i++) {
		struct fall_slot *s = &f->slot[i];

		if (s->used && s->day == day && s->flow == flow && strcmp(s->esiid, esiid) == 0)
			return s;
	}
	return NULL;
}

/* The key's slot, made when new. More keys inside the hour at once than
 * slots: the oldest is placed as if its hour had ended (*RC its error). */
static struct fall_slot *slot(struct iw_smt_fall *f, const char *esiid, int64_t day, char flow,
			      int *rc)
{
	struct fall_slot *s = find(f, esiid, day, flow);

	*rc = 0;
	if (s)
		return s;
	s = &f->slot[f->next];
	f->next = (f->next + 1) % FALL_SLOTS;
	if (s->nheld)
		*rc = place_held(f, s, CST_OFFSET_MIN);
	memset(s, 0, sizeof(*s));
	s->used = 1;
	s->day = day;
	s->flow = flow;
	snprintf(s->esiid, sizeof(s->esiid), "%s", esiid);
	return s;
}

int iw_smt_fall_transition(struct iw_smt_fall *f, const char *esiid, int64_t day, char flow)
{
	int rc;
	struct fall_slot *s = slot(f, esiid, day, flow, &rc);

	/* Rows held before the transition were the first occurrence. */
	if (rc == 0 && s->nheld)
		rc = place_held(f, s, CDT_OFFSET_MIN);
	s->fell = 1;
	return rc;
}

int iw_smt_fall_row(struct iw_smt_fall *f, const char *esiid, int64_t day, char flow, int start,
		    int blank, int *first, struct fall_slot **hold)
{
	struct fall_slot *s;
	uint64_t bit;
	int back, rc;

	if (start < 60) {
		slot(f, esiid, day, flow, &rc)->before = 1;
		return rc;
	}
	if (start >= 120) {
		/* The hour ended with no transition and no repeat: held rows were CST. */
		if ((s = find(f, esiid, day, flow)) && s->nheld)
			return place_held(f, s, CST_OFFSET_MIN);
		return 0;
	}
	s = slot(f, esiid, day, flow, &rc);
	if (rc)
		return rc;
	bit = 1ULL << (start - 60);
	/* Back in time after held rows: the repeat began (no transition row). */
	back = s->nheld && start < s->held[s->nheld - 1].start;
	if (s->fell || (s->seen & bit) || back) {
		s->fell |= back;
		/* A repeat: rows held before it were the first occurrence. */
		return s->nheld ? place_held(f, s, CDT_OFFSET_MIN) : 0;
	}
	s->seen |= bit;
	*first = 1;
	if (!s->before && !blank && s->nheld < FALL_HELD)
		*hold = s;
	return 0;
}

void iw_smt_fall_hold(struct fall_slot *s, int start, const char *kwh, int estimated, long line)
{
	struct held_row *h = &s->held[s->nheld];

	memcpy(h->kwh, kwh, sizeof(h->kwh));
	h->estimated = estimated;
	h->start = start;
	h->line = line;
	s->nheld++;
}

int iw_smt_fall_finish(struct iw_smt_fall *f)
{
	int rc = 0;

	for (int i = 0; i < FALL_SLOTS && rc == 0; i++)
		if (f->slot[i].nheld)
			rc = place_held(f, &f->slot[i], CST_OFFSET_MIN);
	return rc;
}
