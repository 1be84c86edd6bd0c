/*  =========================================================================
    stx_agent - the stemx agent as a czmq actor

    DESIGN
    The ZeroMQ Guide's Clone client, fixed. One thread (this actor) owns a
    SUB (broker updates), a DEALER (requests to the broker), a ROUTER (the
    local CLI), the replica store and the outbox. docs/PROTOCOL.md is the
    contract. The replication state machine:

      CONNECTING  SUB connected first, then HELLO {lineage, last_seq} sent
                  on a fresh DEALER. WELCOME with refresh_required ->
                  SNAPSHOT; else -> ACTIVE (and FETCH if behind).
      SNAPSHOT    one write transaction: clear, load each chunk's entries
                  (one CREDIT per chunk consumed), and at SNAPSHOT END set
                  lineage/seq/head and commit. A crash or an abort before
                  the commit leaves the old replica as it was. -> ACTIVE
      ACTIVE      live events from SUB: seq <= local: dropped; local + 1:
                  applied (several ready events share one transaction);
                  beyond: a gap (PUB drops at its high-water mark), so
                  FETCH local+1.. and drop live events until caught up.
                  A heartbeat ahead of us with no fetch running -> FETCH
                  (idle gap detection); another lineage -> CONNECTING.
      any state   silence for silence_ms -> new sockets, CONNECTING, with
                  a growing pause (backoff) between attempts.

    Updates read while not ACTIVE are dropped but their sequence is
    remembered, so a snapshot or fetch that ends behind them fetches the
    rest. Applying an event and recording its sequence happen in the same
    transaction (stx_txn_apply), so a restart resumes exactly where the
    replica stopped.

    Publishing: a CLI publish is written to the outbox (synced) before
    anything else, then forwarded; its events leave the outbox on the
    broker's ACK (R_OK) or move to the rejected list (a refusal). R_STORAGE
    is the broker's temporary failure: the event stays pending and is sent
    again. Every WELCOME, and every 10 s while events are pending, the
    whole outbox is sent again (the broker deduplicates by event id). The
    CLI gets one ACK with every event's result, in its order.

    Threads: the actor thread only.
    ========================================================================= */

#include <limits.h>
#include <unistd.h>
#include "stx_agent.h"
#include "stx_store.h"
#include "stx_outbox.h"
#include "stx_daemon.h"
#include "stx_wire.h"

#define S_SNAPSHOT_CREDIT   4               //  chunks asked for at once
#define S_DRAIN_MAX         1024            //  live events per transaction
#define S_PUBLISH_EVENTS    256             //  events per PUBLISH to the broker
#define S_PUBLISH_BYTES     (512 * 1024)    //  bytes per PUBLISH to the broker
#define S_EVENT_MAX         (512 * 1024)    //  largest event accepted from the CLI
#define S_LOCAL_MAX         (16 * 1024 * 1024)  //  largest CLI request
#define S_FETCH_TIMEOUT     10000           //  a fetch unanswered this long is retried
#define S_SNAPSHOT_TIMEOUT  10000           //  a snapshot silent this long is restarted
#define S_RESEND_IVL        10000           //  pending outbox sent again after
#define S_PING_IVL          1000            //  ping the broker when quiet this long
#define S_REQUEST_TTL       (300 * 1000)    //  forget an unanswered CLI request after
#define S_BACKOFF_MAX       4000            //  longest extra pause between reconnects
#define S_TICK              250             //  timer resolution

typedef enum {
    S_CONNECTING,
    S_SNAPSHOT,
    S_ACTIVE
} s_state_t;

static const char *
s_state_name (s_state_t state)
{
    switch (state) {
        case S_CONNECTING: return "connecting";
        case S_SNAPSHOT:   return "snapshot";
        case S_ACTIVE:     return "active";
    }
    return "?";
}

//  A CLI publish waiting for the broker's results.
typedef struct {
    zframe_t *routing_id;       //  the CLI
    size_t count;
    size_t remaining;           //  results still missing
    uint8_t (*ids) [STX_EVENT_ID_SIZE];
    Stemx__Result *results;
    Stemx__Result **result_ptrs;
    char **texts;               //  owned result texts
    bool *done;
    int64_t created;
} s_request_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *local;             //  ROUTER for the CLI
    zsock_t *dealer;            //  requests to the broker
    zsock_t *sub;               //  updates from the broker
    zpoller_t *poller;          //  rebuilt with the sockets
    stx_store_t *store;
    stx_outbox_t *outbox;
    stx_meta_t meta;            //  committed replica position
    char *name;
    char *broker_endpoint;
    char *updates_endpoint;
    char *data_dir;
    char socket_path [PATH_MAX];
    char local_endpoint [PATH_MAX + 8];
    s_state_t state;
    bool welcomed;              //  WELCOME received on the current sockets
    uint8_t broker_lineage [STX_LINEAGE_SIZE];
    uint64_t broker_seq;        //  broker's last sequence as last heard
    stx_txn_t *snapshot;        //  write transaction of a snapshot in progress
    uint64_t snapshot_entries;
    int64_t snapshot_last;
    bool fetching;
    int64_t fetch_sent;
    int64_t last_heard;         //  any message from the broker
    bool lost;                  //  silent past connected_ms since the last WELCOME
    int64_t last_hello;
    int64_t last_ping;
    int64_t last_resend;
    int backoff;
    int silence_ms;
    int connected_ms;
    uint64_t diverged_at;       //  seq at which divergence was last reported
    zlistx_t *requests;         //  s_request_t
    bool verbose;
    bool terminated;
} s_agent_t;

