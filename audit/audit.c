#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/strhash.h"

/* The writer wakes at least this often, so lines reach disk within 1 s. */
#define AUDIT_FLUSH_MS	200

#define COUNT_BUCKETS	256
#define RING_BUCKETS	256
/* Events kept in memory across all sandboxes, for the all-sandbox query. */
#define GLOBAL_RING_MIN	10000

struct acount {
	struct acount	*ac_next;
	uint64_t	 ac_events;
	uint64_t	 ac_up;
	uint64_t	 ac_down;
	char		*ac_sandbox, *ac_action, *ac_reason, *ac_proto;
};

struct rslot {
	char		*rs_line;	/* owns */
	size_t		 rs_len;
	char		 rs_action[8];
};

struct ring {
	struct ring	*rg_next;
	char		*rg_sandbox;	/* owns; "" for none */
	struct rslot	*rg_slots;	/* owns */
	size_t		 rg_cap;
	size_t		 rg_head;	/* next slot to write */
	size_t		 rg_count;
};

/* What learn mode let through, for suggestions (docs/admin.md). */
struct alearn {
	struct alearn	*al_next;
	char		*al_sandbox;
	char		 al_kind;	/* AUDIT_LEARN_* */
	char		*al_value;
	uint64_t	 al_count;
};

/* Distinct things learnt, all sandboxes: more are counted, not kept. */
#define LEARN_MAX	200000
#define LEARN_BUCKETS	4096

struct audit_sink {
	struct acount	*as_counts[COUNT_BUCKETS];
	struct alearn	*as_learn[LEARN_BUCKETS];
	size_t		 as_nlearn;
	struct ring	*as_rings[RING_BUCKETS];
	struct ring	*as_all;
	/* Set under as_mtx, read without it by audit_emit(). */
	_Atomic bool	 as_log_allowed;
	bool		 as_syslog;	/* copy each line to syslog(3) */
	_Atomic unsigned as_memory;
	char		*as_path;	/* owns; NULL = discard, "-" = stdout */
	int		 as_fd;
	pthread_t	 as_thread;
	pthread_mutex_t	 as_mtx;
	pthread_cond_t	 as_cond;
	char		*as_buf;	/* owns: lines waiting for the writer */
	size_t		 as_len;
	size_t		 as_max;
	bool		 as_stop;
	bool		 as_reopen;
	/* Writer thread only: */
	bool		 as_failing;	/* the last write failed */
	size_t		 as_torn;	/* bytes of a cut line at the file's end */
	uint64_t	 as_lost;	/* lines lost since as_failing */
	atomic_uint_fast64_t as_dropped;
	atomic_uint_fast64_t as_written;
};

static int
audit_open_fd(const char *path)
{
	if (strcmp(path, "-") == 0)
		return dup(STDOUT_FILENO);
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static size_t
count_lines(const char *p, size_t n)
{
	size_t	k = 0;
	const char *e = p + n;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		k++;
		p++;
	}
	return k;
}

/*
 * A line cut by a full disk must not stay glued to the next one: take the
 * fragment back off the end of the file (a pipe cannot, so end it there).
 * Returns false when it has to be tried again later.
 */
static bool
mend_torn_line(struct audit_sink *as)
{
	off_t	end;

	if (as->as_torn == 0)
		return true;
	end = lseek(as->as_fd, 0, SEEK_END);
	if (end >= (off_t)as->as_torn &&
	    ftruncate(as->as_fd, end - (off_t)as->as_torn) == 0) {
		as->as_torn = 0;
		return true;
	}
	if (end == -1 && errno == ESPIPE && write(as->as_fd, "\n", 1) == 1) {
		as->as_torn = 0;
		return true;
	}
	return false;
}

/*
 * Writes <n> bytes of whole lines; what the disk refused is counted as
 * dropped, never as written (docs/audit.md), and reported once per outage.
 */
