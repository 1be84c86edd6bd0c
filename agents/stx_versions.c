/*  =========================================================================
    stx_versions - the version each key will have once this agent's own
    events for it are sequenced

    Two maps kept in step: key -> (version, event id), and event id ->
    key for the events that made a key's latest version.
    ========================================================================= */

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include "stx_versions.h"
#include "stx_event.h"

typedef struct {
    uint64_t version;
    uint8_t id [STX_EVENT_ID_SIZE];
} s_version_t;

struct _stx_versions_t {
    zhashx_t *keys;             //  key -> s_version_t
    zhashx_t *ids;              //  16-byte event id -> key (a copy, owned)
};




static void
s_free (void **item)
{
    free (*item);
    *item = NULL;
}

stx_versions_t *
stx_versions_new (void)
{
    stx_versions_t *self = (stx_versions_t *) calloc (1, sizeof (stx_versions_t));
    assert (self);
    self->keys = zhashx_new ();
    self->ids = zhashx_new ();
    assert (self->keys && self->ids);
    zhashx_set_destructor (self->keys, s_free);
    stx_event_id_keys (self->ids, true);
    zhashx_set_destructor (self->ids, s_free);
    return self;
}

void
stx_versions_destroy (stx_versions_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zhashx_destroy (&(*self_p)->keys);
        zhashx_destroy (&(*self_p)->ids);
        free (*self_p);
        *self_p = NULL;
    }
}

uint64_t
stx_versions_get (stx_versions_t *self, const char *key)
{
    assert (self);
    assert (key);
    s_version_t *version = (s_version_t *) zhashx_lookup (self->keys, key);
    return version? version->version: 0;
}

void
stx_versions_put (stx_versions_t *self, const char *key, uint64_t version,
                  const uint8_t *event_id)
{
    assert (self);
    assert (key);
    assert (event_id);
    s_version_t *entry = (s_version_t *) zhashx_lookup (self->keys, key);
    if (entry)
        zhashx_delete (self->ids, entry->id);
    else {
        entry = (s_version_t *) calloc (1, sizeof (s_version_t));
        assert (entry);
        zhashx_insert (self->keys, key, entry);
    }
    entry->version = version;
    memcpy (entry->id, event_id, STX_EVENT_ID_SIZE);
    char *copy = strdup (key);
    assert (copy);
    zhashx_update (self->ids, event_id, copy);
}

void
stx_versions_forget (stx_versions_t *self, const uint8_t *event_id)
{
    assert (self);
    assert (event_id);
    char *key = (char *) zhashx_lookup (self->ids, event_id);
    if (!key)
        return;
    zhashx_delete (self->keys, key);
    zhashx_delete (self->ids, event_id);
}

void
stx_versions_purge (stx_versions_t *self)
{
    assert (self);
    zhashx_purge (self->keys);
    zhashx_purge (self->ids);
}

size_t
stx_versions_size (stx_versions_t *self)
{
    assert (self);
    return zhashx_size (self->keys);
}
