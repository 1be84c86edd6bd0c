/*  =========================================================================
    stemx - the operators' command line: main, options, the command table

    Each command lives in its own file and shares stx_cli.h: publish,
    withdraw and import (stx_cmd_publish.c, stx_cmd_import.c), export,
    list, show and search (stx_cmd_query.c), history and tail
    (stx_cmd_history.c), status and verify (stx_cmd_status.c), keygen
    (stx_cmd_keygen.c), report (stx_cmd_report.c). Read commands open the
    node's LMDB catalogue read-only, so they work on a broker's or an
    agent's data folder whether its daemon runs or not; write commands talk
    to the agent over its local endpoint.

    Options are git/redis style: global options (--data, --help) before the
    command, then each command parses its own options with getopt_long from
    the option ids in its entry of the command table (s_commands); --data is
    accepted after the command too. `stemx help CMD` and `stemx CMD --help`
    print the same text, built from that table.

    Output: aligned tables for people (bold headers when stdout is a
    terminal and NO_COLOR is unset), --json and --csv for machines on every
    read command; times in ISO-8601 UTC. Exit status: 0 success, 1 refusal,
    not found or failure, 2 usage error, 3 queued in the agent's outbox but
    not acked, 4 not stored (stx_cli.h).
    ========================================================================= */

#include <czmq.h>
#include <getopt.h>
#include <locale.h>
#include "stx_error.h"
#include "stx_store.h"
#include "stx_validate.h"
#include "stx_cli_format.h"
#include "stx_cmd_report.h"
#include "stx_cli.h"

//  --------------------------------------------------------------------------
//  Options: one catalogue, each command lists the ids it takes

enum {
    O_DATA = 'd', O_HELP = 'h', O_JSON = 'j', O_OUT = 'o',
    O_CSV = 256, O_KIND, O_OD, O_HELIX, O_ORG, O_MUNICIPALITY, O_THEME, O_STATUS, O_FROM,
    O_TO, O_TIMEOUT, O_PILLAR, O_ROLES, O_BROKER, O_VERIFY, O_KEYS, O_EXPECT, O_FORMAT,
    O_FROM_SEQ, O_LIMIT, O_DRY_RUN
};

typedef struct {
    int id;
    const char *name;
    bool has_arg;
    const char *arg;            //  what the value is, for --help
    const char *help;
} option_def_t;

static const option_def_t s_option_defs [] = {
    { O_KIND,         "kind",           true,  "KIND", "only entries of KIND" },
    { O_OD,           "od",             true,  "CODE", "serving operational goal CODE ('OD 3.2.1')" },
    { O_HELIX,        "helix",          true,  "PILLAR", "with a partner of helix PILLAR" },
    { O_ORG,          "org",            true,  "ORG", "owned by, or with partner, ORG (org:x)" },
    { O_MUNICIPALITY, "municipality",   true,  "M", "in municipality M" },
    { O_THEME,        "theme",          true,  "THEME", "tagged with THEME" },
    { O_STATUS,       "status",         true,  "STATUS", "initiatives with STATUS" },
    { O_FROM,         "from",           true,  "DATE", "dated on or after DATE (YYYY-MM-DD)" },
    { O_TO,           "to",             true,  "DATE", "dated on or before DATE (YYYY-MM-DD)" },
    { O_FROM_SEQ,     "from-seq",       true,  "N", "start at sequence N (default: the next event)" },
    { O_LIMIT,        "limit",          true,  "N", "show at most N results (0 = all; default 20)" },
    { O_FORMAT,       "format",         true,  "FMT", "json, ndjson or csv" },
    { O_OUT,          "out",            true,  "PATH", "write to PATH" },
    { O_TIMEOUT,      "timeout",        true,  "SEC", "wait SEC seconds for the broker (default 30; verify: 5)" },
    { O_EXPECT,       "expect-version", true,  "N", "refuse unless the entry is at version N" },
    { O_DRY_RUN,      "dry-run",        false, NULL, "check and compare only; send nothing" },
    { O_VERIFY,       "verify",         false, NULL, "check who signed the current version" },
    { O_KEYS,         "keys",           true,  "DIR", "public keys for --verify" },
    { O_PILLAR,       "pillar",         true,  "PILLAR", "the organisation's helix pillar" },
    { O_ROLES,        "roles",          true,  "ROLES", "publisher, reader, admin" },
    { O_BROKER,       "broker",         false, NULL, "the broker's own key" },
    { O_JSON,         "json",           false, NULL, "print JSON" },
    { O_CSV,          "csv",            false, NULL, "print CSV (RFC 4180)" },
    //  Every command takes these two
    { O_DATA,         "data",           true,  "DIR", "the node's data folder (default: $STEMX_DATA)" },
    { O_HELP,         "help",           false, NULL, "this help" },
};
#define OPTION_DEFS (sizeof (s_option_defs) / sizeof (s_option_defs [0]))

