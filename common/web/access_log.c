/* Per-route figures from nginx's access log (web/access_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "web/access_log.h"
#include "core/prom.h"
#include "core/log.h"

#define STATE_MAGIC "iw-access-state 2"
#define STATE_LINE_MAX 2048
#define READ_BUF (256 * 1024)   /* also the longest line counted */
#define TOKEN_PREFIX "/_iw/token" /* ?token= requests: the same route (40-ercot.conf) */
#define HEAD_BYTES 128          /* a log's first bytes: a timestamp and a request id */

/* The histogram's finite upper bounds in milliseconds, increasing:
 * Prometheus's usual latency buckets, plus the long runs (ERCOT cron, uploads). */
static const long bucket_ms[IW_ACCESS_BUCKETS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
};

/* --- counting ------------------------------------------------------------- */

/* A route label as nginx set it ($iw_route, a location's URI); anything
 * else (no route location, odd bytes) is "other", so the series stay few. */
static void route_name(const char *s, char out[IW_ACCESS_ROUTE_LEN])
{
	size_t n;

	if (s && strncmp(s, TOKEN_PREFIX "/", sizeof TOKEN_PREFIX) == 0)
		s += sizeof TOKEN_PREFIX - 1;
	n = s ? strlen(s) : 0;
	if (n == 0 || n >= IW_ACCESS_ROUTE_LEN || s[0] != '/' ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_.-") != n) {
		strcpy(out, "other");
		return;
	}
	memcpy(out, s, n + 1);
}

static struct iw_access_route *route_get(struct iw_access_stats *st, const char *name)
{
	struct iw_access_route *r;

