/*  discoverer_os.c - OS detection rules: parser, ordering and matcher (see discoverer_os.h)
    SPDX-License-Identifier: MIT */
#include "discoverer_os.h"
#include "dp_snmp.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX  128        /* display name */
#define S_TOKEN_MAX 512        /* one value */
#define S_FILE_MAX  (1u << 20) /* rules file size */
#define S_OID_MAX   DP_SNMP_OID_MAX

typedef enum { S_C_OID, S_C_SUB, S_C_RE } s_ckind_t;

typedef struct {
    s_ckind_t kind;
    bool negate;
    oid prefix[S_OID_MAX]; /* S_C_OID */
    size_t plen;
    char *text; /* S_C_SUB: the substring; S_C_RE: the pattern (for messages) */
    regex_t re; /* S_C_RE */
    bool re_ok;
} s_cond_t;

typedef struct {
    char os[DISCOVERER_OS_ID_MAX + 1];
    char name[S_NAME_MAX];
    int line;
    int order; /* position in the file */
    bool fallback;
    s_cond_t conds[DISCOVERER_OS_CONDS_MAX];
    int nconds;
    size_t oid_len; /* longest positive sysObjectID prefix (specificity) */
    int descr_pos;  /* positive sysDescr conditions */
    int negs;       /* negative conditions */
} s_rule_t;

struct discoverer_os_rules {
    atomic_int refs;
    char *origin;
    s_rule_t *rules; /* sorted most specific first; the fallback (if any) last */
    int n;
};

//  --------------------------------------------------------------------------
//  Parsing

typedef struct {
    const char *origin;
    int line;
    dp_err_t *err;
} s_ctx_t;

static int s_fail(const s_ctx_t *c, const char *what, const char *detail)
{
    return dp_err_set(c->err, DP_ERR_CONFIG, "%s:%d: %s%s%s", c->origin, c->line, what,
                      detail ? ": " : "", detail ? detail : "");
}

//  Reads one value at *p (quoted or bare) into out. Returns 0 or -1.
static int s_value(const s_ctx_t *c, const char **p, char *out, size_t size)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            if (n + 1 >= size)
                return s_fail(c, "value too long", NULL);
            out[n++] = *s++;
        }
        if (*s != '"')
            return s_fail(c, "unterminated quoted value", NULL);
        s++;
        if (*s && !isspace((unsigned char)*s))
            return s_fail(c, "expected a space after the closing quote", NULL);
    } else {
        while (*s && !isspace((unsigned char)*s)) {
            if (n + 1 >= size)
                return s_fail(c, "value too long", NULL);
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    *p = s;
    return 0;
}

static bool s_valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > DISCOVERER_OS_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)id[i]) && !isdigit((unsigned char)id[i]) &&
            !strchr("_.-", id[i]))
            return false;
    return true;
}

static int s_add_cond(const s_ctx_t *c, s_rule_t *r, const char *key, const char *op,
                      const char *val)
{
    if (r->nconds >= DISCOVERER_OS_CONDS_MAX)
        return s_fail(c, "too many conditions in one rule", key);
    s_cond_t *k = &r->conds[r->nconds];
    memset(k, 0, sizeof *k);
    k->negate = op[0] == '!';
    bool re = strchr(op, '~') != NULL;
    if (strcmp(key, "sysObjectID") == 0) {
        if (re)
            return s_fail(c, "sysObjectID takes = or != (a prefix), not a regex", val);
        char buf[S_TOKEN_MAX];
        snprintf(buf, sizeof buf, "%s", val);
        size_t len = strlen(buf);
        if (len > 0 && buf[len - 1] == '.')
            buf[len - 1] = '\0';
        int n = dp_snmp_oid_parse(buf, k->prefix, S_OID_MAX);
        if (n < 0)
            return s_fail(c, "sysObjectID: expected a dotted numeric OID", val);
        k->kind = S_C_OID;
        k->plen = (size_t)n;
        if (!k->negate && k->plen > r->oid_len)
            r->oid_len = k->plen;
    } else if (strcmp(key, "sysDescr") == 0) {
        if (!*val)
            return s_fail(c, "sysDescr: empty pattern", NULL);
        k->text = strdup(val);
        if (!k->text)
            abort();
        k->kind = re ? S_C_RE : S_C_SUB;
        if (re) {
            int rc = regcomp(&k->re, val, REG_EXTENDED | REG_ICASE | REG_NOSUB);
            if (rc != 0) {
                char msg[128];
                regerror(rc, &k->re, msg, sizeof msg);
                free(k->text);
                k->text = NULL;
                return s_fail(c, "sysDescr: bad regex", msg);
            }
            k->re_ok = true;
        }
        if (!k->negate)
            r->descr_pos++;
    } else {
        return s_fail(c, "unknown key (expected os, name, sysObjectID, sysDescr or fallback)", key);
    }
    if (k->negate)
        r->negs++;
    r->nconds++;
    return 0;
}

