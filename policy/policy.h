/*
 * policy/policy.h - the policy model and its decisions (docs/config.md).
 *
 * Pure code.  A struct policy is an immutable snapshot of profiles,
 * policies and sandboxes built by config_parse(); it is reference-counted
 * so a reload can swap it while connections still hold the old one.
 */
#ifndef EGRESS_POLICY_H
#define EGRESS_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ipaddr.h"

enum policy_proto {
	POLICY_PROTO_TLS = 1,
	POLICY_PROTO_HTTP = 2,
	POLICY_PROTO_OTHER = 4,
	POLICY_PROTO_DNS = 8,
	/*
	 * A request inside intercepted TLS (docs/interception.md): judged
	 * like HTTP (endpoints), allowed by protocols like the TLS it
	 * arrived in.
	 */
	POLICY_PROTO_HTTPS = 16
};
#define POLICY_PROTO_ALL \
	(POLICY_PROTO_TLS | POLICY_PROTO_HTTP | POLICY_PROTO_OTHER)

/* docs/config.md: what a host-rule allow does about the name's honesty. */
enum policy_dest {
	DEST_DEFAULT,		/* the policy did not say: dns.destination */
	DEST_VERIFY,		/* the destination must be among its addresses */
	DEST_REDIAL,		/* dial egressd's own resolution instead */
	DEST_TRUST		/* believe the name (closed networks only) */
};

enum policy_action {
	POLICY_ALLOW,
	POLICY_DENY
};

/* docs/audit.md's reasons; the strings are the audit's vocabulary. */
enum policy_reason {
	REASON_NONE,
	REASON_RULE,			/* allow: a rule allowed it */
	REASON_INTERCEPT_OFF,		/* allow: sandbox not intercepted */
	REASON_NO_MATCHING_ALLOW,
	REASON_DENIED_BY_RULE,
	REASON_PORT_NOT_ALLOWED,
	REASON_PROTOCOL_NOT_ALLOWED,
	REASON_DESTINATION_MISMATCH,
	REASON_PRIVATE_DESTINATION,
	REASON_UNKNOWN_SANDBOX,
	REASON_BAD_TLS,
	REASON_BAD_HTTP,
	REASON_TOO_LARGE,
	REASON_PEEK_TIMEOUT,
	REASON_LIMIT,
	REASON_CONNECT_FAILED,
	REASON_DNS_FAILED,
	REASON_REVOKED,			/* end: a policy change closed it */
	REASON_LOOP,			/* deny: destination is egressd itself */
	REASON_IDLE,			/* end: idle_timeout_s passed */
	REASON_LEARN,			/* allow: learn mode let it pass */
	REASON_UPSTREAM_CERT,		/* deny: intercepted upstream failed
					   verification */
	REASON_CREDENTIAL_MISSING	/* deny: no phantom token */
};

struct policy_query {
	enum policy_proto	 pq_proto;
	const char		*pq_host;	/* normalized; NULL = none */
	struct ipaddr		 pq_dst;	/* original destination; family
						   0 = unknown (--explain) */
	uint16_t		 pq_port;
	const char		*pq_method;	/* HTTP: the request's, or NULL */
	const char		*pq_path;	/* HTTP: raw path, not ... */
	size_t			 pq_path_len;	/* ... NUL-terminated */
};

struct policy_decision {
	enum policy_action	 pd_action;
	enum policy_reason	 pd_reason;
	const char		*pd_policy;	/* borrowed from the snapshot */
	const char		*pd_rule;	/* borrowed, e.g. "deny.hosts x" */
	bool			 pd_by_host;	/* allowed by a host rule */
	enum policy_reason	 pd_would;	/* learn: what block-all said */
	enum policy_dest	 pd_dest;	/* set when pd_by_host */
};

struct policy;
struct sandbox;

struct policy	*policy_ref(struct policy *p);
void		 policy_unref(struct policy *p);
/* Longest-prefix match on sources; a sandbox without sources matches any. */
const struct sandbox *policy_sandbox_find(const struct policy *p,
		    const struct ipaddr *src);
const struct sandbox *policy_sandbox_by_id(const struct policy *p,
		    const char *id);
const char	*sandbox_id(const struct sandbox *sb);
/* What the admin API shows of a snapshot and its sandboxes. */
size_t		 policy_nsandboxes(const struct policy *p);
const struct sandbox *policy_sandbox_at(const struct policy *p, size_t i);
bool		 sandbox_intercept(const struct sandbox *sb);
bool		 sandbox_from_api(const struct sandbox *sb);
/* The named policies of the snapshot (docs/admin.md, policies). */
size_t		 policy_npolicies(const struct policy *p);
const char	*policy_name_at(const struct policy *p, size_t i,
		    bool *from_api);
bool		 sandbox_uses_policy(const struct sandbox *sb,
		    const char *name);
/* "block-all", "learn" or "allow-all": the strictest of its policies. */
const char	*sandbox_mode(const struct sandbox *sb);
size_t		 sandbox_npolicies(const struct sandbox *sb);
const char	*sandbox_policy_name(const struct sandbox *sb, size_t i);
size_t		 sandbox_nsources(const struct sandbox *sb);
void		 sandbox_source(const struct sandbox *sb, size_t i, char *buf,
		    size_t len);
