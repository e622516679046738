/*  bench_db.c - MariaDB cost of the poller's batch writes (not part of make test)
    Creates N devices in the database named by DB_* (schema via dp_schema_migrate), then writes
    synthetic polls of P ports each through poller_db_write_batch, B polls per batch, in a fixed
    scattered device order (the scheduler spreads devices over the interval). Pass 0 ("cold")
    creates the port rows and walks identity; passes 1.. ("warm") advance every counter. After
    each pass it waits until mariadbd is idle (purge, page flushing) and counts that CPU too.
    Prints one line per pass: CPU-s per 1000 polls of mariadbd (from /proc/PID/stat) and of this
    process inside poller_db_write_batch (thread CPU), plus InnoDB read/write counters.
    Checks the rows: every port row exists and device 1's rates equal the synthetic rates.
    usage: bench_db --mariadb-pid PID [--devices N] [--ports P] [--batch B] [--passes W]
                    [--warm-polls M] [--settle-s S] [--seed] [--base-s T] [--vanish]
                    [--identity]
    --seed creates the port rows with SQL (fast) and skips the cold pass. --base-s fixes the
    synthetic clock (poll times; default: a day ago) so two runs write the same values;
    --vanish deletes a few port, processor and storage rows before each warm pass (the cache
    still holds their port ids) and kills the writer's connection, as an outsider might: the
    batch must reconnect and recreate the rows. --identity:
    warm polls walk ifName/ifDescr/ifAlias/ifType too (unchanged names), as one poll in 12 does.
    SPDX-License-Identifier: MIT */
#include "dp_cfg.h"
#include "dp_conn.h"
#include "dp_db.h"
#include "dp_err.h"
#include "dp_schema.h"
#include "dp_time.h"
#include "../../poller/poller_db.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#pragma weak poller_db_cache_stats

#define S_STEP_MS  300000
#define S_BOOT_AGO 86400000
#define S_PRIME    7919u

typedef struct {
    int devices, ports, batch, passes, warm_polls, settle_s, pid;
    bool seed, vanish, identity;
    int64_t base_s;
} s_opts_t;

static int64_t s_base_ms;

static double s_proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double s_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

//  One InnoDB status counter.
static int64_t s_status(dp_db_t *db, const char *name)
{
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_cached(db,
                                   "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS"
                                   " WHERE VARIABLE_NAME = ?",
                                   0, &err);
    int64_t v = -1;
    if (q && dp_db_query(q, &err, "s", name) == 0) {
        if (dp_db_fetch(q) == 1 && dp_db_col_str(q, 0))
            v = strtoll(dp_db_col_str(q, 0), NULL, 10);
        while (dp_db_fetch(q) == 1)
            ;
    }
    return v;
}

//  Synthetic counter c of port k (0-based) of device d at round r; rate (k+1)*(c+1) per second.
static uint64_t s_counter(uint64_t d, int k, int c, int r)
{
    return 1000000ull * d + (uint64_t)(k + 1) * (uint64_t)(c + 1) * 300ull * (uint64_t)r;
}

