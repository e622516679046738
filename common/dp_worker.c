/*  dp_worker.c - the work-independent pieces of an SNMP worker thread (see dp_worker.h)
    SPDX-License-Identifier: MIT */
#include "dp_worker.h"
#include "dp_claim.h"
#include "dp_conn.h"
#include "dp_log.h"
#include "dp_time.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void s_recv_job(zmsg_t *msg, dp_worker_in_t *in)
{
    zframe_t *f = zmsg_pop(msg);
    if (f && zframe_size(f) == sizeof in->job)
        memcpy(&in->job, zframe_data(f), sizeof in->job);
    zframe_destroy(&f);
    in->cmd = in->job ? DP_WORKER_JOB : DP_WORKER_NONE;
}

static void s_recv_cfg(zmsg_t *msg, dp_worker_in_t *in)
{
    char *a = zmsg_popstr(msg), *b = zmsg_popstr(msg), *c = zmsg_popstr(msg);
    if (a && b && c) {
        in->cmd = DP_WORKER_CFG;
        in->snmp_timeout_ms = atoi(a);
        in->snmp_retries = atoi(b);
        in->concurrency = atoi(c) > 0 ? atoi(c) : 1;
    }
    free(a);
    free(b);
    free(c);
}

static void s_recv_jobs(zmsg_t *msg, dp_worker_in_t *in)
{
    zframe_t *f = zmsg_pop(msg);
    size_t size = f ? zframe_size(f) : 0;
    if (size > 0 && size % sizeof *in->jobs == 0 && (in->jobs = malloc(size))) {
        memcpy(in->jobs, zframe_data(f), size);
        in->njobs = (int)(size / sizeof *in->jobs);
        in->cmd = DP_WORKER_JOBS;
    }
    zframe_destroy(&f);
}

//  --------------------------------------------------------------------------
void dp_worker_recv(zsock_t *pipe, dp_worker_in_t *in)
{
    *in = (dp_worker_in_t){.cmd = DP_WORKER_NONE};
    zmsg_t *msg = zmsg_recv(pipe);
    char *cmd = msg ? zmsg_popstr(msg) : NULL;
    if (!cmd || strcmp(cmd, "$TERM") == 0)
        in->cmd = DP_WORKER_TERM;
    else if (strcmp(cmd, "JOB") == 0)
        s_recv_job(msg, in);
    else if (strcmp(cmd, "JOBS") == 0)
        s_recv_jobs(msg, in);
    else if (strcmp(cmd, "CFG") == 0)
        s_recv_cfg(msg, in);
    else {
        in->cmd = DP_WORKER_OTHER;
        in->name = cmd;
        in->rest = msg;
        return;
    }
    free(cmd);
    zmsg_destroy(&msg);
}

//  --------------------------------------------------------------------------
int dp_worker_send_jobs(void *w, dp_msg_t *const *jobs, int n)
{
    if (!w || !jobs || n < 1)
        return -1;
    return zsock_send(w, "sb", "JOBS", jobs, (size_t)n * sizeof *jobs) == 0 ? 0 : -1;
}

//  Hands a job to the worker (or drops it without a handler).
static void s_job(const dp_worker_hooks_t *h, void *self, dp_msg_t *job)
{
    if (h->on_job)
        h->on_job(self, job);
    else
        dp_msg_destroy(&job);
}

//  Handles every command waiting on the pipe.
static void s_on_pipe(zsock_t *pipe, dp_snmp_t *snmp, dp_cfg_t *cfg, bool *terminated,
                      const dp_worker_hooks_t *h, void *self)
{
    while (!*terminated && (zsock_events(pipe) & ZMQ_POLLIN)) {
        dp_worker_in_t in;
        dp_worker_recv(pipe, &in);
        if (in.cmd == DP_WORKER_TERM)
            *terminated = true;
        else if (in.cmd == DP_WORKER_JOB)
            s_job(h, self, in.job);
        else if (in.cmd == DP_WORKER_JOBS) {
            for (int i = 0; i < in.njobs; i++)
                s_job(h, self, in.jobs[i]);
            free(in.jobs);
        } else if (in.cmd == DP_WORKER_CFG) {
            cfg->snmp_timeout_ms = in.snmp_timeout_ms;
            cfg->snmp_retries = in.snmp_retries;
            cfg->concurrency = in.concurrency;
            dp_snmp_set_inflight(snmp, in.concurrency);
            if (h->on_cfg)
                h->on_cfg(self);
        } else if (in.cmd == DP_WORKER_OTHER) {
            if (h->on_other)
                h->on_other(self, in.name, in.rest);
            free(in.name);
            zmsg_destroy(&in.rest);
        }
    }
}

