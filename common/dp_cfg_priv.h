/*  dp_cfg_priv.h - what the key table (dp_cfg.c) gives the loaders (dp_cfg_load.c)
    Private to those two files: everyone else uses dp_cfg.h.
    SPDX-License-Identifier: MIT */
#ifndef DP_CFG_PRIV_H
#define DP_CFG_PRIV_H

#include "dp_cfg.h"

#include <stdbool.h>
#include <stddef.h>

#define DP_CFG_SHOW_MAX 64 /* bytes of a value quoted in an error */

/* Parses and stores one value of key (origin names the source in errors; NULL = none).
   Returns 0, -1 with err (cfg unchanged), or 1 when key is not in the table (err untouched). */
int dp_cfg_apply(dp_cfg_t *cfg, const char *key, const char *value, const char *origin,
                 dp_err_t *err);

/* The table's i-th key; NULL past its end. */
const char *dp_cfg_key_at(size_t i);

/* True when key's value is never shown: a secret table key, or an unknown key whose name
   looks secret. */
bool dp_cfg_is_secret(const char *key);

/* True when a name (or a whole line) hints at a secret (PASS, KEY, TOKEN, ...). */
bool dp_cfg_looks_secret(const char *name);

/* value quoted for an error message (escaped, cut, or masked when secret) in buf; returns buf. */
const char *dp_cfg_show(const char *value, bool secret, char *buf, size_t size);

#endif
