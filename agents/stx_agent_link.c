/*  =========================================================================
    stx_agent_link - the broker link: what the agent sends, and every reply

    Requests go out on the DEALER of the identity they need; replies are
    handled here: WELCOME, snapshot chunks and their end, LOG ranges,
    acks, errors (R_NO_SESSION: HELLO again). Runs in the agent's actor
    thread.
    ========================================================================= */

#include "stx_agent_parts.h"

//  --------------------------------------------------------------------------
//  Talking to the broker

void
stx_ag_send (stx_ag_agent_t *self, Stemx__Request *request)
{
    if (self->dealer)
        stx_wire_send_request (self->dealer, request);
}

void
stx_ag_send_ping (zsock_t *dealer, uint64_t seq)
{
    Stemx__Ping ping = STEMX__PING__INIT;
    ping.seq = seq;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PING;
    request.ping = &ping;
    stx_wire_send_request (dealer, &request);
}


//  --------------------------------------------------------------------------
//  Replies from the broker

static void
s_on_welcome (stx_ag_agent_t *self, Stemx__Welcome *welcome)
{
    bool halted = self->state == STX_AG_HALTED || self->state == STX_AG_PAUSED;
    if (self->state != STX_AG_CONNECTING && !(halted && !self->welcomed))
        return;                 //  an answer to an earlier HELLO
    if (welcome->lineage.len != STX_LINEAGE_SIZE) {
        zsys_warning ("welcome without a lineage, ignored");
        return;
    }
    self->welcomed = true;
    self->lost = false;
    self->backoff = 0;
    self->hellos = 0;
    memcpy (self->broker_lineage, welcome->lineage.data, STX_LINEAGE_SIZE);
    self->broker_lineage_known = true;
    self->broker_seq = welcome->seq;
    self->acked_seq = 0;
    self->window = welcome->publish_window? welcome->publish_window: STX_AG_WINDOW_DEFAULT;
    if (halted)
        zsys_warning ("connected to %s: replication stays %s at seq %" PRIu64 "%s",
                      self->broker_endpoint, stx_ag_state_name (self->state), self->meta.seq,
                      self->state == STX_AG_HALTED? " (restart the agent to try again)"
                                             : " (waiting for a key in the trust store)");
    else
    if (welcome->refresh_required) {
        zsys_notice ("broker at seq %" PRIu64 " asks for a refresh; taking a snapshot",
                     welcome->seq);
        stx_verifier_destroy (&self->verifier);     //  what it checks goes now
        stx_status_t status = stx_store_begin (self->store, true, &self->snapshot);
        if (status == STX_OK)
            status = stx_txn_clear (self->snapshot);
        //  Marked from the start: what a query shows meanwhile is unverified
        if (status == STX_OK && !self->insecure)
            status = stx_txn_set_unverified (self->snapshot, true);
        if (status != STX_OK) {
            stx_txn_abort (&self->snapshot);
            zsys_error ("cannot start a snapshot: %s", stx_strerror (status));
            return;             //  silence timer reconnects
        }
        self->state = STX_AG_SNAPSHOT;
        self->snapshot_entries = 0;
        self->snapshot_committed = 0;
        self->snapshot_last = zclock_mono ();
        Stemx__SnapshotRequest snapshot = STEMX__SNAPSHOT_REQUEST__INIT;
        snapshot.credit = STX_AG_SNAPSHOT_CREDIT;
        Stemx__Request request = STEMX__REQUEST__INIT;
        request.body_case = STEMX__REQUEST__BODY_SNAPSHOT;
        request.snapshot = &snapshot;
        stx_ag_send (self, &request);
    }
    else {
        self->state = STX_AG_ACTIVE;
        if (self->meta.seq == welcome->seq && welcome->head.len == STX_HEAD_SIZE
        &&  memcmp (self->meta.head, welcome->head.data, STX_HEAD_SIZE) != 0) {
            zsys_error ("DIVERGENCE: replica and broker both at seq %" PRIu64
                        " with different heads", self->meta.seq);
            self->diverged_at = self->meta.seq;
        }
        zsys_notice ("connected to %s: replica at seq %" PRIu64 ", broker at %" PRIu64,
                     self->broker_endpoint, self->meta.seq, welcome->seq);
        if (self->meta.seq < welcome->seq)
            stx_ag_fetch (self);
    }
    stx_ag_rewind (self);
}

