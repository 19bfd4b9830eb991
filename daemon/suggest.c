#include "daemon/suggest.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "common/ipaddr.h"
#include "policy/hostname.h"

/* Names under one registrable domain that become one wildcard. */
#define SUGGEST_COLLAPSE	3

struct item {
	char		*it_value;	/* owns */
	const char	*it_domain;	/* into it_value; NULL: none */
	uint64_t	 it_count;
	bool		 it_done;	/* folded into a wildcard */
};

struct found {
	struct item	*f_v[3];	/* hosts, cidrs, ports */
	size_t		 f_n[3];
	size_t		 f_cap[3];
};

static void
found_cb(void *arg, char kind, const char *value, uint64_t count)
{
	struct found	*f = arg;
	int		 k = kind == AUDIT_LEARN_HOST ? 0 :
	    kind == AUDIT_LEARN_CIDR ? 1 : 2;
	struct item	*v;

	if (f->f_n[k] == f->f_cap[k]) {
		size_t	cap = f->f_cap[k] ? f->f_cap[k] * 2 : 16;

		if ((v = realloc(f->f_v[k], cap * sizeof(*v))) == NULL)
			return;
		f->f_v[k] = v;
		f->f_cap[k] = cap;
	}
	v = &f->f_v[k][f->f_n[k]];
	memset(v, 0, sizeof(*v));
	if ((v->it_value = strdup(value)) == NULL)
		return;
	v->it_count = count;
	f->f_n[k]++;
}

static int
by_count(const void *a, const void *b)
{
	const json_t	*x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t	 cx = json_integer_value(json_object_get(x, "count"));
	json_int_t	 cy = json_integer_value(json_object_get(y, "count"));

	return cx != cy ? (cx < cy ? 1 : -1) : 0;
}

/* The array, most used first. */
static json_t *
sorted(json_t *a)
{
	size_t	 n = json_array_size(a), i;
	json_t	**v, *out;

	if (n == 0 || (v = calloc(n, sizeof(*v))) == NULL)
		return a;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(a, i));
	qsort(v, n, sizeof(*v), by_count);
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(out, v[i]);
	free(v);
	json_decref(a);
	return out;
}

/*
 * Folds every domain with SUGGEST_COLLAPSE or more names below it (the
 * apex itself not counted: "*.d" does not match "d") into "*.d".
 */
static json_t *
hosts_json(struct item *h, size_t n)
{
	json_t		*out = json_array();
	char		 wild[300];
	uint64_t	 sum;
	size_t		 i, j, below;

	for (i = 0; i < n; i++) {
		h[i].it_domain = hostname_registrable(h[i].it_value);
		if (h[i].it_domain == h[i].it_value)
			h[i].it_domain = NULL;	/* the apex: never folded */
	}
	for (i = 0; i < n; i++) {
		if (h[i].it_done || h[i].it_domain == NULL)
			continue;
		for (j = i, below = 0, sum = 0; j < n; j++)
			if (!h[j].it_done && h[j].it_domain != NULL &&
			    strcmp(h[j].it_domain, h[i].it_domain) == 0) {
				below++;
				sum += h[j].it_count;
			}
		if (below < SUGGEST_COLLAPSE)
			continue;
		snprintf(wild, sizeof(wild), "*.%s", h[i].it_domain);
		json_array_append_new(out, json_pack("{s:s,s:I}", "host", wild,
		    "count", (json_int_t)sum));
		for (j = n; j-- > i;)
			if (!h[j].it_done && h[j].it_domain != NULL &&
			    strcmp(h[j].it_domain, wild + 2) == 0)
				h[j].it_done = true;
	}
	for (i = 0; i < n; i++)
		if (!h[i].it_done)
			json_array_append_new(out, json_pack("{s:s,s:I}",
			    "host", h[i].it_value, "count",
			    (json_int_t)h[i].it_count));
	return sorted(out);
}

static json_t *
cidrs_json(const struct item *c, size_t n)
{
	json_t		*out = json_array();
	struct ipaddr	 ia;
	char		 cidr[80];
	size_t		 i;

	for (i = 0; i < n; i++) {
		if (ipaddr_parse(c[i].it_value, &ia) == -1)
			continue;
		snprintf(cidr, sizeof(cidr), "%s/%d", c[i].it_value,
		    ia.ia_family == 4 ? 32 : 128);
		json_array_append_new(out, json_pack("{s:s,s:I}", "cidr", cidr,
		    "count", (json_int_t)c[i].it_count));
	}
	return sorted(out);
}

static json_t *
ports_json(const struct item *p, size_t n)
{
	json_t	*out = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(out, json_pack("{s:i,s:I}", "port",
		    atoi(p[i].it_value), "count", (json_int_t)p[i].it_count));
	return sorted(out);
}

json_t *
suggest_build(struct audit_sink *as, const char *sandbox)
{
	struct found	 f;
	json_t		*out;
	size_t		 k, i;

	memset(&f, 0, sizeof(f));
	audit_learned(as, sandbox, found_cb, &f);
	out = json_pack("{s:o,s:o,s:o}", "hosts", hosts_json(f.f_v[0],
	    f.f_n[0]), "cidrs", cidrs_json(f.f_v[1], f.f_n[1]), "ports",
	    ports_json(f.f_v[2], f.f_n[2]));
	for (k = 0; k < 3; k++) {
		for (i = 0; i < f.f_n[k]; i++)
			free(f.f_v[k][i].it_value);
		free(f.f_v[k]);
	}
	return out;
}
