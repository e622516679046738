/*  poller_modules.c - walk definitions, value storage, HC selection, rates and METRICS
    SPDX-License-Identifier: MIT */
#include "poller_modules.h"
#include "../rrdwriter/rrdwriter_def.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_IF(c)                                                                                    \
    {                                                                                              \
        1, 3, 6, 1, 2, 1, 2, 2, 1, c                                                               \
    }
#define S_IFX(c)                                                                                   \
    {                                                                                              \
        1, 3, 6, 1, 2, 1, 31, 1, 1, 1, c                                                           \
    }
#define S_PORT_DS 15
#define S_PATH    (DP_MSG_PATH_MAX + 1)
#define S_KINDS   RRDWRITER_DEF_KIND_COUNT

enum { S_BASE = 0, S_LO, S_IDENT };

/* Every column the ports walk may ask for. */
typedef struct {
    oid prefix[11];
    size_t len;
    uint8_t kind;
    uint8_t ctr;
    uint8_t group;
    bool scalar;
} s_coldef_t;

static const s_coldef_t s_port_cols[] = {
    {{1, 3, 6, 1, 2, 1, 1, 3}, 8, POLLER_COL_UPTIME, 0, S_BASE, true},
    {{1, 3, 6, 1, 2, 1, 1, 5}, 8, POLLER_COL_SYSNAME, 0, S_BASE, true},
    {S_IFX(6), 11, POLLER_COL_CTR_HC, POLLER_CTR_IN_OCTETS, S_BASE, false},
    {S_IFX(10), 11, POLLER_COL_CTR_HC, POLLER_CTR_OUT_OCTETS, S_BASE, false},
    {S_IFX(7), 11, POLLER_COL_CTR_HC, POLLER_CTR_IN_UCAST, S_BASE, false},
    {S_IFX(11), 11, POLLER_COL_CTR_HC, POLLER_CTR_OUT_UCAST, S_BASE, false},
    {S_IFX(8), 11, POLLER_COL_CTR_HC, POLLER_CTR_IN_MCAST, S_BASE, false},
    {S_IFX(12), 11, POLLER_COL_CTR_HC, POLLER_CTR_OUT_MCAST, S_BASE, false},
    {S_IFX(9), 11, POLLER_COL_CTR_HC, POLLER_CTR_IN_BCAST, S_BASE, false},
    {S_IFX(13), 11, POLLER_COL_CTR_HC, POLLER_CTR_OUT_BCAST, S_BASE, false},
    {S_IF(14), 10, POLLER_COL_CTR_LO, POLLER_CTR_IN_ERRORS, S_BASE, false},
    {S_IF(20), 10, POLLER_COL_CTR_LO, POLLER_CTR_OUT_ERRORS, S_BASE, false},
    {S_IF(13), 10, POLLER_COL_CTR_LO, POLLER_CTR_IN_DISCARDS, S_BASE, false},
    {S_IF(19), 10, POLLER_COL_CTR_LO, POLLER_CTR_OUT_DISCARDS, S_BASE, false},
    {S_IF(15), 10, POLLER_COL_CTR_LO, POLLER_CTR_IN_UNKNOWN, S_BASE, false},
    {S_IF(7), 10, POLLER_COL_ADMIN, 0, S_BASE, false},
    {S_IF(8), 10, POLLER_COL_OPER, 0, S_BASE, false},
    {S_IFX(15), 11, POLLER_COL_HIGHSPEED, 0, S_BASE, false},
    {S_IF(5), 10, POLLER_COL_SPEED, 0, S_BASE, false},
    {S_IF(10), 10, POLLER_COL_CTR_LO, POLLER_CTR_IN_OCTETS, S_LO, false},
    {S_IF(16), 10, POLLER_COL_CTR_LO, POLLER_CTR_OUT_OCTETS, S_LO, false},
    {S_IF(11), 10, POLLER_COL_CTR_LO, POLLER_CTR_IN_UCAST, S_LO, false},
    {S_IF(17), 10, POLLER_COL_CTR_LO, POLLER_CTR_OUT_UCAST, S_LO, false},
    {S_IFX(2), 11, POLLER_COL_CTR_LO, POLLER_CTR_IN_MCAST, S_LO, false},
    {S_IFX(4), 11, POLLER_COL_CTR_LO, POLLER_CTR_OUT_MCAST, S_LO, false},
    {S_IFX(3), 11, POLLER_COL_CTR_LO, POLLER_CTR_IN_BCAST, S_LO, false},
    {S_IFX(5), 11, POLLER_COL_CTR_LO, POLLER_CTR_OUT_BCAST, S_LO, false},
    {S_IF(2), 10, POLLER_COL_DESCR, 0, S_IDENT, false},
    {S_IF(3), 10, POLLER_COL_TYPE, 0, S_IDENT, false},
    {S_IFX(1), 11, POLLER_COL_NAME, 0, S_IDENT, false},
    {S_IFX(18), 11, POLLER_COL_ALIAS, 0, S_IDENT, false},
};

