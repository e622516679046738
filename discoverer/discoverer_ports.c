/*  discoverer_ports.c - walk definitions, value storage and port diff (see discoverer_ports.h)
    SPDX-License-Identifier: MIT */
#include "discoverer_ports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define S_MBPS     UINT64_C(1000000)

/* Column meanings. */
enum {
    S_SYS_DESCR,
    S_SYS_OBJID,
    S_SYS_UPTIME,
    S_SYS_CONTACT,
    S_SYS_NAME,
    S_SYS_LOCATION,
    S_IF_DESCR,
    S_IF_TYPE,
    S_IF_MTU,
    S_IF_SPEED,
    S_IF_MAC,
    S_IF_ADMIN,
    S_IF_OPER,
    S_IF_NAME,
    S_IF_HIGH,
    S_IF_ALIAS,
    S_IF_HC_FIRST, /* + 0..7: ifHCInOctets .. ifHCOutBroadcastPkts (ifXTable 6..13) */
    S_HR_PROC_LOAD = S_IF_HC_FIRST + 8,
    S_HR_DEV_DESCR,
    S_HR_STOR_TYPE,
    S_HR_STOR_DESCR,
    S_HR_STOR_UNITS,
    S_HR_STOR_SIZE,
    S_HR_STOR_USED,
};

/* ifXTable columns 6..13 in order, as ifHC bits. */
static const uint16_t s_hc_bits[8] = {DISCOVERER_HC_IN_OCTETS,  DISCOVERER_HC_IN_UCAST,
                                      DISCOVERER_HC_IN_MCAST,   DISCOVERER_HC_IN_BCAST,
                                      DISCOVERER_HC_OUT_OCTETS, DISCOVERER_HC_OUT_UCAST,
                                      DISCOVERER_HC_OUT_MCAST,  DISCOVERER_HC_OUT_BCAST};

#define S_SYS(c)  static const oid s_sys_##c[] = {1, 3, 6, 1, 2, 1, 1, c}
#define S_IF(c)   static const oid s_if_##c[] = {1, 3, 6, 1, 2, 1, 2, 2, 1, c}
#define S_IFX(c)  static const oid s_ifx_##c[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1, c}
#define S_STOR(c) static const oid s_stor_##c[] = {1, 3, 6, 1, 2, 1, 25, 2, 3, 1, c}
S_SYS(1);
S_SYS(2);
S_SYS(3);
S_SYS(4);
S_SYS(5);
S_SYS(6);
S_IF(2);
S_IF(3);
S_IF(4);
S_IF(5);
S_IF(6);
S_IF(7);
S_IF(8);
S_IFX(1);
S_IFX(6);
S_IFX(7);
S_IFX(8);
S_IFX(9);
S_IFX(10);
S_IFX(11);
S_IFX(12);
S_IFX(13);
S_IFX(15);
S_IFX(18);
S_STOR(2);
S_STOR(3);
S_STOR(4);
S_STOR(5);
S_STOR(6);
static const oid s_hr_proc_load[] = {1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2};
static const oid s_hr_dev_descr[] = {1, 3, 6, 1, 2, 1, 25, 3, 2, 1, 3};

#define S_COL(a, scalar)                                                                           \
    {                                                                                              \
        a, sizeof(a) / sizeof(oid), scalar                                                         \
    }

static const dp_snmp_col_t s_sys_cols[] = {S_COL(s_sys_1, true), S_COL(s_sys_2, true),
                                           S_COL(s_sys_3, true), S_COL(s_sys_4, true),
                                           S_COL(s_sys_5, true), S_COL(s_sys_6, true)};
static const uint8_t s_sys_kind[] = {S_SYS_DESCR,   S_SYS_OBJID, S_SYS_UPTIME,
                                     S_SYS_CONTACT, S_SYS_NAME,  S_SYS_LOCATION};

static const dp_snmp_col_t s_port_cols[] = {
    S_COL(s_if_2, false),   S_COL(s_if_3, false),   S_COL(s_if_4, false),   S_COL(s_if_5, false),
    S_COL(s_if_6, false),   S_COL(s_if_7, false),   S_COL(s_if_8, false),   S_COL(s_ifx_1, false),
    S_COL(s_ifx_15, false), S_COL(s_ifx_18, false), S_COL(s_ifx_6, false),  S_COL(s_ifx_7, false),
    S_COL(s_ifx_8, false),  S_COL(s_ifx_9, false),  S_COL(s_ifx_10, false), S_COL(s_ifx_11, false),
    S_COL(s_ifx_12, false), S_COL(s_ifx_13, false)};
