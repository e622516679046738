/*  cli_snmp.c - device add's reachability check: one SNMP GET with net-snmp's single session API
    SPDX-License-Identifier: MIT */
#include "cli.h"

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_PEER_MAX 300
#define S_CRED_MAX 200

static const oid s_sys_object_id[] = {1, 3, 6, 1, 2, 1, 1, 2, 0};
static const oid s_sys_name[] = {1, 3, 6, 1, 2, 1, 1, 5, 0};

typedef struct {
    const char *name; /* as stored in devices.authalgo / cryptoalgo */
    oid *oid;         /* net-snmp protocol OID */
    size_t len;       /* its length */
} s_proto_t;

static void s_init_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    setenv("MIBS", "", 0); /* no MIB loading: numeric OIDs only */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_CONFIG_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_QUICK_PRINT, 1);
    init_snmp("distpoll");
}

static int s_find(const s_proto_t *list, size_t n, const char *name, const s_proto_t **out)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(list[i].name, name) == 0) {
            *out = &list[i];
            return 0;
        }
    return -1;
}

//  Fills the v3 part of s; returns 0 or -1 with why.
static int s_setup_v3(netsnmp_session *s, const cli_snmp_target_t *t, char *why, size_t size)
{
    static s_proto_t auths[] = {
        {"MD5", usmHMACMD5AuthProtocol, USM_AUTH_PROTO_MD5_LEN},
        {"SHA", usmHMACSHA1AuthProtocol, USM_AUTH_PROTO_SHA_LEN},
        {"SHA-224", usmHMAC128SHA224AuthProtocol, OID_LENGTH(usmHMAC128SHA224AuthProtocol)},
        {"SHA-256", usmHMAC192SHA256AuthProtocol, OID_LENGTH(usmHMAC192SHA256AuthProtocol)},
        {"SHA-384", usmHMAC256SHA384AuthProtocol, OID_LENGTH(usmHMAC256SHA384AuthProtocol)},
        {"SHA-512", usmHMAC384SHA512AuthProtocol, OID_LENGTH(usmHMAC384SHA512AuthProtocol)},
    };
    static s_proto_t privs[] = {
        {"DES", usmDESPrivProtocol, USM_PRIV_PROTO_DES_LEN},
        {"AES", usmAESPrivProtocol, USM_PRIV_PROTO_AES_LEN},
        {"AES-192", usmAES192PrivProtocol, OID_LENGTH(usmAES192PrivProtocol)},
        {"AES-256", usmAES256PrivProtocol, OID_LENGTH(usmAES256PrivProtocol)},
    };
    s->version = SNMP_VERSION_3;
    s->securityName = (char *)t->auth_user;
    s->securityNameLen = strlen(t->auth_user);
    s->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
    if (!t->auth_pass)
        return 0;
    const s_proto_t *a;
    if (s_find(auths, sizeof auths / sizeof auths[0], t->auth_proto ? t->auth_proto : "SHA", &a)) {
        snprintf(why, size,
                 "--auth-proto \"%s\": expected MD5, SHA, SHA-224, SHA-256, SHA-384 or "
                 "SHA-512",
                 t->auth_proto);
        return -1;
    }
    s->securityAuthProto = a->oid;
    s->securityAuthProtoLen = a->len;
    s->securityAuthKeyLen = USM_AUTH_KU_LEN;
    s->securityLevel = SNMP_SEC_LEVEL_AUTHNOPRIV;
    if (generate_Ku(a->oid, (u_int)a->len, (const u_char *)t->auth_pass, strlen(t->auth_pass),
                    s->securityAuthKey, &s->securityAuthKeyLen) != SNMPERR_SUCCESS) {
        snprintf(why, size, "--auth-pass: cannot derive a key (at least 8 characters needed)");
        return -1;
    }
    if (!t->priv_pass)
        return 0;
    const s_proto_t *p;
    if (s_find(privs, sizeof privs / sizeof privs[0], t->priv_proto ? t->priv_proto : "AES", &p)) {
        snprintf(why, size, "--priv-proto \"%s\": expected DES, AES, AES-192 or AES-256",
                 t->priv_proto);
        return -1;
    }
    s->securityPrivProto = p->oid;
    s->securityPrivProtoLen = p->len;
    s->securityPrivKeyLen = USM_PRIV_KU_LEN;
    s->securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
    if (generate_Ku(a->oid, (u_int)a->len, (const u_char *)t->priv_pass, strlen(t->priv_pass),
                    s->securityPrivKey, &s->securityPrivKeyLen) != SNMPERR_SUCCESS) {
        snprintf(why, size, "--priv-pass: cannot derive a key (at least 8 characters needed)");
        return -1;
    }
    return 0;
}

