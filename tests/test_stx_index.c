/*  =========================================================================
    test_stx_index - index keys, filter matching and dates (pure functions)

    Entries are built on the stack: stx_index never takes ownership.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "stx_index.h"

//  Join the index keys of entry with "|".
static int
s_join (const char *key, void *arg)
{
    char *out = (char *) arg;
    if (*out)
        strcat (out, "|");
    strcat (out, key);
    return 0;
}

static const char *
s_keys (const Stemx__Entry *entry, char *out)
{
    *out = 0;
    assert_int_equal (stx_index_keys (entry, s_join, out), 0);
    return out;
}

static int
s_stop_second (const char *key, void *arg)
{
    (void) key;
    int *calls = (int *) arg;
    return ++*calls == 2? 42: 0;
}

//  --------------------------------------------------------------------------

static void
test_organisation (void **state)
{
    (void) state;
    Stemx__Organisation org;
    stemx__organisation__init (&org);
    org.id = (char *) "org:vlaio";
    org.name = (char *) "VLAIO";
    org.helix_pillar = (char *) "government";
    org.municipality = (char *) "Brussel";
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_ORGANISATION;
    entry.organisation = &org;

    char out [1024];
    assert_string_equal (s_keys (&entry, out),
        "helix=government|kind=organisation|muni=Brussel|org=org:vlaio|word=vlaio");

    const char *start, *end;
    stx_index_dates (&entry, &start, &end);
    assert_string_equal (start, "");
    assert_string_equal (end, "");

    stx_filter_t filter = { .kind = STX_KIND_ORGANISATION, .helix = "government" };
    assert_true (stx_index_match (&entry, &filter));
    filter.helix = "industry";
    assert_false (stx_index_match (&entry, &filter));
    //  Organisations have no dates: never match a date filter
    stx_filter_t dated = { .from = "2000-01-01" };
    assert_false (stx_index_match (&entry, &dated));
    stx_filter_t kind = { .kind = STX_KIND_INITIATIVE };
    assert_false (stx_index_match (&entry, &kind));

    //  fn can stop the walk
    int calls = 0;
    assert_int_equal (stx_index_keys (&entry, s_stop_second, &calls), 42);
    assert_int_equal (calls, 2);
}

//  Join the tokens of text with "|".
static const char *
s_tokens (const char *text, char *out)
{
    *out = 0;
    assert_int_equal (stx_index_tokens (text, s_join, out), 0);
    return out;
}

static void
test_tokens (void **state)
{
    (void) state;
    char out [1024];
    //  Case and accents folded; cut at punctuation, hyphens and dashes;
    //  short words and stop words dropped; order and duplicates kept
    assert_string_equal (s_tokens ("STEM-academie Gent: industriële automatisering, "
                                   "ook in de vrije tijd! Stem", out),
                         "stem|academie|gent|industriele|automatisering|vrije|tijd|stem");
    assert_string_equal (s_tokens ("Ĳzersterk Œuvre straße ÉCOLE Ærø", out),
                         "ijzersterk|oeuvre|strasse|ecole|aero");
    assert_string_equal (s_tokens ("labo – 2030’s “quotes” ×multiply÷ NBSP\u00a0x", out),
                         "labo|2030|quotes|multiply|nbsp");
    assert_string_equal (s_tokens ("The STEM agenda for the future and het van een", out),
                         "stem|agenda|future");
    //  Other scripts are kept; over-long words dropped
    assert_string_equal (s_tokens ("Αθήνα abc", out), "Αθήνα|abc");
    char longword [200];
    memset (longword, 'x', 100);
    strcpy (longword + 100, " ok1");
    assert_string_equal (s_tokens (longword, out), "ok1");
    assert_string_equal (s_tokens ("", out), "");
    assert_string_equal (s_tokens (NULL, out), "");
    //  Invalid UTF-8 bytes separate words, and never crash
    assert_string_equal (s_tokens ("abc\xff\xfe" "def\xc3", out), "abc|def");
    int calls = 0;
    assert_int_equal (stx_index_tokens ("one two three", s_stop_second, &calls), 42);
}

static void
test_initiative (void **state)
{
    (void) state;
    Stemx__Partner owner, partner, partner2;
    stemx__partner__init (&owner);
    stemx__partner__init (&partner);
    stemx__partner__init (&partner2);
    owner.org = (char *) "org:a";
    owner.helix_pillar = (char *) "government";
    partner.org = (char *) "org:b";
    partner.helix_pillar = (char *) "industry";
    partner2.org = (char *) "org:c";      //  pillar unknown: no helix key
    Stemx__Partner *partners [] = { &partner, &partner2, &owner };
    Stemx__Period period;
    stemx__period__init (&period);
    period.start = (char *) "2026-01-01";
    period.end = (char *) "2026-06-30";
    char *od [] = { (char *) "OD 1.1.1", (char *) "OD 2.3.1", (char *) "OD 1.1.1" };
    char *themes [] = { (char *) "digital" };
    Stemx__Initiative ini;
    stemx__initiative__init (&ini);
    ini.id = (char *) "ini:x";
    ini.title = (char *) "Wiskunde-olympiade";
    ini.summary = (char *) "Een olympiade voor wiskunde";
    ini.owner = &owner;
    ini.n_partners = 3;
    ini.partners = partners;
    ini.n_od_codes = 3;
    ini.od_codes = od;
    ini.n_themes = 1;
    ini.themes = themes;
    ini.period = &period;
    ini.status = (char *) "running";
    ini.municipality = (char *) "Gent";
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INITIATIVE;
    entry.initiative = &ini;

    char out [1024];
    //  Sorted, duplicates removed
    assert_string_equal (s_keys (&entry, out),
        "helix=government|helix=industry|kind=initiative|muni=Gent"
        "|od=OD 1.1.1|od=OD 2.3.1|org=org:a|org=org:b|org=org:c"
        "|start=2026-01-01|status=running|theme=digital|word=olympiade|word=wiskunde");
    assert_string_equal (stx_index_title (&entry), "Wiskunde-olympiade");
    stx_filter_t words = { .word = "wiskunde" };
    assert_true (stx_index_match (&entry, &words));
    words.word = "olympiad";
    assert_false (stx_index_match (&entry, &words));

    stx_filter_t f;
    memset (&f, 0, sizeof (f));
    assert_true (stx_index_match (&entry, &f));
    f.od = "OD 2.3.1";
    f.helix = "industry";
    f.org = "org:c";
    f.municipality = "Gent";
    f.theme = "digital";
    f.status = "running";
    f.kind = STX_KIND_INITIATIVE;
    assert_true (stx_index_match (&entry, &f));
    f.status = "planned";
    assert_false (stx_index_match (&entry, &f));
    f.status = NULL;
    f.od = "OD 9.9.9";
    assert_false (stx_index_match (&entry, &f));
    f.od = "";                          //  "" does not filter
    assert_true (stx_index_match (&entry, &f));

    //  Overlap of [2026-01-01, 2026-06-30] with [from, to]
    struct {
        const char *from, *to;
        bool match;
    } cases [] = {
        { "2026-06-30", NULL, true },
        { "2026-07-01", NULL, false },
        { NULL, "2026-01-01", true },
        { NULL, "2025-12-31", false },
        { "2025-01-01", "2025-12-31", false },
        { "2025-01-01", "2027-12-31", true },
        { "2026-03-01", "2026-03-02", true },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases [0]); i++) {
        stx_filter_t dated = { .from = cases [i].from, .to = cases [i].to };
        assert_int_equal (stx_index_match (&entry, &dated), cases [i].match);
    }
    //  Open ended: matches any later window
    period.end = (char *) "";
    stx_filter_t later = { .from = "2099-01-01" };
    assert_true (stx_index_match (&entry, &later));

    assert_false (stx_index_match (NULL, &f));
    *out = 0;
    assert_int_equal (stx_index_keys (NULL, s_join, out), 0);
    assert_string_equal (out, "");
}

static void
test_infrastructure (void **state)
{
    (void) state;
    Stemx__Partner provider;
    stemx__partner__init (&provider);
    provider.org = (char *) "org:imec";
    provider.helix_pillar = (char *) "knowledge";
    Stemx__Location location;
    stemx__location__init (&location);
    location.municipality = (char *) "Leuven";
    Stemx__AvailabilityWindow w1, w2;
    stemx__availability_window__init (&w1);
    stemx__availability_window__init (&w2);
    w1.from = (char *) "2026-09-01";
    w1.to = (char *) "2026-12-31";
    w2.from = (char *) "2026-03-01";
    w2.to = (char *) "2026-04-30";
    Stemx__AvailabilityWindow *windows [] = { &w1, &w2 };
    Stemx__InfrastructureOpening infra;
    stemx__infrastructure_opening__init (&infra);
    infra.id = (char *) "infra:lab";
    infra.facility = (char *) "Labo";
    infra.description = (char *) "Cleanroom";
    infra.provider = &provider;
    infra.od_code = (char *) "OD 3.2.2";
    infra.location = &location;
    infra.n_availability = 2;
    infra.availability = windows;
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_INFRASTRUCTURE;
    entry.infrastructure = &infra;

    char out [1024];
    assert_string_equal (s_keys (&entry, out),
        "helix=knowledge|kind=infrastructure|muni=Leuven|od=OD 3.2.2"
        "|org=org:imec|start=2026-03-01|word=cleanroom|word=labo");
    assert_string_equal (stx_index_title (&entry), "Labo");
    const char *start, *end;
    stx_index_dates (&entry, &start, &end);
    assert_string_equal (start, "2026-03-01");
    assert_string_equal (end, "2026-12-31");

    //  No windows: no dates, no start key, no date match
    infra.n_availability = 0;
    stx_index_dates (&entry, &start, &end);
    assert_string_equal (start, "");
    assert_string_equal (end, "");
    stx_filter_t dated = { .to = "2099-01-01" };
    assert_false (stx_index_match (&entry, &dated));
}

static void
test_moment (void **state)
{
    (void) state;
    Stemx__Partner organiser, co;
    stemx__partner__init (&organiser);
    stemx__partner__init (&co);
    organiser.org = (char *) "org:vlaio";
    organiser.helix_pillar = (char *) "government";
    co.org = (char *) "org:agoria";
    co.helix_pillar = (char *) "industry";
    Stemx__Partner *cos [] = { &co };
    Stemx__Location location;
    stemx__location__init (&location);
    location.municipality = (char *) "Mechelen";
    char *od [] = { (char *) "OD 6.1.5" };
    char *themes [] = { (char *) "ecosystem" };
    Stemx__NetworkMoment moment;
    stemx__network_moment__init (&moment);
    moment.id = (char *) "moment:sots";
    moment.title = (char *) "State of the STEM";
    moment.organiser = &organiser;
    moment.n_co_organisers = 1;
    moment.co_organisers = cos;
    moment.date = (char *) "2026-10-15";
    moment.location = &location;
    moment.n_topic_od_codes = 1;
    moment.topic_od_codes = od;
    moment.n_themes = 1;
    moment.themes = themes;
    Stemx__Entry entry;
    stemx__entry__init (&entry);
    entry.kind_case = STEMX__ENTRY__KIND_MOMENT;
    entry.moment = &moment;

    char out [1024];
    assert_string_equal (s_keys (&entry, out),
        "helix=government|helix=industry|kind=moment|muni=Mechelen|od=OD 6.1.5"
        "|org=org:agoria|org=org:vlaio|start=2026-10-15|theme=ecosystem"
        "|word=state|word=stem");
    assert_string_equal (stx_index_title (&entry), "State of the STEM");
    assert_string_equal (stx_index_title (NULL), "");
    //  No end date: one day
    const char *start, *end;
    stx_index_dates (&entry, &start, &end);
    assert_string_equal (start, "2026-10-15");
    assert_string_equal (end, "2026-10-15");
    stx_filter_t after = { .from = "2026-10-16" };
    assert_false (stx_index_match (&entry, &after));
    moment.end_date = (char *) "2026-10-16";
    assert_true (stx_index_match (&entry, &after));
    stx_filter_t f = { .kind = STX_KIND_MOMENT, .org = "org:agoria", .theme = "ecosystem" };
    assert_true (stx_index_match (&entry, &f));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_organisation),
        cmocka_unit_test (test_tokens),
        cmocka_unit_test (test_initiative),
        cmocka_unit_test (test_infrastructure),
        cmocka_unit_test (test_moment),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
