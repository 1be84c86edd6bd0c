/*  =========================================================================
    stx_broker - the stemx broker as a czmq actor

    DESIGN
    The ZeroMQ Guide's Clone server made durable. One thread (this actor)
    owns everything: a ROUTER for requests, a PUB for updates, the LMDB
    store, the taxonomy. docs/PROTOCOL.md is the contract; in short:

      HELLO     -> WELCOME {lineage, seq, head, log_first, refresh_required}
      PUBLISH   -> ACK {one Result per event}, after a synced commit
      SNAPSHOT  -> SNAPSHOT chunks as credit allows, then SNAPSHOT END
      CREDIT    -> more chunks of the peer's running snapshot
      FETCH     -> LOG {a range of the log, last}
      PING      -> PONG {seq, head}
      anything else, undecodable or too large -> ERROR {reason, text}

    Group commit. When the poller wakes, the actor drains up to batch_max
    ready messages without blocking. Events of all PUBLISH requests in the
    drain are validated first (refusals never reach the store), then
    sequenced in ONE write transaction, committed (synced), and only then
    acked and published on PUB in sequence order, with the exact bytes the
    log holds (read back from the log). A request of any other kind first
    flushes the batch, so each peer sees its answers in the order it asked.
    If the commit fails, no event of the batch is acked: each gets
    R_STORAGE. If one event hits a storage error while sequencing, the
    transaction is aborted and the batch is redone without that event; so
    nothing is ever acked from memory, and no partial state remains.

    Snapshot sessions. A SNAPSHOT request opens a read transaction
    (MDB_NOTLS lets it live across loop iterations while the same thread
    writes) and walks the catalogue in key order with an `after` cursor;
    each chunk costs one credit (at most S_CREDIT_MAX held). One session
    per peer, at most max_sessions at once and org_sessions per
    organisation, dropped session_timeout_ms after its last chunk sent
    (credits alone do not keep it) or session_lifetime_ms after it began.

    Reads. LOG ranges and snapshot chunks are charged by size to the
    reader's organisation (a KiB token bucket, read_rate / read_burst),
    and a peer gets one LOG range at a time (a FETCH repeating a range just
    sent waits S_FETCH_GAP_MS): ZeroMQ queues what a peer does not read,
    so these bound what an idle reader can make the broker hold. The
    session table is the one owner of its transactions: every path that
    ends a session goes through s_session_destroy.

    Security (invariants 6 and 7; docs/SECURITY.md). Both sockets are
    CURVE servers; a zauth actor (ZAP) admits at handshake the active keys
    of the loaded registry, which the broker writes into its own folder
    DATA/.zauth/gN at start and on every reload (zauth never reads the
    operator's registry folder, whose backups would crash czmq 4.2.1's
    zcertstore or let a revoked key in). ZAP runs only then, so the broker looks the peer's
    key (the frame's "User-Id") up in its own stx_registry on EVERY request:
    an unknown or retired key gets R_UNAUTHORISED, PUBLISH needs the
    publisher or admin role, any registered role may read. Each published
    event's id is looked up first (a resend is answered for free, an id of
    another organisation is a conflict), then it is rate limited per
    organisation (token bucket), validated, its
    signature verified against the keys of the publisher's organisation,
    and sequenced with the principal, which enforces ownership and stamps
    origin and owner from the key (whatever the payload says). RELOAD
    (SIGHUP) loads a new registry leniently (bad certs are left out and
    logged by file name); if it revokes a key that has been seen
    on the ROUTER, both sockets are closed and bound again on the same
    endpoints, since libzmq 4.3 can neither re-run ZAP on a live session
    nor drop one ROUTER peer: every agent reconnects through ZAP and the
    revoked key is refused. With config.insecure none of this runs.

    Counters. Every Error reply and every refused Result is counted per
    reason; accepted events, revocation disconnects and the last reload
    too. They are written to DATA/status.json (temp + rename) at most once
    per heartbeat, when they changed; COUNTERS returns the same document.

    Threads: the actor thread only. The caller talks to it over the pipe.
    ========================================================================= */

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

#define S_CHUNK_ENTRIES     1024            //  entries per snapshot chunk
#define S_CHUNK_BYTES       (256 * 1024)    //  bytes per snapshot chunk
#define S_FETCH_EVENTS      1000            //  events per log range
#define S_FETCH_BYTES       (256 * 1024)    //  bytes per log range (and one more event)
#define S_PUB_HWM           8192            //  PUB send high-water mark (messages per subscriber)
#define S_PUB_EVENT_MAX     (4 * 1024)      //  larger events reach replicas by FETCH only
#define S_PUB_HEARTBEAT     10000           //  ZMTP PING to subscribers this often, and
#define S_PUB_DEAD          60000           //  ... a connection silent this long is closed
#define S_HEAP_TRIM_MS      5000            //  give freed heap back to the system this often
#define S_WARN_PER_TICK     20              //  warnings logged per heartbeat
#define S_PEER_TTL          (3600 * 1000)   //  forget a silent peer's name after
#define S_PEER_MAX          10000           //  peers remembered at most
#define S_REASONS           32              //  room for every Reason value
#define S_REBIND_MS         5000            //  how long a re-bind may retry
#define S_PUMP_CHUNKS       8               //  snapshot chunks per session per loop turn
#define S_CREDIT_MAX        16              //  credit a session can hold at most
#define S_ROUTER_HWM        32              //  ROUTER high-water marks (messages per peer)
#define S_HELD_PEER         (1024 * 1024)   //  replies held for one peer whose queue is full
#define S_HELD_TOTAL        (64 * 1024 * 1024)  //  ... and for all of them
#define S_RETRY_STUCK_MS    20              //  retry held replies that did not move
#define S_PUB_MAXMSG        4096            //  largest message a subscriber may send
#define S_FETCH_GAP_MS      1000            //  a FETCH repeating a range waits this long
#define S_TRIM_STEP         1000            //  events trimmed per heartbeat at most
#define S_READER_CHECK_MS   (60 * 1000)     //  mdb_reader_check this often
#define S_GROUP_EVENTS      256             //  a group commit stops taking requests here
#define S_PUBLISH_WINDOW    4096            //  events a connection may have unanswered

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
} s_session_t;

//  What a peer told us in its HELLO.
typedef struct {
    char *node;                 //  its name, stamped into its events
    int64_t last_seen;
    uint64_t fetch_last;        //  last seq of the last LOG range sent to it
    int64_t fetch_at;           //  when that range was sent (0: never)
} s_peer_t;

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
} s_publish_t;

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
    zhashx_t *sessions;         //  routing id hex -> s_session_t
    zhashx_t *peers;            //  routing id hex -> s_peer_t
    zlistx_t *batch;            //  s_publish_t of the current group commit
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
    uint64_t refusals [S_REASONS];
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
} s_broker_t;


//  --------------------------------------------------------------------------
//  Small helpers

static void
s_warn (s_broker_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  Log a refusal once; past S_WARN_PER_TICK per heartbeat, only count
//  them, so a flooding peer cannot flood the log.
static void
s_warn (s_broker_t *self, const char *format, ...)
{
    if (self->warnings >= S_WARN_PER_TICK) {
        self->suppressed++;
        return;
    }
    self->warnings++;
    char line [512];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof (line), format, args);
    va_end (args);
    zsys_warning ("%s", line);
}

static char *
s_peer_key (zframe_t *routing_id)
{
    return zframe_strhex (routing_id);
}

//  Name of a peer for logs: its HELLO name, else its routing id.
static const char *
s_peer_name (s_broker_t *self, zframe_t *routing_id, char *buffer, size_t size)
{
    char *key = s_peer_key (routing_id);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, key);
    if (peer && peer->node && *peer->node) {
        //  Checked at HELLO; still, never a control character in a log line
        snprintf (buffer, size, "%s", peer->node);
        for (char *c = buffer; *c; c++)
            if ((unsigned char) *c < 0x20 || *c == 0x7f)
                *c = '?';
    }
    else
        snprintf (buffer, size, "peer-%s", key);
    free (key);
    return buffer;
}

//  Count one refusal (an Error reply or a refused Result).
static void
s_count_refusal (s_broker_t *self, Stemx__Reason reason)
{
    if ((unsigned) reason < S_REASONS && reason != STEMX__REASON__R_OK)
        self->refusals [reason]++;
}

static void
s_send_error (s_broker_t *self, zframe_t *routing_id, Stemx__Reason reason, const char *text)
{
    s_count_refusal (self, reason);
    Stemx__Error error = STEMX__ERROR__INIT;
    error.reason = reason;
    error.text = (char *) text;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_ERROR;
    reply.error = &error;
    stx_replyq_send (self->replies, routing_id, &reply);
}

//  Publish a heartbeat: the broker's position, which shows a subscriber
//  what it has missed.
static void
s_heartbeat (s_broker_t *self)
{
    if (!self->publisher)
        return;
    Stemx__Heartbeat heartbeat = STEMX__HEARTBEAT__INIT;
    heartbeat.lineage.data = self->meta.lineage;
    heartbeat.lineage.len = STX_LINEAGE_SIZE;
    heartbeat.seq = self->meta.seq;
    heartbeat.head.data = self->meta.head;
    heartbeat.head.len = STX_HEAD_SIZE;
    stx_wire_send_heartbeat (self->publisher, &heartbeat);
}

//  Reads (LOG ranges and snapshot chunks) are charged to the reader (its
//  organisation; a peer when insecure) in KiB, from a token bucket of
//  read_burst KiB refilled at read_rate KiB/s. A read may start while the
//  bucket holds a KiB; its whole size is charged once it is sent (the
//  bucket may go below zero: the next read waits until it refilled).
static stx_bucket_t *
s_read_bucket (s_broker_t *self, const char *reader)
{
    stx_bucket_t *bucket = (stx_bucket_t *) zhashx_lookup (self->read_buckets, reader);
    if (!bucket) {
        if (zhashx_size (self->read_buckets) >= S_PEER_MAX)
            zhashx_purge (self->read_buckets);      //  only insecure peers can get here
        bucket = (stx_bucket_t *) zmalloc (sizeof (stx_bucket_t));
        assert (bucket);
        zhashx_insert (self->read_buckets, reader, bucket);
    }
    return bucket;
}

static bool
s_read_allowed (s_broker_t *self, const char *reader)
{
    if (self->read_rate <= 0)
        return true;            //  limits/read_rate = 0: no limit
    stx_bucket_t *bucket = s_read_bucket (self, reader);
    if (!stx_bucket_take (bucket, self->read_rate, self->read_burst, zclock_mono ()))
        return false;
    bucket->tokens += 1.0;      //  only looked: the read is charged when sent
    return true;
}

static void
s_read_charge (s_broker_t *self, const char *reader, size_t bytes)
{
    if (self->read_rate > 0)
        s_read_bucket (self, reader)->tokens -= (double) bytes / 1024.0;
}

static void
s_read_refuse (s_broker_t *self, zframe_t *routing_id, const char *what)
{
    char text [160];
    snprintf (text, sizeof (text), "%s: read rate limited: %.10g KiB/s allowed (burst %.10g KiB)",
              what, self->read_rate, self->read_burst);
    s_send_error (self, routing_id, STEMX__REASON__R_RATE_LIMITED, text);
}

static void
s_refresh_meta (s_broker_t *self)
{
    stx_status_t status = stx_store_meta (self->store, &self->meta);
    if (status != STX_OK)
        zsys_error ("cannot read store meta: %s", stx_strerror (status));
}


//  --------------------------------------------------------------------------
//  Peers and snapshot sessions

static void
s_peer_destroy (s_peer_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->node);
        free (*self_p);
        *self_p = NULL;
    }
}

