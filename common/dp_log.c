/*  dp_log.c - structured logfmt logging to stderr, one write per line
    SPDX-License-Identifier: MIT */
#include "dp_log.h"
#include "dp_time.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DP_LOG_LINE_MAX 4096
#define DP_LOG_NAME_MAX 64

static char s_daemon[DP_LOG_NAME_MAX] = "distpoll"; /* set once in main */
static char s_node[DP_LOG_NAME_MAX] = "-";          /* set once in main */
static atomic_int s_level = DP_LOG_INFO;            /* threshold */
static atomic_int s_fd = 2;                         /* output descriptor */

static const char *s_level_names[] = {"error", "warn", "notice", "info", "debug"};

static bool s_needs_quote(const char *v)
{
    if (!*v)
        return true;
    for (; *v; v++)
        if (*v <= ' ' || *v == '"' || *v == '=' || *v == '\\' || *v == 0x7f)
            return true;
    return false;
}

//  --------------------------------------------------------------------------
void dp_log_init(const char *daemon, const char *node, dp_log_level_t level)
{
    snprintf(s_daemon, sizeof s_daemon, "%s", daemon ? daemon : "distpoll");
    snprintf(s_node, sizeof s_node, "%s", node && *node ? node : "-");
    atomic_store(&s_level, level);
}

//  --------------------------------------------------------------------------
void dp_log_set_level(dp_log_level_t level)
{
    atomic_store(&s_level, level);
}

//  --------------------------------------------------------------------------
int dp_log_level_parse(const char *text, dp_log_level_t *level)
{
    for (int i = 0; i <= DP_LOG_DEBUG; i++)
        if (text && strcmp(text, s_level_names[i]) == 0) {
            *level = (dp_log_level_t)i;
            return 0;
        }
    return -1;
}

//  --------------------------------------------------------------------------
const char *dp_log_level_name(dp_log_level_t level)
{
    return (unsigned)level <= DP_LOG_DEBUG ? s_level_names[level] : "unknown";
}

//  --------------------------------------------------------------------------
bool dp_log_enabled(dp_log_level_t level)
{
    return (int)level <= atomic_load(&s_level);
}

//  --------------------------------------------------------------------------
void dp_log_set_fd(int fd)
{
    atomic_store(&s_fd, fd);
}

//  --------------------------------------------------------------------------
int dp_log_kv(char *buf, int size, const char *key, const char *value)
{
    if (!value)
        value = "";
    if (!s_needs_quote(value))
        return snprintf(buf, size, "%s=%s", key, value);
    int n = snprintf(buf, size, "%s=\"", key);
    for (const char *v = value; *v; v++) {
        char esc[8];
        if (*v == '"' || *v == '\\')
            snprintf(esc, sizeof esc, "\\%c", *v);
        else if (*v == '\n')
            snprintf(esc, sizeof esc, "\\n");
        else if ((unsigned char)*v < ' ' || *v == 0x7f)
            snprintf(esc, sizeof esc, "\\x%02x", (unsigned char)*v);
        else
            snprintf(esc, sizeof esc, "%c", *v);
        n += snprintf(n < size ? buf + n : NULL, n < size ? (size_t)(size - n) : 0, "%s", esc);
    }
    n += snprintf(n < size ? buf + n : NULL, n < size ? (size_t)(size - n) : 0, "\"");
    return n;
}

//  --------------------------------------------------------------------------
void dp_log_write(dp_log_level_t level, const char *msg, const char *kvfmt, ...)
{
    char line[DP_LOG_LINE_MAX];
    char ts[32];
    int n = snprintf(line, sizeof line, "ts=%s level=%s daemon=%s node=%s tid=%ld ",
                     dp_time_iso(dp_time_wall_ms(), ts, sizeof ts), dp_log_level_name(level),
                     s_daemon, s_node, (long)syscall(SYS_gettid));
    if (n < (int)sizeof line)
        n += dp_log_kv(line + n, (int)sizeof line - n, "msg", msg);
    if (kvfmt && *kvfmt && n < (int)sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start(ap, kvfmt);
        n += vsnprintf(line + n, sizeof line - n, kvfmt, ap);
        va_end(ap);
    }
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t rc = write(atomic_load(&s_fd), line, (size_t)n);
    (void)rc;
}

//  --------------------------------------------------------------------------
bool dp_log_limit(dp_log_limit_t *l, int64_t every_ms, uint64_t *suppressed)
{
    int64_t now = dp_time_mono_ms();
    if (l->last_ms != 0 && now - l->last_ms < every_ms) {
        l->suppressed++;
        return false;
    }
    l->last_ms = now;
    if (suppressed)
        *suppressed = l->suppressed;
    l->suppressed = 0;
    return true;
}
