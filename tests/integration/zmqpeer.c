/*  zmqpeer.c - CURVE test peer for the dp_zmq integration tests
    pull ENDPOINT APP_KEY N TIMEOUT_MS: binds a CURVE PULL server (ZAP handler on), prints
      "listening", each "msg TEXT", handshake events and ZAP counters as they change, and
      "received=N zap_allowed=A zap_denied=D handshake_failed=H" at the end (after N
      messages, TIMEOUT_MS, or SIGTERM/SIGINT). N=0 means no count limit.
    push [--plain|--wrong-server-key|--rogue-client] [--send-timeout MS] ENDPOINTS APP_KEY MSG...
      connects a PUSH client and sends each MSG; exit 0 when all were queued, 2 otherwise.
    SPDX-License-Identifier: MIT */
#include "dp_daemon.h"
#include "dp_log.h"
#include "dp_time.h"
#include "dp_zmq.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define ZP_TICK_MS      100
#define ZP_SEND_TIMEOUT 2000
#define ZP_MAX_ARGS     64

typedef struct {
    bool plain;            /* no CURVE at all */
    bool wrong_server_key; /* right client keys, random server key */
    bool rogue_client;     /* right server key, random client keypair */
    int send_timeout_ms;   /* per message */
    int argc;              /* positionals */
    char *argv[ZP_MAX_ARGS];
} zp_args_t;

static void s_usage(void)
{
    fprintf(stderr, "usage: zmqpeer pull ENDPOINT APP_KEY N TIMEOUT_MS\n"
                    "       zmqpeer push [--plain|--wrong-server-key|--rogue-client]"
                    " [--send-timeout MS] ENDPOINTS APP_KEY MSG...\n");
}

static int s_parse(int argc, char **argv, zp_args_t *a)
{
    *a = (zp_args_t){.send_timeout_ms = ZP_SEND_TIMEOUT};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--plain") == 0)
            a->plain = true;
        else if (strcmp(argv[i], "--wrong-server-key") == 0)
            a->wrong_server_key = true;
        else if (strcmp(argv[i], "--rogue-client") == 0)
            a->rogue_client = true;
        else if (strcmp(argv[i], "--send-timeout") == 0 && i + 1 < argc)
            a->send_timeout_ms = atoi(argv[++i]);
        else if (strncmp(argv[i], "--", 2) == 0 || a->argc == ZP_MAX_ARGS)
            return -1;
        else
            a->argv[a->argc++] = argv[i];
    }
    return 0;
}

//  Reads one monitor event and prints it; returns 1 for a handshake failure, else 0.
static int s_monitor_event(zsock_t *mon)
{
    dp_zmq_event_t ev;
    if (dp_zmq_monitor_recv(mon, &ev) != 0)
        return 0;
    printf("event %s value=0x%x\n", dp_zmq_event_name(ev.event), ev.value);
    return dp_zmq_event_is_failure(&ev) ? 1 : 0;
}

static int s_pull(const zp_args_t *a)
{
    if (a->argc != 4)
        return s_usage(), EX_USAGE;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    dp_daemon_block_signals();
    dp_log_init("zmqpeer", "test", DP_LOG_INFO);
    dp_err_t err = {0};
    dp_zmq_keys_t keys;
    if (dp_zmq_keys_derive(a->argv[1], &keys, &err) != 0 || dp_zmq_auth_start(&keys, &err) != 0) {
        fprintf(stderr, "zmqpeer: %s\n", err.text);
        return 1;
    }
    zsock_t *server = dp_zmq_server(ZMQ_PULL, a->argv[0], &keys, &err);
    if (!server) {
        fprintf(stderr, "zmqpeer: %s\n", err.text);
        dp_zmq_auth_stop();
        return 1;
    }
    zsock_t *mon = dp_zmq_monitor(server, &err);
    if (!mon) {
        fprintf(stderr, "zmqpeer: %s\n", err.text);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("listening %s\n", zsock_endpoint(server));

    long want = atol(a->argv[2]), received = 0, failed = 0;
    int64_t deadline = dp_time_mono_ms() + atol(a->argv[3]);
    uint64_t allowed = 0, denied = 0;
    zpoller_t *poller = zpoller_new(server, mon, NULL);
    struct timespec zero = {0, 0};
    while (dp_time_mono_ms() < deadline && (want == 0 || received < want)) {
        if (sigtimedwait(&stop, NULL, &zero) > 0)
            break;
        void *which = zpoller_wait(poller, ZP_TICK_MS);
        if (which == server) {
            char *text = zstr_recv(server);
            printf("msg %s\n", text ? text : "(null)");
            received++;
            zstr_free(&text);
        } else if (which == mon)
            failed += s_monitor_event(mon);
        if (dp_zmq_auth_allowed() != allowed || dp_zmq_auth_denied() != denied) {
            allowed = dp_zmq_auth_allowed();
            denied = dp_zmq_auth_denied();
            printf("zap allowed=%llu denied=%llu\n", (unsigned long long)allowed,
                   (unsigned long long)denied);
        }
    }
    printf("received=%ld zap_allowed=%llu zap_denied=%llu handshake_failed=%ld\n", received,
           (unsigned long long)dp_zmq_auth_allowed(), (unsigned long long)dp_zmq_auth_denied(),
           failed);
    zpoller_destroy(&poller);
    zsock_destroy(&mon);
    zsock_destroy(&server);
    dp_zmq_auth_stop();
    dp_zmq_keys_wipe(&keys);
    return 0;
}

static int s_push(const zp_args_t *a)
{
    if (a->argc < 3)
        return s_usage(), EX_USAGE;
    dp_err_t err = {0};
    dp_zmq_keys_t keys;
    if (dp_zmq_keys_derive(a->argv[1], &keys, &err) != 0) {
        fprintf(stderr, "zmqpeer: %s\n", err.text);
        return 1;
    }
    char ignored[DP_ZMQ_Z85_KEY_LEN + 1];
    if (a->wrong_server_key)
        zmq_curve_keypair(keys.server_public, ignored);
    if (a->rogue_client)
        zmq_curve_keypair(keys.client_public, keys.client_secret);
    zsock_t *client = dp_zmq_client(ZMQ_PUSH, a->argv[0], a->plain ? NULL : &keys, &err);
    dp_zmq_keys_wipe(&keys);
    if (!client) {
        fprintf(stderr, "zmqpeer: %s\n", err.text);
        return 1;
    }
    zsock_set_sndtimeo(client, a->send_timeout_ms);
    int failures = 0;
    for (int i = 2; i < a->argc; i++) {
        if (dp_zmq_send_bytes(client, a->argv[i], strlen(a->argv[i]), 0) == 0)
            printf("sent %s\n", a->argv[i]);
        else {
            printf("send failed %s: %s\n", a->argv[i], zmq_strerror(zmq_errno()));
            failures++;
        }
    }
    zsock_destroy(&client); /* linger delivers what is queued */
    return failures ? 2 : 0;
}

int main(int argc, char **argv)
{
    zp_args_t a;
    if (argc < 2 || s_parse(argc, argv, &a) != 0) {
        s_usage();
        return EX_USAGE;
    }
    if (strcmp(argv[1], "pull") == 0)
        return s_pull(&a);
    if (strcmp(argv[1], "push") == 0)
        return s_push(&a);
    s_usage();
    return EX_USAGE;
}
