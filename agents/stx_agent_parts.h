/*  =========================================================================
    stx_agent_parts - what the files of the agent share (private)

    The agent is one actor (stx_agent.c: construction, the loop, pipe
    commands, timers) whose jobs are in files of their own, all running in
    the actor's thread over the one state below:
      stx_agent_requests.c    the CLI requests waiting for the broker's results
      stx_agent_link.c        the broker link: sending, and every reply from
                              the broker (WELCOME, snapshot chunks, LOG ranges,
                              acks, errors)
      stx_agent_verify.c      `stemx verify`: the replica against the broker
      stx_replica.c           the replica's storage (map growth, failures) and
                              the verification of what it takes in
      stx_agent_updates.c     live updates from the SUB, heartbeats, gaps
      stx_local_endpoint.c    the CLI's endpoint: publish into the outbox,
                              receipts, status
    Nothing outside agents/ includes this header.
    ========================================================================= */

#ifndef STX_AGENT_PARTS_H_INCLUDED
#define STX_AGENT_PARTS_H_INCLUDED

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

#define STX_AG_SNAPSHOT_COMMIT 16384             //  snapshot entries per transaction
#define STX_AG_SNAPSHOT_CREDIT 8                 //  chunks asked for at once
#define STX_AG_OWN_PILLARS_MAX 4096              //  organisations remembered as signed
#define STX_AG_VERSIONS_MAX    (256 * 1024)      //  keys remembered with a version in flight
#define STX_AG_DRAIN_MAX       1024              //  replies taken in one turn at most
#define STX_AG_APPLY_MAX       1024              //  live events per transaction at most
#define STX_AG_APPLY_TURN      64                //  ... but no more while a CLI request or
                                            //  an ack waits
#define STX_AG_PUBLISH_EVENTS  256               //  events per PUBLISH to the broker
#define STX_AG_PUBLISH_BYTES   (512 * 1024)      //  bytes per PUBLISH to the broker
#define STX_AG_EVENT_MAX       (512 * 1024)      //  largest event accepted from the CLI
#define STX_AG_LOCAL_MAX       (16 * 1024 * 1024)//  largest CLI request
#define STX_AG_FETCH_TIMEOUT   10000             //  a fetch unanswered this long is retried
#define STX_AG_SNAPSHOT_TIMEOUT 10000             //  a snapshot silent this long is restarted
#define STX_AG_RESEND_IVL      10000             //  pending outbox sent again after
#define STX_AG_PING_IVL        1000              //  ping the broker when quiet this long
#define STX_AG_SESSION_PING    (600 * 1000)      //  ...and this often anyway: the broker
                                            //  forgets a session silent for an hour
#define STX_AG_REQUEST_TTL     (300 * 1000)      //  forget an unanswered CLI request after
#define STX_AG_BACKOFF_MAX     4000              //  longest extra pause between reconnects
#define STX_AG_TICK            250               //  timer resolution
#define STX_AG_IDENTITIES_MAX  64                //  identities one agent may host
#define STX_AG_VERIFY_TIMEOUT  3000              //  default wait for the broker's PONG
#define STX_AG_VERIFY_MAX      60000             //  longest wait a CLI may ask for
#define STX_AG_TRIM_IVL        1000              //  one retention step this often
#define STX_AG_TRIM_STEP       1000              //  events trimmed per step at most
#define STX_AG_TRUST_RETRY     3000              //  re-read the trust store this often while paused
#define STX_AG_RATE_WAIT_MIN   250               //  pause after R_RATE_LIMITED without a hint
#define STX_AG_RATE_WAIT_MAX   60000             //  longest pause a broker's hint may ask for
#define STX_AG_LOCAL_DRAIN     64                //  CLI requests taken in one turn at most
#define STX_AG_LOCAL_REPLIES   100000            //  unread replies a CLI client may have (ROUTER sndhwm)
#define STX_AG_FIELD_SIGNER    13                //  Event.signer, found without unpacking
#define STX_AG_FIELD_EVENT_ID  1                 //  Event.event_id
#define STX_AG_STORAGE_WAIT    1000              //  pause after R_STORAGE before sending again
#define STX_AG_WINDOW_DEFAULT  1024              //  publish window of a broker that names none
#define STX_AG_AHEAD_MAX       8192              //  acked events our replica may lag behind
#define STX_AG_AHEAD_WAIT      5000              //  ... waited for while it does not move, ms

