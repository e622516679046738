/*  cli.c - helpers shared by the distpoll subcommands
    SPDX-License-Identifier: MIT */
#include "cli.h"
#include "dp_conn.h"
#include "dp_daemon.h"
#include "dp_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <time.h>

#define S_ENDPOINT_MAX 512

const char *const cli_daemons[] = {"scheduler", "poller",    "discoverer",
                                   "biller",    "rrdwriter", NULL};

//  --------------------------------------------------------------------------
int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "distpoll: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return code;
}

//  --------------------------------------------------------------------------
void cli_json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

//  --------------------------------------------------------------------------
dp_db_t *cli_db(cli_t *cli)
{
    if (cli->db)
        return cli->db;
    dp_err_t err = {0};
    cli->db = dp_conn_db_open(cli->cfg, &err);
    if (!cli->db)
        cli_error(CLI_UNAVAILABLE, "MariaDB: %s", err.text);
    return cli->db;
}

//  --------------------------------------------------------------------------
dp_redis_t *cli_redis(cli_t *cli, dp_err_t *err)
{
    if (cli->redis)
        return cli->redis;
    dp_redis_opts_t o;
    dp_conn_redis_opts(cli->cfg, &o);
    dp_redis_t *r = dp_redis_new(&o);
    if (!r) {
        dp_err_set(err, DP_ERR_CONFIG, "Redis: REDIS_HOST or REDIS_SENTINEL must be set");
        return NULL;
    }
    if (dp_redis_connect(r, err) != 0) {
        dp_redis_destroy(&r);
        return NULL;
    }
    cli->redis = r;
    return r;
}

//  --------------------------------------------------------------------------
char *cli_ctl(cli_t *cli, const char *daemon, const char *command, int timeout_ms, dp_err_t *err)
{
    char endpoint[S_ENDPOINT_MAX];
    if (dp_conn_control_endpoint(cli->cfg, daemon, cli->cfg->node_id, endpoint, sizeof endpoint)) {
        dp_err_set(err, DP_ERR_CONFIG, "control endpoint of %s too long", daemon);
        return NULL;
    }
    struct stat st;
    if (strncmp(endpoint, "ipc://", 6) == 0 && stat(endpoint + 6, &st) != 0) {
        dp_err_set(err, DP_ERR_NOTFOUND, "not running on this node (no control socket %s)",
                   endpoint + 6);
        return NULL;
    }
    return dp_daemon_ctl(endpoint, command, timeout_ms, err);
}

//  --------------------------------------------------------------------------
int cli_parse_long(const char *name, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi)
        return cli_error(CLI_USAGE, "%s \"%s\": expected a number %ld..%ld", name, text, lo, hi);
    *out = v;
    return 0;
}

//  --------------------------------------------------------------------------
int cli_parse_duration_s(const char *name, const char *text, long *out_s)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    long unit = 1;
    if (*end && !end[1])
        switch (*end) {
        case 's':
            unit = 1;
            end++;
            break;
        case 'm':
            unit = 60;
            end++;
            break;
        case 'h':
            unit = 3600;
            end++;
            break;
        case 'd':
            unit = 86400;
            end++;
            break;
        case 'w':
            unit = 7 * 86400;
            end++;
            break;
        default:
            break;
        }
    if (errno || end == text || *end || v <= 0 || v > 366L * 86400 / unit)
        return cli_error(CLI_USAGE,
                         "%s \"%s\": expected a duration like 3600, 30m, 6h, 1d or 1w (up to a "
                         "year)",
                         name, text);
    *out_s = v * unit;
    return 0;
}

