/*  =========================================================================
    stx_replica - the replica's storage and the checks of what it takes in

    Failures are logged once; MDB_MAP_FULL grows the map; every event taken
    in (live, fetched, in a snapshot) is verified before or right after it
    is applied. Runs in the agent's actor thread; signature checks run on
    the pool.
    ========================================================================= */

#include "stx_agent_parts.h"

//  --------------------------------------------------------------------------
//  Replica storage: failures logged once, MDB_MAP_FULL grows the map

//  Log a replica storage failure once per kind until the next success.
//  Replication then waits and retries; no event is ever skipped.
void
stx_ag_store_failure (stx_ag_agent_t *self, stx_status_t status, const char *what)
{
    if (status == self->store_failed)
        return;
    self->store_failed = status;
    if (status == STX_ERR_MAP_FULL)
        zsys_error ("%s: the replica reached its map size limit (agent/map_max, %.1f MiB); "
                    "raise agent/map_max and restart the agent - replication waits, "
                    "nothing is skipped", what, self->map_max / 1048576.0);
    else
        zsys_error ("%s: %s; replication waits and retries, nothing is skipped", what,
                    stx_strerror (status));
}

void
stx_ag_store_works (stx_ag_agent_t *self)
{
    if (self->store_failed != STX_OK) {
        zsys_notice ("replica storage works again");
        self->store_failed = STX_OK;
    }
}

//  The replica's map is full: double it, up to map_max. Call with no
//  replica transaction alive (the store refuses otherwise). True if it
//  grew; the caller then does the same work again.
bool
stx_ag_grow (stx_ag_agent_t *self, const char *what)
{
    size_t size = 0;
    stx_status_t status = stx_store_grow_step (self->store, self->map_max, &size);
    if (status == STX_OK) {
        zsys_notice ("replica: map grown to %.1f MiB (agent/map_max %.1f MiB)",
                     size / 1048576.0, self->map_max / 1048576.0);
        return true;
    }
    stx_ag_store_failure (self, status, what);
    return false;
}

//  Between two parts of a snapshot: grow the map while three quarters of
//  it are in use, so a big catalogue never runs into MDB_MAP_FULL half way
//  (that abandons the snapshot: the parts committed so far have no
//  position, and it starts over). Call with no replica transaction alive.
void
stx_ag_grow_ahead (stx_ag_agent_t *self)
{
    stx_store_info_t info;
    size_t size = 0;
    //  Not growing now is no failure: MDB_MAP_FULL still takes stx_ag_grow
    if (stx_store_info (self->store, &info) == STX_OK && info.map_used > info.map_size / 4 * 3
    &&  stx_store_grow_step (self->store, self->map_max, &size) == STX_OK)
        zsys_notice ("replica: map grown to %.1f MiB ahead of the snapshot's next part "
                     "(agent/map_max %.1f MiB)", size / 1048576.0, self->map_max / 1048576.0);
}

void
stx_ag_fetch (stx_ag_agent_t *self)
{
    Stemx__Fetch fetch = STEMX__FETCH__INIT;
    fetch.from = self->meta.seq + 1;
    fetch.to = 0;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_FETCH;
    request.fetch = &fetch;
    stx_ag_send (self, &request);
    self->fetching = true;
    self->fetch_sent = zclock_mono ();
    if (self->verbose)
        zsys_debug ("fetch from %" PRIu64, fetch.from);
}

//  The DEALER that publishes for link index: the first link's is the
//  replication DEALER. In --insecure mode there are no links and index 0
//  stands for the replication DEALER alone.
static zsock_t *
s_link_dealer (stx_ag_agent_t *self, size_t index)
{
    return index == 0? self->dealer: self->links [index].dealer;
}

//  Whether link index can take events now (the broker answered on it).
static bool
s_link_up (stx_ag_agent_t *self, size_t index)
{
    return index == 0? self->welcomed: self->links [index].up;
}

//  The link whose identity has this signing key. 0 (the replication
//  DEALER) for an unsigned event or a key no longer hosted: the broker
//  then refuses it, which moves it to the rejected list, visibly.
static size_t
s_link_of_signer (stx_ag_agent_t *self, const ProtobufCBinaryData *signer)
{
    if (signer->len == STX_SIGN_PUBLIC_SIZE)
        for (size_t index = 0; index < self->nlinks; index++)
            if (memcmp (stx_identity_sign_public (self->links [index].identity),
                        signer->data, STX_SIGN_PUBLIC_SIZE) == 0)
                return index;
    return 0;
}