static void s_describe(const cli_snmp_target_t *t, char *buf, size_t size)
{
    if (strcmp(t->snmpver, "v3") == 0)
        snprintf(buf, size, "as SNMPv3 user '%s' (%s%s%s%s)", t->auth_user,
                 t->auth_pass ? (t->auth_proto ? t->auth_proto : "SHA") : "noAuthNoPriv",
                 t->priv_pass ? "/" : "",
                 t->priv_pass ? (t->priv_proto ? t->priv_proto : "AES") : "",
                 t->auth_pass && !t->priv_pass ? " authNoPriv" : "");
    else
        snprintf(buf, size, "with %s community '%s'", t->snmpver, t->community);
}

static void s_value_text(const netsnmp_variable_list *v, char *out, size_t size)
{
    if (v->type == ASN_OCTET_STR)
        snprintf(out, size, "%.*s", (int)v->val_len, (const char *)v->val.string);
    else if (v->type == ASN_OBJECT_ID) {
        size_t len = 0;
        out[0] = '\0';
        for (size_t i = 0; i < v->val_len / sizeof(oid) && len + 12 < size; i++)
            len += (size_t)snprintf(out + len, size - len, ".%lu", (unsigned long)v->val.objid[i]);
    } else
        snprintf(out, size, "?");
}

//  --------------------------------------------------------------------------
int cli_snmp_check(const cli_snmp_target_t *t, char *sysname, size_t size, char *why,
                   size_t why_size)
{
    s_init_once();
    netsnmp_session s;
    snmp_sess_init(&s);
    char peer[S_PEER_MAX], cred[S_CRED_MAX];
    snprintf(peer, sizeof peer, strchr(t->address, ':') ? "udp6:[%s]:%ld" : "udp:%s:%ld",
             t->address, t->port);
    s.peername = peer;
    s.timeout = (long)t->timeout_ms * 1000;
    s.retries = t->retries;
    s_describe(t, cred, sizeof cred);
    if (strcmp(t->snmpver, "v3") == 0) {
        if (s_setup_v3(&s, t, why, why_size) != 0)
            return -1;
    } else {
        s.version = strcmp(t->snmpver, "v1") == 0 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
        s.community = (u_char *)t->community;
        s.community_len = strlen(t->community);
    }
    void *sess = snmp_sess_open(&s);
    if (!sess) {
        snprintf(why, why_size, "cannot open an SNMP session to %s:%ld: %s", t->address, t->port,
                 snmp_api_errstring(snmp_errno));
        return -1;
    }
    netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET), *resp = NULL;
    snmp_add_null_var(pdu, s_sys_object_id, OID_LENGTH(s_sys_object_id));
    snmp_add_null_var(pdu, s_sys_name, OID_LENGTH(s_sys_name));
    int rc = snmp_sess_synch_response(sess, pdu, &resp);
    int out = -1;
    if (rc == STAT_TIMEOUT)
        snprintf(why, why_size, "no answer from %s:%ld %s (timeout %.3gs x %d retries)", t->address,
                 t->port, cred, (double)t->timeout_ms / 1000, t->retries);
    else if (rc != STAT_SUCCESS) {
        char *text = NULL;
        int liberr = 0, syserr = 0;
        snmp_sess_error(sess, &liberr, &syserr, &text);
        snprintf(why, why_size, "%s:%ld refused the request %s: %s", t->address, t->port, cred,
                 text ? text : "unknown error");
        free(text);
    } else if (resp->errstat != SNMP_ERR_NOERROR)
        snprintf(why, why_size, "%s:%ld answered %s with an error: %s", t->address, t->port, cred,
                 snmp_errstring((int)resp->errstat));
    else if (!resp->variables || resp->variables->type == SNMP_NOSUCHOBJECT ||
             resp->variables->type == SNMP_NOSUCHINSTANCE ||
             resp->variables->type == SNMP_ENDOFMIBVIEW)
        snprintf(why, why_size, "%s:%ld answers %s but has no sysObjectID.0 (not in its view?)",
                 t->address, t->port, cred);
    else {
        const netsnmp_variable_list *name = resp->variables->next_variable;
        if (name && name->type == ASN_OCTET_STR)
            s_value_text(name, sysname, size);
        else
            s_value_text(resp->variables, sysname, size);
        out = 0;
    }
    if (resp)
        snmp_free_pdu(resp);
    snmp_sess_close(sess);
    return out;
}
