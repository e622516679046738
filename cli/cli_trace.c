/*  cli_trace.c - distpoll trace HOST: a device's last job through every stage (dp_trace)
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_trace.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *label; /* shown */
    int field;         /* time field (wall ms) */
    int by;            /* node field or -1 */
} s_step_t;

static const s_step_t s_steps[] = {
    {"scheduled", DP_TRACE_SCHEDULED_MS, DP_TRACE_SCHEDULED_BY},
    {"taken", DP_TRACE_TAKEN_MS, DP_TRACE_TAKEN_BY},
    {"polled", DP_TRACE_POLLED_MS, -1},
    {"metrics sent", DP_TRACE_METRICS_SENT_MS, -1},
    {"result", DP_TRACE_RESULT_MS, -1},
    {"spooled", DP_TRACE_SPOOLED_MS, DP_TRACE_RRD_BY},
    {"rrd updated", DP_TRACE_RRD_WRITTEN_MS, DP_TRACE_RRD_BY},
};

//  --------------------------------------------------------------------------
int cli_trace(cli_t *cli, int argc, char **argv)
{
    if (argc != 1 || argv[0][0] == '-')
        return cli_error(CLI_USAGE, "trace: expected HOST [--json]");
    int64_t id;
    int found = cli_find_device(cli, argv[0], &id);
    if (found != 1)
        return found < 0 && !cli->db ? CLI_UNAVAILABLE : CLI_FAIL;
    dp_err_t err = {0};
    dp_redis_t *r = cli_redis(cli, &err);
    char key[DP_TRACE_KEY_MAX];
    dp_trace_key((uint64_t)id, key, sizeof key);
    redisReply *rep = r ? dp_redis_command(r, &err, "HGETALL %s", key) : NULL;
    if (!rep)
        return cli_error(CLI_UNAVAILABLE, "trace: Redis: %s", err.text);
    const char *values[DP_TRACE_FIELD_COUNT] = {0};
    for (size_t i = 0; rep->type == REDIS_REPLY_ARRAY && i + 1 < rep->elements; i += 2)
        for (int f = 0; f < DP_TRACE_FIELD_COUNT; f++)
            if (strcmp(rep->element[i]->str, dp_trace_field_name(f)) == 0)
                values[f] = rep->element[i + 1]->str;
    int rc = CLI_OK;
    if (!values[DP_TRACE_JOB_ID] && !values[DP_TRACE_SCHEDULED_MS])
        rc = cli_error(CLI_FAIL,
                       "trace: no job traced for %s (device_id %lld) in the last 2 days: not "
                       "scheduled yet, or the daemons do not stamp %s",
                       argv[0], (long long)id, key);
    else if (cli->json) {
        printf("{\"hostname\":");
        cli_json_str(stdout, argv[0]);
        printf(",\"device_id\":%lld", (long long)id);
        for (int f = 0; f < DP_TRACE_FIELD_COUNT; f++) {
            printf(",\"%s\":", dp_trace_field_name(f));
            bool num =
                values[f] && strspn(values[f], "0123456789") == strlen(values[f]) && *values[f];
            if (num)
                fputs(values[f], stdout);
            else
                cli_json_str(stdout, values[f]);
        }
        printf("}\n");
    } else {
        printf("trace of %s (device_id %lld): job %s, %s, epoch %s, status %s%s%s\n", argv[0],
               (long long)id, values[DP_TRACE_JOB_ID] ? values[DP_TRACE_JOB_ID] : "?",
               values[DP_TRACE_KIND] ? values[DP_TRACE_KIND] : "?",
               values[DP_TRACE_EPOCH] ? values[DP_TRACE_EPOCH] : "?",
               values[DP_TRACE_STATUS] ? values[DP_TRACE_STATUS] : "(not finished)",
               values[DP_TRACE_REASON] ? ": " : "",
               values[DP_TRACE_REASON] ? values[DP_TRACE_REASON] : "");
        int64_t t0 = values[DP_TRACE_SCHEDULED_MS] ? atoll(values[DP_TRACE_SCHEDULED_MS]) : 0;
        for (size_t s = 0; s < sizeof s_steps / sizeof s_steps[0]; s++) {
            const char *v = values[s_steps[s].field];
            const char *by = s_steps[s].by >= 0 ? values[s_steps[s].by] : NULL;
            char when[CLI_TIME_MAX] = "-";
            if (v) {
                int64_t ms = atoll(v);
                cli_fmt_time(ms, when, sizeof when);
                snprintf(when + strlen(when), sizeof when - strlen(when), ".%03lld",
                         (long long)(ms % 1000));
                printf("  %-13s %s  %+8lld ms%s%s\n", s_steps[s].label, when,
                       (long long)(t0 ? ms - t0 : 0), by ? "  by " : "", by ? by : "");
            } else
                printf("  %-13s -\n", s_steps[s].label);
            if (s_steps[s].field == DP_TRACE_TAKEN_MS && values[DP_TRACE_SNMP_MS])
                printf("  %-13s %s ms\n", "snmp time", values[DP_TRACE_SNMP_MS]);
        }
    }
    freeReplyObject(rep);
    return rc;
}
