/*  =========================================================================
    stx_replyq - the broker's replies to its peers, in bounded queues

    Runs in the broker's thread. Owns the replies it holds (one frame
    each) and a copy of each holding peer's routing id; the ROUTER is the
    broker's. A peer has an entry here only while replies are held for it.
    ========================================================================= */

#include <errno.h>
#include "stx_replyq.h"

typedef struct {
    zframe_t *routing_id;
    zlistx_t *replies;          //  zframe_t *, oldest first
    size_t bytes;
} s_peer_t;

struct _stx_replyq_t {
    zsock_t *router;
    size_t peer_bytes;
    size_t total_bytes;
    zhashx_t *peers;            //  hex routing id -> s_peer_t
    size_t held;                //  replies held, over every peer
    size_t held_bytes;
    uint64_t dropped;
};

static void
s_peer_destroy (s_peer_t **self_p)
{
    if (*self_p) {
        s_peer_t *self = *self_p;
        zframe_destroy (&self->routing_id);
        zlistx_destroy (&self->replies);
        free (self);
        *self_p = NULL;
    }
}

stx_replyq_t *
stx_replyq_new (zsock_t *router, size_t peer_bytes, size_t total_bytes)
{
    assert (router);
    stx_replyq_t *self = (stx_replyq_t *) zmalloc (sizeof (stx_replyq_t));
    assert (self);
    self->router = router;
    self->peer_bytes = peer_bytes;
    self->total_bytes = total_bytes;
    self->peers = zhashx_new ();
    assert (self->peers);
    zhashx_set_destructor (self->peers, (zhashx_destructor_fn *) s_peer_destroy);
    return self;
}

void
stx_replyq_destroy (stx_replyq_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        stx_replyq_t *self = *self_p;
        zhashx_destroy (&self->peers);
        free (self);
        *self_p = NULL;
    }
}

void
stx_replyq_prepare (zsock_t *router, int hwm)
{
    assert (router);
    zsock_set_router_mandatory (router, 1);
    zsock_set_sndtimeo (router, 0);
    zsock_set_sndhwm (router, hwm);
    zsock_set_rcvhwm (router, hwm);
}

//  Offer frame to the peer's libzmq queue. 0 when sent (frame is then
//  taken), else the errno: EAGAIN for a full queue, EHOSTUNREACH for a
//  peer that is gone (frame stays the caller's).
static int
s_offer (stx_replyq_t *self, zframe_t *routing_id, zframe_t **frame_p)
{
    if (zframe_send (&routing_id, self->router, ZFRAME_MORE | ZFRAME_REUSE) != 0)
        return zmq_errno ();
    //  The routing frame took the peer's last free slot check: the body
    //  of the same message always follows it
    if (zframe_send (frame_p, self->router, 0) != 0)
        zframe_destroy (frame_p);
    return 0;
}

//  Hold frame for peer if the budgets have room; else drop it.
static stx_replyq_result_t
s_hold (stx_replyq_t *self, s_peer_t *peer, zframe_t **frame_p)
{
    size_t size = zframe_size (*frame_p);
    if (peer->bytes + size > self->peer_bytes || self->held_bytes + size > self->total_bytes) {
        zframe_destroy (frame_p);
        self->dropped++;
        return STX_REPLYQ_DROPPED;
    }
    zlistx_add_end (peer->replies, *frame_p);
    *frame_p = NULL;
    peer->bytes += size;
    self->held++;
    self->held_bytes += size;
    return STX_REPLYQ_HELD;
}

stx_replyq_result_t
stx_replyq_send (stx_replyq_t *self, zframe_t *routing_id, const Stemx__Reply *reply)
{
    assert (self);
    assert (routing_id);
    assert (reply);
    size_t size = stemx__reply__get_packed_size (reply);
    zframe_t *frame = zframe_new (NULL, size);
    assert (frame);
    stemx__reply__pack (reply, zframe_data (frame));

    //  Most replies find nothing held: no peer lookup for them
    char *key = self->held > 0? zframe_strhex (routing_id): NULL;
    s_peer_t *peer = key? (s_peer_t *) zhashx_lookup (self->peers, key): NULL;
    stx_replyq_result_t result;
    if (peer)
        result = s_hold (self, peer, &frame);     //  after what waits already
    else {
        int error = s_offer (self, routing_id, &frame);
        if (error == 0)
            result = STX_REPLYQ_SENT;
        else
        if (error == EAGAIN) {
            if (!key)
                key = zframe_strhex (routing_id);
            peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
            assert (peer);
            peer->routing_id = zframe_dup (routing_id);
            peer->replies = zlistx_new ();
            assert (peer->replies);
            zlistx_set_destructor (peer->replies, (zlistx_destructor_fn *) zframe_destroy);
            zhashx_insert (self->peers, key, peer);
            result = s_hold (self, peer, &frame);
            if (result == STX_REPLYQ_DROPPED)
                zhashx_delete (self->peers, key);
        }
        else {
            zframe_destroy (&frame);
            result = STX_REPLYQ_DROPPED;
        }
    }
    free (key);
    return result;
}

bool
stx_replyq_busy (stx_replyq_t *self, zframe_t *routing_id)
{
    assert (self);
    if (self->held == 0)
        return false;
    char *key = zframe_strhex (routing_id);
    bool busy = zhashx_lookup (self->peers, key) != NULL;
    free (key);
    return busy;
}

//  Send what is held for peer until its queue is full again. True when
//  nothing is left for it (all sent, or the peer is gone).
static bool
s_peer_flush (stx_replyq_t *self, s_peer_t *peer)
{
    zframe_t *frame = (zframe_t *) zlistx_first (peer->replies);
    while (frame) {
        size_t size = zframe_size (frame);
        int error = s_offer (self, peer->routing_id, &frame);
        if (error == EAGAIN)
            return false;
        if (error == 0)
            zlistx_detach_cur (peer->replies);
        else
            zlistx_delete (peer->replies, zlistx_cursor (peer->replies));
        peer->bytes -= size;
        self->held--;
        self->held_bytes -= size;
        frame = (zframe_t *) zlistx_first (peer->replies);
    }
    return true;
}

size_t
stx_replyq_flush (stx_replyq_t *self)
{
    assert (self);
    if (self->held == 0)
        return 0;
    zlistx_t *done = zlistx_new ();
    assert (done);
    zlistx_set_destructor (done, (zlistx_destructor_fn *) zstr_free);
    s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers);
    while (peer) {
        if (s_peer_flush (self, peer))
            zlistx_add_end (done, strdup ((const char *) zhashx_cursor (self->peers)));
        peer = (s_peer_t *) zhashx_next (self->peers);
    }
    const char *key = (const char *) zlistx_first (done);
    while (key) {
        zhashx_delete (self->peers, key);
        key = (const char *) zlistx_next (done);
    }
    zlistx_destroy (&done);
    return self->held;
}

size_t
stx_replyq_held (stx_replyq_t *self)
{
    assert (self);
    return self->held;
}

size_t
stx_replyq_held_bytes (stx_replyq_t *self)
{
    assert (self);
    return self->held_bytes;
}

uint64_t
stx_replyq_dropped (stx_replyq_t *self)
{
    assert (self);
    return self->dropped;
}
