/*  dp_cfg.c - typed configuration: the key table, values, checks, show, help and reload
    One table (s_table) drives parsing, validation, --help, `config show` and reload. The
    sources (.env file < environment < flags) are read by dp_cfg_load.c through dp_cfg_priv.h.
    Secrets are masked everywhere.
    SPDX-License-Identifier: MIT */
#include "dp_cfg.h"
#include "dp_cfg_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define S_MASK        "********"
#define S_UNSET       "(unset)"
#define S_SHOW_MAX    DP_CFG_SHOW_MAX
#define S_TEXT_MAX    512 /* canonical text of one value */
#define S_NODE_ID_MAX 64
#define S_APP_KEY_MIN 16
#define S_PORT_MAX    65535
#define S_MS_PER_S    1000LL
#define S_MS_PER_M    (60 * S_MS_PER_S)
#define S_MS_PER_H    (60 * S_MS_PER_M)
#define S_MS_PER_D    (24 * S_MS_PER_H)

typedef enum {
    S_STRING,    /* any text, optionally checked by a validator */
    S_INT,       /* integer within min..max */
    S_BOOL,      /* true/false yes/no on/off 1/0 */
    S_DURATION,  /* N[ms|s|m|h|d], plain N = seconds; stored as int64 ms */
    S_ENDPOINT,  /* one ZeroMQ endpoint */
    S_ENDPOINTS, /* comma-separated ZeroMQ endpoints, at least one */
    S_HOSTPORTS, /* comma-separated host:port, may be empty */
    S_LEVEL,     /* log level, stored as dp_log_level_t */
    S_CHOICE,    /* one of the words in extra ("a|b") */
} s_type_t;

#define S_RELOAD 1u /* may change on reload without a restart */
#define S_SECRET 2u /* value never shown */

typedef struct {
    const char *key;              /* name in .env and the environment */
    s_type_t type;                /* how the text is parsed */
    const char *def;              /* default as text; NULL = unset */
    int64_t min, max;             /* bounds: int value, duration in ms */
    unsigned flags;               /* S_RELOAD, S_SECRET */
    size_t offset;                /* field in dp_cfg_t */
    const char *extra;            /* S_CHOICE words; S_STRING expectation text */
    bool (*check)(const char *v); /* S_STRING validator (NULL = any text) */
    const char *help;             /* one line for --help */
} s_entry_t;

typedef struct {
    int64_t num; /* int, bool, duration, level */
    char *str;   /* string types; owned until stored */
} s_value_t;

static bool s_check_node_id(const char *v);
static bool s_check_app_key(const char *v);
static bool s_check_address(const char *v);

// clang-format off
#define S_OFF(f) offsetof(dp_cfg_t, f)
#define S_STR(k, f, d, fl, h)            {k, S_STRING, d, 0, 0, fl, S_OFF(f), NULL, NULL, h}
#define S_STRV(k, f, d, fl, fn, ex, h)   {k, S_STRING, d, 0, 0, fl, S_OFF(f), ex, fn, h}
#define S_NUM(k, t, f, d, lo, hi, fl, h) {k, t, d, lo, hi, fl, S_OFF(f), NULL, NULL, h}
#define S_OF(k, t, f, d, fl, ex, h)      {k, t, d, 0, 0, fl, S_OFF(f), ex, NULL, h}
// clang-format on

