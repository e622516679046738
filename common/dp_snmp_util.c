/*  dp_snmp_util.c - dp_snmp's pure helpers, protocol tables, process init and v3 key derivation
    (the engine is in dp_snmp.c; API in dp_snmp.h)
    SPDX-License-Identifier: MIT */
#include "dp_snmp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <net-snmp/library/snmpusm.h>
#include <net-snmp/library/transform_oids.h>

//  --------------------------------------------------------------------------
//  Pure helpers

int dp_snmp_oid_parse(const char *text, oid *out, size_t max)
{
    if (!text)
        return -1;
    const char *p = text[0] == '.' ? text + 1 : text;
    size_t n = 0;
    while (*p) {
        if (*p < '0' || *p > '9' || n >= max)
            return -1;
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        out[n++] = (oid)v;
        if (*end == '.' && end[1])
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return n >= 2 ? (int)n : -1;
}

bool dp_snmp_oid_under(const oid *prefix, size_t plen, const oid *name, size_t nlen)
{
    return nlen > plen && memcmp(prefix, name, plen * sizeof(oid)) == 0;
}

int dp_snmp_bulk_col(int i, int nonrep, int nrep)
{
    if (i < 0)
        return -1;
    if (i < nonrep)
        return i;
    if (nrep <= 0)
        return -1;
    return nonrep + (i - nonrep) % nrep;
}

bool dp_snmp_shrink(int *max_rep, int *cols_per_req)
{
    if (*max_rep > 1) {
        *max_rep /= 2;
        return true;
    }
    if (*cols_per_req > 1) {
        *cols_per_req /= 2;
        return true;
    }
    return false;
}

bool dp_snmp_var_u64(const netsnmp_variable_list *v, uint64_t *out, int *bits)
{
    if (!v || !v->val.integer)
        return false;
    int b = 32;
    switch (v->type) {
    case ASN_INTEGER:
        *out = (uint64_t)(int64_t)*v->val.integer;
        break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        *out = (uint64_t)(uint32_t)*v->val.integer;
        break;
    case ASN_COUNTER64:
        if (!v->val.counter64 || v->val_len < sizeof(struct counter64))
            return false;
        *out = ((uint64_t)v->val.counter64->high << 32) | (uint32_t)v->val.counter64->low;
        b = 64;
        break;
    default:
        return false;
    }
    if (bits)
        *bits = b;
    return true;
}

bool dp_snmp_var_str(const netsnmp_variable_list *v, char *buf, size_t size)
{
    if (!v || v->type != ASN_OCTET_STR || size == 0)
        return false;
    size_t n = v->val_len < size - 1 ? v->val_len : size - 1;
    if (n && v->val.string)
        memcpy(buf, v->val.string, n);
    buf[n] = '\0';
    return true;
}

const char *dp_snmp_status_name(dp_snmp_status_t status)
{
    static const char *const names[] = {"ok",   "timeout", "toobig",   "errstat",
                                        "auth", "send",    "cancelled"};
    return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "?";
}

int dp_snmp_version_parse(const char *text, dp_snmp_version_t *out)
{
    if (!text)
        return -1;
    if (strcasecmp(text, "v1") == 0 || strcmp(text, "1") == 0)
        *out = DP_SNMP_V1;
    else if (strcasecmp(text, "v2c") == 0 || strcmp(text, "2c") == 0 || strcmp(text, "2") == 0)
        *out = DP_SNMP_V2C;
    else if (strcasecmp(text, "v3") == 0 || strcmp(text, "3") == 0)
        *out = DP_SNMP_V3;
    else
        return -1;
    return 0;
}

int dp_snmp_level_parse(const char *text, dp_snmp_level_t *out)
{
    if (!text || strcasecmp(text, "noAuthNoPriv") == 0)
        *out = DP_SNMP_NOAUTH;
    else if (strcasecmp(text, "authNoPriv") == 0)
        *out = DP_SNMP_AUTHNOPRIV;
    else if (strcasecmp(text, "authPriv") == 0)
        *out = DP_SNMP_AUTHPRIV;
    else
        return -1;
    return 0;
}

const oid *dp_snmp_auth_oid(const char *name, size_t *len)
{
    static const struct {
        const char *name;
        const oid *o;
    } map[] = {{"MD5", usmHMACMD5AuthProtocol},           {"SHA", usmHMACSHA1AuthProtocol},
               {"SHA1", usmHMACSHA1AuthProtocol},         {"SHA-224", usmHMAC128SHA224AuthProtocol},
               {"SHA-256", usmHMAC192SHA256AuthProtocol}, {"SHA-384", usmHMAC256SHA384AuthProtocol},
               {"SHA-512", usmHMAC384SHA512AuthProtocol}};
    for (size_t i = 0; name && i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(name, map[i].name) == 0) {
            *len = 10;
            return map[i].o;
        }
    return NULL;
}

const oid *dp_snmp_priv_oid(const char *name, size_t *len)
{
    if (!name)
        return NULL;
    if (strcasecmp(name, "DES") == 0) {
        *len = 10;
        return usmDESPrivProtocol;
    }
    if (strcasecmp(name, "AES") == 0 || strcasecmp(name, "AES-128") == 0) {
        *len = 10;
        return usmAESPrivProtocol;
    }
    if (strcasecmp(name, "AES-192") == 0) {
        *len = 9;
        return usmAES192PrivProtocol;
    }
    if (strcasecmp(name, "AES-256") == 0) {
        *len = 9;
        return usmAES256PrivProtocol;
    }
    return NULL;
}

bool dp_snmp_auth_proto_valid(const char *name)
{
    size_t n;
    return dp_snmp_auth_oid(name, &n) != NULL;
}

bool dp_snmp_priv_proto_valid(const char *name)
{
    size_t n;
    return dp_snmp_priv_oid(name, &n) != NULL;
}

//  --------------------------------------------------------------------------
//  Process-wide init

int dp_snmp_init(const char *app)
{
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_QUICK_PRINT, 1);
    netsnmp_ds_set_int(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_OID_OUTPUT_FORMAT,
                       NETSNMP_OID_OUTPUT_NUMERIC);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
    setenv("MIBS", "", 1);
    netsnmp_set_mib_directory("");
    init_snmp(app ? app : "distpoll");
    /* the empty user engine-id probes are sent as (net-snmp's usm_build_probe_pdu does this
       lazily from whatever thread probes first; do it once here instead) */
    if (!usm_get_user(NULL, 0, "")) {
        struct usmUser *u = usm_create_user();
        if (!u)
            return -1;
        u->name = strdup("");
        u->secName = strdup("");
        u->authProtocolLen = 10;
        u->authProtocol = snmp_duplicate_objid(usmNoAuthProtocol, 10);
        u->privProtocolLen = 10;
        u->privProtocol = snmp_duplicate_objid(usmNoPrivProtocol, 10);
        usm_add_user(u);
    }
    return 0;
}