#define FILTERS O_OD, O_HELIX, O_ORG, O_MUNICIPALITY, O_THEME, O_STATUS, O_FROM, O_TO


typedef int (command_fn) (options_t *options, int argc, char **argv);

typedef struct {
    const char *name;
    command_fn *fn;
    int min_args, max_args;     //  positional arguments after the name (-1 = any)
    const int *options;         //  option ids, 0-terminated; NULL = the command
                                //  parses its own (argv [0] is its name)
    const char *usage;
    const char *summary;
    const char *help;           //  details and examples
} command_t;

static const command_t *s_find_command (const char *name);
static int s_usage_error (const command_t *command, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  --------------------------------------------------------------------------
//  report: the monitoring reports (cli/stx_cmd_report.c parses its own options)

static int
s_cmd_report (options_t *options, int argc, char **argv)
{
    return stx_cmd_report (options->data, argc, argv);
}

//  --------------------------------------------------------------------------
//  The command table: --help is printed from it

static int s_cmd_help (options_t *options, int argc, char **argv);

static const command_t s_commands [] = {
    { "list", stx_cli_cmd_list, 1, 1, (const int []) { FILTERS, O_JSON, O_CSV, 0 },
      "list KIND [FILTERS] [--json | --csv]",
      "list the entries of one kind, filtered",
      "KIND is organisation, initiative, infrastructure or moment (plurals and\n"
      "org, ini, infra work too). Filters combine with AND; --from/--to keep the\n"
      "entries whose dates overlap that period. Every filter is answered through an\n"
      "index of the catalogue. --json prints every field with its _meta (sequence,\n"
      "version, origin, times); --csv the table's columns (export has every field).\n\n"
      "Examples:\n"
      "  stemx list initiative --od 'OD 3.2.1'\n"
      "  stemx list initiative --helix industry --from 2026-01-01 --to 2026-12-31\n"
      "  stemx list moment --municipality Gent --json\n" },
    { "show", stx_cli_cmd_show, 1, 1, (const int []) { O_VERIFY, O_KEYS, O_JSON, O_CSV, 0 },
      "show KEY [--verify [--keys DIR]] [--json | --csv]",
      "show one entry with its sequence, version and origin",
      "Works for every kind. With --verify it checks the origin organisation's\n"
      "signature of the current version against the partners' public keys (the\n"
      "node's trust/ or registry/ folder, or --keys DIR) and says who signed it;\n"
      "exit status 1 if the signature does not hold. --csv prints the entry as\n"
      "export does (a header row and one row). Exit status 1 if KEY is unknown.\n\n"
      "Examples:\n"
      "  stemx show ini:stem-academie-gent --verify\n"
      "  stemx show org:vlaio\n"
      "  stemx show infra:vdab-gent-industriele-automatisering --json\n" },
    { "search", stx_cli_cmd_search, 1, -1,
      (const int []) { O_KIND, FILTERS, O_LIMIT, O_JSON, O_CSV, 0 },
      "search TEXT... [--kind KIND] [FILTERS] [--limit N] [--json | --csv]",
      "find entries by the words of their titles, names and summaries",
      "Looks up each word of TEXT in the catalogue's word index (titles, names,\n"
      "short names, facility names, summaries and descriptions). Words are\n"
      "compared in lower case with accents folded (industriële = industriele),\n"
      "split at punctuation and hyphens; words under 3 letters and common Dutch\n"
      "and English stop words (de, het, een, van, the, and, ...) are ignored.\n"
      "An entry matches if it has any of the words; results are ranked by how\n"
      "many distinct words they have, then by how many of those are in the\n"
      "title, then by key. The filters of list apply on top.\n\n"
      "Examples:\n"
      "  stemx search STEM-academie\n"
      "  stemx search industriële automatisering --kind infrastructure\n"
      "  stemx search robotica --helix industry --from 2026-01-01 --json\n" },
    { "history", stx_cli_cmd_history, 1, 1, (const int []) { O_JSON, O_CSV, 0 },
      "history KEY [--json | --csv]",
      "every version of an entry: sequence, time, origin, signer, changes",
      "Lists each event of KEY that the node's log still holds, oldest first: its\n"
      "sequence number, the broker's time (ISO-8601 UTC), upsert or withdraw, the\n"
      "version, the origin organisation, the signer (first 8 bytes of its public\n"
      "key, or 'unsigned') and what changed from the version before: \"field: 'old'\n"
      "-> 'new'\" for values, \"+item -item\" for lists. When the log no longer holds\n"
      "its oldest events (retention, or a replica started from a snapshot) it says\n"
      "so: \"history before sequence N is no longer kept\".\n\n"
      "Examples:\n"
      "  stemx history ini:stem-academie-gent\n"
      "  stemx history org:vdab --json\n" },
    { "tail", stx_cli_cmd_tail, 0, 0,
      (const int []) { O_KIND, FILTERS, O_FROM_SEQ, O_JSON, O_CSV, 0 },
      "tail [--kind KIND] [FILTERS] [--from-seq N] [--json | --csv]",
      "follow events as the node applies them",
      "Prints each new event of the node's log as it is applied (the catalogue is\n"
      "polled every 200 ms in short read transactions), on a broker's or an\n"
      "agent's folder, until Ctrl-C or SIGTERM (exit status 0). --from-seq starts\n"
      "at an earlier sequence. --json prints one JSON event per line (NDJSON).\n"
      "Filters are those of list; a withdrawal has no fields left, so it matches\n"
      "on its kind and --org (its owner) only.\n\n"
      "Examples:\n"
      "  stemx tail\n"
      "  stemx tail --kind initiative --od 'OD 3.2.1'\n"
      "  stemx tail --from-seq 1 --json | jq .id\n" },
    { "export", stx_cli_cmd_export, 0, 1,
      (const int []) { FILTERS, O_FORMAT, O_OUT, O_JSON, O_CSV, 0 },
      "export [KIND] [FILTERS] [--format json|ndjson|csv | --json | --csv] [--out PATH]",
      "write entries in the shape import takes back",
      "Writes the live entries of KIND (default: every kind, organisations first)\n"
      "matching the filters, without _meta, as a JSON array (default), NDJSON or\n"
      "CSV (see import for the columns). With --out the format may also come from\n"
      "the file's extension (.json, .ndjson, .jsonl, .csv); the file is replaced\n"
      "only once it is complete.\n\n"
      "Examples:\n"
      "  stemx export initiative --helix industry --out industry.csv\n"
      "  stemx export --format ndjson > catalogue.ndjson\n"
      "  stemx export moment --from 2026-01-01 --json\n" },
    { "publish", stx_cli_cmd_publish, 1, 1, (const int []) { O_TIMEOUT, O_JSON, 0 },
      "publish FILE|- [--timeout SEC] [--json]",
      "publish one JSON entry or an array of them through the agent",
      "Reads entries in the shape of config/sample/catalogue.json (the id prefix\n"
      "org:, ini:, infra: or moment: names the kind). The agent stores them in its\n"
      "durable outbox, sends them to the broker and answers when the broker has:\n"
      "each accepted entry is printed with its sequence number and version; each\n"
      "refusal with its reason on stderr, and the exit status is then 1.\n"
      "If the broker does not answer within --timeout seconds (default 30): exit\n"
      "status 3 when the agent confirmed the events are in its outbox (they are\n"
      "sent until the broker answers; 'stemx status' counts them pending), 4 when\n"
      "the agent did not even confirm that (stopped or overloaded: they may never\n"
      "have reached it). Publishing again is always safe.\n\n"
      "Examples:\n"
      "  stemx --data /var/lib/stemx publish initiative.json\n"
      "  jq '.initiatives' catalogue.json | stemx publish -\n" },
    { "import", stx_cli_cmd_import, 1, 1,
      (const int []) { O_FORMAT, O_DRY_RUN, O_TIMEOUT, O_JSON, 0 },
      "import FILE|- [--format json|ndjson|csv] [--dry-run] [--timeout SEC] [--json]",
      "publish many entries from JSON, NDJSON or CSV; unchanged ones are skipped",
      "FILE is a JSON array of entries (or a catalogue shaped like\n"
      "config/sample/catalogue.json), NDJSON (one entry object per line) or CSV with\n"
      "a header row; the format comes from --format, else the extension (.json,\n"
      ".ndjson, .jsonl, .csv), else the content.\n\n"
      "CSV: one row per entry; columns are the entries' JSON field names, nested\n"
      "ones dotted (period.start, location.municipality,\n"
      "capacity.participants_per_session, audience.target_groups); a list is one\n"
      "cell with items separated by ';' (\"OD 3.2.1;OD 3.2.2\"), partners are\n"
      "organisation ids (\"org:agoria;org:vdab\"), a cell starting with '[' is a\n"
      "JSON array (availability windows are written so); an empty cell is \"not\n"
      "given\". Files are UTF-8, fields may be quoted (RFC 4180), as export writes.\n\n"
      "Each entry is compared with the node's current version first and skipped\n"
      "when nothing changed, so importing the same file twice changes nothing.\n"
      "Organisations are sent first. A malformed row or entry is refused with its\n"
      "line (\"line 7: ...\") and the others are imported. At the end a summary\n"
      "counts accepted, unchanged and refused entries and lists each refusal with\n"
      "its reason; exit status 1 if any was refused. A progress bar is drawn on\n"
      "stderr when it is a terminal. --dry-run also checks every entry as the broker\n"
      "would with its default limits (structure, sizes, counts, UTF-8, control\n"
      "characters, dates; not the codes, which are the broker's taxonomy's) and\n"
      "reports what it would refuse.\n\n"
      "The file is read as it goes, twice (organisations, then the rest), so its\n"
      "size is not limited by memory; stdin is first copied to a temporary file in\n"
      "$TMPDIR (default /tmp).\n\n"
      "Examples:\n"
      "  stemx import partners.csv\n"
      "  stemx export initiative > ini.json && stemx import ini.json\n"
      "  stemx import --format ndjson --dry-run - < changes.ndjson\n" },
    { "withdraw", stx_cli_cmd_withdraw, 1, 1, (const int []) { O_EXPECT, O_TIMEOUT, O_JSON, 0 },
      "withdraw KEY [--expect-version N] [--timeout SEC] [--json]",
      "withdraw an entry; the catalogue keeps a tombstone",
      "Only the organisation owning the entry, or an admin (VLAIO), may withdraw\n"
      "it. With --expect-version the broker refuses the withdrawal if the entry has\n"
      "changed since that version (compare-and-set). Exit status 1 if refused.\n\n"
      "Example:\n"
      "  stemx withdraw ini:stem-academie-gent --expect-version 3\n" },
    { "verify", stx_cli_cmd_verify, 0, 0, (const int []) { O_TIMEOUT, O_JSON, 0 },
      "verify [--timeout SEC] [--json]",
      "compare this replica's (sequence, head) with the broker's",
      "Asks the running agent for one fresh round trip to the broker and reports\n"
      "agree (same sequence and hash-chain head), lag (behind, and the broker's\n"
      "head at this replica's sequence is this replica's head), diverged (the heads\n"
      "differ: the catalogues are not the same) or unknown (no answer, or the broker\n"
      "no longer keeps its head at that sequence). Exit status 0 for agree and lag,\n"
      "1 otherwise. --timeout defaults to 5 seconds here.\n\n"
      "Example:\n"
      "  stemx --data /var/lib/stemx/agent verify\n" },
    { "status", stx_cli_cmd_status, 0, 0, (const int []) { O_JSON, O_CSV, 0 },
      "status [--json | --csv]",
      "show the node's sequence, hash-chain head, connection and outbox",
      "On an agent's folder it also asks the running agent whether it hears the\n"
      "broker. Two nodes with the same sequence and head hold the same catalogue.\n\n"
      "Example:\n"
      "  stemx --data node1 status --json\n" },
    { "report", s_cmd_report, 0, -1, NULL,
      "report operational|strategic [OPTIONS]",
      "the monitoring reports of section 7 of the STEM-Agenda",
      "Run 'stemx report --help' for its options.\n\n"
      "Example:\n"
      "  stemx report operational --from 2026-01-01 --to 2027-12-31\n" },
    { "keygen", stx_cli_cmd_keygen, 0, 1,
      (const int []) { O_PILLAR, O_ROLES, O_OUT, O_BROKER, O_JSON, 0 },
      "keygen ORG --pillar PILLAR [--roles ROLES] [--out DIR]\n"
      "       stemx keygen --broker [--out DIR]",
      "make a key pair for an organisation or for the broker",
      "Writes DIR/NAME.cert (public: give it to VLAIO for the broker's registry and\n"
      "to partners for their trust folders) and DIR/NAME.cert_secret (private, mode\n"
      "0600: the agent's identities folder). One Ed25519 key signs the\n"
      "organisation's events; its CURVE key, derived from it, authenticates its\n"
      "connections. ROLES is a list of publisher, reader and admin (default\n"
      "\"publisher, reader\"). Existing files are never overwritten.\n\n"
      "Examples:\n"
      "  stemx keygen org:vdab --pillar government --out keys/\n"
      "  stemx keygen org:vlaio --pillar government --roles 'admin, publisher, reader'\n"
      "  stemx keygen --broker --out /var/lib/stemx/broker\n" },
    { "help", s_cmd_help, 0, 1, (const int []) { 0 },
      "help [COMMAND]",
      "show help for stemx or one command", "" },
};
#define COMMAND_COUNT (sizeof (s_commands) / sizeof (s_commands [0]))

static const command_t *
s_find_command (const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp (s_commands [i].name, name) == 0)
            return &s_commands [i];
    return NULL;
}

