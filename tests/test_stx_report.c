/*  =========================================================================
    test_stx_report - the monitoring reports: model, renderers, golden files

    The sample catalogue (config/sample/catalogue.json) is loaded into a
    fresh store without sockets, as the broker would sequence it with no
    principal (organisations first, so every partner's pillar is filled
    in), then both reports are built for 2025-01-01..2026-12-31 and every
    format is compared byte for byte with tests/golden/report-*.

    The key numbers are also computed here straight from the sample JSON,
    with the rules docs/REPORTS.md states, so a golden file cannot bless a
    wrong count.

    Golden files: after a deliberate change of a report, regenerate them
    with
        STEMX_UPDATE_GOLDEN=1 ctest -R test_stx_report     (from the build folder)
    and review `git diff tests/golden`. On a mismatch the test writes what
    it produced to ./report-*.actual (in the build folder) for diffing.
    ========================================================================= */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "stx_report.h"
#include "stx_store.h"
#include "stx_json.h"
#include "stx_event.h"
#include "stx_taxonomy.h"

#define FROM "2025-01-01"
#define TO   "2026-12-31"

static const char *
s_source_dir (void)
{
    const char *source = getenv ("STEMX_SOURCE_DIR");
    return source? source: ".";
}

static const char *
s_config_dir (void)
{
    static char dir [4096];
    snprintf (dir, sizeof (dir), "%s/config", s_source_dir ());
    return dir;
}

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

//  --------------------------------------------------------------------------
//  Fixture: the sample catalogue in a fresh store

typedef struct {
    char dir [64];
    stx_store_t *store;
    stx_taxonomy_t *taxonomy;
    json_t *sample;
    stx_report_t *report;       //  built for FROM..TO
    stx_strategic_t *strategic;
} fixture_t;

//  Sequence every object of array (one transaction)
static void
s_load_array (stx_store_t *store, json_t *array)
{
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, true, &txn), STX_OK);
    size_t index;
    json_t *object;
    json_array_foreach (array, index, object) {
        char err [STX_ERRLEN] = "";
        Stemx__Entry *entry = NULL;
        if (stx_json_to_entry (object, &entry, err, sizeof (err)) != STX_OK)
            fail_msg ("sample entry %zu: %s", index, err);
        const char *key = json_string_value (json_object_get (object, "id"));
        Stemx__Event *event = stx_event_new (key, &entry);
        assert_int_equal (stx_txn_fill_pillars (txn, event->entry), STX_OK);
        stx_sequenced_t out;
        if (stx_txn_sequence (txn, event, NULL, &out, err, sizeof (err)) != STX_OK)
            fail_msg ("sequence %s: %s", key, err);
        stx_event_free (&event);
    }
    assert_int_equal (stx_txn_commit (&txn), STX_OK);
}

static stx_report_t *
s_build (fixture_t *fixture, const char *from, const char *to)
{
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (fixture->store, false, &txn), STX_OK);
    stx_report_t *report = NULL;
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_report_build (txn, fixture->taxonomy, from, to, &report,
                                            err, sizeof (err));
    stx_txn_abort (&txn);
    if (status != STX_OK)
        fail_msg ("build: %s", err);
    return report;
}