#define S_HR_STOR(c)                                                                               \
    {                                                                                              \
        1, 3, 6, 1, 2, 1, 25, 2, 3, 1, c                                                           \
    }
static const s_coldef_t s_host_cols[] = {
    {{1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2}, 11, POLLER_COL_PROC_LOAD, 0, S_BASE, false},
    {S_HR_STOR(2), 11, POLLER_COL_STOR_TYPE, 0, S_BASE, false},
    {S_HR_STOR(3), 11, POLLER_COL_STOR_DESCR, 0, S_BASE, false},
    {S_HR_STOR(4), 11, POLLER_COL_STOR_UNITS, 0, S_BASE, false},
    {S_HR_STOR(5), 11, POLLER_COL_STOR_SIZE, 0, S_BASE, false},
    {S_HR_STOR(6), 11, POLLER_COL_STOR_USED, 0, S_BASE, false},
};

#define S_NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void s_walkdef(poller_walkdef_t *d, const s_coldef_t *defs, int n, bool lo, bool ident)
{
    d->n = 0;
    for (int i = 0; i < n && d->n < DP_SNMP_COLS_MAX; i++) {
        if ((defs[i].group == S_LO && !lo) || (defs[i].group == S_IDENT && !ident))
            continue;
        d->cols[d->n] = (dp_snmp_col_t){defs[i].prefix, defs[i].len, defs[i].scalar};
        d->kind[d->n] = defs[i].kind;
        d->ctr[d->n] = defs[i].ctr;
        d->n++;
    }
}

void poller_walk_ports(poller_walkdef_t *d, bool with_lo, bool with_identity)
{
    s_walkdef(d, s_port_cols, S_NELEM(s_port_cols), with_lo, with_identity);
}

void poller_walk_host(poller_walkdef_t *d)
{
    s_walkdef(d, s_host_cols, S_NELEM(s_host_cols), true, true);
}

void poller_poll_reset(poller_poll_t *poll, uint64_t device_id, int64_t start_ms)
{
    poller_port_t *ports = poll->ports;
    int cap = poll->cap;
    memset(poll, 0, offsetof(poller_poll_t, ports_def));
    poll->ports = ports;
    poll->cap = cap;
    poll->device_id = device_id;
    poll->start_ms = start_ms;
}

void poller_poll_free(poller_poll_t *poll)
{
    free(poll->ports);
    poll->ports = NULL;
    poll->cap = poll->nports = 0;
}

poller_port_t *poller_poll_port(poller_poll_t *poll, uint32_t if_index, bool add)
{
    int lo = 0, hi = poll->nports;
    /* values arrive in index order: try the end first */
    if (hi > 0 && poll->ports[hi - 1].if_index < if_index)
        lo = hi;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (poll->ports[mid].if_index < if_index)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < poll->nports && poll->ports[lo].if_index == if_index)
        return &poll->ports[lo];
    if (!add)
        return NULL;
    if (poll->nports == poll->cap) {
        int cap = poll->cap ? poll->cap * 2 : 32;
        poller_port_t *p = realloc(poll->ports, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        poll->ports = p;
        poll->cap = cap;
    }
    memmove(&poll->ports[lo + 1], &poll->ports[lo],
            (size_t)(poll->nports - lo) * sizeof *poll->ports);
    poll->nports++;
    poller_port_t *p = &poll->ports[lo];
    memset(p, 0, offsetof(poller_port_t, name));
    p->name[0] = p->descr[0] = p->alias[0] = '\0';
    p->if_index = if_index;
    return p;
}

static poller_stor_t *s_stor(poller_poll_t *poll, uint32_t index)
{
    for (int i = poll->nstor - 1; i >= 0; i--)
        if (poll->stor[i].index == index)
            return &poll->stor[i];
    if (poll->nstor >= POLLER_STOR_MAX)
        return NULL;
    poller_stor_t *s = &poll->stor[poll->nstor++];
    memset(s, 0, sizeof *s);
    s->index = index;
    return s;
}

