/*  rrdwriter_apply.c - the rrdwriter's apply thread: spool -> validated updates -> rrdcached
    Thread rules: the queue, committed/first positions and the stop flag are guarded by
    a->lock; applied and up are atomics; everything else belongs to the thread.
    File knowledge: a file's DS list (names and types, in order) comes from our own CREATE or,
    for a file made by someone else, from rrdcached's INFO, once per file per process. An update
    is sent only when its DS list has the same names and types in the same order (so the value
    count matches), its values suit the DS types and its timestamp is newer than the last we
    know. DS lists are interned, so that check is one pointer comparison. Files are learned
    or created in rrdwriter_apply_create.c (rrdwriter_apply_priv.h).
    SPDX-License-Identifier: MIT */
#include "rrdwriter_apply_priv.h"

#include "dp_log.h"
#include "dp_time.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_FUTURE_SLACK_S RRDWRITER_DEF_FUTURE_SLACK_S
#define S_IDLE_WAIT_MS   1000 /* wake-up period when idle */
#define S_PING_EVERY_MS  2000 /* health check while idle */
#define S_BACKOFF_MIN_MS 100  /* reconnect backoff */
#define S_BACKOFF_MAX_MS 2000
#define S_LOG_EVERY_MS   10000 /* rate limit of repeated warnings */
#define S_TRIM_EVERY_MS  10000 /* malloc_trim when idle at most this often ... */
#define S_TRIM_BYTES     RRDWRITER_APPLY_QUEUE_BYTES /* ... after this many bytes applied */
#define S_SIG_MAX        (RRDWRITER_BATCH_DS_MAX * (RRDWRITER_DEF_DS_NAME_MAX + 10))
#define S_JOIN_MAX       (DP_MSG_DS_MAX * (DP_MSG_DS_DEF_MAX + 1) + 1)
#define S_LINE_MAX       (DP_MSG_PATH_MAX + RRDWRITER_DEF_UPDATE_MAX + DP_MSG_DS_MAX * 24 + 16)
#define S_PATH_CHARS     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:,+-/"

/* One wire DS list ("ds" of an update joined by '|'), parsed once. */
typedef struct {
    const rrdwriter_apply_sig_t *sig; /* interned names+types, NULL when a definition is bad */
} s_dsset_t;

//  --------------------------------------------------------------------------
//  Small helpers

void *rrdwriter_apply_grow(void *p, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    p = realloc(p, c * item);
    if (!p)
        abort();
    *cap = c;
    return p;
}

bool rrdwriter_apply_ratelog_ok(rrdwriter_apply_ratelog_t *r, uint64_t *suppressed)
{
    int64_t now = dp_time_mono_ms();
    if (r->last_ms && now - r->last_ms < S_LOG_EVERY_MS) {
        r->suppressed++;
        return false;
    }
    *suppressed = r->suppressed;
    r->last_ms = now;
    r->suppressed = 0;
    return true;
}

static void s_reject(rrdwriter_apply_t *a, dp_counter_t *why, const char *rrd, const char *text)
{
    (*a->c.updates_rejected)++;
    (*why)++;
    uint64_t suppressed;
    if (rrdwriter_apply_ratelog_ok(&a->log_reject, &suppressed))
        dp_log_warn("update rejected", "rrd=%s reason=\"%s\" suppressed=%llu", rrd, text,
                    (unsigned long long)suppressed);
}