static void s_connect (s_agent_t *self);


//  --------------------------------------------------------------------------
//  CLI requests waiting for results

static void
s_request_destroy (s_request_t **self_p)
{
    if (*self_p) {
        s_request_t *self = *self_p;
        zframe_destroy (&self->routing_id);
        for (size_t index = 0; index < self->count; index++)
            free (self->texts [index]);
        free (self->texts);
        free (self->ids);
        free (self->results);
        free (self->result_ptrs);
        free (self->done);
        free (self);
        *self_p = NULL;
    }
}

static void
s_request_destructor (void **item)
{
    s_request_destroy ((s_request_t **) item);
}

static s_request_t *
s_request_new (zframe_t *routing_id, size_t count)
{
    s_request_t *self = (s_request_t *) zmalloc (sizeof (s_request_t));
    assert (self);
    self->routing_id = zframe_dup (routing_id);
    self->count = count;
    self->remaining = count;
    self->ids = calloc (count + 1, STX_EVENT_ID_SIZE);
    self->results = (Stemx__Result *) calloc (count + 1, sizeof (Stemx__Result));
    self->result_ptrs = (Stemx__Result **) calloc (count + 1, sizeof (Stemx__Result *));
    self->texts = (char **) calloc (count + 1, sizeof (char *));
    self->done = (bool *) calloc (count + 1, sizeof (bool));
    assert (self->ids && self->results && self->result_ptrs && self->texts && self->done);
    for (size_t index = 0; index < count; index++) {
        Stemx__Result init = STEMX__RESULT__INIT;
        self->results [index] = init;
        self->results [index].event_id.data = self->ids [index];
        self->results [index].event_id.len = STX_EVENT_ID_SIZE;
        self->result_ptrs [index] = &self->results [index];
    }
    self->created = zclock_mono ();
    return self;
}

//  Record the broker's result for one event of any waiting CLI request.
static void
s_requests_settle (s_agent_t *self, const Stemx__Result *result)
{
    s_request_t *request = (s_request_t *) zlistx_first (self->requests);
    while (request) {
        for (size_t index = 0; index < request->count; index++) {
            if (request->done [index]
            ||  memcmp (request->ids [index], result->event_id.data, STX_EVENT_ID_SIZE) != 0)
                continue;
            Stemx__Result *mine = &request->results [index];
            mine->reason = result->reason;
            mine->seq = result->seq;
            mine->version = result->version;
            free (request->texts [index]);
            request->texts [index] = strdup (result->text? result->text: "");
            mine->text = request->texts [index];
            request->done [index] = true;
            request->remaining--;
            return;
        }
        request = (s_request_t *) zlistx_next (self->requests);
    }
}

//  Answer every CLI request that has all its results.
static void
s_requests_reply (s_agent_t *self)
{
    s_request_t *request = (s_request_t *) zlistx_first (self->requests);
    while (request) {
        if (request->remaining == 0) {
            Stemx__Ack ack = STEMX__ACK__INIT;
            ack.n_results = request->count;
            ack.results = request->result_ptrs;
            Stemx__Reply reply = STEMX__REPLY__INIT;
            reply.body_case = STEMX__REPLY__BODY_ACK;
            reply.ack = &ack;
            stx_wire_send_reply (self->local, request->routing_id, &reply);
            zlistx_delete (self->requests, zlistx_cursor (self->requests));
            request = (s_request_t *) zlistx_first (self->requests);
        }
        else
            request = (s_request_t *) zlistx_next (self->requests);
    }
}


//  --------------------------------------------------------------------------
//  Talking to the broker

static void
s_send (s_agent_t *self, Stemx__Request *request)
{
    if (self->dealer)
        stx_wire_send_request (self->dealer, request);
}

static void
s_refresh_meta (s_agent_t *self)
{
    stx_status_t status = stx_store_meta (self->store, &self->meta);
    if (status != STX_OK)
        zsys_error ("cannot read replica meta: %s", stx_strerror (status));
}

