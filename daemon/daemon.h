/*
 * daemon/daemon.h - egressd as a process: the config in force and how it
 * changes (reload, the admin API's state), the main loop with its
 * signals, the DNS filter and the admin API, and the data plane
 * (proxy/proxy.h) it starts and stops.  Main thread only.
 */
#ifndef EGRESS_DAEMON_H
#define EGRESS_DAEMON_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

struct audit_sink;
struct config;
struct errlist;
struct policy;
struct proxy;

/* The texts the running config was built from. */
struct daemon_text {
	char	*dt_cf;		/* owns: the config file as last read */
	size_t	 dt_cflen;
	char	*dt_state;	/* owns: the API's state (JSON), or NULL */
	size_t	 dt_statelen;
};

struct daemon;

/*
 * Reads the config file at <path> and the state the admin API left in its
 * state_dir, and builds the config from both.  <txt> keeps the texts.
 */
struct config	*daemon_load(const char *path, struct daemon_text *txt,
		    struct errlist *el);
void		 daemon_text_free(struct daemon_text *txt);

/* Runs egressd with <cf> until SIGTERM/SIGINT and the drain: the exit
 * code.  Takes <cf> and <txt>. */
int		 daemon_run(struct config *cf, struct daemon_text *txt);

/* For the admin API (daemon/admin.c). */
const struct config *daemon_config(const struct daemon *d);
/* A new reference to the policy in force. */
struct policy	*daemon_policy(struct daemon *d);
struct proxy	*daemon_proxy(struct daemon *d);
struct audit_sink *daemon_audit(struct daemon *d);
/* The API state in force (JSON), or NULL. */
const char	*daemon_state(const struct daemon *d, size_t *len);
/*
 * SIGHUP and POST /api/v1/reload: 0, or -1 with the errors.  On success
 * the start-only keys that changed (docs/config.md, Reload) are logged
 * and, when <keys> is not NULL, named there (at most
 * DAEMON_RESTART_KEYS_MAX, static strings), their count in <*nkeys>.
 */
#define DAEMON_RESTART_KEYS_MAX	16
int		 daemon_reload(struct daemon *d, struct errlist *el,
		    const char **keys, size_t *nkeys);
/* Validates the config with new API state, persists it, swaps it in. */
int		 daemon_apply_state(struct daemon *d, const char *state,
		    size_t len, struct errlist *el);

/*
 * Sessions (docs/admin.md): one more policy judging a sandbox, in memory
 * only, gone after <ttl_s>, on clear or on restart.  <policy> is in the
 * config's schema (mode, allow, deny), <view> what GET shows.  Setting or
 * clearing judges live connections again.  0, or -1 with the errors (the
 * session in force stays).
 */
int		 daemon_session_set(struct daemon *d, const char *id,
		    json_t *policy, json_t *view, unsigned ttl_s,
		    struct errlist *el);
/* The session as set, with "expires_in_s"; NULL when there is none. */
json_t		*daemon_session_get(struct daemon *d, const char *id);
/* -1 when there was none (or the rebuild failed, with <el>). */
int		 daemon_session_clear(struct daemon *d, const char *id,
		    struct errlist *el);

/* The config file's policy <name> as JSON (as written), or NULL. */
json_t		*daemon_file_policy(struct daemon *d, const char *name);

/*
 * Sandbox <id>'s phantom token (docs/interception.md) into <hex>
 * (PHANTOM_HEX + 1 bytes, lower-case hex digits): the one it has, or a new
 * random one when it has none or <rotate> (the old one then stops working
 * at once).  A new token is in state_dir before it is handed out or in
 * force.  0, or -1 with the error in <el>.  The caller checks <id>.
 */
int		 daemon_phantom(struct daemon *d, const char *id, bool rotate,
		    char *hex, struct errlist *el);
/* Forgets <id>'s token: its sandbox is gone. */
void		 daemon_phantom_drop(struct daemon *d, const char *id);
/* tls_intercept's CA certificate (PEM), or NULL when it is not set. */
const char	*daemon_ca_pem(const struct daemon *d, size_t *len);

struct selftest_result;
/* The self-test's probes from inside the running egressd; the failures. */
int		 daemon_selftest(struct daemon *d, struct selftest_result *r);

struct daemon_stats {
	unsigned	ds_reloads_ok;
	unsigned	ds_reloads_failed;
	time_t		ds_started;	/* wall clock */
	bool		ds_tls;		/* tls_intercept is configured */
	uint64_t	ds_leaf_minted;	/* by the CA in force */
	size_t		ds_leaf_cached;
};
void		 daemon_stats(const struct daemon *d, struct daemon_stats *st);

#endif /* EGRESS_DAEMON_H */
