/*  dp_daemon.c - daemon lifecycle: signals in the zloop, control socket, drain on SIGTERM
    Main-thread only. Signals arrive through a signalfd polled by the zloop; the control
    socket is a plain ROUTER on a local endpoint (dp_zmq refuses plain non-local ones).
    SPDX-License-Identifier: MIT */
#include "dp_daemon.h"
#include "dp_log.h"
#include "dp_time.h"
#include "dp_zmq.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define DP_DAEMON_PING_MS       1000 /* probe of a possibly live daemon on our endpoint */
#define DP_DAEMON_CTL_LINGER_MS 100  /* replies to vanished clients are not worth waiting */
#define DP_DAEMON_STOP_DELAY_MS 1    /* timer that ends the loop after dp_daemon_drained */

struct dp_daemon {
    char *name;              /* daemon name ("poller") */
    char *node;              /* NODE_ID */
    char *control_endpoint;  /* NULL when there is no control socket */
    zloop_t *loop;           /* the main loop */
    zsock_t *control;        /* ROUTER, plain, local */
    int sigfd;               /* signalfd for TERM/INT/HUP */
    dp_stats_t *stats;       /* counters listed by STATS */
    dp_daemon_state_t state; /* RUNNING -> DRAINING -> STOPPED */
    int64_t started_ms;      /* monotonic start time */
    int drain_timeout_ms;    /* deadline for in-flight work */
    int drain_timer;         /* zloop timer id, -1 when none */
    int run_rc;              /* dp_daemon_run result */
    dp_daemon_fn *drain_fn;  /* SIGTERM/SIGINT callback */
    void *drain_arg;
    dp_daemon_fn *reload_fn; /* SIGHUP callback */
    void *reload_arg;
    dp_daemon_command_fn *command_fn; /* custom verbs */
    void *command_arg;
    dp_daemon_config_fn *config_fn; /* CONFIG */
    void *config_arg;
};

static const char *s_signal_name(int signo)
{
    switch (signo) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGHUP:
        return "SIGHUP";
    }
    return "other";
}

static void s_lifecycle_sigset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

static bool s_signals_blocked(void)
{
    sigset_t cur;
    if (pthread_sigmask(SIG_BLOCK, NULL, &cur) != 0)
        return false;
    return sigismember(&cur, SIGTERM) == 1 && sigismember(&cur, SIGINT) == 1 &&
           sigismember(&cur, SIGHUP) == 1;
}

//  For ipc:// endpoints: refuses when a daemon listens there, removes a stale file.
static int s_control_claim(const char *endpoint, dp_err_t *err)
{
    if (strncmp(endpoint, "ipc://", 6) != 0 || endpoint[6] == '@')
        return 0;
    const char *path = endpoint + 6;
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode))
        return dp_err_set(err, DP_ERR_CONFIG, "control path %s exists and is not a socket", path);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return dp_err_set(err, DP_ERR_INTERNAL, "socket: %s", strerror(errno));
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int saved = errno;
    close(fd);
    if (rc != 0 && saved == ECONNREFUSED) {
        if (unlink(path) != 0 && errno != ENOENT)
            return dp_err_set(err, DP_ERR_CONFIG, "cannot remove stale control socket %s: %s", path,
                              strerror(errno));
        dp_log_notice("removed stale control socket", "path=%s", path);
        return 0;
    }
    if (rc != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "cannot check control socket %s: %s", path,
                          strerror(saved));
    char *reply = dp_daemon_ctl(endpoint, "PING", DP_DAEMON_PING_MS, NULL);
    bool live = reply && strcmp(reply, "PONG") == 0;
    free(reply);
    if (live)
        return dp_err_set(err, DP_ERR_BUSY,
                          "another daemon is running on control endpoint %s (it answered PING)",
                          endpoint);
    return dp_err_set(err, DP_ERR_BUSY,
                      "control endpoint %s is in use by a process that does not answer PING",
                      endpoint);
}

static void s_stop(dp_daemon_t *self, int rc)
{
    if (self->state == DP_DAEMON_STOPPED)
        return;
    self->state = DP_DAEMON_STOPPED;
    self->run_rc = rc;
    if (self->drain_timer != -1) {
        zloop_timer_end(self->loop, self->drain_timer);
        self->drain_timer = -1;
    }
}

