/*  =========================================================================
    stx_parties - the organisations an event names exist, with their own
    helix pillar, and its client time is plausible

    Pure over a transaction: no state, called by the broker before it
    sequences an event and by a replica before it applies one.
    ========================================================================= */

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stx_parties.h"
#include "stx_keys.h"

const char *
stx_parties_registered (const stx_registry_t *registry, const char *org)
{
    assert (org);
    size_t size = registry? stx_registry_size (registry): 0;
    for (size_t index = 0; index < size; index++) {
        const stx_key_t *key = stx_registry_key (registry, index);
        if (key && key->org && strcmp (key->org, org) == 0 && key->pillar && *key->pillar)
            return key->pillar;
    }
    return NULL;
}

typedef struct {
    stx_txn_t *txn;
    const stx_registry_t *registry;
    bool strict;
    char *err;
    size_t errlen;
} s_check_t;

//  One party: field names it in refusals ("owner", "partners[2]")
static stx_status_t
s_party_check (s_check_t *check, const Stemx__Partner *party, const char *field)
{
    char *err = check->err;
    size_t errlen = check->errlen;
    if (!party)
        return STX_OK;          //  a required party's absence is stx_validate's
    const char *org = party->org? party->org: "";
    if (!*org)
        return stx_fail (err, errlen, STX_ERR_INVALID, "%s.org: missing", field);
    Stemx__Event *current = NULL;
    stx_status_t status = stx_txn_get (check->txn, org, &current);
    if (status != STX_OK && status != STX_ERR_NOT_FOUND)
        return stx_fail (err, errlen, status, "%s.org: %.200s: %s", field, org,
                         stx_strerror (status));
    status = STX_OK;
    const char *own = NULL;
    if (current) {
        const Stemx__Organisation *organisation =
            current->op == STEMX__OPERATION__OP_UPSERT && current->entry
            && current->entry->kind_case == STEMX__ENTRY__KIND_ORGANISATION
            ? current->entry->organisation: NULL;
        if (!organisation) {
            status = stx_fail (err, errlen, STX_ERR_INVALID, "%s.org: %.200s is %s", field,
                               org, current->op == STEMX__OPERATION__OP_UPSERT
                               ? "not an organisation": "withdrawn");
            stx_event_free (&current);
            return status;
        }
        own = organisation->helix_pillar;
    }
    if (!own || !*own)
        own = stx_parties_registered (check->registry, org);
    if (!own) {
        stx_event_free (&current);
        if (!check->strict)
            return STX_OK;
        return stx_fail (err, errlen, STX_ERR_INVALID,
                         "%s.org: %.200s is not a known organisation (publish its "
                         "organisation entry first)", field, org);
    }
    const char *given = party->helix_pillar? party->helix_pillar: "";
    if (!*given)
        status = stx_fail (err, errlen, STX_ERR_INVALID,
                           "%s.helix_pillar: missing; %.200s is %s", field, org, own);
    else
    if (strcmp (given, own) != 0)
        status = stx_fail (err, errlen, STX_ERR_INVALID,
                           "%s.helix_pillar: %.40s, but %.200s is %s", field, given, org, own);
    stx_event_free (&current);
    return status;
}

//  Call fn for every party of entry with its field name; stops at the
//  first non-OK status and returns it
typedef stx_status_t (s_party_fn) (Stemx__Partner *party, const char *field, void *arg);

static stx_status_t
s_each_list (const char *name, Stemx__Partner **parties, size_t count, s_party_fn *fn,
             void *arg)
{
    stx_status_t status = STX_OK;
    for (size_t i = 0; status == STX_OK && i < count; i++) {
        char field [48];
        snprintf (field, sizeof field, "%s[%zu]", name, i);
        status = fn (parties [i], field, arg);
    }
    return status;
}

static stx_status_t
s_each (const Stemx__Entry *entry, s_party_fn *fn, void *arg)
{
    stx_status_t status = STX_OK;
    if (!entry)
        return status;
    if (entry->kind_case == STEMX__ENTRY__KIND_INITIATIVE && entry->initiative) {
        const Stemx__Initiative *ini = entry->initiative;
        status = fn (ini->owner, "owner", arg);
        if (status == STX_OK)
            status = s_each_list ("partners", ini->partners, ini->n_partners, fn, arg);
    }
    else
    if (entry->kind_case == STEMX__ENTRY__KIND_INFRASTRUCTURE && entry->infrastructure)
        status = fn (entry->infrastructure->provider, "provider", arg);
    else
    if (entry->kind_case == STEMX__ENTRY__KIND_MOMENT && entry->moment) {
        const Stemx__NetworkMoment *moment = entry->moment;
        status = fn (moment->organiser, "organiser", arg);
        if (status == STX_OK)
            status = s_each_list ("co_organisers", moment->co_organisers,
                                  moment->n_co_organisers, fn, arg);
    }
    return status;
}

static stx_status_t
s_check_one (Stemx__Partner *party, const char *field, void *arg)
{
    return s_party_check ((s_check_t *) arg, party, field);
}

stx_status_t
stx_parties_check (stx_txn_t *txn, const Stemx__Event *event, int64_t now_ms,
                   const stx_registry_t *registry, bool strict, char *err, size_t errlen)
{
    assert (txn);
    assert (event);
    if (event->client_time_ms < STX_CLIENT_TIME_MIN
    ||  event->client_time_ms > now_ms + STX_CLIENT_TIME_AHEAD)
        return stx_fail (err, errlen, STX_ERR_BAD_DATES,
                         "client_time_ms: %" PRId64 " is before 2000 or more than a day "
                         "ahead of the broker's clock", event->client_time_ms);
    if (event->op != STEMX__OPERATION__OP_UPSERT)
        return STX_OK;
    s_check_t check = { txn, registry, strict, err, errlen };
    return s_each (event->entry, s_check_one, &check);
}

typedef struct {
    stx_pillar_fn *fn;
    void *arg;
} s_fill_t;

static stx_status_t
s_fill_one (Stemx__Partner *party, const char *field, void *arg)
{
    (void) field;
    s_fill_t *fill = (s_fill_t *) arg;
    if (party && party->org && *party->org
    &&  (!party->helix_pillar || !*party->helix_pillar)) {
        const char *pillar = fill->fn (party->org, fill->arg);
        if (pillar && *pillar) {
            if (party->helix_pillar && party->helix_pillar != protobuf_c_empty_string)
                free (party->helix_pillar);
            party->helix_pillar = strdup (pillar);
            assert (party->helix_pillar);
        }
    }
    return STX_OK;
}

void
stx_parties_fill (Stemx__Entry *entry, stx_pillar_fn *fn, void *arg)
{
    assert (fn);
    s_fill_t fill = { fn, arg };
    s_each (entry, s_fill_one, &fill);
}

typedef struct {
    stx_party_fn *fn;
    void *arg;
} s_any_t;

static stx_status_t
s_any_one (Stemx__Partner *party, const char *field, void *arg)
{
    (void) field;
    s_any_t *any = (s_any_t *) arg;
    if (party && party->org && *party->org && any->fn (party->org, any->arg))
        return STX_ERR_INVALID;     //  found: stops the walk
    return STX_OK;
}

bool
stx_parties_any (const Stemx__Entry *entry, stx_party_fn *fn, void *arg)
{
    assert (fn);
    s_any_t any = { fn, arg };
    return s_each (entry, s_any_one, &any) != STX_OK;
}
