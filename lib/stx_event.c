/*  =========================================================================
    stx_event - packing, unpacking and hashing of Event envelopes

    DESIGN
    ------
    An Event is packed exactly once, by the broker, when it is sequenced.
    Every node then stores, sends and hashes those bytes as they are, so no
    canonical re-encoding is ever needed and head_n = SHA-256(head_{n-1} ||
    bytes_n) is the same everywhere.

    Memory: events and entries live in protobuf-c's default allocator
    (malloc/free), whether unpacked from bytes or built by stx_event_new,
    so one function, stx_event_free, frees either kind. Absent strings
    point to protobuf_c_empty_string, which is never freed.

    Threads: every function is reentrant. libsodium is initialised on first
    use (sodium_init is idempotent and thread-safe).
    ========================================================================= */

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "stx_event.h"

//  --------------------------------------------------------------------------
//  Initialise libsodium once; aborts if the library cannot work at all.

static void
s_sodium_init (void)
{
    int rc = sodium_init ();
    assert (rc >= 0);
}


//  --------------------------------------------------------------------------
//  Pack event

uint8_t *
stx_event_pack (const Stemx__Event *event, size_t *size_p)
{
    assert (event);
    assert (size_p);
    size_t size = stemx__event__get_packed_size (event);
    uint8_t *data = (uint8_t *) malloc (size? size: 1);
    assert (data);
    size_t packed = stemx__event__pack (event, data);
    assert (packed == size);
    *size_p = size;
    return data;
}


//  --------------------------------------------------------------------------
//  Unpack size bytes

stx_status_t
stx_event_unpack (const uint8_t *data, size_t size, Stemx__Event **event_p)
{
    assert (event_p);
    *event_p = NULL;
    if (!data && size)
        return STX_ERR_MALFORMED;
    Stemx__Event *event = stemx__event__unpack (NULL, size, data);
    if (!event)
        return STX_ERR_MALFORMED;
    *event_p = event;
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  One length-delimited field of a packed event, without unpacking it

static bool
s_varint (const uint8_t **at, const uint8_t *end, uint64_t *value)
{
    *value = 0;
    for (int shift = 0; shift < 64 && *at < end; shift += 7) {
        uint8_t byte = *(*at)++;
        *value |= (uint64_t) (byte & 0x7F) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

stx_status_t
stx_event_peek (const uint8_t *data, size_t size, uint32_t field,
                const uint8_t **value_p, size_t *len_p)
{
    assert (value_p && len_p);
    const uint8_t *at = data, *end = data + size;
    if (!data && size)
        return STX_ERR_MALFORMED;
    while (at < end) {
        uint64_t tag, skip;
        if (!s_varint (&at, end, &tag))
            return STX_ERR_MALFORMED;
        switch (tag & 7) {
            case 0:                 //  varint
                if (!s_varint (&at, end, &skip))
                    return STX_ERR_MALFORMED;
                break;
            case 1:                 //  64-bit
                if (end - at < 8)
                    return STX_ERR_MALFORMED;
                at += 8;
                break;
            case 2:                 //  length-delimited
                if (!s_varint (&at, end, &skip) || skip > (uint64_t) (end - at))
                    return STX_ERR_MALFORMED;
                if ((tag >> 3) == field) {
                    *value_p = at;
                    *len_p = (size_t) skip;
                    return STX_OK;
                }
                at += skip;
                break;
            case 5:                 //  32-bit
                if (end - at < 4)
                    return STX_ERR_MALFORMED;
                at += 4;
                break;
            default:
                return STX_ERR_MALFORMED;
        }
    }
    return STX_ERR_NOT_FOUND;
}


//  --------------------------------------------------------------------------
//  Free an event

void
stx_event_free (Stemx__Event **event_p)
{
    assert (event_p);
    if (*event_p) {
        stemx__event__free_unpacked (*event_p, NULL);
        *event_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Make a new UPSERT (entry given) or WITHDRAW (no entry) event

Stemx__Event *
stx_event_new (const char *key, Stemx__Entry **entry_p)
{
    assert (key);
    assert (entry_p);
    s_sodium_init ();

    Stemx__Event *event = (Stemx__Event *) calloc (1, sizeof (Stemx__Event));
    assert (event);
    stemx__event__init (event);
    event->key = strdup (key);
    assert (event->key);
    event->event_id.data = (uint8_t *) malloc (STX_EVENT_ID_SIZE);
    assert (event->event_id.data);
    event->event_id.len = STX_EVENT_ID_SIZE;
    randombytes_buf (event->event_id.data, STX_EVENT_ID_SIZE);

    event->entry = *entry_p;
    *entry_p = NULL;
    event->op = event->entry? STEMX__OPERATION__OP_UPSERT: STEMX__OPERATION__OP_WITHDRAW;

    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    event->client_time_ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
    return event;
}


//  --------------------------------------------------------------------------
//  Next hash-chain head: out = SHA-256(head || data)

void
stx_chain_next (const uint8_t head[STX_HEAD_SIZE], const uint8_t *data, size_t size,
                uint8_t out[STX_HEAD_SIZE])
{
    assert (head);
    assert (out);
    assert (data || size == 0);
    s_sodium_init ();
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init (&state);
    crypto_hash_sha256_update (&state, head, STX_HEAD_SIZE);
    if (size)
        crypto_hash_sha256_update (&state, data, size);
    //  head has been consumed, so out may alias it
    crypto_hash_sha256_final (&state, out);
}


//  --------------------------------------------------------------------------
//  Lower-case hex

char *
stx_hex (const uint8_t *data, size_t size, char *out)
{
    static const char digits [] = "0123456789abcdef";
    assert (out);
    assert (data || size == 0);
    for (size_t i = 0; i < size; i++) {
        out [2 * i] = digits [data [i] >> 4];
        out [2 * i + 1] = digits [data [i] & 15];
    }
    out [2 * size] = 0;
    return out;
}


//  --------------------------------------------------------------------------
//  Hashes keyed by event id

static size_t
s_id_hash (const void *key)
{
    size_t hash;
    memcpy (&hash, key, sizeof (hash));     //  event ids are random bytes
    return hash;
}

static int
s_id_compare (const void *one, const void *two)
{
    return memcmp (one, two, STX_EVENT_ID_SIZE);
}

static void *
s_id_duplicate (const void *key)
{
    void *copy = malloc (STX_EVENT_ID_SIZE);
    assert (copy);
    memcpy (copy, key, STX_EVENT_ID_SIZE);
    return copy;
}

static void
s_id_free (void **key)
{
    free (*key);
    *key = NULL;
}

void
stx_event_id_keys (zhashx_t *hash, bool copy)
{
    assert (hash);
    zhashx_set_key_hasher (hash, s_id_hash);
    zhashx_set_key_comparator (hash, s_id_compare);
    zhashx_set_key_duplicator (hash, copy? s_id_duplicate: NULL);
    zhashx_set_key_destructor (hash, copy? s_id_free: NULL);
}
