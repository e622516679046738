/*  main.c - dpsim: SNMP v1/v2c/v3 device simulator, many devices on one UDP port
    Each 127.x.y.z address is a device. Arguments -> world (profiles, faults) ->
    server threads -> signal loop (SIGHUP reloads the fault file, SIGUSR1 prints
    stats, SIGTERM/SIGINT stop cleanly). `dpsim expect` prints what a device
    answers for one OID at a given time, so tests can compute counters exactly.
    SPDX-License-Identifier: MIT */
#include "dp_err.h"
#include "dp_log.h"
#include "dp_time.h"
#include "sim_counter.h"
#include "sim_server.h"
#include "sim_usm.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define S_DEFAULT_EPOCH_MS 1700000000000LL
#define S_DEFAULT_PORT     1161
#define S_MAX_THREADS      64
#define S_MAX_RULES        256
#define S_MAX_PROFILES     256
#define S_TEXT_MAX         512
#define S_MIN_MSG          484
#define S_BOOTS_ORIGIN_S   1577836800LL /* 2020-01-01: default boots = seconds since */

/* Command-line settings. */
typedef struct {
    const char *listen;                   /* bind address */
    int port;                             /* UDP port */
    int threads;                          /* server threads */
    const char *community;                /* accepted community */
    const char *profiles[S_MAX_PROFILES]; /* --profile specs */
    int nprofiles;                        /* entries in profiles */
    const char *profile_map;              /* --profile-map file */
    const char *snmprec_dir;              /* --snmprec-dir */
    uint64_t seed;                        /* --seed */
    int64_t epoch_ms;                     /* --epoch */
    const char *rules[S_MAX_RULES];       /* --fault rules */
    int nrules;                           /* entries in rules */
    const char *fault_file;               /* --fault-file */
    long max_msg;                         /* --max-msg */
    long max_vbs;                         /* --max-vbs */
    const char *log_level;                /* --log-level */
    const char *users[SIM_USM_USERS_MAX]; /* --v3-user specs */
    int nusers;                           /* entries in users */
    const char *engine_id;                /* --v3-engine-id */
    long boots;                           /* --v3-boots, 0 = from the start time */
    /* expect */
    const char *device;   /* --device */
    const char *oid_text; /* --oid */
    const char *column;   /* --column */
    long port_index;      /* --port-index */
    int64_t at_ms;        /* --at, 0 = now */
    bool rate;            /* --rate */
} s_args_t;

