/*
 * daemon/metrics.h - the admin API's numbers (docs/admin.md, Metrics).
 */
#ifndef EGRESS_METRICS_H
#define EGRESS_METRICS_H

#include <jansson.h>

struct daemon;
struct evbuffer;

/* GET /api/v1/stats: a new JSON object. */
json_t	*metrics_stats(struct daemon *d);
/* GET /metrics: the daemon's and the data plane's series, appended. */
void	 metrics_prometheus(struct daemon *d, struct evbuffer *b);

#endif /* EGRESS_METRICS_H */
