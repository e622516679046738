/*  biller_sample.c - fresh SNMP reads of billed ports' octet counters
    See biller_sample.h for the contract.
    SPDX-License-Identifier: MIT */
#include "biller_sample.h"
#include "dp_time.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_OID_MAX    16
#define S_US_PER_MS  1000
#define S_HC_IN_COL  6  /* ifXTable ifHCInOctets */
#define S_HC_OUT_COL 10 /* ifXTable ifHCOutOctets */
#define S_IN_COL     10 /* ifTable ifInOctets */
#define S_OUT_COL    16 /* ifTable ifOutOctets */
#define S_PEER_MAX   (BILLER_SAMPLE_STR_MAX + 32)

static const oid s_sys_uptime[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
static const oid s_if_x_entry[] = {1, 3, 6, 1, 2, 1, 31, 1, 1, 1}; /* .col.ifIndex */
static const oid s_if_entry[] = {1, 3, 6, 1, 2, 1, 2, 2, 1};       /* .col.ifIndex */

typedef struct {
    const char *name;
    const oid *proto;
    size_t len;
} s_proto_t;

//  --------------------------------------------------------------------------
void biller_sample_init(void)
{
    static bool done = false;
    if (done)
        return;
    done = true;
    setenv("MIBS", "", 0);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_QUICK_PRINT, 1);
    init_snmp("distpoll-biller");
}

//  Looks name up in a table of protocol OIDs; NULL when unknown.
static const s_proto_t *s_find(const s_proto_t *t, const char *name)
{
    for (; t->name; t++)
        if (strcasecmp(t->name, name) == 0)
            return t;
    return NULL;
}

//  Fills the USM part of s from dev. Returns 0 or -1 with err.
static int s_setup_v3(netsnmp_session *s, const biller_device_t *dev, dp_err_t *err)
{
    static const s_proto_t auths[] = {
        {"MD5", usmHMACMD5AuthProtocol, OID_LENGTH(usmHMACMD5AuthProtocol)},
        {"SHA", usmHMACSHA1AuthProtocol, OID_LENGTH(usmHMACSHA1AuthProtocol)},
        {"SHA-224", usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol)},
        {"SHA-256", usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol)},
        {"SHA-384", usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol)},
        {"SHA-512", usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol)},
        {NULL, NULL, 0}};
    static const s_proto_t privs[] = {
        {"DES", usmDESPrivProtocol, OID_LENGTH(usmDESPrivProtocol)},
        {"AES", usmAESPrivProtocol, OID_LENGTH(usmAESPrivProtocol)},
        {"AES-192", usmAES192PrivProtocol, OID_LENGTH(usmAES192PrivProtocol)},
        {"AES-256", usmAES256PrivProtocol, OID_LENGTH(usmAES256PrivProtocol)},
        {NULL, NULL, 0}};
    s->version = SNMP_VERSION_3;
    s->securityName = (char *)dev->authname;
    s->securityNameLen = strlen(dev->authname);
    bool auth = strcasecmp(dev->authlevel, "authNoPriv") == 0 ||
                strcasecmp(dev->authlevel, "authPriv") == 0;
    bool priv = strcasecmp(dev->authlevel, "authPriv") == 0;
    s->securityLevel = priv   ? SNMP_SEC_LEVEL_AUTHPRIV
                       : auth ? SNMP_SEC_LEVEL_AUTHNOPRIV
                              : SNMP_SEC_LEVEL_NOAUTH;
    if (!auth)
        return 0;
    const s_proto_t *a = s_find(auths, dev->authalgo[0] ? dev->authalgo : "MD5");
    if (!a)
        return dp_err_set(err, DP_ERR_CONFIG, "unknown authalgo '%s'", dev->authalgo);
    s->securityAuthProto = (oid *)a->proto;
    s->securityAuthProtoLen = a->len;
    s->securityAuthKeyLen = USM_AUTH_KU_LEN;
    if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                    (const u_char *)dev->authpass, strlen(dev->authpass), s->securityAuthKey,
                    &s->securityAuthKeyLen) != SNMPERR_SUCCESS)
        return dp_err_set(err, DP_ERR_CONFIG,
                          "cannot derive the v3 auth key (authpass too short?)");
    if (!priv)
        return 0;
    const s_proto_t *p = s_find(privs, dev->cryptoalgo[0] ? dev->cryptoalgo : "DES");
    if (!p)
        return dp_err_set(err, DP_ERR_CONFIG, "unknown cryptoalgo '%s'", dev->cryptoalgo);
    s->securityPrivProto = (oid *)p->proto;
    s->securityPrivProtoLen = p->len;
    s->securityPrivKeyLen = USM_PRIV_KU_LEN;
    if (generate_Ku(s->securityAuthProto, (u_int)s->securityAuthProtoLen,
                    (const u_char *)dev->cryptopass, strlen(dev->cryptopass), s->securityPrivKey,
                    &s->securityPrivKeyLen) != SNMPERR_SUCCESS)
        return dp_err_set(err, DP_ERR_CONFIG, "cannot derive the v3 priv key");
    return 0;
}

