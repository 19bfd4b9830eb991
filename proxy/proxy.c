/*
 * proxy/proxy.c - the running configuration: loading it with the admin
 * API's state laid over it, swapping it in (reload, API changes), and
 * keeping that state on disk.
 */
#include "proxy/proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/errlist.h"
#include "common/fileio.h"
#include "common/log.h"
#include "daemon/config.h"
#include "policy/policy.h"

#define STATE_FILE	"state.json"

static char *
state_path(const struct config *cf)
{
	char	*p;

	if (cf->cf_state_dir == NULL || asprintf(&p, "%s/%s", cf->cf_state_dir,
	    STATE_FILE) < 0)
		return NULL;
	return p;
}

struct config *
proxy_load(const char *path, struct proxy_text *txt, struct errlist *el)
{
	struct config	*cf, *merged;
	char		*sp;

	memset(txt, 0, sizeof(*txt));
	if ((txt->pt_cf = file_read(path, &txt->pt_cflen)) == NULL) {
		errlist_add(el, path, 0, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	if ((cf = config_parse(txt->pt_cf, txt->pt_cflen, path, el)) == NULL)
		return NULL;
	/* state_dir comes from the config: read what the API left there. */
	if ((sp = state_path(cf)) == NULL)
		return cf;
	txt->pt_state = file_read(sp, &txt->pt_statelen);
	if (txt->pt_state == NULL) {
		if (errno != ENOENT) {
			errlist_add(el, sp, 0, 0, "cannot read: %s",
			    strerror(errno));
			config_free(cf);
			cf = NULL;
		}
		free(sp);
		return cf;
	}
	merged = config_parse_overlay(txt->pt_cf, txt->pt_cflen, path,
	    txt->pt_state, txt->pt_statelen, sp, el);
	free(sp);
	config_free(cf);
	return merged;
}

void
proxy_text_free(struct proxy_text *txt)
{
	free(txt->pt_cf);
	free(txt->pt_state);
	memset(txt, 0, sizeof(*txt));
}

/* Settings that belong to sockets and threads made at start-up. */
static void
warn_restart_needed(const struct config *o, const struct config *n)
{
	bool	same_listen = o->cf_nlisten == n->cf_nlisten;
	size_t	i;

	for (i = 0; same_listen && i < o->cf_nlisten; i++)
		same_listen = strcmp(o->cf_listen[i].la_text,
		    n->cf_listen[i].la_text) == 0;
	if (!same_listen)
		log_warnx("reload: listen changed; it applies after a restart");
	if (o->cf_workers != n->cf_workers)
		log_warnx("reload: workers changed; it applies after a restart");
	if ((o->cf_audit_file == NULL) != (n->cf_audit_file == NULL) ||
	    (o->cf_audit_file != NULL &&
	    strcmp(o->cf_audit_file, n->cf_audit_file) != 0))
		log_warnx("reload: audit.file changed; it applies after a "
		    "restart");
}

void
proxy_install(struct proxy *px, struct config *cf)
{
	struct config		*old = atomic_load(&px->p_cf);
	struct policy		*op;
	struct proxy_retired	*v;
	unsigned		 i, gen;

	warn_restart_needed(old, cf);
	pthread_mutex_lock(&px->p_pmtx);
	op = px->p_policy;
	px->p_policy = policy_ref(cf->cf_policy);
	pthread_mutex_unlock(&px->p_pmtx);
	policy_unref(op);
	atomic_store(&px->p_cf, cf);
	audit_set_options(px->p_audit, cf->cf_audit_log_allowed,
	    cf->cf_audit_memory_events, cf->cf_audit_syslog);
	/* The retired shell keeps no policy: connections hold their own. */
	policy_unref(old->cf_policy);
	old->cf_policy = NULL;
	if (cf->cf_max_connections != old->cf_max_connections)
		proxy_conn_budget(px, cf);
	gen = atomic_fetch_add(&px->p_generation, 1) + 1;
	proxy_reclaim(px, false);
	if ((v = realloc(px->p_retired, (px->p_nretired + 1) * sizeof(*v))) !=
	    NULL) {
		px->p_retired = v;
		v[px->p_nretired].pr_cf = old;
		v[px->p_nretired++].pr_gen = gen;
	} else
		log_warnx("reload: out of memory: the old config leaks");
	for (i = 0; i < px->p_nworkers; i++)
		worker_wake(&px->p_workers[i]);
}

size_t
proxy_pipe_pool_size(const struct proxy *px)
{
	size_t	n = px->p_nofile / 16 / (px->p_nworkers ? px->p_nworkers : 1) / 2;

	return n < WORKER_PIPE_POOL ? n : WORKER_PIPE_POOL;
}

void
proxy_conn_budget(struct proxy *px, const struct config *cf)
{
	unsigned long	spare, held;
	size_t		pools = proxy_pipe_pool_size(px) * 2 * px->p_nworkers;

	spare = px->p_nofile > PROXY_FD_RESERVE + pools ?
	    px->p_nofile - PROXY_FD_RESERVE - pools : 0;
	held = spare / RELAY_FDS_PER_CONN;
	if (held >= cf->cf_max_connections) {
		atomic_store(&px->p_conn_cap, cf->cf_max_connections);
		return;
	}
	atomic_store(&px->p_conn_cap, (unsigned)held);
	log_warnx("limits.max_connections is %u, but the descriptor limit "
	    "(RLIMIT_NOFILE %lu) holds only %lu relayed connections (%d "
	    "descriptors each, %d kept for the DNS filter and admin API): "
	    "more are refused with reason limit; raise the limit (ulimit -n, "
	    "LimitNOFILE=) to %lu or lower max_connections",
	    cf->cf_max_connections, px->p_nofile, held, RELAY_FDS_PER_CONN,
	    PROXY_FD_RESERVE, (unsigned long)cf->cf_max_connections *
	    RELAY_FDS_PER_CONN + PROXY_FD_RESERVE + pools);
}

void
proxy_reclaim(struct proxy *px, bool all)
{
	unsigned	seen = UINT_MAX, g;
	size_t		i, keep = 0;

	/* At exit the workers are gone already: everything goes. */
	for (i = 0; !all && i < px->p_nworkers; i++) {
		g = atomic_load(&px->p_workers[i].w_generation);
		if (g < seen)
			seen = g;
	}
	for (i = 0; i < px->p_nretired; i++) {
		if (all || px->p_retired[i].pr_gen <= seen)
			config_free(px->p_retired[i].pr_cf);
		else
			px->p_retired[keep++] = px->p_retired[i];
	}
	px->p_nretired = keep;
}

int
proxy_reload(struct proxy *px, struct errlist *el)
{
	const struct config	*cur = atomic_load(&px->p_cf);
	struct proxy_text	 txt;
	struct config		*cf;

	if ((cf = proxy_load(cur->cf_file, &txt, el)) == NULL) {
		proxy_text_free(&txt);
		atomic_fetch_add(&px->p_reloads_failed, 1);
		return -1;
	}
	proxy_text_free(&px->p_text);
	px->p_text = txt;
	proxy_install(px, cf);
	atomic_fetch_add(&px->p_reloads_ok, 1);
	return 0;
}

/* write-new, fsync, rename, fsync the directory: never a torn file. */
static int
state_write(const struct config *cf, const char *text, size_t len,
    struct errlist *el)
{
	char	*path, *tmp = NULL;
	int	 fd = -1, dfd, rc = -1;
	size_t	 off = 0;
	ssize_t	 n;

	if ((path = state_path(cf)) == NULL || asprintf(&tmp, "%s.tmp",
	    path) < 0) {
		errlist_add(el, "state_dir", 0, 0, "out of memory");
		free(path);
		return -1;
	}
	if (mkdir(cf->cf_state_dir, 0700) == -1 && errno != EEXIST) {
		errlist_add(el, cf->cf_state_dir, 0, 0, "cannot create: %s",
		    strerror(errno));
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1) {
		errlist_add(el, tmp, 0, 0, "cannot write: %s", strerror(errno));
		goto out;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			errlist_add(el, tmp, 0, 0, "write: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		errlist_add(el, tmp, 0, 0, "fsync: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		errlist_add(el, path, 0, 0, "rename: %s", strerror(errno));
		goto out;
	}
	if ((dfd = open(cf->cf_state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

int
proxy_apply_state(struct proxy *px, const char *state, size_t len,
    struct errlist *el)
{
	const struct config	*cur = atomic_load(&px->p_cf);
	struct config		*cf;
	char			*copy, *sp;

	sp = state_path(cur);
	cf = config_parse_overlay(px->p_text.pt_cf, px->p_text.pt_cflen,
	    cur->cf_file, state, len, sp != NULL ? sp : "state", el);
	free(sp);
	if (cf == NULL)
		return -1;
	/* On disk first: a change that is not kept is not made. */
	if (state_write(cf, state, len, el) == -1 ||
	    (copy = malloc(len + 1)) == NULL) {
		config_free(cf);
		return -1;
	}
	memcpy(copy, state, len);
	copy[len] = '\0';
	free(px->p_text.pt_state);
	px->p_text.pt_state = copy;
	px->p_text.pt_statelen = len;
	proxy_install(px, cf);
	return 0;
}

const unsigned long long proxy_lat_bounds_ns[PROXY_LAT_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 100000, 1000000, 10000000
};

void
proxy_count_decision(struct proxy *px, uint64_t ns)
{
	unsigned	i;

	for (i = 0; i < PROXY_LAT_BUCKETS; i++)
		if (ns <= proxy_lat_bounds_ns[i])
			break;
	atomic_fetch_add(&px->p_lat[i], 1);
	atomic_fetch_add(&px->p_lat_sum_ns, ns);
}