static int
s_setup (void **state)
{
    fixture_t *fixture = calloc (1, sizeof (fixture_t));
    snprintf (fixture->dir, sizeof (fixture->dir), "/tmp/stx-report-XXXXXX");
    if (!mkdtemp (fixture->dir))
        return -1;
    char err [STX_ERRLEN] = "";
    if (stx_taxonomy_load (s_config_dir (), &fixture->taxonomy, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "taxonomy: %s\n", err);
        return -1;
    }
    char path [4200];
    snprintf (path, sizeof (path), "%s/sample/catalogue.json", s_config_dir ());
    json_error_t error;
    fixture->sample = json_load_file (path, 0, &error);
    if (!fixture->sample) {
        fprintf (stderr, "%s: %s\n", path, error.text);
        return -1;
    }
    if (stx_store_open (fixture->dir, 0, 0, &fixture->store, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "store: %s\n", err);
        return -1;
    }
    *state = fixture;
    s_load_array (fixture->store, json_object_get (fixture->sample, "organisations"));
    s_load_array (fixture->store, json_object_get (fixture->sample, "initiatives"));
    s_load_array (fixture->store, json_object_get (fixture->sample, "infrastructure_openings"));
    s_load_array (fixture->store, json_object_get (fixture->sample, "network_moments"));
    fixture->report = s_build (fixture, FROM, TO);
    if (stx_strategic_build (fixture->report, s_config_dir (), &fixture->strategic,
                             err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "strategic: %s\n", err);
        return -1;
    }
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    stx_strategic_destroy (&fixture->strategic);
    stx_report_destroy (&fixture->report);
    stx_store_destroy (&fixture->store);
    stx_taxonomy_destroy (&fixture->taxonomy);
    json_decref (fixture->sample);
    nftw (fixture->dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (fixture);
    return 0;
}

//  --------------------------------------------------------------------------
//  The numbers, computed independently from the sample JSON

static const char *
s_ref (json_t *value)
{
    //  A partner reference: "org:x" or {"org": "org:x", ...}
    return json_is_string (value)? json_string_value (value)
                                 : json_string_value (json_object_get (value, "org"));
}

static const char *
s_pillar_in_sample (json_t *sample, const char *org)
{
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (sample, "organisations"), index, item)
        if (strcmp (json_string_value (json_object_get (item, "id")), org) == 0)
            return json_string_value (json_object_get (item, "helix_pillar"));
    return "";
}

static bool
s_overlap (const char *start, const char *end, const char *from, const char *to)
{
    return start && strcmp (start, to) <= 0 && (!end || !*end || strcmp (end, from) >= 0);
}

typedef struct {
    size_t actions;
    size_t ods_covered;
    size_t histogram [5];
    size_t openings;
    uint64_t seats_per_month;
    size_t moments;
    size_t state_of_the_stem;
    size_t ods_with [64];       //  actions per OD, in taxonomy order
} expected_t;

static void
s_expect (fixture_t *fixture, const char *from, const char *to, expected_t *want)
{
    memset (want, 0, sizeof (*want));
    json_t *sample = fixture->sample;
    size_t ods = stx_taxonomy_count (fixture->taxonomy, STX_VOCAB_OD);
    assert_true (ods <= 64);
    size_t index;
    json_t *item;
    json_array_foreach (json_object_get (sample, "initiatives"), index, item) {
        json_t *period = json_object_get (item, "period");
        if (!s_overlap (json_string_value (json_object_get (period, "start")),
                        json_string_value (json_object_get (period, "end")), from, to))
            continue;
        want->actions++;
        const char *pillars [5];
        size_t count = 0;
        json_t *owner = json_object_get (item, "owner");
        size_t n_partners = json_array_size (json_object_get (item, "partners"));
        for (size_t i = 0; i <= n_partners; i++) {
            const char *org = s_ref (i == 0? owner
                                           : json_array_get (json_object_get (item, "partners"),
                                                             i - 1));
            const char *pillar = s_pillar_in_sample (sample, org);
            bool seen = !*pillar;
            for (size_t j = 0; j < count && !seen; j++)
                seen = strcmp (pillars [j], pillar) == 0;
            if (!seen)
                pillars [count++] = pillar;
        }
        want->histogram [count]++;
        size_t o;
        json_t *code;
        json_array_foreach (json_object_get (item, "od_codes"), o, code)
            for (size_t i = 0; i < ods; i++)
                if (strcmp (stx_taxonomy_at (fixture->taxonomy, STX_VOCAB_OD, i),
                            json_string_value (code)) == 0)
                    want->ods_with [i]++;
    }
    for (size_t i = 0; i < ods; i++)
        if (want->ods_with [i])
            want->ods_covered++;
    json_array_foreach (json_object_get (sample, "infrastructure_openings"), index, item) {
        //  Earliest window start to latest window end
        const char *start = NULL, *end = NULL;
        size_t w;
        json_t *window;
        json_array_foreach (json_object_get (item, "availability"), w, window) {
            const char *a = json_string_value (json_object_get (window, "from"));
            const char *b = json_string_value (json_object_get (window, "to"));
            if (!start || strcmp (a, start) < 0)
                start = a;
            if (!end || strcmp (b, end) > 0)
                end = b;
        }
        if (!s_overlap (start, end, from, to))
            continue;
        want->openings++;
        json_t *capacity = json_object_get (item, "capacity");
        want->seats_per_month +=
            json_integer_value (json_object_get (capacity, "participants_per_session"))
          * json_integer_value (json_object_get (capacity, "sessions_per_month"));
    }
    json_array_foreach (json_object_get (sample, "network_moments"), index, item) {
        const char *date = json_string_value (json_object_get (item, "date"));
        const char *end = json_string_value (json_object_get (item, "end_date"));
        if (!s_overlap (date, end? end: date, from, to))
            continue;
        want->moments++;
        if (strcmp (json_string_value (json_object_get (item, "kind")), "state_of_the_stem") == 0)
            want->state_of_the_stem++;
    }
}

