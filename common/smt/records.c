#include "smt/records.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/validate.h"

/* Deeper than json-c's own parser allows by default: a bound, not a limit. */
#define IW_SMT_WALK_DEPTH 64
#define IW_SMT_WORD_MAX   32

static const char *const agreement_keys[] = { "agreementNumber", NULL };
static const char *const esiid_keys[] = { "esiid", NULL };
static const char *const status_keys[] = { "status", "agreementStatus", NULL };
static const char *const reason_keys[] = { "statusReason", NULL };
static const char *const subscription_keys[] = { "subscriptionNumber", "subscriptionId", NULL };
static const char *const service_keys[] = { "serviceType", NULL };
static const char *const sub_status_keys[] = { "status", "subscriptionStatus", NULL };

static const struct {
	const char *word; /* lower-case letters only */
	enum iw_smt_status status;
} status_words[] = {
	{ "pen", IW_SMT_PENDING },   { "pending", IW_SMT_PENDING },
	{ "act", IW_SMT_ACTIVE },    { "active", IW_SMT_ACTIVE },
	{ "nacom", IW_SMT_DECLINED }, { "notaccepted", IW_SMT_DECLINED },
	{ "declined", IW_SMT_DECLINED },
	{ "com", IW_SMT_EXPIRED },   { "completed", IW_SMT_EXPIRED },
	{ "terminated", IW_SMT_EXPIRED }, { "nonactive", IW_SMT_EXPIRED },
	{ "inactive", IW_SMT_EXPIRED },
};

enum iw_smt_status iw_smt_normalize_text(const char *text)
{
	char word[IW_SMT_WORD_MAX + 1];
	size_t n = 0;

	if (!text)
		return IW_SMT_ERROR;
	/* "Not Accepted", "NOT_ACCEPTED", "not-accepted" are one word. */
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (isalpha(c)) {
			if (n == IW_SMT_WORD_MAX)
				return IW_SMT_ERROR;
			word[n++] = (char)tolower(c);
		} else if (c != ' ' && c != '_' && c != '-' && c != '\t') {
			return IW_SMT_ERROR;
		}
	}
	word[n] = '\0';
	for (size_t i = 0; i < sizeof status_words / sizeof *status_words; i++)
		if (strcmp(word, status_words[i].word) == 0)
			return status_words[i].status;
	return IW_SMT_ERROR;
}

enum iw_smt_status iw_smt_records_status(const char *status, const char *reason)
{
	enum iw_smt_status st = iw_smt_normalize_text(reason);

	return st != IW_SMT_ERROR ? st : iw_smt_normalize_text(status);
}

const char *iw_smt_status_name(enum iw_smt_status st)
{
	static const char *const names[IW_SMT_STATUS__MAX] = {
		[IW_SMT_PENDING] = "PENDING", [IW_SMT_ACTIVE] = "ACTIVE",
		[IW_SMT_DECLINED] = "DECLINED", [IW_SMT_EXPIRED] = "EXPIRED",
		[IW_SMT_ERROR] = "ERROR",
	};
	return st < IW_SMT_STATUS__MAX ? names[st] : "ERROR";
}

int iw_smt_status_live(enum iw_smt_status st)
{
	return st == IW_SMT_PENDING || st == IW_SMT_ACTIVE;
}

json_object *iw_smt_key(json_object *obj, const char *const *names)
{
	if (!json_object_is_type(obj, json_type_object))
		return NULL;
	json_object_object_foreach(obj, key, val) {
		for (const char *const *n = names; *n; n++)
			if (strcasecmp(key, *n) == 0)
				return val;
	}
	return NULL;
}

static const char *string_of(json_object *v)
{
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int iw_smt_esiid_value(json_object *v, char out[IW_SMT_ESIID_LEN + 1])
{
	char digits[IW_ESIID_MAX + 1];
	const char *s, *end;
	size_t len;

	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);
		if (n <= 0)
			return -1;
		snprintf(digits, sizeof digits, "%" PRId64, n);
		iw_esiid_smt(digits, out);
		return 0;
	}
	if (!(s = string_of(v)))
		return -1;
	while (*s == ' ')
		s++;
	if (*s == '\'')
		s++;
	end = s + strlen(s);
	while (end > s && end[-1] == ' ')
		end--;
	len = (size_t)(end - s);
	if (len == 0 || len > IW_ESIID_MAX)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(digits, s, len);
	digits[len] = '\0';
	iw_esiid_smt(digits, out);
	return 0;
}

/* A positive integer from a JSON integer or a string of digits. */
static long long number_of(json_object *v)
{
	long long n;
	const char *s;

	if (json_object_is_type(v, json_type_int)) {
		errno = 0;
		n = json_object_get_int64(v);
		return errno || n <= 0 ? 0 : n;
	}
	if (!(s = string_of(v)))
		return 0;
	while (*s == ' ')
		s++;
	{
		char buf[24];
		size_t len = strcspn(s, " ");
		if (len == 0 || len >= sizeof buf || s[len + strspn(s + len, " ")])
			return 0;
		memcpy(buf, s, len);
		buf[len] = '\0';
		return iw_parse_positive(buf, &n) == 0 ? n : 0;
	}
}

