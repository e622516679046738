/*  rrdwriter_def.c - RRD definitions: kinds, data sources, RRA sets, paths, updates
    Constant tables plus pure functions (rules in rrdwriter_def.h). The DS lists
    follow LibreNMS so files written by either side can be updated by the other.
    SPDX-License-Identifier: MIT */
#include "rrdwriter_def.h"
#include "dp_time.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PORT_MAX      12500000000.0 /* 100 Gbit/s in bytes/s (LibreNMS) */
#define S_PING_MAX      65535.0       /* ms */
#define S_PERCENT_MAX   100.0
#define S_CPU_MIN       -273.0 /* LibreNMS processor usage bounds */
#define S_CPU_MAX       1000.0
#define S_U             NAN /* no limit: "U" in the DS string */
#define S_TWO_POW_64    18446744073709551616.0
#define S_HOST_MAX      255 /* one path component (NAME_MAX) */
#define S_SUB_MAX       200
#define S_NUM_LEN       64 /* any %.0f below 2^64, any %.17g */
#define S_DS_LEN        256
#define S_RRA_STEPS_MAX 1000000
#define S_RRA_ROWS_MAX  10000000
#define S_MS_PER_S      1000

/* One data source of a kind. */
typedef struct {
    const char *name; /* DS name, <= 19 chars of [A-Za-z0-9_] */
    bool is_derive;   /* DERIVE (counters) or GAUGE */
    double min;       /* lower bound, NAN for none */
    double max;       /* upper bound, NAN for none */
} s_ds_t;

/* One kind of RRD file. */
typedef struct {
    const char *name;                /* kind name used in config and messages */
    const char *prefix;              /* start of the file name */
    bool has_sub;                    /* "-<sub>" follows the prefix */
    bool has_index;                  /* index follows (after index_sep) */
    const char *index_sep;           /* "" for port-id<N>, "-" otherwise */
    int ds_count;                    /* entries used in ds */
    s_ds_t ds[RRDWRITER_DEF_DS_MAX]; /* data sources in file order */
} s_kind_t;

#define S_PORT_DS(n)                                                                               \
    {                                                                                              \
        n, true, 0, S_PORT_MAX                                                                     \
    }

static const s_kind_t s_kinds[RRDWRITER_DEF_KIND_COUNT] = {
    [RRDWRITER_DEF_PORT] = {"port",
                            "port-id",
                            false,
                            true,
                            "",
                            15,
                            {S_PORT_DS("INOCTETS"), S_PORT_DS("OUTOCTETS"), S_PORT_DS("INERRORS"),
                             S_PORT_DS("OUTERRORS"), S_PORT_DS("INUCASTPKTS"),
                             S_PORT_DS("OUTUCASTPKTS"), S_PORT_DS("INNUCASTPKTS"),
                             S_PORT_DS("OUTNUCASTPKTS"), S_PORT_DS("INDISCARDS"),
                             S_PORT_DS("OUTDISCARDS"), S_PORT_DS("INUNKNOWNPROTOS"),
                             S_PORT_DS("INBROADCASTPKTS"), S_PORT_DS("OUTBROADCASTPKTS"),
                             S_PORT_DS("INMULTICASTPKTS"), S_PORT_DS("OUTMULTICASTPKTS")}},
    [RRDWRITER_DEF_POLLER_PERF] =
        {"poller-perf", "poller-perf", false, false, "", 1, {{"poller", false, 0, S_U}}},
    [RRDWRITER_DEF_UPTIME] = {"uptime", "uptime", false, false, "", 1, {{"uptime", false, 0, S_U}}},
    [RRDWRITER_DEF_PING_PERF] =
        {"ping-perf", "ping-perf", false, false, "", 1, {{"ping", false, 0, S_PING_MAX}}},
    [RRDWRITER_DEF_AVAILABILITY] = {"availability",
                                    "availability",
                                    false,
                                    true,
                                    "-",
                                    1,
                                    {{"availability", false, 0, S_PERCENT_MAX}}},
    [RRDWRITER_DEF_PROCESSOR] =
        {"processor", "processor", true, true, "-", 1, {{"usage", false, S_CPU_MIN, S_CPU_MAX}}},
    [RRDWRITER_DEF_STORAGE] = {"storage",
                               "storage",
                               true,
                               false,
                               "",
                               2,
                               {{"used", false, 0, S_U}, {"free", false, 0, S_U}}},
    [RRDWRITER_DEF_MEMPOOL] = {"mempool",
                               "mempool",
                               true,
                               true,
                               "-",
                               2,
                               {{"used", false, 0, S_U}, {"free", false, 0, S_U}}},
};