	for (int i = 0; i < st->nroutes; i++)
		if (strcmp(st->routes[i].name, name) == 0)
			return &st->routes[i];
	/* The last slot is kept for "other". */
	if (st->nroutes >= IW_ACCESS_ROUTES_MAX - 1 && strcmp(name, "other") != 0)
		return route_get(st, "other");
	r = &st->routes[st->nroutes++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	return r;
}

static struct iw_access_code *code_get(struct iw_access_route *r, int code)
{
	for (int i = 0; i < r->ncodes; i++)
		if (r->codes[i].code == code)
			return &r->codes[i];
	if (r->ncodes >= IW_ACCESS_CODES_MAX - 1 && code != 0)
		return code_get(r, 0);
	r->codes[r->ncodes].code = code;
	r->codes[r->ncodes].n = 0;
	return &r->codes[r->ncodes++];
}

static void count(struct iw_access_stats *st, const char *route, int code, long long ms)
{
	char name[IW_ACCESS_ROUTE_LEN];
	struct iw_access_route *r;
	int b = 0;

	route_name(route, name);
	r = route_get(st, name);
	code_get(r, code)->n++;
	while (b < IW_ACCESS_BUCKETS && ms > bucket_ms[b])
		b++;
	r->bucket[b]++;
	r->count++;
	r->sum_ms += (unsigned long long)ms;
}

static int count_line_tok(struct iw_access_stats *st, json_tokener *tok, const char *line, size_t len)
{
	json_object *o, *v;
	const char *route = NULL;
	double secs;
	int code, rc = -1;

	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		goto done;
	if (!json_object_object_get_ex(o, "status", &v) || !json_object_is_type(v, json_type_int))
		goto done;
	code = json_object_get_int(v);
	if (code < 100 || code > 599)
		goto done;
	/* "duration_ms" holds $request_time: seconds, millisecond resolution. */
	if (!json_object_object_get_ex(o, "duration_ms", &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		goto done;
	secs = json_object_get_double(v);
	if (!(secs >= 0 && secs < 1e7))
		goto done;
	if (json_object_object_get_ex(o, "route", &v) && json_object_is_type(v, json_type_string))
		route = json_object_get_string(v);
	count(st, route, code, (long long)(secs * 1000 + 0.5));
	rc = 0;
done:
	if (rc)
		st->skipped++;
	json_object_put(o);
	return rc;
}

int iw_access_count_line(struct iw_access_stats *st, const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new();
	int rc;

	if (!tok)
		return -1;
	rc = count_line_tok(st, tok, line, len);
	json_tokener_free(tok);
	return rc;
}

/* --- reading a log from an offset ---------------------------------------- */

/* Counts the complete lines of FD from *OFF on (a partial last line waits
 * for the next scrape), reading *BUDGET bytes at most; *OFF ends after the
 * last line counted. 0, or -1 on a read error. */
static int read_lines(struct iw_access_stats *st, json_tokener *tok, char *buf, int fd,
		      long long *off, long *budget)
{
	size_t have = 0;
	int skipping = 0;

	while (*budget > 0) {
		size_t want = READ_BUF - have;
		ssize_t n;
		char *p = buf, *nl;

		if ((long)want > *budget)
			want = (size_t)*budget;
		n = pread(fd, buf + have, want, (off_t)(*off + (long long)have));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		*budget -= n;
		while ((nl = memchr(p, '\n', have - (size_t)(p - buf)))) {
			if (!skipping && nl > p)
				count_line_tok(st, tok, p, (size_t)(nl - p));
			skipping = 0;
			p = nl + 1;
		}
		*off += p - buf;
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
		if (have == READ_BUF) { /* a line longer than any nginx writes here: skip it */
			st->skipped++;
			skipping = 1;
			*off += (long long)have;
			have = 0;
		}
	}
	return 0;
}

/* FNV-1a of FD's first N bytes; 0 with *GOT < N when the file is shorter. */
static unsigned long long head_hash(int fd, int n, int *got)
{
	unsigned char b[HEAD_BYTES];
	unsigned long long h = 1469598103934665603ULL;
	ssize_t r = pread(fd, b, (size_t)n, 0);

	*got = r > 0 ? (int)r : 0;
	for (int i = 0; i < *got; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static struct iw_access_pos *pos_get(struct iw_access_stats *st, const char *path)
{
	for (int i = 0; i < st->nlogs; i++)
		if (strcmp(st->logs[i].path, path) == 0)
			return &st->logs[i];
	return NULL;
}

/* One log: finish the rotated file when the saved position is in it, then
 * the current file. A log that does not exist yet has nothing to count. */
static int read_log(struct iw_access_stats *st, json_tokener *tok, char *buf,
		    struct iw_access_pos *pos, long *budget, struct iw_error *err)
{
	char old[IW_ACCESS_PATH_MAX + 3];
	struct stat s;
	int fd, rc = 0;

	fd = open(pos->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return iw_err_set(err, IW_ERR_IO, "%s: %s", pos->path, strerror(errno));
	}
	if (fstat(fd, &s) != 0) {
		rc = iw_err_set(err, IW_ERR_IO, "%s: %s", pos->path, strerror(errno));
		goto out;
	}
	if (pos->ino && ((unsigned long long)s.st_ino != pos->ino || (unsigned long long)s.st_dev != pos->dev)) {
		/* Rotated since the last scrape: the rest of the old file first. */
		struct stat os;
		int ofd;

		snprintf(old, sizeof old, "%s.1", pos->path);
		ofd = open(old, O_RDONLY | O_CLOEXEC);
		if (ofd >= 0 && fstat(ofd, &os) == 0 && (unsigned long long)os.st_ino == pos->ino &&
		    (unsigned long long)os.st_dev == pos->dev) {
			rc = read_lines(st, tok, buf, ofd, &pos->off, budget);
			if (rc == 0 && pos->off < (long long)os.st_size && *budget <= 0) {
				close(ofd); /* budget spent: the rest of the old file next time */
				goto out;
			}
		} else {
			iw_logf("warn", "access log %s was rotated and %s is not the old file: "
				"its last lines are not counted", pos->path, old);
		}
		if (ofd >= 0)
			close(ofd);
		if (rc) {
			rc = iw_err_set(err, IW_ERR_IO, "%s: %s", old, strerror(errno));
			goto out;
		}
		pos->off = 0;
	} else if (s.st_size < pos->off) {
		pos->off = 0; /* truncated in place (copytruncate) */
	} else if (pos->off > 0 && pos->headlen > 0) {
		int got;

		/* Truncated and written past the old offset again: other first bytes. */
		if (head_hash(fd, pos->headlen, &got) != pos->head || got < pos->headlen)
			pos->off = 0;
	}
	pos->dev = (unsigned long long)s.st_dev;
	pos->ino = (unsigned long long)s.st_ino;
	if (pos->off == 0)
		pos->headlen = 0; /* a new file, or one read again from its start */
	if (read_lines(st, tok, buf, fd, &pos->off, budget) != 0)
		rc = iw_err_set(err, IW_ERR_IO, "%s: %s", pos->path, strerror(errno));
	else if (pos->headlen < HEAD_BYTES)
		pos->head = head_hash(fd, pos->off < HEAD_BYTES ? (int)pos->off : HEAD_BYTES, &pos->headlen);
out:
	close(fd);
	return rc;
}

/* --- the state file ---------------------------------------------------------- */

/* Loads STATE into ST; a missing or unreadable state starts afresh (the
 * counters restart, which Prometheus takes as a counter reset). */
static void state_load(struct iw_access_stats *st, const char *path)
{
	char line[STATE_LINE_MAX];
	struct iw_access_route *r = NULL;
	FILE *f = fopen(path, "re");
	int ok = 0;

	memset(st, 0, sizeof *st);
	if (!f)
		return;
	if (!fgets(line, sizeof line, f) || strcmp(line, STATE_MAGIC "\n") != 0)
		goto done;
	while (fgets(line, sizeof line, f)) {
		int n = 0;

		if (strcmp(line, "end\n") == 0) {
			ok = 1;
			break;
		} else if (sscanf(line, "skipped %llu", &st->skipped) == 1) {
			continue;
		} else if (strncmp(line, "log ", 4) == 0 && st->nlogs < IW_ACCESS_LOGS_MAX) {
			struct iw_access_pos *p = &st->logs[st->nlogs];
			size_t len;

			if (sscanf(line, "log %llu %llu %lld %llu %d %n", &p->dev, &p->ino, &p->off, &p->head,
				   &p->headlen, &n) != 5 || !n || p->headlen < 0 || p->headlen > HEAD_BYTES ||
			    (len = strcspn(line + n, "\n")) == 0 || len >= sizeof p->path || p->off < 0)
				goto done;
			memcpy(p->path, line + n, len);
			p->path[len] = '\0';
			st->nlogs++;
		} else if (strncmp(line, "route ", 6) == 0 && st->nroutes < IW_ACCESS_ROUTES_MAX) {
			char name[IW_ACCESS_ROUTE_LEN];

			r = &st->routes[st->nroutes];
			memset(r, 0, sizeof *r);
			if (sscanf(line, "route %95s %llu %llu %n", name, &r->count, &r->sum_ms, &n) != 3 || !n)
				goto done;
			for (int b = 0; b <= IW_ACCESS_BUCKETS; b++) {
				int used = 0;

				if (sscanf(line + n, "%llu %n", &r->bucket[b], &used) != 1 || !used)
					goto done;
				n += used;
			}
			snprintf(r->name, sizeof r->name, "%s", name);
			st->nroutes++;
		} else if (strncmp(line, "code ", 5) == 0 && r && r->ncodes < IW_ACCESS_CODES_MAX) {
			struct iw_access_code *c = &r->codes[r->ncodes];

			if (sscanf(line, "code %d %llu", &c->code, &c->n) != 2)
				goto done;
			r->ncodes++;
		} else {
			goto done;
		}
	}
done:
	fclose(f);
	if (!ok) {
		iw_logf("warn", "metrics state %s is not readable: counters start afresh", path);
		memset(st, 0, sizeof *st);
	}
}

/* Writes ST to PATH.tmp and renames it over PATH (never half a state). */
static int state_save(const struct iw_access_stats *st, const char *path, struct iw_error *err)
{
	char tmp[IW_ACCESS_PATH_MAX + 8];
	FILE *f;
	int bad;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(tmp, "we")))
		return iw_err_set(err, IW_ERR_IO, "%s: %s", tmp, strerror(errno));
	fprintf(f, STATE_MAGIC "\nskipped %llu\n", st->skipped);
	for (int i = 0; i < st->nlogs; i++)
		fprintf(f, "log %llu %llu %lld %llu %d %s\n", st->logs[i].dev, st->logs[i].ino,
			st->logs[i].off, st->logs[i].head, st->logs[i].headlen, st->logs[i].path);
	for (int i = 0; i < st->nroutes; i++) {
		const struct iw_access_route *r = &st->routes[i];

		fprintf(f, "route %s %llu %llu", r->name, r->count, r->sum_ms);
		for (int b = 0; b <= IW_ACCESS_BUCKETS; b++)
			fprintf(f, " %llu", r->bucket[b]);
		fputc('\n', f);
		for (int c = 0; c < r->ncodes; c++)
			fprintf(f, "code %d %llu\n", r->codes[c].code, r->codes[c].n);
	}
	fputs("end\n", f);
	/* No fsync: it would wait for the log's own dirty pages too (one
	 * journal on ext4), seconds after a burst. A state lost in a crash is
	 * read as damaged: the counters restart, which Prometheus handles. */
	bad = fflush(f) != 0 || ferror(f);
	if (fclose(f) != 0)
		bad = 1;
	if (bad || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return iw_err_set(err, IW_ERR_IO, "%s: %s", path, strerror(e));
	}
	return 0;
}

/* The positions of LOGS (':'-separated), in that order; a log no longer
 * named is forgotten, a new one starts at its beginning. */
static int set_logs(struct iw_access_stats *st, const char *logs, struct iw_error *err)
{
	struct iw_access_pos next[IW_ACCESS_LOGS_MAX];
	int n = 0;

	memset(next, 0, sizeof next);
	for (const char *p = logs; *p;) {
		size_t len = strcspn(p, ":");

		if (len) {
			struct iw_access_pos *old;

			if (n == IW_ACCESS_LOGS_MAX || len >= IW_ACCESS_PATH_MAX)
				return iw_err_set(err, IW_ERR_MISCONFIG,
						  "IW_ACCESS_LOG: at most %d paths of < %d bytes",
						  IW_ACCESS_LOGS_MAX, IW_ACCESS_PATH_MAX);
			memcpy(next[n].path, p, len);
			next[n].path[len] = '\0';
			if ((old = pos_get(st, next[n].path)))
				next[n] = *old;
			n++;
		}
		p += len + (p[len] == ':');
	}
	if (n == 0)
		return iw_err_set(err, IW_ERR_MISCONFIG, "IW_ACCESS_LOG names no file");
	memcpy(st->logs, next, sizeof next);
	st->nlogs = n;
	return 0;
}

int iw_access_update(const char *logs, const char *state, struct iw_access_stats *st,
		     struct iw_error *err)
{
	char lockpath[IW_ACCESS_PATH_MAX + 8];
	json_tokener *tok = NULL;
	char *buf = NULL;
	long budget = IW_ACCESS_READ_MAX;
	int lock = -1, rc;

	if (strlen(state) >= IW_ACCESS_PATH_MAX)
		return iw_err_set(err, IW_ERR_MISCONFIG, "IW_ACCESS_STATE: path too long");
	snprintf(lockpath, sizeof lockpath, "%s.lock", state);
	/* The lock is held while reading and saving: the two copies of the
	 * metrics program scrape one after the other, never count a line twice. */
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0)
		return iw_err_set(err, IW_ERR_IO, "%s: %s", lockpath, strerror(errno));
	while ((rc = flock(lock, LOCK_EX)) != 0 && errno == EINTR)
		;
	if (rc != 0) {
		rc = iw_err_set(err, IW_ERR_IO, "%s: %s", lockpath, strerror(errno));
		goto out;
	}
	if (!(tok = json_tokener_new()) || !(buf = malloc(READ_BUF))) {
		rc = iw_err_set(err, IW_ERR_NOMEM, "out of memory");
		goto out;
	}
	state_load(st, state);
	if ((rc = set_logs(st, logs, err)) != 0)
		goto out;
	for (int i = 0; i < st->nlogs; i++)
		if ((rc = read_log(st, tok, buf, &st->logs[i], &budget, err)) != 0)
			goto out;
	rc = state_save(st, state, err);
out:
	free(buf);
	if (tok)
		json_tokener_free(tok);
	close(lock); /* releases the lock */
	return rc;
}

/* --- Prometheus text ---------------------------------------------------------- */

static const char *const keys[] = { "host", "route", "code" };
static const char *const hkeys[] = { "host", "route", "le" };

static void requests_prom(struct iw_buf *b, const struct iw_access_route *r, const char *host)
{
	char v[32], code[8];
	const char *vals[] = { host, r->name, code };

	for (int c = 0; c < r->ncodes; c++) {
		if (r->codes[c].code)
			snprintf(code, sizeof code, "%d", r->codes[c].code);
		else
			strcpy(code, "other");
		snprintf(v, sizeof v, "%llu", r->codes[c].n);
		iw_prom_line(b, "iw_http_requests_total", 3, keys, vals, v);
	}
}

/* Buckets cumulative, +Inf equal to _count; _sum exact to the ms. */
static void duration_prom(struct iw_buf *b, const struct iw_access_route *r, const char *host)
{
	char v[32], le[24];
	const char *vals[] = { host, r->name, le };
	unsigned long long cum = 0;

	for (int k = 0; k <= IW_ACCESS_BUCKETS; k++) {
		cum += r->bucket[k];
		if (k == IW_ACCESS_BUCKETS)
			strcpy(le, "+Inf");
		else
			snprintf(le, sizeof le, "%g", (double)bucket_ms[k] / 1000.0);
		snprintf(v, sizeof v, "%llu", cum);
		iw_prom_line(b, "iw_http_request_duration_seconds_bucket", 3, hkeys, vals, v);
	}
	snprintf(v, sizeof v, "%llu.%03llu", r->sum_ms / 1000, r->sum_ms % 1000);
	iw_prom_line(b, "iw_http_request_duration_seconds_sum", 2, hkeys, vals, v);
	snprintf(v, sizeof v, "%llu", r->count);
	iw_prom_line(b, "iw_http_request_duration_seconds_count", 2, hkeys, vals, v);
}

int iw_access_prom(struct iw_buf *b, const struct iw_access_stats *st, const char *host)
{
	char v[32];

	if (st->nroutes > 0) { /* no family without samples */
		iw_prom_family(b, "iw_http_requests_total", "counter",
			       "Requests nginx answered, by route location and HTTP status code (nginx access log).");
		for (int i = 0; i < st->nroutes; i++)
			requests_prom(b, &st->routes[i], host);
		iw_prom_family(b, "iw_http_request_duration_seconds", "histogram",
			       "Time nginx took to answer a request ($request_time), by route location.");
		for (int i = 0; i < st->nroutes; i++)
			duration_prom(b, &st->routes[i], host);
	}
	iw_prom_family(b, "iw_http_access_log_lines_skipped_total", "counter",
		       "Access log lines that were not in the iw_json format (not counted above).");
	snprintf(v, sizeof v, "%llu", st->skipped);
	return iw_prom_line(b, "iw_http_access_log_lines_skipped_total", 1, keys,
			    (const char *const[]){ host }, v);
}

void iw_access_log_prom(struct iw_buf *b, struct iw_buf *up, const char *host)
{
	const char *logs = getenv("IW_ACCESS_LOG"), *state = getenv("IW_ACCESS_STATE");
	struct iw_access_stats *st;
	struct iw_error err = { 0 };
	int ok;

	if (!logs || !*logs) {
		iw_prom_source_up(up, "access_log", 0);
		iw_logf("warn", "metrics: IW_ACCESS_LOG is not set: no per-route figures");
		return;
	}
	if (!state || !*state)
		state = "/var/lib/iw-admin/access-log.state";
	if (!(st = malloc(sizeof *st))) {
		iw_prom_source_up(up, "access_log", 0);
		return;
	}
	ok = iw_access_update(logs, state, st, &err) == 0;
	iw_prom_source_up(up, "access_log", ok);
	if (ok)
		iw_access_prom(b, st, host);
	else
		iw_logf("error", "metrics: access log: %s", err.msg);
	iw_err_clear(&err);
	free(st);
}
