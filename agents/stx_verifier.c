/*  =========================================================================
    stx_verifier - checks a snapshot's origin signatures in the background

    DESIGN
    ------
    One thread walks the entries in key order inside one read transaction
    (LMDB keeps what it reads stable, however the agent writes meanwhile)
    and hands them to a pool in batches of S_BATCH: the thread itself and
    the pool's workers verify, so it uses every core. The counters are
    atomics the agent reads from its own thread each tick; the failure is
    written once, before done is set, and read only after done.
    ========================================================================= */

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "stx_verifier.h"
#include "stx_event.h"
#include "stx_keys.h"
#include "stx_pool.h"
#include "stx_sign.h"

#define S_BATCH     1024

struct _stx_verifier_t {
    stx_store_t *store;
    stx_registry_t *trust;
    stx_txn_t *txn;             //  the read transaction walked
    stx_pool_t *pool;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool done;
    atomic_uint_fast64_t verified;
    uint64_t total;
    stx_status_t status;        //  written before done
    uint8_t *failed;            //  copy of the entry that failed, written before done
    size_t failed_size;
    //  The batch being verified
    const uint8_t *datas [S_BATCH];
    size_t sizes [S_BATCH];
    stx_status_t verdicts [S_BATCH];
    size_t count;
};

static void
s_verify_one (void *arg, size_t index)
{
    stx_verifier_t *self = (stx_verifier_t *) arg;
    Stemx__Event *event = NULL;
    char err [STX_ERRLEN];
    stx_status_t status = stx_event_unpack (self->datas [index], self->sizes [index], &event);
    if (status == STX_OK)
        status = stx_sign_verify (event, self->trust, err, sizeof (err));
    stx_event_free (&event);
    self->verdicts [index] = status;
}

//  Verify the batch; false (with the failure kept) to stop.
static bool
s_flush (stx_verifier_t *self)
{
    stx_pool_run (self->pool, s_verify_one, self, self->count);
    for (size_t index = 0; index < self->count; index++)
        if (self->verdicts [index] != STX_OK) {
            self->status = self->verdicts [index];
            self->failed = (uint8_t *) malloc (self->sizes [index]? self->sizes [index]: 1);
            assert (self->failed);
            memcpy (self->failed, self->datas [index], self->sizes [index]);
            self->failed_size = self->sizes [index];
            return false;
        }
    atomic_fetch_add (&self->verified, self->count);
    self->count = 0;
    return !atomic_load (&self->stop);
}

static int
s_entry (const char *key, const uint8_t *data, size_t size, void *arg)
{
    (void) key;
    stx_verifier_t *self = (stx_verifier_t *) arg;
    self->datas [self->count] = data;
    self->sizes [self->count++] = size;
    return self->count == S_BATCH && !s_flush (self);
}

static void *
s_run (void *arg)
{
    stx_verifier_t *self = (stx_verifier_t *) arg;
    self->status = stx_txn_entries (self->txn, NULL, s_entry, self);
    if (self->status == STX_OK && !self->failed && self->count)
        s_flush (self);
    stx_txn_abort (&self->txn);
    atomic_store (&self->done, true);
    return NULL;
}

stx_status_t
stx_verifier_new (stx_store_t *store, const char *dir, const char *retired_dir,
                  stx_verifier_t **self_p, char *err, size_t errlen)
{
    assert (store);
    assert (dir);
    assert (self_p);
    *self_p = NULL;
    stx_verifier_t *self = (stx_verifier_t *) calloc (1, sizeof (stx_verifier_t));
    if (!self)
        return stx_fail (err, errlen, STX_ERR_NOMEM, "verifier: out of memory");
    self->store = store;
    stx_status_t status = stx_registry_load (dir, retired_dir, &self->trust, err, errlen);
    stx_meta_t meta;
    if (status == STX_OK) {
        status = stx_store_begin (store, false, &self->txn);
        if (status != STX_OK)
            stx_fail (err, errlen, status, "verifier: %s", stx_strerror (status));
    }
    if (status == STX_OK && stx_txn_meta (self->txn, &meta) == STX_OK)
        self->total = meta.entries;
    if (status == STX_OK) {
        self->pool = stx_pool_new (0);
        if (pthread_create (&self->thread, NULL, s_run, self) != 0)
            status = stx_fail (err, errlen, STX_ERR_NOMEM, "verifier: cannot start a thread");
    }
    if (status != STX_OK) {
        stx_txn_abort (&self->txn);
        stx_pool_destroy (&self->pool);
        stx_registry_destroy (&self->trust);
        free (self);
        return status;
    }
    *self_p = self;
    return STX_OK;
}

void
stx_verifier_destroy (stx_verifier_t **self_p)
{
    assert (self_p);
    stx_verifier_t *self = *self_p;
    if (!self)
        return;
    atomic_store (&self->stop, true);
    pthread_join (self->thread, NULL);
    stx_pool_destroy (&self->pool);
    stx_registry_destroy (&self->trust);
    free (self->failed);
    free (self);
    *self_p = NULL;
}

void
stx_verifier_progress (stx_verifier_t *self, uint64_t *verified, uint64_t *total, bool *done)
{
    assert (self);
    *verified = atomic_load (&self->verified);
    *total = self->total;
    *done = atomic_load (&self->done);
}

uint8_t *
stx_verifier_failure (stx_verifier_t *self, size_t *size_p, stx_status_t *status_p)
{
    assert (self);
    assert (atomic_load (&self->done));
    *status_p = self->status;
    *size_p = self->failed_size;
    if (!self->failed)
        return NULL;
    uint8_t *copy = (uint8_t *) malloc (self->failed_size? self->failed_size: 1);
    assert (copy);
    memcpy (copy, self->failed, self->failed_size);
    return copy;
}
