/*  =========================================================================
    test_memory - no peer, however it behaves, grows the broker's memory
    without bound, and what peers cost is given back when they go

    A real broker and agent on loopback with real CURVE keys. Raw clients
    (stx_testclient) hold a registered partner's key and subscribe without
    reading, or hold a key nobody registered and connect by the hundred.
    The broker's anonymous memory (RssAnon: its heap, not LMDB's mapped
    file) is read from /proc while they do. These are bounds the broker
    must keep, not timings: the limits have a wide margin.
    ========================================================================= */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <sys/resource.h>
#include "stx_event.h"
#include "stx_json.h"
#include "stx_sign.h"
#include "stx_parties.h"
#include "stx_wire.h"
#include "stx_testnet.h"
#include "stx_testclient.h"

#define REPLY_MS 5000           //  a registered peer's answer comes well within this
#define RETURN_MS 30000         //  how long memory may take to be given back
#define KIB 1024L


typedef stx_testnet_t world_t;

static const char *s_orgs [] = { "org:agoria", NULL };

//  Broker and one agent "ind" hosting Agoria; org:rogue is registered
//  but hosted by no agent.
static int
s_setup (void **state)
{
    world_t *self = stx_testnet_new ();
    stx_testnet_key (self, "org:agoria", "industry", "publisher, reader");
    stx_testnet_key (self, "org:rogue", "industry", "publisher, reader");
    stx_testnet_start_broker (self, NULL);
    stx_testnet_start_agent (self, 1, "ind", s_orgs);
    *state = self;
    return 0;
}

static long
s_anon_kib (world_t *self)
{
    return stx_testclient_memory_kib (self->pid [0], "RssAnon");
}

//  Poll until the broker's RssAnon is at most limit_kib; fail after
//  RETURN_MS with what it held.
static void
s_wait_anon_below (world_t *self, long limit_kib, const char *after)
{
    if (!STX_TESTCLIENT_MEASURED)
        return;
    int64_t deadline = zclock_mono () + RETURN_MS;
    long anon = s_anon_kib (self);
    while (anon > limit_kib && zclock_mono () < deadline) {
        zclock_sleep (200);
        anon = s_anon_kib (self);
    }
    if (anon > limit_kib)
        fail_msg ("broker holds %ld KiB of heap %d s after %s (limit %ld KiB)",
                  anon, RETURN_MS / 1000, after, limit_kib);
}

//  Every party of these tests is in industry.
static const char *
s_industry (const char *org, void *arg)
{
    (void) org;
    (void) arg;
    return "industry";
}

//  A signed initiative ini:padNUMBER by Agoria of about bytes bytes: its
//  summary and doc_refs are padding of up to 4000 bytes each. Caller frees.
static uint8_t *
s_packed_sized (stx_identity_t *agoria, int number, int bytes, size_t *size_p)
{
    char text [512];
    snprintf (text, sizeof text,
              "{\"id\": \"ini:pad%d\", \"title\": \"Padded %d\", \"owner\": \"org:agoria\", "
              "\"od_codes\": [\"OD 1.1.1\"], \"period\": {\"start\": \"2026-01-01\"}, "
              "\"status\": \"running\"}", number, number);
    json_t *json = json_loads (text, 0, NULL);
    assert_non_null (json);
    Stemx__Entry *entry = NULL;
    char err [STX_ERRLEN];
    if (stx_json_to_entry (json, &entry, err, sizeof err))
        fail_msg ("%s", err);
    json_decref (json);
    char pad [4001];
    memset (pad, 'p', 4000);
    pad [4000] = 0;
    Stemx__Initiative *initiative = entry->initiative;
    if (initiative->summary != protobuf_c_empty_string)
        free (initiative->summary);
    initiative->summary = strdup (pad + (bytes < 4000? 4000 - bytes: 0));
    int refs = bytes > 4000? (bytes - 1) / 4000: 0;
    initiative->doc_refs = refs? (char **) calloc ((size_t) refs, sizeof (char *)): NULL;
    for (int ref = 0; ref < refs; ref++)
        initiative->doc_refs [ref] = strdup (pad);
    initiative->n_doc_refs = (size_t) refs;
    stx_parties_fill (entry, s_industry, NULL);
    char key [64];
    snprintf (key, sizeof key, "%s", stx_entry_key (entry));
    Stemx__Event *event = stx_event_new (key, &entry);
    stx_sign_event (event, agoria);
    uint8_t *packed = stx_event_pack (event, size_p);
    stx_event_free (&event);
    return packed;
}