static void
s_check_numbers (fixture_t *fixture, const stx_report_t *report, const char *from,
                 const char *to)
{
    expected_t want;
    s_expect (fixture, from, to, &want);
    assert_int_equal (report->n_actions, want.actions);
    assert_int_equal (report->ods, stx_taxonomy_count (fixture->taxonomy, STX_VOCAB_OD));
    assert_int_equal (report->ods_covered, want.ods_covered);
    for (int n = 0; n <= STX_PILLARS; n++)
        assert_int_equal (report->by_pillar_count [n], want.histogram [n]);
    assert_int_equal (report->n_openings, want.openings);
    assert_int_equal (report->infra_total.openings, want.openings);
    assert_int_equal (report->infra_total.seats_per_month, want.seats_per_month);
    assert_int_equal (report->n_moments, want.moments);
    assert_int_equal (report->moments_state_of_the_stem, want.state_of_the_stem);
    //  Each OD row
    size_t od = 0;
    for (size_t g = 0; g < report->n_goals; g++)
        if (report->goals [g].level == 2) {
            assert_string_equal (report->goals [g].code,
                                 stx_taxonomy_at (fixture->taxonomy, STX_VOCAB_OD, od));
            assert_int_equal (report->goals [g].actions, want.ods_with [od]);
            od++;
        }
}

//  The sample over 2025-2026: numbers worked out by hand once, and by the
//  independent count above
static void
test_sample_numbers (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    const stx_report_t *report = fixture->report;
    s_check_numbers (fixture, report, FROM, TO);

    assert_string_equal (report->from, FROM);
    assert_string_equal (report->to, TO);
    assert_int_equal (report->seq, 45 + 60 + 25 + 15);
    assert_int_equal (report->n_goals, 4 + 11 + 32);
    assert_int_equal (report->n_actions, 57);       //  3 initiatives start in 2027
    assert_int_equal (report->ods_covered, 31);     //  the gap: OD 4.2.2
    for (size_t g = 0; g < report->n_goals; g++)
        if (report->goals [g].level == 2 && report->goals [g].actions == 0)
            assert_string_equal (report->goals [g].code, "OD 4.2.2");
    assert_int_equal (report->by_pillar_count [1], 10);
    assert_int_equal (report->by_pillar_count [2], 32);
    assert_int_equal (report->by_pillar_count [3], 12);
    assert_int_equal (report->by_pillar_count [4], 3);
    assert_int_equal (report->n_openings, 24);      //  the UGent lab opens in 2027
    assert_int_equal (report->n_moments, 7);
    assert_int_equal (report->moments_state_of_the_stem, 1);
    assert_int_equal (report->n_biennia, 1);
    assert_string_equal (report->biennia [0].from, "2025-01-01");
    assert_string_equal (report->biennia [0].to, "2026-12-31");
    assert_int_equal (report->biennia [0].state_of_the_stem, 1);
    assert_string_equal (report->biennia [0].events, "2026-12-10 moment:state-of-the-stem-2026");

    //  The tree: SD totals count each action once
    size_t sd_actions = 0;
    for (size_t g = 0; g < report->n_goals; g++) {
        const stx_report_goal_t *goal = &report->goals [g];
        if (goal->level == 0) {
            assert_true (goal->actions <= report->n_actions);
            sd_actions += goal->actions;
        }
        size_t lead = 0;
        for (int p = 0; p < STX_PILLARS; p++) {
            lead += goal->lead [p];
            assert_true (goal->lead [p] <= goal->involved [p]);
        }
        assert_int_equal (lead, goal->actions);     //  every owner's pillar is known
    }
    assert_true (sd_actions >= report->n_actions);
    //  The infra rows are the three ODs of TD 3.2
    assert_int_equal (report->n_infra, 3);
    assert_string_equal (report->infra [0].od_code, "OD 3.2.1");
    assert_string_equal (report->infra [2].od_code, "OD 3.2.3");
    assert_int_equal (report->infra [0].by_pillar [STX_PILLAR_GOVERNMENT].openings, 7);
    assert_int_equal (report->infra [1].by_pillar [STX_PILLAR_KNOWLEDGE].openings, 9);
    assert_int_equal (report->infra [2].by_pillar [STX_PILLAR_INDUSTRY].openings, 8);
    //  16 seats x 12 sessions
    for (size_t o = 0; o < report->n_openings; o++)
        if (strcmp (report->openings [o].key, "infra:vdab-gent-industriele-automatisering") == 0)
            assert_int_equal (report->openings [o].seats_per_month, 192);
}

