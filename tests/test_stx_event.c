/*  =========================================================================
    test_stx_event - packing, unpacking, new events and the hash chain

    The hash-chain answers were computed independently (Python hashlib):
      sha256 (32 zero bytes || "abc")  = 365aa7d8...
      sha256 (that || "stemx")         = fbf58eea...
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "stx_event.h"

//  --------------------------------------------------------------------------
//  An initiative entry on the heap, freed with its event

static Stemx__Entry *
s_heap_initiative (const char *id, const char *title)
{
    Stemx__Initiative ini;
    stemx__initiative__init (&ini);
    ini.id = (char *) id;
    ini.title = (char *) title;
    char *od [] = { (char *) "OD 1.1.1" };
    ini.n_od_codes = 1;
    ini.od_codes = od;
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INITIATIVE;
    entry.initiative = &ini;

    uint8_t buffer [1024];
    size_t size = stemx__entry__pack (&entry, buffer);
    Stemx__Entry *copy = stemx__entry__unpack (NULL, size, buffer);
    assert_non_null (copy);
    return copy;
}

static void
test_new_and_round_trip (void **state)
{
    (void) state;
    Stemx__Entry *entry = s_heap_initiative ("ini:x", "STEM-academie Gent");
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;

    Stemx__Event *event = stx_event_new ("ini:x", &entry);
    assert_null (entry);                //  ownership taken
    assert_non_null (event);
    assert_string_equal (event->key, "ini:x");
    assert_int_equal (event->op, STEMX__OPERATION__OP_UPSERT);
    assert_int_equal (event->event_id.len, STX_EVENT_ID_SIZE);
    assert_true (event->client_time_ms >= now_ms - 1000);
    assert_true (event->client_time_ms <= now_ms + 1000);
    assert_int_equal (event->seq, 0);
    event->expected_version = 7;

    size_t size;
    uint8_t *data = stx_event_pack (event, &size);
    assert_non_null (data);
    assert_true (size > 0);
    Stemx__Event *copy;
    assert_int_equal (stx_event_unpack (data, size, &copy), STX_OK);
    assert_string_equal (copy->key, "ini:x");
    assert_int_equal (copy->op, STEMX__OPERATION__OP_UPSERT);
    assert_int_equal (copy->expected_version, 7);
    assert_memory_equal (copy->event_id.data, event->event_id.data, STX_EVENT_ID_SIZE);
    assert_non_null (copy->entry);
    assert_int_equal (copy->entry->kind_case, STEMX__ENTRY__KIND_INITIATIVE);
    assert_string_equal (copy->entry->initiative->title, "STEM-academie Gent");
    assert_string_equal (copy->entry->initiative->od_codes [0], "OD 1.1.1");
    assert_string_equal (copy->origin, "");

    //  Packing the copy gives the same bytes
    size_t size2;
    uint8_t *data2 = stx_event_pack (copy, &size2);
    assert_int_equal (size, size2);
    assert_memory_equal (data, data2, size);

    free (data);
    free (data2);
    stx_event_free (&copy);
    assert_null (copy);
    stx_event_free (&event);
    stx_event_free (&event);            //  NULL is fine
}

static void
test_withdraw_and_ids (void **state)
{
    (void) state;
    Stemx__Entry *none = NULL;
    Stemx__Event *a = stx_event_new ("ini:x", &none);
    Stemx__Event *b = stx_event_new ("ini:x", &none);
    assert_int_equal (a->op, STEMX__OPERATION__OP_WITHDRAW);
    assert_null (a->entry);
    //  Fresh random ids
    assert_memory_not_equal (a->event_id.data, b->event_id.data, STX_EVENT_ID_SIZE);
    stx_event_free (&a);
    stx_event_free (&b);
}

//  A field read from the packed bytes is the one unpacking gives
static void
test_peek (void **state)
{
    (void) state;
    Stemx__Entry *entry = s_heap_initiative ("ini:x", "STEM-academie Gent");
    Stemx__Event *event = stx_event_new ("ini:x", &entry);
    uint8_t signer [32];
    for (size_t i = 0; i < sizeof (signer); i++)
        signer [i] = (uint8_t) (i * 7);
    event->signer.data = (uint8_t *) malloc (sizeof (signer));
    memcpy (event->signer.data, signer, sizeof (signer));
    event->signer.len = sizeof (signer);
    event->seq = 300;                   //  a varint of two bytes before it
    size_t size;
    uint8_t *data = stx_event_pack (event, &size);
    const uint8_t *value;
    size_t len;
    assert_int_equal (stx_event_peek (data, size, 13, &value, &len), STX_OK);
    assert_int_equal (len, sizeof (signer));
    assert_memory_equal (value, signer, sizeof (signer));
    assert_int_equal (stx_event_peek (data, size, 1, &value, &len), STX_OK);
    assert_int_equal (len, STX_EVENT_ID_SIZE);
    assert_memory_equal (value, event->event_id.data, STX_EVENT_ID_SIZE);
    assert_int_equal (stx_event_peek (data, size, 3, &value, &len), STX_OK);
    assert_int_equal (len, 5);
    assert_memory_equal (value, "ini:x", 5);
    //  Not set: not found; cut short: malformed, never a read past the end
    assert_int_equal (stx_event_peek (data, size, 12, &value, &len), STX_ERR_NOT_FOUND);
    assert_int_equal (stx_event_peek (data, size - 3, 13, &value, &len), STX_ERR_MALFORMED);
    uint8_t junk [] = { 0x0F, 0x01 };   //  wire type 7 does not exist
    assert_int_equal (stx_event_peek (junk, sizeof (junk), 13, &value, &len),
                      STX_ERR_MALFORMED);
    free (data);
    stx_event_free (&event);
}

static void
test_unpack_malformed (void **state)
{
    (void) state;
    //  Field 3 (key) as a length-delimited string claiming 100 bytes
    const uint8_t truncated [] = { 0x1a, 100, 'a', 'b' };
    Stemx__Event *event = (Stemx__Event *) 1;
    assert_int_equal (stx_event_unpack (truncated, sizeof (truncated), &event),
                      STX_ERR_MALFORMED);
    assert_null (event);
    const uint8_t garbage [] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    assert_int_equal (stx_event_unpack (garbage, sizeof (garbage), &event),
                      STX_ERR_MALFORMED);
    assert_null (event);
}

static void
test_chain_known_answer (void **state)
{
    (void) state;
    uint8_t head [STX_HEAD_SIZE] = { 0 };
    char hex [2 * STX_HEAD_SIZE + 1];
    uint8_t next [STX_HEAD_SIZE];

    stx_chain_next (head, NULL, 0, next);
    assert_string_equal (stx_hex (next, STX_HEAD_SIZE, hex),
        "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");

    stx_chain_next (head, (const uint8_t *) "abc", 3, next);
    assert_string_equal (stx_hex (next, STX_HEAD_SIZE, hex),
        "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370");

    //  out may alias head
    memcpy (head, next, STX_HEAD_SIZE);
    stx_chain_next (head, (const uint8_t *) "stemx", 5, head);
    assert_string_equal (stx_hex (head, STX_HEAD_SIZE, hex),
        "fbf58eeae18d50bf7fd65cef41df5a1661057b857b8ef2e10fc434d4f45e1a28");
}

static void
test_hex (void **state)
{
    (void) state;
    const uint8_t data [] = { 0x00, 0x0f, 0xa5, 0xff };
    char out [9];
    assert_ptr_equal (stx_hex (data, 4, out), out);
    assert_string_equal (out, "000fa5ff");
    assert_string_equal (stx_hex (data, 0, out), "");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_new_and_round_trip),
        cmocka_unit_test (test_withdraw_and_ids),
        cmocka_unit_test (test_peek),
        cmocka_unit_test (test_unpack_malformed),
        cmocka_unit_test (test_chain_known_answer),
        cmocka_unit_test (test_hex),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
