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

    Publishing: a CLI publish is written to the outbox (synced), once
    signed (below), before anything is sent; its events leave the outbox on the
    broker's ACK (R_OK) or move to the rejected list (a refusal). R_STORAGE
    is the broker's temporary failure: the event stays pending and is sent
    again. Sending is flow controlled: the WELCOME names the broker's
    publish window, the events a connection may have sent and not had
    answered; the agent sends from the outbox in its order (send_from)
    while fewer than that are in flight, and each ACK makes room again.
    R_RATE_LIMITED keeps the event pending and carries the broker's hint
    (retry_after_ms): nothing more is sent until then, when sending starts
    over from the oldest pending event. Every WELCOME, a link coming up,
    and 10 s without an ACK while events are in flight start over the same
    way (the broker deduplicates by event id). The CLI gets one ACK with
    every event's result, in its order.

    Security (DESIGN invariant 6; off with --insecure). The agent hosts
    one or more identities (stx_keys: one secret per organisation it
    publishes for). Every broker socket is a CURVE client of the broker's
    key. Replication (HELLO, SNAPSHOT, FETCH, PING and the SUB) runs as the
    first identity (sorted by org); each further identity has a publishing
    DEALER of its own (a "link": PING to learn it is up, its pending
    events sent when it comes up, reconnect with backoff after a silence),
    so the broker authenticates every event's publisher as its
    organisation. The first identity publishes over the replication
    DEALER. The broker keeps each DEALER's order, not an order across
    them, so an event that depends on one in flight on another link (the
    same key, or a party whose organisation entry is in flight) waits for
    the broker's answer to it (stx_flight): one publish that records an
    organisation and then an initiative partnering it, signed by two
    identities, is sequenced in that order.

    A CLI publish arrives unsigned. In one read transaction of the
    replica, each event gets its partners' helix pillars filled in
    (stx_txn_fill_pillars), a signing identity chosen (the entry's owner;
    for an Organisation entry else an admin; for a withdrawal the current
    owner, else an admin; roles come from the trust store), and is signed
    (stx_sign_event) and packed; only the signed bytes go into the outbox,
    so every resend is byte-identical. An event no hosted identity may
    sign is refused locally (R_UNAUTHORISED) and never queued.

    Every event the replica takes in, live, fetched or in a snapshot, is
    verified against the trust store (stx_sign_verify) once, before it
    is applied (a failure first re-reads the trust store from disk, in
    case a partner was registered since the start). A signer the trust
    store does not hold (yet) pauses replication (state PAUSED: nothing
    applied, the trust folder re-read every S_TRUST_RETRY ms, and when the
    key is there the agent reconnects and goes on by itself). Any other
    failure, and an event id the replica already holds (a replay,
    STX_ERR_REPLAY), means the broker served an event its origin did not
    sign as such: the agent applies nothing more (state HALTED: no fetch,
    no snapshot, live events ignored; publishing goes on), logs it once and
    reports it in NodeStatus.error. A restart tries again.

    Storage (docs/RELIABILITY.md). A failed replica transaction keeps
    nothing; on MDB_MAP_FULL the agent doubles its map (up to map_max, with
    no transaction alive) and fetches the range again or starts the
    snapshot over, so no event is ever skipped; other failures are logged
    once and retried. Each second one bounded retention step trims the
    agent's own log (never during a snapshot, which holds the writer).

    Verify. A CLI VerifyRequest notes the replica's (seq, head), pings the
    broker with that seq and answers Verify from the PONG that names it
    (agree / lag / diverged), or "unknown" at its deadline.

    Threads: the actor thread only.
    ========================================================================= */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include "stx_agent.h"
#include "stx_store.h"
#include "stx_outbox.h"
#include "stx_pool.h"
#include "stx_verifier.h"
#include "stx_parties.h"
#include "stx_flight.h"
#include "stx_versions.h"
#include "stx_validate.h"
#include "stx_daemon.h"
#include "stx_wire.h"
#include "stx_keys.h"
#include "stx_sign.h"
#include "stx_policy.h"

#define S_SNAPSHOT_COMMIT   16384           //  snapshot entries per transaction
#define S_SNAPSHOT_CREDIT   8               //  chunks asked for at once
#define S_OWN_PILLARS_MAX   4096            //  organisations remembered as signed
#define S_VERSIONS_MAX      (256 * 1024)    //  keys remembered with a version in flight
#define S_DRAIN_MAX         1024            //  replies taken in one turn at most
#define S_APPLY_MAX         1024            //  live events per transaction at most
#define S_APPLY_TURN        64              //  ... but no more while a CLI request or
                                            //  an ack waits
#define S_PUBLISH_EVENTS    256             //  events per PUBLISH to the broker
#define S_PUBLISH_BYTES     (512 * 1024)    //  bytes per PUBLISH to the broker
#define S_EVENT_MAX         (512 * 1024)    //  largest event accepted from the CLI
#define S_LOCAL_MAX         (16 * 1024 * 1024)  //  largest CLI request
#define S_FETCH_TIMEOUT     10000           //  a fetch unanswered this long is retried
#define S_SNAPSHOT_TIMEOUT  10000           //  a snapshot silent this long is restarted
#define S_RESEND_IVL        10000           //  pending outbox sent again after
#define S_PING_IVL          1000            //  ping the broker when quiet this long
#define S_SESSION_PING      (600 * 1000)    //  ...and this often anyway: the broker
                                            //  forgets a session silent for an hour
#define S_REQUEST_TTL       (300 * 1000)    //  forget an unanswered CLI request after
#define S_BACKOFF_MAX       4000            //  longest extra pause between reconnects
#define S_TICK              250             //  timer resolution
#define S_IDENTITIES_MAX    64              //  identities one agent may host
#define S_VERIFY_TIMEOUT    3000            //  default wait for the broker's PONG
#define S_VERIFY_MAX        60000           //  longest wait a CLI may ask for
#define S_TRIM_IVL          1000            //  one retention step this often
#define S_TRIM_STEP         1000            //  events trimmed per step at most
#define S_TRUST_RETRY       3000            //  re-read the trust store this often while paused
#define S_RATE_WAIT_MIN     250             //  pause after R_RATE_LIMITED without a hint
#define S_RATE_WAIT_MAX     60000           //  longest pause a broker's hint may ask for
#define S_LOCAL_DRAIN       64              //  CLI requests taken in one turn at most
#define S_LOCAL_REPLIES     100000          //  unread replies a CLI client may have (ROUTER sndhwm)
#define S_FIELD_SIGNER      13              //  Event.signer, found without unpacking
#define S_FIELD_EVENT_ID    1               //  Event.event_id
#define S_STORAGE_WAIT      1000            //  pause after R_STORAGE before sending again
#define S_WINDOW_DEFAULT    1024            //  publish window of a broker that names none
#define S_AHEAD_MAX         8192            //  acked events our replica may lag behind
#define S_AHEAD_WAIT        5000            //  ... waited for while it does not move, ms

typedef enum {
    S_CONNECTING,
    S_SNAPSHOT,
    S_ACTIVE,
    S_HALTED,                   //  an event failed verification; nothing more applied
    S_PAUSED                    //  an event's signer is not in the trust store (yet):
                                //  nothing applied until it appears there
} s_state_t;

static const char *
s_state_name (s_state_t state)
{
    switch (state) {
        case S_CONNECTING: return "connecting";
        case S_SNAPSHOT:   return "snapshot";
        case S_ACTIVE:     return "active";
        case S_HALTED:     return "halted";
        case S_PAUSED:     return "paused";
    }
    return "?";
}

