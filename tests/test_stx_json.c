/*  =========================================================================
    test_stx_json - JSON <-> protobuf conversion of catalogue entries

    The whole sample catalogue (config/sample/catalogue.json) goes JSON ->
    Entry -> JSON, and through the protobuf wire form, and must come back
    unchanged but for partners in object form and null members dropped.
    Each class of bad input is refused with a message naming the entry and
    the field.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stx_json.h"

static const char *s_sections [] = {
    "organisations", "initiatives", "infrastructure_openings", "network_moments"
};

static json_t *
s_load_sample (void)
{
    char path [4096];
    const char *source = getenv ("STEMX_SOURCE_DIR");
    snprintf (path, sizeof (path), "%s/config/sample/catalogue.json", source? source: ".");
    json_error_t error;
    json_t *root = json_load_file (path, 0, &error);
    if (!root)
        fail_msg ("%s: %s", path, error.text);
    return root;
}

//  Parse text (test input, must be valid JSON).
static json_t *
s_json (const char *text)
{
    json_error_t error;
    json_t *json = json_loads (text, JSON_ALLOW_NUL, &error);
    if (!json)
        fail_msg ("bad test JSON: %s: %s", error.text, text);
    return json;
}

//  The expected output for a sample record: nulls dropped, partner
//  references as objects.
static json_t *
s_normalise (const json_t *record)
{
    static const char *single [] = { "owner", "provider", "organiser" };
    static const char *lists [] = { "partners", "co_organisers" };
    json_t *copy = json_deep_copy (record);
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe (copy, tmp, key, value) {
        if (json_is_null (value))
            json_object_del (copy, key);
        else
        if (json_is_object (value)) {
            json_t *inner = s_normalise (value);
            json_object_set_new (copy, key, inner);
        }
    }
    for (int index = 0; index < 3; index++) {
        json_t *ref = json_object_get (copy, single [index]);
        if (json_is_string (ref))
            json_object_set_new (copy, single [index], json_pack ("{s:O}", "org", ref));
    }
    for (int index = 0; index < 2; index++) {
        json_t *array = json_object_get (copy, lists [index]);
        size_t item;
        json_t *ref;
        json_array_foreach (array, item, ref)
            if (json_is_string (ref))
                json_array_set_new (array, item, json_pack ("{s:O}", "org", ref));
    }
    return copy;
}

static void
s_assert_json_equal (json_t *actual, json_t *expected, const char *what)
{
    if (!json_equal (actual, expected)) {
        char *a = json_dumps (actual, JSON_SORT_KEYS);
        char *e = json_dumps (expected, JSON_SORT_KEYS);
        fail_msg ("%s differs:\n  got      %s\n  expected %s", what, a, e);
    }
}

static void
test_kinds (void **state)
{
    assert_int_equal (stx_kind_of_key ("org:vlaio"), STX_KIND_ORGANISATION);
    assert_int_equal (stx_kind_of_key ("ini:x"), STX_KIND_INITIATIVE);
    assert_int_equal (stx_kind_of_key ("infra:x"), STX_KIND_INFRASTRUCTURE);
    assert_int_equal (stx_kind_of_key ("moment:x"), STX_KIND_MOMENT);
    assert_int_equal (stx_kind_of_key ("orga:x"), STX_KIND_NONE);
    assert_int_equal (stx_kind_of_key ("org"), STX_KIND_NONE);
    assert_int_equal (stx_kind_of_key (""), STX_KIND_NONE);
    assert_int_equal (stx_kind_of_key (NULL), STX_KIND_NONE);
    assert_int_equal (stx_kind_from_name ("organisation"), STX_KIND_ORGANISATION);
    assert_int_equal (stx_kind_from_name ("initiatives"), STX_KIND_INITIATIVE);
    assert_int_equal (stx_kind_from_name ("infra"), STX_KIND_INFRASTRUCTURE);
    assert_int_equal (stx_kind_from_name ("infrastructure_openings"), STX_KIND_INFRASTRUCTURE);
    assert_int_equal (stx_kind_from_name ("moments"), STX_KIND_MOMENT);
    assert_int_equal (stx_kind_from_name ("Moment"), STX_KIND_NONE);
    assert_int_equal (stx_kind_from_name (NULL), STX_KIND_NONE);
    assert_string_equal (stx_kind_name (STX_KIND_INFRASTRUCTURE), "infrastructure");
    assert_string_equal (stx_kind_name (STX_KIND_NONE), "none");
    for (int kind = STX_KIND_ORGANISATION; kind <= STX_KIND_MOMENT; kind++)
        assert_int_equal (stx_kind_from_name (stx_kind_name (kind)), kind);
}

//  Every sample record: JSON -> Entry -> JSON, and Entry -> bytes -> Entry
//  -> JSON, give the normalised record.
static void
test_sample_round_trip (void **state)
{
    json_t *root = s_load_sample ();
    size_t total = 0;
    for (int section = 0; section < 4; section++) {
        json_t *records = json_object_get (root, s_sections [section]);
        assert_true (json_array_size (records) > 0);
        size_t index;
        json_t *record;
        json_array_foreach (records, index, record) {
            const char *id = json_string_value (json_object_get (record, "id"));
            char err [STX_ERRLEN] = "";
            Stemx__Entry *entry = NULL;
            stx_status_t rc = stx_json_to_entry (record, &entry, err, sizeof (err));
            if (rc != STX_OK)
                fail_msg ("%s: %s", id, err);
            assert_int_equal (stx_entry_kind (entry), stx_kind_from_name (s_sections [section]));
            assert_string_equal (stx_entry_key (entry), id);

            json_t *expected = s_normalise (record);
            json_t *output = stx_json_from_entry (entry);
            s_assert_json_equal (output, expected, id);
            json_decref (output);

            //  Through the wire form: the layout is protobuf-c's own
            size_t size = stemx__entry__get_packed_size (entry);
            uint8_t *bytes = (uint8_t *) malloc (size);
            assert_int_equal (stemx__entry__pack (entry, bytes), size);
            Stemx__Entry *copy = stemx__entry__unpack (NULL, size, bytes);
            assert_non_null (copy);
            output = stx_json_from_entry (copy);
            s_assert_json_equal (output, expected, id);
            json_decref (output);
            free (bytes);
            stx_entry_free (&copy);
            assert_null (copy);

            json_decref (expected);
            stx_entry_free (&entry);
            assert_null (entry);
            total++;
        }
    }
    assert_int_equal (total, 45 + 60 + 25 + 15);
    json_decref (root);
}

static void
test_partner_forms (void **state)
{
    json_t *input = s_json (
        "{\"id\": \"ini:x\", \"title\": \"X\","
        " \"owner\": {\"org\": \"org:vdab\", \"helix_pillar\": \"government\"},"
        " \"partners\": [\"org:agoria\", {\"org\": \"org:imec\"}, {\"org\": \"org:voka\", \"helix_pillar\": null}],"
        " \"od_codes\": [\"OD 1.1.1\"], \"period\": {\"start\": \"2026-01-01\"},"
        " \"status\": \"planned\", \"_meta\": {\"seq\": 4}}");
    char err [STX_ERRLEN] = "";
    Stemx__Entry *entry = NULL;
    assert_int_equal (stx_json_to_entry (input, &entry, err, sizeof (err)), STX_OK);
    Stemx__Initiative *ini = entry->initiative;
    assert_string_equal (ini->owner->org, "org:vdab");
    assert_string_equal (ini->owner->helix_pillar, "government");
    assert_int_equal (ini->n_partners, 3);
    assert_string_equal (ini->partners [0]->org, "org:agoria");
    assert_string_equal (ini->partners [0]->helix_pillar, "");
    assert_string_equal (ini->partners [2]->org, "org:voka");

    json_t *output = stx_json_from_entry (entry);
    json_t *expected = s_json (
        "{\"id\": \"ini:x\", \"title\": \"X\","
        " \"owner\": {\"org\": \"org:vdab\", \"helix_pillar\": \"government\"},"
        " \"partners\": [{\"org\": \"org:agoria\"}, {\"org\": \"org:imec\"}, {\"org\": \"org:voka\"}],"
        " \"od_codes\": [\"OD 1.1.1\"], \"themes\": [], \"target_groups\": [],"
        " \"period\": {\"start\": \"2026-01-01\"}, \"status\": \"planned\", \"doc_refs\": []}");
    s_assert_json_equal (output, expected, "partners");
    json_decref (output);
    json_decref (expected);
    json_decref (input);
    stx_entry_free (&entry);
    stx_entry_free (&entry);        //  NULL is fine
}

//  text must be refused as STX_ERR_INVALID with exactly message.
static void
s_expect_error (const char *text, const char *message)
{
    json_t *input = s_json (text);
    char err [STX_ERRLEN] = "";
    Stemx__Entry *entry = (Stemx__Entry *) 0x1;
    stx_status_t rc = stx_json_to_entry (input, &entry, err, sizeof (err));
    if (rc != STX_ERR_INVALID || strcmp (err, message) != 0)
        fail_msg ("for %s\n  got %d '%s'\n  expected '%s'", text, rc, err, message);
    assert_null (entry);
    json_decref (input);
}

#define S_INI_HEAD  "{\"id\": \"ini:x\", \"title\": \"X\", \"owner\": \"org:a\", "
#define S_INI_OK    S_INI_HEAD "\"od_codes\": [\"OD 1.1.1\"], " \
                    "\"period\": {\"start\": \"2026-01-01\"}, \"status\": \"planned\""
#define S_INFRA_OK  "{\"id\": \"infra:x\", \"provider\": \"org:a\", \"kind\": \"private_sector\", " \
                    "\"od_code\": \"OD 3.2.3\", \"facility\": \"Lab\", " \
                    "\"location\": {\"municipality\": \"Gent\"}"
#define S_MOMENT_OK "{\"id\": \"moment:x\", \"organiser\": \"org:a\", \"title\": \"M\", " \
                    "\"kind\": \"network_moment\", \"date\": \"2026-03-19\""
#define S_ORG_OK    "{\"id\": \"org:a\", \"name\": \"A\", \"helix_pillar\": \"industry\", " \
                    "\"kind\": \"agency\", \"region\": \"flanders\""

static void
test_minimal_entries (void **state)
{
    const char *texts [] = { S_INI_OK "}", S_INFRA_OK "}", S_MOMENT_OK "}", S_ORG_OK "}" };
    for (int index = 0; index < 4; index++) {
        json_t *input = s_json (texts [index]);
        char err [STX_ERRLEN] = "";
        Stemx__Entry *entry = NULL;
        if (stx_json_to_entry (input, &entry, err, sizeof (err)) != STX_OK)
            fail_msg ("%s: %s", texts [index], err);
        json_decref (input);
        stx_entry_free (&entry);
    }
}

static void
test_id_errors (void **state)
{
    s_expect_error ("{\"name\": \"A\"}", "id: required");
    s_expect_error ("{\"id\": null}", "id: required");
    s_expect_error ("{\"id\": \"\"}", "id: required");
    s_expect_error ("{\"id\": 7}", "id: expected a string");
    s_expect_error ("{\"id\": \"foo:x\"}",
                    "id 'foo:x': unknown kind (expected org:, ini:, infra: or moment:)");
    s_expect_error ("[1]", "entry: expected an object");
}

static void
test_required_fields (void **state)
{
    s_expect_error ("{\"id\": \"ini:x\", \"title\": \"X\", \"owner\": \"org:a\", "
                    "\"od_codes\": [\"OD 1.1.1\"], \"period\": {\"end\": \"2026-01-01\"}, "
                    "\"status\": \"planned\"}",
                    "ini:x: period.start: required");
    s_expect_error ("{\"id\": \"ini:x\", \"title\": \"X\", \"owner\": \"org:a\", "
                    "\"od_codes\": [\"OD 1.1.1\"], \"status\": \"planned\"}",
                    "ini:x: period.start: required");
    s_expect_error (S_INI_HEAD "\"od_codes\": [], \"period\": {\"start\": \"2026-01-01\"}, "
                    "\"status\": \"planned\"}",
                    "ini:x: od_codes: required");
    s_expect_error ("{\"id\": \"ini:x\", \"owner\": \"org:a\"}", "ini:x: title: required");
    //  null is the same as absent, "" is "not given"
    s_expect_error ("{\"id\": \"ini:x\", \"title\": null, \"owner\": \"org:a\"}",
                    "ini:x: title: required");
    s_expect_error ("{\"id\": \"ini:x\", \"title\": \"\", \"owner\": \"org:a\"}",
                    "ini:x: title: required");
    s_expect_error ("{\"id\": \"ini:x\", \"title\": \"X\"}", "ini:x: owner: required");
    s_expect_error ("{\"id\": \"org:a\", \"name\": \"A\", \"helix_pillar\": \"industry\", "
                    "\"kind\": \"agency\"}", "org:a: region: required");
    s_expect_error ("{\"id\": \"infra:x\", \"provider\": \"org:a\", \"kind\": \"private_sector\", "
                    "\"od_code\": \"OD 3.2.3\", \"facility\": \"Lab\", \"location\": {}}",
                    "infra:x: location.municipality: required");
    s_expect_error ("{\"id\": \"moment:x\", \"organiser\": \"org:a\", \"title\": \"M\", "
                    "\"kind\": \"network_moment\"}", "moment:x: date: required");
}

static void
test_type_errors (void **state)
{
    s_expect_error (S_INI_OK ", \"colour\": \"red\"}", "ini:x: colour: unknown field");
    s_expect_error (S_INI_OK ", \"period\": {\"start\": \"2026-01-01\", \"until\": 1}}",
                    "ini:x: period.until: unknown field");
    s_expect_error (S_INI_HEAD "\"od_codes\": \"OD 1.1.1\"}",
                    "ini:x: od_codes: expected an array of strings");
    s_expect_error (S_INI_HEAD "\"od_codes\": [\"OD 1.1.1\", 2]}",
                    "ini:x: od_codes[1]: expected a string");
    s_expect_error (S_INI_HEAD "\"od_codes\": [\"OD 1.1.1\", null]}",
                    "ini:x: od_codes[1]: null in an array");
    s_expect_error (S_INI_OK ", \"title\": 5}", "ini:x: title: expected a string");
    s_expect_error (S_INI_OK ", \"title\": \"a\\u0000b\"}",
                    "ini:x: title: contains a NUL character");
    s_expect_error (S_INI_OK ", \"period\": \"2026\"}", "ini:x: period: expected an object");
    s_expect_error (S_INI_OK ", \"partners\": [\"org:b\", {\"helix_pillar\": \"industry\"}]}",
                    "ini:x: partners[1].org: required");
    s_expect_error (S_INI_OK ", \"partners\": [\"org:b\", {\"org\": \"org:c\", \"pillar\": \"x\"}]}",
                    "ini:x: partners[1].pillar: unknown field");
    s_expect_error (S_INI_OK ", \"partners\": [3]}",
                    "ini:x: partners[0]: expected \"org:...\" or {\"org\": ..., \"helix_pillar\": ...}");
    s_expect_error (S_INI_OK ", \"partners\": {\"org\": \"org:b\"}}",
                    "ini:x: partners: expected an array of organisations");
    s_expect_error (S_INI_OK ", \"owner\": \"\"}", "ini:x: owner.org: required");
    s_expect_error (S_INFRA_OK ", \"availability\": [{\"from\": \"2026-01-01\", \"weekdays\": \"mon\"}]}",
                    "infra:x: availability[0].weekdays: expected an array of strings");
    s_expect_error (S_INFRA_OK ", \"availability\": [{\"from\": \"2026-01-01\"}, 5]}",
                    "infra:x: availability[1]: expected an object");
}

static void
test_numbers (void **state)
{
    s_expect_error (S_MOMENT_OK ", \"capacity\": -1}",
                    "moment:x: capacity: expected an integer from 0 to 4294967295");
    s_expect_error (S_MOMENT_OK ", \"capacity\": 1.5}",
                    "moment:x: capacity: expected an integer from 0 to 4294967295");
    s_expect_error (S_MOMENT_OK ", \"capacity\": 4294967296}",
                    "moment:x: capacity: expected an integer from 0 to 4294967295");
    s_expect_error (S_MOMENT_OK ", \"capacity\": \"120\"}",
                    "moment:x: capacity: expected an integer from 0 to 4294967295");
    s_expect_error (S_INFRA_OK ", \"capacity\": {\"participants_per_session\": true}}",
                    "infra:x: capacity.participants_per_session: expected an integer from 0 to 4294967295");

    json_t *input = s_json (S_MOMENT_OK ", \"capacity\": 4294967295}");
    Stemx__Entry *entry = NULL;
    assert_int_equal (stx_json_to_entry (input, &entry, NULL, 0), STX_OK);
    assert_int_equal (entry->moment->capacity, UINT32_MAX);
    json_t *output = stx_json_from_entry (entry);
    assert_int_equal (json_integer_value (json_object_get (output, "capacity")), 4294967295LL);
    json_decref (output);
    json_decref (input);
    stx_entry_free (&entry);
}

static void
test_long_id_in_error (void **state)
{
    //  The echo of a long id is cut, the message still names the field
    char text [1024];
    char id [401];
    memset (id, 'a', 400);
    id [400] = 0;
    snprintf (text, sizeof (text), "{\"id\": \"ini:%s\", \"title\": \"X\", \"colour\": 1}", id);
    json_t *input = s_json (text);
    char err [STX_ERRLEN] = "";
    Stemx__Entry *entry = NULL;
    assert_int_equal (stx_json_to_entry (input, &entry, err, sizeof (err)), STX_ERR_INVALID);
    assert_non_null (strstr (err, "...: colour: unknown field"));
    assert_true (strlen (err) < 128);
    //  A small buffer is filled and terminated, never overrun
    char small [16];
    assert_int_equal (stx_json_to_entry (input, &entry, small, sizeof (small)), STX_ERR_INVALID);
    assert_int_equal (strlen (small), sizeof (small) - 1);
    json_decref (input);
}

static void
test_invalid_utf8_output (void **state)
{
    //  An entry from the wire that was never validated still prints as
    //  valid JSON
    Stemx__Organisation org = STEMX__ORGANISATION__INIT;
    Stemx__Entry entry = STEMX__ENTRY__INIT;
    char name [] = "caf\xC3\xA9 \xC0\xAF bar";
    org.id = (char *) "org:x";
    org.name = name;
    entry.kind_case = STEMX__ENTRY__KIND_ORGANISATION;
    entry.organisation = &org;
    json_t *output = stx_json_from_entry (&entry);
    assert_non_null (output);
    assert_string_equal (json_string_value (json_object_get (output, "name")),
                         "caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD bar");
    assert_string_equal (json_string_value (json_object_get (output, "id")), "org:x");
    assert_null (json_object_get (output, "region"));       //  "" not printed
    assert_int_equal (json_array_size (json_object_get (output, "roles")), 0);
    json_decref (output);

    //  An empty entry prints as {}
    Stemx__Entry empty = STEMX__ENTRY__INIT;
    output = stx_json_from_entry (&empty);
    assert_int_equal (json_object_size (output), 0);
    json_decref (output);
    assert_int_equal (stx_entry_kind (&empty), STX_KIND_NONE);
    assert_string_equal (stx_entry_key (&empty), "");
    assert_string_equal (stx_entry_key (NULL), "");
}

static void
test_event_json (void **state)
{
    json_t *input = s_json (S_ORG_OK "}");
    Stemx__Entry *entry = NULL;
    assert_int_equal (stx_json_to_entry (input, &entry, NULL, 0), STX_OK);

    Stemx__Event event = STEMX__EVENT__INIT;
    event.key = (char *) "org:a";
    event.op = STEMX__OPERATION__OP_UPSERT;
    event.entry = entry;
    event.seq = 42;
    event.version = 3;
    event.origin = (char *) "org:vlaio";
    event.node = (char *) "vlaio-1";
    event.broker_time_ms = 1795866428123LL;
    event.client_time_ms = -1;
    json_t *output = stx_json_from_event (&event);
    json_t *expected = json_deep_copy (input);
    json_object_set_new (expected, "doc_refs", json_array ());
    json_object_set_new (expected, "roles", json_array ());
    json_object_set_new (expected, "_meta", json_pack (
        "{s:i, s:i, s:s, s:s, s:s, s:s, s:s}",
        "seq", 42, "version", 3, "op", "upsert", "origin", "org:vlaio",
        "node", "vlaio-1", "broker_time", "2026-11-28T11:47:08.123Z",
        "client_time", "1969-12-31T23:59:59.999Z"));
    s_assert_json_equal (output, expected, "upsert event");
    json_decref (output);
    json_decref (expected);

    //  Re-importing an exported event ignores its _meta
    output = stx_json_from_event (&event);
    Stemx__Entry *again = NULL;
    assert_int_equal (stx_json_to_entry (output, &again, NULL, 0), STX_OK);
    assert_string_equal (stx_entry_key (again), "org:a");
    stx_entry_free (&again);
    json_decref (output);

    //  A withdrawal: just the id; times not stamped are null
    event.op = STEMX__OPERATION__OP_WITHDRAW;
    event.entry = NULL;
    event.broker_time_ms = 0;
    event.client_time_ms = 1000;
    output = stx_json_from_event (&event);
    expected = s_json ("{\"id\": \"org:a\", \"_meta\": {\"seq\": 42, \"version\": 3,"
                       " \"op\": \"withdraw\", \"origin\": \"org:vlaio\", \"node\": \"vlaio-1\","
                       " \"broker_time\": null, \"client_time\": \"1970-01-01T00:00:01.000Z\"}}");
    s_assert_json_equal (output, expected, "withdraw event");
    json_decref (output);
    json_decref (expected);

    json_decref (input);
    stx_entry_free (&entry);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_kinds),
        cmocka_unit_test (test_sample_round_trip),
        cmocka_unit_test (test_partner_forms),
        cmocka_unit_test (test_minimal_entries),
        cmocka_unit_test (test_id_errors),
        cmocka_unit_test (test_required_fields),
        cmocka_unit_test (test_type_errors),
        cmocka_unit_test (test_numbers),
        cmocka_unit_test (test_long_id_in_error),
        cmocka_unit_test (test_invalid_utf8_output),
        cmocka_unit_test (test_event_json),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
