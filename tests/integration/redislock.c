/*  redislock.c - small CLI over dp_redis used by the Redis integration tests
    Connection flags, then a subcommand; results go to stdout one line each, monotonic
    timestamps (dp_time_mono_ms, comparable across processes) first for the loops.
    SPDX-License-Identifier: MIT */
#include "dp_redis.h"
#include "dp_time.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MAX_MS 200 /* a standby retries acquire at least this often */

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void s_usage(void)
{
    fprintf(stderr,
            "usage: redislock [-h host] [-p port] [-n db] [-u user] [-a pass] [-t timeout_ms]\n"
            "                 [-S host:port,...] [-s service] [-U sentinel_user]\n"
            "                 [-P sentinel_pass] [-N node_id] COMMAND [ARGS]\n"
            "passwords also from REDIS_PASSWORD / REDIS_SENTINEL_PASSWORD\n"
            "commands: now | ping | whoami | role | set K V | sets K V [K V...] | get K\n"
            "          holder K\n"
            "          acquire K TTL_MS [TOKEN] | release K TOKEN\n"
            "          contend K TTL_MS RENEW_MS [TOKEN] | cmdloop K PERIOD_MS\n");
}

static int s_fail(const dp_err_t *err)
{
    printf("error %s %s\n", dp_err_name(err->code), err->text);
    return 2;
}

/* Runs a command and prints its string/status/integer reply. */
static int s_simple(dp_redis_t *r, int argc, const char **argv)
{
    dp_err_t err = {0};
    redisReply *rep = dp_redis_command_argv(r, &err, argc, argv, NULL);
    if (!rep)
        return s_fail(&err);
    if (rep->type == REDIS_REPLY_INTEGER)
        printf("%lld\n", rep->integer);
    else if (rep->type == REDIS_REPLY_NIL)
        printf("(nil)\n");
    else if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 && rep->element[0]->str)
        printf("%s %s\n", rep->element[0]->str, dp_redis_master_addr(r));
    else
        printf("%s\n", rep->str ? rep->str : "?");
    freeReplyObject(rep);
    return 0;
}

/* SETs each K V pair on one connection: one line per SET, then the connect count. */
static int s_sets(dp_redis_t *r, int argc, char **argv)
{
    int rc = 0;
    for (int i = 0; i + 1 < argc; i += 2)
        if (s_simple(r, 3, (const char *[]){"SET", argv[i], argv[i + 1]}) != 0)
            rc = 2;
    printf("connects %llu\n", (unsigned long long)dp_redis_connects(r));
    return rc;
}

static int s_acquire(dp_redis_t *r, const char *key, int ttl_ms, const char *token)
{
    dp_lock_t *l = dp_lock_new(r, key, token, ttl_ms);
    if (!l)
        return 2;
    dp_err_t err = {0};
    int rc = dp_lock_acquire(l, &err);
    if (rc == 0)
        printf("held %s\n", dp_lock_owner(l));
    else if (err.code == DP_ERR_BUSY)
        printf("busy %s\n", err.text);
    else
        s_fail(&err);
    dp_lock_destroy(&l);
    return rc == 0 ? 0 : err.code == DP_ERR_BUSY ? 1 : 2;
}

static int s_release(dp_redis_t *r, const char *key, const char *token)
{
    dp_lock_t *l = dp_lock_new(r, key, token, 1000);
    if (!l)
        return 2;
    dp_err_t err = {0};
    int rc = dp_lock_release(l, &err);
    if (rc == 0)
        printf("released\n");
    else if (err.code == DP_ERR_BUSY)
        printf("not-owner %s\n", err.text);
    else
        s_fail(&err);
    dp_lock_destroy(&l);
    return rc == 0 ? 0 : err.code == DP_ERR_BUSY ? 1 : 2;
}

/* Contends for key until SIGTERM: prints a line on every change of state. */
static int s_contend(dp_redis_t *r, const char *key, int ttl_ms, int renew_ms, const char *token)
{
    dp_lock_t *l = dp_lock_new(r, key, token, ttl_ms);
    if (!l)
        return 2;
    int retry_ms = renew_ms < RETRY_MAX_MS ? renew_ms : RETRY_MAX_MS;
    bool held = false;
    char last[DP_ERR_TEXT_MAX + 16] = "";
    while (!s_stop) {
        dp_err_t err = {0};
        if (held) {
            if (dp_lock_renew(l, &err) != 0 && (err.code == DP_ERR_BUSY || !dp_lock_is_valid(l))) {
                printf("%lld lost %s\n", (long long)dp_time_mono_ms(), err.text);
                held = false;
                last[0] = '\0';
            }
        } else if (dp_lock_acquire(l, &err) == 0) {
            held = true;
            printf("%lld held %s\n", (long long)dp_time_mono_ms(), dp_lock_owner(l));
        } else {
            char now[sizeof last];
            snprintf(now, sizeof now, "%s %s", err.code == DP_ERR_BUSY ? "busy" : "error",
                     err.text);
            if (strcmp(now, last) != 0)
                printf("%lld %s\n", (long long)dp_time_mono_ms(), now);
            snprintf(last, sizeof last, "%s", now);
        }
        s_sleep_ms(held ? renew_ms : retry_ms);
    }
    if (held) {
        dp_err_t err = {0};
        dp_lock_release(l, &err);
        printf("%lld released\n", (long long)dp_time_mono_ms());
    }
    dp_lock_destroy(&l);
    return 0;
}

