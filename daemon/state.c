#include "daemon/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strhash.h"
#include "daemon/config.h"

#define STATE_FILE	"state.json"

char *
state_path(const struct config *cf)
{
	char	*p;

	if (cf->cf_state_dir == NULL || asprintf(&p, "%s/%s", cf->cf_state_dir,
	    STATE_FILE) < 0)
		return NULL;
	return p;
}

/* write-new, fsync, rename, fsync the directory: never a torn file. */
int
state_write(const char *dir, const char *name, const char *text, size_t len,
    struct errlist *el)
{
	char	*path = NULL, *tmp = NULL;
	int	 fd = -1, dfd, rc = -1;
	size_t	 off = 0;
	ssize_t	 n;

	/* asprintf() leaves the pointer undefined when it fails. */
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		path = NULL;
	if (path == NULL || asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		errlist_add(el, dir, 0, 0, "out of memory");
		goto out;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		errlist_add(el, dir, 0, 0, "cannot create: %s",
		    strerror(errno));
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1) {
		errlist_add(el, tmp, 0, 0, "cannot write: %s", strerror(errno));
		goto out;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			errlist_add(el, tmp, 0, 0, "write: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		errlist_add(el, tmp, 0, 0, "fsync: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		errlist_add(el, path, 0, 0, "rename: %s", strerror(errno));
		goto out;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(path);
	return rc;
}

int
state_save(const struct config *cf, const char *text, size_t len,
    struct errlist *el)
{
	if (cf->cf_state_dir == NULL) {
		errlist_add(el, "state_dir", 0, 0, "no state_dir");
		return -1;
	}
	return state_write(cf->cf_state_dir, STATE_FILE, text, len, el);
}

static void
strv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
state_ids_free(struct state_ids *ids)
{
	strv_free(ids->si_sandboxes);
	strv_free(ids->si_policies);
	memset(ids, 0, sizeof(*ids));
}

/* Moves <val> (and <key>) into map <m>, replacing a pair with that key. */
static int
ymap_put(struct ynode *m, struct ynode *key, struct ynode *val)
{
	struct ypair	*v;
	size_t		 i;

	for (i = 0; i < m->yn_count; i++)
		if (strcmp(m->yn_pairs[i].yp_key->yn_str, key->yn_str) == 0) {
			yamltree_free(m->yn_pairs[i].yp_key);
			yamltree_free(m->yn_pairs[i].yp_val);
			m->yn_pairs[i].yp_key = key;
			m->yn_pairs[i].yp_val = val;
			return 0;
		}
	if ((v = realloc(m->yn_pairs, (m->yn_count + 1) * sizeof(*v))) == NULL)
		return -1;
	m->yn_pairs = v;
	v[m->yn_count].yp_key = key;
	v[m->yn_count++].yp_val = val;
	return 0;
}

static const char *
ysandbox_id(const struct ynode *sb)
{
	const struct ynode	*id = yread_get(sb, "id");

	return id != NULL && id->yn_type == YN_SCALAR ? id->yn_str : NULL;
}

/*
 * The value of <key> in mapping <root>, made (an empty node of <type>,
 * positioned at <at> for messages) when absent or null.  NULL when it is
 * there but of another type: the config's own check reports that.
 */
static struct ynode *
root_node(struct ynode *root, const char *key, enum ynode_type type,
    const struct ynode *at)
{
	struct ynode	*v = NULL, *k;
	size_t		 i;

	for (i = 0; i < root->yn_count; i++)
		if (strcmp(root->yn_pairs[i].yp_key->yn_str, key) == 0)
			v = root->yn_pairs[i].yp_val;
	if (v != NULL && !yread_null(v))
		return v->yn_type == type ? v : NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->yn_str = strdup(key)) == NULL) {
		free(k);
		return NULL;
	}
	k->yn_type = YN_SCALAR;
	if ((v = calloc(1, sizeof(*v))) == NULL || ymap_put(root, k, v) == -1) {
		yamltree_free(k);
		free(v);
		return NULL;
	}
	v->yn_type = type;
	v->yn_file = at->yn_file;
	v->yn_line = at->yn_line;
	v->yn_col = at->yn_col;
	return v;
}

/*
 * The config's sandboxes by id, so that laying n entries over m sandboxes
 * costs n + m, not n * m: open addressing, at most half full.
 */