static void
s_fetch (s_agent_t *self)
{
    Stemx__Fetch fetch = STEMX__FETCH__INIT;
    fetch.from = self->meta.seq + 1;
    fetch.to = 0;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_FETCH;
    request.fetch = &fetch;
    s_send (self, &request);
    self->fetching = true;
    self->fetch_sent = zclock_mono ();
    if (self->verbose)
        zsys_debug ("fetch from %" PRIu64, fetch.from);
}

//  Packs pending outbox events into PUBLISH requests of bounded size.
typedef struct {
    s_agent_t *agent;
    ProtobufCBinaryData items [S_PUBLISH_EVENTS];
    size_t count;
    size_t bytes;
    size_t sent;
} s_batch_t;

static void
s_batch_send (s_batch_t *batch)
{
    if (batch->count == 0)
        return;
    Stemx__Publish publish = STEMX__PUBLISH__INIT;
    publish.n_events = batch->count;
    publish.events = batch->items;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PUBLISH;
    request.publish = &publish;
    s_send (batch->agent, &request);
    for (size_t index = 0; index < batch->count; index++)
        free (batch->items [index].data);
    batch->sent += batch->count;
    batch->count = 0;
    batch->bytes = 0;
}

static void
s_batch_add (s_batch_t *batch, const uint8_t *data, size_t size)
{
    if (batch->count == S_PUBLISH_EVENTS
    || (batch->count > 0 && batch->bytes + size > S_PUBLISH_BYTES))
        s_batch_send (batch);
    uint8_t *copy = (uint8_t *) malloc (size? size: 1);
    assert (copy);
    memcpy (copy, data, size);
    batch->items [batch->count].data = copy;
    batch->items [batch->count].len = size;
    batch->count++;
    batch->bytes += size;
}

static int
s_pending_event (const uint8_t *data, size_t size, void *arg)
{
    s_batch_add ((s_batch_t *) arg, data, size);
    return 0;
}

//  Send every pending outbox event again (idempotent at the broker).
static void
s_resend_outbox (s_agent_t *self)
{
    self->last_resend = zclock_mono ();
    s_batch_t *batch = (s_batch_t *) zmalloc (sizeof (s_batch_t));
    assert (batch);
    batch->agent = self;
    stx_status_t status = stx_outbox_pending (self->outbox, 0, s_pending_event, batch);
    if (status != STX_OK)
        zsys_error ("cannot read the outbox: %s", stx_strerror (status));
    s_batch_send (batch);
    if (batch->sent)
        zsys_info ("sent %zu pending outbox events to the broker", batch->sent);
    free (batch);
}

static void
s_snapshot_abort (s_agent_t *self)
{
    if (self->snapshot) {
        stx_txn_abort (&self->snapshot);
        zsys_warning ("snapshot abandoned after %" PRIu64 " entries; replica unchanged",
                      self->snapshot_entries);
    }
}

//  Drop the broker sockets, open new ones (SUB first) and say HELLO.
static void
s_connect (s_agent_t *self)
{
    s_snapshot_abort (self);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->dealer);
    zsock_destroy (&self->sub);
    self->state = S_CONNECTING;
    self->welcomed = false;
    self->fetching = false;

    self->sub = zsock_new (ZMQ_SUB);
    assert (self->sub);
    zsock_set_rcvhwm (self->sub, 100000);
    zsock_set_subscribe (self->sub, STX_TOPIC_EVENT);
    zsock_set_subscribe (self->sub, STX_TOPIC_HEARTBEAT);
    if (zsock_connect (self->sub, "%s", self->updates_endpoint) != 0)
        zsys_error ("cannot connect to updates %s: %s", self->updates_endpoint,
                    zmq_strerror (zmq_errno ()));
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->dealer);
    zsock_set_sndhwm (self->dealer, 10000);
    zsock_set_rcvhwm (self->dealer, 10000);
    if (zsock_connect (self->dealer, "%s", self->broker_endpoint) != 0)
        zsys_error ("cannot connect to broker %s: %s", self->broker_endpoint,
                    zmq_strerror (zmq_errno ()));
    self->poller = zpoller_new (self->pipe, self->local, self->dealer, self->sub, NULL);
    assert (self->poller);
    zpoller_set_nonstop (self->poller, true);

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
    s_send (self, &request);
    self->last_hello = zclock_mono ();
    if (self->verbose)
        zsys_debug ("hello to %s at seq %" PRIu64, self->broker_endpoint, self->meta.seq);
}


//  --------------------------------------------------------------------------
//  Replies from the broker

