/*  =========================================================================
    stx_search - ranked word search over the catalogue's word index

    A search takes tokens (stx_index_tokens) and ranks the live entries
    filed under any of their word=<token> keys: most distinct tokens
    first, then most of them in the title, then key order. It merges the
    word lists in key order and checks the named filters by probing the
    index, so an entry it will not print is never loaded, except where a
    rank needs its title (the last rank that the limit cuts) or a date
    filter needs its dates.
    =========================================================================
*/

#ifndef STX_SEARCH_H_INCLUDED
#define STX_SEARCH_H_INCLUDED

#include "stx_index.h"
#include "stx_store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Most tokens one search takes (a bit each in stx_search_hit_t.mask)
#define STX_SEARCH_TERMS_MAX 32

typedef struct {
    const char *key;            //  entry key
    const Stemx__Event *event;  //  its latest event (an upsert)
    uint32_t mask;              //  bit t: it has terms [t]
    int matched;                //  distinct terms it has
    int in_title;               //  of which in its title
} stx_search_hit_t;

//  Called per hit in rank order; the hit and its event are valid only
//  during the call. Return non-zero to stop.
typedef int (stx_search_fn) (const stx_search_hit_t *hit, void *arg);

//  Rank the entries of txn that have any of terms [0 .. nterms) (at most
//  STX_SEARCH_TERMS_MAX, distinct) and match filter (may be NULL; its word
//  too is a filter), and call fn for the first limit of them (0 = all).
//  *found_p (may be NULL) gets how many match in all. Errors:
//  STX_ERR_STORAGE, STX_ERR_MALFORMED (an undecodable entry),
//  STX_ERR_INVALID (a store without index, STX_STORE_NOINDEX; with no
//  terms nothing is read, so nothing is found and STX_OK).
stx_status_t
    stx_search (stx_txn_t *txn, char *const terms [], size_t nterms,
                const stx_filter_t *filter, size_t limit, stx_search_fn *fn, void *arg,
                size_t *found_p);

#ifdef __cplusplus
}
#endif

#endif
