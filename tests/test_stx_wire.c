/*  =========================================================================
    test_stx_wire - framing of Request/Reply over real ZeroMQ sockets

    A DEALER and a ROUTER on inproc: round trips of requests and replies,
    malformed, empty and oversized frames refused with the right status,
    the receive timeout, and heartbeats over PUB/SUB.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "stx_wire.h"

typedef struct {
    zsock_t *router;
    zsock_t *dealer;
} fixture_t;

static int
s_setup (void **state)
{
    static int counter = 0;
    fixture_t *self = (fixture_t *) zmalloc (sizeof (fixture_t));
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "inproc://test-wire-%d", counter++);
    self->router = zsock_new (ZMQ_ROUTER);
    assert_non_null (self->router);
    assert_int_equal (zsock_bind (self->router, "%s", endpoint), 0);
    self->dealer = zsock_new (ZMQ_DEALER);
    assert_non_null (self->dealer);
    assert_int_equal (zsock_connect (self->dealer, "%s", endpoint), 0);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    zsock_destroy (&self->dealer);
    zsock_destroy (&self->router);
    free (self);
    return 0;
}

//  Receive [routing id, body] on the router, waiting at most 2 s.
static zmsg_t *
s_router_recv (fixture_t *self)
{
    zpoller_t *poller = zpoller_new (self->router, NULL);
    void *which = zpoller_wait (poller, 2000);
    zpoller_destroy (&poller);
    assert_ptr_equal (which, self->router);
    zmsg_t *msg = zmsg_recv (self->router);
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 2);
    return msg;
}

static void
test_request_round_trip (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    uint8_t lineage [16];
    memset (lineage, 7, sizeof (lineage));
    Stemx__Hello hello = STEMX__HELLO__INIT;
    hello.node = (char *) "agent-a";
    hello.lineage.data = lineage;
    hello.lineage.len = sizeof (lineage);
    hello.last_seq = 42;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_HELLO;
    request.hello = &hello;
    assert_int_equal (stx_wire_send_request (self->dealer, &request), 0);

    zmsg_t *msg = s_router_recv (self);
    zframe_t *routing_id = zmsg_pop (msg);
    Stemx__Request *decoded = NULL;
    assert_int_equal (stx_wire_decode_request (zmsg_first (msg), 0, &decoded), STX_OK);
    assert_int_equal (decoded->body_case, STEMX__REQUEST__BODY_HELLO);
    assert_string_equal (decoded->hello->node, "agent-a");
    assert_int_equal (decoded->hello->last_seq, 42);
    assert_int_equal (decoded->hello->lineage.len, 16);
    assert_memory_equal (decoded->hello->lineage.data, lineage, 16);
    assert_string_equal (stx_wire_request_name (decoded), "hello");
    stx_wire_request_free (&decoded);
    assert_null (decoded);
    stx_wire_request_free (&decoded);       //  accepts NULL

    //  Reply through the router to that peer
    Stemx__Pong pong = STEMX__PONG__INIT;
    pong.seq = 99;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_PONG;
    reply.pong = &pong;
    assert_int_equal (stx_wire_send_reply (self->router, routing_id, &reply), 0);
    assert_non_null (routing_id);           //  not consumed
    Stemx__Reply *answer = NULL;
    assert_int_equal (stx_wire_recv_reply (self->dealer, 2000, &answer), STX_OK);
    assert_int_equal (answer->body_case, STEMX__REPLY__BODY_PONG);
    assert_int_equal (answer->pong->seq, 99);
    assert_string_equal (stx_wire_reply_name (answer), "pong");
    stx_wire_reply_free (&answer);
    assert_null (answer);
    zframe_destroy (&routing_id);
    zmsg_destroy (&msg);
}

static void
test_publish_round_trip (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    uint8_t one [3] = { 1, 2, 3 }, two [1] = { 9 };
    ProtobufCBinaryData events [2] = { { 3, one }, { 1, two } };
    assert_int_equal (stx_wire_send_publish (self->dealer, events, 2), 0);
    zmsg_t *msg = s_router_recv (self);
    Stemx__Request *decoded = NULL;
    assert_int_equal (stx_wire_decode_request (zmsg_last (msg), 1024, &decoded), STX_OK);
    assert_int_equal (decoded->body_case, STEMX__REQUEST__BODY_PUBLISH);
    assert_int_equal (decoded->publish->n_events, 2);
    assert_memory_equal (decoded->publish->events [0].data, one, 3);
    assert_int_equal (decoded->publish->events [1].len, 1);
    stx_wire_request_free (&decoded);
    zmsg_destroy (&msg);
}

static void
test_ack_with_results (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    //  Prime the router with the dealer's routing id
    Stemx__Ping ping = STEMX__PING__INIT;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PING;
    request.ping = &ping;
    assert_int_equal (stx_wire_send_request (self->dealer, &request), 0);
    zmsg_t *msg = s_router_recv (self);
    zframe_t *routing_id = zmsg_pop (msg);

    Stemx__Result ok = STEMX__RESULT__INIT, refused = STEMX__RESULT__INIT;
    ok.seq = 5;
    ok.version = 1;
    refused.reason = STEMX__REASON__R_UNKNOWN_CODE;
    refused.text = (char *) "ini:x: od_codes[0]: unknown OD code 'OD 9.9.9'";
    Stemx__Result *results [2] = { &ok, &refused };
    Stemx__Ack ack = STEMX__ACK__INIT;
    ack.n_results = 2;
    ack.results = results;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_ACK;
    reply.ack = &ack;
    assert_int_equal (stx_wire_send_reply (self->router, routing_id, &reply), 0);
    Stemx__Reply *answer = NULL;
    assert_int_equal (stx_wire_recv_reply (self->dealer, 2000, &answer), STX_OK);
    assert_int_equal (answer->ack->n_results, 2);
    assert_int_equal (answer->ack->results [0]->seq, 5);
    assert_int_equal (answer->ack->results [1]->reason, STEMX__REASON__R_UNKNOWN_CODE);
    assert_string_equal (answer->ack->results [1]->text, refused.text);
    stx_wire_reply_free (&answer);
    zframe_destroy (&routing_id);
    zmsg_destroy (&msg);
}

static void
test_malformed_refused (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    //  Garbage bytes: field 15, wire type 7 does not exist
    uint8_t garbage [] = { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff };
    zframe_t *frame = zframe_new (garbage, sizeof (garbage));
    assert_int_equal (zframe_send (&frame, self->dealer, 0), 0);
    zmsg_t *msg = s_router_recv (self);
    Stemx__Request *decoded = NULL;
    assert_int_equal (stx_wire_decode_request (zmsg_last (msg), 0, &decoded), STX_ERR_MALFORMED);
    assert_null (decoded);
    zmsg_destroy (&msg);

    //  Empty frame: decodes to a request with no body set
    zstr_send (self->dealer, "");
    msg = s_router_recv (self);
    assert_int_equal (zframe_size (zmsg_last (msg)), 0);
    assert_int_equal (stx_wire_decode_request (zmsg_last (msg), 0, &decoded), STX_ERR_MALFORMED);
    assert_null (decoded);
    zmsg_destroy (&msg);

    //  A Reply is not a Request: a reply body's field numbers decode, but
    //  a truncated message does not
    uint8_t truncated [] = { 0x0a, 0x05, 0x0a };
    frame = zframe_new (truncated, sizeof (truncated));
    assert_int_equal (zframe_send (&frame, self->dealer, 0), 0);
    msg = s_router_recv (self);
    assert_int_equal (stx_wire_decode_request (zmsg_last (msg), 0, &decoded), STX_ERR_MALFORMED);
    zmsg_destroy (&msg);

    //  Replies: the same rules
    Stemx__Reply *reply = NULL;
    frame = zframe_new (garbage, sizeof (garbage));
    assert_int_equal (stx_wire_decode_reply (frame, &reply), STX_ERR_MALFORMED);
    zframe_destroy (&frame);
    frame = zframe_new (NULL, 0);
    assert_int_equal (stx_wire_decode_reply (frame, &reply), STX_ERR_MALFORMED);
    assert_null (reply);
    zframe_destroy (&frame);
}

static void
test_oversized_refused (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    size_t size = 64 * 1024;
    uint8_t *big = (uint8_t *) calloc (1, size);
    ProtobufCBinaryData events [1] = { { size, big } };
    Stemx__Publish publish = STEMX__PUBLISH__INIT;
    publish.n_events = 1;
    publish.events = events;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PUBLISH;
    request.publish = &publish;
    assert_int_equal (stx_wire_send_request (self->dealer, &request), 0);
    zmsg_t *msg = s_router_recv (self);
    Stemx__Request *decoded = NULL;
    assert_int_equal (stx_wire_decode_request (zmsg_last (msg), 1024, &decoded), STX_ERR_TOO_LARGE);
    assert_null (decoded);
    //  The same frame passes with room to spare, and with no limit
    assert_int_equal (stx_wire_decode_request (zmsg_last (msg), 2 * size, &decoded), STX_OK);
    stx_wire_request_free (&decoded);
    assert_int_equal (stx_wire_decode_request (zmsg_last (msg), 0, &decoded), STX_OK);
    stx_wire_request_free (&decoded);
    assert_int_equal (stx_status_reason (STX_ERR_TOO_LARGE), STEMX__REASON__R_TOO_LARGE);
    zmsg_destroy (&msg);
    free (big);
}

static void
test_recv_timeout (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    Stemx__Reply *reply = NULL;
    int64_t start = zclock_mono ();
    assert_int_equal (stx_wire_recv_reply (self->dealer, 100, &reply), STX_ERR_TIMEOUT);
    int64_t elapsed = zclock_mono () - start;
    assert_true (elapsed >= 90);
    assert_true (elapsed < 2000);
    assert_null (reply);
    assert_int_equal (stx_wire_recv_reply (self->dealer, 0, &reply), STX_ERR_TIMEOUT);
}

static void
test_recv_multiframe_refused (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    Stemx__Ping ping = STEMX__PING__INIT;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PING;
    request.ping = &ping;
    assert_int_equal (stx_wire_send_request (self->dealer, &request), 0);
    zmsg_t *msg = s_router_recv (self);
    zframe_t *routing_id = zmsg_pop (msg);
    //  Two body frames where one is expected
    zframe_send (&routing_id, self->router, ZFRAME_MORE);
    zstr_sendm (self->router, "one");
    zstr_send (self->router, "two");
    Stemx__Reply *reply = NULL;
    assert_int_equal (stx_wire_recv_reply (self->dealer, 2000, &reply), STX_ERR_MALFORMED);
    assert_null (reply);
    zmsg_destroy (&msg);
}

static void
test_heartbeat_pub_sub (void **state)
{
    (void) state;
    zsock_t *publisher = zsock_new_pub ("@inproc://test-wire-pub");
    zsock_t *subscriber = zsock_new_sub (">inproc://test-wire-pub", STX_TOPIC_HEARTBEAT);
    assert_non_null (publisher);
    assert_non_null (subscriber);
    zsock_set_subscribe (subscriber, STX_TOPIC_EVENT);
    uint8_t lineage [16], head [32];
    memset (lineage, 1, sizeof (lineage));
    memset (head, 2, sizeof (head));
    Stemx__Heartbeat heartbeat = STEMX__HEARTBEAT__INIT;
    heartbeat.lineage.data = lineage;
    heartbeat.lineage.len = sizeof (lineage);
    heartbeat.seq = 1234;
    heartbeat.head.data = head;
    heartbeat.head.len = sizeof (head);
    //  A subscription takes a moment to reach the publisher: send until one
    //  arrives, with a deadline (no sleeps)
    zpoller_t *poller = zpoller_new (subscriber, NULL);
    int64_t deadline = zclock_mono () + 5000;
    void *which = NULL;
    while (!which && zclock_mono () < deadline) {
        assert_int_equal (stx_wire_send_heartbeat (publisher, &heartbeat), 0);
        which = zpoller_wait (poller, 20);
    }
    assert_ptr_equal (which, subscriber);
    zmsg_t *msg = zmsg_recv (subscriber);
    assert_int_equal (zmsg_size (msg), 2);
    assert_true (zframe_streq (zmsg_first (msg), STX_TOPIC_HEARTBEAT));
    Stemx__Heartbeat *decoded = NULL;
    assert_int_equal (stx_wire_decode_heartbeat (zmsg_last (msg), &decoded), STX_OK);
    assert_int_equal (decoded->seq, 1234);
    assert_memory_equal (decoded->head.data, head, 32);
    stx_wire_heartbeat_free (&decoded);
    assert_null (decoded);
    zmsg_destroy (&msg);

    //  An event: topic "E" and the bytes unchanged
    uint8_t bytes [] = { 0x42, 0x00, 0x17 };
    assert_int_equal (stx_wire_publish (publisher, STX_TOPIC_EVENT, bytes, sizeof (bytes)), 0);
    //  Drain heartbeats still queued from the loop above
    while (true) {
        assert_ptr_equal (zpoller_wait (poller, 2000), subscriber);
        msg = zmsg_recv (subscriber);
        if (zframe_streq (zmsg_first (msg), STX_TOPIC_EVENT))
            break;
        zmsg_destroy (&msg);
    }
    assert_int_equal (zframe_size (zmsg_last (msg)), sizeof (bytes));
    assert_memory_equal (zframe_data (zmsg_last (msg)), bytes, sizeof (bytes));
    zmsg_destroy (&msg);
    zpoller_destroy (&poller);
    zsock_destroy (&subscriber);
    zsock_destroy (&publisher);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_request_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_publish_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ack_with_results, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_malformed_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_oversized_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_recv_timeout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_recv_multiframe_refused, s_setup, s_teardown),
        cmocka_unit_test (test_heartbeat_pub_sub),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
