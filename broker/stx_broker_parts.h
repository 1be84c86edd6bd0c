/*  =========================================================================
    stx_broker_parts - what the files of the broker share (private)

    The broker is one actor (stx_broker.c: construction, the loop, pipe
    commands, timers) whose jobs are in files of their own, all running in
    the actor's thread over the one state below:
      stx_broker_common.c     warnings, peer names, error replies, counters,
                              the read allowance, heartbeats
      stx_broker_sessions.c   the peer table (HELLO sessions) and snapshot
                              sessions with their credit
      stx_log_server.c        HELLO, FETCH (LOG ranges) and PING
      stx_group_commit.c      PUBLISH: admission of each event,
                              verification, the group commit, acks, fan-out
      stx_admission.c         every request: who sent it, its size and kind,
                              then the handler
      stx_broker_upkeep.c     status.json and log retention
      stx_broker_sockets.c    sockets, the registry, reload and revocation
      stx_replyq.c            replies in bounded queues (its own module)
    Nothing outside broker/ includes this header.
    ========================================================================= */

#ifndef STX_BROKER_PARTS_H_INCLUDED
#define STX_BROKER_PARTS_H_INCLUDED

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>
#include "stx_broker.h"
#include "stx_store.h"
#include "stx_parties.h"
#include "stx_nul.h"
#include "stx_taxonomy.h"
#include "stx_daemon.h"
#include "stx_wire.h"
#include "stx_keys.h"
#include "stx_sign.h"
#include "stx_policy.h"
#include "stx_ratelimit.h"
#include "stx_validate.h"
#include "stx_pool.h"
#include "stx_replyq.h"

#define STX_BK_CHUNK_ENTRIES   1024              //  entries per snapshot chunk
#define STX_BK_CHUNK_BYTES     (256 * 1024)      //  bytes per snapshot chunk
#define STX_BK_FETCH_EVENTS    1000              //  events per log range
#define STX_BK_FETCH_BYTES     (256 * 1024)      //  bytes per log range (and one more event)
#define STX_BK_PUB_HWM         8192              //  PUB send high-water mark (messages per subscriber)
#define STX_BK_PUB_EVENT_MAX   (4 * 1024)        //  larger events reach replicas by FETCH only
#define STX_BK_PUB_HEARTBEAT   10000             //  ZMTP PING to subscribers this often, and
#define STX_BK_PUB_DEAD        60000             //  ... a connection silent this long is closed
#define STX_BK_HEAP_TRIM_MS    5000              //  give freed heap back to the system this often
#define STX_BK_WARN_PER_TICK   20                //  warnings logged per heartbeat
#define STX_BK_PEER_TTL        (3600 * 1000)     //  forget a silent peer's name after
#define STX_BK_PEER_MAX        10000             //  peers remembered at most
#define STX_BK_REASONS         32                //  room for every Reason value
#define STX_BK_REBIND_MS       5000              //  how long a re-bind may retry
#define STX_BK_PUMP_CHUNKS     8                 //  snapshot chunks per session per loop turn
#define STX_BK_CREDIT_MAX      16                //  credit a session can hold at most
#define STX_BK_ROUTER_HWM      32                //  ROUTER high-water marks (messages per peer)
#define STX_BK_HELD_PEER       (1024 * 1024)     //  replies held for one peer whose queue is full
#define STX_BK_HELD_TOTAL      (64 * 1024 * 1024)//  ... and for all of them
#define STX_BK_RETRY_STUCK_MS  20                //  retry held replies that did not move
#define STX_BK_PUB_MAXMSG      4096              //  largest message a subscriber may send
#define STX_BK_FETCH_GAP_MS    1000              //  a FETCH repeating a range waits this long
#define STX_BK_TRIM_STEP       1000              //  events trimmed per heartbeat at most
#define STX_BK_READER_CHECK_MS (60 * 1000)       //  mdb_reader_check this often
#define STX_BK_GROUP_EVENTS    256               //  a group commit stops taking requests here
#define STX_BK_PUBLISH_WINDOW  4096              //  events a connection may have unanswered