static void
s_peer_destructor (void **item)
{
    s_peer_destroy ((s_peer_t **) item);
}

//  Forget the peer heard from least recently, to make room for a new one:
//  it is told R_NO_SESSION on its next request and says HELLO again.
static void
s_peer_evict (s_broker_t *self)
{
    const char *oldest = NULL;
    int64_t seen = INT64_MAX;
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers))
        if (peer->last_seen < seen) {
            seen = peer->last_seen;
            oldest = (const char *) zhashx_cursor (self->peers);
        }
    if (oldest) {
        char *key = strdup (oldest);
        assert (key);
        zhashx_delete (self->peers, key);
        free (key);
    }
}

//  The session of the peer at routing_id, marked as heard from now; a
//  HELLO (create) opens it. NULL for a peer that has not said HELLO.
static s_peer_t *
s_peer_touch (s_broker_t *self, zframe_t *routing_id, bool create)
{
    char *key = s_peer_key (routing_id);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, key);
    if (!peer && create) {
        if (zhashx_size (self->peers) >= S_PEER_MAX)
            s_peer_evict (self);
        peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
        assert (peer);
        zhashx_insert (self->peers, key, peer);
    }
    if (peer)
        peer->last_seen = zclock_mono ();
    free (key);
    return peer;
}

static void
s_session_destroy (s_session_t **self_p)
{
    if (*self_p) {
        s_session_t *self = *self_p;
        stx_txn_abort (&self->txn);
        zframe_destroy (&self->routing_id);
        free (self->reader);
        free (self->after);
        free (self);
        *self_p = NULL;
    }
}

static void
s_session_destructor (void **item)
{
    s_session_destroy ((s_session_t **) item);
}

//  Collects one snapshot chunk while stx_txn_entries walks the catalogue.
typedef struct {
    ProtobufCBinaryData items [S_CHUNK_ENTRIES];
    size_t count;
    size_t bytes;
    char last_key [1024];       //  of the last entry taken (stx_txn_entries' limit)
    bool stopped;               //  full: more entries may follow
} s_chunk_t;

static int
s_chunk_entry (const char *key, const uint8_t *data, size_t size, void *arg)
{
    s_chunk_t *chunk = (s_chunk_t *) arg;
    if (chunk->count == S_CHUNK_ENTRIES
    || (chunk->count > 0 && chunk->bytes + size > S_CHUNK_BYTES)) {
        chunk->stopped = true;
        return 1;
    }
    chunk->items [chunk->count].data = (uint8_t *) data;
    chunk->items [chunk->count].len = size;
    chunk->count++;
    chunk->bytes += size;
    snprintf (chunk->last_key, sizeof (chunk->last_key), "%s", key);
    return 0;
}

//  Send what the session's credit allows, but at most S_PUMP_CHUNKS chunks
//  (the main loop comes back for the rest, so one big snapshot never stalls
//  the broker). Returns true when the snapshot is complete (or failed) and
//  the session should end.
static bool
s_session_pump (s_broker_t *self, s_session_t *session)
{
    session->starved = false;
    for (int chunks = 0; session->credit > 0 && chunks < S_PUMP_CHUNKS; chunks++) {
        //  A peer whose queue is full gets no more chunks until it reads
        //  (its session times out if it never does)
        if (stx_replyq_busy (self->replies, session->routing_id)) {
            session->starved = true;
            return false;
        }
        if (!s_read_allowed (self, session->reader)) {
            session->starved = true;    //  resumes when the reader's bucket refills
            return false;
        }
        s_chunk_t chunk;
        memset (&chunk, 0, sizeof (chunk));
        stx_status_t status = stx_txn_entries (session->txn, session->after,
                                               s_chunk_entry, &chunk);
        if (status != STX_OK) {
            zsys_error ("snapshot: cannot read the catalogue: %s", stx_strerror (status));
            s_send_error (self, session->routing_id, STEMX__REASON__R_STORAGE,
                          "snapshot: cannot read the catalogue");
            return true;
        }
        if (chunk.count > 0) {
            Stemx__SnapshotChunk body = STEMX__SNAPSHOT_CHUNK__INIT;
            body.n_events = chunk.count;
            body.events = chunk.items;
            Stemx__Reply reply = STEMX__REPLY__INIT;
            reply.body_case = STEMX__REPLY__BODY_CHUNK;
            reply.chunk = &body;
            stx_replyq_send (self->replies, session->routing_id, &reply);
            s_read_charge (self, session->reader, chunk.bytes);
            session->last_sent = zclock_mono ();
            session->credit--;
            session->entries += chunk.count;
            free (session->after);
            session->after = strdup (chunk.last_key);
            assert (session->after);
        }
        if (!chunk.stopped) {
            //  Walked to the end: close the snapshot with its position
            Stemx__SnapshotEnd end = STEMX__SNAPSHOT_END__INIT;
            end.lineage.data = session->meta.lineage;
            end.lineage.len = STX_LINEAGE_SIZE;
            end.seq = session->meta.seq;
            end.head.data = session->meta.head;
            end.head.len = STX_HEAD_SIZE;
            end.entries = session->entries;
            Stemx__Reply reply = STEMX__REPLY__INIT;
            reply.body_case = STEMX__REPLY__BODY_SNAPSHOT_END;
            reply.snapshot_end = &end;
            stx_replyq_send (self->replies, session->routing_id, &reply);
            if (self->verbose)
                zsys_debug ("snapshot: sent %" PRIu64 " entries at seq %" PRIu64,
                            session->entries, session->meta.seq);
            return true;
        }
    }
    return false;
}

static void
s_handle_snapshot (s_broker_t *self, zframe_t *routing_id, Stemx__SnapshotRequest *request,
                   const char *reader)
{
    char *key = s_peer_key (routing_id);
    zhashx_delete (self->sessions, key);    //  a new request restarts it
    int mine = 0;                           //  sessions of the same reader
    for (s_session_t *other = (s_session_t *) zhashx_first (self->sessions); other;
         other = (s_session_t *) zhashx_next (self->sessions))
        mine += streq (other->reader, reader);
    char text [192];
    if ((int) zhashx_size (self->sessions) >= self->max_sessions || mine >= self->org_sessions) {
        if (mine >= self->org_sessions)
            snprintf (text, sizeof (text), "busy: %.100s has %d snapshot sessions running, "
                      "retry later", reader, mine);
        else
            snprintf (text, sizeof (text), "busy: %d snapshot sessions running, retry later",
                      self->max_sessions);
        s_send_error (self, routing_id, STEMX__REASON__R_STORAGE, text);
        free (key);
        return;
    }
    if (!s_read_allowed (self, reader)) {
        s_read_refuse (self, routing_id, "snapshot");
        free (key);
        return;
    }
    s_session_t *session = (s_session_t *) zmalloc (sizeof (s_session_t));
    assert (session);
    session->routing_id = zframe_dup (routing_id);
    session->reader = strdup (reader);
    assert (session->reader);
    session->credit = request->credit < S_CREDIT_MAX? request->credit: S_CREDIT_MAX;
    session->began = zclock_mono ();
    session->last_sent = session->began;
    stx_status_t status = stx_store_begin (self->store, false, &session->txn);
    if (status == STX_OK)
        status = stx_txn_meta (session->txn, &session->meta);
    if (status != STX_OK) {
        zsys_error ("snapshot: cannot begin read: %s", stx_strerror (status));
        s_send_error (self, routing_id, STEMX__REASON__R_STORAGE, "snapshot: storage error");
        s_session_destroy (&session);
        free (key);
        return;
    }
    if (s_session_pump (self, session))
        s_session_destroy (&session);
    else
        zhashx_insert (self->sessions, key, session);
    free (key);
}

static void
s_handle_credit (s_broker_t *self, zframe_t *routing_id, Stemx__Credit *credit)
{
    char *key = s_peer_key (routing_id);
    s_session_t *session = (s_session_t *) zhashx_lookup (self->sessions, key);
    if (!session) {
        //  Credits for chunks consumed after the session ended are normal
        if (self->verbose)
            zsys_debug ("credit without a snapshot session, ignored");
    }
    else {
        //  Credit alone does not keep a session alive: only chunks sent do
        session->credit += credit->credit;
        if (session->credit > S_CREDIT_MAX)
            session->credit = S_CREDIT_MAX;
        if (s_session_pump (self, session))
            zhashx_delete (self->sessions, key);
    }
    free (key);
}


//  Go on with every session that has credit left (each by at most
//  S_PUMP_CHUNKS chunks). Returns true if some still has credit, so the
//  main loop comes back without waiting.
static bool
s_sessions_service (s_broker_t *self)
{
    bool more = false;
    zlistx_t *done = NULL;
    s_session_t *session = (s_session_t *) zhashx_first (self->sessions);
    while (session) {
        if (session->credit > 0) {
            if (s_session_pump (self, session)) {
                if (!done) {
                    done = zlistx_new ();
                    assert (done);
                    zlistx_set_destructor (done, (zlistx_destructor_fn *) zstr_free);
                }
                zlistx_add_end (done, strdup ((const char *) zhashx_cursor (self->sessions)));
            }
            else
            if (session->credit > 0 && !session->starved)
                more = true;
        }
        session = (s_session_t *) zhashx_next (self->sessions);
    }
    if (done) {
        for (const char *key = (const char *) zlistx_first (done); key;
             key = (const char *) zlistx_next (done))
            zhashx_delete (self->sessions, key);
        zlistx_destroy (&done);
    }
    return more;
}

//  End every snapshot session, telling each peer to retry (it starts over
//  after its usual pause): their read transactions must end before the
//  map can grow.
static void
s_sessions_end (s_broker_t *self, const char *why)
{
    s_session_t *session = (s_session_t *) zhashx_first (self->sessions);
    while (session) {
        s_send_error (self, session->routing_id, STEMX__REASON__R_STORAGE, why);
        session = (s_session_t *) zhashx_next (self->sessions);
    }
    if (zhashx_size (self->sessions))
        zsys_notice ("%zu snapshot sessions ended: %s", zhashx_size (self->sessions), why);
    zhashx_purge (self->sessions);
}


//  --------------------------------------------------------------------------
//  HELLO, FETCH, PING

//  A node name is stamped into every event of the peer and logged: valid
static void
s_handle_hello (s_broker_t *self, zframe_t *routing_id, Stemx__Hello *hello, const char *org)
{
    const char *node = hello->node? hello->node: "";
    const char *invalid = stx_node_name_invalid (node);
    if (invalid) {
        //  The peer keeps the name it had; nothing of the bad one is logged
        char text [96], who [64];
        snprintf (text, sizeof (text), "hello: node name %s", invalid);
        s_warn (self, "refused request from %s: %s",
                s_peer_name (self, routing_id, who, sizeof (who)), text);
        s_send_error (self, routing_id, STEMX__REASON__R_INVALID, text);
        return;
    }
    s_peer_t *peer = s_peer_touch (self, routing_id, true);
    free (peer->node);
    peer->node = strdup (node);
    assert (peer->node);
    const stx_meta_t *meta = &self->meta;
    bool refresh = hello->lineage.len != STX_LINEAGE_SIZE
                || memcmp (hello->lineage.data, meta->lineage, STX_LINEAGE_SIZE) != 0
                || hello->last_seq + 1 < meta->log_first
                || hello->last_seq > meta->seq;
    Stemx__Welcome welcome = STEMX__WELCOME__INIT;
    welcome.lineage.data = (uint8_t *) meta->lineage;
    welcome.lineage.len = STX_LINEAGE_SIZE;
    welcome.seq = meta->seq;
    welcome.head.data = (uint8_t *) meta->head;
    welcome.head.len = STX_HEAD_SIZE;
    welcome.log_first = meta->log_first;
    welcome.refresh_required = refresh;
    welcome.publish_window = S_PUBLISH_WINDOW;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_WELCOME;
    reply.welcome = &welcome;
    stx_replyq_send (self->replies, routing_id, &reply);
    zsys_info ("hello from %s%s%s at seq %" PRIu64 "%s",
               *node? node: "(unnamed)", org? " of ": "", org? org: "",
               hello->last_seq, refresh? ", refresh required": "");
}

