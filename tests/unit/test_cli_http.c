/*  test_cli_http.c - dp_http: Prometheus formatting of STATS, histogram helpers, and the
    /metrics endpoint answering from a control socket (a ROUTER played by the test).
    SPDX-License-Identifier: MIT */
#include "dp_test.h"
#include "dp_http.h"
#include "dp_stats.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define TEST_WAIT_MS 3000

static const char *s_stats = "daemon: poller\nnode: n1\nstate: running\nuptime_s: 12\npid: 77\n"
                             "jobs.done: 42\njob_ms_count: 3\njob_ms_le_10: 1\njob_ms_le_100: 2\n"
                             "job_ms_le_inf: 3\njob_ms_sum: 610\nnot a line\n";

DP_TEST(http_prometheus_formats_counters_and_histograms)
{
    char *t = dp_http_prometheus("poller", "n\"1", s_stats);
    CHECK_CONTAINS(t, "# TYPE distpoll_poller_up gauge\ndistpoll_poller_up{node=\"n\\\"1\"} 1\n");
    CHECK_CONTAINS(t, "distpoll_poller_uptime_s{node=\"n\\\"1\"} 12\n");
    CHECK_CONTAINS(t, "# TYPE distpoll_poller_jobs_done untyped\n");
    CHECK_CONTAINS(t, "distpoll_poller_jobs_done{node=\"n\\\"1\"} 42\n");
    CHECK_CONTAINS(t, "# TYPE distpoll_poller_job_ms histogram\n"
                      "distpoll_poller_job_ms_bucket{node=\"n\\\"1\",le=\"10\"} 1\n"
                      "distpoll_poller_job_ms_bucket{node=\"n\\\"1\",le=\"100\"} 2\n"
                      "distpoll_poller_job_ms_bucket{node=\"n\\\"1\",le=\"+Inf\"} 3\n");
    CHECK_CONTAINS(t, "distpoll_poller_job_ms_sum{node=\"n\\\"1\"} 610\n");
    CHECK_CONTAINS(t, "distpoll_poller_job_ms_count{node=\"n\\\"1\"} 3\n");
    CHECK(strstr(t, "pid") == NULL);
    CHECK(strstr(t, "_daemon") == NULL);
    CHECK(strstr(t, "job_ms_le") == NULL);
    free(t);
    t = dp_http_prometheus("rrdwriter", "n1", "state: draining\n");
    CHECK_CONTAINS(t, "distpoll_rrdwriter_up{node=\"n1\"} 0\n");
    free(t);
    t = dp_http_prometheus("x", "n", NULL);
    CHECK_EQ_STR(t, "");
    free(t);
}

DP_TEST(http_observe_and_quantile)
{
    dp_stats_t *s = dp_stats_new();
    for (int i = 1; i <= 100; i++)
        dp_http_observe_ms(s, "job_ms", i * 10); /* 10 .. 1000 ms */
    CHECK_EQ_INT(dp_stats_get(s, "job_ms_count"), 100);
    CHECK_EQ_INT(dp_stats_get(s, "job_ms_sum"), 50500);
    CHECK_EQ_INT(dp_stats_get(s, "job_ms_le_10"), 1);
    CHECK_EQ_INT(dp_stats_get(s, "job_ms_le_100"), 10);
    CHECK_EQ_INT(dp_stats_get(s, "job_ms_le_1000"), 100);
    CHECK_EQ_INT(dp_stats_get(s, "job_ms_le_60000"), 100);
    CHECK_EQ_INT(dp_stats_get(s, "job_ms_le_inf"), 100);
    uint64_t cum[DP_HTTP_BUCKETS];
    for (int i = 0; i < DP_HTTP_BUCKETS; i++) {
        char name[64];
        snprintf(name, sizeof name, "job_ms_le_%lld", (long long)dp_http_bucket_ms(i));
        cum[i] = dp_stats_get(s, name);
    }
    double p95 = dp_http_quantile(cum, 100, 0.95);
    CHECK(p95 > 900 && p95 <= 1000); /* true p95 is 950 */
    double p50 = dp_http_quantile(cum, 100, 0.5);
    CHECK(p50 > 400 && p50 <= 500);
    CHECK(dp_http_quantile(cum, 0, 0.95) < 0);
    CHECK_EQ_INT(dp_http_bucket_ms(-1), -1);
    dp_stats_destroy(&s);
}

static char *s_http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return NULL;
    }
    char req[256];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    return (char *)(intptr_t)fd; /* the caller reads after answering the control request */
}

static char *s_read_all(int fd)
{
    char *buf = calloc(1, 65536);
    size_t got = 0;
    ssize_t n;
    while (got < 65535 && (n = read(fd, buf + got, 65535 - got)) > 0)
        got += (size_t)n;
    close(fd);
    return buf;
}

DP_TEST(http_metrics_endpoint_asks_the_control_socket)
{
    char path[128];
    snprintf(path, sizeof path, "ipc:///tmp/dp-http-test-%d.ctl", (int)getpid());
    zsock_t *ctl = zsock_new_router(path);
    CHECK(ctl != NULL);
    dp_err_t err = {0};
    dp_http_t *h = dp_http_new(0, "poller", "n1", path, &err);
    CHECK(h != NULL);
    CHECK(dp_http_port(h) > 0);
    int fd = (int)(intptr_t)s_http_get(dp_http_port(h), "/metrics");
    CHECK(fd > 0);
    zsock_set_rcvtimeo(ctl, TEST_WAIT_MS);
    zmsg_t *req = zmsg_recv(ctl);
    CHECK(req != NULL);
    char *verb = zframe_strdup(zmsg_last(req));
    CHECK_EQ_STR(verb, "STATS");
    free(verb);
    zframe_t *id = zmsg_pop(req);
    zmsg_destroy(&req);
    zmsg_t *rep = zmsg_new();
    zmsg_append(rep, &id);
    zmsg_addstr(rep, s_stats);
    zmsg_send(&rep, ctl);
    char *body = s_read_all(fd);
    CHECK_CONTAINS(body, " 200 OK");
    CHECK_CONTAINS(body, "text/plain; version=0.0.4");
    CHECK_CONTAINS(body, "distpoll_poller_jobs_done{node=\"n1\"} 42\n");
    free(body);
    fd = (int)(intptr_t)s_http_get(dp_http_port(h), "/nope");
    body = s_read_all(fd);
    CHECK_CONTAINS(body, " 404 ");
    free(body);
    CHECK_EQ_INT(dp_http_requests(h), 2);
    /* a second server on the same port is refused */
    dp_http_t *h2 = dp_http_new(dp_http_port(h), "poller", "n1", path, &err);
    CHECK(h2 == NULL);
    CHECK_EQ_INT(err.code, DP_ERR_BUSY);
    dp_http_destroy(&h);
    CHECK(h == NULL);
    zsock_destroy(&ctl);
}