static void
s_on_welcome (s_agent_t *self, Stemx__Welcome *welcome)
{
    if (self->state != S_CONNECTING)
        return;                 //  an answer to an earlier HELLO
    if (welcome->lineage.len != STX_LINEAGE_SIZE) {
        zsys_warning ("welcome without a lineage, ignored");
        return;
    }
    self->welcomed = true;
    self->lost = false;
    self->backoff = 0;
    memcpy (self->broker_lineage, welcome->lineage.data, STX_LINEAGE_SIZE);
    self->broker_seq = welcome->seq;
    if (welcome->refresh_required) {
        zsys_notice ("broker at seq %" PRIu64 " asks for a refresh; taking a snapshot",
                     welcome->seq);
        stx_status_t status = stx_store_begin (self->store, true, &self->snapshot);
        if (status == STX_OK)
            status = stx_txn_clear (self->snapshot);
        if (status != STX_OK) {
            stx_txn_abort (&self->snapshot);
            zsys_error ("cannot start a snapshot: %s", stx_strerror (status));
            return;             //  silence timer reconnects
        }
        self->state = S_SNAPSHOT;
        self->snapshot_entries = 0;
        self->snapshot_last = zclock_mono ();
        Stemx__SnapshotRequest snapshot = STEMX__SNAPSHOT_REQUEST__INIT;
        snapshot.credit = S_SNAPSHOT_CREDIT;
        Stemx__Request request = STEMX__REQUEST__INIT;
        request.body_case = STEMX__REQUEST__BODY_SNAPSHOT;
        request.snapshot = &snapshot;
        s_send (self, &request);
    }
    else {
        self->state = S_ACTIVE;
        if (self->meta.seq == welcome->seq && welcome->head.len == STX_HEAD_SIZE
        &&  memcmp (self->meta.head, welcome->head.data, STX_HEAD_SIZE) != 0) {
            zsys_error ("DIVERGENCE: replica and broker both at seq %" PRIu64
                        " with different heads", self->meta.seq);
            self->diverged_at = self->meta.seq;
        }
        zsys_notice ("connected to %s: replica at seq %" PRIu64 ", broker at %" PRIu64,
                     self->broker_endpoint, self->meta.seq, welcome->seq);
        if (self->meta.seq < welcome->seq)
            s_fetch (self);
    }
    s_resend_outbox (self);
}

static void
s_on_chunk (s_agent_t *self, Stemx__SnapshotChunk *chunk)
{
    if (self->state != S_SNAPSHOT || !self->snapshot)
        return;
    self->snapshot_last = zclock_mono ();
    for (size_t index = 0; index < chunk->n_events; index++) {
        stx_status_t status = stx_txn_load (self->snapshot, chunk->events [index].data,
                                            chunk->events [index].len);
        if (status != STX_OK) {
            zsys_error ("snapshot: cannot load entry: %s", stx_strerror (status));
            s_snapshot_abort (self);
            self->last_hello = zclock_mono ();   //  reconnect after the usual pause
            self->state = S_CONNECTING;
            return;
        }
    }
    self->snapshot_entries += chunk->n_events;
    Stemx__Credit credit = STEMX__CREDIT__INIT;
    credit.credit = 1;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_CREDIT;
    request.credit = &credit;
    s_send (self, &request);
}

static void
s_on_snapshot_end (s_agent_t *self, Stemx__SnapshotEnd *end)
{
    if (self->state != S_SNAPSHOT || !self->snapshot)
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
    if (status == STX_OK)
        status = stx_txn_commit (&self->snapshot);
    if (status != STX_OK) {
        s_snapshot_abort (self);
        zsys_error ("snapshot failed: %s", stx_strerror (status));
        self->state = S_CONNECTING;
        self->last_hello = zclock_mono ();
        return;
    }
    s_refresh_meta (self);
    self->state = S_ACTIVE;
    zsys_notice ("snapshot taken: %" PRIu64 " entries at seq %" PRIu64,
                 end->entries, end->seq);
    if (self->broker_seq > self->meta.seq)
        s_fetch (self);
}

static void
s_on_log (s_agent_t *self, Stemx__LogRange *log)
{
    self->fetching = false;
    if (self->state != S_ACTIVE)
        return;
    if (log->last > self->broker_seq)
        self->broker_seq = log->last;
    uint64_t before = self->meta.seq;
    if (log->n_events > 0) {
        stx_txn_t *txn = NULL;
        stx_status_t status = stx_store_begin (self->store, true, &txn);
        size_t applied = 0;
        for (size_t index = 0; status == STX_OK && index < log->n_events; index++) {
            stx_status_t rc = stx_txn_apply (txn, log->events [index].data,
                                             log->events [index].len);
            if (rc == STX_OK)
                applied++;
            else
            if (rc == STX_ERR_STALE)
                continue;
            else {
                if (rc != STX_ERR_GAP)
                    zsys_error ("cannot apply fetched event: %s", stx_strerror (rc));
                if (rc == STX_ERR_MAP_FULL || rc == STX_ERR_STORAGE)
                    status = rc;
                break;
            }
        }
        if (status == STX_OK && applied)
            status = stx_txn_commit (&txn);
        stx_txn_abort (&txn);
        if (status != STX_OK)
            zsys_error ("cannot store fetched events: %s", stx_strerror (status));
        s_refresh_meta (self);
    }
    if (self->verbose)
        zsys_debug ("fetched to seq %" PRIu64 ", broker at %" PRIu64,
                    self->meta.seq, self->broker_seq);
    //  Ask for more only when this range moved us on; else the timers retry
    if (self->meta.seq > before && self->meta.seq < self->broker_seq)
        s_fetch (self);
}