static void s_counters(rrdwriter_apply_t *a)
{
    dp_stats_t *st = a->cfg.stats;
    rrdwriter_apply_counters_t *c = &a->c;
#define S_C(f, name) c->f = dp_stats_counter(st, name)
    S_C(updates_sent, "updates_sent");
    S_C(updates_applied, "updates_applied");
    S_C(updates_rejected, "updates_rejected");
    S_C(rej_path, "rejected_path");
    S_C(rej_ds, "rejected_ds");
    S_C(rej_ds_mismatch, "rejected_ds_mismatch");
    S_C(rej_value, "rejected_value");
    S_C(rej_future, "rejected_future");
    S_C(rej_nofile, "rejected_no_file");
    S_C(illegal_old, "illegal_old");
    S_C(replay_dup, "replay_already_applied");
    S_C(update_errors, "update_errors");
    S_C(creates, "creates");
    S_C(create_errors, "create_errors");
    S_C(batch_errors, "batch_errors");
    S_C(batches, "batches");
    S_C(reconnects, "rrdcached_connects");
    S_C(spool_corrupt, "spool_corrupt");
    S_C(rrdcached_up, "rrdcached_up");
    S_C(messages_applied, "messages_applied");
    S_C(malloc_trims, "malloc_trims");
    S_C(info_skipped, "info_skipped");
    S_C(files_known, "files_known");
    S_C(files_bytes, "file_table_bytes");
#undef S_C
}

//  --------------------------------------------------------------------------
//  Interning of DS lists

const rrdwriter_apply_sig_t *rrdwriter_apply_sig_intern(rrdwriter_apply_t *a,
                                                        const rrdwriter_apply_sig_t *sig)
{
    char text[S_SIG_MAX];
    size_t len = 0;
    static const char *const types[] = {"GAUGE", "COUNTER", "DERIVE", "ABSOLUTE"};
    for (int i = 0; i < sig->n; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s:%s,", sig->ds[i].name,
                                types[sig->ds[i].type]);
    rrdwriter_apply_sig_t *found = zhashx_lookup(a->sigs, text);
    if (found)
        return found;
    rrdwriter_apply_sig_t *copy = malloc(sizeof *copy);
    if (!copy)
        abort();
    *copy = *sig;
    zhashx_insert(a->sigs, text, copy);
    return copy;
}

/* The interned DS list of a wire DS list (n definitions), or NULL (err set) when a definition
   is bad. One hash lookup of the joined text; each distinct list is parsed once. */
static const rrdwriter_apply_sig_t *s_ds_sig(rrdwriter_apply_t *a, const char *const *ds, size_t n,
                                             dp_err_t *err)
{
    char join[S_JOIN_MAX];
    size_t len = 0;
    for (size_t i = 0; ds && i < n && i < DP_MSG_DS_MAX; i++) {
        size_t k = strnlen(ds[i], DP_MSG_DS_DEF_MAX);
        memcpy(join + len, ds[i], k);
        len += k;
        join[len++] = '|';
    }
    join[len] = '\0';
    s_dsset_t *set = zhashx_lookup(a->dssets, join);
    if (set) {
        if (!set->sig)
            dp_err_set(err, DP_ERR_PROTO, "bad DS definition in '%.100s'", join);
        return set->sig;
    }
    rrdwriter_apply_sig_t sig = {.n = (int)n};
    bool ok = ds && n > 0 && n <= DP_MSG_DS_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = rrdwriter_def_ds_parse(ds[i], &sig.ds[i], err) == 0;
    set = calloc(1, sizeof *set);
    if (!set)
        abort();
    set->sig = ok ? rrdwriter_apply_sig_intern(a, &sig) : NULL;
    zhashx_insert(a->dssets, join, set);
    return set->sig;
}

/* The interned DS list of every dset of m, looked up once per message (sigs[k] NULL: bad). */
static void s_dset_sigs(rrdwriter_apply_t *a, const dp_msg_metrics_t *m,
                        const rrdwriter_apply_sig_t *sigs[DP_MSG_DSETS_MAX])
{
    for (size_t k = 0; k < m->n_dsets && k < DP_MSG_DSETS_MAX; k++)
        sigs[k] = s_ds_sig(a, (const char *const *)m->dsets[k].ds, m->dsets[k].n_ds, NULL);
}

