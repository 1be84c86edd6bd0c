/*  =========================================================================
    stx_policy - who may change which entry

    Pure rules, no keys and no sockets: the broker finds the principal from
    the authenticated CURVE key (stx_keys) and asks this module, inside the
    write transaction that sequences the event, whether that principal may
    apply it given the entry's current state. The rules (SECURITY.md):
      * publishing needs the publisher or the admin role;
      * an organisation creates entries it owns, and updates or withdraws
        only entries it owns (the owner of an entry is its organisation
        itself, or the initiative's owner, the opening's provider, the
        moment's organiser); ownership cannot be handed to another
        organisation by an update;
      * an admin (VLAIO) may withdraw any entry and write any Organisation
        entry; an organisation may write its own Organisation entry, with
        the helix pillar it is registered with and the roles an admin
        recorded (none until then);
      * a withdrawn key may be taken up again only by its last owner (or,
        for an Organisation entry, an admin).
    ========================================================================= */

#ifndef STX_POLICY_H_INCLUDED
#define STX_POLICY_H_INCLUDED

#include <stdbool.h>
#include "stx_error.h"

#define STX_ROLE_PUBLISHER  1   //  may publish its own entries
#define STX_ROLE_READER     2   //  may replicate (HELLO, SNAPSHOT, FETCH)
#define STX_ROLE_ADMIN      4   //  VLAIO: organisations and withdrawals of anything

//  An authenticated partner, as the broker's registry knows it.
typedef struct {
    const char *org;            //  "org:<slug>"
    const char *pillar;         //  its helix pillar
    unsigned roles;             //  STX_ROLE_* bits
} stx_principal_t;

//  The organisation owning entry: its own id for an Organisation, else the
//  initiative's owner, the opening's provider or the moment's organiser.
//  "" when the entry is NULL or names none. Owned by the entry.
const char *
    stx_entry_owner (const Stemx__Entry *entry);

//  Parse a role list such as "publisher, reader" or "admin" into STX_ROLE_*
//  bits. Returns STX_OK, or STX_ERR_INVALID naming the unknown role.
stx_status_t
    stx_policy_roles (const char *text, unsigned *roles_p, char *err, size_t errlen);

//  May who apply event (op, key, entry), given current, the key's latest
//  event (NULL if the key was never seen; a tombstone if withdrawn)?
//  Returns STX_OK or STX_ERR_UNAUTHORISED with err saying why, e.g.
//  "ini:x: owned by org:a, not org:b".
stx_status_t
    stx_policy_check (const stx_principal_t *who, const Stemx__Event *current,
                      const Stemx__Event *event, char *err, size_t errlen);

#endif
