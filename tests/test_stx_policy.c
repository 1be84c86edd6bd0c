/*  =========================================================================
    test_stx_policy - who may change which entry

    The rules of stx_policy.h twice: end to end, through a real store in a
    fresh mkdtemp folder (stx_txn_sequence with principals, as the broker
    calls it), and as pure calls of stx_policy_check / stx_entry_owner /
    stx_policy_roles.
    ========================================================================= */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <cmocka.h>
#include "stx_policy.h"
#include "stx_store.h"

static const stx_principal_t s_a = { "org:a", "industry", STX_ROLE_PUBLISHER | STX_ROLE_READER };
static const stx_principal_t s_b = { "org:b", "knowledge", STX_ROLE_PUBLISHER };
static const stx_principal_t s_admin = { "org:vlaio", "government", STX_ROLE_ADMIN };
static const stx_principal_t s_reader = { "org:r", "civil_society", STX_ROLE_READER };

typedef struct {
    char dir [64];
    stx_store_t *store;
} fixture_t;

//  --------------------------------------------------------------------------
//  Fixture: a store in a fresh folder

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (self->dir, sizeof (self->dir), "/tmp/stx-policy-XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    char err [STX_ERRLEN] = "";
    if (stx_store_open (self->dir, 0, 0, &self->store, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "open: %s\n", err);
        return -1;
    }
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    stx_store_destroy (&self->store);
    nftw (self->dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Entries (stack structs, deep-copied to the heap through pack/unpack)

static Stemx__Entry *
s_heap (const Stemx__Entry *entry)
{
    size_t size = stemx__entry__get_packed_size (entry);
    uint8_t *buffer = (uint8_t *) malloc (size + 1);
    stemx__entry__pack (entry, buffer);
    Stemx__Entry *copy = stemx__entry__unpack (NULL, size, buffer);
    free (buffer);
    assert_non_null (copy);
    return copy;
}

static Stemx__Entry *
s_org_as (const char *id, const char *pillar, const char *role)
{
    Stemx__Organisation org;
    stemx__organisation__init (&org);
    org.id = (char *) id;
    org.name = (char *) id;
    org.helix_pillar = (char *) pillar;
    char *roles [] = { (char *) role };
    org.n_roles = role? 1: 0;
    org.roles = roles;
    org.kind = (char *) "company";
    org.region = (char *) "flanders";
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_ORGANISATION;
    entry.organisation = &org;
    return s_heap (&entry);
}

static Stemx__Entry *
s_org (const char *id)
{
    return s_org_as (id, "industry", NULL);
}

static Stemx__Entry *
s_ini (const char *id, const char *owner_org)
{
    Stemx__Partner owner;
    stemx__partner__init (&owner);
    owner.org = (char *) owner_org;
    Stemx__Period period;
    stemx__period__init (&period);
    period.start = (char *) "2026-01-01";
    char *ods [] = { (char *) "OD 1.1.1" };
    Stemx__Initiative ini;
    stemx__initiative__init (&ini);
    ini.id = (char *) id;
    ini.title = (char *) id;
    ini.owner = owner_org? &owner: NULL;
    ini.n_od_codes = 1;
    ini.od_codes = ods;
    ini.period = &period;
    ini.status = (char *) "running";
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INITIATIVE;
    entry.initiative = &ini;
    return s_heap (&entry);
}

static Stemx__Entry *
s_infra (const char *id, const char *provider_org)
{
    Stemx__Partner provider;
    stemx__partner__init (&provider);
    provider.org = (char *) provider_org;
    Stemx__InfrastructureOpening infra;
    stemx__infrastructure_opening__init (&infra);
    infra.id = (char *) id;
    infra.provider = &provider;
    infra.kind = (char *) "research_institution";
    infra.od_code = (char *) "OD 3.2.2";
    infra.facility = (char *) "lab";
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INFRASTRUCTURE;
    entry.infrastructure = &infra;
    return s_heap (&entry);
}

static Stemx__Entry *
s_moment (const char *id, const char *organiser_org)
{
    Stemx__Partner organiser;
    stemx__partner__init (&organiser);
    organiser.org = (char *) organiser_org;
    Stemx__NetworkMoment moment;
    stemx__network_moment__init (&moment);
    moment.id = (char *) id;
    moment.organiser = &organiser;
    moment.title = (char *) id;
    moment.kind = (char *) "network_moment";
    moment.date = (char *) "2026-03-01";
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_MOMENT;
    entry.moment = &moment;
    return s_heap (&entry);
}

//  --------------------------------------------------------------------------
//  Sequencing as the broker does, one event per committed transaction

static void
s_set (char **field, const char *value)
{
    if (*field != protobuf_c_empty_string)
        free (*field);
    *field = strdup (value);
}

//  Sequence an upsert of entry (or a withdrawal when entry is NULL) by
//  who; origin, when not NULL, is what the publisher wrote into the event.
static stx_status_t
s_publish (fixture_t *self, const stx_principal_t *who, const char *key, Stemx__Entry *entry,
           const char *origin, char *err)
{
    Stemx__Event *event = stx_event_new (key, &entry);
    if (origin)
        s_set (&event->origin, origin);
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (self->store, true, &txn), STX_OK);
    //  The current version, as an agent expects it
    Stemx__Event *current = NULL;
    stx_status_t found = stx_txn_get (txn, key, &current);
    assert_true (found == STX_OK || found == STX_ERR_NOT_FOUND);
    event->expected_version = current? current->version: 0;
    stx_event_free (&current);
    stx_sequenced_t out;
    *err = 0;
    stx_status_t status = stx_txn_sequence (txn, event, who, &out, err, STX_ERRLEN);
    if (status == STX_OK)
        status = stx_txn_commit (&txn);
    else
        stx_txn_abort (&txn);
    stx_event_free (&event);
    return status;
}

static void
s_publish_ok (fixture_t *self, const stx_principal_t *who, const char *key, Stemx__Entry *entry)
{
    char err [STX_ERRLEN];
    stx_status_t status = s_publish (self, who, key, entry, NULL, err);
    if (status != STX_OK)
        fprintf (stderr, "%s publishing %s: %s\n", who->org, key, err);
    assert_int_equal (status, STX_OK);
}

//  Expect a refusal whose message is exactly expected (NULL: any text)
static void
s_publish_refused (fixture_t *self, const stx_principal_t *who, const char *key,
                   Stemx__Entry *entry, stx_status_t expected_status, const char *expected)
{
    char err [STX_ERRLEN];
    uint64_t before = 0;
    stx_meta_t meta;
    assert_int_equal (stx_store_meta (self->store, &meta), STX_OK);
    before = meta.seq;
    assert_int_equal (s_publish (self, who, key, entry, NULL, err), expected_status);
    if (expected)
        assert_string_equal (err, expected);
    //  A refusal changes nothing
    assert_int_equal (stx_store_meta (self->store, &meta), STX_OK);
    assert_int_equal (meta.seq, before);
}

//  The latest event of key; caller frees it.
static Stemx__Event *
s_get (fixture_t *self, const char *key)
{
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (self->store, false, &txn), STX_OK);
    Stemx__Event *event = NULL;
    assert_int_equal (stx_txn_get (txn, key, &event), STX_OK);
    stx_txn_abort (&txn);
    return event;
}


