/*  =========================================================================
    stx_keyset - a set of keys in 16 bytes each, for "each key once"

    Remembers which strings it has seen, each with a 64-bit value given
    with it (import keeps where the key was first seen), without keeping
    the strings: a key is its keyed 64-bit SipHash (libsodium's
    crypto_shorthash, with a key drawn at random per set), in an
    open-addressing table kept under three quarters full. Two different
    keys among a million collide with odds of about 1 in 10^13; an
    attacker who does not know the set's key cannot make them collide.
    ========================================================================= */

#ifndef STX_KEYSET_H_INCLUDED
#define STX_KEYSET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _stx_keyset_t stx_keyset_t;

//  New empty set. Caller owns it and destroys it with stx_keyset_destroy.
stx_keyset_t *
    stx_keyset_new (void);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_keyset_destroy (stx_keyset_t **self_p);

//  Add key (NUL-terminated) with value. Returns false if it is new;
//  true if it was added before, with the value it was first added with
//  in *first_p (the set keeps that one).
bool
    stx_keyset_add (stx_keyset_t *self, const char *key, uint64_t value, uint64_t *first_p);

//  Keys in the set.
size_t
    stx_keyset_size (stx_keyset_t *self);

#endif