//  Collects a log range.
typedef struct {
    ProtobufCBinaryData *items;
    size_t count;
    size_t bytes;
} s_range_t;

//  FETCH. Each LOG range may be megabytes, and ZeroMQ queues what a peer
//  does not read: so one range at a time per peer (an honest agent asks
//  for what follows the range it got; a FETCH that asks again for a range
//  already sent waits S_FETCH_GAP_MS), and the reader's read allowance.
static void
s_handle_fetch (s_broker_t *self, zframe_t *routing_id, Stemx__Fetch *fetch, const char *reader)
{
    const stx_meta_t *meta = &self->meta;
    uint64_t from = fetch->from? fetch->from: 1;
    uint64_t to = fetch->to == 0 || fetch->to > meta->seq? meta->seq: fetch->to;
    char *peer_key = s_peer_key (routing_id);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, peer_key);
    free (peer_key);
    int64_t now = zclock_mono ();
    if (peer && peer->fetch_at && from <= peer->fetch_last
    &&  now - peer->fetch_at < S_FETCH_GAP_MS) {
        char text [160];
        snprintf (text, sizeof (text), "fetch: events up to %" PRIu64 " were sent %" PRId64
                  " ms ago; ask for what follows them, or again after %d ms",
                  peer->fetch_last, now - peer->fetch_at, S_FETCH_GAP_MS);
        s_send_error (self, routing_id, STEMX__REASON__R_RATE_LIMITED, text);
        return;
    }
    if (from <= to && !s_read_allowed (self, reader)) {
        s_read_refuse (self, routing_id, "fetch");
        return;
    }
    if (from < meta->log_first && from <= meta->seq) {
        char text [128];
        snprintf (text, sizeof (text), "fetch from %" PRIu64 " is below the log horizon %" PRIu64,
                  from, meta->log_first);
        s_send_error (self, routing_id, STEMX__REASON__R_REFRESH_REQUIRED, text);
        return;
    }
    s_range_t range = { NULL, 0, 0 };
    stx_txn_t *txn = NULL;
    uint8_t prior [STX_HEAD_SIZE];
    bool prior_known = false;
    if (from <= to) {
        stx_status_t status = stx_store_begin (self->store, false, &txn);
        if (status != STX_OK) {
            s_send_error (self, routing_id, STEMX__REASON__R_STORAGE, "fetch: storage error");
            return;
        }
        prior_known = stx_txn_head_at (txn, from - 1, prior) == STX_OK;
        uint64_t wanted = to - from + 1;
        if (wanted > S_FETCH_EVENTS)
            wanted = S_FETCH_EVENTS;
        range.items = (ProtobufCBinaryData *) calloc (wanted, sizeof (ProtobufCBinaryData));
        assert (range.items);
        for (uint64_t seq = from; seq <= to && range.count < wanted; seq++) {
            const uint8_t *data;
            size_t size;
            status = stx_txn_log_get (txn, seq, &data, &size);
            if (status != STX_OK) {
                zsys_error ("fetch: log has no seq %" PRIu64 ": %s", seq, stx_strerror (status));
                break;
            }
            if (range.count > 0 && range.bytes + size > S_FETCH_BYTES)
                break;
            range.items [range.count].data = (uint8_t *) data;
            range.items [range.count].len = size;
            range.count++;
            range.bytes += size;
        }
    }
    Stemx__LogRange log = STEMX__LOG_RANGE__INIT;
    log.n_events = range.count;
    log.events = range.items;
    log.last = meta->seq;
    log.prior_seq = from - 1;
    if (prior_known) {
        log.prior_head.data = prior;
        log.prior_head.len = STX_HEAD_SIZE;
    }
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_LOG;
    reply.log = &log;
    stx_replyq_send (self->replies, routing_id, &reply);
    stx_txn_abort (&txn);       //  after packing: items point into the map
    free (range.items);
    if (range.count) {
        s_read_charge (self, reader, range.bytes);
        if (peer) {
            peer->fetch_last = from + range.count - 1;
            peer->fetch_at = now;
        }
    }
}

//  PONG: the committed position, and the head at the peer's sequence while
//  the heads still cover it (stemx verify compares it with the replica's).
static void
s_handle_ping (s_broker_t *self, zframe_t *routing_id, Stemx__Ping *ping)
{
    Stemx__Pong pong = STEMX__PONG__INIT;
    pong.seq = self->meta.seq;
    pong.head.data = self->meta.head;
    pong.head.len = STX_HEAD_SIZE;
    pong.log_first = self->meta.log_first;
    pong.ping_seq = ping->seq;
    uint8_t head_at [STX_HEAD_SIZE];
    if (ping->seq <= self->meta.seq) {
        stx_txn_t *txn = NULL;
        stx_status_t status = stx_store_begin (self->store, false, &txn);
        if (status == STX_OK)
            status = stx_txn_head_at (txn, ping->seq, head_at);
        stx_txn_abort (&txn);
        if (status == STX_OK) {
            pong.head_at.data = head_at;
            pong.head_at.len = STX_HEAD_SIZE;
        }
    }
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_PONG;
    reply.pong = &pong;
    stx_replyq_send (self->replies, routing_id, &reply);
}


//  --------------------------------------------------------------------------
//  PUBLISH and the group commit

static void
s_publish_destroy (s_publish_t **self_p)
{
    if (*self_p) {
        s_publish_t *self = *self_p;
        zframe_destroy (&self->routing_id);
        stx_wire_request_free (&self->request);
        for (size_t index = 0; index < self->count; index++) {
            free (self->texts [index]);
            stx_event_free (&self->events [index]);
        }
        free (self->events);
        free (self->ids);
        free (self->texts);
        free (self->results);
        free (self->result_ptrs);
        free (self->refused);
        free (self->excluded);
        free (self->node);
        free (self->org);
        free (self->pillar);
        free (self);
        *self_p = NULL;
    }
}

static void
s_publish_destructor (void **item)
{
    s_publish_destroy ((s_publish_t **) item);
}

//  Set the result of one event; text is copied.
static void
s_publish_result (s_publish_t *self, size_t index, Stemx__Reason reason, const char *text,
                  uint64_t seq, uint64_t version)
{
    Stemx__Result *result = &self->results [index];
    result->reason = reason;
    result->seq = seq;
    result->version = version;
    free (self->texts [index]);
    self->texts [index] = text && *text? strdup (text): NULL;
    result->text = self->texts [index]? self->texts [index]: (char *) "";
}

//  Copy the event id into its result (the request holds the results' ids,
//  so they never point into a freed unpacked event).
static void
s_publish_set_id (s_publish_t *publish, size_t index, const Stemx__Event *event)
{
    Stemx__Result *result = &publish->results [index];
    if (event->event_id.len != STX_EVENT_ID_SIZE)
        return;
    result->event_id.data = publish->ids [index];
    memcpy (result->event_id.data, event->event_id.data, STX_EVENT_ID_SIZE);
    result->event_id.len = STX_EVENT_ID_SIZE;
}

//  Take one token of the bucket of key (an organisation, or a peer in
//  insecure mode). True if the event may go on; else *retry_ms says when
//  the bucket holds need tokens (the need-th refusal of a request waits
//  for need tokens, so an agent that waits for the first hint finds room).
static bool
s_rate_take (s_broker_t *self, const char *key, size_t need, uint32_t *retry_ms)
{
    if (self->rate <= 0)
        return true;            //  limits/rate = 0: no limit
    stx_bucket_t *bucket = (stx_bucket_t *) zhashx_lookup (self->buckets, key);
    if (!bucket) {
        if (zhashx_size (self->buckets) >= S_PEER_MAX)
            zhashx_purge (self->buckets);   //  only insecure peers can get here
        bucket = (stx_bucket_t *) zmalloc (sizeof (stx_bucket_t));
        assert (bucket);
        zhashx_insert (self->buckets, key, bucket);
    }
    int64_t now = zclock_mono ();
    if (stx_bucket_take (bucket, self->rate, self->burst, now))
        return true;
    double wait = ((double) need - bucket->tokens) * 1000.0 / self->rate;
    *retry_ms = wait < 1? 1: wait > 60000? 60000: (uint32_t) wait;
    return false;
}

//  Take a PUBLISH into the current batch: settle resends and the allowance
//  now, keep each other event unpacked for s_batch_check (validation and
//  signatures, on the pool) and sequencing; the store never sees a refused
//  one. who is the authenticated principal, NULL in insecure mode.
//  Refusals are counted and logged when the batch is acked.
static void
s_batch_add (s_broker_t *self, zframe_t **routing_id_p, Stemx__Request **request_p,
             const stx_principal_t *who)
{
    s_publish_t *publish = (s_publish_t *) zmalloc (sizeof (s_publish_t));
    assert (publish);
    publish->routing_id = *routing_id_p;
    *routing_id_p = NULL;
    publish->request = *request_p;
    *request_p = NULL;
    Stemx__Publish *body = publish->request->publish;
    size_t count = body->n_events;
    publish->count = count;
    publish->results = (Stemx__Result *) calloc (count + 1, sizeof (Stemx__Result));
    publish->result_ptrs = (Stemx__Result **) calloc (count + 1, sizeof (Stemx__Result *));
    publish->texts = (char **) calloc (count + 1, sizeof (char *));
    publish->refused = (bool *) calloc (count + 1, sizeof (bool));
    publish->excluded = (bool *) calloc (count + 1, sizeof (bool));
    publish->events = (Stemx__Event **) calloc (count + 1, sizeof (Stemx__Event *));
    publish->ids = calloc (count + 1, STX_EVENT_ID_SIZE);
    assert (publish->ids && publish->results && publish->result_ptrs && publish->texts
            && publish->refused && publish->excluded && publish->events);

    char *key = s_peer_key (publish->routing_id);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, key);
    free (key);
    if (peer && peer->node && *peer->node)
        publish->node = strdup (peer->node);
    if (who) {
        publish->secure = true;
        publish->org = strdup (who->org);
        publish->pillar = strdup (who->pillar? who->pillar: "");
        publish->roles = who->roles;
        assert (publish->org && publish->pillar);
    }
    char bucket_key [64];
    if (!who) {
        char *hex = s_peer_key (publish->routing_id);
        snprintf (bucket_key, sizeof (bucket_key), "peer-%.50s", hex);
        free (hex);
    }

    stx_txn_t *read = NULL;         //  for looking ids up, opened when needed
    size_t limited = 0;
    for (size_t index = 0; index < count; index++) {
        Stemx__Result init = STEMX__RESULT__INIT;
        publish->results [index] = init;
        publish->result_ptrs [index] = &publish->results [index];
        Stemx__Event *event = NULL;
        char err [STX_ERRLEN] = "";
        stx_status_t status = stx_event_unpack (body->events [index].data,
                                                body->events [index].len, &event);
        if (status != STX_OK)
            snprintf (err, sizeof (err), "events[%zu]: undecodable Event", index);
        else {
            s_publish_set_id (publish, index, event);
            //  A resend of a stored event is answered for free with its
            //  first result (after a reconnect an agent resends what it
            //  had in flight: that must not burn its allowance); an id
            //  taken by another organisation or event is a conflict
            stx_sequenced_t known = { 0, 0, false };
            stx_status_t found = STX_ERR_NOT_FOUND;
            if (event->event_id.len == STX_EVENT_ID_SIZE
            && (read || stx_store_begin (self->store, false, &read) == STX_OK))
                found = stx_txn_lookup_id (read, event, who? who->org: NULL, &known,
                                           err, sizeof (err));
            if (found == STX_OK) {
                s_publish_result (publish, index, STEMX__REASON__R_OK, NULL,
                                  known.seq, known.version);
                publish->refused [index] = true;    //  settled: not sequenced again
                stx_event_free (&event);
                continue;
            }
            if (found != STX_ERR_NOT_FOUND)
                status = found;     //  a conflict, or a storage error (R_STORAGE)
            else
            //  The allowance first: a flood costs no validation or crypto
            if (!s_rate_take (self, who? who->org: bucket_key, limited + 1,
                              &publish->results [index].retry_after_ms)) {
                status = stx_fail (err, sizeof (err), STX_ERR_RATE_LIMITED,
                                   "rate limited: %.10g events/s allowed (burst %.10g)",
                                   self->rate, self->burst);
                limited++;
            }
        }
        if (status == STX_OK) {
            publish->events [index] = event;
            continue;
        }
        stx_event_free (&event);
        if (status != STX_OK) {
            Stemx__Reason reason = stx_status_reason (status);
            if (reason == STEMX__REASON__R_OK)
                reason = STEMX__REASON__R_MALFORMED;
            s_publish_result (publish, index, reason, *err? err: stx_strerror (status), 0, 0);
            publish->refused [index] = true;
        }
    }
    stx_txn_abort (&read);
    zlistx_add_end (self->batch, publish);
    self->batch_events += count;
}