static const s_entry_t s_table[] = {
    S_STRV("REDIS_HOST", redis_host, "127.0.0.1", 0, s_check_address, "a host name or address",
           "Redis host (used when REDIS_SENTINEL is empty)"),
    S_NUM("REDIS_PORT", S_INT, redis_port, "6379", 1, S_PORT_MAX, 0, "Redis port"),
    S_NUM("REDIS_DB", S_INT, redis_db, "0", 0, 65535, 0, "Redis database number"),
    S_NUM("REDIS_TIMEOUT", S_INT, redis_timeout_s, "5", 1, 3600, 0,
          "Redis connect/command timeout, seconds (keep it below DP_LOCK_TTL)"),
    S_STR("REDIS_PASSWORD", redis_password, NULL, S_SECRET, "Redis password"),
    S_STR("REDIS_USERNAME", redis_username, NULL, 0, "Redis ACL user name"),
    S_OF("REDIS_SENTINEL", S_HOSTPORTS, redis_sentinel, NULL, 0, NULL,
         "Sentinels as host:port,host:port; empty = connect to REDIS_HOST directly"),
    S_STR("REDIS_SENTINEL_SERVICE", redis_sentinel_service, "librenms", 0,
          "master name the sentinels monitor"),
    S_STR("REDIS_SENTINEL_PASSWORD", redis_sentinel_password, NULL, S_SECRET,
          "password for the sentinels"),
    S_STR("REDIS_SENTINEL_USERNAME", redis_sentinel_username, NULL, 0,
          "ACL user name for the sentinels"),
    S_STRV("APP_KEY", app_key, NULL, S_SECRET, s_check_app_key,
           "at least 16 characters (LibreNMS keys look like base64:...)",
           "the cluster's shared secret (LibreNMS's APP_KEY, base64:...)"),
    S_STRV("NODE_ID", node_id, NULL, 0, s_check_node_id, "1-64 characters from A-Z a-z 0-9 . _ -",
           "every node needs a unique NODE_ID"),
    S_STRV("DB_HOST", db_host, "localhost", 0, s_check_address, "a host name or address",
           "MariaDB host"),
    S_NUM("DB_PORT", S_INT, db_port, "3306", 1, S_PORT_MAX, 0, "MariaDB port"),
    S_STR("DB_DATABASE", db_database, "librenms", 0, "MariaDB database"),
    S_STR("DB_USERNAME", db_username, "librenms", 0, "MariaDB user"),
    S_STR("DB_PASSWORD", db_password, NULL, S_SECRET, "MariaDB password"),
    S_STR("DB_SOCKET", db_socket, NULL, 0, "MariaDB unix socket path; overrides DB_HOST/DB_PORT"),
    S_OF("DP_LOG_LEVEL", S_LEVEL, log_level, "info", S_RELOAD, NULL,
         "log threshold: error|warn|notice|info|debug"),
    S_OF("DP_SCHEDULER_BIND", S_ENDPOINT, scheduler_bind, "tcp://127.0.0.1:7710", 0, NULL,
         "endpoint the scheduler binds to hand out jobs"),
    S_OF("DP_SCHEDULERS", S_ENDPOINTS, schedulers, "tcp://127.0.0.1:7710", 0, NULL,
         "scheduler endpoints workers connect to (comma-separated)"),
    S_OF("DP_RRDWRITER_BIND", S_ENDPOINT, rrdwriter_bind, "tcp://127.0.0.1:7720", 0, NULL,
         "endpoint rrdwriter binds to receive metrics"),
    S_OF("DP_RRDWRITER", S_ENDPOINT, rrdwriter, "tcp://127.0.0.1:7720", 0, NULL,
         "rrdwriter endpoint workers send metrics to"),
    S_STR("DP_CONTROL_DIR", control_dir, "/run/distpoll", 0,
          "directory for the daemons' control ipc sockets"),
    S_STRV("DP_RRDCACHED", rrdcached, "unix:/run/rrdcached.sock", 0, s_check_address,
           "unix:/path/to/socket or host:port", "rrdcached address (unix:/path or host:port)"),
    S_STR("DP_RRD_DIR", rrd_dir, "/var/lib/distpoll/rrd", 0, "RRD files directory"),
    S_NUM("DP_RRD_STEP", S_DURATION, rrd_step_ms, "300s", S_MS_PER_S, S_MS_PER_D, 0,
          "RRD step of new files (heartbeat = 2 x step)"),
    S_STR("DP_SPOOL_DIR", spool_dir, "/var/lib/distpoll/spool", 0,
          "rrdwriter's durable spool: metrics until rrdcached has them"),
    S_NUM("DP_SPOOL_MAX_MB", S_INT, spool_max_mb, "1024", 1, 1048576, S_RELOAD,
          "spool size cap, MiB"),
    S_NUM("DP_METRICS_BUFFER_MB", S_INT, metrics_buffer_mb, "32", 1, 65536, S_RELOAD,
          "METRICS a poller keeps until the rrdwriter acknowledges them, MiB; when full it"
          " stops taking jobs"),
    S_NUM("DP_POLLER_INTERVAL", S_DURATION, poller_interval_ms, "300s", S_MS_PER_S, S_MS_PER_D,
          S_RELOAD, "how often each device is polled"),
    S_NUM("DP_DISCOVERY_INTERVAL", S_DURATION, discovery_interval_ms, "6h", S_MS_PER_S,
          7 * S_MS_PER_D, S_RELOAD, "how often each device is rediscovered"),
    S_NUM("DP_BILLING_INTERVAL", S_DURATION, billing_interval_ms, "300s", S_MS_PER_S, S_MS_PER_D,
          S_RELOAD, "how often bills are counted"),
    S_NUM("DP_WORKERS", S_INT, workers, "1", 1, 64, 0, "threads per worker daemon"),
    S_NUM("DP_CONCURRENCY", S_INT, concurrency, "500", 1, 10000, 0,
          "SNMP requests in flight per thread"),
    S_NUM("DP_SNMP_TIMEOUT", S_DURATION, snmp_timeout_ms, "2s", 10, 60 * S_MS_PER_S, S_RELOAD,
          "SNMP timeout per attempt"),
    S_NUM("DP_SNMP_RETRIES", S_INT, snmp_retries, "2", 0, 10, S_RELOAD,
          "SNMP retries after the first attempt"),
    S_NUM("DP_LOCK_TTL", S_DURATION, lock_ttl_ms, "10s", S_MS_PER_S, S_MS_PER_H, 0,
          "lifetime of Redis locks and leadership leases"),
    S_NUM("DP_JOB_TIMEOUT", S_DURATION, job_timeout_ms, "60s", S_MS_PER_S, S_MS_PER_D, S_RELOAD,
          "a job not finished after this is re-dispatched"),
    S_NUM("DP_DRAIN_TIMEOUT", S_DURATION, drain_timeout_ms, "10s", 0, S_MS_PER_H, S_RELOAD,
          "on SIGTERM, how long in-flight work may finish"),
    S_NUM("DP_METRICS_PORT", S_INT, metrics_port, "0", 0, S_PORT_MAX, 0,
          "port for the metrics endpoint, 0 = off"),
    S_OF("DP_RRA", S_CHOICE, rra, "librenms", 0, "librenms|small",
         "RRA preset for new RRD files: librenms|small"),
    S_OF("DP_CURVE", S_BOOL, curve, "true", 0, NULL,
         "CURVE-encrypt ZeroMQ links with keys derived from APP_KEY"),
};

