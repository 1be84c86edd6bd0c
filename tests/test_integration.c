/*  =========================================================================
    test_integration - real broker and agent processes on loopback

    Starts stemx-broker and two stemx-agent processes with temporary data
    folders, publishes the sample catalogue through the stemx CLI, refuses
    bad input, kills an agent with SIGKILL and restarts it, and checks that
    every replica converges to the broker's (sequence, head) and answers the
    same queries as the broker's catalogue, with the counts the sample
    catalogue implies.
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
#include "stx_testproc.h"

#include <sys/stat.h>
#include "stx_testnet.h"
#include "stx_event.h"
#include "stx_json.h"
#include "stx_wire.h"

#define NODES 3                 //  broker, agent a, agent b

typedef stx_testnet_t world_t;

#define s_cli stx_testnet_cli
#define s_status stx_testnet_status
#define s_write_json stx_testnet_write_json
#define s_wait_converged(self, want) stx_testnet_wait_converged (self, NODES, want)

static int
s_setup (void **state)
{
    world_t *self = stx_testnet_new ();
    stx_testnet_sample_keys (self);
    stx_testnet_start_broker (self, NULL);
    //  Both agents publish for every organisation of the sample
    stx_testnet_start_agent (self, 1, "a", NULL);
    stx_testnet_start_agent (self, 2, "b", NULL);
    *state = self;
    return 0;
}

//  Publish array through agent node; assert the CLI accepted every entry.
static void
s_publish_ok (world_t *self, int node, const char *name, json_t *array)
{
    const char *path = s_write_json (self, name, array);
    char *out = NULL, *err = NULL;
    int rc = s_cli (self, node, &out, &err, "publish", path, "--json", NULL);
    if (rc != 0)
        fail_msg ("publish %s exited %d: %s", name, rc, err);
    json_t *results = json_loads (out, 0, NULL);
    assert_non_null (results);
    assert_int_equal (json_array_size (results), json_array_size (array));
    size_t i;
    json_t *result;
    json_array_foreach (results, i, result) {
        const char *verdict = json_string_value (json_object_get (result, "result"));
        assert_string_equal (verdict? verdict: "(none)", "accepted");
        assert_true (json_integer_value (json_object_get (result, "seq")) > 0);
    }
    json_decref (results);
    free (out);
    free (err);
}

//  Publish entry (stolen) through agent node; assert it is refused with a
//  message containing expect, and that the broker's sequence did not move.
static void
s_publish_refused (world_t *self, int node, json_t *entry, const char *expect)
{
    json_t *before = s_status (self, 0);
    const char *path = s_write_json (self, "bad.json", entry);
    json_decref (entry);
    char *out = NULL, *err = NULL;
    int rc = s_cli (self, node, &out, &err, "publish", path, NULL);
    assert_int_equal (rc, 1);
    if (!strstr (err, expect))
        fail_msg ("refusal '%s' does not mention '%s'", err, expect);
    json_t *after = s_status (self, 0);
    assert_int_equal (json_integer_value (json_object_get (before, "seq")),
                      json_integer_value (json_object_get (after, "seq")));
    json_decref (before);
    json_decref (after);
    free (out);
    free (err);
}

//  A copy of the first initiative of the sample with key set to a new id.
static json_t *
s_initiative (world_t *self, const char *id)
{
    json_t *ini = json_deep_copy (json_array_get (
        json_object_get (stx_testnet_catalogue (self), "initiatives"), 0));
    json_object_set_new (ini, "id", json_string (id));
    return ini;
}

//  Assert every node answers `stemx ARGS --json` identically, and return
//  the first one's answer (caller decrefs). `list` reads the query index,
//  which the broker's store does not keep: there the broker must say so,
//  and the agents answer.
static json_t *
s_same_answer (world_t *self, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *answers [NODES] = { NULL };
    int first = 0;
    if (strcmp (a1, "list") == 0) {
        char *err = NULL;
        assert_int_equal (s_cli (self, 0, NULL, &err, a1, a2, "--json", a3, a4, NULL), 1);
        assert_non_null (strstr (err, "keeps no query index"));
        free (err);
        first = 1;
    }
    for (int n = first; n < NODES; n++) {
        int rc = s_cli (self, n, &answers [n], NULL, a1, a2, "--json", a3, a4, NULL);
        assert_int_equal (rc, 0);
    }
    for (int n = first + 1; n < NODES; n++)
        assert_string_equal (answers [first], answers [n]);
    json_t *json = json_loads (answers [first], 0, NULL);
    assert_non_null (json);
    for (int n = 0; n < NODES; n++)
        free (answers [n]);
    return json;
}

//  How many sample records of section have value in field (a string or
//  an array of strings).
static size_t
s_count (world_t *self, const char *section, const char *field, const char *value)
{
    size_t count = 0, i;
    json_t *record;
    json_array_foreach (json_object_get (stx_testnet_catalogue (self), section), i, record) {
        json_t *v = json_object_get (record, field);
        if (json_is_string (v) && strcmp (json_string_value (v), value) == 0)
            count++;
        else
        if (json_is_array (v)) {
            size_t j;
            json_t *item;
            json_array_foreach (v, j, item)
                if (strcmp (json_string_value (item), value) == 0) {
                    count++;
                    break;
                }
        }
    }
    return count;
}

static void
test_replicate_refuse_restart (void **state)
{
    world_t *self = (world_t *) *state;
    json_t *orgs = json_object_get (stx_testnet_catalogue (self), "organisations");
    json_t *inis = json_object_get (stx_testnet_catalogue (self), "initiatives");
    json_t *infra = json_object_get (stx_testnet_catalogue (self), "infrastructure_openings");
    json_t *moments = json_object_get (stx_testnet_catalogue (self), "network_moments");
    json_int_t n_orgs = json_array_size (orgs), n_inis = json_array_size (inis);

    //  Organisations first (through a), and applied everywhere before the
    //  initiatives go out (through b): b fills in partners' pillars from
    //  its own replica when it signs
    s_publish_ok (self, 1, "orgs.json", orgs);
    s_wait_converged (self, n_orgs);
    s_publish_ok (self, 2, "initiatives.json", inis);
    s_wait_converged (self, n_orgs + n_inis);

    //  Bad input: each refused with the field named; nothing moves
    json_t *bad = s_initiative (self, "ini:bad-od");
    json_object_set_new (bad, "od_codes", json_pack ("[s]", "OD 9.9.9"));
    s_publish_refused (self, 1, bad, "OD 9.9.9");
    bad = s_initiative (self, "ini:bad-missing");
    json_object_del (bad, "title");
    s_publish_refused (self, 1, bad, "title");
    bad = s_initiative (self, "ini:bad-dates");
    json_object_set_new (bad, "period", json_pack ("{s:s, s:s}",
                         "start", "2026-05-01", "end", "2026-04-30"));
    s_publish_refused (self, 1, bad, "period");
    bad = s_initiative (self, "ini:bad-pillar");
    json_object_set_new (bad, "partners", json_pack ("[{s:s, s:s}]",
                         "org", "org:vlaio", "helix_pillar", "church"));
    s_publish_refused (self, 2, bad, "church");
    bad = json_pack ("{s:s, s:s}", "id", "foo:bar", "title", "no such kind");
    s_publish_refused (self, 1, bad, "unknown kind");
    bad = s_initiative (self, "ini:bad-huge");
    char *huge = malloc (200001);
    memset (huge, 'x', 200000);
    huge [200000] = 0;
    json_object_set_new (bad, "summary", json_string (huge));
    free (huge);
    s_publish_refused (self, 2, bad, "summary");

    //  Invalid UTF-8 is refused before it leaves the CLI
    char path [PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/latin1.json", self->dir);
    FILE *file = fopen (path, "wb");
    fputs ("{\"id\": \"org:caf\xe9\", \"name\": \"Caf\xe9\"}", file);
    fclose (file);
    char *err = NULL;
    assert_int_equal (s_cli (self, 1, NULL, &err, "publish", path, NULL), 1);
    assert_non_null (strstr (err, "UTF-8"));
    free (err);

    //  A batch mixing good and bad: the good one is stored, the bad refused
    json_t *mixed = json_array ();
    json_array_append_new (mixed, s_initiative (self, "ini:good-one"));
    bad = s_initiative (self, "ini:bad-theme");
    json_object_set_new (bad, "themes", json_pack ("[s]", "astrology"));
    json_array_append_new (mixed, bad);
    const char *mixed_path = s_write_json (self, "mixed.json", mixed);
    json_decref (mixed);
    char *out = NULL;
    err = NULL;
    assert_int_equal (s_cli (self, 1, &out, &err, "publish", mixed_path, NULL), 1);
    assert_non_null (strstr (out, "ini:good-one"));
    assert_non_null (strstr (err, "astrology"));
    free (out);
    free (err);
    json_int_t expected = n_orgs + n_inis + 1;
    s_wait_converged (self, expected);

    //  Kill agent a without warning; the system goes on without it
    int status = stx_testnet_stop (self, 1, SIGKILL);
    assert_true (WIFSIGNALED (status));
    s_publish_ok (self, 2, "infra.json", infra);
    expected += json_array_size (infra);

    //  Restarted, it resumes from its own sequence and publishes again
    stx_testnet_restart_agent (self, 1, "a");
    s_publish_ok (self, 1, "moments.json", moments);
    expected += json_array_size (moments);
    s_wait_converged (self, expected);

    //  Every replica answers the same queries as the broker, with the
    //  counts the sample catalogue implies
    json_t *answer = s_same_answer (self, "list", "initiative", "--od", "OD 3.2.1");
    assert_int_equal (json_array_size (answer), s_count (self, "initiatives", "od_codes", "OD 3.2.1"));
    json_decref (answer);
    answer = s_same_answer (self, "list", "organisation", "--helix", "industry");
    assert_int_equal (json_array_size (answer), s_count (self, "organisations", "helix_pillar", "industry"));
    json_decref (answer);
    answer = s_same_answer (self, "list", "initiative", "--status", "running");
    //  ini:good-one is a copy of the first sample initiative
    size_t running = s_count (self, "initiatives", "status", "running");
    const char *first_status = json_string_value (json_object_get (
        json_array_get (inis, 0), "status"));
    assert_int_equal (json_array_size (answer), running + (strcmp (first_status, "running") == 0));
    json_decref (answer);
    answer = s_same_answer (self, "list", "infrastructure", "--od", "OD 3.2.2");
    assert_int_equal (json_array_size (answer), s_count (self, "infrastructure_openings", "od_code", "OD 3.2.2"));
    json_decref (answer);
    answer = s_same_answer (self, "list", "moment", "--from", "2026-01-01");
    assert_true (json_array_size (answer) > 0);
    json_decref (answer);
    answer = s_same_answer (self, "list", "initiative", "--org", "org:vdab");
    assert_true (json_array_size (answer) > 0);
    json_decref (answer);
    answer = s_same_answer (self, "show", "org:vlaio", NULL, NULL);
    assert_string_equal (stx_testnet_str (json_object_get (answer, "name")),
                         "Agentschap Innoveren & Ondernemen");
    json_decref (answer);

    //  The publishing agent filled in every partner's pillar before signing
    answer = s_same_answer (self, "show", "ini:vdab-beroepenfilms", NULL, NULL);
    json_t *partners = json_object_get (answer, "partners");
    assert_true (json_array_size (partners) > 0);
    size_t i;
    json_t *partner;
    json_array_foreach (partners, i, partner) {
        const char *pillar = json_string_value (json_object_get (partner, "helix_pillar"));
        assert_string_equal (pillar? pillar: "(none)", "industry");
    }
    assert_string_equal (stx_testnet_str (json_object_get (
        json_object_get (answer, "owner"), "helix_pillar")), "government");
    assert_string_equal (stx_testnet_str (json_object_get (
        json_object_get (answer, "_meta"), "origin")), "org:vdab");
    json_decref (answer);

    //  Each replica agrees with the broker, by a fresh round trip
    for (int node = 1; node < NODES; node++) {
        char *verdict = NULL;
        assert_int_equal (s_cli (self, node, &verdict, NULL, "verify", "--json", NULL), 0);
        json_t *v = json_loads (verdict, 0, NULL);
        free (verdict);
        assert_string_equal (stx_testnet_str (json_object_get (v, "verdict")), "agree");
        assert_int_equal (json_integer_value (json_object_get (v, "local_seq")), expected);
        assert_string_equal (stx_testnet_str (json_object_get (v, "local_head")),
                             stx_testnet_str (json_object_get (v, "broker_head")));
        json_decref (v);
    }
    //  ...which itself is the reference, not a replica
    assert_int_equal (s_cli (self, 0, NULL, NULL, "verify", NULL), 1);

    //  The broker's catalogue holds the whole sample plus ini:good-one
    json_t *status_json = s_status (self, 0);
    assert_int_equal (json_integer_value (json_object_get (status_json, "entries")), expected);
    json_decref (status_json);
}

//  A client that sends thousands of publishes on one socket before it
//  reads any reply still gets every ACK: a settle answers a whole window
//  at once, and the agent's CLI socket must hold them all (a ROUTER drops
//  what its pipe cannot take, so a lost ACK would look like a hang).
#define S_BURST 6000

static void
test_reply_burst (void **state)
{
    world_t *self = (world_t *) *state;
    json_t *orgs = json_object_get (stx_testnet_catalogue (self), "organisations");
    s_publish_ok (self, 1, "orgs.json", orgs);
    json_int_t base = (json_int_t) json_array_size (orgs);
    s_wait_converged (self, base);

    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert_non_null (sock);
    zsock_set_sndhwm (sock, 0);
    assert_int_equal (zsock_connect (sock, "ipc://%s/agent.sock", self->node [1]), 0);
    for (int i = 0; i < S_BURST; i++) {
        char id [40];
        snprintf (id, sizeof id, "ini:burst-%d", i);
        json_t *json = s_initiative (self, id);
        Stemx__Entry *entry = NULL;
        char err [STX_ERRLEN];
        assert_int_equal (stx_json_to_entry (json, &entry, err, sizeof err), STX_OK);
        json_decref (json);
        Stemx__Event *event = stx_event_new (id, &entry);
        size_t size;
        uint8_t *data = stx_event_pack (event, &size);
        stx_event_free (&event);
        ProtobufCBinaryData bytes = { size, data };
        assert_int_equal (stx_wire_send_publish (sock, &bytes, 1), 0);
        free (data);
    }
    //  Every reply is sent (and queued for us) before we read one
    s_wait_converged (self, base + S_BURST);
    int acked = 0, receipts = 0;
    while (acked < S_BURST) {
        Stemx__Reply *reply = NULL;
        if (stx_wire_recv_reply (sock, 5000, &reply) != STX_OK)
            break;
        //  Each publish is first confirmed in the agent's outbox
        if (reply->body_case == STEMX__REPLY__BODY_RECEIPT) {
            assert_int_equal (reply->receipt->queued, 1);
            receipts++;
            stx_wire_reply_free (&reply);
            continue;
        }
        assert_int_equal (reply->body_case, STEMX__REPLY__BODY_ACK);
        for (size_t r = 0; r < reply->ack->n_results; r++) {
            assert_int_equal (reply->ack->results [r]->reason, STEMX__REASON__R_OK);
            acked++;
        }
        stx_wire_reply_free (&reply);
    }
    zsock_destroy (&sock);
    assert_int_equal (acked, S_BURST);
    assert_int_equal (receipts, S_BURST);
}

//  An agent rebuilds its replica from the broker with --resync and keeps
//  its outbox; a second agent on the same folder is refused
static void
test_resync (void **state)
{
    world_t *self = (world_t *) *state;
    json_t *orgs = json_object_get (stx_testnet_catalogue (self), "organisations");
    s_publish_ok (self, 1, "orgs.json", orgs);
    json_int_t base = (json_int_t) json_array_size (orgs);
    s_wait_converged (self, base);

    //  With the broker down, a publish stays in the agent's outbox
    stx_testnet_stop (self, 0, SIGTERM);
    json_t *pending = json_array ();
    json_array_append_new (pending, s_initiative (self, "ini:kept-in-outbox"));
    const char *path = s_write_json (self, "pending.json", pending);
    json_decref (pending);
    int rc = s_cli (self, 1, NULL, NULL, "publish", path, "--timeout", "2", NULL);
    assert_int_equal (rc, 3);

    //  One agent per folder: a second one says who holds it
    char prog [PATH_MAX + 16];
    snprintf (prog, sizeof prog, "%s/stemx-agent", self->bin);
    const char *argv [] = { prog, "--data", self->node [1], "--name", "second", NULL };
    char *err = NULL;
    assert_int_equal (stx_proc_run (argv, NULL, &err, 10000), 1);
    if (!strstr (err, "another stemx-agent is running on"))
        fail_msg ("second agent said: %s", err);
    free (err);

    //  --resync sets the replica aside and starts from nothing...
    assert_int_equal (stx_testnet_stop (self, 1, SIGTERM), 0);
    self->agent_option [1] = "--resync";
    stx_testnet_restart_agent (self, 1, "a");
    char aside [PATH_MAX + 64];
    snprintf (aside, sizeof aside, "%s/catalogue.before-resync/data.mdb", self->node [1]);
    assert_true (stx_wait_path (aside, 1000));
    json_t *status = s_status (self, 1);
    assert_non_null (status);
    assert_int_equal (json_integer_value (json_object_get (status, "seq")), 0);
    json_decref (status);

    //  ...and, with the broker back, takes the catalogue by snapshot and
    //  sends what its outbox kept
    stx_testnet_restart_broker (self);
    s_wait_converged (self, base + 1);
    char *out = NULL;
    assert_int_equal (s_cli (self, 1, &out, NULL, "show", "ini:kept-in-outbox", "--json",
                             NULL), 0);
    free (out);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_replicate_refuse_restart, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_reply_burst, s_setup, stx_testnet_teardown),
        cmocka_unit_test_setup_teardown (test_resync, s_setup, stx_testnet_teardown),
    };
    stx_testnet_filter ();
    return cmocka_run_group_tests (tests, NULL, NULL);
}
