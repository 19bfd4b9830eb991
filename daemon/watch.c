#include "daemon/watch.h"

#include <errno.h>
#include <event2/event.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* Changes come in bursts (write, then rename; the ConfigMap's swap). */
#define WATCH_SETTLE_MS	200

struct watch {
	int		 w_fd;		/* owns: inotify */
	struct event	*w_ev;		/* owns */
	struct event	*w_settle;	/* owns */
	char		*w_name;	/* owns: the file's name in its dir */
	void		(*w_cb)(void *);
	void		*w_arg;
};

/* The file itself, or Kubernetes' ..data link swapped under it. */
static int
watch_concerns(const struct watch *w, const struct inotify_event *ie)
{
	if (ie->len == 0)
		return 0;
	return strcmp(ie->name, w->w_name) == 0 ||
	    strncmp(ie->name, "..data", 6) == 0;
}

static void
watch_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch		*w = arg;
	struct timeval		 tv = { 0, WATCH_SETTLE_MS * 1000 };
	char			 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ie;
	ssize_t			 n;
	char			*p;
	int			 hit = 0;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)p;
			hit |= watch_concerns(w, ie);
		}
	if (hit)
		evtimer_add(w->w_settle, &tv);	/* restarts the wait */
}

static void
watch_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct watch	*w = arg;

	w->w_cb(w->w_arg);
}

struct watch *
watch_new(struct event_base *base, const char *path, void (*cb)(void *),
    void *arg)
{
	struct watch	*w;
	char		 d[PATH_MAX], b[PATH_MAX];

	if (strlen(path) >= sizeof(d)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(d, path);
	strcpy(b, path);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->w_cb = cb;
	w->w_arg = arg;
	if ((w->w_name = strdup(basename(b))) == NULL ||
	    (w->w_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		free(w->w_name);
		free(w);
		return NULL;
	}
	if (inotify_add_watch(w->w_fd, dirname(d), IN_CLOSE_WRITE |
	    IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB) == -1 ||
	    (w->w_ev = event_new(base, w->w_fd, EV_READ | EV_PERSIST,
	    watch_read_cb, w)) == NULL ||
	    (w->w_settle = evtimer_new(base, watch_settle_cb, w)) == NULL ||
	    event_add(w->w_ev, NULL) == -1) {
		watch_free(w);
		return NULL;
	}
	return w;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	if (w->w_ev != NULL)
		event_free(w->w_ev);
	if (w->w_settle != NULL)
		event_free(w->w_settle);
	close(w->w_fd);
	free(w->w_name);
	free(w);
}
