/*  =========================================================================
    stx_json - JSON <-> protobuf conversion of catalogue entries (jansson)

    The JSON shape of each entry is the one of config/sample/catalogue.json,
    so partners can publish what they already have in that form. The id's
    prefix names the kind: org: organisation, ini: initiative, infra:
    infrastructure opening, moment: network moment. A field the schema does
    not know is refused (a typo must not vanish silently); JSON null equals
    an absent field. Partner references (owner, partners, provider,
    organiser, co_organisers) are given either as "org:x" or as
    {"org": "org:x", "helix_pillar": "..."}; output always uses the object
    form.

    Conversion checks structure (types, required fields present, numbers in
    range); values are checked against the taxonomy by stx_validate.
    ========================================================================= */

#ifndef STX_JSON_H_INCLUDED
#define STX_JSON_H_INCLUDED

#include <jansson.h>
#include "stx_error.h"
#include "stx_kind.h"

//  Convert one JSON entry object into an Entry. On success the caller owns
//  *entry_p and frees it with stx_entry_free. On failure returns
//  STX_ERR_INVALID (missing required field, wrong type, unknown field,
//  unknown kind prefix, number not an integer in 0..2^32-1) or
//  STX_ERR_NOMEM, with err naming the entry and field, e.g.
//  "ini:x: period.start: required", "ini:x: partners[1].org: required",
//  "id: required". A top-level "_meta" member (as written by
//  stx_json_from_event) is ignored, so exported events can be re-imported.
stx_status_t
    stx_json_to_entry (const json_t *object, Stemx__Entry **entry_p, char *err, size_t errlen);

//  Convert an entry to JSON. Empty strings and zero numbers (proto3's "not
//  given") are left out; repeated fields are always present, [] when
//  empty; partners are objects {"org", "helix_pillar" when known}. Bytes
//  that are not UTF-8 (an unvalidated entry) are printed as U+FFFD.
//  Caller owns the result (json_decref); NULL only if out of memory.
json_t *
    stx_json_from_entry (const Stemx__Entry *entry);

//  Convert an event to JSON: the entry's fields (or just "id" for a
//  withdrawal) plus a "_meta" object {seq, version, op, origin, node,
//  broker_time, client_time} with times in ISO-8601 UTC with milliseconds
//  ("2026-11-28T11:47:08.123Z", null when 0), op "upsert", "withdraw" or
//  "unspecified". Caller owns the result.
json_t *
    stx_json_from_event (const Stemx__Event *event);

//  Free an entry made by stx_json_to_entry or unpacked by protobuf-c;
//  accepts NULL and sets *entry_p to NULL.
void
    stx_entry_free (Stemx__Entry **entry_p);

#endif