static void s_fill_poll(poller_poll_t *poll, uint64_t d, int ports, int r, bool identity)
{
    int64_t at = s_base_ms + (int64_t)r * S_STEP_MS + (int64_t)(d % 1000);
    poller_poll_reset(poll, d, at - 200);
    poll->at_ms = at;
    poll->have_uptime = poll->have_sysname = true;
    poll->uptime_cs = (uint32_t)(S_BOOT_AGO / 10 + (at - s_base_ms) / 10);
    snprintf(poll->sysname, sizeof poll->sysname, "bench-%" PRIu64, d);
    poll->identity = identity;
    for (int k = 0; k < ports; k++) {
        poller_port_t *p = poller_poll_port(poll, (uint32_t)(k + 1), true);
        if (!p)
            abort();
        uint32_t idx = p->if_index;
        memset(p, 0, sizeof *p);
        p->if_index = idx;
        for (int c = 0; c < POLLER_CTR_COUNT; c++)
            p->hc[c] = s_counter(d, k, c, r);
        p->have_hc = (uint16_t)((1u << POLLER_CTR_COUNT) - 1);
        p->high_speed = 1000;
        p->have_high = true;
        p->admin = 1;
        p->oper = k % 5 ? 1 : 2;
        if (identity) {
            p->if_type = 6;
            p->have_name = p->have_descr = p->have_alias = true;
            snprintf(p->name, sizeof p->name, "ge-0/0/%d", k);
            snprintf(p->descr, sizeof p->descr, "GigabitEthernet0/%d", k);
            snprintf(p->alias, sizeof p->alias, "uplink %d", k);
        }
    }
    poll->nprocs = 2;
    for (int i = 0; i < 2; i++)
        poll->procs[i] =
            (poller_proc_t){.index = 196608u + (uint32_t)i, .load = (int)(d + r) % 100};
    poll->nstor = 3;
    for (int i = 0; i < 3; i++) {
        poller_stor_t *s = &poll->stor[i];
        *s = (poller_stor_t){.index = (uint32_t)i + 1,
                             .type = i + 2,
                             .units = 4096,
                             .size = 1000000,
                             .used = 1000 * (uint64_t)(1 + (d + (uint64_t)r) % 900),
                             .have = 31};
        snprintf(s->descr, sizeof s->descr, "%s",
                 i == 0   ? "Physical memory"
                 : i == 1 ? "Swap"
                          : "/");
    }
}

static int s_setup(dp_db_t *db, const s_opts_t *o, dp_err_t *err)
{
    int applied = 0;
    if (dp_schema_migrate(db, &applied, err) != 0)
        return -1;
    char sql[4096];
    snprintf(sql, sizeof sql,
             "INSERT IGNORE INTO devices (device_id, hostname, overwrite_ip, community, sysName)"
             " SELECT seq, CONCAT('bench-', seq), '127.0.0.1', 'public', CONCAT('bench-', seq)"
             " FROM seq_1_to_%d",
             o->devices);
    if (dp_db_exec_sql(db, sql, err) != 0)
        return -1;
    if (!o->seed)
        return 0;
    /* port rows as a cold pass leaves them (round 0 counters, rates NULL) */
    int n =
        snprintf(sql, sizeof sql,
                 "INSERT IGNORE INTO ports (device_id, ifIndex, ifName, ifDescr, ifAlias, ifType,"
                 " ifSpeed, ifAdminStatus, ifOperStatus, ifHC, poll_time");
    for (int c = 0; c < POLLER_CTR_COUNT; c++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ",%s", poller_ctr_column(c));
    n += snprintf(sql + n, sizeof sql - (size_t)n,
                  ") SELECT d.seq, p.seq, CONCAT('ge-0/0/', p.seq - 1), CONCAT('GigabitEthernet0/',"
                  " p.seq - 1), CONCAT('uplink ', p.seq - 1), 'ethernetCsmacd', 1000000000, 'up',"
                  " IF((p.seq - 1) %% 5, 'up', 'down'), %u, FROM_UNIXTIME(%" PRId64
                  " + d.seq %% 1000 / 1000)",
                  (1u << POLLER_CTR_COUNT) - 1, s_base_ms / 1000);
    for (int c = 0; c < POLLER_CTR_COUNT; c++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", 1000000 * d.seq");
    /* in chunks: one statement must finish within the connection's read timeout */
    for (int first = 1; first <= o->devices; first += 5000) {
        int last = first + 4999 < o->devices ? first + 4999 : o->devices;
        snprintf(sql + n, sizeof sql - (size_t)n,
                 " FROM seq_%d_to_%d d, seq_1_to_%d p ORDER BY d.seq, p.seq", first, last,
                 o->ports);
        if (dp_db_exec_sql(db, sql, err) != 0)
            return -1;
    }
    return 0;
}

typedef struct {
    double db_s, settled_s, client_s, wall_s;
    int64_t reads, written;
    int polls, stale;
} s_pass_t;

