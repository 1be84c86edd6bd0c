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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "stx_index.h"

static int
s_keys_add_text (const char *token, void *arg);

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
                stx_index_tokens (org->name, s_keys_add_text, keys);
                stx_index_tokens (org->short_name, s_keys_add_text, keys);
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
                stx_index_tokens (ini->title, s_keys_add_text, keys);
                stx_index_tokens (ini->summary, s_keys_add_text, keys);
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
                stx_index_tokens (infra->facility, s_keys_add_text, keys);
                stx_index_tokens (infra->description, s_keys_add_text, keys);
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
                stx_index_tokens (moment->title, s_keys_add_text, keys);
                stx_index_tokens (moment->description, s_keys_add_text, keys);
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


static int
s_keys_add_text (const char *token, void *arg)
{
    s_keys_add ((s_keys_t *) arg, "word", token);
    return 0;
}


//  --------------------------------------------------------------------------
//  Search tokens

//  Folding of U+00C0..U+00FF; "*" marks a separator (multiplication and
//  division signs), digraphs are spelt out in s_fold.
static const char s_latin1 [] =
    "aaaaaa?ceeeeiiii"          //  C0  A-grave .. I-diaeresis; C6 = ae
    "dnooooo*ouuuuy??"          //  D0  Eth .. Thorn, sharp s; D7 times
    "aaaaaa?ceeeeiiii"          //  E0
    "dnooooo*ouuuuy?y";         //  F0  ... F7 division, FE thorn, FF y-diaeresis
//  Folding of U+0100..U+017F (Latin Extended-A); "?" = digraph
static const char s_latin_a [] =
    "aaaaaaccccccccdd" "ddeeeeeeeeeegggg" "gggghhhhiiiiiiii" "ii??jjkkklllllll"
    "lllnnnnnnnnnoooo" "oo??rrrrrrssssss" "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs";

//  Append the folded form of code point cp (its UTF-8 bytes are at
//  [at, at + len)) to out; false if cp separates words.
static bool
s_fold (uint32_t cp, const char *at, size_t len, char *out, size_t *used)
{
    const char *text = NULL;
    char one [2] = { 0, 0 };
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z')
            one [0] = (char) (cp - 'A' + 'a');
        else
        if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
            one [0] = (char) cp;
        else
            return false;
        text = one;
    }
    else
    if (cp >= 0xC0 && cp <= 0xFF) {
        char c = s_latin1 [cp - 0xC0];
        if (c == '*')
            return false;
        if (c != '?')
            one [0] = c;
        text = c != '?'? one
             : (cp == 0xC6 || cp == 0xE6)? "ae"
             : (cp == 0xDE || cp == 0xFE)? "th": "ss";
    }
    else
    if (cp >= 0x100 && cp <= 0x17F) {
        char c = s_latin_a [cp - 0x100];
        one [0] = c;
        text = c != '?'? one: (cp == 0x132 || cp == 0x133)? "ij": "oe";
    }
    else
    if (cp < 0xC0                               //  Latin-1 punctuation, NBSP
    ||  (cp >= 0x2000 && cp <= 0x2BFF)          //  punctuation, symbols, arrows
    ||  (cp >= 0x3000 && cp <= 0x303F)          //  CJK punctuation
    ||  (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFFD)
        return false;
    size_t text_len = text? strlen (text): len;
    if (*used + text_len <= STX_INDEX_TOKEN_MAX)
        memcpy (out + *used, text? text: at, text_len);
    *used += text_len;          //  counts on past the maximum: the word is dropped
    return true;
}

//  Decode one UTF-8 character at p (NUL-terminated); returns its length
//  and sets *cp, or 1 with *cp = 0xFFFD for a bad byte.
static size_t
s_utf8_decode (const unsigned char *p, uint32_t *cp)
{
    if (p [0] < 0x80) {
        *cp = p [0];
        return 1;
    }
    size_t len = (p [0] & 0xE0) == 0xC0? 2: (p [0] & 0xF0) == 0xE0? 3:
                 (p [0] & 0xF8) == 0xF0? 4: 0;
    uint32_t value = len == 2? p [0] & 0x1Fu: len == 3? p [0] & 0x0Fu: p [0] & 0x07u;
    for (size_t i = 1; i < len; i++) {
        if ((p [i] & 0xC0) != 0x80) {
            len = 0;
            break;
        }
        value = (value << 6) | (p [i] & 0x3Fu);
    }
    if (len == 0) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = value;
    return len;
}

//  Dutch and English, in strcmp order: s_stop_word looks them up by
//  bisection (every token of every indexed text is looked up)
static const char *s_stop_words [] = {
    "aan", "all", "als", "also", "and", "are", "bij", "but", "can", "dan", "dat", "den",
    "der", "des", "deze", "die", "dit", "door", "een", "for", "from", "has", "have", "het",
    "hoe", "hun", "into", "its", "maar", "meer", "met", "naar", "niet", "nog", "not",
    "ook", "our", "over", "per", "that", "the", "their", "them", "this", "tot", "uit",
    "van", "via", "voor", "was", "wat", "were", "which", "who", "wie", "will", "with",
    "worden", "wordt", "zij", "zijn"
};

static int
s_stop_compare (const void *token, const void *item)
{
    return strcmp ((const char *) token, *(const char * const *) item);
}

static bool
s_stop_word (const char *token)
{
    return bsearch (token, s_stop_words, sizeof (s_stop_words) / sizeof (s_stop_words [0]),
                    sizeof (s_stop_words [0]), s_stop_compare) != NULL;
}

int
stx_index_tokens (const char *text, stx_index_fn *fn, void *arg)
{
    assert (fn);
    if (!text)
        return 0;
    char token [STX_INDEX_TOKEN_MAX + 1];
    size_t used = 0, chars = 0;
    const unsigned char *p = (const unsigned char *) text;
    while (true) {
        uint32_t cp = 0;
        size_t len = *p? s_utf8_decode (p, &cp): 0;
        if (len && s_fold (cp, (const char *) p, len, token, &used))
            chars++;
        else {
            //  End of a word
            if (chars >= 3 && used <= STX_INDEX_TOKEN_MAX) {
                token [used] = 0;
                if (!s_stop_word (token)) {
                    int rc = fn (token, arg);
                    if (rc)
                        return rc;
                }
            }
            used = chars = 0;
        }
        if (!len)
            break;
        p += len;
    }
    return 0;
}

const char *
stx_index_title (const Stemx__Entry *entry)
{
    const char *title = NULL;
    if (entry) {
        switch (entry->kind_case) {
            case STEMX__ENTRY__KIND_ORGANISATION:
                title = entry->organisation? entry->organisation->name: NULL;
                break;
            case STEMX__ENTRY__KIND_INITIATIVE:
                title = entry->initiative? entry->initiative->title: NULL;
                break;
            case STEMX__ENTRY__KIND_INFRASTRUCTURE:
                title = entry->infrastructure? entry->infrastructure->facility: NULL;
                break;
            case STEMX__ENTRY__KIND_MOMENT:
                title = entry->moment? entry->moment->title: NULL;
                break;
            default:
                break;
        }
    }
    return title? title: "";
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
        { "status", filter->status },
        { "word", filter->word }
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