//  --------------------------------------------------------------------------
char *cli_fmt_time(int64_t wall_ms, char *buf, size_t size)
{
    if (wall_ms <= 0) {
        snprintf(buf, size, "never");
        return buf;
    }
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

//  --------------------------------------------------------------------------
char *cli_fmt_ago(int64_t wall_ms, char *buf, size_t size)
{
    if (wall_ms <= 0) {
        snprintf(buf, size, "never");
        return buf;
    }
    int64_t s = (dp_time_wall_ms() - wall_ms) / 1000;
    const char *sign = s < 0 ? "in " : "";
    const char *ago = s < 0 ? "" : " ago";
    if (s < 0)
        s = -s;
    if (s < 60)
        snprintf(buf, size, "%s%llds%s", sign, (long long)s, ago);
    else if (s < 3600)
        snprintf(buf, size, "%s%lldm%02llds%s", sign, (long long)s / 60, (long long)s % 60, ago);
    else if (s < 86400)
        snprintf(buf, size, "%s%lldh%02lldm%s", sign, (long long)s / 3600, (long long)s % 3600 / 60,
                 ago);
    else
        snprintf(buf, size, "%s%lldd%s", sign, (long long)s / 86400, ago);
    return buf;
}

//  --------------------------------------------------------------------------
char *cli_fmt_bps(double bps, char *buf, size_t size)
{
    static const char *const units[] = {"bps", "kbps", "Mbps", "Gbps", "Tbps"};
    int u = 0;
    while (bps >= 1000 && u < 4) {
        bps /= 1000;
        u++;
    }
    snprintf(buf, size, u ? "%.2f %s" : "%.0f %s", bps, units[u]);
    return buf;
}

//  --------------------------------------------------------------------------
int cli_find_device(cli_t *cli, const char *host, int64_t *device_id)
{
    dp_db_t *db = cli_db(cli);
    if (!db)
        return -1;
    dp_err_t err = {0};
    dp_db_stmt_t *q = dp_db_cached(db, "SELECT device_id FROM devices WHERE hostname = ?",
                                   DP_DB_IDEMPOTENT, &err);
    if (!q || dp_db_query(q, &err, "s", host) != 0) {
        cli_error(CLI_FAIL, "MariaDB: %s", err.text);
        return -1;
    }
    int found = dp_db_fetch(q) == 1;
    if (found)
        *device_id = dp_db_col_int(q, 0);
    while (dp_db_fetch(q) == 1)
        ;
    if (!found)
        cli_error(CLI_FAIL, "device %s not found", host);
    return found;
}

//  --------------------------------------------------------------------------
bool cli_stats_get(const char *text, const char *name, char *value, size_t size)
{
    size_t n = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, name, n) == 0 && l[n] == ':' && l[n + 1] == ' ') {
            const char *v = l + n + 2;
            size_t len = strcspn(v, "\n");
            snprintf(value, size, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

//  --------------------------------------------------------------------------
double cli_stats_num(const char *text, const char *name, double def)
{
    char v[64];
    if (!text || !cli_stats_get(text, name, v, sizeof v))
        return def;
    char *end;
    double d = strtod(v, &end);
    return end == v || *end ? def : d;
}

//  --------------------------------------------------------------------------
void cli_rrd_host_dir(const char *hostname, char *buf, size_t size)
{
    size_t i = 0;
    for (; hostname[i] && i + 1 < size; i++) {
        char c = hostname[i];
        bool ok = isalnum((unsigned char)c) || strchr("._:-", c);
        if (c == '.' && (i == 0 || hostname[i - 1] == '.'))
            ok = false;
        buf[i] = ok ? c : '_';
    }
    buf[i] = '\0';
}

//  --------------------------------------------------------------------------
int cli_rrdcached_connect(const char *addr, char *why, size_t size)
{
    const char *path = strncmp(addr, "unix:", 5) == 0 ? addr + 5 : addr[0] == '/' ? addr : NULL;
    int fd = -1;
    if (path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            snprintf(why, size, "cannot connect to %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }
    char host[256], *port;
    snprintf(host, sizeof host, "%s", addr);
    port = strrchr(host, ':');
    if (port)
        *port++ = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port ? port : "42217", &hints, &ai) != 0 || !ai) {
        snprintf(why, size, "cannot resolve %s", addr);
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(why, size, "cannot connect to %s: %s", addr, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}
