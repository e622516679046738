/*  dp_cfg_load.c - reading configuration text: defaults < .env file < environment < flags
    Loaders work on a copy and swap it in only when everything is valid; values are parsed and
    checked by the table in dp_cfg.c (dp_cfg_priv.h). Also the comma-list splitter.
    SPDX-License-Identifier: MIT */
#include "dp_cfg.h"
#include "dp_cfg_priv.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_KEY_MAX      64 /* longest key considered for "did you mean" */
#define S_DEFAULT_FILE ".env"
#define S_FLAGS_HINT                                                                               \
    "expected --env-file PATH, --set KEY=VALUE, --node-id ID, --log-level LEVEL, -v or --help"

/* Keys LibreNMS keeps in the same .env; accepted and ignored in files. */
static const char *const s_foreign_keys[] = {
    "APP_URL",        "APP_ENV",          "APP_DEBUG",         "INSTALL",
    "LIBRENMS_USER",  "LIBRENMS_GROUP",   "DB_CONNECTION",     "CACHE_DRIVER",
    "SESSION_DRIVER", "VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", NULL,
};

/* Moves next's contents into cfg and destroys the old contents. */
static void s_swap_in(dp_cfg_t *cfg, dp_cfg_t **next)
{
    dp_cfg_t old = *cfg;
    *cfg = **next;
    **next = old;
    dp_cfg_destroy(next);
}

//  --------------------------------------------------------------------------
//  .env parsing