//  Make sock a CURVE client of the broker, authenticating as link index's
//  identity. Must come before connect. Nothing when insecure.
static void
s_secure (stx_ag_agent_t *self, zsock_t *sock, size_t index)
{
    if (self->insecure)
        return;
    zcert_apply (stx_identity_cert (self->links [index].identity), sock);
    zsock_set_curve_serverkey (sock, self->broker_key);
}

//  The poller follows the sockets: rebuilt whenever one is replaced.
static void
s_poller_rebuild (stx_ag_agent_t *self)
{
    zpoller_destroy (&self->poller);
    self->poller = zpoller_new (self->pipe, self->local, NULL);
    assert (self->poller);
    //  zpoller answers the first ready socket in this order: replies (acks
    //  a CLI waits for) before updates (a replica apply, with its flush)
    if (self->dealer)
        zpoller_add (self->poller, self->dealer);
    for (size_t index = 1; index < self->nlinks; index++)
        if (self->links [index].dealer)
            zpoller_add (self->poller, self->links [index].dealer);
    if (self->sub)
        zpoller_add (self->poller, self->sub);
    zpoller_set_nonstop (self->poller, true);
}

//  Packs events into PUBLISH requests of bounded size for one DEALER.
typedef struct {
    zsock_t *dealer;            //  NULL: the link is down, nothing is sent
    ProtobufCBinaryData items [STX_AG_PUBLISH_EVENTS];
    size_t count;
    size_t bytes;
    size_t sent;
} s_batch_t;

static void
s_batch_send (s_batch_t *batch)
{
    if (batch->count == 0)
        return;
    if (batch->dealer)
        stx_wire_send_publish (batch->dealer, batch->items, batch->count);
    for (size_t index = 0; index < batch->count; index++)
        free (batch->items [index].data);
    batch->sent += batch->count;
    batch->count = 0;
    batch->bytes = 0;
}

static void
s_batch_add (s_batch_t *batch, const uint8_t *data, size_t size)
{
    if (!batch->dealer)
        return;
    if (batch->count == STX_AG_PUBLISH_EVENTS
    || (batch->count > 0 && batch->bytes + size > STX_AG_PUBLISH_BYTES))
        s_batch_send (batch);
    uint8_t *copy = (uint8_t *) malloc (size? size: 1);
    assert (copy);
    memcpy (copy, data, size);
    batch->items [batch->count].data = copy;
    batch->items [batch->count].len = size;
    batch->count++;
    batch->bytes += size;
}

//  One batch per link (one in --insecure mode), each bound to its DEALER
//  if that link is up. Caller owns the result (s_batches_send_destroy).
static s_batch_t *
s_batches_new (stx_ag_agent_t *self, size_t *count_p)
{
    size_t count = self->nlinks? self->nlinks: 1;
    s_batch_t *batches = (s_batch_t *) calloc (count, sizeof (s_batch_t));
    assert (batches);
    for (size_t index = 0; index < count; index++)
        batches [index].dealer = s_link_up (self, index)? s_link_dealer (self, index): NULL;
    *count_p = count;
    return batches;
}

//  Send what the batches hold, free them; returns how many events were sent.
static size_t
s_batches_send_destroy (s_batch_t **batches_p, size_t count)
{
    size_t sent = 0;
    for (size_t index = 0; index < count; index++) {
        s_batch_send (&(*batches_p) [index]);
        sent += (*batches_p) [index].dealer? (*batches_p) [index].sent: 0;
    }
    free (*batches_p);
    *batches_p = NULL;
    return sent;
}

//  Routes pending outbox events to their signer's batch, within the room
//  the publish window leaves.
typedef struct {
    stx_ag_agent_t *agent;
    s_batch_t *batches;
    size_t count;
    size_t room;                //  events that may still be sent
    uint64_t last;              //  outbox position of the last one taken
} s_pump_t;

