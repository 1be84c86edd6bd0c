/*  =========================================================================
    test_stx_parties - the parties an event names are known organisations
    with their own helix pillar, and its client time is plausible

    A real store in a fresh folder holds the catalogue side (Organisation
    entries, one withdrawn), a registry of real keys the other; events
    come from JSON as a client would write them.
    ========================================================================= */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "stx_parties.h"
#include "stx_event.h"
#include "stx_json.h"
#include "stx_keys.h"
#include "stx_store.h"

#define S_NOW 1780000000000LL   //  2026-05-28, the broker's clock in these tests

typedef struct {
    char dir [64];
    stx_store_t *store;
    stx_registry_t *registry;
} fixture_t;

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static Stemx__Event *
s_event (const char *text)
{
    json_t *json = json_loads (text, 0, NULL);
    assert_non_null (json);
    Stemx__Entry *entry = NULL;
    char err [STX_ERRLEN];
    if (stx_json_to_entry (json, &entry, err, sizeof err) != STX_OK)
        fail_msg ("%s", err);
    json_decref (json);
    char key [128];
    snprintf (key, sizeof key, "%s", stx_entry_key (entry));
    Stemx__Event *event = stx_event_new (key, &entry);
    event->client_time_ms = S_NOW;
    return event;
}

//  Sequence the event of text (no principal) into the store.
static void
s_store (fixture_t *self, const char *text, bool withdraw)
{
    Stemx__Event *event = s_event (text);
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (self->store, true, &txn), STX_OK);
    Stemx__Event *current = NULL;
    if (stx_txn_get (txn, event->key, &current) == STX_OK)
        event->expected_version = current->version;
    stx_event_free (&current);
    if (withdraw) {
        stemx__entry__free_unpacked (event->entry, NULL);
        event->entry = NULL;
        event->op = STEMX__OPERATION__OP_WITHDRAW;
    }
    stx_sequenced_t out;
    char err [STX_ERRLEN];
    if (stx_txn_sequence (txn, event, NULL, &out, err, sizeof err) != STX_OK)
        fail_msg ("%s", err);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&event);
}

#define S_ORG(id, pillar) \
    "{\"id\": \"" id "\", \"name\": \"N\", \"helix_pillar\": \"" pillar "\", " \
    "\"kind\": \"agency\", \"region\": \"flanders\"}"

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    assert_non_null (self);
    snprintf (self->dir, sizeof (self->dir), "/tmp/stx-parties-XXXXXX");
    assert_non_null (mkdtemp (self->dir));
    char err [STX_ERRLEN], keys [128], path [4096];
    snprintf (keys, sizeof keys, "%s/keys", self->dir);
    assert_int_equal (mkdir (keys, 0700), 0);
    //  Registered: org:a (industry), org:gov (government)
    assert_int_equal (stx_identity_generate (keys, "a", "org:a", "industry",
                                             "publisher, reader", path, sizeof path, err,
                                             sizeof err), STX_OK);
    assert_int_equal (stx_identity_generate (keys, "gov", "org:gov", "government",
                                             "publisher, reader", path, sizeof path, err,
                                             sizeof err), STX_OK);
    if (stx_registry_load (keys, NULL, &self->registry, err, sizeof err) != STX_OK)
        fail_msg ("%s", err);
    char store [128];
    snprintf (store, sizeof store, "%s/store", self->dir);
    assert_int_equal (mkdir (store, 0700), 0);
    assert_int_equal (stx_store_open (store, 0, 0, &self->store, err, sizeof err), STX_OK);
    //  In the catalogue only: org:c (civil society), org:gone (withdrawn);
    //  and org:gov recorded by the admin as knowledge
    s_store (self, S_ORG ("org:c", "civil_society"), false);
    s_store (self, S_ORG ("org:gone", "industry"), false);
    s_store (self, S_ORG ("org:gone", "industry"), true);
    s_store (self, S_ORG ("org:gov", "knowledge"), false);
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    stx_store_destroy (&self->store);
    stx_registry_destroy (&self->registry);
    nftw (self->dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (self);
    return 0;
}

//  Check the event of text (strict unless told); expect status and, if
//  not OK, exactly the text.
static void
s_expect (fixture_t *self, const char *text, int64_t client_time, bool strict,
          stx_status_t expected, const char *message)
{
    Stemx__Event *event = s_event (text);
    event->client_time_ms = client_time;
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (self->store, false, &txn), STX_OK);
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_parties_check (txn, event, S_NOW, self->registry, strict, err,
                                             sizeof err);
    stx_txn_abort (&txn);
    stx_event_free (&event);
    if (status != expected || (message && strcmp (err, message) != 0))
        fail_msg ("got %d '%s', expected %d '%s'", status, err, expected, message? message: "");
}

#define S_INI(owner, partners) \
    "{\"id\": \"ini:x\", \"title\": \"T\", \"owner\": " owner ", " \
    "\"od_codes\": [\"OD 1.1.1\"], \"period\": {\"start\": \"2026-01-01\"}, " \
    "\"status\": \"running\", \"partners\": [" partners "]}"
#define S_A_OK "{\"org\": \"org:a\", \"helix_pillar\": \"industry\"}"

