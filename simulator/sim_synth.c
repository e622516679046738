/*  sim_synth.c - synthetic device profiles (system, IF-MIB, HOST-RESOURCES)
    SPDX-License-Identifier: MIT */
#include "sim_synth.h"
#include "sim_counter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_PORTS   24
#define S_DEFAULT_CPUS    2
#define S_DEFAULT_STORAGE 3
#define S_DEFAULT_SPEED   1000000000ULL
#define S_MAX_CPUS        256
#define S_MAX_STORAGE     64
#define S_GAUGE_MAX       4294967295ULL
#define S_MBPS            1000000ULL
#define S_IFTYPE_ETHERNET 6
#define S_MTU             1500
#define S_STATUS_UP       1
#define S_TRUTH_TRUE      1
#define S_TRUTH_FALSE     2
#define S_HR_DEVICE_BASE  196608
#define S_SYS_SERVICES    72
#define S_TABLE_IF        2
#define S_TABLE_IFX       31
#define S_STORAGE_UNITS   4096
#define S_SPEC_MAX        512

static const oid s_sys[] = {1, 3, 6, 1, 2, 1, 1};
static const oid s_if_number[] = {1, 3, 6, 1, 2, 1, 2, 1, 0};
static const oid s_if_entry[] = {1, 3, 6, 1, 2, 1, 2, 2, 1};
static const oid s_ifx_entry[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1};
static const oid s_hr_uptime[] = {1, 3, 6, 1, 2, 1, 25, 1, 1, 0};
static const oid s_hr_storage_entry[] = {1, 3, 6, 1, 2, 1, 25, 2, 3, 1};
static const oid s_hr_proc_entry[] = {1, 3, 6, 1, 2, 1, 25, 3, 3, 1};
static const oid s_sys_object_id[] = {1, 3, 6, 1, 4, 1, 8072, 3, 2, 10};
static const oid s_zero_dot_zero[] = {0, 0};
static const oid s_hr_storage_types[] = {2, 3, 4}; /* hrStorageRam, VirtualMemory, FixedDisk */
#define S_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Builder state: the profile and a scratch entry. */
typedef struct {
    sim_profile_t *p;      /* profile being built */
    oid name[SIM_OID_MAX]; /* scratch OID */
} s_build_t;

static void s_put(s_build_t *b, const oid *base, size_t blen, const oid *tail, size_t tlen,
                  sim_entry_t *e)
{
    memcpy(b->name, base, blen * sizeof(oid));
    if (tlen > 0)
        memcpy(b->name + blen, tail, tlen * sizeof(oid));
    e->name = b->name;
    e->name_len = (uint32_t)(blen + tlen);
    if (sim_profile_add(b->p, e, NULL) != 0)
        abort(); /* lengths are constants here */
}

static void s_put_int(s_build_t *b, const oid *base, size_t blen, oid col, oid idx, u_char type,
                      int64_t v, uint32_t port)
{
    sim_entry_t e = {.type = type, .num = v, .port = port};
    oid tail[2] = {col, idx};
    s_put(b, base, blen, tail, 2, &e);
}

static void s_put_str(s_build_t *b, const oid *base, size_t blen, oid col, oid idx,
                      const char *text, uint32_t port)
{
    sim_entry_t e = {
        .type = ASN_OCTET_STR, .bytes = (u_char *)text, .bytes_len = strlen(text), .port = port};
    oid tail[2] = {col, idx};
    s_put(b, base, blen, tail, 2, &e);
}

static void s_put_oid(s_build_t *b, const oid *base, size_t blen, oid col, oid idx,
                      const oid *value, size_t vlen, uint32_t port)
{
    sim_entry_t e = {.type = ASN_OBJECT_ID,
                     .bytes = (u_char *)value,
                     .bytes_len = vlen * sizeof(oid),
                     .port = port};
    oid tail[2] = {col, idx};
    s_put(b, base, blen, tail, 2, &e);
}

