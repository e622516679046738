/*  fakeworker.c - a minimal worker on dp_jobs + dp_claim for the scheduler tests
    Claims each job's device in Redis like a real worker, "works" it by waiting --work-ms (a
    zloop timer, so several jobs run at once up to --slots), marks it done, answers RESULT and
    prints one line per job worked on stdout:
      job device=ID kind=K cycle=TS node=N start_ms=.. end_ms=.. epoch=E job_id=J attempt=A
    plus "begin ..." when work starts and "skip ... reason=done|busy|redis" for jobs not
    worked. Wall-clock ms. kill -9 leaves a job half done, as a crash would. Like a real worker
    it opens the tap of its stage (`distpoll tap poller` hears it) and stamps job traces
    through dp_jobs.
    SPDX-License-Identifier: MIT */
#include "dp_cfg.h"
#include "dp_claim.h"
#include "dp_conn.h"
#include "dp_daemon.h"
#include "dp_jobs.h"
#include "dp_log.h"
#include "dp_redis.h"
#include "dp_settings.h"
#include "dp_tap.h"
#include "dp_time.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define FW_ARGS_MAX 64

typedef struct {
    dp_daemon_t *daemon;
    dp_jobs_t *jobs;
    dp_redis_t *redis;
    const dp_cfg_t *cfg;
    char token[DP_LOCK_TOKEN_MAX];
    int work_ms;
} fw_t;

typedef struct {
    fw_t *fw;
    uint64_t job_id, id, epoch;
    int64_t cycle_ts, start_ms;
    int attempt;
    dp_msg_kind_t kind;
} fw_job_t;

static uint64_t s_claim_id(const dp_msg_job_t *job)
{
    return job->kind == DP_MSG_KIND_BILL ? job->bill_id : job->device_id;
}

static int s_on_work_done(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop, (void)timer_id;
    fw_job_t *w = arg;
    fw_t *fw = w->fw;
    const char *kind = dp_msg_kind_name(w->kind);
    dp_err_t err = {0};
    int64_t done_ttl_ms = 2 * fw->cfg->poller_interval_ms + 60000;
    int rc = dp_claim_finish(fw->redis, kind, w->id, w->cycle_ts, fw->token, done_ttl_ms, &err);
    int64_t end_ms = dp_time_wall_ms();
    printf("job device=%" PRIu64 " kind=%s cycle=%" PRId64 " node=%s start_ms=%" PRId64
           " end_ms=%" PRId64 " epoch=%" PRIu64 " job_id=%" PRIu64 " attempt=%d finish_rc=%d\n",
           w->id, kind, w->cycle_ts, fw->cfg->node_id, w->start_ms, end_ms, w->epoch, w->job_id,
           w->attempt, rc);
    fflush(stdout);
    dp_jobs_finish(fw->jobs, w->job_id, DP_MSG_STATUS_OK, NULL, end_ms - w->start_ms);
    free(w);
    if (dp_daemon_state(fw->daemon) == DP_DAEMON_DRAINING && dp_jobs_inflight(fw->jobs) == 0)
        dp_daemon_drained(fw->daemon);
    return 0;
}

static void s_on_job(dp_jobs_t *j, dp_msg_t *msg, void *arg)
{
    fw_t *fw = arg;
    dp_msg_job_t *job = &msg->job;
    const char *kind = dp_msg_kind_name(job->kind);
    uint64_t id = s_claim_id(job);
    dp_claim_t c;
    dp_err_t err = {0};
    int64_t now_ms = dp_time_wall_ms();
    const char *skip = NULL;
    if (dp_claim_device(fw->redis, kind, id, job->cycle_ts, fw->token, (int)fw->cfg->job_timeout_ms,
                        &c, &err) != 0) {
        skip = "redis";
        dp_jobs_finish(j, job->job_id, DP_MSG_STATUS_ERROR, "redis unavailable", 0);
    } else if (c == DP_CLAIM_DONE) {
        skip = "done";
        dp_jobs_finish(j, job->job_id, DP_MSG_STATUS_OK, "already done", 0);
    } else if (c == DP_CLAIM_BUSY) {
        skip = "busy";
        dp_jobs_finish(j, job->job_id, DP_MSG_STATUS_ERROR, "busy", 0);
    }
    if (skip) {
        printf("skip device=%" PRIu64 " kind=%s cycle=%" PRId64 " node=%s at_ms=%" PRId64
               " epoch=%" PRIu64 " reason=%s\n",
               id, kind, job->cycle_ts, fw->cfg->node_id, now_ms, job->epoch, skip);
    } else {
        fw_job_t *w = calloc(1, sizeof *w);
        *w = (fw_job_t){fw,     job->job_id,  id,       job->epoch, job->cycle_ts,
                        now_ms, job->attempt, job->kind};
        printf("begin device=%" PRIu64 " kind=%s cycle=%" PRId64 " node=%s start_ms=%" PRId64
               " epoch=%" PRIu64 " attempt=%d\n",
               id, kind, job->cycle_ts, fw->cfg->node_id, now_ms, job->epoch, job->attempt);
        zloop_timer(dp_daemon_loop(fw->daemon), (size_t)fw->work_ms, 1, s_on_work_done, w);
    }
    fflush(stdout);
    dp_msg_destroy(&msg);
}

