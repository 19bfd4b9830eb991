#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The writer wakes at least this often, so lines reach disk within 1 s. */
#define AUDIT_FLUSH_MS	200

struct audit_sink {
	char		*as_path;	/* owns; NULL = discard, "-" = stdout */
	int		 as_fd;
	pthread_t	 as_thread;
	pthread_mutex_t	 as_mtx;
	pthread_cond_t	 as_cond;
	char		*as_buf;	/* owns: lines waiting for the writer */
	size_t		 as_len;
	size_t		 as_max;
	bool		 as_stop;
	bool		 as_reopen;
	atomic_uint_fast64_t as_dropped;
	atomic_uint_fast64_t as_written;
};

static int
audit_open_fd(const char *path)
{
	if (strcmp(path, "-") == 0)
		return dup(STDOUT_FILENO);
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static void
write_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return;		/* the disk said no: nothing to retry */
		}
		p += w;
		n -= (size_t)w;
	}
}

static void *
audit_writer(void *arg)
{
	struct audit_sink	*as = arg;
	char			*out;
	size_t			 n;
	struct timespec		 dl;
	bool			 stop, reopen;
	int			 fd;

	if ((out = malloc(as->as_max)) == NULL)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&as->as_mtx);
		if (as->as_len == 0 && !as->as_stop && !as->as_reopen) {
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += AUDIT_FLUSH_MS * 1000000L;
			if (dl.tv_nsec >= 1000000000L) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&as->as_cond, &as->as_mtx, &dl);
		}
		n = as->as_len;
		memcpy(out, as->as_buf, n);
		as->as_len = 0;
		stop = as->as_stop;
		reopen = as->as_reopen;
		as->as_reopen = false;
		pthread_mutex_unlock(&as->as_mtx);

		if (n > 0 && as->as_fd != -1)
			write_all(as->as_fd, out, n);
		if (reopen && as->as_path != NULL &&
		    (fd = audit_open_fd(as->as_path)) != -1) {
			close(as->as_fd);
			as->as_fd = fd;
		}
		if (stop)
			break;
	}
	free(out);
	return NULL;
}

struct audit_sink *
audit_open(const char *path, size_t bufmax, char **err)
{
	struct audit_sink	*as;

	*err = NULL;
	if ((as = calloc(1, sizeof(*as))) == NULL)
		return NULL;
	as->as_fd = -1;
	as->as_max = bufmax;
	if ((as->as_buf = malloc(bufmax)) == NULL)
		goto fail;
	if (path != NULL) {
		if ((as->as_path = strdup(path)) == NULL)
			goto fail;
		if ((as->as_fd = audit_open_fd(path)) == -1) {
			if (asprintf(err, "%s: %s", path, strerror(errno)) < 0)
				*err = NULL;
			goto fail;
		}
	}
	pthread_mutex_init(&as->as_mtx, NULL);
	pthread_cond_init(&as->as_cond, NULL);
	if (pthread_create(&as->as_thread, NULL, audit_writer, as) != 0) {
		pthread_mutex_destroy(&as->as_mtx);
		pthread_cond_destroy(&as->as_cond);
		goto fail;
	}
	return as;
fail:
	if (as->as_fd != -1)
		close(as->as_fd);
	free(as->as_path);
	free(as->as_buf);
	free(as);
	return NULL;
}

void
audit_emit(struct audit_sink *as, const struct audit_event *ev)
{
	char	line[AUDIT_LINE_MAX];
	size_t	n;

	/* Format outside the lock: the mutex only guards a memcpy. */
	n = audit_json(ev, line, sizeof(line));
	pthread_mutex_lock(&as->as_mtx);
	if (as->as_len + n > as->as_max) {
		pthread_mutex_unlock(&as->as_mtx);
		atomic_fetch_add(&as->as_dropped, 1);
		return;
	}
	memcpy(as->as_buf + as->as_len, line, n);
	as->as_len += n;
	/* Wake the writer early only when the buffer fills up. */
	if (as->as_len > as->as_max / 2)
		pthread_cond_signal(&as->as_cond);
	pthread_mutex_unlock(&as->as_mtx);
	atomic_fetch_add(&as->as_written, 1);
}

void
audit_reopen(struct audit_sink *as)
{
	pthread_mutex_lock(&as->as_mtx);
	as->as_reopen = true;
	pthread_cond_signal(&as->as_cond);
	pthread_mutex_unlock(&as->as_mtx);
}

void
audit_close(struct audit_sink *as)
{
	if (as == NULL)
		return;
	pthread_mutex_lock(&as->as_mtx);
	as->as_stop = true;
	pthread_cond_signal(&as->as_cond);
	pthread_mutex_unlock(&as->as_mtx);
	pthread_join(as->as_thread, NULL);
	if (as->as_fd != -1)
		close(as->as_fd);
	pthread_mutex_destroy(&as->as_mtx);
	pthread_cond_destroy(&as->as_cond);
	free(as->as_path);
	free(as->as_buf);
	free(as);
}

uint64_t
audit_dropped(const struct audit_sink *as)
{
	return atomic_load(&((struct audit_sink *)as)->as_dropped);
}

uint64_t
audit_written(const struct audit_sink *as)
{
	return atomic_load(&((struct audit_sink *)as)->as_written);
}
