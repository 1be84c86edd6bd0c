/*  =========================================================================
    test_stx_ratelimit - the token bucket: burst, refill, cap, and a clock
    that steps back

    Time is passed in, so no test sleeps.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "stx_ratelimit.h"

//  How many tokens can be taken at now_ms, one after the other
static int
s_drain (stx_bucket_t *bucket, double rate, double burst, int64_t now_ms)
{
    int taken = 0;
    while (stx_bucket_take (bucket, rate, burst, now_ms))
        assert_true (++taken <= 1000);
    return taken;
}

//  A new bucket starts full: burst tokens at once, then none
static void
test_burst (void **state)
{
    stx_bucket_t bucket = { 0, 0 };
    assert_int_equal (s_drain (&bucket, 10, 5, 1000), 5);
    assert_false (stx_bucket_take (&bucket, 10, 5, 1000));

    //  A burst under one token never lets anything through
    stx_bucket_t tiny = { 0, 0 };
    assert_int_equal (s_drain (&tiny, 0, 0.5, 1000), 0);
}

//  Tokens come back at rate per second, fractions included
static void
test_refill (void **state)
{
    stx_bucket_t bucket = { 0, 0 };
    assert_int_equal (s_drain (&bucket, 10, 5, 1000), 5);
    //  10/s: one token per 100 ms
    assert_false (stx_bucket_take (&bucket, 10, 5, 1050));
    assert_true (stx_bucket_take (&bucket, 10, 5, 1100));
    assert_false (stx_bucket_take (&bucket, 10, 5, 1100));
    assert_int_equal (s_drain (&bucket, 10, 5, 1400), 3);
    //  Half tokens add up: 2 x 50 ms = one token
    assert_false (stx_bucket_take (&bucket, 10, 5, 1450));
    assert_true (stx_bucket_take (&bucket, 10, 5, 1500));

    //  0.5/s: one token every 2 s
    stx_bucket_t slow = { 0, 0 };
    assert_int_equal (s_drain (&slow, 0.5, 1, 5000), 1);
    assert_false (stx_bucket_take (&slow, 0.5, 1, 6999));
    assert_true (stx_bucket_take (&slow, 0.5, 1, 7000));

    //  Rate 0: the burst, then nothing ever again
    stx_bucket_t none = { 0, 0 };
    assert_int_equal (s_drain (&none, 0, 3, 1000), 3);
    assert_int_equal (s_drain (&none, 0, 3, 1000000), 0);
}

//  A long pause refills to burst, never beyond
static void
test_cap (void **state)
{
    stx_bucket_t bucket = { 0, 0 };
    assert_int_equal (s_drain (&bucket, 100, 20, 1000), 20);
    assert_int_equal (s_drain (&bucket, 100, 20, 1000 + 3600 * 1000), 20);
    //  A lowered burst caps what is already there
    assert_int_equal (s_drain (&bucket, 100, 20, 1000 + 7200 * 1000), 20);
    bucket.tokens = 20;
    assert_int_equal (s_drain (&bucket, 100, 4, 1000 + 7200 * 1000), 4);
}

//  A clock stepping back mints nothing, and the interval it steps back
//  over is not counted twice when it moves on again
static void
test_time_backwards (void **state)
{
    stx_bucket_t bucket = { 0, 0 };
    assert_int_equal (s_drain (&bucket, 10, 5, 10000), 5);
    assert_int_equal (s_drain (&bucket, 10, 5, 5000), 0);
    assert_int_equal (s_drain (&bucket, 10, 5, 1), 0);
    //  Back to the last time: still nothing
    assert_int_equal (s_drain (&bucket, 10, 5, 10000), 0);
    //  100 ms after the latest time seen: one token
    assert_int_equal (s_drain (&bucket, 10, 5, 10100), 1);
    //  Oscillating does not mint
    for (int i = 0; i < 10; i++) {
        assert_false (stx_bucket_take (&bucket, 10, 5, 9000));
        assert_false (stx_bucket_take (&bucket, 10, 5, 10100));
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_burst),
        cmocka_unit_test (test_refill),
        cmocka_unit_test (test_cap),
        cmocka_unit_test (test_time_backwards),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
