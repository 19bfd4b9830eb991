/*
 * policy/hostname.h - host names and host patterns, normalized.
 *
 * Pure code.  Every name egressd compares goes through
 * hostname_normalize() first: lowercase, trailing dot removed, IDNs as
 * A-labels (libidn2), so a rule and a SNI can only match in one form.
 */
#ifndef EGRESS_HOSTNAME_H
#define EGRESS_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "common/ipaddr.h"

#define HOSTNAME_MAX	254	/* 253 characters plus NUL */

enum hostpat_kind {
	HOSTPAT_EXACT,		/* example.com */
	HOSTPAT_WILDCARD,	/* *.example.com: one or more extra labels */
	HOSTPAT_REGEX,		/* ~REGEX: PCRE2 over the whole name */
	HOSTPAT_IP		/* an IP literal, treated as a /32 or /128 */
};

struct hostpat {
	enum hostpat_kind hp_kind;
	char		 hp_name[HOSTNAME_MAX];	/* EXACT; WILDCARD: suffix
						   without "*." */
	const char	*hp_regex;		/* REGEX: borrowed from input */
	struct ipaddr	 hp_ip;			/* IP */
};

/*
 * Normalizes a name from the wire or a config into <out>.  Returns 0, or
 * -1 with <why> naming the problem (bad character, label too long, ...).
 */
int	hostname_normalize(const char *in, char *out, size_t outsz,
	    const char **why);

/* Classifies and normalizes a config host entry; 0 or -1 with <why>. */
int	hostpat_parse(const char *in, struct hostpat *hp, const char **why);

/* True when <name> (normalized) is a public suffix such as com, co.uk. */
bool	hostname_is_public_suffix(const char *name);
/* The registrable domain of <name> (pypi.org for files.pypi.org), a
 * pointer into <name>, or NULL (a public suffix, an IP literal). */
const char *hostname_registrable(const char *name);

#endif /* EGRESS_HOSTNAME_H */