struct sbindex {
	struct ynode	**si_v;		/* owns the array */
	size_t		  si_cap;	/* a power of two */
};

static size_t
sbindex_slot(const struct sbindex *ix, const char *id)
{
	size_t	i = (size_t)strhash(STRHASH_INIT, id) & (ix->si_cap - 1);

	while (ix->si_v[i] != NULL && strcmp(ysandbox_id(ix->si_v[i]), id) != 0)
		i = (i + 1) & (ix->si_cap - 1);
	return i;
}

static int
sbindex_init(struct sbindex *ix, const struct ynode *sbs, size_t more)
{
	size_t	i;

	for (ix->si_cap = 64; ix->si_cap < (sbs->yn_count + more) * 2;)
		ix->si_cap *= 2;
	if ((ix->si_v = calloc(ix->si_cap, sizeof(*ix->si_v))) == NULL)
		return -1;
	for (i = 0; i < sbs->yn_count; i++)
		if (ysandbox_id(sbs->yn_items[i]) != NULL)
			ix->si_v[sbindex_slot(ix, ysandbox_id(
			    sbs->yn_items[i]))] = sbs->yn_items[i];
	return 0;
}

/* Lays sandbox entry <o> over list <sbs>; false when <o> was moved in. */
static bool
overlay_sandbox(struct ynode *sbs, struct sbindex *ix, struct ynode *o)
{
	struct ynode	*c, **v;
	size_t		 k, slot = sbindex_slot(ix, ysandbox_id(o));

	if ((c = ix->si_v[slot]) == NULL) {
		if ((v = realloc(sbs->yn_items, (sbs->yn_count + 1) *
		    sizeof(*v))) == NULL)
			return true;
		sbs->yn_items = v;
		v[sbs->yn_count++] = o;
		ix->si_v[slot] = o;
		return false;
	}
	if (c->yn_type != YN_MAP)
		return true;
	for (k = 0; k < o->yn_count; k++) {
		if (strcmp(o->yn_pairs[k].yp_key->yn_str, "id") == 0)
			continue;
		if (ymap_put(c, o->yn_pairs[k].yp_key, o->yn_pairs[k].yp_val) ==
		    0)
			o->yn_pairs[k].yp_key = o->yn_pairs[k].yp_val = NULL;
	}
	return true;
}

static int
overlay_sandboxes(struct yread *yr, struct ynode *root, struct ynode *osbs,
    struct state_ids *ids)
{
	struct ynode	*sbs, *o;
	struct sbindex	 ix;
	size_t		 i, n = 0;

	if (!yread_want(yr, osbs, YN_SEQ, "sandboxes"))
		return -1;
	if ((ids->si_sandboxes = calloc(osbs->yn_count + 1,
	    sizeof(char *))) == NULL)
		return -1;
	if ((sbs = root_node(root, "sandboxes", YN_SEQ, osbs)) == NULL)
		return 0;	/* the config's own error reports it */
	if (sbindex_init(&ix, sbs, osbs->yn_count) == -1)
		return -1;
	for (i = 0; i < osbs->yn_count; i++) {
		o = osbs->yn_items[i];
		if (o->yn_type != YN_MAP || ysandbox_id(o) == NULL) {
			yread_err(yr, o, "state file: each sandbox needs an id");
			continue;
		}
		/* A session alone does not make the sandbox the API's. */
		if (o->yn_count > 2 || yread_get(o, "session") == NULL)
			ids->si_sandboxes[n++] = strdup(ysandbox_id(o));
		if (!overlay_sandbox(sbs, &ix, o))
			osbs->yn_items[i] = NULL;	/* moved into <sbs> */
	}
	free(ix.si_v);
	return 0;
}

/* API policies replace the file's of the same name, whole. */
static int
overlay_policies(struct yread *yr, struct ynode *root, struct ynode *opols,
    struct state_ids *ids)
{
	struct ynode	*pols;
	size_t		 i;

	if (!yread_want(yr, opols, YN_MAP, "policies"))
		return -1;
	if ((ids->si_policies = calloc(opols->yn_count + 1,
	    sizeof(char *))) == NULL)
		return -1;
	if ((pols = root_node(root, "policies", YN_MAP, opols)) == NULL)
		return 0;
	for (i = 0; i < opols->yn_count; i++) {
		ids->si_policies[i] = strdup(opols->yn_pairs[i].yp_key->yn_str);
		if (ymap_put(pols, opols->yn_pairs[i].yp_key,
		    opols->yn_pairs[i].yp_val) == 0)
			opols->yn_pairs[i].yp_key = opols->yn_pairs[i].yp_val =
			    NULL;
	}
	return 0;
}

