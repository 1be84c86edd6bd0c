/*  =========================================================================
    stx_pool - a fixed set of worker threads that run one loop in parallel

    DESIGN
    ------
    One batch at a time: the caller publishes (fn, arg, count) under the
    mutex and bumps a generation; workers wake, and every thread, the
    caller included, takes indexes from one atomic counter until it runs
    past count. Small batches therefore cost no wake-up latency beyond the
    caller's own work, and a slow index never holds up the rest. The
    caller returns once every index is done and every worker that took
    part has left the batch (active reaches 0), so nothing touches arg
    afterwards. A worker that has not woken up yet is not waited for: on a
    busy machine it may not run for a long while, and the caller has done
    its share by then; when it wakes it reads the batch then current.
    ========================================================================= */

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "stx_pool.h"

#define S_THREADS_MAX   64
#define S_PARALLEL_MIN  8       //  smaller batches run on the caller: waking the
                                //  workers costs more than they would save

struct _stx_pool_t {
    pthread_mutex_t mutex;
    pthread_cond_t wake;        //  workers: a new batch or stop
    pthread_cond_t idle;        //  caller: busy dropped to 0
    pthread_t threads [S_THREADS_MAX];
    int nthreads;
    uint64_t generation;        //  batches started
    int active;                 //  workers inside the current batch
    atomic_size_t done;         //  indexes of the current batch done
    bool stop;
    stx_pool_fn *fn;
    void *arg;
    size_t count;
    atomic_size_t next;         //  next index to take
};

static void
s_work (stx_pool_t *self, stx_pool_fn *fn, void *arg, size_t count)
{
    while (true) {
        size_t index = atomic_fetch_add (&self->next, 1);
        if (index >= count)
            break;
        fn (arg, index);
        atomic_fetch_add (&self->done, 1);
    }
}

static void *
s_worker (void *args)
{
    stx_pool_t *self = (stx_pool_t *) args;
    uint64_t seen = 0;
    pthread_mutex_lock (&self->mutex);
    while (true) {
        while (!self->stop && self->generation == seen)
            pthread_cond_wait (&self->wake, &self->mutex);
        if (self->stop)
            break;
        seen = self->generation;
        stx_pool_fn *fn = self->fn;
        void *arg = self->arg;
        size_t count = self->count;
        self->active++;
        pthread_mutex_unlock (&self->mutex);
        s_work (self, fn, arg, count);
        pthread_mutex_lock (&self->mutex);
        self->active--;
        pthread_cond_signal (&self->idle);
    }
    pthread_mutex_unlock (&self->mutex);
    return NULL;
}

stx_pool_t *
stx_pool_new (int threads)
{
    if (threads <= 0) {
        long cores = sysconf (_SC_NPROCESSORS_ONLN);
        threads = cores > 1? (int) cores - 1: 0;
    }
    if (threads > S_THREADS_MAX)
        threads = S_THREADS_MAX;
    stx_pool_t *self = (stx_pool_t *) calloc (1, sizeof (stx_pool_t));
    if (!self)
        return NULL;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->wake, NULL);
    pthread_cond_init (&self->idle, NULL);
    atomic_init (&self->next, 0);
    atomic_init (&self->done, 0);
    for (int index = 0; index < threads; index++) {
        if (pthread_create (&self->threads [self->nthreads], NULL, s_worker, self) != 0)
            break;
        self->nthreads++;
    }
    return self;
}

void
stx_pool_destroy (stx_pool_t **self_p)
{
    assert (self_p);
    stx_pool_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock (&self->mutex);
    self->stop = true;
    pthread_cond_broadcast (&self->wake);
    pthread_mutex_unlock (&self->mutex);
    for (int index = 0; index < self->nthreads; index++)
        pthread_join (self->threads [index], NULL);
    pthread_cond_destroy (&self->wake);
    pthread_cond_destroy (&self->idle);
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

void
stx_pool_run (stx_pool_t *self, stx_pool_fn *fn, void *arg, size_t count)
{
    assert (fn);
    if (!self || self->nthreads == 0 || count < S_PARALLEL_MIN) {
        for (size_t index = 0; index < count; index++)
            fn (arg, index);
        return;
    }
    pthread_mutex_lock (&self->mutex);
    self->fn = fn;
    self->arg = arg;
    self->count = count;
    atomic_store (&self->next, 0);
    atomic_store (&self->done, 0);
    self->generation++;
    pthread_cond_broadcast (&self->wake);
    pthread_mutex_unlock (&self->mutex);

    s_work (self, fn, arg, count);

    pthread_mutex_lock (&self->mutex);
    while (atomic_load (&self->done) < count || self->active > 0)
        pthread_cond_wait (&self->idle, &self->mutex);
    pthread_mutex_unlock (&self->mutex);
}

int
stx_pool_size (stx_pool_t *self)
{
    return self? self->nthreads + 1: 1;
}
