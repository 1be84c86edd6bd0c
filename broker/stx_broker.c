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
    each chunk costs one credit (at most STX_BK_CREDIT_MAX held). One session
    per peer, at most max_sessions at once and org_sessions per
    organisation, dropped session_timeout_ms after its last chunk sent
    (credits alone do not keep it) or session_lifetime_ms after it began.

    Reads. LOG ranges and snapshot chunks are charged by size to the
    reader's organisation (a KiB token bucket, read_rate / read_burst),
    and a peer gets one LOG range at a time (a FETCH repeating a range just
    sent waits STX_BK_FETCH_GAP_MS): ZeroMQ queues what a peer does not read,
    so these bound what an idle reader can make the broker hold. The
    session table is the one owner of its transactions: every path that
    ends a session goes through stx_bk_session_destroy.

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

    Files: this one has the construction, the loop, pipe commands and
    timers; each job is a file of its own (stx_broker_parts.h lists them).

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
#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  Timers: heartbeat, idle sessions, forgotten peers, status.json

static void
s_tick (stx_bk_t *self)
{
    stx_bk_heartbeat (self);

    int64_t now = zclock_mono ();
    zlistx_t *expired = zlistx_new ();
    assert (expired);
    zlistx_set_destructor (expired, (zlistx_destructor_fn *) zstr_free);
    stx_bk_session_t *session = (stx_bk_session_t *) zhashx_first (self->sessions);
    while (session) {
        //  Idle: no chunk sent for the timeout (credits alone do not count);
        //  old: past its lifetime, however busy (it pins LMDB pages)
        bool idle = now - session->last_sent > self->session_timeout_ms;
        bool old = now - session->began > self->session_lifetime_ms;
        if (idle || old) {
            if (old)
                stx_bk_send_error (self, session->routing_id, STEMX__REASON__R_STORAGE,
                                   "busy: snapshot session lifetime exceeded, retry the snapshot");
            zlistx_add_end (expired, strdup ((const char *) zhashx_cursor (self->sessions)));
        }
        session = (stx_bk_session_t *) zhashx_next (self->sessions);
    }
    stx_bk_peer_t *peer = (stx_bk_peer_t *) zhashx_first (self->peers);
    while (peer) {
        if (now - peer->last_seen > STX_BK_PEER_TTL)
            zlistx_add_end (expired, strdup ((const char *) zhashx_cursor (self->peers)));
        peer = (stx_bk_peer_t *) zhashx_next (self->peers);
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
    stx_bk_retention_step (self);
    if (now - self->last_heap_trim > STX_BK_HEAP_TRIM_MS) {
        //  What peers cost (queues, handshakes, requests) is freed when
        //  they go, but glibc keeps freed pages in its arenas: give them
        //  back, so the broker's footprint returns to its baseline
        self->last_heap_trim = now;
        malloc_trim (0);
    }
    if (now - self->last_reader_check > STX_BK_READER_CHECK_MS) {
        int cleared = 0;
        self->last_reader_check = now;
        if (stx_store_reader_check (self->store, &cleared) == STX_OK && cleared)
            zsys_notice ("storage: cleared %d stale LMDB reader slots", cleared);
    }
    stx_bk_status_write (self);
}

//  --------------------------------------------------------------------------
//  Pipe commands

static void
s_handle_pipe (stx_bk_t *self)
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
        char *text = stx_bk_status_json (self);
        zstr_send (self->pipe, text);
        free (text);
    }
    else
    if (streq (command, "RELOAD"))
        stx_bk_reload (self);
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
s_broker_destroy (stx_bk_t **self_p)
{
    if (*self_p) {
        stx_bk_t *self = *self_p;
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
s_security_start (stx_bk_t *self, const stx_broker_config_t *config, char *err, size_t errlen)
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
        status = stx_bk_registry_load (self, &self->registry, NULL, reason, sizeof (reason));
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
    stx_bk_zauth_clean (self, NULL);     //  rebuilt from the registry at every start
    if (!stx_bk_zauth_prime (self, reason, sizeof (reason)))
        return stx_fail (err, errlen, STX_ERR_IO, "%s", reason);
    return STX_OK;
}

static stx_bk_t *
s_broker_new (zsock_t *pipe, const stx_broker_config_t *config, stx_status_t *status_p,
              char *err, size_t errlen)
{
    stx_bk_t *self = (stx_bk_t *) zmalloc (sizeof (stx_bk_t));
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
    zhashx_set_destructor (self->sessions, stx_bk_session_destructor);
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, stx_bk_peer_destructor);
    self->seen_keys = zhashx_new ();
    self->refused_keys = zhashx_new ();
    self->buckets = zhashx_new ();
    zhashx_set_destructor (self->buckets, (zhashx_destructor_fn *) zstr_free);
    self->read_buckets = zhashx_new ();
    zhashx_set_destructor (self->read_buckets, (zhashx_destructor_fn *) zstr_free);
    self->batch = zlistx_new ();
    self->pool = stx_pool_new (0);
    zlistx_set_destructor (self->batch, stx_bk_publish_destructor);

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
    *status_p = stx_bk_sockets_bind (self, config->bind? config->bind: "tcp://*:5670",
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
    stx_bk_t *self = s_broker_new (pipe, start->config, &status,
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
    stx_bk_status_write (self);

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
            stx_bk_drain_router (self);
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
            retry_ms = left == 0? 0: left < held? 1: STX_BK_RETRY_STUCK_MS;
        }
        pumping = stx_bk_sessions_service (self);
    }
    stx_bk_batch_flush (self);
    if (self->replies)
        stx_replyq_flush (self->replies);
    stx_bk_status_write (self);
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