int
state_overlay(struct yread *yr, struct ynode *root, struct ynode *ov,
    struct state_ids *ids)
{
	static const char *const okeys[] = { "policies", "sandboxes", NULL };
	struct ynode	*n;

	memset(ids, 0, sizeof(*ids));
	if (!yread_keys(yr, ov, "the state file", okeys))
		return -1;
	/* Policies first: the sandboxes may name them. */
	if ((n = (struct ynode *)yread_get(ov, "policies")) != NULL &&
	    !yread_null(n) && overlay_policies(yr, root, n, ids) == -1)
		return -1;
	if ((n = (struct ynode *)yread_get(ov, "sandboxes")) != NULL &&
	    !yread_null(n) && overlay_sandboxes(yr, root, n, ids) == -1)
		return -1;
	return 0;
}


json_t *
state_json_parse(const char *text, size_t len)
{
	json_t	*st;

	if (text != NULL && (st = json_loadb(text, len, 0, NULL)) != NULL) {
		if (json_is_object(st))
			return st;
		json_decref(st);
	}
	return json_pack("{s:[]}", "sandboxes");
}

json_t *
state_json_entry(json_t *st, const char *id, bool create)
{
	json_t	*sbs = json_object_get(st, "sandboxes"), *e;
	size_t	 i;

	if (!json_is_array(sbs)) {
		sbs = json_array();
		json_object_set_new(st, "sandboxes", sbs);
	}
	json_array_foreach(sbs, i, e)
		if (json_is_string(json_object_get(e, "id")) &&
		    strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
			return e;
	if (!create)
		return NULL;
	e = json_pack("{s:s}", "id", id);
	json_array_append_new(sbs, e);
	return e;
}

json_t *
state_json_list(json_t *entry, const char *side, const char *key)
{
	json_t	*s = json_object_get(entry, side), *l;

	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(entry, side, s);
	}
	if (!json_is_array(l = json_object_get(s, key))) {
		l = json_array();
		json_object_set_new(s, key, l);
	}
	return l;
}

void
state_json_list_remove(json_t *l, json_t *v)
{
	size_t	i;

	for (i = json_array_size(l); i-- > 0;)
		if (json_equal(json_array_get(l, i), v))
			json_array_remove(l, i);
}

void
state_json_remove(json_t *st, const char *id)
{
	json_t	*sbs = json_object_get(st, "sandboxes"), *e;
	size_t	 i;

	json_array_foreach(sbs, i, e)
		if (json_is_string(json_object_get(e, "id")) &&
		    strcmp(json_string_value(json_object_get(e, "id")), id) == 0) {
			json_array_remove(sbs, i);
			return;
		}
}

/* A plain scalar as YAML 1.2's core schema reads it; else a string. */
static json_t *
scalar_json(const struct ynode *n)
{
	char		*ep;
	long long	 v;

	if (n->yn_quoted)
		return json_string(n->yn_str);
	if (yread_null(n))
		return json_null();
	if (strcmp(n->yn_str, "true") == 0 || strcmp(n->yn_str, "false") == 0)
		return json_boolean(n->yn_str[0] == 't');
	v = strtoll(n->yn_str, &ep, 10);
	if (*n->yn_str != '\0' && *ep == '\0')
		return json_integer(v);
	return json_string(n->yn_str);
}

json_t *
state_yaml_json(const struct ynode *n)
{
	json_t	*j;
	size_t	 i;

	switch (n->yn_type) {
	case YN_SCALAR:
		return scalar_json(n);
	case YN_SEQ:
		j = json_array();
		for (i = 0; i < n->yn_count; i++)
			json_array_append_new(j, state_yaml_json(n->yn_items[i]));
		return j;
	case YN_MAP:
		j = json_object();
		for (i = 0; i < n->yn_count; i++)
			json_object_set_new(j, n->yn_pairs[i].yp_key->yn_str,
			    state_yaml_json(n->yn_pairs[i].yp_val));
		return j;
	}
	return json_null();
}