typedef enum {
    STX_AG_CONNECTING,
    STX_AG_SNAPSHOT,
    STX_AG_ACTIVE,
    STX_AG_HALTED,                   //  an event failed verification; nothing more applied
    STX_AG_PAUSED                    //  an event's signer is not in the trust store (yet):
                                //  nothing applied until it appears there
} stx_ag_state_t;


//  A CLI publish waiting for the broker's results.
typedef struct _stx_ag_request_t stx_ag_request_t;

//  One event of a CLI request waiting for its result, found by event id
//  in stx_ag_agent_t.waiting; requests sharing an id are chained.
typedef struct _stx_ag_waiter_t {
    stx_ag_request_t *request;
    size_t index;
    struct _stx_ag_waiter_t *next;
} stx_ag_waiter_t;

struct _stx_ag_request_t {
    zframe_t *routing_id;       //  the CLI
    size_t count;
    size_t queued;              //  events put in the outbox (not refused here)
    size_t remaining;           //  results still missing
    uint8_t (*ids) [STX_EVENT_ID_SIZE];
    Stemx__Result *results;
    Stemx__Result **result_ptrs;
    char **texts;               //  owned result texts
    bool *done;
    stx_ag_waiter_t *waiters;        //  one per event, linked into stx_ag_agent_t.waiting
    int64_t created;
};

//  A CLI's `stemx verify` waiting for the broker's PONG: the replica's
//  position when it asked, and until when to wait.
typedef struct {
    zframe_t *routing_id;       //  the CLI
    uint64_t local_seq;
    uint8_t local_head [STX_HEAD_SIZE];
    int64_t deadline;
} stx_ag_verify_t;

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
} stx_ag_link_t;

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
    stx_ag_state_t state;
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
    bool ahead;                 //  our replica lags more than STX_AG_AHEAD_MAX
    uint64_t ahead_seq;         //  its seq when it last moved while lagging
    int64_t ahead_since;        //  ... and when
    int64_t rewind_at;          //  rate limited: send again from the oldest then (0: not)
    zhashx_t *waiting;          //  event id -> stx_ag_waiter_t of the CLI requests waiting
    stx_pool_t *pool;           //  signs and verifies batches on every core
    stx_verifier_t *verifier;   //  a snapshot's signatures, in the background (or NULL)
    //  Work gathered over one turn of the loop, so one outbox commit
    //  covers every CLI publish that was ready, and one every ACK
    zlistx_t *staged;           //  stx_ag_request_t of publishes not yet in the outbox
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
    zlistx_t *requests;         //  stx_ag_request_t
    bool insecure;              //  plain TCP, no signing, no verification
    stx_ag_link_t links [STX_AG_IDENTITIES_MAX];  //  hosted identities, sorted by org
    size_t nlinks;              //  0 when insecure
    char broker_key [41];       //  Z85 CURVE public key of the broker
    stx_registry_t *trust;      //  partners' public keys (NULL when insecure)
    char *trust_dir;            //  where they come from
    char *trust_retired_dir;    //  retired keys' folder, or NULL
    char *halted;               //  why replication halted or pauses, or NULL
    uint8_t awaited [STX_SIGN_PUBLIC_SIZE];     //  STX_AG_PAUSED: the signer waited for
    int64_t last_trust_read;    //  STX_AG_PAUSED: when the trust store was last read
    bool broker_lineage_known;  //  broker_lineage came from a WELCOME
    zlistx_t *verifies;         //  stx_ag_verify_t waiting for a PONG
    zhash_t *own_pillars;       //  org id -> helix pillar of the organisations this
                                //  agent signed, for entries naming one its replica
                                //  does not hold yet (at most STX_AG_OWN_PILLARS_MAX)
    stx_versions_t *versions;   //  key -> version its last event queued here makes
                                //  (at most STX_AG_VERSIONS_MAX keys)
    //  Storage
    size_t map_max;             //  the replica's map grows up to this
    int64_t keep_events;        //  retention bounds of the own log (negative: keep all)
    int64_t keep_days;
    int64_t last_trim;
    stx_status_t store_failed;  //  last storage failure logged (STX_OK: none)
    bool verbose;
    bool terminated;
} stx_ag_agent_t;