static const uint8_t s_port_kind[] = {
    S_IF_DESCR,        S_IF_TYPE,         S_IF_MTU,          S_IF_SPEED,        S_IF_MAC,
    S_IF_ADMIN,        S_IF_OPER,         S_IF_NAME,         S_IF_HIGH,         S_IF_ALIAS,
    S_IF_HC_FIRST + 0, S_IF_HC_FIRST + 1, S_IF_HC_FIRST + 2, S_IF_HC_FIRST + 3, S_IF_HC_FIRST + 4,
    S_IF_HC_FIRST + 5, S_IF_HC_FIRST + 6, S_IF_HC_FIRST + 7};

static const dp_snmp_col_t s_host_cols[] = {
    S_COL(s_hr_proc_load, false), S_COL(s_hr_dev_descr, false), S_COL(s_stor_2, false),
    S_COL(s_stor_3, false),       S_COL(s_stor_4, false),       S_COL(s_stor_5, false),
    S_COL(s_stor_6, false)};
static const uint8_t s_host_kind[] = {S_HR_PROC_LOAD,  S_HR_DEV_DESCR,  S_HR_STOR_TYPE,
                                      S_HR_STOR_DESCR, S_HR_STOR_UNITS, S_HR_STOR_SIZE,
                                      S_HR_STOR_USED};

static const discoverer_walkdef_t s_defs[] = {
    {s_sys_cols, s_sys_kind, S_NELEM(s_sys_cols)},
    {s_port_cols, s_port_kind, S_NELEM(s_port_cols)},
    {s_host_cols, s_host_kind, S_NELEM(s_host_cols)},
};

_Static_assert(S_NELEM(s_sys_cols) == S_NELEM(s_sys_kind), "system walk table");
_Static_assert(S_NELEM(s_port_cols) == S_NELEM(s_port_kind), "ports walk table");
_Static_assert(S_NELEM(s_host_cols) == S_NELEM(s_host_kind), "host walk table");
_Static_assert(S_NELEM(s_port_cols) <= DP_SNMP_COLS_MAX, "ports walk too wide");

//  --------------------------------------------------------------------------
const discoverer_walkdef_t *discoverer_walkdef(discoverer_walk_t which)
{
    return (unsigned)which < (unsigned)S_NELEM(s_defs) ? &s_defs[which] : NULL;
}

//  --------------------------------------------------------------------------
void discoverer_inv_reset(discoverer_inv_t *inv)
{
    discoverer_inv_t keep = *inv;
    memset(inv, 0, sizeof *inv);
    inv->ports = keep.ports;
    inv->cap_ports = keep.cap_ports;
    inv->procs = keep.procs;
    inv->cap_procs = keep.cap_procs;
    inv->stor = keep.stor;
    inv->cap_stor = keep.cap_stor;
    inv->devs = keep.devs;
    inv->cap_devs = keep.cap_devs;
}

//  --------------------------------------------------------------------------
void discoverer_inv_free(discoverer_inv_t *inv)
{
    free(inv->ports);
    free(inv->procs);
    free(inv->stor);
    free(inv->devs);
    memset(inv, 0, sizeof *inv);
}

//  Finds or inserts (keeping index order) the element with key index in a sorted array of
//  elements of size esz whose first member is a uint32_t index. NULL when full.
static void *s_row(void **arr, int *n, int *cap, size_t esz, uint32_t index, int max)
{
    char *a = *arr;
    int lo = 0, hi = *n;
    /* values arrive in index order: try the end first */
    if (hi > 0 && *(uint32_t *)(a + (size_t)(hi - 1) * esz) < index)
        lo = hi;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (*(uint32_t *)(a + (size_t)mid * esz) < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < *n && *(uint32_t *)(a + (size_t)lo * esz) == index)
        return a + (size_t)lo * esz;
    if (*n >= max)
        return NULL;
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 32;
        a = realloc(a, (size_t)c * esz);
        if (!a)
            abort();
        *arr = a;
        *cap = c;
    }
    memmove(a + (size_t)(lo + 1) * esz, a + (size_t)lo * esz, (size_t)(*n - lo) * esz);
    (*n)++;
    char *row = a + (size_t)lo * esz;
    memset(row, 0, esz);
    *(uint32_t *)row = index;
    return row;
}

static void s_take_sys(discoverer_inv_t *inv, int kind, const netsnmp_variable_list *v)
{
    uint64_t n;
    switch (kind) {
    case S_SYS_DESCR:
        if (dp_snmp_var_str(v, inv->sys_descr, sizeof inv->sys_descr))
            inv->have_sys |= 1;
        break;
    case S_SYS_OBJID:
        if (v->type == ASN_OBJECT_ID && v->val.objid) {
            discoverer_oid_text(v->val.objid, v->val_len / sizeof(oid), inv->sys_object_id,
                                sizeof inv->sys_object_id);
            inv->have_sys |= 2;
        }
        break;
    case S_SYS_UPTIME:
        if (dp_snmp_var_u64(v, &n, NULL)) {
            inv->uptime_cs = (uint32_t)n;
            inv->have_sys |= 4;
        }
        break;
    case S_SYS_CONTACT:
        if (dp_snmp_var_str(v, inv->sys_contact, sizeof inv->sys_contact))
            inv->have_sys |= 8;
        break;
    case S_SYS_NAME:
        if (dp_snmp_var_str(v, inv->sys_name, sizeof inv->sys_name))
            inv->have_sys |= 16;
        break;
    case S_SYS_LOCATION:
        if (dp_snmp_var_str(v, inv->sys_location, sizeof inv->sys_location))
            inv->have_sys |= 32;
        break;
    }
}