/* LibreNMS default rrd_rra (config_definitions.json, Rrd::loadConfig). */
static const char *const s_rra_librenms[] = {"RRA:AVERAGE:0.5:1:2016",  "RRA:AVERAGE:0.5:6:1440",
                                             "RRA:AVERAGE:0.5:24:1440", "RRA:AVERAGE:0.5:288:1440",
                                             "RRA:MIN:0.5:1:2016",      "RRA:MIN:0.5:6:1440",
                                             "RRA:MIN:0.5:24:1440",     "RRA:MIN:0.5:288:1440",
                                             "RRA:MAX:0.5:1:2016",      "RRA:MAX:0.5:6:1440",
                                             "RRA:MAX:0.5:24:1440",     "RRA:MAX:0.5:288:1440",
                                             "RRA:LAST:0.5:1:2016",     NULL};

/* Bench preset: 2 h of 5-min averages and 1 day of hourly maxima. */
static const char *const s_rra_small[] = {"RRA:AVERAGE:0.5:1:24", "RRA:MAX:0.5:12:24", NULL};

static const char *const s_rra_cfs[] = {"AVERAGE", "MIN", "MAX", "LAST", NULL};

//  --------------------------------------------------------------------------
//  Kind by value, or NULL when out of range.

static const s_kind_t *s_kind(rrdwriter_def_kind_t kind)
{
    if ((int)kind < 0 || kind >= RRDWRITER_DEF_KIND_COUNT)
        return NULL;
    return &s_kinds[kind];
}

//  --------------------------------------------------------------------------
//  Formats one value: U for NaN, exact integers, else shortest round-trip.
//  Returns 0 or -1 (infinite, or out too small).

