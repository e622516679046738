/*  sim_profile.c - device profiles of the SNMP simulator: a sorted OID tree
    SPDX-License-Identifier: MIT */
#include "sim_profile.h"
#include "sim_counter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/library/snmp_api.h>

#define S_INITIAL_CAP    256
#define S_CS_PER_MS      10
#define S_CPU_PERIOD_MS  60000
#define S_PERCENT        100
#define S_SALT_CPU       0x43505521ULL
#define S_SALT_STORAGE   0x53544f52ULL
#define S_TIMETICKS_MASK 0xffffffffULL

static int s_entry_cmp(const void *a, const void *b)
{
    const sim_entry_t *x = a, *y = b;
    int c = snmp_oid_compare(x->name, x->name_len, y->name, y->name_len);
    if (c != 0)
        return c;
    /* duplicates: the earlier insertion sorts first and is kept */
    return (x->seq < y->seq) ? -1 : (x->seq > y->seq);
}

static void s_entry_free(sim_entry_t *e)
{
    free(e->name);
    free(e->bytes);
    e->name = NULL;
    e->bytes = NULL;
}

static void s_eval_counter(const sim_entry_t *e, const sim_dev_t *d, int64_t now_ms,
                           sim_value_t *out)
{
    sim_ctr_key_t key = {d->seed, d->id, e->port, e->ctr, e->speed_bps};
    uint64_t rate = sim_counter_rate(&key);
    uint64_t v;
    if (d->reboot_ms > 0 && now_ms >= d->reboot_ms)
        v = sim_counter_advance(0, rate, now_ms - d->reboot_ms);
    else
        v = sim_counter_advance(e->has_base ? (uint64_t)e->num : sim_counter_base(&key), rate,
                                now_ms - d->epoch_ms);
    v = sim_counter_wrap(v, e->bits);
    if (e->type == ASN_COUNTER64) {
        out->c64.high = (u_long)(v >> 32);
        out->c64.low = (u_long)(v & 0xffffffffULL);
        out->ptr = &out->c64;
        out->len = sizeof(out->c64);
    } else {
        out->ul = (u_long)v;
        out->ptr = &out->ul;
        out->len = sizeof(out->ul);
    }
}

static void s_eval_static(const sim_entry_t *e, sim_value_t *out)
{
    switch (e->type) {
    case ASN_INTEGER:
        out->l = (long)e->num;
        out->ptr = &out->l;
        out->len = sizeof(out->l);
        break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        out->ul = (u_long)((uint64_t)e->num & 0xffffffffULL);
        out->ptr = &out->ul;
        out->len = sizeof(out->ul);
        break;
    case ASN_COUNTER64:
        out->c64.high = (u_long)((uint64_t)e->num >> 32);
        out->c64.low = (u_long)((uint64_t)e->num & 0xffffffffULL);
        out->ptr = &out->c64;
        out->len = sizeof(out->c64);
        break;
    case ASN_NULL:
        out->ptr = NULL;
        out->len = 0;
        break;
    default: /* strings, IpAddress, Opaque, OID (bytes = oid array) */
        out->ptr = e->bytes ? (const void *)e->bytes : (const void *)out->buf;
        out->len = e->bytes_len;
        break;
    }
}

//  --------------------------------------------------------------------------
sim_profile_t *sim_profile_new(const char *name)
{
    sim_profile_t *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->name = strdup(name ? name : "");
    if (!p->name)
        abort();
    return p;
}

//  --------------------------------------------------------------------------
void sim_profile_destroy(sim_profile_t **pp)
{
    if (!pp || !*pp)
        return;
    sim_profile_t *p = *pp;
    for (size_t i = 0; i < p->count; i++)
        s_entry_free(&p->entries[i]);
    free(p->entries);
    free(p->name);
    free(p);
    *pp = NULL;
}

//  --------------------------------------------------------------------------
int sim_profile_add(sim_profile_t *p, const sim_entry_t *e, dp_err_t *err)
{
    if (e->name_len == 0 || e->name_len > SIM_OID_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "OID length %u out of range", e->name_len);
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : S_INITIAL_CAP;
        sim_entry_t *n = realloc(p->entries, cap * sizeof(*n));
        if (!n)
            abort();
        p->entries = n;
        p->cap = cap;
    }
    sim_entry_t *d = &p->entries[p->count];
    *d = *e;
    d->name = malloc(e->name_len * sizeof(oid));
    if (!d->name)
        abort();
    memcpy(d->name, e->name, e->name_len * sizeof(oid));
    d->seq = (uint32_t)p->count;
    d->bytes = NULL;
    if (e->bytes_len > 0) {
        d->bytes = malloc(e->bytes_len);
        if (!d->bytes)
            abort();
        memcpy(d->bytes, e->bytes, e->bytes_len);
    }
    p->count++;
    return 0;
}