#define S_TABLE_SIZE (sizeof s_table / sizeof s_table[0])

const char *const dp_cfg_daemon_keys[] = {"NODE_ID", "APP_KEY", NULL};

//  --------------------------------------------------------------------------
//  Small helpers

static char *s_strdup(const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        abort(); /* out of memory is fatal */
    return copy;
}

static const s_entry_t *s_lookup(const char *key)
{
    for (size_t i = 0; i < S_TABLE_SIZE; i++)
        if (strcmp(s_table[i].key, key) == 0)
            return &s_table[i];
    return NULL;
}

static bool s_is_stringish(const s_entry_t *e)
{
    return e->type == S_STRING || e->type == S_ENDPOINT || e->type == S_ENDPOINTS ||
           e->type == S_HOSTPORTS || e->type == S_CHOICE;
}

static char **s_str(const dp_cfg_t *cfg, const s_entry_t *e)
{
    return (char **)((char *)cfg + e->offset);
}

static int64_t s_get_num(const dp_cfg_t *cfg, const s_entry_t *e)
{
    const char *p = (const char *)cfg + e->offset;
    switch (e->type) {
    case S_INT:
        return *(const int *)p;
    case S_BOOL:
        return *(const bool *)p;
    case S_DURATION:
        return *(const int64_t *)p;
    case S_LEVEL:
        return *(const dp_log_level_t *)p;
    default:
        return 0;
    }
}

static void s_set_num(dp_cfg_t *cfg, const s_entry_t *e, int64_t v)
{
    char *p = (char *)cfg + e->offset;
    if (e->type == S_INT)
        *(int *)p = (int)v;
    else if (e->type == S_BOOL)
        *(bool *)p = v != 0;
    else if (e->type == S_DURATION)
        *(int64_t *)p = v;
    else if (e->type == S_LEVEL)
        *(dp_log_level_t *)p = (dp_log_level_t)v;
}

/* Names (or whole lines) that might carry a secret although they are not secret table keys. */
static bool s_looks_secret(const char *name)
{
    static const char *hints[] = {"PASS", "PASW", "PWD", "KEY", "SECRET", "TOKEN", "AUTH"};
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
        if (strcasestr(name, hints[i]))
            return true;
    return false;
}

