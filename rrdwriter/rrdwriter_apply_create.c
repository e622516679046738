/*  rrdwriter_apply_create.c - the apply thread's file resolution, between planning a round
    and formatting it: INFO for files we do not know (skipped for files our shared RRD
    directory shows absent), then creation of the missing ones: here, from librrd templates
    (rrdwriter_create.h), when a probe per connection shows rrdcached shares DP_RRD_DIR; else,
    and for local failures, CREATE -O through rrdcached. A file made by someone else meanwhile
    ("File exists") is learned with a second INFO.
    SPDX-License-Identifier: MIT */
#include "rrdwriter_apply_priv.h"

#include "dp_log.h"
#include "dp_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CREATE_MAX (DP_MSG_PATH_MAX + 64 + DP_MSG_DS_MAX * 64 + RRDWRITER_DEF_RRA_MAX * 64)
#define S_INFO_CHUNK 1024 /* files per INFO exchange */

//  --------------------------------------------------------------------------
//  Round step 2: learn unknown files (INFO), create missing ones (CREATE)

void rrdwriter_apply_want(rrdwriter_apply_t *a, rrdwriter_apply_file_t *f,
                          const rrdwriter_apply_sig_t *sig, int64_t ts)
{
    if (f->sig)
        return;
    if (!f->resolving) {
        f->resolving = true;
        f->want = sig;
        f->first_ts = ts;
        a->resolve =
            rrdwriter_apply_grow(a->resolve, &a->cap_resolve, a->n_resolve + 1, sizeof *a->resolve);
        a->resolve[a->n_resolve++] = f;
    } else if (ts < f->first_ts) {
        f->first_ts = ts;
    }
}

/* Learns the n files asked about in one INFO exchange from its answers. */
static void s_info_learn(rrdwriter_apply_t *a, rrdwriter_apply_file_t **which,
                         const rrdwriter_batch_info_t *info, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!info[i].exists || info[i].n_ds < 1)
            continue;
        rrdwriter_apply_sig_t sig = {.n = info[i].n_ds};
        for (int k = 0; k < sig.n; k++) {
            strcpy(sig.ds[k].name, info[i].ds_name[k]);
            sig.ds[k].type = info[i].ds_type[k];
            sig.ds[k].min = sig.ds[k].max = NAN;
        }
        which[i]->sig = rrdwriter_apply_sig_intern(a, &sig);
        if (info[i].last_update_s > which[i]->last_ts)
            which[i]->last_ts = info[i].last_update_s;
    }
}

/* INFO for every listed file without a DS list; learns the existing ones. With skip_absent,
   files the shared RRD directory shows absent are not asked about (rrdcached would answer
   "No such file"): they go straight to creation. Asks S_INFO_CHUNK files per exchange, so
   the answers (1.5 KB each) take a bounded buffer however many files a round lists.
   Returns 0 or -1. */
static int s_info_pass(rrdwriter_apply_t *a, bool skip_absent, dp_err_t *err)
{
    uint64_t gen = *a->c.reconnects;
    const char *names[S_INFO_CHUNK];
    rrdwriter_apply_file_t *which[S_INFO_CHUNK];
    rrdwriter_batch_info_t *info = NULL;
    int rc = 0;
    for (size_t i = 0, n = 0; rc == 0 && i < a->n_resolve; i++) {
        rrdwriter_apply_file_t *f = a->resolve[i];
        bool absent = !f->sig && skip_absent && a->creator &&
                      rrdwriter_create_absent(a->creator, f->path, gen);
        if (absent)
            (*a->c.info_skipped)++;
        else if (!f->sig)
            which[n] = f, names[n++] = f->path;
        if (n == 0 || (n < S_INFO_CHUNK && i + 1 < a->n_resolve))
            continue;
        if (!info && !(info = malloc(S_INFO_CHUNK * sizeof *info)))
            abort();
        rc = rrdwriter_batch_info(a->rc, names, n, info, err);
        if (rc == 0)
            s_info_learn(a, which, info, n);
        n = 0;
    }
    free(info);
    return rc;
}

typedef struct {
    rrdwriter_apply_t *a;
    rrdwriter_apply_file_t **which; /* file of each CREATE */
    bool exists_seen;               /* some file was created by someone else meanwhile */
} s_create_ctx_t;

