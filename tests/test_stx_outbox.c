/*  =========================================================================
    test_stx_outbox - the agent's durable queue: add, pending order, ack,
    reject, depth, reopen, and a damaged file refused with a message
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "stx_outbox.h"

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static int
s_setup (void **state)
{
    char *dir = strdup ("/tmp/stx-outbox-XXXXXX");
    if (!mkdtemp (dir))
        return -1;
    *state = dir;
    return 0;
}

static int
s_teardown (void **state)
{
    char *dir = (char *) *state;
    nftw (dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
    return 0;
}

static stx_outbox_t *
s_open (const char *dir, bool readonly)
{
    stx_outbox_t *outbox = NULL;
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_outbox_open (dir, readonly, &outbox, err, sizeof (err));
    if (status != STX_OK)
        fprintf (stderr, "open: %s\n", err);
    assert_int_equal (status, STX_OK);
    return outbox;
}

//  A packed withdrawal of key with a fresh id; the id goes to id_out.
typedef struct {
    uint8_t *data;
    size_t size;
    uint8_t id [STX_EVENT_ID_SIZE];
} s_packed_t;

static s_packed_t
s_event (const char *key)
{
    Stemx__Entry *none = NULL;
    Stemx__Event *event = stx_event_new (key, &none);
    s_packed_t packed;
    memcpy (packed.id, event->event_id.data, STX_EVENT_ID_SIZE);
    packed.data = stx_event_pack (event, &packed.size);
    stx_event_free (&event);
    return packed;
}

//  Pending keys joined by ","
static int
s_join (const uint8_t *data, size_t size, void *arg)
{
    Stemx__Event *event;
    assert_int_equal (stx_event_unpack (data, size, &event), STX_OK);
    char *out = (char *) arg;
    if (*out)
        strcat (out, ",");
    strcat (out, event->key);
    stx_event_free (&event);
    return 0;
}

static const char *
s_pending (stx_outbox_t *outbox, size_t max, char *out)
{
    *out = 0;
    assert_int_equal (stx_outbox_pending (outbox, max, s_join, out), STX_OK);
    return out;
}

static void
s_depth (stx_outbox_t *outbox, uint64_t pending, uint64_t rejected)
{
    uint64_t p = 99, r = 99;
    assert_int_equal (stx_outbox_depth (outbox, &p, &r), STX_OK);
    assert_int_equal (p, pending);
    assert_int_equal (r, rejected);
}

typedef struct {
    char text [256];
    int reason;
    s_packed_t *expect;
    int calls;
} s_rejected_t;

static int
s_on_rejected (const uint8_t *data, size_t size, int reason, const char *text, void *arg)
{
    s_rejected_t *self = (s_rejected_t *) arg;
    assert_int_equal (size, self->expect->size);
    assert_memory_equal (data, self->expect->data, size);
    self->reason = reason;
    snprintf (self->text, sizeof (self->text), "%s", text);
    self->calls++;
    return 0;
}

static void
test_outbox (void **state)
{
    const char *dir = (char *) *state;
    stx_outbox_t *outbox = NULL;
    char err [STX_ERRLEN];
    assert_int_equal (stx_outbox_open (dir, true, &outbox, err, sizeof (err)), STX_ERR_NOT_FOUND);
    assert_null (outbox);

    outbox = s_open (dir, false);
    s_depth (outbox, 0, 0);
    s_packed_t e1 = s_event ("ini:one"), e2 = s_event ("ini:two"), e3 = s_event ("ini:three");
    const uint8_t *datas [] = { e1.data, e2.data, e3.data };
    size_t sizes [] = { e1.size, e2.size, e3.size };
    assert_int_equal (stx_outbox_add (outbox, datas, sizes, 3), STX_OK);
    s_depth (outbox, 3, 0);
    char keys [256];
    assert_string_equal (s_pending (outbox, 0, keys), "ini:one,ini:two,ini:three");
    assert_string_equal (s_pending (outbox, 2, keys), "ini:one,ini:two");

    //  Adding the same event again (a retry of the CLI) keeps one copy
    assert_int_equal (stx_outbox_add (outbox, datas + 1, sizes + 1, 1), STX_OK);
    s_depth (outbox, 3, 0);
    //  Undecodable bytes are refused and nothing is added
    const uint8_t junk [] = { 0x1a, 0x7f };
    const uint8_t *mixed [] = { e1.data, junk };
    size_t mixed_sizes [] = { e1.size, sizeof (junk) };
    assert_int_equal (stx_outbox_add (outbox, mixed, mixed_sizes, 2), STX_ERR_MALFORMED);
    s_depth (outbox, 3, 0);

    //  ACK of the middle one, twice, plus an unknown id
    uint8_t ids [2][STX_EVENT_ID_SIZE];
    memcpy (ids [0], e2.id, STX_EVENT_ID_SIZE);
    memset (ids [1], 0xab, STX_EVENT_ID_SIZE);
    assert_int_equal (stx_outbox_ack (outbox, (const uint8_t (*) [STX_EVENT_ID_SIZE]) ids, 2),
                      STX_OK);
    assert_int_equal (stx_outbox_ack (outbox, (const uint8_t (*) [STX_EVENT_ID_SIZE]) ids, 1),
                      STX_OK);
    s_depth (outbox, 2, 0);
    assert_string_equal (s_pending (outbox, 0, keys), "ini:one,ini:three");

    //  NACK of the first: moved to rejected with reason and text
    assert_int_equal (stx_outbox_reject (outbox, e1.id, STEMX__REASON__R_UNKNOWN_CODE,
                                         "ini:one: od_codes[0]: unknown OD code 'OD 9.9.9'"),
                      STX_OK);
    assert_int_equal (stx_outbox_reject (outbox, e1.id, STEMX__REASON__R_INVALID, "again"),
                      STX_OK);                  //  no longer pending: ignored
    s_depth (outbox, 1, 1);
    assert_string_equal (s_pending (outbox, 0, keys), "ini:three");
    s_rejected_t rejected = { "", 0, &e1, 0 };
    assert_int_equal (stx_outbox_rejected (outbox, s_on_rejected, &rejected), STX_OK);
    assert_int_equal (rejected.calls, 1);
    assert_int_equal (rejected.reason, STEMX__REASON__R_UNKNOWN_CODE);
    assert_string_equal (rejected.text, "ini:one: od_codes[0]: unknown OD code 'OD 9.9.9'");
    stx_outbox_destroy (&outbox);
    assert_null (outbox);
    stx_outbox_destroy (&outbox);

    //  Survives reopening; new events queue after the old ones
    outbox = s_open (dir, false);
    s_depth (outbox, 1, 1);
    assert_string_equal (s_pending (outbox, 0, keys), "ini:three");
    s_packed_t e4 = s_event ("ini:four");
    const uint8_t *more [] = { e4.data };
    size_t more_sizes [] = { e4.size };
    assert_int_equal (stx_outbox_add (outbox, more, more_sizes, 1), STX_OK);
    assert_string_equal (s_pending (outbox, 0, keys), "ini:three,ini:four");
    //  An acked id can be queued again later (a new publish reusing it)
    assert_int_equal (stx_outbox_add (outbox, datas + 1, sizes + 1, 1), STX_OK);
    assert_string_equal (s_pending (outbox, 0, keys), "ini:three,ini:four,ini:two");
    stx_outbox_destroy (&outbox);

    //  Read-only view (the CLI)
    outbox = s_open (dir, true);
    s_depth (outbox, 3, 1);
    rejected.calls = 0;
    assert_int_equal (stx_outbox_rejected (outbox, s_on_rejected, &rejected), STX_OK);
    assert_int_equal (rejected.calls, 1);
    stx_outbox_destroy (&outbox);

    free (e1.data);
    free (e2.data);
    free (e3.data);
    free (e4.data);
}

static void
test_reject_empty_text (void **state)
{
    stx_outbox_t *outbox = s_open ((char *) *state, false);
    s_packed_t e1 = s_event ("org:x"), e2 = s_event ("org:y");
    const uint8_t *datas [] = { e1.data, e2.data };
    size_t sizes [] = { e1.size, e2.size };
    assert_int_equal (stx_outbox_add (outbox, datas, sizes, 2), STX_OK);
    assert_int_equal (stx_outbox_reject (outbox, e2.id, STEMX__REASON__R_CONFLICT, NULL), STX_OK);
    s_rejected_t rejected = { "x", 0, &e2, 0 };
    assert_int_equal (stx_outbox_rejected (outbox, s_on_rejected, &rejected), STX_OK);
    assert_int_equal (rejected.calls, 1);
    assert_int_equal (rejected.reason, STEMX__REASON__R_CONFLICT);
    assert_string_equal (rejected.text, "");
    s_depth (outbox, 1, 1);
    stx_outbox_destroy (&outbox);
    free (e1.data);
    free (e2.data);
}

//  An event whose id is not STX_EVENT_ID_SIZE bytes could never be found
//  by an ACK or NACK (which carry 16-byte ids), so it would be resent
//  forever: it is refused, with the rest of its batch.
static void
test_id_size (void **state)
{
    stx_outbox_t *outbox = s_open ((char *) *state, false);
    s_packed_t good = s_event ("org:good");
    size_t sizes [] = { 0, good.size };
    const uint8_t *datas [] = { NULL, good.data };
    size_t lens [] = { 0, 1, 15, 17, 32 };
    for (size_t i = 0; i < sizeof (lens) / sizeof (lens [0]); i++) {
        Stemx__Entry *none = NULL;
        Stemx__Event *event = stx_event_new ("org:odd", &none);
        event->event_id.len = lens [i];        //  the buffer holds 16 bytes
        if (lens [i] > STX_EVENT_ID_SIZE) {
            event->event_id.data = (uint8_t *) realloc (event->event_id.data, lens [i]);
            memset (event->event_id.data, 0x5a, lens [i]);
        }
        uint8_t *data = stx_event_pack (event, &sizes [0]);
        datas [0] = data;
        assert_int_equal (stx_outbox_add (outbox, datas, sizes, 2), STX_ERR_MALFORMED);
        s_depth (outbox, 0, 0);
        free (data);
        stx_event_free (&event);
    }
    assert_int_equal (stx_outbox_add (outbox, datas + 1, sizes + 1, 1), STX_OK);
    s_depth (outbox, 1, 0);
    stx_outbox_destroy (&outbox);
    free (good.data);
}

//  A data file cut short is refused before LMDB maps it (no SIGBUS), and
//  an outbox that could not be created leaves no file behind
static void
test_damaged_outbox (void **state)
{
    const char *dir = (const char *) *state;
    stx_outbox_t *outbox = s_open (dir, false);
    for (int i = 0; i < 300; i++) {
        char key [32];
        snprintf (key, sizeof key, "ini:cut-%d", i);
        s_packed_t packed = s_event (key);
        const uint8_t *datas [] = { packed.data };
        size_t sizes [] = { packed.size };
        assert_int_equal (stx_outbox_add (outbox, datas, sizes, 1), STX_OK);
        free (packed.data);
    }
    stx_outbox_destroy (&outbox);
    char path [600];
    snprintf (path, sizeof path, "%s/outbox/data.mdb", dir);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (truncate (path, st.st_size / 2), 0);
    char err [STX_ERRLEN];
    for (int readonly = 0; readonly < 2; readonly++) {
        assert_int_equal (stx_outbox_open (dir, readonly, &outbox, err, sizeof err),
                          STX_ERR_STORAGE);
        assert_null (outbox);
        assert_non_null (strstr (err, "outbox truncated: "));
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_outbox, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_reject_empty_text, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_id_size, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_damaged_outbox, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