//  One event of the group for the pool: its verdict is written only here.
typedef struct {
    s_publish_t *publish;
    size_t index;
    stx_status_t status;
    char *text;                 //  the refusal, allocated only for a refusal
} s_check_t;

typedef struct {
    s_broker_t *broker;
    s_check_t *checks;
} s_checks_t;

static void
s_check_one (void *arg, size_t index)
{
    s_checks_t *checks = (s_checks_t *) arg;
    s_check_t *check = &checks->checks [index];
    s_broker_t *self = checks->broker;
    const Stemx__Event *event = check->publish->events [check->index];
    char err [STX_ERRLEN] = "";
    stx_status_t status = STX_OK;
    //  A NUL inside a string hides the rest of it from validation, which
    //  sees C strings: look at the bytes first. The path is given as
    //  validation gives it, inside the entry's kind
    const ProtobufCBinaryData *raw = &check->publish->request->publish->events [check->index];
    char path [256];
    if (stx_nul_find (&stemx__event__descriptor, raw->data, raw->len, path, sizeof (path))) {
        const char *inner = path;
        if (strncmp (path, "entry.", 6) == 0 && strchr (path + 6, '.'))
            inner = strchr (path + 6, '.') + 1;
        status = stx_fail_at (err, sizeof (err), STX_ERR_INVALID, event->key, inner,
                              "holds a NUL byte");
    }
    if (status == STX_OK)
        status = stx_validate_event (self->taxonomy, &self->limits, event, err, sizeof (err));
    if (status == STX_OK && check->publish->secure)
        status = stx_sign_verify_as (event, self->registry, check->publish->org,
                                     err, sizeof (err));
    check->status = status;
    if (status != STX_OK)
        check->text = strdup (*err? err: stx_strerror (status));
}

//  Validate and verify every event the group still holds, on all cores
//  (the registry and taxonomy are only read meanwhile); refuse the bad.
static void
s_batch_check (s_broker_t *self)
{
    size_t count = 0;
    s_publish_t *publish = (s_publish_t *) zlistx_first (self->batch);
    for (; publish; publish = (s_publish_t *) zlistx_next (self->batch))
        for (size_t index = 0; index < publish->count; index++)
            count += publish->events [index] != NULL;
    if (count == 0)
        return;
    s_checks_t checks = { self, (s_check_t *) calloc (count, sizeof (s_check_t)) };
    assert (checks.checks);
    count = 0;
    publish = (s_publish_t *) zlistx_first (self->batch);
    for (; publish; publish = (s_publish_t *) zlistx_next (self->batch))
        for (size_t index = 0; index < publish->count; index++)
            if (publish->events [index]) {
                checks.checks [count].publish = publish;
                checks.checks [count++].index = index;
            }
    stx_pool_run (self->pool, s_check_one, &checks, count);
    for (size_t index = 0; index < count; index++) {
        s_check_t *check = &checks.checks [index];
        if (check->status == STX_OK)
            continue;
        Stemx__Reason reason = stx_status_reason (check->status);
        if (reason == STEMX__REASON__R_OK)
            reason = STEMX__REASON__R_MALFORMED;
        s_publish_result (check->publish, check->index, reason, check->text, 0, 0);
        check->publish->refused [check->index] = true;
        stx_event_free (&check->publish->events [check->index]);
        free (check->text);
    }
    free (checks.checks);
}

static bool
s_storage_failure (stx_status_t status)
{
    switch (status) {
        case STX_ERR_MAP_FULL:
        case STX_ERR_STORAGE:
        case STX_ERR_NOMEM:
        case STX_ERR_IO:
        case STX_ERR_GAP:
        case STX_ERR_STALE:
        case STX_ERR_TIMEOUT:
            return true;
        default:
            return false;
    }
}

//  One attempt at sequencing the whole batch in one write transaction.
//  Returns STX_OK with the transaction committed; or the storage error, after
//  which the caller decides (an event was excluded: redo; else give up).
static stx_status_t
s_batch_attempt (s_broker_t *self, bool *excluded_one, char *err, size_t errlen)
{
    *excluded_one = false;
    stx_txn_t *txn = NULL;
    stx_status_t status = stx_store_begin (self->store, true, &txn);
    if (status != STX_OK)
        return stx_fail (err, errlen, status, "cannot begin write: %s", stx_strerror (status));

    s_publish_t *publish = (s_publish_t *) zlistx_first (self->batch);
    while (publish) {
        for (size_t index = 0; index < publish->count; index++) {
            if (publish->refused [index] || publish->excluded [index])
                continue;
            //  Sequencing restamps what it sets, so a redone attempt may
            //  take the same unpacked event again
            Stemx__Event *event = publish->events [index];
            assert (event);
            if (publish->node) {
                if (event->node && event->node != protobuf_c_empty_string)
                    free (event->node);
                event->node = strdup (publish->node);
                assert (event->node);
            }
            stx_sequenced_t out = { 0, 0, false };
            char text [STX_ERRLEN] = "";
            stx_principal_t principal = { publish->org, publish->pillar, publish->roles };
            //  A new event names known organisations with their own pillars
            //  (a resend gets its first answer, whatever changed since)
            status = STX_OK;
            if (event->event_id.len == STX_EVENT_ID_SIZE
            &&  stx_txn_lookup_id (txn, event, publish->secure? publish->org: NULL, &out, text,
                                   sizeof (text))
                == STX_ERR_NOT_FOUND)
                status = stx_parties_check (txn, event, (int64_t) zclock_time (),
                                            self->registry, true, text, sizeof (text));
            if (status == STX_OK)
                status = stx_txn_sequence (txn, event, publish->secure? &principal: NULL,
                                           &out, text, sizeof (text));
            if (status == STX_ERR_DUPLICATE)
                out.duplicate = true, status = STX_OK;
            if (status == STX_OK)
                s_publish_result (publish, index, STEMX__REASON__R_OK, NULL, out.seq, out.version);
            else
            if (status == STX_ERR_MAP_FULL || status == STX_ERR_NO_SPACE
            ||  status == STX_ERR_IO) {
                //  The store is full, not this event: the whole batch waits
                //  (the caller grows the map and retries, or refuses all)
                stx_txn_abort (&txn);
                return stx_fail (err, errlen, status, "%s", text);
            }
            else
            if (s_storage_failure (status)) {
                //  Leave this event out and let the caller redo the batch
                char line [STX_ERRLEN + 32];
                snprintf (line, sizeof (line), "%s: %s", stx_strerror (status), text);
                s_publish_result (publish, index, STEMX__REASON__R_STORAGE, line, 0, 0);
                publish->excluded [index] = true;
                *excluded_one = true;
                stx_txn_abort (&txn);
                return stx_fail (err, errlen, status, "%s", line);
            }
            else
                s_publish_result (publish, index, stx_status_reason (status),
                                  *text? text: stx_strerror (status), 0, 0);
        }
        publish = (s_publish_t *) zlistx_next (self->batch);
    }
    status = stx_txn_commit (&txn);
    if (status != STX_OK)
        return stx_fail (err, errlen, status, "commit failed: %s", stx_strerror (status));
    return STX_OK;
}

//  The map is full: end what holds read transactions (snapshot sessions)
//  and double the map, up to map_max. True if it grew.
static bool
s_grow (s_broker_t *self)
{
    stx_store_info_t info;
    if (stx_store_info (self->store, &info) != STX_OK || info.map_size >= self->map_max)
        return false;
    s_sessions_end (self, "busy: the broker is growing its store, retry the snapshot");
    size_t size = 0;
    stx_status_t status = stx_store_grow_step (self->store, self->map_max, &size);
    if (status != STX_OK) {
        zsys_error ("storage: cannot grow the map from %.1f MiB: %s",
                    info.map_size / 1048576.0, stx_strerror (status));
        return false;
    }
    self->map_grown++;
    zsys_notice ("storage: map grown from %.1f MiB to %.1f MiB (broker/map_max %.1f MiB)",
                 info.map_size / 1048576.0, size / 1048576.0, self->map_max / 1048576.0);
    return true;
}

//  The text every event of a batch refused for storage gets.
static void
s_storage_text (stx_status_t status, const char *err, char *text, size_t size)
{
    if (status == STX_ERR_MAP_FULL)
        snprintf (text, size,
                  "storage full: the catalogue reached its map size limit (map_max)");
    else
    if (status == STX_ERR_NO_SPACE)
        snprintf (text, size, "storage full: no space left on device");
    else
    if (status == STX_ERR_IO)
        snprintf (text, size, "storage full: input/output error writing the store "
                  "(a full or failing disk)");
    else
        snprintf (text, size, "storage error: %s", err);
}

//  Attempt the batch, leaving out events that hit a storage error of their
//  own; on MDB_MAP_FULL grow the map and try once more.
static stx_status_t
s_batch_commit (s_broker_t *self, char *err, size_t errlen)
{
    stx_status_t status;
    bool excluded_one;
    bool grown = false;
    while (true) {
        do
            status = s_batch_attempt (self, &excluded_one, err, errlen);
        while (status != STX_OK && excluded_one);
        if (status != STX_ERR_MAP_FULL || grown || !s_grow (self))
            break;
        grown = true;
    }
    return status;
}

