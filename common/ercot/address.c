/* Service-address normalisation (see ercot/address.h). A single pass over
 * the bytes into at most ADDR_TOKENS words, each word looked up once in one
 * hash table: cheap enough for the loader's millions of rows. */
#include "ercot/address.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_TOKENS   32
#define ADDR_TOKEN    40   /* longest word kept, with its NUL */

enum kind { K_WORD, K_SUFFIX, K_ROAD, K_DIR, K_UNIT, K_ORD };

struct word {
	const char *in;    /* as written */
	const char *out;   /* canonical */
	enum kind kind;
};

/* USPS Publication 28 (appendix C1 street suffixes, C2 unit designators),
 * the directionals, Texas road types that come before their number (FM 1960,
 * HWY 290: K_ROAD), and ordinal words. Canonical forms map to themselves
 * (added at start-up), so "ST" is known as a suffix too. */
static const struct word WORDS[] = {
	{ "ALLEY", "ALY", K_SUFFIX }, { "ALLEE", "ALY", K_SUFFIX }, { "ALLY", "ALY", K_SUFFIX },
	{ "ANNEX", "ANX", K_SUFFIX }, { "ARCADE", "ARC", K_SUFFIX },
	{ "AVENUE", "AVE", K_SUFFIX }, { "AV", "AVE", K_SUFFIX }, { "AVEN", "AVE", K_SUFFIX },
	{ "AVENU", "AVE", K_SUFFIX }, { "AVN", "AVE", K_SUFFIX }, { "AVNUE", "AVE", K_SUFFIX },
	{ "BAYOU", "BYU", K_SUFFIX }, { "BEND", "BND", K_SUFFIX }, { "BLUFF", "BLF", K_SUFFIX },
	{ "BOULEVARD", "BLVD", K_SUFFIX }, { "BOUL", "BLVD", K_SUFFIX }, { "BOULV", "BLVD", K_SUFFIX },
	{ "BRANCH", "BR", K_SUFFIX }, { "BRIDGE", "BRG", K_SUFFIX }, { "BROOK", "BRK", K_SUFFIX },
	{ "BYPASS", "BYP", K_SUFFIX }, { "CANYON", "CYN", K_SUFFIX }, { "CAUSEWAY", "CSWY", K_SUFFIX },
	{ "CENTER", "CTR", K_SUFFIX }, { "CENTRE", "CTR", K_SUFFIX },
	{ "CIRCLE", "CIR", K_SUFFIX }, { "CIRC", "CIR", K_SUFFIX }, { "CIRCL", "CIR", K_SUFFIX },
	{ "CRCL", "CIR", K_SUFFIX }, { "CRCLE", "CIR", K_SUFFIX }, { "CLIFF", "CLF", K_SUFFIX },
	{ "CLUB", "CLB", K_SUFFIX }, { "COMMON", "CMN", K_SUFFIX }, { "CORNER", "COR", K_SUFFIX },
	{ "COURT", "CT", K_SUFFIX }, { "CRT", "CT", K_SUFFIX }, { "COURTS", "CTS", K_SUFFIX },
	{ "COVE", "CV", K_SUFFIX }, { "CREEK", "CRK", K_SUFFIX }, { "CRESCENT", "CRES", K_SUFFIX },
	{ "CREST", "CRST", K_SUFFIX }, { "CROSSING", "XING", K_SUFFIX }, { "CRSSNG", "XING", K_SUFFIX },
	{ "DALE", "DL", K_SUFFIX }, { "DAM", "DM", K_SUFFIX }, { "DIVIDE", "DV", K_SUFFIX },
	{ "DRIVE", "DR", K_SUFFIX }, { "DRIV", "DR", K_SUFFIX }, { "DRV", "DR", K_SUFFIX },
	{ "ESTATE", "EST", K_SUFFIX }, { "ESTATES", "ESTS", K_SUFFIX },
	{ "EXPRESSWAY", "EXPY", K_SUFFIX }, { "EXPRESS", "EXPY", K_SUFFIX }, { "EXPW", "EXPY", K_SUFFIX },
	{ "EXPR", "EXPY", K_SUFFIX }, { "EXTENSION", "EXT", K_SUFFIX }, { "FALLS", "FLS", K_SUFFIX },
	{ "FERRY", "FRY", K_SUFFIX }, { "FIELD", "FLD", K_SUFFIX }, { "FIELDS", "FLDS", K_SUFFIX },
	{ "FLAT", "FLT", K_SUFFIX }, { "FLATS", "FLTS", K_SUFFIX }, { "FORD", "FRD", K_SUFFIX },
	{ "FOREST", "FRST", K_SUFFIX }, { "FORGE", "FRG", K_SUFFIX }, { "FORK", "FRK", K_SUFFIX },
	{ "FORT", "FT", K_SUFFIX }, { "FREEWAY", "FWY", K_SUFFIX }, { "FRWY", "FWY", K_SUFFIX },
	{ "FREEWY", "FWY", K_SUFFIX }, { "GARDEN", "GDN", K_SUFFIX }, { "GARDENS", "GDNS", K_SUFFIX },
	{ "GATEWAY", "GTWY", K_SUFFIX }, { "GLEN", "GLN", K_SUFFIX }, { "GREEN", "GRN", K_SUFFIX },
	{ "GROVE", "GRV", K_SUFFIX }, { "HARBOR", "HBR", K_SUFFIX }, { "HAVEN", "HVN", K_SUFFIX },
	{ "HEIGHTS", "HTS", K_SUFFIX }, { "HT", "HTS", K_SUFFIX },
	{ "HILL", "HL", K_SUFFIX }, { "HILLS", "HLS", K_SUFFIX },
	{ "HOLLOW", "HOLW", K_SUFFIX }, { "HLLW", "HOLW", K_SUFFIX }, { "HOLLOWS", "HOLW", K_SUFFIX },
	{ "ISLAND", "IS", K_SUFFIX }, { "JUNCTION", "JCT", K_SUFFIX }, { "KNOLL", "KNL", K_SUFFIX },
	{ "LAKE", "LK", K_SUFFIX }, { "LAKES", "LKS", K_SUFFIX }, { "LANDING", "LNDG", K_SUFFIX },
	{ "LANE", "LN", K_SUFFIX }, { "LIGHT", "LGT", K_SUFFIX }, { "LODGE", "LDG", K_SUFFIX },
	{ "MANOR", "MNR", K_SUFFIX }, { "MEADOW", "MDW", K_SUFFIX }, { "MEADOWS", "MDWS", K_SUFFIX },
	{ "MILL", "ML", K_SUFFIX }, { "MISSION", "MSN", K_SUFFIX }, { "MOUNT", "MT", K_SUFFIX },
	{ "MOUNTAIN", "MTN", K_SUFFIX }, { "ORCHARD", "ORCH", K_SUFFIX }, { "OVERPASS", "OPAS", K_SUFFIX },
	{ "PARK", "PARK", K_SUFFIX }, { "PARKS", "PARK", K_SUFFIX },
	{ "PARKWAY", "PKWY", K_SUFFIX }, { "PARKWY", "PKWY", K_SUFFIX }, { "PKWAY", "PKWY", K_SUFFIX },
	{ "PKY", "PKWY", K_SUFFIX }, { "PASS", "PASS", K_SUFFIX }, { "PATH", "PATH", K_SUFFIX },
	{ "PIKE", "PIKE", K_SUFFIX }, { "PINE", "PNE", K_SUFFIX }, { "PINES", "PNES", K_SUFFIX },
	{ "PLACE", "PL", K_SUFFIX }, { "PLAIN", "PLN", K_SUFFIX }, { "PLAINS", "PLNS", K_SUFFIX },
	{ "PLAZA", "PLZ", K_SUFFIX }, { "POINT", "PT", K_SUFFIX }, { "POINTE", "PT", K_SUFFIX },
	{ "PORT", "PRT", K_SUFFIX }, { "PRAIRIE", "PR", K_SUFFIX }, { "RANCH", "RNCH", K_SUFFIX },
	{ "RIDGE", "RDG", K_SUFFIX }, { "RIVER", "RIV", K_SUFFIX }, { "ROAD", "RD", K_SUFFIX },
	{ "ROW", "ROW", K_SUFFIX }, { "RUN", "RUN", K_SUFFIX }, { "SHOAL", "SHL", K_SUFFIX },
	{ "SHORE", "SHR", K_SUFFIX }, { "SHORES", "SHRS", K_SUFFIX }, { "SPRING", "SPG", K_SUFFIX },
	{ "SPRINGS", "SPGS", K_SUFFIX }, { "SQUARE", "SQ", K_SUFFIX }, { "STATION", "STA", K_SUFFIX },
	{ "STREET", "ST", K_SUFFIX }, { "STR", "ST", K_SUFFIX }, { "STRT", "ST", K_SUFFIX },
	{ "STREETS", "STS", K_SUFFIX }, { "SUMMIT", "SMT", K_SUFFIX },
	{ "TERRACE", "TER", K_SUFFIX }, { "TERR", "TER", K_SUFFIX }, { "TRACE", "TRCE", K_SUFFIX },
	{ "TRACK", "TRAK", K_SUFFIX }, { "TRAIL", "TRL", K_SUFFIX }, { "TRAILS", "TRL", K_SUFFIX },
	{ "TRLS", "TRL", K_SUFFIX }, { "TUNNEL", "TUNL", K_SUFFIX }, { "TURNPIKE", "TPKE", K_SUFFIX },
	{ "VALLEY", "VLY", K_SUFFIX }, { "VIEW", "VW", K_SUFFIX }, { "VILLAGE", "VLG", K_SUFFIX },
	{ "VILLE", "VL", K_SUFFIX }, { "VISTA", "VIS", K_SUFFIX }, { "WALK", "WALK", K_SUFFIX },
	{ "WAY", "WAY", K_SUFFIX }, { "WELLS", "WLS", K_SUFFIX },
	/* Roads named by a number after their type. */
	{ "HIGHWAY", "HWY", K_ROAD }, { "HIWAY", "HWY", K_ROAD }, { "HIWY", "HWY", K_ROAD },
	{ "HWAY", "HWY", K_ROAD }, { "FM", "FM", K_ROAD }, { "CR", "CR", K_ROAD },
	{ "SH", "SH", K_ROAD }, { "IH", "IH", K_ROAD }, { "INTERSTATE", "IH", K_ROAD },
	{ "US", "US", K_ROAD }, { "LOOP", "LOOP", K_ROAD }, { "SPUR", "SPUR", K_ROAD },
	{ "RR", "RR", K_ROAD },
	/* Directionals. */
	{ "NORTH", "N", K_DIR }, { "SOUTH", "S", K_DIR }, { "EAST", "E", K_DIR }, { "WEST", "W", K_DIR },
	{ "NORTHEAST", "NE", K_DIR }, { "NORTHWEST", "NW", K_DIR }, { "SOUTHEAST", "SE", K_DIR },
	{ "SOUTHWEST", "SW", K_DIR },
	/* Unit designators: the kind of unit is dropped, only its id is kept. */
	{ "APARTMENT", "UNIT", K_UNIT }, { "APT", "UNIT", K_UNIT }, { "UNIT", "UNIT", K_UNIT },
	{ "SUITE", "UNIT", K_UNIT }, { "STE", "UNIT", K_UNIT }, { "#", "UNIT", K_UNIT },
	{ "BUILDING", "UNIT", K_UNIT }, { "BLDG", "UNIT", K_UNIT }, { "LOT", "UNIT", K_UNIT },
	{ "ROOM", "UNIT", K_UNIT }, { "RM", "UNIT", K_UNIT }, { "SPACE", "UNIT", K_UNIT },
	{ "SPC", "UNIT", K_UNIT }, { "TRAILER", "UNIT", K_UNIT }, { "TRLR", "UNIT", K_UNIT },
	{ "FLOOR", "UNIT", K_UNIT }, { "FL", "UNIT", K_UNIT }, { "DEPARTMENT", "UNIT", K_UNIT },
	{ "DEPT", "UNIT", K_UNIT }, { "OFFICE", "UNIT", K_UNIT }, { "OFC", "UNIT", K_UNIT },
	{ "PENTHOUSE", "UNIT", K_UNIT }, { "PH", "UNIT", K_UNIT }, { "HANGAR", "UNIT", K_UNIT },
	{ "HNGR", "UNIT", K_UNIT }, { "SLIP", "UNIT", K_UNIT }, { "PIER", "UNIT", K_UNIT },
	{ "STOP", "UNIT", K_UNIT }, { "BOX", "UNIT", K_UNIT },
	/* Ordinal words (cheap: a table). */
	{ "FIRST", "1ST", K_ORD }, { "SECOND", "2ND", K_ORD }, { "THIRD", "3RD", K_ORD },
	{ "FOURTH", "4TH", K_ORD }, { "FIFTH", "5TH", K_ORD }, { "SIXTH", "6TH", K_ORD },
	{ "SEVENTH", "7TH", K_ORD }, { "EIGHTH", "8TH", K_ORD }, { "NINTH", "9TH", K_ORD },
	{ "TENTH", "10TH", K_ORD }, { "ELEVENTH", "11TH", K_ORD }, { "TWELFTH", "12TH", K_ORD },
	{ "THIRTEENTH", "13TH", K_ORD }, { "FOURTEENTH", "14TH", K_ORD },
	{ "FIFTEENTH", "15TH", K_ORD }, { "SIXTEENTH", "16TH", K_ORD },
	{ "SEVENTEENTH", "17TH", K_ORD }, { "EIGHTEENTH", "18TH", K_ORD },
	{ "NINETEENTH", "19TH", K_ORD }, { "TWENTIETH", "20TH", K_ORD },
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

/* An open-addressing hash of every spelling (and each canonical form): one
 * hash and usually one strcmp a word, the loader's hot path. */
#define HASH_SLOTS 2048   /* > 3 x the entries, a power of two */

static struct word table[HASH_SLOTS];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static unsigned hash(const char *w)
{
	unsigned h = 2166136261u;   /* FNV-1a */
	for (; *w; w++)
		h = (h ^ (unsigned char)*w) * 16777619u;
	return h;
}

static void table_put(const char *in, const char *out, enum kind kind)
{
	unsigned i = hash(in) & (HASH_SLOTS - 1);
	while (table[i].in && strcmp(table[i].in, in) != 0)
		i = (i + 1) & (HASH_SLOTS - 1);
	if (!table[i].in)
		table[i] = (struct word){ in, out, kind };
}

static void table_init(void)
{
	for (size_t i = 0; i < NWORDS; i++) {
		table_put(WORDS[i].in, WORDS[i].out, WORDS[i].kind);
		table_put(WORDS[i].out, WORDS[i].out, WORDS[i].kind);
	}
}

/* A word of the table, or NULL; the table must be initialised. */
static const struct word *find(const char *w)
{
	unsigned i = hash(w) & (HASH_SLOTS - 1);
	for (; table[i].in; i = (i + 1) & (HASH_SLOTS - 1))
		if (!strcmp(table[i].in, w))
			return &table[i];
	return NULL;
}

static const struct word *lookup(const char *w)
{
	pthread_once(&table_once, table_init);
	return find(w);
}

struct tokens {
	char w[ADDR_TOKENS][ADDR_TOKEN];
	int n;
};

/* Splits S into upper-case words of letters and digits; '#' is a word of
 * its own; '.' and '\'' join ("N.W." is NW, "O'NEIL" is ONEIL); any other
 * byte separates. */
static void split(const char *s, struct tokens *t)
{
	size_t len = 0, read = 0;

	if (!s)
		return;
	for (; *s && read < IW_ADDR_IN_MAX && t->n < ADDR_TOKENS; s++, read++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			if (len < ADDR_TOKEN - 1)
				t->w[t->n][len++] = (char)c;
			continue;
		}
		if (c == '.' || c == '\'')
			continue;
		if (len) {
			t->w[t->n++][len] = 0;
			len = 0;
		}
		if (c == '#' && t->n < ADDR_TOKENS)
			strcpy(t->w[t->n++], "#");
	}
	if (len && t->n < ADDR_TOKENS)
		t->w[t->n++][len] = 0;
}