static void s_take_port(discoverer_port_t *p, int kind, const netsnmp_variable_list *v)
{
    uint64_t n = 0;
    int bits = 0;
    bool num = dp_snmp_var_u64(v, &n, &bits);
    if (kind >= S_IF_HC_FIRST && kind < S_IF_HC_FIRST + 8) {
        if (num && bits == 64)
            p->hc_mask |= s_hc_bits[kind - S_IF_HC_FIRST];
        return;
    }
    switch (kind) {
    case S_IF_DESCR:
        if (dp_snmp_var_str(v, p->descr, sizeof p->descr))
            p->have |= DISCOVERER_HAVE_DESCR;
        break;
    case S_IF_NAME:
        if (dp_snmp_var_str(v, p->name, sizeof p->name))
            p->have |= DISCOVERER_HAVE_NAME;
        break;
    case S_IF_ALIAS:
        if (dp_snmp_var_str(v, p->alias, sizeof p->alias))
            p->have |= DISCOVERER_HAVE_ALIAS;
        break;
    case S_IF_MAC:
        if (v->type == ASN_OCTET_STR) {
            discoverer_mac_text(v->val.string, v->val_len, p->mac, sizeof p->mac);
            p->have |= DISCOVERER_HAVE_MAC;
        }
        break;
    case S_IF_TYPE:
        if (num && n > 0 && n < 100000) {
            p->if_type = (int)n;
            p->have |= DISCOVERER_HAVE_TYPE;
        }
        break;
    case S_IF_MTU:
        if (num && n <= UINT32_MAX) {
            p->mtu = (uint32_t)n;
            p->have |= DISCOVERER_HAVE_MTU;
        }
        break;
    case S_IF_SPEED:
        if (num) {
            p->if_speed = n;
            p->have |= DISCOVERER_HAVE_SPEED;
        }
        break;
    case S_IF_HIGH:
        if (num) {
            p->high_speed = (uint32_t)n;
            p->have |= DISCOVERER_HAVE_HIGH;
        }
        break;
    case S_IF_ADMIN:
    case S_IF_OPER:
        if (num && n >= 1 && n <= 7) {
            if (kind == S_IF_ADMIN)
                p->admin = (uint8_t)n;
            else
                p->oper = (uint8_t)n;
        }
        break;
    }
}

static void s_take_host(discoverer_inv_t *inv, int kind, uint32_t index,
                        const netsnmp_variable_list *v)
{
    uint64_t n = 0;
    bool num = dp_snmp_var_u64(v, &n, NULL);
    if (kind == S_HR_PROC_LOAD) {
        if (!num || inv->nprocs >= DISCOVERER_HOST_MAX)
            return;
        if (inv->nprocs == inv->cap_procs) {
            int c = inv->cap_procs ? inv->cap_procs * 2 : 16;
            inv->procs = realloc(inv->procs, (size_t)c * sizeof *inv->procs);
            if (!inv->procs)
                abort();
            inv->cap_procs = c;
        }
        inv->procs[inv->nprocs++] = (discoverer_proc_t){index, (int)(int64_t)n};
        return;
    }
    if (kind == S_HR_DEV_DESCR) {
        discoverer_hrdev_t *d = s_row((void **)&inv->devs, &inv->ndevs, &inv->cap_devs,
                                      sizeof *inv->devs, index, DISCOVERER_HOST_MAX);
        if (d)
            dp_snmp_var_str(v, d->descr, sizeof d->descr);
        return;
    }
    discoverer_stor_t *s = s_row((void **)&inv->stor, &inv->nstor, &inv->cap_stor,
                                 sizeof *inv->stor, index, DISCOVERER_HOST_MAX);
    if (!s)
        return;
    switch (kind) {
    case S_HR_STOR_TYPE:
        if (v->type == ASN_OBJECT_ID && v->val_len >= sizeof(oid)) {
            s->type = (int)v->val.objid[v->val_len / sizeof(oid) - 1];
            s->have |= 1;
        }
        break;
    case S_HR_STOR_DESCR:
        if (dp_snmp_var_str(v, s->descr, sizeof s->descr))
            s->have |= 16;
        break;
    case S_HR_STOR_UNITS:
        if (num) {
            s->units = (uint32_t)n;
            s->have |= 2;
        }
        break;
    case S_HR_STOR_SIZE:
        if (num) {
            s->size = (uint32_t)n; /* INTEGER that some agents overflow: read as unsigned */
            s->have |= 4;
        }
        break;
    case S_HR_STOR_USED:
        if (num) {
            s->used = (uint32_t)n;
            s->have |= 8;
        }
        break;
    }
}