/* The interned DS list of update u (through its dset's, else its own ds), or NULL (err). */
static const rrdwriter_apply_sig_t *
s_update_sig(rrdwriter_apply_t *a, const dp_msg_metrics_t *m, const dp_msg_rrd_update_t *u,
             const rrdwriter_apply_sig_t *const sigs[DP_MSG_DSETS_MAX], dp_err_t *err)
{
    if (u->dset > 0 && (size_t)u->dset <= m->n_dsets && u->dset <= DP_MSG_DSETS_MAX) {
        if (!sigs[u->dset - 1])
            dp_err_set(err, DP_ERR_PROTO, "bad DS definition in dsets[%d]", u->dset - 1);
        return sigs[u->dset - 1];
    }
    size_t n = 0;
    const char *const *ds = dp_msg_update_ds(m, u, &n);
    return s_ds_sig(a, ds, n, err);
}

static bool s_path_ok(const char *rrd)
{
    size_t len = strlen(rrd);
    return len > 4 && strcmp(rrd + len - 4, ".rrd") == 0 && strspn(rrd, S_PATH_CHARS) == len &&
           rrd[0] != '/' && !strstr(rrd, "//") && !strstr(rrd, "/../") &&
           strncmp(rrd, "../", 3) != 0;
}

/* The known file for rrd, or NULL when its path is not acceptable. Only paths that passed
   s_path_ok are ever entered, so a known file skips the check. */
static rrdwriter_apply_file_t *s_file_checked(rrdwriter_apply_t *a, const char *rrd)
{
    rrdwriter_apply_file_t *f = rrdwriter_files_find(a->files, rrd);
    if (f)
        return f;
    return s_path_ok(rrd) ? rrdwriter_files_get(a->files, rrd) : NULL;
}

//  --------------------------------------------------------------------------
//  Round step 1: collect messages (from the queue while it lines up, else from disk)

static bool s_take_queued(rrdwriter_apply_t *a, rrdwriter_apply_item_t *out, uint64_t *limit)
{
    bool took = false;
    pthread_mutex_lock(&a->lock);
    *limit = a->committed;
    while (a->q_len > 0) {
        rrdwriter_apply_item_t *head = &a->queue[a->q_head];
        if (head->start_lsn < a->cursor) { /* already read from disk */
            dp_msg_destroy(&head->msg);
        } else if (head->start_lsn == a->cursor) {
            *out = *head;
            took = true;
        } else {
            *limit = head->start_lsn; /* read the gap from disk first */
            break;
        }
        a->q_head = (a->q_head + 1) % RRDWRITER_APPLY_QUEUE_MAX;
        a->q_len--;
        a->q_bytes -= head->end_lsn - head->start_lsn;
        if (took)
            break;
    }
    pthread_mutex_unlock(&a->lock);
    return took;
}

/* Adds messages to a->work until the round holds batch_max updates or nothing is left.
   Returns the number of updates collected. */
static size_t s_collect(rrdwriter_apply_t *a)
{
    size_t updates = 0;
    while (updates < (size_t)a->cfg.batch_max) {
        rrdwriter_apply_item_t it = {0};
        uint64_t limit;
        if (!s_take_queued(a, &it, &limit)) {
            const void *data;
            size_t size;
            dp_err_t err = {0};
            uint64_t start = a->cursor;
            int rc = rrdwriter_spool_reader_next(a->reader, &a->cursor, limit, &data, &size, &err);
            if (rc < 0) {
                (*a->c.spool_corrupt)++;
                dp_log_error("spool segment corrupt, skipped", "error=\"%s\"", err.text);
                continue;
            }
            if (rc == 0) {
                if (a->cursor < limit)
                    continue;
                break;
            }
            it.msg = dp_msg_decode(data, size, &err);
            it.start_lsn = start;
            it.end_lsn = a->cursor;
            if (!it.msg || it.msg->type != DP_MSG_METRICS) {
                (*a->c.spool_corrupt)++;
                dp_log_error("undecodable spool frame skipped", "error=\"%s\"", err.text);
                dp_msg_destroy(&it.msg);
                continue;
            }
        }
        a->cursor = it.end_lsn;
        a->work = rrdwriter_apply_grow(a->work, &a->cap_work, a->n_work + 1, sizeof *a->work);
        a->work[a->n_work++] = it;
        updates += it.msg->metrics.n_updates;
    }
    return updates;
}

//  --------------------------------------------------------------------------
//  Round step 3: validate and format the update lines