//  Drop the broker sockets, open new ones (SUB first) and say HELLO. A
//  halted replica stays halted: the sockets still carry its publishes.
void
    stx_ag_connect (stx_ag_agent_t *self);

//  FETCH what follows the replica's seq (one fetch at a time).
void
    stx_ag_fetch (stx_ag_agent_t *self);

//  The replica's map is full: double it, up to map_max. Call with no
//  replica transaction alive (the store refuses otherwise). True if it
//  grew; the caller then does the same work again.
bool
    stx_ag_grow (stx_ag_agent_t *self, const char *what);

//  Between two parts of a snapshot: grow the map while three quarters of
//  it are in use, so a big catalogue never runs into MDB_MAP_FULL half way
//  (that abandons the snapshot: the parts committed so far have no
//  position, and it starts over). Call with no replica transaction alive.
void
    stx_ag_grow_ahead (stx_ag_agent_t *self);

//  Halt replication on event, which cannot be honest (reason says why):
//  nothing more is applied; status shows it.
void
    stx_ag_halt (stx_ag_agent_t *self, const Stemx__Event *event, const char *reason);

//  Stop applying anything (state HALTED), saying why in the log and in
//  NodeStatus.error.
void
    stx_ag_halt_with (stx_ag_agent_t *self, const char *text);

//  Take one reply from the broker's DEALER and handle it.
void
    stx_ag_handle_dealer (stx_ag_agent_t *self);

//  Take one request from a CLI on the local endpoint and handle it.
void
    stx_ag_handle_local (stx_ag_agent_t *self);

//  Take what the SUB has ready (events, heartbeats) and apply it in one
//  transaction.
void
    stx_ag_handle_sub (stx_ag_agent_t *self);

//  Publishing links after the first: a fresh DEALER as that identity, and
//  a HELLO whose answer tells that the broker let it in.
void
    stx_ag_link_connect (stx_ag_agent_t *self, size_t index);

//  A reply on a publishing link (after the first): ACKs settle the outbox
//  as on the replication DEALER; the first reply after connecting says
//  the broker let this identity in, so its pending events go out.
void
    stx_ag_link_handle (stx_ag_agent_t *self, size_t index);

//  Paused: read the trust store again; when it holds the awaited key,
//  start over (HELLO, then fetch or snapshot what was not applied).
void
    stx_ag_pause_check (stx_ag_agent_t *self, int64_t now);

//  Send pending outbox events, in their order from send_from on, while
//  the publish window has room, no rate-limit hint holds us back and our
//  replica is not too far behind (s_held).
void
    stx_ag_pump (stx_ag_agent_t *self);

//  Read the replica's position into self->meta.
void
    stx_ag_refresh_meta (stx_ag_agent_t *self);

//  Destroy a CLI request and its waiters; accepts NULL.
void
    stx_ag_request_destroy (stx_ag_request_t **self_p);

//  zlistx destructor of CLI requests.
void
    stx_ag_request_destructor (void **item);

//  A CLI request of count events from routing_id (copied). Caller
//  destroys it.
stx_ag_request_t *
    stx_ag_request_new (zframe_t *routing_id, size_t count);

//  Take request's waiters out of the index (before it is destroyed).
void
    stx_ag_request_unwait (stx_ag_agent_t *self, stx_ag_request_t *request);

