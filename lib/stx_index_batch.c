/*  =========================================================================
    stx_index_batch - a write transaction's pending index changes, put
    into LMDB in key order

    Owned by one stx_txn_t and used by its thread only. Keys are copied
    into one growing byte arena and the changes refer to it by offset, so
    recording a change costs no allocation once the arena has grown; the
    sort swaps small records and compares the arena's bytes.
    ========================================================================= */

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "stx_index_batch.h"

typedef struct {
    const uint8_t *index_key;   //  into the arena, set when draining
    const uint8_t *entry_key;
    size_t index_off;           //  offsets while recording (the arena moves)
    size_t entry_off;
    uint32_t index_size;
    uint32_t entry_size;
    uint32_t order;             //  recording order, the sort's last tie break
    bool add;
} s_change_t;

struct _stx_index_batch_t {
    uint8_t *arena;
    size_t arena_size;
    size_t arena_max;
    s_change_t *changes;
    size_t count;
    size_t max;
};

stx_index_batch_t *
stx_index_batch_new (void)
{
    stx_index_batch_t *self = (stx_index_batch_t *) calloc (1, sizeof (stx_index_batch_t));
    assert (self);
    return self;
}

void
stx_index_batch_destroy (stx_index_batch_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->arena);
        free ((*self_p)->changes);
        free (*self_p);
        *self_p = NULL;
    }
}

static size_t
s_copy (stx_index_batch_t *self, const void *data, size_t size)
{
    if (self->arena_size + size > self->arena_max) {
        size_t max = self->arena_max? self->arena_max: 64 * 1024;
        while (max < self->arena_size + size)
            max *= 2;
        self->arena = (uint8_t *) realloc (self->arena, max);
        assert (self->arena);
        self->arena_max = max;
    }
    size_t offset = self->arena_size;
    memcpy (self->arena + offset, data, size);
    self->arena_size += size;
    return offset;
}

void
stx_index_batch_add (stx_index_batch_t *self, const void *index_key, size_t index_size,
                     const void *entry_key, size_t entry_size, bool add)
{
    assert (self);
    assert (index_key || index_size == 0);
    assert (entry_key || entry_size == 0);
    assert (index_size <= UINT32_MAX && entry_size <= UINT32_MAX);
    if (self->count == self->max) {
        self->max = self->max? self->max * 2: 1024;
        self->changes = (s_change_t *) realloc (self->changes,
                                                self->max * sizeof (s_change_t));
        assert (self->changes);
    }
    s_change_t *change = &self->changes [self->count];
    change->index_off = s_copy (self, index_key, index_size);
    change->entry_off = s_copy (self, entry_key, entry_size);
    change->index_size = (uint32_t) index_size;
    change->entry_size = (uint32_t) entry_size;
    change->order = (uint32_t) self->count;
    change->add = add;
    self->count++;
}

size_t
stx_index_batch_count (stx_index_batch_t *self)
{
    assert (self);
    return self->count;
}

//  LMDB's default comparison: bytes, then the shorter first
static int
s_compare_bytes (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    int rc = memcmp (a, b, a_size < b_size? a_size: b_size);
    if (rc == 0 && a_size != b_size)
        rc = a_size < b_size? -1: 1;
    return rc;
}

static int
s_compare_pairs (const s_change_t *a, const s_change_t *b)
{
    int rc = s_compare_bytes (a->index_key, a->index_size, b->index_key, b->index_size);
    if (rc == 0)
        rc = s_compare_bytes (a->entry_key, a->entry_size, b->entry_key, b->entry_size);
    return rc;
}

static int
s_compare_changes (const void *a_, const void *b_)
{
    const s_change_t *a = (const s_change_t *) a_, *b = (const s_change_t *) b_;
    int rc = s_compare_pairs (a, b);
    if (rc == 0)
        rc = a->order < b->order? -1: a->order > b->order? 1: 0;
    return rc;
}

int
stx_index_batch_drain (stx_index_batch_t *self, stx_index_batch_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    for (size_t i = 0; i < self->count; i++) {
        self->changes [i].index_key = self->arena + self->changes [i].index_off;
        self->changes [i].entry_key = self->arena + self->changes [i].entry_off;
    }
    if (self->count > 1)
        qsort (self->changes, self->count, sizeof (s_change_t), s_compare_changes);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < self->count; i++) {
        const s_change_t *change = &self->changes [i];
        //  Only the last change of a pair counts; it sorts last
        if (i + 1 < self->count && s_compare_pairs (change, &self->changes [i + 1]) == 0)
            continue;
        rc = fn (change->index_key, change->index_size, change->entry_key,
                 change->entry_size, change->add, arg);
    }
    stx_index_batch_clear (self);
    return rc;
}

void
stx_index_batch_clear (stx_index_batch_t *self)
{
    assert (self);
    self->count = 0;
    self->arena_size = 0;
}