static void s_put_counter(s_build_t *b, const oid *base, size_t blen, int table, oid col, oid idx,
                          uint64_t speed)
{
    int bits = 32;
    uint32_t kind = sim_counter_kind_of_column(table, (int)col, &bits);
    sim_entry_t e = {.type = bits == 64 ? ASN_COUNTER64 : ASN_COUNTER,
                     .kind = SIM_VAL_COUNTER,
                     .bits = (uint8_t)bits,
                     .port = (uint32_t)idx,
                     .ctr = kind,
                     .speed_bps = speed};
    oid tail[2] = {col, idx};
    s_put(b, base, blen, tail, 2, &e);
}

static void s_build_system(s_build_t *b, const sim_synth_spec_t *s)
{
    char descr[128];
    snprintf(descr, sizeof(descr), "Linux dpsim 1.0 synthetic ports=%d hc=%d", s->ports, s->hc);
    s_put_str(b, s_sys, S_LEN(s_sys), 1, 0, descr, 0);
    s_put_oid(b, s_sys, S_LEN(s_sys), 2, 0, s_sys_object_id, S_LEN(s_sys_object_id), 0);
    sim_entry_t up = {.type = ASN_TIMETICKS, .kind = SIM_VAL_UPTIME};
    oid tail[2] = {3, 0};
    s_put(b, s_sys, S_LEN(s_sys), tail, 2, &up);
    s_put_str(b, s_sys, S_LEN(s_sys), 4, 0, "dpsim <noc@example.net>", 0);
    sim_entry_t name = {.type = ASN_OCTET_STR, .kind = SIM_VAL_SYSNAME};
    tail[0] = 5;
    s_put(b, s_sys, S_LEN(s_sys), tail, 2, &name);
    s_put_str(b, s_sys, S_LEN(s_sys), 6, 0, "simulated rack", 0);
    s_put_int(b, s_sys, S_LEN(s_sys), 7, 0, ASN_INTEGER, S_SYS_SERVICES, 0);
    sim_entry_t ifn = {.type = ASN_INTEGER, .num = s->ports};
    s_put(b, s_if_number, S_LEN(s_if_number), NULL, 0, &ifn);
    sim_entry_t hrup = {.type = ASN_TIMETICKS, .kind = SIM_VAL_UPTIME};
    s_put(b, s_hr_uptime, S_LEN(s_hr_uptime), NULL, 0, &hrup);
}

static void s_build_if_row(s_build_t *b, const sim_synth_spec_t *s, oid i, uint64_t speed)
{
    const oid *ie = s_if_entry, *xe = s_ifx_entry;
    size_t il = S_LEN(s_if_entry), xl = S_LEN(s_ifx_entry);
    uint32_t port = (uint32_t)i;
    char text[64];
    size_t first = b->p->count;
    s_put_int(b, ie, il, 1, i, ASN_INTEGER, (int64_t)i, port);
    snprintf(text, sizeof(text), "eth%lu", (unsigned long)(i - 1));
    s_put_str(b, ie, il, 2, i, text, port);
    s_put_int(b, ie, il, 3, i, ASN_INTEGER, S_IFTYPE_ETHERNET, port);
    s_put_int(b, ie, il, 4, i, ASN_INTEGER, S_MTU, port);
    s_put_int(b, ie, il, 5, i, ASN_GAUGE, (int64_t)(speed > S_GAUGE_MAX ? S_GAUGE_MAX : speed),
              port);
    sim_entry_t phys = {.type = ASN_OCTET_STR, .kind = SIM_VAL_PHYS, .port = port};
    oid tail[2] = {6, i};
    s_put(b, ie, il, tail, 2, &phys);
    s_put_int(b, ie, il, 7, i, ASN_INTEGER, S_STATUS_UP, port);
    s_put_int(b, ie, il, 8, i, ASN_INTEGER, S_STATUS_UP, port);
    s_put_int(b, ie, il, 9, i, ASN_TIMETICKS, 0, port);
    for (oid c = 10; c <= 20; c++)
        s_put_counter(b, ie, il, S_TABLE_IF, c, i, speed);
    s_put_int(b, ie, il, 21, i, ASN_GAUGE, 0, port);
    s_put_oid(b, ie, il, 22, i, s_zero_dot_zero, S_LEN(s_zero_dot_zero), port);

    snprintf(text, sizeof(text), "eth%lu", (unsigned long)(i - 1));
    s_put_str(b, xe, xl, 1, i, text, port);
    for (oid c = 2; c <= 5; c++)
        s_put_counter(b, xe, xl, S_TABLE_IFX, c, i, speed);
    if (s->hc) {
        for (oid c = 6; c <= 13; c++)
            s_put_counter(b, xe, xl, S_TABLE_IFX, c, i, speed);
    }
    s_put_int(b, xe, xl, 14, i, ASN_INTEGER, S_TRUTH_TRUE, port);
    s_put_int(b, xe, xl, 15, i, ASN_GAUGE, (int64_t)(speed / S_MBPS), port);
    s_put_int(b, xe, xl, 16, i, ASN_INTEGER, S_TRUTH_FALSE, port);
    s_put_int(b, xe, xl, 17, i, ASN_INTEGER, S_TRUTH_TRUE, port);
    snprintf(text, sizeof(text), "port %lu", (unsigned long)i);
    s_put_str(b, xe, xl, 18, i, text, port);
    s_put_int(b, xe, xl, 19, i, ASN_TIMETICKS, 0, port);
    if ((int)i > s->ports) {
        for (size_t k = first; k < b->p->count; k++)
            b->p->entries[k].spare = true;
    }
}

