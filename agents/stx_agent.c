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
    applied, the trust folder re-read every STX_AG_TRUST_RETRY ms, and when the
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

    Files: this one has the construction, the loop, pipe commands and
    timers; each job is a file of its own (stx_agent_parts.h lists them).

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
#include "stx_agent_parts.h"

const char *
stx_ag_state_name (stx_ag_state_t state)
{
    switch (state) {
        case STX_AG_CONNECTING: return "connecting";
        case STX_AG_SNAPSHOT:   return "snapshot";
        case STX_AG_ACTIVE:     return "active";
        case STX_AG_HALTED:     return "halted";
        case STX_AG_PAUSED:     return "paused";
    }
    return "?";
}

//  --------------------------------------------------------------------------
//  Timers

//  A publishing link: reconnect (with a growing pause) until the broker
//  answers; then ping when quiet, and reconnect after a silence.
static void
s_link_tick (stx_ag_agent_t *self, size_t index, int64_t now)
{
    stx_ag_link_t *link = &self->links [index];
    if (!link->up) {
        if (now - link->connected_at > self->silence_ms / 2 + link->backoff) {
            link->backoff = link->backoff? link->backoff * 2: 500;
            if (link->backoff > STX_AG_BACKOFF_MAX)
                link->backoff = STX_AG_BACKOFF_MAX;
            stx_ag_link_connect (self, index);
        }
        return;
    }
    if (now - link->last_heard > self->silence_ms) {
        zsys_warning ("broker silent to %s for %" PRId64 " ms; reconnecting", link->org,
                      now - link->last_heard);
        stx_ag_link_connect (self, index);
        return;
    }
    if (now - link->last_heard > STX_AG_PING_IVL && now - link->last_ping > STX_AG_PING_IVL) {
        stx_ag_send_ping (link->dealer, self->meta.seq);
        link->last_ping = now;
    }
}

//  Retention of the replica's own log: one bounded step, never while a
//  snapshot holds the write transaction (LMDB has one writer).
static void
s_retention_step (stx_ag_agent_t *self, int64_t now)
{
    if (self->keep_events < 0 || self->keep_days < 0 || self->snapshot
    ||  now - self->last_trim < STX_AG_TRIM_IVL)
        return;
    self->last_trim = now;
    int64_t before_ms = (int64_t) time (NULL) * 1000 - self->keep_days * 86400 * 1000;
    uint64_t trimmed = 0;
    stx_status_t status = stx_store_trim (self->store, (uint64_t) self->keep_events,
                                          before_ms, STX_AG_TRIM_STEP, &trimmed);
    if (status == STX_ERR_MAP_FULL)
        stx_ag_grow (self, "retention");
    else
    if (status != STX_OK)
        stx_ag_store_failure (self, status, "retention: cannot trim the log");
    if (trimmed) {
        stx_ag_refresh_meta (self);
        if (self->verbose)
            zsys_debug ("retention: trimmed %" PRIu64 " events, log starts at %" PRIu64,
                        trimmed, self->meta.log_first);
    }
}