//  A snapshot in progress for one peer.
typedef struct {
    zframe_t *routing_id;       //  the peer
    char *reader;               //  its organisation (or peer-HEX when insecure)
    stx_txn_t *txn;             //  read transaction the snapshot comes from
    stx_meta_t meta;            //  position of that transaction
    char *after;                //  last key sent; NULL before the first chunk
    uint64_t credit;            //  chunks the peer can take now
    uint64_t entries;           //  entries sent so far
    bool starved;               //  the reader's read allowance is spent for now
    int64_t began;              //  for the lifetime limit
    int64_t last_sent;          //  last chunk sent (or the start): for the idle timeout
} stx_bk_session_t;

//  What a peer told us in its HELLO.
typedef struct {
    char *node;                 //  its name, stamped into its events
    int64_t last_seen;
    uint64_t fetch_last;        //  last seq of the last LOG range sent to it
    int64_t fetch_at;           //  when that range was sent (0: never)
} stx_bk_peer_t;

//  One PUBLISH request waiting in the current group commit.
typedef struct {
    zframe_t *routing_id;
    Stemx__Request *request;    //  holds the packed events
    char *node;                 //  peer's name, or NULL
    bool secure;                //  false: --insecure, sequenced without a principal
    char *org;                  //  the principal, copied from the registry
    char *pillar;
    unsigned roles;
    size_t count;               //  events in the request
    Stemx__Result *results;     //  one per event
    Stemx__Result **result_ptrs;
    char **texts;               //  owned result texts (or NULL)
    bool *refused;              //  settled before sequencing: refused, or a known resend
    bool *excluded;             //  left out after a storage error
    Stemx__Event **events;      //  unpacked, kept from the checks to sequencing
    uint8_t (*ids) [STX_EVENT_ID_SIZE];     //  the results' event ids
} stx_bk_publish_t;

typedef struct {
    zsock_t *pipe;              //  actor command pipe
    zsock_t *router;
    stx_replyq_t *replies;      //  every reply goes out through it
    uint64_t replies_dropped;   //  by the reply queues before the last re-bind            //  requests
    zsock_t *publisher;         //  updates: "E" events, "H" heartbeats
    zpoller_t *poller;
    stx_store_t *store;
    stx_taxonomy_t *taxonomy;
    stx_limits_t limits;
    stx_meta_t meta;            //  committed position, refreshed after each commit
    zhashx_t *sessions;         //  routing id hex -> stx_bk_session_t
    zhashx_t *peers;            //  routing id hex -> stx_bk_peer_t
    zlistx_t *batch;            //  stx_bk_publish_t of the current group commit
    size_t batch_events;        //  events in it
    stx_pool_t *pool;           //  verifies the group's signatures on every core
    char *data_dir;
    char request_endpoint [256];    //  connectable (for the endpoints file)
    char updates_endpoint [256];
    char request_bound [256];       //  as resolved by the bind, for a re-bind
    char updates_bound [256];
    size_t max_message;
    //  Security
    bool insecure;              //  no CURVE, no registry, who = NULL
    zactor_t *auth;             //  zauth, the ZAP handler
    stx_identity_t *identity;   //  the broker's own key
    stx_registry_t *registry;   //  partners' keys: authentication and signatures
    char *registry_dir;
    char *retired_dir;
    char *zauth_dir;            //  DATA/.zauth: the broker's own folder for zauth
    unsigned zauth_generation;  //  zauth reads DATA/.zauth/gN
    zhashx_t *seen_keys;        //  curve keys that sent a request since the last bind
    zhashx_t *refused_keys;     //  unknown or retired keys already logged
    zhashx_t *buckets;          //  organisation -> stx_bucket_t
    zhashx_t *read_buckets;     //  organisation -> stx_bucket_t, in KiB of reads
    int max_batch;
    double rate;
    double burst;
    double read_rate;
    double read_burst;
    //  Counters, written to status.json
    uint64_t accepted;
    uint64_t refusals [STX_BK_REASONS];
    uint64_t disconnected_revoked;
    uint64_t rebinds;
    time_t started;
    time_t last_reload;         //  0 = never
    char *status_path;
    char *status_written;       //  the document last written
    int heartbeat_ms;
    int max_sessions;
    int session_timeout_ms;
    int session_lifetime_ms;
    int org_sessions;
    int batch_max;
    bool verbose;
    bool terminated;
    int warnings;               //  warnings logged this tick
    int suppressed;             //  warnings not logged this tick
    //  Storage
    size_t map_max;             //  the map grows up to this
    int64_t keep_events;        //  retention bounds (negative: keep all)
    int64_t keep_days;
    char *storage_full;         //  why events are refused as storage full, or NULL
    uint64_t storage_refused;   //  batches refused since storage_full was set
    uint64_t map_grown;         //  times the map was grown
    uint64_t trimmed;           //  events trimmed from the log since the start
    int64_t last_reader_check;
    int64_t last_heap_trim;
    int lock_fd;                //  holds DATA/lock while the broker runs
} stx_bk_t;

