/*
 * policy/policy_int.h - the snapshot's layout, shared by policy.c (which
 * reads it) and config.c (which builds it).  Not for other modules.
 */
#ifndef EGRESS_POLICY_INT_H
#define EGRESS_POLICY_INT_H

#include <stdatomic.h>
#include <stddef.h>

#include "policy/cidrset.h"
#include "policy/hostset.h"
#include "policy/policy.h"

struct port_range {
	uint16_t	pr_lo, pr_hi;
	char		*pr_text;	/* owns: rule text for the audit */
};

/* One side (allow or deny) of a policy. */
struct rule_set {
	struct hostset		*rs_hosts;	/* owns; never NULL */
	struct cidrset		*rs_cidrs;	/* owns; IP-literal hosts too */
	struct port_range	*rs_ports;	/* owns */
	size_t			 rs_nports;
};

struct profile {
	char		*pf_name;	/* owns */
	struct hostset	*pf_hosts;	/* owns */
	struct cidrset	*pf_cidrs;	/* owns: IP literals in the profile */
};

/*
 * learn: judged like block-all, but what block-all refuses for want of an
 * allow passes (reason learn, docs/config.md), checked like a host allow.
 */
enum policy_mode { MODE_BLOCK_ALL, MODE_ALLOW_ALL, MODE_LEARN };

/* endpoints: plain-HTTP requests to <ep_hosts> must match one entry. */
struct endpoint {
	struct hostset	 *ep_hosts;	/* owns: the entry's host pattern */
	char		**ep_methods;	/* owns; none = any method */
	size_t		  ep_nmethods;
	char		**ep_paths;	/* owns: fnmatch globs; none = any */
	size_t		  ep_npaths;
	char		 *ep_text;	/* owns: "endpoints HOST" */
};

/* credentials: a header added to intercepted requests to <cr_hosts>. */
struct credential {
	struct hostset	*cr_hosts;	/* owns */
	char		*cr_header;	/* owns */
	char		*cr_path;	/* owns: value_file */
	char		*cr_file;	/* owns: where value_file was written */
	unsigned	 cr_line, cr_col;
	bool		 cr_phantom;
	char		*cr_text;	/* owns: "credentials HOST" */
	struct secret	*cr_secret;	/* owns; NULL until loaded */
};

struct pol {
	char		 *po_name;	/* owns */
	enum policy_mode  po_mode;
	unsigned	  po_protocols;	/* POLICY_PROTO_* bits */
	struct profile	**po_profiles;	/* owns the array; borrows entries */
	size_t		  po_nprofiles;
	struct rule_set	  po_allow;
	struct rule_set	  po_deny;
	bool		  po_allow_private;
	enum policy_dest  po_destination;
	struct endpoint	 *po_endpoints;	/* owns */
	size_t		  po_nendpoints;
	bool		  po_from_api;	/* set through the admin API */
	struct hostset	 *po_intercept;	/* owns: intercept_tls; NULL = none */
	struct credential *po_creds;	/* owns */
	size_t		  po_ncreds;
};

struct sandbox {
	char		 *sb_id;	/* owns */
	struct cidr	 *sb_sources;	/* owns; NULL = any source */
	size_t		  sb_nsources;
	struct pol	**sb_pols;	/* owns the array; borrows entries */
	size_t		  sb_npols;
	struct pol	 *sb_inline;	/* owns; NULL when no inline rules */
	struct pol	 *sb_session;	/* owns: one more judge, from the
					   admin API's sessions; or NULL */
	char		 *sb_inline_name; /* owns: "sandbox:<id>" */
	bool		  sb_intercept;
	bool		  sb_from_api;	/* changed through the admin API */
	/*
	 * Live connections of this sandbox, across workers.  The one
	 * mutable field of a snapshot: a counter the proxy keeps, moved to
	 * the new snapshot's sandbox when a reload re-judges a connection.
	 */
	atomic_uint	  sb_active;
};

struct policy {
	atomic_int	  p_refs;
	struct profile	**p_profiles;	/* owns */
	size_t		  p_nprofiles;
	struct pol	**p_pols;	/* owns */
	size_t		  p_npols;
	struct sandbox	**p_sandboxes;	/* owns */
	size_t		  p_nsandboxes;
	/*
	 * Indexes, so that finding a sandbox by id or by source costs the
	 * same with 10 sandboxes as with 10,000: an open-addressing table
	 * of ids, and a prefix trie of sources (text: the index in
	 * p_sandboxes) plus the one sandbox without sources.
	 */
	struct sandbox	**p_byid;	/* owns the array */
	size_t		  p_byid_cap;	/* a power of two, or 0 */
	struct cidrset	 *p_bysource;	/* owns */
	struct sandbox	 *p_anysource;	/* borrowed */
};

struct policy	*policy_new(void);
/*
 * Adds <sb> (already in p_sandboxes) to the indexes.  -1 when its id is
 * taken (<clash> says by which) or a source overlaps another sandbox's
 * (<clash>: that sandbox), or on memory exhaustion (<clash> NULL).
 */
int		 policy_index_sandbox(struct policy *p, struct sandbox *sb,
		    const struct sandbox **clash, const struct cidr **src);
struct pol	*pol_new(const char *name);
void		 pol_free(struct pol *po);
void		 profile_free(struct profile *pf);
void		 sandbox_free(struct sandbox *sb);
/* Built-in profiles (docs/config.md): name -> NULL-terminated host list. */
const char *const *profile_builtin(const char *name);

#endif /* EGRESS_POLICY_INT_H */