static void
s_on_chunk (stx_ag_agent_t *self, Stemx__SnapshotChunk *chunk)
{
    if (self->state != STX_AG_SNAPSHOT || !self->snapshot)
        return;
    self->snapshot_last = zclock_mono ();
    //  Stored now, verified in the background once the snapshot is
    //  complete (stx_verifier): the replica answers queries at once.
    //  Committed every STX_AG_SNAPSHOT_COMMIT entries, so a big catalogue never
    //  holds its dirty pages in memory: the position (lineage, seq) is
    //  written only with the last part, so a replica stopped half way has
    //  no lineage and takes a new snapshot when it comes back
    stx_status_t status = STX_OK;
    for (size_t index = 0; status == STX_OK && index < chunk->n_events; index++)
        status = stx_txn_load (self->snapshot, chunk->events [index].data,
                               chunk->events [index].len);
    self->snapshot_entries += chunk->n_events;
    if (status == STX_OK && self->snapshot_entries - self->snapshot_committed
                            >= STX_AG_SNAPSHOT_COMMIT) {
        status = stx_txn_commit (&self->snapshot);
        if (status == STX_OK)
            stx_ag_grow_ahead (self);
        if (status == STX_OK)
            status = stx_store_begin (self->store, true, &self->snapshot);
        if (status == STX_OK)
            self->snapshot_committed = self->snapshot_entries;
    }
    if (status != STX_OK) {
        zsys_error ("snapshot: cannot store entries: %s", stx_strerror (status));
        stx_ag_snapshot_abort (self);
        if (status == STX_ERR_MAP_FULL)
            stx_ag_grow (self, "snapshot");      //  the next snapshot has more room
        self->last_hello = zclock_mono ();  //  reconnect after the usual pause
        self->state = STX_AG_CONNECTING;
        return;
    }
    Stemx__Credit credit = STEMX__CREDIT__INIT;
    credit.credit = 1;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_CREDIT;
    request.credit = &credit;
    stx_ag_send (self, &request);
}

static void
s_on_snapshot_end (stx_ag_agent_t *self, Stemx__SnapshotEnd *end)
{
    if (self->state != STX_AG_SNAPSHOT || !self->snapshot)
        return;
    stx_status_t status = STX_OK;
    if (end->lineage.len != STX_LINEAGE_SIZE || end->head.len != STX_HEAD_SIZE
    ||  end->entries != self->snapshot_entries) {
        zsys_error ("snapshot end does not match: %" PRIu64 " entries announced, %" PRIu64
                    " received", end->entries, self->snapshot_entries);
        status = STX_ERR_MALFORMED;
    }
    if (status == STX_OK)
        status = stx_txn_set_position (self->snapshot, end->lineage.data, end->seq,
                                       end->head.data);
    if (status == STX_OK && !self->insecure)
        status = stx_txn_set_unverified (self->snapshot, true);
    if (status == STX_OK)
        status = stx_txn_commit (&self->snapshot);
    if (status != STX_OK) {
        stx_ag_snapshot_abort (self);
        zsys_error ("snapshot failed: %s", stx_strerror (status));
        if (status == STX_ERR_MAP_FULL)
            stx_ag_grow (self, "snapshot");      //  the next snapshot has more room
        self->state = STX_AG_CONNECTING;
        self->last_hello = zclock_mono ();
        return;
    }
    stx_ag_refresh_meta (self);
    self->state = STX_AG_ACTIVE;
    zsys_notice ("snapshot taken: %" PRIu64 " entries at seq %" PRIu64 "%s",
                 end->entries, end->seq,
                 self->insecure? "": "; verifying their signatures in the background");
    stx_ag_verifier_tick (self);
    if (self->broker_seq > self->meta.seq)
        stx_ag_fetch (self);
}

