/*  =========================================================================
    test_stx_replyq - replies wait in order for a full queue, within their
    budgets, and a gone peer's are dropped

    A real ROUTER and DEALER over inproc with a high-water mark of 4, so a
    DEALER that does not read fills its libzmq queue after a few replies.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "stx_replyq.h"
#include "stx_wire.h"

typedef struct {
    zsock_t *router;
    zsock_t *dealer;
    zframe_t *routing_id;       //  the dealer's, as the router sees it
} pair_t;

static int
s_setup (void **state)
{
    pair_t *self = (pair_t *) zmalloc (sizeof (pair_t));
    static int pairs = 0;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://replyq-%d", ++pairs);
    self->router = zsock_new (ZMQ_ROUTER);
    stx_replyq_prepare (self->router, 4);
    assert_int_equal (zsock_bind (self->router, "%s", endpoint), 0);
    self->dealer = zsock_new (ZMQ_DEALER);
    zsock_set_rcvhwm (self->dealer, 4);
    assert_int_equal (zsock_connect (self->dealer, "%s", endpoint), 0);
    //  The router knows the dealer once it has heard from it
    zstr_send (self->dealer, "hello");
    zmsg_t *msg = zmsg_recv (self->router);
    assert_non_null (msg);
    self->routing_id = zmsg_pop (msg);
    zmsg_destroy (&msg);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    pair_t *self = (pair_t *) *state;
    zframe_destroy (&self->routing_id);
    zsock_destroy (&self->dealer);
    zsock_destroy (&self->router);
    free (self);
    return 0;
}

//  A Pong reply whose seq is number, so order can be checked.
static Stemx__Reply *
s_reply (Stemx__Reply *reply, Stemx__Pong *pong, int64_t number)
{
    stemx__pong__init (pong);
    pong->seq = number;
    stemx__reply__init (reply);
    reply->body_case = STEMX__REPLY__BODY_PONG;
    reply->pong = pong;
    return reply;
}

//  Read replies on the dealer until none comes within 200 ms; check they
//  are numbered first, first + 1, ...; return how many came.
static int
s_read_in_order (pair_t *self, int64_t first)
{
    int count = 0;
    Stemx__Reply *reply = NULL;
    while (stx_wire_recv_reply (self->dealer, 200, &reply) == STX_OK) {
        assert_int_equal (reply->body_case, STEMX__REPLY__BODY_PONG);
        assert_int_equal (reply->pong->seq, first + count);
        count++;
        stx_wire_reply_free (&reply);
    }
    return count;
}

static void
test_held_in_order (void **state)
{
    pair_t *self = (pair_t *) *state;
    stx_replyq_t *replies = stx_replyq_new (self->router, 1024 * 1024, 1024 * 1024);
    Stemx__Reply reply;
    Stemx__Pong pong;
    int sent = 0, held = 0;
    for (int number = 0; number < 100; number++) {
        stx_replyq_result_t result = stx_replyq_send (replies, self->routing_id,
                                                      s_reply (&reply, &pong, number));
        if (result == STX_REPLYQ_SENT)
            sent++;
        if (result == STX_REPLYQ_HELD)
            held++;
        assert_int_not_equal (result, STX_REPLYQ_DROPPED);
    }
    //  libzmq took what its queues hold; the rest waits here
    assert_true (sent > 0);
    assert_true (held > 0);
    assert_int_equal (sent + held, 100);
    assert_true (stx_replyq_busy (replies, self->routing_id));
    assert_true (stx_replyq_held_bytes (replies) > 0);

    //  As the dealer reads, flushing sends the rest, in order
    int count = 0;
    int64_t deadline = zclock_mono () + 5000;
    while (count < 100 && zclock_mono () < deadline) {
        Stemx__Reply *got = NULL;
        if (stx_wire_recv_reply (self->dealer, 10, &got) == STX_OK) {
            assert_int_equal (got->pong->seq, count);
            count++;
            stx_wire_reply_free (&got);
        }
        stx_replyq_flush (replies);
    }
    assert_int_equal (count, 100);
    assert_int_equal (stx_replyq_flush (replies), 0);
    assert_false (stx_replyq_busy (replies, self->routing_id));
    assert_int_equal (stx_replyq_held_bytes (replies), 0);
    assert_int_equal (stx_replyq_dropped (replies), 0);
    stx_replyq_destroy (&replies);
}

static void
test_budget (void **state)
{
    pair_t *self = (pair_t *) *state;
    //  Room for a few pongs (about 10 bytes each) per peer
    stx_replyq_t *replies = stx_replyq_new (self->router, 40, 1024);
    Stemx__Reply reply;
    Stemx__Pong pong;
    int dropped = 0;
    for (int number = 0; number < 100; number++)
        if (stx_replyq_send (replies, self->routing_id, s_reply (&reply, &pong, number))
            == STX_REPLYQ_DROPPED)
            dropped++;
    assert_true (dropped > 50);
    assert_int_equal (stx_replyq_dropped (replies), (uint64_t) dropped);
    assert_true (stx_replyq_held_bytes (replies) <= 40);
    //  What was not dropped arrives, in order, with no gap before the drops
    int count = 0;
    int64_t deadline = zclock_mono () + 2000;
    while (stx_replyq_flush (replies) > 0 && zclock_mono () < deadline)
        count += s_read_in_order (self, count);
    count += s_read_in_order (self, count);
    assert_int_equal (count, 100 - dropped);
    stx_replyq_destroy (&replies);
}

static void
test_gone_peer (void **state)
{
    pair_t *self = (pair_t *) *state;
    stx_replyq_t *replies = stx_replyq_new (self->router, 1024 * 1024, 1024 * 1024);
    Stemx__Reply reply;
    Stemx__Pong pong;
    for (int number = 0; number < 50; number++)
        stx_replyq_send (replies, self->routing_id, s_reply (&reply, &pong, number));
    assert_true (stx_replyq_busy (replies, self->routing_id));
    zsock_destroy (&self->dealer);
    //  The router learns of the disconnect once it reads past the
    //  dealer's last message, as the broker always reads: flushing then
    //  drops what was held, with no budget counted
    zsock_set_rcvtimeo (self->router, 10);
    int64_t deadline = zclock_mono () + 5000;
    while (stx_replyq_flush (replies) > 0 && zclock_mono () < deadline) {
        zmsg_t *msg = zmsg_recv (self->router);
        zmsg_destroy (&msg);
    }
    assert_int_equal (stx_replyq_flush (replies), 0);
    assert_int_equal (stx_replyq_held_bytes (replies), 0);
    assert_int_equal (stx_replyq_dropped (replies), 0);
    //  A reply to a peer nobody knows is dropped at once
    zframe_t *stranger = zframe_new ("\x00\x01\x02\x03\x04", 5);
    assert_int_equal (stx_replyq_send (replies, stranger, s_reply (&reply, &pong, 1)),
                      STX_REPLYQ_DROPPED);
    zframe_destroy (&stranger);
    stx_replyq_destroy (&replies);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_held_in_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_budget, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_gone_peer, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