static void s_created(rrdwriter_apply_t *a, rrdwriter_apply_file_t *f)
{
    f->sig = f->want;
    f->last_ts = f->first_ts - 1;
    (*a->c.creates)++;
}

static void s_on_create(void *arg, size_t index, int status, const char *text)
{
    s_create_ctx_t *ctx = arg;
    rrdwriter_apply_t *a = ctx->a;
    rrdwriter_apply_file_t *f = ctx->which[index];
    if (status >= 0) {
        s_created(a, f);
    } else if (strstr(text, "File exists")) {
        ctx->exists_seen = true;
    } else {
        (*a->c.create_errors)++;
        uint64_t suppressed;
        if (rrdwriter_apply_ratelog_ok(&a->log_error, &suppressed))
            dp_log_error("rrdcached CREATE failed", "rrd=%s error=\"%s\" suppressed=%llu", f->path,
                         text, (unsigned long long)suppressed);
    }
}

/* CREATE through rrdcached for the n files in which[] (-O: never over an existing file).
   Returns 0 or -1 (connection lost). */
static int s_create_remote(rrdwriter_apply_t *a, rrdwriter_apply_file_t **which, size_t n,
                           bool *exists_seen, dp_err_t *err)
{
    char **cmds = calloc(n + 1, sizeof *cmds);
    if (!cmds)
        abort();
    for (size_t i = 0; i < n; i++) {
        rrdwriter_apply_file_t *f = which[i];
        char *cmd = malloc(S_CREATE_MAX);
        if (!cmd)
            abort();
        size_t len = (size_t)snprintf(cmd, S_CREATE_MAX, "CREATE %s -s %d -b %lld -O", f->path,
                                      a->cfg.step_s, (long long)(f->first_ts - 1));
        for (int k = 0; k < f->want->n && len < S_CREATE_MAX; k++) {
            cmd[len++] = ' ';
            rrdwriter_def_ds_create_arg(&f->want->ds[k], a->cfg.step_s, cmd + len,
                                        S_CREATE_MAX - len);
            len += strlen(cmd + len);
        }
        for (int k = 0; k < a->cfg.rras.count && len < S_CREATE_MAX; k++)
            len += (size_t)snprintf(cmd + len, S_CREATE_MAX - len, " %s", a->cfg.rras.rra[k]);
        cmds[i] = cmd;
    }
    s_create_ctx_t ctx = {.a = a, .which = which};
    int rc = rrdwriter_batch_commands(a->rc, (const char *const *)cmds, n, s_on_create, &ctx, err);
    *exists_seen = *exists_seen || ctx.exists_seen;
    for (size_t i = 0; i < n; i++)
        free(cmds[i]);
    free(cmds);
    return rc;
}

void rrdwriter_apply_creator_open(rrdwriter_apply_t *a, const char *rrd_dir)
{
    dp_err_t e = {0};
    if (rrd_dir && *rrd_dir &&
        !(a->creator = rrdwriter_create_new(rrd_dir, a->cfg.step_s, &a->cfg.rras, &e)))
        dp_log_notice("RRD directory not usable here: files are created through rrdcached",
                      "detail=\"%s\"", e.text);
}

typedef struct {
    int status; /* of the probe's UPDATE */
    char text[160];
} s_probe_t;

static void s_on_probe(void *arg, size_t index, int status, const char *text)
{
    s_probe_t *p = arg;
    if (index == 0) {
        p->status = status;
        snprintf(p->text, sizeof p->text, "%s", text);
    }
}

/* Whether rrdcached sees and can write the files we make in our RRD directory: once per
   connection, a probe file made here is UPDATEd (then FORGOTten) through rrdcached.
   Returns 1 yes, 0 no, -1 connection lost. */
