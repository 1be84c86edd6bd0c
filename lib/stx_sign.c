/*  =========================================================================
    stx_sign - end-to-end signatures of events

    DESIGN
    ------
    The signed part of an event is a stack copy of the Event with only the
    publisher's fields set (event_id, key, op, client_time_ms, entry,
    expected_version), packed by protobuf-c. protobuf-c packs fields in
    number order and leaves defaults out, so the broker's stamps (origin,
    node, version, broker_time_ms, seq, owner) and the signature itself
    never change the payload, and every node, re-packing an unpacked event,
    gets the same bytes (unknown fields, which protobuf-c would carry
    along, are refused by validation).

    The copy shares the event's pointers (nothing is duplicated) and is
    never freed. All functions are reentrant; a registry may be shared.
    ========================================================================= */

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "stx_event.h"
#include "stx_sign.h"

//  --------------------------------------------------------------------------
//  The signed part of event, packed

uint8_t *
stx_sign_payload (const Stemx__Event *event, size_t *size_p)
{
    assert (event);
    assert (size_p);
    Stemx__Event part;
    stemx__event__init (&part);
    part.event_id = event->event_id;
    if (event->key)
        part.key = event->key;
    part.op = event->op;
    part.client_time_ms = event->client_time_ms;
    part.entry = event->entry;
    part.expected_version = event->expected_version;
    return stx_event_pack (&part, size_p);
}


//  --------------------------------------------------------------------------
//  Sign event with identity

void
stx_sign_event (Stemx__Event *event, const stx_identity_t *identity)
{
    assert (event);
    assert (identity);
    int rc = sodium_init ();
    assert (rc >= 0);
    size_t size;
    uint8_t *payload = stx_sign_payload (event, &size);
    uint8_t *signature = (uint8_t *) malloc (STX_SIGNATURE_SIZE);
    uint8_t *signer = (uint8_t *) malloc (STX_SIGN_PUBLIC_SIZE);
    assert (signature && signer);
    crypto_sign_detached (signature, NULL, payload, size, stx_identity_sign_secret (identity));
    memcpy (signer, stx_identity_sign_public (identity), STX_SIGN_PUBLIC_SIZE);
    free (payload);

    free (event->signature.data);
    event->signature.data = signature;
    event->signature.len = STX_SIGNATURE_SIZE;
    free (event->signer.data);
    event->signer.data = signer;
    event->signer.len = STX_SIGN_PUBLIC_SIZE;
}


//  --------------------------------------------------------------------------
//  Verify that the signer is a key of org and the signature holds

static stx_status_t
s_verify (const Stemx__Event *event, const stx_registry_t *registry, const char *org,
          const char *org_role, bool allow_retired, char *err, size_t errlen)
{
    assert (event);
    assert (registry);
    const char *key = event->key && *event->key? event->key: "(no key)";
    org = org? org: "";
    if (event->signature.len == 0 || !event->signature.data)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE, "%.200s: not signed", key);
    if (event->signature.len != STX_SIGNATURE_SIZE)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE,
                         "%.200s: signature is %zu bytes, not %d", key,
                         event->signature.len, STX_SIGNATURE_SIZE);
    if (event->signer.len != STX_SIGN_PUBLIC_SIZE || !event->signer.data)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE,
                         "%.200s: signer is %zu bytes, not %d", key,
                         event->signer.len, STX_SIGN_PUBLIC_SIZE);

    char signer [41];
    zmq_z85_encode (signer, event->signer.data, STX_SIGN_PUBLIC_SIZE);
    const stx_key_t *registered = stx_registry_by_sign (registry, event->signer.data);
    if (!registered)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE,
                         "%.200s: signed by key %s, which is not registered", key, signer);
    //  A retired key still vouches for what it signed while it was active,
    //  but signs nothing new
    if (registered->retired && !allow_retired)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE,
                         "%.200s: signed by key %s of %.100s, which is retired", key, signer,
                         registered->org);
    if (strcmp (registered->org, org) != 0)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE,
                         "%.200s: signed by a key of %.100s, not of %s %.100s", key,
                         registered->org, org_role, *org? org: "(none)");

    int rc = sodium_init ();
    assert (rc >= 0);
    size_t size;
    uint8_t *payload = stx_sign_payload (event, &size);
    rc = crypto_sign_verify_detached (event->signature.data, payload, size, event->signer.data);
    free (payload);
    if (rc != 0)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE,
                         "%.200s: signature by key %s of %.100s does not match the event "
                         "(altered after signing)", key, signer, registered->org);
    return STX_OK;
}

stx_status_t
stx_sign_verify (const Stemx__Event *event, const stx_registry_t *registry,
                 char *err, size_t errlen)
{
    assert (event);
    //  The publisher signed the version it saw; the broker stamps the one
    //  after it. Another version is an old event replayed, or a history
    //  the broker rewrote
    if (event->version != event->expected_version + 1)
        return stx_fail (err, errlen, STX_ERR_BAD_SIGNATURE,
                         "%.200s: version %" PRIu64 " does not follow the signed "
                         "expected_version %" PRIu64, event->key && *event->key? event->key:
                         "(no key)", event->version, event->expected_version);
    return s_verify (event, registry, event->origin, "origin", true, err, errlen);
}

stx_status_t
stx_sign_verify_as (const Stemx__Event *event, const stx_registry_t *registry,
                    const char *org, char *err, size_t errlen)
{
    return s_verify (event, registry, org, "publisher", false, err, errlen);
}