static void s_take_host(poller_poll_t *poll, int kind, uint32_t index,
                        const netsnmp_variable_list *v)
{
    uint64_t n = 0;
    bool num = dp_snmp_var_u64(v, &n, NULL);
    if (kind == POLLER_COL_PROC_LOAD) {
        if (num && poll->nprocs < POLLER_PROC_MAX)
            poll->procs[poll->nprocs++] = (poller_proc_t){index, (int)(int64_t)n};
        return;
    }
    poller_stor_t *s = s_stor(poll, index);
    if (!s)
        return;
    switch (kind) {
    case POLLER_COL_STOR_TYPE:
        if (v->type == ASN_OBJECT_ID && v->val_len >= sizeof(oid)) {
            s->type = (int)v->val.objid[v->val_len / sizeof(oid) - 1];
            s->have |= 1;
        }
        break;
    case POLLER_COL_STOR_DESCR:
        if (dp_snmp_var_str(v, s->descr, sizeof s->descr))
            s->have |= 16;
        break;
    case POLLER_COL_STOR_UNITS:
        if (num) {
            s->units = (uint32_t)n;
            s->have |= 2;
        }
        break;
    case POLLER_COL_STOR_SIZE:
        if (num) {
            s->size = (uint32_t)n; /* INTEGER that some agents overflow */
            s->have |= 4;
        }
        break;
    case POLLER_COL_STOR_USED:
        if (num) {
            s->used = (uint32_t)n;
            s->have |= 8;
        }
        break;
    default:
        break;
    }
}

static void s_take_port(poller_port_t *p, int kind, int ctr, const netsnmp_variable_list *v)
{
    uint64_t n = 0;
    int bits = 32;
    bool num = dp_snmp_var_u64(v, &n, &bits);
    switch (kind) {
    case POLLER_COL_CTR_HC:
        if (num && bits == 64) {
            p->hc[ctr] = n;
            p->have_hc |= (uint16_t)(1u << ctr);
        }
        break;
    case POLLER_COL_CTR_LO:
        if (num && v->type == ASN_COUNTER) {
            p->lo[ctr] = n;
            p->have_lo |= (uint16_t)(1u << ctr);
        }
        break;
    case POLLER_COL_ADMIN:
        p->admin = num && n < 256 ? (uint8_t)n : 0;
        break;
    case POLLER_COL_OPER:
        p->oper = num && n < 256 ? (uint8_t)n : 0;
        break;
    case POLLER_COL_SPEED:
        p->if_speed = n;
        p->have_speed = num;
        break;
    case POLLER_COL_HIGHSPEED:
        p->high_speed = (uint32_t)n;
        p->have_high = num;
        break;
    case POLLER_COL_TYPE:
        p->if_type = num ? (int)n : 0;
        break;
    case POLLER_COL_DESCR:
        p->have_descr = dp_snmp_var_str(v, p->descr, sizeof p->descr);
        break;
    case POLLER_COL_NAME:
        p->have_name = dp_snmp_var_str(v, p->name, sizeof p->name);
        break;
    case POLLER_COL_ALIAS:
        p->have_alias = dp_snmp_var_str(v, p->alias, sizeof p->alias);
        break;
    default:
        break;
    }
}

void poller_poll_take(poller_poll_t *poll, const poller_walkdef_t *def, int col, const oid *idx,
                      size_t idx_len, const netsnmp_variable_list *v, int64_t at_ms)
{
    if (col < 0 || col >= def->n)
        return;
    int kind = def->kind[col];
    if (poll->at_ms == 0)
        poll->at_ms = at_ms;
    if (kind == POLLER_COL_UPTIME) {
        uint64_t n;
        if (v->type == ASN_TIMETICKS && dp_snmp_var_u64(v, &n, NULL)) {
            poll->uptime_cs = (uint32_t)n;
            poll->have_uptime = true;
            poll->at_ms = at_ms;
        }
        return;
    }
    if (kind == POLLER_COL_SYSNAME) {
        poll->have_sysname = dp_snmp_var_str(v, poll->sysname, sizeof poll->sysname);
        return;
    }
    if (idx_len != 1 || idx[0] > UINT32_MAX)
        return; /* IF-MIB and HOST-RESOURCES rows have one index */
    if (kind >= POLLER_COL_PROC_LOAD) {
        s_take_host(poll, kind, (uint32_t)idx[0], v);
        return;
    }
    poller_port_t *p = poller_poll_port(poll, (uint32_t)idx[0], true);
    if (p)
        s_take_port(p, kind, def->ctr[col], v);
}

