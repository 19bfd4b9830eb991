/*
 * policy/yread.c - reading a YAML tree with positions: every check that
 * fails adds "FILE:LINE:COLUMN: message" to the error list and goes on,
 * so one pass reports every error.
 */
#include "policy/yread.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
yread_err(struct yread *yr, const struct ynode *n, const char *fmt, ...)
{
	char	msg[768];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errlist_add(yr->yr_el, n != NULL && n->yn_file != NULL ? n->yn_file :
	    yr->yr_file, n ? n->yn_line : 0,
	    n ? n->yn_col : 0, "%s", msg);
}

bool
yread_want(struct yread *yr, const struct ynode *n, enum ynode_type t,
    const char *what)
{
	if (n->yn_type == t)
		return true;
	yread_err(yr, n, "%s must be %s, not %s", what, ynode_type_str(t),
	    ynode_type_str(n->yn_type));
	return false;
}

/* A plain "null"/"~"/empty scalar: YAML's way to say "nothing here". */
bool
yread_null(const struct ynode *n)
{
	return n->yn_type == YN_SCALAR && !n->yn_quoted &&
	    (n->yn_str[0] == '\0' || strcmp(n->yn_str, "~") == 0 ||
	    strcmp(n->yn_str, "null") == 0);
}

/*
 * Checks a mapping's keys against <keys> (NULL-terminated), reporting
 * unknown and duplicate keys.  Returns false when <n> is not a mapping.
 */
bool
yread_keys(struct yread *yr, const struct ynode *n, const char *what,
    const char *const *keys)
{
	char	 list[512];
	size_t	 i, j, k, off;

	if (!yread_want(yr, n, YN_MAP, what))
		return false;
	for (i = 0; i < n->yn_count; i++) {
		const struct ynode *key = n->yn_pairs[i].yp_key;

		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(keys[k], key->yn_str) == 0)
				break;
		if (keys[k] == NULL) {
			off = 0;
			list[0] = '\0';
			for (k = 0; keys[k] != NULL && off < sizeof(list); k++)
				off += (size_t)snprintf(list + off,
				    sizeof(list) - off, "%s%s", k ? ", " : "",
				    keys[k]);
			yread_err(yr, key, "unknown key \"%s\" in %s (expected "
			    "one of: %s)", key->yn_str, what, list);
		}
		for (j = 0; j < i; j++)
			if (strcmp(n->yn_pairs[j].yp_key->yn_str,
			    key->yn_str) == 0)
				yread_err(yr, key, "duplicate key \"%s\" in %s "
				    "(first at line %u)", key->yn_str, what,
				    n->yn_pairs[j].yp_key->yn_line);
	}
	return true;
}

const struct ynode *
yread_get(const struct ynode *n, const char *key)
{
	size_t	i;

	if (n == NULL || n->yn_type != YN_MAP)
		return NULL;
	for (i = 0; i < n->yn_count; i++)
		if (strcmp(n->yn_pairs[i].yp_key->yn_str, key) == 0)
			return n->yn_pairs[i].yp_val;
	return NULL;
}

/* Decimal or 0x-hex, whole string, within [lo, hi]. */
int
yread_uint(struct yread *yr, const struct ynode *n, const char *what,
    unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	const char		*s;
	char			*ep;
	unsigned long long	 v;

	if (!yread_want(yr, n, YN_SCALAR, what))
		return -1;
	s = n->yn_str;
	if (!isdigit((unsigned char)s[0])) {
		yread_err(yr, n, "%s must be a number, not \"%s\"", what, s);
		return -1;
	}
	errno = 0;
	v = strtoull(s, &ep, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ?
	    16 : 10);
	if (errno != 0 || *ep != '\0' || ep == s) {
		yread_err(yr, n, "%s must be a number, not \"%s\"", what, s);
		return -1;
	}
	if (v < lo || v > hi) {
		yread_err(yr, n, "%s must be between %llu and %llu, not %s", what,
		    lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

void
yread_set_uint(struct yread *yr, const struct ynode *map, const char *key,
    const char *what, unsigned long long lo, unsigned long long hi,
    unsigned *dst)
{
	const struct ynode	*n = yread_get(map, key);
	unsigned long long	 v;

	if (n != NULL && yread_uint(yr, n, what, lo, hi, &v) == 0)
		*dst = (unsigned)v;
}

void
yread_set_bool(struct yread *yr, const struct ynode *map, const char *key,
    const char *what, bool *dst)
{
	const struct ynode	*n = yread_get(map, key);

	if (n == NULL || !yread_want(yr, n, YN_SCALAR, what))
		return;
	if (!n->yn_quoted && strcmp(n->yn_str, "true") == 0)
		*dst = true;
	else if (!n->yn_quoted && strcmp(n->yn_str, "false") == 0)
		*dst = false;
	else
		yread_err(yr, n, "%s must be true or false, not \"%s\"", what,
		    n->yn_str);
}

/* A string; null leaves <dst> alone (absent), "" is kept as given. */
void
yread_set_str(struct yread *yr, const struct ynode *map, const char *key,
    const char *what, char **dst)
{
	const struct ynode	*n = yread_get(map, key);

	if (n == NULL || yread_null(n) || !yread_want(yr, n, YN_SCALAR, what))
		return;
	free(*dst);
	*dst = strdup(n->yn_str);
}

/* A list, or a lone scalar taken as a list of one. */
bool
yread_want_list(struct yread *yr, const struct ynode *n, const char *what)
{
	return n->yn_type == YN_SCALAR || yread_want(yr, n, YN_SEQ, what);
}

size_t
yread_len(const struct ynode *n)
{
	return n->yn_type == YN_SCALAR ? 1 : n->yn_count;
}

const struct ynode *
yread_at(const struct ynode *n, size_t i)
{
	return n->yn_type == YN_SCALAR ? n : n->yn_items[i];
}

