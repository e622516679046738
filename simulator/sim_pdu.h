/*  sim_pdu.h - answers one SNMP request datagram for the simulator
    v1/v2c here; v3 messages go to sim_usm.c when users are configured, which
    unwraps the scopedPDU and calls sim_pdu_answer_pdu. Decoding and encoding use
    net-snmp's BER routines (asn_parse_*, asn_build_*, snmp_parse_var_op,
    snmp_build_var_op). A context holds per-thread scratch space: use one per
    thread; the world is shared.
    SPDX-License-Identifier: MIT */
#ifndef SIM_PDU_H
#define SIM_PDU_H

#include "sim_world.h"

#define SIM_REQ_VBS_MAX 128 /* varbinds accepted in one request */

/* Why a request got no reply (stats). */
typedef enum {
    SIM_DROP_NONE = 0,
    SIM_DROP_PARSE,     /* not a well-formed v1/v2c message */
    SIM_DROP_VERSION,   /* unknown version, or v3 with no --v3-user */
    SIM_DROP_COMMUNITY, /* wrong community */
    SIM_DROP_DEVICE,    /* no profile for the address */
    SIM_DROP_TIMEOUT,   /* timeout fault */
    SIM_DROP_PDU,       /* PDU type we never answer (response, trap, ...) */
    SIM_DROP_USM,       /* v3 message failing a USM check with no report sent */
    SIM_DROP_COUNT
} sim_drop_t;

/* What happened to one request. */
typedef struct {
    sim_drop_t drop;   /* SIM_DROP_NONE when a reply was built */
    int64_t delay_ms;  /* > 0: send the reply this much later (slow fault) */
    unsigned nvbs;     /* varbinds in the reply */
    long error_status; /* error-status of the reply */
    long error_index;  /* error-index of the reply */
    bool malformed;    /* the reply was deliberately corrupted */
    bool report;       /* the reply is a v3 Report (discovery or a USM error) */
} sim_answer_t;

typedef struct sim_pdu_ctx sim_pdu_ctx_t;
typedef struct sim_usm_scratch sim_usm_scratch_t;

/* New scratch context; caller owns it, free with sim_pdu_ctx_destroy. */
sim_pdu_ctx_t *sim_pdu_ctx_new(void);

/* Frees; NULL-safe, sets *p to NULL. */
void sim_pdu_ctx_destroy(sim_pdu_ctx_t **p);

/* Answers the request req (req_len bytes) sent to device address dst (host order)
   at wall time now_ms. Writes the reply into out (out_cap bytes, at most
   w->max_msg used) and returns its length, or 0 when nothing is to be sent
   (ans->drop says why). */
size_t sim_pdu_answer(sim_pdu_ctx_t *ctx, sim_world_t *w, uint32_t dst, const u_char *req,
                      size_t req_len, u_char *out, size_t out_cap, int64_t now_ms,
                      sim_answer_t *ans);

/* For v3: answers the PDU TLV pdu (pdu_len bytes) for device dst as SNMPv2 would;
   a non-zero deny_status is sent as the error-status instead (varbinds echoed).
   Writes the Response-PDU TLV into out (cap bytes) and returns its length, or 0
   (ans->drop says why). ans->malformed asks the caller to corrupt the message. */
size_t sim_pdu_answer_pdu(sim_pdu_ctx_t *ctx, sim_world_t *w, uint32_t dst, const u_char *pdu,
                          size_t pdu_len, long deny_status, u_char *out, size_t cap, int64_t now_ms,
                          sim_answer_t *ans);

/* Encodes a PDU TLV of type with request-id, error-status, error-index and the
   encoded varbinds vbs (vblen bytes, without their SEQUENCE header). Returns its
   length or 0 when cap is too small. */
size_t sim_pdu_build(u_char type, long reqid, long errstat, long errindex, const u_char *vbs,
                     size_t vblen, u_char *out, size_t cap);

/* Request-id of the PDU TLV pdu, or 0 when it does not parse. */
long sim_pdu_reqid(const u_char *pdu, size_t len);

/* Corrupts a reply the way the malformed fault does; returns the new length. */
size_t sim_pdu_corrupt(u_char *out, size_t len);

/* The context's v3 scratch slot (sim_usm.c fills it on first use). */
sim_usm_scratch_t **sim_pdu_ctx_usm(sim_pdu_ctx_t *ctx);

#endif
