/*
 * audit/audit.h - audit events as JSON Lines (docs/audit.md).
 *
 * audit_json() is pure.  The sink hands lines to a writer thread through
 * a bounded buffer: the data path only copies a line under a mutex and
 * never waits for the disk; when the buffer is full the event is dropped
 * and counted instead.
 */
#ifndef EGRESS_AUDIT_H
#define EGRESS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct audit_event {
	struct timespec		 ae_ts;		/* CLOCK_REALTIME */
	const char		*ae_sandbox;	/* NULL = unknown */
	const char		*ae_action;	/* allow, deny, end, error */
	const char		*ae_reason;	/* NULL = none */
	const char		*ae_would;	/* learn: block-all's reason */
	const char		*ae_policy;
	const char		*ae_rule;
	const char		*ae_proto;	/* tls, http, other, dns */
	const char		*ae_host;
	const char		*ae_method;
	const char		*ae_path;	/* not NUL-terminated: */
	size_t			 ae_path_len;	/* ... this many bytes */
	bool			 ae_ech;
	bool			 ae_host_claimed; /* host not what decided */
	const struct sockaddr	*ae_src;
	const struct sockaddr	*ae_dst;
	uint64_t		 ae_conn;
	bool			 ae_has_bytes;	/* end events */
	uint64_t		 ae_bytes_up;
	uint64_t		 ae_bytes_down;
	uint64_t		 ae_duration_ms;
};

/* Longest line audit_json() writes: paths are cut to fit. */
#define AUDIT_LINE_MAX	4096

/*
 * Formats <ev> as one JSON object and a newline into <buf> (at least
 * AUDIT_LINE_MAX bytes).  Returns the length.  Strings from the wire are
 * escaped; invalid UTF-8 becomes \ufffd so every line is valid JSON.
 */
size_t	audit_json(const struct audit_event *ev, char *buf, size_t len);

struct audit_sink;

/* <path>: a file (appended), "-" for stdout, NULL for none. */
struct audit_sink *audit_open(const char *path, size_t bufmax, char **err);
void	audit_emit(struct audit_sink *as, const struct audit_event *ev);
/* Reopens the file at the writer's next turn (SIGUSR1, log rotation). */
void	audit_reopen(struct audit_sink *as);
/* Writes what is buffered, stops the writer, frees. */
void	audit_close(struct audit_sink *as);
/*
 * Lines that never reached the file: a full queue, or a failed write (a
 * full disk).  Writing resumes by itself when the file takes lines again.
 */
uint64_t audit_dropped(const struct audit_sink *as);
/* Lines the file (or, without one, the writer) really took. */
uint64_t audit_written(const struct audit_sink *as);

/*
 * <log_allowed> false keeps allow and end events out of the file (they
 * are still counted); <memory_events> is how many recent events per
 * sandbox stay in memory for audit_recent(); <use_syslog> copies every
 * written line to syslog (LOG_DAEMON, LOG_INFO, tag "egressd").  Safe to
 * call at any time.
 */
void	audit_set_options(struct audit_sink *as, bool log_allowed,
	    unsigned memory_events, bool use_syslog);
/*
 * Calls <fn> with the JSON lines of the newest <limit> kept events of
 * <sandbox> (NULL: of every sandbox) whose action is <action> (NULL:
 * any), newest first.  <fn> runs under the sink's lock: copy, don't call
 * back into the sink.
 */
void	audit_recent(struct audit_sink *as, const char *sandbox,
	    const char *action, size_t limit,
	    void (*fn)(void *arg, const char *line, size_t len), void *arg);
/* Every counter: events by sandbox, action, reason and protocol, and the
 * bytes of end events. */
typedef void audit_count_fn(void *arg, const char *sandbox,
    const char *action, const char *reason, const char *proto,
    uint64_t events, uint64_t bytes_up, uint64_t bytes_down);
void	audit_counts(struct audit_sink *as, audit_count_fn *fn, void *arg);

/* What learn mode let through, by kind (docs/admin.md, suggest). */
#define AUDIT_LEARN_HOST	'h'	/* a name: SNI, Host, DNS query */
#define AUDIT_LEARN_CIDR	'c'	/* an address, for traffic without one */
#define AUDIT_LEARN_PORT	'p'	/* a port block-all would refuse */
typedef void audit_learn_fn(void *arg, char kind, const char *value,
    uint64_t count);
/* Calls <fn> for every thing learnt for <sandbox>, under the sink's lock. */
void	audit_learned(struct audit_sink *as, const char *sandbox,
	    audit_learn_fn *fn, void *arg);

#endif /* EGRESS_AUDIT_H */
