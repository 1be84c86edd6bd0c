/*  =========================================================================
    stx_sign - end-to-end signatures of events

    The origin organisation signs the signed part of an event (see
    proto/stemx.proto: the Event with only event_id, key, op,
    client_time_ms, entry and expected_version set) with Ed25519. The
    broker verifies before sequencing; every replica verifies again before
    applying, so a compromised broker cannot forge a partner's entry
    without the replicas noticing. Pure functions over libsodium.
    ========================================================================= */

#ifndef STX_SIGN_H_INCLUDED
#define STX_SIGN_H_INCLUDED

#include "stx_error.h"
#include "stx_keys.h"

//  The signed part of event, packed. Caller owns the buffer (free()).
uint8_t *
    stx_sign_payload (const Stemx__Event *event, size_t *size_p);

//  Sign event with identity: sets event->signature and event->signer
//  (heap copies; replaces any previous ones).
void
    stx_sign_event (Stemx__Event *event, const stx_identity_t *identity);

//  Verify a sequenced event: its version is the signed expected_version
//  + 1, it carries a 64-byte signature and a 32-byte signer, the signer is
//  a key of the registry (active or retired) registered for
//  event->origin, and the signature verifies over the signed part.
//  Returns STX_OK or STX_ERR_BAD_SIGNATURE with err saying which check
//  failed, e.g. "ini:x: signed by a key of org:b, not of origin org:a".
stx_status_t
    stx_sign_verify (const Stemx__Event *event, const stx_registry_t *registry,
                     char *err, size_t errlen);

//  Like stx_sign_verify, but for a publisher's event before the broker has
//  stamped the origin: the signer must be an active (not retired) key of
//  org.
stx_status_t
    stx_sign_verify_as (const Stemx__Event *event, const stx_registry_t *registry,
                        const char *org, char *err, size_t errlen);

#endif
