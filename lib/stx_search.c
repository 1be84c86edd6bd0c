/*  =========================================================================
    stx_search - ranked word search over the catalogue's word index

    Runs in the caller's thread, on the caller's read transaction; owns
    only the candidate list of one call.

    Three steps. The word lists of the terms are merged in key order (one
    LMDB cursor each), which gives every candidate its term mask without
    a hash table. Each candidate is checked against the filter's named
    index keys by probes (MDB_GET_BOTH); only a date filter, or a value too
    long to be indexed, needs the entry itself. What passes is kept as a
    key and a mask. Then the ranks (terms matched) are walked from the
    top: every entry of a rank wholly inside the limit has its title read;
    the rank the limit cuts is read in key order only until enough of its
    entries have every term in the title; lower ranks are never read. What
    is shown is read once more, for the caller (its event is not kept, so
    `--limit 0` holds keys, not the catalogue).
    =========================================================================
*/

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stx_search.h"

//  Named filter fields, each checked by one probe per candidate
#define S_PROBES_MAX 8

typedef struct {
    size_t key;                 //  offset of its key in the arena
    uint32_t mask;
    int matched;
    int in_title;               //  -1 until its title is read
} s_candidate_t;

typedef struct {
    stx_txn_t *txn;
    char *const *terms;
    size_t nterms;
    const stx_filter_t *filter;
    char probes [S_PROBES_MAX][1024];
    size_t nprobes;
    bool load;                  //  the filter needs the loaded entry
    char *arena;                //  candidate keys, NUL-terminated
    size_t arena_used, arena_max;
    s_candidate_t *items;
    size_t count, max;
} s_search_t;

static void
s_add_probe (s_search_t *self, const char *prefix, const char *value)
{
    if (!value || !*value)
        return;
    int len = snprintf (self->probes [self->nprobes], sizeof self->probes [0], "%s=%s",
                        prefix, value);
    if (len < 0 || (size_t) len >= sizeof self->probes [0])
        self->load = true;      //  too long to be indexed: stx_index_match decides
    else
        self->nprobes++;
}

//  Whether the filter's named index keys all hold key (and, where only the
//  entry can tell, whether it matches).
static stx_status_t
s_passes (s_search_t *self, const char *key, bool *passes)
{
    *passes = true;
    for (size_t i = 0; i < self->nprobes && *passes; i++) {
        stx_status_t status = stx_txn_index_has (self->txn, self->probes [i], key, passes);
        if (status == STX_ERR_TOO_LARGE) {
            self->load = true;  //  never indexed: stx_index_match decides
            *passes = true;
        }
        else
        if (status != STX_OK)
            return status;
    }
    if (!*passes || !self->load)
        return STX_OK;
    Stemx__Event *event = NULL;
    stx_status_t status = stx_txn_get (self->txn, key, &event);
    if (status == STX_ERR_NOT_FOUND) {
        *passes = false;
        return STX_OK;
    }
    if (status == STX_OK)
        *passes = event->op == STEMX__OPERATION__OP_UPSERT
               && stx_index_match (event->entry, self->filter);
    stx_event_free (&event);
    return status;
}

static void
s_keep (s_search_t *self, const char *key, uint32_t mask)
{
    size_t len = strlen (key) + 1;
    if (self->arena_used + len > self->arena_max) {
        self->arena_max = self->arena_max? self->arena_max * 2: 64 * 1024;
        while (self->arena_used + len > self->arena_max)
            self->arena_max *= 2;
        self->arena = (char *) realloc (self->arena, self->arena_max);
        assert (self->arena);
    }
    if (self->count == self->max) {
        self->max = self->max? self->max * 2: 1024;
        self->items = (s_candidate_t *) realloc (self->items, self->max * sizeof *self->items);
        assert (self->items);
    }
    memcpy (self->arena + self->arena_used, key, len);
    self->items [self->count++] = (s_candidate_t) {
        self->arena_used, mask, __builtin_popcount (mask), -1
    };
    self->arena_used += len;
}

//  Merge the word lists of the terms in key order; keep every entry that
//  passes the filter with the mask of the terms it has.
static stx_status_t
s_merge (s_search_t *self)
{
    stx_postings_t *lists [STX_SEARCH_TERMS_MAX] = { NULL };
    stx_status_t status = STX_OK;
    for (size_t t = 0; t < self->nterms && status == STX_OK; t++) {
        char index_key [STX_INDEX_TOKEN_MAX + 8];
        snprintf (index_key, sizeof index_key, "word=%s", self->terms [t]);
        status = stx_txn_postings (self->txn, index_key, &lists [t]);
    }
    while (status == STX_OK) {
        const char *least = NULL;
        for (size_t t = 0; t < self->nterms; t++) {
            const char *key = stx_postings_key (lists [t]);
            if (key && (!least || strcmp (key, least) < 0))
                least = key;
        }
        if (!least)
            break;
        char key [512];
        snprintf (key, sizeof key, "%s", least);
        uint32_t mask = 0;
        for (size_t t = 0; t < self->nterms && status == STX_OK; t++) {
            const char *at = stx_postings_key (lists [t]);
            if (at && strcmp (at, key) == 0) {
                mask |= 1u << t;
                status = stx_postings_next (lists [t]);
            }
        }
        bool passes = false;
        if (status == STX_OK)
            status = s_passes (self, key, &passes);
        if (status == STX_OK && passes)
            s_keep (self, key, mask);
    }
    for (size_t t = 0; t < self->nterms; t++)
        stx_postings_destroy (&lists [t]);
    return status;
}

