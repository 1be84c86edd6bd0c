/*  =========================================================================
    stx_validate - checks an entry or event before it is sequenced

    Stateless: everything that needs no catalogue lookup. Checks the key
    pattern (^(org|ini|infra|moment):[a-z0-9-]+$), required fields, codes
    against the taxonomy, dates (YYYY-MM-DD, real calendar days), times
    (HH:MM), end not before start, UTF-8 of every string, and the limits.
    The broker runs it on every event; replicas trust the broker's log.
    ========================================================================= */

#ifndef STX_VALIDATE_H_INCLUDED
#define STX_VALIDATE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "stx_error.h"
#include "stx_taxonomy.h"
#include "stx_text.h"

//  Size limits; stx_limits_default gives the defaults in brackets.
typedef struct {
    size_t max_entry_bytes;     //  packed Entry size [65536]
    size_t max_string;          //  bytes in any one string field [4096]
    size_t max_list;            //  items in any repeated field [256]
    size_t max_key;             //  bytes in an entry key [200]
} stx_limits_t;

//  Fill limits with the defaults.
void
    stx_limits_default (stx_limits_t *limits);

//  Validate one entry (limits may be NULL for the defaults; so in
//  stx_validate_event; taxonomy may be NULL: then codes are not checked). Returns STX_OK, or STX_ERR_INVALID,
//  STX_ERR_UNKNOWN_CODE, STX_ERR_BAD_DATES, STX_ERR_BAD_UTF8 or
//  STX_ERR_TOO_LARGE with err naming the entry and field, e.g.
//  "ini:x: od_codes[1]: unknown OD code 'OD 9.9.9'".
stx_status_t
    stx_validate_entry (const stx_taxonomy_t *taxonomy, const stx_limits_t *limits,
                        const Stemx__Entry *entry, char *err, size_t errlen);

//  Validate a publisher's event: event_id is 16 bytes, key is well formed
//  and matches the entry's id and kind, op is UPSERT with an entry or
//  WITHDRAW without one, then the entry itself. Same errors as above,
//  STX_ERR_MALFORMED for a structurally wrong envelope.
stx_status_t
    stx_validate_event (const stx_taxonomy_t *taxonomy, const stx_limits_t *limits,
                        const Stemx__Event *event, char *err, size_t errlen);

//  Why node, a HELLO node name, is refused (a static text: "is longer than
//  64 bytes", "is not valid UTF-8", "holds control characters"), or NULL
//  if it is fine: UTF-8, at most STX_NODE_MAX bytes, no C0, DEL or C1.
#define STX_NODE_MAX 64
const char *
    stx_node_name_invalid (const char *node);

//  True if text is a real calendar date in the form YYYY-MM-DD.
bool
    stx_date_valid (const char *text);

#endif
