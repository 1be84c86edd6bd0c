/*  =========================================================================
    test_stx_index_batch - pending index changes come out sorted in LMDB's
    byte order, the last change of each pair only, and the batch empties
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "stx_index_batch.h"

//  What a drain produced, one "index|entry|+/-" line per pair
typedef struct {
    char text [4096];
    size_t calls;
    size_t stop_after;          //  0 = never stop
} s_seen_t;

static int
s_record (const void *index_key, size_t index_size, const void *entry_key,
          size_t entry_size, bool add, void *arg)
{
    s_seen_t *seen = (s_seen_t *) arg;
    size_t len = strlen (seen->text);
    snprintf (seen->text + len, sizeof seen->text - len, "%.*s|%.*s|%c\n",
              (int) index_size, (const char *) index_key, (int) entry_size,
              (const char *) entry_key, add? '+': '-');
    seen->calls++;
    return seen->stop_after && seen->calls == seen->stop_after? 7: 0;
}

static void
s_add (stx_index_batch_t *batch, const char *index_key, const char *entry_key, bool add)
{
    stx_index_batch_add (batch, index_key, strlen (index_key), entry_key,
                         strlen (entry_key), add);
}

static void
test_sorted_last_change_wins (void **state)
{
    (void) state;
    stx_index_batch_t *batch = stx_index_batch_new ();
    assert_int_equal (stx_index_batch_count (batch), 0);
    s_add (batch, "theme=energy", "ini:b", true);
    s_add (batch, "od=OD 1.1.1", "ini:b", true);
    s_add (batch, "theme=digital", "ini:a", true);
    //  An update: the old key goes, then comes back, then goes again
    s_add (batch, "theme=energy", "ini:a", false);
    s_add (batch, "theme=energy", "ini:a", true);
    s_add (batch, "theme=energy", "ini:a", false);
    //  Removed, then added: present
    s_add (batch, "od=OD 1.1.1", "ini:a", false);
    s_add (batch, "od=OD 1.1.1", "ini:a", true);
    //  A prefix sorts first, as in LMDB (shorter on a common prefix)
    s_add (batch, "od=OD 1.1", "ini:c", true);
    s_add (batch, "od=OD 1.1.1", "ini:", true);
    assert_int_equal (stx_index_batch_count (batch), 10);

    s_seen_t seen = { "", 0, 0 };
    assert_int_equal (stx_index_batch_drain (batch, s_record, &seen), 0);
    assert_string_equal (seen.text,
        "od=OD 1.1|ini:c|+\n"
        "od=OD 1.1.1|ini:|+\n"
        "od=OD 1.1.1|ini:a|+\n"
        "od=OD 1.1.1|ini:b|+\n"
        "theme=digital|ini:a|+\n"
        "theme=energy|ini:a|-\n"
        "theme=energy|ini:b|+\n");
    assert_int_equal (stx_index_batch_count (batch), 0);

    //  Empty now: a second drain calls nothing
    seen = (s_seen_t) { "", 0, 0 };
    assert_int_equal (stx_index_batch_drain (batch, s_record, &seen), 0);
    assert_int_equal (seen.calls, 0);
    stx_index_batch_destroy (&batch);
    assert_null (batch);
    stx_index_batch_destroy (&batch);
}

//  Bytes, not C strings: a key may hold any byte, 0xff sorts after ASCII
static void
test_bytes_order (void **state)
{
    (void) state;
    stx_index_batch_t *batch = stx_index_batch_new ();
    stx_index_batch_add (batch, "k\xff", 2, "e", 1, true);
    stx_index_batch_add (batch, "k\0b", 3, "e", 1, true);
    stx_index_batch_add (batch, "k", 1, "e\0", 2, true);
    stx_index_batch_add (batch, "k", 1, "e", 1, false);
    s_seen_t seen = { "", 0, 0 };
    assert_int_equal (stx_index_batch_drain (batch, s_record, &seen), 0);
    assert_int_equal (seen.calls, 4);
    //  "k|e|-" first (shorter entry key), then "k|e\0", "k\0b", "k\xff"
    assert_memory_equal (seen.text, "k|e|-\nk|e", 9);
    assert_non_null (strstr (seen.text, "k\xff|e|+\n"));
    assert_true (strstr (seen.text, "k\xff") > seen.text + 10);
    stx_index_batch_destroy (&batch);
}

//  A callback's stop ends the drain with its value; the batch is empty
//  afterwards (the caller aborts its transaction)
static void
test_stop_and_clear (void **state)
{
    (void) state;
    stx_index_batch_t *batch = stx_index_batch_new ();
    for (int i = 0; i < 5000; i++) {
        char key [32];
        snprintf (key, sizeof key, "word=w%04d", 4999 - i);
        s_add (batch, key, "ini:x", true);
    }
    assert_int_equal (stx_index_batch_count (batch), 5000);
    s_seen_t seen = { "", 0, 3 };
    assert_int_equal (stx_index_batch_drain (batch, s_record, &seen), 7);
    assert_string_equal (seen.text, "word=w0000|ini:x|+\nword=w0001|ini:x|+\n"
                                    "word=w0002|ini:x|+\n");
    assert_int_equal (stx_index_batch_count (batch), 0);

    s_add (batch, "kind=initiative", "ini:x", true);
    stx_index_batch_clear (batch);
    assert_int_equal (stx_index_batch_count (batch), 0);
    seen = (s_seen_t) { "", 0, 0 };
    assert_int_equal (stx_index_batch_drain (batch, s_record, &seen), 0);
    assert_int_equal (seen.calls, 0);
    stx_index_batch_destroy (&batch);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_sorted_last_change_wins),
        cmocka_unit_test (test_bytes_order),
        cmocka_unit_test (test_stop_and_clear),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
