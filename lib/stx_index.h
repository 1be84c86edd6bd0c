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

//  The [start, end] dates of an entry ("" when it has none); pointers are
//  owned by the entry.
void
    stx_index_dates (const Stemx__Entry *entry, const char **start_p, const char **end_p);

#endif