//  A CLI publish waiting for the broker's results.
typedef struct _s_request_t s_request_t;

//  One event of a CLI request waiting for its result, found by event id
//  in s_agent_t.waiting; requests sharing an id are chained.
typedef struct _s_waiter_t {
    s_request_t *request;
    size_t index;
    struct _s_waiter_t *next;
} s_waiter_t;

struct _s_request_t {
    zframe_t *routing_id;       //  the CLI
    size_t count;
    size_t queued;              //  events put in the outbox (not refused here)
    size_t remaining;           //  results still missing
    uint8_t (*ids) [STX_EVENT_ID_SIZE];
    Stemx__Result *results;
    Stemx__Result **result_ptrs;
    char **texts;               //  owned result texts
    bool *done;
    s_waiter_t *waiters;        //  one per event, linked into s_agent_t.waiting
    int64_t created;
};

//  A CLI's `stemx verify` waiting for the broker's PONG: the replica's
//  position when it asked, and until when to wait.
typedef struct {
    zframe_t *routing_id;       //  the CLI
    uint64_t local_seq;
    uint8_t local_head [STX_HEAD_SIZE];
    int64_t deadline;
} s_verify_t;

//  A hosted identity and its publishing link to the broker. The first
//  identity's link is the replication DEALER (dealer stays NULL here).
typedef struct {
    stx_identity_t *identity;
    const char *org;            //  owned by identity
    unsigned roles;             //  STX_ROLE_* from the trust store (0 if not there)
    zsock_t *dealer;            //  publishing DEALER (links after the first)
    bool up;                    //  a reply heard since it connected
    int64_t connected_at;
    int64_t last_heard;
    int64_t last_ping;
    int backoff;
    int tries;                  //  connects since it was last up
} s_link_t;

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
    int lock_fd;                //  holds DATA/lock while the agent runs
    char socket_path [PATH_MAX];
    char local_endpoint [PATH_MAX + 8];
    s_state_t state;
    bool welcomed;              //  WELCOME received on the current sockets
    uint8_t broker_lineage [STX_LINEAGE_SIZE];
    uint64_t broker_seq;        //  broker's last sequence as last heard
    stx_txn_t *snapshot;        //  write transaction of a snapshot in progress
    uint64_t snapshot_entries;
    uint64_t snapshot_committed;    //  entries of it committed so far
    int64_t snapshot_last;
    bool fetching;
    int64_t fetch_sent;
    int64_t last_heard;         //  any message from the broker
    bool lost;                  //  silent past connected_ms since the last WELCOME
    int64_t last_hello;
    int hellos;                 //  HELLOs since the last WELCOME
    int64_t last_ping;
    int64_t last_resend;        //  last rewind of the send position
    int64_t last_progress;      //  last ACK from the broker
    uint64_t send_from;         //  outbox position the next send starts at
    size_t inflight;            //  events sent and not yet answered (about)
    stx_flight_t *flight;       //  their keys by link, to keep dependent ones in order
    size_t window;              //  events the broker lets us have unanswered
    uint64_t acked_seq;         //  highest seq the broker acked us (this lineage)
    bool ahead;                 //  our replica lags more than S_AHEAD_MAX
    uint64_t ahead_seq;         //  its seq when it last moved while lagging
    int64_t ahead_since;        //  ... and when
    int64_t rewind_at;          //  rate limited: send again from the oldest then (0: not)
    zhashx_t *waiting;          //  event id -> s_waiter_t of the CLI requests waiting
    stx_pool_t *pool;           //  signs and verifies batches on every core
    stx_verifier_t *verifier;   //  a snapshot's signatures, in the background (or NULL)
    //  Work gathered over one turn of the loop, so one outbox commit
    //  covers every CLI publish that was ready, and one every ACK
    zlistx_t *staged;           //  s_request_t of publishes not yet in the outbox
    uint8_t **staged_datas;     //  their packed events (owned)
    size_t *staged_sizes;
    size_t staged_count;
    size_t staged_max;
    uint8_t (*acked) [STX_EVENT_ID_SIZE];   //  acked event ids, not yet settled
    size_t acked_count;
    size_t acked_max;
    stx_refusal_t *refused;     //  refusals not yet settled (texts owned)
    size_t refused_count;
    size_t refused_max;
    int backoff;
    int silence_ms;
    int connected_ms;
    uint64_t diverged_at;       //  seq at which divergence was last reported
    zlistx_t *requests;         //  s_request_t
    bool insecure;              //  plain TCP, no signing, no verification
    s_link_t links [S_IDENTITIES_MAX];  //  hosted identities, sorted by org
    size_t nlinks;              //  0 when insecure
    char broker_key [41];       //  Z85 CURVE public key of the broker
    stx_registry_t *trust;      //  partners' public keys (NULL when insecure)
    char *trust_dir;            //  where they come from
    char *trust_retired_dir;    //  retired keys' folder, or NULL
    char *halted;               //  why replication halted or pauses, or NULL
    uint8_t awaited [STX_SIGN_PUBLIC_SIZE];     //  S_PAUSED: the signer waited for
    int64_t last_trust_read;    //  S_PAUSED: when the trust store was last read
    bool broker_lineage_known;  //  broker_lineage came from a WELCOME
    zlistx_t *verifies;         //  s_verify_t waiting for a PONG
    zhash_t *own_pillars;       //  org id -> helix pillar of the organisations this
                                //  agent signed, for entries naming one its replica
                                //  does not hold yet (at most S_OWN_PILLARS_MAX)
    stx_versions_t *versions;   //  key -> version its last event queued here makes
                                //  (at most S_VERSIONS_MAX keys)
    //  Storage
    size_t map_max;             //  the replica's map grows up to this
    int64_t keep_events;        //  retention bounds of the own log (negative: keep all)
    int64_t keep_days;
    int64_t last_trim;
    stx_status_t store_failed;  //  last storage failure logged (STX_OK: none)
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
        free (self->waiters);
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
    self->waiters = (s_waiter_t *) calloc (count + 1, sizeof (s_waiter_t));
    assert (self->ids && self->results && self->result_ptrs && self->texts && self->done
            && self->waiters);
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



//  Index the events of request by id, so results find it in O(1).
static void
s_request_wait (s_agent_t *self, s_request_t *request)
{
    for (size_t index = 0; index < request->count; index++) {
        if (request->done [index])
            continue;
        s_waiter_t *waiter = &request->waiters [index];
        waiter->request = request;
        waiter->index = index;
        //  The key is the first waiter's own copy of the id (no duplicate
        //  kept), so later ones join its chain and leave the key alone
        s_waiter_t *head = (s_waiter_t *) zhashx_lookup (self->waiting, request->ids [index]);
        if (head) {
            waiter->next = head->next;
            head->next = waiter;
        }
        else
            zhashx_insert (self->waiting, request->ids [index], waiter);
    }
}

//  Take request's waiters out of the index (before it is destroyed).
static void
s_request_unwait (s_agent_t *self, s_request_t *request)
{
    for (size_t index = 0; index < request->count; index++) {
        s_waiter_t *mine = &request->waiters [index];
        if (!mine->request)
            continue;
        s_waiter_t *head = (s_waiter_t *) zhashx_lookup (self->waiting, request->ids [index]);
        if (head == mine) {
            zhashx_delete (self->waiting, request->ids [index]);
            if (mine->next)
                zhashx_insert (self->waiting, mine->next->request->ids [mine->next->index],
                               mine->next);
        }
        else
            for (s_waiter_t *waiter = head; waiter; waiter = waiter->next)
                if (waiter->next == mine) {
                    waiter->next = mine->next;
                    break;
                }
        mine->request = NULL;
    }
}

