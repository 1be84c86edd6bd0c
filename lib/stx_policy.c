/*  =========================================================================
    stx_policy - who may change which entry

    The owner of a withdrawn entry is kept in its tombstone (Event.owner),
    so the rules need nothing but the principal, the key's latest event and
    the new event.
    ========================================================================= */

#include <assert.h>
#include <stdbool.h>
#include <string.h>
#include "stx_policy.h"

const char *
stx_entry_owner (const Stemx__Entry *entry)
{
    const Stemx__Partner *partner = NULL;
    if (!entry)
        return "";
    switch (entry->kind_case) {
        case STEMX__ENTRY__KIND_ORGANISATION:
            return entry->organisation? entry->organisation->id: "";
        case STEMX__ENTRY__KIND_INITIATIVE:
            partner = entry->initiative? entry->initiative->owner: NULL;
            break;
        case STEMX__ENTRY__KIND_INFRASTRUCTURE:
            partner = entry->infrastructure? entry->infrastructure->provider: NULL;
            break;
        case STEMX__ENTRY__KIND_MOMENT:
            partner = entry->moment? entry->moment->organiser: NULL;
            break;
        default:
            break;
    }
    return partner && partner->org? partner->org: "";
}

stx_status_t
stx_policy_roles (const char *text, unsigned *roles_p, char *err, size_t errlen)
{
    static const struct { const char *name; unsigned bit; } names [] = {
        { "publisher", STX_ROLE_PUBLISHER },
        { "reader", STX_ROLE_READER },
        { "admin", STX_ROLE_ADMIN }
    };
    unsigned roles = 0;
    const char *p = text? text: "";
    while (*p) {
        size_t skip = strspn (p, " ,\t");
        p += skip;
        size_t len = strcspn (p, " ,\t");
        if (len == 0)
            break;
        size_t i;
        for (i = 0; i < sizeof names / sizeof names [0]; i++)
            if (strlen (names [i].name) == len && memcmp (names [i].name, p, len) == 0)
                break;
        if (i == sizeof names / sizeof names [0])
            return stx_fail (err, errlen, STX_ERR_INVALID,
                             "unknown role '%.*s' (publisher, reader or admin)",
                             (int) (len > 40? 40: len), p);
        roles |= names [i].bit;
        p += len;
    }
    *roles_p = roles;
    return STX_OK;
}

//  The owner recorded for the key's latest event: the tombstone keeps the
//  withdrawn entry's owner; an event from before owners were stamped
//  falls back to its entry.
static const char *
s_current_owner (const Stemx__Event *current)
{
    if (current->owner && *current->owner)
        return current->owner;
    return stx_entry_owner (current->entry);
}

//  True if org's roles equal those of the current live Organisation entry
//  (none when there is none).
static bool
s_same_roles (const Stemx__Organisation *org, const Stemx__Event *current)
{
    const Stemx__Organisation *was = current && current->op == STEMX__OPERATION__OP_UPSERT
                                   && current->entry? current->entry->organisation: NULL;
    size_t count = was? was->n_roles: 0;
    if (org->n_roles != count)
        return false;
    for (size_t i = 0; i < count; i++)
        if (strcmp (org->roles [i], was->roles [i]) != 0)
            return false;
    return true;
}

stx_status_t
stx_policy_check (const stx_principal_t *who, const Stemx__Event *current,
                  const Stemx__Event *event, char *err, size_t errlen)
{
    assert (who);
    assert (event);
    const char *key = event->key? event->key: "";
    bool admin = (who->roles & STX_ROLE_ADMIN) != 0;
    if (!admin && !(who->roles & STX_ROLE_PUBLISHER))
        return stx_fail (err, errlen, STX_ERR_UNAUTHORISED,
                         "%.200s: %.100s may not publish (no publisher role)", key, who->org);

    const char *owner = current? s_current_owner (current): NULL;
    bool is_org = strncmp (key, "org:", 4) == 0;
    if (event->op == STEMX__OPERATION__OP_WITHDRAW) {
        if (admin || (owner && strcmp (owner, who->org) == 0))
            return STX_OK;
        return stx_fail (err, errlen, STX_ERR_UNAUTHORISED, "%.200s: owned by %.100s, not %.100s",
                         key, owner? owner: "nobody", who->org);
    }
    //  Upsert: the organisation's own entry, or an admin's. An organisation
    //  may not claim another pillar than it is registered with (other
    //  entries take their partners' pillars from here) nor give itself
    //  roles in the ecosystem: those are the admin's to record.
    if (is_org) {
        if (admin)
            return STX_OK;
        if (strcmp (key, who->org) != 0)
            return stx_fail (err, errlen, STX_ERR_UNAUTHORISED,
                             "%.200s: only the organisation itself or an admin may write it, "
                             "not %.100s", key, who->org);
        const Stemx__Organisation *org = event->entry? event->entry->organisation: NULL;
        if (org && who->pillar && *who->pillar && strcmp (org->helix_pillar, who->pillar) != 0)
            return stx_fail (err, errlen, STX_ERR_UNAUTHORISED,
                             "%.200s: helix_pillar '%.40s' differs from the registered '%.40s'; "
                             "ask VLAIO to change the registration", key, org->helix_pillar,
                             who->pillar);
        if (org && !s_same_roles (org, current))
            return stx_fail (err, errlen, STX_ERR_UNAUTHORISED,
                             "%.200s: roles are recorded by an admin (VLAIO)", key);
        return STX_OK;
    }
    const char *new_owner = stx_entry_owner (event->entry);
    if (strcmp (new_owner, who->org) != 0)
        return stx_fail (err, errlen, STX_ERR_UNAUTHORISED,
                         "%.200s: names %.100s as owner, but the publisher is %.100s",
                         key, *new_owner? new_owner: "nobody", who->org);
    if (owner && *owner && strcmp (owner, who->org) != 0)
        return stx_fail (err, errlen, STX_ERR_UNAUTHORISED, "%.200s: owned by %.100s, not %.100s",
                         key, owner, who->org);
    return STX_OK;
}
