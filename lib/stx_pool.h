/*  =========================================================================
    stx_pool - a fixed set of worker threads that run one loop in parallel

    Signature verification is the one cost of a signed event that is worth
    spreading over cores (docs/PERFORMANCE.md). The broker and the agent
    each keep one pool and hand it a batch: stx_pool_run calls fn for every
    index of the batch, on the workers and on the calling thread, and
    returns when all are done. The caller's data stays the caller's: fn
    gets the index and must only write what belongs to that index.
    ========================================================================= */

#ifndef STX_POOL_H_INCLUDED
#define STX_POOL_H_INCLUDED

#include <stddef.h>

typedef struct _stx_pool_t stx_pool_t;

//  Called once per index of a batch, from any thread of the pool.
typedef void (stx_pool_fn) (void *arg, size_t index);

//  Create a pool of threads workers besides the caller (0: one per online
//  core, less the caller). Caller owns the result. Returns NULL only if
//  no thread could be started at all (then callers run without a pool).
stx_pool_t *
    stx_pool_new (int threads);

//  Stop and join the workers; accepts NULL, sets *self_p to NULL.
void
    stx_pool_destroy (stx_pool_t **self_p);

//  Call fn (arg, index) for index 0..count-1, spread over the workers and
//  the calling thread; returns when every call has returned. self may be
//  NULL (all calls on the caller); a batch of fewer than 8 runs on the
//  caller too (waking workers would cost more). Not reentrant: one batch
//  at a time.
void
    stx_pool_run (stx_pool_t *self, stx_pool_fn *fn, void *arg, size_t count);

//  Threads that take part in a batch (workers plus the caller), 1 for NULL.
int
    stx_pool_size (stx_pool_t *self);

#endif
