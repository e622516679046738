/*  dp_http.c - Prometheus metrics: /metrics over HTTP on loopback and the shared formatter
    The server thread owns nothing of the daemon: it asks the control socket for STATS.
    SPDX-License-Identifier: MIT */
#include "dp_http.h"
#include "dp_daemon.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX     64
#define S_LINES_MAX    1024 /* STATS lines considered */
#define S_HIST_MAX     16   /* histograms per STATS reply */
#define S_BASE_MAX     40   /* histogram base name length */
#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define S_METRICS_PATH "/metrics"

static const int64_t s_bounds_ms[DP_HTTP_BUCKETS] = {10,   25,   50,   100,   250,   500,
                                                     1000, 2500, 5000, 10000, 30000, 60000};

struct dp_http {
    struct MHD_Daemon *mhd;    /* server with its own polling thread */
    char *daemon;              /* metric name prefix part */
    char *node;                /* node label */
    char *control;             /* control endpoint asked for STATS */
    int port;                  /* bound port */
    _Atomic uint64_t requests; /* requests answered */
};

typedef struct {
    char name[S_NAME_MAX]; /* counter name as in STATS */
    const char *value;     /* points into the parsed copy */
} s_line_t;

//  Parses "name: value" lines of text (modified in place) into lines; returns the count.
static int s_parse(char *text, s_line_t *lines, int max)
{
    int n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < max;
         l = strtok_r(NULL, "\n", &save)) {
        char *colon = strstr(l, ": ");
        if (!colon || colon == l || (size_t)(colon - l) >= S_NAME_MAX)
            continue;
        *colon = '\0';
        snprintf(lines[n].name, S_NAME_MAX, "%s", l);
        lines[n].value = colon + 2;
        n++;
    }
    return n;
}

static bool s_is_number(const char *v)
{
    char *end;
    errno = 0;
    strtod(v, &end);
    return *v && !errno && end != v && *end == '\0';
}

static void s_sanitise(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++)
        dst[i] = isalnum((unsigned char)src[i]) || src[i] == '_' ? src[i] : '_';
    dst[i] = '\0';
}

