/*  =========================================================================
    test_stx_reader - import files read one entry at a time

    The JSON array tokenizer is run with read sizes from 1 byte up, so that
    every element, string and escape straddles a read somewhere.
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
#include "stx_reader.h"

static const size_t s_chunks [] = { 1, 2, 3, 7, 64, 0 };
#define CHUNKS (sizeof (s_chunks) / sizeof (s_chunks [0]))

//  A read-only FILE over text (caller fcloses).
static FILE *
s_file (const char *text)
{
    FILE *file = fmemopen ((void *) text, strlen (text), "r");
    assert_non_null (file);
    return file;
}

//  Read every entry of text as format; returns them as a JSON array of
//  {where, object} or {where, status, text}, and the fatal error (if any)
//  in err.
static json_t *
s_read_all (const char *text, stx_format_t format, size_t chunk, char *err, size_t errlen)
{
    FILE *file = s_file (text);
    stx_reader_t *reader = stx_reader_new (file, "t", format, chunk);
    json_t *all = json_array ();
    *err = 0;
    stx_read_t item;
    stx_status_t rc;
    while ((rc = stx_reader_next (reader, &item, err, errlen)) == STX_OK) {
        json_t *row = json_pack ("{s:s}", "where", item.where);
        if (item.object)
            json_object_set_new (row, "object", json_incref (item.object));
        else {
            json_object_set_new (row, "status", json_integer (item.status));
            json_object_set_new (row, "text", json_string (item.text));
            json_object_set_new (row, "key", json_string (item.key? item.key: ""));
        }
        stx_read_free (&item);
        json_array_append_new (all, row);
    }
    if (rc == STX_ERR_NOT_FOUND)
        assert_string_equal (err, "");
    else
        assert_int_equal (rc, STX_ERR_MALFORMED);
    //  The end stays the end
    char again [512];
    assert_int_equal (stx_reader_next (reader, &item, again, sizeof again), STX_ERR_NOT_FOUND);
    stx_reader_destroy (&reader);
    assert_null (reader);
    fclose (file);
    return all;
}

static void
test_array_tokenizer (void **state)
{
    (void) state;
    const char *text =
        "\xEF\xBB\xBF  \n[\n"
        "  {\"id\": \"ini:a\", \"title\": \"say \\\"hi\\\" ] } [ {\\\\\", \"n\": [[1, [2]], {\"a\": []}]},\n"
        "  {\"id\": \"ini:b\", \"s\": \"\\\\\"}, {\"id\": \"ini:c\", \"deep\": {\"x\": [{\"y\": \"}\"}]}}\n"
        ",\n"
        "{\"id\": \"ini:d\", \"u\": \"\\u00e9\\\"\\\\\\\"]\"}\n"
        "] trailing text is ignored, as before";
    //  What jansson makes of the whole array
    const char *body = strchr (text, '[');
    json_error_t jerr;
    json_t *whole = json_loadb (body, strstr (body, "] trailing") + 1 - body, 0, &jerr);
    assert_non_null (whole);
    assert_int_equal (json_array_size (whole), 4);
    const char *lines [] = { "line 3", "line 4", "line 4", "line 6" };
    for (size_t c = 0; c < CHUNKS; c++) {
        char err [512];
        json_t *all = s_read_all (text, STX_FORMAT_JSON, s_chunks [c], err, sizeof err);
        assert_int_equal (json_array_size (all), 4);
        for (size_t i = 0; i < 4; i++) {
            json_t *row = json_array_get (all, i);
            assert_string_equal (json_string_value (json_object_get (row, "where")), lines [i]);
            assert_true (json_equal (json_object_get (row, "object"), json_array_get (whole, i)));
        }
        json_decref (all);
    }
    json_decref (whole);
}

//  Long elements (several reads each) in a long array
static void
test_array_large (void **state)
{
    (void) state;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    fputs ("[", out);
    for (int i = 0; i < 2000; i++)
        fprintf (out, "%s\n{\"id\": \"ini:%d\", \"summary\": \"%0*d \\\"]}\", \"l\": [[%d]]}",
                 i? ",": "", i, 40 + i % 100, i, i);
    fputs ("\n]\n", out);
    fclose (out);
    char err [512];
    json_t *all = s_read_all (text, STX_FORMAT_JSON, 4096, err, sizeof err);
    assert_int_equal (json_array_size (all), 2000);
    json_t *last = json_object_get (json_array_get (all, 1999), "object");
    assert_string_equal (json_string_value (json_object_get (last, "id")), "ini:1999");
    assert_string_equal (json_string_value (json_object_get (json_array_get (all, 1999),
                                                             "where")), "line 2001");
    json_decref (all);
    free (text);
}

static void
s_expect_error (const char *text, size_t entries, const char *message)
{
    for (size_t c = 0; c < CHUNKS; c++) {
        char err [512];
        json_t *all = s_read_all (text, STX_FORMAT_JSON, s_chunks [c], err, sizeof err);
        if (!strstr (err, message))
            fail_msg ("'%s' gave '%s', not '%s'", text, err, message);
        assert_int_equal (json_array_size (all), entries);
        json_decref (all);
    }
}

static void
test_array_errors (void **state)
{
    (void) state;
    char err [512];
    json_t *all = s_read_all (" [ ] ", STX_FORMAT_JSON, 1, err, sizeof err);
    assert_int_equal (json_array_size (all), 0);
    json_decref (all);
    s_expect_error ("[\n{\"id\": 1}\n{\"id\": 2}]", 0,
                    "t: line 3: expected ',' or ']' after an entry");
    s_expect_error ("[{\"id\": 1},\n\n 7]", 1, "t: line 3: expected an entry object '{...}'");
    s_expect_error ("[{\"id\": 1}, ]", 1, "expected an entry object");
    s_expect_error ("[\n{\"id\": 1},\n{\"id\":\n tru}]", 1, "t: line 4: invalid token");
    s_expect_error ("[\n{\"id\": \"x\", \"id\": \"y\"}]", 0, "t: line 2: duplicate object key");
    s_expect_error ("[{\"id\": \"never closed}]", 0, "t: line 1:");
    s_expect_error ("[{\"id\": [1}]", 0, "t: line 1:");
    s_expect_error ("[{\"id\": \"\xff\"}]", 0, "invalid UTF-8 (entries must be UTF-8)");
    s_expect_error ("[{\"id\": 1}", 0, "expected ',' or ']'");
}

static void
test_document (void **state)
{
    (void) state;
    char err [512];
    json_t *all = s_read_all ("\xEF\xBB\xBF{\"id\": \"org:a\"}", STX_FORMAT_JSON, 2, err,
                              sizeof err);
    assert_int_equal (json_array_size (all), 1);
    assert_string_equal (json_string_value (json_object_get (json_array_get (all, 0), "where")),
                         "line 1");
    json_decref (all);
    all = s_read_all ("{\"network_moments\": [{\"id\": \"moment:m\"}], \"organisations\": "
                      "[{\"id\": \"org:a\"}, {\"id\": \"org:b\"}]}", STX_FORMAT_JSON, 3, err,
                      sizeof err);
    assert_int_equal (json_array_size (all), 3);
    const char *wheres [] = { "organisations[1]", "organisations[2]", "network_moments[1]" };
    for (size_t i = 0; i < 3; i++)
        assert_string_equal (json_string_value (json_object_get (json_array_get (all, i),
                                                                 "where")), wheres [i]);
    json_decref (all);
    all = s_read_all ("{\"other\": 1}", STX_FORMAT_JSON, 0, err, sizeof err);
    assert_non_null (strstr (err, "expected an entry, an array of entries, or a catalogue"));
    json_decref (all);
    all = s_read_all ("{\"id\":\n}", STX_FORMAT_JSON, 0, err, sizeof err);
    assert_non_null (strstr (err, "t: line 2:"));
    json_decref (all);
}

static void
test_ndjson (void **state)
{
    (void) state;
    const char *text = "{\"id\": \"a\", \"s\": \"]}\\\"\"}\n\n   \r\n{bad\n{\"id\": \"c\"}\r\n{\"id\": \"d\"}";
    for (size_t c = 0; c < CHUNKS; c++) {
        char err [512];
        json_t *all = s_read_all (text, STX_FORMAT_NDJSON, s_chunks [c], err, sizeof err);
        assert_int_equal (json_array_size (all), 4);
        const char *wheres [] = { "line 1", "line 4", "line 5", "line 6" };
        for (size_t i = 0; i < 4; i++)
            assert_string_equal (json_string_value (json_object_get (json_array_get (all, i),
                                                                     "where")), wheres [i]);
        json_t *bad = json_array_get (all, 1);
        assert_null (json_object_get (bad, "object"));
        assert_int_equal (json_integer_value (json_object_get (bad, "status")),
                          STX_ERR_MALFORMED);
        assert_string_equal (json_string_value (json_object_get (json_object_get (
            json_array_get (all, 3), "object"), "id")), "d");
        json_decref (all);
    }
}

static void
test_csv (void **state)
{
    (void) state;
    char err [512];
    json_t *all = s_read_all ("id,name\r\norg:a,A\r\norg:b,\"B, \"\"b\"\"\"\r\norg:c\r\n",
                              STX_FORMAT_CSV, 0, err, sizeof err);
    assert_int_equal (json_array_size (all), 3);
    json_t *b = json_object_get (json_array_get (all, 1), "object");
    assert_string_equal (json_string_value (json_object_get (b, "name")), "B, \"b\"");
    json_t *c = json_array_get (all, 2);
    assert_string_equal (json_string_value (json_object_get (c, "key")), "org:c");
    assert_string_equal (json_string_value (json_object_get (c, "where")), "line 4");
    assert_non_null (strstr (json_string_value (json_object_get (c, "text")),
                             "header row names 2"));
    json_decref (all);
    all = s_read_all ("name,colour\n", STX_FORMAT_CSV, 0, err, sizeof err);
    assert_non_null (strstr (err, "t: line 1: unknown column 'colour'"));
    json_decref (all);
    all = s_read_all ("name\n", STX_FORMAT_CSV, 0, err, sizeof err);
    assert_non_null (strstr (err, "no 'id' column"));
    json_decref (all);
}

static void
test_formats (void **state)
{
    (void) state;
    struct { const char *text; stx_format_t format; } cases [] = {
        { "  [1, 2]", STX_FORMAT_JSON },
        { "\xEF\xBB\xBF\n{\"id\": \"a\"}\n\n", STX_FORMAT_NDJSON },   //  jansson takes no BOM
        { "{\"id\": \"a\"}\n\n", STX_FORMAT_JSON },
        { "{\"id\": \"a\"}\n{\"id\": \"b\"}\n", STX_FORMAT_NDJSON },
        { "{\"id\": tru}\n", STX_FORMAT_NDJSON },
        { "{\"id\": \"a\"", STX_FORMAT_NDJSON },
        { "id,name\n", STX_FORMAT_CSV },
        { "", STX_FORMAT_CSV },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        FILE *file = s_file (cases [i].text);
        fgetc (file);
        rewind (file);
        assert_int_equal (stx_format_sniff (file), cases [i].format);
        assert_int_equal (ftell (file), 0);
        fclose (file);
    }
    assert_int_equal (stx_format_of_path ("a/b.JSONL"), STX_FORMAT_NDJSON);
    assert_int_equal (stx_format_of_path ("a.d/b"), STX_FORMAT_NONE);
    assert_int_equal (stx_format_named ("csv"), STX_FORMAT_CSV);
    assert_string_equal (stx_format_name (STX_FORMAT_NDJSON), "ndjson");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_array_tokenizer),
        cmocka_unit_test (test_array_large),
        cmocka_unit_test (test_array_errors),
        cmocka_unit_test (test_document),
        cmocka_unit_test (test_ndjson),
        cmocka_unit_test (test_csv),
        cmocka_unit_test (test_formats),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