static void
write_lines(struct audit_sink *as, const char *p, size_t n)
{
	size_t	done = 0, lost;
	ssize_t	w;
	const char *lastnl;
	int	e = 0;

	if (!mend_torn_line(as))
		e = errno != 0 ? errno : EIO;
	while (e == 0 && done < n) {
		if ((w = write(as->as_fd, p + done, n - done)) < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		if (w == 0) {
			e = EIO;
			break;
		}
		done += (size_t)w;
	}
	atomic_fetch_add(&as->as_written, count_lines(p, done));
	if (e == 0) {
		if (as->as_failing)
			log_info("audit: writing to %s again; %llu events "
			    "were dropped meanwhile", as->as_path,
			    (unsigned long long)as->as_lost);
		as->as_failing = false;
		as->as_lost = 0;
		return;
	}
	/* The bytes after the last whole line written are a cut line. */
	lastnl = done > 0 ? memrchr(p, '\n', done) : NULL;
	as->as_torn += done - (lastnl != NULL ? (size_t)(lastnl + 1 - p) : 0);
	lost = count_lines(p + done, n - done);
	atomic_fetch_add(&as->as_dropped, lost);
	if (!as->as_failing)
		log_warnx("audit: cannot write to %s: %s; events are dropped "
		    "(and counted) until it can", as->as_path, strerror(e));
	as->as_failing = true;
	as->as_lost += lost;
}

static void *
audit_writer(void *arg)
{
	struct audit_sink	*as = arg;
	char			*out, *p, *nl;
	size_t			 n;
	struct timespec		 dl;
	bool			 stop, reopen, sys;
	int			 fd;

	if ((out = malloc(as->as_max)) == NULL)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&as->as_mtx);
		if (as->as_len == 0 && !as->as_stop && !as->as_reopen) {
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += AUDIT_FLUSH_MS * 1000000L;
			if (dl.tv_nsec >= 1000000000L) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&as->as_cond, &as->as_mtx, &dl);
		}
		n = as->as_len;
		memcpy(out, as->as_buf, n);
		as->as_len = 0;
		stop = as->as_stop;
		reopen = as->as_reopen;
		sys = as->as_syslog;
		as->as_reopen = false;
		pthread_mutex_unlock(&as->as_mtx);

		if (n > 0 && as->as_fd != -1)
			write_lines(as, out, n);
		else if (n > 0)
			atomic_fetch_add(&as->as_written, count_lines(out, n));
		/* syslog(3) may block on a slow daemon: only this thread waits. */
		for (p = out; sys && p < out + n; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(out + n - p))) == NULL)
				break;
			syslog(LOG_INFO, "%.*s", (int)(nl - p), p);
		}
		if (reopen && as->as_path != NULL &&
		    (fd = audit_open_fd(as->as_path)) != -1) {
			close(as->as_fd);
			as->as_fd = fd;
			as->as_torn = 0;	/* that fragment is another file's */
		}
		if (stop)
			break;
	}
	free(out);
	return NULL;
}

struct audit_sink *
audit_open(const char *path, size_t bufmax, char **err)
{
	struct audit_sink	*as;

	*err = NULL;
	if ((as = calloc(1, sizeof(*as))) == NULL)
		return NULL;
	as->as_fd = -1;
	as->as_max = bufmax;
	as->as_log_allowed = true;
	if ((as->as_buf = malloc(bufmax)) == NULL)
		goto fail;
	if (path != NULL) {
		if ((as->as_path = strdup(path)) == NULL)
			goto fail;
		if ((as->as_fd = audit_open_fd(path)) == -1) {
			if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
				*err = NULL;
			goto fail;
		}
	}
	pthread_mutex_init(&as->as_mtx, NULL);
	pthread_cond_init(&as->as_cond, NULL);
	if (pthread_create(&as->as_thread, NULL, audit_writer, as) != 0) {
		pthread_mutex_destroy(&as->as_mtx);
		pthread_cond_destroy(&as->as_cond);
		goto fail;
	}
	return as;
fail:
	if (as->as_fd != -1)
		close(as->as_fd);
	free(as->as_path);
	free(as->as_buf);
	free(as);
	return NULL;
}

/* A field separator, so ("ab", "c") and ("a", "bc") hash apart. */
static uint64_t
str_hash(const char *s, uint64_t h)
{
	return strhash(h, s) * 31 + 7;
}

static bool
str_eq(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static char *
str_dup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* Under as_mtx. */
static void
count_event(struct audit_sink *as, const struct audit_event *ev)
{
	uint64_t	 h = STRHASH_INIT;
	struct acount	*c;

	h = str_hash(ev->ae_sandbox, h);
	h = str_hash(ev->ae_action, h);
	h = str_hash(ev->ae_reason, h);
	h = str_hash(ev->ae_proto, h);
	for (c = as->as_counts[h % COUNT_BUCKETS]; c != NULL; c = c->ac_next)
		if (str_eq(c->ac_sandbox, ev->ae_sandbox) &&
		    str_eq(c->ac_action, ev->ae_action) &&
		    str_eq(c->ac_reason, ev->ae_reason) &&
		    str_eq(c->ac_proto, ev->ae_proto))
			break;
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->ac_sandbox = str_dup(ev->ae_sandbox);
		c->ac_action = str_dup(ev->ae_action);
		c->ac_reason = str_dup(ev->ae_reason);
		c->ac_proto = str_dup(ev->ae_proto);
		c->ac_next = as->as_counts[h % COUNT_BUCKETS];
		as->as_counts[h % COUNT_BUCKETS] = c;
	}
	c->ac_events++;
	if (ev->ae_has_bytes) {
		c->ac_up += ev->ae_bytes_up;
		c->ac_down += ev->ae_bytes_down;
	}
}

