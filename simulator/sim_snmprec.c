/*  sim_snmprec.c - snmprec files (the snmpsim format) into simulator profiles
    SPDX-License-Identifier: MIT */
#include "sim_snmprec.h"
#include "sim_counter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define S_TAG_INTEGER   2
#define S_TAG_OCTETS    4
#define S_TAG_NULL      5
#define S_TAG_OID       6
#define S_TAG_IPADDR    64
#define S_TAG_COUNTER   65
#define S_TAG_GAUGE     66
#define S_TAG_TIMETICKS 67
#define S_TAG_OPAQUE    68
#define S_TAG_COUNTER64 70
#define S_TEXT_MAX      256
#define S_GENERIC_MASK  0xffff
#define S_SPEED_DEFAULT 100000000ULL

static const oid s_if_entry[] = {1, 3, 6, 1, 2, 1, 2, 2, 1};
static const oid s_ifx_entry[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1};

static int s_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool s_under(const oid *name, size_t len, const oid *prefix, size_t plen)
{
    return len == plen + 2 && memcmp(name, prefix, plen * sizeof(oid)) == 0;
}

/* Row index of an ifTable/ifXTable entry (the port) and, for counters, its kind. */
static void s_classify(sim_entry_t *e, const oid *name, size_t len)
{
    int bits = 32;
    uint32_t kind = SIM_CTR_NONE;
    size_t il = sizeof(s_if_entry) / sizeof(oid), xl = sizeof(s_ifx_entry) / sizeof(oid);
    if (s_under(name, len, s_if_entry, il)) {
        e->port = (uint32_t)name[len - 1];
        kind = sim_counter_kind_of_column(2, (int)name[il], &bits);
    } else if (s_under(name, len, s_ifx_entry, xl)) {
        e->port = (uint32_t)name[len - 1];
        kind = sim_counter_kind_of_column(31, (int)name[xl], &bits);
    }
    if (e->type != ASN_COUNTER && e->type != ASN_COUNTER64)
        return;
    if (kind == SIM_CTR_NONE) {
        /* other counters: a generic kind from the column (the OID minus its last sub-id) */
        uint64_t h = 0;
        for (size_t i = 0; i + 1 < len; i++)
            h = h * 31 + name[i];
        kind = SIM_CTR_GENERIC + (uint32_t)(h & S_GENERIC_MASK);
    }
    e->kind = SIM_VAL_COUNTER;
    e->ctr = kind;
    e->bits = e->type == ASN_COUNTER64 ? 64 : 32;
    e->has_base = true;
    e->speed_bps = S_SPEED_DEFAULT;
}

static int s_parse_number(const char *text, bool is_signed, int64_t *out)
{
    char *end;
    errno = 0;
    if (is_signed) {
        long long v = strtoll(text, &end, 10);
        if (errno || end == text || *end || v < INT32_MIN || v > INT32_MAX)
            return -1;
        *out = v;
    } else {
        if (*text == '-')
            return -1;
        unsigned long long v = strtoull(text, &end, 10);
        if (errno || end == text || *end)
            return -1;
        *out = (int64_t)v;
    }
    return 0;
}

/* Fills e's value from text (already hex-decoded for non-string types). */
static int s_parse_value(sim_entry_t *e, int tag, const char *text, oid *oidbuf, dp_err_t *err)
{
    int64_t v = 0;
    struct in_addr ia;
    int n;
    switch (tag) {
    case S_TAG_INTEGER:
        e->type = ASN_INTEGER;
        break;
    case S_TAG_COUNTER:
        e->type = ASN_COUNTER;
        break;
    case S_TAG_GAUGE:
        e->type = ASN_GAUGE;
        break;
    case S_TAG_TIMETICKS:
        e->type = ASN_TIMETICKS;
        break;
    case S_TAG_COUNTER64:
        e->type = ASN_COUNTER64;
        break;
    case S_TAG_NULL:
        e->type = ASN_NULL;
        return 0;
    case S_TAG_OID:
        e->type = ASN_OBJECT_ID;
        n = sim_oid_parse(text, oidbuf, SIM_OID_MAX);
        if (n < 0)
            return dp_err_set(err, DP_ERR_PROTO, "bad OID value '%.64s'", text);
        e->bytes = (u_char *)oidbuf;
        e->bytes_len = (size_t)n * sizeof(oid);
        return 0;
    case S_TAG_IPADDR:
        e->type = ASN_IPADDRESS;
        if (inet_pton(AF_INET, text, &ia) != 1)
            return dp_err_set(err, DP_ERR_PROTO, "bad IpAddress '%.64s'", text);
        memcpy(oidbuf, &ia, 4);
        e->bytes = (u_char *)oidbuf;
        e->bytes_len = 4;
        return 0;
    default:
        return dp_err_set(err, DP_ERR_PROTO, "unsupported tag %d", tag);
    }
    if (s_parse_number(text, tag == S_TAG_INTEGER, &v) != 0 ||
        (tag != S_TAG_COUNTER64 && tag != S_TAG_INTEGER && v > (int64_t)UINT32_MAX))
        return dp_err_set(err, DP_ERR_PROTO, "bad number '%.64s' for tag %d", text, tag);
    e->num = v;
    return 0;
}

static bool s_is_bytes_tag(int tag)
{
    return tag == S_TAG_OCTETS || tag == S_TAG_OPAQUE;
}