static int
s_pump_event (uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    s_pump_t *pump = (s_pump_t *) arg;
    size_t index = 0;
    ProtobufCBinaryData signer = { 0, NULL };
    if (pump->count > 1
    &&  stx_event_peek (data, size, STX_AG_FIELD_SIGNER, (const uint8_t **) &signer.data,
                        &signer.len) == STX_OK)
        index = s_link_of_signer (pump->agent, &signer);
    //  An event of a link that is down is passed over: that link's
    //  coming up starts sending over from the oldest. One that depends on
    //  an event in flight on another link stops the sending until the
    //  broker has answered that one: what follows may depend on it
    if (pump->batches [index].dealer) {
        if (stx_flight_blocks (pump->agent->flight, data, size, index))
            return 1;
        stx_flight_add (pump->agent->flight, data, size, index);
    }
    s_batch_add (&pump->batches [index], data, size);
    pump->last = seq;
    return --pump->room == 0;
}

//  Whether sending waits for our replica. It applies what the broker
//  acks a moment later; ahead of it by more than STX_AG_AHEAD_MAX we would only
//  fill the SUB queues of both sides (the memory of broker and agent, then
//  a refetch). A replica that is not replicating, or has not moved for
//  STX_AG_AHEAD_WAIT (a store failure, an event it cannot apply), holds
//  nothing back: publishing goes on as without it.
static bool
s_held (stx_ag_agent_t *self)
{
    bool was = self->ahead;
    self->ahead = self->state == STX_AG_ACTIVE && self->store_failed == STX_OK
               && self->acked_seq > self->meta.seq + STX_AG_AHEAD_MAX;
    if (!self->ahead)
        return false;
    int64_t now = zclock_mono ();
    if (!was || self->meta.seq != self->ahead_seq) {
        self->ahead_seq = self->meta.seq;
        self->ahead_since = now;
    }
    return now - self->ahead_since < STX_AG_AHEAD_WAIT;
}

//  Send pending outbox events, in their order from send_from on, while
//  the publish window has room, no rate-limit hint holds us back and our
//  replica is not too far behind (s_held).
void
stx_ag_pump (stx_ag_agent_t *self)
{
    if (self->rewind_at || self->inflight >= self->window)
        return;
    if (s_held (self))
        return;
    s_pump_t pump = { self, NULL, 0, self->window - self->inflight, 0 };
    pump.batches = s_batches_new (self, &pump.count);
    stx_status_t status = stx_outbox_pending_from (self->outbox, self->send_from, pump.room,
                                                   s_pump_event, &pump);
    if (status != STX_OK)
        zsys_error ("cannot read the outbox: %s", stx_strerror (status));
    self->inflight += s_batches_send_destroy (&pump.batches, pump.count);
    if (pump.last)
        self->send_from = pump.last + 1;
}

//  Start sending over from the oldest pending event (idempotent at the
//  broker): after a WELCOME, a link coming up, a rate-limit pause or a
//  silence with events in flight.
void
stx_ag_rewind (stx_ag_agent_t *self)
{
    self->last_resend = zclock_mono ();
    self->send_from = 0;
    self->inflight = 0;
    stx_flight_clear (self->flight);
    self->rewind_at = 0;
    stx_ag_pump (self);
}

void
stx_ag_snapshot_abort (stx_ag_agent_t *self)
{
    if (self->snapshot) {
        stx_txn_abort (&self->snapshot);
        zsys_warning ("snapshot abandoned after %" PRIu64 " entries; replica unchanged",
                      self->snapshot_entries);
    }
}

//  A DEALER to the broker, as link index's identity.
static zsock_t *
s_dealer_new (stx_ag_agent_t *self, size_t index)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (dealer);
    zsock_set_sndhwm (dealer, 10000);
    zsock_set_rcvhwm (dealer, 10000);
    zsock_set_sndtimeo (dealer, 0);     //  a full pipe drops; timers resend
    s_secure (self, dealer, index);
    if (zsock_connect (dealer, "%s", self->broker_endpoint) != 0)
        zsys_error ("cannot connect to broker %s: %s", self->broker_endpoint,
                    zmq_strerror (zmq_errno ()));
    return dealer;
}

//  HELLO {node, lineage, last_seq} on dealer. On a publishing link it
//  only names the node (the broker stamps it on events) and asks for an
//  answer; the WELCOME's refresh flag is for the replication DEALER.
void
stx_ag_send_hello (stx_ag_agent_t *self, zsock_t *dealer)
{
    Stemx__Hello hello = STEMX__HELLO__INIT;
    hello.node = self->name;
    if (self->meta.has_lineage) {
        hello.lineage.data = self->meta.lineage;
        hello.lineage.len = STX_LINEAGE_SIZE;
    }
    hello.last_seq = self->meta.seq;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_HELLO;
    request.hello = &hello;
    stx_wire_send_request (dealer, &request);
}