static struct ring *
ring_new(const char *sandbox, size_t cap)
{
	struct ring	*rg;

	if ((rg = calloc(1, sizeof(*rg))) == NULL)
		return NULL;
	rg->rg_sandbox = str_dup(sandbox);
	rg->rg_cap = cap;
	if (rg->rg_sandbox == NULL || (cap > 0 && (rg->rg_slots = calloc(cap,
	    sizeof(*rg->rg_slots))) == NULL)) {
		free(rg->rg_sandbox);
		free(rg);
		return NULL;
	}
	return rg;
}

static void
ring_free(struct ring *rg)
{
	size_t	i;

	for (i = 0; i < rg->rg_cap; i++)
		free(rg->rg_slots[i].rs_line);
	free(rg->rg_slots);
	free(rg->rg_sandbox);
	free(rg);
}

/*
 * Takes <dup> (the line without its newline: callers build JSON arrays of
 * them, made before the lock) into <rg>; returns what is to be freed once
 * the lock is let go: the line it replaced, or <dup> if not taken.
 */
static char *
ring_push(struct ring *rg, const struct audit_event *ev, char *dup,
    size_t len)
{
	struct rslot	*sl;
	char		*old;

	if (rg == NULL || rg->rg_cap == 0 || dup == NULL)
		return dup;
	sl = &rg->rg_slots[rg->rg_head];
	old = sl->rs_line;
	sl->rs_line = dup;
	sl->rs_len = len - 1;
	snprintf(sl->rs_action, sizeof(sl->rs_action), "%s",
	    ev->ae_action != NULL ? ev->ae_action : "");
	rg->rg_head = (rg->rg_head + 1) % rg->rg_cap;
	if (rg->rg_count < rg->rg_cap)
		rg->rg_count++;
	return old;
}

/*
 * Under as_mtx.  <dup>: two copies of the line for the sandbox's ring and
 * the ring of all; they come back in <dup> as what to free after the lock.
 */
static void
remember_event(struct audit_sink *as, const struct audit_event *ev,
    char *dup[2], size_t len)
{
	uint64_t	 h = str_hash(ev->ae_sandbox, STRHASH_INIT);
	struct ring	*rg;

	if (as->as_memory == 0)
		return;
	for (rg = as->as_rings[h % RING_BUCKETS]; rg != NULL; rg = rg->rg_next)
		if (str_eq(rg->rg_sandbox, ev->ae_sandbox))
			break;
	if (rg == NULL && (rg = ring_new(ev->ae_sandbox, as->as_memory)) !=
	    NULL) {
		rg->rg_next = as->as_rings[h % RING_BUCKETS];
		as->as_rings[h % RING_BUCKETS] = rg;
	}
	dup[0] = ring_push(rg, ev, dup[0], len);
	dup[1] = ring_push(as->as_all, ev, dup[1], len);
}

static void
learn_free(struct audit_sink *as)
{
	struct alearn	*l, *ln;
	size_t		 i;

	for (i = 0; i < LEARN_BUCKETS; i++)
		for (l = as->as_learn[i]; l != NULL; l = ln) {
			ln = l->al_next;
			free(l->al_sandbox);
			free(l->al_value);
			free(l);
		}
}

/* Under as_mtx. */
static void
learn_one(struct audit_sink *as, const char *sandbox, char kind,
    const char *value)
{
	uint64_t	 h = str_hash(value, str_hash(sandbox, STRHASH_INIT)) +
	    (uint64_t)kind;
	struct alearn	*l;

	for (l = as->as_learn[h % LEARN_BUCKETS]; l != NULL; l = l->al_next)
		if (l->al_kind == kind && str_eq(l->al_sandbox, sandbox) &&
		    strcmp(l->al_value, value) == 0) {
			l->al_count++;
			return;
		}
	if (as->as_nlearn >= LEARN_MAX || (l = calloc(1, sizeof(*l))) == NULL)
		return;
	l->al_sandbox = str_dup(sandbox);
	l->al_value = strdup(value);
	if (l->al_sandbox == NULL || l->al_value == NULL) {
		free(l->al_sandbox);
		free(l->al_value);
		free(l);
		return;
	}
	l->al_kind = kind;
	l->al_count = 1;
	l->al_next = as->as_learn[h % LEARN_BUCKETS];
	as->as_learn[h % LEARN_BUCKETS] = l;
	as->as_nlearn++;
}