static void s_old(rrdwriter_apply_t *a, bool replay, const char *rrd, const char *text)
{
    if (replay) {
        (*a->c.replay_dup)++;
        return;
    }
    (*a->c.illegal_old)++;
    uint64_t suppressed;
    if (rrdwriter_apply_ratelog_ok(&a->log_old, &suppressed))
        dp_log_notice("update older than the file's last one, dropped",
                      "rrd=%s detail=\"%s\" suppressed=%llu", rrd, text,
                      (unsigned long long)suppressed);
}

/* Appends "UPDATE <rrd> ts:v:v...\n" to the BATCH text (formatted in place). */
static void s_add_line(rrdwriter_apply_t *a, const dp_msg_rrd_update_t *u,
                       rrdwriter_apply_file_t *f, int64_t ts, bool replay)
{
    size_t plen = strlen(u->rrd);
    a->text = rrdwriter_apply_grow(a->text, &a->text_cap, a->text_len + S_LINE_MAX, 1);
    char *start = a->text + a->text_len, *p = start;
    memcpy(p, "UPDATE ", 7);
    memcpy(p + 7, u->rrd, plen);
    p[7 + plen] = ' ';
    p += 8 + plen;
    char *end = rrdwriter_batch_put_values(p, ts, u->values, u->n_values);
    if (!end) {
        size_t room = S_LINE_MAX - (size_t)(p - start) - 1;
        if (rrdwriter_def_format_update(p, room, ts, u->values, (int)u->n_values) != 0) {
            s_reject(a, a->c.rej_value, u->rrd, "value cannot be formatted");
            return;
        }
        end = p + strlen(p);
    }
    *end++ = '\n';
    size_t len = (size_t)(end - start);
    a->lines = rrdwriter_apply_grow(a->lines, &a->cap_lines, a->n_lines + 1, sizeof *a->lines);
    a->lines[a->n_lines++] = (rrdwriter_apply_line_t){
        .file = f, .ts = ts, .replay = replay, .off = a->text_len, .len = len};
    a->text_len += len;
    f->last_ts = ts;
}

/* Validates update u of m (its file f from s_plan, NULL: bad path) and adds its line. */
static void s_check_update(rrdwriter_apply_t *a, const dp_msg_metrics_t *m,
                           const dp_msg_rrd_update_t *u, rrdwriter_apply_file_t *f,
                           const rrdwriter_apply_sig_t *const sigs[DP_MSG_DSETS_MAX], bool replay,
                           int64_t now_s)
{
    dp_err_t err; /* written only on a failure: not cleared per update (hot loop) */
    err.code = DP_ERR_NONE;
    err.text[0] = '\0';
    int64_t ts = m->ts;
    if (!f) {
        s_reject(a, a->c.rej_path, u->rrd, "path: expected <host>/<name>.rrd of [A-Za-z0-9._:,+-]");
        return;
    }
    const rrdwriter_apply_sig_t *sig = s_update_sig(a, m, u, sigs, &err);
    if (!sig) {
        s_reject(a, a->c.rej_ds, u->rrd, err.text);
        return;
    }
    if (!f->sig) {
        s_reject(a, a->c.rej_nofile, u->rrd, "file could not be created or read");
        return;
    }
    if (f->sig != sig) {
        char text[160];
        snprintf(text, sizeof text, "ds: %d data sources (%s...) differ from the file's %d (%s...)",
                 sig->n, sig->ds[0].name, f->sig->n, f->sig->ds[0].name);
        s_reject(a, a->c.rej_ds_mismatch, u->rrd, text);
        return;
    }
    for (int i = 0; i < sig->n; i++) {
        if (rrdwriter_def_check_ds_value(&sig->ds[i], u->values[i], &err) != 0) {
            s_reject(a, a->c.rej_value, u->rrd, err.text);
            return;
        }
    }
    if (ts <= 0 || ts > now_s + S_FUTURE_SLACK_S) {
        s_reject(a, a->c.rej_future, u->rrd, "ts: not positive or too far in the future");
        return;
    }
    if (f->last_ts > 0 && ts <= f->last_ts) {
        s_old(a, replay, u->rrd, "timestamp not after the last update sent");
        return;
    }
    s_add_line(a, u, f, ts, replay);
}