static void
s_on_ack (s_agent_t *self, Stemx__Ack *ack)
{
    uint8_t (*ids) [STX_EVENT_ID_SIZE] = calloc (ack->n_results + 1, STX_EVENT_ID_SIZE);
    assert (ids);
    size_t acked = 0;
    for (size_t index = 0; index < ack->n_results; index++) {
        Stemx__Result *result = ack->results [index];
        if (result->event_id.len != STX_EVENT_ID_SIZE)
            continue;
        if (result->reason == STEMX__REASON__R_OK)
            memcpy (ids [acked++], result->event_id.data, STX_EVENT_ID_SIZE);
        else
        if (result->reason == STEMX__REASON__R_STORAGE)
            zsys_warning ("broker could not store an event (kept, will resend): %s",
                          result->text);
        else {
            stx_status_t status = stx_outbox_reject (self->outbox, result->event_id.data,
                                                     result->reason, result->text);
            if (status != STX_OK)
                zsys_error ("outbox: cannot record a refusal: %s", stx_strerror (status));
        }
        s_requests_settle (self, result);
    }
    if (acked) {
        stx_status_t status = stx_outbox_ack (self->outbox,
                                              (const uint8_t (*) [STX_EVENT_ID_SIZE]) ids, acked);
        if (status != STX_OK)
            zsys_error ("outbox: cannot remove acked events: %s", stx_strerror (status));
    }
    free (ids);
    s_requests_reply (self);
}

static void
s_on_error (s_agent_t *self, Stemx__Error *error)
{
    zsys_warning ("broker error: %s", error->text);
    if (self->state == S_SNAPSHOT) {
        //  e.g. busy: start over after the usual pause
        s_snapshot_abort (self);
        self->state = S_CONNECTING;
        self->last_hello = zclock_mono ();
    }
    else
    if (error->reason == STEMX__REASON__R_REFRESH_REQUIRED) {
        self->meta.has_lineage = false;     //  HELLO as an empty replica
        s_connect (self);
        s_refresh_meta (self);
    }
    else
        self->fetching = false;
}

static void
s_handle_dealer (s_agent_t *self)
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
            break;
        default:
            zsys_warning ("unexpected %s from the broker", stx_wire_reply_name (reply));
            break;
    }
    stx_wire_reply_free (&reply);
}


//  --------------------------------------------------------------------------
//  Live updates

