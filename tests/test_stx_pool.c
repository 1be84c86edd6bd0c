/*  =========================================================================
    test_stx_pool - every index runs exactly once, on several threads
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stx_pool.h"

#define COUNT 100000

typedef struct {
    atomic_int *hits;
    pthread_t *by;
} s_run_t;

static void
s_hit (void *arg, size_t index)
{
    s_run_t *run = (s_run_t *) arg;
    atomic_fetch_add (&run->hits [index], 1);
    run->by [index] = pthread_self ();
}

static void
s_wait_for_company (void *arg, size_t index)
{
    (void) index;
    atomic_int *started = (atomic_int *) arg;
    atomic_fetch_add (started, 1);
    for (int tries = 0; tries < 10000 && atomic_load (started) < 2; tries++)
        usleep (1000);
    assert_true (atomic_load (started) >= 2);
}

static void
test_every_index_once (void **state)
{
    (void) state;
    stx_pool_t *pool = stx_pool_new (3);
    assert_non_null (pool);
    assert_int_equal (stx_pool_size (pool), 4);
    atomic_int *hits = calloc (COUNT, sizeof (atomic_int));
    pthread_t *by = calloc (COUNT, sizeof (pthread_t));
    assert_true (hits && by);
    s_run_t run = { hits, by };
    //  Many batches in a row, of every small size too: a worker that
    //  missed a wake-up or ran a batch twice shows as a wrong count
    for (size_t count = 0; count < 50; count++)
        stx_pool_run (pool, s_hit, &run, count);
    stx_pool_run (pool, s_hit, &run, COUNT);
    for (size_t index = 0; index < COUNT; index++) {
        int expected = 1;
        for (size_t count = 0; count < 50; count++)
            expected += index < count;
        assert_int_equal (atomic_load (&hits [index]), expected);
    }
    //  More than the caller takes part: each call of this batch waits
    //  until a second one has started, which only another thread can do
    atomic_int started = 0;
    stx_pool_run (pool, s_wait_for_company, &started, 8);
    assert_int_equal (atomic_load (&started), 8);
    stx_pool_destroy (&pool);
    assert_null (pool);
    free (hits);
    free (by);
}

static void
test_null_pool_runs_on_caller (void **state)
{
    (void) state;
    atomic_int hits [10] = { 0 };
    pthread_t by [10];
    s_run_t run = { hits, by };
    stx_pool_run (NULL, s_hit, &run, 10);
    for (size_t index = 0; index < 10; index++) {
        assert_int_equal (atomic_load (&hits [index]), 1);
        assert_true (pthread_equal (by [index], pthread_self ()));
    }
    assert_int_equal (stx_pool_size (NULL), 1);
    stx_pool_t *none = NULL;
    stx_pool_destroy (&none);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_every_index_once),
        cmocka_unit_test (test_null_pool_runs_on_caller),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