static int has_digit(const char *s)
{
	for (; *s; s++)
		if (*s >= '0' && *s <= '9')
			return 1;
	return 0;
}

/* Appends WORD to OUT (LEN bytes used) with a space before it when OUT is
 * not empty; 0, or -1 when it does not fit (OUT unchanged). */
static int put(char *out, size_t cap, size_t *len, const char *word, int space)
{
	size_t n = strlen(word) + (space && *len ? 1 : 0);
	if (*len + n + 1 > cap)
		return -1;
	if (space && *len)
		out[(*len)++] = ' ';
	memcpy(out + *len, word, strlen(word) + 1);
	*len += strlen(word);
	return 0;
}

/* Texas road names of two or three words folded to their short type:
 * FARM TO MARKET (RD) -> FM, COUNTY RD -> CR, STATE HWY -> SH, US HWY -> US,
 * IH HWY / FM RD -> IH / FM. Returns the words consumed at I (0: none). */
static int road_phrase(const struct tokens *t, const char *canon[], int i, const char **out)
{
	const char *a = canon[i], *b = i + 1 < t->n ? canon[i + 1] : "";

	/* Each phrase starts with F, C, S, U or I: most words stop here. */
	if (!a[0] || !strchr("FCSUI", a[0]))
		return 0;
	if (!strcmp(a, "FARM") && i + 2 < t->n && !strcmp(b, "TO") &&
	    (!strcmp(canon[i + 2], "MARKET") || !strcmp(canon[i + 2], "MKT"))) {
		*out = "FM";
		return i + 3 < t->n && !strcmp(canon[i + 3], "RD") ? 4 : 3;
	}
	if ((!strcmp(a, "COUNTY") && !strcmp(b, "RD")) || (!strcmp(a, "CO") && !strcmp(b, "RD")))
		return *out = "CR", 2;
	if (!strcmp(a, "STATE") && !strcmp(b, "HWY"))
		return *out = "SH", 2;
	if ((!strcmp(a, "US") || !strcmp(a, "IH") || !strcmp(a, "SH")) && !strcmp(b, "HWY"))
		return *out = a, 2;
	if (!strcmp(a, "FM") && !strcmp(b, "RD"))
		return *out = "FM", 2;
	return 0;
}