//  --------------------------------------------------------------------------
void discoverer_inv_take(discoverer_inv_t *inv, const discoverer_walkdef_t *def, int col,
                         const oid *idx, size_t idx_len, const netsnmp_variable_list *v)
{
    if (col < 0 || col >= def->n || !v)
        return;
    int kind = def->kind[col];
    if (kind <= S_SYS_LOCATION) {
        s_take_sys(inv, kind, v);
        return;
    }
    if (idx_len != 1 || idx[0] == 0 || idx[0] > UINT32_MAX)
        return;
    uint32_t index = (uint32_t)idx[0];
    if (kind >= S_HR_PROC_LOAD) {
        s_take_host(inv, kind, index, v);
        return;
    }
    discoverer_port_t *p = s_row((void **)&inv->ports, &inv->nports, &inv->cap_ports,
                                 sizeof *inv->ports, index, INT32_MAX);
    if (p)
        s_take_port(p, kind, v);
}

//  --------------------------------------------------------------------------
uint64_t discoverer_port_speed(const discoverer_port_t *p)
{
    if ((p->have & DISCOVERER_HAVE_HIGH) && p->high_speed > 0)
        return (uint64_t)p->high_speed * S_MBPS;
    return (p->have & DISCOVERER_HAVE_SPEED) ? p->if_speed : 0;
}

//  --------------------------------------------------------------------------
int discoverer_inv_hc_ports(const discoverer_inv_t *inv)
{
    int n = 0;
    for (int i = 0; i < inv->nports; i++)
        n += inv->ports[i].hc_mask != 0;
    return n;
}

//  Length of the valid UTF-8 sequence at s (0 when invalid).
static int s_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    int n = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || (n == 2 && s[0] < 0xC2) || (n == 4 && s[0] > 0xF4))
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0)))
        return 0;
    if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0;
    return n;
}

//  --------------------------------------------------------------------------
void discoverer_text_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = s_utf8_len(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            *p = (*p == '\t' || *p == '\n' || *p == '\r') ? ' ' : '?';
            p++;
            continue;
        }
        p += n;
    }
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
        s[--len] = '\0';
}

//  --------------------------------------------------------------------------
void discoverer_inv_clean(discoverer_inv_t *inv)
{
    discoverer_text_clean(inv->sys_descr);
    discoverer_text_clean(inv->sys_contact);
    discoverer_text_clean(inv->sys_name);
    discoverer_text_clean(inv->sys_location);
    for (int i = 0; i < inv->nports; i++) {
        discoverer_text_clean(inv->ports[i].descr);
        discoverer_text_clean(inv->ports[i].name);
        discoverer_text_clean(inv->ports[i].alias);
    }
    for (int i = 0; i < inv->nstor; i++)
        discoverer_text_clean(inv->stor[i].descr);
    for (int i = 0; i < inv->ndevs; i++)
        discoverer_text_clean(inv->devs[i].descr);
}

//  --------------------------------------------------------------------------
void discoverer_mac_text(const uint8_t *bytes, size_t len, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (size_t i = 0; bytes && i < len && n + 2 < size; i++) {
        out[n++] = hex[bytes[i] >> 4];
        out[n++] = hex[bytes[i] & 15];
    }
    if (size)
        out[n] = '\0';
}

//  --------------------------------------------------------------------------
void discoverer_oid_text(const oid *o, size_t len, char *out, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < len && n < size; i++) {
        int w = snprintf(out + n, size - n, ".%lu", (unsigned long)o[i]);
        if (w < 0 || (size_t)w >= size - n) {
            out[n] = '\0'; /* never a cut sub-id */
            return;
        }
        n += (size_t)w;
    }
}

//  --------------------------------------------------------------------------
void discoverer_ports_diff(const discoverer_known_t *known, int nknown,
                           const discoverer_port_t *ports, int nports, bool *gone,
                           discoverer_diff_t *out)
{
    memset(out, 0, sizeof *out);
    int i = 0, j = 0;
    while (i < nknown || j < nports) {
        if (j >= nports || (i < nknown && known[i].if_index < ports[j].if_index)) {
            gone[i] = !known[i].deleted;
            out->deleted += gone[i];
            i++;
        } else if (i >= nknown || ports[j].if_index < known[i].if_index) {
            out->added++;
            j++;
        } else {
            gone[i] = false;
            if (known[i].deleted)
                out->undeleted++;
            else
                out->updated++;
            i++;
            j++;
        }
    }
}
