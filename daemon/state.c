#include "daemon/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
state_save(const struct config *cf, const char *text, size_t len,
    struct errlist *el)
{
	char	*path, *tmp = NULL;
	int	 fd = -1, dfd, rc = -1;
	size_t	 off = 0;
	ssize_t	 n;

	if ((path = state_path(cf)) == NULL || asprintf(&tmp, "%s.tmp",
	    path) < 0) {
		errlist_add(el, "state_dir", 0, 0, "out of memory");
		free(path);
		return -1;
	}
	if (mkdir(cf->cf_state_dir, 0700) == -1 && errno != EEXIST) {
		errlist_add(el, cf->cf_state_dir, 0, 0, "cannot create: %s",
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
	if ((dfd = open(cf->cf_state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
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


void
state_ids_free(char **ids)
{
	size_t	i;

	for (i = 0; ids != NULL && ids[i] != NULL; i++)
		free(ids[i]);
	free(ids);
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
 * Lays the state file's sandboxes over the config's: keys an overlay entry
 * names replace the config sandbox's; an unknown id adds a sandbox.  The
 * overlay's nodes move into <root>; what is left of <ov> is freed by the
 * caller.  Returns the ids taken from the overlay, NULL-terminated.
 */
char **
state_overlay(struct yread *yr, struct ynode *root, struct ynode *ov)
{
	static const char *const okeys[] = { "sandboxes", NULL };
	struct ynode	*osbs, *sbs = NULL, *o, *c, *key;
	char		**ids;
	size_t		 i, j, k, nids = 0;

	if (!yread_keys(yr, ov, "the state file", okeys))
		return NULL;
	if ((osbs = (struct ynode *)yread_get(ov, "sandboxes")) == NULL ||
	    yread_null(osbs))
		return calloc(1, sizeof(char *));
	if (!yread_want(yr, osbs, YN_SEQ, "sandboxes"))
		return NULL;
	if ((ids = calloc(osbs->yn_count + 1, sizeof(*ids))) == NULL)
		return NULL;
	for (i = 0; i < root->yn_count; i++)
		if (strcmp(root->yn_pairs[i].yp_key->yn_str, "sandboxes") == 0)
			sbs = root->yn_pairs[i].yp_val;
	if (sbs == NULL || yread_null(sbs)) {
		/* The config has none: the overlay's list becomes the list. */
		if ((key = calloc(1, sizeof(*key))) == NULL ||
		    (key->yn_str = strdup("sandboxes")) == NULL) {
			free(key);
			return ids;
		}
		key->yn_type = YN_SCALAR;
		if ((sbs = calloc(1, sizeof(*sbs))) == NULL ||
		    ymap_put(root, key, sbs) == -1) {
			yamltree_free(key);
			free(sbs);
			return ids;
		}
		sbs->yn_type = YN_SEQ;
		sbs->yn_file = osbs->yn_file;
		sbs->yn_line = osbs->yn_line;
		sbs->yn_col = osbs->yn_col;
	}
	if (sbs->yn_type != YN_SEQ)
		return ids;		/* the config's own error reports it */
	for (i = 0; i < osbs->yn_count; i++) {
		o = osbs->yn_items[i];
		if (o->yn_type != YN_MAP || ysandbox_id(o) == NULL) {
			yread_err(yr, o, "state file: each sandbox needs an id");
			continue;
		}
		/* A session alone does not make the sandbox the API's. */
		if (o->yn_count > 2 || yread_get(o, "session") == NULL)
			ids[nids++] = strdup(ysandbox_id(o));
		for (j = 0; j < sbs->yn_count; j++)
			if (ysandbox_id(sbs->yn_items[j]) != NULL &&
			    strcmp(ysandbox_id(sbs->yn_items[j]),
			    ysandbox_id(o)) == 0)
				break;
		if (j == sbs->yn_count) {
			struct ynode **v = realloc(sbs->yn_items,
			    (sbs->yn_count + 1) * sizeof(*v));

			if (v == NULL)
				continue;
			sbs->yn_items = v;
			v[sbs->yn_count++] = o;
			osbs->yn_items[i] = NULL;
			continue;
		}
		c = sbs->yn_items[j];
		if (c->yn_type != YN_MAP)
			continue;
		for (k = 0; k < o->yn_count; k++) {
			if (strcmp(o->yn_pairs[k].yp_key->yn_str, "id") == 0)
				continue;
			if (ymap_put(c, o->yn_pairs[k].yp_key,
			    o->yn_pairs[k].yp_val) == 0) {
				o->yn_pairs[k].yp_key = NULL;
				o->yn_pairs[k].yp_val = NULL;
			}
		}
	}
	return ids;
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
