/* The writer's helper thread: iw_storage_put_write() copies the caller's
 * bytes into a small ring of buffers and returns, and one thread hashes
 * them and hands them to the backend (write() into the temp file, or the
 * S3 part buffer). A download then receives while the previous buffers are
 * hashed and written, as a `curl | curl -T -` pipe does in two processes.
 *
 * Memory: up to PIPE_SLOTS buffers of PIPE_SLOT bytes (4 MiB), allocated
 * when first used; 4 of them (2 MiB) for S3, whose 16 MiB part buffer is
 * already a deep queue and must stay with it under the worker's 32 MiB.
 * The depth absorbs the thread being descheduled on a busy machine.
 * An object smaller than one buffer never starts the thread: it is consumed
 * on the caller's thread at the first sync point (drain or commit).
 *
 * Ownership: while the thread runs it alone touches the hash, the byte count
 * and the backend state of the writer; the caller reads them only after
 * iw_storage_pipe_drain() (the mutex orders the two). A failure of the thread
 * (errno kept, the reason in the writer's ERR) is reported by the next write,
 * by the drain, or by the commit. */
#include "io/storage_backend.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_SLOTS 8
#define PIPE_SLOTS_S3 4
#define PIPE_SLOT  (512u * 1024)     /* libcurl's largest receive buffer */

struct iw_storage_pipe {
	pthread_mutex_t mu;
	pthread_cond_t more;             /* a slot was queued, or stop */
	pthread_cond_t room;             /* a slot was consumed */
	pthread_t thread;
	int started;
	unsigned slots;                  /* in use: PIPE_SLOTS, or PIPE_SLOTS_S3 */
	unsigned char *slot[PIPE_SLOTS];
	size_t len[PIPE_SLOTS];
	unsigned head;                   /* the slot the caller fills */
	unsigned tail;                   /* the slot the thread consumes next */
	unsigned count;                  /* queued, the one being consumed included */
	size_t fill;                     /* bytes in slot[head] not yet queued */
	int stop;
	int discard;                     /* stop without consuming what is queued */
	int failed;
	int failed_errno;
};

static void *pipe_main(void *arg)
{
	struct iw_storage_put *w = arg;
	struct iw_storage_pipe *pp = w->pipe;

	pthread_mutex_lock(&pp->mu);
	for (;;) {
		unsigned i;
		int skip, rc = 0, saved = 0;

		while (pp->count == 0 && !pp->stop)
			pthread_cond_wait(&pp->more, &pp->mu);
		if (pp->count == 0)
			break;
		i = pp->tail;
		skip = pp->failed || pp->discard;
		pthread_mutex_unlock(&pp->mu);
		if (!skip && (rc = iw_storage_put_consume(w, pp->slot[i], pp->len[i])) == -1)
			saved = errno;
		pthread_mutex_lock(&pp->mu);
		if (rc == -1 && !pp->failed) {
			pp->failed = 1;
			pp->failed_errno = saved;
		}
		pp->tail = (i + 1) % pp->slots;
		pp->count--;
		pthread_cond_signal(&pp->room);
	}
	pthread_mutex_unlock(&pp->mu);
	return NULL;
}