/* Quotes value for an error message: escaped, truncated, or masked. */
static const char *s_show(const char *value, bool secret, char *buf, size_t size)
{
    if (secret) {
        snprintf(buf, size, "%s", S_MASK);
        return buf;
    }
    size_t n = 0;
    buf[n++] = '"';
    for (const char *p = value; *p && n + 6 < size; p++) {
        if (p - value >= S_SHOW_MAX) {
            n += (size_t)snprintf(buf + n, size - n, "...");
            break;
        }
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(buf + n, size - n, "\\%c", c);
        else if (c < ' ' || c == 0x7f)
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
        else
            buf[n++] = (char)c;
    }
    snprintf(buf + n, size - n, "\"");
    return buf;
}

static void s_format_duration(int64_t ms, char *buf, size_t size)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{S_MS_PER_D, "d"}, {S_MS_PER_H, "h"}, {S_MS_PER_M, "m"}, {S_MS_PER_S, "s"}};
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0) {
            snprintf(buf, size, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    snprintf(buf, size, "%lldms", (long long)ms);
}

/* What a valid value of e looks like, for error messages and --help. */
static const char *s_expected(const s_entry_t *e, char *buf, size_t size)
{
    char lo[32], hi[32];
    switch (e->type) {
    case S_INT:
        snprintf(buf, size, "an integer %lld..%lld", (long long)e->min, (long long)e->max);
        break;
    case S_BOOL:
        snprintf(buf, size, "a boolean (true/false, yes/no, on/off, 1/0)");
        break;
    case S_DURATION:
        s_format_duration(e->min, lo, sizeof lo);
        s_format_duration(e->max, hi, sizeof hi);
        snprintf(buf, size, "a duration %s..%s (e.g. 500ms, 30s, 5m, 6h, 1d)", lo, hi);
        break;
    case S_ENDPOINT:
        snprintf(buf, size, "a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)");
        break;
    case S_ENDPOINTS:
        snprintf(buf, size, "a comma-separated list of ZeroMQ endpoints (tcp://host:port, ...)");
        break;
    case S_HOSTPORTS:
        snprintf(buf, size, "a comma-separated list of host:port");
        break;
    case S_LEVEL:
        snprintf(buf, size, "one of error|warn|notice|info|debug");
        break;
    case S_CHOICE:
        snprintf(buf, size, "one of %s", e->extra);
        break;
    case S_STRING:
        snprintf(buf, size, "%s", e->extra ? e->extra : e->def ? "a non-empty string" : "a string");
        break;
    }
    return buf;
}

/* "origin: KEY=value: expected ..." with the value masked for secrets. Returns -1. */
static int s_fail_value(dp_err_t *err, const char *origin, const s_entry_t *e, const char *value)
{
    char shown[S_SHOW_MAX + 16], expected[160];
    return dp_err_set(err, DP_ERR_CONFIG, "%s%s%s=%s: expected %s", origin ? origin : "",
                      origin ? ": " : "", e->key,
                      s_show(value, e->flags & S_SECRET, shown, sizeof shown),
                      s_expected(e, expected, sizeof expected));
}

//  --------------------------------------------------------------------------
//  Validators and parsers

static bool s_check_node_id(const char *v)
{
    size_t n = strlen(v);
    if (n > S_NODE_ID_MAX)
        return false;
    for (const char *p = v; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return false;
    return true; /* empty = unset, caught by dp_cfg_require */
}

static bool s_check_app_key(const char *v)
{
    return !*v || strlen(v) >= S_APP_KEY_MIN;
}

static bool s_has_space(const char *v)
{
    for (; *v; v++)
        if (isspace((unsigned char)*v) || iscntrl((unsigned char)*v))
            return true;
    return false;
}

static bool s_check_address(const char *v)
{
    return *v && !s_has_space(v);
}

/* "host:port" (host may be [v6]); wildcard allows port "*" (ZeroMQ ephemeral bind). */
static bool s_is_host_port(const char *v, bool wildcard)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || s_has_space(v))
        return false;
    const char *port = colon + 1;
    if (wildcard && strcmp(port, "*") == 0)
        return true;
    if (!*port || strlen(port) > 5)
        return false;
    for (const char *p = port; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    long n = strtol(port, NULL, 10);
    return n >= 1 && n <= S_PORT_MAX;
}

static bool s_is_endpoint(const char *v)
{
    if (strncmp(v, "tcp://", 6) == 0)
        return s_is_host_port(v + 6, true);
    if (strncmp(v, "ipc://", 6) == 0)
        return v[6] && !s_has_space(v);
    if (strncmp(v, "inproc://", 9) == 0)
        return v[9] && !s_has_space(v);
    return false;
}

/* Validates each item of a list and returns it normalised ("a,b"), or NULL. */
static char *s_parse_list(const char *text, bool (*valid)(const char *))
{
    char **items;
    int count;
    dp_cfg_split_list(text, &items, &count);
    size_t len = 1;
    bool ok = count > 0;
    for (int i = 0; ok && i < count; i++) {
        ok = valid(items[i]);
        len += strlen(items[i]) + 1;
    }
    char *joined = NULL;
    if (ok) {
        joined = calloc(1, len);
        if (!joined)
            abort();
        for (int i = 0; i < count; i++) {
            if (i)
                strcat(joined, ",");
            strcat(joined, items[i]);
        }
    }
    dp_cfg_list_free(&items);
    return joined;
}

static bool s_is_host_port_item(const char *v)
{
    return s_is_host_port(v, false);
}

static bool s_parse_int(const char *text, int64_t *out)
{
    if (!(isdigit((unsigned char)text[0]) || (text[0] == '-' && isdigit((unsigned char)text[1]))))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool s_parse_bool(const char *text, int64_t *out)
{
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *out = 1, true;
        if (strcasecmp(text, no[i]) == 0)
            return *out = 0, true;
    }
    return false;
}

static bool s_parse_duration(const char *text, int64_t *out)
{
    static const struct {
        const char *suffix;
        int64_t ms;
    } units[] = {{"", S_MS_PER_S},  {"ms", 1},         {"s", S_MS_PER_S},
                 {"m", S_MS_PER_M}, {"h", S_MS_PER_H}, {"d", S_MS_PER_D}};
    if (!isdigit((unsigned char)text[0]))
        return false;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].suffix) == 0) {
            if (n > INT64_MAX / units[i].ms)
                return false;
            *out = n * units[i].ms;
            return true;
        }
    return false;
}