static void s_plan(rrdwriter_apply_t *a)
{
    /* first pass: which files need INFO or CREATE (done by the caller in between) */
    size_t k = 0;
    for (size_t w = 0; w < a->n_work; w++) {
        const dp_msg_metrics_t *m = &a->work[w].msg->metrics;
        const rrdwriter_apply_sig_t *sigs[DP_MSG_DSETS_MAX] = {0};
        s_dset_sigs(a, m, sigs);
        a->ufile =
            rrdwriter_apply_grow(a->ufile, &a->cap_ufile, k + m->n_updates, sizeof *a->ufile);
        for (size_t i = 0; i < m->n_updates; i++) {
            const dp_msg_rrd_update_t *u = &m->updates[i];
            rrdwriter_apply_file_t *f = a->ufile[k++] = s_file_checked(a, u->rrd);
            if (!f || f->sig)
                continue; /* bad path (rejected later) or known file */
            const rrdwriter_apply_sig_t *sig = s_update_sig(a, m, u, sigs, NULL);
            if (sig)
                rrdwriter_apply_want(a, f, sig, m->ts);
        }
    }
}

static void s_format(rrdwriter_apply_t *a)
{
    int64_t now_s = dp_time_wall_ms() / 1000;
    size_t k = 0;
    for (size_t w = 0; w < a->n_work; w++) {
        const dp_msg_metrics_t *m = &a->work[w].msg->metrics;
        const rrdwriter_apply_sig_t *sigs[DP_MSG_DSETS_MAX] = {0};
        s_dset_sigs(a, m, sigs);
        bool replay = a->work[w].end_lsn <= a->replay_end;
        for (size_t i = 0; i < m->n_updates; i++)
            s_check_update(a, m, &m->updates[i], a->ufile[k++], sigs, replay, now_s);
    }
}

//  --------------------------------------------------------------------------
//  Round step 4: BATCH and error mapping

static void s_on_batch_error(void *arg, size_t index, int status, const char *text)
{
    (void)status;
    rrdwriter_apply_t *a = arg;
    rrdwriter_apply_line_t *l = &a->lines[index];
    a->round_errors++;
    const char *last = strstr(text, "last update time is ");
    if (strstr(text, "illegal attempt to update") && last) {
        int64_t t = (int64_t)strtod(last + 20, NULL);
        if (t > l->file->last_ts)
            l->file->last_ts = t;
        s_old(a, l->replay, l->file->path, text);
        return;
    }
    (*a->c.batch_errors)++;
    if (strstr(text, "No such file") && !l->retry) {
        l->retry = true;
        if (l->file->sig)
            l->file->want = l->file->sig;
        l->file->sig = NULL; /* removed behind our back: create it again */
        l->file->last_ts = 0;
        return;
    }
    (*a->c.update_errors)++;
    uint64_t suppressed;
    if (rrdwriter_apply_ratelog_ok(&a->log_error, &suppressed))
        dp_log_error("rrdcached refused an update", "rrd=%s error=\"%s\" suppressed=%llu",
                     l->file->path, text, (unsigned long long)suppressed);
}

