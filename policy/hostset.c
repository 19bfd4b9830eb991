#include "policy/hostset.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strhash.h"

/* Open addressing, linear probing; keys owned, values are rule texts. */
struct strmap {
	char		**sm_keys;
	const char	**sm_vals;
	size_t		  sm_cap;	/* power of two, or 0 */
	size_t		  sm_count;
};

struct hs_regex {
	pcre2_code	*re_code;
	const char	*re_text;
};

/*
 * A host-name regex needs few steps on a name of at most 253 bytes; these
 * caps only stop a pattern that backtracks catastrophically from holding
 * a worker for seconds (PCRE2's own default is 10,000,000 steps).
 */
#define HOSTSET_MATCH_LIMIT	100000
#define HOSTSET_DEPTH_LIMIT	5000

struct hostset {
	struct strmap	 hs_exact;
	struct strmap	 hs_wild;
	struct hs_regex	*hs_regex;
	size_t		 hs_nregex;
	pcre2_match_context *hs_mctx;	/* limits; made with the first regex */
	char		**hs_texts;	/* owns every rule text */
	size_t		 hs_ntexts;
};

static const char *
strmap_get(const struct strmap *sm, const char *key, size_t len)
{
	size_t	i;

	if (sm->sm_cap == 0)
		return NULL;
	for (i = strhash_n(STRHASH_INIT, key, len) & (sm->sm_cap - 1); sm->sm_keys[i] != NULL;
	    i = (i + 1) & (sm->sm_cap - 1)) {
		if (strncmp(sm->sm_keys[i], key, len) == 0 &&
		    sm->sm_keys[i][len] == '\0')
			return sm->sm_vals[i];
	}
	return NULL;
}

static int strmap_put(struct strmap *, char *, const char *);

static int
strmap_grow(struct strmap *sm)
{
	struct strmap	n;
	size_t		i;

	n.sm_cap = sm->sm_cap ? sm->sm_cap * 2 : 16;
	n.sm_count = 0;
	n.sm_keys = calloc(n.sm_cap, sizeof(*n.sm_keys));
	n.sm_vals = calloc(n.sm_cap, sizeof(*n.sm_vals));
	if (n.sm_keys == NULL || n.sm_vals == NULL) {
		free(n.sm_keys);
		free(n.sm_vals);
		return -1;
	}
	for (i = 0; i < sm->sm_cap; i++)
		if (sm->sm_keys[i] != NULL)
			strmap_put(&n, sm->sm_keys[i], sm->sm_vals[i]);
	free(sm->sm_keys);
	free(sm->sm_vals);
	*sm = n;
	return 0;
}

/* Takes <key>; a key already present keeps its first rule text. */
static int
strmap_put(struct strmap *sm, char *key, const char *val)
{
	size_t	i, len = strlen(key);

	if ((sm->sm_count + 1) * 2 > sm->sm_cap && strmap_grow(sm) == -1)
		return -1;
	for (i = strhash_n(STRHASH_INIT, key, len) & (sm->sm_cap - 1); sm->sm_keys[i] != NULL;
	    i = (i + 1) & (sm->sm_cap - 1)) {
		if (strcmp(sm->sm_keys[i], key) == 0) {
			free(key);
			return 0;
		}
	}
	sm->sm_keys[i] = key;
	sm->sm_vals[i] = val;
	sm->sm_count++;
	return 0;
}

static void
strmap_free(struct strmap *sm)
{
	size_t	i;

	for (i = 0; i < sm->sm_cap; i++)
		free(sm->sm_keys[i]);
	free(sm->sm_keys);
	free(sm->sm_vals);
}

struct hostset *
hostset_new(void)
{
	return calloc(1, sizeof(struct hostset));
}

void
hostset_free(struct hostset *hs)
{
	size_t	i;

	if (hs == NULL)
		return;
	strmap_free(&hs->hs_exact);
	strmap_free(&hs->hs_wild);
	for (i = 0; i < hs->hs_nregex; i++)
		pcre2_code_free(hs->hs_regex[i].re_code);
	free(hs->hs_regex);
	pcre2_match_context_free(hs->hs_mctx);
	for (i = 0; i < hs->hs_ntexts; i++)
		free(hs->hs_texts[i]);
	free(hs->hs_texts);
	free(hs);
}

static const char *
hostset_keep_text(struct hostset *hs, const char *text)
{
	char	**v, *t;

	if ((t = strdup(text)) == NULL)
		return NULL;
	if ((v = realloc(hs->hs_texts, (hs->hs_ntexts + 1) * sizeof(*v))) ==
	    NULL) {
		free(t);
		return NULL;
	}
	hs->hs_texts = v;
	v[hs->hs_ntexts++] = t;
	return t;
}

