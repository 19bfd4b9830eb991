/*
 * daemon/suggest.h - the allow rules that would have let a sandbox's
 * learn-mode traffic through (docs/admin.md, GET .../suggest).
 */
#ifndef EGRESS_SUGGEST_H
#define EGRESS_SUGGEST_H

#include <jansson.h>

struct audit_sink;

/*
 * {"hosts": [{"host", "count"}...], "cidrs": [{"cidr", "count"}...],
 * "ports": [{"port", "count"}...]}, most used first.  Three or more names
 * under one registrable domain become "*.domain" (its apex, if seen,
 * stays an entry of its own: a wildcard never matches the apex).
 */
json_t	*suggest_build(struct audit_sink *as, const char *sandbox);

#endif /* EGRESS_SUGGEST_H */
