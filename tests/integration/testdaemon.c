/*  testdaemon.c - a tiny daemon on dp_daemon for the lifecycle tests
    run: simulated jobs are zloop timers of --job-ms each; "JOBS n" on the control socket
    starts n more; SIGTERM stops new jobs and waits for the in-flight ones.
    ctl: sends one control command and prints the reply.
    SPDX-License-Identifier: MIT */
#include "dp_daemon.h"
#include "dp_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#define TD_JOB_MS   800
#define TD_CTL_MS   2000
#define TD_MAX_JOBS 1000

typedef struct {
    dp_daemon_t *daemon; /* lifecycle */
    int job_ms;          /* duration of one simulated job */
    int in_flight;       /* jobs started and not done */
    dp_counter_t *done;  /* jobs_done counter */
} td_t;

static void s_usage(void)
{
    fprintf(stderr, "usage: testdaemon run --name NAME --node NODE --ctl ENDPOINT [--jobs N]\n"
                    "                      [--job-ms MS] [--drain-ms MS]\n"
                    "       testdaemon ctl ENDPOINT COMMAND [TIMEOUT_MS]\n");
}

static int s_on_job_done(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    td_t *self = arg;
    self->in_flight--;
    (*self->done)++;
    dp_stats_set(dp_daemon_stats(self->daemon), "jobs_in_flight", (uint64_t)self->in_flight);
    dp_log_info("job done", "timer=%d in_flight=%d", timer_id, self->in_flight);
    if (dp_daemon_state(self->daemon) == DP_DAEMON_DRAINING && self->in_flight == 0)
        dp_daemon_drained(self->daemon);
    return 0;
}

static void s_start_jobs(td_t *self, int n)
{
    for (int i = 0; i < n; i++) {
        zloop_timer(dp_daemon_loop(self->daemon), (size_t)self->job_ms, 1, s_on_job_done, self);
        self->in_flight++;
        dp_stats_add(dp_daemon_stats(self->daemon), "jobs_started", 1);
    }
    dp_stats_set(dp_daemon_stats(self->daemon), "jobs_in_flight", (uint64_t)self->in_flight);
    dp_log_info("jobs started", "n=%d in_flight=%d", n, self->in_flight);
}

static void s_on_drain(dp_daemon_t *d, void *arg)
{
    td_t *self = arg;
    dp_log_info("no new jobs", "in_flight=%d", self->in_flight);
    if (self->in_flight == 0)
        dp_daemon_drained(d);
}

static void s_on_reload(dp_daemon_t *d, void *arg)
{
    (void)d;
    td_t *self = arg;
    dp_log_info("reloaded settings", "job_ms=%d", self->job_ms);
}

static char *s_on_command(dp_daemon_t *d, const char *verb, const char *args, void *arg)
{
    td_t *self = arg;
    char *out = NULL;
    if (strcasecmp(verb, "JOBS") != 0)
        return NULL;
    int n = atoi(args);
    if (dp_daemon_state(d) != DP_DAEMON_RUNNING)
        out = strdup("ERR draining: not taking new jobs");
    else if (n < 1 || n > TD_MAX_JOBS)
        out = strdup("ERR usage: JOBS n (1-1000)");
    else {
        s_start_jobs(self, n);
        if (asprintf(&out, "OK started %d", n) < 0)
            out = NULL;
    }
    return out;
}

static char *s_on_config(dp_daemon_t *d, void *arg)
{
    (void)d;
    td_t *self = arg;
    char *out = NULL;
    if (asprintf(&out, "JOB_MS=%d\nAPP_KEY=********\n", self->job_ms) < 0)
        return NULL;
    return out;
}

static int s_ctl(int argc, char **argv)
{
    if (argc < 4) {
        s_usage();
        return EX_USAGE;
    }
    dp_err_t err = {0};
    char *reply = dp_daemon_ctl(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : TD_CTL_MS, &err);
    if (!reply) {
        fprintf(stderr, "testdaemon ctl: %s: %s\n", dp_err_name(err.code), err.text);
        return 1;
    }
    printf("%s\n", reply);
    free(reply);
    return 0;
}

static int s_run(int argc, char **argv)
{
    const char *name = NULL, *node = NULL, *ctl = NULL;
    int jobs = 0, job_ms = TD_JOB_MS, drain_ms = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--name") == 0)
            name = argv[i + 1];
        else if (strcmp(argv[i], "--node") == 0)
            node = argv[i + 1];
        else if (strcmp(argv[i], "--ctl") == 0)
            ctl = argv[i + 1];
        else if (strcmp(argv[i], "--jobs") == 0)
            jobs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--job-ms") == 0)
            job_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--drain-ms") == 0)
            drain_ms = atoi(argv[i + 1]);
        else {
            s_usage();
            return EX_USAGE;
        }
    }
    if (!name || !node || !ctl || job_ms < 1) {
        s_usage();
        return EX_USAGE;
    }
    if (dp_daemon_block_signals() != 0) {
        fprintf(stderr, "testdaemon: cannot block signals\n");
        return EX_OSERR;
    }
    dp_log_init(name, node, DP_LOG_INFO);
    dp_err_t err = {0};
    td_t self = {.job_ms = job_ms};
    self.daemon = dp_daemon_new(name, node, ctl, &err);
    if (!self.daemon) {
        dp_log_error("cannot start", "err=%s detail=\"%s\"", dp_err_name(err.code), err.text);
        fprintf(stderr, "testdaemon: cannot start: %s\n", err.text);
        return err.code == DP_ERR_BUSY ? EX_UNAVAILABLE : EX_CONFIG;
    }
    self.done = dp_stats_counter(dp_daemon_stats(self.daemon), "jobs_done");
    dp_daemon_set_drain_timeout(self.daemon, drain_ms);
    dp_daemon_on_drain(self.daemon, s_on_drain, &self);
    dp_daemon_on_reload(self.daemon, s_on_reload, &self);
    dp_daemon_on_command(self.daemon, s_on_command, &self);
    dp_daemon_on_config(self.daemon, s_on_config, &self);
    if (jobs > 0)
        s_start_jobs(&self, jobs);
    int rc = dp_daemon_run(self.daemon);
    dp_daemon_destroy(&self.daemon);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return s_run(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
        return s_ctl(argc, argv);
    s_usage();
    return EX_USAGE;
}
