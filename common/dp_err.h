/*  dp_err.h - error category and text carried beside a result
    Functions that cross an external boundary take an optional dp_err_t *err
    and fill it on failure; the caller decides policy from the category.
    SPDX-License-Identifier: MIT */
#ifndef DP_ERR_H
#define DP_ERR_H

#include <stddef.h>

#define DP_ERR_TEXT_MAX 256

typedef enum {
    DP_ERR_NONE = 0,
    DP_ERR_TIMEOUT,     /* peer did not answer in time */
    DP_ERR_UNREACHABLE, /* could not connect */
    DP_ERR_PROTO,       /* garbled, truncated or wrong-typed input */
    DP_ERR_CONFIG,      /* bad configuration or usage */
    DP_ERR_DB,          /* MariaDB error */
    DP_ERR_AUTH,        /* refused credentials */
    DP_ERR_NOTFOUND,    /* asked-for thing does not exist */
    DP_ERR_STALE,       /* fencing epoch or lease is out of date */
    DP_ERR_BUSY,        /* held by someone else (lock) */
    DP_ERR_INTERNAL,    /* anything else */
} dp_err_code_t;

typedef struct {
    dp_err_code_t code;         /* category; DP_ERR_NONE when clear */
    char text[DP_ERR_TEXT_MAX]; /* human-readable detail, never secrets */
} dp_err_t;

/* Fills err (if not NULL) with code and printf-formatted text.
   Always returns -1, so `return dp_err_set(err, ...)` reads naturally. */
int dp_err_set(dp_err_t *err, dp_err_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to DP_ERR_NONE with empty text. NULL-safe. */
void dp_err_clear(dp_err_t *err);

/* Short lower-case name of a category ("timeout", "proto", ...). Static string. */
const char *dp_err_name(dp_err_code_t code);

#endif