static void s_label(FILE *out, const char *node)
{
    fputs("node=\"", out);
    for (const char *c = node ? node : ""; *c; c++) {
        if (*c == '\\' || *c == '"')
            fputc('\\', out);
        if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

//  If name is "<base>_le_<N>" or "<base>_le_inf", writes base and returns the bound (-2 for inf).
static long long s_bucket(const char *name, char *base, size_t size)
{
    const char *le = strstr(name, "_le_");
    if (!le)
        return -1;
    while (strstr(le + 1, "_le_"))
        le = strstr(le + 1, "_le_");
    const char *b = le + 4;
    long long bound;
    if (strcmp(b, "inf") == 0)
        bound = -2;
    else {
        char *end;
        bound = strtoll(b, &end, 10);
        if (!isdigit((unsigned char)*b) || *end)
            return -1;
    }
    size_t n = (size_t)(le - name);
    if (n == 0 || n >= size)
        return -1;
    memcpy(base, name, n);
    base[n] = '\0';
    return bound;
}

static int s_find_base(char bases[][S_BASE_MAX + 1], int n, const char *base)
{
    for (int i = 0; i < n; i++)
        if (strcmp(bases[i], base) == 0)
            return i;
    return -1;
}

static bool s_hist_part(char bases[][S_BASE_MAX + 1], int nb, const char *name)
{
    char base[S_NAME_MAX];
    if (s_bucket(name, base, sizeof base) != -1)
        return true;
    size_t n = strlen(name);
    for (int i = 0; i < nb; i++) {
        size_t bl = strlen(bases[i]);
        if (n > bl && strncmp(name, bases[i], bl) == 0 &&
            (strcmp(name + bl, "_sum") == 0 || strcmp(name + bl, "_count") == 0))
            return true;
    }
    return false;
}

static void s_print_hist(FILE *out, const char *prefix, const char *node, const char *base,
                         const s_line_t *lines, int n)
{
    char sb[S_NAME_MAX];
    s_sanitise(sb, sizeof sb, base);
    fprintf(out, "# TYPE %s_%s histogram\n", prefix, sb);
    long long last = -1;
    while (true) { /* buckets in increasing bound order, +Inf last */
        long long next = -3;
        const char *value = NULL;
        for (int i = 0; i < n; i++) {
            char b[S_NAME_MAX];
            long long bound = s_bucket(lines[i].name, b, sizeof b);
            if (bound == -1 || strcmp(b, base) != 0 || !s_is_number(lines[i].value))
                continue;
            long long key = bound == -2 ? __LONG_LONG_MAX__ : bound;
            if (key > last && (next == -3 || key < next)) {
                next = key;
                value = lines[i].value;
            }
        }
        if (next == -3)
            break;
        fprintf(out, "%s_%s_bucket{", prefix, sb);
        s_label(out, node);
        if (next == __LONG_LONG_MAX__)
            fprintf(out, ",le=\"+Inf\"} %s\n", value);
        else
            fprintf(out, ",le=\"%lld\"} %s\n", next, value);
        last = next;
    }
    for (int i = 0; i < n; i++) {
        size_t bl = strlen(base);
        const char *suffix = lines[i].name + bl;
        if (strncmp(lines[i].name, base, bl) == 0 &&
            (strcmp(suffix, "_sum") == 0 || strcmp(suffix, "_count") == 0) &&
            s_is_number(lines[i].value)) {
            fprintf(out, "%s_%s%s{", prefix, sb, suffix);
            s_label(out, node);
            fprintf(out, "} %s\n", lines[i].value);
        }
    }
}

//  --------------------------------------------------------------------------
char *dp_http_prometheus(const char *daemon, const char *node, const char *stats_text)
{
    char *copy = strdup(stats_text ? stats_text : "");
    s_line_t *lines = calloc(S_LINES_MAX, sizeof *lines);
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    if (!copy || !lines || !out)
        abort();
    int n = s_parse(copy, lines, S_LINES_MAX);
    char prefix[S_NAME_MAX + 16], d[S_NAME_MAX];
    s_sanitise(d, sizeof d, daemon ? daemon : "daemon");
    snprintf(prefix, sizeof prefix, "distpoll_%s", d);
    char bases[S_HIST_MAX][S_BASE_MAX + 1];
    int nb = 0;
    for (int i = 0; i < n; i++) {
        char base[S_NAME_MAX];
        if (s_bucket(lines[i].name, base, sizeof base) != -1 && strlen(base) <= S_BASE_MAX &&
            s_find_base(bases, nb, base) < 0 && nb < S_HIST_MAX)
            snprintf(bases[nb++], S_BASE_MAX + 1, "%s", base);
    }
    for (int i = 0; i < n; i++) {
        if (strcmp(lines[i].name, "state") == 0) {
            fprintf(out, "# TYPE %s_up gauge\n%s_up{", prefix, prefix);
            s_label(out, node);
            fprintf(out, "} %d\n", strcmp(lines[i].value, "running") == 0 ? 1 : 0);
            continue;
        }
        if (!s_is_number(lines[i].value) || strcmp(lines[i].name, "pid") == 0 ||
            s_hist_part(bases, nb, lines[i].name))
            continue;
        char name[S_NAME_MAX];
        s_sanitise(name, sizeof name, lines[i].name);
        fprintf(out, "# TYPE %s_%s untyped\n%s_%s{", prefix, name, prefix, name);
        s_label(out, node);
        fprintf(out, "} %s\n", lines[i].value);
    }
    for (int i = 0; i < nb; i++)
        s_print_hist(out, prefix, node, bases[i], lines, n);
    fclose(out);
    free(lines);
    free(copy);
    return buf;
}

//  --------------------------------------------------------------------------
int64_t dp_http_bucket_ms(int i)
{
    return i >= 0 && i < DP_HTTP_BUCKETS ? s_bounds_ms[i] : -1;
}

//  --------------------------------------------------------------------------
void dp_http_observe_ms(dp_stats_t *s, const char *base, int64_t ms)
{
    if (!s || !base || strlen(base) > S_BASE_MAX)
        return;
    char name[S_NAME_MAX];
    if (ms < 0)
        ms = 0;
    for (int i = 0; i < DP_HTTP_BUCKETS; i++) { /* adding 0 registers: every bucket is listed */
        snprintf(name, sizeof name, "%s_le_%lld", base, (long long)s_bounds_ms[i]);
        dp_stats_add(s, name, ms <= s_bounds_ms[i] ? 1 : 0);
    }
    snprintf(name, sizeof name, "%s_le_inf", base);
    dp_stats_add(s, name, 1);
    snprintf(name, sizeof name, "%s_sum", base);
    dp_stats_add(s, name, (uint64_t)ms);
    snprintf(name, sizeof name, "%s_count", base);
    dp_stats_add(s, name, 1);
}

//  --------------------------------------------------------------------------
double dp_http_quantile(const uint64_t *cum, uint64_t cum_inf, double q)
{
    if (!cum || cum_inf == 0)
        return -1;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    double rank = q * (double)cum_inf;
    uint64_t below = 0;
    for (int i = 0; i < DP_HTTP_BUCKETS; i++) {
        if ((double)cum[i] >= rank && cum[i] > below) {
            double lo = i == 0 ? 0 : (double)s_bounds_ms[i - 1];
            double hi = (double)s_bounds_ms[i];
            return lo + (hi - lo) * (rank - (double)below) / (double)(cum[i] - below);
        }
        if (cum[i] > below)
            below = cum[i];
    }
    return (double)s_bounds_ms[DP_HTTP_BUCKETS - 1];
}

static enum MHD_Result s_reply(struct MHD_Connection *c, unsigned code, char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, S_CONTENT_TYPE);
    enum MHD_Result rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url,
                                const char *method, const char *version, const char *upload,
                                size_t *upload_size, void **state)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)state;
    dp_http_t *self = cls;
    self->requests++;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, strdup("only GET /metrics\n"));
    if (strcmp(url, S_METRICS_PATH) != 0 && strcmp(url, "/") != 0)
        return s_reply(c, MHD_HTTP_NOT_FOUND, strdup("not found: try /metrics\n"));
    dp_err_t err = {0};
    char *stats = dp_daemon_ctl(self->control, "STATS", DP_HTTP_CTL_TIMEOUT_MS, &err);
    if (!stats) {
        char *body = NULL;
        if (asprintf(&body, "# %s: control socket: %s\n", self->daemon, err.text) < 0)
            abort();
        return s_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, body);
    }
    char *body = dp_http_prometheus(self->daemon, self->node, stats);
    free(stats);
    return s_reply(c, MHD_HTTP_OK, body);
}

