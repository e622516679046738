/*  dp_log.h - structured logfmt logging to stderr, one write per line
    Thread-safe: each event is formatted into a local buffer and written with
    one write(2). The level is checked before arguments are evaluated.
    SPDX-License-Identifier: MIT */
#ifndef DP_LOG_H
#define DP_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    DP_LOG_ERROR = 0,
    DP_LOG_WARN,
    DP_LOG_NOTICE,
    DP_LOG_INFO,
    DP_LOG_DEBUG,
} dp_log_level_t;

/* Sets the fixed keys (daemon, node) and the threshold. Call once in main,
   before threads start; strings are copied. */
void dp_log_init(const char *daemon, const char *node, dp_log_level_t level);

/* Changes the threshold (e.g. on SIGHUP). */
void dp_log_set_level(dp_log_level_t level);

/* Parses "error|warn|notice|info|debug"; returns 0 or -1. */
int dp_log_level_parse(const char *text, dp_log_level_t *level);

/* Name of a level ("warn"). Static string. */
const char *dp_log_level_name(dp_log_level_t level);

/* True when events of this level are written. */
bool dp_log_enabled(dp_log_level_t level);

/* Redirects output to fd (default 2); for tests. */
void dp_log_set_fd(int fd);

/* Writes one event: msg is quoted; kvfmt is printf-style "key=value key=%d"
   context appended after msg (may be NULL). Prefer the macros below. */
void dp_log_write(dp_log_level_t level, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends key=value to buf with logfmt quoting of value when needed.
   Returns the number of bytes the full output needs (as snprintf). */
int dp_log_kv(char *buf, int size, const char *key, const char *value);

/* A rate limit for one repeated warning (a per-job failure that can hit thousands of jobs at
   once). Zero-initialise; not thread-safe (one per thread or per object). */
typedef struct {
    int64_t last_ms;     /* monotonic time of the last message let through; 0: none yet */
    uint64_t suppressed; /* held back since then */
} dp_log_limit_t;

/* True when the message may be logged now (at most one per every_ms); then *suppressed gets
   how many were held back since the previous one (log it with the message). */
bool dp_log_limit(dp_log_limit_t *l, int64_t every_ms, uint64_t *suppressed);

#define DP_LOG(level, msg, ...)                                                                    \
    do {                                                                                           \
        if (dp_log_enabled(level))                                                                 \
            dp_log_write(level, msg, __VA_ARGS__);                                                 \
    } while (0)

#define dp_log_error(msg, ...)  DP_LOG(DP_LOG_ERROR, msg, __VA_ARGS__)
#define dp_log_warn(msg, ...)   DP_LOG(DP_LOG_WARN, msg, __VA_ARGS__)
#define dp_log_notice(msg, ...) DP_LOG(DP_LOG_NOTICE, msg, __VA_ARGS__)
#define dp_log_info(msg, ...)   DP_LOG(DP_LOG_INFO, msg, __VA_ARGS__)
#define dp_log_debug(msg, ...)  DP_LOG(DP_LOG_DEBUG, msg, __VA_ARGS__)

#endif
