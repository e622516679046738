/*  dp_err.c - error category and text carried beside a result
    SPDX-License-Identifier: MIT */
#include "dp_err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *s_names[] = {
    [DP_ERR_NONE] = "none",   [DP_ERR_TIMEOUT] = "timeout",   [DP_ERR_UNREACHABLE] = "unreachable",
    [DP_ERR_PROTO] = "proto", [DP_ERR_CONFIG] = "config",     [DP_ERR_DB] = "db",
    [DP_ERR_AUTH] = "auth",   [DP_ERR_NOTFOUND] = "notfound", [DP_ERR_STALE] = "stale",
    [DP_ERR_BUSY] = "busy",   [DP_ERR_INTERNAL] = "internal",
};

//  --------------------------------------------------------------------------
int dp_err_set(dp_err_t *err, dp_err_code_t code, const char *fmt, ...)
{
    if (!err)
        return -1;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->text, sizeof err->text, fmt, ap);
    va_end(ap);
    return -1;
}

//  --------------------------------------------------------------------------
void dp_err_clear(dp_err_t *err)
{
    if (!err)
        return;
    err->code = DP_ERR_NONE;
    err->text[0] = '\0';
}

//  --------------------------------------------------------------------------
const char *dp_err_name(dp_err_code_t code)
{
    if ((unsigned)code >= sizeof s_names / sizeof s_names[0] || !s_names[code])
        return "unknown";
    return s_names[code];
}
