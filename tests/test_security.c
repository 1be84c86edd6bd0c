/*  =========================================================================
    test_security - only registered partners get in, and only to what is
    theirs; hostile input harms nothing

    Real broker and agent processes on loopback with real CURVE/Ed25519
    keys (stx_testnet), plus raw ZeroMQ clients that hold a partner's key,
    someone else's key or no registered key at all, and say things the
    agents never would.
    ========================================================================= */

#define _GNU_SOURCE
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
#include "stx_parties.h"
#include "stx_store.h"
#include "stx_wire.h"
#include "stx_testproc.h"
#include "stx_testnet.h"
#include "stx_testclient.h"

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

//  ---------------------------------------------------------------------
//  Raw clients

//  The pillars the test registers (s_setup, test_trust_pause), which a raw
//  client fills in as an agent does: the broker refuses a party without
//  its pillar.
static const char *
s_pillar_of (const char *org, void *arg)
{
    (void) arg;
    return strcmp (org, "org:vdab") == 0 || strcmp (org, "org:vlaio") == 0
         ? "government": "industry";
}

//  An upsert of the JSON entry text, signed by signer (NULL = unsigned),
//  its parties' pillars filled in when fill is true (as an agent does),
//  else as given. Caller frees.
static Stemx__Event *
s_event_with (const char *text, stx_identity_t *signer, bool fill)
{
    json_t *json = json_loads (text, 0, NULL);
    assert_non_null (json);
    Stemx__Entry *entry = NULL;
    char err [STX_ERRLEN];
    if (stx_json_to_entry (json, &entry, err, sizeof err))
        fail_msg ("%s", err);
    json_decref (json);
    if (fill)
        stx_parties_fill (entry, s_pillar_of, NULL);
    char key [128];
    snprintf (key, sizeof key, "%s", stx_entry_key (entry));
    Stemx__Event *event = stx_event_new (key, &entry);
    if (signer)
        stx_sign_event (event, signer);
    return event;
}

static Stemx__Event *
s_event (const char *text, stx_identity_t *signer)
{
    return s_event_with (text, signer, true);
}

static uint32_t s_retry_after_ms;      //  of the last result s_publish_raw got

//  Send the packed event (packed, packed_size) as a PUBLISH on dealer and
//  return the result's reason; the text goes to text (size bytes).
static Stemx__Reason
s_publish_bytes (zsock_t *dealer, uint8_t *packed, size_t packed_size, char *text, size_t size)
{
    ProtobufCBinaryData data = { packed_size, packed };
    assert_int_equal (stx_wire_send_publish (dealer, &data, 1), 0);
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
        s_retry_after_ms = reply->ack->results [0]->retry_after_ms;
    }
    stx_wire_reply_free (&reply);
    return reason;
}

//  Send one event as a PUBLISH on dealer; as s_publish_bytes.
static Stemx__Reason
s_publish_raw (zsock_t *dealer, const Stemx__Event *event, char *text, size_t size)
{
    size_t packed_size;
    uint8_t *packed = stx_event_pack (event, &packed_size);
    Stemx__Reason reason = s_publish_bytes (dealer, packed, packed_size, text, size);
    free (packed);
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

//  Publish a JSON text file through agent node, waiting at most timeout
//  seconds (NULL: the CLI's default); returns the exit code.
static int
s_publish_within (world_t *self, int node, const char *text, const char *timeout,
                  char **err_p)
{
    json_t *json = json_loads (text, 0, NULL);
    assert_non_null (json);
    const char *path = stx_testnet_write_json (self, "entry.json", json);
    json_decref (json);
    return stx_testnet_cli (self, node, NULL, err_p, "publish", path,
                            timeout? "--timeout": NULL, timeout, NULL);
}

static int
s_publish (world_t *self, int node, const char *text, char **err_p)
{
    return s_publish_within (self, node, text, NULL, err_p);
}

#define S_ORG(id, pillar) \
    "{\"id\": \"" id "\", \"name\": \"" id "\", \"helix_pillar\": \"" pillar "\", " \
    "\"kind\": \"agency\", \"region\": \"flanders\"}"
//  S_INI_RAW takes the owner as JSON text (a string or an object)
#define S_INI_RAW(id, owner, rest) \
    "{\"id\": \"" id "\", \"title\": \"Title of " id "\", \"owner\": " owner ", " \
    "\"od_codes\": [\"OD 1.1.1\"], \"period\": {\"start\": \"2026-01-01\"}, " \
    "\"status\": \"running\"" rest "}"
#define S_INI(id, owner, rest) S_INI_RAW (id, "\"" owner "\"", rest)

//  ---------------------------------------------------------------------
//  A key the broker does not know gets nothing in and nothing out

static void
test_unregistered_key (void **state)
{
    world_t *self = (world_t *) *state;
    zcert_t *stranger = zcert_new ();
    zsock_t *dealer = stx_testclient_socket (self, ZMQ_DEALER, stranger, self->request);
    zsock_t *sub = stx_testclient_socket (self, ZMQ_SUB, stranger, self->updates);
    //  A registered subscriber, for comparison
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    zsock_t *member = stx_testclient_socket (self, ZMQ_SUB, stx_identity_cert (agoria), self->updates);

    assert_false (stx_testclient_hello (dealer, SILENCE_MS));
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
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);
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
    assert_string_equal (stx_testnet_str (json_object_get (meta, "origin")), "org:agoria");
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
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    stx_identity_t *vdab = stx_testclient_identity (self, "org:vdab");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);

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
//  What the reports count holds whoever publishes: every party is a known
//  organisation with its own pillar, the client time is plausible, and a
//  replica catches a broker that let a false pillar through

//  Poll node's status until it reports an error (why replication halted
//  or pauses), for up to timeout_ms; returns the last status (caller
//  frees) and its error in *error_p (NULL if none).
static json_t *
s_wait_error (world_t *self, int node, int timeout_ms, const char **error_p)
{
    int64_t deadline = zclock_mono () + timeout_ms;
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
    *error_p = error && *error? error: NULL;
    return status;
}