static void s_rule_clear(s_rule_t *r)
{
    for (int i = 0; i < r->nconds; i++) {
        free(r->conds[i].text);
        if (r->conds[i].re_ok)
            regfree(&r->conds[i].re);
    }
    r->nconds = 0;
}

//  Splits "key<op>" off the token at *p: key into key, the operator ("=", "!=", "~", "=~",
//  "!~", or "" for a bare word) into op.
static int s_key(const s_ctx_t *c, const char **p, char *key, size_t ksize, char *op)
{
    const char *s = *p;
    size_t n = 0;
    while (*s && (isalnum((unsigned char)*s) || *s == '_')) {
        if (n + 1 >= ksize)
            return s_fail(c, "key too long", NULL);
        key[n++] = *s++;
    }
    key[n] = '\0';
    if (n == 0)
        return s_fail(c, "expected key=value", s);
    op[0] = '\0';
    static const char *const ops[] = {"!=", "!~", "=~", "=", "~"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strncmp(s, ops[i], strlen(ops[i])) == 0) {
            strcpy(op, ops[i]);
            s += strlen(ops[i]);
            break;
        }
    if (!op[0] && *s && !isspace((unsigned char)*s))
        return s_fail(c, "expected =, !=, ~ or !~ after the key", key);
    *p = s;
    return 0;
}

//  Parses one non-empty line into r. Returns 0 or -1.
static int s_parse_line(const s_ctx_t *c, const char *line, s_rule_t *r)
{
    memset(r, 0, sizeof *r);
    r->line = c->line;
    const char *p = line;
    while (true) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        char key[32], op[3] = "", val[S_TOKEN_MAX];
        if (s_key(c, &p, key, sizeof key, op) != 0)
            return -1;
        if (!op[0]) {
            if (strcmp(key, "fallback") != 0)
                return s_fail(c, "expected key=value", key);
            r->fallback = true;
            continue;
        }
        if (s_value(c, &p, val, sizeof val) != 0)
            return -1;
        if (strcmp(key, "os") == 0 || strcmp(key, "name") == 0) {
            if (strcmp(op, "=") != 0)
                return s_fail(c, "expected '=' after", key);
            if (key[0] == 'o' && !s_valid_id(val))
                return s_fail(c, "os: expected 1-32 chars of [a-z0-9_.-]", val);
            if (key[0] == 'o')
                snprintf(r->os, sizeof r->os, "%.*s", (int)sizeof r->os - 1, val);
            else
                snprintf(r->name, sizeof r->name, "%.*s", (int)sizeof r->name - 1, val);
        } else if (s_add_cond(c, r, key, op, val) != 0) {
            return -1;
        }
    }
    if (!r->os[0])
        return s_fail(c, "rule without os=", NULL);
    if (!r->name[0])
        snprintf(r->name, sizeof r->name, "%s", r->os);
    if (r->fallback && r->nconds > 0)
        return s_fail(c, "a fallback rule takes no conditions", r->os);
    if (!r->fallback && r->nconds == 0)
        return s_fail(c, "rule without conditions (add sysObjectID/sysDescr or mark it fallback)",
                      r->os);
    return 0;
}

//  Most specific first (see the header); the fallback last.
static int s_cmp_rule(const void *a, const void *b)
{
    const s_rule_t *x = a, *y = b;
    if (x->fallback != y->fallback)
        return x->fallback ? 1 : -1;
    if (x->oid_len != y->oid_len)
        return x->oid_len > y->oid_len ? -1 : 1;
    if (x->descr_pos != y->descr_pos)
        return x->descr_pos > y->descr_pos ? -1 : 1;
    if (x->negs != y->negs)
        return x->negs > y->negs ? -1 : 1;
    return x->order - y->order;
}

static void s_free(discoverer_os_rules_t *r)
{
    for (int i = 0; i < r->n; i++)
        s_rule_clear(&r->rules[i]);
    free(r->rules);
    free(r->origin);
    free(r);
}

