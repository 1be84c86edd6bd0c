/*  =========================================================================
    stx_versions - the version each key will have once this agent's own
    events for it are sequenced

    An update is signed with the version it expects (expected_version),
    and the broker sequences it only onto that version. The agent's
    replica lags behind what the agent itself has queued and sent, so
    for a key with an event of its own pending the agent expects the
    version that event makes, not the replica's. Each key remembers the
    event that made its latest version: when the broker refuses that
    event, or the outbox could not take it, the key is forgotten and the
    replica's version counts again.
    ========================================================================= */

#ifndef STX_VERSIONS_H_INCLUDED
#define STX_VERSIONS_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

typedef struct _stx_versions_t stx_versions_t;

//  An empty map. Caller owns it (stx_versions_destroy).
stx_versions_t *
    stx_versions_new (void);

//  Destroy; accepts NULL, sets *self_p to NULL.
void
    stx_versions_destroy (stx_versions_t **self_p);

//  The version key will have after this agent's latest event for it, or
//  0 if none is remembered.
uint64_t
    stx_versions_get (stx_versions_t *self, const char *key);

//  The event with the 16-byte event_id makes version of key (replacing
//  what the key had).
void
    stx_versions_put (stx_versions_t *self, const char *key, uint64_t version,
                      const uint8_t *event_id);

//  The event with this id will not be sequenced (refused, or never
//  queued): if it made its key's latest version, forget the key.
void
    stx_versions_forget (stx_versions_t *self, const uint8_t *event_id);

//  Forget everything (to bound the memory: the replica holds most).
void
    stx_versions_purge (stx_versions_t *self);

//  Keys remembered.
size_t
    stx_versions_size (stx_versions_t *self);

#endif