static void
s_on_heartbeat (s_agent_t *self, Stemx__Heartbeat *heartbeat)
{
    if (heartbeat->lineage.len != STX_LINEAGE_SIZE || heartbeat->head.len != STX_HEAD_SIZE)
        return;
    self->broker_seq = heartbeat->seq;
    if (self->state != S_ACTIVE)
        return;
    if (memcmp (heartbeat->lineage.data, self->broker_lineage, STX_LINEAGE_SIZE) != 0) {
        zsys_warning ("broker lineage changed; reconnecting for a refresh");
        s_connect (self);
        return;
    }
    if (heartbeat->seq > self->meta.seq) {
        if (!self->fetching)
            s_fetch (self);
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
static void
s_handle_sub (s_agent_t *self)
{
    stx_txn_t *txn = NULL;
    stx_status_t status = STX_OK;
    uint64_t next = self->meta.seq + 1;
    bool gap = false;
    Stemx__Heartbeat *heartbeat = NULL;
    for (int count = 0; count < S_DRAIN_MAX; count++) {
        if (count > 0 && !(zsock_events (self->sub) & ZMQ_POLLIN))
            break;
        zmsg_t *msg = zmsg_recv (self->sub);
        if (!msg)
            break;
        self->last_heard = zclock_mono ();
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (!body || zmsg_size (msg) != 2)
            ;                   //  not ours
        else
        if (zframe_streq (topic, STX_TOPIC_EVENT)) {
            Stemx__Event *event = NULL;
            if (stx_event_unpack (zframe_data (body), zframe_size (body), &event) == STX_OK) {
                uint64_t seq = event->seq;
                stx_event_free (&event);
                if (seq > self->broker_seq)
                    self->broker_seq = seq;
                if (self->state != S_ACTIVE || seq < next)
                    ;           //  covered by the snapshot, a fetch, or applied
                else
                if (seq == next && !self->fetching && status == STX_OK) {
                    if (!txn)
                        status = stx_store_begin (self->store, true, &txn);
                    if (status == STX_OK)
                        status = stx_txn_apply (txn, zframe_data (body), zframe_size (body));
                    if (status == STX_OK)
                        next++;
                }
                else
                    gap = true;
            }
        }
        else
        if (zframe_streq (topic, STX_TOPIC_HEARTBEAT)) {
            stx_wire_heartbeat_free (&heartbeat);
            stx_wire_decode_heartbeat (body, &heartbeat);
        }
        zmsg_destroy (&msg);
    }
    if (status == STX_OK && txn)
        status = stx_txn_commit (&txn);
    stx_txn_abort (&txn);
    if (status != STX_OK) {
        zsys_error ("cannot apply live events: %s; fetching them", stx_strerror (status));
        gap = true;
    }
    if (next != self->meta.seq + 1)
        s_refresh_meta (self);
    if (gap && self->state == S_ACTIVE && !self->fetching) {
        if (self->verbose)
            zsys_debug ("gap after seq %" PRIu64 ", broker at %" PRIu64,
                        self->meta.seq, self->broker_seq);
        s_fetch (self);
    }
    if (heartbeat)
        s_on_heartbeat (self, heartbeat);
    stx_wire_heartbeat_free (&heartbeat);
}


//  --------------------------------------------------------------------------
//  The CLI's local endpoint

static void
s_local_error (s_agent_t *self, zframe_t *routing_id, Stemx__Reason reason, const char *text)
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
s_local_status (s_agent_t *self, zframe_t *routing_id)
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
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_STATUS;
    reply.status = &status;
    stx_wire_send_reply (self->local, routing_id, &reply);
}

static void
s_local_publish (s_agent_t *self, zframe_t *routing_id, Stemx__Publish *publish)
{
    size_t count = publish->n_events;
    s_request_t *request = s_request_new (routing_id, count);
    char text [STX_ERRLEN];
    for (size_t index = 0; index < count; index++) {
        Stemx__Event *event = NULL;
        stx_status_t status = stx_event_unpack (publish->events [index].data,
                                                publish->events [index].len, &event);
        if (status == STX_OK && event->event_id.len == STX_EVENT_ID_SIZE)
            memcpy (request->ids [index], event->event_id.data, STX_EVENT_ID_SIZE);
        bool bad_id = status == STX_OK && event->event_id.len != STX_EVENT_ID_SIZE;
        stx_event_free (&event);
        if (status != STX_OK || bad_id || publish->events [index].len > S_EVENT_MAX) {
            snprintf (text, sizeof (text), "events[%zu]: %s", index,
                      status != STX_OK? "undecodable Event":
                      bad_id? "event_id: must be 16 bytes": "event too large");
            s_local_error (self, routing_id, publish->events [index].len > S_EVENT_MAX?
                           STEMX__REASON__R_TOO_LARGE: STEMX__REASON__R_MALFORMED, text);
            s_request_destroy (&request);
            return;
        }
    }
    //  Durable first: from here on the events survive anything
    const uint8_t **datas = (const uint8_t **) calloc (count + 1, sizeof (uint8_t *));
    size_t *sizes = (size_t *) calloc (count + 1, sizeof (size_t));
    assert (datas && sizes);
    for (size_t index = 0; index < count; index++) {
        datas [index] = publish->events [index].data;
        sizes [index] = publish->events [index].len;
    }
    stx_status_t status = count? stx_outbox_add (self->outbox, datas, sizes, count): STX_OK;
    if (status != STX_OK) {
        snprintf (text, sizeof (text), "outbox: %s", stx_strerror (status));
        s_local_error (self, routing_id, STEMX__REASON__R_STORAGE, text);
        s_request_destroy (&request);
    }
    else {
        zlistx_add_end (self->requests, request);
        if (self->welcomed) {
            s_batch_t *batch = (s_batch_t *) zmalloc (sizeof (s_batch_t));
            assert (batch);
            batch->agent = self;
            for (size_t index = 0; index < count; index++)
                s_batch_add (batch, datas [index], sizes [index]);
            s_batch_send (batch);
            free (batch);
        }
        //  else the WELCOME that comes next sends the whole outbox
        s_requests_reply (self);    //  an empty publish is answered at once
    }
    free (datas);
    free (sizes);
}

static void
s_handle_local (s_agent_t *self)
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
    stx_status_t status = stx_wire_decode_request (zmsg_first (msg), S_LOCAL_MAX, &request);
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


//  --------------------------------------------------------------------------
//  Timers

static void
s_tick (s_agent_t *self)
{
    int64_t now = zclock_mono ();
    int64_t quiet = now - (self->last_heard > self->last_hello? self->last_heard: self->last_hello);
    if (self->state == S_CONNECTING) {
        //  No WELCOME yet: try again, pausing longer each time
        if (now - self->last_hello > self->silence_ms / 2 + self->backoff) {
            self->backoff = self->backoff? self->backoff * 2: 500;
            if (self->backoff > S_BACKOFF_MAX)
                self->backoff = S_BACKOFF_MAX;
            s_connect (self);
        }
        return;
    }
    //  Back after a silence: the broker may have restarted and forgotten
    //  us, or a request may be lost; say HELLO again on fresh sockets
    if (now - self->last_heard > self->connected_ms)
        self->lost = true;
    else
    if (self->lost) {
        zsys_notice ("broker heard again after a silence; saying hello again");
        s_connect (self);
        return;
    }
    if (quiet > self->silence_ms) {
        zsys_warning ("broker silent for %" PRId64 " ms; reconnecting", quiet);
        s_connect (self);
        return;
    }
    if (self->state == S_SNAPSHOT && now - self->snapshot_last > S_SNAPSHOT_TIMEOUT) {
        zsys_warning ("snapshot stalled; starting over");
        s_connect (self);
        return;
    }
    if (self->fetching && now - self->fetch_sent > S_FETCH_TIMEOUT)
        self->fetching = false;
    if (self->state == S_ACTIVE && !self->fetching && self->broker_seq > self->meta.seq)
        s_fetch (self);
    if (now - self->last_heard > S_PING_IVL && now - self->last_ping > S_PING_IVL) {
        Stemx__Ping ping = STEMX__PING__INIT;
        ping.seq = self->meta.seq;
        Stemx__Request request = STEMX__REQUEST__INIT;
        request.body_case = STEMX__REQUEST__BODY_PING;
        request.ping = &ping;
        s_send (self, &request);
        self->last_ping = now;
    }
    if (now - self->last_resend > S_RESEND_IVL) {
        uint64_t pending = 0, rejected = 0;
        if (stx_outbox_depth (self->outbox, &pending, &rejected) == STX_OK && pending)
            s_resend_outbox (self);
        else
            self->last_resend = now;
    }
    s_request_t *request = (s_request_t *) zlistx_first (self->requests);
    while (request) {
        if (now - request->created > S_REQUEST_TTL) {
            zlistx_delete (self->requests, zlistx_cursor (self->requests));
            request = (s_request_t *) zlistx_first (self->requests);
        }
        else
            request = (s_request_t *) zlistx_next (self->requests);
    }
}


//  --------------------------------------------------------------------------
//  Pipe commands

static void
s_handle_pipe (s_agent_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    char *command = msg? zmsg_popstr (msg): NULL;
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "ENDPOINT"))
        zstr_send (self->pipe, self->local_endpoint);
    else
    if (streq (command, "STATUS")) {
        char seq [32], broker_seq [32], head [STX_HEAD_SIZE * 2 + 1];
        snprintf (seq, sizeof (seq), "%" PRIu64, self->meta.seq);
        snprintf (broker_seq, sizeof (broker_seq), "%" PRIu64, self->broker_seq);
        stx_hex (self->meta.head, STX_HEAD_SIZE, head);
        bool connected = self->welcomed
                      && zclock_mono () - self->last_heard < self->connected_ms;
        zstr_sendx (self->pipe, s_state_name (self->state), seq, head,
                    connected? "1": "0", broker_seq, NULL);
    }
    else
    if (streq (command, "VERBOSE"))
        self->verbose = true;
    else
        zsys_error ("agent: invalid pipe command '%s'", command);
    free (command);
    zmsg_destroy (&msg);
}