//  Other periods, against the independent count
static void
test_other_periods (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    static const char *periods [][2] = {
        { "2021-01-01", "2030-12-31" },
        { "2027-01-01", "2028-12-31" },
        { "2026-12-10", "2026-12-10" },
        { "1990-01-01", "1990-12-31" },
    };
    for (size_t i = 0; i < sizeof (periods) / sizeof (periods [0]); i++) {
        stx_report_t *report = s_build (fixture, periods [i][0], periods [i][1]);
        s_check_numbers (fixture, report, periods [i][0], periods [i][1]);
        stx_report_destroy (&report);
    }
    //  The whole Agenda: every OD is served (the sample's own promise), and
    //  the biennia run 2021-2022 .. 2029-2030, one State-of-the-STEM in 2026
    stx_report_t *report = s_build (fixture, "2021-01-01", "2030-12-31");
    assert_int_equal (report->ods_covered, report->ods);
    assert_int_equal (report->n_biennia, 5);
    assert_string_equal (report->biennia [0].from, "2021-01-01");
    assert_string_equal (report->biennia [4].to, "2030-12-31");
    for (size_t i = 0; i < 5; i++)
        assert_int_equal (report->biennia [i].state_of_the_stem, i == 2? 1: 0);
    stx_report_destroy (&report);
    //  A period inside 2026 still reports 2025-2026's State-of-the-STEM,
    //  though the event is outside it
    report = s_build (fixture, "2026-01-01", "2026-06-30");
    assert_int_equal (report->moments_state_of_the_stem, 0);
    assert_int_equal (report->n_biennia, 1);
    assert_int_equal (report->biennia [0].state_of_the_stem, 1);
    stx_report_destroy (&report);
    //  Nothing in 1990: every OD a gap, all four renderers still work
    report = s_build (fixture, "1990-01-01", "1990-12-31");
    assert_int_equal (report->n_actions, 0);
    assert_int_equal (report->ods_covered, 0);
    stx_strategic_t *strategic = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_strategic_build (report, s_config_dir (), &strategic, err,
                                           sizeof (err)), STX_OK);
    FILE *null = fopen ("/dev/null", "w");
    assert_non_null (null);
    for (int f = STX_REPORT_TEXT; f <= STX_REPORT_JSON; f++) {
        assert_int_equal (stx_report_render (report, (stx_report_format_t) f, null), STX_OK);
        assert_int_equal (stx_strategic_render (strategic, (stx_report_format_t) f, null),
                          STX_OK);
    }
    fclose (null);
    stx_strategic_destroy (&strategic);
    stx_report_destroy (&report);
}

static void
test_bad_input (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (fixture->store, false, &txn), STX_OK);
    stx_report_t *report = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_report_build (txn, fixture->taxonomy, "2026-12-31", "2026-01-01",
                                        &report, err, sizeof (err)), STX_ERR_INVALID);
    assert_non_null (strstr (err, "before it starts"));
    assert_null (report);
    assert_int_equal (stx_report_build (txn, fixture->taxonomy, "2026-02-30", "2026-12-31",
                                        &report, err, sizeof (err)), STX_ERR_INVALID);
    assert_int_equal (stx_report_build (txn, fixture->taxonomy, "2026-01-01", "tomorrow",
                                        &report, err, sizeof (err)), STX_ERR_INVALID);
    stx_txn_abort (&txn);
    //  A folder without the taxonomy file
    stx_strategic_t *strategic = NULL;
    assert_int_equal (stx_strategic_build (fixture->report, fixture->dir, &strategic, err,
                                           sizeof (err)), STX_ERR_IO);
    assert_null (strategic);

    stx_report_format_t format;
    assert_int_equal (stx_report_format_parse ("md", &format), STX_OK);
    assert_int_equal (format, STX_REPORT_MARKDOWN);
    assert_int_equal (stx_report_format_parse ("html", &format), STX_OK);
    assert_int_equal (format, STX_REPORT_HTML);
    assert_int_equal (stx_report_format_parse ("pdf", &format), STX_ERR_INVALID);
    assert_int_equal (stx_report_format_parse (NULL, &format), STX_ERR_INVALID);
}