//  --------------------------------------------------------------------------
//  Selection and rates

bool poller_port_counter(const poller_port_t *p, int ctr, uint64_t *value, int *bits)
{
    if (ctr < 0 || ctr >= POLLER_CTR_COUNT)
        return false;
    if (p->have_hc & (1u << ctr)) {
        *value = p->hc[ctr];
        *bits = 64;
        return true;
    }
    if (p->have_lo & (1u << ctr)) {
        *value = p->lo[ctr];
        *bits = 32;
        return true;
    }
    return false;
}

uint16_t poller_port_hc_mask(const poller_port_t *p)
{
    return p->have_hc;
}

uint64_t poller_port_speed(const poller_port_t *p)
{
    if (p->have_high && p->high_speed > 0)
        return (uint64_t)p->high_speed * 1000000ull;
    return p->have_speed ? p->if_speed : 0;
}

bool poller_poll_all_hc(const poller_poll_t *poll)
{
    const uint16_t need = (1u << POLLER_CTR_IN_OCTETS) | (1u << POLLER_CTR_OUT_OCTETS) |
                          (1u << POLLER_CTR_IN_UCAST) | (1u << POLLER_CTR_OUT_UCAST) |
                          (1u << POLLER_CTR_IN_MCAST) | (1u << POLLER_CTR_OUT_MCAST) |
                          (1u << POLLER_CTR_IN_BCAST) | (1u << POLLER_CTR_OUT_BCAST);
    if (poll->nports == 0)
        return false;
    for (int i = 0; i < poll->nports; i++)
        if ((poll->ports[i].have_hc & need) != need)
            return false;
    return true;
}

const char *poller_ctr_column(int ctr)
{
    static const char *const names[POLLER_CTR_COUNT] = {
        "ifInOctets",        "ifOutOctets",       "ifInUcastPkts",      "ifOutUcastPkts",
        "ifInErrors",        "ifOutErrors",       "ifInDiscards",       "ifOutDiscards",
        "ifInUnknownProtos", "ifInMulticastPkts", "ifOutMulticastPkts", "ifInBroadcastPkts",
        "ifOutBroadcastPkts"};
    return ctr >= 0 && ctr < POLLER_CTR_COUNT ? names[ctr] : NULL;
}

void poller_port_rates(const poller_prev_t *prev, const poller_port_t *p, int64_t at_ms,
                       bool rebooted, poller_rate_t out[POLLER_CTR_COUNT])
{
    double max_octets = poller_counter_max_octet_rate(poller_port_speed(p));
    for (int c = 0; c < POLLER_CTR_COUNT; c++) {
        poller_rate_t *r = &out[c];
        memset(r, 0, sizeof *r);
        uint64_t v;
        int bits;
        if (!poller_port_counter(p, c, &v, &bits)) {
            r->status = POLLER_COUNTER_INVALID;
            continue;
        }
        r->have_value = true;
        r->value = v;
        bool had = prev && prev->valid && (prev->have & (1u << c));
        if (had) {
            r->have_prev = true;
            r->prev = prev->value[c];
        }
        int prev_bits = had && (prev->hc_mask & (1u << c)) ? 64 : 32;
        poller_counter_sample_t ps = {had ? prev->value[c] : 0, had ? prev->at_ms : 0,
                                      had && prev_bits == bits};
        poller_counter_sample_t cs = {v, at_ms, true};
        bool octets = c == POLLER_CTR_IN_OCTETS || c == POLLER_CTR_OUT_OCTETS;
        poller_counter_result_t res =
            poller_counter_delta(ps, cs, bits, rebooted, octets ? max_octets : 0);
        r->status = res.status;
        if (res.status == POLLER_COUNTER_OK || res.status == POLLER_COUNTER_WRAP) {
            r->have_rate = true;
            r->delta = res.delta;
            r->rate = res.rate;
        }
    }
}

//  --------------------------------------------------------------------------
//  METRICS

static char *s_ds[S_KINDS][RRDWRITER_DEF_DS_MAX];
static int s_nds[S_KINDS];

