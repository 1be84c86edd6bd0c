/*  =========================================================================
    test_stx_store - the replicated catalogue: sequencing, applying,
    querying, snapshots, read-only access and a full map

    Each test works in a fresh mkdtemp folder, removed at the end. Entries
    are built in C (stack structs, then deep-copied to the heap through
    pack/unpack, since stx_txn_sequence replaces strings in the event).
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
#include <sys/wait.h>
#include <sys/resource.h>
#include <signal.h>
#include <time.h>
#include <lmdb.h>
#include <cmocka.h>
#include "stx_store.h"
#include "stx_search.h"

//  --------------------------------------------------------------------------
//  Fixture: a fresh folder

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static int
s_setup (void **state)
{
    char *dir = strdup ("/tmp/stx-store-XXXXXX");
    if (!mkdtemp (dir))
        return -1;
    *state = dir;
    return 0;
}

static int
s_teardown (void **state)
{
    char *dir = (char *) *state;
    nftw (dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
    return 0;
}

//  A second folder under the fixture's one
static void
s_subdir (void **state, const char *name, char *out, size_t size)
{
    snprintf (out, size, "%s/%s", (char *) *state, name);
}

static stx_store_t *
s_open (const char *dir, int flags, size_t map_size)
{
    stx_store_t *store = NULL;
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_store_open (dir, flags, map_size, &store, err, sizeof (err));
    if (status != STX_OK)
        fprintf (stderr, "open: %s\n", err);
    assert_int_equal (status, STX_OK);
    assert_non_null (store);
    return store;
}

//  --------------------------------------------------------------------------
//  Entry builders

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
s_org (const char *id, const char *pillar, const char *muni)
{
    Stemx__Organisation org;
    stemx__organisation__init (&org);
    org.id = (char *) id;
    org.name = (char *) id;
    org.helix_pillar = (char *) pillar;
    org.kind = (char *) "agency";
    org.region = (char *) "flanders";
    org.municipality = (char *) muni;
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_ORGANISATION;
    entry.organisation = &org;
    return s_heap (&entry);
}

//  Initiative: owner and one partner, both without pillar (the broker
//  fills them in), one OD, one theme.
static Stemx__Entry *
s_ini (const char *id, const char *owner_org, const char *partner_org, const char *od,
       const char *theme, const char *status, const char *muni,
       const char *start, const char *end, const char *summary)
{
    Stemx__Partner owner, partner;
    stemx__partner__init (&owner);
    stemx__partner__init (&partner);
    owner.org = (char *) owner_org;
    partner.org = (char *) partner_org;
    Stemx__Partner *partners [] = { &partner };
    Stemx__Period period;
    stemx__period__init (&period);
    period.start = (char *) start;
    period.end = (char *) end;
    char *ods [] = { (char *) od };
    char *themes [] = { (char *) theme };
    Stemx__Initiative ini;
    stemx__initiative__init (&ini);
    ini.id = (char *) id;
    ini.title = (char *) id;
    ini.summary = (char *) (summary? summary: "");
    ini.owner = &owner;
    ini.n_partners = partner_org? 1: 0;
    ini.partners = partners;
    ini.n_od_codes = 1;
    ini.od_codes = ods;
    ini.n_themes = 1;
    ini.themes = themes;
    ini.period = &period;
    ini.status = (char *) status;
    ini.municipality = (char *) muni;
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INITIATIVE;
    entry.initiative = &ini;
    return s_heap (&entry);
}

static Stemx__Entry *
s_infra (const char *id, const char *provider_org, const char *od, const char *muni,
         const char *from, const char *to, const char *theme)
{
    Stemx__Partner provider;
    stemx__partner__init (&provider);
    provider.org = (char *) provider_org;
    Stemx__Location location;
    stemx__location__init (&location);
    location.municipality = (char *) muni;
    Stemx__AvailabilityWindow window;
    stemx__availability_window__init (&window);
    window.from = (char *) from;
    window.to = (char *) to;
    Stemx__AvailabilityWindow *windows [] = { &window };
    char *themes [] = { (char *) theme };
    Stemx__InfrastructureOpening infra;
    stemx__infrastructure_opening__init (&infra);
    infra.id = (char *) id;
    infra.provider = &provider;
    infra.kind = (char *) "research_institution";
    infra.od_code = (char *) od;
    infra.facility = (char *) "lab";
    infra.location = &location;
    infra.n_availability = 1;
    infra.availability = windows;
    infra.n_themes = 1;
    infra.themes = themes;
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INFRASTRUCTURE;
    entry.infrastructure = &infra;
    return s_heap (&entry);
}

static Stemx__Entry *
s_moment (const char *id, const char *organiser_org, const char *co_org, const char *od,
          const char *date, const char *muni, const char *theme)
{
    Stemx__Partner organiser, co;
    stemx__partner__init (&organiser);
    stemx__partner__init (&co);
    organiser.org = (char *) organiser_org;
    co.org = (char *) co_org;
    Stemx__Partner *cos [] = { &co };
    Stemx__Location location;
    stemx__location__init (&location);
    location.municipality = (char *) muni;
    char *ods [] = { (char *) od };
    char *themes [] = { (char *) theme };
    Stemx__NetworkMoment moment;
    stemx__network_moment__init (&moment);
    moment.id = (char *) id;
    moment.organiser = &organiser;
    moment.n_co_organisers = 1;
    moment.co_organisers = cos;
    moment.title = (char *) id;
    moment.kind = (char *) "network_moment";
    moment.date = (char *) date;
    moment.location = &location;
    moment.n_topic_od_codes = 1;
    moment.topic_od_codes = ods;
    moment.n_themes = 1;
    moment.themes = themes;
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_MOMENT;
    entry.moment = &moment;
    return s_heap (&entry);
}

//  --------------------------------------------------------------------------
//  Sequencing helpers

//  The version of key in txn, 0 if it has none: what an agent expects.
static uint64_t
s_current_version (stx_txn_t *txn, const char *key)
{
    Stemx__Event *current = NULL;
    stx_status_t status = stx_txn_get (txn, key, &current);
    assert_true (status == STX_OK || status == STX_ERR_NOT_FOUND);
    uint64_t version = current? current->version: 0;
    stx_event_free (&current);
    return version;
}

//  Sequence one event (taking ownership of entry) in its own committed
//  transaction; returns the status, fills out. expected 0 expects the
//  current version, as the agent fills it in.
static stx_status_t
s_publish (stx_store_t *store, const char *key, Stemx__Entry *entry, uint64_t expected,
           stx_sequenced_t *out, char *err)
{
    Stemx__Event *event = stx_event_new (key, &entry);
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    event->expected_version = expected? expected: s_current_version (txn, key);
    stx_sequenced_t dummy;
    char dummy_err [STX_ERRLEN];
    //  As the agent does before signing
    assert_int_equal (stx_txn_fill_pillars (txn, event->entry), STX_OK);
    stx_status_t status = stx_txn_sequence (txn, event, NULL, out? out: &dummy,
                                            err? err: dummy_err, STX_ERRLEN);
    if (status == STX_OK)
        status = stx_txn_commit (&txn);
    else
        stx_txn_abort (&txn);
    stx_event_free (&event);
    return status;
}

static void
s_publish_ok (stx_store_t *store, const char *key, Stemx__Entry *entry)
{
    char err [STX_ERRLEN] = "";
    stx_status_t status = s_publish (store, key, entry, 0, NULL, err);
    if (status != STX_OK)
        fprintf (stderr, "publish %s: %s\n", key, err);
    assert_int_equal (status, STX_OK);
}

static stx_meta_t
s_meta (stx_store_t *store)
{
    stx_meta_t meta;
    assert_int_equal (stx_store_meta (store, &meta), STX_OK);
    return meta;
}

//  Recompute the chain over the whole log and compare with meta.
static void
s_check_chain (stx_store_t *store)
{
    stx_meta_t meta = s_meta (store);
    uint8_t head [STX_HEAD_SIZE] = { 0 };
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (meta.log_first, 1);
    for (uint64_t seq = 1; seq <= meta.seq; seq++) {
        const uint8_t *data;
        size_t size;
        assert_int_equal (stx_txn_log_get (txn, seq, &data, &size), STX_OK);
        Stemx__Event *event;
        assert_int_equal (stx_event_unpack (data, size, &event), STX_OK);
        assert_int_equal (event->seq, seq);
        stx_event_free (&event);
        stx_chain_next (head, data, size, head);
    }
    const uint8_t *data;
    size_t size;
    assert_int_equal (stx_txn_log_get (txn, 0, &data, &size), STX_ERR_NOT_FOUND);
    assert_int_equal (stx_txn_log_get (txn, meta.seq + 1, &data, &size), STX_ERR_NOT_FOUND);
    stx_txn_abort (&txn);
    assert_memory_equal (head, meta.head, STX_HEAD_SIZE);
}

//  Query into a comma-separated list of keys
static int
s_collect (const Stemx__Event *event, void *arg)
{
    char *out = (char *) arg;
    if (*out)
        strcat (out, ",");
    strcat (out, event->key);
    return 0;
}

static const char *
s_query (stx_store_t *store, const stx_filter_t *filter, char *out)
{
    *out = 0;
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_query (txn, filter, s_collect, out), STX_OK);
    stx_txn_abort (&txn);
    return out;
}

//  Does the raw index hold index_key -> entry_key? The store must be
//  closed (one environment per process).
static bool
s_raw_index_has (const char *dir, const char *index_key, const char *entry_key)
{
    char path [512];
    snprintf (path, sizeof (path), "%s/catalogue", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_set_maxdbs (env, 8), 0);
    assert_int_equal (mdb_env_open (env, path, MDB_RDONLY, 0664), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, "index", MDB_DUPSORT, &dbi), 0);
    MDB_val key = { strlen (index_key), (void *) index_key };
    MDB_val data = { strlen (entry_key), (void *) entry_key };
    MDB_cursor *cursor;
    assert_int_equal (mdb_cursor_open (txn, dbi, &cursor), 0);
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_GET_BOTH);
    mdb_cursor_close (cursor);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return rc == 0;
}

//  Every (key, data) pair of one named database, as "key\tdata\n" lines
//  (heap string, caller frees). The store must be closed.
static char *
s_raw_dump (const char *dir, const char *name)
{
    char path [512];
    snprintf (path, sizeof (path), "%s/catalogue", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_set_maxdbs (env, 8), 0);
    assert_int_equal (mdb_env_open (env, path, MDB_RDONLY, 0664), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, name, 0, &dbi), 0);
    MDB_cursor *cursor;
    assert_int_equal (mdb_cursor_open (txn, dbi, &cursor), 0);
    size_t size = 0, max = 4096;
    char *out = (char *) malloc (max);
    MDB_val key, data;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);
    while (rc == 0) {
        while (size + key.mv_size + data.mv_size + 3 > max)
            out = (char *) realloc (out, max *= 2);
        memcpy (out + size, key.mv_data, key.mv_size);
        size += key.mv_size;
        out [size++] = '\t';
        memcpy (out + size, data.mv_data, data.mv_size);
        size += data.mv_size;
        out [size++] = '\n';
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    assert_int_equal (rc, MDB_NOTFOUND);
    out [size] = 0;
    mdb_cursor_close (cursor);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return out;
}

//  Records (duplicates included) in one named database of a closed store.
static size_t
s_raw_count (const char *dir, const char *name)
{
    char path [512];
    snprintf (path, sizeof (path), "%s/catalogue", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat;
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_set_maxdbs (env, 8), 0);
    assert_int_equal (mdb_env_open (env, path, MDB_RDONLY, 0664), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, name, 0, &dbi), 0);
    assert_int_equal (mdb_stat (txn, dbi, &stat), 0);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return stat.ms_entries;
}

//  The whole index of two closed stores is identical, and not empty.
static void
s_assert_same_index (const char *dir_a, const char *dir_b)
{
    char *index_a = s_raw_dump (dir_a, "index");
    char *index_b = s_raw_dump (dir_b, "index");
    assert_true (strlen (index_a) > 0);
    assert_string_equal (index_a, index_b);
    free (index_a);
    free (index_b);
}

//  The small ecosystem the query tests use.
static void
s_populate (stx_store_t *store)
{
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    s_publish_ok (store, "org:b", s_org ("org:b", "industry", "Genk"));
    s_publish_ok (store, "org:c", s_org ("org:c", "knowledge", "Leuven"));
    s_publish_ok (store, "ini:a1", s_ini ("ini:a1", "org:a", "org:b", "OD 1.1.1", "digital",
                                          "running", "Gent", "2026-01-01", "2026-06-30", NULL));
    s_publish_ok (store, "ini:b1", s_ini ("ini:b1", "org:b", NULL, "OD 2.1.1", "energy",
                                          "planned", "Genk", "2026-09-01", "", NULL));
    s_publish_ok (store, "infra:c1", s_infra ("infra:c1", "org:c", "OD 3.2.1", "Leuven",
                                              "2026-03-01", "2026-03-31", "digital"));
    s_publish_ok (store, "moment:m1", s_moment ("moment:m1", "org:a", "org:b", "OD 1.1.1",
                                                "2026-05-10", "Gent", "energy"));
}

//  --------------------------------------------------------------------------

static void
test_sequence (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    stx_meta_t meta = s_meta (store);
    assert_int_equal (meta.seq, 0);
    assert_false (meta.has_lineage);
    assert_int_equal (meta.log_first, 1);
    uint8_t zeros [STX_HEAD_SIZE] = { 0 };
    assert_memory_equal (meta.head, zeros, STX_HEAD_SIZE);

    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_ensure_lineage (txn), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    assert_null (txn);
    meta = s_meta (store);
    assert_true (meta.has_lineage);
    uint8_t lineage [STX_LINEAGE_SIZE];
    memcpy (lineage, meta.lineage, STX_LINEAGE_SIZE);
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_ensure_lineage (txn), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    meta = s_meta (store);
    assert_memory_equal (meta.lineage, lineage, STX_LINEAGE_SIZE);     //  kept

    //  A batch of three in one transaction: seqs 1, 2, 3
    Stemx__Entry *a = s_org ("org:a", "government", "Gent");
    Stemx__Entry *b = s_org ("org:b", "industry", "Genk");
    Stemx__Entry *x = s_ini ("ini:x", "org:a", "org:b", "OD 1.1.1", "digital", "running",
                             "Gent", "2026-01-01", "", NULL);
    Stemx__Event *events [3] = {
        stx_event_new ("org:a", &a), stx_event_new ("org:b", &b), stx_event_new ("ini:x", &x)
    };
    char err [STX_ERRLEN];
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    for (int i = 0; i < 3; i++) {
        stx_sequenced_t out;
        assert_int_equal (stx_txn_fill_pillars (txn, events [i]->entry), STX_OK);
        assert_int_equal (stx_txn_sequence (txn, events [i], NULL, &out, err, sizeof (err)), STX_OK);
        assert_int_equal (out.seq, i + 1);
        assert_int_equal (out.version, 1);
        assert_false (out.duplicate);
        assert_int_equal (events [i]->seq, i + 1);
        assert_int_equal (events [i]->version, 1);
        assert_true (events [i]->broker_time_ms > 0);
    }
    //  The transaction sees its own writes
    assert_int_equal (stx_txn_meta (txn, &meta), STX_OK);
    assert_int_equal (meta.seq, 3);
    assert_int_equal (meta.entries, 3);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);

    //  Partner pillars filled from the catalogue; origin and owner stamped
    assert_string_equal (events [0]->origin, "org:a");
    assert_string_equal (events [2]->owner, "org:a");
    assert_string_equal (events [2]->origin, "org:a");
    assert_string_equal (events [2]->entry->initiative->owner->helix_pillar, "government");
    assert_string_equal (events [2]->entry->initiative->partners [0]->helix_pillar, "industry");
    Stemx__Event *stored;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_get (txn, "ini:x", &stored), STX_OK);
    assert_string_equal (stored->origin, "org:a");
    assert_string_equal (stored->entry->initiative->partners [0]->helix_pillar, "industry");
    assert_int_equal (stored->seq, 3);
    stx_event_free (&stored);
    assert_int_equal (stx_txn_get (txn, "ini:nope", &stored), STX_ERR_NOT_FOUND);
    assert_null (stored);
    stx_txn_abort (&txn);
    s_check_chain (store);
    stx_meta_t before = s_meta (store);

    //  The id of event 2 with other content is no resend: a conflict,
    //  nothing changes (F9)
    Stemx__Entry *b2 = s_org ("org:b", "knowledge", "Hasselt");
    Stemx__Event *resend = stx_event_new ("org:b", &b2);
    memcpy (resend->event_id.data, events [1]->event_id.data, STX_EVENT_ID_SIZE);
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    stx_sequenced_t out;
    assert_int_equal (stx_txn_sequence (txn, resend, NULL, &out, err, sizeof (err)),
                      STX_ERR_CONFLICT);
    assert_non_null (strstr (err, "already used by another event"));
    assert_false (out.duplicate);
    stx_txn_abort (&txn);
    stx_event_free (&resend);

    //  A true resend of event 2 (its signed part unchanged): the original
    //  seq and version, nothing changes
    size_t resend_size;
    uint8_t *resend_bytes = stx_event_pack (events [1], &resend_size);
    assert_int_equal (stx_event_unpack (resend_bytes, resend_size, &resend), STX_OK);
    free (resend_bytes);
    resend->seq = 0;
    resend->version = 0;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, resend, NULL, &out, err, sizeof (err)), STX_OK);
    assert_true (out.duplicate);
    assert_int_equal (out.seq, 2);
    assert_int_equal (out.version, 1);
    assert_int_equal (resend->seq, 0);      //  not stamped
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_meta_t after = s_meta (store);
    assert_int_equal (after.seq, before.seq);
    assert_memory_equal (after.head, before.head, STX_HEAD_SIZE);
    char keys [256];
    stx_filter_t helix = { .helix = "knowledge" };
    assert_string_equal (s_query (store, &helix, keys), "");

    //  A resend within the same batch as its first sending
    Stemx__Entry *c = s_org ("org:c", "knowledge", "Leuven");
    Stemx__Event *first = stx_event_new ("org:c", &c);
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, first, NULL, &out, err, sizeof (err)), STX_OK);
    assert_int_equal (out.seq, 4);
    assert_int_equal (stx_txn_sequence (txn, first, NULL, &out, err, sizeof (err)), STX_OK);
    assert_true (out.duplicate);
    assert_int_equal (out.seq, 4);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    assert_int_equal (s_meta (store).seq, 4);

    //  A broken envelope is refused before anything is written
    Stemx__Entry *none = NULL;
    Stemx__Event *bad = stx_event_new ("", &none);
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, bad, NULL, &out, err, sizeof (err)), STX_ERR_MALFORMED);
    stx_txn_abort (&txn);

    stx_event_free (&bad);
    stx_event_free (&first);
    stx_event_free (&resend);
    for (int i = 0; i < 3; i++)
        stx_event_free (&events [i]);
    s_check_chain (store);
    stx_store_destroy (&store);
    assert_null (store);
    stx_store_destroy (&store);
}

static void
test_conflict (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    stx_sequenced_t out;
    char err [STX_ERRLEN];
    //  Creating with expected version 1: there is no version 1
    assert_int_equal (s_publish (store, "ini:x",
        s_ini ("ini:x", "org:a", NULL, "OD 1.1.1", "digital", "running", "Gent",
               "2026-01-01", "", NULL), 1, &out, err), STX_ERR_CONFLICT);
    assert_string_equal (err, "ini:x: expected version 1, current 0");
    assert_int_equal (s_publish (store, "ini:x",
        s_ini ("ini:x", "org:a", NULL, "OD 1.1.1", "digital", "running", "Gent",
               "2026-01-01", "", NULL), 0, &out, err), STX_OK);
    assert_int_equal (out.version, 1);
    assert_int_equal (out.seq, 2);

    //  In one batch: a stale edit is refused, the next event still goes in
    Stemx__Entry *e1 = s_ini ("ini:x", "org:a", NULL, "OD 2.1.1", "digital", "running",
                              "Gent", "2026-01-01", "", NULL);
    Stemx__Entry *e2 = s_ini ("ini:x", "org:a", NULL, "OD 3.1.1", "digital", "running",
                              "Gent", "2026-01-01", "", NULL);
    Stemx__Event *stale = stx_event_new ("ini:x", &e1);
    Stemx__Event *good = stx_event_new ("ini:x", &e2);
    stale->expected_version = 5;
    good->expected_version = 1;
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, stale, NULL, &out, err, sizeof (err)), STX_ERR_CONFLICT);
    assert_string_equal (err, "ini:x: expected version 5, current 1");
    assert_int_equal (stx_txn_sequence (txn, good, NULL, &out, err, sizeof (err)), STX_OK);
    assert_int_equal (out.seq, 3);          //  gapless despite the refusal
    assert_int_equal (out.version, 2);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&stale);
    stx_event_free (&good);

    char keys [256];
    stx_filter_t od3 = { .od = "OD 3.1.1" };
    assert_string_equal (s_query (store, &od3, keys), "ini:x");
    s_check_chain (store);
    stx_store_destroy (&store);
}

static void
test_withdraw (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 0);
    char err [STX_ERRLEN];
    stx_sequenced_t out;
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    s_publish_ok (store, "ini:x", s_ini ("ini:x", "org:a", NULL, "OD 1.1.1", "digital",
                                         "running", "Gent", "2026-01-01", "", NULL));
    //  Withdrawing what was never there
    assert_int_equal (s_publish (store, "ini:nope", NULL, 0, &out, err), STX_ERR_NOT_FOUND);
    assert_string_equal (err, "ini:nope: no such entry");
    assert_int_equal (s_meta (store).seq, 2);

    assert_int_equal (s_publish (store, "ini:x", NULL, 0, &out, err), STX_OK);
    assert_int_equal (out.seq, 3);
    assert_int_equal (out.version, 2);
    //  The tombstone stays; queries skip it
    stx_txn_t *txn;
    Stemx__Event *event;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_get (txn, "ini:x", &event), STX_OK);
    assert_int_equal (event->op, STEMX__OPERATION__OP_WITHDRAW);
    assert_null (event->entry);
    assert_int_equal (event->version, 2);
    assert_string_equal (event->origin, "org:a");   //  from the withdrawn entry
    stx_event_free (&event);
    stx_txn_abort (&txn);
    assert_int_equal (s_meta (store).entries, 2);
    char keys [256];
    stx_filter_t kind = { .kind = STX_KIND_INITIATIVE };
    assert_string_equal (s_query (store, &kind, keys), "");
    stx_filter_t all = { .kind = STX_KIND_NONE };
    assert_string_equal (s_query (store, &all, keys), "org:a");

    //  Twice is refused
    assert_int_equal (s_publish (store, "ini:x", NULL, 0, &out, err), STX_ERR_NOT_FOUND);
    assert_string_equal (err, "ini:x: already withdrawn");
    s_check_chain (store);
    stx_store_destroy (&store);

    //  The index keys went with it
    assert_true (s_raw_index_has (dir, "kind=organisation", "org:a"));
    assert_false (s_raw_index_has (dir, "kind=initiative", "ini:x"));
    assert_false (s_raw_index_has (dir, "od=OD 1.1.1", "ini:x"));
    assert_false (s_raw_index_has (dir, "org=org:a", "ini:x"));

    //  Upserting again continues the numbering
    store = s_open (dir, 0, 0);
    assert_int_equal (s_publish (store, "ini:x",
        s_ini ("ini:x", "org:a", NULL, "OD 2.1.1", "digital", "running", "Gent",
               "2026-01-01", "", NULL), 2, &out, err), STX_OK);
    assert_int_equal (out.version, 3);
    assert_int_equal (out.seq, 4);
    assert_string_equal (s_query (store, &kind, keys), "ini:x");
    stx_store_destroy (&store);
    assert_true (s_raw_index_has (dir, "od=OD 2.1.1", "ini:x"));
}

static void
test_update_moves_index (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 0);
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    s_publish_ok (store, "org:b", s_org ("org:b", "industry", "Genk"));
    s_publish_ok (store, "ini:x", s_ini ("ini:x", "org:a", "org:b", "OD 1.1.1", "digital",
                                         "running", "Gent", "2026-01-01", "", NULL));
    s_publish_ok (store, "ini:x", s_ini ("ini:x", "org:a", NULL, "OD 2.1.1", "energy",
                                         "completed", "Genk", "2027-01-01", "", NULL));
    char keys [256];
    stx_filter_t f = { .od = "OD 1.1.1" };
    assert_string_equal (s_query (store, &f, keys), "");
    f.od = "OD 2.1.1";
    assert_string_equal (s_query (store, &f, keys), "ini:x");
    stx_filter_t partner = { .kind = STX_KIND_INITIATIVE, .org = "org:b" };
    assert_string_equal (s_query (store, &partner, keys), "");
    stx_filter_t helix = { .kind = STX_KIND_INITIATIVE, .helix = "industry" };
    assert_string_equal (s_query (store, &helix, keys), "");
    stx_store_destroy (&store);

    assert_false (s_raw_index_has (dir, "od=OD 1.1.1", "ini:x"));
    assert_false (s_raw_index_has (dir, "theme=digital", "ini:x"));
    assert_false (s_raw_index_has (dir, "org=org:b", "ini:x"));
    assert_false (s_raw_index_has (dir, "start=2026-01-01", "ini:x"));
    assert_true (s_raw_index_has (dir, "od=OD 2.1.1", "ini:x"));
    assert_true (s_raw_index_has (dir, "status=completed", "ini:x"));
    assert_true (s_raw_index_has (dir, "muni=Genk", "ini:x"));
    assert_true (s_raw_index_has (dir, "start=2027-01-01", "ini:x"));
    assert_true (s_raw_index_has (dir, "org=org:b", "org:b"));
}

static void
test_query_filters (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    s_populate (store);
    char keys [512];
    struct {
        stx_filter_t filter;
        const char *expected;
    } cases [] = {
        { { .kind = STX_KIND_NONE },
          "infra:c1,ini:a1,ini:b1,moment:m1,org:a,org:b,org:c" },
        { { .kind = STX_KIND_ORGANISATION }, "org:a,org:b,org:c" },
        { { .kind = STX_KIND_INITIATIVE }, "ini:a1,ini:b1" },
        { { .kind = STX_KIND_INFRASTRUCTURE }, "infra:c1" },
        { { .kind = STX_KIND_MOMENT }, "moment:m1" },
        { { .od = "OD 1.1.1" }, "ini:a1,moment:m1" },
        { { .od = "OD 3.2.1" }, "infra:c1" },
        { { .od = "OD 9.9.9" }, "" },
        { { .kind = STX_KIND_MOMENT, .od = "OD 1.1.1" }, "moment:m1" },
        //  pillars come from the organisations, filled in by the broker
        { { .helix = "industry" }, "ini:a1,ini:b1,moment:m1,org:b" },
        { { .helix = "knowledge" }, "infra:c1,org:c" },
        { { .kind = STX_KIND_INITIATIVE, .helix = "government" }, "ini:a1" },
        { { .org = "org:b" }, "ini:a1,ini:b1,moment:m1,org:b" },
        { { .org = "org:c" }, "infra:c1,org:c" },
        { { .municipality = "Gent" }, "ini:a1,moment:m1,org:a" },
        { { .municipality = "Leuven" }, "infra:c1,org:c" },
        { { .theme = "digital" }, "infra:c1,ini:a1" },
        { { .theme = "energy" }, "ini:b1,moment:m1" },
        { { .status = "planned" }, "ini:b1" },
        { { .status = "running", .municipality = "Genk" }, "" },
        { { .from = "2026-05-01", .to = "2026-05-31" }, "ini:a1,moment:m1" },
        { { .from = "2026-03-15" }, "infra:c1,ini:a1,ini:b1,moment:m1" },
        { { .to = "2026-02-01" }, "ini:a1" },
        { { .from = "2027-01-01" }, "ini:b1" },
        { { .from = "2026-07-01", .to = "2026-08-31" }, "" },
        { { .kind = STX_KIND_INITIATIVE, .from = "2026-07-01" }, "ini:b1" },
        { { .org = "org:a", .to = "2026-04-01" }, "ini:a1" },
        { { .org = "org:a", .theme = "energy", .from = "2026-05-10", .to = "2026-05-10" },
          "moment:m1" },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        s_query (store, &cases [i].filter, keys);
        if (strcmp (keys, cases [i].expected))
            fprintf (stderr, "case %zu: got '%s', want '%s'\n", i, keys, cases [i].expected);
        assert_string_equal (keys, cases [i].expected);
    }
    stx_store_destroy (&store);
}

//  The header promises queries read through an index, never the whole
//  catalogue: an entry whose index rows are removed behind the store's back
//  is invisible to the filters that name those rows, and still found
//  through the others.
static void
test_query_uses_index (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 0);
    s_populate (store);
    stx_store_destroy (&store);

    char path [512];
    snprintf (path, sizeof (path), "%s/catalogue", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    assert_int_equal (mdb_env_create (&env), 0);
    assert_int_equal (mdb_env_set_maxdbs (env, 8), 0);
    assert_int_equal (mdb_env_open (env, path, 0, 0664), 0);
    assert_int_equal (mdb_txn_begin (env, NULL, 0, &txn), 0);
    assert_int_equal (mdb_dbi_open (txn, "index", MDB_DUPSORT, &dbi), 0);
    const char *rows [] = { "kind=initiative", "start=2026-09-01" };
    for (size_t i = 0; i < 2; i++) {
        MDB_val key = { strlen (rows [i]), (void *) rows [i] };
        MDB_val data = { 6, (void *) "ini:b1" };
        assert_int_equal (mdb_del (txn, dbi, &key, &data), 0);
    }
    assert_int_equal (mdb_txn_commit (txn), 0);
    mdb_env_close (env);

    store = s_open (dir, 0, 0);
    char keys [512];
    stx_filter_t filter = { .kind = STX_KIND_INITIATIVE };
    assert_string_equal (s_query (store, &filter, keys), "ini:a1");
    stx_filter_t all = { .kind = STX_KIND_NONE };
    assert_string_equal (s_query (store, &all, keys),
                         "infra:c1,ini:a1,moment:m1,org:a,org:b,org:c");
    stx_filter_t dated = { .from = "2027-01-01" };
    assert_string_equal (s_query (store, &dated, keys), "");
    stx_filter_t status = { .status = "planned" };
    assert_string_equal (s_query (store, &status, keys), "ini:b1");
    stx_store_destroy (&store);
}

static int
s_no_hit (const stx_search_hit_t *hit, void *arg)
{
    (void) hit;
    (void) arg;
    fail_msg ("a store without index found a search hit");
    return 1;
}

//  Whether a closed store opens for queries (STX_STORE_QUERY); a store
//  without index is refused with a reason that says so.
static bool
s_queryable (const char *dir)
{
    stx_store_t *store = NULL;
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_store_open (dir, STX_STORE_READONLY | STX_STORE_QUERY, 0, &store,
                                          err, sizeof err);
    stx_store_destroy (&store);
    if (status == STX_OK)
        return true;
    assert_int_equal (status, STX_ERR_INVALID);
    assert_non_null (strstr (err, "keeps no query index"));
    return false;
}

//  A store opened with STX_STORE_NOINDEX (the broker's) drops the index
//  it had, writes none from then on, whoever opens it, and says so: the
//  index readers refuse, everything read by key still works.
static void
test_noindex (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 0);
    s_populate (store);
    uint64_t populated = s_meta (store).seq;
    stx_store_destroy (&store);
    assert_true (s_raw_count (dir, "index") > 0);
    assert_true (s_queryable (dir));

    store = s_open (dir, STX_STORE_NOINDEX, 0);
    s_publish_ok (store, "ini:n1", s_ini ("ini:n1", "org:a", "org:b", "OD 1.1.1", "digital",
                                          "running", "Gent", "2026-01-01", "", "robotica"));
    stx_store_destroy (&store);
    assert_int_equal (s_raw_count (dir, "index"), 0);
    assert_false (s_queryable (dir));

    //  A later open without the flag, or a read-only one, keeps it so
    store = s_open (dir, 0, 0);
    s_publish_ok (store, "ini:n2", s_ini ("ini:n2", "org:a", NULL, "OD 2.1.1", "energy",
                                          "planned", "Genk", "2026-02-01", "", NULL));
    stx_store_destroy (&store);
    assert_int_equal (s_raw_count (dir, "index"), 0);
    assert_false (s_queryable (dir));

    store = s_open (dir, STX_STORE_READONLY, 0);
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    stx_filter_t filter = { .kind = STX_KIND_INITIATIVE };
    char keys [256] = "";
    assert_int_equal (stx_txn_query (txn, &filter, s_collect, keys), STX_ERR_INVALID);
    stx_postings_t *postings = (stx_postings_t *) &filter;
    assert_int_equal (stx_txn_postings (txn, "word=robotica", &postings), STX_ERR_INVALID);
    assert_null (postings);
    bool has = true;
    assert_int_equal (stx_txn_index_has (txn, "od=OD 1.1.1", "ini:n1", &has), STX_ERR_INVALID);
    assert_false (has);
    char *terms [] = { (char *) "robotica" };
    assert_int_equal (stx_search (txn, terms, 1, NULL, 0, s_no_hit, NULL, NULL),
                      STX_ERR_INVALID);
    Stemx__Event *event = NULL;
    assert_int_equal (stx_txn_get (txn, "ini:n2", &event), STX_OK);
    assert_int_equal (event->version, 1);
    stx_event_free (&event);
    stx_txn_abort (&txn);
    assert_int_equal (s_meta (store).seq, populated + 2);
    s_check_chain (store);
    stx_store_destroy (&store);
}

static int
s_stop_after_one (const Stemx__Event *event, void *arg)
{
    (void) event;
    ++*(int *) arg;
    return 1;
}

static void
test_query_stop (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    s_populate (store);
    int calls = 0;
    stx_txn_t *txn;
    stx_filter_t all = { .kind = STX_KIND_NONE };
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_query (txn, &all, s_stop_after_one, &calls), STX_OK);
    stx_txn_abort (&txn);
    assert_int_equal (calls, 1);
    stx_store_destroy (&store);
}

//  Packed log of a store, for replaying elsewhere
typedef struct {
    uint8_t *data [64];
    size_t size [64];
    size_t count;
} s_log_t;

static void
s_log_read (stx_store_t *store, s_log_t *log)
{
    stx_meta_t meta = s_meta (store);
    assert_true (meta.seq <= 64);
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    log->count = meta.seq;
    for (uint64_t seq = 1; seq <= meta.seq; seq++) {
        const uint8_t *data;
        size_t size;
        assert_int_equal (stx_txn_log_get (txn, seq, &data, &size), STX_OK);
        log->data [seq - 1] = (uint8_t *) malloc (size);
        memcpy (log->data [seq - 1], data, size);
        log->size [seq - 1] = size;
    }
    stx_txn_abort (&txn);
}

static void
s_log_destroy (s_log_t *log)
{
    for (size_t i = 0; i < log->count; i++)
        free (log->data [i]);
}

//  Compare two stores: meta and the results of many filters
static void
s_assert_same (stx_store_t *a, stx_store_t *b)
{
    stx_meta_t ma = s_meta (a), mb = s_meta (b);
    assert_int_equal (ma.seq, mb.seq);
    assert_memory_equal (ma.head, mb.head, STX_HEAD_SIZE);
    assert_int_equal (ma.entries, mb.entries);
    stx_filter_t filters [] = {
        { .kind = STX_KIND_NONE },
        { .kind = STX_KIND_INITIATIVE },
        { .od = "OD 1.1.1" },
        { .od = "OD 2.1.1" },
        { .helix = "industry" },
        { .org = "org:a" },
        { .municipality = "Gent" },
        { .theme = "energy" },
        { .status = "running" },
        { .from = "2026-03-01", .to = "2026-06-01" },
    };
    char ka [512], kb [512];
    for (size_t i = 0; i < sizeof (filters) / sizeof (filters [0]); i++)
        assert_string_equal (s_query (a, &filters [i], ka), s_query (b, &filters [i], kb));
}

//  Byte-wise equal entries databases
typedef struct {
    char keys [64][64];
    uint8_t *data [64];
    size_t size [64];
    size_t count;
} s_entries_t;

static int
s_entry_copy (const char *key, const uint8_t *data, size_t size, void *arg)
{
    s_entries_t *self = (s_entries_t *) arg;
    assert_true (self->count < 64);
    snprintf (self->keys [self->count], 64, "%s", key);
    self->data [self->count] = (uint8_t *) malloc (size);
    memcpy (self->data [self->count], data, size);
    self->size [self->count++] = size;
    return 0;
}

static void
s_entries_read (stx_store_t *store, const char *after, s_entries_t *out)
{
    memset (out, 0, sizeof (*out));
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_entries (txn, after, s_entry_copy, out), STX_OK);
    stx_txn_abort (&txn);
}

static void
s_entries_destroy (s_entries_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->data [i]);
}

static void
s_assert_same_entries (stx_store_t *a, stx_store_t *b)
{
    s_entries_t ea, eb;
    s_entries_read (a, NULL, &ea);
    s_entries_read (b, NULL, &eb);
    assert_int_equal (ea.count, eb.count);
    for (size_t i = 0; i < ea.count; i++) {
        assert_string_equal (ea.keys [i], eb.keys [i]);
        assert_int_equal (ea.size [i], eb.size [i]);
        assert_memory_equal (ea.data [i], eb.data [i], ea.size [i]);
    }
    s_entries_destroy (&ea);
    s_entries_destroy (&eb);
}

//  Broker activity with updates and a withdrawal
static void
s_history (stx_store_t *store)
{
    s_populate (store);
    s_publish_ok (store, "ini:a1", s_ini ("ini:a1", "org:a", "org:c", "OD 2.1.1", "energy",
                                          "completed", "Gent", "2026-01-01", "2026-02-01", NULL));
    s_publish_ok (store, "org:d", s_org ("org:d", "civil_society", "Gent"));
    stx_sequenced_t out;
    assert_int_equal (s_publish (store, "moment:m1", NULL, 0, &out, NULL), STX_OK);
}

static void
test_replicas_converge (void **state)
{
    char dir_a [512], dir_b [512];
    s_subdir (state, "a", dir_a, sizeof (dir_a));
    s_subdir (state, "b", dir_b, sizeof (dir_b));
    stx_store_t *a = s_open (dir_a, 0, 0);
    stx_store_t *b = s_open (dir_b, STX_STORE_NOSYNC, 0);
    s_history (a);
    s_log_t log;
    s_log_read (a, &log);
    assert_int_equal (log.count, 10);

    //  Replica: some events one per transaction, the rest in one batch
    stx_txn_t *txn;
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal (stx_store_begin (b, true, &txn), STX_OK);
        assert_int_equal (stx_txn_apply (txn, log.data [i], log.size [i]), STX_OK);
        assert_int_equal (stx_txn_commit (&txn), STX_OK);
    }
    assert_int_equal (stx_store_begin (b, true, &txn), STX_OK);
    for (size_t i = 4; i < log.count; i++)
        assert_int_equal (stx_txn_apply (txn, log.data [i], log.size [i]), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);

    s_assert_same (a, b);
    s_assert_same_entries (a, b);
    s_check_chain (b);

    //  The replica's log serves the same bytes
    s_log_t log_b;
    s_log_read (b, &log_b);
    for (size_t i = 0; i < log.count; i++) {
        assert_int_equal (log.size [i], log_b.size [i]);
        assert_memory_equal (log.data [i], log_b.data [i], log.size [i]);
    }
    s_log_destroy (&log_b);
    s_log_destroy (&log);
    stx_store_destroy (&a);
    stx_store_destroy (&b);
    s_assert_same_index (dir_a, dir_b);
}

//  --------------------------------------------------------------------------
//  A replica applying many events in one transaction builds the index a
//  one-event-per-transaction node builds: its index changes wait in the
//  transaction and are put sorted (mid-way too, past the pending limit),
//  updates and withdrawals of the same transaction included, and a query
//  inside the transaction sees every change before it.

static int
s_count_one (const Stemx__Event *event, void *arg)
{
    (void) event;
    (*(size_t *) arg)++;
    return 0;
}

static size_t
s_txn_count (stx_txn_t *txn, const stx_filter_t *filter)
{
    size_t count = 0;
    assert_int_equal (stx_txn_query (txn, filter, s_count_one, &count), STX_OK);
    return count;
}

static void
test_batched_index (void **state)
{
    char dir_a [512], dir_b [512];
    s_subdir (state, "a", dir_a, sizeof (dir_a));
    s_subdir (state, "b", dir_b, sizeof (dir_b));
    stx_store_t *a = s_open (dir_a, STX_STORE_NOSYNC, 0);
    stx_store_t *b = s_open (dir_b, STX_STORE_NOSYNC, 0);
    static const char *themes [] = { "digital", "energy", "health", "space" };
    static const char *munis [] = { "Gent", "Genk", "Leuven", "Brugge", "Aalst" };
    s_publish_ok (a, "org:a", s_org ("org:a", "government", "Gent"));
    s_publish_ok (a, "org:b", s_org ("org:b", "industry", "Genk"));
    //  A dozen index changes per initiative: 6000 of them pass the
    //  pending limit, then updates move keys and withdrawals drop them
    const size_t count = 6000;
    char id [32], od [32], summary [128];
    for (size_t i = 0; i < count; i++) {
        snprintf (id, sizeof id, "ini:%05zu", (i * 7919) % count);
        snprintf (od, sizeof od, "OD %zu.%zu.1", i % 5 + 1, i % 3 + 1);
        snprintf (summary, sizeof summary, "robotica lab%zu maker%zu stage%zu klas%zu",
                  i % 97, i % 13, i % 31, i % 7);
        s_publish_ok (a, id, s_ini (id, "org:a", i % 2? "org:b": NULL, od, themes [i % 4],
                                    "running", munis [i % 5], "2026-01-01", "", summary));
    }
    for (size_t i = 0; i < count; i += 5) {
        snprintf (id, sizeof id, "ini:%05zu", i);
        s_publish_ok (a, id, s_ini (id, "org:b", NULL, "OD 9.1.1", "energy", "completed",
                                    "Aalst", "2027-02-01", "", "anders"));
    }
    for (size_t i = 0; i < count; i += 20) {
        snprintf (id, sizeof id, "ini:%05zu", i);
        stx_sequenced_t out;
        assert_int_equal (s_publish (a, id, NULL, 0, &out, NULL), STX_OK);
    }
    stx_meta_t meta = s_meta (a);
    assert_int_equal (meta.seq, 2 + count + count / 5 + count / 20);

    stx_txn_t *read, *txn;
    assert_int_equal (stx_store_begin (a, false, &read), STX_OK);
    assert_int_equal (stx_store_begin (b, true, &txn), STX_OK);
    stx_filter_t moved = { .od = "OD 9.1.1" };
    stx_filter_t aalst = { .kind = STX_KIND_INITIATIVE, .municipality = "Aalst" };
    for (uint64_t seq = 1; seq <= meta.seq; seq++) {
        const uint8_t *data;
        size_t size;
        assert_int_equal (stx_txn_log_get (read, seq, &data, &size), STX_OK);
        assert_int_equal (stx_txn_apply (txn, data, size), STX_OK);
        //  Halfway through the updates: the transaction sees its own changes
        if (seq == 2 + count + count / 10)
            assert_int_equal (s_txn_count (txn, &moved), count / 10);
    }
    //  Every fifth moved to OD 9.1.1 and Aalst, every twentieth withdrawn
    assert_int_equal (s_txn_count (txn, &moved), count / 5 - count / 20);
    assert_int_equal (s_txn_count (txn, &aalst), s_txn_count (read, &aalst));
    assert_int_equal (s_txn_count (txn, &aalst), count / 5 + count / 5 - count / 20);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_txn_abort (&read);

    //  An aborted transaction leaves none of its pending changes behind
    assert_int_equal (stx_store_begin (b, true, &txn), STX_OK);
    assert_int_equal (stx_txn_clear (txn), STX_OK);
    stx_txn_abort (&txn);
    stx_meta_t meta_b = s_meta (b);
    assert_int_equal (meta_b.seq, meta.seq);
    assert_memory_equal (meta_b.head, meta.head, STX_HEAD_SIZE);
    assert_int_equal (meta_b.entries, meta.entries);
    stx_store_destroy (&a);
    stx_store_destroy (&b);
    s_assert_same_index (dir_a, dir_b);
}

static void
test_apply_gap_stale (void **state)
{
    char dir_a [512], dir_b [512];
    s_subdir (state, "a", dir_a, sizeof (dir_a));
    s_subdir (state, "b", dir_b, sizeof (dir_b));
    stx_store_t *a = s_open (dir_a, 0, 0);
    stx_store_t *b = s_open (dir_b, 0, 0);
    s_populate (a);
    s_log_t log;
    s_log_read (a, &log);

    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (b, true, &txn), STX_OK);
    assert_int_equal (stx_txn_apply (txn, log.data [1], log.size [1]), STX_ERR_GAP);
    stx_meta_t meta;
    assert_int_equal (stx_txn_meta (txn, &meta), STX_OK);
    assert_int_equal (meta.seq, 0);
    assert_int_equal (meta.entries, 0);
    assert_int_equal (stx_txn_apply (txn, log.data [0], log.size [0]), STX_OK);
    assert_int_equal (stx_txn_apply (txn, log.data [0], log.size [0]), STX_ERR_STALE);
    const uint8_t junk [] = { 0x1a, 0x7f, 'x' };
    assert_int_equal (stx_txn_apply (txn, junk, sizeof (junk)), STX_ERR_MALFORMED);
    assert_int_equal (stx_txn_meta (txn, &meta), STX_OK);
    assert_int_equal (meta.seq, 1);
    assert_int_equal (meta.entries, 1);
    uint8_t head [STX_HEAD_SIZE] = { 0 };
    stx_chain_next (head, log.data [0], log.size [0], head);
    assert_memory_equal (meta.head, head, STX_HEAD_SIZE);
    assert_int_equal (stx_txn_apply (txn, log.data [2], log.size [2]), STX_ERR_GAP);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);

    meta = s_meta (b);
    assert_int_equal (meta.seq, 1);
    assert_memory_equal (meta.head, head, STX_HEAD_SIZE);
    char keys [256];
    stx_filter_t all = { .kind = STX_KIND_NONE };
    assert_string_equal (s_query (b, &all, keys), "org:a");
    s_log_destroy (&log);
    stx_store_destroy (&a);
    stx_store_destroy (&b);
}

static void
test_abort_and_reopen (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 0);
    //  An aborted batch leaves nothing
    Stemx__Entry *a = s_org ("org:a", "government", "Gent");
    Stemx__Event *event = stx_event_new ("org:a", &a);
    stx_txn_t *txn;
    stx_sequenced_t out;
    char err [STX_ERRLEN];
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_ensure_lineage (txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, event, NULL, &out, err, sizeof (err)), STX_OK);
    assert_int_equal (out.seq, 1);
    stx_txn_abort (&txn);
    assert_null (txn);
    stx_txn_abort (&txn);
    stx_meta_t meta = s_meta (store);
    assert_int_equal (meta.seq, 0);
    assert_int_equal (meta.entries, 0);
    assert_false (meta.has_lineage);
    char keys [256];
    stx_filter_t all = { .kind = STX_KIND_NONE };
    assert_string_equal (s_query (store, &all, keys), "");
    //  The same event id is not known: it sequences afresh
    event->seq = 0;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_ensure_lineage (txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, event, NULL, &out, err, sizeof (err)), STX_OK);
    assert_false (out.duplicate);
    assert_int_equal (out.seq, 1);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&event);
    s_publish_ok (store, "org:b", s_org ("org:b", "industry", "Genk"));
    stx_meta_t before = s_meta (store);
    stx_store_destroy (&store);

    //  Reopen: same position, the chain continues
    store = s_open (dir, 0, 0);
    meta = s_meta (store);
    assert_int_equal (meta.seq, 2);
    assert_memory_equal (meta.head, before.head, STX_HEAD_SIZE);
    assert_memory_equal (meta.lineage, before.lineage, STX_LINEAGE_SIZE);
    s_publish_ok (store, "org:c", s_org ("org:c", "knowledge", "Leuven"));
    assert_int_equal (s_meta (store).seq, 3);
    s_check_chain (store);
    assert_string_equal (s_query (store, &all, keys), "org:a,org:b,org:c");
    stx_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  Read-only access while another process holds the store open

static void
s_child_wait (int fd)
{
    char c;
    if (read (fd, &c, 1) != 1)
        _exit (10);
}

static void
s_child_publish (stx_store_t *store, const char *key, const char *pillar)
{
    Stemx__Entry *entry = s_org (key, pillar, "Gent");
    Stemx__Event *event = stx_event_new (key, &entry);
    stx_txn_t *txn;
    stx_sequenced_t out;
    if (stx_store_begin (store, true, &txn) != STX_OK
    ||  stx_txn_sequence (txn, event, NULL, &out, NULL, 0) != STX_OK
    ||  stx_txn_commit (&txn) != STX_OK)
        _exit (11);
    stx_event_free (&event);
}

static void
test_readonly_other_process (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *ro = NULL;
    char err [STX_ERRLEN];
    //  Nothing there yet
    assert_int_equal (stx_store_open (dir, STX_STORE_READONLY, 0, &ro, err, sizeof (err)),
                      STX_ERR_NOT_FOUND);
    assert_null (ro);

    int to_child [2], to_parent [2];
    assert_int_equal (pipe (to_child), 0);
    assert_int_equal (pipe (to_parent), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        //  Child: the daemon holding the store open for writing
        close (to_child [1]);
        close (to_parent [0]);
        stx_store_t *store = NULL;
        if (stx_store_open (dir, 0, 0, &store, NULL, 0) != STX_OK)
            _exit (12);
        s_child_publish (store, "org:a", "government");
        if (write (to_parent [1], "1", 1) != 1)
            _exit (13);
        s_child_wait (to_child [0]);
        s_child_publish (store, "org:b", "industry");
        if (write (to_parent [1], "2", 1) != 1)
            _exit (13);
        s_child_wait (to_child [0]);
        stx_store_destroy (&store);
        _exit (0);
    }
    close (to_child [0]);
    close (to_parent [1]);
    char c;
    assert_int_equal (read (to_parent [0], &c, 1), 1);

    ro = s_open (dir, STX_STORE_READONLY, 0);
    stx_meta_t meta = s_meta (ro);
    assert_int_equal (meta.seq, 1);
    stx_txn_t *old;
    assert_int_equal (stx_store_begin (ro, false, &old), STX_OK);
    Stemx__Event *event;
    assert_int_equal (stx_txn_get (old, "org:a", &event), STX_OK);
    assert_string_equal (event->entry->organisation->helix_pillar, "government");
    stx_event_free (&event);
    //  A read-only store cannot write
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (ro, true, &txn), STX_ERR_INVALID);
    assert_null (txn);

    //  The writer commits more; a new read transaction sees it, the
    //  one held open (possible across loop iterations) keeps its view
    assert_int_equal (write (to_child [1], "g", 1), 1);
    assert_int_equal (read (to_parent [0], &c, 1), 1);
    char keys [256];
    stx_filter_t all = { .kind = STX_KIND_ORGANISATION };
    assert_string_equal (s_query (ro, &all, keys), "org:a,org:b");
    assert_int_equal (s_meta (ro).seq, 2);
    stx_meta_t old_meta;
    assert_int_equal (stx_txn_meta (old, &old_meta), STX_OK);
    assert_int_equal (old_meta.seq, 1);
    stx_txn_abort (&old);

    assert_int_equal (write (to_child [1], "q", 1), 1);
    int child_status;
    assert_int_equal (waitpid (pid, &child_status, 0), pid);
    assert_true (WIFEXITED (child_status));
    assert_int_equal (WEXITSTATUS (child_status), 0);
    //  Still readable after the writer has gone
    assert_int_equal (s_meta (ro).seq, 2);
    stx_store_destroy (&ro);
    close (to_child [1]);
    close (to_parent [0]);
}

//  --------------------------------------------------------------------------
//  Another process grows the map beyond ours (MDB_MAP_RESIZED). Adopting
//  the new size remaps the file, which would leave the data pointers of a
//  read transaction we still hold dangling: the store must refuse to
//  remap while one is alive, and adopt the size once none is.

static void
test_map_resized_by_other_process (void **state)
{
    const char *dir = (char *) *state;
    int to_child [2], to_parent [2];
    assert_int_equal (pipe (to_child), 0);
    assert_int_equal (pipe (to_parent), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        //  Child: a writer with a much larger map
        close (to_child [1]);
        close (to_parent [0]);
        s_child_wait (to_child [0]);
        stx_store_t *store = NULL;
        if (stx_store_open (dir, 0, 16 * 1024 * 1024, &store, NULL, 0) != STX_OK)
            _exit (12);
        char summary [1000];
        memset (summary, 'x', sizeof (summary) - 1);
        summary [sizeof (summary) - 1] = 0;
        //  One batch: the parent's read transaction keeps every page a
        //  commit frees from being reused
        stx_txn_t *txn;
        if (stx_store_begin (store, true, &txn) != STX_OK)
            _exit (11);
        for (int i = 0; i < 300; i++) {
            char key [32];
            snprintf (key, sizeof (key), "ini:n%04d", i);
            Stemx__Entry *entry = s_ini (key, "org:a", NULL, "OD 1.1.1", "digital", "running",
                                         "Gent", "2026-01-01", "", summary);
            Stemx__Event *event = stx_event_new (key, &entry);
            stx_sequenced_t out;
            if (stx_txn_sequence (txn, event, NULL, &out, NULL, 0) != STX_OK)
                _exit (11);
            stx_event_free (&event);
        }
        if (stx_txn_commit (&txn) != STX_OK)
            _exit (11);
        stx_store_destroy (&store);
        if (write (to_parent [1], "1", 1) != 1)
            _exit (13);
        _exit (0);
    }
    close (to_child [0]);
    close (to_parent [1]);

    //  Parent: a small map, one event, and a read transaction holding a
    //  pointer into the map
    stx_store_t *store = s_open (dir, 0, 256 * 1024);
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    stx_txn_t *held;
    assert_int_equal (stx_store_begin (store, false, &held), STX_OK);
    const uint8_t *data;
    size_t size;
    assert_int_equal (stx_txn_log_get (held, 1, &data, &size), STX_OK);
    uint8_t *copy = (uint8_t *) malloc (size);
    memcpy (copy, data, size);

    assert_int_equal (write (to_child [1], "g", 1), 1);
    char c;
    int child_status;
    assert_int_equal (waitpid (pid, &child_status, 0), pid);
    assert_true (WIFEXITED (child_status));
    assert_int_equal (WEXITSTATUS (child_status), 0);
    assert_int_equal (read (to_parent [0], &c, 1), 1);

    //  The map must not move under the held transaction
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_ERR_STORAGE);
    assert_null (txn);
    assert_memory_equal (data, copy, size);
    stx_meta_t meta;
    assert_int_equal (stx_txn_meta (held, &meta), STX_OK);
    assert_int_equal (meta.seq, 1);
    stx_txn_abort (&held);

    //  With nothing held, the new size is adopted and everything is seen
    assert_int_equal (s_meta (store).seq, 301);
    s_check_chain (store);
    s_publish_ok (store, "org:b", s_org ("org:b", "industry", "Genk"));
    assert_int_equal (s_meta (store).seq, 302);
    stx_store_destroy (&store);
    free (copy);
    close (to_child [1]);
    close (to_parent [0]);
}

//  --------------------------------------------------------------------------
//  A tiny map (256 KiB: LMDB keeps the previous version's pages, so 64 KiB
//  holds barely one event) fills up without harm

static void
test_map_full (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 256 * 1024);
    char summary [200];
    memset (summary, 'x', sizeof (summary) - 1);
    summary [sizeof (summary) - 1] = 0;
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));

    stx_status_t status = STX_OK;
    int published = 1;
    for (int i = 0; i < 1000 && status == STX_OK; i++) {
        char key [32];
        snprintf (key, sizeof (key), "ini:n%04d", i);
        status = s_publish (store, key, s_ini (key, "org:a", NULL, "OD 1.1.1", "digital",
                                               "running", "Gent", "2026-01-01", "", summary),
                            0, NULL, NULL);
        if (status == STX_OK)
            published++;
    }
    assert_int_equal (status, STX_ERR_MAP_FULL);
    assert_true (published > 2);

    //  Everything committed is intact and readable
    stx_meta_t meta = s_meta (store);
    assert_int_equal (meta.seq, published);
    assert_int_equal (meta.entries, published);
    s_check_chain (store);
    char keys [1 << 15];
    stx_filter_t f = { .od = "OD 1.1.1" };
    s_query (store, &f, keys);
    size_t commas = 0;
    for (char *p = keys; *p; p++)
        commas += *p == ',';
    assert_int_equal (commas + 1, published - 1);
    stx_store_destroy (&store);

    //  And after reopening
    store = s_open (dir, STX_STORE_READONLY, 0);
    assert_int_equal (s_meta (store).seq, published);
    s_check_chain (store);
    stx_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  Snapshot: clear, load, set position

typedef struct {
    stx_txn_t *txn;
    size_t loaded;
} s_loader_t;

static int
s_load_one (const char *key, const uint8_t *data, size_t size, void *arg)
{
    (void) key;
    s_loader_t *loader = (s_loader_t *) arg;
    assert_int_equal (stx_txn_load (loader->txn, data, size), STX_OK);
    loader->loaded++;
    return 0;
}

static void
test_snapshot (void **state)
{
    char dir_a [512], dir_b [512];
    s_subdir (state, "a", dir_a, sizeof (dir_a));
    s_subdir (state, "b", dir_b, sizeof (dir_b));
    stx_store_t *a = s_open (dir_a, 0, 0);
    stx_store_t *b = s_open (dir_b, 0, 0);
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (a, true, &txn), STX_OK);
    assert_int_equal (stx_txn_ensure_lineage (txn), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    s_history (a);

    //  The replica holds stale data of its own, which the snapshot drops
    s_publish_ok (b, "org:zz", s_org ("org:zz", "industry", "Brugge"));
    s_publish_ok (b, "org:a", s_org ("org:a", "industry", "Brugge"));

    //  Snapshot from one read transaction of a
    stx_txn_t *source;
    assert_int_equal (stx_store_begin (a, false, &source), STX_OK);
    stx_meta_t ma;
    assert_int_equal (stx_txn_meta (source, &ma), STX_OK);
    assert_int_equal (stx_store_begin (b, true, &txn), STX_OK);
    assert_int_equal (stx_txn_clear (txn), STX_OK);
    s_loader_t loader = { txn, 0 };
    assert_int_equal (stx_txn_entries (source, NULL, s_load_one, &loader), STX_OK);
    assert_int_equal (loader.loaded, ma.entries);
    assert_int_equal (stx_txn_set_position (txn, ma.lineage, ma.seq, ma.head), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_txn_abort (&source);

    stx_meta_t mb = s_meta (b);
    assert_true (mb.has_lineage);
    assert_memory_equal (mb.lineage, ma.lineage, STX_LINEAGE_SIZE);
    assert_int_equal (mb.log_first, ma.seq + 1);
    s_assert_same (a, b);
    s_assert_same_entries (a, b);
    //  The replica's log is empty below the snapshot
    const uint8_t *data;
    size_t size;
    assert_int_equal (stx_store_begin (b, false, &txn), STX_OK);
    assert_int_equal (stx_txn_log_get (txn, ma.seq, &data, &size), STX_ERR_NOT_FOUND);
    assert_int_equal (stx_txn_log_get (txn, 1, &data, &size), STX_ERR_NOT_FOUND);
    stx_txn_abort (&txn);

    //  The snapshot is followed by live updates
    s_publish_ok (a, "org:e", s_org ("org:e", "knowledge", "Kortrijk"));
    s_publish_ok (a, "ini:b1", s_ini ("ini:b1", "org:b", "org:e", "OD 4.1.1", "energy",
                                      "running", "Genk", "2026-09-01", "", NULL));
    assert_int_equal (stx_store_begin (a, false, &source), STX_OK);
    assert_int_equal (stx_store_begin (b, true, &txn), STX_OK);
    for (uint64_t seq = ma.seq + 1; seq <= ma.seq + 2; seq++) {
        assert_int_equal (stx_txn_log_get (source, seq, &data, &size), STX_OK);
        assert_int_equal (stx_txn_apply (txn, data, size), STX_OK);
    }
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_txn_abort (&source);
    s_assert_same (a, b);
    s_assert_same_entries (a, b);
    assert_int_equal (stx_store_begin (b, false, &txn), STX_OK);
    assert_int_equal (stx_txn_log_get (txn, ma.seq + 2, &data, &size), STX_OK);
    stx_txn_abort (&txn);

    //  Iteration resumes after a given key
    s_entries_t after;
    s_entries_read (b, "moment:m1", &after);
    assert_int_equal (after.count, 5);
    assert_string_equal (after.keys [0], "org:a");
    s_entries_destroy (&after);
    s_entries_read (b, "org:b", &after);
    assert_string_equal (after.keys [0], "org:c");
    s_entries_destroy (&after);
    s_entries_read (b, "ini:zz", &after);
    assert_string_equal (after.keys [0], "moment:m1");
    s_entries_destroy (&after);

    stx_store_destroy (&a);
    stx_store_destroy (&b);
    s_assert_same_index (dir_a, dir_b);
}

//  --------------------------------------------------------------------------
//  Heads per sequence, history per key, index lookups

typedef struct {
    uint64_t seqs [8];
    size_t count;
} s_seqs_t;

static int
s_collect_seq (uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    s_seqs_t *self = (s_seqs_t *) arg;
    Stemx__Event *event = NULL;
    assert_int_equal (stx_event_unpack (data, size, &event), STX_OK);
    assert_int_equal (event->seq, seq);
    stx_event_free (&event);
    self->seqs [self->count++] = seq;
    return 0;
}

//  The entry keys filed under index_key, comma-separated, by a postings walk
static char *
s_postings (stx_txn_t *txn, const char *index_key, char *keys)
{
    *keys = 0;
    stx_postings_t *postings = NULL;
    assert_int_equal (stx_txn_postings (txn, index_key, &postings), STX_OK);
    for (const char *key; (key = stx_postings_key (postings));
         assert_int_equal (stx_postings_next (postings), STX_OK)) {
        if (*keys)
            strcat (keys, ",");
        strcat (keys, key);
    }
    stx_postings_destroy (&postings);
    return keys;
}

static void
test_heads_history_lookup (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    stx_meta_t after_one = s_meta (store);
    s_publish_ok (store, "org:b", s_org ("org:b", "industry", "Genk"));
    s_publish_ok (store, "org:a", s_org ("org:a", "knowledge", "Gent"));
    stx_meta_t meta = s_meta (store);
    assert_int_equal (meta.seq, 3);

    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    uint8_t head [STX_HEAD_SIZE], zero [STX_HEAD_SIZE] = { 0 };
    assert_int_equal (stx_txn_head_at (txn, 1, head), STX_OK);
    assert_memory_equal (head, after_one.head, STX_HEAD_SIZE);
    assert_int_equal (stx_txn_head_at (txn, 3, head), STX_OK);
    assert_memory_equal (head, meta.head, STX_HEAD_SIZE);
    assert_int_equal (stx_txn_head_at (txn, 0, head), STX_OK);
    assert_memory_equal (head, zero, STX_HEAD_SIZE);
    assert_int_equal (stx_txn_head_at (txn, 4, head), STX_ERR_NOT_FOUND);

    s_seqs_t seqs = { { 0 }, 0 };
    assert_int_equal (stx_txn_history (txn, "org:a", s_collect_seq, &seqs), STX_OK);
    assert_int_equal (seqs.count, 2);
    assert_int_equal (seqs.seqs [0], 1);
    assert_int_equal (seqs.seqs [1], 3);
    seqs.count = 0;
    assert_int_equal (stx_txn_history (txn, "org:none", s_collect_seq, &seqs), STX_OK);
    assert_int_equal (seqs.count, 0);

    char keys [256] = "";
    assert_string_equal (s_postings (txn, "kind=organisation", keys), "org:a,org:b");
    //  org:a moved from government to knowledge: the index followed
    assert_string_equal (s_postings (txn, "helix=government", keys), "");
    assert_string_equal (s_postings (txn, "helix=knowledge", keys), "org:a");
    //  The probe sees the same
    bool has = false;
    assert_int_equal (stx_txn_index_has (txn, "helix=knowledge", "org:a", &has), STX_OK);
    assert_true (has);
    assert_int_equal (stx_txn_index_has (txn, "helix=government", "org:a", &has), STX_OK);
    assert_false (has);
    char long_key [600];
    memset (long_key, 'x', sizeof long_key - 1);
    long_key [sizeof long_key - 1] = 0;
    assert_int_equal (stx_txn_index_has (txn, long_key, "org:a", &has), STX_ERR_TOO_LARGE);
    stx_txn_abort (&txn);
    stx_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  Retention: trim the log in bounded steps

static uint64_t
s_trim (stx_store_t *store, uint64_t keep, int64_t before_ms, size_t max)
{
    stx_txn_t *txn;
    uint64_t trimmed = 0;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_trim (txn, keep, before_ms, max, &trimmed), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    return trimmed;
}

//  The chain from the head at log_first - 1 over the log ends at meta's head.
static void
s_check_chain_from_horizon (stx_store_t *store)
{
    stx_meta_t meta = s_meta (store);
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    uint8_t head [STX_HEAD_SIZE];
    assert_int_equal (stx_txn_head_at (txn, meta.log_first - 1, head), STX_OK);
    for (uint64_t seq = meta.log_first; seq <= meta.seq; seq++) {
        const uint8_t *data;
        size_t size;
        assert_int_equal (stx_txn_log_get (txn, seq, &data, &size), STX_OK);
        stx_chain_next (head, data, size, head);
        uint8_t recorded [STX_HEAD_SIZE];
        assert_int_equal (stx_txn_head_at (txn, seq, recorded), STX_OK);
        assert_memory_equal (head, recorded, STX_HEAD_SIZE);
    }
    stx_txn_abort (&txn);
    assert_memory_equal (head, meta.head, STX_HEAD_SIZE);
}

static void
test_trim (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    //  Event 1 with a known id, to resend after it is trimmed
    Stemx__Entry *entry = s_org ("org:old", "government", "Gent");
    Stemx__Event *event = stx_event_new ("org:old", &entry);
    uint8_t id [STX_EVENT_ID_SIZE];
    memcpy (id, event->event_id.data, STX_EVENT_ID_SIZE);
    uint64_t client_time = event->client_time_ms;
    stx_txn_t *txn;
    stx_sequenced_t out;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, event, NULL, &out, NULL, 0), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&event);
    assert_int_equal (out.seq, 1);
    s_history (store);          //  events 2..11: updates and a withdrawal
    stx_meta_t before = s_meta (store);
    assert_int_equal (before.seq, 11);
    assert_int_equal (before.log_first, 1);
    uint8_t head_at [12][STX_HEAD_SIZE];
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    for (uint64_t seq = 1; seq <= 11; seq++)
        assert_int_equal (stx_txn_head_at (txn, seq, head_at [seq]), STX_OK);
    stx_txn_abort (&txn);
    char keys_before [10][512];
    stx_filter_t filters [] = {
        { .kind = STX_KIND_NONE }, { .od = "OD 1.1.1" }, { .od = "OD 2.1.1" },
        { .org = "org:a" }, { .municipality = "Gent" }, { .theme = "energy" },
        { .kind = STX_KIND_MOMENT }
    };
    size_t nfilters = sizeof (filters) / sizeof (filters [0]);
    for (size_t i = 0; i < nfilters; i++)
        s_query (store, &filters [i], keys_before [i]);

    //  Young events stay, whatever the count; a read transaction cannot trim
    int64_t now = (int64_t) time (NULL) * 1000;
    assert_int_equal (s_trim (store, 0, now - 3600 * 1000, 1000), 0);
    assert_int_equal (s_meta (store).log_first, 1);
    uint64_t trimmed = 99;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_trim (txn, 0, now + 60000, 10, &trimmed), STX_ERR_INVALID);
    stx_txn_abort (&txn);

    //  Old enough, keep the newest 3, at most 4 per step: 1..4, then 5..8
    assert_int_equal (s_trim (store, 3, now + 60000, 4), 4);
    assert_int_equal (s_meta (store).log_first, 5);
    assert_int_equal (s_trim (store, 3, now + 60000, 4), 4);
    assert_int_equal (s_trim (store, 3, now + 60000, 4), 0);
    stx_meta_t meta = s_meta (store);
    assert_int_equal (meta.log_first, 9);
    assert_int_equal (meta.seq, before.seq);
    assert_memory_equal (meta.head, before.head, STX_HEAD_SIZE);
    assert_int_equal (meta.entries, before.entries);

    //  Log, heads and history below the horizon are gone
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    const uint8_t *data;
    size_t size;
    uint8_t head [STX_HEAD_SIZE];
    for (uint64_t seq = 1; seq <= 8; seq++)
        assert_int_equal (stx_txn_log_get (txn, seq, &data, &size), STX_ERR_NOT_FOUND);
    assert_int_equal (stx_txn_log_get (txn, 9, &data, &size), STX_OK);
    for (uint64_t seq = 1; seq <= 7; seq++)
        assert_int_equal (stx_txn_head_at (txn, seq, head), STX_ERR_NOT_FOUND);
    for (uint64_t seq = 8; seq <= 11; seq++) {
        assert_int_equal (stx_txn_head_at (txn, seq, head), STX_OK);
        assert_memory_equal (head, head_at [seq], STX_HEAD_SIZE);
    }
    //  ini:a1 had events 5 and 9 (its update): only 9 is left
    s_seqs_t seqs = { { 0 }, 0 };
    assert_int_equal (stx_txn_history (txn, "ini:a1", s_collect_seq, &seqs), STX_OK);
    assert_int_equal (seqs.count, 1);
    assert_int_equal (seqs.seqs [0], 9);
    //  The withdrawal's tombstone stays in entries
    Stemx__Event *latest = NULL;
    assert_int_equal (stx_txn_get (txn, "moment:m1", &latest), STX_OK);
    assert_int_equal (latest->op, STEMX__OPERATION__OP_WITHDRAW);
    stx_event_free (&latest);
    assert_int_equal (stx_txn_get (txn, "org:old", &latest), STX_OK);
    assert_int_equal (latest->seq, 1);
    stx_event_free (&latest);
    stx_txn_abort (&txn);
    //  The raw databases hold nothing below the horizon either; ids stay
    stx_store_destroy (&store);
    assert_int_equal (s_raw_count ((char *) *state, "history"), 3);    //  seqs 9, 10, 11
    assert_int_equal (s_raw_count ((char *) *state, "log"), 3);
    assert_int_equal (s_raw_count ((char *) *state, "heads"), 4);      //  8 .. 11
    assert_int_equal (s_raw_count ((char *) *state, "ids"), 11);
    store = s_open ((char *) *state, 0, 0);

    //  Queries read the catalogue, which trimming never touches
    char keys [512];
    for (size_t i = 0; i < nfilters; i++)
        assert_string_equal (s_query (store, &filters [i], keys), keys_before [i]);
    s_check_chain_from_horizon (store);

    //  A resend of a trimmed event is still a duplicate with its seq
    entry = s_org ("org:old", "government", "Gent");
    event = stx_event_new ("org:old", &entry);
    memcpy (event->event_id.data, id, STX_EVENT_ID_SIZE);
    event->client_time_ms = client_time;   //  byte-identical, as an outbox resends
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, event, NULL, &out, NULL, 0), STX_OK);
    assert_true (out.duplicate);
    assert_int_equal (out.seq, 1);
    assert_int_equal (out.version, 1);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&event);
    assert_int_equal (s_meta (store).seq, 11);

    //  Sequencing goes on above the horizon; trimming everything leaves an
    //  empty log that starts after the last sequence
    s_publish_ok (store, "org:new", s_org ("org:new", "industry", "Genk"));
    s_check_chain_from_horizon (store);
    assert_int_equal (s_trim (store, 0, now + 60000, 1000), 4);
    meta = s_meta (store);
    assert_int_equal (meta.log_first, 13);
    assert_int_equal (meta.seq, 12);
    s_check_chain_from_horizon (store);
    s_publish_ok (store, "org:newer", s_org ("org:newer", "industry", "Genk"));
    s_check_chain_from_horizon (store);
    stx_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  MDB_MAP_FULL, then growing the map: refused while a transaction is
//  alive, then the same batch fits; a restart keeps the grown size

static void
test_grow (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 256 * 1024);
    char summary [200];
    memset (summary, 'x', sizeof (summary) - 1);
    summary [sizeof (summary) - 1] = 0;
    stx_store_info_t info;
    assert_int_equal (stx_store_info (store, &info), STX_OK);
    assert_int_equal (info.map_size, 256 * 1024);
    assert_int_equal (info.stale_readers, 0);
    assert_true (info.map_used > 0 && info.map_used <= info.map_size);

    stx_status_t status = STX_OK;
    int published = 0, i;
    char key [32];
    for (i = 0; i < 1000 && status == STX_OK; i++) {
        snprintf (key, sizeof (key), "ini:n%04d", i);
        status = s_publish (store, key, s_ini (key, "org:a", NULL, "OD 1.1.1", "digital",
                                               "running", "Gent", "2026-01-01", "", summary),
                            0, NULL, NULL);
        if (status == STX_OK)
            published++;
    }
    assert_int_equal (status, STX_ERR_MAP_FULL);

    //  Not while a transaction is alive, read or write
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_store_grow (store, 1024 * 1024), STX_ERR_BUSY);
    stx_txn_abort (&txn);
    assert_int_equal (stx_store_info (store, &info), STX_OK);
    assert_int_equal (info.map_size, 256 * 1024);
    assert_int_equal (info.txns, 0);
    assert_int_equal (stx_store_grow (store, 1024 * 1024), STX_OK);
    assert_int_equal (stx_store_info (store, &info), STX_OK);
    assert_int_equal (info.map_size, 1024 * 1024);
    //  Never shrinks
    assert_int_equal (stx_store_grow (store, 512 * 1024), STX_OK);
    assert_int_equal (stx_store_info (store, &info), STX_OK);
    assert_int_equal (info.map_size, 1024 * 1024);

    //  The refused event fits now, and more after it
    for (int more = 0; more < 20; more++, i++) {
        snprintf (key, sizeof (key), "ini:n%04d", i);
        s_publish_ok (store, key, s_ini (key, "org:a", NULL, "OD 1.1.1", "digital",
                                         "running", "Gent", "2026-01-01", "", summary));
        published++;
    }
    assert_int_equal (s_meta (store).seq, published);
    s_check_chain (store);
    stx_store_destroy (&store);

    //  A restart configured with the old, smaller size keeps the grown map
    store = s_open (dir, 0, 256 * 1024);
    assert_int_equal (stx_store_info (store, &info), STX_OK);
    assert_int_equal (info.map_size, 1024 * 1024);
    snprintf (key, sizeof (key), "ini:n%04d", i);
    s_publish_ok (store, key, s_ini (key, "org:a", NULL, "OD 1.1.1", "digital",
                                     "running", "Gent", "2026-01-01", "", summary));
    assert_int_equal (s_meta (store).seq, published + 1);
    s_check_chain (store);
    stx_store_destroy (&store);

    //  A restart with a bigger one takes it
    store = s_open (dir, 0, 4 * 1024 * 1024);
    assert_int_equal (stx_store_info (store, &info), STX_OK);
    assert_int_equal (info.map_size, 4 * 1024 * 1024);
    s_check_chain (store);
    stx_store_destroy (&store);

    //  Read-only stores cannot grow
    store = s_open (dir, STX_STORE_READONLY, 0);
    assert_int_equal (stx_store_grow (store, 8 * 1024 * 1024), STX_ERR_INVALID);
    stx_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  A full disk (the file size limit stands in for it: writes past it fail
//  with EFBIG) makes the commit fail with STX_ERR_NO_SPACE; nothing is
//  corrupted and the store goes on once there is room

static void
test_no_space (void **state)
{
    const char *dir = (char *) *state;
    stx_store_t *store = s_open (dir, 0, 64 * 1024 * 1024);
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    stx_store_destroy (&store);

    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        signal (SIGXFSZ, SIG_IGN);
        struct rlimit limit = { 256 * 1024, 256 * 1024 };
        if (setrlimit (RLIMIT_FSIZE, &limit) != 0)
            _exit (10);
        if (stx_store_open (dir, 0, 64 * 1024 * 1024, &store, NULL, 0) != STX_OK)
            _exit (11);
        char summary [1000];
        memset (summary, 'x', sizeof (summary) - 1);
        summary [sizeof (summary) - 1] = 0;
        stx_status_t status = STX_OK;
        for (int i = 0; i < 2000 && status == STX_OK; i++) {
            char key [32];
            snprintf (key, sizeof (key), "ini:n%04d", i);
            status = s_publish (store, key, s_ini (key, "org:a", NULL, "OD 1.1.1", "digital",
                                                   "running", "Gent", "2026-01-01", "",
                                                   summary), 0, NULL, NULL);
        }
        //  ENOSPC/EFBIG when nothing could be written; LMDB reports a short
        //  write (the disk filled up in mid-write) as EIO
        if (status != STX_ERR_NO_SPACE && status != STX_ERR_IO)
            _exit (12);
        if (status == STX_ERR_NO_SPACE
        &&  strcmp (stx_strerror (status), "no space left on device") != 0)
            _exit (13);
        //  Still readable, and a further write fails the same way
        stx_meta_t meta;
        if (stx_store_meta (store, &meta) != STX_OK || meta.seq < 2)
            _exit (14);
        stx_store_destroy (&store);
        _exit (0);
    }
    int child_status;
    assert_int_equal (waitpid (pid, &child_status, 0), pid);
    assert_true (WIFEXITED (child_status));
    assert_int_equal (WEXITSTATUS (child_status), 0);

    //  With room again: intact, and writable
    store = s_open (dir, 0, 64 * 1024 * 1024);
    stx_meta_t meta = s_meta (store);
    assert_true (meta.seq >= 2);
    s_check_chain (store);
    s_publish_ok (store, "org:b", s_org ("org:b", "industry", "Genk"));
    assert_int_equal (s_meta (store).seq, meta.seq + 1);
    s_check_chain (store);
    stx_store_destroy (&store);
}

//  F9, F10: an event id belongs to one event of one organisation. The
//  broker answers its reuse by another organisation with a conflict; a
//  replica refuses an id it holds already under a new seq (a replay).
static void
test_id_reuse_and_replay (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    stx_principal_t a = { "org:a", "government", STX_ROLE_PUBLISHER };
    stx_principal_t b = { "org:b", "industry", STX_ROLE_PUBLISHER };
    Stemx__Entry *entry = s_ini ("ini:x", "org:a", "org:b", "OD 1.1.1", "digital", "running",
                                 "Gent", "2026-01-01", "", NULL);
    Stemx__Event *event = stx_event_new ("ini:x", &entry);
    size_t size;
    uint8_t *sent = stx_event_pack (event, &size);     //  as the outbox holds it
    stx_txn_t *txn;
    stx_sequenced_t out;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, event, &a, &out, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
    stx_event_free (&event);

    //  Looked up before sequencing: new, a resend, or someone else's id
    Stemx__Event *resend = NULL;
    assert_int_equal (stx_event_unpack (sent, size, &resend), STX_OK);
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_lookup_id (txn, resend, "org:a", &out, err, sizeof (err)),
                      STX_OK);
    assert_true (out.duplicate);
    assert_int_equal (out.seq, 1);
    assert_int_equal (out.version, 1);
    assert_int_equal (stx_txn_lookup_id (txn, resend, "org:b", &out, err, sizeof (err)),
                      STX_ERR_CONFLICT);
    assert_non_null (strstr (err, "already used by org:a"));
    assert_false (out.duplicate);
    Stemx__Entry *other = s_org ("org:z", "industry", "Genk");
    Stemx__Event *fresh = stx_event_new ("org:z", &other);
    assert_int_equal (stx_txn_lookup_id (txn, fresh, "org:a", &out, err, sizeof (err)),
                      STX_ERR_NOT_FOUND);
    stx_event_free (&fresh);
    stx_txn_abort (&txn);

    //  Sequencing agrees: org:b resending org:a's event id is refused
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_sequence (txn, resend, &b, &out, err, sizeof (err)),
                      STX_ERR_CONFLICT);
    stx_txn_abort (&txn);
    stx_event_free (&resend);
    assert_int_equal (s_meta (store).seq, 1);

    //  A replica: the broker's event 1 applies; the same event re-sequenced
    //  as 2 (a validly signed rollback) is refused and changes nothing
    const uint8_t *data;
    size_t logged_size;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    assert_int_equal (stx_txn_log_get (txn, 1, &data, &logged_size), STX_OK);
    Stemx__Event *replayed = NULL;
    assert_int_equal (stx_event_unpack (data, logged_size, &replayed), STX_OK);
    stx_txn_abort (&txn);
    replayed->seq = 2;
    replayed->version = 2;
    size_t replayed_size;
    uint8_t *replayed_bytes = stx_event_pack (replayed, &replayed_size);
    stx_event_free (&replayed);
    stx_meta_t before = s_meta (store);
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    assert_int_equal (stx_txn_apply (txn, replayed_bytes, replayed_size), STX_ERR_REPLAY);
    stx_txn_abort (&txn);
    stx_meta_t after = s_meta (store);
    assert_int_equal (after.seq, before.seq);
    assert_memory_equal (after.head, before.head, STX_HEAD_SIZE);
    free (replayed_bytes);
    free (sent);
    stx_store_destroy (&store);
}

//  Every live entry matching filter, by brute force: for the query test
typedef struct {
    const stx_filter_t *filter;
    char *out;
} s_brute_t;

static int
s_brute_entry (const char *key, const uint8_t *data, size_t size, void *arg)
{
    (void) key;
    s_brute_t *brute = (s_brute_t *) arg;
    Stemx__Event *event;
    assert_int_equal (stx_event_unpack (data, size, &event), STX_OK);
    if (event->op == STEMX__OPERATION__OP_UPSERT && stx_index_match (event->entry, brute->filter))
        s_collect (event, brute->out);
    stx_event_free (&event);
    return 0;
}

//  Several indexed filters together give exactly the entries a walk of
//  the whole catalogue finds (the query probes the other filters' index
//  keys instead of loading every candidate of the smallest one)
static void
test_query_intersection (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    const char *orgs [] = { "org:a", "org:b", "org:c" };
    const char *pillars [] = { "government", "industry", "knowledge" };
    const char *munis [] = { "Gent", "Genk", "Leuven", "Brugge" };
    const char *ods [] = { "OD 1.1.1", "OD 2.1.1", "OD 3.2.1" };
    const char *themes [] = { "digital", "energy", "health", "climate", "space" };
    const char *statuses [] = { "running", "planned" };
    for (int i = 0; i < 3; i++)
        s_publish_ok (store, orgs [i], s_org (orgs [i], pillars [i], munis [i]));
    for (int i = 0; i < 300; i++) {
        char id [32];
        snprintf (id, sizeof (id), "ini:n%03d", i);
        s_publish_ok (store, id, s_ini (id, orgs [i % 3], i % 7? orgs [(i / 3) % 3]: NULL,
                                        ods [i % 3], themes [i % 5], statuses [(i / 5) % 2],
                                        munis [(i / 2) % 4], "2026-01-01", "", NULL));
    }
    size_t checked = 0, nonempty = 0;
    for (int od = -1; od < 3; od++)
    for (int theme = -1; theme < 5; theme += 2)
    for (int muni = -1; muni < 4; muni += 2)
    for (int status = -1; status < 2; status++) {
        stx_filter_t filter = { .kind = STX_KIND_INITIATIVE };
        filter.od = od >= 0? ods [od]: NULL;
        filter.theme = theme >= 0? themes [theme]: NULL;
        filter.municipality = muni >= 0? munis [muni]: NULL;
        filter.status = status >= 0? statuses [status]: NULL;
        filter.org = (od + theme) % 2? "org:b": NULL;
        static char got [8192], want [8192];
        s_query (store, &filter, got);
        want [0] = 0;
        s_brute_t brute = { &filter, want };
        stx_txn_t *txn;
        assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
        assert_int_equal (stx_txn_entries (txn, NULL, s_brute_entry, &brute), STX_OK);
        stx_txn_abort (&txn);
        assert_string_equal (got, want);
        checked++;
        nonempty += *want != 0;
    }
    assert_true (checked > 100);
    assert_true (nonempty > 20);        //  the combinations do find entries
    stx_store_destroy (&store);
}

//  The ranked search gives what ranking every entry by brute force gives:
//  the same entries, counts, title scores and order, whatever the limit
//  and filter (it reads only the entries its limit needs)
typedef struct {
    char key [64];
    uint32_t mask;
    int matched, in_title;
} s_ranked_t;

typedef struct {
    char *const *terms;
    size_t nterms;
    const stx_filter_t *filter;
    s_ranked_t items [600];
    size_t count;
} s_ranking_t;

static int
s_title_word (const char *token, void *arg)
{
    s_ranking_t *ranking = (s_ranking_t *) arg;
    s_ranked_t *item = &ranking->items [ranking->count];
    for (size_t t = 0; t < ranking->nterms; t++)
        if (strcmp (ranking->terms [t], token) == 0 && (item->mask & (1u << t)))
            item->in_title |= 1 << t;
    return 0;
}

static int
s_rank_entry (const char *key, const uint8_t *data, size_t size, void *arg)
{
    s_ranking_t *ranking = (s_ranking_t *) arg;
    Stemx__Event *event;
    assert_int_equal (stx_event_unpack (data, size, &event), STX_OK);
    s_ranked_t *item = &ranking->items [ranking->count];
    memset (item, 0, sizeof *item);
    for (size_t t = 0; t < ranking->nterms; t++) {
        stx_filter_t word = { .kind = STX_KIND_NONE, .word = ranking->terms [t] };
        if (stx_index_match (event->entry, &word))
            item->mask |= 1u << t;
    }
    if (event->op == STEMX__OPERATION__OP_UPSERT && item->mask
    &&  stx_index_match (event->entry, ranking->filter)) {
        snprintf (item->key, sizeof item->key, "%s", key);
        item->matched = __builtin_popcount (item->mask);
        stx_index_tokens (stx_index_title (event->entry), s_title_word, ranking);
        item->in_title = __builtin_popcount ((uint32_t) item->in_title);
        ranking->count++;
    }
    stx_event_free (&event);
    return 0;
}

static int
s_compare_ranked (const void *a, const void *b)
{
    const s_ranked_t *x = (const s_ranked_t *) a, *y = (const s_ranked_t *) b;
    if (x->matched != y->matched)
        return y->matched - x->matched;
    if (x->in_title != y->in_title)
        return y->in_title - x->in_title;
    return strcmp (x->key, y->key);
}

static int
s_search_got (const stx_search_hit_t *hit, void *arg)
{
    s_ranking_t *got = (s_ranking_t *) arg;
    assert_true (got->count < 600);
    s_ranked_t *item = &got->items [got->count++];
    snprintf (item->key, sizeof item->key, "%s", hit->key);
    assert_string_equal (hit->key, hit->event->key);
    item->mask = hit->mask;
    item->matched = hit->matched;
    item->in_title = hit->in_title;
    return 0;
}

static void
test_search_ranking (void **state)
{
    stx_store_t *store = s_open ((char *) *state, 0, 0);
    const char *words [] = { "robotica", "labo", "techniek", "wiskunde", "gent" };
    const char *munis [] = { "Gent", "Genk", "Leuven" };
    const char *themes [] = { "digital", "energy", "health" };
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    s_publish_ok (store, "org:b", s_org ("org:b", "industry", "Genk"));
    for (int i = 0; i < 400; i++) {
        char id [32], title [128], summary [128];
        snprintf (id, sizeof (id), "ini:w%03d", (i * 37) % 400);
        snprintf (title, sizeof (title), "%s %s project",
                  words [i % 5], i % 3? words [(i / 5) % 5]: "zomer");
        snprintf (summary, sizeof (summary), "over %s en %s",
                  words [(i / 7) % 5], i % 4? "water": words [(i / 3) % 5]);
        Stemx__Entry *entry = s_ini (id, i % 2? "org:a": "org:b", NULL, "OD 1.1.1",
                                     themes [i % 3], "running", munis [(i / 2) % 3],
                                     i % 6? "2026-01-01": "2027-03-01", "", summary);
        free (entry->initiative->title);
        entry->initiative->title = strdup (title);
        s_publish_ok (store, id, entry);
    }
    //  A withdrawn entry is found by neither
    s_publish_ok (store, "ini:w007", NULL);
    char robotica [] = "robotica", gent [] = "gent", labo [] = "labo",
         wiskunde [] = "wiskunde", techniek [] = "techniek", zomer [] = "zomer",
         water [] = "water", nergens [] = "nergens";
    char *terms_sets [][3] = {
        { robotica }, { robotica, gent }, { labo, wiskunde, techniek },
        { zomer, water }, { nergens }
    };
    size_t nterms_sets [] = { 1, 2, 3, 2, 1 };
    stx_filter_t filters [] = {
        { .kind = STX_KIND_NONE },
        { .kind = STX_KIND_INITIATIVE, .theme = "energy" },
        { .kind = STX_KIND_NONE, .municipality = "Gent", .org = "org:a" },
        { .kind = STX_KIND_NONE, .from = "2027-01-01" },
        { .kind = STX_KIND_ORGANISATION },
        { .kind = STX_KIND_NONE, .word = "water" },
    };
    size_t limits [] = { 0, 1, 5, 20, 1000 };
    size_t checked = 0, cut = 0;
    for (size_t t = 0; t < 5; t++)
    for (size_t f = 0; f < sizeof (filters) / sizeof (filters [0]); f++)
    for (size_t l = 0; l < 5; l++) {
        static s_ranking_t want, got;
        want.terms = got.terms = terms_sets [t];
        want.nterms = got.nterms = nterms_sets [t];
        want.filter = got.filter = &filters [f];
        want.count = got.count = 0;
        stx_txn_t *txn;
        assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
        assert_int_equal (stx_txn_entries (txn, NULL, s_rank_entry, &want), STX_OK);
        size_t found = 0;
        assert_int_equal (stx_search (txn, terms_sets [t], nterms_sets [t], &filters [f],
                                      limits [l], s_search_got, &got, &found), STX_OK);
        stx_txn_abort (&txn);
        qsort (want.items, want.count, sizeof want.items [0], s_compare_ranked);
        assert_int_equal (found, want.count);
        size_t shown = limits [l] && limits [l] < want.count? limits [l]: want.count;
        assert_int_equal (got.count, shown);
        for (size_t i = 0; i < shown; i++) {
            assert_string_equal (got.items [i].key, want.items [i].key);
            assert_int_equal (got.items [i].mask, want.items [i].mask);
            assert_int_equal (got.items [i].matched, want.items [i].matched);
            assert_int_equal (got.items [i].in_title, want.items [i].in_title);
        }
        checked++;
        cut += shown > 0 && shown < want.count;
    }
    assert_int_equal (checked, 150);
    assert_true (cut > 20);             //  limits that cut a rank were tried
    stx_store_destroy (&store);
}

//  --------------------------------------------------------------------------
//  A damaged store fails with a message, never a signal; a store that
//  cannot be made leaves nothing behind

static void
test_damaged_store (void **state)
{
    char dir [512], path [600];
    s_subdir (state, "cut", dir, sizeof (dir));
    stx_store_t *store = s_open (dir, STX_STORE_NOSYNC, 0);
    s_publish_ok (store, "org:a", s_org ("org:a", "government", "Gent"));
    for (int i = 0; i < 500; i++) {
        char key [32];
        snprintf (key, sizeof key, "ini:cut-%d", i);
        s_publish_ok (store, key, s_ini (key, "org:a", NULL, "OD 1.1.1", "digital",
                                         "running", "Gent", "2026-01-01", "", NULL));
    }
    stx_store_destroy (&store);
    snprintf (path, sizeof path, "%s/catalogue/data.mdb", dir);
    struct stat st;
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (truncate (path, st.st_size / 2), 0);
    char err [STX_ERRLEN];
    int modes [] = { 0, STX_STORE_READONLY };
    for (int i = 0; i < 2; i++) {
        assert_int_equal (stx_store_open (dir, modes [i], 0, &store, err, sizeof err),
                          STX_ERR_STORAGE);
        assert_null (store);
        assert_non_null (strstr (err, "catalogue truncated: "));
        assert_non_null (strstr (err, "restore it from a backup"));
    }

    //  A map no machine can give: refused, and no file is left
    s_subdir (state, "huge", dir, sizeof (dir));
    assert_int_not_equal (stx_store_open (dir, 0, (size_t) 1 << 62, &store, err, sizeof err),
                          STX_OK);
    assert_null (store);
    snprintf (path, sizeof path, "%s/catalogue/data.mdb", dir);
    assert_int_not_equal (stat (path, &st), 0);
    store = s_open (dir, 0, 0);         //  ...so a sane start works
    stx_store_destroy (&store);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_sequence, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_conflict, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_withdraw, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_update_moves_index, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_query_filters, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_query_intersection, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_search_ranking, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_query_stop, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_query_uses_index, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_noindex, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_replicas_converge, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_batched_index, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_damaged_store, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_apply_gap_stale, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_abort_and_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_readonly_other_process, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_map_resized_by_other_process, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_map_full, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_snapshot, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_heads_history_lookup, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_trim, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_grow, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_space, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_id_reuse_and_replay, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