//  --------------------------------------------------------------------------
dp_http_t *dp_http_new(int port, const char *daemon, const char *node, const char *control_endpoint,
                       dp_err_t *err)
{
    if (port < 0 || port > 65535 || !daemon || !node || !control_endpoint) {
        dp_err_set(err, DP_ERR_CONFIG,
                   "metrics: port 0..65535, daemon, node and control "
                   "endpoint are required");
        return NULL;
    }
    dp_http_t *self = calloc(1, sizeof *self);
    if (!self)
        abort();
    self->daemon = strdup(daemon);
    self->node = strdup(node);
    self->control = strdup(control_endpoint);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    self->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL,
                                 s_handle, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!self->mhd) {
        dp_err_set(err, DP_ERR_BUSY, "metrics: cannot listen on 127.0.0.1:%d (in use?)", port);
        dp_http_destroy(&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->mhd, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info && info->port ? info->port : port;
    return self;
}

//  --------------------------------------------------------------------------
void dp_http_destroy(dp_http_t **p)
{
    if (!p || !*p)
        return;
    dp_http_t *self = *p;
    if (self->mhd)
        MHD_stop_daemon(self->mhd);
    free(self->daemon);
    free(self->node);
    free(self->control);
    free(self);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int dp_http_port(const dp_http_t *h)
{
    return h ? h->port : 0;
}

//  --------------------------------------------------------------------------
uint64_t dp_http_requests(const dp_http_t *h)
{
    return h ? h->requests : 0;
}