int poller_metrics_init(int step_s)
{
    rrdwriter_def_rras_t rras;
    if (rrdwriter_def_rras_parse("small", &rras, NULL) != 0)
        return -1;
    for (int k = 0; k < S_KINDS; k++) {
        char **argv = NULL;
        int argc = 0;
        if (rrdwriter_def_create_args((rrdwriter_def_kind_t)k, &rras, step_s, &argv, &argc, NULL) !=
            0)
            return -1;
        for (int i = 0; i < s_nds[k]; i++)
            free(s_ds[k][i]);
        s_nds[k] = 0;
        for (int i = 0; i < argc && s_nds[k] < RRDWRITER_DEF_DS_MAX; i++)
            if (strncmp(argv[i], "DS:", 3) == 0)
                s_ds[k][s_nds[k]++] = strdup(argv[i] + 3);
        rrdwriter_def_free_args(&argv, argc);
    }
    return s_nds[RRDWRITER_DEF_PORT] == S_PORT_DS ? 0 : -1;
}

//  A counter as a double for a DERIVE value: the nearest double of a value just below 2^64
//  is 2^64 itself, which no DERIVE accepts; keep it below.
static double s_ctr_double(uint64_t v)
{
    double d = (double)v;
    return d >= 18446744073709551616.0 ? 18446744073709549568.0 : d;
}

void poller_port_rrd_values(const poller_port_t *p, double out[15])
{
    /* rrdwriter_def order: INOCTETS OUTOCTETS INERRORS OUTERRORS INUCASTPKTS OUTUCASTPKTS
       INNUCASTPKTS OUTNUCASTPKTS INDISCARDS OUTDISCARDS INUNKNOWNPROTOS INBROADCASTPKTS
       OUTBROADCASTPKTS INMULTICASTPKTS OUTMULTICASTPKTS */
    static const int map[15] = {POLLER_CTR_IN_OCTETS,
                                POLLER_CTR_OUT_OCTETS,
                                POLLER_CTR_IN_ERRORS,
                                POLLER_CTR_OUT_ERRORS,
                                POLLER_CTR_IN_UCAST,
                                POLLER_CTR_OUT_UCAST,
                                -1,
                                -2,
                                POLLER_CTR_IN_DISCARDS,
                                POLLER_CTR_OUT_DISCARDS,
                                POLLER_CTR_IN_UNKNOWN,
                                POLLER_CTR_IN_BCAST,
                                POLLER_CTR_OUT_BCAST,
                                POLLER_CTR_IN_MCAST,
                                POLLER_CTR_OUT_MCAST};
    for (int i = 0; i < 15; i++) {
        uint64_t v, w;
        int bits, wbits;
        out[i] = NAN;
        if (map[i] >= 0) {
            if (poller_port_counter(p, map[i], &v, &bits))
                out[i] = s_ctr_double(v);
            continue;
        }
        int mc = map[i] == -1 ? POLLER_CTR_IN_MCAST : POLLER_CTR_OUT_MCAST;
        int bc = map[i] == -1 ? POLLER_CTR_IN_BCAST : POLLER_CTR_OUT_BCAST;
        if (poller_port_counter(p, mc, &v, &bits) && poller_port_counter(p, bc, &w, &wbits))
            out[i] = s_ctr_double(v + w); /* a counter too: wraps at 2^64 (unsigned sum) */
    }
}

_Static_assert(S_KINDS <= DP_MSG_DSETS_MAX, "a dset per kind");

//  The 1-based index of kind's DS list in m->dsets, adding it on first use (one copy of the
//  definitions per message, however many updates name it). dsets has room for every kind.
static int s_dset(dp_msg_metrics_t *m, rrdwriter_def_kind_t kind, int dset_of[S_KINDS])
{
    if (dset_of[kind])
        return dset_of[kind];
    int n = s_nds[kind];
    dp_msg_dset_t *d = &m->dsets[m->n_dsets];
    d->ds = calloc((size_t)n, sizeof *d->ds);
    if (!d->ds)
        abort();
    for (int i = 0; i < n; i++)
        if (!(d->ds[i] = strdup(s_ds[kind][i])))
            abort();
    d->n_ds = (size_t)n;
    dset_of[kind] = (int)++m->n_dsets;
    return dset_of[kind];
}

