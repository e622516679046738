/*  sim_usm.h - SNMPv3 with the User-based Security Model (RFC 3412/3414/3826) for
    the simulator. Users come from --v3-user NAME[:AUTH:AUTHPASS[:PRIV:PRIVPASS]];
    every device is its own authoritative engine: engine id 80001f88 01 + its IPv4
    address (RFC 3411 format 1) unless one fixed id is configured, boots from the
    user set (+1 after a reboot fault), time = seconds since the device's boot.
    Checks and reports follow RFC 3414 3.2: unknown engine id (discovery), unknown
    user, unsupported level, wrong digest, not in time window (authenticated
    report), decryption errors. A request below the user's level gets an
    authorizationError response (like snmpd's rouser). Crypto and key localisation
    are net-snmp's (generate_Ku, generate_kul, sc_*), BER its asn_* routines.
    A user set is immutable once the servers run; counters are atomic.
    SPDX-License-Identifier: MIT */
#ifndef SIM_USM_H
#define SIM_USM_H

#include "sim_pdu.h"

#define SIM_USM_USERS_MAX  32
#define SIM_USM_NAME_MAX   32 /* msgUserName, bytes */
#define SIM_USM_ENGINE_MAX 32 /* snmpEngineID, bytes */
#define SIM_USM_KEY_MAX    64 /* longest localized key (SHA-512) */
#define SIM_USM_SALT_LEN   8  /* msgPrivacyParameters for DES and AES */
#define SIM_USM_MAC_MAX    48 /* longest truncated MAC (HMAC-384-SHA-512) */

/* msgFlags bits. */
enum { SIM_USM_AUTH = 1, SIM_USM_PRIV = 2, SIM_USM_REPORTABLE = 4 };

/* usmStats counters (also the values sent in reports). */
typedef enum {
    SIM_USM_UNSUPPORTED_LEVEL = 0, /* usmStatsUnsupportedSecLevels (.1) */
    SIM_USM_NOT_IN_TIME,           /* usmStatsNotInTimeWindows (.2) */
    SIM_USM_UNKNOWN_USER,          /* usmStatsUnknownUserNames (.3) */
    SIM_USM_UNKNOWN_ENGINE,        /* usmStatsUnknownEngineIDs (.4) */
    SIM_USM_WRONG_DIGEST,          /* usmStatsWrongDigests (.5) */
    SIM_USM_DECRYPT,               /* usmStatsDecryptionErrors (.6) */
    SIM_USM_STAT_COUNT
} sim_usm_stat_t;

/* One configured user; keys are the passphrase digests Ku (not yet localized). */
typedef struct {
    char name[SIM_USM_NAME_MAX + 1]; /* security name */
    size_t name_len;                 /* its length */
    int auth;                        /* NETSNMP_USMAUTH_*; NOAUTH for none */
    const oid *auth_oid;             /* net-snmp's protocol OID (borrowed) */
    size_t auth_oid_len;             /* its length */
    size_t mac_len;                  /* msgAuthenticationParameters bytes */
    int priv;                        /* USM_CREATE_USER_PRIV_* or 0 */
    const oid *priv_oid;             /* net-snmp's protocol OID (borrowed) */
    size_t priv_oid_len;             /* its length */
    u_char auth_ku[SIM_USM_KEY_MAX]; /* Ku of the auth passphrase */
    size_t auth_ku_len;              /* its length */
    u_char priv_ku[SIM_USM_KEY_MAX]; /* Ku of the privacy passphrase (auth hash) */
    size_t priv_ku_len;              /* its length */
    int level;                       /* needed msgFlags & 3: 0, AUTH, AUTH|PRIV */
} sim_usm_user_t;

/* Keys of one user localized for one engine. */
typedef struct {
    const sim_usm_user_t *user;   /* borrowed */
    u_char auth[SIM_USM_KEY_MAX]; /* Kul for authentication */
    size_t auth_len;              /* its length, 0 without auth */
    u_char priv[SIM_USM_KEY_MAX]; /* Kul for privacy */
    size_t priv_len;              /* its length, 0 without privacy */
} sim_usm_keys_t;

/* A v3 message: decoded by sim_usm_parse (pointers into the message) or to be
   encoded by sim_usm_build. */
typedef struct {
    long msgid;                        /* msgID */
    long max_size;                     /* msgMaxSize */
    u_char flags;                      /* SIM_USM_* */
    long model;                        /* msgSecurityModel (3 = USM) */
    u_char engine[SIM_USM_ENGINE_MAX]; /* msgAuthoritativeEngineID */
    size_t engine_len;                 /* its length */
    long boots;                        /* msgAuthoritativeEngineBoots */
    long time;                         /* msgAuthoritativeEngineTime */
    u_char user[SIM_USM_NAME_MAX];     /* msgUserName */
    size_t user_len;                   /* its length */
    const u_char *mac;                 /* msgAuthenticationParameters in the message */
    size_t mac_len;                    /* its length */
    u_char salt[SIM_USM_SALT_LEN];     /* msgPrivacyParameters */
    size_t salt_len;                   /* its length */
    const u_char *data;                /* scopedPDU TLV, or the encrypted bytes */
    size_t data_len;                   /* their length */
} sim_usm_msg_t;