static int s_on_stop_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return -1;
}

static int s_on_drain_deadline(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    dp_daemon_t *self = arg;
    self->drain_timer = -1;
    if (self->state != DP_DAEMON_DRAINING)
        return 0;
    dp_log_error("drain deadline passed with work in flight", "deadline_ms=%d",
                 self->drain_timeout_ms);
    s_stop(self, -1);
    return -1;
}

static void s_begin_drain(dp_daemon_t *self, int signo)
{
    if (self->state != DP_DAEMON_RUNNING) {
        dp_log_notice("already draining", "signal=%s", s_signal_name(signo));
        return;
    }
    self->state = DP_DAEMON_DRAINING;
    dp_log_notice("draining", "signal=%s deadline_ms=%d", s_signal_name(signo),
                  self->drain_timeout_ms);
    self->drain_timer =
        zloop_timer(self->loop, (size_t)self->drain_timeout_ms, 1, s_on_drain_deadline, self);
    if (self->drain_fn)
        self->drain_fn(self, self->drain_arg);
    else
        dp_daemon_drained(self);
}

static int s_on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    dp_daemon_t *self = arg;
    struct signalfd_siginfo si;
    while (read(self->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        dp_stats_add(self->stats, "signals", 1);
        if (si.ssi_signo == SIGHUP) {
            dp_stats_add(self->stats, "reloads", 1);
            dp_log_notice("reload", "signal=%s", s_signal_name(SIGHUP));
            if (self->reload_fn)
                self->reload_fn(self, self->reload_arg);
        } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
            s_begin_drain(self, (int)si.ssi_signo);
    }
    return self->state == DP_DAEMON_STOPPED ? -1 : 0;
}

static char *s_reply_stats(dp_daemon_t *self)
{
    char *counters = dp_stats_format(self->stats);
    char zap[128] = "";
    if (dp_zmq_auth_running())
        snprintf(zap, sizeof zap, "zap_allowed: %llu\nzap_denied: %llu\n",
                 (unsigned long long)dp_zmq_auth_allowed(),
                 (unsigned long long)dp_zmq_auth_denied());
    char *out = NULL;
    int64_t uptime_s = (dp_time_mono_ms() - self->started_ms) / 1000;
    if (asprintf(&out, "daemon: %s\nnode: %s\nstate: %s\nuptime_s: %lld\npid: %d\n%s%s", self->name,
                 self->node, dp_daemon_state_name(self->state), (long long)uptime_s, (int)getpid(),
                 zap, counters) < 0)
        abort();
    free(counters);
    return out;
}

static char *s_reply(dp_daemon_t *self, char *text)
{
    char *args = strchr(text, ' ');
    if (args)
        *args++ = '\0';
    else
        args = "";
    char *out = NULL;
    if (strcasecmp(text, "PING") == 0)
        out = strdup("PONG");
    else if (strcasecmp(text, "STATS") == 0)
        out = s_reply_stats(self);
    else if (strcasecmp(text, "CONFIG") == 0)
        out = self->config_fn ? self->config_fn(self, self->config_arg) : strdup("ERR no config");
    else if (self->command_fn)
        out = self->command_fn(self, text, args, self->command_arg);
    if (!out && asprintf(&out, "ERR unknown command: %s", text) < 0)
        abort();
    return out;
}

static int s_on_control(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    dp_daemon_t *self = arg;
    zmsg_t *msg = zmsg_recv(reader);
    if (!msg)
        return 0;
    zframe_t *request = zmsg_last(msg);
    if (zmsg_size(msg) < 2 || zframe_size(request) > DP_DAEMON_CMD_MAX) {
        dp_stats_add(self->stats, "control_rejected", 1);
        zmsg_destroy(&msg);
        return 0;
    }
    char text[DP_DAEMON_CMD_MAX + 1];
    size_t n = zframe_size(request);
    memcpy(text, zframe_data(request), n);
    text[n] = '\0';
    text[strcspn(text, "\r\n")] = '\0';
    dp_stats_add(self->stats, "control_requests", 1);
    char *reply = s_reply(self, text);
    zmsg_remove(msg, request);
    zframe_destroy(&request);
    zmsg_addstr(msg, reply);
    free(reply);
    if (zmsg_send(&msg, reader) != 0)
        zmsg_destroy(&msg);
    return self->state == DP_DAEMON_STOPPED ? -1 : 0;
}