//  Appends one update naming its kind's dset; takes no ownership of values (copied).
//  Returns 0 or -1.
static int s_add(dp_msg_metrics_t *m, int dset_of[S_KINDS], const char *host,
                 rrdwriter_def_kind_t kind, const char *sub, uint64_t index, const double *values,
                 dp_err_t *err)
{
    char path[S_PATH];
    if (rrdwriter_def_path(path, sizeof path, host, kind, sub, index, err) != 0)
        return -1;
    dp_msg_rrd_update_t *u = &m->updates[m->n_updates];
    int n = s_nds[kind];
    u->rrd = strdup(path);
    u->values = malloc((size_t)n * sizeof *u->values);
    if (!u->rrd || !u->values)
        abort();
    memcpy(u->values, values, (size_t)n * sizeof *values);
    u->n_values = (size_t)n;
    u->dset = s_dset(m, kind, dset_of);
    m->n_updates++;
    return 0;
}

static bool s_is_memory(int type)
{
    return type == 2 || type == 3; /* hrStorageRam, hrStorageVirtualMemory */
}

dp_msg_t *poller_metrics_build(const poller_poll_t *poll, const char *hostname, uint64_t epoch,
                               uint64_t job_id, int64_t cycle_ts, double took_s, dp_err_t *err)
{
    if (s_nds[RRDWRITER_DEF_PORT] != S_PORT_DS) {
        dp_err_set(err, DP_ERR_INTERNAL, "poller_metrics_init was not called");
        return NULL;
    }
    size_t max = (size_t)poll->nports + (size_t)poll->nprocs + (size_t)poll->nstor + 2;
    if (max > DP_MSG_UPDATES_MAX)
        max = DP_MSG_UPDATES_MAX;
    dp_msg_t *msg = dp_msg_new(DP_MSG_METRICS);
    dp_msg_metrics_t *m = &msg->metrics;
    m->device_id = poll->device_id;
    m->hostname = strdup(hostname);
    m->epoch = epoch;
    m->job_id = job_id;
    /* the time the device answered, as the DB's rates use: a late poll (lease re-issued, a
       failover, a backlog) then still gives true rates; cycle_ts only if no reply was timed */
    m->ts = poll->at_ms > 0 ? (poll->at_ms + 500) / 1000 : cycle_ts;
    m->updates = calloc(max, sizeof *m->updates);
    m->dsets = calloc(S_KINDS, sizeof *m->dsets);
    if (!m->hostname || !m->updates || !m->dsets)
        abort();
    int dset_of[S_KINDS] = {0}; /* kind -> 1-based index in m->dsets */
    double v[RRDWRITER_DEF_DS_MAX];
    int rc = 0;
    for (int i = 0; rc == 0 && i < poll->nports && m->n_updates + 2 < max; i++) {
        const poller_port_t *p = &poll->ports[i];
        if (p->port_id == 0)
            continue;
        poller_port_rrd_values(p, v);
        rc = s_add(m, dset_of, hostname, RRDWRITER_DEF_PORT, NULL, p->port_id, v, err);
    }
    v[0] = took_s < 0 ? 0 : took_s;
    if (rc == 0)
        rc = s_add(m, dset_of, hostname, RRDWRITER_DEF_POLLER_PERF, NULL, 0, v, err);
    if (rc == 0 && poll->have_uptime) {
        v[0] = poll->uptime_cs / 100.0;
        rc = s_add(m, dset_of, hostname, RRDWRITER_DEF_UPTIME, NULL, 0, v, err);
    }
    for (int i = 0; rc == 0 && i < poll->nprocs && m->n_updates < max; i++) {
        v[0] = poll->procs[i].load;
        rc = s_add(m, dset_of, hostname, RRDWRITER_DEF_PROCESSOR, "hr", poll->procs[i].index, v,
                   err);
    }
    for (int i = 0; rc == 0 && i < poll->nstor && m->n_updates < max; i++) {
        const poller_stor_t *s = &poll->stor[i];
        if ((s->have & 30) != 30 || s->used > s->size)
            continue;
        v[0] = (double)s->used * s->units;
        v[1] = (double)(s->size - s->used) * s->units;
        char sub[POLLER_NAME_MAX + 16];
        if (s_is_memory(s->type)) {
            rc = s_add(m, dset_of, hostname, RRDWRITER_DEF_MEMPOOL, "hrstorage", s->index, v, err);
        } else {
            snprintf(sub, sizeof sub, "hrstorage-%s", s->descr);
            rc = s_add(m, dset_of, hostname, RRDWRITER_DEF_STORAGE, sub, 0, v, err);
        }
    }
    if (rc != 0) {
        dp_msg_destroy(&msg);
        return NULL;
    }
    return msg;
}