//  Record the broker's result for one event in every CLI request waiting
//  for it.
static void
s_requests_settle (s_agent_t *self, const Stemx__Result *result)
{
    if (result->event_id.len != STX_EVENT_ID_SIZE)
        return;
    s_waiter_t *waiter = (s_waiter_t *) zhashx_lookup (self->waiting, result->event_id.data);
    for (; waiter; waiter = waiter->next) {
        s_request_t *request = waiter->request;
        size_t index = waiter->index;
        if (request->done [index])
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
            s_request_unwait (self, request);
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
s_send_ping (zsock_t *dealer, uint64_t seq)
{
    Stemx__Ping ping = STEMX__PING__INIT;
    ping.seq = seq;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PING;
    request.ping = &ping;
    stx_wire_send_request (dealer, &request);
}

//  --------------------------------------------------------------------------
//  stemx verify: the replica's (seq, head) against the broker's

static void
s_verify_destroy (s_verify_t **self_p)
{
    if (*self_p) {
        zframe_destroy (&(*self_p)->routing_id);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_verify_destructor (void **item)
{
    s_verify_destroy ((s_verify_t **) item);
}

//  Answer one verify. pong is the broker's answer to a PING with the
//  replica's seq, or NULL if none came in time.
static void
s_verify_answer (s_agent_t *self, s_verify_t *verify, const Stemx__Pong *pong)
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
static void
s_verify_ping (s_agent_t *self)
{
    s_verify_t *verify = (s_verify_t *) zlistx_first (self->verifies);
    while (verify) {
        if (self->dealer)
            s_send_ping (self->dealer, verify->local_seq);
        verify = (s_verify_t *) zlistx_next (self->verifies);
    }
}

//  A PONG answers every verify asked at the seq it names.
static void
s_verify_settle (s_agent_t *self, const Stemx__Pong *pong)
{
    s_verify_t *verify = (s_verify_t *) zlistx_first (self->verifies);
    while (verify) {
        if (verify->local_seq == pong->ping_seq) {
            s_verify_answer (self, verify, pong);
            zlistx_delete (self->verifies, zlistx_cursor (self->verifies));
            verify = (s_verify_t *) zlistx_first (self->verifies);
        }
        else
            verify = (s_verify_t *) zlistx_next (self->verifies);
    }
}

//  Verifies past their deadline get "unknown".
static void
s_verify_expire (s_agent_t *self, int64_t now)
{
    s_verify_t *verify = (s_verify_t *) zlistx_first (self->verifies);
    while (verify) {
        if (now >= verify->deadline) {
            s_verify_answer (self, verify, NULL);
            zlistx_delete (self->verifies, zlistx_cursor (self->verifies));
            verify = (s_verify_t *) zlistx_first (self->verifies);
        }
        else
            verify = (s_verify_t *) zlistx_next (self->verifies);
    }
}

static void
s_refresh_meta (s_agent_t *self)
{
    stx_status_t status = stx_store_meta (self->store, &self->meta);
    if (status != STX_OK)
        zsys_error ("cannot read replica meta: %s", stx_strerror (status));
}


//  --------------------------------------------------------------------------
//  Replica storage: failures logged once, MDB_MAP_FULL grows the map

//  Log a replica storage failure once per kind until the next success.
//  Replication then waits and retries; no event is ever skipped.
static void
s_store_failure (s_agent_t *self, stx_status_t status, const char *what)
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

static void
s_store_works (s_agent_t *self)
{
    if (self->store_failed != STX_OK) {
        zsys_notice ("replica storage works again");
        self->store_failed = STX_OK;
    }
}

//  The replica's map is full: double it, up to map_max. Call with no
//  replica transaction alive (the store refuses otherwise). True if it
//  grew; the caller then does the same work again.
static bool
s_grow (s_agent_t *self, const char *what)
{
    size_t size = 0;
    stx_status_t status = stx_store_grow_step (self->store, self->map_max, &size);
    if (status == STX_OK) {
        zsys_notice ("replica: map grown to %.1f MiB (agent/map_max %.1f MiB)",
                     size / 1048576.0, self->map_max / 1048576.0);
        return true;
    }
    s_store_failure (self, status, what);
    return false;
}

//  Between two parts of a snapshot: grow the map while three quarters of
//  it are in use, so a big catalogue never runs into MDB_MAP_FULL half way
//  (that abandons the snapshot: the parts committed so far have no
//  position, and it starts over). Call with no replica transaction alive.
static void
s_grow_ahead (s_agent_t *self)
{
    stx_store_info_t info;
    size_t size = 0;
    //  Not growing now is no failure: MDB_MAP_FULL still takes s_grow
    if (stx_store_info (self->store, &info) == STX_OK && info.map_used > info.map_size / 4 * 3
    &&  stx_store_grow_step (self->store, self->map_max, &size) == STX_OK)
        zsys_notice ("replica: map grown to %.1f MiB ahead of the snapshot's next part "
                     "(agent/map_max %.1f MiB)", size / 1048576.0, self->map_max / 1048576.0);
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

//  The DEALER that publishes for link index: the first link's is the
//  replication DEALER. In --insecure mode there are no links and index 0
//  stands for the replication DEALER alone.
static zsock_t *
s_link_dealer (s_agent_t *self, size_t index)
{
    return index == 0? self->dealer: self->links [index].dealer;
}

//  Whether link index can take events now (the broker answered on it).
static bool
s_link_up (s_agent_t *self, size_t index)
{
    return index == 0? self->welcomed: self->links [index].up;
}

//  The link whose identity has this signing key. 0 (the replication
//  DEALER) for an unsigned event or a key no longer hosted: the broker
//  then refuses it, which moves it to the rejected list, visibly.
static size_t
s_link_of_signer (s_agent_t *self, const ProtobufCBinaryData *signer)
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
s_secure (s_agent_t *self, zsock_t *sock, size_t index)
{
    if (self->insecure)
        return;
    zcert_apply (stx_identity_cert (self->links [index].identity), sock);
    zsock_set_curve_serverkey (sock, self->broker_key);
}

//  The poller follows the sockets: rebuilt whenever one is replaced.
static void
s_poller_rebuild (s_agent_t *self)
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

//  One batch per link (one in --insecure mode), each bound to its DEALER
//  if that link is up. Caller owns the result (s_batches_send_destroy).
static s_batch_t *
s_batches_new (s_agent_t *self, size_t *count_p)
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
    s_agent_t *agent;
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
    &&  stx_event_peek (data, size, S_FIELD_SIGNER, (const uint8_t **) &signer.data,
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
//  acks a moment later; ahead of it by more than S_AHEAD_MAX we would only
//  fill the SUB queues of both sides (the memory of broker and agent, then
//  a refetch). A replica that is not replicating, or has not moved for
//  S_AHEAD_WAIT (a store failure, an event it cannot apply), holds
//  nothing back: publishing goes on as without it.
static bool
s_held (s_agent_t *self)
{
    bool was = self->ahead;
    self->ahead = self->state == S_ACTIVE && self->store_failed == STX_OK
               && self->acked_seq > self->meta.seq + S_AHEAD_MAX;
    if (!self->ahead)
        return false;
    int64_t now = zclock_mono ();
    if (!was || self->meta.seq != self->ahead_seq) {
        self->ahead_seq = self->meta.seq;
        self->ahead_since = now;
    }
    return now - self->ahead_since < S_AHEAD_WAIT;
}

//  Send pending outbox events, in their order from send_from on, while
//  the publish window has room, no rate-limit hint holds us back and our
//  replica is not too far behind (s_held).
static void
s_pump (s_agent_t *self)
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
static void
s_rewind (s_agent_t *self)
{
    self->last_resend = zclock_mono ();
    self->send_from = 0;
    self->inflight = 0;
    stx_flight_clear (self->flight);
    self->rewind_at = 0;
    s_pump (self);
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

//  A DEALER to the broker, as link index's identity.
static zsock_t *
s_dealer_new (s_agent_t *self, size_t index)
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
static void
s_send_hello (s_agent_t *self, zsock_t *dealer)
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
static void
s_connect (s_agent_t *self)
{
    s_snapshot_abort (self);
    zsock_destroy (&self->dealer);
    zsock_destroy (&self->sub);
    if (self->state != S_HALTED && self->state != S_PAUSED)
        self->state = S_CONNECTING;
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
    s_send_hello (self, self->dealer);
    s_verify_ping (self);       //  pings sent on the old DEALER are lost
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
static void
s_link_connect (s_agent_t *self, size_t index)
{
    assert (index > 0 && index < self->nlinks);
    s_link_t *link = &self->links [index];
    zsock_destroy (&link->dealer);
    link->dealer = s_dealer_new (self, index);
    link->up = false;
    link->connected_at = zclock_mono ();
    link->last_ping = link->connected_at;
    s_send_hello (self, link->dealer);
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
//  re-reads the trust store every S_TRUST_RETRY ms and resumes when the
//  key is there. Publishing goes on.
static void
s_pause (s_agent_t *self, const Stemx__Event *event)
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
    s_snapshot_abort (self);
    self->state = S_PAUSED;
    self->fetching = false;
}

//  Paused: read the trust store again; when it holds the awaited key,
//  start over (HELLO, then fetch or snapshot what was not applied).
static void
s_pause_check (s_agent_t *self, int64_t now)
{
    if (now - self->last_trust_read < S_TRUST_RETRY)
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
    self->state = S_CONNECTING;
    s_connect (self);
}

//  Stop applying anything (state HALTED), saying why in the log and in
//  NodeStatus.error.
static void
s_halt_with (s_agent_t *self, const char *text)
{
    zsys_error ("%s", text);
    free (self->halted);
    self->halted = strdup (text);
    assert (self->halted);
    s_snapshot_abort (self);
    self->state = S_HALTED;
    self->fetching = false;
}

static void
s_halt (s_agent_t *self, const Stemx__Event *event, const char *reason)
{
    char text [STX_ERRLEN * 2];
    snprintf (text, sizeof (text), "event %" PRIu64 " (%.120s) from %.80s: %s; "
              "replication halted — the broker may be compromised", event->seq,
              event->key && *event->key? event->key: "no key",
              event->origin && *event->origin? event->origin: "no origin", reason);
    s_halt_with (self, text);
}

//  The rules the broker applied before sequencing, checked again before
//  the apply, so a broker that skipped one is caught: the parties
//  (stx_parties), and the version after the entry's current one (the
//  signature covers expected_version, and stx_sign_verify that the
//  version follows it: so the publisher saw the version the replica
//  holds). A breach halts replication (state changes) and gives
//  STX_ERR_INVALID; a storage error is returned as it is.
static stx_status_t
s_rules_ok (s_agent_t *self, stx_txn_t *txn, const Stemx__Event *event)
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
        s_halt (self, event, text);
        status = STX_ERR_INVALID;
    }
    return status;
}

//  Verifies a batch of events on the pool: ok[i] says whether events[i]
//  (NULL: skipped, false) verified against the trust store as it is. A
//  false is not a verdict yet: s_verified decides (it may reload the
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

static void
s_verify_batch (s_agent_t *self, Stemx__Event **events, bool *ok, size_t count)
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
static bool
s_verified (s_agent_t *self, const Stemx__Event *event)
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
        s_halt (self, event, why);
    return false;
}


//  Start, follow and finish the background verification of a snapshot:
//  started while the store says unverified and replication runs; done,
//  the mark is cleared; a failed entry goes to s_verified, which reloads
//  the trust store (then it starts over) or pauses or halts replication.
static void
s_verifier_tick (s_agent_t *self)
{
    if (self->insecure || !self->meta.unverified)
        return;
    if (!self->verifier) {
        if (self->state != S_ACTIVE)
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
            self->state = S_HALTED;
        }
        else
            s_verified (self, event);   //  true: the reloaded trust store holds it
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
        s_store_failure (self, status, "cannot record the verified snapshot");
        return;
    }
    s_refresh_meta (self);
    zsys_notice ("snapshot verified: %" PRIu64 " signatures", verified);
}


//  --------------------------------------------------------------------------
//  Replies from the broker

static void
s_on_welcome (s_agent_t *self, Stemx__Welcome *welcome)
{
    bool halted = self->state == S_HALTED || self->state == S_PAUSED;
    if (self->state != S_CONNECTING && !(halted && !self->welcomed))
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
    self->window = welcome->publish_window? welcome->publish_window: S_WINDOW_DEFAULT;
    if (halted)
        zsys_warning ("connected to %s: replication stays %s at seq %" PRIu64 "%s",
                      self->broker_endpoint, s_state_name (self->state), self->meta.seq,
                      self->state == S_HALTED? " (restart the agent to try again)"
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
        self->state = S_SNAPSHOT;
        self->snapshot_entries = 0;
        self->snapshot_committed = 0;
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
    s_rewind (self);
}

static void
s_on_chunk (s_agent_t *self, Stemx__SnapshotChunk *chunk)
{
    if (self->state != S_SNAPSHOT || !self->snapshot)
        return;
    self->snapshot_last = zclock_mono ();
    //  Stored now, verified in the background once the snapshot is
    //  complete (stx_verifier): the replica answers queries at once.
    //  Committed every S_SNAPSHOT_COMMIT entries, so a big catalogue never
    //  holds its dirty pages in memory: the position (lineage, seq) is
    //  written only with the last part, so a replica stopped half way has
    //  no lineage and takes a new snapshot when it comes back
    stx_status_t status = STX_OK;
    for (size_t index = 0; status == STX_OK && index < chunk->n_events; index++)
        status = stx_txn_load (self->snapshot, chunk->events [index].data,
                               chunk->events [index].len);
    self->snapshot_entries += chunk->n_events;
    if (status == STX_OK && self->snapshot_entries - self->snapshot_committed
                            >= S_SNAPSHOT_COMMIT) {
        status = stx_txn_commit (&self->snapshot);
        if (status == STX_OK)
            s_grow_ahead (self);
        if (status == STX_OK)
            status = stx_store_begin (self->store, true, &self->snapshot);
        if (status == STX_OK)
            self->snapshot_committed = self->snapshot_entries;
    }
    if (status != STX_OK) {
        zsys_error ("snapshot: cannot store entries: %s", stx_strerror (status));
        s_snapshot_abort (self);
        if (status == STX_ERR_MAP_FULL)
            s_grow (self, "snapshot");      //  the next snapshot has more room
        self->last_hello = zclock_mono ();  //  reconnect after the usual pause
        self->state = S_CONNECTING;
        return;
    }
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
    if (status == STX_OK && !self->insecure)
        status = stx_txn_set_unverified (self->snapshot, true);
    if (status == STX_OK)
        status = stx_txn_commit (&self->snapshot);
    if (status != STX_OK) {
        s_snapshot_abort (self);
        zsys_error ("snapshot failed: %s", stx_strerror (status));
        if (status == STX_ERR_MAP_FULL)
            s_grow (self, "snapshot");      //  the next snapshot has more room
        self->state = S_CONNECTING;
        self->last_hello = zclock_mono ();
        return;
    }
    s_refresh_meta (self);
    self->state = S_ACTIVE;
    zsys_notice ("snapshot taken: %" PRIu64 " entries at seq %" PRIu64 "%s",
                 end->entries, end->seq,
                 self->insecure? "": "; verifying their signatures in the background");
    s_verifier_tick (self);
    if (self->broker_seq > self->meta.seq)
        s_fetch (self);
}

//  The broker's head before the range against the replica's own at that
//  sequence (while it holds it): a difference is a history that diverged
//  before the range, and halts replication here rather than at the next
//  heartbeat. False when it halted.
static bool
s_prior_ok (s_agent_t *self, stx_txn_t *txn, const Stemx__LogRange *log)
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
    s_halt_with (self, text);
    return false;
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
        s_verify_batch (self, events, ok, count);
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
                bool verified = skip || ok [index] || s_verified (self, event);
                if (skip || !verified)
                    stx_event_free (&event);
                if (skip)
                    continue;
                if (!verified)
                    break;      //  halted or paused; what was applied before it is kept
            }
            stx_status_t rc = event? s_rules_ok (self, txn, event): STX_OK;
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
                s_halt (self, event, "replayed event id: the replica holds this event id "
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
        s_refresh_meta (self);
        //  A full map: nothing of this range was kept; grow and fetch it again
        if (status == STX_ERR_MAP_FULL && s_grow (self, "cannot store fetched events")) {
            s_fetch (self);
            return;
        }
        if (status != STX_OK)
            s_store_failure (self, status, "cannot store fetched events");
        else
        if (applied)
            s_store_works (self);
    }
    if (self->verbose)
        zsys_debug ("fetched to seq %" PRIu64 ", broker at %" PRIu64,
                    self->meta.seq, self->broker_seq);
    //  Ask for more only when this range moved us on; else the timers retry
    if (self->state == S_ACTIVE && self->meta.seq > before && self->meta.seq < self->broker_seq)
        s_fetch (self);
    if (self->ahead)
        s_pump (self);          //  the replica caught up some: send on
}

static void
s_on_ack (s_agent_t *self, Stemx__Ack *ack)
{
    //  Room for every result in the buffers s_settle_flush empties
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
        s_requests_settle (self, result);
    }
    //  The CLI hears first: the broker's ack is durable there already, and
    //  an ack the outbox loses to a crash is only sent again; the outbox is
    //  settled once for every ACK of this turn (s_settle_flush)
    s_requests_reply (self);
    if (kept)
        zsys_warning ("broker could not store %zu event%s (kept in the outbox, sent again "
                      "in %d ms): %s", kept, kept == 1? "": "s", S_STORAGE_WAIT, kept_text);
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
                         hint? hint: S_RATE_WAIT_MIN);
        uint32_t wait = hint == 0? S_RATE_WAIT_MIN: hint > S_RATE_WAIT_MAX? S_RATE_WAIT_MAX: hint;
        int64_t at = now + wait;
        if (at > self->rewind_at)
            self->rewind_at = at;
    }
    if (kept && self->rewind_at < now + S_STORAGE_WAIT)
        self->rewind_at = now + S_STORAGE_WAIT;
    s_pump (self);
}