//  Index the events of request by id, so results find it in O(1).
void
    stx_ag_request_wait (stx_ag_agent_t *self, stx_ag_request_t *request);

//  Answer every CLI request that has all its results.
void
    stx_ag_requests_reply (stx_ag_agent_t *self);

//  Record the broker's result for one event in every CLI request waiting
//  for it.
void
    stx_ag_requests_settle (stx_ag_agent_t *self, const Stemx__Result *result);

//  Start sending over from the oldest pending event (idempotent at the
//  broker): after a WELCOME, a link coming up, a rate-limit pause or a
//  silence with events in flight.
void
    stx_ag_rewind (stx_ag_agent_t *self);

//  The rules the broker applied before sequencing, checked again before
//  the apply, so a broker that skipped one is caught: the parties
//  (stx_parties), and the version after the entry's current one (the
//  signature covers expected_version, and stx_sign_verify that the
//  version follows it: so the publisher saw the version the replica
//  holds). A breach halts replication (state changes) and gives
//  STX_ERR_INVALID; a storage error is returned as it is.
stx_status_t
    stx_ag_rules_ok (stx_ag_agent_t *self, stx_txn_t *txn, const Stemx__Event *event);

//  Send request on the current DEALER, if there is one.
void
    stx_ag_send (stx_ag_agent_t *self, Stemx__Request *request);

//  HELLO {node, lineage, last_seq} on dealer. On a publishing link it
//  only names the node (the broker stamps it on events) and asks for an
//  answer; the WELCOME's refresh flag is for the replication DEALER.
void
    stx_ag_send_hello (stx_ag_agent_t *self, zsock_t *dealer);

//  Send PING {seq} on dealer.
void
    stx_ag_send_ping (zsock_t *dealer, uint64_t seq);

//  Record every ACK of this turn in the outbox, in one commit.
void
    stx_ag_settle_flush (stx_ag_agent_t *self);

//  Abandon a snapshot in progress (its transaction); the replica is
//  unchanged.
void
    stx_ag_snapshot_abort (stx_ag_agent_t *self);

//  Put the staged CLI publishes into the outbox in one synced commit,
//  send each CLI its receipt (or the error), and let the requests wait.
void
    stx_ag_staged_flush (stx_ag_agent_t *self);

//  The replication state's name, for status and logs.
const char *
    stx_ag_state_name (stx_ag_state_t state);

//  Log a replica storage failure once per kind until the next success.
//  Replication then waits and retries; no event is ever skipped.
void
    stx_ag_store_failure (stx_ag_agent_t *self, stx_status_t status, const char *what);

//  The replica's storage works again: log it once.
void
    stx_ag_store_works (stx_ag_agent_t *self);

//  Check event's signature against the trust store before it is applied.
//  Returns true if it may be applied; else halts replication.
bool
    stx_ag_verified (stx_ag_agent_t *self, const Stemx__Event *event);

//  Start, follow and finish the background verification of a snapshot:
//  started while the store says unverified and replication runs; done,
//  the mark is cleared; a failed entry goes to stx_ag_verified, which reloads
//  the trust store (then it starts over) or pauses or halts replication.
void
    stx_ag_verifier_tick (stx_ag_agent_t *self);

//  Verify the signatures of count events on the pool; ok [i] says each.
void
    stx_ag_verify_batch (stx_ag_agent_t *self, Stemx__Event **events, bool *ok, size_t count);

//  zlistx destructor of `stemx verify` requests.
void
    stx_ag_verify_destructor (void **item);

//  Verifies past their deadline get "unknown".
void
    stx_ag_verify_expire (stx_ag_agent_t *self, int64_t now);

//  Ping the broker for every waiting verify (a fresh round trip each).
void
    stx_ag_verify_ping (stx_ag_agent_t *self);

//  A PONG answers every verify asked at the seq it names.
void
    stx_ag_verify_settle (stx_ag_agent_t *self, const Stemx__Pong *pong);

#endif