static const option_def_t *
s_option_def (int id)
{
    for (size_t i = 0; i < OPTION_DEFS; i++)
        if (s_option_defs [i].id == id)
            return &s_option_defs [i];
    return NULL;
}

static void
s_print_help (FILE *out)
{
    fprintf (out,
        "usage: stemx [--data DIR] COMMAND [ARGS] [OPTIONS]\n\n"
        "Query and feed the replicated STEM catalogue of a stemx node.\n\n"
        "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf (out, "  %-9s %s\n", s_commands [i].name, s_commands [i].summary);
    fprintf (out,
        "\nOptions:\n"
        "  -d, --data DIR  the node's data folder (default: $STEMX_DATA)\n"
        "  -h, --help      help; 'stemx COMMAND --help' for one command\n"
        "\nFILTERS are --od CODE, --helix PILLAR, --org ORG, --municipality M,\n"
        "--theme THEME, --status STATUS, --from DATE, --to DATE.\n"
        "Colour only on a terminal, never with NO_COLOR set. See stemx(1).\n"
        "\nExit status: 0 success, 1 refused / not found / failed, 2 usage error.\n");
}

static void
s_print_option (FILE *out, const option_def_t *def)
{
    char left [64];
    if (def->id < 256)
        snprintf (left, sizeof left, "-%c, --%s%s%s", def->id, def->name,
                  def->arg? " ": "", def->arg? def->arg: "");
    else
        snprintf (left, sizeof left, "    --%s%s%s", def->name,
                  def->arg? " ": "", def->arg? def->arg: "");
    fprintf (out, "  %-24s %s\n", left, def->help);
}

static void
s_print_command_help (const command_t *command, FILE *out)
{
    if (command->fn == s_cmd_report) {
        //  The report command's own text (cli/stx_cmd_report.c)
        fprintf (out, "usage: stemx [--data DIR] %s", stx_cmd_report_usage ());
        return;
    }
    fprintf (out, "usage: stemx [--data DIR] %s\n\n%s.\n", command->usage, command->summary);
    if (command->options) {
        fprintf (out, "\nOptions:\n");
        for (const int *id = command->options; *id; id++)
            s_print_option (out, s_option_def (*id));
        if (command->fn != s_cmd_help && command->fn != stx_cli_cmd_keygen)
            s_print_option (out, s_option_def (O_DATA));
        s_print_option (out, s_option_def (O_HELP));
    }
    if (*command->help)
        fprintf (out, "\n%s", command->help);
}

static int
s_usage_verror (const command_t *command, const char *format, va_list args)
{
    fprintf (stderr, "%sstemx: ", STX_RED (stx_cli_colour_err ()));
    vfprintf (stderr, format, args);
    fprintf (stderr, "%s\n", STX_RESET (stx_cli_colour_err ()));
    if (command)
        fprintf (stderr, "usage: stemx [--data DIR] %s\n"
                 "try 'stemx %s --help'\n", command->usage, command->name);
    else
        fprintf (stderr, "try 'stemx --help'\n");
    return EXIT_USAGE;
}

static int
s_usage_error (const command_t *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int code = s_usage_verror (command, format, args);
    va_end (args);
    return code;
}

int
stx_cli_usage_error (const char *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int code = s_usage_verror (s_find_command (command), format, args);
    va_end (args);
    return code;
}

static int
s_cmd_help (options_t *options, int argc, char **argv)
{
    if (argc == 0) {
        s_print_help (stdout);
        return 0;
    }
    const command_t *command = s_find_command (argv [0]);
    if (!command)
        return s_usage_error (NULL, "unknown command '%s'", argv [0]);
    s_print_command_help (command, stdout);
    return 0;
}

//  --------------------------------------------------------------------------
//  main

//  A whole number for option name, or a usage error.
static int
s_number (const command_t *command, const char *name, const char *text, uint64_t min,
          uint64_t *value)
{
    char *end;
    errno = 0;
    *value = strtoull (text, &end, 10);
    if (!*text || *end || errno || *text == '-' || *value < min)
        return s_usage_error (command, "--%s takes a whole number%s, not '%s'", name,
                              min? " > 0": "", text);
    return 0;
}

//  Parse a command's options from its argv (argv [0] = the command's
//  name) into options; *first_p gets the index of its first positional
//  argument (getopt_long moves them after the options). Returns 0, 1 when
//  --help was printed, or EXIT_USAGE.
static int
s_parse_options (const command_t *command, options_t *options, int argc, char **argv,
                 int *first_p)
{
    struct option longs [OPTION_DEFS + 1];
    char shorts [3 * OPTION_DEFS + 2] = ":";
    size_t count = 0, used = 1;
    const int common [] = { O_DATA, O_HELP, 0 };
    for (int pass = 0; pass < 2; pass++)
        for (const int *id = pass? common: command->options; *id; id++) {
            const option_def_t *def = s_option_def (*id);
            assert (def);
            longs [count++] = (struct option) { def->name,
                def->has_arg? required_argument: no_argument, NULL, def->id };
            if (def->id < 256) {
                shorts [used++] = (char) def->id;
                if (def->has_arg)
                    shorts [used++] = ':';
            }
        }
    shorts [used] = 0;
    longs [count] = (struct option) { NULL, 0, NULL, 0 };
    optind = 0;                 //  a full reset of GNU getopt
    opterr = 0;
    int opt;
    uint64_t number;
    while ((opt = getopt_long (argc, argv, shorts, longs, NULL)) != -1) {
        switch (opt) {
            case O_DATA:    options->data = optarg; break;
            case O_HELP:    s_print_command_help (command, stdout); return 1;
            case O_JSON:    options->json = true; break;
            case O_CSV:     options->csv = true; break;
            case O_KIND:    options->kind = optarg; break;
            case O_OD:      options->filter.od = optarg; break;
            case O_HELIX:   options->filter.helix = optarg; break;
            case O_ORG:     options->filter.org = optarg; break;
            case O_MUNICIPALITY: options->filter.municipality = optarg; break;
            case O_THEME:   options->filter.theme = optarg; break;
            case O_STATUS:  options->filter.status = optarg; break;
            case O_FROM:    options->filter.from = optarg; break;
            case O_TO:      options->filter.to = optarg; break;
            case O_FORMAT:  options->format = optarg; break;
            case O_OUT:     options->out = optarg; break;
            case O_DRY_RUN: options->dry_run = true; break;
            case O_PILLAR:  options->pillar = optarg; break;
            case O_ROLES:   options->roles = optarg; break;
            case O_BROKER:  options->broker = true; break;
            case O_VERIFY:  options->verify = true; break;
            case O_KEYS:    options->keys = optarg; break;
            case O_TIMEOUT:
                if (s_number (command, "timeout", optarg, 1, &number))
                    return EXIT_USAGE;
                options->timeout = number > 86400? 86400: (int) number;
                options->timeout_given = true;
                break;
            case O_EXPECT:
                if (s_number (command, "expect-version", optarg, 1, &options->expect_version))
                    return EXIT_USAGE;
                break;
            case O_FROM_SEQ:
                if (s_number (command, "from-seq", optarg, 1, &options->from_seq))
                    return EXIT_USAGE;
                break;
            case O_LIMIT:
                if (s_number (command, "limit", optarg, 0, &number))
                    return EXIT_USAGE;
                options->limit = number > 1000000? 1000000: (long) number;
                break;
            case ':':
                return s_usage_error (command, "option '%s' needs a value", argv [optind - 1]);
            default:
                if (optopt && optopt < 256)
                    return s_usage_error (command, "%s does not take option '-%c'",
                                          command->name, optopt);
                return s_usage_error (command, "%s does not take option '%s'",
                                      command->name, argv [optind - 1]);
        }
    }
    if (options->json && options->csv)
        return s_usage_error (command, "give --json or --csv, not both");
    if (options->filter.from && !stx_date_valid (options->filter.from))
        return s_usage_error (command, "--from: expected a date YYYY-MM-DD");
    if (options->filter.to && !stx_date_valid (options->filter.to))
        return s_usage_error (command, "--to: expected a date YYYY-MM-DD");
    *first_p = optind;
    return 0;
}

int
main (int argc, char *argv [])
{
    //  czmq must not install its own signal handlers in a CLI
    zsys_handler_set (NULL);
    setlocale (LC_ALL, "");
    stx_cli_set_colour_err (stx_colour (stderr));

    options_t options = { .data = getenv ("STEMX_DATA"), .timeout = 30, .limit = 20,
                          .colour = stx_colour (stdout) };
    //  Global options, up to the command's name
    static const struct option globals [] = {
        { "data", required_argument, NULL, 'd' },
        { "help", no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    bool help = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, "+:d:h", globals, NULL)) != -1) {
        switch (opt) {
            case 'd': options.data = optarg; break;
            case 'h': help = true; break;
            case ':':
                return s_usage_error (NULL, "option '%s' needs a value", argv [optind - 1]);
            default:
                return s_usage_error (NULL, "unknown option '%s' (command options go after "
                                      "the command)", argv [optind - 1]);
        }
    }
    if (optind >= argc) {
        if (help) {
            s_print_help (stdout);
            return 0;
        }
        s_print_help (stderr);
        return EXIT_USAGE;
    }
    const command_t *command = s_find_command (argv [optind]);
    if (!command)
        return s_usage_error (NULL, "unknown command '%s'", argv [optind]);
    if (help) {
        s_print_command_help (command, stdout);
        return 0;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;

    if (!command->options) {
        //  The command parses its own options; take --data out for it
        int kept = 1;
        for (int i = 1; i < sub_argc; i++) {
            if ((strcmp (sub_argv [i], "--data") == 0 || strcmp (sub_argv [i], "-d") == 0)
            &&  i + 1 < sub_argc)
                options.data = sub_argv [++i];
            else
            if (strncmp (sub_argv [i], "--data=", 7) == 0)
                options.data = sub_argv [i] + 7;
            else
                sub_argv [kept++] = sub_argv [i];
        }
        sub_argv [kept] = NULL;
        return command->fn (&options, kept, sub_argv);
    }

    int first = 0;
    int rc = s_parse_options (command, &options, sub_argc, sub_argv, &first);
    if (rc)
        return rc == 1? 0: rc;
    int nargs = sub_argc - first;
    if (nargs < command->min_args || (command->max_args >= 0 && nargs > command->max_args)) {
        if (command->max_args < 0)
            return s_usage_error (command, "%s takes at least one argument", command->name);
        return s_usage_error (command, "%s takes %s argument%s", command->name,
                              command->min_args == command->max_args
                                  ? (command->min_args ? "one" : "no") : "at most one",
                              command->max_args == 1 && command->min_args == 1 ? "" : "s");
    }
    if (command->fn != s_cmd_help && command->fn != stx_cli_cmd_keygen && !options.data)
        return s_usage_error (command, "no node folder: give --data DIR or set STEMX_DATA");
    return command->fn (&options, nargs, sub_argv + first);
}
