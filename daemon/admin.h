/*
 * daemon/admin.h - the admin API server (docs/admin.md), on the main loop.
 */
#ifndef EGRESS_ADMIN_H
#define EGRESS_ADMIN_H

struct daemon;
struct event_base;
struct admin;

/* Opens admin.socket and admin.listen of the running config. */
struct admin	*admin_new(struct daemon *d, struct event_base *base,
		    char **err);
void		 admin_free(struct admin *ad);
/*
 * The bearer token in <path>, trailing blanks removed; NULL with <*err>
 * when unreadable or shorter than 16 characters.  --check uses it too.
 */
char		*admin_read_token(const char *path, char **err);

#endif /* EGRESS_ADMIN_H */