//  Drop the broker sockets, open new ones (SUB first) and say HELLO. A
//  halted replica stays halted: the sockets still carry its publishes.
void
stx_ag_connect (stx_ag_agent_t *self)
{
    stx_ag_snapshot_abort (self);
    zsock_destroy (&self->dealer);
    zsock_destroy (&self->sub);
    if (self->state != STX_AG_HALTED && self->state != STX_AG_PAUSED)
        self->state = STX_AG_CONNECTING;
    self->welcomed = false;
    self->fetching = false;

    self->sub = zsock_new (ZMQ_SUB);
    assert (self->sub);
    zsock_set_rcvhwm (self->sub, 100000);
    s_secure (self, self->sub, 0);
    zsock_set_subscribe (self->sub, STX_TOPIC_EVENT);
    zsock_set_subscribe (self->sub, STX_TOPIC_HEARTBEAT);
    if (zsock_connect (self->sub, "%s", self->updates_endpoint) != 0)
        zsys_error ("cannot connect to updates %s: %s", self->updates_endpoint,
                    zmq_strerror (zmq_errno ()));
    self->dealer = s_dealer_new (self, 0);
    s_poller_rebuild (self);
    stx_ag_send_hello (self, self->dealer);
    stx_ag_verify_ping (self);       //  pings sent on the old DEALER are lost
    self->last_hello = zclock_mono ();
    self->hellos++;
    if (self->hellos == 5 && !self->insecure)
        zsys_warning ("no answer from the broker at %s after 5 tries; with CURVE, check that "
                      "its registry holds %s's key and that agent/broker_key is its key",
                      self->broker_endpoint, self->links [0].org);
    if (self->verbose)
        zsys_debug ("hello to %s at seq %" PRIu64, self->broker_endpoint, self->meta.seq);
}

//  Publishing links after the first: a fresh DEALER as that identity, and
//  a HELLO whose answer tells that the broker let it in.
void
stx_ag_link_connect (stx_ag_agent_t *self, size_t index)
{
    assert (index > 0 && index < self->nlinks);
    stx_ag_link_t *link = &self->links [index];
    zsock_destroy (&link->dealer);
    link->dealer = s_dealer_new (self, index);
    link->up = false;
    link->connected_at = zclock_mono ();
    link->last_ping = link->connected_at;
    stx_ag_send_hello (self, link->dealer);
    s_poller_rebuild (self);
    if (++link->tries == 5)
        zsys_warning ("no answer from the broker to %s after 5 tries; check that its "
                      "registry holds %s's key", link->org, link->org);
}


//  --------------------------------------------------------------------------
//  Verification of what the replica takes in

//  Replication halts: the broker served an event that its origin did not
//  sign. Nothing more is applied until a restart; publishing goes on.
//  Replication pauses: an event is signed by a key the trust store does
//  not hold (yet): a partner registered at the broker before its cert
//  reached this agent, or a rotated key. Nothing is applied; the tick
//  re-reads the trust store every STX_AG_TRUST_RETRY ms and resumes when the
//  key is there. Publishing goes on.
static void
s_pause (stx_ag_agent_t *self, const Stemx__Event *event)
{
    char signer [41];
    zmq_z85_encode (signer, event->signer.data, STX_SIGN_PUBLIC_SIZE);
    char text [STX_ERRLEN * 4];
    snprintf (text, sizeof (text), "waiting for the public key of %.80s (signer %s of event %"
              PRIu64 ", %.120s): copy its .cert into %.200s; replication resumes by itself",
              event->origin && *event->origin? event->origin: "an unknown organisation",
              signer, event->seq, event->key && *event->key? event->key: "no key",
              self->trust_dir);
    zsys_warning ("%s", text);
    free (self->halted);
    self->halted = strdup (text);
    assert (self->halted);
    memcpy (self->awaited, event->signer.data, STX_SIGN_PUBLIC_SIZE);
    self->last_trust_read = zclock_mono ();
    stx_ag_snapshot_abort (self);
    self->state = STX_AG_PAUSED;
    self->fetching = false;
}