//  Publish count events of about bytes bytes from *number on as Agoria,
//  as many per PUBLISH as a request frame holds; each must be acked R_OK.
//  Returns the highest RssAnon of the broker seen after each request.
static long
s_publish_sized (zsock_t *dealer, world_t *self, stx_identity_t *agoria, int *number,
                 int count, int bytes)
{
    long peak = 0;
    int per_request = 900 * 1024 / (bytes + 512);
    if (per_request > 256)
        per_request = 256;
    while (count > 0) {
        int batch = count < per_request? count: per_request;
        ProtobufCBinaryData datas [256];
        for (int i = 0; i < batch; i++)
            datas [i].data = s_packed_sized (agoria, (*number)++, bytes, &datas [i].len);
        assert_int_equal (stx_wire_send_publish (dealer, datas, (size_t) batch), 0);
        for (int i = 0; i < batch; i++)
            free (datas [i].data);
        Stemx__Reply *reply = NULL;
        assert_int_equal (stx_wire_recv_reply (dealer, REPLY_MS * 2, &reply), STX_OK);
        if (reply->body_case != STEMX__REPLY__BODY_ACK)
            fail_msg ("publish refused: %s", reply->error? reply->error->text: "?");
        for (size_t i = 0; i < reply->ack->n_results; i++)
            if (reply->ack->results [i]->reason != STEMX__REASON__R_OK)
                fail_msg ("event refused: %s", reply->ack->results [i]->text);
        stx_wire_reply_free (&reply);
        long anon = s_anon_kib (self);
        if (anon > peak)
            peak = anon;
        count -= batch;
    }
    return peak;
}

//  ---------------------------------------------------------------------
//  Subscribers that never read: each holds the broker to a bounded queue

static void
test_slow_subscribers (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    stx_identity_t *rogue = stx_testclient_identity (self, "org:rogue");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);
    long baseline = s_anon_kib (self);

    //  Three subscriptions of a registered reader; each takes one
    //  heartbeat (so it is in place) and then reads nothing more, with
    //  the smallest queues it can have on its own side
    zsock_t *subs [3];
    for (int index = 0; index < 3; index++) {
        subs [index] = stx_testclient_deaf (self, ZMQ_SUB, stx_identity_cert (rogue),
                                            self->updates);
        zmsg_t *msg = zmsg_recv (subs [index]);
        assert_non_null (msg);
        zmsg_destroy (&msg);
    }

    //  56 MB of events small enough for the live fan-out, and 120 MB of
    //  events too large for it (replicas fetch those)
    int number = 0;
    long peak = s_publish_sized (dealer, self, agoria, &number, 16000, 3500);
    long large = s_publish_sized (dealer, self, agoria, &number, 2000, 60000);
    if (large > peak)
        peak = large;
    print_message ("broker RssAnon: %ld KiB before, %ld KiB at most while 176 MB went "
                   "past 3 subscribers that do not read\n", baseline, peak);
    //  The bound: 8192 queued events of at most 4 KiB, and a group commit
    if (STX_TESTCLIENT_MEASURED && peak - baseline > 64 * KIB)
        fail_msg ("broker heap grew by %ld KiB for 3 subscribers that do not read",
                  peak - baseline);

    //  The honest replica has every event, the large ones fetched
    stx_testnet_wait_converged (self, 2, number);

    //  Once the subscribers go, so does what was queued for them
    for (int index = 0; index < 3; index++)
        zsock_destroy (&subs [index]);
    s_wait_anon_below (self, baseline + 8 * KIB, "the subscribers left");
    zsock_destroy (&dealer);
    stx_identity_destroy (&rogue);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  A reader that asks and never reads holds the broker to a bounded queue