//  Wait until node reports a halt whose text names every one of mentions
//  (NULL-terminated), at seq.
static void
s_expect_halt (world_t *self, int node, uint64_t seq, ...)
{
    const char *error = NULL;
    json_t *status = s_wait_error (self, node, 30000, &error);
    va_list args;
    va_start (args, seq);
    for (const char *mention = va_arg (args, const char *); mention;
         mention = va_arg (args, const char *))
        if (!error || !strstr (error, mention))
            fail_msg ("node %d: no halt naming '%s' (%s)", node, mention, error? error: "");
    va_end (args);
    assert_int_equal (json_integer_value (json_object_get (status, "seq")), seq);
    json_decref (status);
}

//  An upsert of text signed by signer, with parties' pillars as given
static Stemx__Event *
s_event_as_is (const char *text, stx_identity_t *signer)
{
    return s_event_with (text, signer, false);
}

static void
s_expect_as_is (zsock_t *dealer, stx_identity_t *signer, const char *text,
                Stemx__Reason expected, const char *mention)
{
    Stemx__Event *event = s_event_as_is (text, signer);
    s_expect_raw (dealer, event, expected, mention);
    stx_event_free (&event);
}

static void
test_integrity (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);

    //  Pillars against the registry (no organisation entry yet): agoria's
    //  key says industry, vdab's government
    s_expect_as_is (dealer, agoria, S_INI_RAW ("ini:p1", "{\"org\": \"org:agoria\", "
                                           "\"helix_pillar\": \"knowledge\"}", ""),
                    STEMX__REASON__R_INVALID, "owner.helix_pillar: knowledge, but org:agoria "
                    "is industry");
    s_expect_as_is (dealer, agoria, S_INI ("ini:p2", "org:agoria", ""),
                    STEMX__REASON__R_INVALID, "owner.helix_pillar: missing");
    s_expect_as_is (dealer, agoria,
                    S_INI_RAW ("ini:p3", "{\"org\": \"org:agoria\", \"helix_pillar\": \"industry\"}",
                           ", \"partners\": [{\"org\": \"org:vdab\", \"helix_pillar\": "
                           "\"government\"}, \"org:vlaio\"]"),
                    STEMX__REASON__R_INVALID, "partners[1].helix_pillar: missing");
    s_expect_as_is (dealer, agoria,
                    S_INI_RAW ("ini:p4", "{\"org\": \"org:agoria\", \"helix_pillar\": \"industry\"}",
                           ", \"partners\": [{\"org\": \"org:nobody\", \"helix_pillar\": "
                           "\"industry\"}]"),
                    STEMX__REASON__R_INVALID, "partners[0].org: org:nobody is not a known "
                    "organisation");
    //  An entry key that is no organisation is no party either (refused by
    //  the key syntax already)
    Stemx__Event *good = s_event (S_INI ("ini:p5", "org:agoria", ""), agoria);
    s_expect_raw (dealer, good, STEMX__REASON__R_OK, NULL);
    stx_event_free (&good);
    s_expect_as_is (dealer, agoria,
                    S_INI_RAW ("ini:p6", "{\"org\": \"org:agoria\", \"helix_pillar\": \"industry\"}",
                           ", \"partners\": [{\"org\": \"ini:p5\", \"helix_pillar\": "
                           "\"industry\"}]"),
                    STEMX__REASON__R_INVALID, "partners[0].org: 'ini:p5' is not an organisation key");

    //  Client times before 2000 or a day ahead of the broker's clock
    int64_t times [] = { -5, 1000000000000000LL, 0 };
    for (size_t i = 0; i < sizeof times / sizeof times [0]; i++) {
        Stemx__Event *event = s_event (S_INI ("ini:t", "org:agoria", ""), NULL);
        event->client_time_ms = times [i];
        stx_sign_event (event, agoria);
        s_expect_raw (dealer, event, STEMX__REASON__R_BAD_DATES, "client_time_ms");
        stx_event_free (&event);
    }

    //  Once an organisation entry exists, its pillar counts, not the key's:
    //  the admin (VLAIO, on node 1) may record another one
    char *err = NULL;
    if (s_publish (self, 1, S_ORG ("org:agoria", "knowledge"), &err) != 0)
        fail_msg ("%s", err);
    free (err);
    stx_testnet_wait_converged (self, 3, 2);
    s_expect_as_is (dealer, agoria, S_INI_RAW ("ini:p7", "{\"org\": \"org:agoria\", "
                                               "\"helix_pillar\": \"industry\"}", ""),
                    STEMX__REASON__R_INVALID, "owner.helix_pillar: industry, but org:agoria "
                    "is knowledge");
    //  The agent fills in the catalogue's pillar before it signs
    if (s_publish (self, 2, S_INI ("ini:p8", "org:agoria", ""), &err) != 0)
        fail_msg ("%s", err);
    free (err);
    stx_testnet_wait_converged (self, 3, 3);
    char *out = NULL;
    assert_int_equal (stx_testnet_cli (self, 1, &out, NULL, "list", "initiative", "--helix",
                                       "knowledge", NULL), 0);
    assert_non_null (strstr (out, "ini:p8"));
    free (out);
    //  ...and one publish may name an organisation it creates, which has
    //  no key of its own: the replica does not hold it yet. VLAIO signs the
    //  one, VDAB the other, over two DEALERs; the agent keeps their order
    //  (the initiative would be refused before its partner exists)
    const char *both = "[" S_ORG ("org:newlab", "civil_society") ", "
                       S_INI ("ini:p9", "org:vdab", ", \"partners\": [\"org:newlab\"]") "]";
    if (s_publish (self, 1, both, &err) != 0)
        fail_msg ("%s", err);
    free (err);
    stx_testnet_wait_converged (self, 3, 5);
    assert_int_equal (stx_testnet_cli (self, 2, &out, NULL, "list", "initiative", "--helix",
                                       "civil_society", NULL), 0);
    assert_non_null (strstr (out, "ini:p9"));
    free (out);

    //  A broker that lets a false pillar through: the replicas halt on it
    assert_true (WIFEXITED (stx_testnet_stop (self, 0, SIGTERM)));
    stx_store_t *store = NULL;
    char text [STX_ERRLEN];
    assert_int_equal (stx_store_open (self->node [0], 0, 0, &store, text, sizeof text), STX_OK);
    Stemx__Event *forged = s_event_as_is (S_INI_RAW ("ini:false", "{\"org\": \"org:agoria\", "
                                                 "\"helix_pillar\": \"government\"}", ""),
                                          agoria);
    stx_txn_t *txn = NULL;
    stx_sequenced_t seq;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, forged, NULL, &seq, text, sizeof text), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&forged);
    stx_store_destroy (&store);
    stx_testnet_restart_broker (self);
    for (int node = 1; node <= 2; node++)
        s_expect_halt (self, node, 5, "ini:false",
                       "owner.helix_pillar: government, but org:agoria is knowledge", NULL);
    zsock_destroy (&dealer);
    stx_identity_destroy (&agoria);
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
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
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
        s_expect_halt (self, node, 1, "ini:forged", NULL);
        assert_int_equal (stx_testnet_cli (self, node, NULL, NULL, "show", "ini:forged", NULL), 1);
    }

    //  A new agent takes a snapshot that holds it: the entries are stored
    //  at once and verified in the background, which finds the forgery
    //  and halts; the store stays marked unverified, so a restart checks
    //  again and halts again
    for (int round = 0; round < 2; round++) {
        if (round == 0)
            stx_testnet_start_agent (self, 3, "late", s_ind_orgs);
        else {
            assert_true (WIFEXITED (stx_testnet_stop (self, 3, SIGTERM)));
            stx_testnet_restart_agent (self, 3, "late");
        }
        const char *error = NULL;
        json_t *status = s_wait_error (self, 3, 30000, &error);
        if (!error || !strstr (error, "ini:forged"))
            fail_msg ("round %d: the new agent reports no halt for the forged entry", round);
        assert_true (json_integer_value (json_object_get (status, "unverified")) > 0);
        json_decref (status);
    }
}