static void
test_pillars (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    //  A registered key's pillar counts while no Organisation entry exists
    s_expect (self, S_INI (S_A_OK, ""), S_NOW, true, STX_OK, NULL);
    s_expect (self, S_INI ("{\"org\": \"org:a\", \"helix_pillar\": \"knowledge\"}", ""),
              S_NOW, true, STX_ERR_INVALID,
              "owner.helix_pillar: knowledge, but org:a is industry");
    s_expect (self, S_INI ("\"org:a\"", ""), S_NOW, true, STX_ERR_INVALID,
              "owner.helix_pillar: missing; org:a is industry");
    //  The catalogue's pillar counts, also over the key's
    s_expect (self, S_INI (S_A_OK, "{\"org\": \"org:c\", \"helix_pillar\": \"civil_society\"}"),
              S_NOW, true, STX_OK, NULL);
    s_expect (self, S_INI (S_A_OK, "{\"org\": \"org:c\", \"helix_pillar\": \"civil_society\"},"
                                   "{\"org\": \"org:gov\", \"helix_pillar\": \"government\"}"),
              S_NOW, true, STX_ERR_INVALID,
              "partners[1].helix_pillar: government, but org:gov is knowledge");
    //  Every kind's parties, each under its own field name
    s_expect (self, "{\"id\": \"infra:f\", \"provider\": {\"org\": \"org:c\", \"helix_pillar\": "
                    "\"industry\"}, \"kind\": \"private_sector\", \"od_code\": \"OD 3.2.1\", "
                    "\"facility\": \"F\", \"location\": {\"municipality\": \"Gent\"}}",
              S_NOW, true, STX_ERR_INVALID,
              "provider.helix_pillar: industry, but org:c is civil_society");
    s_expect (self, "{\"id\": \"moment:m\", \"title\": \"M\", \"kind\": \"network_moment\", "
                    "\"date\": \"2026-05-01\", \"organiser\": " S_A_OK ", \"co_organisers\": "
                    "[{\"org\": \"org:c\", \"helix_pillar\": \"civil_society\"}, \"org:a\"]}",
              S_NOW, true, STX_ERR_INVALID, "co_organisers[1].helix_pillar: missing; org:a is "
              "industry");
}

static void
test_references (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *nobody = S_INI (S_A_OK, "{\"org\": \"org:nobody\", \"helix_pillar\": "
                                        "\"industry\"}");
    s_expect (self, nobody, S_NOW, true, STX_ERR_INVALID, "partners[0].org: org:nobody is "
              "not a known organisation (publish its organisation entry first)");
    //  A replica does not know every organisation (a snapshot not loaded
    //  yet): it lets an unknown one pass, never a wrong pillar
    s_expect (self, nobody, S_NOW, false, STX_OK, NULL);
    const char *gone = S_INI (S_A_OK, "{\"org\": \"org:gone\", \"helix_pillar\": \"industry\"}");
    s_expect (self, gone, S_NOW, true, STX_ERR_INVALID, "partners[0].org: org:gone is withdrawn");
    s_expect (self, gone, S_NOW, false, STX_ERR_INVALID, "partners[0].org: org:gone is withdrawn");
    //  A withdrawal names no parties
    Stemx__Entry *none = NULL;
    Stemx__Event *withdraw = stx_event_new ("ini:x", &none);
    withdraw->client_time_ms = S_NOW;
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (self->store, false, &txn), STX_OK);
    char err [STX_ERRLEN];
    assert_int_equal (stx_parties_check (txn, withdraw, S_NOW, self->registry, true, err,
                                         sizeof err), STX_OK);
    stx_txn_abort (&txn);
    stx_event_free (&withdraw);
}

static void
test_client_time (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const char *ok = S_INI (S_A_OK, "");
    s_expect (self, ok, STX_CLIENT_TIME_MIN, true, STX_OK, NULL);
    s_expect (self, ok, S_NOW + STX_CLIENT_TIME_AHEAD, true, STX_OK, NULL);
    int64_t bad [] = { -5, 0, STX_CLIENT_TIME_MIN - 1, S_NOW + STX_CLIENT_TIME_AHEAD + 1,
                       1000000000000000LL };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        s_expect (self, ok, bad [i], false, STX_ERR_BAD_DATES, NULL);
    s_expect (self, ok, -5, true, STX_ERR_BAD_DATES, "client_time_ms: -5 is before 2000 or "
              "more than a day ahead of the broker's clock");
}

static const char *
s_pillar_of (const char *org, void *arg)
{
    (void) arg;
    return strcmp (org, "org:c") == 0? "civil_society": NULL;
}

static bool
s_is (const char *org, void *arg)
{
    return strcmp (org, (const char *) arg) == 0;
}

static void
test_fill_and_any (void **state)
{
    (void) state;
    Stemx__Event *event = s_event (S_INI (S_A_OK, "\"org:c\", \"org:unknown\", "
                                   "{\"org\": \"org:c\", \"helix_pillar\": \"knowledge\"}"));
    stx_parties_fill (event->entry, s_pillar_of, NULL);
    Stemx__Initiative *ini = event->entry->initiative;
    assert_string_equal (ini->owner->helix_pillar, "industry");     //  had one
    assert_string_equal (ini->partners [0]->helix_pillar, "civil_society");
    assert_string_equal (ini->partners [1]->helix_pillar, "");      //  nobody knows it
    assert_string_equal (ini->partners [2]->helix_pillar, "knowledge");
    assert_true (stx_parties_any (event->entry, s_is, (void *) "org:unknown"));
    assert_true (stx_parties_any (event->entry, s_is, (void *) "org:a"));
    assert_false (stx_parties_any (event->entry, s_is, (void *) "org:b"));
    assert_false (stx_parties_any (NULL, s_is, (void *) "org:a"));
    stx_event_free (&event);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_pillars, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_references, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_client_time, s_setup, s_teardown),
        cmocka_unit_test (test_fill_and_any),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