static int s_format_value(char *out, size_t size, double v)
{
    int n;
    if (isnan(v))
        n = snprintf(out, size, "U");
    else if (isinf(v))
        return -1;
    else if (v == floor(v) && fabs(v) < S_TWO_POW_64) {
        /* fast exact path: the value is an integer below 2^64 in magnitude */
        char tmp[24];
        size_t len = 0;
        uint64_t u = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
        do
            tmp[len++] = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        n = (int)len + (v < 0);
        if ((size_t)n >= size)
            return -1;
        char *p = out;
        if (v < 0)
            *p++ = '-';
        while (len > 0)
            *p++ = tmp[--len];
        *p = '\0';
    } else {
        for (int prec = 15;; prec++) {
            n = snprintf(out, size, "%.*g", prec, v);
            if (prec >= 17 || (n > 0 && (size_t)n < size && strtod(out, NULL) == v))
                break;
        }
    }
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Allocates a copy of s; aborts on out-of-memory (house rule: OOM is fatal).

static char *s_strdup(const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        abort();
    return copy;
}

//  --------------------------------------------------------------------------
//  True when s is a non-empty run of decimal digits whose value is in 1..max.

static bool s_parse_count(const char *s, long max, long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return false;
    *out = strtol(s, NULL, 10);
    return *out >= 1 && *out <= max;
}

//  --------------------------------------------------------------------------
//  Checks one "RRA:CF:xff:steps:rows" token. Returns 0 or -1 (err set).

static int s_rra_check(const char *tok, dp_err_t *err)
{
    char copy[RRDWRITER_DEF_RRA_LEN];
    if (strlen(tok) >= sizeof copy)
        return dp_err_set(err, DP_ERR_CONFIG, "rra '%.80s': too long", tok);
    strcpy(copy, tok);
    char *save = NULL;
    char *f[6] = {NULL};
    int nf = 0;
    for (char *p = strtok_r(copy, ":", &save); p && nf < 6; p = strtok_r(NULL, ":", &save))
        f[nf++] = p;
    if (nf != 5 || strcmp(f[0], "RRA") != 0)
        return dp_err_set(err, DP_ERR_CONFIG, "rra '%s': expected RRA:CF:xff:steps:rows", tok);
    bool cf_ok = false;
    for (int i = 0; s_rra_cfs[i]; i++)
        cf_ok = cf_ok || strcmp(f[1], s_rra_cfs[i]) == 0;
    if (!cf_ok)
        return dp_err_set(err, DP_ERR_CONFIG, "rra '%s': CF must be AVERAGE, MIN, MAX or LAST",
                          tok);
    char *end = NULL;
    double xff = strtod(f[2], &end);
    if (end == f[2] || *end || !(xff >= 0 && xff < 1))
        return dp_err_set(err, DP_ERR_CONFIG, "rra '%s': xff must be a number in [0, 1)", tok);
    long steps, rows;
    if (!s_parse_count(f[3], S_RRA_STEPS_MAX, &steps))
        return dp_err_set(err, DP_ERR_CONFIG, "rra '%s': steps must be 1..%d", tok,
                          S_RRA_STEPS_MAX);
    if (!s_parse_count(f[4], S_RRA_ROWS_MAX, &rows))
        return dp_err_set(err, DP_ERR_CONFIG, "rra '%s': rows must be 1..%d", tok, S_RRA_ROWS_MAX);
    return 0;
}

//  --------------------------------------------------------------------------
//  Copies a NULL-terminated preset into rras.

static void s_rras_preset(const char *const *preset, rrdwriter_def_rras_t *rras)
{
    rras->count = 0;
    for (int i = 0; preset[i]; i++)
        snprintf(rras->rra[rras->count++], RRDWRITER_DEF_RRA_LEN, "%s", preset[i]);
}

//  --------------------------------------------------------------------------
//  Parses a list of RRA tokens into a temporary set. Returns 0 or -1 (err set).

static int s_rras_list(const char *spec, rrdwriter_def_rras_t *out, dp_err_t *err)
{
    char *copy = s_strdup(spec);
    char *save = NULL;
    int rc = 0;
    out->count = 0;
    for (char *t = strtok_r(copy, " ,\t\n", &save); t; t = strtok_r(NULL, " ,\t\n", &save)) {
        if (out->count == RRDWRITER_DEF_RRA_MAX) {
            rc = dp_err_set(err, DP_ERR_CONFIG, "rra: more than %d RRAs", RRDWRITER_DEF_RRA_MAX);
            break;
        }
        if ((rc = s_rra_check(t, err)) != 0)
            break;
        snprintf(out->rra[out->count++], RRDWRITER_DEF_RRA_LEN, "%s", t);
    }
    if (rc == 0 && out->count == 0)
        rc = dp_err_set(err, DP_ERR_CONFIG, "rra: empty list");
    free(copy);
    return rc;
}

//  --------------------------------------------------------------------------
//  Appends src to buf at *len, replacing characters outside keep with '_'.
//  no_dots: a leading '.' and a '.' right after a '.' become '_' too.

static void s_append_safe(char *buf, size_t *len, const char *src, const char *keep, bool no_dots)
{
    for (const char *p = src; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr(keep, c) != NULL;
        if (no_dots && c == '.' && (p == src || p[-1] == '.'))
            ok = false;
        buf[(*len)++] = ok ? c : '_';
    }
    buf[*len] = '\0';
}

//  --------------------------------------------------------------------------
//  Checks one value against its DS. Returns 0 or -1 (err set).

static int s_check_value(const s_kind_t *k, int i, double v, dp_err_t *err)
{
    const s_ds_t *ds = &k->ds[i];
    char num[S_NUM_LEN];
    if (isnan(v))
        return 0;
    if (isinf(v))
        return dp_err_set(err, DP_ERR_PROTO, "%s: value %d (%s) is infinite", k->name, i + 1,
                          ds->name);
    s_format_value(num, sizeof num, v);
    if (ds->is_derive && (v != floor(v) || fabs(v) >= S_TWO_POW_64))
        return dp_err_set(err, DP_ERR_PROTO, "%s: value %d (%s) is %s: DERIVE needs an integer",
                          k->name, i + 1, ds->name, num);
    if (!ds->is_derive && !isnan(ds->min) && v < ds->min)
        return dp_err_set(err, DP_ERR_PROTO, "%s: value %d (%s) is %s: below min %g", k->name,
                          i + 1, ds->name, num, ds->min);
    if (!ds->is_derive && !isnan(ds->max) && v > ds->max)
        return dp_err_set(err, DP_ERR_PROTO, "%s: value %d (%s) is %s: above max %g", k->name,
                          i + 1, ds->name, num, ds->max);
    return 0;
}

//  --------------------------------------------------------------------------

int rrdwriter_def_kind_parse(const char *name, rrdwriter_def_kind_t *kind, dp_err_t *err)
{
    for (int i = 0; name && i < RRDWRITER_DEF_KIND_COUNT; i++) {
        if (strcmp(name, s_kinds[i].name) == 0) {
            *kind = (rrdwriter_def_kind_t)i;
            return 0;
        }
    }
    return dp_err_set(err, DP_ERR_CONFIG, "unknown rrd kind '%.64s'", name ? name : "(null)");
}

//  --------------------------------------------------------------------------

const char *rrdwriter_def_kind_name(rrdwriter_def_kind_t kind)
{
    const s_kind_t *k = s_kind(kind);
    return k ? k->name : "?";
}

//  --------------------------------------------------------------------------

int rrdwriter_def_ds_count(rrdwriter_def_kind_t kind)
{
    const s_kind_t *k = s_kind(kind);
    return k ? k->ds_count : 0;
}

//  --------------------------------------------------------------------------

const char *rrdwriter_def_ds_name(rrdwriter_def_kind_t kind, int i)
{
    const s_kind_t *k = s_kind(kind);
    return k && i >= 0 && i < k->ds_count ? k->ds[i].name : NULL;
}

//  --------------------------------------------------------------------------

int rrdwriter_def_rras_parse(const char *spec, rrdwriter_def_rras_t *rras, dp_err_t *err)
{
    if (!spec)
        return dp_err_set(err, DP_ERR_CONFIG, "rra: no value");
    if (strcmp(spec, "librenms") == 0) {
        s_rras_preset(s_rra_librenms, rras);
        return 0;
    }
    if (strcmp(spec, "small") == 0) {
        s_rras_preset(s_rra_small, rras);
        return 0;
    }
    rrdwriter_def_rras_t parsed;
    if (s_rras_list(spec, &parsed, err) != 0)
        return -1;
    *rras = parsed;
    return 0;
}

//  --------------------------------------------------------------------------

int rrdwriter_def_create_args(rrdwriter_def_kind_t kind, const rrdwriter_def_rras_t *rras,
                              int step_s, char ***argv, int *argc, dp_err_t *err)
{
    const s_kind_t *k = s_kind(kind);
    if (!k)
        return dp_err_set(err, DP_ERR_CONFIG, "rrd kind %d out of range", (int)kind);
    if (!rras || rras->count < 1 || rras->count > RRDWRITER_DEF_RRA_MAX)
        return dp_err_set(err, DP_ERR_CONFIG, "%s: no RRAs to create", k->name);
    if (step_s < 1 || step_s > INT32_MAX / RRDWRITER_DEF_HEARTBEAT_FACTOR)
        return dp_err_set(err, DP_ERR_CONFIG, "%s: bad step %d", k->name, step_s);
    int n = k->ds_count + rras->count;
    char **v = calloc((size_t)n + 1, sizeof *v);
    if (!v)
        abort();
    for (int i = 0; i < k->ds_count; i++) {
        char min[S_NUM_LEN], max[S_NUM_LEN], ds[S_DS_LEN];
        s_format_value(min, sizeof min, k->ds[i].min);
        s_format_value(max, sizeof max, k->ds[i].max);
        snprintf(ds, sizeof ds, "DS:%s:%s:%d:%s:%s", k->ds[i].name,
                 k->ds[i].is_derive ? "DERIVE" : "GAUGE", step_s * RRDWRITER_DEF_HEARTBEAT_FACTOR,
                 min, max);
        v[i] = s_strdup(ds);
    }
    for (int i = 0; i < rras->count; i++)
        v[k->ds_count + i] = s_strdup(rras->rra[i]);
    *argv = v;
    *argc = n;
    return 0;
}

//  --------------------------------------------------------------------------

void rrdwriter_def_free_args(char ***argv, int argc)
{
    if (!argv || !*argv)
        return;
    for (int i = 0; i < argc; i++)
        free((*argv)[i]);
    free(*argv);
    *argv = NULL;
}

//  --------------------------------------------------------------------------

int rrdwriter_def_path(char *buf, size_t size, const char *hostname, rrdwriter_def_kind_t kind,
                       const char *sub, uint64_t index, dp_err_t *err)
{
    const s_kind_t *k = s_kind(kind);
    if (!k)
        return dp_err_set(err, DP_ERR_INTERNAL, "rrd kind %d out of range", (int)kind);
    size_t host_len = hostname ? strlen(hostname) : 0;
    if (host_len == 0 || host_len > S_HOST_MAX)
        return dp_err_set(err, DP_ERR_PROTO, "%s: hostname is empty or longer than %d", k->name,
                          S_HOST_MAX);
    size_t sub_len = sub ? strlen(sub) : 0;
    if (k->has_sub && (sub_len == 0 || sub_len > S_SUB_MAX))
        return dp_err_set(err, DP_ERR_PROTO, "%s: needs a sub-name of 1..%d chars", k->name,
                          S_SUB_MAX);
    /* worst case: host / prefix - sub sep index .rrd */
    char tmp[S_HOST_MAX + S_SUB_MAX + 96];
    size_t len = 0;
    s_append_safe(tmp, &len, hostname, "._:-", true);
    len += (size_t)snprintf(tmp + len, sizeof tmp - len, "/%s", k->prefix);
    if (k->has_sub) {
        tmp[len++] = '-';
        s_append_safe(tmp, &len, sub, ",._-", false);
    }
    if (k->has_index)
        len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%llu", k->index_sep,
                                (unsigned long long)index);
    snprintf(tmp + len, sizeof tmp - len, ".rrd");
    if (strlen(tmp) >= size)
        return dp_err_set(err, DP_ERR_INTERNAL, "%s: path buffer of %zu bytes too small", k->name,
                          size);
    strcpy(buf, tmp);
    return 0;
}

