/*  =========================================================================
    test_report_html - the HTML report, opened in a real browser

    Loads the sample catalogue into a fresh store (no sockets), writes the
    operational report as HTML through the `report` command itself
    (stx_cmd_report, linked in), then runs Debian's headless Chromium twice
    on the file, each time with a fresh profile and no network:
      --screenshot    the PNG must exist, be a real PNG of the window's
                      size and weigh more than a blank page would;
      --dump-dom      the DOM Chromium built must hold the six charts, each
                      a non-empty <svg> with <rect> or <path> shapes, the
                      32 cells of the coverage grid, and the report's
                      totals (as data attributes and as visible numbers).
    /usr/bin/chromium missing is a failure, not a skip: scripts/install-deps
    (run by `make test`) installs the package.

    The screenshot is left as ./report-html.png in the build folder.
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
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <jansson.h>
#include "stx_report.h"
#include "stx_store.h"
#include "stx_json.h"
#include "stx_event.h"
#include "stx_taxonomy.h"
#include "stx_cmd_report.h"

#define CHROMIUM "/usr/bin/chromium"
#define BROWSER_SECONDS 45

static const char *
s_config_dir (void)
{
    static char dir [4096];
    const char *source = getenv ("STEMX_SOURCE_DIR");
    snprintf (dir, sizeof (dir), "%s/config", source? source: ".");
    return dir;
}

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

typedef struct {
    char dir [64];              //  scratch folder: store, profiles, outputs
    char html [128];
    stx_report_t *report;       //  the model, for the expected totals
} fixture_t;

//  Sequence every object of array in one transaction, as the broker
//  would with no principal
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

static int
s_setup (void **state)
{
    fixture_t *fixture = calloc (1, sizeof (fixture_t));
    snprintf (fixture->dir, sizeof (fixture->dir), "/tmp/stx-report-html-XXXXXX");
    if (!mkdtemp (fixture->dir))
        return -1;
    snprintf (fixture->html, sizeof (fixture->html), "%s/report.html", fixture->dir);
    *state = fixture;

    char err [STX_ERRLEN] = "", path [4200];
    snprintf (path, sizeof (path), "%s/sample/catalogue.json", s_config_dir ());
    json_error_t error;
    json_t *sample = json_load_file (path, 0, &error);
    if (!sample) {
        fprintf (stderr, "%s: %s\n", path, error.text);
        return -1;
    }
    stx_store_t *store = NULL;
    if (stx_store_open (fixture->dir, 0, 0, &store, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "store: %s\n", err);
        return -1;
    }
    s_load_array (store, json_object_get (sample, "organisations"));
    s_load_array (store, json_object_get (sample, "initiatives"));
    s_load_array (store, json_object_get (sample, "infrastructure_openings"));
    s_load_array (store, json_object_get (sample, "network_moments"));
    json_decref (sample);

    stx_taxonomy_t *taxonomy = NULL;
    if (stx_taxonomy_load (s_config_dir (), &taxonomy, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "taxonomy: %s\n", err);
        return -1;
    }
    stx_txn_t *txn;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    stx_status_t status = stx_report_build (txn, taxonomy, "2025-01-01", "2026-12-31",
                                            &fixture->report, err, sizeof (err));
    stx_txn_abort (&txn);
    stx_taxonomy_destroy (&taxonomy);
    stx_store_destroy (&store);
    if (status != STX_OK) {
        fprintf (stderr, "report: %s\n", err);
        return -1;
    }
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    stx_report_destroy (&fixture->report);
    nftw (fixture->dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (fixture);
    return 0;
}

//  Run the report command with arguments (NULL-terminated); its exit code
static int
s_report_command (const char *data, ...)
{
    char *argv [32];
    int argc = 0;
    argv [argc++] = (char *) "report";
    va_list args;
    va_start (args, data);
    char *arg;
    while ((arg = va_arg (args, char *)) && argc < 31)
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;
    fflush (stdout);
    return stx_cmd_report (data, argc, argv);
}

//  Run argv with stdout to out_path (stderr to log_path) in its own process
//  group; wait at most BROWSER_SECONDS, polling, then kill the group
static int
s_run (char **argv, const char *out_path, const char *log_path)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        setpgid (0, 0);
        int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int log = open (log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || log < 0)
            _exit (126);
        dup2 (out, STDOUT_FILENO);
        dup2 (log, STDERR_FILENO);
        execv (argv [0], argv);
        _exit (127);
    }
    setpgid (pid, pid);
    struct timespec start, now, pause = { 0, 50 * 1000 * 1000 };
    clock_gettime (CLOCK_MONOTONIC, &start);
    while (true) {
        int status;
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid) {
            kill (-pid, SIGKILL);       //  any helper Chromium left behind
            return WIFEXITED (status)? WEXITSTATUS (status): 128 + WTERMSIG (status);
        }
        clock_gettime (CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > BROWSER_SECONDS) {
            kill (-pid, SIGKILL);
            waitpid (pid, &status, 0);
            fail_msg ("%s did not finish within %d s (log: %s)", argv [0], BROWSER_SECONDS,
                      log_path);
        }
        nanosleep (&pause, NULL);
    }
}

//  Chromium with a fresh profile, no network, then extra
static int
s_chromium (fixture_t *fixture, const char *profile, const char *extra, const char *out,
            const char *log)
{
    char user_data [256], url [256];
    snprintf (user_data, sizeof (user_data), "--user-data-dir=%s/%s", fixture->dir, profile);
    snprintf (url, sizeof (url), "file://%s", fixture->html);
    char *argv [] = {
        (char *) CHROMIUM, (char *) "--headless", (char *) "--no-sandbox",
        (char *) "--disable-gpu", (char *) "--disable-quic", (char *) "--no-first-run",
        (char *) "--disable-background-networking", (char *) "--disable-component-update",
        (char *) "--disable-sync", user_data, (char *) extra,
        (char *) "--window-size=1280,2400", url, NULL
    };
    return s_run (argv, out, log);
}

static char *
s_slurp (const char *path, size_t *size_p)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    char *data = malloc ((size_t) size + 1);
    assert_non_null (data);
    assert_int_equal (fread (data, 1, (size_t) size, file), (size_t) size);
    data [size] = '\0';
    fclose (file);
    *size_p = (size_t) size;
    return data;
}

static size_t
s_count (const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = strstr (text, needle); at; at = strstr (at + 1, needle))
        count++;
    return count;
}

static void
s_expect_in (const char *text, const char *format, ...)
{
    char needle [256];
    va_list args;
    va_start (args, format);
    vsnprintf (needle, sizeof (needle), format, args);
    va_end (args);
    if (!strstr (text, needle))
        fail_msg ("the page Chromium rendered lacks '%s'", needle);
}

//  --------------------------------------------------------------------------

static void
test_command (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char out [256];
    snprintf (out, sizeof (out), "%s/strategic.md", fixture->dir);
    //  Usage errors
    assert_int_equal (s_report_command (fixture->dir, NULL), 2);
    assert_int_equal (s_report_command (fixture->dir, "weekly", NULL), 2);
    assert_int_equal (s_report_command (fixture->dir, "operational", "--format", "pdf", NULL), 2);
    assert_int_equal (s_report_command (fixture->dir, "operational", "--from", "2026-02-30",
                                        NULL), 2);
    assert_int_equal (s_report_command (fixture->dir, "operational", "--from", "2026-12-31",
                                        "--to", "2026-01-01", NULL), 2);
    assert_int_equal (s_report_command (NULL, "operational", NULL), 2);
    //  Failures
    assert_int_equal (s_report_command ("/nonexistent", "operational", "--taxonomy",
                                        s_config_dir (), NULL), 1);
    assert_int_equal (s_report_command (fixture->dir, "operational", "--taxonomy", "/nonexistent",
                                        NULL), 1);
    //  A report to a file, options before and after the argument
    assert_int_equal (s_report_command (fixture->dir, "--format", "markdown", "strategic",
                                        "--from", "2025-01-01", "--to", "2026-12-31",
                                        "--taxonomy", s_config_dir (), "--out", out, NULL), 0);
    size_t size;
    char *text = s_slurp (out, &size);
    assert_non_null (text);
    assert_non_null (strstr (text, "# STEM-Agenda 2030 – strategic monitoring"));
    free (text);
    //  One end only: the other is the end of that date's biennium
    snprintf (out, sizeof (out), "%s/operational.json", fixture->dir);
    assert_int_equal (s_report_command (fixture->dir, "operational", "--from", "2027-03-01",
                                        "--format", "json", "--out", out, "--taxonomy",
                                        s_config_dir (), NULL), 0);
    text = s_slurp (out, &size);
    assert_non_null (text);
    assert_non_null (strstr (text, "\"to\": \"2028-12-31\""));
    free (text);
}

static void
test_html_in_chromium (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    if (access (CHROMIUM, X_OK) != 0)
        fail_msg (CHROMIUM " is missing: this test needs Debian's chromium package "
                  "(apt-get install chromium; `make test` runs scripts/install-deps, which "
                  "installs it)");
    assert_int_equal (s_report_command (fixture->dir, "operational", "--from", "2025-01-01",
                                        "--to", "2026-12-31", "--format", "html",
                                        "--out", fixture->html, "--taxonomy", s_config_dir (),
                                        NULL), 0);
    const stx_report_t *report = fixture->report;
    //  The sample's numbers (test_stx_report derives them independently)
    assert_int_equal (report->n_actions, 57);
    assert_int_equal (report->ods - report->ods_covered, 1);
    assert_int_equal (report->by_pillar_count [4], 3);

    //  1. Screenshot
    char png [256], log [256], ignored [256];
    snprintf (png, sizeof (png), "%s/report.png", fixture->dir);
    snprintf (log, sizeof (log), "%s/chromium-screenshot.log", fixture->dir);
    snprintf (ignored, sizeof (ignored), "%s/chromium-screenshot.out", fixture->dir);
    char option [300];
    snprintf (option, sizeof (option), "--screenshot=%s", png);
    int rc = s_chromium (fixture, "profile-1", option, ignored, log);
    if (rc != 0)
        fail_msg ("chromium --screenshot exited with %d (log: %s)", rc, log);
    size_t size;
    char *image = s_slurp (png, &size);
    if (!image)
        fail_msg ("chromium wrote no screenshot (log: %s)", log);
    assert_true (size > 50 * 1024);     //  a blank page is a few KB
    assert_memory_equal (image, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal (image + 12, "IHDR", 4);
    const unsigned char *ihdr = (const unsigned char *) image + 16;
    uint32_t width = (uint32_t) ihdr [0] << 24 | ihdr [1] << 16 | ihdr [2] << 8 | ihdr [3];
    uint32_t height = (uint32_t) ihdr [4] << 24 | ihdr [5] << 16 | ihdr [6] << 8 | ihdr [7];
    assert_int_equal (width, 1280);
    assert_int_equal (height, 2400);
    //  Keep it for a look
    FILE *copy = fopen ("report-html.png", "wb");
    if (copy) {
        fwrite (image, 1, size, copy);
        fclose (copy);
    }
    free (image);

    //  2. The DOM Chromium built
    char dom_path [256];
    snprintf (dom_path, sizeof (dom_path), "%s/dom.html", fixture->dir);
    snprintf (log, sizeof (log), "%s/chromium-dom.log", fixture->dir);
    rc = s_chromium (fixture, "profile-2", "--dump-dom", dom_path, log);
    if (rc != 0)
        fail_msg ("chromium --dump-dom exited with %d (log: %s)", rc, log);
    char *dom = s_slurp (dom_path, &size);
    assert_non_null (dom);
    assert_true (size > 10000);
    //  Six charts, each an <svg> holding shapes
    static const char *charts [] = { "sd", "pillars", "mix", "infra", "coverage", "od" };
    for (size_t i = 0; i < sizeof (charts) / sizeof (charts [0]); i++) {
        char needle [64];
        snprintf (needle, sizeof (needle), "id=\"chart-%s\"", charts [i]);
        const char *svg = strstr (dom, needle);
        if (!svg)
            fail_msg ("chart %s missing from the DOM", charts [i]);
        const char *end = strstr (svg, "</svg>");
        assert_non_null (end);
        size_t length = (size_t) (end - svg);
        char *body = strndup (svg, length);
        size_t shapes = s_count (body, "<rect") + s_count (body, "<path");
        if (shapes < 3)
            fail_msg ("chart %s has %zu shapes", charts [i], shapes);
        free (body);
    }
    assert_int_equal (s_count (dom, "<svg"), 6);
    //  The coverage grid: one cell per OD, the gaps in red
    assert_int_equal (s_count (dom, "class=\"od covered\""), report->ods_covered);
    assert_int_equal (s_count (dom, "class=\"od gap\""), report->ods - report->ods_covered);
    s_expect_in (dom, "data-od=\"OD 4.2.2\" data-actions=\"0\"");
    //  Totals as data and as text
    s_expect_in (dom, "data-actions=\"%zu\"", report->n_actions);
    s_expect_in (dom, "data-gaps=\"%zu\"", report->ods - report->ods_covered);
    s_expect_in (dom, "data-pillars-4=\"%zu\"", report->by_pillar_count [4]);
    s_expect_in (dom, "data-openings=\"%zu\"", report->n_openings);
    s_expect_in (dom, "data-seats-per-month=\"%llu\"",
                 (unsigned long long) report->infra_total.seats_per_month);
    s_expect_in (dom, "data-moments=\"%zu\"", report->n_moments);
    s_expect_in (dom, "id=\"kpi-actions\">%zu<", report->n_actions);
    s_expect_in (dom, "id=\"kpi-coverage\">%zu/%zu<", report->ods_covered, report->ods);
    s_expect_in (dom, "id=\"kpi-four-pillars\">%zu<", report->by_pillar_count [4]);
    s_expect_in (dom, "catalogue as of sequence %llu", (unsigned long long) report->seq);
    //  The tables came through the parser whole
    s_expect_in (dom, "<table id=\"t-goals\">");
    s_expect_in (dom, "<table id=\"t-actions\">");
    free (dom);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_command, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_html_in_chromium, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