//  The broker's head before the range against the replica's own at that
//  sequence (while it holds it): a difference is a history that diverged
//  before the range, and halts replication here rather than at the next
//  heartbeat. False when it halted.
static bool
s_prior_ok (stx_ag_agent_t *self, stx_txn_t *txn, const Stemx__LogRange *log)
{
    uint8_t own [STX_HEAD_SIZE];
    if (log->prior_head.len != STX_HEAD_SIZE || log->prior_seq > self->meta.seq
    ||  stx_txn_head_at (txn, log->prior_seq, own) != STX_OK
    ||  memcmp (own, log->prior_head.data, STX_HEAD_SIZE) == 0)
        return true;
    char text [256];
    snprintf (text, sizeof (text), "fetched range: the broker's hash-chain head after seq %"
              PRIu64 " differs from the replica's (a history that diverged before it); "
              "replication halted — the broker may be compromised", log->prior_seq);
    stx_ag_halt_with (self, text);
    return false;
}

static void
s_on_log (stx_ag_agent_t *self, Stemx__LogRange *log)
{
    self->fetching = false;
    if (self->state != STX_AG_ACTIVE)
        return;
    if (log->last > self->broker_seq)
        self->broker_seq = log->last;
    uint64_t before = self->meta.seq;
    if (log->n_events > 0) {
        //  Verify each event once, all of them on the pool first; an
        //  undecodable one is left to stx_txn_apply to report
        size_t count = log->n_events;
        Stemx__Event **events = (Stemx__Event **) calloc (count, sizeof (Stemx__Event *));
        bool *ok = (bool *) calloc (count, sizeof (bool));
        assert (events && ok);
        for (size_t index = 0; index < count; index++)
            if (stx_event_unpack (log->events [index].data, log->events [index].len,
                                  &events [index]) == STX_OK
            &&  events [index]->seq <= self->meta.seq)
                stx_event_free (&events [index]);   //  applied already
        stx_ag_verify_batch (self, events, ok, count);
        stx_txn_t *txn = NULL;
        stx_status_t status = stx_store_begin (self->store, true, &txn);
        if (status == STX_OK && !s_prior_ok (self, txn, log)) {
            for (size_t index = 0; index < count; index++)
                stx_event_free (&events [index]);
            count = 0;          //  halted: nothing of the range is applied
        }
        size_t applied = 0;
        uint64_t next = self->meta.seq + 1;
        for (size_t index = 0; status == STX_OK && index < count; index++) {
            Stemx__Event *event = events [index];
            events [index] = NULL;
            if (event) {
                bool skip = event->seq < next;
                bool verified = skip || ok [index] || stx_ag_verified (self, event);
                if (skip || !verified)
                    stx_event_free (&event);
                if (skip)
                    continue;
                if (!verified)
                    break;      //  halted or paused; what was applied before it is kept
            }
            stx_status_t rc = event? stx_ag_rules_ok (self, txn, event): STX_OK;
            if (rc == STX_ERR_INVALID) {
                stx_event_free (&event);
                break;          //  halted; what was applied before it is kept
            }
            if (rc == STX_OK)
                rc = event? stx_txn_apply_event (txn, event, log->events [index].data,
                                                 log->events [index].len)
                          : stx_txn_apply (txn, log->events [index].data,
                                           log->events [index].len);
            if (rc == STX_ERR_REPLAY && event) {
                stx_ag_halt (self, event, "replayed event id: the replica holds this event id "
                             "already (an old event re-sequenced)");
                stx_event_free (&event);
                break;          //  what was applied before it is kept
            }
            stx_event_free (&event);
            if (rc == STX_OK) {
                applied++;
                next++;
            }
            else
            if (rc == STX_ERR_STALE)
                continue;
            else {
                if (rc == STX_ERR_MAP_FULL || rc == STX_ERR_STORAGE || rc == STX_ERR_NO_SPACE
                ||  rc == STX_ERR_IO)
                    status = rc;
                else
                if (rc != STX_ERR_GAP)
                    zsys_error ("cannot apply fetched event: %s", stx_strerror (rc));
                break;
            }
        }
        for (size_t index = 0; index < count; index++)
            stx_event_free (&events [index]);
        free (events);
        free (ok);
        if (status == STX_OK && applied)
            status = stx_txn_commit (&txn);
        stx_txn_abort (&txn);
        stx_ag_refresh_meta (self);
        //  A full map: nothing of this range was kept; grow and fetch it again
        if (status == STX_ERR_MAP_FULL && stx_ag_grow (self, "cannot store fetched events")) {
            stx_ag_fetch (self);
            return;
        }
        if (status != STX_OK)
            stx_ag_store_failure (self, status, "cannot store fetched events");
        else
        if (applied)
            stx_ag_store_works (self);
    }
    if (self->verbose)
        zsys_debug ("fetched to seq %" PRIu64 ", broker at %" PRIu64,
                    self->meta.seq, self->broker_seq);
    //  Ask for more only when this range moved us on; else the timers retry
    if (self->state == STX_AG_ACTIVE && self->meta.seq > before && self->meta.seq < self->broker_seq)
        stx_ag_fetch (self);
    if (self->ahead)
        stx_ag_pump (self);          //  the replica caught up some: send on
}