//  Opens a single session to dev. Returns the handle or NULL with err.
static void *s_open(const biller_device_t *dev, dp_err_t *err)
{
    netsnmp_session s;
    snmp_sess_init(&s);
    char peer[S_PEER_MAX];
    bool v6 = strchr(dev->host, ':') != NULL;
    snprintf(peer, sizeof peer, v6 ? "%s:[%s]:%d" : "%s:%s:%d",
             dev->transport[0] ? dev->transport : "udp", dev->host, dev->port ? dev->port : 161);
    s.peername = peer;
    s.timeout = (long)(dev->timeout_ms > 0 ? dev->timeout_ms : 2000) * S_US_PER_MS;
    s.retries = dev->retries >= 0 ? dev->retries : 0;
    if (strcasecmp(dev->snmpver, "v3") == 0) {
        if (s_setup_v3(&s, dev, err) != 0)
            return NULL;
    } else {
        s.version = strcasecmp(dev->snmpver, "v1") == 0 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
        s.community = (u_char *)(dev->community[0] ? dev->community : "public");
        s.community_len = strlen((const char *)s.community);
    }
    void *h = snmp_sess_open(&s);
    if (!h) {
        int liberr = 0, syserr = 0;
        char *text = NULL;
        snmp_error(&s, &liberr, &syserr, &text);
        dp_err_set(err, DP_ERR_UNREACHABLE, "cannot open SNMP session to %s: %s", peer,
                   text ? text : "unknown error");
        free(text);
    }
    return h;
}

//  Adds OID base.col.index to pdu.
static void s_add(netsnmp_pdu *pdu, const oid *base, size_t len, oid col, oid index)
{
    oid name[S_OID_MAX];
    memcpy(name, base, len * sizeof *base);
    name[len] = col;
    name[len + 1] = index;
    snmp_add_null_var(pdu, name, len + 2);
}

//  Value of a counter varbind; false for exceptions and wrong types.
static bool s_counter(const netsnmp_variable_list *v, uint64_t *out)
{
    if (v->type == ASN_COUNTER64 && v->val.counter64) {
        *out = ((uint64_t)v->val.counter64->high << 32) | v->val.counter64->low;
        return true;
    }
    if ((v->type == ASN_COUNTER || v->type == ASN_GAUGE) && v->val.integer) {
        *out = (uint64_t)(uint32_t)*v->val.integer;
        return true;
    }
    return false;
}

//  Runs one GET; returns the response (caller frees) or NULL with err.
static netsnmp_pdu *s_get(void *h, netsnmp_pdu *pdu, const biller_device_t *dev, dp_err_t *err)
{
    netsnmp_pdu *resp = NULL;
    int st = snmp_sess_synch_response(h, pdu, &resp); /* consumes pdu */
    if (st == STAT_SUCCESS && resp && resp->errstat == SNMP_ERR_NOERROR)
        return resp;
    if (st == STAT_SUCCESS && resp)
        dp_err_set(err, DP_ERR_PROTO, "device %llu: error status %s (index %ld)",
                   (unsigned long long)dev->device_id, snmp_errstring((int)resp->errstat),
                   resp->errindex);
    else if (st == STAT_TIMEOUT)
        dp_err_set(err, DP_ERR_TIMEOUT, "device %llu (%s): no answer",
                   (unsigned long long)dev->device_id, dev->host);
    else {
        int liberr = 0, syserr = 0;
        char *text = NULL;
        snmp_sess_error(h, &liberr, &syserr, &text);
        dp_err_set(err, liberr == SNMPERR_AUTHENTICATION_FAILURE ? DP_ERR_AUTH : DP_ERR_UNREACHABLE,
                   "device %llu (%s): %s", (unsigned long long)dev->device_id, dev->host,
                   text ? text : "snmp error");
        free(text);
    }
    if (resp)
        snmp_free_pdu(resp);
    return NULL;
}