int dp_snmp_target_keys(dp_snmp_target_t *t, dp_err_t *err)
{
    if (t->version != DP_SNMP_V3 || t->level == DP_SNMP_NOAUTH)
        return 0;
    size_t alen;
    const oid *ap = dp_snmp_auth_oid(t->auth_proto ? t->auth_proto : "MD5", &alen);
    if (!ap)
        return dp_err_set(err, DP_ERR_CONFIG, "unknown SNMPv3 auth protocol '%s'", t->auth_proto);
    if (t->auth_ku_len == 0) {
        if (!t->auth_pass || strlen(t->auth_pass) < 8)
            return dp_err_set(err, DP_ERR_CONFIG, "SNMPv3 auth passphrase shorter than 8");
        size_t n = sizeof t->auth_ku;
        if (generate_Ku(ap, (u_int)alen, (const u_char *)t->auth_pass, strlen(t->auth_pass),
                        t->auth_ku, &n) != SNMPERR_SUCCESS)
            return dp_err_set(err, DP_ERR_CONFIG, "cannot derive the SNMPv3 auth key");
        t->auth_ku_len = n;
    }
    if (t->level == DP_SNMP_AUTHPRIV && t->priv_ku_len == 0) {
        size_t plen;
        if (!dp_snmp_priv_oid(t->priv_proto ? t->priv_proto : "DES", &plen))
            return dp_err_set(err, DP_ERR_CONFIG, "unknown SNMPv3 priv protocol '%s'",
                              t->priv_proto);
        if (!t->priv_pass || strlen(t->priv_pass) < 8)
            return dp_err_set(err, DP_ERR_CONFIG, "SNMPv3 priv passphrase shorter than 8");
        size_t n = sizeof t->priv_ku;
        if (generate_Ku(ap, (u_int)alen, (const u_char *)t->priv_pass, strlen(t->priv_pass),
                        t->priv_ku, &n) != SNMPERR_SUCCESS)
            return dp_err_set(err, DP_ERR_CONFIG, "cannot derive the SNMPv3 priv key");
        t->priv_ku_len = n;
    }
    return 0;
}