//  --------------------------------------------------------------------------
long sim_hex_decode(const char *text, size_t len, u_char *out, size_t cap)
{
    size_t n = 0, i = 0;
    if (len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        i = 2;
    int hi = -1;
    for (; i < len; i++) {
        if (text[i] == ' ' || text[i] == ':')
            continue;
        int v = s_hexval((unsigned char)text[i]);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n >= cap)
            return -1;
        out[n++] = (u_char)(hi << 4 | v);
        hi = -1;
    }
    return hi < 0 ? (long)n : -1;
}

//  --------------------------------------------------------------------------
int sim_snmprec_parse_line(sim_profile_t *p, const char *line, dp_err_t *err)
{
    size_t len = strcspn(line, "\r\n");
    if (len == 0 || line[0] == '#')
        return 0;
    const char *bar1 = memchr(line, '|', len);
    const char *bar2 = bar1 ? memchr(bar1 + 1, '|', len - (size_t)(bar1 + 1 - line)) : NULL;
    if (!bar2)
        return dp_err_set(err, DP_ERR_PROTO, "expected OID|TAG|VALUE");
    char oidtext[SIM_OID_MAX * 11 + 2], tagtext[32];
    size_t ol = (size_t)(bar1 - line), tl = (size_t)(bar2 - bar1 - 1);
    if (ol >= sizeof(oidtext) || tl == 0 || tl >= sizeof(tagtext))
        return dp_err_set(err, DP_ERR_PROTO, "OID or tag too long");
    memcpy(oidtext, line, ol);
    oidtext[ol] = '\0';
    memcpy(tagtext, bar1 + 1, tl);
    tagtext[tl] = '\0';
    oid name[SIM_OID_MAX];
    int nl = sim_oid_parse(oidtext, name, SIM_OID_MAX);
    if (nl < 0)
        return dp_err_set(err, DP_ERR_PROTO, "bad OID '%.64s'", oidtext);
    char *colon = strchr(tagtext, ':');
    if (colon)
        *colon = '\0'; /* variation module: ignored */
    char *end;
    long tag = strtol(tagtext, &end, 10);
    bool hex = *end == 'x';
    if (end == tagtext || (*end && !(hex && end[1] == '\0')))
        return dp_err_set(err, DP_ERR_PROTO, "bad tag '%s'", tagtext);

    const char *val = bar2 + 1;
    size_t vl = len - (size_t)(val - line);
    size_t cap = vl / 2 + 1;
    u_char *raw = malloc(cap > S_TEXT_MAX ? cap + 1 : S_TEXT_MAX + 1);
    oid *oidbuf = malloc(SIM_OID_MAX * sizeof(oid));
    if (!raw || !oidbuf)
        abort();
    sim_entry_t e = {.name = name, .name_len = (uint32_t)nl};
    int rc = 0;
    long rl = (long)vl;
    if (hex) {
        rl = sim_hex_decode(val, vl, raw, cap);
        if (rl < 0)
            rc = dp_err_set(err, DP_ERR_PROTO, "bad hex value");
    } else if (s_is_bytes_tag((int)tag)) {
        memcpy(raw, val, vl);
    } else if (vl > S_TEXT_MAX) {
        rc = dp_err_set(err, DP_ERR_PROTO, "value too long for tag %ld", tag);
    } else {
        memcpy(raw, val, vl);
    }
    if (rc == 0 && s_is_bytes_tag((int)tag)) {
        e.type = tag == S_TAG_OCTETS ? ASN_OCTET_STR : ASN_OPAQUE;
        e.bytes = raw;
        e.bytes_len = (size_t)rl;
    } else if (rc == 0 && tag == S_TAG_IPADDR && hex) {
        e.type = ASN_IPADDRESS;
        e.bytes = raw;
        e.bytes_len = (size_t)rl;
        if (rl != 4)
            rc = dp_err_set(err, DP_ERR_PROTO, "IpAddress needs 4 bytes, got %ld", rl);
    } else if (rc == 0) {
        if ((size_t)rl > S_TEXT_MAX)
            rc = dp_err_set(err, DP_ERR_PROTO, "value too long for tag %ld", tag);
        else {
            raw[rl] = '\0';
            rc = s_parse_value(&e, (int)tag, (const char *)raw, oidbuf, err);
        }
    }
    if (rc == 0) {
        s_classify(&e, name, (size_t)nl);
        rc = sim_profile_add(p, &e, err);
    }
    free(raw);
    free(oidbuf);
    return rc == 0 ? 1 : -1;
}

//  --------------------------------------------------------------------------
sim_profile_t *sim_snmprec_load(const char *path, dp_err_t *err)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        dp_err_set(err, DP_ERR_CONFIG, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    sim_profile_t *p = sim_profile_new(path);
    char *line = malloc(SIM_SNMPREC_LINE_MAX);
    if (!line)
        abort();
    long lineno = 0;
    dp_err_t lerr = {0};
    while (gzgets(f, line, SIM_SNMPREC_LINE_MAX)) {
        lineno++;
        size_t n = strlen(line);
        if (n == SIM_SNMPREC_LINE_MAX - 1 && line[n - 1] != '\n') {
            dp_err_set(err, DP_ERR_CONFIG, "%s:%ld: line too long", path, lineno);
            goto fail;
        }
        if (sim_snmprec_parse_line(p, line, &lerr) < 0) {
            dp_err_set(err, DP_ERR_CONFIG, "%s:%ld: %s", path, lineno, lerr.text);
            goto fail;
        }
    }
    int zerr = 0;
    const char *zmsg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        dp_err_set(err, DP_ERR_CONFIG, "%s: read error: %s", path, zmsg);
        goto fail;
    }
    free(line);
    gzclose(f);
    sim_profile_finish(p);
    return p;
fail:
    free(line);
    gzclose(f);
    sim_profile_destroy(&p);
    return NULL;
}