/*
 * A learn event: the name (or, without one, the address) and, when
 * block-all refused the port, the port.  Under as_mtx.
 */
static void
learn_event(struct audit_sink *as, const struct audit_event *ev)
{
	char		addr[NETADDR_STRLEN];
	struct ipaddr	ia;

	if (ev->ae_reason == NULL || strcmp(ev->ae_reason, "learn") != 0 ||
	    ev->ae_sandbox == NULL)
		return;
	if (ev->ae_host != NULL && ipaddr_parse(ev->ae_host, &ia) == -1)
		learn_one(as, ev->ae_sandbox, AUDIT_LEARN_HOST, ev->ae_host);
	else if (ev->ae_dst != NULL &&
	    ipaddr_from_sockaddr(ev->ae_dst, &ia) == 0) {
		ipaddr_format(&ia, addr, sizeof(addr));
		learn_one(as, ev->ae_sandbox, AUDIT_LEARN_CIDR, addr);
	}
	if (ev->ae_would != NULL && ev->ae_dst != NULL &&
	    strcmp(ev->ae_would, "port-not-allowed") == 0) {
		snprintf(addr, sizeof(addr), "%u", netaddr_port(ev->ae_dst));
		learn_one(as, ev->ae_sandbox, AUDIT_LEARN_PORT, addr);
	}
}

void
audit_learned(struct audit_sink *as, const char *sandbox,
    audit_learn_fn *fn, void *arg)
{
	struct alearn	*l;
	size_t		 i;

	pthread_mutex_lock(&as->as_mtx);
	for (i = 0; i < LEARN_BUCKETS; i++)
		for (l = as->as_learn[i]; l != NULL; l = l->al_next)
			if (strcmp(l->al_sandbox, sandbox) == 0)
				fn(arg, l->al_kind, l->al_value, l->al_count);
	pthread_mutex_unlock(&as->as_mtx);
}

void
audit_emit(struct audit_sink *as, const struct audit_event *ev)
{
	char	 line[AUDIT_LINE_MAX];
	char	*dup[2] = { NULL, NULL };
	size_t	 n;
	bool	 dropped = false;

	if (!as->as_log_allowed && ev->ae_action != NULL &&
	    (strcmp(ev->ae_action, "allow") == 0 ||
	    strcmp(ev->ae_action, "end") == 0)) {
		/* Counted, never formatted. */
		pthread_mutex_lock(&as->as_mtx);
		count_event(as, ev);
		learn_event(as, ev);
		pthread_mutex_unlock(&as->as_mtx);
		return;
	}
	/*
	 * Formatting and the rings' copies are made before the lock, which
	 * the workers (and the DNS filter's) share: one short hold per
	 * event, no allocation under it.
	 */
	n = audit_json(ev, line, sizeof(line));
	if (as->as_memory != 0) {
		dup[0] = strndup(line, n - 1);
		dup[1] = strndup(line, n - 1);
	}
	pthread_mutex_lock(&as->as_mtx);
	count_event(as, ev);
	learn_event(as, ev);
	remember_event(as, ev, dup, n);
	if (as->as_len + n > as->as_max) {
		dropped = true;
	} else {
		memcpy(as->as_buf + as->as_len, line, n);
		as->as_len += n;
		/* Wake the writer early only when the buffer fills up. */
		if (as->as_len > as->as_max / 2)
			pthread_cond_signal(&as->as_cond);
	}
	pthread_mutex_unlock(&as->as_mtx);
	free(dup[0]);
	free(dup[1]);
	if (dropped)
		atomic_fetch_add(&as->as_dropped, 1);
}

void
audit_reopen(struct audit_sink *as)
{
	pthread_mutex_lock(&as->as_mtx);
	as->as_reopen = true;
	pthread_cond_signal(&as->as_cond);
	pthread_mutex_unlock(&as->as_mtx);
}