static void
s_on_ack (stx_ag_agent_t *self, Stemx__Ack *ack)
{
    //  Room for every result in the buffers stx_ag_settle_flush empties
    size_t need = ack->n_results;
    if (self->acked_count + need > self->acked_max) {
        self->acked_max = (self->acked_count + need) * 2;
        self->acked = realloc (self->acked, self->acked_max * STX_EVENT_ID_SIZE);
        assert (self->acked);
    }
    if (self->refused_count + need > self->refused_max) {
        self->refused_max = (self->refused_count + need) * 2;
        self->refused = (stx_refusal_t *) realloc (self->refused,
                                                   self->refused_max * sizeof (stx_refusal_t));
        assert (self->refused);
    }
    size_t kept = 0, limited = 0;
    uint32_t hint = 0;
    const char *kept_text = NULL;
    for (size_t index = 0; index < ack->n_results; index++) {
        Stemx__Result *result = ack->results [index];
        if (result->event_id.len != STX_EVENT_ID_SIZE)
            continue;
        stx_flight_done (self->flight, result->event_id.data);
        if (result->reason == STEMX__REASON__R_OK) {
            memcpy (self->acked [self->acked_count++], result->event_id.data,
                    STX_EVENT_ID_SIZE);
            if (result->seq > self->acked_seq)
                self->acked_seq = result->seq;
        }
        else
        if (result->reason == STEMX__REASON__R_RATE_LIMITED) {
            //  Not a refusal of the event: it stays pending, is sent again
            //  at a slower pace, and its CLI request waits for the outcome
            limited++;
            if (result->retry_after_ms > hint)
                hint = result->retry_after_ms;
            continue;
        }
        else
        if (result->reason == STEMX__REASON__R_STORAGE) {
            if (kept++ == 0)
                kept_text = result->text;
        }
        else {
            //  The id is copied with the text: the ACK is freed before the settle
            const char *text = result->text? result->text: "";
            char *copy = (char *) malloc (STX_EVENT_ID_SIZE + strlen (text) + 1);
            assert (copy);
            memcpy (copy, result->event_id.data, STX_EVENT_ID_SIZE);
            strcpy (copy + STX_EVENT_ID_SIZE, text);
            stx_refusal_t refusal = { (const uint8_t *) copy, result->reason,
                                      copy + STX_EVENT_ID_SIZE };
            self->refused [self->refused_count++] = refusal;
            //  The version it would have made will not be
            stx_versions_forget (self->versions, result->event_id.data);
        }
        stx_ag_requests_settle (self, result);
    }
    //  The CLI hears first: the broker's ack is durable there already, and
    //  an ack the outbox loses to a crash is only sent again; the outbox is
    //  settled once for every ACK of this turn (stx_ag_settle_flush)
    stx_ag_requests_reply (self);
    if (kept)
        zsys_warning ("broker could not store %zu event%s (kept in the outbox, sent again "
                      "in %d ms): %s", kept, kept == 1? "": "s", STX_AG_STORAGE_WAIT, kept_text);
    //  Each answer makes room in the window; a rate limit holds sending
    //  back for as long as the broker's hint says (the last refusal's hint
    //  covers all of them), then everything pending goes again in order
    int64_t now = zclock_mono ();
    self->last_progress = now;
    self->inflight -= ack->n_results < self->inflight? ack->n_results: self->inflight;
    if (limited) {
        if (!self->rewind_at)
            zsys_notice ("broker rate limits us: %zu event%s kept pending, sent again "
                         "in %u ms", limited, limited == 1? "": "s",
                         hint? hint: STX_AG_RATE_WAIT_MIN);
        uint32_t wait = hint == 0? STX_AG_RATE_WAIT_MIN: hint > STX_AG_RATE_WAIT_MAX? STX_AG_RATE_WAIT_MAX: hint;
        int64_t at = now + wait;
        if (at > self->rewind_at)
            self->rewind_at = at;
    }
    if (kept && self->rewind_at < now + STX_AG_STORAGE_WAIT)
        self->rewind_at = now + STX_AG_STORAGE_WAIT;
    stx_ag_pump (self);
}

