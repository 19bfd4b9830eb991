/*
 * policy/parse.h - the policy part of the configuration (profiles,
 * policies, sandboxes; docs/config.md) read from a YAML tree.  The
 * daemon's own settings are daemon/config.c's.
 */
#ifndef EGRESS_POLICY_PARSE_H
#define EGRESS_POLICY_PARSE_H

#include <stdbool.h>

#include "policy/policy.h"
#include "policy/yread.h"

/*
 * Builds the policy snapshot from the top-level mapping <root>, or NULL
 * with every error added to yr's list.  Sandboxes whose id is in
 * <api_ids>, and policies named in <api_pols> (NULL-terminated, may be
 * NULL), are marked as set through the admin API.
 */
struct policy	*policy_parse(struct yread *yr, const struct ynode *root,
		    char *const *api_ids, char *const *api_pols);
/*
 * A new snapshot sharing everything of <old> (its sandboxes, named
 * policies and indexes): the start of one sandbox's change, which then
 * costs what it changes (policy_remove_sandbox(), then
 * policy_parse_sandbox()).  NULL when out of memory.
 */
struct policy	*policy_derive(struct policy *old);
/* Takes sandbox <id> (if any) out of <p>.  0, or -1 (no memory). */
int		 policy_remove_sandbox(struct policy *p, const char *id);
/*
 * One sandbox definition <def> (config schema) added to <p>, a snapshot
 * from policy_derive() that no longer holds that id: validated against
 * the rest (its policies exist, its sources overlap nobody's).  0, or -1
 * with the errors in yr's list (<p> is then to be discarded).
 */
int		 policy_parse_sandbox(struct yread *yr, struct policy *p,
		    const struct ynode *def, bool from_api);
/* verify | redial | trust, for dns.destination and a policy's own. */
void		 policy_parse_dest(struct yread *yr, const struct ynode *n,
		    const char *what, enum policy_dest *dst);

#endif /* EGRESS_POLICY_PARSE_H */
