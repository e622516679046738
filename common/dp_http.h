/*  dp_http.h - Prometheus metrics: a /metrics HTTP endpoint on loopback and the shared formatter
    A daemon calls dp_http_new(cfg->metrics_port, ...) when DP_METRICS_PORT > 0. The server
    (libmicrohttpd, its own thread) answers GET /metrics by asking the daemon's own control
    socket for STATS, so /metrics and `distpoll metrics` show the same numbers in the same
    format (dp_http_prometheus). It binds 127.0.0.1 only.
    Job timing convention read by `distpoll status/top` and exported as a Prometheus histogram:
    dp_http_observe_ms(stats, "job_ms", took_ms) keeps job_ms_le_<bound> (cumulative),
    job_ms_le_inf, job_ms_sum and job_ms_count in a dp_stats_t.
    SPDX-License-Identifier: MIT */
#ifndef DP_HTTP_H
#define DP_HTTP_H

#include "dp_err.h"
#include "dp_stats.h"

#include <stddef.h>
#include <stdint.h>

#define DP_HTTP_CTL_TIMEOUT_MS 2000 /* how long /metrics waits for STATS */
#define DP_HTTP_BUCKETS        12   /* finite histogram bounds, see dp_http_bucket_ms */

typedef struct dp_http dp_http_t;

/* Starts the endpoint on 127.0.0.1:port (port 0: any free port, see dp_http_port) for daemon
   on node, whose control socket is control_endpoint (dp_conn_control_endpoint). Returns the
   server (caller stops it with dp_http_destroy) or NULL with err (DP_ERR_CONFIG: bad arguments;
   DP_ERR_BUSY: port in use or not bindable). */
dp_http_t *dp_http_new(int port, const char *daemon, const char *node, const char *control_endpoint,
                       dp_err_t *err);

/* Stops the server thread and frees it. NULL-safe; sets *p to NULL. */
void dp_http_destroy(dp_http_t **p);

/* The bound TCP port. */
int dp_http_port(const dp_http_t *h);

/* Requests answered so far (any path). */
uint64_t dp_http_requests(const dp_http_t *h);

/* Converts a STATS reply ("name: value" lines) into Prometheus text exposition:
     # TYPE distpoll_<daemon>_<name> untyped
     distpoll_<daemon>_<name>{node="<node>"} <value>
   Lines whose value is not a number (daemon, node, state) are skipped, except that
   "state: running" also gives distpoll_<daemon>_up 1. <name>_le_<N> / _le_inf lines become
   <name>_bucket{...,le="N"|"+Inf"} of a histogram with <name>_sum and <name>_count. Names are
   sanitised to [a-zA-Z0-9_]. Caller owns result; free with free(). Never NULL. */
char *dp_http_prometheus(const char *daemon, const char *node, const char *stats_text);

/* Finite histogram bound i (0 <= i < DP_HTTP_BUCKETS), in ms; -1 out of range. */
int64_t dp_http_bucket_ms(int i);

/* Records one observation of ms into the histogram base in s (names "<base>_le_<bound>",
   "<base>_le_inf", "<base>_sum", "<base>_count"; base at most 40 characters). Thread-safe. */
void dp_http_observe_ms(dp_stats_t *s, const char *base, int64_t ms);

/* Estimates quantile q (0..1) from cumulative bucket counts cum[0..DP_HTTP_BUCKETS) at the
   bounds of dp_http_bucket_ms plus cum_inf (all observations), interpolating linearly inside
   the bucket like Prometheus' histogram_quantile. Returns ms, or -1 when cum_inf is 0. An
   estimate in the +Inf bucket returns the largest finite bound. */
double dp_http_quantile(const uint64_t *cum, uint64_t cum_inf, double q);

#endif