/* Sends the lines marked retry once more, after creating their files. Returns 0 or -1. */
static int s_retry(rrdwriter_apply_t *a, dp_err_t *err)
{
    size_t n = 0, len = 0;
    for (size_t i = 0; i < a->n_lines; i++) {
        if (!a->lines[i].retry)
            continue;
        rrdwriter_apply_want(a, a->lines[i].file, a->lines[i].file->want, a->lines[i].ts);
    }
    if (rrdwriter_apply_resolve(a, err) != 0)
        return -1;
    char *text = malloc(a->text_len + 1);
    rrdwriter_apply_line_t *lines = calloc(a->n_lines + 1, sizeof *lines);
    if (!text || !lines)
        abort();
    for (size_t i = 0; i < a->n_lines; i++) {
        rrdwriter_apply_line_t *l = &a->lines[i];
        if (!l->retry)
            continue;
        if (!l->file->sig) {
            (*a->c.update_errors)++;
            continue;
        }
        memcpy(text + len, a->text + l->off, l->len);
        lines[n] = *l;
        lines[n].off = len;
        len += l->len;
        n++;
    }
    rrdwriter_apply_line_t *saved = a->lines;
    a->lines = lines;
    int rc = rrdwriter_batch_run(a->rc, text, len, n, s_on_batch_error, a, err);
    a->round_sent += n;
    a->lines = saved;
    free(text);
    free(lines);
    return rc < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  One round: collect, resolve, format, BATCH. Returns 0 or -1 (connection lost).

static void s_free_work(rrdwriter_apply_t *a)
{
    for (size_t i = 0; i < a->n_work; i++)
        dp_msg_destroy(&a->work[i].msg);
    a->n_work = 0;
    a->n_lines = 0;
    a->text_len = 0;
}

static int s_round(rrdwriter_apply_t *a)
{
    dp_err_t err = {0};
    s_collect(a);
    if (a->n_work == 0)
        return 0;
    s_plan(a);
    *a->c.files_known = rrdwriter_files_count(a->files);
    *a->c.files_bytes = rrdwriter_files_bytes(a->files);
    int rc = rrdwriter_apply_resolve(a, &err);
    if (rc == 0) {
        s_format(a);
        if (a->work[a->n_work - 1].end_lsn > a->sent_hwm)
            a->sent_hwm = a->work[a->n_work - 1].end_lsn;
        a->round_sent = a->n_lines;
        a->round_errors = 0;
        int errors =
            rrdwriter_batch_run(a->rc, a->text, a->text_len, a->n_lines, s_on_batch_error, a, &err);
        rc = errors < 0 ? -1 : 0;
        bool any_retry = false;
        for (size_t i = 0; rc == 0 && errors > 0 && i < a->n_lines; i++)
            any_retry = any_retry || a->lines[i].retry;
        if (any_retry)
            rc = s_retry(a, &err);
    }
    if (rc == 0) {
        (*a->c.batches)++;
        *a->c.updates_sent += a->round_sent;
        *a->c.updates_applied += a->round_sent - a->round_errors;
        *a->c.messages_applied += a->n_work;
        int64_t now_ms = dp_time_wall_ms();
        for (size_t i = 0; a->cfg.trace && i < a->n_work; i++)
            rrdwriter_trace_written(a->cfg.trace, a->work[i].msg->metrics.device_id,
                                    a->work[i].msg->metrics.job_id, now_ms);
        for (size_t i = 0; i < a->n_work; i++)
            a->trim_bytes += a->work[i].end_lsn - a->work[i].start_lsn;
        uint64_t done = a->work[a->n_work - 1].end_lsn;
        if (done > atomic_load(&a->applied))
            atomic_store(&a->applied, done);
        a->last_io_ms = dp_time_mono_ms();
    } else {
        dp_log_warn("rrdcached connection lost", "error=\"%s\"", err.text);
    }
    s_free_work(a);
    return rc;
}

//  --------------------------------------------------------------------------
//  Connection state

static void s_set_down(rrdwriter_apply_t *a)
{
    rrdwriter_batch_disconnect(a->rc);
    if (atomic_exchange(&a->up, false))
        dp_log_warn("rrdcached down: spooling", "address=%s", a->cfg.rrdcached);
    *a->c.rrdcached_up = 0;
}

/* Connects; on success rewinds to the oldest spooled frame (rrdcached may have lost its
   unsynced journal tail) and forgets the per-file timestamps. Returns 0 or -1. */
static int s_connect(rrdwriter_apply_t *a, uint64_t first)
{
    dp_err_t err = {0};
    if (rrdwriter_batch_connect(a->rc, &err) != 0 || rrdwriter_batch_ping(a->rc, &err) != 0) {
        dp_log_debug("rrdcached connect failed", "error=\"%s\"", err.text);
        return -1;
    }
    if (a->sent_hwm > a->replay_end)
        a->replay_end = a->sent_hwm;
    if (first < a->cursor)
        a->cursor = first;
    for (size_t i = 0; i < rrdwriter_files_count(a->files); i++)
        rrdwriter_files_at(a->files, i)->last_ts = 0;
    (*a->c.reconnects)++;
    *a->c.rrdcached_up = 1;
    atomic_store(&a->up, true);
    a->last_io_ms = dp_time_mono_ms();
    dp_log_notice("rrdcached up", "address=%s replay_from_seg=%llu", a->cfg.rrdcached,
                  (unsigned long long)RRDWRITER_SPOOL_SEG(a->cursor));
    return 0;
}

static void s_wait(rrdwriter_apply_t *a, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L)
        ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&a->lock);
    if (!a->stop)
        pthread_cond_timedwait(&a->wake, &a->lock, &ts);
    pthread_mutex_unlock(&a->lock);
}

