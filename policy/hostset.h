/*
 * policy/hostset.h - a set of host patterns with flat lookup cost.
 *
 * Exact names live in a hash; wildcards in a hash of their suffixes,
 * probed once per label of the queried name (so cost depends on the
 * name's depth, not on the number of rules); regexes are tried last, in
 * order.  Pure code: built once per policy snapshot, then read-only and
 * safe to share between worker threads.
 */
#ifndef EGRESS_HOSTSET_H
#define EGRESS_HOSTSET_H

#include <stddef.h>
#include <stdint.h>

#include "policy/hostname.h"

struct hostset;

struct hostset	*hostset_new(void);
void		 hostset_free(struct hostset *hs);
/*
 * Adds an EXACT, WILDCARD or REGEX pattern; <text> is the rule text that a
 * match reports (copied).  Returns 0, or -1 with <why> (a PCRE2 message
 * with its offset is written to <whybuf>).
 */
int		 hostset_add(struct hostset *hs, const struct hostpat *hp,
		    const char *text, char *whybuf, size_t whylen);
/*
 * The rule text of the first match of normalized <name>, or NULL.  A regex
 * that cannot finish (PCRE2 match or depth limit, any other match error)
 * counts as no match: for allow rules.
 */
const char	*hostset_match(const struct hostset *hs, const char *name);
/*
 * The same, but a regex that cannot finish counts as a match and is the
 * rule reported: deny rules, and rules that restrict, fail closed.
 */
const char	*hostset_match_deny(const struct hostset *hs, const char *name);
/* Frees this thread's regex scratch space (kept between lookups). */
void		 hostset_thread_exit(void);
/*
 * Caps the steps (and backtracking depth) of one regex match; 0 restores
 * the default, which is far above what a host-name pattern needs.
 */
void		 hostset_set_match_limit(struct hostset *hs, uint32_t limit);
size_t		 hostset_count(const struct hostset *hs);
/* Calls <fn> with each rule text, in the order added. */
void		 hostset_foreach(const struct hostset *hs,
		    void (*fn)(void *, const char *), void *arg);

#endif /* EGRESS_HOSTSET_H */
