/*  =========================================================================
    stx_parties - the organisations an event names exist, with their own
    helix pillar, and its client time is plausible

    The monitoring reports count initiatives, openings and moments per
    helix pillar, so a pillar must be true whoever publishes: every
    Partner an entry names (an initiative's owner and partners, an
    opening's provider, a moment's organiser and co-organisers) must be a
    known organisation, and its helix_pillar must be that organisation's
    own. Known means live as an Organisation entry in the catalogue (its
    helix_pillar counts), or else registered (the pillar its key file
    declares). A key that is an entry but not an organisation, or a
    withdrawn organisation, is refused. The pillar is part of what the
    origin signs, so the broker cannot fill it in; it refuses the event.

    Every replica checks the same rule before it applies an event, with
    its trust store as the registry, so a broker that skipped it is
    caught. A replica's trust store may lag the broker's registry, so a
    replica (strict = false) does not refuse an organisation it knows
    nothing of; everything it can decide (a pillar that differs from the
    catalogue's or the key's, a missing pillar, a withdrawn organisation)
    it decides as the broker did.

    The check reads the catalogue through the caller's transaction: what
    the same transaction applied before (an organisation earlier in the
    batch) counts. The catalogue at sequence N - 1 is the same on every
    node.
    ========================================================================= */

#ifndef STX_PARTIES_H_INCLUDED
#define STX_PARTIES_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "stx_keys.h"
#include "stx_store.h"

//  Oldest client time accepted, 2000-01-01T00:00:00Z in ms
#define STX_CLIENT_TIME_MIN     946684800000LL
//  How far a client's clock may run ahead of the broker's, in ms (1 day)
#define STX_CLIENT_TIME_AHEAD   86400000LL

//  Check event against the catalogue as txn sees it and registry (may be
//  NULL): an upsert's parties name known organisations with their own
//  pillar, and client_time_ms lies in [STX_CLIENT_TIME_MIN, now_ms +
//  STX_CLIENT_TIME_AHEAD]. The broker passes its clock as now_ms, its
//  registry and strict; a replica the event's broker_time_ms, its trust
//  store and not strict (an organisation it does not know passes).
//  Returns STX_OK; STX_ERR_INVALID (an unknown or withdrawn organisation,
//  a missing or wrong pillar) or STX_ERR_BAD_DATES (client time), with a
//  text in err naming the field, e.g. "partners[1].helix_pillar: knowledge,
//  but org:x is industry"; or a storage error.
stx_status_t
    stx_parties_check (stx_txn_t *txn, const Stemx__Event *event, int64_t now_ms,
                       const stx_registry_t *registry, bool strict, char *err,
                       size_t errlen);

//  The pillar a registered key of org declares (registry may be NULL), or
//  NULL. Owned by the registry.
const char *
    stx_parties_registered (const stx_registry_t *registry, const char *org);

//  Gives the helix pillar of organisation org, or NULL if it does not know
//  it; the string must stay valid until the next call.
typedef const char *(stx_pillar_fn) (const char *org, void *arg);

//  Fill every party of entry that names an organisation but no pillar with
//  the pillar fn gives (a heap copy; entry owns it, as protobuf-c unpacked
//  or stx_json built it). Parties that have a pillar stay as they are.
void
    stx_parties_fill (Stemx__Entry *entry, stx_pillar_fn *fn, void *arg);

//  True if fn returns true for the organisation of any party of entry
//  (owner, partners, provider, organiser, co-organisers), which it is
//  called with in that order until it does; false for a NULL entry.
typedef bool (stx_party_fn) (const char *org, void *arg);
bool
    stx_parties_any (const Stemx__Entry *entry, stx_party_fn *fn, void *arg);

#endif