//  Take a PUBLISH into the current batch: settle resends and the allowance
//  now, keep each other event unpacked for s_batch_check (validation and
//  signatures, on the pool) and sequencing; the store never sees a refused
//  one. who is the authenticated principal, NULL in insecure mode.
//  Refusals are counted and logged when the batch is acked.
void
    stx_bk_batch_add (stx_bk_t *self, zframe_t **routing_id_p, Stemx__Request **request_p,
                      const stx_principal_t *who);

//  Sequence, commit, ack, publish: the whole batch, then empty it.
void
    stx_bk_batch_flush (stx_bk_t *self);

//  Count one refusal (an Error reply or a refused Result).
void
    stx_bk_count_refusal (stx_bk_t *self, Stemx__Reason reason);

//  Drain what is ready (up to batch_max messages, and no more PUBLISH
//  once the group holds STX_BK_GROUP_EVENTS events), then group-commit. The
//  ROUTER fair-queues its peers, so a bounded group takes turns between
//  them: one organisation's bulk import delays another's publish by about
//  two groups, not by its backlog.
void
    stx_bk_drain_router (stx_bk_t *self);

//  The map is full: end what holds read transactions (snapshot sessions)
//  and double the map, up to map_max. True if it grew.
bool
    stx_bk_grow (stx_bk_t *self);

//  CREDIT: more chunks for the peer's running snapshot session (at most
//  STX_BK_CREDIT_MAX held); without a session it is ignored.
void
    stx_bk_handle_credit (stx_bk_t *self, zframe_t *routing_id, Stemx__Credit *credit);

//  FETCH. Each LOG range may be megabytes, and ZeroMQ queues what a peer
//  does not read: so one range at a time per peer (an honest agent asks
//  for what follows the range it got; a FETCH that asks again for a range
//  already sent waits STX_BK_FETCH_GAP_MS), and the reader's read allowance.
void
    stx_bk_handle_fetch (stx_bk_t *self, zframe_t *routing_id, Stemx__Fetch *fetch, const char *reader);

//  A node name is stamped into every event of the peer and logged: valid
void
    stx_bk_handle_hello (stx_bk_t *self, zframe_t *routing_id, Stemx__Hello *hello, const char *org);

//  PONG: the committed position, and the head at the peer's sequence while
//  the heads still cover it (stemx verify compares it with the replica's).
void
    stx_bk_handle_ping (stx_bk_t *self, zframe_t *routing_id, Stemx__Ping *ping);

//  SNAPSHOT: open (or restart) the peer's snapshot session for reader,
//  within the session limits (else R_STORAGE "busy").
void
    stx_bk_handle_snapshot (stx_bk_t *self, zframe_t *routing_id, Stemx__SnapshotRequest *request,
                            const char *reader);

//  Publish a heartbeat: the broker's position, which shows a subscriber
//  what it has missed.
void
    stx_bk_heartbeat (stx_bk_t *self);

//  zhashx destructor of the peer table.
void
    stx_bk_peer_destructor (void **item);

//  The hex of routing_id, the key of the peer and session tables. Caller
//  frees.
char *
    stx_bk_peer_key (zframe_t *routing_id);

//  Name of a peer for logs: its HELLO name, else its routing id.
const char *
    stx_bk_peer_name (stx_bk_t *self, zframe_t *routing_id, char *buffer, size_t size);

//  The session of the peer at routing_id, marked as heard from now; a
//  HELLO (create) opens it. NULL for a peer that has not said HELLO.
stx_bk_peer_t *
    stx_bk_peer_touch (stx_bk_t *self, zframe_t *routing_id, bool create);

