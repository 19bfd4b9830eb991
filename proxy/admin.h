/*
 * proxy/admin.h - the admin API server (SPEC 6), on the main loop.
 */
#ifndef EGRESS_ADMIN_H
#define EGRESS_ADMIN_H

struct proxy;
struct event_base;
struct admin;

/* Opens admin.socket and admin.listen of the running config. */
struct admin	*admin_new(struct proxy *px, struct event_base *base,
		    char **err);
void		 admin_free(struct admin *ad);

#endif /* EGRESS_ADMIN_H */
