/*  cli_tap.c - distpoll tap STAGE: prints every message a stage sends or receives, one JSON
    object a line, decoded by dp_msg (dp_msg_print_json), with the tap topic in front.
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_msg.h"
#include "dp_tap.h"
#include "dp_time.h"

#include <czmq.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#define S_ENDPOINTS_MAX 32
#define S_POLL_MS       200
#define S_PATH_MAX      512

static bool s_known_stage(const char *stage)
{
    for (int i = 0; cli_daemons[i]; i++)
        if (strcmp(cli_daemons[i], stage) == 0)
            return true;
    return false;
}

//  Prints one tapped message: {"tap":"<topic>","at_ms":..., <dp_msg_print_json's keys>}.
static void s_print(const char *topic, const void *data, size_t size)
{
    dp_err_t err = {0};
    printf("{\"tap\":");
    cli_json_str(stdout, topic);
    printf(",\"at_ms\":%lld,", (long long)dp_time_wall_ms());
    dp_msg_t *msg = dp_msg_decode(data, size, &err);
    if (!msg) {
        printf("\"bytes\":%zu,\"error\":", size);
        cli_json_str(stdout, err.text);
        printf("}\n");
        return;
    }
    char *json = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&json, &len);
    if (!mem)
        abort();
    dp_msg_print_json(msg, mem);
    fclose(mem);
    fputs(json[0] == '{' ? json + 1 : json, stdout); /* the printer's object, spliced in */
    free(json);
    dp_msg_destroy(&msg);
}

static int s_local_endpoints(cli_t *cli, const char *stage, char **eps, int max)
{
    char pattern[S_PATH_MAX];
    snprintf(pattern, sizeof pattern, "%s/%s-*.tap",
             cli->cfg->control_dir ? cli->cfg->control_dir : ".", stage);
    glob_t g;
    int n = 0;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && n < max; i++)
            if (asprintf(&eps[n], "ipc://%s", g.gl_pathv[i]) >= 0)
                n++;
        globfree(&g);
    }
    return n;
}

//  --------------------------------------------------------------------------
int cli_tap(cli_t *cli, int argc, char **argv)
{
    const char *stage = NULL, *dir = NULL;
    char *eps[S_ENDPOINTS_MAX];
    int neps = 0;
    long count = 0, timeout_s = 0;
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        if (o[0] != '-') {
            if (stage)
                return cli_error(CLI_USAGE, "tap: unexpected argument \"%s\"", o);
            stage = o;
            continue;
        }
        if (i + 1 >= argc)
            return cli_error(CLI_USAGE, "tap: %s needs a value", o);
        const char *v = argv[++i];
        if (strcmp(o, "--endpoint") == 0 && neps < S_ENDPOINTS_MAX)
            eps[neps++] = strdup(v);
        else if (strcmp(o, "--dir") == 0) {
            if (strcmp(v, DP_TAP_IN) && strcmp(v, DP_TAP_OUT))
                return cli_error(CLI_USAGE, "--dir \"%s\": expected in or out", v);
            dir = v;
        } else if (strcmp(o, "--count") == 0) {
            if (cli_parse_long("--count", v, 1, 100000000, &count))
                return CLI_USAGE;
        } else if (strcmp(o, "--timeout") == 0) {
            if (cli_parse_duration_s("--timeout", v, &timeout_s))
                return CLI_USAGE;
        } else
            return cli_error(CLI_USAGE, "tap: unknown option %s", o);
    }
    if (!stage || !s_known_stage(stage))
        return cli_error(CLI_USAGE,
                         "tap: STAGE \"%s\": expected scheduler, poller, discoverer, biller or "
                         "rrdwriter",
                         stage ? stage : "");
    if (neps == 0)
        neps = s_local_endpoints(cli, stage, eps, S_ENDPOINTS_MAX);
    if (neps == 0)
        return cli_error(CLI_UNAVAILABLE,
                         "tap: no %s tap in %s (is a %s running on this node? or give --endpoint)",
                         stage, cli->cfg->control_dir ? cli->cfg->control_dir : "DP_CONTROL_DIR",
                         stage);
    char prefix[DP_TAP_TOPIC_MAX];
    snprintf(prefix, sizeof prefix, "%s.%s", stage, dir ? dir : "");
    zsock_t *sub = zsock_new(ZMQ_SUB);
    if (!sub)
        return cli_error(CLI_FAIL, "tap: cannot create a socket");
    zsock_set_rcvhwm(sub, 100000);
    zsock_set_subscribe(sub, prefix);
    for (int i = 0; i < neps; i++) {
        if (zsock_connect(sub, "%s", eps[i]) != 0)
            fprintf(stderr, "distpoll: tap: cannot connect %s\n", eps[i]);
        else
            fprintf(stderr, "distpoll: tap: listening to %s\n", eps[i]);
        free(eps[i]);
    }
    long got = 0;
    int64_t deadline = timeout_s ? dp_time_mono_ms() + timeout_s * 1000 : 0;
    zsock_set_rcvtimeo(sub, S_POLL_MS);
    while ((!count || got < count) && (!deadline || dp_time_mono_ms() < deadline) &&
           !zsys_interrupted) {
        zmsg_t *m = zmsg_recv(sub);
        if (!m)
            continue;
        if (zmsg_size(m) == 2) {
            char *topic = zmsg_popstr(m);
            zframe_t *f = zmsg_first(m);
            s_print(topic ? topic : "", zframe_data(f), zframe_size(f));
            fflush(stdout);
            free(topic);
            got++;
        }
        zmsg_destroy(&m);
    }
    zsock_destroy(&sub);
    if (count && got < count)
        return cli_error(CLI_FAIL, "tap: %ld of %ld messages within %ld s", got, count, timeout_s);
    return CLI_OK;
}