static void s_usage(FILE *out)
{
    fprintf(
        out,
        "usage: dpsim [serve] [options]\n"
        "       dpsim expect [options] --device ADDR (--oid OID | --column NAME --index N)\n"
        "                    [--at UNIX_MS] [--rate]\n"
        "\n"
        "SNMP v1/v2c/v3 simulator: GET, GETNEXT, GETBULK for many devices on one UDP port.\n"
        "Each IPv4 destination address is a device (id = low 24 bits: x*65536+y*256+z).\n"
        "\n"
        "serve options:\n"
        "  --listen ADDR        bind address (default 0.0.0.0: every 127.x.y.z answers)\n"
        "  --port N             UDP port (default %d; 0 = ephemeral, logged at start)\n"
        "  --threads N          server threads sharing the port with SO_REUSEPORT (1)\n"
        "  --community S        accepted community (public); others get no answer\n"
        "  --profile SPEC       [PREFIX=]synthetic[:ports=N,hc=0|1,speed=1G[/10G..],cpus=N,\n"
        "                       storage=N,spare=N] or [PREFIX=]snmprec:NAME|PATH; repeatable,\n"
        "                       longest prefix wins; PREFIX defaults to 127.0.0.0/8;\n"
        "                       default: synthetic (24 ports, HC, 1G, 2 cpus, 3 storage)\n"
        "  --profile-map FILE   one SPEC per line ('#' comments)\n"
        "  --snmprec-dir DIR    where snmprec:NAME finds NAME.snmprec or NAME.snmprec.gz\n"
        "  --seed N             seed of counter rates/bases and frac: faults (1)\n"
        "  --epoch UNIX_MS      counter origin t0 (default %lld)\n"
        "  --fault RULE         SELECTOR=ACTION, repeatable; SELECTOR: ADDR, ADDR/N, all,\n"
        "                       frac:F; ACTION: timeout, slow:MS[ms|s], malformed, toobig:N,\n"
        "                       reboot, reboot@UNIX_MS, port-vanish:K, port-appear:K\n"
        "  --fault-file FILE    more rules, one per line; re-read on SIGHUP (a plain\n"
        "                       'reboot' is stamped when its line first appears)\n"
        "  --max-msg BYTES      largest reply (65507); GETBULK replies are truncated to fit\n"
        "  --max-vbs N          most varbinds per reply (4096)\n"
        "  --log-level L        error|warn|notice|info|debug (notice)\n"
        "  --v3-user SPEC       SNMPv3 USM user NAME[:AUTH:AUTHPASS[:PRIV:PRIVPASS]], repeatable;\n"
        "                       AUTH: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512; PRIV: DES,\n"
        "                       AES (128); passphrases >= 8 chars, no ':'. Without any user v3\n"
        "                       requests are dropped. A user answers at its level; a lower\n"
        "                       level gets authorizationError\n"
        "  --v3-engine-id HEX   one engine id for all devices (default: each device its own,\n"
        "                       80001f8801 + its IPv4 address, e.g. 80001f88017f000107)\n"
        "  --v3-boots N         snmpEngineBoots (default: seconds since 2020-01-01 at start,\n"
        "                       so restarts count up); +1 on a device after a reboot fault;\n"
        "                       snmpEngineTime = seconds since the device's boot (sysUpTime)\n"
        "\n"
        "expect options: the serve options that shape values (--profile, --profile-map,\n"
        "  --snmprec-dir, --seed, --epoch, --fault, --fault-file) plus\n"
        "  --device ADDR        the device address\n"
        "  --oid OID            numeric OID to evaluate, or\n"
        "  --column NAME --index N   IF-MIB column (ifHCInOctets, ifInOctets, ...) and ifIndex\n"
        "  --at UNIX_MS         evaluation time (default now)\n"
        "  --rate               print the counter's rate (units per second) instead\n"
        "\n"
        "Counters: value(t) = (base + floor(rate * (t - t0) / 1000)) mod 2^32 or 2^64, where\n"
        "rate and base hash (seed, device id, ifIndex, counter kind); ifInOctets is the low\n"
        "32 bits of ifHCInOctets. After a reboot fault at R: value(t) = floor(rate*(t-R)/1000)\n"
        "and sysUpTime counts from R. Signals: SIGHUP reloads --fault-file, SIGUSR1 logs\n"
        "stats, SIGTERM/SIGINT stop (stats are logged at exit).\n",
        S_DEFAULT_PORT, (long long)S_DEFAULT_EPOCH_MS);
}