int
hostset_add(struct hostset *hs, const struct hostpat *hp, const char *text,
    char *whybuf, size_t whylen)
{
	const char	*t;
	char		*key;
	pcre2_code	*re;
	struct hs_regex	*v;
	int		 errcode;
	PCRE2_SIZE	 erroff;
	PCRE2_UCHAR	 msg[256];

	if (hp->hp_kind == HOSTPAT_REGEX) {
		if (hs->hs_mctx == NULL) {
			if ((hs->hs_mctx = pcre2_match_context_create(NULL)) ==
			    NULL) {
				snprintf(whybuf, whylen, "out of memory");
				return -1;
			}
			hostset_set_match_limit(hs, 0);
		}
		/* Whole-name match: anchored at both ends, case folded. */
		re = pcre2_compile((PCRE2_SPTR)hp->hp_regex,
		    PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED | PCRE2_ENDANCHORED |
		    PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C, &errcode, &erroff,
		    NULL);
		if (re == NULL) {
			pcre2_get_error_message(errcode, msg, sizeof(msg));
			snprintf(whybuf, whylen, "regex does not compile: %s "
			    "at offset %zu", (const char *)msg, (size_t)erroff);
			return -1;
		}
		/* JIT is an optimisation; without it PCRE2 interprets. */
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		if ((t = hostset_keep_text(hs, text)) == NULL ||
		    (v = realloc(hs->hs_regex, (hs->hs_nregex + 1) *
		    sizeof(*v))) == NULL) {
			pcre2_code_free(re);
			snprintf(whybuf, whylen, "out of memory");
			return -1;
		}
		hs->hs_regex = v;
		v[hs->hs_nregex].re_code = re;
		v[hs->hs_nregex++].re_text = t;
		return 0;
	}
	if ((t = hostset_keep_text(hs, text)) == NULL ||
	    (key = strdup(hp->hp_name)) == NULL ||
	    strmap_put(hp->hp_kind == HOSTPAT_WILDCARD ? &hs->hs_wild :
	    &hs->hs_exact, key, t) == -1) {
		snprintf(whybuf, whylen, "out of memory");
		return -1;
	}
	return 0;
}

void
hostset_set_match_limit(struct hostset *hs, uint32_t limit)
{
	if (hs->hs_mctx == NULL &&
	    (hs->hs_mctx = pcre2_match_context_create(NULL)) == NULL)
		return;
	pcre2_set_match_limit(hs->hs_mctx, limit != 0 ? limit :
	    HOSTSET_MATCH_LIMIT);
	pcre2_set_depth_limit(hs->hs_mctx, limit != 0 ? limit :
	    HOSTSET_DEPTH_LIMIT);
}

static _Thread_local pcre2_match_data *hostset_md;

void
hostset_thread_exit(void)
{
	pcre2_match_data_free(hostset_md);
	hostset_md = NULL;
}

/*
 * <fail_closed>: a regex that cannot give an answer (match or depth limit,
 * JIT stack, out of memory) counts as a match, as a deny rule must; else
 * as no match, as an allow rule must.
 */
static const char *
hostset_lookup(const struct hostset *hs, const char *name, bool fail_closed)
{
	const char		*r, *p;
	size_t			 len = strlen(name), i;
	pcre2_match_data	*md;
	int			 rc;

	if ((r = strmap_get(&hs->hs_exact, name, len)) != NULL)
		return r;
	/*
	 * "*.example.com" is stored as "example.com": probe each proper
	 * suffix after a dot, longest first, so the most specific wildcard
	 * is the one reported.  The apex itself is never probed.
	 */
	if (hs->hs_wild.sm_count > 0) {
		for (p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
			if ((r = strmap_get(&hs->hs_wild, p + 1,
			    len - (size_t)(p + 1 - name))) != NULL)
				return r;
		}
	}
	if (hs->hs_nregex == 0)
		return NULL;
	/*
	 * Match data is scratch space: one per thread, kept, instead of an
	 * allocation per decision.  Only whether a pattern matched is used.
	 */
	if ((md = hostset_md) == NULL &&
	    (md = hostset_md = pcre2_match_data_create(1, NULL)) == NULL)
		return fail_closed ? hs->hs_regex[0].re_text : NULL;
	for (i = 0; i < hs->hs_nregex; i++) {
		rc = pcre2_match(hs->hs_regex[i].re_code, (PCRE2_SPTR)name, len,
		    0, 0, md, hs->hs_mctx);
		if (rc >= 0 || (rc != PCRE2_ERROR_NOMATCH && fail_closed))
			return hs->hs_regex[i].re_text;
	}
	return NULL;
}

const char *
hostset_match(const struct hostset *hs, const char *name)
{
	return hostset_lookup(hs, name, false);
}

const char *
hostset_match_deny(const struct hostset *hs, const char *name)
{
	return hostset_lookup(hs, name, true);
}

size_t
hostset_count(const struct hostset *hs)
{
	return hs->hs_exact.sm_count + hs->hs_wild.sm_count + hs->hs_nregex;
}

void
hostset_foreach(const struct hostset *hs, void (*fn)(void *, const char *),
    void *arg)
{
	size_t	i;

	for (i = 0; i < hs->hs_ntexts; i++)
		fn(arg, hs->hs_texts[i]);
}
