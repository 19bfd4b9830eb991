/*
 * daemon/intercept.h - the files HTTPS interception reads
 * (docs/interception.md): the CA of tls_intercept and the credentials'
 * value files.  A config is not complete until they are loaded; an
 * unreadable one is a config error naming where the config gave its path.
 */
#ifndef EGRESS_INTERCEPT_H
#define EGRESS_INTERCEPT_H

#include "common/errlist.h"
#include "daemon/config.h"

/*
 * Loads what <cf> needs: the CA (reusing <old>'s when its tls_intercept
 * paths are the same and <reuse>, so that an API change keeps the leaf
 * cache; a reload reads the files again) and every credential's value.
 * Sets cf_certs and cf_px.pc_certs.  -1 with errors in <el>.
 */
int	intercept_load(struct config *cf, const struct config *old, bool reuse,
	    struct errlist *el);

#endif /* EGRESS_INTERCEPT_H */
