/*  =========================================================================
    stx_flight - the events an agent has in flight, by link, so that it
    keeps dependent events of different identities in order

    Two maps: event id -> (key, link) for the answers, and key -> (link,
    count) for the question "is this key in flight elsewhere". At most the
    publish window's events are in flight, so both stay small.
    ========================================================================= */

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include "stx_flight.h"
#include "stx_event.h"
#include "stx_parties.h"

#define S_FIELD_EVENT_ID    1               //  Event.event_id
#define S_FIELD_KEY         3               //  Event.key

typedef struct {
    char *key;
    size_t link;
} s_sent_t;

typedef struct {
    size_t link;
    size_t count;               //  events of the key in flight (on that link)
} s_keyed_t;

struct _stx_flight_t {
    zhashx_t *ids;              //  16-byte event id -> s_sent_t
    zhashx_t *keys;             //  entry key -> s_keyed_t
    size_t orgs;                //  of them organisation keys: parties to look at
};





static void
s_sent_destroy (void **item)
{
    s_sent_t *sent = (s_sent_t *) *item;
    if (sent) {
        free (sent->key);
        free (sent);
    }
    *item = NULL;
}

static void
s_keyed_destroy (void **item)
{
    free (*item);
    *item = NULL;
}

stx_flight_t *
stx_flight_new (void)
{
    stx_flight_t *self = (stx_flight_t *) calloc (1, sizeof (stx_flight_t));
    assert (self);
    self->ids = zhashx_new ();
    self->keys = zhashx_new ();
    assert (self->ids && self->keys);
    stx_event_id_keys (self->ids, true);
    zhashx_set_destructor (self->ids, s_sent_destroy);
    zhashx_set_destructor (self->keys, s_keyed_destroy);
    return self;
}

void
stx_flight_destroy (stx_flight_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zhashx_destroy (&(*self_p)->ids);
        zhashx_destroy (&(*self_p)->keys);
        free (*self_p);
        *self_p = NULL;
    }
}

//  The event's key as a string (caller frees), or NULL if it has none.
static char *
s_key (const uint8_t *data, size_t size)
{
    const uint8_t *key;
    size_t len;
    if (stx_event_peek (data, size, S_FIELD_KEY, &key, &len) != STX_OK)
        return NULL;
    char *copy = (char *) malloc (len + 1);
    assert (copy);
    memcpy (copy, key, len);
    copy [len] = 0;
    return copy;
}

typedef struct {
    stx_flight_t *flight;
    size_t link;
} s_elsewhere_t;

//  True if key is in flight on another link than the caller's
static bool
s_elsewhere (const char *key, void *arg)
{
    s_elsewhere_t *where = (s_elsewhere_t *) arg;
    s_keyed_t *keyed = (s_keyed_t *) zhashx_lookup (where->flight->keys, key);
    return keyed && keyed->link != where->link;
}

bool
stx_flight_blocks (stx_flight_t *self, const uint8_t *data, size_t size, size_t link)
{
    assert (self);
    if (zhashx_size (self->keys) == 0)
        return false;
    s_elsewhere_t where = { self, link };
    char *key = s_key (data, size);
    bool blocks = key && s_elsewhere (key, &where);
    free (key);
    //  Parties matter only while an organisation's own event is in flight
    if (!blocks && self->orgs > 0) {
        Stemx__Event *event = NULL;
        if (stx_event_unpack (data, size, &event) == STX_OK)
            blocks = stx_parties_any (event->entry, s_elsewhere, &where);
        stx_event_free (&event);
    }
    return blocks;
}

void
stx_flight_add (stx_flight_t *self, const uint8_t *data, size_t size, size_t link)
{
    assert (self);
    const uint8_t *id;
    size_t len;
    if (stx_event_peek (data, size, S_FIELD_EVENT_ID, &id, &len) != STX_OK
    ||  len != STX_EVENT_ID_SIZE || zhashx_lookup (self->ids, id))
        return;
    char *key = s_key (data, size);
    if (!key)
        return;
    s_keyed_t *keyed = (s_keyed_t *) zhashx_lookup (self->keys, key);
    if (!keyed) {
        keyed = (s_keyed_t *) calloc (1, sizeof (s_keyed_t));
        assert (keyed);
        keyed->link = link;
        zhashx_insert (self->keys, key, keyed);
        if (strncmp (key, "org:", 4) == 0)
            self->orgs++;
    }
    //  A key in flight on two links at once cannot be: the second waits
    //  (stx_flight_blocks); if a caller sends anyway, the latest link counts
    keyed->link = link;
    keyed->count++;
    s_sent_t *sent = (s_sent_t *) malloc (sizeof (s_sent_t));
    assert (sent);
    sent->key = key;
    sent->link = link;
    zhashx_insert (self->ids, id, sent);
}

void
stx_flight_done (stx_flight_t *self, const uint8_t *event_id)
{
    assert (self);
    assert (event_id);
    s_sent_t *sent = (s_sent_t *) zhashx_lookup (self->ids, event_id);
    if (!sent)
        return;
    s_keyed_t *keyed = (s_keyed_t *) zhashx_lookup (self->keys, sent->key);
    if (keyed && --keyed->count == 0) {
        if (strncmp (sent->key, "org:", 4) == 0)
            self->orgs--;
        zhashx_delete (self->keys, sent->key);
    }
    zhashx_delete (self->ids, event_id);
}

void
stx_flight_forget_link (stx_flight_t *self, size_t link)
{
    assert (self);
    zlistx_t *ids = zlistx_new ();
    assert (ids);
    for (s_sent_t *sent = (s_sent_t *) zhashx_first (self->ids); sent;
         sent = (s_sent_t *) zhashx_next (self->ids))
        if (sent->link == link)
            zlistx_add_end (ids, (void *) zhashx_cursor (self->ids));
    //  Each id is its own allocation, freed only when its entry is deleted
    for (void *id = zlistx_first (ids); id; id = zlistx_next (ids)) {
        uint8_t copy [STX_EVENT_ID_SIZE];
        memcpy (copy, id, STX_EVENT_ID_SIZE);
        stx_flight_done (self, copy);
    }
    zlistx_destroy (&ids);
}

void
stx_flight_clear (stx_flight_t *self)
{
    assert (self);
    zhashx_purge (self->ids);
    zhashx_purge (self->keys);
    self->orgs = 0;
}

size_t
stx_flight_size (stx_flight_t *self)
{
    assert (self);
    return zhashx_size (self->ids);
}