void iw_ercot_address_normalize(const char *line1, const char *line2,
				struct iw_ercot_address *out)
{
	struct tokens t;
	const char *canon[ADDR_TOKENS];
	enum kind kind[ADDR_TOKENS];
	char street[IW_ADDR_NORM_MAX] = "", unit[IW_ADDR_NORM_MAX] = "";
	size_t slen = 0, ulen = 0;
	int i = 0, street_words = 0, last_suffix = 0, in_unit = 0, group = 0;

	memset(out, 0, sizeof *out);
	t.n = 0;
	split(line1, &t);
	split(line2, &t);
	pthread_once(&table_once, table_init);
	for (int k = 0; k < t.n; k++) {
		const struct word *w = find(t.w[k]);
		canon[k] = w ? w->out : t.w[k];
		kind[k] = w ? w->kind : K_WORD;
	}
	/* The house number: a first word that starts with a digit. */
	if (t.n > 1 && t.w[0][0] >= '0' && t.w[0][0] <= '9') {
		size_t n = strnlen(t.w[0], sizeof out->number - 1);
		memcpy(out->number, t.w[0], n);
		out->number[n] = 0;
		i = 1;
	}
	for (; i < t.n; i++) {
		const char *road;
		int used;

		if (kind[i] == K_UNIT && street_words) {
			in_unit = 1;
			group = 0;
			continue;
		}
		if (in_unit) {
			/* Words of one unit id join ("2 B" = "2B"); designators part them. */
			if (!group && ulen && put(unit, sizeof unit, &ulen, "", 1) != 0)
				break;
			if (put(unit, sizeof unit, &ulen, t.w[i], 0) != 0)
				break;
			group = 1;
			continue;
		}
		/* A last word with a digit (or one letter) after a suffix is a unit
		 * written without its designator: "1200 ELM ST 210". */
		if (i == t.n - 1 && last_suffix && street_words >= 2 && kind[i] != K_DIR &&
		    (has_digit(t.w[i]) || !t.w[i][1])) {
			put(unit, sizeof unit, &ulen, t.w[i], 0);
			break;
		}
		if ((used = road_phrase(&t, canon, i, &road)) > 0) {
			if (put(street, sizeof street, &slen, road, 1) != 0)
				break;
			i += used - 1;
			street_words++;
			last_suffix = 0;
			continue;
		}
		if (put(street, sizeof street, &slen, canon[i], 1) != 0)
			break;
		street_words++;
		last_suffix = kind[i] == K_SUFFIX;
	}
	/* A line that was only a number is a street name ("100"), not a number. */
	if (!slen && out->number[0]) {
		put(street, sizeof street, &slen, out->number, 1);
		out->number[0] = 0;
	}
	memcpy(out->norm, street, slen + 1);
	if (ulen && slen + 6 + ulen + 1 <= sizeof out->norm) {
		memcpy(out->norm + slen, slen ? " UNIT " : "UNIT ", slen ? 6 : 5);
		memcpy(out->norm + slen + (slen ? 6 : 5), unit, ulen + 1);
	}
}

