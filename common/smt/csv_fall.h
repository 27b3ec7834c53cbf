/* The fall-back day's repeated hour 1:00-1:59 of an SMT interval CSV (not for
 * use outside smt/csv*.c): which occurrence each row of that hour is, per
 * ESIID, day and flow; rows of a file that began inside the hour are held
 * until the file says which they were. See smt/csv_fall.c. */
#ifndef IW_SMT_CSV_FALL_H
#define IW_SMT_CSV_FALL_H

#include <stdint.h>

#include "core/validate.h"
#include "smt/csv.h"

#define FALL_SLOTS 16 /* (esiid, date, flow) keys tracked on fall-back days */
#define FALL_HELD  8  /* rows of the repeated hour held back per key */

struct held_row {
	int start;
	int estimated;
	long line;
	char kwh[IW_SMT_CSV_KWH_MAX];
};

struct fall_slot {
	int used;
	int64_t day;
	char flow;
	char esiid[IW_ESIID_MAX + 1];
	uint64_t seen; /* bit m: a row starting at 1:m already seen (CDT) */
	int fell;      /* the transition row passed: 1:xx is CST from now on */
	int before;    /* a row before 1:00 (or a resolved hour): new 1:xx starts are CDT */
	int nheld;     /* the file began inside the hour: rows not yet placed */
	struct held_row held[FALL_HELD];
};

/* Hands a held row of slot S on, now known to be at OFFSET (minutes west of
 * UTC); non-zero stops the parse (the row callback's error). */
typedef int (*iw_smt_fall_place_fn)(void *ctx, const struct fall_slot *s, const struct held_row *h,
				    int offset);

struct iw_smt_fall {
	struct fall_slot slot[FALL_SLOTS];
	int next;
	iw_smt_fall_place_fn place;
	void *ctx;
};

void iw_smt_fall_init(struct iw_smt_fall *f, iw_smt_fall_place_fn place, void *ctx);
/* SMT's transition row "2:00,1:15" of the key: rows held before it were the
 * first occurrence; 1:xx is CST from now on. 0, or the placement's error. */
int iw_smt_fall_transition(struct iw_smt_fall *f, const char *esiid, int64_t day, char flow);
/* A row of the fall-back day starting at local minute START: *FIRST set when
 * it is the first (CDT) occurrence of a 1:xx start; *HOLD set when the row
 * must be held (iw_smt_fall_hold) instead of handed on. BLANK rows are never
 * held. 0, or the placement's error. */
int iw_smt_fall_row(struct iw_smt_fall *f, const char *esiid, int64_t day, char flow, int start,
		    int blank, int *first, struct fall_slot **hold);
void iw_smt_fall_hold(struct fall_slot *s, int start, const char *kwh, int estimated, long line);
/* The end of the file: rows still held were the second (CST) occurrence. */
int iw_smt_fall_finish(struct iw_smt_fall *f);
#endif