static int s_parse_long(const char *text, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int s_parse_args(int argc, char **argv, s_args_t *a)
{
    enum {
        O_LISTEN = 256,
        O_PORT,
        O_THREADS,
        O_COMMUNITY,
        O_PROFILE,
        O_MAP,
        O_DIR,
        O_SEED,
        O_EPOCH,
        O_FAULT,
        O_FFILE,
        O_MAXMSG,
        O_MAXVBS,
        O_LOG,
        O_V3USER,
        O_V3ENGINE,
        O_V3BOOTS,
        O_DEVICE,
        O_OID,
        O_COLUMN,
        O_INDEX,
        O_AT,
        O_RATE,
        O_HELP
    };
    static const struct option opts[] = {{"listen", 1, 0, O_LISTEN},
                                         {"port", 1, 0, O_PORT},
                                         {"threads", 1, 0, O_THREADS},
                                         {"community", 1, 0, O_COMMUNITY},
                                         {"profile", 1, 0, O_PROFILE},
                                         {"profile-map", 1, 0, O_MAP},
                                         {"snmprec-dir", 1, 0, O_DIR},
                                         {"seed", 1, 0, O_SEED},
                                         {"epoch", 1, 0, O_EPOCH},
                                         {"fault", 1, 0, O_FAULT},
                                         {"fault-file", 1, 0, O_FFILE},
                                         {"max-msg", 1, 0, O_MAXMSG},
                                         {"max-vbs", 1, 0, O_MAXVBS},
                                         {"log-level", 1, 0, O_LOG},
                                         {"v3-user", 1, 0, O_V3USER},
                                         {"v3-engine-id", 1, 0, O_V3ENGINE},
                                         {"v3-boots", 1, 0, O_V3BOOTS},
                                         {"device", 1, 0, O_DEVICE},
                                         {"oid", 1, 0, O_OID},
                                         {"column", 1, 0, O_COLUMN},
                                         {"index", 1, 0, O_INDEX},
                                         {"at", 1, 0, O_AT},
                                         {"rate", 0, 0, O_RATE},
                                         {"help", 0, 0, O_HELP},
                                         {0, 0, 0, 0}};
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            a->listen = optarg;
            break;
        case O_PORT:
            if (s_parse_long(optarg, 0, 65535, &v))
                return -1;
            a->port = (int)v;
            break;
        case O_THREADS:
            if (s_parse_long(optarg, 1, S_MAX_THREADS, &v))
                return -1;
            a->threads = (int)v;
            break;
        case O_COMMUNITY:
            a->community = optarg;
            break;
        case O_PROFILE:
            if (a->nprofiles >= S_MAX_PROFILES)
                return -1;
            a->profiles[a->nprofiles++] = optarg;
            break;
        case O_MAP:
            a->profile_map = optarg;
            break;
        case O_DIR:
            a->snmprec_dir = optarg;
            break;
        case O_SEED:
            a->seed = strtoull(optarg, NULL, 0);
            break;
        case O_EPOCH:
            a->epoch_ms = strtoll(optarg, NULL, 10);
            break;
        case O_FAULT:
            if (a->nrules >= S_MAX_RULES)
                return -1;
            a->rules[a->nrules++] = optarg;
            break;
        case O_FFILE:
            a->fault_file = optarg;
            break;
        case O_MAXMSG:
            if (s_parse_long(optarg, S_MIN_MSG, 65507, &a->max_msg))
                return -1;
            break;
        case O_MAXVBS:
            if (s_parse_long(optarg, 1, 1000000, &a->max_vbs))
                return -1;
            break;
        case O_LOG:
            a->log_level = optarg;
            break;
        case O_V3USER:
            if (a->nusers >= SIM_USM_USERS_MAX)
                return -1;
            a->users[a->nusers++] = optarg;
            break;
        case O_V3ENGINE:
            a->engine_id = optarg;
            break;
        case O_V3BOOTS:
            if (s_parse_long(optarg, 1, 2147483646, &a->boots))
                return -1;
            break;
        case O_DEVICE:
            a->device = optarg;
            break;
        case O_OID:
            a->oid_text = optarg;
            break;
        case O_COLUMN:
            a->column = optarg;
            break;
        case O_INDEX:
            if (s_parse_long(optarg, 1, 0x7fffffff, &a->port_index))
                return -1;
            break;
        case O_AT:
            a->at_ms = strtoll(optarg, NULL, 10);
            break;
        case O_RATE:
            a->rate = true;
            break;
        case O_HELP:
        case 'h':
            s_usage(stdout);
            exit(0);
        default:
            return -1;
        }
    }
    return 0;
}

/* Builds a fault set from the --fault rules and the fault file. */
static sim_faults_t *s_build_faults(const s_args_t *a, const sim_faults_t *prev, dp_err_t *err)
{
    sim_faults_t *f = sim_faults_new(a->seed);
    int64_t now = dp_time_wall_ms();
    for (int i = 0; i < a->nrules; i++) {
        if (sim_faults_add(f, a->rules[i], now, prev, err) != 0)
            goto fail;
    }
    if (a->fault_file && sim_faults_load_file(f, a->fault_file, now, prev, err) != 0)
        goto fail;
    return f;
fail:
    sim_faults_destroy(&f);
    return NULL;
}

