/*  =========================================================================
    test_cli - the stemx command line against a real broker and agent

    One broker and one agent (hosting every sample organisation's key) on
    loopback; the tests run in order on the same network, each driving the
    real stemx binary: import in three formats, export -> import round
    trips that change nothing, a streamed import of thousands of entries
    (a file and stdin) and one that a silent broker leaves unsent, CSV
    quoting and a malformed row, search
    ranking, history with its diffs, tail following a publish, and the
    exit codes.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <signal.h>
#include <sys/wait.h>
#include "stx_csv.h"
#include "stx_testproc.h"
#include "stx_testnet.h"

#define s_cli stx_testnet_cli

typedef stx_testnet_t world_t;

static int
s_setup (void **state)
{
    world_t *self = stx_testnet_new ();
    stx_testnet_sample_keys (self);
    stx_testnet_start_broker (self, NULL);
    stx_testnet_start_agent (self, 1, "a", NULL);
    *state = self;
    return 0;
}

static json_t *
s_section (world_t *self, const char *name)
{
    return json_object_get (stx_testnet_catalogue (self), name);
}

static size_t
s_sample_total (world_t *self)
{
    return json_array_size (s_section (self, "organisations"))
         + json_array_size (s_section (self, "initiatives"))
         + json_array_size (s_section (self, "infrastructure_openings"))
         + json_array_size (s_section (self, "network_moments"));
}

static const char *
s_path (world_t *self, const char *name)
{
    static char path [PATH_MAX + 64];
    snprintf (path, sizeof path, "%s/%s", self->dir, name);
    return path;
}

static void
s_write_text (const char *path, const char *text)
{
    FILE *file = fopen (path, "wb");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
}

static long long
s_broker_seq (world_t *self)
{
    json_t *status = stx_testnet_status (self, 0);
    assert_non_null (status);
    long long seq = json_integer_value (json_object_get (status, "seq"));
    json_decref (status);
    return seq;
}

//  Run `stemx import path --json` on the agent; return the summary and
//  check the exit code.
static json_t *
s_import (world_t *self, const char *path, int want_rc)
{
    char *out = NULL, *err = NULL;
    int rc = s_cli (self, 1, &out, &err, "import", path, "--json", NULL);
    if (rc != want_rc)
        fail_msg ("import %s exited %d, not %d: %s\n%s", path, rc, want_rc, out, err);
    json_t *summary = json_loads (out, 0, NULL);
    if (!summary)
        fail_msg ("import printed no JSON: %s", out);
    free (out);
    free (err);
    return summary;
}

static json_int_t
s_count (json_t *summary, const char *field)
{
    return json_integer_value (json_object_get (summary, field));
}

//  Import path expecting every entry accepted (or, unchanged = true, every
//  entry unchanged and the broker's sequence not moving).
static void
s_import_all (world_t *self, const char *path, size_t expected, bool unchanged)
{
    long long before = s_broker_seq (self);
    json_t *summary = s_import (self, path, 0);
    assert_int_equal (s_count (summary, "entries_read"), expected);
    assert_int_equal (s_count (summary, "refused"), 0);
    assert_int_equal (s_count (summary, "not_sent"), 0);
    if (unchanged) {
        assert_int_equal (s_count (summary, "unchanged"), expected);
        assert_int_equal (s_count (summary, "accepted"), 0);
        assert_int_equal (s_broker_seq (self), before);
    }
    else
        assert_int_equal (s_count (summary, "accepted"), expected);
    json_decref (summary);
}

//  --------------------------------------------------------------------------

static void
test_import_export (void **state)
{
    world_t *self = (world_t *) *state;
    size_t total = s_sample_total (self);

    //  Organisations as NDJSON
    FILE *file = fopen (s_path (self, "orgs.ndjson"), "w");
    size_t i;
    json_t *entry;
    json_array_foreach (s_section (self, "organisations"), i, entry) {
        json_dumpf (entry, file, JSON_COMPACT);
        fputc ('\n', file);
    }
    fclose (file);
    s_import_all (self, s_path (self, "orgs.ndjson"),
                  json_array_size (s_section (self, "organisations")), false);

    //  Initiatives as CSV (the columns and cells of stx_csv)
    file = fopen (s_path (self, "initiatives.csv"), "w");
    const char *const *columns = stx_csv_columns (STX_KIND_INITIATIVE);
    size_t count = 0;
    while (columns [count])
        count++;
    stx_csv_write (file, columns, count);
    json_array_foreach (s_section (self, "initiatives"), i, entry) {
        char **cells = stx_csv_cells (entry, columns, count);
        stx_csv_write (file, (const char *const *) cells, count);
        stx_csv_cells_free (cells, count);
    }
    fclose (file);
    s_import_all (self, s_path (self, "initiatives.csv"),
                  json_array_size (s_section (self, "initiatives")), false);

    //  Openings and moments as one JSON array
    json_t *rest = json_array ();
    json_array_extend (rest, s_section (self, "infrastructure_openings"));
    json_array_extend (rest, s_section (self, "network_moments"));
    const char *rest_path = stx_testnet_write_json (self, "rest.json", rest);
    s_import_all (self, rest_path, json_array_size (rest), false);
    json_decref (rest);
    stx_testnet_wait_converged (self, 2, (long long) total);

    //  The same files again change nothing
    s_import_all (self, s_path (self, "orgs.ndjson"),
                  json_array_size (s_section (self, "organisations")), true);
    s_import_all (self, s_path (self, "initiatives.csv"),
                  json_array_size (s_section (self, "initiatives")), true);

    //  Export -> import round trips, in every format, change nothing
    const char *formats [] = { "all.json", "all.ndjson", "all.csv" };
    for (size_t f = 0; f < 3; f++) {
        char out [PATH_MAX + 64];
        snprintf (out, sizeof out, "%s", s_path (self, formats [f]));
        assert_int_equal (s_cli (self, 1, NULL, NULL, "export", "--out", out, NULL), 0);
        s_import_all (self, out, total, true);
    }
    //  The export holds the whole sample, organisations first
    json_t *exported = json_load_file (s_path (self, "all.json"), 0, NULL);
    assert_non_null (exported);
    assert_int_equal (json_array_size (exported), total);
    assert_true (strncmp (json_string_value (json_object_get (json_array_get (exported, 0),
                                                              "id")), "org:", 4) == 0);
    const char *sections [] = { "organisations", "initiatives", "infrastructure_openings",
                                "network_moments" };
    for (size_t s = 0; s < 4; s++)
        json_array_foreach (s_section (self, sections [s]), i, entry) {
            const char *id = json_string_value (json_object_get (entry, "id"));
            bool found = false;
            size_t j;
            json_t *other;
            json_array_foreach (exported, j, other)
                if (strcmp (json_string_value (json_object_get (other, "id")), id) == 0) {
                    found = true;
                    //  Same title or name as the sample
                    const char *field = json_object_get (entry, "title")? "title"
                                      : json_object_get (entry, "name")? "name": "facility";
                    assert_string_equal (stx_testnet_str (json_object_get (entry, field)),
                                         stx_testnet_str (json_object_get (other, field)));
                    assert_null (json_object_get (other, "_meta"));
                }
            if (!found)
                fail_msg ("%s is not in the export", id);
        }
    json_decref (exported);

    //  A filtered export, and the sample catalogue file itself
    char *out = NULL;
    assert_int_equal (s_cli (self, 1, &out, NULL, "export", "initiative", "--helix", "industry",
                             "--format", "ndjson", NULL), 0);
    size_t lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_true (lines > 0 && lines < json_array_size (s_section (self, "initiatives")));
    s_write_text (s_path (self, "industry.ndjson"), out);
    free (out);
    s_import_all (self, s_path (self, "industry.ndjson"), lines, true);
    char sample [PATH_MAX + 64];
    snprintf (sample, sizeof sample, "%s/config/sample/catalogue.json", self->src);
    s_import_all (self, sample, total, true);

    //  The CSV export has the dotted columns
    char *csv = stx_read_file (s_path (self, "all.csv"));
    assert_non_null (csv);
    assert_non_null (strstr (csv, "period.start"));
    assert_non_null (strstr (csv, "capacity.participants_per_session"));
    free (csv);
}

//  Thousands of entries, more than the import's reads, chunks and
//  batches in flight hold: a JSON array whose strings hide quotes and
//  brackets, with changed organisations at its end (sent first all the
//  same), then the same entries as NDJSON on stdin, which change nothing,
//  with a key given twice and a bad line refused on their own.
#define STREAM_ENTRIES 2400

static void
test_import_streamed (void **state)
{
    world_t *self = (world_t *) *state;
    json_t *entries = json_array ();
    json_t *initiatives = s_section (self, "initiatives");
    for (size_t i = 0; i < STREAM_ENTRIES; i++) {
        json_t *ini = json_deep_copy (json_array_get (initiatives, i % json_array_size (initiatives)));
        char text [128];
        snprintf (text, sizeof text, "ini:stream-%04zu", i);
        json_object_set_new (ini, "id", json_string (text));
        snprintf (text, sizeof text, "Stroom \"%zu\" ]}, [{ \\ en verder", i);
        json_object_set_new (ini, "title", json_string (text));
        json_array_append_new (entries, ini);
    }
    for (size_t i = 0; i < 2; i++) {
        json_t *org = json_deep_copy (json_array_get (s_section (self, "organisations"), i));
        json_object_set_new (org, "short_name", json_string (i? "Stroom B": "Stroom A"));
        json_array_append_new (entries, org);
    }
    const char *path = stx_testnet_write_json (self, "stream.json", entries);
    long long before = s_broker_seq (self);
    json_t *summary = s_import (self, path, 0);
    assert_int_equal (s_count (summary, "entries_read"), STREAM_ENTRIES + 2);
    assert_int_equal (s_count (summary, "accepted"), STREAM_ENTRIES + 2);
    //  Every entry once, in file order, with the line it starts on
    json_t *rows = json_object_get (summary, "entries");
    assert_int_equal (json_array_size (rows), STREAM_ENTRIES + 2);
    json_int_t line = 0;
    long long first_org_seq = 0, last_ini_seq = 0;
    for (size_t i = 0; i < json_array_size (rows); i++) {
        json_t *row = json_array_get (rows, i);
        assert_true (json_integer_value (json_object_get (row, "line")) > line);
        line = json_integer_value (json_object_get (row, "line"));
        assert_string_equal (json_string_value (json_object_get (row, "key")),
            json_string_value (json_object_get (json_array_get (entries, i), "id")));
        long long seq = json_integer_value (json_object_get (row, "seq"));
        if (i < STREAM_ENTRIES)
            last_ini_seq = seq > last_ini_seq? seq: last_ini_seq;
        else
        if (!first_org_seq || seq < first_org_seq)
            first_org_seq = seq;
    }
    //  Organisations went first, though they come last
    assert_true (first_org_seq > before && first_org_seq < last_ini_seq);
    json_decref (summary);
    char *out = NULL;
    assert_int_equal (s_cli (self, 1, &out, NULL, "show", "ini:stream-2399", "--json", NULL), 0);
    assert_non_null (strstr (out, "Stroom \\\"2399\\\" ]}, [{ \\\\ en verder"));
    free (out);

    //  The same as NDJSON on stdin, a key twice and a bad line at the end
    const char *ndjson = s_path (self, "stream.ndjson");
    FILE *file = fopen (ndjson, "w");
    assert_non_null (file);
    size_t i;
    json_t *entry;
    json_array_foreach (entries, i, entry) {
        json_dumpf (entry, file, JSON_COMPACT);
        fputc ('\n', file);
    }
    json_dumpf (json_array_get (entries, 7), file, JSON_COMPACT);
    fputs ("\n{\"id\": \"ini:broken\",\n", file);
    fclose (file);
    char command [16384];
    snprintf (command, sizeof command, "exec '%s/stemx' --data '%s' import - --json < '%s'",
              self->bin, self->node [1], ndjson);
    const char *argv [] = { "/bin/sh", "-c", command, NULL };
    before = s_broker_seq (self);
    assert_int_equal (stx_proc_run (argv, &out, NULL, 120000), 1);
    summary = json_loads (out, 0, NULL);
    free (out);
    assert_non_null (summary);
    assert_string_equal (json_string_value (json_object_get (summary, "format")), "ndjson");
    assert_int_equal (s_count (summary, "entries_read"), STREAM_ENTRIES + 4);
    assert_int_equal (s_count (summary, "unchanged"), STREAM_ENTRIES + 2);
    assert_int_equal (s_count (summary, "refused"), 2);
    rows = json_object_get (summary, "entries");
    json_t *twice = json_array_get (rows, STREAM_ENTRIES + 2);
    assert_string_equal (json_string_value (json_object_get (twice, "result")), "refused");
    assert_non_null (strstr (json_string_value (json_object_get (twice, "text")),
                             "given before, at line 8"));
    json_t *broken = json_array_get (rows, STREAM_ENTRIES + 3);
    assert_int_equal (json_integer_value (json_object_get (broken, "line")), STREAM_ENTRIES + 4);
    assert_string_equal (json_string_value (json_object_get (broken, "reason")), "R_MALFORMED");
    json_decref (summary);
    assert_int_equal (s_broker_seq (self), before);
    json_decref (entries);
}

//  A broker that does not answer: the batches in flight are reported not
//  sent (exit 1) with how many events the agent keeps, and the agent
//  delivers every one of them once the broker is back.
static void
test_import_broker_silent (void **state)
{
    world_t *self = (world_t *) *state;
    json_t *entries = json_array ();
    json_t *initiatives = s_section (self, "initiatives");
    for (size_t i = 0; i < 600; i++) {
        json_t *ini = json_deep_copy (json_array_get (initiatives, i % json_array_size (initiatives)));
        char id [64];
        snprintf (id, sizeof id, "ini:silent-%03zu", i);
        json_object_set_new (ini, "id", json_string (id));
        //  A title of its own, not to rank in test_search
        snprintf (id, sizeof id, "Stil %03zu", i);
        json_object_set_new (ini, "title", json_string (id));
        json_array_append_new (entries, ini);
    }
    const char *path = stx_testnet_write_json (self, "silent.json", entries);
    json_decref (entries);
    long long before = s_broker_seq (self);
    assert_int_equal (kill (self->pid [0], SIGSTOP), 0);
    char *out = NULL, *err = NULL;
    int rc = s_cli (self, 1, &out, &err, "import", path, "--timeout", "2", "--json", NULL);
    assert_int_equal (kill (self->pid [0], SIGCONT), 0);
    //  Exit status 3: in the agent's outbox, not acked
    assert_int_equal (rc, 3);
    json_t *summary = json_loads (out, 0, NULL);
    assert_non_null (summary);
    assert_int_equal (s_count (summary, "not_sent"), 600);
    assert_int_equal (s_count (summary, "accepted"), 0);
    json_decref (summary);
    assert_non_null (strstr (err, "queued, not acked: no answer from the broker within 2 s"));
    assert_non_null (strstr (err, "the 600 event(s) are in the agent's outbox"));
    free (out);
    free (err);
    //  Nothing lost: they all land, and importing again changes nothing
    stx_testnet_wait_converged (self, 2, before + 600);
    s_import_all (self, path, 600, true);
}

static void
test_csv_quoting_and_malformed (void **state)
{
    world_t *self = (world_t *) *state;
    const char *path = s_path (self, "hand.csv");
    s_write_text (path,
        "id,title,summary,owner,partners,od_codes,themes,period.start,period.end,status\r\n"
        "ini:csv-een,\"Wiskunde, één \"\"twee\"\" drie\",plain,org:vdab,"
            "org:agoria;org:essenscia,OD 1.1.1;OD 2.1.2,digitalisation,2026-01-01,2026-12-31,running\r\n"
        "ini:csv-twee,Ingenieursweek,\"Twee regels:\r\nde tweede, met komma\",org:vdab,,"
            "OD 1.1.1,,2026-02-01,,planned\r\n"
        "ini:csv-bad,bad\"quote,x,org:vdab,,OD 1.1.1,,2026-01-01,,running\r\n"
        "ini:csv-drie,Ærøskøbing Żółć Ĳssel,\"\",org:vdab,,OD 1.1.1,,2026-03-01,2026-03-31,running\r\n"
        "ini:csv-dates,Te vroeg,,org:vdab,,OD 1.1.1,,2026-05-01,2026-04-30,running\r\n"
        "ini:csv-short,too few fields\r\n");
    json_t *summary = s_import (self, path, 1);
    assert_int_equal (s_count (summary, "accepted"), 3);
    assert_int_equal (s_count (summary, "refused"), 3);
    size_t i;
    json_t *row;
    int refused = 0;
    json_array_foreach (json_object_get (summary, "entries"), i, row) {
        const char *result = json_string_value (json_object_get (row, "result"));
        json_int_t line = json_integer_value (json_object_get (row, "line"));
        const char *key = json_string_value (json_object_get (row, "key"));
        if (strcmp (result, "refused") != 0)
            continue;
        refused++;
        const char *reason = json_string_value (json_object_get (row, "reason"));
        if (line == 5)
            assert_string_equal (reason, "R_MALFORMED");
        else
        if (line == 7) {
            assert_string_equal (key, "ini:csv-dates");
            assert_string_equal (reason, "R_BAD_DATES");
        }
        else
        if (line == 8) {
            assert_string_equal (key, "ini:csv-short");
            assert_non_null (strstr (stx_testnet_str (json_object_get (row, "text")),
                                     "header row names 10"));
        }
        else
            fail_msg ("unexpected refusal on line %d", (int) line);
    }
    assert_int_equal (refused, 3);
    json_decref (summary);

    //  For people: the lines and reasons, and exit status 1
    char *out = NULL, *err = NULL;
    assert_int_equal (s_cli (self, 1, &out, &err, "import", path, NULL), 1);
    assert_non_null (strstr (out, "unchanged  3"));
    assert_non_null (strstr (out, "line 5"));
    assert_non_null (strstr (out, "line 7"));
    assert_non_null (strstr (out, "quote inside unquoted field 2"));
    assert_non_null (strstr (err, "3 of 6 entries refused"));
    free (out);
    free (err);

    //  The fields arrived exactly
    assert_int_equal (s_cli (self, 1, &out, NULL, "show", "ini:csv-een", "--json", NULL), 0);
    json_t *shown = json_loads (out, 0, NULL);
    free (out);
    assert_string_equal (stx_testnet_str (json_object_get (shown, "title")),
                         "Wiskunde, één \"twee\" drie");
    assert_int_equal (json_array_size (json_object_get (shown, "partners")), 2);
    assert_string_equal (stx_testnet_str (json_object_get (json_object_get (shown, "period"),
                                                             "end")), "2026-12-31");
    json_decref (shown);
    assert_int_equal (s_cli (self, 1, &out, NULL, "show", "ini:csv-twee", "--json", NULL), 0);
    shown = json_loads (out, 0, NULL);
    free (out);
    assert_string_equal (stx_testnet_str (json_object_get (shown, "summary")),
                         "Twee regels:\r\nde tweede, met komma");
    json_decref (shown);
    assert_int_equal (s_cli (self, 1, &out, NULL, "show", "ini:csv-drie", "--csv", NULL), 0);
    assert_non_null (strstr (out, "Ærøskøbing Żółć Ĳssel"));
    free (out);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "show", "ini:csv-bad", NULL), 1);
}

//  The keys of `stemx search ... --json` in order, "|"-joined.
static char *
s_search (world_t *self, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *out = NULL, *err = NULL;
    int rc = s_cli (self, 1, &out, &err, "search", a1, "--json", a2, a3, a4, NULL);
    if (rc != 0)
        fail_msg ("search %s exited %d: %s", a1, rc, err);
    json_t *hits = json_loads (out, 0, NULL);
    assert_true (json_is_array (hits));
    free (out);
    free (err);
    char *keys = calloc (1, 65536);
    size_t i;
    json_t *hit;
    json_array_foreach (hits, i, hit) {
        if (i)
            strcat (keys, "|");
        strcat (keys, json_string_value (json_object_get (hit, "key")));
    }
    json_decref (hits);
    return keys;
}

static void
test_search (void **state)
{
    world_t *self = (world_t *) *state;
    //  All three words in the title ranks first
    char *keys = s_search (self, "STEM-academie Gent", NULL, NULL, NULL);
    assert_true (strncmp (keys, "ini:stem-academie-gent|", 23) == 0);
    free (keys);
    //  Accents folded both ways; --kind filters
    keys = s_search (self, "industriele automatisering", "--kind", "infrastructure", NULL);
    assert_true (strncmp (keys, "infra:vdab-gent-industriele-automatisering", 42) == 0);
    assert_null (strstr (keys, "ini:"));
    free (keys);
    keys = s_search (self, "Ĳssel ærøskøbing", NULL, NULL, NULL);
    assert_string_equal (keys, "ini:csv-drie");
    free (keys);
    //  Filters of list apply; --limit cuts
    keys = s_search (self, "stem", "--helix", "civil_society", NULL);
    assert_true (strlen (keys) > 0);
    free (keys);
    keys = s_search (self, "stem", "--limit", "2", NULL);
    assert_int_equal (strchr (keys, '|') - keys > 0, 1);
    assert_null (strchr (strchr (keys, '|') + 1, '|'));
    free (keys);
    //  Only stop words: a usage error
    assert_int_equal (s_cli (self, 1, NULL, NULL, "search", "de het the", NULL), 2);
    //  For people, a table
    char *out = NULL;
    assert_int_equal (s_cli (self, 1, &out, NULL, "search", "academie", "gent", NULL), 0);
    assert_non_null (strstr (out, "KEY"));
    assert_non_null (strstr (out, "ini:stem-academie-gent"));
    free (out);
}

static void
test_history (void **state)
{
    world_t *self = (world_t *) *state;
    //  Update an initiative: a new title and one more theme
    json_t *entry = NULL;
    size_t i;
    json_t *item;
    json_array_foreach (s_section (self, "initiatives"), i, item)
        if (strcmp (json_string_value (json_object_get (item, "id")), "ini:stem-academie-gent") == 0)
            entry = json_deep_copy (item);
    assert_non_null (entry);
    char owner [128];
    snprintf (owner, sizeof owner, "%s", json_string_value (json_object_get (entry, "owner")));
    const char *old_title = json_string_value (json_object_get (entry, "title"));
    char title [256];
    snprintf (title, sizeof title, "%s", old_title);
    json_object_set_new (entry, "title", json_string ("STEM-academie Gent (vernieuwd)"));
    json_t *themes = json_object_get (entry, "themes");
    json_array_append_new (themes, json_string ("ai"));
    const char *path = stx_testnet_write_json (self, "update.json", entry);
    json_decref (entry);
    char *out = NULL, *err = NULL;
    assert_int_equal (s_cli (self, 1, &out, &err, "publish", path, NULL), 0);
    free (out);
    free (err);
    //  publish returns on the broker's ack; history reads the replica
    json_t *broker = stx_testnet_status (self, 0);
    stx_testnet_wait_converged (self, 2, json_integer_value (json_object_get (broker, "seq")));
    json_decref (broker);

    assert_int_equal (s_cli (self, 1, &out, NULL, "history", "ini:stem-academie-gent", "--json",
                             NULL), 0);
    json_t *history = json_loads (out, 0, NULL);
    free (out);
    json_t *versions = json_object_get (history, "versions");
    assert_true (json_array_size (versions) >= 2);
    json_t *first = json_array_get (versions, 0);
    json_t *last = json_array_get (versions, json_array_size (versions) - 1);
    assert_int_equal (json_integer_value (json_object_get (first, "version")), 1);
    assert_string_equal (stx_testnet_str (json_object_get (json_array_get (
        json_object_get (first, "changes"), 0), "text")), "created");
    assert_string_equal (stx_testnet_str (json_object_get (last, "origin")), owner);
    assert_int_equal (strlen (stx_testnet_str (json_object_get (last, "signer"))), 16);
    assert_int_equal (strlen (stx_testnet_str (json_object_get (last, "time"))), 20);
    bool saw_title = false, saw_theme = false;
    json_t *change;
    json_array_foreach (json_object_get (last, "changes"), i, change) {
        const char *field = json_string_value (json_object_get (change, "field"));
        if (field && strcmp (field, "title") == 0) {
            saw_title = true;
            assert_string_equal (stx_testnet_str (json_object_get (change, "old")), title);
            assert_string_equal (stx_testnet_str (json_object_get (change, "new")),
                                 "STEM-academie Gent (vernieuwd)");
        }
        if (field && strcmp (field, "themes") == 0) {
            saw_theme = true;
            assert_string_equal (stx_testnet_str (json_array_get (
                json_object_get (change, "added"), 0)), "ai");
        }
    }
    assert_true (saw_title && saw_theme);
    json_decref (history);

    //  For people: one line per change
    assert_int_equal (s_cli (self, 1, &out, NULL, "history", "ini:stem-academie-gent", NULL), 0);
    assert_non_null (strstr (out, "title: '"));
    assert_non_null (strstr (out, "-> 'STEM-academie Gent (vernieuwd)'"));
    assert_non_null (strstr (out, "themes: +ai"));
    assert_non_null (strstr (out, "created"));
    free (out);
    assert_int_equal (s_cli (self, 1, &out, NULL, "history", "ini:stem-academie-gent", "--csv",
                             NULL), 0);
    assert_true (strncmp (out, "seq,time,op,version,origin,signer,changes\r\n", 43) == 0);
    free (out);
    assert_int_equal (s_cli (self, 0, NULL, NULL, "history", "ini:no-such-thing", NULL), 1);
}

static void
test_tail (void **state)
{
    world_t *self = (world_t *) *state;
    char from [32], prog [PATH_MAX + 16], log [PATH_MAX + 64];
    snprintf (from, sizeof from, "%lld", s_broker_seq (self) + 1);
    snprintf (prog, sizeof prog, "%s/stemx", self->bin);
    snprintf (log, sizeof log, "%s", s_path (self, "tail.log"));
    const char *argv [] = { prog, "--data", self->node [1], "tail", "--json", "--kind",
                            "initiative", "--from-seq", from, NULL };
    pid_t tail = stx_proc_start (log, argv);

    //  An organisation (filtered out) and an initiative (shown)
    json_t *org = json_deep_copy (json_array_get (s_section (self, "organisations"), 0));
    json_object_set_new (org, "short_name", json_string ("TAIL"));
    const char *path = stx_testnet_write_json (self, "tail-org.json", org);
    json_decref (org);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "publish", path, NULL), 0);
    json_t *ini = json_deep_copy (json_array_get (s_section (self, "initiatives"), 0));
    json_object_set_new (ini, "id", json_string ("ini:tail-test"));
    path = stx_testnet_write_json (self, "tail-ini.json", ini);
    json_decref (ini);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "publish", path, NULL), 0);

    int64_t deadline = zclock_mono () + 20000;
    char *text = NULL;
    while (zclock_mono () < deadline) {
        free (text);
        text = stx_read_file (log);
        if (text && strstr (text, "ini:tail-test"))
            break;
        zclock_sleep (50);
    }
    if (!text || !strstr (text, "ini:tail-test"))
        fail_msg ("tail printed no event for ini:tail-test: %s", text? text: "(nothing)");
    int status = stx_proc_stop (tail, SIGTERM, 5000);
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 0);
    //  NDJSON: every line one event, only initiatives
    free (text);
    text = stx_read_file (log);
    size_t lines = 0;
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        json_t *event = json_loads (line, 0, NULL);
        if (!event)
            fail_msg ("not JSON: %s", line);
        assert_true (strncmp (json_string_value (json_object_get (event, "id")), "ini:", 4) == 0);
        assert_true (json_integer_value (json_object_get (json_object_get (event, "_meta"),
                                                          "seq")) >= atoll (from));
        json_decref (event);
        lines++;
    }
    assert_int_equal (lines, 1);
    free (text);
}

static void
test_exit_codes (void **state)
{
    world_t *self = (world_t *) *state;
    char *out = NULL, *err = NULL;
    //  Usage errors: 2
    assert_int_equal (s_cli (self, 1, NULL, &err, "frobnicate", NULL), 2);
    assert_non_null (strstr (err, "unknown command"));
    free (err);
    assert_int_equal (s_cli (self, 1, NULL, &err, "list", "initiative", "--bogus", NULL), 2);
    assert_non_null (strstr (err, "--bogus"));
    free (err);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "list", NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "list", "widgets", NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "list", "initiative", "--from", "tomorrow",
                             NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "list", "initiative", "--od", NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "list", "initiative", "--json", "--csv",
                             NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "show", "org:vlaio", "--od", "x", NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "tail", "--from-seq", "soon", NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "export", "widgets", NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "import", "x.csv", "--format", "xml", NULL), 2);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "withdraw", "nokey", NULL), 2);
    //  Not found or refused: 1
    assert_int_equal (s_cli (self, 1, NULL, &err, "show", "ini:nope", NULL), 1);
    assert_non_null (strstr (err, "not found"));
    free (err);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "import", s_path (self, "missing.csv"), NULL), 1);
    assert_int_equal (s_cli (self, 1, NULL, &err, "withdraw", "ini:nope", NULL), 1);
    free (err);
    json_t *bad = json_pack ("{s:s, s:s}", "id", "org:bad", "name", "no pillar");
    const char *path = stx_testnet_write_json (self, "bad.json", bad);
    json_decref (bad);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "publish", path, NULL), 1);
    //  The broker's store keeps no query index: queries there say so,
    //  what is read by key works
    assert_int_equal (s_cli (self, 0, NULL, &err, "list", "organisation", NULL), 1);
    assert_non_null (strstr (err, "keeps no query index"));
    free (err);
    assert_int_equal (s_cli (self, 0, NULL, &err, "search", "robotica", NULL), 1);
    assert_non_null (strstr (err, "keeps no query index"));
    free (err);
    assert_int_equal (s_cli (self, 0, NULL, &err, "report", "operational", NULL), 1);
    assert_non_null (strstr (err, "keeps no query index"));
    free (err);
    assert_int_equal (s_cli (self, 0, &out, NULL, "show", "org:vlaio", NULL), 0);
    free (out);
    //  Success: 0, with --data before or after the command, help from the table
    assert_int_equal (s_cli (self, 1, &out, NULL, "list", "organisation", "--csv", NULL), 0);
    assert_true (strncmp (out, "key,name,pillar,kind,region\r\n", 29) == 0);
    free (out);
    char prog [PATH_MAX + 16];
    snprintf (prog, sizeof prog, "%s/stemx", self->bin);
    const char *after [] = { prog, "status", "--json", "--data", self->node [1], NULL };
    assert_int_equal (stx_proc_run (after, &out, NULL, 30000), 0);
    assert_non_null (strstr (out, "\"role\": \"agent\""));
    free (out);
    const char *help [] = { prog, "list", "--help", NULL };
    assert_int_equal (stx_proc_run (help, &out, NULL, 30000), 0);
    assert_non_null (strstr (out, "--municipality M"));
    assert_non_null (strstr (out, "Examples:"));
    free (out);
    const char *help2 [] = { prog, "help", "import", NULL };
    assert_int_equal (stx_proc_run (help2, &out, NULL, 30000), 0);
    assert_non_null (strstr (out, "--dry-run"));
    free (out);
    const char *nothing [] = { prog, NULL };
    assert_int_equal (stx_proc_run (nothing, NULL, NULL, 30000), 2);
    //  A dry run sends nothing
    json_t *ini = json_deep_copy (json_array_get (s_section (self, "initiatives"), 0));
    json_object_set_new (ini, "id", json_string ("ini:tail-test"));
    json_object_set_new (ini, "title", json_string ("Changed, but only tried"));
    path = stx_testnet_write_json (self, "dry.json", ini);
    json_decref (ini);
    long long before = s_broker_seq (self);
    assert_int_equal (s_cli (self, 1, &out, NULL, "import", path, "--dry-run", NULL), 0);
    assert_non_null (strstr (out, "to send    1"));
    free (out);
    assert_int_equal (s_broker_seq (self), before);
}

//  --------------------------------------------------------------------------
//  What partners wrote never reaches a terminal raw: controls are refused
//  by the broker, bidi controls and long-text newlines shown escaped;
//  --json stays exact

static void
test_untrusted_text (void **state)
{
    world_t *self = (world_t *) *state;
    const char *title = "Gevaar \xe2\x80\xae gnirts";
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:[s], s:{s:s}, s:s, s:s}",
                               "id", "ini:rtl-test", "title", title, "owner", "org:vdab",
                               "od_codes", "OD 1.1.1", "period", "start", "2026-01-01",
                               "status", "running", "summary", "regel een\n\tregel twee");
    const char *path = stx_testnet_write_json (self, "rtl.json", entry);
    char *out = NULL, *err = NULL;
    if (s_cli (self, 1, &out, &err, "publish", path, NULL) != 0)
        fail_msg ("publish: %s", err);
    free (out);
    free (err);
    stx_testnet_wait_converged (self, 2, s_broker_seq (self));
    const char *views [][4] = { { "show", "ini:rtl-test", NULL, NULL },
                                { "search", "gevaar", NULL, NULL },
                                { "history", "ini:rtl-test", NULL, NULL } };
    for (size_t v = 0; v < 3; v++) {
        assert_int_equal (s_cli (self, 1, &out, NULL, views [v][0], views [v][1], views [v][2],
                                 views [v][3], NULL), 0);
        if ((v < 2 && !strstr (out, "\\u202e")) || strstr (out, "\xe2\x80\xae"))
            fail_msg ("%s: the override is not escaped:\n%s", views [v][0], out);
        if (v == 0 && !strstr (out, "regel een\\n\\tregel twee"))
            fail_msg ("show: the summary's newline and tab are not escaped:\n%s", out);
        free (out);
    }
    assert_int_equal (s_cli (self, 1, &out, NULL, "show", "ini:rtl-test", "--json", NULL), 0);
    json_t *shown = json_loads (out, 0, NULL);
    free (out);
    assert_non_null (shown);
    assert_string_equal (json_string_value (json_object_get (shown, "title")), title);
    json_decref (shown);

    //  An escape sequence in a title is refused, and the refusal's echo
    //  reaches the terminal escaped
    json_object_set_new (entry, "id", json_string ("ini:red-test"));
    json_object_set_new (entry, "title", json_string ("red \x1b[31m title"));
    path = stx_testnet_write_json (self, "red.json", entry);
    json_decref (entry);
    assert_int_equal (s_cli (self, 1, &out, &err, "publish", path, NULL), 1);
    assert_non_null (strstr (err, "title: holds control characters"));
    assert_null (strchr (err, 0x1b));
    free (out);
    free (err);
}

//  --------------------------------------------------------------------------
//  --dry-run says what the broker would refuse for its limits

static void
test_dry_run_limits (void **state)
{
    world_t *self = (world_t *) *state;
    char title [5001];
    memset (title, 't', 5000);
    title [5000] = 0;
    json_t *entries = json_pack ("[{s:s, s:s, s:s, s:[s], s:{s:s}, s:s},"
                                 " {s:s, s:s, s:s, s:[s], s:{s:s}, s:s}]",
                                 "id", "ini:long-title", "title", title, "owner", "org:vdab",
                                 "od_codes", "OD 1.1.1", "period", "start", "2026-01-01",
                                 "status", "running",
                                 "id", "ini:fine-title", "title", "Fine", "owner", "org:vdab",
                                 "od_codes", "OD 1.1.1", "period", "start", "2026-01-01",
                                 "status", "running");
    const char *path = stx_testnet_write_json (self, "long.json", entries);
    json_decref (entries);
    char *out = NULL, *err = NULL;
    assert_int_equal (s_cli (self, 1, &out, &err, "import", path, "--dry-run", "--json", NULL), 1);
    json_t *summary = json_loads (out, 0, NULL);
    assert_non_null (summary);
    assert_int_equal (s_count (summary, "refused"), 1);
    assert_int_equal (s_count (summary, "to_send"), 1);
    char *text = json_dumps (summary, 0);
    assert_non_null (strstr (text, "ini:long-title: title: 5000 bytes, over the limit of 4096"));
    free (text);
    json_decref (summary);
    free (out);
    free (err);
}

//  --------------------------------------------------------------------------
//  What publish says is exactly true: acked (0), in the agent's outbox but
//  not acked (3, and status counts it pending), or not confirmed stored by
//  the agent (4)

static void
test_publish_claims (void **state)
{
    world_t *self = (world_t *) *state;
    json_t *entry = json_pack ("{s:s, s:s, s:s, s:[s], s:{s:s}, s:s}",
                               "id", "ini:claim-test", "title", "Claim", "owner", "org:vdab",
                               "od_codes", "OD 1.1.1", "period", "start", "2026-01-01",
                               "status", "running");
    const char *path = stx_testnet_write_json (self, "claim.json", entry);
    json_decref (entry);
    char *out = NULL, *err = NULL;
    //  The broker stopped: the agent confirms the outbox, nobody acks
    long long before = s_broker_seq (self);
    assert_int_equal (kill (self->pid [0], SIGSTOP), 0);
    int rc = s_cli (self, 1, &out, &err, "publish", path, "--timeout", "2", NULL);
    json_t *status = stx_testnet_status (self, 1);
    assert_int_equal (kill (self->pid [0], SIGCONT), 0);
    if (rc != 3 || !strstr (err, "queued, not acked"))
        fail_msg ("broker stopped: rc %d: %s", rc, err);
    assert_true (json_integer_value (json_object_get (status, "outbox")) >= 1);
    json_decref (status);
    free (out);
    free (err);
    stx_testnet_wait_converged (self, 2, before + 1);
    assert_int_equal (s_cli (self, 1, NULL, NULL, "show", "ini:claim-test", NULL), 0);

    //  The agent stopped: nothing confirms that it holds the event
    assert_int_equal (kill (self->pid [1], SIGSTOP), 0);
    rc = s_cli (self, 1, &out, &err, "publish", path, "--timeout", "2", NULL);
    assert_int_equal (kill (self->pid [1], SIGCONT), 0);
    if (rc != 4 || !strstr (err, "not stored: the agent did not confirm within 2 s"))
        fail_msg ("agent stopped: rc %d: %s", rc, err);
    free (out);
    free (err);
    //  ...and publishing again is safe
    if (s_cli (self, 1, &out, &err, "publish", path, NULL) != 0)
        fail_msg ("publish again: %s", err);
    free (out);
    free (err);

    //  The agent killed: its socket file stays behind, nobody answers on
    //  it, and the CLI claims nothing
    assert_true (WIFSIGNALED (stx_testnet_stop (self, 1, SIGKILL)));
    char sock [PATH_MAX + 16];
    snprintf (sock, sizeof sock, "%s/agent.sock", self->node [1]);
    assert_int_equal (access (sock, F_OK), 0);
    rc = s_cli (self, 1, &out, &err, "publish", path, "--timeout", "2", NULL);
    if (rc != 4 || !strstr (err, "not stored"))
        fail_msg ("agent killed: rc %d: %s", rc, err);
    free (out);
    free (err);
    stx_testnet_restart_agent (self, 1, "a");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_import_export),
        cmocka_unit_test (test_import_streamed),
        cmocka_unit_test (test_import_broker_silent),
        cmocka_unit_test (test_csv_quoting_and_malformed),
        cmocka_unit_test (test_search),
        cmocka_unit_test (test_history),
        cmocka_unit_test (test_tail),
        cmocka_unit_test (test_exit_codes),
        cmocka_unit_test (test_untrusted_text),
        cmocka_unit_test (test_dry_run_limits),
        cmocka_unit_test (test_publish_claims),
    };
    stx_testnet_filter ();
    return cmocka_run_group_tests (tests, s_setup, stx_testnet_teardown);
}
