/*  =========================================================================
    stx_index_batch - a write transaction's pending index changes, put
    into LMDB in key order

    Pure, no LMDB: stx_store adds every index key an apply adds or removes,
    and drains the batch before the transaction reads the index or
    commits. Changes come out sorted in LMDB's byte order (index key, then
    entry key), so consecutive puts land on the same B-tree pages and a
    cursor often finds its place without descending from the root (about
    10 % of a snapshot's load, docs/PERFORMANCE.md).

    Only the last change of each (index key, entry key) pair comes out:
    adding and removing a pair are idempotent, so applying the last one
    leaves the index exactly as applying all of them in order would.
    ========================================================================= */

#ifndef STX_INDEX_BATCH_H_INCLUDED
#define STX_INDEX_BATCH_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

typedef struct _stx_index_batch_t stx_index_batch_t;

//  Called once per pair while draining, in order; the bytes are valid only
//  during the call. Return non-zero to stop the drain.
typedef int (stx_index_batch_fn) (const void *index_key, size_t index_size,
                                  const void *entry_key, size_t entry_size,
                                  bool add, void *arg);

//  A new, empty batch; the caller owns it (stx_index_batch_destroy).
stx_index_batch_t *
    stx_index_batch_new (void);

//  Destroy the batch and what it holds; sets *self_p to NULL.
void
    stx_index_batch_destroy (stx_index_batch_t **self_p);

//  Record that entry_key gains (add) or loses index_key. Both are copied.
void
    stx_index_batch_add (stx_index_batch_t *self, const void *index_key, size_t index_size,
                         const void *entry_key, size_t entry_size, bool add);

//  Changes recorded and not drained yet.
size_t
    stx_index_batch_count (stx_index_batch_t *self);

//  Call fn for the last change of every pair, sorted by index key, then
//  entry key, both compared as bytes (memcmp, shorter first on a common
//  prefix: LMDB's default order). The batch is empty afterwards, also when
//  fn stopped it. Returns what fn returned to stop, else 0.
int
    stx_index_batch_drain (stx_index_batch_t *self, stx_index_batch_fn *fn, void *arg);

//  Forget every change recorded (the transaction was dropped).
void
    stx_index_batch_clear (stx_index_batch_t *self);

#endif
