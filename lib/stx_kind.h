/*  =========================================================================
    stx_kind - the four kinds of catalogue entries and their keys

    An entry is an organisation (key "org:..."), an initiative ("ini:..."),
    an infrastructure opening ("infra:...") or a network moment
    ("moment:..."). Used by the JSON conversion, the validation and
    everything that indexes or shows entries; depends on nothing above the
    generated protobuf code.
    ========================================================================= */

#ifndef STX_KIND_H_INCLUDED
#define STX_KIND_H_INCLUDED

#include "stemx.pb-c.h"

typedef enum {
    STX_KIND_NONE = 0,
    STX_KIND_ORGANISATION,      //  "organisation", key prefix "org:"
    STX_KIND_INITIATIVE,        //  "initiative", key prefix "ini:"
    STX_KIND_INFRASTRUCTURE,    //  "infrastructure", key prefix "infra:"
    STX_KIND_MOMENT             //  "moment", key prefix "moment:"
} stx_kind_t;

//  Kind named by a key's prefix; STX_KIND_NONE if none matches.
stx_kind_t
    stx_kind_of_key (const char *key);

//  Kind from its name ("organisation", "initiative", "infrastructure",
//  "moment"; the plurals and "org", "ini", "infra" are accepted too);
//  STX_KIND_NONE if unknown.
stx_kind_t
    stx_kind_from_name (const char *name);

//  Canonical name of a kind ("organisation", ...); "none" for NONE.
const char *
    stx_kind_name (stx_kind_t kind);

//  Kind held by an entry; STX_KIND_NONE for an empty entry.
stx_kind_t
    stx_entry_kind (const Stemx__Entry *entry);

//  The id (key) of an entry; "" for an empty entry. Owned by the entry.
const char *
    stx_entry_key (const Stemx__Entry *entry);

#endif
