/*
 * common/errlist.h - collected diagnostics with file, line and column.
 *
 * Validation reports every error in one pass, so callers add to a list
 * and keep going; the daemon prints them as FILE:LINE:COLUMN: message.
 */
#ifndef EGRESS_ERRLIST_H
#define EGRESS_ERRLIST_H

#include <stddef.h>

struct errlist {
	char	**el_msgs;	/* owns; formatted "file:line:col: msg" */
	size_t	  el_count;
	size_t	  el_cap;
};

void	errlist_init(struct errlist *el);
void	errlist_free(struct errlist *el);
/* Adds "<file>:<line>:<col>: <fmt...>"; line 0 leaves out line and col. */
void	errlist_add(struct errlist *el, const char *file, unsigned line,
	    unsigned col, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

#endif /* EGRESS_ERRLIST_H */