//  Record every ACK of this turn in the outbox, in one commit.
void
stx_ag_settle_flush (stx_ag_agent_t *self)
{
    if (self->acked_count == 0 && self->refused_count == 0)
        return;
    const uint8_t (*acked) [STX_EVENT_ID_SIZE] = (const uint8_t (*) [STX_EVENT_ID_SIZE])
                                                 self->acked;
    stx_status_t status = stx_outbox_settle (self->outbox, acked, self->acked_count,
                                             self->refused, self->refused_count);
    if (status != STX_OK)
        zsys_error ("outbox: cannot record the broker's answers (they come again on a "
                    "resend): %s", stx_strerror (status));
    for (size_t index = 0; index < self->refused_count; index++)
        free ((char *) self->refused [index].id);
    self->acked_count = 0;
    self->refused_count = 0;
}

static void
s_on_error (stx_ag_agent_t *self, Stemx__Error *error)
{
    zsys_warning ("broker error: %s", error->text);
    if (self->state == STX_AG_SNAPSHOT) {
        //  e.g. busy: start over after the usual pause
        stx_ag_snapshot_abort (self);
        self->state = STX_AG_CONNECTING;
        self->last_hello = zclock_mono ();
    }
    else
    if (error->reason == STEMX__REASON__R_REFRESH_REQUIRED) {
        self->meta.has_lineage = false;     //  HELLO as an empty replica
        stx_ag_connect (self);
        stx_ag_refresh_meta (self);
    }
    else
    if (error->reason == STEMX__REASON__R_NO_SESSION)
        stx_ag_connect (self);       //  the broker restarted or forgot us: its WELCOME rewinds
    else
        self->fetching = false;
    //  An Error to a PUBLISH answers none of its events one by one: they
    //  stay pending, and nothing waits for them meanwhile
    if (error->reason != STEMX__REASON__R_RATE_LIMITED
    &&  error->reason != STEMX__REASON__R_REFRESH_REQUIRED)
        stx_flight_forget_link (self->flight, 0);
}