/* The v3 users, or NULL (err set on error, untouched when none are given). */
static sim_usm_t *s_build_usm(const s_args_t *a, int64_t start_ms, dp_err_t *err)
{
    if (a->nusers == 0)
        return NULL;
    long boots = a->boots ? a->boots : (long)(start_ms / 1000 - S_BOOTS_ORIGIN_S);
    sim_usm_t *u = sim_usm_new(boots);
    for (int i = 0; i < a->nusers; i++) {
        if (sim_usm_add_user(u, a->users[i], err) != 0)
            goto fail;
    }
    if (a->engine_id && sim_usm_set_engine(u, a->engine_id, err) != 0)
        goto fail;
    return u;
fail:
    sim_usm_destroy(&u);
    return NULL;
}

static sim_world_t *s_build_world(const s_args_t *a, dp_err_t *err)
{
    sim_world_t *w = sim_world_new(a->seed, a->epoch_ms, dp_time_wall_ms());
    w->max_msg = (size_t)a->max_msg;
    w->max_vbs = (size_t)a->max_vbs;
    if (a->community && sim_world_set_community(w, a->community, err) != 0)
        goto fail;
    for (int i = 0; i < a->nprofiles; i++) {
        if (sim_world_add_profile(w, a->profiles[i], a->snmprec_dir, err) != 0)
            goto fail;
    }
    if (a->profile_map && sim_world_load_map(w, a->profile_map, a->snmprec_dir, err) != 0)
        goto fail;
    if (w->nprofiles == 0 && sim_world_add_profile(w, "synthetic", NULL, err) != 0)
        goto fail;
    sim_faults_t *f = s_build_faults(a, NULL, err);
    if (!f)
        goto fail;
    sim_world_set_faults(w, &f);
    w->usm = s_build_usm(a, w->start_ms, err);
    if (a->nusers > 0 && !w->usm)
        goto fail;
    return w;
fail:
    sim_world_destroy(&w);
    return NULL;
}

static void s_print_value(const sim_value_t *v)
{
    char text[S_TEXT_MAX];
    switch (v->type) {
    case ASN_INTEGER:
        printf("%ld\n", v->l);
        break;
    case ASN_COUNTER64:
        printf("%" PRIu64 "\n", ((uint64_t)v->c64.high << 32) | v->c64.low);
        break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        printf("%lu\n", v->ul);
        break;
    case ASN_OBJECT_ID:
        printf("%s\n", sim_oid_format(v->ptr, v->len / sizeof(oid), text, sizeof(text)));
        break;
    case ASN_NULL:
        printf("NULL\n");
        break;
    default:
        printf("%.*s\n", (int)v->len, (const char *)v->ptr);
        break;
    }
}

