/*  =========================================================================
    stx_log_server - HELLO, FETCH and PING

    What a peer learns of the log: its WELCOME (position, refresh), LOG
    ranges one at a time within the reader's allowance, PONG. Runs in the
    broker's actor thread.
    ========================================================================= */

#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  HELLO, FETCH, PING

//  A node name is stamped into every event of the peer and logged: valid
void
stx_bk_handle_hello (stx_bk_t *self, zframe_t *routing_id, Stemx__Hello *hello, const char *org)
{
    const char *node = hello->node? hello->node: "";
    const char *invalid = stx_node_name_invalid (node);
    if (invalid) {
        //  The peer keeps the name it had; nothing of the bad one is logged
        char text [96], who [64];
        snprintf (text, sizeof (text), "hello: node name %s", invalid);
        stx_bk_warn (self, "refused request from %s: %s",
                     stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_INVALID, text);
        return;
    }
    stx_bk_peer_t *peer = stx_bk_peer_touch (self, routing_id, true);
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
    welcome.publish_window = STX_BK_PUBLISH_WINDOW;
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
//  already sent waits STX_BK_FETCH_GAP_MS), and the reader's read allowance.
void
stx_bk_handle_fetch (stx_bk_t *self, zframe_t *routing_id, Stemx__Fetch *fetch, const char *reader)
{
    const stx_meta_t *meta = &self->meta;
    uint64_t from = fetch->from? fetch->from: 1;
    uint64_t to = fetch->to == 0 || fetch->to > meta->seq? meta->seq: fetch->to;
    char *peer_key = stx_bk_peer_key (routing_id);
    stx_bk_peer_t *peer = (stx_bk_peer_t *) zhashx_lookup (self->peers, peer_key);
    free (peer_key);
    int64_t now = zclock_mono ();
    if (peer && peer->fetch_at && from <= peer->fetch_last
    &&  now - peer->fetch_at < STX_BK_FETCH_GAP_MS) {
        char text [160];
        snprintf (text, sizeof (text), "fetch: events up to %" PRIu64 " were sent %" PRId64
                  " ms ago; ask for what follows them, or again after %d ms",
                  peer->fetch_last, now - peer->fetch_at, STX_BK_FETCH_GAP_MS);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_RATE_LIMITED, text);
        return;
    }
    if (from <= to && !stx_bk_read_allowed (self, reader)) {
        stx_bk_read_refuse (self, routing_id, "fetch");
        return;
    }
    if (from < meta->log_first && from <= meta->seq) {
        char text [128];
        snprintf (text, sizeof (text), "fetch from %" PRIu64 " is below the log horizon %" PRIu64,
                  from, meta->log_first);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_REFRESH_REQUIRED, text);
        return;
    }
    s_range_t range = { NULL, 0, 0 };
    stx_txn_t *txn = NULL;
    uint8_t prior [STX_HEAD_SIZE];
    bool prior_known = false;
    if (from <= to) {
        stx_status_t status = stx_store_begin (self->store, false, &txn);
        if (status != STX_OK) {
            stx_bk_send_error (self, routing_id, STEMX__REASON__R_STORAGE, "fetch: storage error");
            return;
        }
        prior_known = stx_txn_head_at (txn, from - 1, prior) == STX_OK;
        uint64_t wanted = to - from + 1;
        if (wanted > STX_BK_FETCH_EVENTS)
            wanted = STX_BK_FETCH_EVENTS;
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
            if (range.count > 0 && range.bytes + size > STX_BK_FETCH_BYTES)
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
        stx_bk_read_charge (self, reader, range.bytes);
        if (peer) {
            peer->fetch_last = from + range.count - 1;
            peer->fetch_at = now;
        }
    }
}

//  PONG: the committed position, and the head at the peer's sequence while
//  the heads still cover it (stemx verify compares it with the replica's).
void
stx_bk_handle_ping (stx_bk_t *self, zframe_t *routing_id, Stemx__Ping *ping)
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
