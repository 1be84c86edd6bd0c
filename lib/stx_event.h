/*  =========================================================================
    stx_event - packing, unpacking and hashing of Event envelopes

    The broker packs an event once, when it sequences it; from then on the
    packed bytes are what the log stores, the PUB socket sends and every
    replica stores and hashes. So the hash chain head_n = SHA-256(head_{n-1}
    || bytes_n) is the same on every node without any canonical re-encoding.
    ========================================================================= */

#ifndef STX_EVENT_H_INCLUDED
#define STX_EVENT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <czmq.h>
#include "stx_error.h"

#define STX_HEAD_SIZE    32     //  SHA-256
#define STX_EVENT_ID_SIZE 16    //  UUID
#define STX_LINEAGE_SIZE 16     //  UUID

//  Pack event. Caller owns the returned buffer (free()) of *size_p bytes.
//  Never returns NULL (aborts on out of memory, as czmq does).
uint8_t *
    stx_event_pack (const Stemx__Event *event, size_t *size_p);

//  Unpack size bytes. On success the caller owns *event_p and frees it with
//  stx_event_free. Returns STX_ERR_MALFORMED if protobuf-c refuses the bytes.
stx_status_t
    stx_event_unpack (const uint8_t *data, size_t size, Stemx__Event **event_p);

//  Find length-delimited field (a bytes or string field number of Event,
//  e.g. 13 for signer) in the packed event without unpacking it: *value_p
//  points into data, *len_p is its length. For hot paths that need one
//  field (which link signs an outbox event). Errors: STX_ERR_NOT_FOUND (not
//  present), STX_ERR_MALFORMED (not a valid protobuf encoding up to it).
stx_status_t
    stx_event_peek (const uint8_t *data, size_t size, uint32_t field,
                    const uint8_t **value_p, size_t *len_p);

//  Key hash by 16-byte event ids (STX_EVENT_ID_SIZE): hashed and compared
//  as such; with copy, it keeps a copy of each key it is given, else it
//  borrows the caller's bytes.
void
    stx_event_id_keys (zhashx_t *hash, bool copy);

//  Free an unpacked event; accepts NULL and sets *event_p to NULL.
void
    stx_event_free (Stemx__Event **event_p);

//  Make a new UPSERT event for entry, or a WITHDRAW when entry is NULL, with
//  a fresh random event id and the client time set to now. Takes ownership
//  of *entry_p (may point to NULL) and sets it to NULL. Caller owns the
//  result and frees it with stx_event_free.
Stemx__Event *
    stx_event_new (const char *key, Stemx__Entry **entry_p);

//  Next hash-chain head: out = SHA-256(head || data). out may alias head.
void
    stx_chain_next (const uint8_t head[STX_HEAD_SIZE], const uint8_t *data, size_t size,
                    uint8_t out[STX_HEAD_SIZE]);

//  Lower-case hex of size bytes into out (2 * size + 1 bytes). Returns out.
char *
    stx_hex (const uint8_t *data, size_t size, char *out);

#endif