//  Paused: read the trust store again; when it holds the awaited key,
//  start over (HELLO, then fetch or snapshot what was not applied).
void
stx_ag_pause_check (stx_ag_agent_t *self, int64_t now)
{
    if (now - self->last_trust_read < STX_AG_TRUST_RETRY)
        return;
    self->last_trust_read = now;
    stx_registry_t *fresh = NULL;
    char reason [STX_ERRLEN] = "";
    if (stx_registry_load (self->trust_dir, self->trust_retired_dir, &fresh,
                           reason, sizeof (reason)) != STX_OK) {
        if (self->verbose)
            zsys_debug ("paused: cannot read the trust store: %s", reason);
        return;
    }
    bool found = stx_registry_by_sign (fresh, self->awaited) != NULL;
    stx_registry_destroy (&self->trust);
    self->trust = fresh;
    if (!found)
        return;
    zsys_notice ("trust store %s now holds the awaited key (%zu keys): replication resumes",
                 self->trust_dir, stx_registry_size (self->trust));
    zstr_free (&self->halted);
    self->state = STX_AG_CONNECTING;
    stx_ag_connect (self);
}

//  Stop applying anything (state HALTED), saying why in the log and in
//  NodeStatus.error.
void
stx_ag_halt_with (stx_ag_agent_t *self, const char *text)
{
    zsys_error ("%s", text);
    free (self->halted);
    self->halted = strdup (text);
    assert (self->halted);
    stx_ag_snapshot_abort (self);
    self->state = STX_AG_HALTED;
    self->fetching = false;
}

void
stx_ag_halt (stx_ag_agent_t *self, const Stemx__Event *event, const char *reason)
{
    char text [STX_ERRLEN * 2];
    snprintf (text, sizeof (text), "event %" PRIu64 " (%.120s) from %.80s: %s; "
              "replication halted — the broker may be compromised", event->seq,
              event->key && *event->key? event->key: "no key",
              event->origin && *event->origin? event->origin: "no origin", reason);
    stx_ag_halt_with (self, text);
}

//  The rules the broker applied before sequencing, checked again before
//  the apply, so a broker that skipped one is caught: the parties
//  (stx_parties), and the version after the entry's current one (the
//  signature covers expected_version, and stx_sign_verify that the
//  version follows it: so the publisher saw the version the replica
//  holds). A breach halts replication (state changes) and gives
//  STX_ERR_INVALID; a storage error is returned as it is.
stx_status_t
stx_ag_rules_ok (stx_ag_agent_t *self, stx_txn_t *txn, const Stemx__Event *event)
{
    char text [STX_ERRLEN];
    Stemx__Event *current = NULL;
    stx_status_t status = stx_txn_get (txn, event->key? event->key: "", &current);
    if (status == STX_OK || status == STX_ERR_NOT_FOUND) {
        uint64_t version = current? current->version: 0;
        status = STX_OK;
        if (event->version != version + 1) {
            snprintf (text, sizeof (text), "version %" PRIu64 ", but the replica holds "
                      "version %" PRIu64 " (an old event replayed, or a rewritten history)",
                      event->version, version);
            status = STX_ERR_INVALID;
        }
    }
    stx_event_free (&current);
    if (status == STX_OK)
        status = stx_parties_check (txn, event, event->broker_time_ms, self->trust, false,
                                    text, sizeof (text));
    if (status == STX_ERR_INVALID || status == STX_ERR_BAD_DATES) {
        stx_ag_halt (self, event, text);
        status = STX_ERR_INVALID;
    }
    return status;
}

//  Verifies a batch of events on the pool: ok[i] says whether events[i]
//  (NULL: skipped, false) verified against the trust store as it is. A
//  false is not a verdict yet: stx_ag_verified decides (it may reload the
//  trust store, pause or halt), in order, just before the apply.
typedef struct {
    const stx_registry_t *trust;
    Stemx__Event **events;
    bool *ok;
} s_verify_batch_t;

static void
s_verify_one (void *arg, size_t index)
{
    s_verify_batch_t *batch = (s_verify_batch_t *) arg;
    char err [STX_ERRLEN];
    batch->ok [index] = batch->events [index]
                     && stx_sign_verify (batch->events [index], batch->trust,
                                         err, sizeof (err)) == STX_OK;
}

void
stx_ag_verify_batch (stx_ag_agent_t *self, Stemx__Event **events, bool *ok, size_t count)
{
    if (self->insecure) {
        for (size_t index = 0; index < count; index++)
            ok [index] = true;
        return;
    }
    s_verify_batch_t batch = { self->trust, events, ok };
    stx_pool_run (self->pool, s_verify_one, &batch, count);
}

