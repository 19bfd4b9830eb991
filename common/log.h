/*
 * common/log.h - daemon diagnostics on stderr.
 *
 * Pure modules never call these: they report through struct errlist and
 * the daemon decides what to print (libraries report, the daemon logs).
 */
#ifndef EGRESS_LOG_H
#define EGRESS_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void	log_init(enum log_level lvl);
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* EGRESS_LOG_H */