static int s_attach_control(dp_daemon_t *self, const char *endpoint, dp_err_t *err)
{
    if (!dp_zmq_endpoint_valid(endpoint))
        return dp_err_set(err, DP_ERR_CONFIG, "invalid control endpoint '%s'", endpoint);
    if (s_control_claim(endpoint, err) != 0)
        return -1;
    dp_zmq_opts_t opts = {.linger_ms = DP_DAEMON_CTL_LINGER_MS, .maxmsgsize = DP_DAEMON_CTL_MAXMSG};
    self->control = dp_zmq_server_opts(ZMQ_ROUTER, endpoint, NULL, &opts, err);
    if (!self->control)
        return -1;
    self->control_endpoint = strdup(endpoint);
    if (!self->control_endpoint)
        abort();
    return zloop_reader(self->loop, self->control, s_on_control, self);
}

//  --------------------------------------------------------------------------
int dp_daemon_block_signals(void)
{
    sigset_t set;
    s_lifecycle_sigset(&set);
    sigaddset(&set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    zsys_handler_set(NULL);
    zsys_set_logstream(stderr);
    zsys_set_logsystem(false);
    return 0;
}

//  --------------------------------------------------------------------------
dp_daemon_t *dp_daemon_new(const char *name, const char *node_id, const char *control_endpoint,
                           dp_err_t *err)
{
    if (!name || !*name || !node_id || !*node_id) {
        dp_err_set(err, DP_ERR_CONFIG, "daemon name and node id are required");
        return NULL;
    }
    if (!s_signals_blocked()) {
        dp_err_set(err, DP_ERR_INTERNAL,
                   "SIGTERM/SIGINT/SIGHUP not blocked: call dp_daemon_block_signals first");
        return NULL;
    }
    dp_daemon_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    self->name = strdup(name);
    self->node = strdup(node_id);
    self->sigfd = -1;
    self->drain_timer = -1;
    self->drain_timeout_ms = DP_DAEMON_DRAIN_MS;
    self->started_ms = dp_time_mono_ms();
    self->stats = dp_stats_new();
    self->loop = zloop_new();
    if (!self->name || !self->node || !self->loop)
        abort();
    zloop_set_nonstop(self->loop, true);
    zsys_set_logident(name);
    dp_stats_counter(self->stats, "reloads");
    dp_stats_counter(self->stats, "control_requests");

    sigset_t set;
    s_lifecycle_sigset(&set);
    self->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->sigfd < 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "signalfd: %s", strerror(errno));
        goto fail;
    }
    zmq_pollitem_t item = {NULL, self->sigfd, ZMQ_POLLIN, 0};
    if (zloop_poller(self->loop, &item, s_on_signal, self) != 0) {
        dp_err_set(err, DP_ERR_INTERNAL, "cannot poll the signalfd");
        goto fail;
    }
    if (control_endpoint && s_attach_control(self, control_endpoint, err) != 0)
        goto fail;
    return self;
fail:
    dp_daemon_destroy(&self);
    return NULL;
}

//  --------------------------------------------------------------------------
void dp_daemon_destroy(dp_daemon_t **p)
{
    if (!p || !*p)
        return;
    dp_daemon_t *self = *p;
    zloop_destroy(&self->loop);
    zsock_destroy(&self->control);
    /* libzmq 4.3 leaves the ipc file behind; remove ours so the next start finds none */
    const char *ep = self->control_endpoint;
    if (ep && strncmp(ep, "ipc://", 6) == 0 && ep[6] != '@')
        unlink(ep + 6);
    if (self->sigfd >= 0)
        close(self->sigfd);
    dp_stats_destroy(&self->stats);
    free(self->control_endpoint);
    free(self->name);
    free(self->node);
    free(self);
    *p = NULL;
}

//  --------------------------------------------------------------------------
void dp_daemon_on_drain(dp_daemon_t *d, dp_daemon_fn *fn, void *arg)
{
    d->drain_fn = fn;
    d->drain_arg = arg;
}

//  --------------------------------------------------------------------------
void dp_daemon_on_reload(dp_daemon_t *d, dp_daemon_fn *fn, void *arg)
{
    d->reload_fn = fn;
    d->reload_arg = arg;
}