static void
test_biennium (void **state)
{
    (void) state;
    char from [11], to [11];
    assert_true (stx_report_biennium ("2026-11-28", from, to));
    assert_string_equal (from, "2025-01-01");
    assert_string_equal (to, "2026-12-31");
    assert_true (stx_report_biennium ("2025-01-01", from, to));
    assert_string_equal (from, "2025-01-01");
    assert_true (stx_report_biennium ("2030-12-31", from, to));
    assert_string_equal (from, "2029-01-01");
    assert_string_equal (to, "2030-12-31");
    assert_false (stx_report_biennium ("x", from, to));
    assert_int_equal (stx_report_pillar_of ("civil_society"), STX_PILLAR_CIVIL_SOCIETY);
    assert_int_equal (stx_report_pillar_of ("citizens"), -1);
    assert_string_equal (stx_report_pillar_id (STX_PILLAR_INDUSTRY), "industry");
    assert_string_equal (stx_report_pillar_id (7), "");
}

static void
test_strategic (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    const stx_strategic_t *strategic = fixture->strategic;
    //  Per SD: actions, ODs covered, 4-pillar actions, target groups,
    //  moments (+ openings for SD3), then its 7.2 aspects; the Agenda:
    //  connecting stakeholders, State-of-the-STEM, the 5 VARIO indicators
    bool seen_vario = false, seen_perception = false, seen_sd4_gap = false;
    for (size_t i = 0; i < strategic->n_indicators; i++) {
        const stx_indicator_t *indicator = &strategic->indicators [i];
        if (strcmp (indicator->id, "vario_pisa_timss") == 0) {
            assert_false (indicator->fed);
            assert_string_equal (indicator->scope, "Agenda");
            seen_vario = true;
        }
        if (strcmp (indicator->id, "perception_stem") == 0) {
            assert_false (indicator->fed);
            assert_string_equal (indicator->scope, "SD1");
            assert_non_null (strstr (indicator->detail, "Wetenschapsbarometer"));
            seen_perception = true;
        }
        if (strcmp (indicator->scope, "SD4") == 0 && strcmp (indicator->id, "ods_covered") == 0) {
            assert_true (indicator->fed);
            assert_int_equal (indicator->value, 6);
            assert_non_null (strstr (indicator->detail, "OD 4.2.2"));
            seen_sd4_gap = true;
        }
        if (strcmp (indicator->scope, "SD3") == 0
        &&  strcmp (indicator->id, "infrastructure_openings") == 0)
            assert_int_equal (indicator->value, 24);
        if (strcmp (indicator->id, "state_of_the_stem") == 0)
            assert_int_equal (indicator->value, 1);
    }
    assert_true (seen_vario && seen_perception && seen_sd4_gap);
    assert_true (strategic->n_fed > 0 && strategic->n_fed < strategic->n_indicators);
}

//  --------------------------------------------------------------------------
//  Golden files

static char *
s_render (fixture_t *fixture, bool strategic, stx_report_format_t format, size_t *size_p)
{
    char *data = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&data, &size);
    assert_non_null (out);
    stx_status_t status = strategic? stx_strategic_render (fixture->strategic, format, out)
                                   : stx_report_render (fixture->report, format, out);
    assert_int_equal (status, STX_OK);
    fclose (out);
    *size_p = size;
    return data;
}

static char *
s_read_file (const char *path, size_t *size_p)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *data = NULL;
    size_t size = 0, alloc = 0;
    while (true) {
        if (size + 4096 > alloc) {
            alloc = alloc? alloc * 2: 65536;
            data = realloc (data, alloc);
            assert_non_null (data);
        }
        size_t got = fread (data + size, 1, alloc - size, file);
        size += got;
        if (got == 0)
            break;
    }
    fclose (file);
    *size_p = size;
    return data;
}

static void
s_write_file (const char *path, const char *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    if (!file)
        fail_msg ("cannot write %s", path);
    assert_int_equal (fwrite (data, 1, size, file), size);
    assert_int_equal (fclose (file), 0);
}