static int s_pass(poller_db_t *pdb, dp_db_t *db, const s_opts_t *o, int round, int polls,
                  uint64_t *cursor, poller_poll_t *polls_buf, poller_item_t *items, s_pass_t *out,
                  dp_err_t *err)
{
    *out = (s_pass_t){0};
    int64_t reads0 = s_status(db, "INNODB_BUFFER_POOL_READS");
    int64_t wr0 = s_status(db, "INNODB_DATA_WRITTEN");
    double db0 = s_proc_cpu_s(o->pid);
    int64_t t0 = dp_time_mono_ms();
    for (int done = 0; done < polls;) {
        int n = polls - done < o->batch ? polls - done : o->batch;
        for (int i = 0; i < n; i++) {
            uint64_t d = (*cursor * S_PRIME) % (uint64_t)o->devices + 1;
            (*cursor)++;
            s_fill_poll(&polls_buf[i], d, o->ports, round, round == 0 || o->identity);
            items[i] =
                (poller_item_t){.poll = &polls_buf[i], .epoch = 1, .up = true, .took_s = 0.5};
        }
        double c0 = s_thread_cpu_s();
        if (poller_db_write_batch(pdb, items, n, err) != 0)
            return -1;
        out->client_s += s_thread_cpu_s() - c0;
        for (int i = 0; i < n; i++)
            out->stale += items[i].stale;
        done += n;
    }
    out->wall_s = (dp_time_mono_ms() - t0) / 1000.0;
    out->db_s = s_proc_cpu_s(o->pid) - db0;
    /* background work the pass caused (purge, flushing): until mariadbd idles */
    double last = s_proc_cpu_s(o->pid);
    for (int i = 0; i < o->settle_s; i++) {
        sleep(1);
        double now = s_proc_cpu_s(o->pid);
        if (now - last < 0.02)
            break;
        last = now;
    }
    out->settled_s = s_proc_cpu_s(o->pid) - db0;
    out->reads = s_status(db, "INNODB_BUFFER_POOL_READS") - reads0;
    out->written = s_status(db, "INNODB_DATA_WRITTEN") - wr0;
    out->polls = polls;
    return 0;
}

//  Every port row exists; device 1's port rates are the synthetic ones after a warm round.
static int s_check(dp_db_t *db, const s_opts_t *o, bool warm, dp_err_t *err)
{
    dp_db_stmt_t *q = dp_db_cached(db, "SELECT COUNT(*) FROM ports", 0, err);
    if (!q || dp_db_query(q, err, "") != 0)
        return -1;
    int64_t rows = dp_db_fetch(q) == 1 ? dp_db_col_int(q, 0) : -1;
    while (dp_db_fetch(q) == 1)
        ;
    if (rows != (int64_t)o->devices * o->ports)
        return dp_err_set(err, DP_ERR_INTERNAL, "ports rows %" PRId64 ", want %d", rows,
                          o->devices * o->ports);
    q = dp_db_cached(db,
                     "SELECT (SELECT COUNT(*) FROM processors WHERE processor_usage IS NOT NULL),"
                     " (SELECT COUNT(*) FROM storage WHERE storage_used IS NOT NULL)",
                     0, err);
    if (!q || dp_db_query(q, err, "") != 0)
        return -1;
    int64_t procs = dp_db_fetch(q) == 1 ? dp_db_col_int(q, 0) : -1;
    int64_t stor = dp_db_col_int(q, 1);
    while (dp_db_fetch(q) == 1)
        ;
    if (procs != 2 * (int64_t)o->devices || stor != 3 * (int64_t)o->devices)
        return dp_err_set(err, DP_ERR_INTERNAL,
                          "processors %" PRId64 " storage %" PRId64 ", want %d and %d", procs, stor,
                          2 * o->devices, 3 * o->devices);
    if (!warm)
        return 0;
    q = dp_db_cached(db,
                     "SELECT ifIndex, ifInOctets_rate, ifOutBroadcastPkts_rate, ifInErrors_delta"
                     " FROM ports WHERE device_id = 1 ORDER BY ifIndex",
                     0, err);
    if (!q || dp_db_query(q, err, "") != 0)
        return -1;
    int bad = 0, seen = 0;
    while (dp_db_fetch(q) == 1) {
        int k = (int)dp_db_col_int(q, 0) - 1;
        seen++;
        double want0 = k + 1, want12 = (k + 1) * 13.0;
        if (dp_db_col_is_null(q, 1) || fabs(dp_db_col_double(q, 1) - want0) > 0.01 ||
            dp_db_col_is_null(q, 2) || fabs(dp_db_col_double(q, 2) - want12) > 0.01 ||
            dp_db_col_uint(q, 3) != (uint64_t)(k + 1) * 5 * 300)
            bad++;
    }
    if (bad || seen != o->ports)
        return dp_err_set(err, DP_ERR_INTERNAL, "device 1: %d of %d port rows wrong", bad, seen);
    return 0;
}

