/*  =========================================================================
    test_stx_csv - the CSV reader and writer, and entries as CSV rows
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "stx_csv.h"

//  Read the next record and assert it is fields (NULL-terminated), on line.
static void
s_expect (stx_csv_t *csv, size_t line, ...)
{
    char **fields;
    size_t count, at;
    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_csv_next (csv, &fields, &count, &at, err, sizeof err);
    if (rc != STX_OK)
        fail_msg ("line %zu: %s (%s)", at, stx_strerror (rc), err);
    assert_int_equal (at, line);
    va_list args;
    va_start (args, line);
    size_t i = 0;
    const char *want;
    while ((want = va_arg (args, const char *))) {
        assert_true (i < count);
        assert_string_equal (fields [i], want);
        i++;
    }
    va_end (args);
    assert_int_equal (i, count);
}

static void
s_expect_error (stx_csv_t *csv, size_t line, stx_status_t status, const char *text)
{
    char **fields;
    size_t count, at;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_csv_next (csv, &fields, &count, &at, err, sizeof err), status);
    assert_int_equal (at, line);
    if (!strstr (err, text))
        fail_msg ("'%s' does not mention '%s'", err, text);
}

static void
s_expect_end (stx_csv_t *csv)
{
    char **fields;
    size_t count, at;
    assert_int_equal (stx_csv_next (csv, &fields, &count, &at, NULL, 0), STX_ERR_NOT_FOUND);
}

static void
test_read_rfc4180 (void **state)
{
    (void) state;
    const char *text =
        "\xEF\xBB\xBFid,name,note\r\n"
        "org:a,\"Agentschap Innoveren & Ondernemen, VLAIO\",plain\r\n"
        "\r\n"
        "org:b,\"Say \"\"hi\"\"\",\"two\r\nlines\"\n"
        "org:c,Industriële Wetenschappen,\n"
        ",,\n"
        "org:d,\"\",last";
    stx_csv_t *csv = stx_csv_new (text, strlen (text));
    s_expect (csv, 1, "id", "name", "note", NULL);
    s_expect (csv, 2, "org:a", "Agentschap Innoveren & Ondernemen, VLAIO", "plain", NULL);
    s_expect (csv, 4, "org:b", "Say \"hi\"", "two\r\nlines", NULL);
    s_expect (csv, 6, "org:c", "Industriële Wetenschappen", "", NULL);
    s_expect (csv, 7, "", "", "", NULL);
    s_expect (csv, 8, "org:d", "", "last", NULL);
    s_expect_end (csv);
    s_expect_end (csv);
    stx_csv_destroy (&csv);
    assert_null (csv);
    stx_csv_destroy (&csv);

    //  Empty document, and one without a final line end
    csv = stx_csv_new ("", 0);
    s_expect_end (csv);
    stx_csv_destroy (&csv);
    csv = stx_csv_new ("a,b\r", 4);
    s_expect (csv, 1, "a", "b", NULL);
    s_expect_end (csv);
    stx_csv_destroy (&csv);
}

static void
test_read_malformed (void **state)
{
    (void) state;
    const char *text =
        "id,name\n"
        "org:a,ok\n"
        "org:b,bad\"quote\n"
        "org:c,\"closed\"then text\n"
        "org:d,\"fine\"\n"
        "org:e,caf\xe9\n"
        "org:f,\"never closed\n"
        "org:g,after\n";
    stx_csv_t *csv = stx_csv_new (text, strlen (text));
    s_expect (csv, 1, "id", "name", NULL);
    s_expect (csv, 2, "org:a", "ok", NULL);
    s_expect_error (csv, 3, STX_ERR_MALFORMED, "quote inside unquoted field 2");
    s_expect_error (csv, 4, STX_ERR_MALFORMED, "after the closing quote");
    s_expect (csv, 5, "org:d", "fine", NULL);
    s_expect_error (csv, 6, STX_ERR_BAD_UTF8, "UTF-8");
    //  A quote never closed swallows nothing: the reader resumes a line later
    s_expect_error (csv, 7, STX_ERR_MALFORMED, "never closed");
    s_expect (csv, 8, "org:g", "after", NULL);
    s_expect_end (csv);
    stx_csv_destroy (&csv);
}

//  A FILE reader reads exactly what the buffer reader reads, also when
//  records (quoted line breaks, malformed rows, a BOM) straddle its 64 KiB
//  refills: both readers go through a 1 MB document in step.
static void
test_read_file (void **state)
{
    (void) state;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    fputs ("\xEF\xBB\xBFid,name,note\r\n", out);
    //  fflush updates size (open_memstream): stop once it is past 1 MB
    for (int i = 0; ; i++) {
        fprintf (out, "org:%d,\"name \"\"%d\"\"\",\"%.*s\nline two\"\r\n", i, i, i % 300,
                 "................................................................"
                 "................................................................"
                 "................................................................"
                 "................................................................"
                 "............................................");
        if (i % 97 == 0)
            fprintf (out, "org:bad%d,bad\"quote,x\n\n", i);
        fflush (out);
        if (size >= 1000000)
            break;
    }
    fputs ("org:last,\"never closed\nmore,rows\n", out);
    fclose (out);
    FILE *file = fmemopen (text, size, "r");
    assert_non_null (file);
    stx_csv_t *whole = stx_csv_new (text, size);
    stx_csv_t *streamed = stx_csv_new_file (file);
    size_t records = 0;
    while (true) {
        char **wf, **sf;
        size_t wc = 0, sc = 0, wl = 0, sl = 0;
        char werr [256] = "", serr [256] = "";
        stx_status_t wrc = stx_csv_next (whole, &wf, &wc, &wl, werr, sizeof werr);
        stx_status_t src = stx_csv_next (streamed, &sf, &sc, &sl, serr, sizeof serr);
        assert_int_equal (wrc, src);
        if (wrc == STX_ERR_NOT_FOUND)
            break;
        assert_int_equal (wl, sl);
        assert_string_equal (werr, serr);
        if (wrc == STX_OK) {
            assert_int_equal (wc, sc);
            for (size_t f = 0; f < wc; f++)
                assert_string_equal (wf [f], sf [f]);
        }
        records++;
    }
    assert_true (records > 3000);
    stx_csv_destroy (&whole);
    stx_csv_destroy (&streamed);
    fclose (file);
    free (text);
}

static void
test_write (void **state)
{
    (void) state;
    char *buffer = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&buffer, &size);
    const char *fields [] = { "plain", "a, b", "say \"hi\"", "two\nlines", NULL, " pad",
                              "Industriële" };
    stx_csv_write (out, fields, 7);
    fclose (out);
    assert_string_equal (buffer,
        "plain,\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\",,\" pad\",Industriële\r\n");

    //  What the writer writes the reader reads back
    stx_csv_t *csv = stx_csv_new (buffer, size);
    s_expect (csv, 1, "plain", "a, b", "say \"hi\"", "two\nlines", "", " pad", "Industriële",
              NULL);
    s_expect_end (csv);
    stx_csv_destroy (&csv);
    free (buffer);
}

static size_t
s_count (const char *const *columns)
{
    size_t count = 0;
    while (columns [count])
        count++;
    return count;
}

static bool
s_has (const char *const *columns, const char *name)
{
    for (size_t i = 0; columns [i]; i++)
        if (strcmp (columns [i], name) == 0)
            return true;
    return false;
}

static void
test_columns (void **state)
{
    (void) state;
    const char *const *org = stx_csv_columns (STX_KIND_ORGANISATION);
    assert_string_equal (org [0], "id");
    assert_string_equal (org [1], "name");
    assert_true (s_has (org, "doc_refs"));
    const char *const *ini = stx_csv_columns (STX_KIND_INITIATIVE);
    assert_true (s_has (ini, "period.start"));
    assert_true (s_has (ini, "period.end"));
    assert_true (s_has (ini, "partners"));
    assert_false (s_has (ini, "period"));
    const char *const *infra = stx_csv_columns (STX_KIND_INFRASTRUCTURE);
    assert_true (s_has (infra, "location.municipality"));
    assert_true (s_has (infra, "capacity.participants_per_session"));
    assert_true (s_has (infra, "audience.target_groups"));
    assert_true (s_has (infra, "availability"));
    const char *const *moment = stx_csv_columns (STX_KIND_MOMENT);
    assert_true (s_has (moment, "capacity"));
    assert_true (s_has (moment, "co_organisers"));
    //  Every kind's columns, each once
    const char *const *all = stx_csv_columns (STX_KIND_NONE);
    assert_true (s_count (all) < s_count (org) + s_count (ini) + s_count (infra)
                                 + s_count (moment));
    assert_true (s_has (all, "name") && s_has (all, "period.start")
                 && s_has (all, "availability") && s_has (all, "co_organisers"));
    for (size_t i = 0; all [i]; i++)
        for (size_t j = i + 1; all [j]; j++)
            assert_string_not_equal (all [i], all [j]);
}

//  JSON -> cells -> JSON gives the same entry.
static void
s_round_trip (stx_kind_t kind, const char *json_text)
{
    json_t *entry = json_loads (json_text, 0, NULL);
    assert_non_null (entry);
    const char *const *columns = stx_csv_columns (kind);
    size_t count = s_count (columns);
    char **cells = stx_csv_cells (entry, columns, count);
    json_t *back = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_csv_to_json (columns, (const char *const *) cells, count, &back,
                                       err, sizeof err), STX_OK);
    //  Partners come back as plain ids, the agent fills in pillars
    Stemx__Entry *a = NULL, *b = NULL;
    assert_int_equal (stx_json_to_entry (entry, &a, err, sizeof err), STX_OK);
    if (stx_json_to_entry (back, &b, err, sizeof err) != STX_OK)
        fail_msg ("%s", err);
    json_t *ja = stx_json_from_entry (a);
    json_t *jb = stx_json_from_entry (b);
    if (!json_equal (ja, jb)) {
        char *ta = json_dumps (ja, JSON_SORT_KEYS), *tb = json_dumps (jb, JSON_SORT_KEYS);
        fail_msg ("round trip differs:\n%s\n%s", ta, tb);
    }
    json_decref (ja);
    json_decref (jb);
    stx_entry_free (&a);
    stx_entry_free (&b);
    json_decref (back);
    json_decref (entry);
    stx_csv_cells_free (cells, count);
}

static void
test_entry_rows (void **state)
{
    (void) state;
    s_round_trip (STX_KIND_ORGANISATION,
        "{\"id\": \"org:vlaio\", \"name\": \"Agentschap Innoveren & Ondernemen\","
        " \"short_name\": \"VLAIO\", \"helix_pillar\": \"government\", \"kind\": \"agency\","
        " \"region\": \"flanders\", \"doc_refs\": [\"6.1.5\", \"OD 1.1.1\"], \"roles\": []}");
    s_round_trip (STX_KIND_INITIATIVE,
        "{\"id\": \"ini:x\", \"title\": \"Wiskunde; één, twee \\\"drie\\\"\","
        " \"owner\": \"org:vdab\", \"partners\": [\"org:agoria\", \"org:essenscia\"],"
        " \"od_codes\": [\"OD 1.1.1\"], \"themes\": [\"a;b\", \"c\"],"
        " \"period\": {\"start\": \"2026-01-01\", \"end\": \"2026-12-31\"},"
        " \"status\": \"running\"}");
    s_round_trip (STX_KIND_INFRASTRUCTURE,
        "{\"id\": \"infra:lab\", \"provider\": \"org:imec\", \"kind\": \"research_institution\","
        " \"od_code\": \"OD 3.2.2\", \"facility\": \"Labo, industriële automatisering\","
        " \"location\": {\"municipality\": \"Leuven\"},"
        " \"capacity\": {\"participants_per_session\": 16, \"sessions_per_month\": 4},"
        " \"availability\": [{\"from\": \"2026-09-01\", \"to\": \"2027-06-30\","
        "   \"weekdays\": [\"mon\", \"tue\"], \"start_time\": \"08:30\"}],"
        " \"audience\": {\"target_groups\": [\"pupils\"], \"settings\": []}}");
    s_round_trip (STX_KIND_MOMENT,
        "{\"id\": \"moment:m\", \"organiser\": \"org:vlaio\", \"co_organisers\": [\"org:a\"],"
        " \"title\": \"Netwerkmoment\", \"kind\": \"network_moment\", \"date\": \"2026-03-19\","
        " \"capacity\": 120, \"location\": {\"venue\": \"Technopolis\"}}");
}

static void
test_entry_row_errors (void **state)
{
    (void) state;
    json_t *object = NULL;
    char err [STX_ERRLEN];
    const char *header [] = { "id", "name", "period.start", "capacity" };
    const char *no_id [] = { "", "x", "", "" };
    assert_int_equal (stx_csv_to_json (header, no_id, 4, &object, err, sizeof err),
                      STX_ERR_INVALID);
    assert_non_null (strstr (err, "id: required"));
    const char *bad_kind [] = { "foo:x", "x", "", "" };
    assert_int_equal (stx_csv_to_json (header, bad_kind, 4, &object, err, sizeof err),
                      STX_ERR_INVALID);
    assert_non_null (strstr (err, "unknown kind"));
    //  An organisation has no period; empty cells of other kinds' columns are fine
    const char *org [] = { "org:x", "X", "2026-01-01", "" };
    assert_int_equal (stx_csv_to_json (header, org, 4, &object, err, sizeof err),
                      STX_ERR_INVALID);
    assert_non_null (strstr (err, "'period.start' is not a field of organisation"));
    const char *org_ok [] = { "org:x", "X", "", "" };
    assert_int_equal (stx_csv_to_json (header, org_ok, 4, &object, err, sizeof err), STX_OK);
    assert_string_equal (json_string_value (json_object_get (object, "name")), "X");
    assert_null (json_object_get (object, "capacity"));
    json_decref (object);
    //  Numbers
    const char *header2 [] = { "id", "title", "capacity", "topic_od_codes", "availability" };
    const char *moment [] = { "moment:m", "T", "12x", "", "" };
    assert_int_equal (stx_csv_to_json (header2, moment, 5, &object, err, sizeof err),
                      STX_ERR_INVALID);
    assert_non_null (strstr (err, "capacity: expected a whole number"));
    const char *moment2 [] = { "moment:m", "T", " 12 ", " OD 1.1.1 ; OD 1.2.1;", "" };
    assert_int_equal (stx_csv_to_json (header2, moment2, 5, &object, err, sizeof err), STX_OK);
    assert_int_equal (json_integer_value (json_object_get (object, "capacity")), 12);
    json_t *codes = json_object_get (object, "topic_od_codes");
    assert_int_equal (json_array_size (codes), 2);
    assert_string_equal (json_string_value (json_array_get (codes, 1)), "OD 1.2.1");
    json_decref (object);
    const char *header3 [] = { "id", "availability" };
    const char *infra [] = { "infra:x", "[{\"from\": " };
    assert_int_equal (stx_csv_to_json (header3, infra, 2, &object, err, sizeof err),
                      STX_ERR_INVALID);
    assert_non_null (strstr (err, "JSON array"));
    const char *infra2 [] = { "infra:x", "2026-01-01" };
    assert_int_equal (stx_csv_to_json (header3, infra2, 2, &object, err, sizeof err),
                      STX_ERR_INVALID);
    const char *header4 [] = { "id", "name", "name" };
    const char *twice [] = { "org:x", "a", "b" };
    assert_int_equal (stx_csv_to_json (header4, twice, 3, &object, err, sizeof err),
                      STX_ERR_INVALID);
    assert_non_null (strstr (err, "twice"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_read_rfc4180),
        cmocka_unit_test (test_read_malformed),
        cmocka_unit_test (test_read_file),
        cmocka_unit_test (test_write),
        cmocka_unit_test (test_columns),
        cmocka_unit_test (test_entry_rows),
        cmocka_unit_test (test_entry_row_errors),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
