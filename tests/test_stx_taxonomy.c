/*  =========================================================================
    test_stx_taxonomy - loading the STEM-Agenda taxonomy and vocabularies

    Loads config/ of the source tree (STEMX_SOURCE_DIR, set by ctest) and
    checks the counts the Agenda fixes, the goal tree, the vocabularies,
    and that broken folders and files are refused naming file and reason.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "stx_taxonomy.h"

//  The config/ folder of the source tree.
static const char *
s_config_dir (void)
{
    static char dir [4096];
    const char *source = getenv ("STEMX_SOURCE_DIR");
    snprintf (dir, sizeof (dir), "%s/config", source? source: ".");
    return dir;
}

static int
s_setup (void **state)
{
    char err [STX_ERRLEN] = "";
    stx_taxonomy_t *taxonomy = NULL;
    stx_status_t rc = stx_taxonomy_load (s_config_dir (), &taxonomy, err, sizeof (err));
    if (rc != STX_OK) {
        fprintf (stderr, "load %s: %s\n", s_config_dir (), err);
        return -1;
    }
    *state = taxonomy;
    return 0;
}

static int
s_teardown (void **state)
{
    stx_taxonomy_t *taxonomy = (stx_taxonomy_t *) *state;
    stx_taxonomy_destroy (&taxonomy);
    assert_null (taxonomy);
    return 0;
}

static void
test_counts (void **state)
{
    const stx_taxonomy_t *tax = (const stx_taxonomy_t *) *state;
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_SD), 4);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_TD), 11);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_OD), 32);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_PILLAR), 4);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_THEME), 17);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_TARGET_GROUP), 22);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_SETTING), 15);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_REGION), 7);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_STATUS), 4);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_ORG_KIND), 25);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_INFRA_KIND), 3);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_MOMENT_KIND), 2);
    assert_int_equal (stx_taxonomy_count (tax, STX_VOCAB_COUNT), 0);
}

static void
test_file_order (void **state)
{
    const stx_taxonomy_t *tax = (const stx_taxonomy_t *) *state;
    assert_string_equal (stx_taxonomy_at (tax, STX_VOCAB_SD, 0), "SD1");
    assert_string_equal (stx_taxonomy_at (tax, STX_VOCAB_SD, 3), "SD4");
    assert_string_equal (stx_taxonomy_at (tax, STX_VOCAB_OD, 0), "OD 1.1.1");
    assert_string_equal (stx_taxonomy_at (tax, STX_VOCAB_OD, 31), "OD 4.2.3");
    assert_string_equal (stx_taxonomy_at (tax, STX_VOCAB_PILLAR, 0), "government");
    assert_string_equal (stx_taxonomy_at (tax, STX_VOCAB_REGION, 0), "flanders");
    assert_string_equal (stx_taxonomy_at (tax, STX_VOCAB_STATUS, 3), "completed");
    assert_null (stx_taxonomy_at (tax, STX_VOCAB_OD, 32));
    assert_null (stx_taxonomy_at (tax, STX_VOCAB_COUNT, 0));
    //  Every member found by has (the hash agrees with the array)
    for (int vocab = 0; vocab < STX_VOCAB_COUNT; vocab++)
        for (size_t index = 0; index < stx_taxonomy_count (tax, vocab); index++)
            assert_true (stx_taxonomy_has (tax, vocab,
                                           stx_taxonomy_at (tax, vocab, index)));
}

static void
test_membership (void **state)
{
    const stx_taxonomy_t *tax = (const stx_taxonomy_t *) *state;
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_OD, "OD 3.2.1"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_OD, "OD 9.9.9"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_OD, "OD 3.2.5"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_OD, "od 3.2.1"));    //  case-sensitive
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_OD, "OD3.2.1"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_OD, "TD 3.2"));      //  other level
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_TD, "TD 2.3"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_SD, "SD2"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_SD, "SD 2"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_PILLAR, "civil_society"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_PILLAR, "citizens"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_THEME, "digitalisation"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_TARGET_GROUP, "teachers_trainers"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_SETTING, "secondary_tso"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_REGION, "oost-vlaanderen"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_REGION, "wallonia"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_STATUS, "under_study"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_ORG_KIND, "agency"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_INFRA_KIND, "research_institution"));
    assert_true (stx_taxonomy_has (tax, STX_VOCAB_MOMENT_KIND, "state_of_the_stem"));
    //  A member of one vocabulary is not one of another
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_THEME, "pupils"));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_THEME, ""));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_THEME, NULL));
    assert_false (stx_taxonomy_has (tax, STX_VOCAB_COUNT, "agency"));
}

static void
test_goal_tree (void **state)
{
    const stx_taxonomy_t *tax = (const stx_taxonomy_t *) *state;
    assert_string_equal (stx_taxonomy_parent (tax, "OD 3.2.1"), "TD 3.2");
    assert_string_equal (stx_taxonomy_parent (tax, "TD 3.2"), "SD3");
    assert_string_equal (stx_taxonomy_parent (tax, "OD 1.1.1"), "TD 1.1");
    assert_string_equal (stx_taxonomy_parent (tax, "OD 4.2.3"), "TD 4.2");
    assert_string_equal (stx_taxonomy_parent (tax, "TD 4.2"), "SD4");
    assert_null (stx_taxonomy_parent (tax, "SD3"));
    assert_null (stx_taxonomy_parent (tax, "OD 9.9.9"));
    assert_null (stx_taxonomy_parent (tax, NULL));
    //  Every OD's parent is a TD whose parent is an SD
    for (size_t index = 0; index < stx_taxonomy_count (tax, STX_VOCAB_OD); index++) {
        const char *od = stx_taxonomy_at (tax, STX_VOCAB_OD, index);
        const char *td = stx_taxonomy_parent (tax, od);
        assert_non_null (td);
        assert_true (stx_taxonomy_has (tax, STX_VOCAB_TD, td));
        assert_true (stx_taxonomy_has (tax, STX_VOCAB_SD, stx_taxonomy_parent (tax, td)));
        //  "OD 3.2.1" lies under "TD 3.2"
        assert_memory_equal (od + 3, td + 3, 3);
        assert_non_null (stx_taxonomy_title (tax, od));
    }
    assert_string_equal (stx_taxonomy_title (tax, "OD 3.2.1"),
        "Flemish government infrastructure is opened up as much as possible to training providers");
    assert_string_equal (stx_taxonomy_title (tax, "SD1"),
        "Society is aware of the importance of STEM competences");
    assert_non_null (stx_taxonomy_title (tax, "TD 2.3"));
    assert_null (stx_taxonomy_title (tax, "TD 9.9"));
    assert_null (stx_taxonomy_title (tax, "digitalisation"));
}

static void
test_vocab_names (void **state)
{
    assert_string_equal (stx_vocab_name (STX_VOCAB_OD), "OD code");
    assert_string_equal (stx_vocab_name (STX_VOCAB_PILLAR), "helix pillar");
    for (int vocab = 0; vocab < STX_VOCAB_COUNT; vocab++)
        assert_true (strlen (stx_vocab_name (vocab)) > 0);
}

//  ---------------------------------------------------------------------
//  Broken folders and files

//  A fresh folder holding the two files with the given contents (NULL =
//  copy of the real file).
static char *
s_fixture (const char *agenda, const char *vocab)
{
    char template [] = "/tmp/stx-taxonomy-XXXXXX";
    char *dir = mkdtemp (template);
    assert_non_null (dir);
    dir = strdup (dir);
    const char *names [] = { "stem-agenda-2030.json", "vocabularies.json" };
    const char *texts [] = { agenda, vocab };
    for (int index = 0; index < 2; index++) {
        char path [4200], command [9000];
        snprintf (path, sizeof (path), "%s/%s", dir, names [index]);
        if (texts [index]) {
            FILE *file = fopen (path, "w");
            assert_non_null (file);
            fputs (texts [index], file);
            fclose (file);
        }
        else {
            snprintf (command, sizeof (command), "cp '%s/%s' '%s'",
                      s_config_dir (), names [index], path);
            assert_int_equal (system (command), 0);
        }
    }
    return dir;
}

static void
s_fixture_remove (char *dir)
{
    char command [4200];
    snprintf (command, sizeof (command), "rm -rf '%s'", dir);
    assert_int_equal (system (command), 0);
    free (dir);
}

//  Load from dir, expect rc and an error naming every piece in needles.
static void
s_expect_failure (const char *dir, stx_status_t expected, const char *needle1,
                  const char *needle2)
{
    char err [STX_ERRLEN] = "";
    stx_taxonomy_t *tax = (stx_taxonomy_t *) 0x1;
    stx_status_t rc = stx_taxonomy_load (dir, &tax, err, sizeof (err));
    if (rc != expected || !strstr (err, needle1) || (needle2 && !strstr (err, needle2)))
        fail_msg ("got %d '%s', expected %d with '%s' and '%s'", rc, err, expected,
                  needle1, needle2? needle2: "");
    assert_null (tax);
}

static void
test_missing_folder (void **state)
{
    s_expect_failure ("/nonexistent/stemx", STX_ERR_IO,
                      "/nonexistent/stemx/stem-agenda-2030.json", NULL);
}

static void
test_missing_vocabularies (void **state)
{
    char *dir = s_fixture (NULL, "{}");
    char path [4200];
    snprintf (path, sizeof (path), "%s/vocabularies.json", dir);
    unlink (path);
    s_expect_failure (dir, STX_ERR_IO, "vocabularies.json", NULL);
    s_fixture_remove (dir);
}

static void
test_bad_json (void **state)
{
    char *dir = s_fixture ("{ \"strategic_goals\": [", NULL);
    s_expect_failure (dir, STX_ERR_MALFORMED, "stem-agenda-2030.json", "line");
    s_fixture_remove (dir);

    dir = s_fixture ("[1, 2]", NULL);
    s_expect_failure (dir, STX_ERR_MALFORMED, "stem-agenda-2030.json", "expected a JSON object");
    s_fixture_remove (dir);
}

static void
test_bad_shape (void **state)
{
    //  No goal tree at all
    char *dir = s_fixture ("{}", NULL);
    s_expect_failure (dir, STX_ERR_MALFORMED, "stem-agenda-2030.json", "strategic_goals");
    s_fixture_remove (dir);

    //  A goal without a title
    dir = s_fixture ("{\"strategic_goals\": [{\"code\": \"SD1\", \"tactical_goals\": []}]}", NULL);
    s_expect_failure (dir, STX_ERR_MALFORMED, "strategic_goals[0].title_en", NULL);
    s_fixture_remove (dir);

    //  An OD that is not an object
    dir = s_fixture ("{\"strategic_goals\": [{\"code\": \"SD1\", \"title_en\": \"x\","
                     " \"tactical_goals\": [{\"code\": \"TD 1.1\", \"title_en\": \"y\","
                     " \"operational_goals\": [42]}]}]}", NULL);
    s_expect_failure (dir, STX_ERR_MALFORMED,
                      "strategic_goals[0].tactical_goals[0].operational_goals[0]",
                      "expected an object");
    s_fixture_remove (dir);

    //  Goal tree fine, pillars missing
    dir = s_fixture ("{\"strategic_goals\": []}", NULL);
    s_expect_failure (dir, STX_ERR_MALFORMED, "helix_pillars", "expected an array");
    s_fixture_remove (dir);

    //  A vocabulary member that is not a string
    dir = s_fixture (NULL, "{\"region\": [\"flanders\", 3], \"initiative_status\": [],"
                           " \"organisation_kind\": []}");
    s_expect_failure (dir, STX_ERR_MALFORMED, "vocabularies.json", "region[1]");
    s_fixture_remove (dir);

    //  A duplicate member
    dir = s_fixture (NULL, "{\"region\": [\"flanders\", \"flanders\"],"
                           " \"initiative_status\": [], \"organisation_kind\": []}");
    s_expect_failure (dir, STX_ERR_MALFORMED, "duplicate region 'flanders'", NULL);
    s_fixture_remove (dir);

    //  A vocabulary missing
    dir = s_fixture (NULL, "{\"region\": [], \"initiative_status\": []}");
    s_expect_failure (dir, STX_ERR_MALFORMED, "vocabularies.json", "organisation_kind");
    s_fixture_remove (dir);
}

static void
test_destroy_null (void **state)
{
    stx_taxonomy_t *tax = NULL;
    stx_taxonomy_destroy (&tax);
    assert_null (tax);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_counts),
        cmocka_unit_test (test_file_order),
        cmocka_unit_test (test_membership),
        cmocka_unit_test (test_goal_tree),
        cmocka_unit_test (test_vocab_names),
        cmocka_unit_test (test_missing_folder),
        cmocka_unit_test (test_missing_vocabularies),
        cmocka_unit_test (test_bad_json),
        cmocka_unit_test (test_bad_shape),
        cmocka_unit_test (test_destroy_null),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