//  --------------------------------------------------------------------------
void dp_worker_loop(zsock_t *pipe, dp_snmp_t *snmp, dp_cfg_t *cfg, bool *terminated,
                    const dp_worker_hooks_t *hooks, void *self)
{
    zmq_pollitem_t items[2] = {{zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
                               {NULL, dp_snmp_fd(snmp), ZMQ_POLLIN, 0}};
    while (!*terminated) {
        long timeout = dp_snmp_timeout_ms(snmp), own = hooks->next_ms ? hooks->next_ms(self) : -1;
        if (own >= 0 && (timeout < 0 || own < timeout))
            timeout = own;
        if (zmq_poll(items, 2, timeout) < 0 && zmq_errno() == ETERM)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            s_on_pipe(pipe, snmp, cfg, terminated, hooks, self);
        if (hooks->before)
            hooks->before(self);
        dp_snmp_process(snmp);
        if (hooks->after)
            hooks->after(self);
    }
}

//  --------------------------------------------------------------------------
zactor_t *dp_worker_start(zactor_fn *fn, int id, const dp_cfg_t *cfg, void *shared)
{
    dp_worker_args_t *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    *a = (dp_worker_args_t){.id = id, .cfg = cfg, .shared = shared};
    return zactor_new(fn, a);
}

//  --------------------------------------------------------------------------
bool dp_worker_started(zsock_t *pipe, int id, int rc, const dp_err_t *err)
{
    if (rc != 0)
        dp_log_error("worker failed to start", "worker=%d err=\"%s\"", id, err->text);
    zsock_signal(pipe, rc == 0 ? 0 : 1);
    return rc == 0;
}

//  --------------------------------------------------------------------------
dp_redis_t *dp_worker_redis_new(const dp_cfg_t *cfg)
{
    dp_redis_opts_t ro;
    dp_conn_redis_opts(cfg, &ro);
    ro.node_id = cfg->node_id;
    return dp_redis_new(&ro);
}

//  --------------------------------------------------------------------------
void dp_worker_claim_end(dp_redis_t *redis, const char *kind, const char *token,
                         const dp_msg_job_t *job, bool done, int64_t keep_ms)
{
    dp_err_t err = {0};
    int rc = done
                 ? dp_claim_finish(redis, kind, job->device_id, job->cycle_ts, token, keep_ms, &err)
                 : dp_claim_release(redis, kind, job->device_id, token, &err);
    if (rc != 0)
        dp_log_warn("claim not finished", "device_id=%" PRIu64 " err=\"%s\"", job->device_id,
                    err.text);
}

//  --------------------------------------------------------------------------
void dp_worker_log_done(const char *kind, const dp_msg_job_t *job, int64_t start_ms,
                        dp_msg_status_t st)
{
    dp_log_debug("job done",
                 "device_id=%" PRIu64 " kind=%s cycle=%" PRId64 " start_ms=%" PRId64
                 " end_ms=%" PRId64 " status=%s",
                 job->device_id, kind, job->cycle_ts, start_ms, dp_time_wall_ms(),
                 dp_msg_status_name(st));
}

static void s_add(dp_counter_t *c, uint64_t now, uint64_t before)
{
    if (c && now != before)
        *c += now - before;
}

//  --------------------------------------------------------------------------
void dp_worker_publish_snmp(const dp_snmp_t *snmp, dp_snmp_stats_t *published,
                            const dp_worker_snmp_counters_t *c)
{
    const dp_snmp_stats_t *s = dp_snmp_stats(snmp);
    s_add(c->requests, s->requests, published->requests);
    s_add(c->timeouts, s->timeouts, published->timeouts);
    s_add(c->toobig, s->toobig, published->toobig);
    s_add(c->parse_errors, s->parse_errors, published->parse_errors);
    s_add(c->bad_reqids, s->bad_reqids, published->bad_reqids);
    *published = *s;
}