/* The ESIID of a record: its own key, else the first one nested inside it
 * (SMT lists an agreement's ESIIDs in sub-objects). */
static int esiid_within(json_object *v, char out[IW_SMT_ESIID_LEN + 1], int depth)
{
	if (depth > IW_SMT_WALK_DEPTH)
		return -1;
	if (json_object_is_type(v, json_type_object)) {
		json_object *own = iw_smt_key(v, esiid_keys);
		if (own && iw_smt_esiid_value(own, out) == 0)
			return 0;
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (esiid_within(val, out, depth + 1) == 0)
				return 0;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if (esiid_within(json_object_array_get_idx(v, i), out, depth + 1) == 0)
				return 0;
	}
	return -1;
}

static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return v;
	c = *cap ? *cap * 2 : 16;
	if (c > SIZE_MAX / size)
		return NULL;
	if (!(p = realloc(v, c * size)))
		return NULL;
	*cap = c;
	return p;
}

static int add_agreement(json_object *obj, long long number, struct iw_smt_agreements *out)
{
	struct iw_smt_agreement *a;
	struct iw_smt_agreement *v = grow(out->v, &out->cap, out->n, sizeof *out->v);

	if (!v)
		return -1;
	out->v = v;
	a = &v[out->n++];
	memset(a, 0, sizeof *a);
	a->number = number;
	a->record = obj;
	if (esiid_within(obj, a->esiid, 0) != 0)
		a->esiid[0] = '\0';
	a->status = string_of(iw_smt_key(obj, status_keys));
	a->status_reason = string_of(iw_smt_key(obj, reason_keys));
	a->normalized = iw_smt_records_status(a->status, a->status_reason);
	return 0;
}

static int walk_agreements(json_object *v, struct iw_smt_agreements *out, int depth)
{
	if (depth > IW_SMT_WALK_DEPTH)
		return 0;
	if (json_object_is_type(v, json_type_object)) {
		long long number = number_of(iw_smt_key(v, agreement_keys));
		if (number > 0 && add_agreement(v, number, out) != 0)
			return -1;
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (walk_agreements(val, out, depth + 1) != 0)
				return -1;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if (walk_agreements(json_object_array_get_idx(v, i), out, depth + 1) != 0)
				return -1;
	}
	return 0;
}

int iw_smt_find_agreements(json_object *payload, struct iw_smt_agreements *out)
{
	return walk_agreements(payload, out, 0);
}

void iw_smt_agreements_free(struct iw_smt_agreements *list)
{
	free(list->v);
	memset(list, 0, sizeof *list);
}

/* Ranks for picking an ESIID's current agreement: a live one, else the
 * newest whatever SMT calls it. */
static int rank(enum iw_smt_status st)
{
	switch (st) {
	case IW_SMT_ACTIVE: return 2;
	case IW_SMT_PENDING: return 1;
	default: return 0;
	}
}

const struct iw_smt_agreement *iw_smt_agreement_best(const struct iw_smt_agreements *list,
						     const char *esiid, long long number)
{
	const struct iw_smt_agreement *best = NULL;

	for (size_t i = 0; i < list->n; i++) {
		const struct iw_smt_agreement *a = &list->v[i];
		if (number > 0 && a->number != number)
			continue;
		/* A record that names no ESIID matches only by number. */
		if (esiid && strcmp(a->esiid, esiid) != 0 && !(number > 0 && !a->esiid[0]))
			continue;
		if (!best || rank(a->normalized) > rank(best->normalized) ||
		    (rank(a->normalized) == rank(best->normalized) && a->number > best->number))
			best = a;
	}
	return best;
}

void iw_smt_agreement_message(const struct iw_smt_agreement *a, char *out, size_t len)
{
	const char *st = a->status, *re = a->status_reason;

	if (st && re && strcasecmp(st, re) != 0)
		snprintf(out, len, "%s (%s)", st, re);
	else if (st || re)
		snprintf(out, len, "%s", st ? st : re);
	else
		snprintf(out, len, "SMT gave no status for agreement %lld", a->number);
}

static json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

json_object *iw_smt_agreement_json(const struct iw_smt_agreement *a)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "agreementNumber", json_object_new_int64(a->number));
	json_object_object_add(o, "esiid", a->esiid[0] ? json_object_new_string(a->esiid) : NULL);
	json_object_object_add(o, "agreementStatus", string_or_null(a->status));
	json_object_object_add(o, "statusReason", string_or_null(a->status_reason));
	json_object_object_add(o, "normalized",
			       json_object_new_string(iw_smt_status_name(a->normalized)));
	json_object_object_add(o, "record", json_object_get(a->record));
	return o;
}

/* ---- subscriptions ---- */