static int s_local_ok(rrdwriter_apply_t *a, dp_err_t *err)
{
    if (!a->creator)
        return 0;
    uint64_t gen = *a->c.reconnects;
    int shared = rrdwriter_create_shared(a->creator, gen);
    if (shared >= 0)
        return shared;
    char name[RRDWRITER_CREATE_PROBE_MAX], upd[RRDWRITER_CREATE_PROBE_MAX + 40],
        fgt[RRDWRITER_CREATE_PROBE_MAX + 8];
    dp_err_t e = {0};
    s_probe_t probe = {.status = -1};
    int rc = 0;
    if (rrdwriter_create_probe_make(a->creator, name, sizeof name, &e) == 0) {
        snprintf(upd, sizeof upd, "UPDATE %s %lld:1", name, (long long)(dp_time_wall_ms() / 1000));
        snprintf(fgt, sizeof fgt, "FORGET %s", name);
        const char *cmds[] = {upd, fgt};
        rc = rrdwriter_batch_commands(a->rc, cmds, 2, s_on_probe, &probe, err);
        snprintf(e.text, sizeof e.text, "%s", probe.text);
    }
    rrdwriter_create_probe_done(a->creator, name, rc == 0 && probe.status >= 0, gen);
    if (rc != 0)
        return -1;
    if (probe.status >= 0)
        dp_log_notice("RRD directory shared with rrdcached: creating files here", "dir=%s",
                      rrdwriter_create_dir(a->creator));
    else
        dp_log_notice("rrdcached cannot use files made here: CREATE through rrdcached",
                      "dir=%s detail=\"%s\"", rrdwriter_create_dir(a->creator), e.text);
    return probe.status >= 0;
}

/* Creates the n files in which[] here; leaves in which[0..*left) those to CREATE through
   rrdcached instead (local failures, reported by rrdcached then). */
static void s_create_local(rrdwriter_apply_t *a, rrdwriter_apply_file_t **which, size_t n,
                           size_t *left, bool *exists_seen)
{
    rrdwriter_create_job_t *jobs = calloc(n + 1, sizeof *jobs);
    if (!jobs)
        abort();
    for (size_t i = 0; i < n; i++)
        jobs[i] = (rrdwriter_create_job_t){.path = which[i]->path,
                                           .ds = which[i]->want->ds,
                                           .n_ds = which[i]->want->n,
                                           .last_up_s = which[i]->first_ts - 1};
    rrdwriter_create_files(a->creator, jobs, n);
    dp_counter_t *local = dp_stats_counter(a->cfg.stats, "creates_local");
    *left = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].status == RRDWRITER_CREATE_DONE) {
            s_created(a, which[i]);
            (*local)++;
        } else if (jobs[i].status == RRDWRITER_CREATE_EXISTS) {
            *exists_seen = true;
        } else {
            uint64_t suppressed;
            if (rrdwriter_apply_ratelog_ok(&a->log_error, &suppressed))
                dp_log_warn("local create failed: CREATE through rrdcached",
                            "rrd=%s error=\"%s\" suppressed=%llu", which[i]->path, jobs[i].error,
                            (unsigned long long)suppressed);
            which[(*left)++] = which[i];
        }
    }
    free(jobs);
}

/* Creates every listed file without a DS list that wants one: here when rrdcached shares the
   RRD directory, else (and for local failures) with CREATE through rrdcached.
   Returns 0 or -1 (connection lost). */
static int s_create_pass(rrdwriter_apply_t *a, bool *exists_seen, dp_err_t *err)
{
    size_t n = 0;
    rrdwriter_apply_file_t **which = calloc(a->n_resolve + 1, sizeof *which);
    if (!which)
        abort();
    for (size_t i = 0; i < a->n_resolve; i++)
        if (!a->resolve[i]->sig && a->resolve[i]->want)
            which[n++] = a->resolve[i];
    int rc = n > 0 ? s_local_ok(a, err) : 0;
    if (rc > 0)
        s_create_local(a, which, n, &n, exists_seen);
    if (rc >= 0)
        rc = n > 0 ? s_create_remote(a, which, n, exists_seen, err) : 0;
    free(which);
    return rc < 0 ? -1 : 0;
}

/* Learns or creates every file in a->resolve. Returns 0 or -1 (connection lost). */
int rrdwriter_apply_resolve(rrdwriter_apply_t *a, dp_err_t *err)
{
    bool exists_seen = false;
    int rc = 0;
    if (a->n_resolve > 0) {
        /* the sharing verdict first: in a shared directory absent files need no INFO */
        int shared = s_local_ok(a, err);
        rc = shared < 0 ? -1 : s_info_pass(a, shared > 0, err);
        if (rc == 0)
            rc = s_create_pass(a, &exists_seen, err);
        if (rc == 0 && exists_seen)
            rc = s_info_pass(a, false, err);
    }
    for (size_t i = 0; i < a->n_resolve; i++)
        a->resolve[i]->resolving = false;
    a->n_resolve = 0;
    return rc;
}
