/*  =========================================================================
    test_stx_flight - which events wait for an answer on another link:
    the same key, or a party whose organisation's event is in flight;
    independent events of other links never wait
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "stx_flight.h"
#include "stx_event.h"
#include "stx_json.h"

//  A packed event of the entry in JSON text; *id_p gets its event id.
static uint8_t *
s_packed (const char *text, size_t *size_p, uint8_t id [STX_EVENT_ID_SIZE])
{
    json_t *json = json_loads (text, 0, NULL);
    assert_non_null (json);
    Stemx__Entry *entry = NULL;
    char err [256];
    assert_int_equal (stx_json_to_entry (json, &entry, err, sizeof err), STX_OK);
    const char *key = json_string_value (json_object_get (json, "id"));
    Stemx__Event *event = stx_event_new (key, &entry);
    json_decref (json);
    memcpy (id, event->event_id.data, STX_EVENT_ID_SIZE);
    uint8_t *data = stx_event_pack (event, size_p);
    stx_event_free (&event);
    return data;
}

#define S_ORG(id) \
    "{\"id\": \"" id "\", \"name\": \"N\", \"helix_pillar\": \"industry\", " \
    "\"kind\": \"agency\", \"region\": \"flanders\"}"
#define S_INI(id, owner, partners) \
    "{\"id\": \"" id "\", \"title\": \"T\", \"owner\": \"" owner "\", " \
    "\"od_codes\": [\"OD 1.1.1\"], \"period\": {\"start\": \"2026-01-01\"}, " \
    "\"status\": \"running\", \"partners\": [" partners "]}"

static void
test_dependencies (void **state)
{
    (void) state;
    stx_flight_t *flight = stx_flight_new ();
    uint8_t org_id [STX_EVENT_ID_SIZE], ini_id [STX_EVENT_ID_SIZE], id [STX_EVENT_ID_SIZE];
    size_t org_size, ini_size, size;
    uint8_t *org = s_packed (S_ORG ("org:newlab"), &org_size, org_id);
    uint8_t *ini = s_packed (S_INI ("ini:a", "org:vdab", ""), &ini_size, ini_id);

    //  Nothing in flight: nothing waits
    assert_false (stx_flight_blocks (flight, org, org_size, 0));
    stx_flight_add (flight, org, org_size, 0);
    stx_flight_add (flight, org, org_size, 0);      //  the same id again: once
    assert_int_equal (stx_flight_size (flight), 1);
    stx_flight_add (flight, ini, ini_size, 1);
    assert_int_equal (stx_flight_size (flight), 2);

    //  Independent events of any link go
    uint8_t *other = s_packed (S_INI ("ini:b", "org:agoria", "\"org:vdab\""), &size, id);
    assert_false (stx_flight_blocks (flight, other, size, 2));
    free (other);
    //  The same key on another link waits; on its own link it does not
    other = s_packed (S_INI ("ini:a", "org:vdab", ""), &size, id);
    assert_true (stx_flight_blocks (flight, other, size, 0));
    assert_false (stx_flight_blocks (flight, other, size, 1));
    free (other);
    //  A partner, owner or organiser whose organisation is in flight
    //  elsewhere waits
    other = s_packed (S_INI ("ini:c", "org:agoria", "\"org:vdab\", \"org:newlab\""), &size, id);
    assert_true (stx_flight_blocks (flight, other, size, 1));
    assert_false (stx_flight_blocks (flight, other, size, 0));
    free (other);
    other = s_packed ("{\"id\": \"moment:m\", \"title\": \"M\", \"organiser\": \"org:newlab\", "
                      "\"kind\": \"network_moment\", \"date\": \"2026-05-01\"}", &size, id);
    assert_true (stx_flight_blocks (flight, other, size, 1));

    //  The broker's answer lets it go
    stx_flight_done (flight, org_id);
    assert_false (stx_flight_blocks (flight, other, size, 1));
    free (other);
    assert_int_equal (stx_flight_size (flight), 1);
    stx_flight_done (flight, org_id);               //  unknown by now: ignored
    stx_flight_clear (flight);
    assert_int_equal (stx_flight_size (flight), 0);
    other = s_packed (S_INI ("ini:a", "org:vdab", ""), &size, id);
    assert_false (stx_flight_blocks (flight, other, size, 0));
    free (other);

    //  An undecodable event depends on nothing
    const uint8_t junk [] = { 0xff, 0xff, 0xff };
    stx_flight_add (flight, ini, ini_size, 1);
    assert_false (stx_flight_blocks (flight, junk, sizeof junk, 0));
    free (org);
    free (ini);
    stx_flight_destroy (&flight);
    stx_flight_destroy (&flight);
    assert_null (flight);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_dependencies),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
