/*  =========================================================================
    test_stx_versions - the versions an agent's own events make: the
    latest event of a key counts, and forgetting another event of the key
    (or of another key) leaves it
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "stx_versions.h"

static void
test_versions (void **state)
{
    (void) state;
    stx_versions_t *versions = stx_versions_new ();
    uint8_t one [16] = { 1 }, two [16] = { 2 }, three [16] = { 3 }, other [16] = { 9 };
    assert_int_equal (stx_versions_get (versions, "ini:a"), 0);
    stx_versions_put (versions, "ini:a", 1, one);
    stx_versions_put (versions, "ini:a", 2, two);
    stx_versions_put (versions, "ini:b", 5, three);
    assert_int_equal (stx_versions_get (versions, "ini:a"), 2);
    assert_int_equal (stx_versions_size (versions), 2);
    //  An earlier event of the key, or an unknown one: nothing changes
    stx_versions_forget (versions, one);
    stx_versions_forget (versions, other);
    assert_int_equal (stx_versions_get (versions, "ini:a"), 2);
    //  The latest: the key is forgotten, the others stay
    stx_versions_forget (versions, two);
    assert_int_equal (stx_versions_get (versions, "ini:a"), 0);
    assert_int_equal (stx_versions_get (versions, "ini:b"), 5);
    stx_versions_forget (versions, two);
    stx_versions_purge (versions);
    assert_int_equal (stx_versions_size (versions), 0);
    stx_versions_put (versions, "ini:b", 6, three);
    stx_versions_destroy (&versions);
    stx_versions_destroy (&versions);
    assert_null (versions);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_versions),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
