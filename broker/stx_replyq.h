/*  =========================================================================
    stx_replyq - the broker's replies to its peers, in bounded queues

    libzmq bounds a ROUTER's queue to each peer in messages, not bytes, and
    a reply may be an ack of a few bytes or a LOG range of a few hundred
    KiB. So the ROUTER's high-water mark is kept small (ROUTER_MANDATORY
    tells when a peer's queue is full), and replies that find it full are
    held here, in order, within a byte budget per peer and in all. What a
    peer that does not read can make the broker hold is then its libzmq
    queue (high-water mark x largest reply) plus its budget here; beyond
    that its replies are dropped, as libzmq would drop them, and an honest
    peer asks again. Everything runs in the broker's thread.
    ========================================================================= */

#ifndef STX_REPLYQ_H_INCLUDED
#define STX_REPLYQ_H_INCLUDED

#include <czmq.h>
#include "stemx.pb-c.h"

typedef struct _stx_replyq_t stx_replyq_t;

//  What became of a reply.
typedef enum {
    STX_REPLYQ_SENT,            //  in libzmq's queue to the peer
    STX_REPLYQ_HELD,            //  held here until the peer's queue has room
    STX_REPLYQ_DROPPED          //  over a budget, or the peer is gone
} stx_replyq_result_t;

//  Replies on router, which must have ZMQ_ROUTER_MANDATORY set and a send
//  timeout of 0 (stx_replyq_prepare). peer_bytes and total_bytes are the
//  budgets of held replies. The router stays the caller's; destroy this
//  before it. Never NULL.
stx_replyq_t *
    stx_replyq_new (zsock_t *router, size_t peer_bytes, size_t total_bytes);

//  Destroy the queues and drop what they hold; accepts NULL.
void
    stx_replyq_destroy (stx_replyq_t **self_p);

//  Set the options stx_replyq_new needs on router, before it binds:
//  ROUTER_MANDATORY, a send timeout of 0 and the high-water marks hwm.
void
    stx_replyq_prepare (zsock_t *router, int hwm);

//  Send reply to the peer routing_id (borrowed), after anything held for
//  it. Encodes reply at once; the caller keeps reply.
stx_replyq_result_t
    stx_replyq_send (stx_replyq_t *self, zframe_t *routing_id, const Stemx__Reply *reply);

//  True if replies are held for routing_id: work that only makes more
//  replies for it (the next snapshot chunk) should wait.
bool
    stx_replyq_busy (stx_replyq_t *self, zframe_t *routing_id);

//  Send held replies as far as the peers' queues take them. Returns the
//  number of replies still held (0: nothing to retry).
size_t
    stx_replyq_flush (stx_replyq_t *self);

//  Replies held now, over every peer.
size_t
    stx_replyq_held (stx_replyq_t *self);

//  Bytes held now, over every peer.
size_t
    stx_replyq_held_bytes (stx_replyq_t *self);

//  Replies dropped so far because a budget was spent (a gone peer's do
//  not count: libzmq drops those too).
uint64_t
    stx_replyq_dropped (stx_replyq_t *self);

#endif
