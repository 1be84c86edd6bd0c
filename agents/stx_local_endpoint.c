/*  =========================================================================
    stx_local_endpoint - the CLI's endpoint (ipc in the data folder)

    Publishes go into the durable outbox, are confirmed with a receipt and
    sent on; status and verify requests are answered. Runs in the agent's
    actor thread.
    ========================================================================= */

#include "stx_agent_parts.h"

//  --------------------------------------------------------------------------
//  The CLI's local endpoint

static void
s_local_error (stx_ag_agent_t *self, zframe_t *routing_id, Stemx__Reason reason, const char *text)
{
    Stemx__Error error = STEMX__ERROR__INIT;
    error.reason = reason;
    error.text = (char *) text;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_ERROR;
    reply.error = &error;
    stx_wire_send_reply (self->local, routing_id, &reply);
}

static void
s_local_status (stx_ag_agent_t *self, zframe_t *routing_id)
{
    uint64_t pending = 0, rejected = 0;
    stx_outbox_depth (self->outbox, &pending, &rejected);
    Stemx__NodeStatus status = STEMX__NODE_STATUS__INIT;
    status.node = self->name;
    status.broker = self->broker_endpoint;
    status.connected = self->welcomed
                    && zclock_mono () - self->last_heard < self->connected_ms;
    status.seq = self->meta.seq;
    status.head.data = self->meta.head;
    status.head.len = STX_HEAD_SIZE;
    status.outbox = pending;
    status.broker_seq = self->broker_seq;
    if (self->halted)
        status.error = self->halted;
    if (self->verifier) {
        uint64_t verified, total;
        bool done;
        stx_verifier_progress (self->verifier, &verified, &total, &done);
        status.unverified = total > verified? total - verified: 0;
    }
    else
    if (self->meta.unverified)
        status.unverified = self->meta.entries;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_STATUS;
    reply.status = &status;
    stx_wire_send_reply (self->local, routing_id, &reply);
}

//  The hosted identity that signs event, as a link index: an upsert's
//  entry owner; for an Organisation entry that organisation, else an
//  admin; for a withdrawal the current owner in the replica, else an
//  admin. Returns -1 with the reason and text for the CLI when none may.
static int
s_signer (stx_ag_agent_t *self, stx_txn_t *txn, const Stemx__Event *event,
          Stemx__Reason *reason_p, char *text, size_t textlen)
{
    const char *key = event->key? event->key: "";
    Stemx__Event *current = NULL;
    const char *owner = "";
    bool admin_may = false;
    if (!*key) {
        *reason_p = STEMX__REASON__R_MALFORMED;
        snprintf (text, textlen, "key: required");
        return -1;
    }
    if (event->op == STEMX__OPERATION__OP_WITHDRAW) {
        stx_status_t status = stx_txn_get (txn, key, &current);
        if (status == STX_OK)
            owner = current->owner && *current->owner? current->owner:
                    stx_entry_owner (current->entry);
        else
        if (status != STX_ERR_NOT_FOUND) {
            *reason_p = STEMX__REASON__R_STORAGE;
            snprintf (text, textlen, "replica: %s", stx_strerror (status));
            return -1;
        }
        admin_may = true;
    }
    else {
        owner = stx_entry_owner (event->entry);
        admin_may = event->entry
                 && event->entry->kind_case == STEMX__ENTRY__KIND_ORGANISATION;
        if (!*owner) {
            *reason_p = STEMX__REASON__R_INVALID;
            snprintf (text, textlen, "%.200s: the entry names no owning organisation", key);
            return -1;
        }
    }
    int chosen = -1;
    for (size_t index = 0; chosen < 0 && *owner && index < self->nlinks; index++)
        if (streq (self->links [index].org, owner))
            chosen = (int) index;
    for (size_t index = 0; chosen < 0 && admin_may && index < self->nlinks; index++)
        if (self->links [index].roles & STX_ROLE_ADMIN)
            chosen = (int) index;
    if (chosen < 0) {
        *reason_p = STEMX__REASON__R_UNAUTHORISED;
        if (*owner)
            snprintf (text, textlen, "this agent holds no key of %.120s%s", owner,
                      admin_may? ", nor an admin key": "");
        else
            snprintf (text, textlen, "%.120s: not in this replica, and this agent holds "
                      "no admin key", key);
    }
    stx_event_free (&current);
    return chosen;
}

//  Answer one event of a CLI request here, without the broker.
static void
s_request_refuse (stx_ag_request_t *request, size_t index, Stemx__Reason reason, const char *text)
{
    assert (!request->done [index]);
    request->results [index].reason = reason;
    request->texts [index] = strdup (text);
    assert (request->texts [index]);
    request->results [index].text = request->texts [index];
    request->done [index] = true;
    request->remaining--;
}