static void
test_unread_replies (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    stx_identity_t *rogue = stx_testclient_identity (self, "org:rogue");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);
    //  A log of 1100 events of 12 KB: 13 MB
    int number = 0;
    s_publish_sized (dealer, self, agoria, &number, 1100, 12000);
    stx_testnet_wait_converged (self, 2, number);
    long baseline = s_anon_kib (self);

    //  The registered reader's own queues are as small as they go, and it
    //  says HELLO (so it is answered) and then reads nothing
    zsock_t *reader = stx_testclient_deaf (self, ZMQ_DEALER, stx_identity_cert (rogue),
                                           self->request);
    assert_true (stx_testclient_hello (reader, REPLY_MS));

    //  Ten passes over the whole log in ranges of 20 events (each one what
    //  follows the last range, so served at once), a pass a second: 130 MB
    //  asked for. Then a snapshot with all the credit it can ask for.
    long peak = baseline;
    for (int pass = 0; pass < 10; pass++) {
        for (int from = 1; from <= number; from += 20) {
            Stemx__Fetch fetch = STEMX__FETCH__INIT;
            fetch.from = (uint64_t) from;
            fetch.to = (uint64_t) from + 19;
            Stemx__Request request = STEMX__REQUEST__INIT;
            request.body_case = STEMX__REQUEST__BODY_FETCH;
            request.fetch = &fetch;
            stx_wire_send_request (reader, &request);
        }
        zclock_sleep (1100);    //  pacing the reader (the broker serves a range again after 1 s)
        long anon = s_anon_kib (self);
        if (anon > peak)
            peak = anon;
    }
    Stemx__SnapshotRequest snapshot = STEMX__SNAPSHOT_REQUEST__INIT;
    snapshot.credit = 16;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_SNAPSHOT;
    request.snapshot = &snapshot;
    stx_wire_send_request (reader, &request);
    for (int grant = 0; grant < 200; grant++) {
        Stemx__Credit credit = STEMX__CREDIT__INIT;
        credit.credit = 16;
        Stemx__Request more = STEMX__REQUEST__INIT;
        more.body_case = STEMX__REQUEST__BODY_CREDIT;
        more.credit = &credit;
        stx_wire_send_request (reader, &more);
    }
    for (int sample = 0; sample < 10; sample++) {
        zclock_sleep (200);     //  measuring, not synchronising
        long anon = s_anon_kib (self);
        if (anon > peak)
            peak = anon;
    }
    print_message ("broker RssAnon: %ld KiB before, %ld KiB at most for a reader that "
                   "asked for 130 MB of ranges and a snapshot and read nothing\n",
                   baseline, peak);
    if (STX_TESTCLIENT_MEASURED && peak - baseline > 24 * KIB)
        fail_msg ("broker heap grew by %ld KiB for a reader that does not read",
                  peak - baseline);

    //  status.json tells the operator: replies were dropped for a peer
    int64_t deadline = zclock_mono () + REPLY_MS;
    json_int_t dropped = 0;
    while (dropped == 0 && zclock_mono () < deadline) {
        json_t *status = stx_testnet_status (self, 0);
        dropped = json_integer_value (json_object_get (json_object_get (status, "replies"),
                                                       "dropped"));
        json_decref (status);
        if (dropped == 0)
            zclock_sleep (200);
    }
    assert_true (dropped > 0);

    //  The honest agent is served meanwhile
    int before = number;
    s_publish_sized (dealer, self, agoria, &number, 10, 12000);
    stx_testnet_wait_converged (self, 2, before + 10);
    zsock_destroy (&reader);
    s_wait_anon_below (self, baseline + 8 * KIB, "the reader left");
    zsock_destroy (&dealer);
    stx_identity_destroy (&rogue);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  Connections with a key nobody registered cost nothing lasting

static void
test_unregistered_connections (void **state)
{
    world_t *self = (world_t *) *state;
    //  Each connection costs this process two descriptors (the socket's
    //  mailbox and the TCP connection) and the broker one
    struct rlimit limit;
    assert_int_equal (getrlimit (RLIMIT_NOFILE, &limit), 0);
    limit.rlim_cur = limit.rlim_max;
    setrlimit (RLIMIT_NOFILE, &limit);
    int count = 1000;
    if ((rlim_t) count * 2 + 256 > limit.rlim_cur)
        count = (int) (limit.rlim_cur - 256) / 2;
    print_message ("%d connections per round\n", count);

    //  Closed sockets are reaped in the background: room for every round
    void *context = zmq_ctx_new ();
    assert_non_null (context);
    zmq_ctx_set (context, ZMQ_MAX_SOCKETS, 4 * count + 16);
    zcert_t *broker = stx_testclient_broker_cert (self);
    zcert_t *stranger = zcert_new ();
    long baseline = s_anon_kib (self);
    long peak = baseline;
    void **socks = (void **) calloc ((size_t) count, sizeof (void *));
    assert_non_null (socks);
    for (int round = 0; round < 4; round++) {
        for (int index = 0; index < count; index++) {
            socks [index] = zmq_socket (context, ZMQ_DEALER);
            assert_non_null (socks [index]);
            int linger = 0;
            zmq_setsockopt (socks [index], ZMQ_LINGER, &linger, sizeof linger);
            zmq_setsockopt (socks [index], ZMQ_CURVE_SERVERKEY, zcert_public_key (broker), 32);
            zmq_setsockopt (socks [index], ZMQ_CURVE_PUBLICKEY, zcert_public_key (stranger), 32);
            zmq_setsockopt (socks [index], ZMQ_CURVE_SECRETKEY, zcert_secret_key (stranger), 32);
            assert_int_equal (zmq_connect (socks [index], self->request), 0);
            zmq_send (socks [index], "x", 1, ZMQ_DONTWAIT);
        }
        //  The broker has seen every handshake when an honest session
        //  opened after them is answered (it is served in turn)
        stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
        zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS * 4);
        zsock_destroy (&dealer);
        stx_identity_destroy (&agoria);
        long anon = s_anon_kib (self);
        if (anon > peak)
            peak = anon;
        for (int index = 0; index < count; index++)
            zmq_close (socks [index]);
    }
    print_message ("broker RssAnon: %ld KiB before, %ld KiB at most during 4 x %d "
                   "refused connections\n", baseline, peak, count);
    free (socks);
    zcert_destroy (&stranger);
    zcert_destroy (&broker);
    zmq_ctx_term (context);
    s_wait_anon_below (self, baseline + 4 * KIB, "the refused connections closed");
}

int
main (void)
{
    stx_testnet_filter ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_slow_subscribers, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_unread_replies, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_unregistered_connections, s_setup,
                                         stx_testnet_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