/* Idle after a burst: hands the memory freed since back to the system (glibc keeps a
   thread arena's peak otherwise; the loop thread's decoded messages are freed here). */
static void s_trim(rrdwriter_apply_t *a)
{
    int64_t now_ms = dp_time_mono_ms();
    if (a->trim_bytes < S_TRIM_BYTES || now_ms - a->trim_ms < S_TRIM_EVERY_MS)
        return;
    malloc_trim(0);
    (*a->c.malloc_trims)++;
    a->trim_bytes = 0;
    a->trim_ms = now_ms;
}

static void *s_thread(void *arg)
{
    rrdwriter_apply_t *a = arg;
    int backoff_ms = S_BACKOFF_MIN_MS;
    for (;;) {
        pthread_mutex_lock(&a->lock);
        bool stop = a->stop;
        uint64_t committed = a->committed, first = a->first;
        pthread_mutex_unlock(&a->lock);
        if (stop)
            break;
        if (!rrdwriter_batch_is_connected(a->rc)) {
            if (s_connect(a, first) != 0) {
                s_wait(a, backoff_ms);
                backoff_ms = backoff_ms * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : backoff_ms * 2;
            } else {
                backoff_ms = S_BACKOFF_MIN_MS;
            }
            continue;
        }
        if (a->cursor >= committed) {
            if (dp_time_mono_ms() - a->last_io_ms >= S_PING_EVERY_MS) {
                dp_err_t err = {0};
                if (rrdwriter_batch_ping(a->rc, &err) != 0)
                    s_set_down(a);
                else
                    a->last_io_ms = dp_time_mono_ms();
                continue;
            }
            s_trim(a);
            pthread_mutex_lock(&a->lock);
            if (!a->stop && a->cursor >= a->committed) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += S_IDLE_WAIT_MS / 1000;
                pthread_cond_timedwait(&a->wake, &a->lock, &ts);
            }
            pthread_mutex_unlock(&a->lock);
            continue;
        }
        if (s_round(a) != 0)
            s_set_down(a);
    }
    return NULL;
}

