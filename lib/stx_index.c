/*  =========================================================================
    stx_index - which secondary-index keys an entry has, and whether an
    entry matches a filter

    DESIGN
    ------
    Pure and deterministic: the index keys of an entry depend on nothing
    but the entry, so every node that applies the same events builds the
    same index. An index key is "<index>=<value>" in plain bytes (no
    terminating NUL in LMDB), e.g. "od=OD 3.2.1", "org=org:vlaio",
    "start=2026-09-01". Keys are produced sorted and without duplicates.

    Matching uses the very same key set: an entry matches "od = X" if and
    only if it has the index key "od=X". So the store's index and the
    final check can never disagree. Date filters compare ISO dates as
    strings, which orders them correctly.
    ========================================================================= */

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "stx_index.h"

//  A growing, later sorted, set of index keys (heap strings).
typedef struct {
    char **items;
    size_t count;
    size_t max;
} s_keys_t;

static void
s_keys_add (s_keys_t *self, const char *prefix, const char *value)
{
    if (!value || !*value)
        return;                 //  "" = not given, never indexed
    if (self->count == self->max) {
        self->max = self->max? self->max * 2: 16;
        self->items = (char **) realloc (self->items, self->max * sizeof (char *));
        assert (self->items);
    }
    size_t prefix_len = strlen (prefix);
    size_t value_len = strlen (value);
    char *key = (char *) malloc (prefix_len + 1 + value_len + 1);
    assert (key);
    memcpy (key, prefix, prefix_len);
    key [prefix_len] = '=';
    memcpy (key + prefix_len + 1, value, value_len + 1);
    self->items [self->count++] = key;
}

static void
s_keys_add_list (s_keys_t *self, const char *prefix, char **values, size_t count)
{
    for (size_t i = 0; i < count; i++)
        s_keys_add (self, prefix, values [i]);
}

//  A partner contributes its organisation and its helix pillar.
static void
s_keys_add_partner (s_keys_t *self, const Stemx__Partner *partner)
{
    if (partner) {
        s_keys_add (self, "org", partner->org);
        s_keys_add (self, "helix", partner->helix_pillar);
    }
}

static int
s_compare_strings (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

static void
s_keys_destroy (s_keys_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->items [i]);
    free (self->items);
    self->items = NULL;
    self->count = self->max = 0;
}

//  Collect the sorted, deduplicated index keys of entry into keys.
static void
s_collect (const Stemx__Entry *entry, s_keys_t *keys)
{
    memset (keys, 0, sizeof (*keys));
    if (!entry)
        return;
    const char *start, *end;
    stx_index_dates (entry, &start, &end);

    stx_kind_t kind = stx_entry_kind (entry);
    if (kind != STX_KIND_NONE)
        s_keys_add (keys, "kind", stx_kind_name (kind));
    s_keys_add (keys, "start", start);
    switch (entry->kind_case) {
        case STEMX__ENTRY__KIND_ORGANISATION: {
            const Stemx__Organisation *org = entry->organisation;
            if (org) {
                s_keys_add (keys, "org", org->id);
                s_keys_add (keys, "helix", org->helix_pillar);
                s_keys_add (keys, "muni", org->municipality);
            }
            break;
        }
        case STEMX__ENTRY__KIND_INITIATIVE: {
            const Stemx__Initiative *ini = entry->initiative;
            if (ini) {
                s_keys_add_partner (keys, ini->owner);
                for (size_t i = 0; i < ini->n_partners; i++)
                    s_keys_add_partner (keys, ini->partners [i]);
                s_keys_add_list (keys, "od", ini->od_codes, ini->n_od_codes);
                s_keys_add_list (keys, "theme", ini->themes, ini->n_themes);
                s_keys_add (keys, "muni", ini->municipality);
                s_keys_add (keys, "status", ini->status);
            }
            break;
        }
        case STEMX__ENTRY__KIND_INFRASTRUCTURE: {
            const Stemx__InfrastructureOpening *infra = entry->infrastructure;
            if (infra) {
                s_keys_add_partner (keys, infra->provider);
                s_keys_add (keys, "od", infra->od_code);
                s_keys_add_list (keys, "theme", infra->themes, infra->n_themes);
                if (infra->location)
                    s_keys_add (keys, "muni", infra->location->municipality);
            }
            break;
        }
        case STEMX__ENTRY__KIND_MOMENT: {
            const Stemx__NetworkMoment *moment = entry->moment;
            if (moment) {
                s_keys_add_partner (keys, moment->organiser);
                for (size_t i = 0; i < moment->n_co_organisers; i++)
                    s_keys_add_partner (keys, moment->co_organisers [i]);
                s_keys_add_list (keys, "od", moment->topic_od_codes, moment->n_topic_od_codes);
                s_keys_add_list (keys, "theme", moment->themes, moment->n_themes);
                if (moment->location)
                    s_keys_add (keys, "muni", moment->location->municipality);
            }
            break;
        }
        default:
            break;
    }
    if (keys->count == 0)
        return;
    //  Sort, then drop duplicates in place
    qsort (keys->items, keys->count, sizeof (char *), s_compare_strings);
    size_t kept = 1;
    for (size_t i = 1; i < keys->count; i++) {
        if (strcmp (keys->items [i], keys->items [kept - 1]) == 0)
            free (keys->items [i]);
        else
            keys->items [kept++] = keys->items [i];
    }
    keys->count = kept;
}

