/*  =========================================================================
    stx_verifier - checks a snapshot's origin signatures in the background

    A joining agent stores a snapshot's entries first and answers queries
    at once; their signatures are verified afterwards, on every core, by
    this thread, while the agent goes on replicating (live events are
    verified before they are applied, as always). The store's meta says
    "unverified" until the verifier has been through every entry, so a
    restart starts it again. The first event that fails is handed back to
    the agent, which decides (reloads its trust store, pauses or halts).
    ========================================================================= */

#ifndef STX_VERIFIER_H_INCLUDED
#define STX_VERIFIER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "stx_error.h"
#include "stx_store.h"

typedef struct _stx_verifier_t stx_verifier_t;

//  Load the trust store (dir, retired_dir may be NULL) and start verifying
//  every entry of store in one read transaction of its own. store must
//  outlive the verifier. Caller owns *self_p. Errors: those of
//  stx_registry_load and stx_store_begin, with err set; or STX_ERR_NOMEM
//  when no thread can be started.
stx_status_t
    stx_verifier_new (stx_store_t *store, const char *dir, const char *retired_dir,
                      stx_verifier_t **self_p, char *err, size_t errlen);

//  Stop (at the next batch) and join; accepts NULL, sets *self_p to NULL.
void
    stx_verifier_destroy (stx_verifier_t **self_p);

//  Entries verified so far and in all; done once every one verified, or
//  it stopped at a failure or a storage error (see stx_verifier_failure).
void
    stx_verifier_progress (stx_verifier_t *self, uint64_t *verified, uint64_t *total,
                           bool *done);

//  After done: the packed entry that failed verification, or NULL when
//  all verified; caller owns the copy. *status_p is STX_OK, the failed
//  entry's STX_ERR_BAD_SIGNATURE / STX_ERR_MALFORMED, or the storage
//  error that stopped the verifier (then NULL is returned).
uint8_t *
    stx_verifier_failure (stx_verifier_t *self, size_t *size_p, stx_status_t *status_p);

#endif
