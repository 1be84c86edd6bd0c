/*  =========================================================================
    stx_cmd_report - `stemx report`: the monitoring reports of section 7

    DESIGN
    A thin shell around stx_report: parse the options, find the taxonomy,
    open the store read-only, build the model in one short read
    transaction (ended before rendering, as DESIGN.md asks of the CLI),
    render, write.

    The period. --from and --to are days, both included. Without them the
    report covers the current biennium of the Agenda's monitoring (two
    calendar years starting on 1 January of an odd year: 2025-2026,
    2027-2028, ... 2029-2030), the one holding today; with only one of
    them, the other end is the end (or start) of the biennium that date
    falls in. The clock is only read when neither is given.

    The taxonomy folder (stem-agenda-2030.json and vocabularies.json), in
    this order: --taxonomy DIR; $STEMX_TAXONOMY; the installed STX_DATADIR;
    and, for a stemx run from a build folder inside the source tree (the
    tests, `make demo`), the source tree's config/ beside that folder.
    ========================================================================= */

#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stx_error.h"
#include "stx_report.h"
#include "stx_store.h"
#include "stx_taxonomy.h"
#include "stx_validate.h"
#include "stx_cmd_report.h"
#include "stx_cli_format.h"

#define EXIT_FAILED 1
#define EXIT_USAGE  2

static const char *s_usage =
    "report operational|strategic [--from DATE] [--to DATE]\n"
    "                                 [--format text|markdown|csv|html|json] [--out FILE]\n"
    "                                 [--taxonomy DIR]";

static const char *s_help =
    "Monitoring reports of the STEM-Agenda 2030 (section 7), from this node's catalogue.\n"
    "\n"
    "  operational   actions per OD (under their TD and SD) and helix pillar, the ODs\n"
    "                without an action, pillars per action, infrastructure openings\n"
    "                (OD 3.2.x) with their capacity, network moments and the\n"
    "                State-of-the-STEM of each biennium (7.1)\n"
    "  strategic     per SD, the indicators of 7.2 the catalogue feeds, with their\n"
    "                value, and those that need outside data\n"
    "\n"
    "Options:\n"
    "  --from DATE      first day of the period (YYYY-MM-DD)\n"
    "  --to DATE        last day of the period\n"
    "                   default: the current biennium (odd year to even year, e.g.\n"
    "                   2025-01-01 to 2026-12-31); with one end only, the other is the\n"
    "                   end of that date's biennium\n"
    "  --format FORMAT  text (default), markdown, csv, html (one self-contained page\n"
    "                   with SVG charts) or json\n"
    "  --out FILE       write to FILE instead of standard output\n"
    "  --taxonomy DIR   folder of stem-agenda-2030.json (default: $STEMX_TAXONOMY,\n"
    "                   then " STX_DATADIR ", then config/ of the source tree)\n"
    "\n"
    "An action is an initiative whose period overlaps the period, whatever its status.\n"
    "Definitions of every number: docs/REPORTS.md.\n"
    "\n"
    "Examples:\n"
    "  stemx --data DIR report operational --from 2025-01-01 --to 2026-12-31\n"
    "  stemx --data DIR report operational --format html --out report.html\n"
    "  stemx --data DIR report strategic --format markdown\n";

const char *
stx_cmd_report_usage (void)
{
    return s_usage;
}

static int
s_fail (int code, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    stx_cli_error (false, format, args);
    va_end (args);
    if (code == EXIT_USAGE)
        fprintf (stderr, "usage: stemx [--data DIR] %s\n", s_usage);
    return code;
}

static bool
s_has_taxonomy (const char *dir)
{
    char path [PATH_MAX];
    if (!dir || !*dir)
        return false;
    int length = snprintf (path, sizeof (path), "%s/stem-agenda-2030.json", dir);
    return length > 0 && (size_t) length < sizeof (path) && access (path, R_OK) == 0;
}

//  The taxonomy folder (see DESIGN above) into dir, or false
static bool
s_find_taxonomy (const char *given, char *dir, size_t size)
{
    if (given) {
        snprintf (dir, size, "%s", given);
        return true;            //  an explicit choice is used as is
    }
    const char *env = getenv ("STEMX_TAXONOMY");
    if (env && *env) {
        snprintf (dir, size, "%s", env);
        return true;
    }
    if (s_has_taxonomy (STX_DATADIR)) {
        snprintf (dir, size, "%s", STX_DATADIR);
        return true;
    }
    char exe [PATH_MAX];
    ssize_t length = readlink ("/proc/self/exe", exe, sizeof (exe) - 1);
    if (length > 0) {
        exe [length] = '\0';
        //  BUILD/stemx -> BUILD/../config
        char *folder = dirname (exe);
        int written = snprintf (dir, size, "%s/../config", folder);
        if (written > 0 && (size_t) written < size && s_has_taxonomy (dir))
            return true;
    }
    return false;
}