//  A CLI publish: check every event, fill in its partners' pillars, sign
//  those a hosted identity may sign (refusing the others here; nothing is
//  signed when insecure), queue the packed bytes in the outbox (synced),
//  then send each over its signer's link if that link is up.
//  Durable first: the publishes staged this turn go to the outbox in one
//  synced commit; from then on their events survive anything. Then their
//  CLI requests wait for results and the events go out as the window
//  allows (a link that is down sends its events when it comes up). If the
//  outbox cannot take them, each CLI gets the error and nothing is queued.
//  Tell the CLI at routing_id that queued events of its request are in
//  the synced outbox, pending of them all without an answer yet.
static void
s_local_receipt (stx_ag_agent_t *self, zframe_t *routing_id, size_t queued, uint64_t pending)
{
    Stemx__Receipt receipt = STEMX__RECEIPT__INIT;
    receipt.queued = (uint32_t) queued;
    receipt.pending = pending;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_RECEIPT;
    reply.receipt = &receipt;
    stx_wire_send_reply (self->local, routing_id, &reply);
}

void
stx_ag_staged_flush (stx_ag_agent_t *self)
{
    if (zlistx_size (self->staged) == 0)
        return;
    stx_status_t status = STX_OK;
    if (self->staged_count)
        status = stx_outbox_add (self->outbox, (const uint8_t **) self->staged_datas,
                                 self->staged_sizes, self->staged_count);
    uint64_t pending = 0, rejected = 0;
    if (status == STX_OK)
        stx_outbox_depth (self->outbox, &pending, &rejected);
    stx_ag_request_t *request = (stx_ag_request_t *) zlistx_detach (self->staged, NULL);
    while (request) {
        if (status == STX_OK) {
            //  Durable now: the CLI may say so, whatever happens next
            s_local_receipt (self, request->routing_id, request->queued, pending);
            zlistx_add_end (self->requests, request);
            stx_ag_request_wait (self, request);
        }
        else {
            char text [STX_ERRLEN];
            snprintf (text, sizeof (text), "outbox: %s", stx_strerror (status));
            s_local_error (self, request->routing_id, STEMX__REASON__R_STORAGE, text);
            stx_ag_request_destroy (&request);
        }
        request = (stx_ag_request_t *) zlistx_detach (self->staged, NULL);
    }
    for (size_t index = 0; index < self->staged_count; index++) {
        //  Not queued: the versions they would have made will not be
        const uint8_t *id;
        size_t len;
        if (status != STX_OK
        &&  stx_event_peek (self->staged_datas [index], self->staged_sizes [index],
                            STX_AG_FIELD_EVENT_ID, &id, &len) == STX_OK && len == STX_EVENT_ID_SIZE)
            stx_versions_forget (self->versions, id);
        free (self->staged_datas [index]);
    }
    self->staged_count = 0;
    if (status == STX_OK) {
        stx_ag_pump (self);
        stx_ag_requests_reply (self);    //  answered at once if none was queued
    }
}

//  Signs events [i] with signers [i] (NULL: not signed), one per call.
typedef struct {
    Stemx__Event **events;
    const stx_identity_t **signers;
} s_sign_batch_t;

static void
s_sign_one (void *arg, size_t index)
{
    s_sign_batch_t *batch = (s_sign_batch_t *) arg;
    if (batch->signers [index])
        stx_sign_event (batch->events [index], batch->signers [index]);
}

//  The pillar of an organisation the replica does not hold (yet): one this
//  agent signed (an import's organisations, or one earlier in the same
//  publish), else the pillar its key declares in the trust store. The
//  broker refuses a party without its pillar.
static const char *
s_own_pillar (const char *org, void *arg)
{
    stx_ag_agent_t *self = (stx_ag_agent_t *) arg;
    const char *pillar = (const char *) zhash_lookup (self->own_pillars, org);
    return pillar? pillar: stx_parties_registered (self->trust, org);
}

static void
s_own_pillar_note (stx_ag_agent_t *self, const Stemx__Entry *entry)
{
    if (!entry || entry->kind_case != STEMX__ENTRY__KIND_ORGANISATION || !entry->organisation
    ||  !entry->organisation->id || !*entry->organisation->id
    ||  !entry->organisation->helix_pillar || !*entry->organisation->helix_pillar)
        return;
    if (zhash_size (self->own_pillars) >= STX_AG_OWN_PILLARS_MAX
    &&  !zhash_lookup (self->own_pillars, entry->organisation->id)) {
        zhash_destroy (&self->own_pillars);     //  bounded: start over
        self->own_pillars = zhash_new ();
        assert (self->own_pillars);
        zhash_autofree (self->own_pillars);
    }
    zhash_update (self->own_pillars, entry->organisation->id,
                  entry->organisation->helix_pillar);
}