static int pipe_new(struct iw_storage_put *w)
{
	struct iw_storage_pipe *pp = calloc(1, sizeof *pp);

	if (!pp) {
		iw_errf(w->err, w->errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	pthread_mutex_init(&pp->mu, NULL);
	pthread_cond_init(&pp->more, NULL);
	pthread_cond_init(&pp->room, NULL);
	pp->slots = w->backend == BACKEND_S3 ? PIPE_SLOTS_S3 : PIPE_SLOTS;
	w->pipe = pp;
	return 0;
}

/* The failure, if any, as -1 with its errno: called locked while the thread
 * runs (pipe_check). */
static int pipe_status(struct iw_storage_pipe *pp)
{
	if (!pp->failed)
		return 0;
	errno = pp->failed_errno;
	return -1;
}

/* The thread's failure, if any, as -1 with its errno: under the mutex
 * while the thread runs. */
static int pipe_check(struct iw_storage_pipe *pp)
{
	int rc;

	if (!pp->started)
		return pipe_status(pp);
	pthread_mutex_lock(&pp->mu);
	rc = pipe_status(pp);
	pthread_mutex_unlock(&pp->mu);
	return rc;
}

/* Consumes slot[head] (FILL bytes) on the caller's thread, when no thread
 * runs: its failure is kept as the thread's would be. */
static int consume_here(struct iw_storage_put *w)
{
	struct iw_storage_pipe *pp = w->pipe;

	if (!pp->failed && iw_storage_put_consume(w, pp->slot[pp->head], pp->fill) == -1) {
		pp->failed = 1;
		pp->failed_errno = errno;
	}
	pp->fill = 0;
	return pipe_status(pp);
}

/* Queues slot[head] (FILL bytes). Without a thread yet, starts it; if it
 * cannot start, the slot is consumed here (slower, still correct). */
static int pipe_submit(struct iw_storage_put *w)
{
	struct iw_storage_pipe *pp = w->pipe;
	int rc;

	if (!pp->started) {
		sigset_t all, old;

		/* Signals (SIGTERM's graceful stop) stay with the caller's thread. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pp->started = pthread_create(&pp->thread, NULL, pipe_main, w) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!pp->started)
			return consume_here(w);
	}
	pthread_mutex_lock(&pp->mu);
	pp->len[pp->head] = pp->fill;
	pp->head = (pp->head + 1) % pp->slots;
	pp->count++;
	pp->fill = 0;
	pthread_cond_signal(&pp->more);
	rc = pipe_status(pp);
	pthread_mutex_unlock(&pp->mu);
	return rc;
}

int iw_storage_pipe_write(struct iw_storage_put *w, const unsigned char *p, size_t len)
{
	struct iw_storage_pipe *pp;
	int rc = 0;

	if (!w->pipe && pipe_new(w) == -1)
		return -1;
	pp = w->pipe;
	while (len > 0) {
		size_t n;

		if (pp->fill == 0) {
			/* slot[head] is free once fewer than all slots are queued. */
			pthread_mutex_lock(&pp->mu);
			while (pp->count == pp->slots && !pp->failed)
				pthread_cond_wait(&pp->room, &pp->mu);
			rc = pipe_status(pp);
			pthread_mutex_unlock(&pp->mu);
			if (rc == -1)
				return -1;
			if (!pp->slot[pp->head] && !(pp->slot[pp->head] = malloc(PIPE_SLOT))) {
				iw_errf(w->err, w->errlen, "out of memory");
				errno = ENOMEM;
				return -1;
			}
		}
		n = PIPE_SLOT - pp->fill < len ? PIPE_SLOT - pp->fill : len;
		memcpy(pp->slot[pp->head] + pp->fill, p, n);
		pp->fill += n;
		p += n;
		len -= n;
		if (pp->fill == PIPE_SLOT && pipe_submit(w) == -1)
			return -1;
	}
	return pipe_check(pp);
}

int iw_storage_pipe_drain(struct iw_storage_put *w)
{
	struct iw_storage_pipe *pp = w->pipe;
	int rc;

	if (!pp)
		return 0;
	/* A small object never started the thread: consumed here. */
	if (pp->fill > 0 && (pp->started ? pipe_submit(w) : consume_here(w)) == -1)
		return -1;
	if (!pp->started)
		return pipe_status(pp);
	pthread_mutex_lock(&pp->mu);
	while (pp->count > 0)
		pthread_cond_wait(&pp->room, &pp->mu);
	rc = pipe_status(pp);
	pthread_mutex_unlock(&pp->mu);
	return rc;
}

void iw_storage_pipe_free(struct iw_storage_put *w)
{
	struct iw_storage_pipe *pp = w->pipe;
	int saved = errno;

	if (!pp)
		return;
	if (pp->started) {
		pthread_mutex_lock(&pp->mu);
		pp->stop = 1;
		pp->discard = 1; /* a commit drained first; anything left is an abort's */
		pthread_cond_signal(&pp->more);
		pthread_mutex_unlock(&pp->mu);
		pthread_join(pp->thread, NULL);
	}
	for (unsigned i = 0; i < PIPE_SLOTS; i++)
		free(pp->slot[i]);
	pthread_cond_destroy(&pp->room);
	pthread_cond_destroy(&pp->more);
	pthread_mutex_destroy(&pp->mu);
	free(pp);
	w->pipe = NULL;
	errno = saved;
}