/*
 * Every rule that applies to <sb>: <kind> is allow.hosts, deny.hosts,
 * allow.cidrs, deny.cidrs, allow.ports or deny.ports; <from> says where
 * it is written ("policy agent", "profile github", "sandbox agent-1").
 */
typedef void policy_rule_fn(void *arg, const char *kind, const char *pattern,
    const char *from);
void		 policy_sandbox_rules(const struct sandbox *sb,
		    policy_rule_fn *fn, void *arg);

/* Counts a live connection of <sb>; returns the count including it. */
unsigned	 sandbox_conn_add(const struct sandbox *sb);
void		 sandbox_conn_del(const struct sandbox *sb);

/* The whole decision (docs/config.md, Decisions) for one connection or
 * request. */
void		 policy_eval(const struct sandbox *sb,
		    const struct policy_query *q, struct policy_decision *d);
/*
 * Decides before any byte is read when the host cannot matter: every
 * policy allows the destination by a cidr rule and has no deny host rule
 * and no endpoint rule (both judge what the client says).
 * Returns true with <d> filled, false when the host must be peeked.
 */
/* Frees what decisions keep per thread; call before a thread ends. */
void		 policy_thread_exit(void);

/*
 * What --explain and the admin API's explain ask (docs/config.md,
 * "Explaining a decision"): one implementation behind both.
 */
struct policy_explain_in {
	const char	*pi_target;	/* HOST, an address, or a URL
					   http[s]://HOST[:PORT][/PATH] */
	unsigned	 pi_port;	/* 0: the URL's, else 443 (80 for
					   http://) */
	const char	*pi_method;	/* HTTP method, or NULL (GET) */
	const char	*pi_dst;	/* the destination address, or NULL */
	enum policy_dest pi_dns_dest;	/* dns.destination (DEFAULT: verify) */
};

/* What they answer (one text for both). */
struct policy_explanation {
	char			 pe_host[254];	/* normalized, or the address */
	uint16_t		 pe_port;
	enum policy_proto	 pe_proto;
	char			 pe_method[33];	/* HTTP: judged as, else "" */
	char			 pe_path[2048];	/* HTTP: judged as, else "" */
	char			 pe_dst[64];	/* the address judged, or "" */
	struct policy_decision	 pe_d;
	const char		*pe_note;	/* sentences, or NULL */
	char			 pe_notebuf[1024];
};
/*
 * Judges a new connection (or, over HTTP, one request) of <sb> as the data
 * path would, without the network: a URL's scheme sets the protocol
 * (http: plain HTTP, a request with its method and path, so `endpoints`
 * apply; https: TLS, or a request too when the host is in intercept_tls),
 * a bare HOST is judged as TLS on any port but 80.
 * With pi_dst the destination's cidr rules, private ranges and an IP
 * literal's honesty are judged too; the destination check (does the name
 * lead there?) needs DNS and is only described in the note.  0, or -1
 * with <*why> when the input is not valid.
 */
int		 policy_explain(const struct sandbox *sb,
		    const struct policy_explain_in *in,
		    struct policy_explanation *pe, const char **why);
bool		 policy_eval_early(const struct sandbox *sb,
		    const struct ipaddr *dst, uint16_t port,
		    struct policy_decision *d);

const char	*policy_reason_str(enum policy_reason r);
const char	*policy_proto_str(enum policy_proto p);
const char	*policy_action_str(enum policy_action a);
const char	*policy_dest_str(enum policy_dest d);
/*
 * Whether some connection to <name> could be allowed by its host: every
 * policy allows it by a host rule (or allows all) and none denies it.
 * The DNS filter answers only such names.  <d> says which rule decided.
 */
bool		 policy_name_check(const struct sandbox *sb, const char *name,
		    struct policy_decision *d);

/*
 * HTTPS interception (docs/interception.md).  Whether a policy of <sb>
 * lists <host> (normalized) in intercept_tls; never for a sandbox whose
 * intercept is off.
 */
bool		 policy_intercepts(const struct sandbox *sb, const char *host);

struct credential;
struct secret;
/* The first credential of <sb>'s policies for <host>, or NULL. */
const struct credential *policy_credential(const struct sandbox *sb,
		    const char *host);
const char	*credential_header(const struct credential *cr);
/* NULL until policy_load_secrets() gave it one. */
const struct secret *credential_secret(const struct credential *cr);
bool		 credential_phantom(const struct credential *cr);
/* The rule text for the audit, "credentials HOST". */
const char	*credential_rule(const struct credential *cr);
/*
 * Gives every credential of <p> its value: <fn> reads <path>, the
 * value_file written at FILE:LINE:COLUMN, and returns NULL after
 * reporting why it could not.  Done once, before the snapshot is shared.
 * Returns how many failed.
 */
typedef struct secret *policy_secret_fn(void *arg, const char *path,
		    const char *file, unsigned line, unsigned col);
size_t		 policy_load_secrets(struct policy *p, policy_secret_fn *fn,
		    void *arg);
/* Whether some policy of <p> intercepts TLS (a CA must be loaded). */
bool		 policy_has_intercept(const struct policy *p);

#endif /* EGRESS_POLICY_H */