//  ---------------------------------------------------------------------
//  Versions: an update must expect the current version (the agent fills it
//  in); a broker that sequences an old version again is caught

static void
test_versions (void **state)
{
    world_t *self = (world_t *) *state;
    char *err = NULL;
    for (int round = 0; round < 2; round++) {
        assert_int_equal (s_publish (self, 1, S_INI ("ini:v", "org:vdab", ""), &err), 0);
        free (err);
    }
    stx_testnet_wait_converged (self, 3, 2);
    stx_identity_t *vdab = stx_testclient_identity (self, "org:vdab");
    zsock_t *dealer = stx_testclient_session (self, vdab, REPLY_MS);
    //  A raw update that expects no version, or an old one, is refused
    Stemx__Event *event = s_event (S_INI ("ini:v", "org:vdab", ""), vdab);
    s_expect_raw (dealer, event, STEMX__REASON__R_CONFLICT, "expected version 0, current 2");
    stx_event_free (&event);
    event = s_event (S_INI ("ini:v", "org:vdab", ""), NULL);
    event->expected_version = 1;
    stx_sign_event (event, vdab);
    s_expect_raw (dealer, event, STEMX__REASON__R_CONFLICT, "expected version 1, current 2");
    zsock_destroy (&dealer);

    //  Whoever controls the broker sequences that signed update of version
    //  1 anyway, as version 2 again: it verifies, but the replicas hold 2
    assert_true (WIFEXITED (stx_testnet_stop (self, 0, SIGTERM)));
    stx_store_t *store = NULL;
    char text [STX_ERRLEN];
    assert_int_equal (stx_store_open (self->node [0], 0, 0, &store, text, sizeof text), STX_OK);
    event->origin = strdup ("org:vdab");
    event->owner = strdup ("org:vdab");
    event->version = 2;
    event->seq = 3;
    event->broker_time_ms = zclock_time ();
    size_t size;
    uint8_t *data = stx_event_pack (event, &size);
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_apply (txn, data, size), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    free (data);
    stx_event_free (&event);
    stx_store_destroy (&store);
    stx_testnet_restart_broker (self);
    for (int node = 1; node <= 2; node++)
        s_expect_halt (self, node, 2, "ini:v", "version 2, but the replica holds version 2",
                       NULL);
    stx_identity_destroy (&vdab);
}

//  ---------------------------------------------------------------------
//  A replica that fetches from a broker whose history diverged before the
//  range halts at the fetch

//  Copy a file byte for byte.
static void
s_copy_file (const char *from, const char *to)
{
    FILE *in = fopen (from, "rb");
    FILE *out = fopen (to, "wb");
    assert_non_null (in);
    assert_non_null (out);
    char buffer [4096];
    size_t size;
    while ((size = fread (buffer, 1, sizeof buffer, in)) > 0)
        assert_int_equal (fwrite (buffer, 1, size, out), size);
    fclose (in);
    fclose (out);
}

static void
test_divergent_fetch (void **state)
{
    world_t *self = (world_t *) *state;
    char *err = NULL;
    assert_int_equal (s_publish (self, 1, S_INI ("ini:d1", "org:vdab", ""), &err), 0);
    free (err);
    stx_testnet_wait_converged (self, 3, 1);
    //  The broker's store at seq 1, kept aside
    char store [PATH_MAX + 32], kept [PATH_MAX + 32];
    snprintf (store, sizeof store, "%s/catalogue/data.mdb", self->node [0]);
    snprintf (kept, sizeof kept, "%s/kept.mdb", self->dir);
    assert_true (WIFEXITED (stx_testnet_stop (self, 0, SIGTERM)));
    s_copy_file (store, kept);
    stx_testnet_restart_broker (self);
    assert_int_equal (s_publish (self, 1, S_INI ("ini:d2", "org:vdab", ""), &err), 0);
    free (err);
    stx_testnet_wait_converged (self, 3, 2);

    //  The broker goes back to seq 1 and sequences two other events, both
    //  validly signed: seq 2 is now another event than the replicas hold
    assert_true (WIFEXITED (stx_testnet_stop (self, 1, SIGTERM)));
    assert_true (WIFEXITED (stx_testnet_stop (self, 2, SIGTERM)));
    assert_true (WIFEXITED (stx_testnet_stop (self, 0, SIGTERM)));
    s_copy_file (kept, store);
    stx_store_t *broker = NULL;
    char text [STX_ERRLEN];
    assert_int_equal (stx_store_open (self->node [0], 0, 0, &broker, text, sizeof text), STX_OK);
    stx_identity_t *vdab = stx_testclient_identity (self, "org:vdab");
    const char *keys [] = { S_INI ("ini:e2", "org:vdab", ""), S_INI ("ini:e3", "org:vdab", "") };
    for (int i = 0; i < 2; i++) {
        Stemx__Event *event = s_event (keys [i], vdab);
        stx_txn_t *txn = NULL;
        stx_sequenced_t out;
        assert_int_equal (stx_store_begin (broker, true, &txn), STX_OK);
        assert_int_equal (stx_txn_sequence (txn, event, NULL, &out, text, sizeof text), STX_OK);
        assert_int_equal (stx_txn_commit (&txn), STX_OK);
        stx_event_free (&event);
    }
    stx_store_destroy (&broker);
    stx_testnet_restart_broker (self);
    //  The replica at seq 2 fetches from 3: the broker's head after 2 is
    //  not its own
    stx_testnet_restart_agent (self, 2, "ind");
    s_expect_halt (self, 2, 2, "fetched range", "head after seq 2 differs", NULL);
    char *out = NULL;
    assert_int_equal (stx_testnet_cli (self, 2, &out, NULL, "show", "ini:e3", NULL), 1);
    free (out);
    stx_testnet_restart_agent (self, 1, "gov");
    stx_identity_destroy (&vdab);
}

