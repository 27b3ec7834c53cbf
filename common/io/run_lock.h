/* Run locks as rows of "IwRunLock" with a lease: one statement takes a free
 * or expired lock, the holder renews the lease as its run advances and
 * deletes the row at the end; a crashed holder's lock expires by itself. No
 * session state: it holds across a reconnect and under transaction pooling. */
#ifndef IW_RUN_LOCK_H
#define IW_RUN_LOCK_H

#define IW_RUN_LOCK_NAME_MAX   64
#define IW_RUN_LOCK_HOLDER_MAX 160

struct iw_run_lock {
	char name[IW_RUN_LOCK_NAME_MAX];
	char holder[IW_RUN_LOCK_HOLDER_MAX];  /* host:pid:random token */
	long lease_s;
	int held;
};

/* Who holds a lock that was busy. */
struct iw_run_lock_busy {
	char holder[IW_RUN_LOCK_HOLDER_MAX];
	long long age_s;          /* since it was taken */
	long long expires_in_s;   /* until its lease runs out (>= 1) */
};

/* Takes lock NAME for LEASE_S seconds: 1 taken, 0 held by another (BUSY
 * filled), -1 database error. */
int iw_run_lock_acquire(struct iw_run_lock *l, const char *name, long lease_s,
			struct iw_run_lock_busy *busy);
/* Extends the lease by lease_s from now: 1 still ours (or L not held), 0 lost
 * (it expired and another run took it), -1 database error. */
int iw_run_lock_renew(struct iw_run_lock *l);
/* Deletes the row if it is still ours. */
void iw_run_lock_release(struct iw_run_lock *l);
#endif