static void s_on_drain(dp_daemon_t *d, void *arg)
{
    fw_t *fw = arg;
    dp_jobs_pause(fw->jobs, true);
    if (dp_jobs_inflight(fw->jobs) == 0)
        dp_daemon_drained(d);
}

static int s_usage(void)
{
    fprintf(stderr, "usage: fakeworker [--stage poller] [--slots N] [--work-ms MS] [--groups 0,2]\n"
                    "                  [--env-file PATH] [--node-id ID] [--set K=V]...\n");
    return EX_USAGE;
}

int main(int argc, char **argv)
{
    const char *stage = "poller", *groups_text = "0";
    int slots = 4, work_ms = 500, cargc = 1;
    char *cargv[FW_ARGS_MAX] = {argv[0]};
    for (int i = 1; i < argc; i++) {
        bool own = i + 1 < argc;
        if (own && strcmp(argv[i], "--stage") == 0)
            stage = argv[++i];
        else if (own && strcmp(argv[i], "--slots") == 0)
            slots = atoi(argv[++i]);
        else if (own && strcmp(argv[i], "--work-ms") == 0)
            work_ms = atoi(argv[++i]);
        else if (own && strcmp(argv[i], "--groups") == 0)
            groups_text = argv[++i];
        else if (cargc < FW_ARGS_MAX - 1)
            cargv[cargc++] = argv[i];
    }
    if (slots < 1 || work_ms < 1)
        return s_usage();
    if (dp_daemon_block_signals() != 0)
        return EX_OSERR;
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    int groups[DP_SETTINGS_MAX_GROUPS], ngroups = 0;
    if (dp_cfg_load(cfg, cargc, cargv, &err) != 0 ||
        dp_cfg_require(cfg, dp_cfg_daemon_keys, &err) != 0 ||
        dp_settings_parse_groups(groups_text, groups, DP_SETTINGS_MAX_GROUPS, &ngroups, &err) !=
            0) {
        fprintf(stderr, "fakeworker: %s\n", err.text);
        return EX_CONFIG;
    }
    dp_log_init("fakeworker", cfg->node_id, cfg->log_level);
    signal(SIGPIPE, SIG_IGN);
    fw_t fw = {.cfg = cfg, .work_ms = work_ms};
    dp_zmq_keys_t keys;
    if (cfg->curve && dp_zmq_keys_derive(cfg->app_key, &keys, &err) != 0)
        return EX_CONFIG;
    char ctl[512];
    dp_conn_control_endpoint(cfg, "fakeworker", cfg->node_id, ctl, sizeof ctl);
    fw.daemon = dp_daemon_new("fakeworker", cfg->node_id, ctl, &err);
    dp_redis_opts_t ro;
    dp_conn_redis_opts(cfg, &ro);
    fw.redis = dp_redis_new(&ro);
    if (!fw.daemon || !fw.redis ||
        dp_lock_token_make(cfg->node_id, fw.token, sizeof fw.token, &err)) {
        fprintf(stderr, "fakeworker: cannot start: %s\n", err.text);
        return EX_UNAVAILABLE;
    }
    fw.jobs =
        dp_jobs_new(dp_daemon_loop(fw.daemon), cfg, cfg->curve ? &keys : NULL, stage, slots, &err);
    if (!fw.jobs) {
        fprintf(stderr, "fakeworker: %s\n", err.text);
        return EX_CONFIG;
    }
    dp_jobs_set_stats(fw.jobs, dp_daemon_stats(fw.daemon));
    dp_tap_t *tap = dp_tap_new(cfg->control_dir, stage, cfg->node_id, &err);
    if (!tap)
        dp_log_warn("no tap", "detail=\"%s\"", err.text);
    dp_jobs_set_tap(fw.jobs, tap);
    dp_jobs_set_trace(fw.jobs, fw.redis);
    dp_jobs_set_groups(fw.jobs, groups, ngroups);
    dp_jobs_on_job(fw.jobs, s_on_job, &fw);
    dp_daemon_on_drain(fw.daemon, s_on_drain, &fw);
    dp_log_info("fakeworker started", "stage=%s slots=%d work_ms=%d groups=%s", stage, slots,
                work_ms, groups_text);
    int rc = dp_daemon_run(fw.daemon);
    dp_jobs_destroy(&fw.jobs);
    dp_tap_destroy(&tap);
    dp_redis_destroy(&fw.redis);
    dp_daemon_destroy(&fw.daemon);
    dp_cfg_destroy(&cfg);
    return rc == 0 ? 0 : 1;
}
