/*  discoverer_os.h - OS detection from rules kept as data (discoverer/os-rules.conf)
    One rule per line; '#' starts a comment line. A rule is space-separated tokens, values
    optionally "quoted" (\" and \\ escapes inside quotes):
      os=ID              required: the id stored in devices.os ([a-z0-9_.-], 1..32 chars)
      name="TEXT"        display name (default: the id)
      sysObjectID=OID    sysObjectID is OID or lies under it (whole sub-ids; a trailing '.' ok)
      sysObjectID!=OID   ... is not
      sysDescr="TEXT"    sysDescr contains TEXT (case-sensitive)
      sysDescr!="TEXT"   ... does not
      sysDescr~"ERE"     sysDescr matches the POSIX extended regex, case-insensitive ("=~" too)
      sysDescr!~"ERE"    ... does not
      fallback           the rule used when no other rule matches (it has no conditions)
    Every condition of a rule must hold. Most specific first: the longest positive sysObjectID
    prefix wins, then more positive sysDescr conditions, then more negations, then file order.
    With no matching rule and no fallback rule the OS is "generic".
    A rule set is immutable once parsed and reference-counted (atomically), so threads share
    one set and a reload swaps it without stopping anybody.
    SPDX-License-Identifier: MIT */
#ifndef DISCOVERER_OS_H
#define DISCOVERER_OS_H

#include "dp_err.h"

#include <stdbool.h>

#define DISCOVERER_OS_ID_MAX    32 /* devices.os is VARCHAR(32) */
#define DISCOVERER_OS_CONDS_MAX 8  /* conditions per rule */
#define DISCOVERER_OS_RULES_MAX 4096
#define DISCOVERER_OS_GENERIC   "generic"

typedef struct discoverer_os_rules discoverer_os_rules_t;

/* Outcome of a detection. Strings are borrowed from the rule set (valid while a reference to
   it is held). */
typedef struct {
    const char *os;   /* e.g. "iosxe" */
    const char *name; /* e.g. "Cisco IOS-XE" */
    int line;         /* line of the rule in the file; 0 = built-in generic */
    bool fallback;    /* no specific rule matched (fallback rule or built-in generic) */
} discoverer_os_match_t;

/* Parses rules from text; origin names it in errors ("path:line: ..."). Returns a set with one
   reference (release with discoverer_os_unref) or NULL with err (DP_ERR_CONFIG) naming the
   line, the token and what was expected. */
discoverer_os_rules_t *discoverer_os_parse(const char *text, const char *origin, dp_err_t *err);

/* Reads and parses the file at path. NULL with err (DP_ERR_CONFIG, or DP_ERR_NOTFOUND when
   the file cannot be read). */
discoverer_os_rules_t *discoverer_os_load(const char *path, dp_err_t *err);

/* Takes another reference (thread-safe). Returns r. */
discoverer_os_rules_t *discoverer_os_ref(discoverer_os_rules_t *r);

/* Drops a reference; the last one frees the set. NULL-safe; sets *p to NULL. */
void discoverer_os_unref(discoverer_os_rules_t **p);

/* Number of rules (fallback included). */
int discoverer_os_count(const discoverer_os_rules_t *r);

/* Origin given to parse/load (the file path). Borrowed. */
const char *discoverer_os_origin(const discoverer_os_rules_t *r);

/* Detects the OS of a device from its sysObjectID (dotted, leading dot optional; NULL or ""
   when unknown) and sysDescr (NULL or "" when unknown). r may be NULL (gives generic).
   Thread-safe. */
void discoverer_os_detect(const discoverer_os_rules_t *r, const char *sys_object_id,
                          const char *sys_descr, discoverer_os_match_t *out);

#endif
