/*  sim_world.c - profiles per address prefix, faults, community and clocks
    SPDX-License-Identifier: MIT */
#include "sim_world.h"
#include "sim_counter.h"
#include "sim_snmprec.h"
#include "sim_synth.h"
#include "sim_usm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_DEFAULT_PREFIX "127.0.0.0/8"
#define S_MAX_MSG        65507
#define S_MAX_VBS        4096
#define S_SALT_BOOT      0x424f4f54ULL
#define S_DEVICE_MASK    0xffffffu
#define S_PATH_MAX       4096
#define S_LINE_MAX       1024

static void s_grow(void **arr, size_t count, size_t size)
{
    void *n = realloc(*arr, (count + 1) * size);
    if (!n)
        abort();
    *arr = n;
}

static sim_profile_t *s_load_snmprec(const char *name, const char *dir, dp_err_t *err)
{
    char path[S_PATH_MAX];
    bool is_path = strchr(name, '/') || strstr(name, ".snmprec");
    if (is_path || !dir)
        return sim_snmprec_load(name, err);
    snprintf(path, sizeof(path), "%s/%s.snmprec", dir, name);
    if (access(path, R_OK) != 0)
        snprintf(path, sizeof(path), "%s/%s.snmprec.gz", dir, name);
    return sim_snmprec_load(path, err);
}

static void s_map_add(sim_world_t *w, uint32_t net, uint32_t mask, const sim_profile_t *p)
{
    /* keep the map sorted by descending prefix length: first match is the longest */
    s_grow((void **)&w->map, w->nmap, sizeof(sim_map_t));
    size_t i = w->nmap;
    while (i > 0 && w->map[i - 1].mask < mask) {
        w->map[i] = w->map[i - 1];
        i--;
    }
    w->map[i] = (sim_map_t){net, mask, p};
    w->nmap++;
}

//  --------------------------------------------------------------------------
sim_world_t *sim_world_new(uint64_t seed, int64_t epoch_ms, int64_t start_ms)
{
    sim_world_t *w = calloc(1, sizeof(*w));
    if (!w)
        abort();
    w->seed = seed;
    w->epoch_ms = epoch_ms;
    w->start_ms = start_ms;
    w->max_msg = S_MAX_MSG;
    w->max_vbs = S_MAX_VBS;
    sim_world_set_community(w, "public", NULL);
    atomic_init(&w->faults, sim_faults_new(seed));
    return w;
}

//  --------------------------------------------------------------------------
void sim_world_destroy(sim_world_t **p)
{
    if (!p || !*p)
        return;
    sim_world_t *w = *p;
    for (size_t i = 0; i < w->nprofiles; i++)
        sim_profile_destroy(&w->profiles[i]);
    free(w->profiles);
    free(w->map);
    sim_faults_t *f = atomic_load(&w->faults);
    sim_faults_destroy(&f);
    for (size_t i = 0; i < w->nretired; i++)
        sim_faults_destroy(&w->retired[i]);
    sim_usm_destroy(&w->usm);
    free(w->retired);
    free(w);
    *p = NULL;
}

//  --------------------------------------------------------------------------
int sim_world_set_community(sim_world_t *w, const char *community, dp_err_t *err)
{
    size_t n = strlen(community);
    if (n == 0 || n >= SIM_COMMUNITY_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "community must be 1..%d bytes",
                          SIM_COMMUNITY_MAX - 1);
    memcpy(w->community, community, n + 1);
    w->community_len = n;
    return 0;
}

//  --------------------------------------------------------------------------
int sim_world_add_profile(sim_world_t *w, const char *spec, const char *snmprec_dir, dp_err_t *err)
{
    char prefix[64] = S_DEFAULT_PREFIX;
    const char *body = spec;
    if (isdigit((unsigned char)spec[0])) {
        const char *eq = strchr(spec, '=');
        if (!eq || (size_t)(eq - spec) >= sizeof(prefix))
            return dp_err_set(err, DP_ERR_CONFIG, "profile '%s': expected PREFIX=SPEC", spec);
        memcpy(prefix, spec, (size_t)(eq - spec));
        prefix[eq - spec] = '\0';
        body = eq + 1;
    }
    uint32_t net, mask;
    if (sim_prefix_parse(prefix, &net, &mask) != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "profile '%s': bad prefix '%s'", spec, prefix);
    sim_profile_t *p = NULL;
    if (strcmp(body, "synthetic") == 0)
        p = sim_synth_new("", err);
    else if (strncmp(body, "synthetic:", 10) == 0)
        p = sim_synth_new(body + 10, err);
    else if (strncmp(body, "snmprec:", 8) == 0)
        p = s_load_snmprec(body + 8, snmprec_dir, err);
    else
        return dp_err_set(err, DP_ERR_CONFIG, "profile '%s': expected synthetic or snmprec:", spec);
    if (!p)
        return -1;
    s_grow((void **)&w->profiles, w->nprofiles, sizeof(sim_profile_t *));
    w->profiles[w->nprofiles++] = p;
    s_map_add(w, net, mask, p);
    return 0;
}

//  --------------------------------------------------------------------------
int sim_world_load_map(sim_world_t *w, const char *path, const char *snmprec_dir, dp_err_t *err)
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
        if (*s == '\0' || *s == '#')
            continue;
        if (sim_world_add_profile(w, s, snmprec_dir, &lerr) != 0)
            rc = dp_err_set(err, DP_ERR_CONFIG, "%s:%d: %s", path, lineno, lerr.text);
    }
    fclose(fp);
    return rc;
}

//  --------------------------------------------------------------------------
void sim_world_set_faults(sim_world_t *w, sim_faults_t **f)
{
    sim_faults_t *old = atomic_exchange(&w->faults, *f);
    *f = NULL;
    if (old) {
        s_grow((void **)&w->retired, w->nretired, sizeof(sim_faults_t *));
        w->retired[w->nretired++] = old;
    }
}

//  --------------------------------------------------------------------------
const sim_faults_t *sim_world_faults(sim_world_t *w)
{
    return atomic_load_explicit(&w->faults, memory_order_acquire);
}

//  --------------------------------------------------------------------------
const sim_profile_t *sim_world_device(sim_world_t *w, uint32_t addr, int64_t now_ms, sim_dev_t *dev,
                                      sim_fault_view_t *fv)
{
    const sim_profile_t *p = NULL;
    for (size_t i = 0; i < w->nmap; i++) {
        if ((addr & w->map[i].mask) == w->map[i].net) {
            p = w->map[i].profile;
            break;
        }
    }
    if (!p)
        return NULL;
    sim_faults_view(sim_world_faults(w), addr, fv);
    dev->addr = addr;
    dev->id = addr & S_DEVICE_MASK;
    dev->seed = w->seed;
    dev->epoch_ms = w->epoch_ms;
    uint64_t h = sim_hash64(w->seed ^ S_SALT_BOOT, dev->id, 0, 0);
    dev->boot_ms = w->start_ms - (int64_t)(h % SIM_UPTIME_MAX_OFFSET_MS);
    dev->reboot_ms = 0;
    if ((fv->flags & SIM_FAULT_REBOOT) && fv->reboot_ms <= now_ms) {
        dev->reboot_ms = fv->reboot_ms;
        dev->boot_ms = fv->reboot_ms;
    }
    return p;
}