//  ---------------------------------------------------------------------
//  Revoking a key on SIGHUP disconnects it; everyone else goes on

static void
test_revocation (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *rogue = stx_testclient_identity (self, "org:rogue");
    zsock_t *dealer = stx_testclient_socket (self, ZMQ_DEALER, stx_identity_cert (rogue), self->request);
    zsock_t *sub = stx_testclient_socket (self, ZMQ_SUB, stx_identity_cert (rogue), self->updates);
    assert_true (stx_testclient_hello (dealer, REPLY_MS));
    assert_true (s_receives (sub, REPLY_MS));       //  heartbeats

    char path [PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/registry/rogue.cert", self->node [0]);
    assert_int_equal (unlink (path), 0);
    assert_int_equal (kill (self->pid [0], SIGHUP), 0);

    //  Refused at once, then cut off; the updates stop reaching it
    int64_t deadline = zclock_mono () + 10000;
    while (stx_testclient_hello (dealer, 500) && zclock_mono () < deadline)
        ;
    assert_false (stx_testclient_hello (dealer, SILENCE_MS));
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

static int
s_hello_named (zsock_t *dealer, const char *node, Stemx__Reason *reason);

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

    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);

    //  A NUL inside a string is named as such, not taken for a bad
    //  signature: in the title, in a partner's organisation, in the key
    const char *nul_cases [][2] = {
        { "Title of ini:nul", "title: holds a NUL byte" },
        { "org:vdab", "partners[0].org: holds a NUL byte" },
        { "ini:nul", "key: holds a NUL byte" } };
    for (size_t c = 0; c < 3; c++) {
        Stemx__Event *event = s_event (S_INI ("ini:nul", "org:agoria",
                                              ", \"partners\": [\"org:vdab\"]"), agoria);
        size_t size;
        uint8_t *packed = stx_event_pack (event, &size);
        stx_event_free (&event);
        const char *needle = nul_cases [c][0];
        uint8_t *at = memmem (packed, size, needle, strlen (needle));
        assert_non_null (at);
        at [strlen (needle) - 2] = 0;
        char text [STX_ERRLEN] = "";
        Stemx__Reason reason = s_publish_bytes (dealer, packed, size, text, sizeof text);
        free (packed);
        if (reason != STEMX__REASON__R_INVALID || !strstr (text, nul_cases [c][1]))
            fail_msg ("NUL case %zu: got %d '%s'", c, reason, text);
    }
    //  ...and in a HELLO's node name
    zsock_t *other = stx_testclient_socket (self, ZMQ_DEALER, stx_identity_cert (agoria), self->request);
    Stemx__Reason hello_reason = STEMX__REASON__R_OK;
    assert_int_equal (s_hello_named (other, "ab\x01" "cd", &hello_reason),
                      STEMX__REPLY__BODY_ERROR);
    {
        Stemx__Hello hello = STEMX__HELLO__INIT;
        hello.node = (char *) "abXcd";
        Stemx__Request request = STEMX__REQUEST__INIT;
        request.body_case = STEMX__REQUEST__BODY_HELLO;
        request.hello = &hello;
        size_t size = stemx__request__get_packed_size (&request);
        uint8_t *packed = (uint8_t *) malloc (size);
        assert_non_null (packed);
        stemx__request__pack (&request, packed);
        uint8_t *at = memmem (packed, size, "abXcd", 5);
        assert_non_null (at);
        at [2] = 0;
        assert_int_equal (zsock_send (other, "b", packed, size), 0);
        free (packed);
        Stemx__Reply *reply = NULL;
        assert_int_equal (stx_wire_recv_reply (other, REPLY_MS, &reply), STX_OK);
        assert_int_equal (reply->body_case, STEMX__REPLY__BODY_ERROR);
        assert_int_equal (reply->error->reason, STEMX__REASON__R_INVALID);
        assert_non_null (strstr (reply->error->text, "node name holds control characters"));
        stx_wire_reply_free (&reply);
    }
    zsock_destroy (&other);

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
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);
    int accepted = 0, limited = 0;
    Stemx__Event *first = NULL;
    for (int i = 0; i < 8; i++) {
        char text [256];
        snprintf (text, sizeof text, S_INI ("ini:r%d", "org:agoria", ""), i, i);
        Stemx__Event *event = s_event (text, agoria);
        char reason_text [STX_ERRLEN];
        Stemx__Reason reason = s_publish_raw (dealer, event, reason_text, sizeof reason_text);
        if (reason == STEMX__REASON__R_OK && !first)
            first = event;
        else
            stx_event_free (&event);
        if (reason == STEMX__REASON__R_OK)
            accepted++;
        else {
            assert_int_equal (reason, STEMX__REASON__R_RATE_LIMITED);
            //  With the hint of when one token is back: at 2/s, within 0.5 s
            assert_true (s_retry_after_ms > 0 && s_retry_after_ms <= 500);
            limited++;
        }
    }
    //  The burst passes, the rest is refused; the peer is still served
    assert_true (accepted >= 3 && accepted < 8);
    assert_true (limited > 0);
    //  The allowance is spent, but a resend of a stored event costs
    //  nothing: it gets its first answer (deduplication before the charge)
    assert_non_null (first);
    for (int i = 0; i < 5; i++)
        s_expect_raw (dealer, first, STEMX__REASON__R_OK, NULL);
    stx_event_free (&first);
    assert_true (stx_testclient_hello (dealer, REPLY_MS));
    zsock_destroy (&dealer);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  Rate limited events stay pending in the agent and all get through