static void
s_golden (fixture_t *fixture, bool strategic, stx_report_format_t format, const char *ext)
{
    size_t size;
    char *actual = s_render (fixture, strategic, format, &size);
    char name [64], path [4200];
    snprintf (name, sizeof (name), "report-%s.%s", strategic? "strategic": "operational", ext);
    snprintf (path, sizeof (path), "%s/tests/golden/%s", s_source_dir (), name);
    const char *update = getenv ("STEMX_UPDATE_GOLDEN");
    if (update && strcmp (update, "1") == 0) {
        s_write_file (path, actual, size);
        fprintf (stderr, "golden: wrote %s\n", path);
        free (actual);
        return;
    }
    size_t want_size = 0;
    char *want = s_read_file (path, &want_size);
    if (!want) {
        free (actual);
        fail_msg ("%s is missing; make it with STEMX_UPDATE_GOLDEN=1", path);
    }
    if (want_size != size || memcmp (want, actual, size) != 0) {
        //  Say where they part, and leave the output for diff
        size_t at = 0, line = 1;
        while (at < size && at < want_size && want [at] == actual [at]) {
            if (want [at] == '\n')
                line++;
            at++;
        }
        char actual_path [128];
        snprintf (actual_path, sizeof (actual_path), "%s.actual", name);
        s_write_file (actual_path, actual, size);
        free (want);
        free (actual);
        fail_msg ("%s differs from the golden file at line %zu; output in ./%s "
                  "(STEMX_UPDATE_GOLDEN=1 rewrites the golden files)", name, line, actual_path);
    }
    free (want);
    free (actual);
}

static void
test_golden_operational (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_golden (fixture, false, STX_REPORT_TEXT, "txt");
    s_golden (fixture, false, STX_REPORT_MARKDOWN, "md");
    s_golden (fixture, false, STX_REPORT_CSV, "csv");
    s_golden (fixture, false, STX_REPORT_HTML, "html");
    s_golden (fixture, false, STX_REPORT_JSON, "json");
}

static void
test_golden_strategic (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_golden (fixture, true, STX_REPORT_TEXT, "txt");
    s_golden (fixture, true, STX_REPORT_MARKDOWN, "md");
    s_golden (fixture, true, STX_REPORT_CSV, "csv");
    s_golden (fixture, true, STX_REPORT_HTML, "html");
    s_golden (fixture, true, STX_REPORT_JSON, "json");
}

//  The JSON rendering says what the model holds, and the HTML page is
//  self-contained: no script, no link, no URL fetched
static void
test_formats_agree (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    size_t size;
    char *text = s_render (fixture, false, STX_REPORT_JSON, &size);
    json_error_t error;
    json_t *root = json_loadb (text, size, 0, &error);
    free (text);
    assert_non_null (root);
    json_t *summary = json_object_get (root, "summary");
    assert_int_equal (json_integer_value (json_object_get (summary, "actions")), 57);
    assert_int_equal (json_integer_value (json_object_get (summary, "gaps")), 1);
    assert_int_equal (json_array_size (json_object_get (root, "actions")), 57);
    assert_string_equal (json_string_value (json_array_get (json_object_get (root, "gaps"), 0)),
                         "OD 4.2.2");
    json_decref (root);

    char *html = s_render (fixture, false, STX_REPORT_HTML, &size);
    assert_int_equal (strlen (html), size);
    assert_null (strstr (html, "<script"));
    assert_null (strstr (html, "<link"));
    assert_null (strstr (html, "http://"));
    assert_null (strstr (html, "https://"));
    assert_null (strstr (html, "url("));
    assert_non_null (strstr (html, "data-actions=\"57\""));
    assert_non_null (strstr (html, "data-gaps=\"1\""));
    assert_non_null (strstr (html, "data-pillars-4=\"3\""));
    free (html);

    //  CSV: every line has 6 fields (quoted commas aside), CRLF endings
    char *csv = s_render (fixture, false, STX_REPORT_CSV, &size);
    assert_non_null (strstr (csv, "summary,,,gaps,1,\r\n"));
    assert_non_null (strstr (csv, "gap,OD 4.2.2,TD 4.2,actions,0,"));
    free (csv);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_biennium),
        cmocka_unit_test_setup_teardown (test_sample_numbers, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_other_periods, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_input, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_strategic, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_formats_agree, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_golden_operational, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_golden_strategic, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