//  Sequence, commit, ack, publish: the whole batch, then empty it.
static void
s_batch_flush (s_broker_t *self)
{
    if (zlistx_size (self->batch) == 0)
        return;
    s_batch_check (self);
    uint64_t before = self->meta.seq;
    char err [STX_ERRLEN] = "";
    stx_status_t status = s_batch_commit (self, err, sizeof (err));

    if (status != STX_OK) {
        //  Nothing of this batch is stored: no event is acked
        char text [STX_ERRLEN + 32];
        s_storage_text (status, err, text, sizeof (text));
        //  Logged once while the condition lasts; the broker keeps serving
        if (!self->storage_full || strcmp (self->storage_full, text) != 0) {
            zsys_error ("refusing events: %s (%s); reads, fetches and snapshots go on",
                        text, err);
            free (self->storage_full);
            self->storage_full = strdup (text);
            assert (self->storage_full);
        }
        self->storage_refused++;
        s_publish_t *publish = (s_publish_t *) zlistx_first (self->batch);
        while (publish) {
            for (size_t index = 0; index < publish->count; index++) {
                Stemx__Result *result = &publish->results [index];
                if (publish->refused [index] || publish->excluded [index])
                    continue;
                //  A resend of an event committed earlier stays acked
                if (result->reason == STEMX__REASON__R_OK
                &&  result->seq != 0 && result->seq <= before)
                    continue;
                s_publish_result (publish, index, STEMX__REASON__R_STORAGE, text, 0, 0);
            }
            publish = (s_publish_t *) zlistx_next (self->batch);
        }
    }
    s_refresh_meta (self);
    if (status != STX_OK && self->meta.seq != before)
        zsys_error ("store moved from %" PRIu64 " to %" PRIu64 " on a failed commit",
                    before, self->meta.seq);
    if (status == STX_OK && self->storage_full && self->meta.seq > before) {
        zsys_notice ("storing events again after %" PRIu64 " refused batches (%s)",
                     self->storage_refused, self->storage_full);
        zstr_free (&self->storage_full);
        self->storage_refused = 0;
    }

    if (self->meta.seq > before)
        self->accepted += self->meta.seq - before;

    //  Acks, only now that the commit is synced. Each refusal is counted;
    //  the log gets one line per reason per request, naming the first
    //  event refused for it (and at most S_WARN_PER_TICK lines a heartbeat)
    s_publish_t *publish = (s_publish_t *) zlistx_first (self->batch);
    while (publish) {
        size_t counts [S_REASONS] = { 0 };
        const char *first [S_REASONS] = { NULL };
        for (size_t index = 0; index < publish->count; index++) {
            const Stemx__Result *result = &publish->results [index];
            if (result->reason == STEMX__REASON__R_OK || (unsigned) result->reason >= S_REASONS)
                continue;
            s_count_refusal (self, result->reason);
            if (counts [result->reason]++ == 0)
                first [result->reason] = result->text;
        }
        for (int reason = 1; reason < S_REASONS; reason++) {
            if (counts [reason] == 0)
                continue;
            char who [64], more [64] = "";
            if (counts [reason] > 1)
                snprintf (more, sizeof (more), " (and %zu more like it)", counts [reason] - 1);
            s_warn (self, "refused event from %s%s%s%s: %s%s",
                    s_peer_name (self, publish->routing_id, who, sizeof (who)),
                    publish->org? " (": "", publish->org? publish->org: "",
                    publish->org? ")": "", first [reason], more);
        }
        Stemx__Ack ack = STEMX__ACK__INIT;
        ack.n_results = publish->count;
        ack.results = publish->result_ptrs;
        Stemx__Reply reply = STEMX__REPLY__INIT;
        reply.body_case = STEMX__REPLY__BODY_ACK;
        reply.ack = &ack;
        stx_replyq_send (self->replies, publish->routing_id, &reply);
        publish = (s_publish_t *) zlistx_next (self->batch);
    }
    zlistx_purge (self->batch);
    self->batch_events = 0;

    //  Fan out the new events, in order, as the log holds them
    if (self->meta.seq > before) {
        stx_txn_t *txn = NULL;
        bool skipped = false;
        status = stx_store_begin (self->store, false, &txn);
        for (uint64_t seq = before + 1; status == STX_OK && seq <= self->meta.seq; seq++) {
            const uint8_t *data;
            size_t size;
            status = stx_txn_log_get (txn, seq, &data, &size);
            //  A subscriber's queue is bounded in messages (S_PUB_HWM), so
            //  its bytes are bounded only if every message is small: a
            //  larger event is left to the replicas' FETCH, which the
            //  heartbeat after this group starts at once
            if (status == STX_OK && size <= S_PUB_EVENT_MAX)
                stx_wire_publish (self->publisher, STX_TOPIC_EVENT, data, size);
            else
            if (status == STX_OK)
                skipped = true;
        }
        if (status != STX_OK)
            zsys_error ("cannot read the log to publish: %s (replicas will fetch)",
                        stx_strerror (status));
        stx_txn_abort (&txn);
        if (skipped)
            s_heartbeat (self);
        if (self->verbose)
            zsys_debug ("committed %" PRIu64 " events, seq %" PRIu64,
                        self->meta.seq - before, self->meta.seq);
    }
}


//  --------------------------------------------------------------------------
//  Requests

//  The registered key of the peer that sent frame, or NULL after refusing
//  it: no User-Id (not a CURVE connection), an unknown key (removed from
//  the registry since the handshake) or a retired one. Logged once per key
//  until the next reload.
static const stx_key_t *
s_authenticate (s_broker_t *self, zframe_t *routing_id, zframe_t *frame)
{
    const char *user = zframe_meta (frame, "User-Id");
    const stx_key_t *key = user && *user? stx_registry_by_curve (self->registry, user): NULL;
    if (key && !key->retired) {
        if (!zhashx_lookup (self->seen_keys, user))
            zhashx_insert (self->seen_keys, user, (void *) "seen");
        return key;
    }
    char text [160];
    snprintf (text, sizeof (text), "key %.40s is %s", user && *user? user: "(none)",
              key? "retired": "not registered");
    const char *logged = user && *user? user: "(none)";
    if (!zhashx_lookup (self->refused_keys, logged)) {
        if (zhashx_size (self->refused_keys) >= S_PEER_MAX)
            zhashx_purge (self->refused_keys);
        zhashx_insert (self->refused_keys, logged, (void *) "logged");
        char who [64];
        s_warn (self, "refused request from %s: %s%s%.100s%s%.200s%s",
                s_peer_name (self, routing_id, who, sizeof (who)), text,
                key? " (": "", key? key->org: "", key? ", ": "", key? key->file: "",
                key? ")": "");
    }
    s_send_error (self, routing_id, STEMX__REASON__R_UNAUTHORISED, text);
    return NULL;
}

static void
s_handle_message (s_broker_t *self, zmsg_t *msg)
{
    char who [64];
    zframe_t *routing_id = zmsg_pop (msg);
    if (!routing_id)
        return;
    //  Who is asking, from the CURVE key (frames of one message share it)
    stx_principal_t principal = { NULL, NULL, 0 };
    if (!self->insecure) {
        zframe_t *first = zmsg_first (msg);
        const stx_key_t *key = s_authenticate (self, routing_id, first? first: routing_id);
        if (!key) {
            zframe_destroy (&routing_id);
            return;
        }
        principal = stx_key_principal (key);
    }
    if (zmsg_size (msg) != 1) {
        char text [96];
        snprintf (text, sizeof (text), "expected one frame, got %zu", zmsg_size (msg));
        s_warn (self, "malformed request from %s: %s",
                s_peer_name (self, routing_id, who, sizeof (who)), text);
        s_send_error (self, routing_id, STEMX__REASON__R_MALFORMED, text);
        zframe_destroy (&routing_id);
        return;
    }
    zframe_t *frame = zmsg_first (msg);
    Stemx__Request *request = NULL;
    stx_status_t status = stx_wire_decode_request (frame, self->max_message, &request);
    if (status != STX_OK) {
        char text [128];
        if (status == STX_ERR_TOO_LARGE)
            snprintf (text, sizeof (text), "message of %zu bytes is over the limit of %zu",
                      zframe_size (frame), self->max_message);
        else
            snprintf (text, sizeof (text), "undecodable request (%zu bytes)", zframe_size (frame));
        s_warn (self, "refused request from %s: %s",
                s_peer_name (self, routing_id, who, sizeof (who)), text);
        s_send_error (self, routing_id, stx_status_reason (status), text);
        zframe_destroy (&routing_id);
        return;
    }
    if (self->verbose)
        zsys_debug ("%s from %s", stx_wire_request_name (request),
                    s_peer_name (self, routing_id, who, sizeof (who)));
    //  A node name with a NUL in it: refused as its control character
    char nul_path [64];
    if (request->body_case == STEMX__REQUEST__BODY_HELLO
    &&  stx_nul_find (&stemx__request__descriptor, zframe_data (frame), zframe_size (frame),
                      nul_path, sizeof (nul_path))) {
        const char *text = "hello: node name holds control characters";
        s_warn (self, "refused request from %s: %s",
                s_peer_name (self, routing_id, who, sizeof (who)), text);
        s_send_error (self, routing_id, STEMX__REASON__R_INVALID, text);
        stx_wire_request_free (&request);
        zframe_destroy (&routing_id);
        return;
    }
    //  HELLO comes first on every connection: it names the node stamped
    //  into its events, and a peer that never said it holds no state here
    if (request->body_case != STEMX__REQUEST__BODY_HELLO
    &&  !s_peer_touch (self, routing_id, false)) {
        char text [160];
        snprintf (text, sizeof (text), "%s: say HELLO first on this connection (the broker "
                  "holds no session for it), then repeat", stx_wire_request_name (request));
        s_warn (self, "refused request from %s: %s",
                s_peer_name (self, routing_id, who, sizeof (who)), text);
        s_send_error (self, routing_id, STEMX__REASON__R_NO_SESSION, text);
        stx_wire_request_free (&request);
        zframe_destroy (&routing_id);
        return;
    }

    //  Roles: PUBLISH needs publisher or admin; any registered role reads
    //  (a publishing agent is a replica too)
    bool denied = false;
    if (!self->insecure) {
        if (request->body_case == STEMX__REQUEST__BODY_PUBLISH)
            denied = !(principal.roles & (STX_ROLE_PUBLISHER | STX_ROLE_ADMIN));
        else
            denied = !(principal.roles & (STX_ROLE_READER | STX_ROLE_PUBLISHER | STX_ROLE_ADMIN));
    }
    if (denied) {
        char text [160];
        if (request->body_case == STEMX__REQUEST__BODY_PUBLISH)
            snprintf (text, sizeof (text), "publish: %.100s has no publisher role", principal.org);
        else
            snprintf (text, sizeof (text), "%s: %.100s has no role",
                      stx_wire_request_name (request), principal.org);
        s_warn (self, "refused request from %s: %s",
                s_peer_name (self, routing_id, who, sizeof (who)), text);
        s_send_error (self, routing_id, STEMX__REASON__R_UNAUTHORISED, text);
        stx_wire_request_free (&request);
        zframe_destroy (&routing_id);
        return;
    }
    if (request->body_case == STEMX__REQUEST__BODY_PUBLISH) {
        size_t events = request->publish->n_events;
        if (self->max_batch > 0 && events > (size_t) self->max_batch) {
            char text [128];
            snprintf (text, sizeof (text), "publish of %zu events is over the limit of %d",
                      events, self->max_batch);
            s_warn (self, "refused request from %s: %s",
                    s_peer_name (self, routing_id, who, sizeof (who)), text);
            s_send_error (self, routing_id, STEMX__REASON__R_TOO_LARGE, text);
            stx_wire_request_free (&request);
            zframe_destroy (&routing_id);
            return;
        }
        s_batch_add (self, &routing_id, &request, self->insecure? NULL: &principal);
        return;
    }
    //  Any other request first completes the batch, keeping per-peer order
    s_batch_flush (self);
    //  Reads are charged to the organisation (to the peer when insecure)
    char reader [128];
    if (principal.org)
        snprintf (reader, sizeof (reader), "%.120s", principal.org);
    else {
        char *hex = s_peer_key (routing_id);
        snprintf (reader, sizeof (reader), "peer-%.100s", hex);
        free (hex);
    }
    switch (request->body_case) {
        case STEMX__REQUEST__BODY_HELLO:
            s_handle_hello (self, routing_id, request->hello, principal.org);
            break;
        case STEMX__REQUEST__BODY_SNAPSHOT:
            s_handle_snapshot (self, routing_id, request->snapshot, reader);
            break;
        case STEMX__REQUEST__BODY_CREDIT:
            s_handle_credit (self, routing_id, request->credit);
            break;
        case STEMX__REQUEST__BODY_FETCH:
            s_handle_fetch (self, routing_id, request->fetch, reader);
            break;
        case STEMX__REQUEST__BODY_PING:
            s_handle_ping (self, routing_id, request->ping);
            break;
        default: {
            char text [96];
            snprintf (text, sizeof (text), "%s: not served by the broker",
                      stx_wire_request_name (request));
            s_warn (self, "refused request from %s: %s",
                    s_peer_name (self, routing_id, who, sizeof (who)), text);
            s_send_error (self, routing_id, STEMX__REASON__R_MALFORMED, text);
            break;
        }
    }
    stx_wire_request_free (&request);
    zframe_destroy (&routing_id);
}

