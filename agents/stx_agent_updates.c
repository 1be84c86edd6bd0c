/*  =========================================================================
    stx_agent_updates - live updates from the broker's PUB

    Events applied in batches, heartbeats, gaps that start a FETCH. Runs in
    the agent's actor thread.
    ========================================================================= */

#include "stx_agent_parts.h"

//  --------------------------------------------------------------------------
//  Live updates

static void
s_on_heartbeat (stx_ag_agent_t *self, Stemx__Heartbeat *heartbeat)
{
    if (heartbeat->lineage.len != STX_LINEAGE_SIZE || heartbeat->head.len != STX_HEAD_SIZE)
        return;
    self->broker_seq = heartbeat->seq;
    if (self->state != STX_AG_ACTIVE)
        return;
    if (memcmp (heartbeat->lineage.data, self->broker_lineage, STX_LINEAGE_SIZE) != 0) {
        zsys_warning ("broker lineage changed; reconnecting for a refresh");
        stx_ag_connect (self);
        return;
    }
    if (heartbeat->seq > self->meta.seq) {
        if (!self->fetching)
            stx_ag_fetch (self);
    }
    else
    if (heartbeat->seq == self->meta.seq
    &&  memcmp (heartbeat->head.data, self->meta.head, STX_HEAD_SIZE) != 0
    &&  self->diverged_at != self->meta.seq) {
        zsys_error ("DIVERGENCE: replica and broker both at seq %" PRIu64
                    " with different heads", self->meta.seq);
        self->diverged_at = self->meta.seq;
    }
}

//  Drain ready updates: apply in-order events in one transaction.
//  True if a CLI request or a reply from the broker is ready.
static bool
s_others_waiting (stx_ag_agent_t *self)
{
    if (zsock_events (self->local) & ZMQ_POLLIN)
        return true;
    if (self->dealer && (zsock_events (self->dealer) & ZMQ_POLLIN))
        return true;
    for (size_t index = 1; index < self->nlinks; index++) {
        zsock_t *dealer = self->links [index].dealer;
        if (dealer && (zsock_events (dealer) & ZMQ_POLLIN))
            return true;
    }
    return false;
}

void
stx_ag_handle_sub (stx_ag_agent_t *self)
{
    stx_txn_t *txn = NULL;
    stx_status_t status = STX_OK;
    uint64_t next = self->meta.seq + 1;
    bool gap = false;
    Stemx__Heartbeat *heartbeat = NULL;
    //  Take what is ready first, so the signatures of the whole drain are
    //  verified together on the pool, then apply in order in one transaction
    zmsg_t **msgs = (zmsg_t **) calloc (STX_AG_APPLY_MAX, sizeof (zmsg_t *));
    Stemx__Event **events = (Stemx__Event **) calloc (STX_AG_APPLY_MAX, sizeof (Stemx__Event *));
    bool *ok = (bool *) calloc (STX_AG_APPLY_MAX, sizeof (bool));
    assert (msgs && events && ok);
    size_t count = 0;
    while (count < STX_AG_APPLY_MAX) {
        if (count > 0 && !(zsock_events (self->sub) & ZMQ_POLLIN))
            break;
        //  Big transactions while only updates come in (each one writes
        //  the index pages its events touch: fewer, larger ones write far
        //  less), short turns when someone waits for an answer
        if (count > 0 && count % STX_AG_APPLY_TURN == 0 && s_others_waiting (self))
            break;
        zmsg_t *msg = zmsg_recv (self->sub);
        if (!msg)
            break;
        self->last_heard = zclock_mono ();
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (body && zmsg_size (msg) == 2 && zframe_streq (topic, STX_TOPIC_EVENT)) {
            Stemx__Event *event = NULL;
            if (stx_event_unpack (zframe_data (body), zframe_size (body), &event) == STX_OK) {
                if (event->seq > self->broker_seq)
                    self->broker_seq = event->seq;
                if (self->state != STX_AG_ACTIVE || event->seq < next)
                    stx_event_free (&event);    //  a snapshot, a fetch or applied covers it
            }
            events [count] = event;
        }
        else
        if (body && zmsg_size (msg) == 2 && zframe_streq (topic, STX_TOPIC_HEARTBEAT)) {
            stx_wire_heartbeat_free (&heartbeat);
            stx_wire_decode_heartbeat (body, &heartbeat);
        }
        msgs [count++] = msg;
    }
    stx_ag_verify_batch (self, events, ok, count);
    for (size_t index = 0; index < count; index++) {
        Stemx__Event *event = events [index];
        if (!event)
            continue;
        zframe_t *body = zmsg_last (msgs [index]);
        if (event->seq < next || self->state != STX_AG_ACTIVE)
            ;                   //  applied, or replication stopped before it
        else
        if (event->seq == next && !self->fetching && status == STX_OK) {
            //  Verified once, here; a failure halts (state changes)
            if (ok [index] || stx_ag_verified (self, event)) {
                if (!txn)
                    status = stx_store_begin (self->store, true, &txn);
                if (status == STX_OK)
                    status = stx_ag_rules_ok (self, txn, event);
                if (status == STX_OK)
                    status = stx_txn_apply_event (txn, event, zframe_data (body),
                                                  zframe_size (body));
                if (status == STX_OK)
                    next++;
                else
                if (status == STX_ERR_INVALID && self->state == STX_AG_HALTED)
                    status = STX_OK;    //  stx_ag_rules_ok halted; keep what came before
                else
                if (status == STX_ERR_REPLAY) {
                    //  Keep what came before it; halt (state changes)
                    stx_ag_halt (self, event, "replayed event id: the replica holds "
                                 "this event id already (an old event re-sequenced)");
                    status = STX_OK;
                }
            }
        }
        else
            gap = true;
    }
    for (size_t index = 0; index < count; index++) {
        stx_event_free (&events [index]);
        zmsg_destroy (&msgs [index]);
    }
    free (msgs);
    free (events);
    free (ok);
    if (status == STX_OK && txn)
        status = stx_txn_commit (&txn);
    stx_txn_abort (&txn);
    if (status != STX_OK) {
        //  None of them was kept: grow if the map is full, and fetch them
        if (status != STX_ERR_MAP_FULL || !stx_ag_grow (self, "cannot apply live events"))
            stx_ag_store_failure (self, status, "cannot apply live events");
        gap = true;
    }
    if (next != self->meta.seq + 1)
        stx_ag_refresh_meta (self);
    if (gap && self->state == STX_AG_ACTIVE && !self->fetching) {
        if (self->verbose)
            zsys_debug ("gap after seq %" PRIu64 ", broker at %" PRIu64,
                        self->meta.seq, self->broker_seq);
        stx_ag_fetch (self);
    }
    if (self->ahead)
        stx_ag_pump (self);          //  the replica caught up some: send on
    if (heartbeat)
        s_on_heartbeat (self, heartbeat);
    stx_wire_heartbeat_free (&heartbeat);
}