static int s_expect(const s_args_t *a)
{
    dp_err_t err = {0};
    struct in_addr ia;
    oid name[SIM_OID_MAX];
    int len = -1;
    if (!a->device || inet_pton(AF_INET, a->device, &ia) != 1) {
        fprintf(stderr, "dpsim expect: --device ADDR required\n");
        return EX_USAGE;
    }
    if (a->oid_text) {
        len = sim_oid_parse(a->oid_text, name, SIM_OID_MAX);
    } else if (a->column && a->port_index > 0) {
        int bits, table, column;
        if (sim_counter_kind_by_name(a->column, &bits, &table, &column) != SIM_CTR_NONE) {
            char text[S_TEXT_MAX];
            snprintf(text, sizeof(text), "%s.%d.%ld",
                     table == 2 ? "1.3.6.1.2.1.2.2.1" : "1.3.6.1.2.1.31.1.1.1", column,
                     a->port_index);
            len = sim_oid_parse(text, name, SIM_OID_MAX);
        }
    }
    if (len < 0) {
        fprintf(stderr, "dpsim expect: need --oid OID or a known --column NAME and --index N\n");
        return EX_USAGE;
    }
    sim_world_t *w = s_build_world(a, &err);
    if (!w) {
        fprintf(stderr, "dpsim expect: %s\n", err.text);
        return EX_CONFIG;
    }
    int64_t at = a->at_ms ? a->at_ms : dp_time_wall_ms();
    sim_dev_t dev;
    sim_fault_view_t fv;
    const sim_profile_t *p = sim_world_device(w, ntohl(ia.s_addr), at, &dev, &fv);
    long k = p ? sim_profile_find(p, name, (size_t)len) : -1;
    int rc = EX_OK;
    if (k < 0) {
        fprintf(stderr, "dpsim expect: no such OID for %s\n", a->device);
        rc = EX_DATAERR;
    } else if (a->rate) {
        printf("%" PRIu64 "\n", sim_value_rate(&p->entries[k], &dev));
    } else {
        sim_value_t v;
        sim_value_eval(&p->entries[k], &dev, at, &v);
        s_print_value(&v);
    }
    sim_world_destroy(&w);
    return rc;
}

/* The usmStats counters as "usm_unknown_engine=N ..." (empty without v3). */
static void s_usm_stats(const sim_world_t *w, char *out, size_t size)
{
    static const char *names[SIM_USM_STAT_COUNT] = {"unsupported_level", "not_in_time",
                                                    "unknown_user",      "unknown_engine",
                                                    "wrong_digest",      "decrypt"};
    int used = 0;
    out[0] = '\0';
    for (int i = 0; w->usm && i < SIM_USM_STAT_COUNT && used < (int)size; i++)
        used += snprintf(out + used, size - (size_t)used, " usm_%s=%" PRIu64, names[i],
                         atomic_load(&w->usm->stats[i]));
}

static void s_log_stats(const sim_world_t *w, sim_server_t **servers, int n, int64_t since_mono)
{
    uint64_t req = 0, rep = 0, vbs = 0, drops[SIM_DROP_COUNT] = {0};
    uint64_t errors = 0, delayed = 0, malformed = 0, send_errors = 0, reports = 0;
    for (int i = 0; i < n; i++) {
        sim_stats_t *st = sim_server_stats(servers[i]);
        sim_stats_sum(st, &req, &rep, &vbs, drops);
        errors += atomic_load(&st->errors);
        delayed += atomic_load(&st->delayed);
        malformed += atomic_load(&st->malformed);
        send_errors += atomic_load(&st->send_errors);
        reports += atomic_load(&st->reports);
    }
    double secs = (double)(dp_time_mono_ms() - since_mono) / 1000.0;
    char dropped[S_TEXT_MAX], usm[S_TEXT_MAX];
    s_usm_stats(w, usm, sizeof(usm));
    int used = 0;
    dropped[0] = '\0';
    for (int i = 1; i < SIM_DROP_COUNT && used < (int)sizeof(dropped); i++)
        used += snprintf(dropped + used, sizeof(dropped) - (size_t)used, "%sdrop_%s=%" PRIu64,
                         i > 1 ? " " : "", sim_drop_name((sim_drop_t)i), drops[i]);
    dp_log_notice("stats",
                  "requests=%" PRIu64 " replies=%" PRIu64 " varbinds=%" PRIu64
                  " error_replies=%" PRIu64 " delayed=%" PRIu64 " malformed=%" PRIu64
                  " send_errors=%" PRIu64 " uptime_s=%.1f pdus_per_s=%.0f %s reports=%" PRIu64 "%s",
                  req, rep, vbs, errors, delayed, malformed, send_errors, secs,
                  secs > 0 ? (double)rep / secs : 0.0, dropped, reports, usm);
}