//  Check event's signature against the trust store before it is applied.
//  Returns true if it may be applied; else halts replication.
bool
stx_ag_verified (stx_ag_agent_t *self, const Stemx__Event *event)
{
    if (self->insecure)
        return true;
    char err [STX_ERRLEN] = "";
    if (stx_sign_verify (event, self->trust, err, sizeof (err)) == STX_OK)
        return true;
    //  The trust store on disk may have been updated since the start (a
    //  partner newly registered at the broker): read it again, once
    //  before halting
    stx_registry_t *fresh = NULL;
    char reason [STX_ERRLEN] = "";
    if (stx_registry_load (self->trust_dir, self->trust_retired_dir, &fresh,
                           reason, sizeof (reason)) != STX_OK)
        zsys_warning ("cannot reload the trust store: %s", reason);
    else
    if (stx_sign_verify (event, fresh, reason, sizeof (reason)) == STX_OK) {
        zsys_notice ("trust store %s reloaded: %zu keys", self->trust_dir,
                     stx_registry_size (fresh));
        stx_registry_destroy (&self->trust);
        self->trust = fresh;
        return true;
    }
    //  A signer the trust store does not hold may be a partner whose cert
    //  has not reached us yet: pause and wait for it. A signature that
    //  does not verify, or a key of another organisation, halts.
    const stx_registry_t *trust = fresh? fresh: self->trust;
    bool unknown = event->signature.len == STX_SIGNATURE_SIZE
                && event->signer.len == STX_SIGN_PUBLIC_SIZE && event->signer.data
                && !stx_registry_by_sign (trust, event->signer.data);
    const char *why = fresh? reason: err;   //  against the newest trust store
    if (fresh) {
        stx_registry_destroy (&self->trust);
        self->trust = fresh;
    }
    if (unknown)
        s_pause (self, event);
    else
        stx_ag_halt (self, event, why);
    return false;
}


//  Start, follow and finish the background verification of a snapshot:
//  started while the store says unverified and replication runs; done,
//  the mark is cleared; a failed entry goes to stx_ag_verified, which reloads
//  the trust store (then it starts over) or pauses or halts replication.
void
stx_ag_verifier_tick (stx_ag_agent_t *self)
{
    if (self->insecure || !self->meta.unverified)
        return;
    if (!self->verifier) {
        if (self->state != STX_AG_ACTIVE)
            return;
        char err [STX_ERRLEN] = "";
        stx_status_t status = stx_verifier_new (self->store, self->trust_dir,
                                                self->trust_retired_dir, &self->verifier,
                                                err, sizeof (err));
        if (status != STX_OK)
            zsys_error ("cannot verify the snapshot: %s (trying again)", err);
        return;
    }
    uint64_t verified, total;
    bool done;
    stx_verifier_progress (self->verifier, &verified, &total, &done);
    if (!done)
        return;
    size_t size = 0;
    stx_status_t status = STX_OK;
    uint8_t *failed = stx_verifier_failure (self->verifier, &size, &status);
    stx_verifier_destroy (&self->verifier);
    if (failed) {
        Stemx__Event *event = NULL;
        if (stx_event_unpack (failed, size, &event) != STX_OK)
            zsys_error ("snapshot holds an undecodable entry; replication halted");
        if (!event) {
            free (self->halted);
            self->halted = strdup ("snapshot holds an undecodable entry");
            self->state = STX_AG_HALTED;
        }
        else
            stx_ag_verified (self, event);   //  true: the reloaded trust store holds it
        stx_event_free (&event);
        free (failed);
        return;
    }
    if (status != STX_OK) {
        zsys_error ("cannot verify the snapshot: %s (trying again)", stx_strerror (status));
        return;
    }
    stx_txn_t *txn = NULL;
    status = stx_store_begin (self->store, true, &txn);
    if (status == STX_OK)
        status = stx_txn_set_unverified (txn, false);
    if (status == STX_OK)
        status = stx_txn_commit (&txn);
    stx_txn_abort (&txn);
    if (status != STX_OK) {
        stx_ag_store_failure (self, status, "cannot record the verified snapshot");
        return;
    }
    stx_ag_refresh_meta (self);
    zsys_notice ("snapshot verified: %" PRIu64 " signatures", verified);
}