//  Record every ACK of this turn in the outbox, in one commit.
static void
s_settle_flush (s_agent_t *self)
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
    if (error->reason == STEMX__REASON__R_NO_SESSION)
        s_connect (self);       //  the broker restarted or forgot us: its WELCOME rewinds
    else
        self->fetching = false;
    //  An Error to a PUBLISH answers none of its events one by one: they
    //  stay pending, and nothing waits for them meanwhile
    if (error->reason != STEMX__REASON__R_RATE_LIMITED
    &&  error->reason != STEMX__REASON__R_REFRESH_REQUIRED)
        stx_flight_forget_link (self->flight, 0);
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
            s_verify_settle (self, reply->pong);
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
static void
s_link_handle (s_agent_t *self, size_t index)
{
    s_link_t *link = &self->links [index];
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
                s_send_hello (self, link->dealer);
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
        s_rewind (self);
    }
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
//  True if a CLI request or a reply from the broker is ready.
static bool
s_others_waiting (s_agent_t *self)
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

static void
s_handle_sub (s_agent_t *self)
{
    stx_txn_t *txn = NULL;
    stx_status_t status = STX_OK;
    uint64_t next = self->meta.seq + 1;
    bool gap = false;
    Stemx__Heartbeat *heartbeat = NULL;
    //  Take what is ready first, so the signatures of the whole drain are
    //  verified together on the pool, then apply in order in one transaction
    zmsg_t **msgs = (zmsg_t **) calloc (S_APPLY_MAX, sizeof (zmsg_t *));
    Stemx__Event **events = (Stemx__Event **) calloc (S_APPLY_MAX, sizeof (Stemx__Event *));
    bool *ok = (bool *) calloc (S_APPLY_MAX, sizeof (bool));
    assert (msgs && events && ok);
    size_t count = 0;
    while (count < S_APPLY_MAX) {
        if (count > 0 && !(zsock_events (self->sub) & ZMQ_POLLIN))
            break;
        //  Big transactions while only updates come in (each one writes
        //  the index pages its events touch: fewer, larger ones write far
        //  less), short turns when someone waits for an answer
        if (count > 0 && count % S_APPLY_TURN == 0 && s_others_waiting (self))
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
                if (self->state != S_ACTIVE || event->seq < next)
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
    s_verify_batch (self, events, ok, count);
    for (size_t index = 0; index < count; index++) {
        Stemx__Event *event = events [index];
        if (!event)
            continue;
        zframe_t *body = zmsg_last (msgs [index]);
        if (event->seq < next || self->state != S_ACTIVE)
            ;                   //  applied, or replication stopped before it
        else
        if (event->seq == next && !self->fetching && status == STX_OK) {
            //  Verified once, here; a failure halts (state changes)
            if (ok [index] || s_verified (self, event)) {
                if (!txn)
                    status = stx_store_begin (self->store, true, &txn);
                if (status == STX_OK)
                    status = s_rules_ok (self, txn, event);
                if (status == STX_OK)
                    status = stx_txn_apply_event (txn, event, zframe_data (body),
                                                  zframe_size (body));
                if (status == STX_OK)
                    next++;
                else
                if (status == STX_ERR_INVALID && self->state == S_HALTED)
                    status = STX_OK;    //  s_rules_ok halted; keep what came before
                else
                if (status == STX_ERR_REPLAY) {
                    //  Keep what came before it; halt (state changes)
                    s_halt (self, event, "replayed event id: the replica holds "
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
        if (status != STX_ERR_MAP_FULL || !s_grow (self, "cannot apply live events"))
            s_store_failure (self, status, "cannot apply live events");
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
    if (self->ahead)
        s_pump (self);          //  the replica caught up some: send on
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
s_signer (s_agent_t *self, stx_txn_t *txn, const Stemx__Event *event,
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
s_request_refuse (s_request_t *request, size_t index, Stemx__Reason reason, const char *text)
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
s_local_receipt (s_agent_t *self, zframe_t *routing_id, size_t queued, uint64_t pending)
{
    Stemx__Receipt receipt = STEMX__RECEIPT__INIT;
    receipt.queued = (uint32_t) queued;
    receipt.pending = pending;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_RECEIPT;
    reply.receipt = &receipt;
    stx_wire_send_reply (self->local, routing_id, &reply);
}

static void
s_staged_flush (s_agent_t *self)
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
    s_request_t *request = (s_request_t *) zlistx_detach (self->staged, NULL);
    while (request) {
        if (status == STX_OK) {
            //  Durable now: the CLI may say so, whatever happens next
            s_local_receipt (self, request->routing_id, request->queued, pending);
            zlistx_add_end (self->requests, request);
            s_request_wait (self, request);
        }
        else {
            char text [STX_ERRLEN];
            snprintf (text, sizeof (text), "outbox: %s", stx_strerror (status));
            s_local_error (self, request->routing_id, STEMX__REASON__R_STORAGE, text);
            s_request_destroy (&request);
        }
        request = (s_request_t *) zlistx_detach (self->staged, NULL);
    }
    for (size_t index = 0; index < self->staged_count; index++) {
        //  Not queued: the versions they would have made will not be
        const uint8_t *id;
        size_t len;
        if (status != STX_OK
        &&  stx_event_peek (self->staged_datas [index], self->staged_sizes [index],
                            S_FIELD_EVENT_ID, &id, &len) == STX_OK && len == STX_EVENT_ID_SIZE)
            stx_versions_forget (self->versions, id);
        free (self->staged_datas [index]);
    }
    self->staged_count = 0;
    if (status == STX_OK) {
        s_pump (self);
        s_requests_reply (self);    //  answered at once if none was queued
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
    s_agent_t *self = (s_agent_t *) arg;
    const char *pillar = (const char *) zhash_lookup (self->own_pillars, org);
    return pillar? pillar: stx_parties_registered (self->trust, org);
}

static void
s_own_pillar_note (s_agent_t *self, const Stemx__Entry *entry)
{
    if (!entry || entry->kind_case != STEMX__ENTRY__KIND_ORGANISATION || !entry->organisation
    ||  !entry->organisation->id || !*entry->organisation->id
    ||  !entry->organisation->helix_pillar || !*entry->organisation->helix_pillar)
        return;
    if (zhash_size (self->own_pillars) >= S_OWN_PILLARS_MAX
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
s_expect (s_agent_t *self, stx_txn_t *txn, Stemx__Event *event)
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
s_local_publish (s_agent_t *self, zframe_t *routing_id, Stemx__Publish *publish)
{
    size_t count = publish->n_events;
    s_request_t *request = s_request_new (routing_id, count);
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
        if (status != STX_OK || bad_id || publish->events [index].len > S_EVENT_MAX) {
            snprintf (text, sizeof (text), "events[%zu]: %s", index,
                      status != STX_OK? "undecodable Event":
                      bad_id? "event_id: must be 16 bytes": "event too large");
            s_local_error (self, routing_id, publish->events [index].len > S_EVENT_MAX?
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
            if (stx_versions_size (self->versions) >= S_VERSIONS_MAX)
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
    //  Staged: s_staged_flush writes it to the outbox with every other
    //  publish of this turn, and only then is it sent or answered
    if (failed)
        s_request_destroy (&request);
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
    //  Anything but a publish sees the publishes before it in the outbox
    if (status != STX_OK || request->body_case != STEMX__REQUEST__BODY_PUBLISH)
        s_staged_flush (self);
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
        s_verify_t *verify = (s_verify_t *) zmalloc (sizeof (s_verify_t));
        assert (verify);
        verify->routing_id = zframe_dup (routing_id);
        verify->local_seq = self->meta.seq;
        memcpy (verify->local_head, self->meta.head, STX_HEAD_SIZE);
        uint32_t timeout = request->verify->timeout_ms;
        if (timeout == 0)
            timeout = S_VERIFY_TIMEOUT;
        if (timeout > S_VERIFY_MAX)
            timeout = S_VERIFY_MAX;
        verify->deadline = zclock_mono () + timeout;
        if (self->dealer)
            s_send_ping (self->dealer, verify->local_seq);
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


//  --------------------------------------------------------------------------
//  Timers

//  A publishing link: reconnect (with a growing pause) until the broker
//  answers; then ping when quiet, and reconnect after a silence.
static void
s_link_tick (s_agent_t *self, size_t index, int64_t now)
{
    s_link_t *link = &self->links [index];
    if (!link->up) {
        if (now - link->connected_at > self->silence_ms / 2 + link->backoff) {
            link->backoff = link->backoff? link->backoff * 2: 500;
            if (link->backoff > S_BACKOFF_MAX)
                link->backoff = S_BACKOFF_MAX;
            s_link_connect (self, index);
        }
        return;
    }
    if (now - link->last_heard > self->silence_ms) {
        zsys_warning ("broker silent to %s for %" PRId64 " ms; reconnecting", link->org,
                      now - link->last_heard);
        s_link_connect (self, index);
        return;
    }
    if (now - link->last_heard > S_PING_IVL && now - link->last_ping > S_PING_IVL) {
        s_send_ping (link->dealer, self->meta.seq);
        link->last_ping = now;
    }
}

//  Retention of the replica's own log: one bounded step, never while a
//  snapshot holds the write transaction (LMDB has one writer).
static void
s_retention_step (s_agent_t *self, int64_t now)
{
    if (self->keep_events < 0 || self->keep_days < 0 || self->snapshot
    ||  now - self->last_trim < S_TRIM_IVL)
        return;
    self->last_trim = now;
    int64_t before_ms = (int64_t) time (NULL) * 1000 - self->keep_days * 86400 * 1000;
    uint64_t trimmed = 0;
    stx_status_t status = stx_store_trim (self->store, (uint64_t) self->keep_events,
                                          before_ms, S_TRIM_STEP, &trimmed);
    if (status == STX_ERR_MAP_FULL)
        s_grow (self, "retention");
    else
    if (status != STX_OK)
        s_store_failure (self, status, "retention: cannot trim the log");
    if (trimmed) {
        s_refresh_meta (self);
        if (self->verbose)
            zsys_debug ("retention: trimmed %" PRIu64 " events, log starts at %" PRIu64,
                        trimmed, self->meta.log_first);
    }
}

static void
s_tick (s_agent_t *self)
{
    int64_t now = zclock_mono ();
    s_verifier_tick (self);
    s_verify_expire (self, now);
    s_retention_step (self, now);
    int64_t quiet = now - (self->last_heard > self->last_hello? self->last_heard: self->last_hello);
    for (size_t index = 1; index < self->nlinks; index++)
        s_link_tick (self, index, now);
    if (self->state == S_PAUSED)
        s_pause_check (self, now);
    if (self->state == S_CONNECTING
    || ((self->state == S_HALTED || self->state == S_PAUSED) && !self->welcomed)) {
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
    if ((now - self->last_heard > S_PING_IVL && now - self->last_ping > S_PING_IVL)
    ||  now - self->last_ping > S_SESSION_PING) {
        if (self->dealer)
            s_send_ping (self->dealer, self->meta.seq);
        self->last_ping = now;
    }
    uint64_t pending = 0, rejected = 0;
    if (self->rewind_at && now >= self->rewind_at)
        s_rewind (self);
    else
    if (now - self->last_progress > S_RESEND_IVL && now - self->last_resend > S_RESEND_IVL
    &&  stx_outbox_depth (self->outbox, &pending, &rejected) == STX_OK && pending)
        s_rewind (self);        //  nothing answered for a while: lost, or never sent
    else
        s_pump (self);          //  room left by a rewind, or a link that came up
    s_request_t *request = (s_request_t *) zlistx_first (self->requests);
    while (request) {
        if (now - request->created > S_REQUEST_TTL) {
            s_request_unwait (self, request);
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
                    connected? "1": "0", broker_seq, self->halted? self->halted: "", NULL);
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

static bool
s_is_dir (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0 && S_ISDIR (info.st_mode);
}

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

static int
s_compare_links (const void *a, const void *b)
{
    return strcmp (((const s_link_t *) a)->org, ((const s_link_t *) b)->org);
}

//  Load every secret cert (*_secret) in dir as a hosted identity, sorted
//  by organisation. A folder without one is an error saying how to make
//  one.
static stx_status_t
s_load_identities (s_agent_t *self, const char *dir, char *err, size_t errlen)
{
    char *names [S_IDENTITIES_MAX];
    size_t count = 0;
    DIR *handle = opendir (dir);
    if (!handle && errno != ENOENT)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot read identities folder %s: %s",
                         dir, strerror (errno));
    struct dirent *entry;
    while (handle && (entry = readdir (handle))) {
        size_t length = strlen (entry->d_name);
        if (entry->d_name [0] == '.' || length < 7
        ||  strcmp (entry->d_name + length - 7, "_secret") != 0)
            continue;
        if (count == S_IDENTITIES_MAX) {
            closedir (handle);
            while (count)
                free (names [--count]);
            return stx_fail (err, errlen, STX_ERR_TOO_LARGE,
                             "%s: more than %d identities", dir, S_IDENTITIES_MAX);
        }
        names [count] = strdup (entry->d_name);
        assert (names [count]);
        count++;
    }
    if (handle)
        closedir (handle);
    if (count == 0)
        return stx_fail (err, errlen, STX_ERR_NOT_FOUND,
                         "no identity in %s: make your organisation's key pair with "
                         "`stemx keygen ORG --pillar PILLAR --out %s` and have the broker "
                         "register its public .cert (or run with --insecure, tests only)",
                         dir, dir);
    qsort (names, count, sizeof (char *), s_compare_names);
    stx_status_t status = STX_OK;
    for (size_t index = 0; index < count; index++) {
        char path [PATH_MAX + 256], reason [STX_ERRLEN] = "";
        stx_identity_t *identity = NULL;
        if (status == STX_OK) {
            snprintf (path, sizeof (path), "%s/%s", dir, names [index]);
            status = stx_identity_load (path, &identity, reason, sizeof (reason));
            if (status != STX_OK)
                stx_fail (err, errlen, status, "cannot load identity: %s", reason);
        }
        if (status == STX_OK && !*stx_identity_org (identity))
            status = stx_fail (err, errlen, STX_ERR_INVALID,
                               "%s: a broker key, not an organisation's identity", path);
        for (size_t other = 0; status == STX_OK && other < self->nlinks; other++)
            if (streq (self->links [other].org, stx_identity_org (identity)))
                status = stx_fail (err, errlen, STX_ERR_INVALID,
                                   "%s: a second identity of %s in %s; keep one",
                                   path, stx_identity_org (identity), dir);
        if (status == STX_OK) {
            self->links [self->nlinks].identity = identity;
            self->links [self->nlinks].org = stx_identity_org (identity);
            self->nlinks++;
        }
        else
            stx_identity_destroy (&identity);
        free (names [index]);
    }
    qsort (self->links, self->nlinks, sizeof (s_link_t), s_compare_links);
    return status;
}

//  CURVE and signatures: the identities, the broker's public key and the
//  trust store, from config (defaults under the data folder).
static stx_status_t
s_load_security (s_agent_t *self, const stx_agent_config_t *config, char *err, size_t errlen)
{
    char identities [PATH_MAX], broker_key [PATH_MAX], trust [PATH_MAX], retired [PATH_MAX];
    snprintf (identities, sizeof (identities), "%s", config->identities? config->identities:
              "");
    if (!*identities)
        snprintf (identities, sizeof (identities), "%s/identities", self->data_dir);
    snprintf (broker_key, sizeof (broker_key), "%s", config->broker_key? config->broker_key: "");
    if (!*broker_key)
        snprintf (broker_key, sizeof (broker_key), "%s/broker.cert", self->data_dir);
    snprintf (trust, sizeof (trust), "%s", config->trust? config->trust: "");
    if (!*trust)
        snprintf (trust, sizeof (trust), "%s/trust", self->data_dir);
    snprintf (retired, sizeof (retired), "%s", config->trust_retired? config->trust_retired: "");
    bool retired_given = *retired != 0;
    if (!retired_given)
        snprintf (retired, sizeof (retired), "%s/trust-retired", self->data_dir);

    stx_status_t status = s_load_identities (self, identities, err, errlen);
    if (status != STX_OK)
        return status;

    zcert_t *cert = zcert_load (broker_key);
    const char *public_key = cert? zcert_public_txt (cert): "";
    if (strlen (public_key) != 40 || streq (public_key, "0000000000000000000000000000000000000000")) {
        zcert_destroy (&cert);
        return stx_fail (err, errlen, STX_ERR_NOT_FOUND,
                         "no broker key in %s: copy the broker's public cert there "
                         "(agent/broker_key, --broker-key)", broker_key);
    }
    snprintf (self->broker_key, sizeof (self->broker_key), "%s", public_key);
    zcert_destroy (&cert);

    if (!s_is_dir (trust))
        return stx_fail (err, errlen, STX_ERR_NOT_FOUND,
                         "no trust store at %s: copy the broker's registry of partners' "
                         "public certs there (agent/trust, --trust)", trust);
    if (retired_given && !s_is_dir (retired))
        return stx_fail (err, errlen, STX_ERR_NOT_FOUND,
                         "no retired keys folder at %s (agent/trust_retired)", retired);
    char reason [STX_ERRLEN] = "";
    self->trust_dir = strdup (trust);
    self->trust_retired_dir = s_is_dir (retired)? strdup (retired): NULL;
    status = stx_registry_load (self->trust_dir, self->trust_retired_dir, &self->trust,
                                reason, sizeof (reason));
    if (status != STX_OK)
        return stx_fail (err, errlen, status, "cannot load the trust store: %s", reason);

    //  Roles come from the trust store: a secret cert's own metadata is
    //  not what the broker goes by
    for (size_t index = 0; index < self->nlinks; index++) {
        s_link_t *link = &self->links [index];
        const stx_key_t *key = stx_registry_by_sign (self->trust,
                                                     stx_identity_sign_public (link->identity));
        if (key && !streq (key->org, link->org))
            return stx_fail (err, errlen, STX_ERR_INVALID,
                             "identity %s: the trust store has its key as %s's (%s)",
                             link->org, key->org, key->file);
        if (!key)
            zsys_warning ("identity %s is not in the trust store %s: replicas cannot verify "
                          "its events until the broker's registry has it", link->org, trust);
        else
        if (key->retired)
            zsys_warning ("identity %s holds a retired key (%s): the broker will refuse it",
                          link->org, key->file);
        link->roles = key && !key->retired? key->roles: 0;
        zsys_info ("identity %s%s%s", link->org,
                   link->roles & STX_ROLE_ADMIN? " (admin)": "",
                   index == 0? ", also for replication": "");
    }
    return STX_OK;
}


static void
s_agent_destroy (s_agent_t **self_p)
{
    if (*self_p) {
        s_agent_t *self = *self_p;
        stx_verifier_destroy (&self->verifier);
        stx_txn_abort (&self->snapshot);
        zlistx_destroy (&self->requests);
        zhashx_destroy (&self->waiting);
        stx_pool_destroy (&self->pool);
        zlistx_destroy (&self->staged);
        for (size_t index = 0; index < self->staged_count; index++)
            free (self->staged_datas [index]);
        free (self->staged_datas);
        free (self->staged_sizes);
        for (size_t index = 0; index < self->refused_count; index++)
            free ((char *) self->refused [index].id);
        free (self->refused);
        free (self->acked);
        zlistx_destroy (&self->verifies);
        zhash_destroy (&self->own_pillars);
        stx_versions_destroy (&self->versions);
        stx_flight_destroy (&self->flight);
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->dealer);
        zsock_destroy (&self->sub);
        for (size_t index = 0; index < self->nlinks; index++) {
            zsock_destroy (&self->links [index].dealer);
            stx_identity_destroy (&self->links [index].identity);
        }
        stx_registry_destroy (&self->trust);
        free (self->trust_dir);
        free (self->trust_retired_dir);
        free (self->halted);
        if (self->local) {
            zsock_destroy (&self->local);
            unlink (self->socket_path);
        }
        stx_outbox_destroy (&self->outbox);
        stx_store_destroy (&self->store);
        stx_daemon_unlock_dir (&self->lock_fd);   //  after the store it guards
        free (self->name);
        free (self->broker_endpoint);
        free (self->updates_endpoint);
        free (self->data_dir);
        free (self);
        *self_p = NULL;
    }
}

//  stx_outbox_fn: a pending event's key makes the version after the one
//  it expects.
static int
s_versions_note (const uint8_t *data, size_t size, void *arg)
{
    s_agent_t *self = (s_agent_t *) arg;
    Stemx__Event *event = NULL;
    if (stx_event_unpack (data, size, &event) == STX_OK && event->key && *event->key
    &&  event->event_id.len == STX_EVENT_ID_SIZE
    &&  stx_versions_size (self->versions) < S_VERSIONS_MAX)
        stx_versions_put (self->versions, event->key, event->expected_version + 1,
                          event->event_id.data);
    stx_event_free (&event);
    return 0;
}

static s_agent_t *
s_agent_new (zsock_t *pipe, const stx_agent_config_t *config, stx_status_t *status_p,
             char *err, size_t errlen)
{
    s_agent_t *self = (s_agent_t *) zmalloc (sizeof (s_agent_t));
    assert (self);
    self->pipe = pipe;
    self->lock_fd = -1;
    self->requests = zlistx_new ();
    self->waiting = zhashx_new ();
    assert (self->waiting);
    stx_event_id_keys (self->waiting, false);
    self->window = S_WINDOW_DEFAULT;
    self->pool = stx_pool_new (0);
    self->staged = zlistx_new ();
    assert (self->staged);
    zlistx_set_destructor (self->staged, s_request_destructor);
    zlistx_set_destructor (self->requests, s_request_destructor);
    self->verifies = zlistx_new ();
    self->own_pillars = zhash_new ();
    assert (self->own_pillars);
    zhash_autofree (self->own_pillars);
    self->versions = stx_versions_new ();
    self->flight = stx_flight_new ();
    zlistx_set_destructor (self->verifies, s_verify_destructor);
    self->keep_events = config->keep_events;
    self->keep_days = config->keep_days;
    self->verbose = config->verbose;
    self->silence_ms = config->silence_ms > 0? config->silence_ms: 5000;
    self->connected_ms = config->connected_ms > 0? config->connected_ms: 3000;
    //  The broker refuses a HELLO with a bad name: say so now. The host
    //  name, the default, is cut to its first label and to 64 bytes
    char host [256] = "agent";
    gethostname (host, sizeof (host) - 1);
    if (stx_node_name_invalid (host)) {
        host [strcspn (host, ".")] = 0;
        host [STX_NODE_MAX] = 0;
        if (stx_node_name_invalid (host))
            strcpy (host, "agent");
    }
    self->name = strdup (config->name && *config->name? config->name: host);
    assert (self->name);
    const char *bad_name = stx_node_name_invalid (self->name);
    if (bad_name) {
        *status_p = stx_fail (err, errlen, STX_ERR_INVALID, "--name: the node name %s",
                              bad_name);
        return self;
    }
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
        status = stx_daemon_lock_dir (self->data_dir, "stemx-agent", &self->lock_fd,
                                      reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "%s", reason);
        return self;
    }
    if (config->resync) {
        bool moved = false;
        status = stx_store_set_aside (self->data_dir, &moved, reason, sizeof (reason));
        if (status != STX_OK) {
            *status_p = stx_fail (err, errlen, status, "--resync: %s", reason);
            return self;
        }
        if (moved)
            zsys_notice ("--resync: the replica was set aside in %s/catalogue.before-resync "
                         "(delete it when the new one is complete); taking a snapshot",
                         self->data_dir);
        else
            zsys_notice ("--resync: no replica yet; taking a snapshot");
    }
    status = stx_store_open (self->data_dir, config->sync? 0: STX_STORE_NOSYNC,
                                 config->map_size, &self->store, reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "cannot open store: %s", reason);
        return self;
    }
    stx_store_info_t info;
    if (stx_store_info (self->store, &info) == STX_OK) {
        self->map_max = config->map_max > info.map_size? config->map_max: info.map_size;
        if (info.stale_readers > 0)
            zsys_notice ("replica: cleared %d stale LMDB reader slots at start",
                         info.stale_readers);
    }
    status = stx_outbox_open (self->data_dir, false, &self->outbox, reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "cannot open outbox: %s", reason);
        return self;
    }
    //  The pending events are signed with the versions they expect: a new
    //  publish of their keys expects the ones they make
    status = stx_outbox_pending (self->outbox, 0, s_versions_note, self);
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "cannot read outbox: %s",
                              stx_strerror (status));
        return self;
    }
    s_refresh_meta (self);
    self->insecure = config->insecure;
    if (self->insecure)
        zsys_warning ("--insecure: plain TCP to the broker; events are neither signed nor "
                      "verified (tests only)");
    else {
        status = s_load_security (self, config, err, errlen);
        if (status != STX_OK) {
            *status_p = status;
            return self;
        }
    }

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
    //  One settle can answer thousands of publishes at once (a broker
    //  window of ACKs), and a ROUTER drops what its pipe cannot hold: room
    //  for S_LOCAL_REPLIES unread replies per client (a few MB at most)
    zsock_set_sndhwm (self->local, S_LOCAL_REPLIES);
    if (zsock_bind (self->local, "%s", self->local_endpoint) == -1) {
        *status_p = stx_fail (err, errlen, STX_ERR_IO, "cannot bind %s: %s",
                              self->local_endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->local);
        return self;
    }
    s_connect (self);
    for (size_t index = 1; index < self->nlinks; index++)
        s_link_connect (self, index);
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
    config->map_max = (size_t) 64 << 30;
    config->keep_events = 1000000;
    config->keep_days = 90;
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
        stx_daemon_await_term (pipe);
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
        if (which == self->local) {
            //  Every publish ready now shares one outbox commit
            for (int count = 0; count < S_LOCAL_DRAIN
                 && (count == 0 || (zsock_events (self->local) & ZMQ_POLLIN)); count++)
                s_handle_local (self);
            s_staged_flush (self);
        }
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
        if (which) {
            for (size_t index = 1; index < self->nlinks; index++) {
                zsock_t *dealer = self->links [index].dealer;
                if (which != dealer)
                    continue;
                for (int count = 0; count < S_DRAIN_MAX && self->links [index].dealer == dealer
                     && (count == 0 || (zsock_events (dealer) & ZMQ_POLLIN)); count++)
                    s_link_handle (self, index);
                break;
            }
        }
        else
        if (zpoller_terminated (self->poller))
            break;
        s_settle_flush (self);
        if (zclock_mono () >= next_tick) {
            s_tick (self);
            next_tick = zclock_mono () + S_TICK;
        }
    }
    s_staged_flush (self);
    s_settle_flush (self);
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