//  True if the sorted key set holds "<prefix>=<value>".
static bool
s_keys_has (const s_keys_t *keys, const char *prefix, const char *value)
{
    s_keys_t probe = { NULL, 0, 0 };
    s_keys_add (&probe, prefix, value);
    bool found = probe.count == 1
              && bsearch (&probe.items [0], keys->items, keys->count,
                          sizeof (char *), s_compare_strings) != NULL;
    s_keys_destroy (&probe);
    return found;
}


//  --------------------------------------------------------------------------
//  Call fn for every index key of entry

int
stx_index_keys (const Stemx__Entry *entry, stx_index_fn *fn, void *arg)
{
    assert (fn);
    s_keys_t keys;
    s_collect (entry, &keys);
    int rc = 0;
    for (size_t i = 0; i < keys.count && rc == 0; i++)
        rc = fn (keys.items [i], arg);
    s_keys_destroy (&keys);
    return rc;
}


//  --------------------------------------------------------------------------
//  True if entry matches every field of filter

bool
stx_index_match (const Stemx__Entry *entry, const stx_filter_t *filter)
{
    assert (filter);
    if (!entry)
        return false;
    if (filter->kind != STX_KIND_NONE && filter->kind != stx_entry_kind (entry))
        return false;

    if ((filter->from && *filter->from) || (filter->to && *filter->to)) {
        const char *start, *end;
        stx_index_dates (entry, &start, &end);
        if (!*start)
            return false;       //  undated entries never match a date filter
        if (filter->to && *filter->to && strcmp (start, filter->to) > 0)
            return false;
        if (filter->from && *filter->from && *end && strcmp (end, filter->from) < 0)
            return false;
    }
    struct {
        const char *prefix;
        const char *value;
    } fields [] = {
        { "od", filter->od },
        { "helix", filter->helix },
        { "org", filter->org },
        { "muni", filter->municipality },
        { "theme", filter->theme },
        { "status", filter->status }
    };
    s_keys_t keys;
    s_collect (entry, &keys);
    bool match = true;
    for (size_t i = 0; i < sizeof (fields) / sizeof (fields [0]) && match; i++)
        if (fields [i].value && *fields [i].value)
            match = s_keys_has (&keys, fields [i].prefix, fields [i].value);
    s_keys_destroy (&keys);
    return match;
}


//  --------------------------------------------------------------------------
//  The [start, end] dates of an entry

void
stx_index_dates (const Stemx__Entry *entry, const char **start_p, const char **end_p)
{
    assert (start_p);
    assert (end_p);
    const char *start = "";
    const char *end = "";
    if (entry && entry->kind_case == STEMX__ENTRY__KIND_INITIATIVE && entry->initiative) {
        const Stemx__Period *period = entry->initiative->period;
        if (period) {
            start = period->start;
            end = period->end;
        }
    }
    else
    if (entry && entry->kind_case == STEMX__ENTRY__KIND_MOMENT && entry->moment) {
        start = entry->moment->date;
        //  A moment without an end date lasts one day
        end = *entry->moment->end_date? entry->moment->end_date: start;
    }
    else
    if (entry && entry->kind_case == STEMX__ENTRY__KIND_INFRASTRUCTURE && entry->infrastructure) {
        //  Earliest window start to latest window end; a window without
        //  an end makes the opening open ended
        const Stemx__InfrastructureOpening *infra = entry->infrastructure;
        bool open_ended = false;
        for (size_t i = 0; i < infra->n_availability; i++) {
            const Stemx__AvailabilityWindow *window = infra->availability [i];
            if (!*window->from)
                continue;
            if (!*start || strcmp (window->from, start) < 0)
                start = window->from;
            if (!*window->to)
                open_ended = true;
            else
            if (!*end || strcmp (window->to, end) > 0)
                end = window->to;
        }
        if (!*start || open_ended)
            end = "";
    }
    *start_p = start? start: "";
    *end_p = end? end: "";
}