const char *iw_ercot_address_unit(const char *norm)
{
	const char *u = strstr(norm, "UNIT ");
	/* "UNIT" is never a street word: the normaliser takes it as designator. */
	while (u && u != norm && u[-1] != ' ')
		u = strstr(u + 1, "UNIT ");
	return u ? u + 5 : "";
}

size_t iw_ercot_address_street_len(const char *norm)
{
	const char *unit = iw_ercot_address_unit(norm);
	if (!*unit)
		return strlen(norm);
	return unit - 5 > norm ? (size_t)(unit - 6 - norm) : 0;
}

static int is_dir(const char *w, size_t n)
{
	static const char *const dirs[] = { "N", "S", "E", "W", "NE", "NW", "SE", "SW" };
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (strlen(dirs[i]) == n && !strncmp(dirs[i], w, n))
			return 1;
	return 0;
}

/* The words of NORM's street part: up to ADDR_TOKENS, as (start, length). */
struct words {
	const char *w[ADDR_TOKENS];
	size_t n[ADDR_TOKENS];
	int count;
};

static void street_words(const char *norm, struct words *ws)
{
	const char *end = norm + iw_ercot_address_street_len(norm), *p = norm;

	ws->count = 0;
	while (p < end && ws->count < ADDR_TOKENS) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		ws->w[ws->count] = p;
		while (p < end && *p != ' ')
			p++;
		ws->n[ws->count] = (size_t)(p - ws->w[ws->count]);
		ws->count++;
	}
}

