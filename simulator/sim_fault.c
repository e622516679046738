/*  sim_fault.c - faults on demand for the SNMP device simulator
    SPDX-License-Identifier: MIT */
#include "sim_fault.h"
#include "sim_counter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_RULE_MAX    160
#define S_LINE_MAX    512
#define S_SALT_FRAC   0x46524143ULL
#define S_DEVICE_MASK 0xffffffu
#define S_INITIAL_CAP 8
#define S_MS_PER_S    1000
#define S_TWO_POW_53  9007199254740992.0

/* One rule. */
typedef struct {
    uint32_t net;          /* prefix selector: network, host order */
    uint32_t mask;         /* prefix selector: mask */
    double frac;           /* fraction selector, or < 0 for a prefix */
    unsigned action;       /* one SIM_FAULT_* bit */
    int64_t arg;           /* ms, varbind limit, port or reboot time */
    char text[S_RULE_MAX]; /* the rule as written */
} s_rule_t;

struct sim_faults {
    uint64_t seed;   /* for frac: selectors */
    s_rule_t *rules; /* owned */
    size_t count;    /* rules in use */
    size_t cap;      /* rules allocated */
};

static int s_parse_i64(const char *text, int64_t lo, int64_t *out, char **endp)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || v < lo)
        return -1;
    *out = v;
    *endp = end;
    return 0;
}

static int s_parse_selector(const char *sel, s_rule_t *r)
{
    r->frac = -1;
    if (strcmp(sel, "all") == 0) {
        r->net = r->mask = 0;
        return 0;
    }
    if (strncmp(sel, "frac:", 5) == 0) {
        char *end;
        errno = 0;
        r->frac = strtod(sel + 5, &end);
        return (errno || end == sel + 5 || *end || r->frac < 0 || r->frac > 1) ? -1 : 0;
    }
    return sim_prefix_parse(sel, &r->net, &r->mask);
}

static int s_parse_action(const char *act, int64_t now_ms, s_rule_t *r)
{
    char *end = NULL;
    if (strcmp(act, "timeout") == 0) {
        r->action = SIM_FAULT_TIMEOUT;
        return 0;
    }
    if (strcmp(act, "malformed") == 0) {
        r->action = SIM_FAULT_MALFORMED;
        return 0;
    }
    if (strcmp(act, "reboot") == 0) {
        r->action = SIM_FAULT_REBOOT;
        r->arg = now_ms;
        return 0;
    }
    if (strncmp(act, "reboot@", 7) == 0) {
        r->action = SIM_FAULT_REBOOT;
        return (s_parse_i64(act + 7, 1, &r->arg, &end) || *end) ? -1 : 0;
    }
    if (strncmp(act, "slow:", 5) == 0) {
        r->action = SIM_FAULT_SLOW;
        if (s_parse_i64(act + 5, 0, &r->arg, &end))
            return -1;
        if (strcmp(end, "s") == 0)
            r->arg *= S_MS_PER_S;
        else if (*end && strcmp(end, "ms") != 0)
            return -1;
        return 0;
    }
    if (strncmp(act, "toobig:", 7) == 0) {
        r->action = SIM_FAULT_TOOBIG;
        return (s_parse_i64(act + 7, 0, &r->arg, &end) || *end) ? -1 : 0;
    }
    if (strncmp(act, "port-vanish:", 12) == 0 || strncmp(act, "port-appear:", 12) == 0) {
        r->action = act[5] == 'v' ? SIM_FAULT_VANISH : SIM_FAULT_APPEAR;
        return (s_parse_i64(act + 12, 1, &r->arg, &end) || *end || r->arg > UINT32_MAX) ? -1 : 0;
    }
    return -1;
}

static bool s_matches(const sim_faults_t *f, const s_rule_t *r, uint32_t addr)
{
    if (r->frac < 0)
        return (addr & r->mask) == r->net;
    uint64_t h = sim_hash64(f->seed ^ S_SALT_FRAC, addr & S_DEVICE_MASK, r->action, 0);
    return (double)(h >> 11) / S_TWO_POW_53 < r->frac;
}