static void
s_tick (stx_ag_agent_t *self)
{
    int64_t now = zclock_mono ();
    stx_ag_verifier_tick (self);
    stx_ag_verify_expire (self, now);
    s_retention_step (self, now);
    int64_t quiet = now - (self->last_heard > self->last_hello? self->last_heard: self->last_hello);
    for (size_t index = 1; index < self->nlinks; index++)
        s_link_tick (self, index, now);
    if (self->state == STX_AG_PAUSED)
        stx_ag_pause_check (self, now);
    if (self->state == STX_AG_CONNECTING
    || ((self->state == STX_AG_HALTED || self->state == STX_AG_PAUSED) && !self->welcomed)) {
        //  No WELCOME yet: try again, pausing longer each time
        if (now - self->last_hello > self->silence_ms / 2 + self->backoff) {
            self->backoff = self->backoff? self->backoff * 2: 500;
            if (self->backoff > STX_AG_BACKOFF_MAX)
                self->backoff = STX_AG_BACKOFF_MAX;
            stx_ag_connect (self);
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
        stx_ag_connect (self);
        return;
    }
    if (quiet > self->silence_ms) {
        zsys_warning ("broker silent for %" PRId64 " ms; reconnecting", quiet);
        stx_ag_connect (self);
        return;
    }
    if (self->state == STX_AG_SNAPSHOT && now - self->snapshot_last > STX_AG_SNAPSHOT_TIMEOUT) {
        zsys_warning ("snapshot stalled; starting over");
        stx_ag_connect (self);
        return;
    }
    if (self->fetching && now - self->fetch_sent > STX_AG_FETCH_TIMEOUT)
        self->fetching = false;
    if (self->state == STX_AG_ACTIVE && !self->fetching && self->broker_seq > self->meta.seq)
        stx_ag_fetch (self);
    if ((now - self->last_heard > STX_AG_PING_IVL && now - self->last_ping > STX_AG_PING_IVL)
    ||  now - self->last_ping > STX_AG_SESSION_PING) {
        if (self->dealer)
            stx_ag_send_ping (self->dealer, self->meta.seq);
        self->last_ping = now;
    }
    uint64_t pending = 0, rejected = 0;
    if (self->rewind_at && now >= self->rewind_at)
        stx_ag_rewind (self);
    else
    if (now - self->last_progress > STX_AG_RESEND_IVL && now - self->last_resend > STX_AG_RESEND_IVL
    &&  stx_outbox_depth (self->outbox, &pending, &rejected) == STX_OK && pending)
        stx_ag_rewind (self);        //  nothing answered for a while: lost, or never sent
    else
        stx_ag_pump (self);          //  room left by a rewind, or a link that came up
    stx_ag_request_t *request = (stx_ag_request_t *) zlistx_first (self->requests);
    while (request) {
        if (now - request->created > STX_AG_REQUEST_TTL) {
            stx_ag_request_unwait (self, request);
            zlistx_delete (self->requests, zlistx_cursor (self->requests));
            request = (stx_ag_request_t *) zlistx_first (self->requests);
        }
        else
            request = (stx_ag_request_t *) zlistx_next (self->requests);
    }
}


//  --------------------------------------------------------------------------
//  Pipe commands

static void
s_handle_pipe (stx_ag_agent_t *self)
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
        zstr_sendx (self->pipe, stx_ag_state_name (self->state), seq, head,
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
    return strcmp (((const stx_ag_link_t *) a)->org, ((const stx_ag_link_t *) b)->org);
}

//  Load every secret cert (*_secret) in dir as a hosted identity, sorted
//  by organisation. A folder without one is an error saying how to make
//  one.
static stx_status_t
s_load_identities (stx_ag_agent_t *self, const char *dir, char *err, size_t errlen)
{
    char *names [STX_AG_IDENTITIES_MAX];
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
        if (count == STX_AG_IDENTITIES_MAX) {
            closedir (handle);
            while (count)
                free (names [--count]);
            return stx_fail (err, errlen, STX_ERR_TOO_LARGE,
                             "%s: more than %d identities", dir, STX_AG_IDENTITIES_MAX);
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
    qsort (self->links, self->nlinks, sizeof (stx_ag_link_t), s_compare_links);
    return status;
}

//  CURVE and signatures: the identities, the broker's public key and the
//  trust store, from config (defaults under the data folder).
static stx_status_t
s_load_security (stx_ag_agent_t *self, const stx_agent_config_t *config, char *err, size_t errlen)
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
        stx_ag_link_t *link = &self->links [index];
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
s_agent_destroy (stx_ag_agent_t **self_p)
{
    if (*self_p) {
        stx_ag_agent_t *self = *self_p;
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
    stx_ag_agent_t *self = (stx_ag_agent_t *) arg;
    Stemx__Event *event = NULL;
    if (stx_event_unpack (data, size, &event) == STX_OK && event->key && *event->key
    &&  event->event_id.len == STX_EVENT_ID_SIZE
    &&  stx_versions_size (self->versions) < STX_AG_VERSIONS_MAX)
        stx_versions_put (self->versions, event->key, event->expected_version + 1,
                          event->event_id.data);
    stx_event_free (&event);
    return 0;
}

static stx_ag_agent_t *
s_agent_new (zsock_t *pipe, const stx_agent_config_t *config, stx_status_t *status_p,
             char *err, size_t errlen)
{
    stx_ag_agent_t *self = (stx_ag_agent_t *) zmalloc (sizeof (stx_ag_agent_t));
    assert (self);
    self->pipe = pipe;
    self->lock_fd = -1;
    self->requests = zlistx_new ();
    self->waiting = zhashx_new ();
    assert (self->waiting);
    stx_event_id_keys (self->waiting, false);
    self->window = STX_AG_WINDOW_DEFAULT;
    self->pool = stx_pool_new (0);
    self->staged = zlistx_new ();
    assert (self->staged);
    zlistx_set_destructor (self->staged, stx_ag_request_destructor);
    zlistx_set_destructor (self->requests, stx_ag_request_destructor);
    self->verifies = zlistx_new ();
    self->own_pillars = zhash_new ();
    assert (self->own_pillars);
    zhash_autofree (self->own_pillars);
    self->versions = stx_versions_new ();
    self->flight = stx_flight_new ();
    zlistx_set_destructor (self->verifies, stx_ag_verify_destructor);
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
    stx_ag_refresh_meta (self);
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
    //  for STX_AG_LOCAL_REPLIES unread replies per client (a few MB at most)
    zsock_set_sndhwm (self->local, STX_AG_LOCAL_REPLIES);
    if (zsock_bind (self->local, "%s", self->local_endpoint) == -1) {
        *status_p = stx_fail (err, errlen, STX_ERR_IO, "cannot bind %s: %s",
                              self->local_endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->local);
        return self;
    }
    stx_ag_connect (self);
    for (size_t index = 1; index < self->nlinks; index++)
        stx_ag_link_connect (self, index);
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
    stx_ag_agent_t *self = s_agent_new (pipe, start->config, &status,
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
    int64_t next_tick = zclock_mono () + STX_AG_TICK;
    while (!self->terminated) {
        int64_t timeout = next_tick - zclock_mono ();
        void *which = zpoller_wait (self->poller, timeout > 0? (int) timeout: 0);
        if (which == self->pipe)
            s_handle_pipe (self);
        else
        if (which == self->local) {
            //  Every publish ready now shares one outbox commit
            for (int count = 0; count < STX_AG_LOCAL_DRAIN
                 && (count == 0 || (zsock_events (self->local) & ZMQ_POLLIN)); count++)
                stx_ag_handle_local (self);
            stx_ag_staged_flush (self);
        }
        else
        if (which && which == self->dealer) {
            //  Several replies may be ready; take them all
            for (int count = 0; count < STX_AG_DRAIN_MAX && self->dealer
                 && (count == 0 || (zsock_events (self->dealer) & ZMQ_POLLIN)); count++) {
                zsock_t *dealer = self->dealer;
                stx_ag_handle_dealer (self);
                if (self->dealer != dealer)
                    break;      //  reconnected meanwhile
            }
        }
        else
        if (which && which == self->sub)
            stx_ag_handle_sub (self);
        else
        if (which) {
            for (size_t index = 1; index < self->nlinks; index++) {
                zsock_t *dealer = self->links [index].dealer;
                if (which != dealer)
                    continue;
                for (int count = 0; count < STX_AG_DRAIN_MAX && self->links [index].dealer == dealer
                     && (count == 0 || (zsock_events (dealer) & ZMQ_POLLIN)); count++)
                    stx_ag_link_handle (self, index);
                break;
            }
        }
        else
        if (zpoller_terminated (self->poller))
            break;
        stx_ag_settle_flush (self);
        if (zclock_mono () >= next_tick) {
            s_tick (self);
            next_tick = zclock_mono () + STX_AG_TICK;
        }
    }
    stx_ag_staged_flush (self);
    stx_ag_settle_flush (self);
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
