/*  =========================================================================
    stx_agent_verify - `stemx verify`: the replica's (seq, head) against the broker's

    Asks the broker for a PONG and compares positions. Runs in the agent's
    actor thread.
    ========================================================================= */

#include "stx_agent_parts.h"

//  --------------------------------------------------------------------------
//  stemx verify: the replica's (seq, head) against the broker's

static void
s_verify_destroy (stx_ag_verify_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->routing_id);
        free (*self_p);
        *self_p = NULL;
    }
}

void
stx_ag_verify_destructor (void **item)
{
    s_verify_destroy ((stx_ag_verify_t **) item);
}

//  Answer one verify. pong is the broker's answer to a PING with the
//  replica's seq, or NULL if none came in time.
static void
s_verify_answer (stx_ag_agent_t *self, stx_ag_verify_t *verify, const Stemx__Pong *pong)
{
    Stemx__Verify body = STEMX__VERIFY__INIT;
    body.local_seq = verify->local_seq;
    body.local_head.data = verify->local_head;
    body.local_head.len = STX_HEAD_SIZE;
    char text [STX_ERRLEN];
    const char *verdict = "unknown";
    bool head_ok = pong && pong->head.len == STX_HEAD_SIZE;
    bool at_ok = pong && pong->head_at.len == STX_HEAD_SIZE;
    uint64_t local = verify->local_seq;
    if (pong) {
        body.broker_seq = pong->seq;
        body.broker_log_first = pong->log_first;
        if (head_ok)
            body.broker_head = pong->head;
        if (at_ok)
            body.head_at_local = pong->head_at;
    }
    bool other_lineage = self->meta.has_lineage && self->broker_lineage_known
                      && memcmp (self->meta.lineage, self->broker_lineage,
                                 STX_LINEAGE_SIZE) != 0;
    if (!pong)
        snprintf (text, sizeof (text), "no answer from the broker at %s in time%s",
                  self->broker_endpoint, self->welcomed? "": " (not connected)");
    else
    if (!head_ok)
        snprintf (text, sizeof (text), "the broker's answer holds no head");
    else
    if (other_lineage) {
        verdict = "diverged";
        snprintf (text, sizeof (text), "the replica holds another catalogue lineage than "
                  "the broker's (a replaced or restored broker); it takes a snapshot");
    }
    else
    if (local > pong->seq) {
        verdict = "diverged";
        snprintf (text, sizeof (text), "the replica is ahead of the broker (%" PRIu64
                  " > %" PRIu64 "): the broker lost events or follows another lineage",
                  local, pong->seq);
    }
    else
    if (local == pong->seq) {
        bool same = memcmp (verify->local_head, pong->head.data, STX_HEAD_SIZE) == 0;
        verdict = same? "agree": "diverged";
        snprintf (text, sizeof (text), same? "replica and broker agree at seq %" PRIu64:
                  "replica and broker both at seq %" PRIu64 " with different heads", local);
    }
    else
    if (at_ok) {
        bool same = memcmp (verify->local_head, pong->head_at.data, STX_HEAD_SIZE) == 0;
        verdict = same? "lag": "diverged";
        if (same)
            snprintf (text, sizeof (text), "the replica is %" PRIu64 " events behind the "
                      "broker (%" PRIu64 " < %" PRIu64 ") and agrees with it at seq %" PRIu64,
                      pong->seq - local, local, pong->seq, local);
        else
            snprintf (text, sizeof (text), "the broker's head at seq %" PRIu64 " differs "
                      "from the replica's", local);
    }
    else
        snprintf (text, sizeof (text), "the broker no longer keeps its head at seq %" PRIu64
                  " (its log starts at %" PRIu64 "): the replica is %" PRIu64 " events behind"
                  " and catches up by snapshot", local, pong->log_first, pong->seq - local);
    body.verdict = (char *) verdict;
    body.text = text;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_VERIFY;
    reply.verify = &body;
    stx_wire_send_reply (self->local, verify->routing_id, &reply);
    if (streq (verdict, "diverged"))
        zsys_error ("verify: DIVERGENCE: %s", text);
}

//  Ping the broker for every waiting verify (a fresh round trip each).
void
stx_ag_verify_ping (stx_ag_agent_t *self)
{
    stx_ag_verify_t *verify = (stx_ag_verify_t *) zlistx_first (self->verifies);
    while (verify) {
        if (self->dealer)
            stx_ag_send_ping (self->dealer, verify->local_seq);
        verify = (stx_ag_verify_t *) zlistx_next (self->verifies);
    }
}

//  A PONG answers every verify asked at the seq it names.
void
stx_ag_verify_settle (stx_ag_agent_t *self, const Stemx__Pong *pong)
{
    stx_ag_verify_t *verify = (stx_ag_verify_t *) zlistx_first (self->verifies);
    while (verify) {
        if (verify->local_seq == pong->ping_seq) {
            s_verify_answer (self, verify, pong);
            zlistx_delete (self->verifies, zlistx_cursor (self->verifies));
            verify = (stx_ag_verify_t *) zlistx_first (self->verifies);
        }
        else
            verify = (stx_ag_verify_t *) zlistx_next (self->verifies);
    }
}

//  Verifies past their deadline get "unknown".
void
stx_ag_verify_expire (stx_ag_agent_t *self, int64_t now)
{
    stx_ag_verify_t *verify = (stx_ag_verify_t *) zlistx_first (self->verifies);
    while (verify) {
        if (now >= verify->deadline) {
            s_verify_answer (self, verify, NULL);
            zlistx_delete (self->verifies, zlistx_cursor (self->verifies));
            verify = (stx_ag_verify_t *) zlistx_first (self->verifies);
        }
        else
            verify = (stx_ag_verify_t *) zlistx_next (self->verifies);
    }
}

void
stx_ag_refresh_meta (stx_ag_agent_t *self)
{
    stx_status_t status = stx_store_meta (self->store, &self->meta);
    if (status != STX_OK)
        zsys_error ("cannot read replica meta: %s", stx_strerror (status));
}