//  --------------------------------------------------------------------------
discoverer_os_rules_t *discoverer_os_parse(const char *text, const char *origin, dp_err_t *err)
{
    discoverer_os_rules_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    atomic_init(&r->refs, 1);
    r->origin = strdup(origin ? origin : "rules");
    int cap = 0, fallbacks = 0;
    s_ctx_t c = {r->origin, 0, err};
    const char *p = text ? text : "";
    while (*p) {
        c.line++;
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *line = strndup(p, len);
        if (!line)
            abort();
        p += len + (end ? 1 : 0);
        const char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (!*s || *s == '#') {
            free(line);
            continue;
        }
        if (r->n == cap) {
            cap = cap ? cap * 2 : 32;
            if (cap > DISCOVERER_OS_RULES_MAX + 1 || r->n >= DISCOVERER_OS_RULES_MAX) {
                free(line);
                s_fail(&c, "too many rules", NULL);
                goto fail;
            }
            r->rules = realloc(r->rules, (size_t)cap * sizeof *r->rules);
            if (!r->rules)
                abort();
        }
        s_rule_t *rule = &r->rules[r->n];
        int rc = s_parse_line(&c, s, rule);
        free(line);
        if (rc != 0) {
            s_rule_clear(rule);
            goto fail;
        }
        rule->order = r->n++;
        if (rule->fallback && ++fallbacks > 1) {
            s_fail(&c, "a second fallback rule", rule->os);
            goto fail;
        }
    }
    if (r->n > 1)
        qsort(r->rules, (size_t)r->n, sizeof *r->rules, s_cmp_rule);
    return r;
fail:
    s_free(r);
    return NULL;
}

//  --------------------------------------------------------------------------
discoverer_os_rules_t *discoverer_os_load(const char *path, dp_err_t *err)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        dp_err_set(err, DP_ERR_NOTFOUND, "cannot read OS rules %s: %s", path ? path : "(none)",
                   path ? strerror(errno) : "no path");
        return NULL;
    }
    char *buf = malloc(S_FILE_MAX + 1);
    if (!buf)
        abort();
    size_t n = fread(buf, 1, S_FILE_MAX + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad || n > S_FILE_MAX) {
        free(buf);
        dp_err_set(err, DP_ERR_CONFIG, "%s: %s", path, bad ? "read error" : "larger than 1 MiB");
        return NULL;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        free(buf);
        dp_err_set(err, DP_ERR_CONFIG, "%s: binary data (NUL byte)", path);
        return NULL;
    }
    discoverer_os_rules_t *r = discoverer_os_parse(buf, path, err);
    free(buf);
    return r;
}

//  --------------------------------------------------------------------------
discoverer_os_rules_t *discoverer_os_ref(discoverer_os_rules_t *r)
{
    if (r)
        atomic_fetch_add(&r->refs, 1);
    return r;
}

//  --------------------------------------------------------------------------
void discoverer_os_unref(discoverer_os_rules_t **p)
{
    if (!p || !*p)
        return;
    discoverer_os_rules_t *r = *p;
    *p = NULL;
    if (atomic_fetch_sub(&r->refs, 1) == 1)
        s_free(r);
}

//  --------------------------------------------------------------------------
int discoverer_os_count(const discoverer_os_rules_t *r)
{
    return r ? r->n : 0;
}

//  --------------------------------------------------------------------------
const char *discoverer_os_origin(const discoverer_os_rules_t *r)
{
    return r ? r->origin : "";
}

//  --------------------------------------------------------------------------
//  Matching

static bool s_cond_holds(const s_cond_t *k, const oid *id, int idlen, const char *descr)
{
    bool hit;
    switch (k->kind) {
    case S_C_OID:
        hit = idlen >= (int)k->plen && memcmp(id, k->prefix, k->plen * sizeof(oid)) == 0;
        break;
    case S_C_SUB:
        hit = descr && strstr(descr, k->text) != NULL;
        break;
    default:
        hit = descr && regexec(&k->re, descr, 0, NULL, 0) == 0;
        break;
    }
    return hit != k->negate;
}

void discoverer_os_detect(const discoverer_os_rules_t *r, const char *sys_object_id,
                          const char *sys_descr, discoverer_os_match_t *out)
{
    oid id[S_OID_MAX];
    int idlen =
        sys_object_id && *sys_object_id ? dp_snmp_oid_parse(sys_object_id, id, S_OID_MAX) : -1;
    const char *descr = sys_descr ? sys_descr : "";
    *out = (discoverer_os_match_t){DISCOVERER_OS_GENERIC, "Generic SNMP device", 0, true};
    for (int i = 0; r && i < r->n; i++) {
        const s_rule_t *rule = &r->rules[i];
        bool ok = true;
        for (int k = 0; ok && k < rule->nconds; k++)
            ok = s_cond_holds(&rule->conds[k], id, idlen, descr);
        if (ok) {
            *out = (discoverer_os_match_t){rule->os, rule->name, rule->line, rule->fallback};
            return;
        }
    }
}
