#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum log_level log_lvl = LOG_LVL_INFO;

void
log_init(enum log_level lvl)
{
	log_lvl = lvl;
}

/*
 * One fprintf per line: stdio locks the stream per call, so lines from
 * worker threads do not interleave mid-line.
 */
static void log_vemit(const char *, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
log_vemit(const char *tag, const char *fmt, va_list ap, int saved_errno)
{
	char		 msg[1024], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (saved_errno != 0)
		fprintf(stderr, "%s.%03ldZ egressd %s: %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, tag, msg, strerror(saved_errno));
	else
		fprintf(stderr, "%s.%03ldZ egressd %s: %s\n", stamp,
		    ts.tv_nsec / 1000000, tag, msg);
}

void
log_warn(const char *fmt, ...)
{
	int	e = errno;
	va_list	ap;

	va_start(ap, fmt);
	log_vemit("warning", fmt, ap, e);
	va_end(ap);
	errno = e;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit("warning", fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_lvl < LOG_LVL_INFO)
		return;
	va_start(ap, fmt);
	log_vemit("info", fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_lvl < LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vemit("debug", fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int	e = errno;
	va_list	ap;

	va_start(ap, fmt);
	log_vemit("fatal", fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit("fatal", fmt, ap, 0);
	va_end(ap);
	exit(1);
}