//  Drain what is ready (up to batch_max messages, and no more PUBLISH
//  once the group holds S_GROUP_EVENTS events), then group-commit. The
//  ROUTER fair-queues its peers, so a bounded group takes turns between
//  them: one organisation's bulk import delays another's publish by about
//  two groups, not by its backlog.
static void
s_drain_router (s_broker_t *self)
{
    for (int count = 0; count < self->batch_max; count++) {
        if (count > 0 && !(zsock_events (self->router) & ZMQ_POLLIN))
            break;
        if (self->batch_events >= S_GROUP_EVENTS)
            break;
        zmsg_t *msg = zmsg_recv (self->router);
        if (!msg)
            break;
        s_handle_message (self, msg);
        zmsg_destroy (&msg);
    }
    s_batch_flush (self);
}


//  --------------------------------------------------------------------------
//  Status document (DATA/status.json)

static char *
s_status_json (s_broker_t *self)
{
    char started [32], reload [32];
    char head [STX_HEAD_SIZE * 2 + 1], lineage [STX_LINEAGE_SIZE * 2 + 1];
    stx_daemon_iso_time (self->started, started, sizeof (started));
    if (self->last_reload)
        stx_daemon_iso_time (self->last_reload, reload, sizeof (reload));
    stx_hex (self->meta.head, STX_HEAD_SIZE, head);
    stx_hex (self->meta.lineage, STX_LINEAGE_SIZE, lineage);

    json_t *refusals = json_object ();
    const ProtobufCEnumDescriptor *reasons = &stemx__reason__descriptor;
    for (unsigned index = 0; index < reasons->n_values; index++) {
        int value = reasons->values [index].value;
        assert (value >= 0 && value < S_REASONS);
        if (value != STEMX__REASON__R_OK)
            json_object_set_new (refusals, reasons->values [index].name,
                                 json_integer ((json_int_t) self->refusals [value]));
    }
    stx_store_info_t info;
    memset (&info, 0, sizeof (info));
    stx_store_info (self->store, &info);
    json_t *storage = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
        "map_size", (json_int_t) info.map_size,
        "map_used", (json_int_t) info.map_used,
        "map_max", (json_int_t) self->map_max,
        "map_grown", (json_int_t) self->map_grown,
        "log_first", (json_int_t) self->meta.log_first,
        "trimmed", (json_int_t) self->trimmed,
        "full", self->storage_full? json_string (self->storage_full): json_null ());
    assert (storage);
    json_t *replies = json_pack ("{s:I, s:I, s:I}",
        "held", (json_int_t) (self->replies? stx_replyq_held (self->replies): 0),
        "held_bytes", (json_int_t) (self->replies? stx_replyq_held_bytes (self->replies): 0),
        "dropped", (json_int_t) (self->replies_dropped
                                 + (self->replies? stx_replyq_dropped (self->replies): 0)));
    assert (replies);
    json_t *doc = json_pack ("{s:i, s:s, s:I, s:s, s:s, s:b, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:o, s:o}",
        "pid", (int) getpid (),
        "started", started,
        "seq", (json_int_t) self->meta.seq,
        "head", head,
        "lineage", lineage,
        "insecure", self->insecure,
        "registry_keys", (json_int_t) (self->registry? stx_registry_size (self->registry): 0),
        "peers", (json_int_t) zhashx_size (self->peers),
        "accepted", (json_int_t) self->accepted,
        "refusals", refusals,
        "disconnected_revoked", (json_int_t) self->disconnected_revoked,
        "rebinds", (json_int_t) self->rebinds,
        "last_reload", self->last_reload? json_string (reload): json_null (),
        "storage", storage,
        "replies", replies);
    assert (doc);
    char *text = json_dumps (doc, JSON_INDENT (2));
    assert (text);
    json_decref (doc);
    return text;
}

//  Write status.json if it changed since it was last written.
static void
s_status_write (s_broker_t *self)
{
    char *text = s_status_json (self);
    if (self->status_written && streq (self->status_written, text)) {
        free (text);
        return;
    }
    char err [STX_ERRLEN] = "";
    size_t length = strlen (text);
    char *line = (char *) malloc (length + 2);
    assert (line);
    memcpy (line, text, length);
    memcpy (line + length, "\n", 2);
    if (stx_daemon_write_file (self->status_path, line, err, sizeof (err)) == STX_OK) {
        free (self->status_written);
        self->status_written = text;
        text = NULL;
    }
    else
        s_warn (self, "%s", err);
    free (line);
    free (text);
}


//  --------------------------------------------------------------------------
//  Log retention: one bounded step per heartbeat, in a write transaction
//  of its own (between group commits, so publishing waits at most for one
//  step of S_TRIM_STEP deletions). Entries and event ids are never trimmed.

static void
s_retention_step (s_broker_t *self)
{
    if (self->keep_events < 0 || self->keep_days < 0)
        return;
    int64_t before_ms = (int64_t) time (NULL) * 1000 - self->keep_days * 86400 * 1000;
    uint64_t trimmed = 0;
    stx_status_t status = stx_store_trim (self->store, (uint64_t) self->keep_events,
                                          before_ms, S_TRIM_STEP, &trimmed);
    if (status == STX_ERR_MAP_FULL)
        s_grow (self);          //  deleting needs pages too; the next step retries
    else
    if (status != STX_OK)
        zsys_error ("retention: cannot trim the log: %s", stx_strerror (status));
    if (trimmed) {
        self->trimmed += trimmed;
        s_refresh_meta (self);
        if (self->verbose)
            zsys_debug ("retention: trimmed %" PRIu64 " events, log starts at %" PRIu64,
                        trimmed, self->meta.log_first);
    }
}


//  --------------------------------------------------------------------------
//  Timers: heartbeat, idle sessions, forgotten peers, status.json

static void
s_tick (s_broker_t *self)
{
    s_heartbeat (self);

    int64_t now = zclock_mono ();
    zlistx_t *expired = zlistx_new ();
    assert (expired);
    zlistx_set_destructor (expired, (zlistx_destructor_fn *) zstr_free);
    s_session_t *session = (s_session_t *) zhashx_first (self->sessions);
    while (session) {
        //  Idle: no chunk sent for the timeout (credits alone do not count);
        //  old: past its lifetime, however busy (it pins LMDB pages)
        bool idle = now - session->last_sent > self->session_timeout_ms;
        bool old = now - session->began > self->session_lifetime_ms;
        if (idle || old) {
            if (old)
                s_send_error (self, session->routing_id, STEMX__REASON__R_STORAGE,
                              "busy: snapshot session lifetime exceeded, retry the snapshot");
            zlistx_add_end (expired, strdup ((const char *) zhashx_cursor (self->sessions)));
        }
        session = (s_session_t *) zhashx_next (self->sessions);
    }
    s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers);
    while (peer) {
        if (now - peer->last_seen > S_PEER_TTL)
            zlistx_add_end (expired, strdup ((const char *) zhashx_cursor (self->peers)));
        peer = (s_peer_t *) zhashx_next (self->peers);
    }
    const char *key = (const char *) zlistx_first (expired);
    while (key) {
        if (zhashx_lookup (self->sessions, key)) {
            zsys_notice ("snapshot session peer-%s idle or too old, dropped", key);
            zhashx_delete (self->sessions, key);
        }
        else
            zhashx_delete (self->peers, key);
        key = (const char *) zlistx_next (expired);
    }
    zlistx_destroy (&expired);

    if (self->suppressed)
        zsys_warning ("%d more refusals not logged", self->suppressed);
    self->warnings = 0;
    self->suppressed = 0;
    s_retention_step (self);
    if (now - self->last_heap_trim > S_HEAP_TRIM_MS) {
        //  What peers cost (queues, handshakes, requests) is freed when
        //  they go, but glibc keeps freed pages in its arenas: give them
        //  back, so the broker's footprint returns to its baseline
        self->last_heap_trim = now;
        malloc_trim (0);
    }
    if (now - self->last_reader_check > S_READER_CHECK_MS) {
        int cleared = 0;
        self->last_reader_check = now;
        if (stx_store_reader_check (self->store, &cleared) == STX_OK && cleared)
            zsys_notice ("storage: cleared %d stale LMDB reader slots", cleared);
    }
    s_status_write (self);
}


//  --------------------------------------------------------------------------
//  Sockets, the registry, reload and revocation

