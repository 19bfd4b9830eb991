#include "policy/cidrset.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Nodes are shared between the copies cidrset_copy() makes: a change
 * copies the nodes on its path that others still hold (refs > 1) and
 * leaves the rest shared, so it costs the prefix length, not the set.
 * Only one thread changes sets; any thread may free one.
 */
struct cnode {
	struct cnode	*cn_child[2];	/* one reference each */
	char		*cn_text;	/* owns; non-NULL where a prefix ends */
	atomic_uint	 cn_refs;
};

struct cidrset {
	struct cnode	*cs_root[2];	/* [0] IPv4, [1] IPv6 */
	size_t		 cs_count;
};

struct cidrset *
cidrset_new(void)
{
	return calloc(1, sizeof(struct cidrset));
}

static void
cnode_free(struct cnode *n)
{
	/* Depth is bounded by 128, so recursion is fine. */
	if (n == NULL || atomic_fetch_sub(&n->cn_refs, 1) != 1)
		return;
	cnode_free(n->cn_child[0]);
	cnode_free(n->cn_child[1]);
	free(n->cn_text);
	free(n);
}

static struct cnode *
cnode_new(void)
{
	struct cnode	*n;

	if ((n = calloc(1, sizeof(*n))) != NULL)
		atomic_init(&n->cn_refs, 1);
	return n;
}

static struct cnode *
cnode_hold(struct cnode *n)
{
	if (n != NULL)
		atomic_fetch_add(&n->cn_refs, 1);
	return n;
}

/* Makes *<np> this set's own (copying a shared node); -1: no memory. */
static int
cnode_own(struct cnode **np)
{
	struct cnode	*o = *np, *n;

	if (o == NULL || atomic_load(&o->cn_refs) == 1)
		return 0;
	if ((n = cnode_new()) == NULL || (o->cn_text != NULL &&
	    (n->cn_text = strdup(o->cn_text)) == NULL)) {
		free(n);
		return -1;
	}
	n->cn_child[0] = cnode_hold(o->cn_child[0]);
	n->cn_child[1] = cnode_hold(o->cn_child[1]);
	cnode_free(o);
	*np = n;
	return 0;
}

struct cidrset *
cidrset_copy(const struct cidrset *cs)
{
	struct cidrset	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->cs_root[0] = cnode_hold(cs->cs_root[0]);
	n->cs_root[1] = cnode_hold(cs->cs_root[1]);
	n->cs_count = cs->cs_count;
	return n;
}

void
cidrset_free(struct cidrset *cs)
{
	if (cs == NULL)
		return;
	cnode_free(cs->cs_root[0]);
	cnode_free(cs->cs_root[1]);
	free(cs);
}

static unsigned
bit_at(const uint8_t *b, unsigned i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

int
cidrset_add(struct cidrset *cs, const struct cidr *c, const char *text)
{
	struct cnode	**np = &cs->cs_root[c->ci_addr.ia_family == 6];
	unsigned	  i;

	for (i = 0;; i++) {
		if (*np == NULL && (*np = cnode_new()) == NULL)
			return -1;
		if (cnode_own(np) == -1)
			return -1;
		if (i == c->ci_prefix)
			break;
		np = &(*np)->cn_child[bit_at(c->ci_addr.ia_bytes, i)];
	}
	if ((*np)->cn_text == NULL) {
		if (((*np)->cn_text = strdup(text)) == NULL)
			return -1;
		cs->cs_count++;
	}
	return 0;
}

/* Takes <c>'s text away, and the nodes left holding nothing. */
static int
cnode_del(struct cnode **np, const struct cidr *c, unsigned i, bool *found)
{
	struct cnode	*n;

	if (*np == NULL)
		return 0;
	if (cnode_own(np) == -1)
		return -1;
	n = *np;
	if (i == c->ci_prefix) {
		*found = n->cn_text != NULL;
		free(n->cn_text);
		n->cn_text = NULL;
	} else if (cnode_del(&n->cn_child[bit_at(c->ci_addr.ia_bytes, i)], c,
	    i + 1, found) == -1)
		return -1;
	if (n->cn_text == NULL && n->cn_child[0] == NULL &&
	    n->cn_child[1] == NULL) {
		cnode_free(n);
		*np = NULL;
	}
	return 0;
}

int
cidrset_del(struct cidrset *cs, const struct cidr *c)
{
	bool	found = false;

	if (cnode_del(&cs->cs_root[c->ci_addr.ia_family == 6], c, 0,
	    &found) == -1)
		return -1;
	if (found)
		cs->cs_count--;
	return 0;
}

const char *
cidrset_match(const struct cidrset *cs, const struct ipaddr *ia)
{
	const struct cnode	*n;
	const char		*best = NULL;
	unsigned		 i, bits;

	if (ia->ia_family != 4 && ia->ia_family != 6)
		return NULL;
	bits = ia->ia_family == 4 ? 32 : 128;
	n = cs->cs_root[ia->ia_family == 6];
	for (i = 0; n != NULL; i++) {
		if (n->cn_text != NULL)
			best = n->cn_text;
		if (i == bits)
			break;
		n = n->cn_child[bit_at(ia->ia_bytes, i)];
	}
	return best;
}

size_t
cidrset_count(const struct cidrset *cs)
{
	return cs->cs_count;
}

static void
cnode_walk(const struct cnode *n, void (*fn)(void *, const char *), void *arg)
{
	if (n == NULL)
		return;
	if (n->cn_text != NULL)
		fn(arg, n->cn_text);
	cnode_walk(n->cn_child[0], fn, arg);
	cnode_walk(n->cn_child[1], fn, arg);
}

void
cidrset_foreach(const struct cidrset *cs, void (*fn)(void *, const char *),
    void *arg)
{
	cnode_walk(cs->cs_root[0], fn, arg);
	cnode_walk(cs->cs_root[1], fn, arg);
}

/* Any text at or below <n>; the subtree of an added prefix has one. */
static const char *
cnode_any(const struct cnode *n)
{
	const char	*t;

	if (n == NULL)
		return NULL;
	if (n->cn_text != NULL)
		return n->cn_text;
	if ((t = cnode_any(n->cn_child[0])) != NULL)
		return t;
	return cnode_any(n->cn_child[1]);
}

const char *
cidrset_overlap(const struct cidrset *cs, const struct cidr *c)
{
	const struct cnode	*n = cs->cs_root[c->ci_addr.ia_family == 6];
	unsigned		 i;

	/* A prefix on the way down contains <c>; one below is inside it. */
	for (i = 0; n != NULL && i < c->ci_prefix; i++) {
		if (n->cn_text != NULL)
			return n->cn_text;
		n = n->cn_child[bit_at(c->ci_addr.ia_bytes, i)];
	}
	return cnode_any(n);
}
