/*  =========================================================================
    test_stx_verifier - the background check of a snapshot's signatures:
    every entry of a real store verified on a pool, progress counted, and
    the first entry that does not verify handed back

    Stores are filled with stx_txn_sequence (no principal: the origin is
    the owner), so an entry signed with another organisation's key gets
    in, as it would into a compromised broker's store.
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
#include <czmq.h>
#include <cmocka.h>
#include "stx_verifier.h"
#include "stx_event.h"
#include "stx_keys.h"
#include "stx_sign.h"
#include "stx_store.h"

#define S_ENTRIES 3000          //  several batches of the verifier

typedef struct {
    char dir [64];
    char keys [128];
    stx_identity_t *a;
    stx_identity_t *b;
    stx_store_t *store;
} fixture_t;

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static stx_identity_t *
s_identity (const char *dir, const char *org)
{
    char path [256], secret [300], err [STX_ERRLEN] = "";
    assert_int_equal (stx_identity_generate (dir, NULL, org, "industry", "publisher",
                                             path, sizeof (path), err, sizeof (err)), STX_OK);
    snprintf (secret, sizeof (secret), "%s_secret", path);
    stx_identity_t *identity = NULL;
    assert_int_equal (stx_identity_load (secret, &identity, err, sizeof (err)), STX_OK);
    return identity;
}

static int
s_setup (void **state)
{
    fixture_t *self = (fixture_t *) calloc (1, sizeof (fixture_t));
    snprintf (self->dir, sizeof (self->dir), "/tmp/stx-verifier-XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    snprintf (self->keys, sizeof (self->keys), "%s/keys", self->dir);
    self->a = s_identity (self->keys, "org:a");
    self->b = s_identity (self->keys, "org:b");
    char store [128], err [STX_ERRLEN];
    snprintf (store, sizeof (store), "%s/store", self->dir);
    if (stx_store_open (store, 0, 0, &self->store, err, sizeof (err)) != STX_OK)
        return -1;
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    stx_store_destroy (&self->store);
    stx_identity_destroy (&self->a);
    stx_identity_destroy (&self->b);
    nftw (self->dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (self);
    return 0;
}

//  An initiative of org:a, signed by signer.
static void
s_put (fixture_t *self, stx_txn_t *txn, int number, const stx_identity_t *signer)
{
    char id [32], title [64];
    snprintf (id, sizeof (id), "ini:%05d", number);
    snprintf (title, sizeof (title), "Initiative %d", number);
    Stemx__Partner owner = STEMX__PARTNER__INIT;
    owner.org = (char *) "org:a";
    owner.helix_pillar = (char *) "industry";
    Stemx__Period period = STEMX__PERIOD__INIT;
    period.start = (char *) "2026-01-01";
    char *ods [] = { (char *) "OD 1.1.1" };
    Stemx__Initiative ini = STEMX__INITIATIVE__INIT;
    ini.id = id;
    ini.title = title;
    ini.owner = &owner;
    ini.n_od_codes = 1;
    ini.od_codes = ods;
    ini.period = &period;
    ini.status = (char *) "running";
    Stemx__Entry entry = STEMX__ENTRY__INIT;
    entry.kind_case = STEMX__ENTRY__KIND_INITIATIVE;
    entry.initiative = &ini;
    size_t size = stemx__entry__get_packed_size (&entry);
    uint8_t *buffer = (uint8_t *) malloc (size);
    assert_non_null (buffer);
    stemx__entry__pack (&entry, buffer);
    Stemx__Entry *copy = stemx__entry__unpack (NULL, size, buffer);
    free (buffer);
    Stemx__Event *event = stx_event_new (id, &copy);
    stx_sign_event (event, signer);
    stx_sequenced_t out;
    char err [STX_ERRLEN];
    assert_int_equal (stx_txn_sequence (txn, event, NULL, &out, err, sizeof (err)), STX_OK);
    stx_event_free (&event);
}

//  Fill the store; the entry numbered forged (if >= 0) is signed by org:b.
static void
s_fill (fixture_t *self, int forged)
{
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (self->store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_ensure_lineage (txn), STX_OK);
    for (int number = 0; number < S_ENTRIES; number++)
        s_put (self, txn, number, number == forged? self->b: self->a);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
}

static void
s_wait_done (stx_verifier_t *verifier, uint64_t *verified, uint64_t *total)
{
    bool done = false;
    for (int tries = 0; tries < 6000 && !done; tries++) {
        stx_verifier_progress (verifier, verified, total, &done);
        if (!done)
            zclock_sleep (10);
    }
    assert_true (done);
}

static void
test_all_verify (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_fill (self, -1);
    stx_verifier_t *verifier = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_verifier_new (self->store, self->keys, NULL, &verifier,
                                        err, sizeof (err)), STX_OK);
    uint64_t verified, total;
    s_wait_done (verifier, &verified, &total);
    assert_int_equal (total, S_ENTRIES);
    assert_int_equal (verified, S_ENTRIES);
    size_t size = 1;
    stx_status_t status = STX_ERR_STORAGE;
    assert_null (stx_verifier_failure (verifier, &size, &status));
    assert_int_equal (status, STX_OK);
    stx_verifier_destroy (&verifier);
    assert_null (verifier);
}

static void
test_forged_entry_found (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_fill (self, 2500);
    stx_verifier_t *verifier = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_verifier_new (self->store, self->keys, NULL, &verifier,
                                        err, sizeof (err)), STX_OK);
    uint64_t verified, total;
    s_wait_done (verifier, &verified, &total);
    //  It stopped at the batch holding the forgery: not all verified
    assert_true (verified < total);
    size_t size = 0;
    stx_status_t status = STX_OK;
    uint8_t *failed = stx_verifier_failure (verifier, &size, &status);
    assert_non_null (failed);
    assert_int_equal (status, STX_ERR_BAD_SIGNATURE);
    Stemx__Event *event = NULL;
    assert_int_equal (stx_event_unpack (failed, size, &event), STX_OK);
    assert_string_equal (event->key, "ini:02500");
    stx_event_free (&event);
    free (failed);
    stx_verifier_destroy (&verifier);
}

static void
test_stops_early (void **state)
{
    fixture_t *self = (fixture_t *) *state;
    s_fill (self, -1);
    stx_verifier_t *verifier = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_verifier_new (self->store, self->keys, NULL, &verifier,
                                        err, sizeof (err)), STX_OK);
    //  Destroyed at once: joins without waiting for the whole store
    stx_verifier_destroy (&verifier);
    assert_null (verifier);
    //  A trust folder that does not exist is an error, not a thread
    assert_int_not_equal (stx_verifier_new (self->store, "/nonexistent/trust", NULL,
                                            &verifier, err, sizeof (err)), STX_OK);
    assert_null (verifier);
    assert_true (*err);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_all_verify, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_forged_entry_found, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_stops_early, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
