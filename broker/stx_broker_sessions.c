/*  =========================================================================
    stx_broker_sessions - the peer table and snapshot sessions

    A peer is known once it said HELLO (bounded, least recently heard
    first out); a snapshot session holds one read transaction and walks
    the catalogue as credit allows. The table is the one owner of those
    transactions: every path that ends a session goes through
    stx_bk_session_destroy. Runs in the broker's actor thread.
    ========================================================================= */

#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  Peers and snapshot sessions

static void
s_peer_destroy (stx_bk_peer_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->node);
        free (*self_p);
        *self_p = NULL;
    }
}

void
stx_bk_peer_destructor (void **item)
{
    s_peer_destroy ((stx_bk_peer_t **) item);
}

//  Forget the peer heard from least recently, to make room for a new one:
//  it is told R_NO_SESSION on its next request and says HELLO again.
static void
s_peer_evict (stx_bk_t *self)
{
    const char *oldest = NULL;
    int64_t seen = INT64_MAX;
    for (stx_bk_peer_t *peer = (stx_bk_peer_t *) zhashx_first (self->peers); peer;
         peer = (stx_bk_peer_t *) zhashx_next (self->peers))
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
stx_bk_peer_t *
stx_bk_peer_touch (stx_bk_t *self, zframe_t *routing_id, bool create)
{
    char *key = stx_bk_peer_key (routing_id);
    stx_bk_peer_t *peer = (stx_bk_peer_t *) zhashx_lookup (self->peers, key);
    if (!peer && create) {
        if (zhashx_size (self->peers) >= STX_BK_PEER_MAX)
            s_peer_evict (self);
        peer = (stx_bk_peer_t *) zmalloc (sizeof (stx_bk_peer_t));
        assert (peer);
        zhashx_insert (self->peers, key, peer);
    }
    if (peer)
        peer->last_seen = zclock_mono ();
    free (key);
    return peer;
}

void
stx_bk_session_destroy (stx_bk_session_t **self_p)
{
    if (*self_p) {
        stx_bk_session_t *self = *self_p;
        stx_txn_abort (&self->txn);
        zframe_destroy (&self->routing_id);
        free (self->reader);
        free (self->after);
        free (self);
        *self_p = NULL;
    }
}

void
stx_bk_session_destructor (void **item)
{
    stx_bk_session_destroy ((stx_bk_session_t **) item);
}

//  Collects one snapshot chunk while stx_txn_entries walks the catalogue.
typedef struct {
    ProtobufCBinaryData items [STX_BK_CHUNK_ENTRIES];
    size_t count;
    size_t bytes;
    char last_key [1024];       //  of the last entry taken (stx_txn_entries' limit)
    bool stopped;               //  full: more entries may follow
} s_chunk_t;

static int
s_chunk_entry (const char *key, const uint8_t *data, size_t size, void *arg)
{
    s_chunk_t *chunk = (s_chunk_t *) arg;
    if (chunk->count == STX_BK_CHUNK_ENTRIES
    || (chunk->count > 0 && chunk->bytes + size > STX_BK_CHUNK_BYTES)) {
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

//  Send what the session's credit allows, but at most STX_BK_PUMP_CHUNKS chunks
//  (the main loop comes back for the rest, so one big snapshot never stalls
//  the broker). Returns true when the snapshot is complete (or failed) and
//  the session should end.
static bool
s_session_pump (stx_bk_t *self, stx_bk_session_t *session)
{
    session->starved = false;
    for (int chunks = 0; session->credit > 0 && chunks < STX_BK_PUMP_CHUNKS; chunks++) {
        //  A peer whose queue is full gets no more chunks until it reads
        //  (its session times out if it never does)
        if (stx_replyq_busy (self->replies, session->routing_id)) {
            session->starved = true;
            return false;
        }
        if (!stx_bk_read_allowed (self, session->reader)) {
            session->starved = true;    //  resumes when the reader's bucket refills
            return false;
        }
        s_chunk_t chunk;
        memset (&chunk, 0, sizeof (chunk));
        stx_status_t status = stx_txn_entries (session->txn, session->after,
                                               s_chunk_entry, &chunk);
        if (status != STX_OK) {
            zsys_error ("snapshot: cannot read the catalogue: %s", stx_strerror (status));
            stx_bk_send_error (self, session->routing_id, STEMX__REASON__R_STORAGE,
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
            stx_bk_read_charge (self, session->reader, chunk.bytes);
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

void
stx_bk_handle_snapshot (stx_bk_t *self, zframe_t *routing_id, Stemx__SnapshotRequest *request,
                        const char *reader)
{
    char *key = stx_bk_peer_key (routing_id);
    zhashx_delete (self->sessions, key);    //  a new request restarts it
    int mine = 0;                           //  sessions of the same reader
    for (stx_bk_session_t *other = (stx_bk_session_t *) zhashx_first (self->sessions); other;
         other = (stx_bk_session_t *) zhashx_next (self->sessions))
        mine += streq (other->reader, reader);
    char text [192];
    if ((int) zhashx_size (self->sessions) >= self->max_sessions || mine >= self->org_sessions) {
        if (mine >= self->org_sessions)
            snprintf (text, sizeof (text), "busy: %.100s has %d snapshot sessions running, "
                      "retry later", reader, mine);
        else
            snprintf (text, sizeof (text), "busy: %d snapshot sessions running, retry later",
                      self->max_sessions);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_STORAGE, text);
        free (key);
        return;
    }
    if (!stx_bk_read_allowed (self, reader)) {
        stx_bk_read_refuse (self, routing_id, "snapshot");
        free (key);
        return;
    }
    stx_bk_session_t *session = (stx_bk_session_t *) zmalloc (sizeof (stx_bk_session_t));
    assert (session);
    session->routing_id = zframe_dup (routing_id);
    session->reader = strdup (reader);
    assert (session->reader);
    session->credit = request->credit < STX_BK_CREDIT_MAX? request->credit: STX_BK_CREDIT_MAX;
    session->began = zclock_mono ();
    session->last_sent = session->began;
    stx_status_t status = stx_store_begin (self->store, false, &session->txn);
    if (status == STX_OK)
        status = stx_txn_meta (session->txn, &session->meta);
    if (status != STX_OK) {
        zsys_error ("snapshot: cannot begin read: %s", stx_strerror (status));
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_STORAGE, "snapshot: storage error");
        stx_bk_session_destroy (&session);
        free (key);
        return;
    }
    if (s_session_pump (self, session))
        stx_bk_session_destroy (&session);
    else
        zhashx_insert (self->sessions, key, session);
    free (key);
}

void
stx_bk_handle_credit (stx_bk_t *self, zframe_t *routing_id, Stemx__Credit *credit)
{
    char *key = stx_bk_peer_key (routing_id);
    stx_bk_session_t *session = (stx_bk_session_t *) zhashx_lookup (self->sessions, key);
    if (!session) {
        //  Credits for chunks consumed after the session ended are normal
        if (self->verbose)
            zsys_debug ("credit without a snapshot session, ignored");
    }
    else {
        //  Credit alone does not keep a session alive: only chunks sent do
        session->credit += credit->credit;
        if (session->credit > STX_BK_CREDIT_MAX)
            session->credit = STX_BK_CREDIT_MAX;
        if (s_session_pump (self, session))
            zhashx_delete (self->sessions, key);
    }
    free (key);
}


//  Go on with every session that has credit left (each by at most
//  STX_BK_PUMP_CHUNKS chunks). Returns true if some still has credit, so the
//  main loop comes back without waiting.
bool
stx_bk_sessions_service (stx_bk_t *self)
{
    bool more = false;
    zlistx_t *done = NULL;
    stx_bk_session_t *session = (stx_bk_session_t *) zhashx_first (self->sessions);
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
        session = (stx_bk_session_t *) zhashx_next (self->sessions);
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
void
stx_bk_sessions_end (stx_bk_t *self, const char *why)
{
    stx_bk_session_t *session = (stx_bk_session_t *) zhashx_first (self->sessions);
    while (session) {
        stx_bk_send_error (self, session->routing_id, STEMX__REASON__R_STORAGE, why);
        session = (stx_bk_session_t *) zhashx_next (self->sessions);
    }
    if (zhashx_size (self->sessions))
        zsys_notice ("%zu snapshot sessions ended: %s", zhashx_size (self->sessions), why);
    zhashx_purge (self->sessions);
}
