/*
 * policy/yread.h - checked reads from a YAML tree (policy/yamltree.h),
 * shared by the policy's schema (policy/parse.c) and the daemon's
 * (daemon/config.c).  Errors go to an errlist as FILE:LINE:COLUMN.
 */
#ifndef EGRESS_YREAD_H
#define EGRESS_YREAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/errlist.h"
#include "policy/yamltree.h"

struct yread {
	const char	*yr_file;	/* for errors without a node */
	struct errlist	*yr_el;
};

void	yread_err(struct yread *yr, const struct ynode *n, const char *fmt,
	    ...) __attribute__((format(printf, 3, 4)));
/* <n> has type <t>, else an error naming <what>. */
bool	yread_want(struct yread *yr, const struct ynode *n, enum ynode_type t,
	    const char *what);
/* A plain "null"/"~"/empty scalar: YAML's way to say "nothing here". */
bool	yread_null(const struct ynode *n);
/*
 * Checks a mapping's keys against <keys> (NULL-terminated), reporting
 * unknown and duplicate keys.  Returns false when <n> is not a mapping.
 */
bool	yread_keys(struct yread *yr, const struct ynode *n, const char *what,
	    const char *const *keys);
/* The value of <key> in mapping <n>, or NULL. */
const struct ynode *yread_get(const struct ynode *n, const char *key);
/* Decimal or 0x-hex, whole string, within [lo, hi]: 0, or -1. */
int	yread_uint(struct yread *yr, const struct ynode *n, const char *what,
	    unsigned long long lo, unsigned long long hi,
	    unsigned long long *out);
/* Sets *dst from <key> of <map> when present and valid. */
void	yread_set_uint(struct yread *yr, const struct ynode *map,
	    const char *key, const char *what, unsigned long long lo,
	    unsigned long long hi, unsigned *dst);
void	yread_set_bool(struct yread *yr, const struct ynode *map,
	    const char *key, const char *what, bool *dst);
/* A string; null leaves <dst> alone (absent), "" is kept as given. */
void	yread_set_str(struct yread *yr, const struct ynode *map,
	    const char *key, const char *what, char **dst);
/* A list, or a lone scalar taken as a list of one. */
bool	yread_want_list(struct yread *yr, const struct ynode *n,
	    const char *what);
size_t	yread_len(const struct ynode *n);
const struct ynode *yread_at(const struct ynode *n, size_t i);

#endif /* EGRESS_YREAD_H */
