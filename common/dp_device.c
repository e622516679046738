/*  dp_device.c - a `devices` row as the SNMP workers read it (see dp_device.h)
    SPDX-License-Identifier: MIT */
#include "dp_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --------------------------------------------------------------------------
void dp_device_clear(dp_device_t *d)
{
    if (!d)
        return;
    free(d->community);
    free(d->sec_name);
    free(d->auth_proto);
    free(d->priv_proto);
    memset(d, 0, sizeof *d);
}

static char *s_dup(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

//  The row's columns in DP_DEVICE_COLUMNS order; passphrases borrowed from q.
static void s_fill(dp_db_stmt_t *q, dp_device_t *d)
{
    dp_device_clear(d);
    d->device_id = dp_db_col_uint(q, 0);
    const char *host = dp_db_col_str(q, 1), *ip = dp_db_col_str(q, 2);
    snprintf(d->hostname, sizeof d->hostname, "%s", host ? host : "");
    snprintf(d->addr, sizeof d->addr, "%s", ip && *ip ? ip : d->hostname);
    dp_snmp_target_t *t = &d->target;
    t->host = d->addr;
    t->port = (int)dp_db_col_int(q, 3);
    if (dp_snmp_version_parse(dp_db_col_str(q, 4), &t->version) != 0)
        t->version = DP_SNMP_V2C;
    t->community = d->community = s_dup(dp_db_col_str(q, 5));
    if (dp_snmp_level_parse(dp_db_col_str(q, 6), &t->level) != 0)
        t->level = DP_SNMP_AUTHPRIV;
    t->sec_name = d->sec_name = s_dup(dp_db_col_str(q, 7));
    t->auth_proto = d->auth_proto = s_dup(dp_db_col_str(q, 9));
    t->priv_proto = d->priv_proto = s_dup(dp_db_col_str(q, 11));
    t->auth_pass = dp_db_col_str(q, 8); /* borrowed: only until the keys are derived */
    t->priv_pass = dp_db_col_str(q, 10);
    t->timeout_ms = dp_db_col_is_null(q, 12) ? -1 : (int)dp_db_col_int(q, 12) * 1000;
    t->retries = dp_db_col_is_null(q, 13) ? -1 : (int)dp_db_col_int(q, 13);
    d->disabled = dp_db_col_int(q, 14) != 0;
}

//  --------------------------------------------------------------------------
int dp_device_fetch(dp_db_stmt_t *q, dp_device_t *out, dp_err_t *key_err)
{
    int found = 0;
    if (dp_db_fetch(q) == 1) {
        found = 1;
        s_fill(q, out);
        if (dp_snmp_target_keys(&out->target, key_err) != 0 && key_err->code == DP_ERR_NONE)
            dp_err_set(key_err, DP_ERR_CONFIG, "bad SNMPv3 settings");
        out->target.auth_pass = out->target.priv_pass = NULL;
    }
    while (dp_db_fetch(q) == 1)
        ;
    return found;
}
