/*  =========================================================================
    test_stx_sign - end-to-end signatures: what breaks a signature (the
    publisher's fields) and what does not (the broker's stamps), the
    registry checks, and stable bytes across pack / unpack / repack and
    through the store's sequencing

    The fixture makes a folder with three identities: org:a and org:b
    active, and an older org:a key in a retired folder; and one org:x key
    outside the registry.
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
#include <sodium.h>
#include "stx_sign.h"
#include "stx_event.h"
#include "stx_store.h"

typedef struct {
    char dir [64];
    stx_identity_t *a;          //  org:a, active
    stx_identity_t *b;          //  org:b, active
    stx_identity_t *old_a;      //  org:a, retired
    stx_identity_t *x;          //  org:x, not registered
    stx_registry_t *registry;   //  active + retired
} fixture_t;

//  --------------------------------------------------------------------------
//  Fixture

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static stx_identity_t *
s_identity (const char *dir, const char *org, const char *name)
{
    char path [256], secret [300], err [STX_ERRLEN] = "";
    stx_status_t status = stx_identity_generate (dir, name, org, "industry", "publisher",
                                                 path, sizeof (path), err, sizeof (err));
    if (status != STX_OK)
        fprintf (stderr, "generate: %s\n", err);
    assert_int_equal (status, STX_OK);
    snprintf (secret, sizeof (secret), "%s_secret", path);
    stx_identity_t *identity = NULL;
    assert_int_equal (stx_identity_load (secret, &identity, err, sizeof (err)), STX_OK);
    return identity;
}

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (self->dir, sizeof (self->dir), "/tmp/stx-sign-XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    char keys [128], retired [128], other [128];
    snprintf (keys, sizeof (keys), "%s/keys", self->dir);
    snprintf (retired, sizeof (retired), "%s/retired", self->dir);
    snprintf (other, sizeof (other), "%s/other", self->dir);
    self->a = s_identity (keys, "org:a", NULL);
    self->b = s_identity (keys, "org:b", NULL);
    self->old_a = s_identity (retired, "org:a", "a-2024");
    self->x = s_identity (other, "org:x", NULL);
    char err [STX_ERRLEN] = "";
    if (stx_registry_load (keys, retired, &self->registry, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "registry: %s\n", err);
        return -1;
    }
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    stx_identity_destroy (&self->a);
    stx_identity_destroy (&self->b);
    stx_identity_destroy (&self->old_a);
    stx_identity_destroy (&self->x);
    stx_registry_destroy (&self->registry);
    nftw (self->dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Events

//  A heap initiative owned by owner_org (pack/unpack makes a deep copy)
static Stemx__Entry *
s_ini (const char *id, const char *owner_org, const char *title)
{
    Stemx__Partner owner;
    stemx__partner__init (&owner);
    owner.org = (char *) owner_org;
    owner.helix_pillar = (char *) "industry";
    Stemx__Period period;
    stemx__period__init (&period);
    period.start = (char *) "2026-01-01";
    char *ods [] = { (char *) "OD 1.1.1" };
    Stemx__Initiative ini;
    stemx__initiative__init (&ini);
    ini.id = (char *) id;
    ini.title = (char *) title;
    ini.owner = &owner;
    ini.n_od_codes = 1;
    ini.od_codes = ods;
    ini.period = &period;
    ini.status = (char *) "running";
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INITIATIVE;
    entry.initiative = &ini;
    size_t size = stemx__entry__get_packed_size (&entry);
    uint8_t *buffer = (uint8_t *) malloc (size + 1);
    stemx__entry__pack (&entry, buffer);
    Stemx__Entry *copy = stemx__entry__unpack (NULL, size, buffer);
    free (buffer);
    assert_non_null (copy);
    return copy;
}

static void
s_set (char **field, const char *value)
{
    if (*field != protobuf_c_empty_string)
        free (*field);
    *field = strdup (value);
}

//  A signed upsert of ini:x by identity, its origin set to org
static Stemx__Event *
s_signed (const stx_identity_t *identity, const char *org)
{
    Stemx__Entry *entry = s_ini ("ini:x", org, "Title");
    Stemx__Event *event = stx_event_new ("ini:x", &entry);
    event->expected_version = 2;
    stx_sign_event (event, identity);
    s_set (&event->origin, org);
    event->version = 3;         //  as the broker sequences it
    return event;
}

static stx_status_t
s_verify (fixture_t *self, const Stemx__Event *event, char *err)
{
    *err = 0;
    return stx_sign_verify (event, self->registry, err, STX_ERRLEN);
}

static stx_status_t
s_verify_as (fixture_t *self, const Stemx__Event *event, const char *org, char *err)
{
    *err = 0;
    return stx_sign_verify_as (event, self->registry, org, err, STX_ERRLEN);
}

static void
s_assert_ok (fixture_t *self, const Stemx__Event *event)
{
    char err [STX_ERRLEN];
    stx_status_t status = s_verify (self, event, err);
    if (status != STX_OK)
        fprintf (stderr, "verify: %s\n", err);
    assert_int_equal (status, STX_OK);
    assert_int_equal (s_verify_as (self, event, event->origin, err), STX_OK);
}

//  The event no longer matches its signature
static void
s_assert_altered (fixture_t *self, const Stemx__Event *event)
{
    char err [STX_ERRLEN];
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_non_null (strstr (err, "does not match"));
    assert_int_equal (s_verify_as (self, event, "org:a", err), STX_ERR_BAD_SIGNATURE);
    assert_non_null (strstr (err, "does not match"));
    assert_non_null (strstr (err, "org:a"));
}


//  --------------------------------------------------------------------------
//  Round trip

static void
test_round_trip (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    Stemx__Event *event = s_signed (self->a, "org:a");
    assert_int_equal (event->signature.len, STX_SIGNATURE_SIZE);
    assert_int_equal (event->signer.len, STX_SIGN_PUBLIC_SIZE);
    assert_memory_equal (event->signer.data, stx_identity_sign_public (self->a), 32);
    s_assert_ok (self, event);

    //  Signing again replaces the signature (no leak under ASan)
    uint8_t first [64];
    memcpy (first, event->signature.data, 64);
    stx_sign_event (event, self->a);
    assert_memory_equal (first, event->signature.data, 64);    //  Ed25519 is deterministic
    s_assert_ok (self, event);

    //  The payload is the publisher's fields only
    size_t size;
    uint8_t *payload = stx_sign_payload (event, &size);
    Stemx__Event *part;
    assert_int_equal (stx_event_unpack (payload, size, &part), STX_OK);
    assert_string_equal (part->key, "ini:x");
    assert_string_equal (part->origin, "");
    assert_int_equal (part->signature.len, 0);
    assert_int_equal (part->signer.len, 0);
    assert_int_equal (part->expected_version, 2);
    assert_string_equal (part->entry->initiative->title, "Title");
    stx_event_free (&part);
    free (payload);
    stx_event_free (&event);

    //  A withdrawal (no entry) signs and verifies too
    Stemx__Entry *none = NULL;
    event = stx_event_new ("ini:x", &none);
    stx_sign_event (event, self->b);
    s_set (&event->origin, "org:b");
    event->version = 1;
    s_assert_ok (self, event);
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  Changing any publisher field breaks the signature

static void
test_tampering (void **state)
{
    fixture_t *self = (fixture_t *) *state;

    Stemx__Event *event = s_signed (self->a, "org:a");
    s_set (&event->entry->initiative->title, "Other title");
    s_assert_altered (self, event);
    stx_event_free (&event);

    event = s_signed (self->a, "org:a");
    s_set (&event->entry->initiative->owner->helix_pillar, "knowledge");
    s_assert_altered (self, event);
    stx_event_free (&event);

    event = s_signed (self->a, "org:a");
    s_set (&event->key, "ini:y");
    s_assert_altered (self, event);
    stx_event_free (&event);

    event = s_signed (self->a, "org:a");
    event->op = STEMX__OPERATION__OP_WITHDRAW;
    s_assert_altered (self, event);
    stx_event_free (&event);

    event = s_signed (self->a, "org:a");
    event->expected_version = 0;
    event->version = 1;         //  the signature, not the version rule, says so
    s_assert_altered (self, event);
    stx_event_free (&event);

    event = s_signed (self->a, "org:a");
    event->client_time_ms += 1;
    s_assert_altered (self, event);
    stx_event_free (&event);

    event = s_signed (self->a, "org:a");
    event->event_id.data [0] ^= 1;
    s_assert_altered (self, event);
    stx_event_free (&event);

    event = s_signed (self->a, "org:a");
    event->signature.data [10] ^= 1;
    s_assert_altered (self, event);
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  The broker's stamps do not touch the signed part

static void
test_broker_fields (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    Stemx__Event *event = s_signed (self->a, "org:a");
    event->seq = 42;
    event->version = 3;
    event->broker_time_ms = 1767225600000;
    s_set (&event->node, "agent-gent");
    s_set (&event->owner, "org:a");
    s_set (&event->origin, "org:a");
    char err [STX_ERRLEN];
    assert_int_equal (s_verify_as (self, event, "org:a", err), STX_OK);
    assert_int_equal (s_verify (self, event, err), STX_OK);
    //  The verifier never changes the event
    assert_int_equal (event->seq, 42);
    //  ...but the version it stamps follows the signed expected_version:
    //  another one is an old event replayed or a rewritten history
    event->version = 4;
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_string_equal (err, "ini:x: version 4 does not follow the signed expected_version 2");
    event->version = 2;
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_int_equal (s_verify_as (self, event, "org:a", err), STX_OK);
    stx_event_free (&event);

    //  Before the broker stamps it, the origin is empty: verify_as is
    //  the check, verify alone names the missing origin
    event = s_signed (self->a, "org:a");
    s_set (&event->origin, "");
    assert_int_equal (s_verify_as (self, event, "org:a", err), STX_OK);
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_non_null (strstr (err, "not of origin (none)"));
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  The signer must be a key of the origin, registered, and well formed

static void
test_registry_checks (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    char err [STX_ERRLEN];

    //  Signed by a, attributed to b (a broker rewriting the origin)
    Stemx__Event *event = s_signed (self->a, "org:a");
    s_set (&event->origin, "org:b");
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_string_equal (err, "ini:x: signed by a key of org:a, not of origin org:b");
    assert_int_equal (s_verify_as (self, event, "org:b", err), STX_ERR_BAD_SIGNATURE);
    assert_string_equal (err, "ini:x: signed by a key of org:a, not of publisher org:b");
    stx_event_free (&event);

    //  b signing an entry of a still needs b's own key to match the origin
    event = s_signed (self->b, "org:a");
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_non_null (strstr (err, "signed by a key of org:b, not of origin org:a"));
    stx_event_free (&event);

    //  A key outside the registry, named in the message
    event = s_signed (self->x, "org:x");
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    char z85 [41];
    zmq_z85_encode (z85, stx_identity_sign_public (self->x), 32);
    assert_non_null (strstr (err, z85));
    assert_non_null (strstr (err, "not registered"));
    stx_event_free (&event);

    //  A truncated signature, a truncated signer, none at all
    event = s_signed (self->a, "org:a");
    event->signature.len = 63;
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_string_equal (err, "ini:x: signature is 63 bytes, not 64");
    event->signature.len = 64;
    event->signer.len = 31;
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_string_equal (err, "ini:x: signer is 31 bytes, not 32");
    event->signer.len = 32;
    s_assert_ok (self, event);
    free (event->signature.data);
    event->signature.data = NULL;
    event->signature.len = 0;
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_string_equal (err, "ini:x: not signed");
    stx_event_free (&event);

    //  The signer swapped for b's key: b's key is not org:a's
    event = s_signed (self->a, "org:a");
    memcpy (event->signer.data, stx_identity_sign_public (self->b), 32);
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_non_null (strstr (err, "org:b"));
    //  ... and with the origin following it, the signature fails
    s_set (&event->origin, "org:b");
    assert_int_equal (s_verify (self, event, err), STX_ERR_BAD_SIGNATURE);
    assert_non_null (strstr (err, "does not match"));
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  A retired key still verifies old events, and signs no new ones

static void
test_retired_key (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    const stx_key_t *key = stx_registry_by_sign (self->registry,
                                                 stx_identity_sign_public (self->old_a));
    assert_non_null (key);
    assert_true (key->retired);
    Stemx__Event *event = s_signed (self->old_a, "org:a");
    char err [STX_ERRLEN];
    assert_int_equal (s_verify (self, event, err), STX_OK);
    //  ...but the broker takes nothing new signed with it
    assert_int_equal (s_verify_as (self, event, "org:a", err), STX_ERR_BAD_SIGNATURE);
    assert_non_null (strstr (err, "which is retired"));
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  Stable bytes: pack, unpack, repack, as replicas do

static void
test_pack_unpack (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    Stemx__Event *event = s_signed (self->a, "org:a");
    size_t size1, size2, size3, packed_size;
    uint8_t *payload1 = stx_sign_payload (event, &size1);

    uint8_t *packed = stx_event_pack (event, &packed_size);
    Stemx__Event *copy;
    assert_int_equal (stx_event_unpack (packed, packed_size, &copy), STX_OK);
    free (packed);
    s_assert_ok (self, copy);
    uint8_t *payload2 = stx_sign_payload (copy, &size2);
    assert_int_equal (size1, size2);
    assert_memory_equal (payload1, payload2, size1);

    //  Stamped like the broker does, packed and unpacked once more
    copy->seq = 7;
    copy->version = 3;
    copy->broker_time_ms = 1767225600123;
    s_set (&copy->node, "broker");
    s_set (&copy->owner, "org:a");
    packed = stx_event_pack (copy, &packed_size);
    Stemx__Event *replica;
    assert_int_equal (stx_event_unpack (packed, packed_size, &replica), STX_OK);
    free (packed);
    s_assert_ok (self, replica);
    uint8_t *payload3 = stx_sign_payload (replica, &size3);
    assert_int_equal (size1, size3);
    assert_memory_equal (payload1, payload3, size1);

    free (payload1);
    free (payload2);
    free (payload3);
    stx_event_free (&replica);
    stx_event_free (&copy);
    stx_event_free (&event);
}


//  --------------------------------------------------------------------------
//  Sequenced by the store: the stamped, stored event still verifies

static void
test_through_store (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    char dir [128], err [STX_ERRLEN] = "";
    snprintf (dir, sizeof (dir), "%s/store", self->dir);
    stx_store_t *store = NULL;
    assert_int_equal (stx_store_open (dir, 0, 0, &store, err, sizeof (err)), STX_OK);

    Stemx__Event *event = s_signed (self->a, "org:a");
    event->expected_version = 0;
    stx_sign_event (event, self->a);
    s_set (&event->origin, "org:b");        //  what the publisher claims is ignored
    char verify_err [STX_ERRLEN];
    assert_int_equal (s_verify_as (self, event, "org:a", verify_err), STX_OK);

    const stx_key_t *key = stx_registry_by_sign (self->registry, event->signer.data);
    stx_principal_t who = stx_key_principal (key);
    stx_txn_t *txn;
    stx_sequenced_t out;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    stx_status_t status = stx_txn_sequence (txn, event, &who, &out, err, sizeof (err));
    if (status != STX_OK)
        fprintf (stderr, "sequence: %s\n", err);
    assert_int_equal (status, STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&event);

    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    Stemx__Event *stored;
    assert_int_equal (stx_txn_get (txn, "ini:x", &stored), STX_OK);
    stx_txn_abort (&txn);
    assert_string_equal (stored->origin, "org:a");
    assert_int_equal (stored->seq, 1);
    s_assert_ok (self, stored);
    stx_event_free (&stored);
    stx_store_destroy (&store);
}


//  --------------------------------------------------------------------------
//  The worked example of docs/SECURITY.md 2.5 holds for this library too

//  The bytes of the hex line "name: HEX" of text; caller frees.
static uint8_t *
s_doc_hex (const char *text, const char *name, size_t *size_p)
{
    char label [32];
    snprintf (label, sizeof label, "\n%s: ", name);
    const char *line = strstr (text, label);
    if (!line)
        fail_msg ("docs/SECURITY.md: no '%s:' line", name);
    line += strlen (label);
    size_t len = strspn (line, "0123456789abcdef");
    uint8_t *bytes = (uint8_t *) malloc (len / 2 + 1);
    assert_non_null (bytes);
    assert_int_equal (sodium_hex2bin (bytes, len / 2 + 1, line, len, NULL, size_p, NULL), 0);
    return bytes;
}

static void
test_worked_example (void **state)
{
    (void) state;
    char path [4096];
    snprintf (path, sizeof path, "%s/docs/SECURITY.md", getenv ("STEMX_SOURCE_DIR"));
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    char *text = (char *) calloc (1, 1 << 20);
    assert_non_null (text);
    size_t read = fread (text, 1, (1 << 20) - 1, file);
    fclose (file);
    assert_true (read > 0);
    size_t seed_size, part_size, signature_size, event_size, key_size;
    uint8_t *seed = s_doc_hex (text, "seed", &seed_size);
    uint8_t *part = s_doc_hex (text, "signed part", &part_size);
    uint8_t *signature = s_doc_hex (text, "signature", &signature_size);
    uint8_t *data = s_doc_hex (text, "event", &event_size);
    uint8_t *key = s_doc_hex (text, "sign-key", &key_size);
    assert_int_equal (seed_size, 32);
    assert_int_equal (signature_size, 64);
    assert_int_equal (key_size, 32);

    Stemx__Event *event = NULL;
    assert_int_equal (stx_event_unpack (data, event_size, &event), STX_OK);
    size_t size;
    uint8_t *payload = stx_sign_payload (event, &size);
    assert_int_equal (size, part_size);
    assert_memory_equal (payload, part, size);
    uint8_t public [crypto_sign_PUBLICKEYBYTES], secret [crypto_sign_SECRETKEYBYTES];
    assert_int_equal (crypto_sign_seed_keypair (public, secret, seed), 0);
    assert_memory_equal (public, key, 32);
    uint8_t mine [crypto_sign_BYTES];
    crypto_sign_detached (mine, NULL, payload, size, secret);
    assert_memory_equal (mine, signature, 64);
    assert_memory_equal (event->signature.data, signature, 64);
    assert_memory_equal (event->signer.data, key, 32);
    //  ...and the published bytes are what this library packs
    uint8_t *packed = stx_event_pack (event, &size);
    assert_int_equal (size, event_size);
    assert_memory_equal (packed, data, size);
    free (packed);
    free (payload);
    stx_event_free (&event);
    free (seed);
    free (part);
    free (signature);
    free (data);
    free (key);
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_round_trip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_tampering, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_fields, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_registry_checks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_retired_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_pack_unpack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_through_store, s_setup, s_teardown),
        cmocka_unit_test (test_worked_example),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