//  --------------------------------------------------------------------------

int rrdwriter_def_validate(rrdwriter_def_kind_t kind, int64_t ts_s, const double *values,
                           int nvalues, int64_t last_ts_s, dp_err_t *err)
{
    const s_kind_t *k = s_kind(kind);
    if (!k)
        return dp_err_set(err, DP_ERR_PROTO, "rrd kind %d out of range", (int)kind);
    if (nvalues != k->ds_count || (nvalues > 0 && !values))
        return dp_err_set(err, DP_ERR_PROTO, "%s: %d values for %d data sources", k->name, nvalues,
                          k->ds_count);
    if (ts_s <= 0)
        return dp_err_set(err, DP_ERR_PROTO, "%s: timestamp %lld is not positive", k->name,
                          (long long)ts_s);
    if (last_ts_s > 0 && ts_s <= last_ts_s)
        return dp_err_set(err, DP_ERR_PROTO, "%s: timestamp %lld is not after the last update %lld",
                          k->name, (long long)ts_s, (long long)last_ts_s);
    int64_t now_s = dp_time_wall_ms() / S_MS_PER_S;
    if (ts_s > now_s + RRDWRITER_DEF_FUTURE_SLACK_S)
        return dp_err_set(err, DP_ERR_PROTO, "%s: timestamp %lld is %lld s in the future", k->name,
                          (long long)ts_s, (long long)(ts_s - now_s));
    for (int i = 0; i < nvalues; i++) {
        if (s_check_value(k, i, values[i], err) != 0)
            return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------

int rrdwriter_def_format_update(char *buf, size_t size, int64_t ts_s, const double *values,
                                int nvalues)
{
    if (size == 0)
        return -1;
    if (s_format_value(buf, size, (double)ts_s) != 0) {
        buf[0] = '\0';
        return -1;
    }
    size_t len = strlen(buf);
    for (int i = 0; i < nvalues; i++) {
        /* ':' then the value, written in place (no printf: this runs per update) */
        if (len + 2 >= size || s_format_value(buf + len + 1, size - len - 1, values[i]) != 0) {
            buf[0] = '\0';
            return -1;
        }
        buf[len] = ':';
        len += 1 + strlen(buf + len + 1);
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Wire DS definitions

static const char *const s_ds_types[] = {"GAUGE", "COUNTER", "DERIVE", "ABSOLUTE"};

int rrdwriter_def_ds_wire(rrdwriter_def_kind_t kind, int i, int step_s, char *buf, size_t size)
{
    const s_kind_t *k = s_kind(kind);
    if (!k || i < 0 || i >= k->ds_count || step_s < 1 ||
        step_s > INT32_MAX / RRDWRITER_DEF_HEARTBEAT_FACTOR)
        return -1;
    char min[S_NUM_LEN], max[S_NUM_LEN];
    s_format_value(min, sizeof min, k->ds[i].min);
    s_format_value(max, sizeof max, k->ds[i].max);
    int n = snprintf(buf, size, "%s:%s:%d:%s:%s", k->ds[i].name,
                     k->ds[i].is_derive ? "DERIVE" : "GAUGE",
                     step_s * RRDWRITER_DEF_HEARTBEAT_FACTOR, min, max);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Parses a DS limit: "U" (NAN) or a finite number. Returns 0 or -1.

static int s_parse_limit(const char *s, double *out)
{
    if (strcmp(s, "U") == 0) {
        *out = NAN;
        return 0;
    }
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int rrdwriter_def_ds_parse(const char *def, rrdwriter_def_ds_t *ds, dp_err_t *err)
{
    char tmp[S_DS_LEN];
    char *part[5];
    int n = 0;
    if (!def || strlen(def) >= sizeof tmp)
        return dp_err_set(err, DP_ERR_PROTO, "ds: missing or longer than %d", S_DS_LEN - 1);
    int colons = 0;
    for (const char *c = def; *c; c++)
        colons += *c == ':';
    if (colons != 4)
        return dp_err_set(err, DP_ERR_PROTO, "ds '%.64s': expected NAME:TYPE:HB:MIN:MAX", def);
    strcpy(tmp, def);
    for (char *p = tmp; n < 5; n++) {
        part[n] = p;
        char *colon = strchr(p, ':');
        if (!colon) {
            n++;
            break;
        }
        *colon = '\0';
        p = colon + 1;
    }
    if (n != 5 || strchr(part[4], ':'))
        return dp_err_set(err, DP_ERR_PROTO, "ds '%.64s': expected NAME:TYPE:HB:MIN:MAX", def);
    size_t len = strlen(part[0]);
    if (len < 1 || len > RRDWRITER_DEF_DS_NAME_MAX ||
        strspn(part[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != len)
        return dp_err_set(err, DP_ERR_PROTO, "ds '%.64s': bad name", def);
    memcpy(ds->name, part[0], len + 1);
    int t = -1;
    for (int i = 0; i < (int)(sizeof s_ds_types / sizeof s_ds_types[0]); i++)
        if (strcmp(part[1], s_ds_types[i]) == 0)
            t = i;
    if (t < 0)
        return dp_err_set(err, DP_ERR_PROTO, "ds '%.64s': bad type", def);
    ds->type = (rrdwriter_def_ds_type_t)t;
    long hb = 0;
    if (!s_parse_count(part[2], INT32_MAX / 2, &hb))
        return dp_err_set(err, DP_ERR_PROTO, "ds '%.64s': bad heartbeat", def);
    ds->heartbeat_s = (int)hb;
    if (s_parse_limit(part[3], &ds->min) != 0 || s_parse_limit(part[4], &ds->max) != 0)
        return dp_err_set(err, DP_ERR_PROTO, "ds '%.64s': bad min/max", def);
    return 0;
}

int rrdwriter_def_ds_create_arg(const rrdwriter_def_ds_t *ds, int step_s, char *buf, size_t size)
{
    if (step_s < 1 || step_s > INT32_MAX / RRDWRITER_DEF_HEARTBEAT_FACTOR)
        return -1;
    char min[S_NUM_LEN], max[S_NUM_LEN];
    s_format_value(min, sizeof min, ds->min);
    s_format_value(max, sizeof max, ds->max);
    int n = snprintf(buf, size, "DS:%s:%s:%d:%s:%s", ds->name, s_ds_types[ds->type],
                     step_s * RRDWRITER_DEF_HEARTBEAT_FACTOR, min, max);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The full rules, with the error text; reached only for values the fast path cannot pass. */
static int s_check_ds_value_slow(const rrdwriter_def_ds_t *ds, double v, dp_err_t *err)
{
    if (isnan(v))
        return 0;
    if (isinf(v))
        return dp_err_set(err, DP_ERR_PROTO, "%s: value is infinite", ds->name);
    if (ds->type == RRDWRITER_DEF_GAUGE)
        return 0;
    if (v != floor(v) || fabs(v) >= S_TWO_POW_64)
        return dp_err_set(err, DP_ERR_PROTO, "%s: %s needs an integer, got %.17g", ds->name,
                          s_ds_types[ds->type], v);
    if (v < 0 && ds->type != RRDWRITER_DEF_DERIVE)
        return dp_err_set(err, DP_ERR_PROTO, "%s: %s needs a value >= 0, got %.17g", ds->name,
                          s_ds_types[ds->type], v);
    return 0;
}

int rrdwriter_def_check_ds_value(const rrdwriter_def_ds_t *ds, double v, dp_err_t *err)
{
    /* per value on the hot path: a finite GAUGE, or an integral 0 <= v < 2^63 for the counter
       types, passes without libm calls (the int64 cast truncates exactly in that range) */
    if (ds->type == RRDWRITER_DEF_GAUGE ? isfinite(v)
                                        : v >= 0 && v < 0x1p63 && (double)(int64_t)v == v)
        return 0;
    return s_check_ds_value_slow(ds, v, err);
}