//  --------------------------------------------------------------------------
//  Construction and the actor

static void
s_agent_destroy (s_agent_t **self_p)
{
    if (*self_p) {
        s_agent_t *self = *self_p;
        stx_txn_abort (&self->snapshot);
        zlistx_destroy (&self->requests);
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->dealer);
        zsock_destroy (&self->sub);
        if (self->local) {
            zsock_destroy (&self->local);
            unlink (self->socket_path);
        }
        stx_outbox_destroy (&self->outbox);
        stx_store_destroy (&self->store);
        free (self->name);
        free (self->broker_endpoint);
        free (self->updates_endpoint);
        free (self->data_dir);
        free (self);
        *self_p = NULL;
    }
}

static s_agent_t *
s_agent_new (zsock_t *pipe, const stx_agent_config_t *config, stx_status_t *status_p,
             char *err, size_t errlen)
{
    s_agent_t *self = (s_agent_t *) zmalloc (sizeof (s_agent_t));
    assert (self);
    self->pipe = pipe;
    self->requests = zlistx_new ();
    zlistx_set_destructor (self->requests, s_request_destructor);
    self->verbose = config->verbose;
    self->silence_ms = config->silence_ms > 0? config->silence_ms: 5000;
    self->connected_ms = config->connected_ms > 0? config->connected_ms: 3000;
    char host [256] = "agent";
    gethostname (host, sizeof (host) - 1);
    self->name = strdup (config->name && *config->name? config->name: host);
    self->broker_endpoint = strdup (config->broker? config->broker: "tcp://127.0.0.1:5670");
    self->updates_endpoint = strdup (config->updates? config->updates: "tcp://127.0.0.1:5671");
    if (!config->data_dir || !*config->data_dir) {
        *status_p = stx_fail (err, errlen, STX_ERR_INVALID, "no data folder given (--data)");
        return self;
    }
    self->data_dir = stx_daemon_abspath (config->data_dir);
    char reason [STX_ERRLEN] = "";
    stx_status_t status = stx_daemon_mkdir (self->data_dir, reason, sizeof (reason));
    if (status == STX_OK)
        status = stx_store_open (self->data_dir, config->sync? 0: STX_STORE_NOSYNC,
                                 config->map_size, &self->store, reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "cannot open store: %s", reason);
        return self;
    }
    status = stx_outbox_open (self->data_dir, false, &self->outbox, reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "cannot open outbox: %s", reason);
        return self;
    }
    s_refresh_meta (self);

    //  The CLI's endpoint; a socket file left by a crash is removed first
    int length = snprintf (self->socket_path, sizeof (self->socket_path), "%s/agent.sock",
                           self->data_dir);
    if (length >= 100) {
        *status_p = stx_fail (err, errlen, STX_ERR_IO,
                              "%s: path too long for an ipc socket (max 99 bytes)",
                              self->socket_path);
        return self;
    }
    snprintf (self->local_endpoint, sizeof (self->local_endpoint), "ipc://%s",
              self->socket_path);
    unlink (self->socket_path);
    self->local = zsock_new (ZMQ_ROUTER);
    assert (self->local);
    if (zsock_bind (self->local, "%s", self->local_endpoint) == -1) {
        *status_p = stx_fail (err, errlen, STX_ERR_IO, "cannot bind %s: %s",
                              self->local_endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->local);
        return self;
    }
    s_connect (self);
    *status_p = STX_OK;
    return self;
}

