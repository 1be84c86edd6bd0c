/*  =========================================================================
    test_stx_keyset - a set of keys in 16 bytes each
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <cmocka.h>
#include "stx_keyset.h"

static void
test_keyset (void **state)
{
    (void) state;
    stx_keyset_t *set = stx_keyset_new ();
    uint64_t first = 0;
    assert_false (stx_keyset_add (set, "ini:a", 7, &first));
    assert_true (stx_keyset_add (set, "ini:a", 9, &first));
    assert_int_equal (first, 7);
    assert_false (stx_keyset_add (set, "", 1, &first));
    assert_true (stx_keyset_add (set, "", 2, &first));
    assert_int_equal (first, 1);
    //  Through several doublings, every key once and its first value kept
    char key [32];
    for (uint64_t i = 0; i < 100000; i++) {
        snprintf (key, sizeof key, "ini:k-%06llu", (unsigned long long) i);
        assert_false (stx_keyset_add (set, key, i, &first));
    }
    for (uint64_t i = 0; i < 100000; i += 7) {
        snprintf (key, sizeof key, "ini:k-%06llu", (unsigned long long) i);
        assert_true (stx_keyset_add (set, key, 0, &first));
        assert_int_equal (first, i);
    }
    assert_int_equal (stx_keyset_size (set), 100002);
    stx_keyset_destroy (&set);
    assert_null (set);
    stx_keyset_destroy (&set);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_keyset),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
