/*  dp_snmp_walk.c - dp_snmp's walks: the next request of a walk, and what a reply does to it
    (columns advanced, ended or dropped; tooBig shrinks the request), whichever transport
    carried it (see dp_snmp_int.h).
    SPDX-License-Identifier: MIT */
#include "dp_snmp_int.h"
#include "dp_time.h"

#include <string.h>

static int s_active_cols(const dp_snmp_i_walk_t *w)
{
    int n = 0;
    for (int c = 0; c < w->ncols; c++)
        if (!(w->done & (1u << c)))
            n++;
    return n;
}

netsnmp_pdu *dp_snmp_i_build(dp_snmp_i_walk_t *w, bool bulk)
{
    netsnmp_pdu *pdu = snmp_pdu_create(bulk ? SNMP_MSG_GETBULK : SNMP_MSG_GETNEXT);
    if (!pdu)
        return NULL;
    w->req_n = w->req_nonrep = 0;
    for (int pass = 0; pass < 2; pass++) /* scalars first: they are the non-repeaters */
        for (int c = 0; c < w->ncols && w->req_n < w->cols_per_req; c++) {
            if ((w->done & (1u << c)) || w->cols[c].scalar != (pass == 0))
                continue;
            snmp_add_null_var(pdu, w->cur[c], w->cur_len[c]);
            w->req_cols[w->req_n++] = c;
            if (pass == 0)
                w->req_nonrep++;
        }
    if (bulk) {
        pdu->non_repeaters = w->req_nonrep;
        pdu->max_repetitions = w->req_n > w->req_nonrep ? w->max_rep : 0;
    }
    return pdu;
}

//  One varbind of a reply for column c. Returns true when it advanced the column.
static bool s_take_var(dp_snmp_i_walk_t *w, int c, const netsnmp_variable_list *vp, int64_t at_ms)
{
    const dp_snmp_col_t *col = &w->cols[c];
    uint32_t bit = 1u << c;
    if (w->done & bit)
        return false;
    bool exc = vp->type == SNMP_ENDOFMIBVIEW || vp->type == SNMP_NOSUCHOBJECT ||
               vp->type == SNMP_NOSUCHINSTANCE;
    if (exc || vp->name_length > DP_SNMP_OID_MAX ||
        !dp_snmp_oid_under(col->prefix, col->len, vp->name, vp->name_length) ||
        snmp_oid_compare(vp->name, vp->name_length, w->cur[c], w->cur_len[c]) <= 0) {
        w->done |= bit;
        return true;
    }
    w->on_var(w->arg, c, vp->name + col->len, vp->name_length - col->len, vp, at_ms);
    memcpy(w->cur[c], vp->name, vp->name_length * sizeof(oid));
    w->cur_len[c] = vp->name_length;
    if (col->scalar)
        w->done |= bit;
    return true;
}

static void s_use_reply(dp_snmp_i_walk_t *w, bool bulk, long errstat, long errindex,
                        const netsnmp_variable_list *vars)
{
    dp_snmp_sess_t *s = w->sess;
    if (errstat == SNMP_ERR_TOOBIG) {
        s->e->stats.toobig++;
        if (!dp_snmp_shrink(&w->max_rep, &w->cols_per_req))
            dp_snmp_i_finish(w, DP_SNMP_TOOBIG, "tooBig for a single varbind");
        return;
    }
    if (errstat != SNMP_ERR_NOERROR) {
        /* name the column and drop it (spine's snmp_fix_pdu); v1's end of MIB is noSuchName */
        long ei = errindex;
        if (ei >= 1 && ei <= w->req_n) {
            w->done |= 1u << w->req_cols[ei - 1];
            return;
        }
        dp_snmp_i_finish(w, DP_SNMP_ERRSTAT, "error-status %s (%ld)", snmp_errstring((int)errstat),
                         errstat);
        return;
    }
    int64_t at_ms = dp_time_wall_ms();
    bool progressed = false;
    int i = 0;
    for (const netsnmp_variable_list *vp = vars; vp; vp = vp->next_variable, i++) {
        int k = bulk ? dp_snmp_bulk_col(i, w->req_nonrep, w->req_n - w->req_nonrep) : i;
        if (k < 0 || k >= w->req_n)
            break;
        progressed |= s_take_var(w, w->req_cols[k], vp, at_ms);
    }
    if (!progressed && s_active_cols(w) > 0)
        dp_snmp_i_finish(w, DP_SNMP_ERRSTAT, "reply without usable varbinds");
}

void dp_snmp_i_on_reply(dp_snmp_i_walk_t *w, bool bulk, long errstat, long errindex,
                        const netsnmp_variable_list *vars)
{
    s_use_reply(w, bulk, errstat, errindex, vars);
    if (w->state == DP_SNMP_W_NEXT && s_active_cols(w) == 0)
        dp_snmp_i_finish(w, DP_SNMP_OK, "%s", "");
    dp_snmp_i_mark_ready(w->sess);
}