/* Small edit distance, for "did you mean". */
static int s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la >= S_KEY_MAX || lb >= S_KEY_MAX)
        return S_KEY_MAX;
    int prev[S_KEY_MAX], cur[S_KEY_MAX];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (toupper((unsigned char)a[i - 1]) != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

/* Unknown key: suggests the nearest table key; masks the value if either looks secret. */
static int s_fail_unknown(dp_err_t *err, const char *origin, const char *key, const char *value)
{
    char shown[DP_CFG_SHOW_MAX + 16], hint[S_KEY_MAX + 32] = "";
    const char *near = NULL, *k;
    int best = 3;
    for (size_t i = 0; (k = dp_cfg_key_at(i)); i++) {
        int d = s_distance(key, k);
        if (d < best) {
            best = d;
            near = k;
        }
    }
    if (near)
        snprintf(hint, sizeof hint, " (did you mean %s?)", near);
    bool secret = dp_cfg_looks_secret(key) || (near && dp_cfg_is_secret(near));
    return dp_err_set(err, DP_ERR_CONFIG,
                      "%s: %s=%s: unknown key%s: expected one of the keys listed by --help", origin,
                      key, dp_cfg_show(value, secret, shown, sizeof shown), hint);
}

static bool s_is_foreign(const char *key)
{
    for (const char *const *k = s_foreign_keys; *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

/* Reads the value after '=' in place; returns NULL on success or why it is malformed. */
static const char *s_parse_value(char *p, char **value)
{
    while (*p == ' ' || *p == '\t')
        p++;
    char quote = *p, *out = p + 1, *in = p + 1;
    if (quote != '"' && quote != '\'') {
        char *end = p;
        while (*end && !(*end == '#' && (end == p || end[-1] == ' ' || end[-1] == '\t')))
            end++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        *value = p;
        return NULL;
    }
    *value = out;
    for (; *in && *in != quote; in++) {
        if (quote == '"' && *in == '\\' && in[1]) {
            char c = *++in;
            *out++ = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
            if (!strchr("\"\\ntr", c)) /* unknown escape: keep the backslash */
                out[-1] = '\\', *out++ = c;
            continue;
        }
        *out++ = *in;
    }
    if (!*in)
        return quote == '"' ? "unterminated double quote" : "unterminated single quote";
    *out = '\0';
    for (in++; *in == ' ' || *in == '\t'; in++)
        ;
    if (*in && *in != '#')
        return "text after the closing quote";
    return NULL;
}

/* Splits one line; returns 1 with key/value, 0 for blank or comment, -1 with *why. */
static int s_parse_line(char *line, char **key, char **value, const char **why)
{
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return 0;
    if (strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t'))
        for (p += 6; *p == ' ' || *p == '\t'; p++)
            ;
    char *name = p;
    if (!(isalpha((unsigned char)*p) || *p == '_'))
        return *why = "expected KEY=VALUE", -1;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    char *end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=')
        return *why = "expected KEY=VALUE", -1;
    *end = '\0';
    *key = name;
    *why = s_parse_value(p + 1, value);
    return *why ? -1 : 1;
}

/* A malformed line: names the key and (masked) value when the key was read, else the line. */
static int s_fail_line(dp_err_t *err, const char *where, const char *line, const char *key,
                       const char *why)
{
    char shown[DP_CFG_SHOW_MAX + 16];
    if (key) {
        bool secret = dp_cfg_is_secret(key);
        const char *raw = strchr(line, '=') + 1;
        raw += strspn(raw, " \t");
        return dp_err_set(err, DP_ERR_CONFIG, "%s: %s=%s: %s: expected a value quoted on one line",
                          where, key, dp_cfg_show(raw, secret, shown, sizeof shown), why);
    }
    return dp_err_set(err, DP_ERR_CONFIG, "%s: malformed line %s: %s", where,
                      dp_cfg_show(line, dp_cfg_looks_secret(line), shown, sizeof shown), why);
}

/* Applies one .env line to cfg; where is "path:line". */
static int s_apply_line(dp_cfg_t *cfg, char *line, const char *where, dp_err_t *err)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    char *copy = strdup(line), *key = NULL, *value = NULL;
    if (!copy)
        abort();
    const char *why = NULL;
    int rc = s_parse_line(line, &key, &value, &why);
    if (rc < 0)
        rc = s_fail_line(err, where, copy, key, why);
    else if (rc > 0) {
        rc = dp_cfg_apply(cfg, key, value, where, err);
        if (rc > 0)
            rc = s_is_foreign(key) ? 0 : s_fail_unknown(err, where, key, value);
    }
    free(copy);
    return rc < 0 ? -1 : 0;
}

//  --------------------------------------------------------------------------
//  Command-line flags

typedef struct {
    const char *flag;  /* canonical flag name for messages */
    const char *key;   /* table key it sets, or NULL */
    const char *value; /* its argument (borrowed from argv) */
} s_flag_t;

/* Matches "--name VALUE" or "--name=VALUE"; advances *i. Returns 1 match, 0 no, -1 missing. */
static int s_flag_arg(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

/* First pass: checks every flag and records them in flags[]; finds --env-file. */
static int s_scan_flags(dp_cfg_t *cfg, int argc, char **argv, s_flag_t *flags, int *nflags,
                        const char **env_file, dp_err_t *err)
{
    static const s_flag_t with_arg[] = {{"--env-file", NULL, NULL},
                                        {"--set", NULL, NULL},
                                        {"--node-id", "NODE_ID", NULL},
                                        {"--log-level", "DP_LOG_LEVEL", NULL}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        const s_flag_t *match = NULL;
        for (size_t k = 0; k < sizeof with_arg / sizeof with_arg[0] && !match; k++) {
            int found = s_flag_arg(argc, argv, &i, with_arg[k].flag, &value);
            if (found < 0)
                return dp_err_set(err, DP_ERR_CONFIG, "flag %s needs a value", a);
            if (found)
                match = &with_arg[k];
        }
        if (match == &with_arg[0])
            *env_file = value;
        else if (match)
            flags[(*nflags)++] = (s_flag_t){match->flag, match->key, value};
        else if (strcmp(a, "-v") == 0)
            flags[(*nflags)++] = (s_flag_t){"-v", "DP_LOG_LEVEL", "debug"};
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            cfg->help_requested = true;
        else {
            char shown[DP_CFG_SHOW_MAX + 16];
            return dp_err_set(
                err, DP_ERR_CONFIG, "%s %s: %s", *a == '-' ? "unknown flag" : "unexpected argument",
                dp_cfg_show(a, dp_cfg_looks_secret(a), shown, sizeof shown), S_FLAGS_HINT);
        }
    }
    return 0;
}

/* Second pass: applies the recorded flags in order. */
static int s_apply_flags(dp_cfg_t *cfg, const s_flag_t *flags, int nflags, dp_err_t *err)
{
    for (int i = 0; i < nflags; i++) {
        if (flags[i].key) {
            if (dp_cfg_apply(cfg, flags[i].key, flags[i].value, flags[i].flag, err) != 0)
                return -1;
            continue;
        }
        const char *eq = strchr(flags[i].value, '=');
        char key[S_KEY_MAX];
        int n = eq ? (int)(eq - flags[i].value) : (int)strlen(flags[i].value);
        snprintf(key, sizeof key, "%.*s", n, flags[i].value);
        if (!eq)
            return dp_err_set(err, DP_ERR_CONFIG, "--set %s: expected KEY=VALUE", key);
        int rc = dp_cfg_apply(cfg, key, eq + 1, "--set", err);
        if (rc > 0)
            return s_fail_unknown(err, "--set", key, eq + 1);
        if (rc != 0)
            return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
int dp_cfg_load_env_file(dp_cfg_t *cfg, const char *path, dp_err_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return dp_err_set(err, DP_ERR_CONFIG, "%s: cannot open env file: %s", path,
                          strerror(errno));
    dp_cfg_t *next = dp_cfg_dup(cfg);
    char *line = NULL, where[DP_ERR_TEXT_MAX / 2];
    size_t cap = 0;
    int rc = 0;
    for (int lineno = 1; rc == 0 && getline(&line, &cap, f) != -1; lineno++) {
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        rc = s_apply_line(next, line, where, err);
    }
    if (rc == 0 && ferror(f))
        rc = dp_err_set(err, DP_ERR_CONFIG, "%s: read error: %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (rc == 0)
        s_swap_in(cfg, &next);
    dp_cfg_destroy(&next);
    return rc;
}

//  --------------------------------------------------------------------------
int dp_cfg_load_environ(dp_cfg_t *cfg, dp_err_t *err)
{
    dp_cfg_t *next = dp_cfg_dup(cfg);
    const char *key;
    for (size_t i = 0; (key = dp_cfg_key_at(i)); i++) {
        const char *value = getenv(key);
        if (!value || !*value)
            continue; /* compose passes unset variables as empty */
        if (dp_cfg_apply(next, key, value, "environment", err) != 0) {
            dp_cfg_destroy(&next);
            return -1;
        }
    }
    s_swap_in(cfg, &next);
    return 0;
}

//  --------------------------------------------------------------------------
int dp_cfg_load(dp_cfg_t *cfg, int argc, char **argv, dp_err_t *err)
{
    s_flag_t *flags = calloc((size_t)(argc > 0 ? argc : 1), sizeof *flags);
    if (!flags)
        abort();
    dp_cfg_t *next = dp_cfg_dup(cfg);
    const char *env_file = NULL;
    int nflags = 0, rc = s_scan_flags(next, argc, argv, flags, &nflags, &env_file, err);
    if (rc == 0 && !env_file) {
        const char *from_env = getenv("DP_ENV_FILE");
        if (from_env && *from_env)
            env_file = from_env;
        else if (access(S_DEFAULT_FILE, F_OK) == 0)
            env_file = S_DEFAULT_FILE;
    }
    if (rc == 0 && env_file)
        rc = dp_cfg_load_env_file(next, env_file, err);
    if (rc == 0)
        rc = dp_cfg_load_environ(next, err);
    if (rc == 0)
        rc = s_apply_flags(next, flags, nflags, err);
    if (rc == 0)
        s_swap_in(cfg, &next);
    dp_cfg_destroy(&next);
    free(flags);
    return rc;
}

//  --------------------------------------------------------------------------
int dp_cfg_split_list(const char *text, char ***items, int *count)
{
    int n = 0, cap = 1;
    for (const char *p = text; p && *p; p++)
        cap += *p == ',';
    char **list = calloc((size_t)cap + 1, sizeof *list);
    if (!list)
        abort();
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, ",");
        const char *start = p, *end = p + len;
        while (start < end && isspace((unsigned char)*start))
            start++;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (end > start) {
            list[n] = strndup(start, (size_t)(end - start));
            if (!list[n++])
                abort();
        }
        p += len + (p[len] == ',');
    }
    *items = list;
    *count = n;
    return 0;
}

//  --------------------------------------------------------------------------
void dp_cfg_list_free(char ***items)
{
    if (!items || !*items)
        return;
    for (char **p = *items; *p; p++)
        free(*p);
    free(*items);
    *items = NULL;
}