//  --------------------------------------------------------------------------
rrdwriter_apply_t *rrdwriter_apply_start(const rrdwriter_apply_cfg_t *cfg, dp_err_t *err)
{
    if (!cfg || !cfg->spool_dir || !cfg->stats || cfg->step_s < 1 || cfg->rras.count < 1) {
        dp_err_set(err, DP_ERR_CONFIG, "apply: incomplete configuration");
        return NULL;
    }
    rrdwriter_apply_t *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->cfg = *cfg;
    if (a->cfg.batch_max <= 0)
        a->cfg.batch_max = RRDWRITER_APPLY_BATCH_MAX;
    if (a->cfg.timeout_ms <= 0)
        a->cfg.timeout_ms = RRDWRITER_APPLY_TIMEOUT_MS;
    a->cfg.spool_dir = strdup(cfg->spool_dir);
    a->cfg.rrdcached = strdup(cfg->rrdcached ? cfg->rrdcached : "");
    if (!a->cfg.spool_dir || !a->cfg.rrdcached)
        abort();
    a->rc = rrdwriter_batch_new(a->cfg.rrdcached, a->cfg.timeout_ms, err);
    if (!a->rc) {
        free((char *)a->cfg.spool_dir);
        free((char *)a->cfg.rrdcached);
        free(a);
        return NULL;
    }
    a->queue = calloc(RRDWRITER_APPLY_QUEUE_MAX, sizeof *a->queue);
    if (!a->queue)
        abort();
    a->reader = rrdwriter_spool_reader_new(a->cfg.spool_dir);
    rrdwriter_apply_creator_open(a, cfg->rrd_dir);
    a->files = rrdwriter_files_new();
    a->sigs = zhashx_new();
    a->dssets = zhashx_new();
    zhashx_set_destructor(a->sigs, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_destructor(a->dssets, (zhashx_destructor_fn *)zstr_free);
    a->cursor = cfg->start_lsn;
    a->first = cfg->start_lsn;
    a->committed = cfg->committed_lsn;
    a->replay_end = cfg->replay_end_lsn;
    atomic_store(&a->applied, cfg->start_lsn);
    s_counters(a);
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    if (pthread_create(&a->thread, NULL, s_thread, a) != 0)
        abort();
    return a;
}

//  --------------------------------------------------------------------------
void rrdwriter_apply_stop(rrdwriter_apply_t **p)
{
    if (!p || !*p)
        return;
    rrdwriter_apply_t *a = *p;
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_broadcast(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    for (size_t i = 0; i < a->q_len; i++)
        dp_msg_destroy(&a->queue[(a->q_head + i) % RRDWRITER_APPLY_QUEUE_MAX].msg);
    s_free_work(a);
    rrdwriter_files_destroy(&a->files);
    zhashx_destroy(&a->sigs);
    zhashx_destroy(&a->dssets);
    rrdwriter_spool_reader_destroy(&a->reader);
    rrdwriter_batch_destroy(&a->rc);
    rrdwriter_create_destroy(&a->creator);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    free(a->queue);
    free(a->work);
    free(a->text);
    free(a->lines);
    free(a->resolve);
    free(a->ufile);
    free((char *)a->cfg.spool_dir);
    free((char *)a->cfg.rrdcached);
    free(a);
    *p = NULL;
}

//  --------------------------------------------------------------------------
void rrdwriter_apply_push(rrdwriter_apply_t *a, dp_msg_t **msg, uint64_t start_lsn,
                          uint64_t end_lsn)
{
    pthread_mutex_lock(&a->lock);
    uint64_t bytes = end_lsn - start_lsn;
    if (a->q_len < RRDWRITER_APPLY_QUEUE_MAX &&
        (a->q_len == 0 || a->q_bytes + bytes <= RRDWRITER_APPLY_QUEUE_BYTES)) {
        size_t tail = (a->q_head + a->q_len) % RRDWRITER_APPLY_QUEUE_MAX;
        a->q_bytes += bytes;
        a->queue[tail] =
            (rrdwriter_apply_item_t){.msg = *msg, .start_lsn = start_lsn, .end_lsn = end_lsn};
        a->q_len++;
        *msg = NULL;
    }
    pthread_mutex_unlock(&a->lock);
    dp_msg_destroy(msg); /* queue full: the thread reads it back from the spool */
}

//  --------------------------------------------------------------------------
void rrdwriter_apply_commit(rrdwriter_apply_t *a, uint64_t committed_lsn, uint64_t first_lsn)
{
    pthread_mutex_lock(&a->lock);
    a->committed = committed_lsn;
    a->first = first_lsn;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_apply_applied(rrdwriter_apply_t *a)
{
    return atomic_load(&a->applied);
}

//  --------------------------------------------------------------------------
uint64_t rrdwriter_apply_queued_bytes(rrdwriter_apply_t *a)
{
    pthread_mutex_lock(&a->lock);
    uint64_t bytes = a->q_bytes;
    pthread_mutex_unlock(&a->lock);
    return bytes;
}

//  --------------------------------------------------------------------------
bool rrdwriter_apply_is_up(rrdwriter_apply_t *a)
{
    return atomic_load(&a->up);
}