typedef struct {
    char *const *terms;
    size_t nterms;
    uint32_t mask;
} s_title_t;

static int
s_title_term (const char *token, void *arg)
{
    s_title_t *self = (s_title_t *) arg;
    for (size_t t = 0; t < self->nterms; t++)
        if (strcmp (self->terms [t], token) == 0)
            self->mask |= 1u << t;
    return 0;
}

//  Read a candidate's title: how many of its terms are in it.
static stx_status_t
s_read_title (s_search_t *self, s_candidate_t *item)
{
    Stemx__Event *event = NULL;
    stx_status_t status = stx_txn_get (self->txn, self->arena + item->key, &event);
    if (status != STX_OK)
        return status;
    s_title_t title = { self->terms, self->nterms, 0 };
    stx_index_tokens (stx_index_title (event->entry), s_title_term, &title);
    item->in_title = __builtin_popcount (item->mask & title.mask);
    stx_event_free (&event);
    return STX_OK;
}

//  Rank order: most terms, most of them in the title (-1 until read),
//  then key order (the arena holds the keys in key order)
static int
s_compare (const void *a, const void *b)
{
    const s_candidate_t *x = (const s_candidate_t *) a, *y = (const s_candidate_t *) b;
    if (x->matched != y->matched)
        return y->matched - x->matched;
    if (x->in_title != y->in_title)
        return y->in_title - x->in_title;
    return x->key < y->key? -1: x->key > y->key;
}

//  Read the titles that decide the order of the first limit candidates
//  (sorted by matched, then key); on return those come first, in rank
//  order, and *shown says how many.
static stx_status_t
s_rank (s_search_t *self, size_t limit, size_t *shown)
{
    size_t want = limit && limit < self->count? limit: self->count;
    size_t first = 0;           //  of the rank in hand
    stx_status_t status = STX_OK;
    while (first < want && status == STX_OK) {
        size_t end = first;
        while (end < self->count && self->items [end].matched == self->items [first].matched)
            end++;
        //  The rank the limit cuts needs only as many entries with every
        //  term in the title as it has room for: those lead, in key order
        size_t room = want - first, full = 0;
        int best = self->items [first].matched;
        size_t i = first;
        for (; i < end && status == STX_OK && (end <= want || full < room); i++) {
            status = s_read_title (self, &self->items [i]);
            full += self->items [i].in_title == best;
        }
        //  Those not read stay after them, and out of the limit
        if (status == STX_OK)
            qsort (self->items + first, i - first, sizeof *self->items, s_compare);
        first = end;
    }
    *shown = want;
    return status;
}

stx_status_t
stx_search (stx_txn_t *txn, char *const terms [], size_t nterms,
            const stx_filter_t *filter, size_t limit, stx_search_fn *fn, void *arg,
            size_t *found_p)
{
    assert (txn);
    assert (terms || nterms == 0);
    assert (nterms <= STX_SEARCH_TERMS_MAX);
    assert (fn);
    stx_filter_t none = { .kind = STX_KIND_NONE };
    s_search_t self = { .txn = txn, .terms = terms, .nterms = nterms,
                        .filter = filter? filter: &none };
    filter = self.filter;
    s_add_probe (&self, "kind", filter->kind != STX_KIND_NONE? stx_kind_name (filter->kind)
                                                                : NULL);
    s_add_probe (&self, "od", filter->od);
    s_add_probe (&self, "helix", filter->helix);
    s_add_probe (&self, "org", filter->org);
    s_add_probe (&self, "muni", filter->municipality);
    s_add_probe (&self, "theme", filter->theme);
    s_add_probe (&self, "status", filter->status);
    s_add_probe (&self, "word", filter->word);
    self.load = self.load || (filter->from && *filter->from) || (filter->to && *filter->to);

    stx_status_t status = s_merge (&self);
    size_t shown = 0;
    if (status == STX_OK) {
        if (self.count)         //  items stays NULL while nothing matched
            qsort (self.items, self.count, sizeof *self.items, s_compare);
        status = s_rank (&self, limit, &shown);
    }
    for (size_t i = 0; i < shown && status == STX_OK; i++) {
        s_candidate_t *item = &self.items [i];
        Stemx__Event *event = NULL;
        status = stx_txn_get (txn, self.arena + item->key, &event);
        if (status == STX_OK) {
            stx_search_hit_t hit = { self.arena + item->key, event, item->mask,
                                     item->matched, item->in_title };
            int stop = fn (&hit, arg);
            stx_event_free (&event);
            if (stop)
                break;
        }
    }
    if (found_p)
        *found_p = self.count;
    free (self.items);
    free (self.arena);
    return status;
}