//  The version an event the CLI sent without one expects (signed, so the
//  broker sequences it only onto that version, and replicas check it):
//  the replica's, or the one this agent's own event in flight for the key
//  makes, whichever is later. Errors: STX_ERR_STORAGE.
static stx_status_t
s_expect (stx_ag_agent_t *self, stx_txn_t *txn, Stemx__Event *event)
{
    Stemx__Event *current = NULL;
    stx_status_t status = stx_txn_get (txn, event->key, &current);
    if (status != STX_OK && status != STX_ERR_NOT_FOUND)
        return status;
    uint64_t version = current? current->version: 0;
    stx_event_free (&current);
    uint64_t queued = stx_versions_get (self->versions, event->key);
    event->expected_version = queued > version? queued: version;
    return STX_OK;
}

static void
s_local_publish (stx_ag_agent_t *self, zframe_t *routing_id, Stemx__Publish *publish)
{
    size_t count = publish->n_events;
    stx_ag_request_t *request = stx_ag_request_new (routing_id, count);
    Stemx__Event **events = (Stemx__Event **) calloc (count + 1, sizeof (Stemx__Event *));
    uint8_t **packed = (uint8_t **) calloc (count + 1, sizeof (uint8_t *));
    size_t *sizes = (size_t *) calloc (count + 1, sizeof (size_t));
    const stx_identity_t **signers = (const stx_identity_t **) calloc (count + 1,
                                                                       sizeof (void *));
    bool *queue = (bool *) calloc (count + 1, sizeof (bool));
    assert (events && packed && sizes && signers && queue);
    char text [STX_ERRLEN];
    bool failed = false;
    for (size_t index = 0; index < count && !failed; index++) {
        stx_status_t status = stx_event_unpack (publish->events [index].data,
                                                publish->events [index].len, &events [index]);
        if (status == STX_OK && events [index]->event_id.len == STX_EVENT_ID_SIZE)
            memcpy (request->ids [index], events [index]->event_id.data, STX_EVENT_ID_SIZE);
        bool bad_id = status == STX_OK && events [index]->event_id.len != STX_EVENT_ID_SIZE;
        if (status != STX_OK || bad_id || publish->events [index].len > STX_AG_EVENT_MAX) {
            snprintf (text, sizeof (text), "events[%zu]: %s", index,
                      status != STX_OK? "undecodable Event":
                      bad_id? "event_id: must be 16 bytes": "event too large");
            s_local_error (self, routing_id, publish->events [index].len > STX_AG_EVENT_MAX?
                           STEMX__REASON__R_TOO_LARGE: STEMX__REASON__R_MALFORMED, text);
            failed = true;
        }
    }
    //  Fill in pillars and sign (unless insecure), in one read transaction
    //  of the replica
    size_t queued = 0;
    if (!failed && count) {
        stx_txn_t *txn = NULL;
        stx_status_t status = stx_store_begin (self->store, false, &txn);
        if (status != STX_OK) {
            snprintf (text, sizeof (text), "replica: %s", stx_strerror (status));
            s_local_error (self, routing_id, STEMX__REASON__R_STORAGE, text);
            failed = true;
        }
        for (size_t index = 0; !failed && index < count; index++) {
            Stemx__Event *event = events [index];
            Stemx__Reason reason = STEMX__REASON__R_OK;
            int link = -1;
            if (event->op == STEMX__OPERATION__OP_UPSERT)
                status = stx_txn_fill_pillars (txn, event->entry);
            if (status == STX_OK && event->op == STEMX__OPERATION__OP_UPSERT) {
                stx_parties_fill (event->entry, s_own_pillar, self);
                s_own_pillar_note (self, event->entry);
            }
            if (status == STX_OK && event->expected_version == 0)
                status = s_expect (self, txn, event);
            if (status != STX_OK) {
                reason = STEMX__REASON__R_STORAGE;
                snprintf (text, sizeof (text), "replica: %s", stx_strerror (status));
                status = STX_OK;
            }
            else
            if (self->insecure)
                link = 0;
            else
                link = s_signer (self, txn, event, &reason, text, sizeof (text));
            if (link < 0) {
                s_request_refuse (request, index, reason, text);
                continue;
            }
            signers [index] = self->insecure? NULL: self->links [link].identity;
            queue [index] = true;
            if (stx_versions_size (self->versions) >= STX_AG_VERSIONS_MAX)
                stx_versions_purge (self->versions);    //  bounded: the replica has most
            stx_versions_put (self->versions, event->key, event->expected_version + 1,
                              event->event_id.data);
        }
        stx_txn_abort (&txn);
        //  Signing is most of an event's cost here: on every core
        if (!failed && !self->insecure) {
            s_sign_batch_t batch = { events, signers };
            stx_pool_run (self->pool, s_sign_one, &batch, count);
        }
        for (size_t index = 0; !failed && index < count; index++) {
            if (!queue [index])
                continue;
            packed [index] = stx_event_pack (events [index], &sizes [queued++]);
        }
    }
    //  Staged: stx_ag_staged_flush writes it to the outbox with every other
    //  publish of this turn, and only then is it sent or answered
    if (failed)
        stx_ag_request_destroy (&request);
    else {
        if (self->staged_count + queued > self->staged_max) {
            self->staged_max = (self->staged_count + queued) * 2;
            self->staged_datas = (uint8_t **) realloc (self->staged_datas,
                                                       self->staged_max * sizeof (uint8_t *));
            self->staged_sizes = (size_t *) realloc (self->staged_sizes,
                                                     self->staged_max * sizeof (size_t));
            assert (self->staged_datas && self->staged_sizes);
        }
        for (size_t index = 0, taken = 0; index < count; index++)
            if (packed [index]) {
                self->staged_datas [self->staged_count] = packed [index];
                self->staged_sizes [self->staged_count++] = sizes [taken++];
                packed [index] = NULL;
            }
        request->queued = queued;
        zlistx_add_end (self->staged, request);
    }
    for (size_t index = 0; index < count; index++) {
        stx_event_free (&events [index]);
        free (packed [index]);
    }
    free (events);
    free (packed);
    free (sizes);
    free (signers);
    free (queue);
}