//  Deletes rows of round r's victims behind the poller's back (--vanish).
static int s_vanish(dp_db_t *db, int r, dp_err_t *err)
{
    static const char *const sqls[] = {
        "DELETE FROM ports WHERE device_id IN (?, ?) AND ifIndex IN (2, 3)",
        "DELETE FROM processors WHERE device_id IN (?, ?) AND processor_index = '196609'",
        "DELETE FROM storage WHERE device_id IN (?, ?) AND storage_index = 1",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        dp_db_stmt_t *s = dp_db_cached(db, sqls[i], 0, err);
        if (!s || dp_db_exec(s, err, "ii", (int64_t)r, (int64_t)(r + 10)) != 0)
            return -1;
    }
    /* and the writer's connection (its TEMPORARY stage tables go with it) */
    dp_db_stmt_t *q = dp_db_cached(db,
                                   "SELECT ID FROM information_schema.PROCESSLIST"
                                   " WHERE ID <> CONNECTION_ID()"
                                   " AND USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)",
                                   0, err);
    if (!q || dp_db_query(q, err, "") != 0)
        return -1;
    uint64_t ids[16];
    int n = 0;
    while (dp_db_fetch(q) == 1)
        if (n < 16)
            ids[n++] = dp_db_col_uint(q, 0);
    for (int i = 0; i < n; i++) {
        dp_db_stmt_t *k = dp_db_cached(db, "KILL CONNECTION ?", 0, err);
        if (!k || dp_db_exec(k, err, "u", ids[i]) != 0)
            return -1;
    }
    printf("vanish round=%d connections_killed=%d\n", r, n);
    return 0;
}

static void s_print(const char *name, const s_pass_t *p)
{
    double k = 1000.0 / p->polls;
    printf("pass=%s polls=%d wall_s=%.1f polls_per_s=%.0f mariadb_cpu_per_1000=%.3f"
           " mariadb_cpu_settled_per_1000=%.3f client_cpu_per_1000=%.3f bp_reads_per_poll=%.2f"
           " kb_written_per_poll=%.1f stale=%d\n",
           name, p->polls, p->wall_s, p->polls / p->wall_s, p->db_s * k, p->settled_s * k,
           p->client_s * k, (double)p->reads / p->polls, p->written / 1024.0 / p->polls, p->stale);
    fflush(stdout);
}