static int
s_setup_rate_agent (void **state)
{
    s_setup_rate (state);
    world_t *self = (world_t *) *state;
    stx_testnet_start_agent (self, 1, "ind", s_ind_orgs);
    return 0;
}

static void
test_rate_limit_agent (void **state)
{
    world_t *self = (world_t *) *state;
    json_t *list = json_array ();
    for (int i = 0; i < 10; i++) {
        char text [256];
        snprintf (text, sizeof text, S_INI ("ini:p%d", "org:agoria", ""), i, i);
        json_array_append_new (list, json_loads (text, 0, NULL));
    }
    const char *path = stx_testnet_write_json (self, "ten.json", list);
    json_decref (list);
    char *err = NULL;
    int code = stx_testnet_cli (self, 1, NULL, &err, "publish", path, "--timeout", "120", NULL);
    if (code != 0)
        fail_msg ("publish exited %d: %s", code, err? err: "");
    free (err);
    stx_testnet_wait_converged (self, 2, 10);
    json_t *status = stx_testnet_status (self, 1);
    assert_int_equal (json_integer_value (json_object_get (status, "outbox")), 0);
    assert_int_equal (json_integer_value (json_object_get (status, "rejected")), 0);
    json_decref (status);
}

//  ---------------------------------------------------------------------
//  An event id is one organisation's: reusing it is a conflict, not an ack

