/*
 * daemon/watch.h - notices the config file replaced (config_watch,
 * docs/config.md): written in place, renamed over, or swapped under a
 * symlink as Kubernetes does for a ConfigMap (`..data`).
 */
#ifndef EGRESS_WATCH_H
#define EGRESS_WATCH_H

struct event_base;
struct watch;

/*
 * Calls <cb> on the loop of <base>, once things settle (a short quiet
 * spell after the last change), whenever <path> may have changed.  NULL
 * (errno set) when inotify is not available.
 */
struct watch	*watch_new(struct event_base *base, const char *path,
		    void (*cb)(void *), void *arg);
void		 watch_free(struct watch *w);

#endif /* EGRESS_WATCH_H */
