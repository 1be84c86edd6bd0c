/*  =========================================================================
    test_stx_validate - checks of entries and events before sequencing

    The whole sample catalogue validates; each class of bad input (codes,
    dates, times, keys, UTF-8, limits, envelope) is refused with its status
    and a message naming the entry and the field.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stx_event.h"
#include "stx_index.h"
#include "stx_json.h"
#include "stx_validate.h"

static stx_taxonomy_t *s_taxonomy;

static const char *
s_source_dir (void)
{
    const char *source = getenv ("STEMX_SOURCE_DIR");
    return source? source: ".";
}

static int
s_setup (void **state)
{
    char dir [4096], err [STX_ERRLEN] = "";
    snprintf (dir, sizeof (dir), "%s/config", s_source_dir ());
    if (stx_taxonomy_load (dir, &s_taxonomy, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int
s_teardown (void **state)
{
    stx_taxonomy_destroy (&s_taxonomy);
    return 0;
}

//  An entry from JSON text (the text must convert).
static Stemx__Entry *
s_entry (const char *text)
{
    json_error_t error;
    json_t *json = json_loads (text, 0, &error);
    if (!json)
        fail_msg ("bad test JSON: %s: %s", error.text, text);
    char err [STX_ERRLEN] = "";
    Stemx__Entry *entry = NULL;
    if (stx_json_to_entry (json, &entry, err, sizeof (err)) != STX_OK)
        fail_msg ("%s: %s", text, err);
    json_decref (json);
    return entry;
}

//  Replace the string at *field_p with a heap copy of value.
static void
s_set (char **field_p, const char *value)
{
    if (*field_p && *field_p != protobuf_c_empty_string)
        free (*field_p);
    *field_p = strdup (value);
}

//  Validate entry (default limits unless limits) and expect status and
//  exactly message (or, if message ends with '*', that prefix).
static void
s_expect_limits (const Stemx__Entry *entry, const stx_limits_t *limits,
                 stx_status_t expected, const char *message)
{
    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_validate_entry (s_taxonomy, limits, entry, err, sizeof (err));
    size_t len = strlen (message);
    bool match = len && message [len - 1] == '*'
               ? strncmp (err, message, len - 1) == 0
               : strcmp (err, message) == 0;
    if (rc != expected || (expected != STX_OK && !match))
        fail_msg ("got %d (%s) '%s'\n  expected %d '%s'", rc, stx_strerror (rc), err,
                  expected, message);
    assert_true (stx_utf8_valid (err, strlen (err)));
}

static void
s_expect (const Stemx__Entry *entry, stx_status_t expected, const char *message)
{
    s_expect_limits (entry, NULL, expected, message);
}

//  JSON text must convert, then fail validation with status and message.
static void
s_expect_text (const char *text, stx_status_t expected, const char *message)
{
    Stemx__Entry *entry = s_entry (text);
    s_expect (entry, expected, message);
    stx_entry_free (&entry);
}

#define S_INI(rest) \
    "{\"id\": \"ini:x\", \"title\": \"X\", \"owner\": \"org:a\", " \
    "\"od_codes\": [\"OD 1.1.1\"], \"period\": {\"start\": \"2026-01-01\"}, " \
    "\"status\": \"planned\"" rest "}"
#define S_INFRA(rest) \
    "{\"id\": \"infra:x\", \"provider\": \"org:a\", \"kind\": \"private_sector\", " \
    "\"od_code\": \"OD 3.2.3\", \"facility\": \"Lab\", " \
    "\"location\": {\"municipality\": \"Gent\"}" rest "}"
#define S_MOMENT(rest) \
    "{\"id\": \"moment:x\", \"organiser\": \"org:a\", \"title\": \"M\", " \
    "\"kind\": \"network_moment\", \"date\": \"2026-03-19\"" rest "}"
#define S_ORG(rest) \
    "{\"id\": \"org:a\", \"name\": \"A\", \"helix_pillar\": \"industry\", " \
    "\"kind\": \"agency\", \"region\": \"flanders\"" rest "}"

static void
test_limits_default (void **state)
{
    stx_limits_t limits;
    stx_limits_default (&limits);
    assert_int_equal (limits.max_entry_bytes, 65536);
    assert_int_equal (limits.max_string, 4096);
    assert_int_equal (limits.max_list, 256);
    assert_int_equal (limits.max_key, 200);
}

static void
test_utf8 (void **state)
{
    static const struct {
        const char *bytes;
        size_t size;
        bool valid;
        const char *what;
    } cases [] = {
        { "", 0, true, "empty" },
        { "plain ascii", 11, true, "ASCII" },
        { "a\0b", 3, true, "U+0000 inside" },
        { "\xC3\xA9", 2, true, "U+00E9 (2 bytes)" },
        { "\xC2\x80", 2, true, "U+0080, lowest 2-byte" },
        { "\xE2\x82\xAC", 3, true, "U+20AC (3 bytes)" },
        { "\xE0\xA0\x80", 3, true, "U+0800, lowest 3-byte" },
        { "\xED\x9F\xBF", 3, true, "U+D7FF, below the surrogates" },
        { "\xEE\x80\x80", 3, true, "U+E000, above the surrogates" },
        { "\xEF\xBF\xBF", 3, true, "U+FFFF" },
        { "\xF0\x90\x80\x80", 4, true, "U+10000, lowest 4-byte" },
        { "\xF0\x9F\x98\x80", 4, true, "U+1F600 (4 bytes)" },
        { "\xF4\x8F\xBF\xBF", 4, true, "U+10FFFF, the highest" },
        { "\xC0\xAF", 2, false, "overlong '/' (C0)" },
        { "\xC1\xBF", 2, false, "overlong (C1)" },
        { "\xE0\x80\xAF", 3, false, "overlong 3-byte" },
        { "\xE0\x9F\xBF", 3, false, "overlong 3-byte, highest" },
        { "\xF0\x80\x80\xAF", 4, false, "overlong 4-byte" },
        { "\xF0\x8F\xBF\xBF", 4, false, "overlong 4-byte, highest" },
        { "\xED\xA0\x80", 3, false, "surrogate U+D800" },
        { "\xED\xBF\xBF", 3, false, "surrogate U+DFFF" },
        { "\xED\xA0\xBD\xED\xB8\x80", 6, false, "CESU-8 surrogate pair" },
        { "\xF4\x90\x80\x80", 4, false, "U+110000, above the maximum" },
        { "\xF5\x80\x80\x80", 4, false, "F5 lead byte" },
        { "\xF7\xBF\xBF\xBF", 4, false, "U+1FFFFF" },
        { "\xC3", 1, false, "truncated 2-byte" },
        { "\xE2\x82", 2, false, "truncated 3-byte" },
        { "\xF0\x9F\x98", 3, false, "truncated 4-byte" },
        { "ab\xE2\x82", 4, false, "truncated at the end" },
        { "\xE2\x82x", 3, false, "truncated before ASCII" },
        { "\x80", 1, false, "lone continuation byte" },
        { "\xC3\xA9\xA9", 3, false, "extra continuation byte" },
        { "\xFE", 1, false, "FE" },
        { "\xFF", 1, false, "FF" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        if (stx_utf8_valid (cases [index].bytes, cases [index].size) != cases [index].valid)
            fail_msg ("%s: expected %s", cases [index].what,
                      cases [index].valid? "valid": "invalid");
    //  Size is honoured: the bad byte after size is not looked at
    assert_true (stx_utf8_valid ("ab\xFF", 2));
}

static void
test_dates (void **state)
{
    assert_true (stx_date_valid ("2024-02-29"));        //  leap year
    assert_false (stx_date_valid ("2023-02-29"));
    assert_true (stx_date_valid ("2000-02-29"));        //  divisible by 400
    assert_false (stx_date_valid ("1900-02-29"));       //  by 100, not 400
    assert_true (stx_date_valid ("2023-02-28"));
    assert_false (stx_date_valid ("2026-13-01"));
    assert_false (stx_date_valid ("2026-00-10"));
    assert_false (stx_date_valid ("2026-01-00"));
    assert_false (stx_date_valid ("2026-04-31"));
    assert_true (stx_date_valid ("2026-04-30"));
    assert_true (stx_date_valid ("2026-12-31"));
    assert_false (stx_date_valid ("2026-12-32"));
    assert_false (stx_date_valid ("2026-1-01"));
    assert_false (stx_date_valid ("2026-01-01 "));
    assert_false (stx_date_valid ("2026-01-01T10:00"));
    assert_false (stx_date_valid ("2026/01/01"));
    assert_false (stx_date_valid ("26-01-01"));
    assert_false (stx_date_valid ("2026-0a-01"));
    assert_false (stx_date_valid ("+026-01-01"));
    assert_false (stx_date_valid (""));
    assert_false (stx_date_valid (NULL));
}

//  Every record of the sample catalogue converts and validates.
static void
test_sample_catalogue (void **state)
{
    static const char *sections [] = {
        "organisations", "initiatives", "infrastructure_openings", "network_moments"
    };
    char path [4096];
    snprintf (path, sizeof (path), "%s/config/sample/catalogue.json", s_source_dir ());
    json_error_t error;
    json_t *root = json_load_file (path, 0, &error);
    assert_non_null (root);
    size_t total = 0;
    for (int section = 0; section < 4; section++) {
        size_t index;
        json_t *record;
        json_array_foreach (json_object_get (root, sections [section]), index, record) {
            char err [STX_ERRLEN] = "";
            Stemx__Entry *entry = NULL;
            if (stx_json_to_entry (record, &entry, err, sizeof (err)) != STX_OK)
                fail_msg ("%s", err);
            if (stx_validate_entry (s_taxonomy, NULL, entry, err, sizeof (err)) != STX_OK)
                fail_msg ("%s", err);
            stx_entry_free (&entry);
            total++;
        }
    }
    assert_int_equal (total, 145);
    json_decref (root);
}

static void
test_minimal_entries (void **state)
{
    s_expect_text (S_INI (""), STX_OK, "");
    s_expect_text (S_INFRA (""), STX_OK, "");
    s_expect_text (S_MOMENT (""), STX_OK, "");
    s_expect_text (S_ORG (""), STX_OK, "");
    //  Any valid OD for an opening, not only OD 3.2.x
    s_expect_text (S_INFRA (", \"od_code\": \"OD 1.2.1\""), STX_OK, "");
    //  Multi-day moment may end earlier in the day than it began
    s_expect_text (S_MOMENT (", \"end_date\": \"2026-03-20\", \"start_time\": \"13:00\","
                             " \"end_time\": \"12:00\""), STX_OK, "");
    //  Edge times
    s_expect_text (S_MOMENT (", \"start_time\": \"00:00\", \"end_time\": \"23:59\""), STX_OK, "");
}

static void
test_unknown_codes (void **state)
{
    s_expect_text (S_INI (", \"od_codes\": [\"OD 1.1.1\", \"OD 9.9.9\"]"), STX_ERR_UNKNOWN_CODE,
                   "ini:x: od_codes[1]: unknown OD code 'OD 9.9.9'");
    s_expect_text (S_INI (", \"od_codes\": [\"TD 1.1\"]"), STX_ERR_UNKNOWN_CODE,
                   "ini:x: od_codes[0]: unknown OD code 'TD 1.1'");
    s_expect_text (S_INI (", \"themes\": [\"digitalisation\", \"astrology\"]"),
                   STX_ERR_UNKNOWN_CODE, "ini:x: themes[1]: unknown theme 'astrology'");
    s_expect_text (S_INI (", \"target_groups\": [\"cats\"]"), STX_ERR_UNKNOWN_CODE,
                   "ini:x: target_groups[0]: unknown target group 'cats'");
    s_expect_text (S_INI (", \"status\": \"dormant\""), STX_ERR_UNKNOWN_CODE,
                   "ini:x: status: unknown initiative status 'dormant'");
    s_expect_text (S_INI (", \"region\": \"wallonia\""), STX_ERR_UNKNOWN_CODE,
                   "ini:x: region: unknown region 'wallonia'");
    s_expect_text (S_INI (", \"partners\": [\"org:b\", {\"org\": \"org:c\", \"helix_pillar\": \"church\"}]"),
                   STX_ERR_UNKNOWN_CODE,
                   "ini:x: partners[1].helix_pillar: unknown helix pillar 'church'");
    s_expect_text (S_INI (", \"owner\": {\"org\": \"org:a\", \"helix_pillar\": \"Industry\"}"),
                   STX_ERR_UNKNOWN_CODE, "ini:x: owner.helix_pillar: unknown helix pillar 'Industry'");
    s_expect_text (S_ORG (", \"helix_pillar\": \"church\""), STX_ERR_UNKNOWN_CODE,
                   "org:a: helix_pillar: unknown helix pillar 'church'");
    s_expect_text (S_ORG (", \"kind\": \"guild\""), STX_ERR_UNKNOWN_CODE,
                   "org:a: kind: unknown organisation kind 'guild'");
    s_expect_text (S_ORG (", \"region\": \"paris\""), STX_ERR_UNKNOWN_CODE,
                   "org:a: region: unknown region 'paris'");
    s_expect_text (S_INFRA (", \"kind\": \"garage\""), STX_ERR_UNKNOWN_CODE,
                   "infra:x: kind: unknown infrastructure kind 'garage'");
    s_expect_text (S_INFRA (", \"od_code\": \"OD 3.2.9\""), STX_ERR_UNKNOWN_CODE,
                   "infra:x: od_code: unknown OD code 'OD 3.2.9'");
    s_expect_text (S_INFRA (", \"audience\": {\"target_groups\": [\"pupils\"], \"settings\": [\"kindergarten\"]}"),
                   STX_ERR_UNKNOWN_CODE,
                   "infra:x: audience.settings[0]: unknown education setting 'kindergarten'");
    s_expect_text (S_INFRA (", \"audience\": {\"target_groups\": [\"robots\"]}"),
                   STX_ERR_UNKNOWN_CODE,
                   "infra:x: audience.target_groups[0]: unknown target group 'robots'");
    s_expect_text (S_INFRA (", \"location\": {\"municipality\": \"Gent\", \"region\": \"gent\"}"),
                   STX_ERR_UNKNOWN_CODE, "infra:x: location.region: unknown region 'gent'");
    s_expect_text (S_MOMENT (", \"kind\": \"party\""), STX_ERR_UNKNOWN_CODE,
                   "moment:x: kind: unknown moment kind 'party'");
    s_expect_text (S_MOMENT (", \"topic_od_codes\": [\"OD 5.1.1\"]"), STX_ERR_UNKNOWN_CODE,
                   "moment:x: topic_od_codes[0]: unknown OD code 'OD 5.1.1'");
    //  An unknown value echoed with its non-ASCII text intact
    s_expect_text (S_INI (", \"themes\": [\"digitalisé\"]"), STX_ERR_UNKNOWN_CODE,
                   "ini:x: themes[0]: unknown theme 'digitalisé'");
}

static void
test_bad_dates (void **state)
{
    s_expect_text (S_INI (", \"period\": {\"start\": \"2023-02-29\"}"), STX_ERR_BAD_DATES,
                   "ini:x: period.start: '2023-02-29' is not a date (YYYY-MM-DD)");
    s_expect_text (S_INI (", \"period\": {\"start\": \"2024-02-29\", \"end\": \"2026-13-01\"}"),
                   STX_ERR_BAD_DATES,
                   "ini:x: period.end: '2026-13-01' is not a date (YYYY-MM-DD)");
    s_expect_text (S_INI (", \"period\": {\"start\": \"2026-06-01\", \"end\": \"2026-05-31\"}"),
                   STX_ERR_BAD_DATES,
                   "ini:x: period.end: 2026-05-31 is before period.start 2026-06-01");
    s_expect_text (S_INI (", \"period\": {\"start\": \"2026-06-01\", \"end\": \"2026-06-01\"}"),
                   STX_OK, "");
    s_expect_text (S_INFRA (", \"availability\": [{\"from\": \"2026-09-01\", \"to\": \"2027-06-30\"},"
                            " {\"from\": \"2027-07-01\", \"to\": \"2027-06-30\"}]"),
                   STX_ERR_BAD_DATES,
                   "infra:x: availability[1].to: 2027-06-30 is before availability[1].from 2027-07-01");
    s_expect_text (S_INFRA (", \"availability\": [{\"from\": \"2026-09-31\"}]"),
                   STX_ERR_BAD_DATES,
                   "infra:x: availability[0].from: '2026-09-31' is not a date (YYYY-MM-DD)");
    s_expect_text (S_INFRA (", \"availability\": [{\"start_time\": \"16:30\", \"end_time\": \"08:30\"}]"),
                   STX_ERR_BAD_DATES,
                   "infra:x: availability[0].end_time: 08:30 is not after availability[0].start_time 16:30");
    s_expect_text (S_INFRA (", \"availability\": [{\"start_time\": \"08:30\", \"end_time\": \"08:30\"}]"),
                   STX_ERR_BAD_DATES,
                   "infra:x: availability[0].end_time: 08:30 is not after availability[0].start_time 08:30");
    s_expect_text (S_INFRA (", \"availability\": [{\"start_time\": \"24:00\"}]"),
                   STX_ERR_BAD_DATES,
                   "infra:x: availability[0].start_time: '24:00' is not a time (HH:MM, 00:00-23:59)");
    s_expect_text (S_INFRA (", \"availability\": [{\"end_time\": \"8:30\"}]"),
                   STX_ERR_BAD_DATES,
                   "infra:x: availability[0].end_time: '8:30' is not a time (HH:MM, 00:00-23:59)");
    s_expect_text (S_INFRA (", \"availability\": [{\"weekdays\": [\"mon\", \"monday\"]}]"),
                   STX_ERR_BAD_DATES,
                   "infra:x: availability[0].weekdays[1]: 'monday' is not a weekday (mon..sun)");
    s_expect_text (S_INFRA (", \"availability\": [{\"weekdays\": [\"mon\", \"tue\", \"wed\", \"thu\","
                            " \"fri\", \"sat\", \"sun\"]}]"), STX_OK, "");
    s_expect_text (S_MOMENT (", \"date\": \"2026-02-30\""), STX_ERR_BAD_DATES,
                   "moment:x: date: '2026-02-30' is not a date (YYYY-MM-DD)");
    s_expect_text (S_MOMENT (", \"end_date\": \"2026-03-18\""), STX_ERR_BAD_DATES,
                   "moment:x: end_date: 2026-03-18 is before date 2026-03-19");
    s_expect_text (S_MOMENT (", \"start_time\": \"17:00\", \"end_time\": \"13:30\""),
                   STX_ERR_BAD_DATES, "moment:x: end_time: 13:30 is not after start_time 17:00");
    s_expect_text (S_MOMENT (", \"end_date\": \"2026-03-19\", \"start_time\": \"17:00\","
                             " \"end_time\": \"13:30\""),
                   STX_ERR_BAD_DATES, "moment:x: end_time: 13:30 is not after start_time 17:00");
    s_expect_text (S_MOMENT (", \"start_time\": \"12:60\""), STX_ERR_BAD_DATES,
                   "moment:x: start_time: '12:60' is not a time (HH:MM, 00:00-23:59)");
}

static void
test_keys (void **state)
{
    Stemx__Entry *entry = s_entry (S_ORG (""));
    s_set (&entry->organisation->id, "org:Upper");
    s_expect (entry, STX_ERR_INVALID,
              "org:Upper: id: must match ^(org|ini|infra|moment):[a-z0-9-]+$");
    s_set (&entry->organisation->id, "org:");
    s_expect (entry, STX_ERR_INVALID, "org:: id: must match ^(org|ini|infra|moment):[a-z0-9-]+$");
    s_set (&entry->organisation->id, "org:a_b");
    s_expect (entry, STX_ERR_INVALID, "org:a_b: id: must match*");
    s_set (&entry->organisation->id, "org:a b");
    s_expect (entry, STX_ERR_INVALID, "org:a b: id: must match*");
    s_set (&entry->organisation->id, "ini:a");
    s_expect (entry, STX_ERR_INVALID,
              "ini:a: id: must start with 'org:' (the entry is of kind organisation)");
    s_set (&entry->organisation->id, "");
    s_expect (entry, STX_ERR_INVALID, "organisation: id: required");
    s_set (&entry->organisation->id, "org:0-9-abc");
    s_expect (entry, STX_OK, "");

    //  Key length: 200 bytes fine, 201 too large
    char key [256];
    memset (key, 'a', sizeof (key));
    memcpy (key, "org:", 4);
    key [200] = 0;
    s_set (&entry->organisation->id, key);
    s_expect (entry, STX_OK, "");
    key [200] = 'a';
    key [201] = 0;
    s_set (&entry->organisation->id, key);
    s_expect (entry, STX_ERR_TOO_LARGE, "org:aaaa*");
    char err [STX_ERRLEN];
    stx_validate_entry (s_taxonomy, NULL, entry, err, sizeof (err));
    assert_non_null (strstr (err, ": id: 201 bytes, over the limit of 200"));
    stx_entry_free (&entry);

    //  A partner's org must be an organisation key
    s_expect_text (S_INI (", \"owner\": \"ini:y\""), STX_ERR_INVALID,
                   "ini:x: owner.org: 'ini:y' is not an organisation key (org:[a-z0-9-]+)");
    s_expect_text (S_MOMENT (", \"co_organisers\": [\"org:b\", \"VLAIO\"]"), STX_ERR_INVALID,
                   "moment:x: co_organisers[1].org: 'VLAIO' is not an organisation key (org:[a-z0-9-]+)");
}

static void
test_required_on_protobuf (void **state)
{
    //  Entries straight from the wire skip stx_json's checks: validate
    //  repeats them.
    Stemx__Entry *entry = s_entry (S_INI (""));
    Stemx__Initiative *ini = entry->initiative;
    s_set (&ini->status, "");
    s_expect (entry, STX_ERR_INVALID, "ini:x: status: required");
    s_set (&ini->status, "running");
    stemx__period__free_unpacked (ini->period, NULL);
    ini->period = NULL;
    s_expect (entry, STX_ERR_INVALID, "ini:x: period.start: required");
    for (size_t index = 0; index < ini->n_od_codes; index++)
        free (ini->od_codes [index]);
    ini->n_od_codes = 0;
    s_expect (entry, STX_ERR_INVALID, "ini:x: od_codes: required (at least one OD code)");
    stemx__partner__free_unpacked (ini->owner, NULL);
    ini->owner = NULL;
    s_expect (entry, STX_ERR_INVALID, "ini:x: owner: required");
    stx_entry_free (&entry);

    entry = s_entry (S_INFRA (""));
    stemx__location__free_unpacked (entry->infrastructure->location, NULL);
    entry->infrastructure->location = NULL;
    s_expect (entry, STX_ERR_INVALID, "infra:x: location.municipality: required");
    stx_entry_free (&entry);

    entry = s_entry (S_ORG (""));
    s_set (&entry->organisation->name, "");
    s_expect (entry, STX_ERR_INVALID, "org:a: name: required");
    stx_entry_free (&entry);

    entry = s_entry (S_MOMENT (""));
    s_set (&entry->moment->organiser->org, "");
    s_expect (entry, STX_ERR_INVALID, "moment:x: organiser.org: required");
    stx_entry_free (&entry);

    Stemx__Entry empty = STEMX__ENTRY__INIT;
    s_expect (&empty, STX_ERR_INVALID,
              "entry: empty (no organisation, initiative, infrastructure or moment)");
    s_expect (NULL, STX_ERR_INVALID, "entry: empty*");
}

//  Control characters reach no terminal: refused but for tab and newline
//  in a long text; bidi controls are text (the CLI shows them escaped)
static void
test_control_characters (void **state)
{
    (void) state;
    Stemx__Entry *entry = s_entry (S_INI (", \"partners\": [\"org:b\"]"));
    Stemx__Initiative *ini = entry->initiative;
    s_set (&ini->title, "red \x1b[31m title");
    s_expect (entry, STX_ERR_INVALID, "ini:x: title: holds control characters");
    s_set (&ini->title, "a\ttab");
    s_expect (entry, STX_ERR_INVALID, "ini:x: title: holds control characters");
    s_set (&ini->title, "C1 \xc2\x9b here");
    s_expect (entry, STX_ERR_INVALID, "ini:x: title: holds control characters");
    s_set (&ini->title, "DEL \x7f");
    s_expect (entry, STX_ERR_INVALID, "ini:x: title: holds control characters");
    s_set (&ini->title, "right-to-left \xe2\x80\xae override");
    s_expect (entry, STX_OK, "");
    s_set (&ini->summary, "two lines\n\tand a tab");
    s_expect (entry, STX_OK, "");
    s_set (&ini->summary, "a bell \x07");
    s_expect (entry, STX_ERR_INVALID, "ini:x: summary: holds control characters (only tab "
              "and line breaks may stand in a long text)");
    s_set (&ini->summary, "");
    s_set (&ini->partners [0]->org, "org:b\r");
    s_expect (entry, STX_ERR_INVALID, "ini:x: partners[0].org: holds control characters");
    stx_entry_free (&entry);
    assert_null (stx_node_name_invalid ("gent-agent é"));
    assert_string_equal (stx_node_name_invalid ("a\x01" "b"), "holds control characters");
}

static void
test_bad_utf8_fields (void **state)
{
    Stemx__Entry *entry = s_entry (S_INI (", \"partners\": [\"org:b\"], \"themes\": [\"ai\", \"energy\"]"));
    Stemx__Initiative *ini = entry->initiative;
    s_set (&ini->summary, "over\xC0\xAFlong");
    s_expect (entry, STX_ERR_BAD_UTF8, "ini:x: summary: invalid UTF-8");
    s_set (&ini->summary, "fine é");
    s_set (&ini->themes [1], "\xED\xA0\x80");
    s_expect (entry, STX_ERR_BAD_UTF8, "ini:x: themes[1]: invalid UTF-8");
    s_set (&ini->themes [1], "energy");
    s_set (&ini->partners [0]->helix_pillar, "\xF4\x90\x80\x80");
    s_expect (entry, STX_ERR_BAD_UTF8, "ini:x: partners[0].helix_pillar: invalid UTF-8");
    s_set (&ini->partners [0]->helix_pillar, "industry");
    s_set (&ini->period->end, "2026\xE2\x82");
    s_expect (entry, STX_ERR_BAD_UTF8, "ini:x: period.end: invalid UTF-8");
    s_set (&ini->period->end, "");
    s_expect (entry, STX_OK, "");
    //  A bad id is never echoed as is: the message stays valid UTF-8
    s_set (&ini->id, "ini:\xFF\xFE");
    s_expect (entry, STX_ERR_BAD_UTF8, "ini:??: id: invalid UTF-8");
    stx_entry_free (&entry);
}

static void
s_expect_event (const Stemx__Event *event, stx_status_t expected, const char *message);

static void
test_size_limits (void **state)
{
    stx_limits_t limits;
    stx_limits_default (&limits);
    Stemx__Entry *entry = s_entry (S_INI (", \"summary\": \"0123456789\","
                                         " \"themes\": [\"ai\", \"energy\", \"corona\"]"));
    s_expect_limits (entry, &limits, STX_OK, "");

    limits.max_string = 9;
    s_expect_limits (entry, &limits, STX_ERR_TOO_LARGE,
                     "ini:x: summary: 10 bytes, over the limit of 9");
    limits.max_string = 10;
    s_expect_limits (entry, &limits, STX_OK, "");

    limits.max_list = 2;
    s_expect_limits (entry, &limits, STX_ERR_TOO_LARGE,
                     "ini:x: themes: 3 items, over the limit of 2");
    limits.max_list = 3;
    s_expect_limits (entry, &limits, STX_OK, "");

    size_t size = stemx__entry__get_packed_size (entry);
    limits.max_entry_bytes = size - 1;
    char message [STX_ERRLEN];
    snprintf (message, sizeof (message), "ini:x: entry is %zu bytes, over the limit of %zu",
              size, size - 1);
    s_expect_limits (entry, &limits, STX_ERR_TOO_LARGE, message);
    limits.max_entry_bytes = size;
    s_expect_limits (entry, &limits, STX_OK, "");

    limits.max_key = 4;
    s_expect_limits (entry, &limits, STX_ERR_TOO_LARGE,
                     "ini:x: id: 5 bytes, over the limit of 4");
    stx_entry_free (&entry);

    //  A big entry against the default 64 KiB
    entry = s_entry (S_INI (""));
    char *big = (char *) malloc (4000);
    memset (big, 'x', 3999);
    big [3999] = 0;
    Stemx__Initiative *ini = entry->initiative;
    ini->doc_refs = (char **) calloc (20, sizeof (char *));
    for (ini->n_doc_refs = 0; ini->n_doc_refs < 20; ini->n_doc_refs++)
        ini->doc_refs [ini->n_doc_refs] = strdup (big);
    s_expect (entry, STX_ERR_TOO_LARGE, "ini:x: entry is *");
    char err [STX_ERRLEN];
    assert_int_equal (stx_validate_entry (s_taxonomy, NULL, entry, err, sizeof (err)),
                      STX_ERR_TOO_LARGE);
    assert_non_null (strstr (err, "over the limit of 65536"));
    free (big);
    stx_entry_free (&entry);

    //  One huge field makes the entry too large too; the refusal names it
    entry = s_entry (S_INI (""));
    big = (char *) malloc (200001);
    memset (big, 'x', 200000);
    big [200000] = 0;
    s_set (&entry->initiative->summary, big);
    free (big);
    s_expect (entry, STX_ERR_TOO_LARGE, "ini:x: summary: 200000 bytes, over the limit of 4096");
    stx_entry_free (&entry);
}

//  Fields this schema does not know are refused, not carried along
static void
test_unknown_fields (void **state)
{
    Stemx__Entry *entry = s_entry (S_INI (""));
    size_t size = stemx__entry__get_packed_size (entry);
    //  Append field 99 (length-delimited, "zz") inside the initiative: the
    //  outer tag 0x12 is field 2 (initiative); its length grows by 5
    uint8_t *packed = malloc (size + 8);
    stemx__entry__pack (entry, packed);
    assert_int_equal (packed [0], 0x12);
    assert_true (packed [1] < 0x7b);
    packed [1] += 5;
    const uint8_t extra [] = { 0x9a, 0x06, 0x02, 'z', 'z' };
    memcpy (packed + size, extra, sizeof extra);
    Stemx__Entry *planted = stemx__entry__unpack (NULL, size + sizeof extra, packed);
    assert_non_null (planted);
    assert_int_equal (planted->initiative->base.n_unknown_fields, 1);
    s_expect (planted, STX_ERR_MALFORMED, "ini:x: unknown field number 99");
    stemx__entry__free_unpacked (planted, NULL);

    //  The same on the event envelope
    Stemx__Event *event = stx_event_new ("ini:x", &entry);
    size = stemx__event__get_packed_size (event);
    packed = realloc (packed, size + 8);
    stemx__event__pack (event, packed);
    memcpy (packed + size, extra, sizeof extra);
    Stemx__Event *planted_event = NULL;
    assert_int_equal (stx_event_unpack (packed, size + sizeof extra, &planted_event), STX_OK);
    s_expect_event (planted_event, STX_ERR_MALFORMED, "ini:x: unknown field number 99");
    stx_event_free (&planted_event);
    stx_event_free (&event);
    free (packed);
}

//  ---------------------------------------------------------------------
//  Events

static void
s_expect_event (const Stemx__Event *event, stx_status_t expected, const char *message)
{
    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_validate_event (s_taxonomy, NULL, event, err, sizeof (err));
    if (rc != expected || (expected != STX_OK && strcmp (err, message) != 0))
        fail_msg ("got %d '%s'\n  expected %d '%s'", rc, err, expected, message);
}

static void
test_events (void **state)
{
    uint8_t uuid [16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    Stemx__Entry *entry = s_entry (S_ORG (""));
    Stemx__Event event = STEMX__EVENT__INIT;
    event.event_id.data = uuid;
    event.event_id.len = 16;
    event.key = (char *) "org:a";
    event.op = STEMX__OPERATION__OP_UPSERT;
    event.entry = entry;
    s_expect_event (&event, STX_OK, "");

    event.event_id.len = 15;
    s_expect_event (&event, STX_ERR_MALFORMED, "org:a: event_id: expected 16 bytes, got 15");
    event.event_id.len = 0;
    s_expect_event (&event, STX_ERR_MALFORMED, "org:a: event_id: expected 16 bytes, got 0");
    event.event_id.len = 16;

    event.op = STEMX__OPERATION__OP_UNSPECIFIED;
    s_expect_event (&event, STX_ERR_MALFORMED, "org:a: op: expected upsert or withdraw, got 0");
    event.op = STEMX__OPERATION__OP_UPSERT;

    event.key = (char *) "org:b";
    s_expect_event (&event, STX_ERR_INVALID, "key 'org:b' does not match entry id 'org:a'");
    event.key = (char *) "ORG:a";
    s_expect_event (&event, STX_ERR_INVALID,
                    "ORG:a: key: must match ^(org|ini|infra|moment):[a-z0-9-]+$");
    event.key = (char *) "";
    s_expect_event (&event, STX_ERR_INVALID, "event: key: required");
    event.key = (char *) "org:\xC3";
    s_expect_event (&event, STX_ERR_BAD_UTF8, "org:?: key: invalid UTF-8");
    event.key = (char *) "org:a";

    event.node = (char *) "node\xFF";
    s_expect_event (&event, STX_ERR_BAD_UTF8, "org:a: node: invalid UTF-8");
    event.node = (char *) "node-1";

    event.entry = NULL;
    s_expect_event (&event, STX_ERR_MALFORMED, "org:a: entry: an upsert needs an entry");
    Stemx__Entry empty = STEMX__ENTRY__INIT;
    event.entry = &empty;
    s_expect_event (&event, STX_ERR_MALFORMED, "org:a: entry: an upsert needs an entry");

    event.op = STEMX__OPERATION__OP_WITHDRAW;
    event.entry = entry;
    s_expect_event (&event, STX_ERR_MALFORMED, "org:a: entry: a withdrawal carries no entry");
    event.entry = NULL;
    s_expect_event (&event, STX_OK, "");
    event.key = (char *) "moment:gone";
    s_expect_event (&event, STX_OK, "");

    //  The entry itself is validated too
    event.op = STEMX__OPERATION__OP_UPSERT;
    event.key = (char *) "org:a";
    event.entry = entry;
    s_set (&entry->organisation->region, "mars");
    s_expect_event (&event, STX_ERR_UNKNOWN_CODE, "org:a: region: unknown region 'mars'");

    s_expect_event (NULL, STX_ERR_MALFORMED, "event: missing");
    stx_entry_free (&entry);
}

//  --------------------------------------------------------------------------
//  Randomised robustness: mutated packed events (the broker's untrusted
//  input) must unpack or be refused, and validation, JSON output and the
//  index functions must never crash on whatever unpacks. Bounded and
//  deterministic (fixed seed), so a failure reproduces; run it under
//  -DSTEMX_SANITIZE=ON to catch memory errors.

typedef struct {
    uint8_t **data;
    size_t *size;
    size_t count;
    size_t max;
} s_seeds_t;

static void
s_seeds_add (s_seeds_t *self, const Stemx__Event *event)
{
    if (self->count == self->max) {
        self->max = self->max? self->max * 2: 256;
        self->data = (uint8_t **) realloc (self->data, self->max * sizeof (uint8_t *));
        self->size = (size_t *) realloc (self->size, self->max * sizeof (size_t));
        assert_non_null (self->data);
        assert_non_null (self->size);
    }
    self->data [self->count] = stx_event_pack (event, &self->size [self->count]);
    self->count++;
}

static uint64_t
s_rand (uint64_t *state)
{
    //  xorshift64*
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int
s_count_key (const char *index_key, void *arg)
{
    assert_non_null (index_key);
    ++*(size_t *) arg;
    return 0;
}

static void
test_fuzz_packed_events (void **state)
{
    static const char *sections [] = {
        "organisations", "initiatives", "infrastructure_openings", "network_moments"
    };
    char path [4096];
    snprintf (path, sizeof (path), "%s/config/sample/catalogue.json", s_source_dir ());
    json_error_t error;
    json_t *root = json_load_file (path, 0, &error);
    assert_non_null (root);
    s_seeds_t seeds = { NULL, NULL, 0, 0 };
    for (int section = 0; section < 4; section++) {
        size_t index;
        json_t *record;
        json_array_foreach (json_object_get (root, sections [section]), index, record) {
            Stemx__Entry *entry = NULL;
            assert_int_equal (stx_json_to_entry (record, &entry, NULL, 0), STX_OK);
            char key [256];
            snprintf (key, sizeof (key), "%s", stx_entry_key (entry));
            Stemx__Event *event = stx_event_new (key, &entry);
            event->seq = index + 1;
            event->version = 3;
            s_seeds_add (&seeds, event);
            stx_event_free (&event);
        }
    }
    json_decref (root);
    Stemx__Entry *none = NULL;
    Stemx__Event *withdraw = stx_event_new ("ini:gone", &none);
    s_seeds_add (&seeds, withdraw);
    stx_event_free (&withdraw);

    uint64_t rng = 0x5eed5eed12345678ULL;
    size_t unpacked = 0, valid = 0;
    int rounds = getenv ("STX_FUZZ_ROUNDS")? atoi (getenv ("STX_FUZZ_ROUNDS")): 30000;
    for (int round = 0; round < rounds; round++) {
        size_t pick = s_rand (&rng) % seeds.count;
        size_t size = seeds.size [pick];
        uint8_t *data = (uint8_t *) malloc (size + 64);
        assert_non_null (data);
        memcpy (data, seeds.data [pick], size);
        int mutations = 1 + (int) (s_rand (&rng) % 4);
        for (int m = 0; m < mutations && size > 0; m++) {
            size_t at = s_rand (&rng) % size;
            switch (s_rand (&rng) % 6) {
                case 0:     //  flip a bit
                    data [at] ^= (uint8_t) (1u << (s_rand (&rng) % 8));
                    break;
                case 1:     //  an interesting byte
                    data [at] = (uint8_t) "\x00\x01\x7f\x80\xff\xc3\xed\x0a\x12"
                                          [s_rand (&rng) % 9];
                    break;
                case 2:     //  truncate
                    size = at;
                    break;
                case 3:     //  insert a random byte
                    if (size < seeds.size [pick] + 60) {
                        memmove (data + at + 1, data + at, size - at);
                        data [at] = (uint8_t) s_rand (&rng);
                        size++;
                    }
                    break;
                case 4:     //  delete a byte
                    memmove (data + at, data + at + 1, size - at - 1);
                    size--;
                    break;
                case 5:     //  random byte
                    data [at] = (uint8_t) s_rand (&rng);
                    break;
            }
        }
        Stemx__Event *event = NULL;
        if (stx_event_unpack (data, size, &event) == STX_OK) {
            unpacked++;
            char err [STX_ERRLEN] = "";
            stx_status_t rc = stx_validate_event (s_taxonomy, NULL, event, err, sizeof (err));
            if (rc == STX_OK)
                valid++;
            else
                assert_true (stx_utf8_valid (err, strlen (err)));
            json_t *json = stx_json_from_event (event);
            assert_non_null (json);
            char *text = json_dumps (json, 0);
            assert_non_null (text);
            free (text);
            json_decref (json);
            size_t keys = 0;
            stx_index_keys (event->entry, s_count_key, &keys);
            stx_filter_t filter = { .kind = STX_KIND_NONE, .od = "OD 1.1.1",
                                    .from = "2026-01-01", .to = "2026-12-31" };
            stx_index_match (event->entry, &filter);
            const char *start, *end;
            stx_index_dates (event->entry, &start, &end);
            size_t repacked_size;
            uint8_t *repacked = stx_event_pack (event, &repacked_size);
            Stemx__Event *again = NULL;
            assert_int_equal (stx_event_unpack (repacked, repacked_size, &again), STX_OK);
            stx_event_free (&again);
            free (repacked);
            stx_event_free (&event);
        }
        free (data);
    }
    print_message ("fuzz: %d rounds, %zu unpacked, %zu valid\n", rounds, unpacked, valid);
    //  The mutations reach every outcome
    assert_true (unpacked > 1000);
    assert_true (valid > 100);
    assert_true (valid < unpacked);
    for (size_t i = 0; i < seeds.count; i++)
        free (seeds.data [i]);
    free (seeds.data);
    free (seeds.size);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_limits_default),
        cmocka_unit_test (test_utf8),
        cmocka_unit_test (test_dates),
        cmocka_unit_test (test_sample_catalogue),
        cmocka_unit_test (test_minimal_entries),
        cmocka_unit_test (test_unknown_codes),
        cmocka_unit_test (test_bad_dates),
        cmocka_unit_test (test_keys),
        cmocka_unit_test (test_required_on_protobuf),
        cmocka_unit_test (test_bad_utf8_fields),
        cmocka_unit_test (test_control_characters),
        cmocka_unit_test (test_size_limits),
        cmocka_unit_test (test_unknown_fields),
        cmocka_unit_test (test_events),
        cmocka_unit_test (test_fuzz_packed_events),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
