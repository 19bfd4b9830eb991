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

#endif /* EGRESS_ADMIN_H */
