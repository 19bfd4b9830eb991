/*
 * daemon/state.h - the admin API's state: the sandboxes changed through
 * the API (docs/admin.md), laid over the config file's and kept in
 * state_dir so that they survive a restart.  The config file stays the
 * operator's and is never rewritten.
 */
#ifndef EGRESS_STATE_H
#define EGRESS_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/errlist.h"
#include "policy/yread.h"

struct config;

/* <state_dir>/state.json, allocated; NULL without a state_dir. */
char	 *state_path(const struct config *cf);
/*
 * Writes <text> as the state file: write-new, fsync, rename, fsync the
 * directory, so a crash leaves the old file or the new one, never a torn
 * one.  0, or -1 with the error in <el>.
 */
int	  state_save(const struct config *cf, const char *text, size_t len,
	    struct errlist *el);
/* The same for any file <name> of state_dir <dir> (mode 0600). */
int	  state_write(const char *dir, const char *name, const char *text,
	    size_t len, struct errlist *el);

/* What the API laid over the file: sandbox ids and policy names. */
struct state_ids {
	char	**si_sandboxes;		/* NULL-terminated, or NULL */
	char	**si_policies;
};

/*
 * Lays the state file's tree <ov> (`policies: {NAME: {...}}`,
 * `sandboxes: [...]`) over the config's <root>: an API policy replaces
 * the file's of that name (or is added); keys a sandbox entry names
 * replace the config sandbox's with that id, an unknown id adds a
 * sandbox.  The overlay's nodes move into <root>; what is left of <ov>
 * is the caller's to free.  0, or -1 with errors; <ids> says what came
 * from the API (state_ids_free()).
 */
int	  state_overlay(struct yread *yr, struct ynode *root, struct ynode *ov,
	    struct state_ids *ids);
void	  state_ids_free(struct state_ids *ids);

/*
 * The state as the admin API edits it: a JSON document
 * `{"sandboxes": [ENTRY...]}` whose entries use the config's sandbox
 * schema (id, sources, intercept, mode, allow, deny).
 */
/* <text> parsed, or an empty state when it is NULL or not an object. */
json_t	 *state_json_parse(const char *text, size_t len);
/* The entry of sandbox <id>; made when <create>, else NULL if none. */
json_t	 *state_json_entry(json_t *st, const char *id, bool create);
/* The list <entry>.<side>.<key> (e.g. allow.hosts), made if absent. */
json_t	 *state_json_list(json_t *entry, const char *side, const char *key);
void	  state_json_list_remove(json_t *list, json_t *v);
/* A YAML (sub)tree as JSON, for showing the config file's policies. */
json_t	 *state_yaml_json(const struct ynode *n);
/* Takes the entry of sandbox <id> out of the state, if there is one. */
void	  state_json_remove(json_t *st, const char *id);

#endif /* EGRESS_STATE_H */