static void s_apply(const s_rule_t *r, sim_fault_view_t *out)
{
    bool first = !(out->flags & r->action);
    out->flags |= r->action;
    switch (r->action) {
    case SIM_FAULT_SLOW:
        if (first || r->arg > out->slow_ms)
            out->slow_ms = r->arg;
        break;
    case SIM_FAULT_TOOBIG:
        if (first || r->arg < out->toobig_over)
            out->toobig_over = r->arg;
        break;
    case SIM_FAULT_REBOOT:
        if (first || r->arg > out->reboot_ms)
            out->reboot_ms = r->arg;
        break;
    case SIM_FAULT_VANISH:
        if (out->nvanish < SIM_FAULT_MAX_PORTS)
            out->vanish[out->nvanish++] = (uint32_t)r->arg;
        break;
    case SIM_FAULT_APPEAR:
        if (out->nappear < SIM_FAULT_MAX_PORTS)
            out->appear[out->nappear++] = (uint32_t)r->arg;
        break;
    default:
        break;
    }
}

//  --------------------------------------------------------------------------
sim_faults_t *sim_faults_new(uint64_t seed)
{
    sim_faults_t *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    f->seed = seed;
    return f;
}

//  --------------------------------------------------------------------------
void sim_faults_destroy(sim_faults_t **p)
{
    if (!p || !*p)
        return;
    free((*p)->rules);
    free(*p);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int sim_faults_add(sim_faults_t *f, const char *rule, int64_t now_ms, const sim_faults_t *prev,
                   dp_err_t *err)
{
    s_rule_t r = {0};
    size_t len = strlen(rule);
    if (len >= S_RULE_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "fault rule too long");
    memcpy(r.text, rule, len + 1);
    char *eq = strchr(r.text, '=');
    if (!eq)
        return dp_err_set(err, DP_ERR_CONFIG, "fault '%s': expected SELECTOR=ACTION", rule);
    *eq = '\0';
    int rc = s_parse_selector(r.text, &r);
    if (rc != 0) {
        *eq = '=';
        return dp_err_set(err, DP_ERR_CONFIG, "fault '%s': bad selector", rule);
    }
    rc = s_parse_action(eq + 1, now_ms, &r);
    *eq = '=';
    if (rc != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "fault '%s': bad action", rule);
    for (size_t i = 0; prev && i < prev->count; i++) {
        if (r.action == SIM_FAULT_REBOOT && strcmp(prev->rules[i].text, r.text) == 0)
            r.arg = prev->rules[i].arg;
    }
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : S_INITIAL_CAP;
        s_rule_t *n = realloc(f->rules, cap * sizeof(*n));
        if (!n)
            abort();
        f->rules = n;
        f->cap = cap;
    }
    f->rules[f->count++] = r;
    return 0;
}

//  --------------------------------------------------------------------------
int sim_faults_load_file(sim_faults_t *f, const char *path, int64_t now_ms,
                         const sim_faults_t *prev, dp_err_t *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return dp_err_set(err, DP_ERR_CONFIG, "%s: cannot open: %s", path, strerror(errno));
    char line[S_LINE_MAX];
    int lineno = 0, rc = 0;
    dp_err_t lerr = {0};
    while (rc == 0 && fgets(line, sizeof(line), fp)) {
        lineno++;
        char *s = line + strspn(line, " \t");
        s[strcspn(s, "\r\n")] = '\0';
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            s[--n] = '\0';
        if (n == 0 || s[0] == '#')
            continue;
        if (sim_faults_add(f, s, now_ms, prev, &lerr) != 0)
            rc = dp_err_set(err, DP_ERR_CONFIG, "%s:%d: %s", path, lineno, lerr.text);
    }
    fclose(fp);
    return rc;
}

//  --------------------------------------------------------------------------
size_t sim_faults_count(const sim_faults_t *f)
{
    return f ? f->count : 0;
}

//  --------------------------------------------------------------------------
void sim_faults_view(const sim_faults_t *f, uint32_t addr, sim_fault_view_t *out)
{
    out->flags = 0;
    out->nvanish = out->nappear = 0;
    for (size_t i = 0; f && i < f->count; i++) {
        if (s_matches(f, &f->rules[i], addr))
            s_apply(&f->rules[i], out);
    }
}

//  --------------------------------------------------------------------------
int sim_prefix_parse(const char *text, uint32_t *net, uint32_t *mask)
{
    char buf[32];
    if (strlen(text) >= sizeof(buf))
        return -1;
    snprintf(buf, sizeof(buf), "%s", text);
    int bits = 32;
    char *slash = strchr(buf, '/');
    if (slash) {
        char *end;
        *slash = '\0';
        long b = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || b < 0 || b > 32)
            return -1;
        bits = (int)b;
    }
    struct in_addr ia;
    if (inet_pton(AF_INET, buf, &ia) != 1)
        return -1;
    *mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    *net = ntohl(ia.s_addr) & *mask;
    return 0;
}
