/*  =========================================================================
    stx_keyset - a set of keys in 16 bytes each, for "each key once"

    DESIGN
    ------
    slots holds pairs (hash, value); hash 0 marks a free slot, so a key
    whose hash is 0 is stored as 1. Linear probing from hash & (size - 1);
    the table doubles when it is three quarters full, so a probe is short
    and memory stays between 21 and 43 bytes a key.
    ========================================================================= */

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "stx_keyset.h"

struct _stx_keyset_t {
    uint64_t *slots;            //  size pairs (hash, value)
    size_t used, size;          //  size is 0 or a power of two
    unsigned char key [crypto_shorthash_KEYBYTES];
};

stx_keyset_t *
stx_keyset_new (void)
{
    int rc = sodium_init ();
    assert (rc >= 0);
    stx_keyset_t *self = (stx_keyset_t *) calloc (1, sizeof (stx_keyset_t));
    assert (self);
    crypto_shorthash_keygen (self->key);
    return self;
}

void
stx_keyset_destroy (stx_keyset_t **self_p)
{
    assert (self_p);
    stx_keyset_t *self = *self_p;
    if (!self)
        return;
    free (self->slots);
    free (self);
    *self_p = NULL;
}

//  The slot of hash in slots: where it is, or the free slot it would take
static uint64_t *
s_slot (uint64_t *slots, size_t size, uint64_t hash)
{
    size_t i = (size_t) hash & (size - 1);
    while (slots [2 * i] && slots [2 * i] != hash)
        i = (i + 1) & (size - 1);
    return &slots [2 * i];
}

static void
s_grow (stx_keyset_t *self)
{
    size_t size = self->size? self->size * 2: 1024;
    uint64_t *slots = (uint64_t *) calloc (size * 2, sizeof (uint64_t));
    assert (slots);
    for (size_t i = 0; i < self->size; i++)
        if (self->slots [2 * i])
            memcpy (s_slot (slots, size, self->slots [2 * i]), &self->slots [2 * i],
                    2 * sizeof (uint64_t));
    free (self->slots);
    self->slots = slots;
    self->size = size;
}

bool
stx_keyset_add (stx_keyset_t *self, const char *key, uint64_t value, uint64_t *first_p)
{
    assert (self && key && first_p);
    if (self->used * 4 >= self->size * 3)
        s_grow (self);
    unsigned char digest [crypto_shorthash_BYTES];
    crypto_shorthash (digest, (const unsigned char *) key, strlen (key), self->key);
    uint64_t hash;
    memcpy (&hash, digest, sizeof hash);
    hash = hash? hash: 1;
    uint64_t *slot = s_slot (self->slots, self->size, hash);
    if (slot [0]) {
        *first_p = slot [1];
        return true;
    }
    slot [0] = hash;
    slot [1] = value;
    self->used++;
    return false;
}

size_t
stx_keyset_size (stx_keyset_t *self)
{
    assert (self);
    return self->used;
}