int
stx_cmd_report (const char *data_dir, int argc, char **argv)
{
    enum { O_FROM = 256, O_TO, O_FORMAT, O_OUT, O_TAXONOMY };
    static const struct option options [] = {
        { "from",     required_argument, NULL, O_FROM },
        { "to",       required_argument, NULL, O_TO },
        { "format",   required_argument, NULL, O_FORMAT },
        { "out",      required_argument, NULL, O_OUT },
        { "taxonomy", required_argument, NULL, O_TAXONOMY },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *from = NULL, *to = NULL, *format_name = "text", *out_path = NULL;
    const char *taxonomy_given = NULL;
    bool help = false;
    optind = 0;                 //  full re-initialisation (glibc)
    opterr = 0;
    int opt;
    while ((opt = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
            case O_FROM:     from = optarg; break;
            case O_TO:       to = optarg; break;
            case O_FORMAT:   format_name = optarg; break;
            case O_OUT:      out_path = optarg; break;
            case O_TAXONOMY: taxonomy_given = optarg; break;
            case 'h':        help = true; break;
            default:
                if (optopt >= O_FROM)
                    return s_fail (EXIT_USAGE, "option '%s' needs a value", argv [optind - 1]);
                return s_fail (EXIT_USAGE, "report: unknown option '%s'", argv [optind - 1]);
        }
    }
    if (help) {
        printf ("usage: stemx [--data DIR] %s\n\n%s", s_usage, s_help);
        return 0;
    }
    //  getopt took argv [0], "report", for the program name and moved the
    //  options before the positional arguments
    int first = optind;
    if (argc - first != 1)
        return s_fail (EXIT_USAGE, "report takes one argument: operational or strategic");
    const char *kind = argv [first];
    bool strategic = strcmp (kind, "strategic") == 0;
    if (!strategic && strcmp (kind, "operational") != 0)
        return s_fail (EXIT_USAGE, "unknown report '%s' (operational or strategic)", kind);
    stx_report_format_t format;
    if (stx_report_format_parse (format_name, &format) != STX_OK)
        return s_fail (EXIT_USAGE, "--format: expected text, markdown, csv, html or json");
    if (from && !stx_date_valid (from))
        return s_fail (EXIT_USAGE, "--from: expected a date YYYY-MM-DD");
    if (to && !stx_date_valid (to))
        return s_fail (EXIT_USAGE, "--to: expected a date YYYY-MM-DD");

    //  The period
    char from_buf [11], to_buf [11], ignore [11];
    if (!from && !to) {
        time_t now = time (NULL);
        struct tm tm;
        char today [16];
        localtime_r (&now, &tm);
        strftime (today, sizeof (today), "%Y-%m-%d", &tm);
        stx_report_biennium (today, from_buf, to_buf);
        from = from_buf;
        to = to_buf;
    }
    else
    if (!from) {
        stx_report_biennium (to, from_buf, ignore);
        from = from_buf;
    }
    else
    if (!to) {
        stx_report_biennium (from, ignore, to_buf);
        to = to_buf;
    }
    if (strcmp (from, to) > 0)
        return s_fail (EXIT_USAGE, "the period ends (%s) before it starts (%s)", to, from);
    if (!data_dir)
        return s_fail (EXIT_USAGE, "no node folder: give --data DIR or set STEMX_DATA");

    char taxonomy_dir [PATH_MAX];
    if (!s_find_taxonomy (taxonomy_given, taxonomy_dir, sizeof (taxonomy_dir)))
        return s_fail (EXIT_FAILED, "no taxonomy found: give --taxonomy DIR or set "
                       "STEMX_TAXONOMY (looked in %s and beside the program)", STX_DATADIR);
    char err [STX_ERRLEN] = "";
    stx_taxonomy_t *taxonomy = NULL;
    stx_status_t status = stx_taxonomy_load (taxonomy_dir, &taxonomy, err, sizeof (err));
    if (status != STX_OK)
        return s_fail (EXIT_FAILED, "cannot load the taxonomy: %s", err);

    stx_store_t *store = NULL;
    status = stx_store_open (data_dir, STX_STORE_READONLY | STX_STORE_QUERY, 0, &store, err,
                             sizeof (err));
    if (status != STX_OK) {
        stx_taxonomy_destroy (&taxonomy);
        if (status == STX_ERR_NOT_FOUND)
            return s_fail (EXIT_FAILED, "%s holds no stemx catalogue (is --data right?)",
                           data_dir);
        if (status == STX_ERR_INVALID)
            return s_fail (EXIT_FAILED, "%s", err);
        return s_fail (EXIT_FAILED, "cannot open the catalogue: %s",
                       *err? err: stx_strerror (status));
    }
    stx_report_t *report = NULL;
    stx_txn_t *txn = NULL;
    status = stx_store_begin (store, false, &txn);
    if (status == STX_OK) {
        status = stx_report_build (txn, taxonomy, from, to, &report, err, sizeof (err));
        stx_txn_abort (&txn);
    }
    else
        snprintf (err, sizeof (err), "%s", stx_strerror (status));
    stx_store_destroy (&store);
    stx_taxonomy_destroy (&taxonomy);
    if (status != STX_OK)
        return s_fail (EXIT_FAILED, "cannot build the report: %s", err);

    stx_strategic_t *model = NULL;
    if (strategic) {
        status = stx_strategic_build (report, taxonomy_dir, &model, err, sizeof (err));
        if (status != STX_OK) {
            stx_report_destroy (&report);
            return s_fail (EXIT_FAILED, "cannot build the strategic report: %s", err);
        }
    }
    FILE *out = stdout;
    if (out_path) {
        out = fopen (out_path, "w");
        if (!out) {
            int error = errno;
            stx_strategic_destroy (&model);
            stx_report_destroy (&report);
            return s_fail (EXIT_FAILED, "cannot write %s: %s", out_path, strerror (error));
        }
    }
    status = strategic? stx_strategic_render (model, format, out)
                      : stx_report_render (report, format, out);
    if (out_path && fclose (out) != 0)
        status = STX_ERR_IO;
    stx_strategic_destroy (&model);
    stx_report_destroy (&report);
    if (status != STX_OK)
        return s_fail (EXIT_FAILED, "cannot write %s", out_path? out_path: "the report");
    return 0;
}