//  --------------------------------------------------------------------------
//  End to end: an organisation owns what it creates

static void
test_owner_only (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_publish_ok (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"));
    Stemx__Event *event = s_get (self, "ini:x");
    assert_string_equal (event->owner, "org:a");
    assert_string_equal (event->origin, "org:a");
    assert_int_equal (event->version, 1);
    stx_event_free (&event);

    //  B may neither take it over, nor edit it in A's name, nor withdraw it
    s_publish_refused (self, &s_b, "ini:x", s_ini ("ini:x", "org:b"), STX_ERR_UNAUTHORISED,
                       "ini:x: owned by org:a, not org:b");
    s_publish_refused (self, &s_b, "ini:x", s_ini ("ini:x", "org:a"), STX_ERR_UNAUTHORISED,
                       "ini:x: names org:a as owner, but the publisher is org:b");
    s_publish_refused (self, &s_b, "ini:x", NULL, STX_ERR_UNAUTHORISED,
                       "ini:x: owned by org:a, not org:b");
    //  ... nor create an entry naming A as owner, nor one naming nobody
    s_publish_refused (self, &s_b, "ini:y", s_ini ("ini:y", "org:a"), STX_ERR_UNAUTHORISED,
                       "ini:y: names org:a as owner, but the publisher is org:b");
    s_publish_refused (self, &s_b, "ini:y", s_ini ("ini:y", NULL), STX_ERR_UNAUTHORISED,
                       "ini:y: names nobody as owner, but the publisher is org:b");
    //  A may not hand its entry over to B
    s_publish_refused (self, &s_a, "ini:x", s_ini ("ini:x", "org:b"), STX_ERR_UNAUTHORISED,
                       "ini:x: names org:b as owner, but the publisher is org:a");

    //  A updates and withdraws its own entry
    s_publish_ok (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"));
    s_publish_ok (self, &s_a, "ini:x", NULL);
    event = s_get (self, "ini:x");
    assert_int_equal (event->op, STEMX__OPERATION__OP_WITHDRAW);
    assert_int_equal (event->version, 3);
    assert_string_equal (event->owner, "org:a");
    stx_event_free (&event);

    //  The same holds for openings (provider) and moments (organiser)
    s_publish_ok (self, &s_b, "infra:lab", s_infra ("infra:lab", "org:b"));
    s_publish_refused (self, &s_a, "infra:lab", s_infra ("infra:lab", "org:a"),
                       STX_ERR_UNAUTHORISED, "infra:lab: owned by org:b, not org:a");
    s_publish_refused (self, &s_a, "infra:lab", NULL, STX_ERR_UNAUTHORISED,
                       "infra:lab: owned by org:b, not org:a");
    s_publish_ok (self, &s_a, "moment:m", s_moment ("moment:m", "org:a"));
    s_publish_refused (self, &s_b, "moment:m", s_moment ("moment:m", "org:a"),
                       STX_ERR_UNAUTHORISED,
                       "moment:m: names org:a as owner, but the publisher is org:b");
}


//  --------------------------------------------------------------------------
//  End to end: the origin comes from the principal, never from the event

static void
test_forged_origin (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    char err [STX_ERRLEN];
    assert_int_equal (s_publish (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"), "org:b", err),
                      STX_OK);
    Stemx__Event *event = s_get (self, "ini:x");
    assert_string_equal (event->origin, "org:a");
    stx_event_free (&event);

    //  Claiming to be A does not let B edit A's entry
    assert_int_equal (s_publish (self, &s_b, "ini:x", s_ini ("ini:x", "org:a"), "org:a", err),
                      STX_ERR_UNAUTHORISED);
    assert_int_equal (s_publish (self, &s_b, "ini:x", NULL, "org:a", err),
                      STX_ERR_UNAUTHORISED);
    event = s_get (self, "ini:x");
    assert_int_equal (event->version, 1);
    assert_int_equal (event->op, STEMX__OPERATION__OP_UPSERT);
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  End to end: the admin withdraws anything, but owns only its own

static void
test_admin (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_publish_ok (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"));
    s_publish_ok (self, &s_admin, "ini:x", NULL);
    Stemx__Event *event = s_get (self, "ini:x");
    assert_int_equal (event->op, STEMX__OPERATION__OP_WITHDRAW);
    assert_string_equal (event->owner, "org:a");       //  the tombstone keeps the owner
    assert_string_equal (event->origin, "org:vlaio");
    stx_event_free (&event);

    //  The admin cannot create (or re-create) an initiative owned by A
    s_publish_refused (self, &s_admin, "ini:y", s_ini ("ini:y", "org:a"), STX_ERR_UNAUTHORISED,
                       "ini:y: names org:a as owner, but the publisher is org:vlaio");
    s_publish_refused (self, &s_admin, "ini:x", s_ini ("ini:x", "org:vlaio"),
                       STX_ERR_UNAUTHORISED, "ini:x: owned by org:a, not org:vlaio");
    //  ... but its own, yes
    s_publish_ok (self, &s_admin, "ini:v", s_ini ("ini:v", "org:vlaio"));
    //  ... and A may take its withdrawn key up again
    s_publish_ok (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"));
}


//  --------------------------------------------------------------------------
//  End to end: Organisation entries, by the organisation itself or an admin

static void
test_organisation_entries (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_publish_ok (self, &s_a, "org:a", s_org ("org:a"));
    s_publish_refused (self, &s_a, "org:b", s_org ("org:b"), STX_ERR_UNAUTHORISED,
                       "org:b: only the organisation itself or an admin may write it, "
                       "not org:a");
    s_publish_refused (self, &s_b, "org:a", s_org ("org:a"), STX_ERR_UNAUTHORISED,
                       "org:a: only the organisation itself or an admin may write it, "
                       "not org:b");
    s_publish_refused (self, &s_b, "org:a", NULL, STX_ERR_UNAUTHORISED,
                       "org:a: owned by org:a, not org:b");
    //  The admin writes any organisation, and withdraws it
    s_publish_ok (self, &s_admin, "org:b", s_org ("org:b"));
    s_publish_ok (self, &s_admin, "org:a", s_org ("org:a"));
    s_publish_ok (self, &s_admin, "org:a", NULL);
    Stemx__Event *event = s_get (self, "org:a");
    assert_int_equal (event->op, STEMX__OPERATION__OP_WITHDRAW);
    assert_string_equal (event->owner, "org:a");
    stx_event_free (&event);
    //  Withdrawn: the admin or the organisation may write it again, B not
    s_publish_refused (self, &s_b, "org:a", s_org ("org:a"), STX_ERR_UNAUTHORISED, NULL);
    s_publish_ok (self, &s_admin, "org:a", s_org ("org:a"));
    //  B's own entry, written by the admin, stays B's to update, with the
    //  pillar B is registered with and no roles of its own making
    s_publish_ok (self, &s_b, "org:b", s_org_as ("org:b", "knowledge", NULL));
    s_publish_refused (self, &s_b, "org:b", s_org_as ("org:b", "industry", NULL),
                       STX_ERR_UNAUTHORISED, "org:b: helix_pillar 'industry' differs from the "
                       "registered 'knowledge'; ask VLAIO to change the registration");
    s_publish_refused (self, &s_b, "org:b",
                       s_org_as ("org:b", "knowledge", "ecosystem_orchestrator"),
                       STX_ERR_UNAUTHORISED, "org:b: roles are recorded by an admin (VLAIO)");
    //  Roles the admin recorded stay when B updates its entry
    s_publish_ok (self, &s_admin, "org:b", s_org_as ("org:b", "knowledge", "partner"));
    s_publish_ok (self, &s_b, "org:b", s_org_as ("org:b", "knowledge", "partner"));
}


//  --------------------------------------------------------------------------
//  End to end: a withdrawn key goes back only to its last owner

static void
test_withdrawn_key (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_publish_ok (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"));
    s_publish_ok (self, &s_a, "ini:x", NULL);
    s_publish_refused (self, &s_b, "ini:x", s_ini ("ini:x", "org:b"), STX_ERR_UNAUTHORISED,
                       "ini:x: owned by org:a, not org:b");
    //  Withdrawing twice is "already withdrawn", for everyone
    s_publish_refused (self, &s_a, "ini:x", NULL, STX_ERR_NOT_FOUND,
                       "ini:x: already withdrawn");
    s_publish_refused (self, &s_b, "ini:x", NULL, STX_ERR_NOT_FOUND,
                       "ini:x: already withdrawn");
    s_publish_ok (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"));
    Stemx__Event *event = s_get (self, "ini:x");
    assert_int_equal (event->op, STEMX__OPERATION__OP_UPSERT);
    assert_int_equal (event->version, 3);
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  End to end: no publisher role, no publishing

static void
test_no_publisher_role (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_publish_refused (self, &s_reader, "ini:r", s_ini ("ini:r", "org:r"),
                       STX_ERR_UNAUTHORISED, "ini:r: org:r may not publish (no publisher role)");
    s_publish_refused (self, &s_reader, "org:r", s_org ("org:r"),
                       STX_ERR_UNAUTHORISED, "org:r: org:r may not publish (no publisher role)");
    s_publish_ok (self, &s_a, "ini:x", s_ini ("ini:x", "org:a"));
    s_publish_refused (self, &s_reader, "ini:x", NULL,
                       STX_ERR_UNAUTHORISED, "ini:x: org:r may not publish (no publisher role)");
    stx_principal_t nobody = { "org:n", "industry", 0 };
    s_publish_refused (self, &nobody, "ini:n", s_ini ("ini:n", "org:n"),
                       STX_ERR_UNAUTHORISED, NULL);
}


//  --------------------------------------------------------------------------
//  Pure: role lists

static void
test_roles (void **state)
{
    unsigned roles = 99;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_policy_roles ("publisher, reader", &roles, err, sizeof (err)), STX_OK);
    assert_int_equal (roles, STX_ROLE_PUBLISHER | STX_ROLE_READER);
    assert_int_equal (stx_policy_roles ("admin", &roles, err, sizeof (err)), STX_OK);
    assert_int_equal (roles, STX_ROLE_ADMIN);
    assert_int_equal (stx_policy_roles (" reader,,publisher\tadmin ", &roles, err, sizeof (err)),
                      STX_OK);
    assert_int_equal (roles, STX_ROLE_PUBLISHER | STX_ROLE_READER | STX_ROLE_ADMIN);
    assert_int_equal (stx_policy_roles ("reader, reader", &roles, err, sizeof (err)), STX_OK);
    assert_int_equal (roles, STX_ROLE_READER);
    assert_int_equal (stx_policy_roles ("", &roles, err, sizeof (err)), STX_OK);
    assert_int_equal (roles, 0);
    assert_int_equal (stx_policy_roles (NULL, &roles, err, sizeof (err)), STX_OK);
    assert_int_equal (roles, 0);

    roles = 99;
    assert_int_equal (stx_policy_roles ("publisher, root", &roles, err, sizeof (err)),
                      STX_ERR_INVALID);
    assert_string_equal (err, "unknown role 'root' (publisher, reader or admin)");
    assert_int_equal (roles, 99);                       //  untouched on error
    //  Case and prefixes matter
    assert_int_equal (stx_policy_roles ("Admin", &roles, err, sizeof (err)), STX_ERR_INVALID);
    assert_int_equal (stx_policy_roles ("pub", &roles, err, sizeof (err)), STX_ERR_INVALID);
    assert_int_equal (stx_policy_roles ("publishers", &roles, err, sizeof (err)),
                      STX_ERR_INVALID);
    assert_string_equal (err, "unknown role 'publishers' (publisher, reader or admin)");
}


//  --------------------------------------------------------------------------
//  Pure: the owner of each kind of entry

static void
test_entry_owner (void **state)
{
    assert_string_equal (stx_entry_owner (NULL), "");
    Stemx__Entry *entry = s_org ("org:a");
    assert_string_equal (stx_entry_owner (entry), "org:a");
    stemx__entry__free_unpacked (entry, NULL);
    entry = s_ini ("ini:x", "org:b");
    assert_string_equal (stx_entry_owner (entry), "org:b");
    stemx__entry__free_unpacked (entry, NULL);
    entry = s_ini ("ini:x", NULL);
    assert_string_equal (stx_entry_owner (entry), "");
    stemx__entry__free_unpacked (entry, NULL);
    entry = s_infra ("infra:x", "org:c");
    assert_string_equal (stx_entry_owner (entry), "org:c");
    stemx__entry__free_unpacked (entry, NULL);
    entry = s_moment ("moment:x", "org:d");
    assert_string_equal (stx_entry_owner (entry), "org:d");
    stemx__entry__free_unpacked (entry, NULL);
    Stemx__Entry empty;
    stemx__entry__init (&empty);
    assert_string_equal (stx_entry_owner (&empty), "");
}


//  --------------------------------------------------------------------------
//  Pure: stx_policy_check on hand-made events

static Stemx__Event *
s_event (const char *key, Stemx__Entry *entry, const char *owner)
{
    Stemx__Event *event = stx_event_new (key, &entry);
    if (owner)
        s_set (&event->owner, owner);
    return event;
}

static void
test_policy_check (void **state)
{
    char err [STX_ERRLEN];
    Stemx__Event *create = s_event ("ini:x", s_ini ("ini:x", "org:a"), NULL);
    Stemx__Event *withdraw = s_event ("ini:x", NULL, NULL);
    Stemx__Event *current = s_event ("ini:x", s_ini ("ini:x", "org:a"), "org:a");
    Stemx__Event *tombstone = s_event ("ini:x", NULL, "org:a");
    //  An event stored before owners were stamped: the entry tells
    Stemx__Event *legacy = s_event ("ini:x", s_ini ("ini:x", "org:a"), NULL);

    assert_int_equal (stx_policy_check (&s_a, NULL, create, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_policy_check (&s_a, current, create, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_policy_check (&s_a, tombstone, create, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_policy_check (&s_a, current, withdraw, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_policy_check (&s_a, legacy, withdraw, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_policy_check (&s_admin, current, withdraw, err, sizeof (err)), STX_OK);

    assert_int_equal (stx_policy_check (&s_b, legacy, withdraw, err, sizeof (err)),
                      STX_ERR_UNAUTHORISED);
    assert_string_equal (err, "ini:x: owned by org:a, not org:b");
    Stemx__Event *b_create = s_event ("ini:x", s_ini ("ini:x", "org:b"), NULL);
    assert_int_equal (stx_policy_check (&s_b, NULL, b_create, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_policy_check (&s_b, tombstone, b_create, err, sizeof (err)),
                      STX_ERR_UNAUTHORISED);
    assert_string_equal (err, "ini:x: owned by org:a, not org:b");
    assert_int_equal (stx_policy_check (&s_b, legacy, b_create, err, sizeof (err)),
                      STX_ERR_UNAUTHORISED);
    //  A withdrawal of a key nobody owns: only an admin
    assert_int_equal (stx_policy_check (&s_b, NULL, withdraw, err, sizeof (err)),
                      STX_ERR_UNAUTHORISED);
    assert_string_equal (err, "ini:x: owned by nobody, not org:b");
    assert_int_equal (stx_policy_check (&s_reader, NULL, create, err, sizeof (err)),
                      STX_ERR_UNAUTHORISED);
    assert_string_equal (err, "ini:x: org:r may not publish (no publisher role)");

    stx_event_free (&create);
    stx_event_free (&withdraw);
    stx_event_free (&current);
    stx_event_free (&tombstone);
    stx_event_free (&legacy);
    stx_event_free (&b_create);
}


int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_owner_only, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_forged_origin, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_admin, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_organisation_entries, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_withdrawn_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_publisher_role, s_setup, s_teardown),
        cmocka_unit_test (test_roles),
        cmocka_unit_test (test_entry_owner),
        cmocka_unit_test (test_policy_check),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