void
stx_agent_config_default (stx_agent_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof (*config));
    config->broker = "tcp://127.0.0.1:5670";
    config->updates = "tcp://127.0.0.1:5671";
    config->silence_ms = 5000;
    config->connected_ms = 3000;
}

void
stx_agent_actor (zsock_t *pipe, void *args)
{
    stx_agent_start_t *start = (stx_agent_start_t *) args;
    assert (start && start->config);
    stx_status_t status = STX_OK;
    s_agent_t *self = s_agent_new (pipe, start->config, &status,
                                   start->err, sizeof (start->err));
    start->status = status;
    zsock_signal (pipe, 0);     //  start is not ours after this
    if (status != STX_OK) {
        while (true) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            free (command);
            if (term)
                break;
        }
        s_agent_destroy (&self);
        return;
    }
    zsys_notice ("agent %s: replica at seq %" PRIu64 ", CLI on %s, broker %s",
                 self->name, self->meta.seq, self->local_endpoint, self->broker_endpoint);
    int64_t next_tick = zclock_mono () + S_TICK;
    while (!self->terminated) {
        int64_t timeout = next_tick - zclock_mono ();
        void *which = zpoller_wait (self->poller, timeout > 0? (int) timeout: 0);
        if (which == self->pipe)
            s_handle_pipe (self);
        else
        if (which == self->local)
            s_handle_local (self);
        else
        if (which && which == self->dealer) {
            //  Several replies may be ready; take them all
            for (int count = 0; count < S_DRAIN_MAX && self->dealer
                 && (count == 0 || (zsock_events (self->dealer) & ZMQ_POLLIN)); count++) {
                zsock_t *dealer = self->dealer;
                s_handle_dealer (self);
                if (self->dealer != dealer)
                    break;      //  reconnected meanwhile
            }
        }
        else
        if (which && which == self->sub)
            s_handle_sub (self);
        else
        if (zpoller_terminated (self->poller))
            break;
        if (zclock_mono () >= next_tick) {
            s_tick (self);
            next_tick = zclock_mono () + S_TICK;
        }
    }
    zsys_notice ("agent %s stopped at seq %" PRIu64, self->name, self->meta.seq);
    s_agent_destroy (&self);
}

zactor_t *
stx_agent_new (const stx_agent_config_t *config, char *err, size_t errlen)
{
    stx_agent_start_t start;
    memset (&start, 0, sizeof (start));
    start.config = config;
    zactor_t *actor = zactor_new (stx_agent_actor, &start);
    assert (actor);
    if (start.status != STX_OK) {
        if (err && errlen)
            snprintf (err, errlen, "%s", start.err);
        zactor_destroy (&actor);
        return NULL;
    }
    return actor;
}