static int s_parse(int argc, char **argv, s_opts_t *o)
{
    *o = (s_opts_t){.devices = 10000, .ports = 24, .batch = 128, .passes = 2, .settle_s = 60};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--seed") || !strcmp(k, "--vanish") || !strcmp(k, "--identity")) {
            *(k[2] == 's' ? &o->seed : k[2] == 'v' ? &o->vanish : &o->identity) = true;
            continue;
        }
        if (i + 1 >= argc)
            return -1;
        int v = atoi(argv[++i]);
        if (!strcmp(k, "--devices"))
            o->devices = v;
        else if (!strcmp(k, "--ports"))
            o->ports = v;
        else if (!strcmp(k, "--batch"))
            o->batch = v;
        else if (!strcmp(k, "--passes"))
            o->passes = v;
        else if (!strcmp(k, "--warm-polls"))
            o->warm_polls = v;
        else if (!strcmp(k, "--settle-s"))
            o->settle_s = v;
        else if (!strcmp(k, "--mariadb-pid"))
            o->pid = v;
        else if (!strcmp(k, "--base-s"))
            o->base_s = strtoll(argv[i], NULL, 10);
        else
            return -1;
    }
    if (o->warm_polls <= 0 || o->warm_polls > o->devices)
        o->warm_polls = o->devices;
    return o->devices > 0 && o->ports > 0 && o->batch > 0 && o->pid > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    s_opts_t o;
    if (s_parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench_db --mariadb-pid PID [--devices N] [--ports P] [--batch B]"
                        " [--passes W] [--warm-polls M] [--settle-s S] [--seed] [--base-s T]"
                        " [--vanish] [--identity]\n");
        return 2;
    }
    dp_db_library_init();
    dp_err_t err = {0};
    dp_cfg_t *cfg = dp_cfg_new();
    dp_db_opts_t dbo;
    if (dp_cfg_load_environ(cfg, &err) != 0)
        goto fail;
    dp_conn_db_opts(cfg, &dbo);
    dp_db_t *db = dp_db_new(&dbo);
    poller_db_t *pdb = poller_db_new(cfg, &err);
    if (!db || !pdb || dp_db_connect(db, &err) != 0)
        goto fail;
    s_base_ms = (o.base_s > 0 ? o.base_s : dp_time_wall_ms() / 1000 - 86400) * 1000;
    double t0 = dp_time_mono_ms();
    if (s_setup(db, &o, &err) != 0)
        goto fail;
    printf("setup devices=%d ports=%d seed=%d s=%.1f\n", o.devices, o.ports, o.seed,
           (dp_time_mono_ms() - t0) / 1000.0);
    poller_poll_t *polls = calloc((size_t)o.batch, sizeof *polls);
    poller_item_t *items = calloc((size_t)o.batch, sizeof *items);
    if (!polls || !items)
        abort();
    s_pass_t p;
    uint64_t cursor = 0;
    if (!o.seed) {
        if (s_pass(pdb, db, &o, 0, o.devices, &cursor, polls, items, &p, &err) != 0 ||
            s_check(db, &o, false, &err) != 0)
            goto fail;
        s_print("cold", &p);
    }
    for (int r = 1; r <= o.passes; r++) {
        cursor = 0; /* the same devices (the first M of the order) advance one round */
        if (o.vanish && s_vanish(db, r, &err) != 0)
            goto fail;
        if (s_pass(pdb, db, &o, r, o.warm_polls, &cursor, polls, items, &p, &err) != 0)
            goto fail;
        char name[16];
        snprintf(name, sizeof name, "warm%d", r);
        s_print(name, &p);
    }
    if (o.passes > 0 && o.warm_polls >= o.devices && s_check(db, &o, true, &err) != 0)
        goto fail;
    uint64_t hits = 0, misses = 0;
    size_t cached = 0;
    if (poller_db_cache_stats) /* weak: absent when linked against an older poller_db */
        poller_db_cache_stats(pdb, &hits, &misses, &cached);
    printf("check ok cache_hits=%" PRIu64 " cache_misses=%" PRIu64 " cached_ports=%zu\n", hits,
           misses, cached);
    for (int i = 0; i < o.batch; i++)
        poller_poll_free(&polls[i]);
    free(polls);
    free(items);
    poller_db_destroy(&pdb);
    dp_db_destroy(&db);
    dp_cfg_destroy(&cfg);
    dp_db_library_end();
    return 0;
fail:
    fprintf(stderr, "error: %s: %s\n", dp_err_name(err.code), err.text);
    return 1;
}
