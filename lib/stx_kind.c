/*  =========================================================================
    stx_kind - the four kinds of catalogue entries and their keys

    Pure functions over strings and entries; any thread.
    ========================================================================= */

#include <string.h>
#include "stx_kind.h"

stx_kind_t
stx_kind_of_key (const char *key)
{
    if (!key)
        return STX_KIND_NONE;
    if (strncmp (key, "org:", 4) == 0)
        return STX_KIND_ORGANISATION;
    if (strncmp (key, "ini:", 4) == 0)
        return STX_KIND_INITIATIVE;
    if (strncmp (key, "infra:", 6) == 0)
        return STX_KIND_INFRASTRUCTURE;
    if (strncmp (key, "moment:", 7) == 0)
        return STX_KIND_MOMENT;
    return STX_KIND_NONE;
}

stx_kind_t
stx_kind_from_name (const char *name)
{
    static const struct {
        const char *name;
        stx_kind_t kind;
    } s_names [] = {
        { "organisation", STX_KIND_ORGANISATION },
        { "organisations", STX_KIND_ORGANISATION },
        { "org", STX_KIND_ORGANISATION },
        { "initiative", STX_KIND_INITIATIVE },
        { "initiatives", STX_KIND_INITIATIVE },
        { "ini", STX_KIND_INITIATIVE },
        { "infrastructure", STX_KIND_INFRASTRUCTURE },
        { "infrastructures", STX_KIND_INFRASTRUCTURE },
        { "infrastructure_opening", STX_KIND_INFRASTRUCTURE },
        { "infrastructure_openings", STX_KIND_INFRASTRUCTURE },
        { "infra", STX_KIND_INFRASTRUCTURE },
        { "moment", STX_KIND_MOMENT },
        { "moments", STX_KIND_MOMENT },
        { "network_moment", STX_KIND_MOMENT },
        { "network_moments", STX_KIND_MOMENT }
    };
    if (!name)
        return STX_KIND_NONE;
    for (size_t index = 0; index < sizeof (s_names) / sizeof (s_names [0]); index++)
        if (strcmp (name, s_names [index].name) == 0)
            return s_names [index].kind;
    return STX_KIND_NONE;
}

const char *
stx_kind_name (stx_kind_t kind)
{
    switch (kind) {
        case STX_KIND_NONE:           return "none";
        case STX_KIND_ORGANISATION:   return "organisation";
        case STX_KIND_INITIATIVE:     return "initiative";
        case STX_KIND_INFRASTRUCTURE: return "infrastructure";
        case STX_KIND_MOMENT:         return "moment";
    }
    return "none";
}

stx_kind_t
stx_entry_kind (const Stemx__Entry *entry)
{
    if (!entry)
        return STX_KIND_NONE;
    switch (entry->kind_case) {
        case STEMX__ENTRY__KIND_ORGANISATION:
            return entry->organisation? STX_KIND_ORGANISATION: STX_KIND_NONE;
        case STEMX__ENTRY__KIND_INITIATIVE:
            return entry->initiative? STX_KIND_INITIATIVE: STX_KIND_NONE;
        case STEMX__ENTRY__KIND_INFRASTRUCTURE:
            return entry->infrastructure? STX_KIND_INFRASTRUCTURE: STX_KIND_NONE;
        case STEMX__ENTRY__KIND_MOMENT:
            return entry->moment? STX_KIND_MOMENT: STX_KIND_NONE;
        default:
            return STX_KIND_NONE;
    }
}

const char *
stx_entry_key (const Stemx__Entry *entry)
{
    const char *key = NULL;
    switch (stx_entry_kind (entry)) {
        case STX_KIND_ORGANISATION:   key = entry->organisation->id; break;
        case STX_KIND_INITIATIVE:     key = entry->initiative->id; break;
        case STX_KIND_INFRASTRUCTURE: key = entry->infrastructure->id; break;
        case STX_KIND_MOMENT:         key = entry->moment->id; break;
        case STX_KIND_NONE:           break;
    }
    return key? key: "";
}