//  --------------------------------------------------------------------------
void dp_daemon_on_command(dp_daemon_t *d, dp_daemon_command_fn *fn, void *arg)
{
    d->command_fn = fn;
    d->command_arg = arg;
}

//  --------------------------------------------------------------------------
void dp_daemon_on_config(dp_daemon_t *d, dp_daemon_config_fn *fn, void *arg)
{
    d->config_fn = fn;
    d->config_arg = arg;
}

//  --------------------------------------------------------------------------
void dp_daemon_set_drain_timeout(dp_daemon_t *d, int timeout_ms)
{
    if (timeout_ms > 0)
        d->drain_timeout_ms = timeout_ms;
}

//  --------------------------------------------------------------------------
zloop_t *dp_daemon_loop(dp_daemon_t *d)
{
    return d->loop;
}

//  --------------------------------------------------------------------------
int dp_daemon_run(dp_daemon_t *d)
{
    dp_log_notice("started", "pid=%d control=%s", (int)getpid(),
                  d->control_endpoint ? d->control_endpoint : "-");
    if (d->state != DP_DAEMON_STOPPED)
        zloop_start(d->loop);
    if (d->state != DP_DAEMON_STOPPED) {
        dp_log_error("event loop ended unexpectedly", "state=%s", dp_daemon_state_name(d->state));
        s_stop(d, -1);
    }
    dp_log_notice("stopped", "rc=%d uptime_s=%lld", d->run_rc,
                  (long long)((dp_time_mono_ms() - d->started_ms) / 1000));
    return d->run_rc;
}

//  --------------------------------------------------------------------------
void dp_daemon_drained(dp_daemon_t *d)
{
    if (d->state == DP_DAEMON_STOPPED)
        return;
    s_stop(d, 0);
    zloop_timer(d->loop, DP_DAEMON_STOP_DELAY_MS, 1, s_on_stop_timer, d);
}

//  --------------------------------------------------------------------------
dp_daemon_state_t dp_daemon_state(const dp_daemon_t *d)
{
    return d->state;
}

//  --------------------------------------------------------------------------
const char *dp_daemon_state_name(dp_daemon_state_t state)
{
    switch (state) {
    case DP_DAEMON_RUNNING:
        return "running";
    case DP_DAEMON_DRAINING:
        return "draining";
    case DP_DAEMON_STOPPED:
        return "stopped";
    }
    return "unknown";
}

//  --------------------------------------------------------------------------
dp_stats_t *dp_daemon_stats(dp_daemon_t *d)
{
    return d->stats;
}

//  --------------------------------------------------------------------------
const char *dp_daemon_name(const dp_daemon_t *d)
{
    return d->name;
}

//  --------------------------------------------------------------------------
const char *dp_daemon_node(const dp_daemon_t *d)
{
    return d->node;
}

//  --------------------------------------------------------------------------
char *dp_daemon_ctl(const char *endpoint, const char *command, int timeout_ms, dp_err_t *err)
{
    if (!command || !*command || strlen(command) > DP_DAEMON_CMD_MAX || timeout_ms < 0) {
        dp_err_set(err, DP_ERR_CONFIG, "control command missing or longer than %d bytes",
                   DP_DAEMON_CMD_MAX);
        return NULL;
    }
    zsock_t *s = dp_zmq_client(ZMQ_DEALER, endpoint, NULL, err);
    if (!s)
        return NULL;
    zsock_set_linger(s, 0);
    zsock_set_sndtimeo(s, timeout_ms);
    int64_t deadline = dp_time_mono_ms() + timeout_ms;
    char *out = NULL;
    if (dp_zmq_send_bytes(s, command, strlen(command), 0) != 0) {
        dp_err_set(err, DP_ERR_UNREACHABLE, "no daemon accepted a connection on %s within %d ms",
                   endpoint, timeout_ms);
        goto done;
    }
    int64_t left = deadline - dp_time_mono_ms();
    zframe_t *reply = dp_zmq_recv_frame(s, left > 0 ? (int)left : 0, err);
    if (!reply) {
        if (err && err->code == DP_ERR_TIMEOUT)
            dp_err_set(err, DP_ERR_TIMEOUT, "no answer from %s within %d ms", endpoint, timeout_ms);
        goto done;
    }
    out = zframe_strdup(reply);
    zframe_destroy(&reply);
done:
    zsock_destroy(&s);
    return out;
}