static void
test_id_reuse (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    stx_identity_t *vdab = stx_testclient_identity (self, "org:vdab");
    zsock_t *agoria_dealer = stx_testclient_session (self, agoria, REPLY_MS);
    zsock_t *vdab_dealer = stx_testclient_session (self, vdab, REPLY_MS);
    Stemx__Event *theirs = s_event (S_INI ("ini:a1", "org:agoria", ""), agoria);
    s_expect_raw (agoria_dealer, theirs, STEMX__REASON__R_OK, NULL);
    //  VDAB signs an event of its own that carries Agoria's event id
    Stemx__Event *mine = s_event (S_INI ("ini:v1", "org:vdab", ""), vdab);
    memcpy (mine->event_id.data, theirs->event_id.data, STX_EVENT_ID_SIZE);
    stx_sign_event (mine, vdab);
    s_expect_raw (vdab_dealer, mine, STEMX__REASON__R_CONFLICT, "already used by org:agoria");
    //  Agoria's own resend is still a resend
    s_expect_raw (agoria_dealer, theirs, STEMX__REASON__R_OK, NULL);
    stx_event_free (&mine);
    stx_event_free (&theirs);
    zsock_destroy (&vdab_dealer);
    zsock_destroy (&agoria_dealer);
    stx_identity_destroy (&vdab);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  A reader that asks and never reads cannot pin the broker's memory

static void
test_fetch_flood (void **state)
{
    world_t *self = (world_t *) *state;
    //  A log of ~4.5 MB: 1100 events of ~4 KB, so one FETCH {1, 0} is
    //  answered with a range of the largest size (256 KiB); a FETCH asking
    //  again within 1 s gets R_RATE_LIMITED (test_memory checks what a
    //  reader asking for new ranges costs)
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    zsock_t *dealer = stx_testclient_session (self, agoria, REPLY_MS);
    char summary [4001];
    memset (summary, 's', 4000);
    summary [4000] = 0;
    for (int batch = 0; batch < 11; batch++) {
        ProtobufCBinaryData datas [100];
        for (int i = 0; i < 100; i++) {
            char text [256];
            snprintf (text, sizeof text, S_INI ("ini:big%d", "org:agoria", ""),
                      batch * 100 + i, batch * 100 + i);
            Stemx__Event *event = s_event (text, NULL);
            if (event->entry->initiative->summary != protobuf_c_empty_string)
                free (event->entry->initiative->summary);
            event->entry->initiative->summary = strdup (summary);
            stx_sign_event (event, agoria);
            datas [i].data = stx_event_pack (event, &datas [i].len);
            stx_event_free (&event);
        }
        assert_int_equal (stx_wire_send_publish (dealer, datas, 100), 0);
        for (int i = 0; i < 100; i++)
            free (datas [i].data);
        Stemx__Reply *reply = NULL;
        assert_int_equal (stx_wire_recv_reply (dealer, REPLY_MS * 4, &reply), STX_OK);
        assert_int_equal (reply->body_case, STEMX__REPLY__BODY_ACK);
        for (size_t i = 0; i < reply->ack->n_results; i++)
            assert_int_equal (reply->ack->results [i]->reason, STEMX__REASON__R_OK);
        stx_wire_reply_free (&reply);
    }
    stx_testnet_wait_converged (self, 3, 1100);
    long before = stx_testclient_memory_kib (self->pid [0], "VmRSS");

    //  A registered reader asks 200 times for the whole log, reading nothing
    stx_identity_t *rogue = stx_testclient_identity (self, "org:rogue");
    zsock_t *reader = stx_testclient_deaf (self, ZMQ_DEALER, stx_identity_cert (rogue),
                                           self->request);
    assert_true (stx_testclient_hello (reader, REPLY_MS));
    for (int i = 0; i < 200; i++) {
        Stemx__Fetch fetch = STEMX__FETCH__INIT;
        fetch.from = 1;
        Stemx__Request request = STEMX__REQUEST__INIT;
        request.body_case = STEMX__REQUEST__BODY_FETCH;
        request.fetch = &fetch;
        assert_int_equal (stx_wire_send_request (reader, &request), 0);
    }
    //  The broker has read them all once it answers a PING after them
    assert_true (stx_testclient_hello (dealer, REPLY_MS));
    zclock_sleep (1000);        //  measuring, not synchronising: replies leave meanwhile
    long grown = stx_testclient_memory_kib (self->pid [0], "VmRSS") - before;
    if (STX_TESTCLIENT_MEASURED && grown > 24 * 1024)
        fail_msg ("broker grew by %ld KiB for 200 unread fetches", grown);

    //  The honest agents are served as before
    char *err = NULL;
    assert_int_equal (s_publish (self, 1, S_ORG ("org:vdab", "government"), &err), 0);
    free (err);
    stx_testnet_wait_converged (self, 3, 1101);
    json_t *status = stx_testnet_status (self, 0);
    json_t *refusals = json_object_get (status, "refusals");
    assert_true (json_integer_value (json_object_get (refusals, "R_RATE_LIMITED")) > 0);
    json_decref (status);
    zsock_destroy (&reader);
    zsock_destroy (&dealer);
    stx_identity_destroy (&rogue);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  Backups and bad files in the registry folder: no crash, no way in


//  Send SIGHUP to the broker and wait until status.json shows a reload.
static void
s_reload_broker (world_t *self)
{
    json_t *status = stx_testnet_status (self, 0);
    json_t *before = json_deep_copy (json_object_get (status, "last_reload"));
    json_decref (status);
    assert_int_equal (kill (self->pid [0], SIGHUP), 0);
    int64_t deadline = zclock_mono () + 10000;
    bool reloaded = false;
    while (!reloaded && zclock_mono () < deadline) {
        zclock_sleep (100);
        status = stx_testnet_status (self, 0);
        json_t *now = status? json_object_get (status, "last_reload"): NULL;
        reloaded = now && json_is_string (now) && !json_equal (now, before);
        json_decref (status);
    }
    json_decref (before);
    assert_true (reloaded);
}

static void
test_registry_files (void **state)
{
    world_t *self = (world_t *) *state;
    char registry [PATH_MAX + 16], from [PATH_MAX + 64], to [PATH_MAX + 64];
    snprintf (registry, sizeof registry, "%s/registry", self->node [0]);
    //  An editor's and an operator's copies of a key (czmq's zcertstore
    //  aborts on two files with one key)
    snprintf (from, sizeof from, "%s/agoria.cert", registry);
    snprintf (to, sizeof to, "%s/agoria.cert.bak", registry);
    s_copy_file (from, to);
    snprintf (to, sizeof to, "%s/agoria.cert~", registry);
    s_copy_file (from, to);
    //  Rogue revoked, with a backup left behind; and in the same change a
    //  bad cert, which must not keep rogue's key working
    snprintf (from, sizeof from, "%s/rogue.cert", registry);
    snprintf (to, sizeof to, "%s/rogue.cert.bak", registry);
    assert_int_equal (rename (from, to), 0);
    snprintf (to, sizeof to, "%s/broken.cert", registry);
    FILE *file = fopen (to, "w");
    assert_non_null (file);
    fputs ("this is no cert\n", file);
    fclose (file);
    s_reload_broker (self);

    //  Rogue's key gets nothing on either socket
    stx_identity_t *rogue = stx_testclient_identity (self, "org:rogue");
    zsock_t *sub = stx_testclient_socket (self, ZMQ_SUB, stx_identity_cert (rogue), self->updates);
    zsock_t *dealer = stx_testclient_socket (self, ZMQ_DEALER, stx_identity_cert (rogue), self->request);
    assert_false (stx_testclient_hello (dealer, SILENCE_MS));
    assert_false (s_receives (sub, SILENCE_MS));
    zsock_destroy (&sub);
    zsock_destroy (&dealer);

    //  The broker serves everyone else, and starts again with the copies
    //  still there (the bad cert would stop a start: removed first)
    char *err = NULL;
    assert_int_equal (s_publish (self, 2, S_ORG ("org:agoria", "industry"), &err), 0);
    free (err);
    stx_testnet_wait_converged (self, 3, 1);
    assert_int_equal (unlink (to), 0);
    assert_true (WIFEXITED (stx_testnet_stop (self, 0, SIGTERM)));
    stx_testnet_restart_broker (self);
    assert_int_equal (s_publish (self, 1, S_ORG ("org:vdab", "government"), &err), 0);
    free (err);
    stx_testnet_wait_converged (self, 3, 2);
    sub = stx_testclient_socket (self, ZMQ_SUB, stx_identity_cert (rogue), self->updates);
    assert_false (s_receives (sub, SILENCE_MS));
    zsock_destroy (&sub);
    stx_identity_destroy (&rogue);
}

//  ---------------------------------------------------------------------
//  HELLO names are checked: they are stamped into events and logged

//  HELLO with node on dealer; the reply's kind, and its reason if an Error.
static int
s_hello_named (zsock_t *dealer, const char *node, Stemx__Reason *reason)
{
    Stemx__Hello hello = STEMX__HELLO__INIT;
    hello.node = (char *) node;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_HELLO;
    request.hello = &hello;
    assert_int_equal (stx_wire_send_request (dealer, &request), 0);
    Stemx__Reply *reply = NULL;
    assert_int_equal (stx_wire_recv_reply (dealer, REPLY_MS, &reply), STX_OK);
    int kind = reply->body_case;
    if (kind == STEMX__REPLY__BODY_ERROR)
        *reason = reply->error->reason;
    stx_wire_reply_free (&reply);
    return kind;
}

static void
test_hello_names (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    zsock_t *dealer = stx_testclient_socket (self, ZMQ_DEALER, stx_identity_cert (agoria), self->request);
    Stemx__Reason reason = STEMX__REASON__R_OK;
    //  HELLO comes first: before it, a PUBLISH or a PING gets R_NO_SESSION,
    //  and so it does after a HELLO the broker refused
    Stemx__Event *early = s_event (S_INI ("ini:early", "org:agoria", ""), agoria);
    s_expect_raw (dealer, early, STEMX__REASON__R_NO_SESSION, "say HELLO first");
    Stemx__Ping ping = STEMX__PING__INIT;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PING;
    request.ping = &ping;
    assert_int_equal (stx_wire_send_request (dealer, &request), 0);
    Stemx__Reply *reply = NULL;
    assert_int_equal (stx_wire_recv_reply (dealer, REPLY_MS, &reply), STX_OK);
    assert_int_equal (reply->body_case, STEMX__REPLY__BODY_ERROR);
    assert_int_equal (reply->error->reason, STEMX__REASON__R_NO_SESSION);
    stx_wire_reply_free (&reply);
    assert_int_equal (s_hello_named (dealer, "bad\nname", &reason), STEMX__REPLY__BODY_ERROR);
    s_expect_raw (dealer, early, STEMX__REASON__R_NO_SESSION, "say HELLO first");
    assert_int_equal (s_hello_named (dealer, "agoria-raw", &reason), STEMX__REPLY__BODY_WELCOME);
    s_expect_raw (dealer, early, STEMX__REASON__R_OK, NULL);
    stx_event_free (&early);
    char long_name [200];
    memset (long_name, 'n', sizeof long_name - 1);
    long_name [sizeof long_name - 1] = 0;
    const char *bad [] = { long_name, "bad\x01name", "bad\nname", "bad\x1b[31mname",
                           "caf\xe9", "c1\xc2\x85" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        reason = STEMX__REASON__R_OK;
        assert_int_equal (s_hello_named (dealer, bad [i], &reason), STEMX__REPLY__BODY_ERROR);
        assert_int_equal (reason, STEMX__REASON__R_INVALID);
    }
    //  64 bytes of UTF-8 are fine
    char name64 [65];
    memset (name64, 'x', 64);
    name64 [64] = 0;
    assert_int_equal (s_hello_named (dealer, "agoria-kept", &reason), STEMX__REPLY__BODY_WELCOME);
    zsock_t *other = stx_testclient_socket (self, ZMQ_DEALER, stx_identity_cert (agoria), self->request);
    assert_int_equal (s_hello_named (other, name64, &reason), STEMX__REPLY__BODY_WELCOME);
    zsock_destroy (&other);
    assert_int_equal (s_hello_named (dealer, long_name, &reason), STEMX__REPLY__BODY_ERROR);

    //  The refused names were not taken: the event carries the last good one
    Stemx__Event *event = s_event (S_INI ("ini:named", "org:agoria", ""), agoria);
    s_expect_raw (dealer, event, STEMX__REASON__R_OK, NULL);
    stx_event_free (&event);
    stx_testnet_wait_converged (self, 3, 2);
    char *out = NULL;
    assert_int_equal (stx_testnet_cli (self, 1, &out, NULL, "show", "ini:named", "--json", NULL), 0);
    json_t *shown = json_loads (out, 0, NULL);
    free (out);
    json_t *meta = json_object_get (shown, "_meta");
    assert_string_equal (stx_testnet_str (json_object_get (meta, "node")), "agoria-kept");
    json_decref (shown);

    //  An agent refuses at start a name the broker would refuse
    char prog [PATH_MAX + 16], data [PATH_MAX + 16];
    snprintf (prog, sizeof prog, "%s/stemx-agent", self->bin);
    snprintf (data, sizeof data, "%s/badname", self->dir);
    const char *argv [] = { prog, "--data", data, "--name", long_name, "--insecure", NULL };
    char *agent_err = NULL;
    assert_int_not_equal (stx_proc_run (argv, NULL, &agent_err, 10000), 0);
    assert_non_null (strstr (agent_err, "--name: the node name is longer than 64 bytes"));
    free (agent_err);
    zsock_destroy (&dealer);
    stx_identity_destroy (&agoria);
}

//  ---------------------------------------------------------------------
//  A signer the agents do not know yet pauses them; they resume alone

//  A new partner, org:newco, registered at the broker and not yet in the
//  agents' trust, publishes ini:new over *dealer_p: both agents pause and
//  say for which key they wait.
static stx_identity_t *
s_pause_on_newco (world_t *self, zsock_t **dealer_p)
{
    stx_testnet_key (self, "org:newco", "industry", "publisher, reader");
    s_reload_broker (self);
    stx_identity_t *newco = stx_testclient_identity (self, "org:newco");
    *dealer_p = stx_testclient_session (self, newco, REPLY_MS);
    Stemx__Event *event = s_event (S_INI ("ini:new", "org:newco", ""), newco);
    s_expect_raw (*dealer_p, event, STEMX__REASON__R_OK, NULL);
    stx_event_free (&event);
    for (int node = 1; node <= 2; node++) {
        const char *error = NULL;
        json_t *status = s_wait_error (self, node, 15000, &error);
        if (!error || !strstr (error, "waiting for the public key of org:newco"))
            fail_msg ("node %d: no pause reported (%s)", node, error? error: "");
        json_decref (status);
    }
    return newco;
}

static void
test_trust_pause (void **state)
{
    world_t *self = (world_t *) *state;
    zsock_t *dealer = NULL;
    stx_identity_t *newco = s_pause_on_newco (self, &dealer);
    //  The partner's cert reaches the agents: they resume by themselves
    for (int node = 1; node <= 2; node++) {
        char path [PATH_MAX + 32];
        snprintf (path, sizeof path, "%s/trust/newco.cert", self->node [node]);
        s_copy_file (stx_testnet_cert (self, "org:newco", false), path);
    }
    stx_testnet_wait_converged (self, 3, 1);
    for (int node = 1; node <= 2; node++) {
        json_t *status = stx_testnet_status (self, node);
        const char *error = json_string_value (json_object_get (status, "error"));
        assert_true (!error || !*error);
        json_decref (status);
    }
    zsock_destroy (&dealer);
    stx_identity_destroy (&newco);
}

//  ---------------------------------------------------------------------
//  An identity the broker answers only with Errors holds nothing else
//  back: what depended on its event is refused, the rest goes on

static void
test_link_refused (void **state)
{
    world_t *self = (world_t *) *state;
    //  The broker no longer lets VLAIO publish; the agent's trust store
    //  still says admin, so node 1 signs as VLAIO
    char path [PATH_MAX + 32], command [PATH_MAX * 2 + 128];
    snprintf (path, sizeof path, "%s/registry/vlaio.cert", self->node [0]);
    snprintf (command, sizeof command, "sed -i 's/roles = \".*\"/roles = \"reader\"/' '%s'",
              path);
    assert_int_equal (system (command), 0);
    s_reload_broker (self);
    char *err = NULL;
    assert_int_not_equal (s_publish_within (self, 1, S_ORG ("org:x", "industry"), "2", &err), 0);
    free (err);
    //  An initiative naming org:x waits for org:x's answer, which is an
    //  Error: it goes, and is refused for what it is
    assert_int_equal (s_publish_within (self, 1, S_INI_RAW ("ini:y", "\"org:vdab\"",
                      ", \"partners\": [{\"org\": \"org:x\", \"helix_pillar\": \"industry\"}]"),
                      "30", &err), 1);
    assert_non_null (strstr (err, "org:x is not a known organisation"));
    free (err);
    assert_int_equal (s_publish_within (self, 1, S_INI ("ini:z", "org:vdab", ""), "30", &err), 0);
    free (err);
}

//  ---------------------------------------------------------------------
//  While the replica stands still, updates expect the versions the
//  agent's own events make; a refusal of another key changes nothing

static void
test_versions_own (void **state)
{
    world_t *self = (world_t *) *state;
    //  A partner the agents do not know yet: the agents pause on its event
    zsock_t *dealer = NULL;
    stx_identity_t *newco = s_pause_on_newco (self, &dealer);
    int64_t deadline;
    char *err = NULL;
    const char *texts [] = { S_INI ("ini:p", "org:vdab", ""),
                             S_INI ("ini:p", "org:vdab", ", \"summary\": \"two\""),
                             S_INI ("ini:p", "org:vdab", ", \"summary\": \"three\"") };
    for (int round = 0; round < 3; round++) {
        if (round == 2) {
            assert_int_equal (s_publish (self, 1, S_INI_RAW ("ini:bad", "\"org:vdab\"",
                              ", \"partners\": [{\"org\": \"org:nobody\", "
                              "\"helix_pillar\": \"industry\"}]"), &err), 1);
            free (err);
        }
        if (s_publish (self, 1, texts [round], &err) != 0)
            fail_msg ("round %d: %s", round, err);
        free (err);
    }
    //  ini:new and three versions of ini:p
    deadline = zclock_mono () + 10000;
    json_int_t seq = 0;
    while (seq != 4 && zclock_mono () < deadline) {
        json_t *status = stx_testnet_status (self, 0);
        seq = json_integer_value (json_object_get (status, "seq"));
        json_decref (status);
        zclock_sleep (100);
    }
    assert_int_equal (seq, 4);
    zsock_destroy (&dealer);
    stx_identity_destroy (&newco);
}

//  ---------------------------------------------------------------------
//  Snapshot sessions: two per organisation, idle unless chunks flow

static int
s_setup_sessions (void **state)
{
    world_t *self = stx_testnet_new ();
    stx_testnet_key (self, "org:agoria", "industry", "publisher, reader");
    stx_testnet_key (self, "org:vdab", "government", "publisher, reader");
    char config [PATH_MAX + 16];
    snprintf (config, sizeof config, "%s/broker.cfg", self->dir);
    FILE *file = fopen (config, "w");
    assert_non_null (file);
    fputs ("snapshot\n    timeout = 1500\n", file);
    fclose (file);
    stx_testnet_start_broker (self, config);
    *state = self;
    return 0;
}

//  Send a request with body_case body on dealer (SNAPSHOT or CREDIT with n).
static void
s_send_snapshot (zsock_t *dealer, bool credit_only, uint64_t n)
{
    Stemx__SnapshotRequest snapshot = STEMX__SNAPSHOT_REQUEST__INIT;
    Stemx__Credit credit = STEMX__CREDIT__INIT;
    Stemx__Request request = STEMX__REQUEST__INIT;
    if (credit_only) {
        credit.credit = n;
        request.body_case = STEMX__REQUEST__BODY_CREDIT;
        request.credit = &credit;
    }
    else {
        snapshot.credit = n;
        request.body_case = STEMX__REQUEST__BODY_SNAPSHOT;
        request.snapshot = &snapshot;
    }
    assert_int_equal (stx_wire_send_request (dealer, &request), 0);
}

//  The kind of the next reply on dealer within timeout_ms, or -1.
static int
s_reply_kind (zsock_t *dealer, int timeout_ms)
{
    Stemx__Reply *reply = NULL;
    if (stx_wire_recv_reply (dealer, timeout_ms, &reply) != STX_OK)
        return -1;
    int kind = reply->body_case;
    stx_wire_reply_free (&reply);
    return kind;
}

static void
test_snapshot_sessions (void **state)
{
    world_t *self = (world_t *) *state;
    stx_identity_t *agoria = stx_testclient_identity (self, "org:agoria");
    stx_identity_t *vdab = stx_testclient_identity (self, "org:vdab");
    zsock_t *held [2];
    for (int i = 0; i < 2; i++) {
        held [i] = stx_testclient_session (self, agoria, REPLY_MS);
        s_send_snapshot (held [i], false, 0);       //  open, and take nothing
    }
    assert_true (stx_testclient_hello (held [1], REPLY_MS));
    //  A third session of the same organisation is busy; another's is not
    zsock_t *third = stx_testclient_session (self, agoria, REPLY_MS);
    s_send_snapshot (third, false, 4);
    assert_int_equal (s_reply_kind (third, REPLY_MS), STEMX__REPLY__BODY_ERROR);
    zsock_t *other = stx_testclient_session (self, vdab, REPLY_MS);
    s_send_snapshot (other, false, 4);
    assert_int_equal (s_reply_kind (other, REPLY_MS), STEMX__REPLY__BODY_SNAPSHOT_END);

    //  Credit {0} does not keep the held sessions alive: after the idle
    //  timeout (1.5 s) they are gone and the third one gets its snapshot
    int64_t until = zclock_mono () + 3500;
    while (zclock_mono () < until) {
        for (int i = 0; i < 2; i++)
            s_send_snapshot (held [i], true, 0);
        zclock_sleep (250);
    }
    s_send_snapshot (third, false, 4);
    assert_int_equal (s_reply_kind (third, REPLY_MS), STEMX__REPLY__BODY_SNAPSHOT_END);
    for (int i = 0; i < 2; i++)
        zsock_destroy (&held [i]);
    zsock_destroy (&third);
    zsock_destroy (&other);
    stx_identity_destroy (&agoria);
    stx_identity_destroy (&vdab);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_unregistered_key, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_ownership, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_signatures, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_integrity, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_forgery_past_broker, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_versions, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_divergent_fetch, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_revocation, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_hostile_input, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_rate_limit, s_setup_rate, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_rate_limit_agent, s_setup_rate_agent, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_id_reuse, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_fetch_flood, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_registry_files, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_hello_names, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_trust_pause, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_link_refused, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_versions_own, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot_sessions, s_setup_sessions, stx_testnet_teardown),
    };
    stx_testnet_filter ();
    return cmocka_run_group_tests (tests, NULL, NULL);
}