void
audit_set_options(struct audit_sink *as, bool log_allowed,
    unsigned memory_events, bool use_syslog)
{
	struct ring	*rg, *next;
	size_t		 i;

	pthread_mutex_lock(&as->as_mtx);
	as->as_log_allowed = log_allowed;
	if (use_syslog && !as->as_syslog)
		openlog("egressd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	as->as_syslog = use_syslog;
	if (memory_events != as->as_memory) {
		/* A new size starts the memory afresh. */
		for (i = 0; i < RING_BUCKETS; i++) {
			for (rg = as->as_rings[i]; rg != NULL; rg = next) {
				next = rg->rg_next;
				ring_free(rg);
			}
			as->as_rings[i] = NULL;
		}
		if (as->as_all != NULL)
			ring_free(as->as_all);
		as->as_memory = memory_events;
		as->as_all = ring_new(NULL, memory_events == 0 ? 0 :
		    memory_events > GLOBAL_RING_MIN ? memory_events :
		    GLOBAL_RING_MIN);
	}
	pthread_mutex_unlock(&as->as_mtx);
}

void
audit_recent(struct audit_sink *as, const char *sandbox, const char *action,
    size_t limit, void (*fn)(void *, const char *, size_t), void *arg)
{
	uint64_t	 h = str_hash(sandbox, STRHASH_INIT);
	struct ring	*rg = NULL;
	struct rslot	*sl;
	size_t		 i, done = 0;

	pthread_mutex_lock(&as->as_mtx);
	if (sandbox == NULL)
		rg = as->as_all;
	else
		for (rg = as->as_rings[h % RING_BUCKETS]; rg != NULL;
		    rg = rg->rg_next)
			if (strcmp(rg->rg_sandbox, sandbox) == 0)
				break;
	for (i = 0; rg != NULL && i < rg->rg_count && done < limit; i++) {
		sl = &rg->rg_slots[(rg->rg_head + rg->rg_cap - 1 - i) %
		    rg->rg_cap];
		if (sl->rs_line == NULL || (action != NULL &&
		    strcmp(sl->rs_action, action) != 0))
			continue;
		fn(arg, sl->rs_line, sl->rs_len);
		done++;
	}
	pthread_mutex_unlock(&as->as_mtx);
}

void
audit_counts(struct audit_sink *as, audit_count_fn *fn, void *arg)
{
	struct acount	*c;
	size_t		 i;

	pthread_mutex_lock(&as->as_mtx);
	for (i = 0; i < COUNT_BUCKETS; i++)
		for (c = as->as_counts[i]; c != NULL; c = c->ac_next)
			fn(arg, c->ac_sandbox, c->ac_action, c->ac_reason,
			    c->ac_proto, c->ac_events, c->ac_up, c->ac_down);
	pthread_mutex_unlock(&as->as_mtx);
}

void
audit_close(struct audit_sink *as)
{
	struct acount	*c, *cn;
	struct ring	*rg, *rn;
	size_t		 i;

	if (as == NULL)
		return;
	pthread_mutex_lock(&as->as_mtx);
	as->as_stop = true;
	pthread_cond_signal(&as->as_cond);
	pthread_mutex_unlock(&as->as_mtx);
	pthread_join(as->as_thread, NULL);
	/* Only now are the counts final. */
	log_info("audit: %llu events written, %llu dropped",
	    (unsigned long long)audit_written(as),
	    (unsigned long long)audit_dropped(as));
	if (as->as_fd != -1)
		close(as->as_fd);
	pthread_mutex_destroy(&as->as_mtx);
	pthread_cond_destroy(&as->as_cond);
	for (i = 0; i < COUNT_BUCKETS; i++)
		for (c = as->as_counts[i]; c != NULL; c = cn) {
			cn = c->ac_next;
			free(c->ac_sandbox);
			free(c->ac_action);
			free(c->ac_reason);
			free(c->ac_proto);
			free(c);
		}
	for (i = 0; i < RING_BUCKETS; i++)
		for (rg = as->as_rings[i]; rg != NULL; rg = rn) {
			rn = rg->rg_next;
			ring_free(rg);
		}
	if (as->as_all != NULL)
		ring_free(as->as_all);
	learn_free(as);
	free(as->as_path);
	free(as->as_buf);
	free(as);
}

uint64_t
audit_dropped(const struct audit_sink *as)
{
	return atomic_load(&((struct audit_sink *)as)->as_dropped);
}

uint64_t
audit_written(const struct audit_sink *as)
{
	return atomic_load(&((struct audit_sink *)as)->as_written);
}
