#include "io/run_lock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "io/db.h"
#include "core/err.h"
#include "core/log.h"
#include "core/time.h"

/* Taken when free or when the holder's lease ran out; RETURNING says whether
 * this statement got it (a live holder's row is left alone: no row back). */
static const char SQL_ACQUIRE[] =
	"INSERT INTO \"IwRunLock\" (\"name\", \"holder\", \"acquiredAt\", \"expiresAt\")"
	" VALUES ($1, $2, now(), now() + $3::int * interval '1 second')"
	" ON CONFLICT (\"name\") DO UPDATE SET \"holder\" = EXCLUDED.\"holder\","
	" \"acquiredAt\" = EXCLUDED.\"acquiredAt\", \"expiresAt\" = EXCLUDED.\"expiresAt\""
	" WHERE \"IwRunLock\".\"expiresAt\" < now()"
	" RETURNING \"holder\"";

static const char SQL_HOLDER[] =
	"SELECT \"holder\", floor(extract(epoch FROM now() - \"acquiredAt\"))::bigint,"
	" greatest(1, ceil(extract(epoch FROM \"expiresAt\" - now())))::bigint"
	" FROM \"IwRunLock\" WHERE \"name\" = $1";

static const char SQL_RENEW[] =
	"UPDATE \"IwRunLock\" SET \"expiresAt\" = now() + $3::int * interval '1 second'"
	" WHERE \"name\" = $1 AND \"holder\" = $2 RETURNING 1";

/* Crash recovery replays the WAL written since the last checkpoint: on a
 * busy or slow disk that took more than the 10 s once allowed here. */
#define RELEASE_WAIT_S   30
#define RELEASE_PAUSE_US 500000

static const char SQL_RELEASE[] =
	"DELETE FROM \"IwRunLock\" WHERE \"name\" = $1 AND \"holder\" = $2";

static int make_holder(char *out, size_t len)
{
	unsigned char r[8];
	char host[64] = "";

	if (RAND_bytes(r, sizeof r) != 1)
		return -1;
	if (gethostname(host, sizeof host - 1) != 0)
		snprintf(host, sizeof host, "unknown");
	snprintf(out, len, "%s:%ld:%02x%02x%02x%02x%02x%02x%02x%02x", host, (long)getpid(),
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	return 0;
}

int iw_run_lock_acquire(struct iw_run_lock *l, const char *name, long lease_s,
			struct iw_run_lock_busy *busy)
{
	char lease[24];
	const char *p[3];
	PGresult *r;
	int got;

	memset(l, 0, sizeof *l);
	memset(busy, 0, sizeof *busy);
	snprintf(l->name, sizeof l->name, "%s", name);
	l->lease_s = lease_s;
	if (make_holder(l->holder, sizeof l->holder) != 0)
		return -1;
	snprintf(lease, sizeof lease, "%ld", lease_s);
	p[0] = l->name;
	p[1] = l->holder;
	p[2] = lease;
	/* Twice: the holder may release between our INSERT and our look. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!(r = iw_db_exec(IW_DB_MASTER, NULL, SQL_ACQUIRE, 3, p)))
			return -1;
		got = PQntuples(r) == 1;
		PQclear(r);
		if (got) {
			l->held = 1;
			return 1;
		}
		if (!(r = iw_db_exec(IW_DB_MASTER, NULL, SQL_HOLDER, 1, p)))
			return -1;
		if (PQntuples(r) == 1) {
			snprintf(busy->holder, sizeof busy->holder, "%s", PQgetvalue(r, 0, 0));
			busy->age_s = atoll(PQgetvalue(r, 0, 1));
			busy->expires_in_s = atoll(PQgetvalue(r, 0, 2));
			PQclear(r);
			return 0;
		}
		PQclear(r);
	}
	return 0;
}

int iw_run_lock_renew(struct iw_run_lock *l)
{
	char lease[24];
	const char *p[3] = { l->name, l->holder, lease };
	PGresult *r;
	int ours;

	if (!l->held)
		return 1;
	snprintf(lease, sizeof lease, "%ld", l->lease_s);
	if (!(r = iw_db_exec(IW_DB_MASTER, NULL, SQL_RENEW, 3, p)))
		return -1;
	ours = PQntuples(r) == 1;
	PQclear(r);
	if (!ours)
		l->held = 0;
	return ours;
}

void iw_run_lock_release(struct iw_run_lock *l)
{
	const char *p[2] = { l->name, l->holder };
	struct iw_error err = { 0 };
	long long until;

	if (!l->held)
		return;
	until = iw_now_ms() + RELEASE_WAIT_S * 1000LL;
	/* The database restarting under the run (crash recovery takes seconds)
	 * would leave the lease to block every run until it ends: while it is
	 * unreachable, try again for a while (the DELETE is idempotent). */
	while (iw_db_run(IW_DB_MASTER, &err, SQL_RELEASE, 2, p) != 0) {
		if (err.code != IW_ERR_DB_DOWN || iw_now_ms() >= until) {
			iw_logf("warn", "run lock %s: could not release it (%s); its lease ends it",
				l->name, err.msg);
			break;
		}
		iw_err_clear(&err);
		usleep(RELEASE_PAUSE_US);
	}
	iw_err_clear(&err);
	l->held = 0;
}