/* A scopedPDU (pointers into the plaintext). */
typedef struct {
    const u_char *ctx_engine; /* contextEngineID */
    size_t ctx_engine_len;    /* its length */
    const u_char *ctx_name;   /* contextName */
    size_t ctx_name_len;      /* its length */
    const u_char *pdu;        /* the PDU TLV */
    size_t pdu_len;           /* its length */
} sim_usm_scoped_t;

/* The USM state of a world. */
typedef struct sim_usm {
    sim_usm_user_t users[SIM_USM_USERS_MAX];    /* configured users */
    size_t nusers;                              /* entries in users */
    long boots;                                 /* snmpEngineBoots before any reboot fault */
    u_char engine[SIM_USM_ENGINE_MAX];          /* fixed engine id, if engine_len > 0 */
    size_t engine_len;                          /* 0: one engine id per device */
    _Atomic uint64_t stats[SIM_USM_STAT_COUNT]; /* usmStats counters */
} sim_usm_t;

/* Per-thread scratch of the v3 path (owned by a sim_pdu_ctx_t). */
typedef struct sim_usm_scratch sim_usm_scratch_t;

/* New user set with boots (>= 1); caller owns it, free with sim_usm_destroy. */
sim_usm_t *sim_usm_new(long boots);

/* Frees; NULL-safe, sets *p to NULL. */
void sim_usm_destroy(sim_usm_t **p);

/* Adds NAME[:AUTH:AUTHPASS[:PRIV:PRIVPASS]]; AUTH is MD5, SHA (SHA-1), SHA-224,
   SHA-256, SHA-384 or SHA-512; PRIV is DES or AES (AES-128); passphrases have at
   least 8 characters. Returns 0 or -1 (err set). */
int sim_usm_add_user(sim_usm_t *u, const char *spec, dp_err_t *err);

/* Sets one engine id for every device from hex (5..32 bytes). Returns 0 or -1. */
int sim_usm_set_engine(sim_usm_t *u, const char *hex, dp_err_t *err);

/* Engine id of device addr (host order) into out; returns its length. */
size_t sim_usm_engine_id(const sim_usm_t *u, uint32_t addr, u_char *out);

/* The user named name, or NULL. */
const sim_usm_user_t *sim_usm_user(const sim_usm_t *u, const u_char *name, size_t len);

/* Localizes user's keys for engine into k. Returns 0 or -1. */
int sim_usm_localize(const sim_usm_user_t *user, const u_char *engine, size_t engine_len,
                     sim_usm_keys_t *k);

/* Decodes the message framing and security parameters (not the scopedPDU).
   Returns 0 or -1 when malformed. */
int sim_usm_parse(const u_char *msg, size_t len, sim_usm_msg_t *m);

/* Checks m's MAC over msg (len bytes) with k; scratch holds a copy of len bytes.
   Returns 0 when it matches. */
int sim_usm_verify(const sim_usm_msg_t *m, const sim_usm_keys_t *k, const u_char *msg, size_t len,
                   u_char *scratch, size_t scratch_cap);

/* Decrypts m->data with k into out (cap bytes). Returns the plaintext length or 0. */
size_t sim_usm_decrypt(const sim_usm_msg_t *m, const sim_usm_keys_t *k, u_char *out, size_t cap);

/* Decodes a plaintext scopedPDU. Returns 0 or -1. */
int sim_usm_parse_scoped(const u_char *data, size_t len, sim_usm_scoped_t *s);

/* Encodes a scopedPDU (s->pdu is the PDU TLV) into out. Returns its length or 0. */
size_t sim_usm_build_scoped(const sim_usm_scoped_t *s, u_char *out, size_t cap);

/* Encodes message m around the scopedPDU scoped: encrypted with k and m->salt
   when m->flags has PRIV (scratch holds the ciphertext), then authenticated with
   k when it has AUTH (m->mac, m->data ignored). Returns the length or 0. */
size_t sim_usm_build(const sim_usm_msg_t *m, const sim_usm_keys_t *k, const u_char *scoped,
                     size_t scoped_len, u_char *out, size_t cap, u_char *scratch,
                     size_t scratch_cap);

/* Answers a v3 request (see sim_pdu_answer; w->usm must be set). */
size_t sim_usm_answer(sim_pdu_ctx_t *ctx, sim_world_t *w, uint32_t dst, const u_char *req,
                      size_t req_len, u_char *out, size_t out_cap, int64_t now_ms,
                      sim_answer_t *ans);

/* Frees a scratch; NULL-safe, sets *p to NULL. */
void sim_usm_scratch_destroy(sim_usm_scratch_t **p);

#endif