void
stx_ag_handle_local (stx_ag_agent_t *self)
{
    zmsg_t *msg = zmsg_recv (self->local);
    if (!msg)
        return;
    zframe_t *routing_id = zmsg_pop (msg);
    if (!routing_id || zmsg_size (msg) != 1) {
        if (routing_id)
            s_local_error (self, routing_id, STEMX__REASON__R_MALFORMED, "expected one frame");
        zframe_destroy (&routing_id);
        zmsg_destroy (&msg);
        return;
    }
    Stemx__Request *request = NULL;
    stx_status_t status = stx_wire_decode_request (zmsg_first (msg), STX_AG_LOCAL_MAX, &request);
    //  Anything but a publish sees the publishes before it in the outbox
    if (status != STX_OK || request->body_case != STEMX__REQUEST__BODY_PUBLISH)
        stx_ag_staged_flush (self);
    if (status != STX_OK)
        s_local_error (self, routing_id, stx_status_reason (status),
                       status == STX_ERR_TOO_LARGE? "request too large": "undecodable request");
    else
    if (request->body_case == STEMX__REQUEST__BODY_STATUS)
        s_local_status (self, routing_id);
    else
    if (request->body_case == STEMX__REQUEST__BODY_PUBLISH)
        s_local_publish (self, routing_id, request->publish);
    else
    if (request->body_case == STEMX__REQUEST__BODY_VERIFY) {
        //  The replica's committed position now, and a fresh round trip
        stx_ag_verify_t *verify = (stx_ag_verify_t *) zmalloc (sizeof (stx_ag_verify_t));
        assert (verify);
        verify->routing_id = zframe_dup (routing_id);
        verify->local_seq = self->meta.seq;
        memcpy (verify->local_head, self->meta.head, STX_HEAD_SIZE);
        uint32_t timeout = request->verify->timeout_ms;
        if (timeout == 0)
            timeout = STX_AG_VERIFY_TIMEOUT;
        if (timeout > STX_AG_VERIFY_MAX)
            timeout = STX_AG_VERIFY_MAX;
        verify->deadline = zclock_mono () + timeout;
        if (self->dealer)
            stx_ag_send_ping (self->dealer, verify->local_seq);
        zlistx_add_end (self->verifies, verify);
    }
    else
    if (request->body_case == STEMX__REQUEST__BODY_PING) {
        Stemx__Pong pong = STEMX__PONG__INIT;
        pong.seq = self->meta.seq;
        pong.head.data = self->meta.head;
        pong.head.len = STX_HEAD_SIZE;
        Stemx__Reply reply = STEMX__REPLY__INIT;
        reply.body_case = STEMX__REPLY__BODY_PONG;
        reply.pong = &pong;
        stx_wire_send_reply (self->local, routing_id, &reply);
    }
    else {
        char text [96];
        snprintf (text, sizeof (text), "%s: not served by the agent",
                  stx_wire_request_name (request));
        s_local_error (self, routing_id, STEMX__REASON__R_MALFORMED, text);
    }
    stx_wire_request_free (&request);
    zframe_destroy (&routing_id);
    zmsg_destroy (&msg);
}