static bool s_parse_choice(const char *words, const char *text)
{
    size_t n = strlen(text);
    for (const char *w = words; *w;) {
        size_t wl = strcspn(w, "|");
        if (n && wl == n && strncmp(w, text, n) == 0)
            return true;
        w += wl + (w[wl] == '|');
    }
    return false;
}

/* Parses text by e's rules into v (v->str is a fresh copy for string types). */
static bool s_parse(const s_entry_t *e, const char *text, s_value_t *v)
{
    v->num = 0;
    v->str = NULL;
    switch (e->type) {
    case S_STRING:
        if (!*text) /* empty = unset, allowed only for keys without a default */
            return !e->def;
        if (e->check && !e->check(text))
            return false;
        v->str = s_strdup(text);
        return true;
    case S_INT:
        return s_parse_int(text, &v->num) && v->num >= e->min && v->num <= e->max;
    case S_BOOL:
        return s_parse_bool(text, &v->num);
    case S_DURATION:
        return s_parse_duration(text, &v->num) && v->num >= e->min && v->num <= e->max;
    case S_ENDPOINT:
        return s_is_endpoint(text) && (v->str = s_strdup(text));
    case S_ENDPOINTS:
        return (v->str = s_parse_list(text, s_is_endpoint)) != NULL;
    case S_HOSTPORTS:
        if (!*text)
            return !e->def;
        return (v->str = s_parse_list(text, s_is_host_port_item)) != NULL;
    case S_LEVEL: {
        char lower[16];
        size_t i = 0;
        for (; text[i] && i + 1 < sizeof lower; i++)
            lower[i] = (char)tolower((unsigned char)text[i]);
        lower[i] = '\0';
        dp_log_level_t level;
        if (text[i] || dp_log_level_parse(lower, &level) != 0)
            return false;
        v->num = level;
        return true;
    }
    case S_CHOICE:
        return s_parse_choice(e->extra, text) && (v->str = s_strdup(text));
    }
    return false;
}

static void s_store(dp_cfg_t *cfg, const s_entry_t *e, s_value_t *v)
{
    if (s_is_stringish(e)) {
        free(*s_str(cfg, e));
        *s_str(cfg, e) = v->str;
        v->str = NULL;
    } else
        s_set_num(cfg, e, v->num);
}