static void s_build_host(s_build_t *b, const sim_synth_spec_t *s)
{
    static const char *descr[] = {"Physical memory", "Virtual memory", "/"};
    static const int64_t size[] = {4194304, 6291456, 25600000}; /* in 4 KiB units */
    const oid *se = s_hr_storage_entry;
    size_t sl = S_LEN(s_hr_storage_entry);
    oid type_oid[10] = {1, 3, 6, 1, 2, 1, 25, 2, 1, 0};
    char text[64];
    for (int k = 0; k < s->storage; k++) {
        oid i = (oid)(k + 1);
        int t = k < 3 ? k : 2;
        type_oid[9] = s_hr_storage_types[t];
        s_put_int(b, se, sl, 1, i, ASN_INTEGER, (int64_t)i, 0);
        s_put_oid(b, se, sl, 2, i, type_oid, S_LEN(type_oid), 0);
        if (k < 3)
            snprintf(text, sizeof(text), "%s", descr[k]);
        else
            snprintf(text, sizeof(text), "/data%d", k - 2);
        s_put_str(b, se, sl, 3, i, text, 0);
        s_put_int(b, se, sl, 4, i, ASN_INTEGER, S_STORAGE_UNITS, 0);
        s_put_int(b, se, sl, 5, i, ASN_INTEGER, size[t], 0);
        sim_entry_t used = {
            .type = ASN_INTEGER, .kind = SIM_VAL_STORAGE_USED, .num = size[t], .port = 0};
        oid tail[2] = {6, i};
        s_put(b, se, sl, tail, 2, &used);
        s_put_int(b, se, sl, 7, i, ASN_COUNTER, 0, 0);
    }
    for (int k = 0; k < s->cpus; k++) {
        oid i = (oid)(S_HR_DEVICE_BASE + k);
        s_put_oid(b, s_hr_proc_entry, S_LEN(s_hr_proc_entry), 1, i, s_zero_dot_zero,
                  S_LEN(s_zero_dot_zero), 0);
        sim_entry_t load = {.type = ASN_INTEGER, .kind = SIM_VAL_CPU_LOAD};
        oid tail[2] = {2, i};
        s_put(b, s_hr_proc_entry, S_LEN(s_hr_proc_entry), tail, 2, &load);
    }
}

static int s_parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