void
stx_ag_handle_dealer (stx_ag_agent_t *self)
{
    Stemx__Reply *reply = NULL;
    stx_status_t status = stx_wire_recv_reply (self->dealer, 0, &reply);
    if (status != STX_OK) {
        if (status != STX_ERR_TIMEOUT)
            zsys_warning ("undecodable reply from the broker: %s", stx_strerror (status));
        return;
    }
    self->last_heard = zclock_mono ();
    if (self->verbose)
        zsys_debug ("%s from broker", stx_wire_reply_name (reply));
    switch (reply->body_case) {
        case STEMX__REPLY__BODY_WELCOME:      s_on_welcome (self, reply->welcome); break;
        case STEMX__REPLY__BODY_CHUNK:        s_on_chunk (self, reply->chunk); break;
        case STEMX__REPLY__BODY_SNAPSHOT_END: s_on_snapshot_end (self, reply->snapshot_end); break;
        case STEMX__REPLY__BODY_LOG:          s_on_log (self, reply->log); break;
        case STEMX__REPLY__BODY_ACK:          s_on_ack (self, reply->ack); break;
        case STEMX__REPLY__BODY_ERROR:        s_on_error (self, reply->error); break;
        case STEMX__REPLY__BODY_PONG:
            if (self->welcomed && reply->pong->seq > self->broker_seq)
                self->broker_seq = reply->pong->seq;
            stx_ag_verify_settle (self, reply->pong);
            break;
        default:
            zsys_warning ("unexpected %s from the broker", stx_wire_reply_name (reply));
            break;
    }
    stx_wire_reply_free (&reply);
}

//  A reply on a publishing link (after the first): ACKs settle the outbox
//  as on the replication DEALER; the first reply after connecting says
//  the broker let this identity in, so its pending events go out.
void
stx_ag_link_handle (stx_ag_agent_t *self, size_t index)
{
    stx_ag_link_t *link = &self->links [index];
    Stemx__Reply *reply = NULL;
    stx_status_t status = stx_wire_recv_reply (link->dealer, 0, &reply);
    if (status != STX_OK) {
        if (status != STX_ERR_TIMEOUT)
            zsys_warning ("undecodable reply from the broker to %s: %s", link->org,
                          stx_strerror (status));
        return;
    }
    link->last_heard = zclock_mono ();
    bool was_up = link->up;
    //  An Error is no sign that the broker let this identity in (a HELLO
    //  refused, a key without the publisher role): only other answers are
    bool error = reply->body_case == STEMX__REPLY__BODY_ERROR;
    if (!error) {
        link->up = true;
        link->backoff = 0;
        link->tries = 0;
    }
    if (self->verbose)
        zsys_debug ("%s from broker to %s", stx_wire_reply_name (reply), link->org);
    switch (reply->body_case) {
        case STEMX__REPLY__BODY_ACK:
            s_on_ack (self, reply->ack);
            break;
        case STEMX__REPLY__BODY_PONG:
        case STEMX__REPLY__BODY_WELCOME:
            break;
        case STEMX__REPLY__BODY_ERROR:
            zsys_warning ("broker error to %s: %s", link->org, reply->error->text);
            //  It answers none of the events in flight here one by one:
            //  they stay pending, and nothing waits for them meanwhile
            stx_flight_forget_link (self->flight, index);
            if (reply->error->reason == STEMX__REASON__R_NO_SESSION) {
                //  Not let in on this connection (yet): HELLO again, and
                //  only its WELCOME sends the pending events
                link->up = false;
                link->connected_at = zclock_mono ();
                stx_ag_send_hello (self, link->dealer);
            }
            break;
        default:
            zsys_warning ("unexpected %s from the broker to %s", stx_wire_reply_name (reply),
                          link->org);
            break;
    }
    stx_wire_reply_free (&reply);
    if (link->up && !was_up) {
        zsys_notice ("publishing as %s to %s", link->org, self->broker_endpoint);
        stx_ag_rewind (self);
    }
}