//  A ROUTER or PUB with the broker's options (and CURVE unless insecure),
//  bound to endpoint. A re-bind passes retry_ms > 0: the old listener is
//  closed by libzmq's I/O thread a moment after zsock_destroy, so the bind
//  is retried (EADDRINUSE) until then. NULL with err on failure.
static zsock_t *
s_socket_new (s_broker_t *self, int type, const char *endpoint, const char *what,
              int retry_ms, char *err, size_t errlen)
{
    zsock_t *sock = zsock_new (type);
    assert (sock);
    //  A peer that does not read holds at most S_ROUTER_HWM replies
    //  (each at most a range or a chunk) in libzmq, and S_HELD_PEER bytes
    //  in the reply queue; a subscriber S_PUB_HWM events of S_PUB_EVENT_MAX
    if (type == ZMQ_ROUTER)
        stx_replyq_prepare (sock, S_ROUTER_HWM);
    else {
        zsock_set_sndhwm (sock, S_PUB_HWM);
        zsock_set_rcvhwm (sock, S_PUB_HWM);
    }
    if (type == ZMQ_PUB) {
        //  Subscribers send subscriptions: a topic is one or two bytes
        zsock_set_maxmsgsize (sock, S_PUB_MAXMSG);
        //  A subscriber that stops reading, or vanished without a FIN,
        //  stops answering ZMTP PINGs: its connection and queue then go
        zsock_set_heartbeat_ivl (sock, S_PUB_HEARTBEAT);
        zsock_set_heartbeat_timeout (sock, S_PUB_DEAD);
    }
    if (type == ZMQ_ROUTER)
        //  A guard against absurd frames; sizes between max_message and
        //  this get a TOO_LARGE answer, larger ones a dropped connection
        zsock_set_maxmsgsize (sock, (int) (self->max_message * 4 < INT_MAX / 2?
                                           self->max_message * 4: INT_MAX / 2));
    if (!self->insecure) {
        //  Security options must be set before the bind
        zcert_apply (stx_identity_cert (self->identity), sock);
        zsock_set_curve_server (sock, 1);
    }
    int64_t deadline = zclock_mono () + retry_ms;
    while (zsock_bind (sock, "%s", endpoint) == -1) {
        int error = zmq_errno ();
        if (error == EADDRINUSE && zclock_mono () < deadline) {
            zclock_sleep (20);
            continue;
        }
        stx_fail (err, errlen, STX_ERR_IO, "cannot bind %s endpoint %s: %s",
                  what, endpoint, zmq_strerror (error));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

//  Bind (or bind again) both sockets and make the poller. On a first bind
//  the endpoints are the configured ones; a re-bind uses those the first
//  bind resolved (a wildcard port keeps its number).
static stx_status_t
s_sockets_bind (s_broker_t *self, const char *request, const char *updates, int retry_ms,
                char *err, size_t errlen)
{
    zpoller_destroy (&self->poller);
    self->router = s_socket_new (self, ZMQ_ROUTER, request, "request", retry_ms, err, errlen);
    if (self->router)
        self->publisher = s_socket_new (self, ZMQ_PUB, updates, "updates", retry_ms,
                                        err, errlen);
    if (!self->router || !self->publisher) {
        zsock_destroy (&self->router);
        self->poller = zpoller_new (self->pipe, NULL);
        assert (self->poller);
        zpoller_set_nonstop (self->poller, true);
        return STX_ERR_IO;
    }
    self->replies = stx_replyq_new (self->router, S_HELD_PEER, S_HELD_TOTAL);
    char *bound = zsock_last_endpoint (self->router);
    snprintf (self->request_bound, sizeof (self->request_bound), "%s", bound? bound: request);
    free (bound);
    bound = zsock_last_endpoint (self->publisher);
    snprintf (self->updates_bound, sizeof (self->updates_bound), "%s", bound? bound: updates);
    free (bound);
    stx_daemon_bound_endpoint (self->router, self->request_endpoint,
                               sizeof (self->request_endpoint));
    stx_daemon_bound_endpoint (self->publisher, self->updates_endpoint,
                               sizeof (self->updates_endpoint));
    self->poller = zpoller_new (self->pipe, self->router, NULL);
    assert (self->poller);
    zpoller_set_nonstop (self->poller, true);
    return STX_OK;
}

static bool
s_is_dir (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0 && S_ISDIR (info.st_mode);
}

//  Load the registry folder, and the retired folder if it exists. At start
//  strictly (one bad cert: the broker does not start); with skipped (a
//  reload) leniently: a bad cert or a repeated key is left out and named
//  in skipped, the rest loads, so a key removed in the same change as a
//  bad file is still revoked.
static stx_status_t
s_registry_load (s_broker_t *self, stx_registry_t **registry_p, zlistx_t *skipped,
                 char *err, size_t errlen)
{
    if (!s_is_dir (self->registry_dir))
        return stx_fail (err, errlen, STX_ERR_NOT_FOUND,
                         "no registry folder %s: create it and copy the partners' public "
                         ".cert files into it (made by 'stemx keygen ORG --pillar P')",
                         self->registry_dir);
    const char *retired = s_is_dir (self->retired_dir)? self->retired_dir: NULL;
    if (skipped)
        return stx_registry_load_lenient (self->registry_dir, retired, registry_p, skipped,
                                          err, errlen);
    return stx_registry_load (self->registry_dir, retired, registry_p, err, errlen);
}

//  Close both sockets and bind them again on the same endpoints: every
//  connection ends, every peer reconnects and passes ZAP again. The only
//  way to drop one peer's CURVE session in libzmq 4.3 (no ROUTER kick, and
//  ZAP runs only at handshake). Snapshot sessions end; peers are forgotten.
static void
s_rebind (s_broker_t *self)
{
    s_batch_flush (self);
    zpoller_destroy (&self->poller);
    zhashx_purge (self->sessions);
    zhashx_purge (self->peers);
    zhashx_purge (self->seen_keys);
    self->replies_dropped += stx_replyq_dropped (self->replies);
    stx_replyq_destroy (&self->replies);
    zsock_destroy (&self->router);
    zsock_destroy (&self->publisher);
    char request [256], updates [256], err [STX_ERRLEN] = "";
    snprintf (request, sizeof (request), "%s", self->request_bound);
    snprintf (updates, sizeof (updates), "%s", self->updates_bound);
    if (s_sockets_bind (self, request, updates, S_REBIND_MS, err, sizeof (err)) != STX_OK) {
        zsys_error ("re-bind after a revocation failed: %s", err);
        zstr_sendx (self->pipe, "FATAL", err, NULL);
        return;
    }
    self->rebinds++;
    zsys_notice ("re-bound %s and %s: every peer re-authenticates",
                 self->request_bound, self->updates_bound);
}

//  Remove the generation folders under DATA/.zauth except keep (NULL:
//  all). The broker owns that folder; it holds nothing else.
static void
s_zauth_clean (s_broker_t *self, const char *keep)
{
    DIR *top = opendir (self->zauth_dir);
    if (!top)
        return;
    struct dirent *gen;
    while ((gen = readdir (top))) {
        if (gen->d_name [0] == '.' || (keep && streq (gen->d_name, keep)))
            continue;
        char path [PATH_MAX];
        snprintf (path, sizeof (path), "%s/%s", self->zauth_dir, gen->d_name);
        DIR *inner = opendir (path);
        if (inner) {
            struct dirent *file;
            while ((file = readdir (inner))) {
                if (file->d_name [0] == '.')
                    continue;
                char name [PATH_MAX + 512];
                snprintf (name, sizeof (name), "%s/%s", path, file->d_name);
                unlink (name);
            }
            closedir (inner);
            rmdir (path);
        }
        else
            unlink (path);
    }
    closedir (top);
}

//  Write the public certs zauth admits, one per ACTIVE key of the loaded
//  registry, into a fresh folder DATA/.zauth/gN, point zauth at it and
//  remove the older folders. zauth never reads the operator's registry
//  folder: czmq 4.2.1's zcertstore aborts on two files with the same key
//  (vdab.cert and vdab.cert.bak, an editor's vdab.cert~) and reads
//  subfolders and files the registry ignores, which could let a revoked
//  key with a leftover copy subscribe to PUB. False with err on failure.
static bool
s_zauth_prime (s_broker_t *self, char *err, size_t errlen)
{
    char gen [32], dir [PATH_MAX];
    snprintf (gen, sizeof (gen), "g%u", ++self->zauth_generation);
    snprintf (dir, sizeof (dir), "%s/%s", self->zauth_dir, gen);
    char reason [STX_ERRLEN] = "";
    if (stx_daemon_mkdir (self->zauth_dir, reason, sizeof (reason)) != STX_OK
    ||  stx_daemon_mkdir (dir, reason, sizeof (reason)) != STX_OK) {
        stx_fail (err, errlen, STX_ERR_IO, "zauth folder: %s", reason);
        return false;
    }
    size_t written = 0;
    for (size_t index = 0; index < stx_registry_size (self->registry); index++) {
        const stx_key_t *key = stx_registry_key (self->registry, index);
        uint8_t public_key [32], secret_key [32];
        if (key->retired || !zmq_z85_decode (public_key, key->curve_key))
            continue;
        memset (secret_key, 0, sizeof (secret_key));
        zcert_t *cert = zcert_new_from (public_key, secret_key);
        assert (cert);
        zcert_set_meta (cert, "org", "%s", key->org);
        char path [PATH_MAX + 32];
        snprintf (path, sizeof (path), "%s/k%05zu.cert", dir, index);
        int rc = zcert_save_public (cert, path);
        zcert_destroy (&cert);
        if (rc != 0) {
            stx_fail (err, errlen, STX_ERR_IO, "cannot write %s: %s", path, strerror (errno));
            return false;
        }
        written++;
    }
    zstr_sendx (self->auth, "CURVE", dir, NULL);
    zsock_wait (self->auth);
    s_zauth_clean (self, gen);
    if (self->verbose)
        zsys_debug ("zauth admits %zu keys from %s", written, dir);
    return true;
}

//  RELOAD: a new registry, or the old one kept with the error logged.
static void
s_reload (s_broker_t *self)
{
    if (self->insecure) {
        zsys_notice ("reload: --insecure, no registry to reload");
        return;
    }
    stx_registry_t *registry = NULL;
    char err [STX_ERRLEN] = "";
    zlistx_t *skipped = zlistx_new ();
    assert (skipped);
    zlistx_set_destructor (skipped, (zlistx_destructor_fn *) zstr_free);
    stx_status_t status = s_registry_load (self, &registry, skipped, err, sizeof (err));
    for (const char *line = (const char *) zlistx_first (skipped); line;
         line = (const char *) zlistx_next (skipped))
        zsys_error ("reload: left out %s", line);
    zlistx_destroy (&skipped);
    if (status != STX_OK) {
        //  Only an unreadable folder gets here
        zsys_error ("reload failed, keeping the previous registry (%zu keys): %s",
                    stx_registry_size (self->registry), err);
        return;
    }
    //  A key seen on the ROUTER that is no longer active is revoked
    size_t revoked = 0;
    for (void *item = zhashx_first (self->seen_keys); item;
         item = zhashx_next (self->seen_keys)) {
        const char *curve = (const char *) zhashx_cursor (self->seen_keys);
        const stx_key_t *now = stx_registry_by_curve (registry, curve);
        if (!now || now->retired) {
            const stx_key_t *old = stx_registry_by_curve (self->registry, curve);
            zsys_warning ("key %s of %s is %s: disconnecting it", curve,
                          old? old->org: "?", now? "retired": "removed");
            revoked++;
        }
    }
    stx_registry_destroy (&self->registry);
    self->registry = registry;
    //  zauth: the new active keys, for new handshakes
    if (!s_zauth_prime (self, err, sizeof (err)))
        zsys_error ("reload: %s (zauth keeps admitting the previous keys; every request "
                    "is still checked against the new registry)", err);
    zhashx_purge (self->refused_keys);
    self->last_reload = time (NULL);
    zsys_notice ("registry reloaded from %s: %zu keys", self->registry_dir,
                 stx_registry_size (self->registry));
    if (revoked) {
        self->disconnected_revoked += revoked;
        s_rebind (self);
    }
}


//  --------------------------------------------------------------------------
//  Pipe commands

static void
s_handle_pipe (s_broker_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg) {
        self->terminated = true;
        return;
    }
    char *command = zmsg_popstr (msg);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "ENDPOINTS"))
        zstr_sendx (self->pipe, self->request_endpoint, self->updates_endpoint, NULL);
    else
    if (streq (command, "STATUS")) {
        char seq [32], head [STX_HEAD_SIZE * 2 + 1], lineage [STX_LINEAGE_SIZE * 2 + 1];
        snprintf (seq, sizeof (seq), "%" PRIu64, self->meta.seq);
        stx_hex (self->meta.head, STX_HEAD_SIZE, head);
        stx_hex (self->meta.lineage, STX_LINEAGE_SIZE, lineage);
        zstr_sendx (self->pipe, seq, head, lineage, NULL);
    }
    else
    if (streq (command, "COUNTERS")) {
        char *text = s_status_json (self);
        zstr_send (self->pipe, text);
        free (text);
    }
    else
    if (streq (command, "RELOAD"))
        s_reload (self);
    else
    if (streq (command, "VERBOSE"))
        self->verbose = true;
    else
        zsys_error ("broker: invalid pipe command '%s'", command);
    free (command);
    zmsg_destroy (&msg);
}


//  --------------------------------------------------------------------------
//  Construction and the actor