//  zlistx destructor of the group commit's requests.
void
    stx_bk_publish_destructor (void **item);

//  True if reader's read allowance has a token now (nothing is taken: a
//  read is charged by its size when sent, stx_bk_read_charge).
bool
    stx_bk_read_allowed (stx_bk_t *self, const char *reader);

//  Charge bytes sent to reader's read allowance.
void
    stx_bk_read_charge (stx_bk_t *self, const char *reader, size_t bytes);

//  Answer what (a FETCH or SNAPSHOT) with R_RATE_LIMITED naming the
//  read allowance.
void
    stx_bk_read_refuse (stx_bk_t *self, zframe_t *routing_id, const char *what);

//  Read the store's position into self->meta (logged if it fails).
void
    stx_bk_refresh_meta (stx_bk_t *self);

//  Load the registry folder, and the retired folder if it exists. At start
//  strictly (one bad cert: the broker does not start); with skipped (a
//  reload) leniently: a bad cert or a repeated key is left out and named
//  in skipped, the rest loads, so a key removed in the same change as a
//  bad file is still revoked.
stx_status_t
    stx_bk_registry_load (stx_bk_t *self, stx_registry_t **registry_p, zlistx_t *skipped,
                          char *err, size_t errlen);

//  RELOAD: a new registry, or the old one kept with the error logged.
void
    stx_bk_reload (stx_bk_t *self);

//  One bounded step of log retention (log/keep_events, log/keep_days),
//  in a write transaction of its own.
void
    stx_bk_retention_step (stx_bk_t *self);

//  Reply Error {reason, text} to the peer and count the refusal.
void
    stx_bk_send_error (stx_bk_t *self, zframe_t *routing_id, Stemx__Reason reason, const char *text);

//  End a snapshot session: its read transaction, routing id and strings;
//  accepts NULL. The one teardown of a session.
void
    stx_bk_session_destroy (stx_bk_session_t **self_p);

//  zhashx destructor of the session table (stx_bk_session_destroy).
void
    stx_bk_session_destructor (void **item);

//  End every snapshot session, telling each peer to retry (it starts over
//  after its usual pause): their read transactions must end before the
//  map can grow.
void
    stx_bk_sessions_end (stx_bk_t *self, const char *why);

//  Go on with every session that has credit left (each by at most
//  STX_BK_PUMP_CHUNKS chunks). Returns true if some still has credit, so the
//  main loop comes back without waiting.
bool
    stx_bk_sessions_service (stx_bk_t *self);

//  Bind (or bind again) both sockets and make the poller. On a first bind
//  the endpoints are the configured ones; a re-bind uses those the first
//  bind resolved (a wildcard port keeps its number).
stx_status_t
    stx_bk_sockets_bind (stx_bk_t *self, const char *request, const char *updates, int retry_ms,
                         char *err, size_t errlen);

//  The status document (docs/SECURITY.md 5) as JSON text. Caller frees.
char *
    stx_bk_status_json (stx_bk_t *self);

//  Write status.json if it changed since it was last written.
void
    stx_bk_status_write (stx_bk_t *self);

//  Log a refusal once; past STX_BK_WARN_PER_TICK per heartbeat, only count
//  them, so a flooding peer cannot flood the log.
void
    stx_bk_warn (stx_bk_t *self, const char *format, ...);

//  Remove the generation folders under DATA/.zauth except keep (NULL:
//  all). The broker owns that folder; it holds nothing else.
void
    stx_bk_zauth_clean (stx_bk_t *self, const char *keep);

//  Write the public certs zauth admits, one per ACTIVE key of the loaded
//  registry, into a fresh folder DATA/.zauth/gN, point zauth at it and
//  remove the older folders. zauth never reads the operator's registry
//  folder: czmq 4.2.1's zcertstore aborts on two files with the same key
//  (vdab.cert and vdab.cert.bak, an editor's vdab.cert~) and reads
//  subfolders and files the registry ignores, which could let a revoked
//  key with a leftover copy subscribe to PUB. False with err on failure.
bool
    stx_bk_zauth_prime (stx_bk_t *self, char *err, size_t errlen);

#endif