static int s_parse_speeds(char *v, sim_synth_spec_t *out)
{
    out->nspeeds = 0;
    for (char *save = NULL, *t = strtok_r(v, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (out->nspeeds >= SIM_SYNTH_MAX_SPEEDS ||
            sim_synth_parse_speed(t, &out->speeds[out->nspeeds]) != 0)
            return -1;
        out->nspeeds++;
    }
    return out->nspeeds > 0 ? 0 : -1;
}

static int s_parse_pair(char *key, char *v, sim_synth_spec_t *out)
{
    int hc = 1;
    if (strcmp(key, "ports") == 0)
        return s_parse_int(v, 0, SIM_SYNTH_MAX_PORTS, &out->ports);
    if (strcmp(key, "spare") == 0)
        return s_parse_int(v, 0, SIM_SYNTH_MAX_PORTS, &out->spare);
    if (strcmp(key, "cpus") == 0)
        return s_parse_int(v, 0, S_MAX_CPUS, &out->cpus);
    if (strcmp(key, "storage") == 0)
        return s_parse_int(v, 0, S_MAX_STORAGE, &out->storage);
    if (strcmp(key, "hc") == 0) {
        if (s_parse_int(v, 0, 1, &hc) != 0)
            return -1;
        out->hc = hc == 1;
        return 0;
    }
    if (strcmp(key, "speed") == 0)
        return s_parse_speeds(v, out);
    return -1;
}

//  --------------------------------------------------------------------------
int sim_synth_parse_speed(const char *text, uint64_t *bps)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno || end == text)
        return -1;
    uint64_t mult = 1;
    switch (*end) {
    case 'k':
    case 'K':
        mult = 1000ULL;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1000000ULL;
        end++;
        break;
    case 'g':
    case 'G':
        mult = 1000000000ULL;
        end++;
        break;
    case 't':
    case 'T':
        mult = 1000000000000ULL;
        end++;
        break;
    default:
        break;
    }
    if (*end != '\0' || n == 0 || n > UINT64_MAX / mult)
        return -1;
    *bps = n * mult;
    return 0;
}

//  --------------------------------------------------------------------------
int sim_synth_parse(const char *spec, sim_synth_spec_t *out, dp_err_t *err)
{
    *out = (sim_synth_spec_t){.ports = S_DEFAULT_PORTS,
                              .hc = true,
                              .cpus = S_DEFAULT_CPUS,
                              .storage = S_DEFAULT_STORAGE,
                              .speeds = {S_DEFAULT_SPEED},
                              .nspeeds = 1};
    if (!spec || !*spec)
        return 0;
    if (strlen(spec) >= S_SPEC_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "synthetic spec too long");
    char buf[S_SPEC_MAX];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        if (!eq)
            return dp_err_set(err, DP_ERR_CONFIG, "synthetic spec: expected key=value, got '%s'",
                              t);
        *eq = '\0';
        if (s_parse_pair(t, eq + 1, out) != 0)
            return dp_err_set(err, DP_ERR_CONFIG, "synthetic spec: bad %s='%s'", t, eq + 1);
    }
    if (out->ports + out->spare > SIM_SYNTH_MAX_PORTS)
        return dp_err_set(err, DP_ERR_CONFIG, "synthetic spec: ports+spare > %d",
                          SIM_SYNTH_MAX_PORTS);
    return 0;
}

//  --------------------------------------------------------------------------
sim_profile_t *sim_synth_new(const char *spec, dp_err_t *err)
{
    sim_synth_spec_t s;
    if (sim_synth_parse(spec, &s, err) != 0)
        return NULL;
    char label[S_SPEC_MAX + 16];
    snprintf(label, sizeof(label), "synthetic:%s", spec ? spec : "");
    s_build_t b = {.p = sim_profile_new(label)};
    s_build_system(&b, &s);
    for (int k = 0; k < s.ports + s.spare; k++)
        s_build_if_row(&b, &s, (oid)(k + 1), s.speeds[k % s.nspeeds]);
    s_build_host(&b, &s);
    sim_profile_finish(b.p);
    return b.p;
}
