/*  =========================================================================
    stx_index - which secondary-index keys an entry has, and whether an
    entry matches a filter

    Pure functions, no LMDB: stx_store keeps one DUPSORT database mapping
    "<index>=<value>" to entry keys and asks this module what to put there
    and whether a candidate really matches. Indexes:
      kind=<kind name>        every entry
      od=<OD code>            initiative od_codes, infra od_code, moment topic_od_codes
      helix=<pillar>          organisation's own pillar; owner/partners,
                              provider, organiser/co_organisers pillars
      org=<org id>            organisation itself; owner/partners, provider,
                              organiser/co_organisers
      muni=<municipality>     organisation, initiative, infra location, moment location
      theme=<theme>           themes of initiative, infra and moment
      status=<status>         initiative status
      start=<YYYY-MM-DD>      initiative period.start, moment date, infra
                              earliest availability from
      word=<token>            search tokens (stx_index_tokens) of the title
                              or name, short name, facility, summary and
                              description
    A withdrawn entry (tombstone) has no index keys. Empty values are not
    indexed. An entry matches a filter field exactly when it has that
    index key, so the index and the final check always agree.
    ========================================================================= */

#ifndef STX_INDEX_H_INCLUDED
#define STX_INDEX_H_INCLUDED

#include <stdbool.h>
#include "stx_json.h"

//  A query over the catalogue. NULL fields do not filter. from/to select
//  entries whose [start, end] overlaps [from, to] (an entry without an end
//  is open ended; organisations have no dates and never match a date
//  filter).
typedef struct {
    stx_kind_t kind;            //  STX_KIND_NONE = every kind
    const char *od;
    const char *helix;
    const char *org;
    const char *municipality;
    const char *theme;
    const char *status;
    const char *from;           //  YYYY-MM-DD
    const char *to;             //  YYYY-MM-DD
    const char *word;           //  one search token, as stx_index_tokens makes
                                //  them (stx_txn_query checks it on the
                                //  candidates but does not plan with it)
} stx_filter_t;

//  Called once per index key; return non-zero to stop.
typedef int (stx_index_fn) (const char *index_key, void *arg);

//  Call fn for every index key of entry (duplicates removed), in strcmp
//  order; entry may be NULL (no keys). index_key is valid only during the
//  call. Returns the first non-zero value fn returned, else 0.
int
    stx_index_keys (const Stemx__Entry *entry, stx_index_fn *fn, void *arg);

//  True if entry matches every field of filter.
bool
    stx_index_match (const Stemx__Entry *entry, const stx_filter_t *filter);

//  Search tokens. Text (UTF-8) is cut into words at every character that
//  is not a letter or digit (so "STEM-academie" gives "stem" and
//  "academie"); each word is lowercased and its accents folded (Latin-1
//  and Latin Extended-A: "Industriële" -> "industriele", "Ĳzer" ->
//  "ijzer", "ß" -> "ss"), so a search finds a word typed with or without
//  its diacritics. Letters of other scripts are kept as they are. Words
//  of fewer than 3 characters, of more than STX_INDEX_TOKEN_MAX bytes,
//  and common Dutch and English stop words ("het", "een", "van", "voor",
//  "the", "and", ...) are dropped. Calls fn for each token in text order,
//  duplicates included; token is valid only during the call. Returns the
//  first non-zero value fn returned, else 0.
#define STX_INDEX_TOKEN_MAX 64
int
    stx_index_tokens (const char *text, stx_index_fn *fn, void *arg);

//  The text a search ranks as the entry's title: the title (initiative,
//  moment), name (organisation) or facility (infrastructure); "" when
//  none. Owned by the entry.
const char *
    stx_index_title (const Stemx__Entry *entry);

//  The [start, end] dates of an entry ("" when it has none); pointers are
//  owned by the entry.
void
    stx_index_dates (const Stemx__Entry *entry, const char **start_p, const char **end_p);

#endif