/* INCR key every period until SIGTERM; one line per attempt. */
static int s_cmdloop(dp_redis_t *r, const char *key, int period_ms)
{
    while (!s_stop) {
        dp_err_t err = {0};
        redisReply *rep = dp_redis_command(r, &err, "INCR %s", key);
        if (rep) {
            printf("%lld ok %lld %s connects=%llu\n", (long long)dp_time_mono_ms(), rep->integer,
                   dp_redis_master_addr(r), (unsigned long long)dp_redis_connects(r));
            freeReplyObject(rep);
        } else {
            printf("%lld err %s %s\n", (long long)dp_time_mono_ms(), dp_err_name(err.code),
                   err.text);
        }
        s_sleep_ms(period_ms);
    }
    return 0;
}

static int s_run(dp_redis_t *r, int argc, char **argv)
{
    const char *cmd = argv[0];
    dp_err_t err = {0};
    if (strcmp(cmd, "ping") == 0) {
        if (dp_redis_connect(r, &err) != 0)
            return s_fail(&err);
        return s_simple(r, 1, (const char *[]){"PING"});
    }
    if (strcmp(cmd, "whoami") == 0)
        return s_simple(r, 2, (const char *[]){"ACL", "WHOAMI"});
    if (strcmp(cmd, "role") == 0)
        return s_simple(r, 1, (const char *[]){"ROLE"});
    if (strcmp(cmd, "set") == 0 && argc == 3)
        return s_simple(r, 3, (const char *[]){"SET", argv[1], argv[2]});
    if (strcmp(cmd, "sets") == 0 && argc >= 3 && argc % 2 == 1)
        return s_sets(r, argc - 1, argv + 1);
    if (strcmp(cmd, "get") == 0 && argc == 2)
        return s_simple(r, 2, (const char *[]){"GET", argv[1]});
    if (strcmp(cmd, "holder") == 0 && argc == 2) {
        char *h = dp_lock_holder(r, argv[1], &err);
        if (!h && err.code != DP_ERR_NOTFOUND)
            return s_fail(&err);
        printf("%s\n", h ? h : "(free)");
        free(h);
        return 0;
    }
    if (strcmp(cmd, "acquire") == 0 && (argc == 3 || argc == 4))
        return s_acquire(r, argv[1], atoi(argv[2]), argc == 4 ? argv[3] : NULL);
    if (strcmp(cmd, "release") == 0 && argc == 3)
        return s_release(r, argv[1], argv[2]);
    if (strcmp(cmd, "contend") == 0 && (argc == 4 || argc == 5))
        return s_contend(r, argv[1], atoi(argv[2]), atoi(argv[3]), argc == 5 ? argv[4] : NULL);
    if (strcmp(cmd, "cmdloop") == 0 && argc == 3)
        return s_cmdloop(r, argv[1], atoi(argv[2]));
    s_usage();
    return 64;
}

int main(int argc, char **argv)
{
    dp_redis_opts_t o = {.host = "127.0.0.1", .port = 6379, .timeout_ms = 500};
    o.password = getenv("REDIS_PASSWORD");
    o.sentinel_password = getenv("REDIS_SENTINEL_PASSWORD");
    int c;
    while ((c = getopt(argc, argv, "+h:p:n:u:a:t:S:s:U:P:N:")) != -1) {
        switch (c) {
        case 'h':
            o.host = optarg;
            break;
        case 'p':
            o.port = atoi(optarg);
            break;
        case 'n':
            o.db = atoi(optarg);
            break;
        case 'u':
            o.username = optarg;
            break;
        case 'a':
            o.password = optarg;
            break;
        case 't':
            o.timeout_ms = atoi(optarg);
            break;
        case 'S':
            o.sentinels = optarg;
            break;
        case 's':
            o.service = optarg;
            break;
        case 'U':
            o.sentinel_username = optarg;
            break;
        case 'P':
            o.sentinel_password = optarg;
            break;
        case 'N':
            o.node_id = optarg;
            break;
        default:
            s_usage();
            return 64;
        }
    }
    if (optind >= argc) {
        s_usage();
        return 64;
    }
    if (strcmp(argv[optind], "now") == 0) {
        printf("%lld\n", (long long)dp_time_mono_ms());
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    dp_redis_t *r = dp_redis_new(&o);
    if (!r) {
        s_usage();
        return 64;
    }
    int rc = s_run(r, argc - optind, argv + optind);
    dp_redis_destroy(&r);
    return rc;
}