//  Reads ports[0..n) (n <= BILLER_SAMPLE_PORTS_PDU) with HC (hc) or 32-bit columns; with_uptime
//  asks sysUpTime.0 first. Only ports not yet ok are asked. Returns 0 or -1 with err.
static int s_read_chunk(void *h, const biller_device_t *dev, biller_port_read_t *ports, size_t n,
                        bool hc, bool with_uptime, uint32_t *uptime_cs, bool *has_uptime,
                        dp_err_t *err)
{
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
    if (with_uptime)
        snmp_add_null_var(pdu, s_sys_uptime, OID_LENGTH(s_sys_uptime));
    size_t asked = 0;
    for (size_t i = 0; i < n; i++) {
        if (ports[i].ok)
            continue;
        if (hc) {
            s_add(pdu, s_if_x_entry, OID_LENGTH(s_if_x_entry), S_HC_IN_COL, ports[i].if_index);
            s_add(pdu, s_if_x_entry, OID_LENGTH(s_if_x_entry), S_HC_OUT_COL, ports[i].if_index);
        } else {
            s_add(pdu, s_if_entry, OID_LENGTH(s_if_entry), S_IN_COL, ports[i].if_index);
            s_add(pdu, s_if_entry, OID_LENGTH(s_if_entry), S_OUT_COL, ports[i].if_index);
        }
        asked++;
    }
    if (asked == 0 && !with_uptime) {
        snmp_free_pdu(pdu);
        return 0;
    }
    netsnmp_pdu *resp = s_get(h, pdu, dev, err);
    if (!resp)
        return -1;
    netsnmp_variable_list *v = resp->variables;
    if (with_uptime && v) {
        if (v->type == ASN_TIMETICKS && v->val.integer) {
            *uptime_cs = (uint32_t)*v->val.integer;
            *has_uptime = true;
        }
        v = v->next_variable;
    }
    for (size_t i = 0; i < n && v; i++) {
        if (ports[i].ok)
            continue;
        uint64_t in = 0, out = 0;
        bool ok = s_counter(v, &in);
        v = v->next_variable;
        ok = v && s_counter(v, &out) && ok;
        v = v ? v->next_variable : NULL;
        if (ok)
            ports[i] = (biller_port_read_t){ports[i].if_index, true, hc ? 64 : 32, in, out};
    }
    snmp_free_pdu(resp);
    return 0;
}

//  --------------------------------------------------------------------------
int biller_sample_read(const biller_device_t *dev, biller_port_read_t *ports, size_t n,
                       uint32_t *uptime_cs, bool *has_uptime, int64_t *at_ms, dp_err_t *err)
{
    *has_uptime = false;
    *uptime_cs = 0;
    *at_ms = 0;
    for (size_t i = 0; i < n; i++)
        ports[i].ok = false;
    void *h = s_open(dev, err);
    if (!h)
        return -1;
    bool v1 = strcasecmp(dev->snmpver, "v1") == 0;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < n; off += BILLER_SAMPLE_PORTS_PDU) {
        size_t m = n - off < BILLER_SAMPLE_PORTS_PDU ? n - off : BILLER_SAMPLE_PORTS_PDU;
        if (!v1)
            rc = s_read_chunk(h, dev, ports + off, m, true, off == 0, uptime_cs, has_uptime, err);
        if (rc == 0 && off == 0)
            *at_ms = dp_time_wall_ms();
        if (rc == 0) /* ports without HC counters (or SNMPv1): 32-bit */
            rc = s_read_chunk(h, dev, ports + off, m, false, v1 && off == 0, uptime_cs, has_uptime,
                              err);
    }
    if (n == 0)
        rc = s_read_chunk(h, dev, ports, 0, !v1, true, uptime_cs, has_uptime, err);
    snmp_sess_close(h);
    if (rc != 0)
        for (size_t i = 0; i < n; i++)
            ports[i].ok = false;
    return rc;
}
