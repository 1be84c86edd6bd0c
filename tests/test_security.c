/*  =========================================================================
    test_security - only registered partners get in, and only to what is
    theirs; hostile input harms nothing

    Real broker and agent processes on loopback with real CURVE/Ed25519
    keys (stx_testnet), plus raw ZeroMQ clients that hold a partner's key,
    someone else's key or no registered key at all, and say things the
    agents never would.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include "stx_event.h"
#include "stx_json.h"
#include "stx_keys.h"
#include "stx_sign.h"
#include "stx_store.h"
#include "stx_wire.h"
#include "stx_testproc.h"
#include "stx_testnet.h"

#define REPLY_MS 5000           //  a registered peer's answer comes well within this
#define SILENCE_MS 1500         //  how long "no answer" is watched for

typedef stx_testnet_t world_t;

static const char *s_gov_orgs [] = { "org:vdab", "org:vlaio", NULL };
static const char *s_ind_orgs [] = { "org:agoria", NULL };

//  Broker and two agents: "gov" publishes for VDAB and VLAIO (admin),
//  "ind" for Agoria. org:rogue is registered but hosted by no agent.
static int
s_setup (void **state)
{
    world_t *self = stx_testnet_new ();
    stx_testnet_key (self, "org:vdab", "government", "publisher, reader");
    stx_testnet_key (self, "org:vlaio", "government", "admin, publisher, reader");
    stx_testnet_key (self, "org:agoria", "industry", "publisher, reader");
    stx_testnet_key (self, "org:rogue", "industry", "publisher, reader");
    stx_testnet_start_broker (self, NULL);
    stx_testnet_start_agent (self, 1, "gov", s_gov_orgs);
    stx_testnet_start_agent (self, 2, "ind", s_ind_orgs);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    world_t *self = (world_t *) *state;
    stx_testnet_destroy (&self);
    return 0;
}

//  ---------------------------------------------------------------------
//  Raw clients

static zcert_t *
s_broker_cert (world_t *self)
{
    char path [PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/broker.cert", self->node [0]);
    zcert_t *cert = zcert_load (path);
    assert_non_null (cert);
    return cert;
}

//  A socket of type with CURVE client keys cert, connected to endpoint.
static zsock_t *
s_socket (world_t *self, int type, zcert_t *cert, const char *endpoint)
{
    zsock_t *sock = zsock_new (type);
    assert_non_null (sock);
    //  A peer the broker cut off has no connection: never block on it
    zsock_set_sndtimeo (sock, 2000);
    zcert_t *broker = s_broker_cert (self);
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (broker));
    zcert_destroy (&broker);
    if (type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    assert_int_equal (zsock_connect (sock, "%s", endpoint), 0);
    return sock;
}

static stx_identity_t *
s_identity (world_t *self, const char *org)
{
    stx_identity_t *identity = NULL;
    char err [STX_ERRLEN];
    if (stx_identity_load (stx_testnet_cert (self, org, true), &identity, err, sizeof err))
        fail_msg ("%s", err);
    return identity;
}

//  An upsert of the JSON entry text, signed by signer (NULL = unsigned).
//  Caller frees.
static Stemx__Event *
s_event (const char *text, stx_identity_t *signer)
{
    json_t *json = json_loads (text, 0, NULL);
    assert_non_null (json);
    Stemx__Entry *entry = NULL;
    char err [STX_ERRLEN];
    if (stx_json_to_entry (json, &entry, err, sizeof err))
        fail_msg ("%s", err);
    json_decref (json);
    char key [128];
    snprintf (key, sizeof key, "%s", stx_entry_key (entry));
    Stemx__Event *event = stx_event_new (key, &entry);
    if (signer)
        stx_sign_event (event, signer);
    return event;
}

//  Send one event as a PUBLISH on dealer and return the result's reason;
//  the text goes to text (size bytes).
static Stemx__Reason
s_publish_raw (zsock_t *dealer, const Stemx__Event *event, char *text, size_t size)
{
    size_t packed_size;
    uint8_t *packed = stx_event_pack (event, &packed_size);
    ProtobufCBinaryData data = { packed_size, packed };
    Stemx__Publish publish = STEMX__PUBLISH__INIT;
    publish.n_events = 1;
    publish.events = &data;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PUBLISH;
    request.publish = &publish;
    assert_int_equal (stx_wire_send_request (dealer, &request), 0);
    free (packed);
    Stemx__Reply *reply = NULL;
    assert_int_equal (stx_wire_recv_reply (dealer, REPLY_MS, &reply), STX_OK);
    Stemx__Reason reason;
    if (reply->body_case == STEMX__REPLY__BODY_ERROR) {
        reason = reply->error->reason;
        snprintf (text, size, "%s", reply->error->text);
    }
    else {
        assert_int_equal (reply->body_case, STEMX__REPLY__BODY_ACK);
        assert_int_equal (reply->ack->n_results, 1);
        reason = reply->ack->results [0]->reason;
        snprintf (text, size, "%s", reply->ack->results [0]->text);
    }
    stx_wire_reply_free (&reply);
    return reason;
}

static void
s_expect_raw (zsock_t *dealer, const Stemx__Event *event, Stemx__Reason expected,
              const char *mention)
{
    char text [STX_ERRLEN] = "";
    Stemx__Reason reason = s_publish_raw (dealer, event, text, sizeof text);
    if (reason != expected || (mention && !strstr (text, mention)))
        fail_msg ("got reason %d '%s', expected %d mentioning '%s'", reason, text, expected,
                  mention? mention: "");
}

//  Send HELLO on dealer; true if any reply came within timeout_ms.
static bool
s_hello_answered (zsock_t *dealer, int timeout_ms)
{
    Stemx__Hello hello = STEMX__HELLO__INIT;
    hello.node = (char *) "raw";
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_HELLO;
    request.hello = &hello;
    stx_wire_send_request (dealer, &request);
    Stemx__Reply *reply = NULL;
    stx_status_t rc = stx_wire_recv_reply (dealer, timeout_ms, &reply);
    bool welcomed = rc == STX_OK && reply->body_case == STEMX__REPLY__BODY_WELCOME;
    stx_wire_reply_free (&reply);
    return welcomed;
}

//  True if sub receives anything within timeout_ms.
static bool
s_receives (zsock_t *sub, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    bool got = zpoller_wait (poller, timeout_ms) == sub;
    zpoller_destroy (&poller);
    if (got) {
        zmsg_t *msg = zmsg_recv (sub);
        zmsg_destroy (&msg);
    }
    return got;
}

//  Drain sub until it has been silent for timeout_ms.
static void
s_drain (zsock_t *sub, int timeout_ms)
{
    while (s_receives (sub, timeout_ms))
        ;
}

//  Publish a JSON text file through agent node; returns the exit code.
static int
s_publish (world_t *self, int node, const char *text, char **err_p)
{
    json_t *json = json_loads (text, 0, NULL);
    assert_non_null (json);
    const char *path = stx_testnet_write_json (self, "entry.json", json);
    json_decref (json);
    return stx_testnet_cli (self, node, NULL, err_p, "publish", path, NULL);
}

#define S_ORG(id, pillar) \
    "{\"id\": \"" id "\", \"name\": \"" id "\", \"helix_pillar\": \"" pillar "\", " \
    "\"kind\": \"agency\", \"region\": \"flanders\"}"
#define S_INI(id, owner, rest) \
    "{\"id\": \"" id "\", \"title\": \"Title of " id "\", \"owner\": \"" owner "\", " \
    "\"od_codes\": [\"OD 1.1.1\"], \"period\": {\"start\": \"2026-01-01\"}, " \
    "\"status\": \"running\"" rest "}"

//  ---------------------------------------------------------------------
//  A key the broker does not know gets nothing in and nothing out

static void
test_unregistered_key (void **state)
{
    world_t *self = (world_t *) *state;
    zcert_t *stranger = zcert_new ();
    zsock_t *dealer = s_socket (self, ZMQ_DEALER, stranger, self->request);
    zsock_t *sub = s_socket (self, ZMQ_SUB, stranger, self->updates);
    //  A registered subscriber, for comparison
    stx_identity_t *agoria = s_identity (self, "org:agoria");
    zsock_t *member = s_socket (self, ZMQ_SUB, stx_identity_cert (agoria), self->updates);

    assert_false (s_hello_answered (dealer, SILENCE_MS));
    char *err = NULL;
    assert_int_equal (s_publish (self, 1, S_ORG ("org:vdab", "government"), &err), 0);
    free (err);
    assert_true (s_receives (member, REPLY_MS));
    assert_false (s_receives (sub, SILENCE_MS));

    //  Nothing the stranger sent was stored
    json_t *status = stx_testnet_status (self, 0);
    assert_int_equal (json_integer_value (json_object_get (status, "seq")), 1);
    json_decref (status);
    zsock_destroy (&member);
    zsock_destroy (&sub);
    zsock_destroy (&dealer);
    zcert_destroy (&stranger);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  Each organisation changes only what it owns; origin comes from the key

static void
test_ownership (void **state)
{
    world_t *self = (world_t *) *state;
    char *err = NULL;
    assert_int_equal (s_publish (self, 1, S_ORG ("org:vdab", "government"), &err), 0);
    free (err);
    assert_int_equal (s_publish (self, 2, S_ORG ("org:agoria", "industry"), &err), 0);
    free (err);
    assert_int_equal (s_publish (self, 1, S_INI ("ini:x", "org:vdab", ""), &err), 0);
    free (err);

    //  Agoria's agent holds no key of VDAB, so it cannot even sign this
    assert_int_equal (s_publish (self, 2, S_INI ("ini:x", "org:vdab", ""), &err), 1);
    assert_non_null (strstr (err, "org:vdab"));
    free (err);
    //  ...and taking ini:x over as Agoria's is refused by the broker
    assert_int_equal (s_publish (self, 2, S_INI ("ini:x", "org:agoria", ""), &err), 1);
    assert_non_null (strstr (err, "owned by org:vdab"));
    free (err);

    //  A raw client with Agoria's key, signing properly
    stx_identity_t *agoria = s_identity (self, "org:agoria");
    zsock_t *dealer = s_socket (self, ZMQ_DEALER, stx_identity_cert (agoria), self->request);
    Stemx__Entry *none = NULL;
    Stemx__Event *withdraw = stx_event_new ("ini:x", &none);
    stx_sign_event (withdraw, agoria);
    s_expect_raw (dealer, withdraw, STEMX__REASON__R_UNAUTHORISED, "owned by org:vdab");
    stx_event_free (&withdraw);
    Stemx__Event *org = s_event (S_ORG ("org:vdab", "industry"), agoria);
    s_expect_raw (dealer, org, STEMX__REASON__R_UNAUTHORISED, "org:vdab");
    stx_event_free (&org);

    //  A forged origin in the payload is ignored: the key decides
    Stemx__Event *own = s_event (S_INI ("ini:z", "org:agoria", ""), agoria);
    assert_ptr_equal (own->origin, protobuf_c_empty_string);
    own->origin = strdup ("org:vdab");
    s_expect_raw (dealer, own, STEMX__REASON__R_OK, NULL);
    stx_event_free (&own);
    stx_testnet_wait_converged (self, 3, 4);
    char *out = NULL;
    assert_int_equal (stx_testnet_cli (self, 1, &out, NULL, "show", "ini:z", "--json", NULL), 0);
    json_t *shown = json_loads (out, 0, NULL);
    free (out);
    json_t *meta = json_object_get (shown, "_meta");
    assert_string_equal (json_string_value (json_object_get (meta, "origin")), "org:agoria");
    json_decref (shown);

    //  The replica tells who signed it
    assert_int_equal (stx_testnet_cli (self, 1, &out, NULL, "show", "ini:z", "--verify", NULL), 0);
    assert_non_null (strstr (out, "valid, signed by org:agoria"));
    free (out);

    //  The admin (VLAIO) may withdraw what is not its own; the owner too
    assert_int_equal (stx_testnet_cli (self, 1, NULL, &err, "withdraw", "ini:z", NULL), 0);
    free (err);
    assert_int_equal (stx_testnet_cli (self, 1, NULL, &err, "withdraw", "ini:x", NULL), 0);
    free (err);
    //  A withdrawn key stays its owner's
    assert_int_equal (s_publish (self, 2, S_INI ("ini:x", "org:agoria", ""), &err), 1);
    assert_non_null (strstr (err, "owned by org:vdab"));
    free (err);
    stx_testnet_wait_converged (self, 3, 6);
    zsock_destroy (&dealer);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  Signatures: the broker refuses bad ones

static void
test_signatures (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = s_identity (self, "org:agoria");
    stx_identity_t *vdab = s_identity (self, "org:vdab");
    zsock_t *dealer = s_socket (self, ZMQ_DEALER, stx_identity_cert (agoria), self->request);

    Stemx__Event *unsigned_event = s_event (S_INI ("ini:a", "org:agoria", ""), NULL);
    s_expect_raw (dealer, unsigned_event, STEMX__REASON__R_BAD_SIGNATURE, NULL);
    stx_event_free (&unsigned_event);

    Stemx__Event *tampered = s_event (S_INI ("ini:a", "org:agoria", ""), agoria);
    free (tampered->entry->initiative->title);
    tampered->entry->initiative->title = strdup ("Changed after signing");
    s_expect_raw (dealer, tampered, STEMX__REASON__R_BAD_SIGNATURE, NULL);
    stx_event_free (&tampered);

    //  Signed by VDAB's key but sent over Agoria's connection
    Stemx__Event *borrowed = s_event (S_INI ("ini:a", "org:agoria", ""), vdab);
    s_expect_raw (dealer, borrowed, STEMX__REASON__R_BAD_SIGNATURE, NULL);
    stx_event_free (&borrowed);

    Stemx__Event *good = s_event (S_INI ("ini:a", "org:agoria", ""), agoria);
    s_expect_raw (dealer, good, STEMX__REASON__R_OK, NULL);
    stx_event_free (&good);
    stx_testnet_wait_converged (self, 3, 1);
    zsock_destroy (&dealer);
    stx_identity_destroy (&agoria);
    stx_identity_destroy (&vdab);
}

//  ---------------------------------------------------------------------
//  A forged event injected past the broker is refused by the replicas

static void
test_forgery_past_broker (void **state)
{
    world_t *self = (world_t *) *state;
    char *err = NULL;
    assert_int_equal (s_publish (self, 1, S_INI ("ini:real", "org:vdab", ""), &err), 0);
    free (err);
    stx_testnet_wait_converged (self, 3, 1);

    //  Whoever controls the broker's store writes an entry "by VDAB",
    //  signed with Agoria's key
    assert_true (WIFEXITED (stx_testnet_stop (self, 0, SIGTERM)));
    stx_store_t *store = NULL;
    char text [STX_ERRLEN];
    assert_int_equal (stx_store_open (self->node [0], 0, 0, &store, text, sizeof text), STX_OK);
    stx_identity_t *agoria = s_identity (self, "org:agoria");
    Stemx__Event *forged = s_event (S_INI ("ini:forged", "org:vdab", ""), agoria);
    stx_txn_t *txn = NULL;
    stx_sequenced_t out;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, forged, NULL, &out, text, sizeof text), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    assert_int_equal (out.seq, 2);
    stx_event_free (&forged);
    stx_identity_destroy (&agoria);
    stx_store_destroy (&store);
    stx_testnet_restart_broker (self);

    //  Both replicas stop before the forged event and say why
    for (int node = 1; node <= 2; node++) {
        int64_t deadline = zclock_mono () + 30000;
        json_t *status = NULL;
        const char *error = NULL;
        while (zclock_mono () < deadline) {
            json_decref (status);
            status = stx_testnet_status (self, node);
            error = json_string_value (json_object_get (status, "error"));
            if (error && *error)
                break;
            zclock_sleep (100);
        }
        if (!error || !strstr (error, "ini:forged"))
            fail_msg ("node %d reports no halt for the forged event", node);
        assert_int_equal (json_integer_value (json_object_get (status, "seq")), 1);
        json_decref (status);
        assert_int_equal (stx_testnet_cli (self, node, NULL, NULL, "show", "ini:forged", NULL), 1);
    }
}

//  ---------------------------------------------------------------------
//  Revoking a key on SIGHUP disconnects it; everyone else goes on

static void
test_revocation (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *rogue = s_identity (self, "org:rogue");
    zsock_t *dealer = s_socket (self, ZMQ_DEALER, stx_identity_cert (rogue), self->request);
    zsock_t *sub = s_socket (self, ZMQ_SUB, stx_identity_cert (rogue), self->updates);
    assert_true (s_hello_answered (dealer, REPLY_MS));
    assert_true (s_receives (sub, REPLY_MS));       //  heartbeats

    char path [PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/registry/rogue.cert", self->node [0]);
    assert_int_equal (unlink (path), 0);
    assert_int_equal (kill (self->pid [0], SIGHUP), 0);

    //  Refused at once, then cut off; the updates stop reaching it
    int64_t deadline = zclock_mono () + 10000;
    while (s_hello_answered (dealer, 500) && zclock_mono () < deadline)
        ;
    assert_false (s_hello_answered (dealer, SILENCE_MS));
    s_drain (sub, SILENCE_MS);
    char *err = NULL;
    assert_int_equal (s_publish (self, 1, S_ORG ("org:vdab", "government"), &err), 0);
    free (err);
    assert_false (s_receives (sub, SILENCE_MS));

    //  The partners' agents reconnected and replicate as before
    assert_int_equal (s_publish (self, 2, S_ORG ("org:agoria", "industry"), &err), 0);
    free (err);
    stx_testnet_wait_converged (self, 3, 2);
    json_t *status = stx_testnet_status (self, 0);
    assert_int_equal (json_integer_value (json_object_get (status, "disconnected_revoked")), 1);
    json_decref (status);
    zsock_destroy (&sub);
    zsock_destroy (&dealer);
    stx_identity_destroy (&rogue);
}

//  ---------------------------------------------------------------------
//  Hostile input is refused while a well-behaved agent goes on

//  Send msg on dealer; return the Error or first Result reason (-1 if no
//  answer within REPLY_MS).
static int
s_send_hostile (zsock_t *dealer, zmsg_t **msg_p)
{
    zmsg_send (msg_p, dealer);
    Stemx__Reply *reply = NULL;
    if (stx_wire_recv_reply (dealer, REPLY_MS, &reply) != STX_OK)
        return -1;
    int reason = reply->body_case == STEMX__REPLY__BODY_ERROR? (int) reply->error->reason
               : reply->body_case == STEMX__REPLY__BODY_ACK && reply->ack->n_results
               ? (int) reply->ack->results [0]->reason: -2;
    stx_wire_reply_free (&reply);
    return reason;
}

static void
test_hostile_input (void **state)
{
    world_t *self = (world_t *) *state;
    //  The well-behaved publisher: the whole sample's organisations and
    //  initiatives owned by VDAB, through the gov agent, in the background
    json_t *catalogue = stx_testnet_catalogue (self);
    json_t *good = json_array ();
    size_t i;
    json_t *record;
    json_array_foreach (json_object_get (catalogue, "initiatives"), i, record)
        if (strcmp (json_string_value (json_object_get (record, "owner")), "org:vdab") == 0) {
            json_t *copy = json_deep_copy (record);
            json_object_set_new (copy, "partners", json_array ());
            json_array_append_new (good, copy);
        }
    size_t expected = json_array_size (good);
    assert_true (expected >= 3);
    const char *path = stx_testnet_write_json (self, "good.json", good);
    json_decref (good);
    char prog [PATH_MAX + 32], log [PATH_MAX + 32];
    snprintf (prog, sizeof prog, "%s/stemx", self->bin);
    snprintf (log, sizeof log, "%s/good-publisher.log", self->dir);
    const char *argv [] = { prog, "--data", self->node [1], "publish", path, NULL };
    pid_t publisher = stx_proc_start (log, argv);

    stx_identity_t *agoria = s_identity (self, "org:agoria");
    zsock_t *dealer = s_socket (self, ZMQ_DEALER, stx_identity_cert (agoria), self->request);

    //  Malformed protobuf
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "\xff\xff\xff garbage that is no protobuf");
    assert_int_equal (s_send_hostile (dealer, &msg), STEMX__REASON__R_MALFORMED);
    //  Wrong frame counts: three frames, and an empty one
    msg = zmsg_new ();
    zmsg_addstr (msg, "a");
    zmsg_addstr (msg, "b");
    zmsg_addstr (msg, "c");
    assert_int_equal (s_send_hostile (dealer, &msg), STEMX__REASON__R_MALFORMED);
    msg = zmsg_new ();
    zmsg_addmem (msg, NULL, 0);
    assert_int_equal (s_send_hostile (dealer, &msg), STEMX__REASON__R_MALFORMED);
    //  A huge frame
    size_t huge = 2 * 1024 * 1024;
    char *bytes = calloc (1, huge);
    msg = zmsg_new ();
    zmsg_addmem (msg, bytes, huge);
    free (bytes);
    assert_int_equal (s_send_hostile (dealer, &msg), STEMX__REASON__R_TOO_LARGE);
    //  A truncated PUBLISH: a valid request cut in half
    Stemx__Event *event = s_event (S_INI ("ini:cut", "org:agoria", ""), agoria);
    size_t size;
    uint8_t *packed = stx_event_pack (event, &size);
    ProtobufCBinaryData data = { size, packed };
    Stemx__Publish publish = STEMX__PUBLISH__INIT;
    publish.n_events = 1;
    publish.events = &data;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PUBLISH;
    request.publish = &publish;
    size_t request_size = stemx__request__get_packed_size (&request);
    uint8_t *request_bytes = malloc (request_size);
    stemx__request__pack (&request, request_bytes);
    msg = zmsg_new ();
    zmsg_addmem (msg, request_bytes, request_size / 2);
    assert_int_equal (s_send_hostile (dealer, &msg), STEMX__REASON__R_MALFORMED);
    free (request_bytes);
    free (packed);
    stx_event_free (&event);

    //  Invalid UTF-8 inside a properly signed event
    event = s_event (S_INI ("ini:utf", "org:agoria", ""), agoria);
    free (event->entry->initiative->title);
    event->entry->initiative->title = strdup ("caf\xe9");
    stx_sign_event (event, agoria);
    s_expect_raw (dealer, event, STEMX__REASON__R_BAD_UTF8, "title");
    stx_event_free (&event);
    //  An unknown OD code, and an end before the start
    event = s_event (S_INI ("ini:od", "org:agoria", ""), agoria);
    free (event->entry->initiative->od_codes [0]);
    event->entry->initiative->od_codes [0] = strdup ("OD 9.9.9");
    stx_sign_event (event, agoria);
    s_expect_raw (dealer, event, STEMX__REASON__R_UNKNOWN_CODE, "OD 9.9.9");
    stx_event_free (&event);
    event = s_event (S_INI ("ini:dates", "org:agoria",
                            ", \"period\": {\"start\": \"2026-05-01\", \"end\": \"2026-04-01\"}"),
                     agoria);
    s_expect_raw (dealer, event, STEMX__REASON__R_BAD_DATES, "period");
    stx_event_free (&event);

    //  The well-behaved publisher saw every event acked; all replicas hold them
    int status;
    assert_int_equal (waitpid (publisher, &status, 0), publisher);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    stx_testnet_wait_converged (self, 3, (long long) expected);
    char *out = NULL;
    assert_int_equal (stx_testnet_cli (self, 2, &out, NULL, "list", "initiative", "--org",
                                       "org:vdab", "--json", NULL), 0);
    json_t *listed = json_loads (out, 0, NULL);
    free (out);
    assert_int_equal (json_array_size (listed), expected);
    json_decref (listed);

    //  Every refusal was counted by reason (the broker rewrites its
    //  status file once per heartbeat)
    json_t *report = NULL, *refusals = NULL;
    int64_t deadline = zclock_mono () + 10000;
    do {
        json_decref (report);
        zclock_sleep (100);
        report = stx_testnet_status (self, 0);
        refusals = json_object_get (report, "refusals");
    } while (json_integer_value (json_object_get (refusals, "R_BAD_DATES")) == 0
          && zclock_mono () < deadline);
    assert_true (json_integer_value (json_object_get (refusals, "R_MALFORMED")) >= 4);
    assert_true (json_integer_value (json_object_get (refusals, "R_TOO_LARGE")) >= 1);
    assert_int_equal (json_integer_value (json_object_get (refusals, "R_BAD_UTF8")), 1);
    assert_int_equal (json_integer_value (json_object_get (refusals, "R_UNKNOWN_CODE")), 1);
    assert_int_equal (json_integer_value (json_object_get (refusals, "R_BAD_DATES")), 1);
    json_decref (report);
    zsock_destroy (&dealer);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  A peer over its rate is told so and stays connected

static int
s_setup_rate (void **state)
{
    world_t *self = stx_testnet_new ();
    stx_testnet_key (self, "org:agoria", "industry", "publisher, reader");
    char config [PATH_MAX + 16];
    snprintf (config, sizeof config, "%s/broker.cfg", self->dir);
    FILE *file = fopen (config, "w");
    assert_non_null (file);
    fputs ("limits\n    rate = 2\n    burst = 3\n", file);
    fclose (file);
    stx_testnet_start_broker (self, config);
    *state = self;
    return 0;
}

static void
test_rate_limit (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = s_identity (self, "org:agoria");
    zsock_t *dealer = s_socket (self, ZMQ_DEALER, stx_identity_cert (agoria), self->request);
    int accepted = 0, limited = 0;
    for (int i = 0; i < 8; i++) {
        char text [256];
        snprintf (text, sizeof text, S_INI ("ini:r%d", "org:agoria", ""), i, i);
        Stemx__Event *event = s_event (text, agoria);
        char reason_text [STX_ERRLEN];
        Stemx__Reason reason = s_publish_raw (dealer, event, reason_text, sizeof reason_text);
        stx_event_free (&event);
        if (reason == STEMX__REASON__R_OK)
            accepted++;
        else {
            assert_int_equal (reason, STEMX__REASON__R_RATE_LIMITED);
            limited++;
        }
    }
    //  The burst passes, the rest is refused; the peer is still served
    assert_true (accepted >= 3 && accepted < 8);
    assert_true (limited > 0);
    assert_true (s_hello_answered (dealer, REPLY_MS));
    zsock_destroy (&dealer);
    stx_identity_destroy (&agoria);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_unregistered_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_ownership, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_signatures, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_forgery_past_broker, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_revocation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hostile_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_rate_limit, s_setup_rate, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