//  --------------------------------------------------------------------------
size_t sim_profile_finish(sim_profile_t *p)
{
    if (p->count == 0)
        return 0;
    qsort(p->entries, p->count, sizeof(sim_entry_t), s_entry_cmp);
    size_t out = 1, dropped = 0;
    for (size_t i = 1; i < p->count; i++) {
        sim_entry_t *prev = &p->entries[out - 1];
        if (snmp_oid_compare(prev->name, prev->name_len, p->entries[i].name,
                             p->entries[i].name_len) == 0) {
            s_entry_free(&p->entries[i]);
            dropped++;
            continue;
        }
        p->entries[out++] = p->entries[i];
    }
    p->count = out;
    return dropped;
}

//  --------------------------------------------------------------------------
long sim_profile_find(const sim_profile_t *p, const oid *name, size_t len)
{
    size_t lo = 0, hi = p->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sim_entry_t *e = &p->entries[mid];
        int c = snmp_oid_compare(e->name, e->name_len, name, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

//  --------------------------------------------------------------------------
size_t sim_profile_next(const sim_profile_t *p, const oid *name, size_t len)
{
    size_t lo = 0, hi = p->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sim_entry_t *e = &p->entries[mid];
        if (snmp_oid_compare(e->name, e->name_len, name, len) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

//  --------------------------------------------------------------------------
bool sim_profile_has_subtree(const sim_profile_t *p, const oid *prefix, size_t len)
{
    size_t i = sim_profile_next(p, prefix, len);
    if (i >= p->count)
        return false;
    const sim_entry_t *e = &p->entries[i];
    return e->name_len > len && memcmp(e->name, prefix, len * sizeof(oid)) == 0;
}

//  --------------------------------------------------------------------------
void sim_value_eval(const sim_entry_t *e, const sim_dev_t *d, int64_t now_ms, sim_value_t *out)
{
    out->type = e->type;
    switch (e->kind) {
    case SIM_VAL_UPTIME: {
        int64_t up = now_ms - d->boot_ms;
        out->ul = (u_long)(((uint64_t)(up > 0 ? up : 0) / S_CS_PER_MS) & S_TIMETICKS_MASK);
        out->ptr = &out->ul;
        out->len = sizeof(out->ul);
        break;
    }
    case SIM_VAL_COUNTER:
        s_eval_counter(e, d, now_ms, out);
        break;
    case SIM_VAL_SYSNAME: {
        int n = snprintf((char *)out->buf, sizeof(out->buf), "dev-%u-%u-%u-%u", d->addr >> 24,
                         (d->addr >> 16) & 0xff, (d->addr >> 8) & 0xff, d->addr & 0xff);
        out->ptr = out->buf;
        out->len = (size_t)n;
        break;
    }
    case SIM_VAL_PHYS:
        out->buf[0] = 0x02;
        out->buf[1] = (u_char)(d->id >> 16);
        out->buf[2] = (u_char)(d->id >> 8);
        out->buf[3] = (u_char)d->id;
        out->buf[4] = (u_char)(e->port >> 8);
        out->buf[5] = (u_char)e->port;
        out->ptr = out->buf;
        out->len = 6;
        break;
    case SIM_VAL_CPU_LOAD: {
        uint64_t h = sim_hash64(d->seed ^ S_SALT_CPU, d->id, e->name[e->name_len - 1],
                                (uint64_t)(now_ms / S_CPU_PERIOD_MS));
        out->l = (long)(h % S_PERCENT);
        out->ptr = &out->l;
        out->len = sizeof(out->l);
        break;
    }
    case SIM_VAL_STORAGE_USED: {
        uint64_t h = sim_hash64(d->seed ^ S_SALT_STORAGE, d->id, e->name[e->name_len - 1], 0);
        out->l = (long)((uint64_t)e->num * (5 + h % 90) / S_PERCENT);
        out->ptr = &out->l;
        out->len = sizeof(out->l);
        break;
    }
    default:
        s_eval_static(e, out);
        break;
    }
}

//  --------------------------------------------------------------------------
uint64_t sim_value_rate(const sim_entry_t *e, const sim_dev_t *d)
{
    if (e->kind != SIM_VAL_COUNTER)
        return 0;
    sim_ctr_key_t key = {d->seed, d->id, e->port, e->ctr, e->speed_bps};
    return sim_counter_rate(&key);
}

//  --------------------------------------------------------------------------
int sim_oid_parse(const char *text, oid *out, size_t max)
{
    const char *s = text;
    size_t n = 0;
    if (*s == '.')
        s++;
    while (*s) {
        if (*s < '0' || *s > '9' || n >= max)
            return -1;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || v > 0xffffffffULL)
            return -1;
        out[n++] = (oid)v;
        s = end;
        if (*s == '.') {
            s++;
            if (*s == '\0')
                return -1;
        } else if (*s != '\0') {
            return -1;
        }
    }
    return n >= 1 ? (int)n : -1;
}

//  --------------------------------------------------------------------------
char *sim_oid_format(const oid *name, size_t len, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < len && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s%lu", i ? "." : "", (unsigned long)name[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}