static int subscription_number(json_object *v, char out[IW_SMT_NUMBER_MAX])
{
	const char *s;

	if (json_object_is_type(v, json_type_int)) {
		snprintf(out, IW_SMT_NUMBER_MAX, "%" PRId64, json_object_get_int64(v));
		return 0;
	}
	if (!(s = string_of(v)) || !*s || strlen(s) >= IW_SMT_NUMBER_MAX)
		return -1;
	strcpy(out, s);
	return 0;
}

static int walk_subscriptions(json_object *v, struct iw_smt_subscriptions *out, int depth)
{
	if (depth > IW_SMT_WALK_DEPTH)
		return 0;
	if (json_object_is_type(v, json_type_object)) {
		char number[IW_SMT_NUMBER_MAX];
		if (subscription_number(iw_smt_key(v, subscription_keys), number) == 0) {
			struct iw_smt_subscription *s, *arr;
			if (!(arr = grow(out->v, &out->cap, out->n, sizeof *out->v)))
				return -1;
			out->v = arr;
			s = &arr[out->n++];
			memset(s, 0, sizeof *s);
			strcpy(s->number, number);
			if (esiid_within(v, s->esiid, 0) != 0)
				s->esiid[0] = '\0';
			s->agreement = number_of(iw_smt_key(v, agreement_keys));
			s->service_type = string_of(iw_smt_key(v, service_keys));
			s->status = string_of(iw_smt_key(v, sub_status_keys));
			s->record = v;
			return 0; /* a subscription's insides are not subscriptions */
		}
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (walk_subscriptions(val, out, depth + 1) != 0)
				return -1;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if (walk_subscriptions(json_object_array_get_idx(v, i), out, depth + 1) != 0)
				return -1;
	}
	return 0;
}

int iw_smt_find_subscriptions(json_object *payload, struct iw_smt_subscriptions *out)
{
	return walk_subscriptions(payload, out, 0);
}

void iw_smt_subscriptions_free(struct iw_smt_subscriptions *list)
{
	free(list->v);
	memset(list, 0, sizeof *list);
}

int iw_smt_subscription_live(const struct iw_smt_subscription *s)
{
	char word[IW_SMT_WORD_MAX + 1];
	size_t n = 0;

	if (!s->status)
		return 1;
	if (iw_smt_normalize_text(s->status) == IW_SMT_EXPIRED ||
	    iw_smt_normalize_text(s->status) == IW_SMT_DECLINED)
		return 0;
	for (const char *p = s->status; *p && n < IW_SMT_WORD_MAX; p++)
		if (isalpha((unsigned char)*p))
			word[n++] = (char)tolower((unsigned char)*p);
	word[n] = '\0';
	return !strstr(word, "cancel") && !strstr(word, "unsubscribed");
}

static json_object *find_key(json_object *v, const char *key, int depth)
{
	if (depth > IW_SMT_WALK_DEPTH)
		return NULL;
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, k, val) {
			if (strcasecmp(k, key) == 0 && !json_object_is_type(val, json_type_object) &&
			    !json_object_is_type(val, json_type_array))
				return val;
		}
		json_object_object_foreach(v, k2, val2) {
			json_object *hit;
			(void)k2;
			if ((hit = find_key(val2, key, depth + 1)))
				return hit;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			json_object *hit = find_key(json_object_array_get_idx(v, i), key, depth + 1);
			if (hit)
				return hit;
		}
	}
	return NULL;
}

json_object *iw_smt_find_key(json_object *payload, const char *key)
{
	return find_key(payload, key, 0);
}

static int collect_esiid(json_object *v, json_object *out)
{
	char esiid[IW_SMT_ESIID_LEN + 1];
	size_t n = json_object_array_length(out);

	if (iw_smt_esiid_value(v, esiid) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(out, i)), esiid) == 0)
			return 0;
	{
		json_object *s = json_object_new_string(esiid);
		if (!s || json_object_array_add(out, s) != 0) {
			json_object_put(s);
			return -1;
		}
	}
	return 0;
}

static int walk_esiids(json_object *v, json_object *out, int depth)
{
	if (depth > IW_SMT_WALK_DEPTH)
		return 0;
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, val) {
			int named = strcasecmp(key, "esiid") == 0 || strcasecmp(key, "esiids") == 0;
			if (named && json_object_is_type(val, json_type_array)) {
				size_t n = json_object_array_length(val);
				for (size_t i = 0; i < n; i++)
					if (collect_esiid(json_object_array_get_idx(val, i), out) != 0)
						return -1;
			} else if (named && collect_esiid(val, out) != 0) {
				return -1;
			}
			if (walk_esiids(val, out, depth + 1) != 0)
				return -1;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			if (walk_esiids(json_object_array_get_idx(v, i), out, depth + 1) != 0)
				return -1;
	}
	return 0;
}

int iw_smt_collect_esiids(json_object *payload, json_object *out)
{
	return walk_esiids(payload, out, 0);
}