static int dir_conflict(const char *a, size_t an, const char *b, size_t bn)
{
	return is_dir(a, an) && is_dir(b, bn) && (an != bn || strncmp(a, b, an));
}

/* The street's name key: its words joined, without a leading or trailing
 * directional; WITHOUT_SUFFIX also drops a last word that is a street type
 * (only the last: in OAK CRK DR, CRK is part of the name). */
static void name_key(const struct words *ws, int without_suffix, char *out, size_t cap)
{
	int first = 0, last = ws->count - 1;
	size_t len = 0;

	if (ws->count > 1 && is_dir(ws->w[0], ws->n[0]))
		first = 1;
	if (last > first && is_dir(ws->w[last], ws->n[last]))
		last--;
	if (without_suffix && last > first) {
		char w[ADDR_TOKEN];
		const struct word *k;
		snprintf(w, sizeof w, "%.*s", (int)ws->n[last], ws->w[last]);
		if ((k = lookup(w)) && (k->kind == K_SUFFIX || k->kind == K_ROAD))
			last--;
	}
	out[0] = 0;
	for (int i = first; i <= last && len + ws->n[i] + 1 < cap; i++) {
		memcpy(out + len, ws->w[i], ws->n[i]);
		len += ws->n[i];
		out[len] = 0;
	}
}