static void s_reload(const s_args_t *a, sim_world_t *w)
{
    dp_err_t err = {0};
    sim_faults_t *f = s_build_faults(a, sim_world_faults(w), &err);
    if (!f) {
        dp_log_error("fault reload failed, keeping the old rules", "error=\"%s\"", err.text);
        return;
    }
    size_t n = sim_faults_count(f);
    sim_world_set_faults(w, &f);
    dp_log_notice("faults reloaded", "rules=%zu", n);
}

/* Thread body: one server. */
typedef struct {
    sim_server_t *server; /* borrowed */
    atomic_bool *stop;    /* shared stop flag */
    pthread_t tid;        /* the thread */
} s_worker_t;

static void *s_worker_main(void *arg)
{
    s_worker_t *wk = arg;
    sim_server_run(wk->server, wk->stop);
    return NULL;
}

static int s_serve(const s_args_t *a)
{
    dp_err_t err = {0};
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sim_world_t *w = s_build_world(a, &err);
    if (!w) {
        dp_log_error("bad configuration", "error=\"%s\"", err.text);
        return EX_CONFIG;
    }
    sim_server_t *servers[S_MAX_THREADS] = {0};
    s_worker_t workers[S_MAX_THREADS];
    atomic_bool stop = false;
    int port = a->port, rc = EX_OK, started = 0;
    for (int i = 0; i < a->threads; i++) {
        servers[i] = sim_server_new(w, a->listen, port, a->threads > 1, &err);
        if (!servers[i]) {
            dp_log_error("cannot open socket", "error=\"%s\"", err.text);
            rc = EX_UNAVAILABLE;
            goto out;
        }
        port = sim_server_port(servers[i]);
    }
    dp_log_notice("listening", "addr=%s port=%d threads=%d profiles=%zu faults=%zu v3_users=%zu",
                  a->listen ? a->listen : "0.0.0.0", port, a->threads, w->nprofiles,
                  sim_faults_count(sim_world_faults(w)), w->usm ? w->usm->nusers : 0);
    int64_t start = dp_time_mono_ms();
    for (; started < a->threads; started++) {
        workers[started] = (s_worker_t){servers[started], &stop, 0};
        if (pthread_create(&workers[started].tid, NULL, s_worker_main, &workers[started]) != 0) {
            rc = EX_OSERR;
            break;
        }
    }
    while (rc == EX_OK) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP)
            s_reload(a, w);
        else if (sig == SIGUSR1)
            s_log_stats(w, servers, a->threads, start);
        else if (sig == SIGTERM || sig == SIGINT)
            break;
    }
    atomic_store(&stop, true);
    for (int i = 0; i < started; i++)
        pthread_join(workers[i].tid, NULL);
    s_log_stats(w, servers, a->threads, start);
    dp_log_notice("stopped", "port=%d", port);
out:
    for (int i = 0; i < a->threads; i++)
        sim_server_destroy(&servers[i]);
    sim_world_destroy(&w);
    return rc;
}

int main(int argc, char **argv)
{
    s_args_t a = {.port = S_DEFAULT_PORT,
                  .threads = 1,
                  .seed = 1,
                  .epoch_ms = S_DEFAULT_EPOCH_MS,
                  .max_msg = 65507,
                  .max_vbs = 4096};
    const char *cmd = "serve";
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    if (s_parse_args(argc, argv, &a) != 0 || optind != argc) {
        s_usage(stderr);
        return EX_USAGE;
    }
    dp_log_level_t level = DP_LOG_NOTICE;
    if (a.log_level && dp_log_level_parse(a.log_level, &level) != 0) {
        fprintf(stderr, "dpsim: bad --log-level '%s'\n", a.log_level);
        return EX_USAGE;
    }
    dp_log_init("dpsim", getenv("NODE_ID") ? getenv("NODE_ID") : "sim", level);
    if (strcmp(cmd, "expect") == 0)
        return s_expect(&a);
    if (strcmp(cmd, "serve") == 0)
        return s_serve(&a);
    fprintf(stderr, "dpsim: unknown command '%s'\n", cmd);
    s_usage(stderr);
    return EX_USAGE;
}
