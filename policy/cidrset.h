/*
 * policy/cidrset.h - a set of CIDR rules as binary prefix tries (one per
 * family), so a lookup costs at most 32 or 128 steps whatever the number
 * of rules.  Pure code; read-only (and thread-safe) once built.
 */
#ifndef EGRESS_CIDRSET_H
#define EGRESS_CIDRSET_H

#include <stddef.h>

#include "common/cidr.h"

struct cidrset;

struct cidrset	*cidrset_new(void);
void		 cidrset_free(struct cidrset *cs);
/* <text> (copied) is what a match reports; the first text of a prefix wins. */
int		 cidrset_add(struct cidrset *cs, const struct cidr *c,
		    const char *text);
/*
 * A copy that shares the nodes of <cs>: O(1); later changes to either
 * copy only the nodes on their path.
 */
struct cidrset	*cidrset_copy(const struct cidrset *cs);
/* Removes the rule for exactly <c>, if there is one.  0, or -1. */
int		 cidrset_del(struct cidrset *cs, const struct cidr *c);
/* The rule text of the longest prefix containing <ia>, or NULL. */
const char	*cidrset_match(const struct cidrset *cs, const struct ipaddr *ia);
/* The text of a rule whose range overlaps <c> (contains it or lies in
 * it), or NULL. */
const char	*cidrset_overlap(const struct cidrset *cs, const struct cidr *c);
size_t		 cidrset_count(const struct cidrset *cs);
/* Calls <fn> with each rule text (IPv4 then IPv6, in address order). */
void		 cidrset_foreach(const struct cidrset *cs,
		    void (*fn)(void *, const char *), void *arg);

#endif /* EGRESS_CIDRSET_H */
