/*
 * daemon/state.h - the admin API's state: the sandboxes changed through
 * the API (docs/admin.md), laid over the config file's and kept in
 * state_dir so that they survive a restart.  The config file stays the
 * operator's and is never rewritten.
 */
#ifndef EGRESS_STATE_H
#define EGRESS_STATE_H

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

/*
 * Lays the state file's tree <ov> (`sandboxes: [...]`) over the config's
 * <root>: keys an entry names replace the config sandbox's with that id;
 * an unknown id adds a sandbox.  The overlay's nodes move into <root>;
 * what is left of <ov> is the caller's to free.  Returns the ids the
 * overlay named, NULL-terminated (state_ids_free()), or NULL on errors.
 */
char	**state_overlay(struct yread *yr, struct ynode *root, struct ynode *ov);
void	  state_ids_free(char **ids);

#endif /* EGRESS_STATE_H */