/* Parses and stores one value; on failure cfg is unchanged and err names origin. */
static int s_apply(dp_cfg_t *cfg, const s_entry_t *e, const char *value, const char *origin,
                   dp_err_t *err)
{
    s_value_t v;
    if (!s_parse(e, value, &v))
        return s_fail_value(err, origin, e, value);
    s_store(cfg, e, &v);
    return 0;
}

/* Canonical text of a value (as accepted by s_parse); NULL for an unset string. */
static const char *s_format(const dp_cfg_t *cfg, const s_entry_t *e, char *buf, size_t size)
{
    if (s_is_stringish(e))
        return *s_str(cfg, e);
    int64_t n = s_get_num(cfg, e);
    if (e->type == S_BOOL)
        return n ? "true" : "false";
    if (e->type == S_LEVEL)
        return dp_log_level_name((dp_log_level_t)n);
    if (e->type == S_DURATION)
        s_format_duration(n, buf, size);
    else
        snprintf(buf, size, "%lld", (long long)n);
    return buf;
}

static bool s_equal(const dp_cfg_t *a, const dp_cfg_t *b, const s_entry_t *e)
{
    if (!s_is_stringish(e))
        return s_get_num(a, e) == s_get_num(b, e);
    const char *x = *s_str(a, e), *y = *s_str(b, e);
    return x == y || (x && y && strcmp(x, y) == 0);
}

static void s_copy_field(dp_cfg_t *dst, const dp_cfg_t *src, const s_entry_t *e)
{
    if (s_is_stringish(e)) {
        const char *s = *s_str(src, e);
        free(*s_str(dst, e));
        *s_str(dst, e) = s ? s_strdup(s) : NULL;
    } else
        s_set_num(dst, e, s_get_num(src, e));
}

//  --------------------------------------------------------------------------
//  For dp_cfg_load.c (dp_cfg_priv.h)

int dp_cfg_apply(dp_cfg_t *cfg, const char *key, const char *value, const char *origin,
                 dp_err_t *err)
{
    const s_entry_t *e = s_lookup(key);
    return e ? s_apply(cfg, e, value, origin, err) : 1;
}

const char *dp_cfg_key_at(size_t i)
{
    return i < S_TABLE_SIZE ? s_table[i].key : NULL;
}

bool dp_cfg_is_secret(const char *key)
{
    const s_entry_t *e = s_lookup(key);
    return e ? (e->flags & S_SECRET) != 0 : s_looks_secret(key);
}

bool dp_cfg_looks_secret(const char *name)
{
    return s_looks_secret(name);
}

const char *dp_cfg_show(const char *value, bool secret, char *buf, size_t size)
{
    return s_show(value, secret, buf, size);
}

//  --------------------------------------------------------------------------
dp_cfg_t *dp_cfg_new(void)
{
    dp_cfg_t *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        abort();
    for (size_t i = 0; i < S_TABLE_SIZE; i++) {
        if (!s_table[i].def)
            continue;
        s_value_t v;
        if (!s_parse(&s_table[i], s_table[i].def, &v))
            abort(); /* a bad built-in default is a programming error */
        s_store(cfg, &s_table[i], &v);
    }
    return cfg;
}

//  --------------------------------------------------------------------------
void dp_cfg_destroy(dp_cfg_t **p)
{
    if (!p || !*p)
        return;
    for (size_t i = 0; i < S_TABLE_SIZE; i++)
        if (s_is_stringish(&s_table[i]))
            free(*s_str(*p, &s_table[i]));
    free(*p);
    *p = NULL;
}

//  --------------------------------------------------------------------------
dp_cfg_t *dp_cfg_dup(const dp_cfg_t *cfg)
{
    dp_cfg_t *copy = calloc(1, sizeof *copy);
    if (!copy)
        abort();
    for (size_t i = 0; i < S_TABLE_SIZE; i++)
        s_copy_field(copy, cfg, &s_table[i]);
    copy->help_requested = cfg->help_requested;
    return copy;
}

//  --------------------------------------------------------------------------
int dp_cfg_set(dp_cfg_t *cfg, const char *key, const char *value, dp_err_t *err)
{
    const s_entry_t *e = key ? s_lookup(key) : NULL;
    if (!e) {
        char shown[S_SHOW_MAX + 16];
        return dp_err_set(err, DP_ERR_CONFIG,
                          "unknown key %s: expected one of the keys listed by --help",
                          s_show(key ? key : "", false, shown, sizeof shown));
    }
    return s_apply(cfg, e, value ? value : "", NULL, err);
}