/* 1 when A and B differ by at most one edit (a typo). */
static int one_edit(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b), i = 0;

	if (an < bn) {
		const char *t = a; a = b; b = t;
		size_t tn = an; an = bn; bn = tn;
	}
	if (an - bn > 1)
		return 0;
	while (i < bn && a[i] == b[i])
		i++;
	if (an == bn)   /* one substitution: the rest is equal */
		return !strcmp(a + i + (i < an), b + i + (i < bn));
	return !strcmp(a + i + 1, b + i);  /* one deletion from A */
}

int iw_ercot_address_compatible(const char *norm_a, const char *norm_b)
{
	struct words a, b;
	char ka[IW_ADDR_NORM_MAX], kb[IW_ADDR_NORM_MAX], sa[IW_ADDR_NORM_MAX], sb[IW_ADDR_NORM_MAX];

	if (strcmp(iw_ercot_address_unit(norm_a), iw_ercot_address_unit(norm_b)) != 0)
		return 0;
	street_words(norm_a, &a);
	street_words(norm_b, &b);
	if (a.count > 1 && b.count > 1 &&
	    (dir_conflict(a.w[0], a.n[0], b.w[0], b.n[0]) ||
	     dir_conflict(a.w[a.count - 1], a.n[a.count - 1], b.w[b.count - 1], b.n[b.count - 1])))
		return 0;
	/* The same name: equal, one side without its street type (ELM for ELM
	 * ST), or one typo in a long name. Another word (HILL for FOREST, DR for
	 * ST) is another street, however close the trigram score. */
	name_key(&a, 0, ka, sizeof ka);
	name_key(&b, 0, kb, sizeof kb);
	if (!strcmp(ka, kb))
		return 1;
	name_key(&a, 1, sa, sizeof sa);
	name_key(&b, 1, sb, sizeof sb);
	if (!strcmp(ka, sb) || !strcmp(sa, kb))
		return 1;
	return strlen(ka) >= 6 && strlen(kb) >= 6 && one_edit(ka, kb);
}