static void
s_broker_destroy (s_broker_t **self_p)
{
    if (*self_p) {
        s_broker_t *self = *self_p;
        zlistx_destroy (&self->batch);
        stx_pool_destroy (&self->pool);
        zhashx_destroy (&self->sessions);   //  ends snapshot transactions
        zhashx_destroy (&self->peers);
        zhashx_destroy (&self->seen_keys);
        zhashx_destroy (&self->refused_keys);
        zhashx_destroy (&self->buckets);
        zhashx_destroy (&self->read_buckets);
        zpoller_destroy (&self->poller);
        stx_replyq_destroy (&self->replies);
        zsock_destroy (&self->router);
        zsock_destroy (&self->publisher);
        zactor_destroy (&self->auth);       //  after the sockets it guards
        stx_identity_destroy (&self->identity);
        stx_registry_destroy (&self->registry);
        stx_store_destroy (&self->store);
        stx_daemon_unlock_dir (&self->lock_fd);   //  after the store it guards
        stx_taxonomy_destroy (&self->taxonomy);
        free (self->registry_dir);
        free (self->retired_dir);
        free (self->zauth_dir);
        free (self->status_path);
        free (self->status_written);
        free (self->storage_full);
        free (self->data_dir);
        free (self);
        *self_p = NULL;
    }
}

static char *
s_path (const char *given, const char *dir, const char *name)
{
    if (given && *given)
        return strdup (given);
    char *path = zsys_sprintf ("%s/%s", dir, name);
    assert (path);
    return path;
}

//  The broker's key, the registry and zauth. Not called in insecure mode.
static stx_status_t
s_security_start (s_broker_t *self, const stx_broker_config_t *config, char *err, size_t errlen)
{
    char *cert_file = s_path (config->cert_file, self->data_dir, "broker.cert_secret");
    self->registry_dir = s_path (config->registry_dir, self->data_dir, "registry");
    self->retired_dir = s_path (config->retired_dir, self->data_dir, "registry-retired");
    char reason [STX_ERRLEN] = "";
    stx_status_t status = STX_OK;
    if (access (cert_file, F_OK) != 0)
        status = stx_fail (err, errlen, STX_ERR_NOT_FOUND,
                           "no broker key at %s: run 'stemx keygen --broker --out %s' "
                           "(or give --cert), or start with --insecure",
                           cert_file, self->data_dir);
    else {
        status = stx_identity_load (cert_file, &self->identity, reason, sizeof (reason));
        if (status != STX_OK)
            stx_fail (err, errlen, status, "broker key: %s", reason);
    }
    free (cert_file);
    if (status == STX_OK) {
        status = s_registry_load (self, &self->registry, NULL, reason, sizeof (reason));
        if (status != STX_OK)
            stx_fail (err, errlen, status, "registry: %s", reason);
    }
    if (status != STX_OK)
        return status;
    if (stx_registry_size (self->registry) == 0)
        zsys_warning ("registry %s holds no keys: no agent can connect", self->registry_dir);

    //  zauth must run before the first bind: it is the ZAP handler that
    //  admits CURVE clients; it stays up as long as the sockets do
    self->auth = zactor_new (zauth, NULL);
    assert (self->auth);
    if (self->verbose) {
        zstr_send (self->auth, "VERBOSE");
        zsock_wait (self->auth);
    }
    self->zauth_dir = zsys_sprintf ("%s/.zauth", self->data_dir);
    assert (self->zauth_dir);
    s_zauth_clean (self, NULL);     //  rebuilt from the registry at every start
    if (!s_zauth_prime (self, reason, sizeof (reason)))
        return stx_fail (err, errlen, STX_ERR_IO, "%s", reason);
    return STX_OK;
}

static s_broker_t *
s_broker_new (zsock_t *pipe, const stx_broker_config_t *config, stx_status_t *status_p,
              char *err, size_t errlen)
{
    s_broker_t *self = (s_broker_t *) zmalloc (sizeof (s_broker_t));
    assert (self);
    self->pipe = pipe;
    self->lock_fd = -1;
    self->limits = config->limits;
    self->max_message = config->max_message? config->max_message: 1024 * 1024;
    self->heartbeat_ms = config->heartbeat_ms > 0? config->heartbeat_ms: 1000;
    self->max_sessions = config->max_sessions > 0? config->max_sessions: 8;
    self->session_timeout_ms = config->session_timeout_ms > 0? config->session_timeout_ms: 30000;
    self->session_lifetime_ms = config->session_lifetime_ms > 0? config->session_lifetime_ms
                                                               : 300000;
    self->org_sessions = config->org_sessions > 0? config->org_sessions: 2;
    self->read_rate = config->read_rate;
    self->read_burst = config->read_burst > 0? config->read_burst: 2097152;
    self->batch_max = config->batch_max > 0? config->batch_max: 1024;
    self->max_batch = config->max_batch;
    self->rate = config->rate;
    self->burst = config->burst > 0? config->burst: (config->rate > 1? config->rate: 1);
    self->insecure = config->insecure;
    self->verbose = config->verbose;
    self->started = time (NULL);
    self->keep_events = config->keep_events;
    self->keep_days = config->keep_days;
    self->last_reader_check = zclock_mono ();
    self->sessions = zhashx_new ();
    zhashx_set_destructor (self->sessions, s_session_destructor);
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_destructor);
    self->seen_keys = zhashx_new ();
    self->refused_keys = zhashx_new ();
    self->buckets = zhashx_new ();
    zhashx_set_destructor (self->buckets, (zhashx_destructor_fn *) zstr_free);
    self->read_buckets = zhashx_new ();
    zhashx_set_destructor (self->read_buckets, (zhashx_destructor_fn *) zstr_free);
    self->batch = zlistx_new ();
    self->pool = stx_pool_new (0);
    zlistx_set_destructor (self->batch, s_publish_destructor);

    stx_status_t status = STX_OK;
    char reason [STX_ERRLEN] = "";
    if (!config->data_dir || !*config->data_dir) {
        *status_p = stx_fail (err, errlen, STX_ERR_INVALID, "no data folder given (--data)");
        return self;
    }
    self->data_dir = strdup (config->data_dir);
    self->status_path = zsys_sprintf ("%s/status.json", self->data_dir);
    const char *taxonomy_dir = config->taxonomy_dir? config->taxonomy_dir: STX_DATADIR;
    status = stx_taxonomy_load (taxonomy_dir, &self->taxonomy, reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "taxonomy missing or unreadable in %s: %s",
                              taxonomy_dir, reason);
        return self;
    }
    status = stx_daemon_mkdir (self->data_dir, reason, sizeof (reason));
    if (status == STX_OK)
        status = stx_daemon_lock_dir (self->data_dir, "stemx-broker", &self->lock_fd,
                                      reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "%s", reason);
        return self;
    }
    if (!self->insecure) {
        status = s_security_start (self, config, err, errlen);
        if (status != STX_OK) {
            *status_p = status;
            return self;
        }
    }
    //  The broker never queries its catalogue: the index would cost it
    //  about half its work per unsigned event, a quarter per signed one,
    //  and most of the pages each commit writes
    if (status == STX_OK)
        status = stx_store_open (self->data_dir, STX_STORE_NOINDEX, config->map_size,
                                 &self->store, reason, sizeof (reason));
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "cannot open store: %s", reason);
        return self;
    }
    stx_store_info_t info;
    if (stx_store_info (self->store, &info) == STX_OK) {
        self->map_max = config->map_max > info.map_size? config->map_max: info.map_size;
        if (info.stale_readers > 0)
            zsys_notice ("storage: cleared %d stale LMDB reader slots at start",
                         info.stale_readers);
        zsys_info ("storage: map %.1f MiB (%.1f MiB used), grows up to %.1f MiB",
                   info.map_size / 1048576.0, info.map_used / 1048576.0,
                   self->map_max / 1048576.0);
    }
    stx_txn_t *txn = NULL;
    status = stx_store_begin (self->store, true, &txn);
    if (status == STX_OK)
        status = stx_txn_ensure_lineage (txn);
    if (status == STX_OK)
        status = stx_txn_commit (&txn);
    stx_txn_abort (&txn);
    if (status == STX_OK)
        status = stx_store_meta (self->store, &self->meta);
    if (status != STX_OK) {
        *status_p = stx_fail (err, errlen, status, "cannot initialise store in %s: %s",
                              self->data_dir, stx_strerror (status));
        return self;
    }
    *status_p = s_sockets_bind (self, config->bind? config->bind: "tcp://*:5670",
                                config->publish? config->publish: "tcp://*:5671", 0,
                                err, errlen);
    return self;
}

void
stx_broker_config_default (stx_broker_config_t *config)
{
    assert (config);
    memset (config, 0, sizeof (*config));
    config->bind = "tcp://*:5670";
    config->publish = "tcp://*:5671";
    config->taxonomy_dir = STX_DATADIR;
    config->max_message = 1024 * 1024;
    config->heartbeat_ms = 1000;
    config->max_sessions = 8;
    config->session_timeout_ms = 30000;
    config->session_lifetime_ms = 300000;
    config->org_sessions = 2;
    config->read_rate = 131072;
    config->read_burst = 2097152;
    config->batch_max = 1024;
    config->max_batch = 1000;
    config->rate = 50000;
    config->burst = 2000000;
    config->map_max = (size_t) 64 << 30;
    config->keep_events = 1000000;
    config->keep_days = 90;
    stx_limits_default (&config->limits);
}

void
stx_broker_actor (zsock_t *pipe, void *args)
{
    stx_broker_start_t *start = (stx_broker_start_t *) args;
    assert (start && start->config);
    stx_status_t status = STX_OK;
    s_broker_t *self = s_broker_new (pipe, start->config, &status,
                                     start->err, sizeof (start->err));
    start->status = status;
    zsock_signal (pipe, 0);     //  start is not ours after this
    if (status != STX_OK) {
        stx_daemon_await_term (pipe);
        s_broker_destroy (&self);
        return;
    }
    if (self->insecure)
        zsys_warning ("--insecure: no CURVE, no authentication, anyone on the network "
                      "can publish");
    else
        zsys_notice ("CURVE on, %zu keys in %s", stx_registry_size (self->registry),
                     self->registry_dir);
    zsys_notice ("broker serving requests on %s, updates on %s, seq %" PRIu64,
                 self->request_endpoint, self->updates_endpoint, self->meta.seq);
    s_status_write (self);

    int64_t next_tick = zclock_mono () + self->heartbeat_ms;
    bool pumping = false;       //  snapshot sessions with credit left
    //  Replies waiting for a peer's queue are tried again soon while they
    //  move, less often while they do not (a peer that does not read)
    int retry_ms = 0;
    while (!self->terminated) {
        int64_t timeout = next_tick - zclock_mono ();
        if (retry_ms && retry_ms < timeout)
            timeout = retry_ms;
        if (pumping)
            timeout = 0;
        void *which = zpoller_wait (self->poller, timeout > 0? (int) timeout: 0);
        if (which == self->pipe)
            s_handle_pipe (self);
        else
        if (which && which == self->router)
            s_drain_router (self);
        else
        if (zpoller_terminated (self->poller))
            break;
        if (zclock_mono () >= next_tick) {
            s_tick (self);
            next_tick = zclock_mono () + self->heartbeat_ms;
        }
        if (self->replies) {
            size_t held = stx_replyq_held (self->replies);
            size_t left = stx_replyq_flush (self->replies);
            retry_ms = left == 0? 0: left < held? 1: S_RETRY_STUCK_MS;
        }
        pumping = s_sessions_service (self);
    }
    s_batch_flush (self);
    if (self->replies)
        stx_replyq_flush (self->replies);
    s_status_write (self);
    zsys_notice ("broker stopped at seq %" PRIu64, self->meta.seq);
    s_broker_destroy (&self);
}

zactor_t *
stx_broker_new (const stx_broker_config_t *config, char *err, size_t errlen)
{
    stx_broker_start_t start;
    memset (&start, 0, sizeof (start));
    start.config = config;
    zactor_t *actor = zactor_new (stx_broker_actor, &start);
    assert (actor);
    if (start.status != STX_OK) {
        if (err && errlen)
            snprintf (err, errlen, "%s", start.err);
        zactor_destroy (&actor);
        return NULL;
    }
    return actor;
}