//  --------------------------------------------------------------------------
int dp_cfg_require(const dp_cfg_t *cfg, const char *const *keys, dp_err_t *err)
{
    for (; keys && *keys; keys++) {
        const s_entry_t *e = s_lookup(*keys);
        if (!e)
            return dp_err_set(err, DP_ERR_INTERNAL, "dp_cfg_require: no key %s", *keys);
        if (!s_is_stringish(e))
            continue; /* numbers always hold a value */
        const char *v = *s_str(cfg, e);
        if (!v || !*v)
            return dp_err_set(err, DP_ERR_CONFIG,
                              "%s is not set: %s (set it in .env or the environment)", e->key,
                              e->help);
        s_value_t parsed;
        if (!s_parse(e, v, &parsed))
            return s_fail_value(err, NULL, e, v);
        free(parsed.str);
    }
    return 0;
}

//  --------------------------------------------------------------------------
static bool s_needs_quotes(const char *v)
{
    if (!*v)
        return true;
    for (; *v; v++)
        if (isspace((unsigned char)*v) || strchr("\"'#\\", *v))
            return true;
    return false;
}

static void s_print_quoted(FILE *out, const char *v)
{
    fputc('"', out);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fprintf(out, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", out);
        else if ((unsigned char)*v < ' ')
            fprintf(out, "\\u%04x", (unsigned char)*v);
        else
            fputc(*v, out);
    }
    fputc('"', out);
}

void dp_cfg_print(const dp_cfg_t *cfg, FILE *out, bool json)
{
    char buf[S_TEXT_MAX];
    if (json)
        fputs("{", out);
    for (size_t i = 0; i < S_TABLE_SIZE; i++) {
        const s_entry_t *e = &s_table[i];
        const char *v = s_format(cfg, e, buf, sizeof buf);
        bool secret = e->flags & S_SECRET;
        if (secret)
            v = v && *v ? S_MASK : NULL;
        if (json) {
            fprintf(out, "%s\n  \"%s\": ", i ? "," : "", e->key);
            if (!v)
                fputs("null", out);
            else if (e->type == S_INT || e->type == S_BOOL)
                fputs(v, out);
            else
                s_print_quoted(out, v);
            continue;
        }
        fprintf(out, "%s=", e->key);
        if (secret)
            fputs(v ? v : S_UNSET, out);
        else if (v && s_needs_quotes(v))
            s_print_quoted(out, v);
        else if (v)
            fputs(v, out);
        fputc('\n', out);
    }
    if (json)
        fputs("\n}\n", out);
}

//  --------------------------------------------------------------------------
void dp_cfg_print_help(FILE *out)
{
    char expected[160];
    for (size_t i = 0; i < S_TABLE_SIZE; i++) {
        const s_entry_t *e = &s_table[i];
        s_expected(e, expected, sizeof expected);
        fprintf(out, "  %s=%s  (%s%s%s)\n      %s\n", e->key, e->def ? e->def : "", expected,
                e->flags & S_RELOAD ? "; reloadable" : "", e->flags & S_SECRET ? "; secret" : "",
                e->help);
    }
}

//  --------------------------------------------------------------------------
/* Appends word to a space-separated list, ending it with "..." when full. */
static void s_append_word(char *buf, size_t size, const char *word)
{
    if (!buf || size == 0)
        return;
    size_t len = strlen(buf), wl = strlen(word);
    if (len >= 3 && strcmp(buf + len - 3, "...") == 0)
        return;
    if (len + (len > 0) + wl < size) {
        snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
        return;
    }
    if (size >= 4) {
        size_t at = len + 4 <= size - 1 ? len : size - 4;
        snprintf(buf + at, size - at, "%s", at == len && len ? " ..." : "...");
    }
}

int dp_cfg_reload(dp_cfg_t *cur, const dp_cfg_t *next, char *changed, size_t size, char *restart,
                  size_t rsize)
{
    int applied = 0;
    if (changed && size)
        changed[0] = '\0';
    if (restart && rsize)
        restart[0] = '\0';
    for (size_t i = 0; i < S_TABLE_SIZE; i++) {
        const s_entry_t *e = &s_table[i];
        if (s_equal(cur, next, e))
            continue;
        if (e->flags & S_RELOAD) {
            s_copy_field(cur, next, e);
            s_append_word(changed, size, e->key);
            applied++;
        } else
            s_append_word(restart, rsize, e->key);
    }
    return applied;
}
