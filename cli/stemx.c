/*  =========================================================================
    stemx - the operators' command line

    Read commands (list, show, search, history, tail, export, status) open
    the node's LMDB catalogue read-only, in short read transactions, so they
    work the same on a broker's or an agent's data folder and whether its
    daemon runs or not. Write commands (publish, import, withdraw) talk to
    the agent over its local endpoint (ipc in its data folder): the agent
    first stores the events in its durable outbox, then forwards them, and
    answers when the broker has answered. They share one sending path
    (s_send_events).

    Options are git/redis style: global options (--data, --help) before the
    command, then each command parses its own options with getopt_long from
    the option ids in its entry of the command table (s_commands); --data is
    accepted after the command too. `stemx help CMD` and `stemx CMD --help`
    print the same text, built from that table.

    Output: aligned tables for people (bold headers when stdout is a
    terminal and NO_COLOR is unset), --json and --csv for machines on every
    read command; times in ISO-8601 UTC.
    Exit status: 0 success, 1 refusal / not found / failure, 2 usage error.
    ========================================================================= */

#include <czmq.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <inttypes.h>
#include <jansson.h>
#include <sys/stat.h>

#include "stx_error.h"
#include "stx_event.h"
#include "stx_json.h"
#include "stx_index.h"
#include "stx_store.h"
#include "stx_search.h"
#include "stx_outbox.h"
#include "stx_wire.h"
#include "stx_validate.h"
#include "stx_cli_format.h"
#include "stx_csv.h"
#include "stx_keys.h"
#include "stx_sign.h"
#include "stx_cmd_report.h"
#include "stx_cmd_import.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_QUEUED  3          //  in the agent's outbox, not acked by the broker yet
#define EXIT_UNSTORED 4         //  the agent did not confirm it stored the events

//  Most events in one Publish request, and their packed bytes at most;
//  well below the broker's message limit.
#define PUBLISH_BATCH_EVENTS 256
#define PUBLISH_BATCH_BYTES  (512 * 1024)
//  Largest input file publish reads (import streams its file)
#define INPUT_MAX_BYTES (64 * 1024 * 1024)
//  How often tail looks for new events
#define TAIL_POLL_MS 200
//  Most distinct words a search takes
#define SEARCH_TERMS_MAX 16

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

typedef struct {
    const char *data;           //  node data folder
    bool json, csv;             //  machine output
    int timeout;                //  seconds to wait for the broker
    bool timeout_given;         //  --timeout was on the command line
    stx_filter_t filter;
    const char *kind;           //  --kind
    const char *format;         //  --format
    const char *out;            //  --out (export) or keygen's folder
    uint64_t from_seq;          //  tail --from-seq
    long limit;                 //  search --limit
    bool dry_run;               //  import --dry-run
    const char *pillar;         //  keygen: helix pillar
    const char *roles;          //  keygen: roles
    bool broker;                //  keygen: the broker's own key
    bool verify;                //  show: check the signature
    const char *keys;           //  show --verify: trust folder
    uint64_t expect_version;    //  withdraw: compare-and-set
    bool colour;                //  stdout may use colour
} options_t;

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
//  Helpers

static bool s_colour_err;       //  stderr may use colour

static int
s_fail (int code, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    stx_cli_error (s_colour_err, format, args);
    va_end (args);
    return code;
}

//  Open the node's catalogue read-only; flags STX_STORE_QUERY for the
//  commands that read the query index (a broker's store keeps none).
//  Returns 0, or EXIT_REFUSED with the reason printed.
static int
s_open_store (options_t *options, int flags, stx_store_t **store_p)
{
    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_store_open (options->data, STX_STORE_READONLY | flags, 0, store_p,
                                      err, sizeof err);
    if (rc == STX_OK)
        return 0;
    if (rc == STX_ERR_NOT_FOUND)
        return s_fail (EXIT_REFUSED, "%s holds no stemx catalogue (is --data right?)",
                       options->data);
    if (rc == STX_ERR_INVALID)
        return s_fail (EXIT_REFUSED, "%s", err);
    return s_fail (EXIT_REFUSED, "cannot open the catalogue: %s", *err? err: stx_strerror (rc));
}

static void
s_print_json (json_t *json)
{
    char *text = json_dumps (json, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    assert (text);
    puts (text);
    free (text);
}

static void
s_print_table (stx_table_t *table, options_t *options)
{
    stx_table_print_styled (table, stdout, stx_terminal_width (stdout), options->colour);
}

//  Print the table's rows as CSV (header first).
static void
s_print_csv (size_t columns, const char **header, json_t *rows)
{
    stx_csv_write (stdout, header, columns);
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *cells [columns];
        for (size_t c = 0; c < columns; c++)
            cells [c] = json_string_value (json_array_get (row, c));
        stx_csv_write (stdout, cells, columns);
    }
}

static bool
s_is_dir (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static char *
s_format_u64 (char *buf, size_t size, uint64_t value)
{
    snprintf (buf, size, "%" PRIu64, value);
    return buf;
}

//  Hex of the first 8 bytes of an event's signer, or "unsigned".
static void
s_signer (const Stemx__Event *event, char *out, size_t size)
{
    if (event->signer.len == 0) {
        snprintf (out, size, "unsigned");
        return;
    }
    assert (size >= 17);
    stx_hex (event->signer.data, event->signer.len < 8? event->signer.len: 8, out);
}

static const char *
s_op_name (Stemx__Operation op)
{
    return op == STEMX__OPERATION__OP_UPSERT? "upsert"
         : op == STEMX__OPERATION__OP_WITHDRAW? "withdraw": "unspecified";
}

//  Connect a DEALER to the agent of the data folder. Returns NULL with a
//  message printed if no agent listens there.
static zsock_t *
s_connect_agent (options_t *options, bool quiet)
{
    char path [PATH_MAX];
    char *real = realpath (options->data, NULL);
    if (!real) {
        if (!quiet)
            s_fail (EXIT_REFUSED, "%s: %s", options->data, strerror (errno));
        return NULL;
    }
    snprintf (path, sizeof path, "%s/agent.sock", real);
    free (real);
    struct stat st;
    if (stat (path, &st) != 0 || !S_ISSOCK (st.st_mode)) {
        if (!quiet)
            s_fail (EXIT_REFUSED, "no agent is running on %s (start stemx-agent --data %s)",
                    options->data, options->data);
        return NULL;
    }
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    if (zsock_connect (sock, "ipc://%s", path) != 0) {
        if (!quiet)
            s_fail (EXIT_REFUSED, "cannot connect to the agent at %s", path);
        zsock_destroy (&sock);
    }
    return sock;
}

static char *
s_read_input (const char *path, size_t *size_p)
{
    FILE *file = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!file) {
        s_fail (EXIT_REFUSED, "%s: %s", path, strerror (errno));
        return NULL;
    }
    size_t size = 0, capacity = 65536;
    char *buffer = malloc (capacity + 1);
    assert (buffer);
    size_t got;
    while ((got = fread (buffer + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size > INPUT_MAX_BYTES) {
            s_fail (EXIT_REFUSED, "%s: larger than %d MiB", path, INPUT_MAX_BYTES >> 20);
            free (buffer);
            buffer = NULL;
            break;
        }
        if (size == capacity) {
            capacity *= 2;
            buffer = realloc (buffer, capacity + 1);
            assert (buffer);
        }
    }
    if (buffer && ferror (file)) {
        s_fail (EXIT_REFUSED, "%s: %s", path, strerror (errno));
        free (buffer);
        buffer = NULL;
    }
    if (file != stdin)
        fclose (file);
    if (buffer)
        buffer [size] = 0;
    *size_p = size;
    return buffer;
}

//  --------------------------------------------------------------------------
//  Sending events through the agent (publish, import, withdraw)

typedef struct {
    char *key;
    uint8_t id [STX_EVENT_ID_SIZE];
    uint8_t *data;              //  packed event; NULL = nothing to send (yet)
    size_t size;
    bool done;                  //  answered, refused locally, or unchanged
    Stemx__Reason reason;
    char *text;                 //  refusal text (local or the broker's)
    uint64_t seq, version;
    json_t *object;             //  the entry as read
    Stemx__Entry *entry;        //  converted, until packed
} pending_t;

//  Send events [first, last) as one Publish and wait for the Ack.
static int
s_publish_batch (zsock_t *agent, pending_t *events, size_t first, size_t last, int timeout)
{
    size_t count = last - first;
    ProtobufCBinaryData datas [count];
    for (size_t i = 0; i < count; i++) {
        datas [i].data = events [first + i].data;
        datas [i].len = events [first + i].size;
    }
    if (stx_wire_send_publish (agent, datas, count) != 0)
        return s_fail (EXIT_REFUSED, "cannot send to the agent: %s", zmq_strerror (errno));

    //  The agent's receipt first (the events are in its synced outbox),
    //  then the broker's answers
    Stemx__Reply *reply = NULL;
    int64_t deadline = zclock_mono () + (int64_t) timeout * 1000;
    bool received = false;
    stx_status_t rc;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        rc = stx_wire_recv_reply (agent, left > 0? (int) left: 0, &reply);
        if (rc != STX_OK || reply->body_case != STEMX__REPLY__BODY_RECEIPT)
            break;
        received = true;
        stx_wire_reply_free (&reply);
    }
    if (rc == STX_ERR_TIMEOUT && received)
        return s_fail (EXIT_QUEUED,
                       "queued, not acked: no answer from the broker within %d s; the %zu "
                       "event(s) are in the agent's outbox, which sends them until the "
                       "broker answers (see 'stemx status')", timeout, count);
    if (rc == STX_ERR_TIMEOUT)
        return s_fail (EXIT_UNSTORED,
                       "not stored: the agent did not confirm within %d s that it holds the "
                       "%zu event(s) (is it stopped or overloaded?); they may never have "
                       "reached it. Publishing again is safe: at worst the same content is "
                       "recorded once more", timeout, count);
    if (rc != STX_OK)
        return s_fail (EXIT_REFUSED, "bad answer from the agent: %s", stx_strerror (rc));
    int result = 0;
    if (reply->body_case == STEMX__REPLY__BODY_ERROR)
        result = s_fail (EXIT_REFUSED, "the agent refused the request: %s",
                         reply->error->text);
    else
    if (reply->body_case != STEMX__REPLY__BODY_ACK)
        result = s_fail (EXIT_REFUSED, "unexpected answer from the agent");
    else {
        Stemx__Ack *ack = reply->ack;
        for (size_t r = 0; r < ack->n_results; r++) {
            Stemx__Result *res = ack->results [r];
            for (size_t i = first; i < last; i++) {
                pending_t *event = &events [i];
                if (res->event_id.len == STX_EVENT_ID_SIZE
                &&  memcmp (res->event_id.data, event->id, STX_EVENT_ID_SIZE) == 0) {
                    event->done = true;
                    event->reason = res->reason;
                    event->seq = res->seq;
                    event->version = res->version;
                    if (res->reason != STEMX__REASON__R_OK)
                        event->text = strdup (res->text);
                }
            }
        }
        for (size_t i = first; i < last; i++)
            if (!events [i].done)
                result = s_fail (EXIT_REFUSED, "%s: no answer for this event", events [i].key);
    }
    stx_wire_reply_free (&reply);
    return result;
}

static const char *
s_reason_name (Stemx__Reason reason)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&stemx__reason__descriptor, reason);
    return value ? value->name : "R_UNKNOWN";
}

//  Send every event that has packed data and is not done through the
//  agent, in batches; each gets its answer (done, reason, text, seq,
//  version). Returns 0, or EXIT_REFUSED when the agent cannot be reached
//  or does not answer (the events not sent stay not done).
static int
s_send_events (options_t *options, pending_t *events, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += !events [i].done && events [i].data;
    if (total == 0)
        return 0;
    zsock_t *agent = s_connect_agent (options, false);
    if (!agent)
        return EXIT_REFUSED;
    int result = 0;
    size_t first = 0;
    while (first < count && result == 0) {
        //  Gather the next batch of events that still need sending
        while (first < count && (events [first].done || !events [first].data))
            first++;
        if (first == count)
            break;
        size_t last = first, bytes = 0;
        while (last < count && !events [last].done && events [last].data
        &&     last - first < PUBLISH_BATCH_EVENTS
        &&     (last == first || bytes + events [last].size <= PUBLISH_BATCH_BYTES))
            bytes += events [last++].size;
        result = s_publish_batch (agent, events, first, last, options->timeout);
        first = last;
    }
    zsock_destroy (&agent);
    return result;
}

static void
s_free_events (pending_t *events, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free (events [i].key);
        free (events [i].data);
        free (events [i].text);
        json_decref (events [i].object);
        stx_entry_free (&events [i].entry);
    }
    free (events);
}

//  Pack event's entry (taking it) into a new upsert event.
static void
s_pack_entry (pending_t *event)
{
    Stemx__Event *ev = stx_event_new (event->key, &event->entry);
    memcpy (event->id, ev->event_id.data, STX_EVENT_ID_SIZE);
    event->data = stx_event_pack (ev, &event->size);
    stx_event_free (&ev);
}

//  Print publish's and withdraw's answer for every event, and free them.
//  Returns the exit status (result if not 0).
static int
s_report_sent (options_t *options, pending_t *events, size_t count, int result)
{
    size_t refused = 0;
    json_t *out = json_array ();
    const char *headers [] = { "SEQ", "VERSION", "KEY", "RESULT" };
    stx_table_t *table = stx_table_new (4, headers);
    for (size_t i = 0; i < count; i++) {
        pending_t *event = &events [i];
        if (!event->done)
            continue;
        bool ok = event->reason == STEMX__REASON__R_OK;
        refused += !ok;
        if (options->json) {
            json_t *row = json_pack ("{s:s, s:s}", "key", event->key,
                                     "result", ok? "accepted": "refused");
            if (ok) {
                json_object_set_new (row, "seq", json_integer ((json_int_t) event->seq));
                json_object_set_new (row, "version", json_integer ((json_int_t) event->version));
            }
            else {
                json_object_set_new (row, "reason", json_string (s_reason_name (event->reason)));
                json_object_set_new (row, "text", json_string (event->text));
            }
            json_array_append_new (out, row);
        }
        else
        if (ok) {
            char seq [24], version [24];
            const char *cells [] = { s_format_u64 (seq, sizeof seq, event->seq),
                                     s_format_u64 (version, sizeof version, event->version),
                                     event->key, "accepted" };
            stx_table_add (table, cells);
        }
        else
            s_fail (0, "refused: %s", event->text);
    }
    if (options->json)
        s_print_json (out);
    else
    if (stx_table_rows (table))
        s_print_table (table, options);
    stx_table_destroy (&table);
    json_decref (out);
    if (result == 0 && refused)
        result = s_fail (EXIT_REFUSED, "%zu of %zu entries refused", refused, count);
    s_free_events (events, count);
    return result;
}

//  Mark event refused locally with status rc and text.
static void
s_refuse (pending_t *event, stx_status_t rc, const char *text)
{
    event->done = true;
    event->reason = stx_status_reason (rc);
    free (event->text);
    event->text = strdup (text);
    assert (event->text);
}

//  Key of a JSON entry object for messages: its id, or "[i]".
static char *
s_object_key (const json_t *object, size_t i)
{
    json_t *id = json_is_object (object) ? json_object_get (object, "id") : NULL;
    if (json_is_string (id) && *json_string_value (id))
        return strdup (json_string_value (id));
    char key [32];
    snprintf (key, sizeof key, "[%zu]", i);
    return strdup (key);
}

//  Convert event->object into event->entry, or refuse it.
static bool
s_convert (pending_t *event)
{
    char err [STX_ERRLEN];
    stx_status_t rc = json_is_object (event->object)
        ? stx_json_to_entry (event->object, &event->entry, err, sizeof err)
        : stx_fail (err, sizeof err, STX_ERR_INVALID, "%s: expected a JSON object", event->key);
    if (rc != STX_OK) {
        s_refuse (event, rc, err);
        return false;
    }
    free (event->key);
    event->key = strdup (stx_entry_key (event->entry));
    return true;
}

//  --------------------------------------------------------------------------
//  publish FILE|-

static int
s_cmd_publish (options_t *options, int argc, char **argv)
{
    size_t size;
    char *input = s_read_input (argv [0], &size);
    if (!input)
        return EXIT_REFUSED;
    json_error_t jerr;
    json_t *root = json_loadb (input, size, JSON_REJECT_DUPLICATES, &jerr);
    free (input);
    if (!root)
        return s_fail (EXIT_REFUSED, "%s:%d:%d: %s%s", argv [0], jerr.line, jerr.column,
                       json_error_code (&jerr) == json_error_invalid_utf8
                           ? "invalid UTF-8 (entries must be UTF-8): " : "", jerr.text);
    if (!json_is_array (root) && !json_is_object (root)) {
        json_decref (root);
        return s_fail (EXIT_REFUSED, "%s: expected a JSON entry object or an array of them",
                       argv [0]);
    }
    size_t count = json_is_array (root) ? json_array_size (root) : 1;
    pending_t *events = calloc (count ? count : 1, sizeof (pending_t));
    assert (events);
    for (size_t i = 0; i < count; i++) {
        pending_t *event = &events [i];
        event->object = json_incref (json_is_array (root) ? json_array_get (root, i) : root);
        event->key = s_object_key (event->object, i);
        if (s_convert (event))
            s_pack_entry (event);
    }
    json_decref (root);
    int result = s_send_events (options, events, count);
    return s_report_sent (options, events, count, result);
}

//  --------------------------------------------------------------------------
//  withdraw KEY

static int
s_cmd_withdraw (options_t *options, int argc, char **argv)
{
    if (stx_kind_of_key (argv [0]) == STX_KIND_NONE)
        return s_usage_error (s_find_command ("withdraw"),
            "'%s' is not an entry key (org:, ini:, infra: or moment:)", argv [0]);
    pending_t *event = calloc (1, sizeof (pending_t));
    assert (event);
    event->key = strdup (argv [0]);
    Stemx__Entry *none = NULL;
    Stemx__Event *ev = stx_event_new (argv [0], &none);
    ev->expected_version = options->expect_version;
    memcpy (event->id, ev->event_id.data, STX_EVENT_ID_SIZE);
    event->data = stx_event_pack (ev, &event->size);
    stx_event_free (&ev);
    int result = s_send_events (options, event, 1);
    return s_report_sent (options, event, 1, result);
}

//  --------------------------------------------------------------------------
//  import FILE|- (cli/stx_cmd_import.c)

static zsock_t *
s_import_connect (void *arg)
{
    return s_connect_agent ((options_t *) arg, false);
}

static int
s_cmd_import (options_t *options, int argc, char **argv)
{
    stx_format_t format = stx_format_named (options->format);
    if (options->format && format == STX_FORMAT_NONE)
        return s_usage_error (s_find_command ("import"),
                              "--format takes json, ndjson or csv, not '%s'", options->format);
    stx_import_options_t import = {
        .data = options->data, .path = argv [0], .format = format,
        .timeout = options->timeout, .dry_run = options->dry_run, .json = options->json,
        .colour = options->colour, .colour_err = s_colour_err,
        .connect = s_import_connect, .connect_arg = options
    };
    return stx_cmd_import (&import);
}

//  --------------------------------------------------------------------------
//  export [KIND]

static const stx_kind_t s_kinds [] = {
    STX_KIND_ORGANISATION, STX_KIND_INITIATIVE, STX_KIND_INFRASTRUCTURE, STX_KIND_MOMENT
};

static int
s_collect_entry (const Stemx__Event *event, void *arg)
{
    json_array_append_new ((json_t *) arg, stx_json_from_entry (event->entry));
    return 0;
}

//  The live entries of kind (or every kind, organisations first) matching
//  the filter, in the sample's JSON shape. Returns NULL with a message if
//  the catalogue cannot be read.
static json_t *
s_query_entries (options_t *options, stx_kind_t kind)
{
    stx_store_t *store = NULL;
    if (s_open_store (options, STX_STORE_QUERY, &store))
        return NULL;
    json_t *entries = json_array ();
    stx_txn_t *txn = NULL;
    stx_status_t rc = stx_store_begin (store, false, &txn);
    for (size_t k = 0; k < 4 && rc == STX_OK; k++)
        if (kind == STX_KIND_NONE || kind == s_kinds [k]) {
            options->filter.kind = s_kinds [k];
            rc = stx_txn_query (txn, &options->filter, s_collect_entry, entries);
        }
    stx_txn_abort (&txn);
    stx_store_destroy (&store);
    if (rc != STX_OK) {
        s_fail (EXIT_REFUSED, "query failed: %s", stx_strerror (rc));
        json_decref (entries);
        return NULL;
    }
    return entries;
}

//  Write entries (JSON objects) as CSV with the columns of kind.
static void
s_write_entries_csv (FILE *out, json_t *entries, stx_kind_t kind)
{
    const char *const *columns = stx_csv_columns (kind);
    size_t count = 0;
    while (columns [count])
        count++;
    stx_csv_write (out, (const char *const *) columns, count);
    size_t i;
    json_t *entry;
    json_array_foreach (entries, i, entry) {
        char **cells = stx_csv_cells (entry, columns, count);
        stx_csv_write (out, (const char *const *) cells, count);
        stx_csv_cells_free (cells, count);
    }
}

static int
s_cmd_export (options_t *options, int argc, char **argv)
{
    const command_t *command = s_find_command ("export");
    stx_kind_t kind = STX_KIND_NONE;
    if (argc == 1 && (kind = stx_kind_from_name (argv [0])) == STX_KIND_NONE)
        return s_usage_error (command, "unknown kind '%s' (organisation, initiative, "
                              "infrastructure or moment)", argv [0]);
    stx_format_t format = stx_format_named (options->format);
    if (options->format && format == STX_FORMAT_NONE)
        return s_usage_error (command, "--format takes json, ndjson or csv, not '%s'",
                              options->format);
    if ((options->json || options->csv) && options->format)
        return s_usage_error (command, "give either --format or --json / --csv");
    if (options->json)
        format = STX_FORMAT_JSON;
    if (options->csv)
        format = STX_FORMAT_CSV;
    if (format == STX_FORMAT_NONE && options->out)
        format = stx_format_of_path (options->out);
    if (format == STX_FORMAT_NONE)
        format = STX_FORMAT_JSON;

    json_t *entries = s_query_entries (options, kind);
    if (!entries)
        return EXIT_REFUSED;
    char temp [PATH_MAX];
    FILE *out = stdout;
    if (options->out) {
        //  Written aside and renamed, so a failed export leaves no half file
        snprintf (temp, sizeof temp, "%s.tmp%d", options->out, (int) getpid ());
        out = fopen (temp, "w");
        if (!out) {
            json_decref (entries);
            return s_fail (EXIT_REFUSED, "%s: %s", options->out, strerror (errno));
        }
    }
    if (format == STX_FORMAT_CSV)
        s_write_entries_csv (out, entries, kind);
    else
    if (format == STX_FORMAT_NDJSON) {
        size_t i;
        json_t *entry;
        json_array_foreach (entries, i, entry) {
            json_dumpf (entry, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fputc ('\n', out);
        }
    }
    else {
        json_dumpf (entries, out, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        fputc ('\n', out);
    }
    size_t count = json_array_size (entries);
    json_decref (entries);
    if (options->out) {
        bool failed = ferror (out) != 0;
        failed |= fclose (out) != 0;
        if (failed || rename (temp, options->out) != 0) {
            unlink (temp);
            return s_fail (EXIT_REFUSED, "%s: %s", options->out, strerror (errno));
        }
        fprintf (stderr, "stemx: exported %zu entries to %s (%s)\n", count, options->out,
                 stx_format_name (format));
    }
    else
    if (fflush (stdout) != 0)
        return s_fail (EXIT_REFUSED, "cannot write: %s", strerror (errno));
    return 0;
}

//  --------------------------------------------------------------------------
//  list KIND

typedef struct {
    options_t *options;
    stx_kind_t kind;
    json_t *rows;               //  arrays of cell strings (table and CSV)
    json_t *array;              //  --json: the events
} list_t;

static const char *
s_org (const Stemx__Partner *partner)
{
    return partner ? partner->org : "";
}

static void
s_join (char *out, size_t size, char **items, size_t count)
{
    *out = 0;
    for (size_t i = 0; i < count; i++) {
        size_t used = strlen (out);
        snprintf (out + used, size - used, "%s%s", i ? ", " : "", items [i]);
    }
}

static const char *s_org_h [] = { "KEY", "NAME", "PILLAR", "KIND", "REGION" };
static const char *s_ini_h [] = { "KEY", "TITLE", "OWNER", "START", "END", "STATUS", "OD" };
static const char *s_infra_h [] = { "KEY", "FACILITY", "PROVIDER", "OD", "MUNICIPALITY",
                                    "SEATS" };
static const char *s_moment_h [] = { "KEY", "DATE", "KIND", "TITLE", "MUNICIPALITY" };

static json_t *
s_row (size_t count, const char **cells)
{
    json_t *row = json_array ();
    for (size_t c = 0; c < count; c++)
        json_array_append_new (row, json_string (cells [c]? cells [c]: ""));
    return row;
}

static int
s_list_row (const Stemx__Event *event, void *arg)
{
    list_t *self = (list_t *) arg;
    if (self->array) {
        json_array_append_new (self->array, stx_json_from_event (event));
        return 0;
    }
    const Stemx__Entry *entry = event->entry;
    char buf [1024], num [32];
    json_t *row = NULL;
    switch (stx_entry_kind (entry)) {
        case STX_KIND_ORGANISATION: {
            const Stemx__Organisation *org = entry->organisation;
            const char *cells [] = { org->id, org->name, org->helix_pillar, org->kind,
                                     org->region };
            row = s_row (5, cells);
            break;
        }
        case STX_KIND_INITIATIVE: {
            const Stemx__Initiative *ini = entry->initiative;
            s_join (buf, sizeof buf, ini->od_codes, ini->n_od_codes);
            const char *cells [] = { ini->id, ini->title, s_org (ini->owner),
                ini->period? ini->period->start: "", ini->period? ini->period->end: "",
                ini->status, buf };
            row = s_row (7, cells);
            break;
        }
        case STX_KIND_INFRASTRUCTURE: {
            const Stemx__InfrastructureOpening *infra = entry->infrastructure;
            snprintf (num, sizeof num, "%u", infra->capacity
                      ? infra->capacity->participants_per_session : 0);
            const char *cells [] = { infra->id, infra->facility, s_org (infra->provider),
                infra->od_code, infra->location? infra->location->municipality: "", num };
            row = s_row (6, cells);
            break;
        }
        case STX_KIND_MOMENT: {
            const Stemx__NetworkMoment *moment = entry->moment;
            const char *cells [] = { moment->id, moment->date, moment->kind, moment->title,
                moment->location? moment->location->municipality: "" };
            row = s_row (5, cells);
            break;
        }
        case STX_KIND_NONE:
            break;
    }
    if (row)
        json_array_append_new (self->rows, row);
    return 0;
}

//  What to call count entries of kind in a sentence.
static const char *
s_kind_noun (stx_kind_t kind, size_t count)
{
    switch (kind) {
        case STX_KIND_ORGANISATION:   return count == 1 ? "organisation" : "organisations";
        case STX_KIND_INITIATIVE:     return count == 1 ? "initiative" : "initiatives";
        case STX_KIND_INFRASTRUCTURE: return count == 1 ? "infrastructure opening"
                                                        : "infrastructure openings";
        case STX_KIND_MOMENT:         return count == 1 ? "network moment" : "network moments";
        case STX_KIND_NONE:           break;
    }
    return "entries";
}

//  Print rows (arrays of strings) under header as a table or as CSV.
static void
s_print_rows (options_t *options, size_t columns, const char **header, json_t *rows)
{
    if (options->csv) {
        //  Machine headers: lower case
        char names [columns][32];
        const char *lower [columns];
        for (size_t c = 0; c < columns; c++) {
            snprintf (names [c], sizeof names [c], "%s", header [c]);
            for (char *p = names [c]; *p; p++)
                *p = (char) tolower ((unsigned char) *p);
            lower [c] = names [c];
        }
        s_print_csv (columns, lower, rows);
        return;
    }
    stx_table_t *table = stx_table_new (columns, header);
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *cells [columns];
        for (size_t c = 0; c < columns; c++)
            cells [c] = json_string_value (json_array_get (row, c));
        stx_table_add (table, cells);
    }
    s_print_table (table, options);
    stx_table_destroy (&table);
}

static int
s_cmd_list (options_t *options, int argc, char **argv)
{
    stx_kind_t kind = stx_kind_from_name (argv [0]);
    if (kind == STX_KIND_NONE)
        return s_usage_error (s_find_command ("list"),
            "unknown kind '%s' (organisation, initiative, infrastructure or moment)", argv [0]);
    options->filter.kind = kind;
    stx_store_t *store = NULL;
    if (s_open_store (options, STX_STORE_QUERY, &store))
        return EXIT_REFUSED;

    list_t list = { options, kind, json_array (), NULL };
    if (options->json)
        list.array = json_array ();
    stx_txn_t *txn = NULL;
    stx_status_t rc = stx_store_begin (store, false, &txn);
    if (rc == STX_OK) {
        rc = stx_txn_query (txn, &options->filter, s_list_row, &list);
        stx_txn_abort (&txn);
    }
    stx_store_destroy (&store);
    int result = 0;
    if (rc != STX_OK)
        result = s_fail (EXIT_REFUSED, "query failed: %s", stx_strerror (rc));
    else
    if (options->json)
        s_print_json (list.array);
    else {
        const char **header = kind == STX_KIND_ORGANISATION? s_org_h
                            : kind == STX_KIND_INITIATIVE? s_ini_h
                            : kind == STX_KIND_INFRASTRUCTURE? s_infra_h: s_moment_h;
        size_t columns = kind == STX_KIND_ORGANISATION? 5: kind == STX_KIND_INITIATIVE? 7
                       : kind == STX_KIND_INFRASTRUCTURE? 6: 5;
        s_print_rows (options, columns, header, list.rows);
        if (!options->csv) {
            size_t rows = json_array_size (list.rows);
            printf ("%zu %s\n", rows, s_kind_noun (kind, rows));
        }
    }
    json_decref (list.rows);
    json_decref (list.array);
    return result;
}

//  --------------------------------------------------------------------------
//  show KEY

//  Print a JSON value for people: "field: value" lines, nested objects
//  indented, lists of scalars joined by commas.
static void
s_print_value (options_t *options, const char *name, json_t *value, int depth)
{
    bool c = options->colour && depth == 0;
    char *safe = stx_text_escape (name);
    printf ("%*s%s%s%s:", depth * 2, "", STX_BOLD (c), safe, STX_RESET (c));
    free (safe);
    if (json_is_object (value)) {
        putchar ('\n');
        const char *key;
        json_t *item;
        json_object_foreach (value, key, item)
            s_print_value (options, key, item, depth + 1);
        return;
    }
    if (json_is_array (value)) {
        bool scalars = true;
        size_t i;
        json_t *item;
        json_array_foreach (value, i, item)
            if (json_is_object (item) || json_is_array (item))
                scalars = false;
        if (!scalars) {
            putchar ('\n');
            json_array_foreach (value, i, item) {
                char label [32];
                snprintf (label, sizeof label, "[%zu]", i + 1);
                s_print_value (options, label, item, depth + 1);
            }
            return;
        }
        json_array_foreach (value, i, item) {
            char *text = json_dumps (item, JSON_ENCODE_ANY);
            safe = stx_text_escape (json_is_string (item)? json_string_value (item): text);
            printf ("%s %s", i ? "," : "", safe);
            free (safe);
            free (text);
        }
        putchar ('\n');
        return;
    }
    if (json_is_string (value)) {
        safe = stx_text_escape (json_string_value (value));
        printf (" %s\n", safe);
        free (safe);
    }
    else {
        char *text = json_dumps (value, JSON_ENCODE_ANY);
        printf (" %s\n", text);
        free (text);
    }
}

//  Check who signed event against the node's trust folder and record the
//  verdict as json._signature {valid, signer, org, retired, text}. Returns
//  0 if valid, EXIT_REFUSED if not, EXIT_USAGE without a trust folder.
static int
s_verify (options_t *options, const Stemx__Event *event, json_t *json)
{
    char keys [PATH_MAX], retired [PATH_MAX + 16], err [STX_ERRLEN] = "";
    if (options->keys)
        snprintf (keys, sizeof keys, "%s", options->keys);
    else {
        //  An agent's trust store, or a broker's registry
        snprintf (keys, sizeof keys, "%s/trust", options->data);
        if (!s_is_dir (keys))
            snprintf (keys, sizeof keys, "%s/registry", options->data);
    }
    if (!s_is_dir (keys))
        return s_usage_error (s_find_command ("show"),
            "--verify needs the partners' public keys: no %s/trust or %s/registry; give --keys DIR",
            options->data, options->data);
    snprintf (retired, sizeof retired, "%s-retired", keys);
    stx_registry_t *registry = NULL;
    stx_status_t rc = stx_registry_load (keys, s_is_dir (retired)? retired: NULL, &registry,
                                         err, sizeof err);
    if (rc != STX_OK) {
        s_fail (EXIT_REFUSED, "cannot load the keys in %s: %s", keys, err);
        return EXIT_USAGE;
    }
    char signer [STX_SIGN_PUBLIC_SIZE * 2 + 1] = "";
    if (event->signer.len == STX_SIGN_PUBLIC_SIZE)
        stx_hex (event->signer.data, STX_SIGN_PUBLIC_SIZE, signer);
    const stx_key_t *key = event->signer.len == STX_SIGN_PUBLIC_SIZE
                         ? stx_registry_by_sign (registry, event->signer.data): NULL;
    rc = stx_sign_verify (event, registry, err, sizeof err);
    char text [STX_ERRLEN + 128];
    if (rc == STX_OK)
        snprintf (text, sizeof text, "valid, signed by %s%s (key %.16s…, %s)", key->org,
                  key->retired? " with a retired key": "", signer, key->file);
    else
        snprintf (text, sizeof text, "NOT VALID: %s", err);
    json_object_set_new (json, "_signature", json_pack ("{s:b, s:s, s:s, s:b, s:s}",
        "valid", rc == STX_OK, "signer", signer, "org", key? key->org: "",
        "retired", key? key->retired: false, "text", text));
    stx_registry_destroy (&registry);
    return rc == STX_OK? 0: EXIT_REFUSED;
}

//  Latest event of key from the node's catalogue; prints why not.
static int
s_get_event (options_t *options, const char *key, Stemx__Event **event_p)
{
    stx_store_t *store = NULL;
    if (s_open_store (options, 0, &store))
        return EXIT_REFUSED;
    stx_txn_t *txn = NULL;
    stx_status_t rc = stx_store_begin (store, false, &txn);
    if (rc == STX_OK) {
        rc = stx_txn_get (txn, key, event_p);
        stx_txn_abort (&txn);
    }
    stx_store_destroy (&store);
    if (rc == STX_ERR_NOT_FOUND)
        return s_fail (EXIT_REFUSED, "%s: not found", key);
    if (rc != STX_OK)
        return s_fail (EXIT_REFUSED, "%s: %s", key, stx_strerror (rc));
    return 0;
}

static int
s_cmd_show (options_t *options, int argc, char **argv)
{
    Stemx__Event *event = NULL;
    if (s_get_event (options, argv [0], &event))
        return EXIT_REFUSED;
    json_t *json = stx_json_from_event (event);
    int result = 0;
    if (options->verify) {
        result = s_verify (options, event, json);
        if (result == EXIT_USAGE) {
            json_decref (json);
            stx_event_free (&event);
            return result;
        }
    }
    if (options->json)
        s_print_json (json);
    else
    if (options->csv) {
        //  The entry as export writes it, so import takes it back
        json_t *entries = json_array ();
        if (event->op == STEMX__OPERATION__OP_UPSERT)
            json_array_append_new (entries, stx_json_from_entry (event->entry));
        s_write_entries_csv (stdout, entries, stx_kind_of_key (event->key));
        json_decref (entries);
    }
    else {
        if (event->op == STEMX__OPERATION__OP_WITHDRAW)
            printf ("%s was withdrawn at sequence %" PRIu64 "\n", event->key, event->seq);
        const char *key;
        json_t *value;
        json_object_foreach (json, key, value)
            if (strcmp (key, "_signature") != 0)
                s_print_value (options, key, value, 0);
    }
    if (options->verify && !options->json)
        fprintf (options->csv? stderr: stdout, "signature: %s\n", json_string_value (
            json_object_get (json_object_get (json, "_signature"), "text")));
    json_decref (json);
    stx_event_free (&event);
    return result;
}

//  --------------------------------------------------------------------------
//  search TEXT...

typedef struct {
    char *terms [SEARCH_TERMS_MAX];
    size_t count;
} terms_t;

static int
s_add_term (const char *token, void *arg)
{
    terms_t *self = (terms_t *) arg;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->terms [i], token) == 0)
            return 0;
    if (self->count == SEARCH_TERMS_MAX)
        return 1;
    self->terms [self->count++] = strdup (token);
    return 0;
}

//  Rows of the search results, for s_print_rows and --json
typedef struct {
    const terms_t *terms;
    json_t *json;
    json_t *rows;
} search_out_t;

static int
s_search_row (const stx_search_hit_t *hit, void *arg)
{
    search_out_t *self = (search_out_t *) arg;
    json_t *matched = json_array ();
    char words [256] = "";
    for (size_t t = 0; t < self->terms->count; t++)
        if (hit->mask & (1u << t)) {
            json_array_append_new (matched, json_string (self->terms->terms [t]));
            size_t used = strlen (words);
            snprintf (words + used, sizeof words - used, "%s%s", used? ", ": "",
                      self->terms->terms [t]);
        }
    const char *kind_name = stx_kind_name (stx_entry_kind (hit->event->entry));
    const char *title = stx_index_title (hit->event->entry);
    char score [32];
    snprintf (score, sizeof score, "%d/%zu", hit->matched, self->terms->count);
    json_array_append_new (self->json, json_pack ("{s:s, s:s, s:s, s:i, s:i, s:o}",
        "key", hit->key, "kind", kind_name, "title", title,
        "terms_matched", hit->matched, "title_matches", hit->in_title,
        "matched", matched));
    const char *cells [] = { hit->key, kind_name, title, score, words };
    json_array_append_new (self->rows, s_row (5, cells));
    return 0;
}

static int
s_cmd_search (options_t *options, int argc, char **argv)
{
    const command_t *command = s_find_command ("search");
    stx_kind_t kind = STX_KIND_NONE;
    if (options->kind && (kind = stx_kind_from_name (options->kind)) == STX_KIND_NONE)
        return s_usage_error (command, "unknown kind '%s'", options->kind);
    terms_t terms = { { NULL }, 0 };
    for (int i = 0; i < argc; i++)
        stx_index_tokens (argv [i], s_add_term, &terms);
    if (terms.count == 0)
        return s_usage_error (command, "nothing to search for: give words of at least 3 "
                              "letters that are not stop words (de, het, the, ...)");
    stx_store_t *store = NULL;
    if (s_open_store (options, STX_STORE_QUERY, &store)) {
        for (size_t t = 0; t < terms.count; t++)
            free (terms.terms [t]);
        return EXIT_REFUSED;
    }
    //  Ranked through the word index: only what is printed is loaded
    options->filter.kind = kind;
    search_out_t out = { &terms, json_array (), json_array () };
    size_t found = 0;
    stx_txn_t *txn = NULL;
    stx_status_t rc = stx_store_begin (store, false, &txn);
    if (rc == STX_OK)
        rc = stx_search (txn, terms.terms, terms.count, &options->filter,
                         options->limit > 0? (size_t) options->limit: 0, s_search_row, &out,
                         &found);
    stx_txn_abort (&txn);
    stx_store_destroy (&store);
    int result = 0;
    if (rc != STX_OK)
        result = s_fail (EXIT_REFUSED, "search failed: %s", stx_strerror (rc));
    else {
        size_t shown = json_array_size (out.json);
        if (options->json)
            s_print_json (out.json);
        else {
            const char *header [] = { "KEY", "KIND", "TITLE", "SCORE", "MATCHED" };
            s_print_rows (options, 5, header, out.rows);
            if (!options->csv) {
                if (shown < found)
                    printf ("%zu of %zu matches (--limit 0 shows all)\n", shown, found);
                else
                    printf ("%zu %s\n", found, found == 1? "match": "matches");
            }
        }
    }
    json_decref (out.json);
    json_decref (out.rows);
    for (size_t t = 0; t < terms.count; t++)
        free (terms.terms [t]);
    return result;
}

//  --------------------------------------------------------------------------
//  history KEY

//  Collect the fields of an entry's JSON as path -> value, nested objects
//  dotted (period.start); lists stay whole.
static void
s_flatten (json_t *flat, const char *path, json_t *value)
{
    if (json_is_object (value)) {
        const char *key;
        json_t *item;
        json_object_foreach (value, key, item) {
            char sub [256];
            snprintf (sub, sizeof sub, "%s%s%s", path, *path? ".": "", key);
            s_flatten (flat, sub, item);
        }
    }
    else
        json_object_set (flat, path, value);
}

//  How a list item reads in a change: strings as they are, a partner as
//  its organisation, anything else as compact JSON. Caller frees.
static char *
s_item_text (json_t *item)
{
    if (json_is_string (item))
        return strdup (json_string_value (item));
    json_t *org = json_object_get (item, "org");
    if (json_is_string (org) && json_object_size (item) <= 2)
        return strdup (json_string_value (org));
    return json_dumps (item, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
}

static bool
s_list_has (json_t *list, json_t *item)
{
    size_t i;
    json_t *other;
    json_array_foreach (list, i, other)
        if (json_equal (other, item))
            return true;
    return false;
}

//  A short quoted form of a scalar for a change line.
static void
s_quote (char *out, size_t size, json_t *value)
{
    if (!value) {
        snprintf (out, size, "(none)");
        return;
    }
    char *text = json_is_string (value)? strdup (json_string_value (value))
                                       : json_dumps (value, JSON_ENCODE_ANY | JSON_COMPACT);
    size_t len = strlen (text);
    //  Cut long texts at a character boundary
    if (len > 60) {
        size_t cut = 57;
        while (cut > 0 && ((unsigned char) text [cut] & 0xC0) == 0x80)
            cut--;
        snprintf (out, size, "'%.*s…'", (int) cut, text);
    }
    else
        snprintf (out, size, json_is_string (value)? "'%s'": "%s", text);
    free (text);
}

//  The changes from entry before to entry after (JSON objects): a list of
//  {field, old, new} for values and {field, added, removed} for lists,
//  each with a "text" line for people.
static json_t *
s_diff (json_t *before, json_t *after)
{
    json_t *old_flat = json_object (), *new_flat = json_object ();
    s_flatten (old_flat, "", before);
    s_flatten (new_flat, "", after);
    json_t *changes = json_array ();
    json_t *fields = json_array ();
    const char *key;
    json_t *value;
    json_object_foreach (new_flat, key, value)
        json_array_append_new (fields, json_string (key));
    json_object_foreach (old_flat, key, value)
        if (!json_object_get (new_flat, key))
            json_array_append_new (fields, json_string (key));
    size_t f;
    json_t *field;
    json_array_foreach (fields, f, field) {
        const char *name = json_string_value (field);
        json_t *was = json_object_get (old_flat, name);
        json_t *now = json_object_get (new_flat, name);
        if (json_equal (was, now))
            continue;
        if ((json_is_array (was) || !was) && (json_is_array (now) || !now)) {
            json_t *added = json_array (), *removed = json_array ();
            char text [1024];
            snprintf (text, sizeof text, "%s:", name);
            size_t i;
            json_t *item;
            json_array_foreach (now, i, item)
                if (!was || !s_list_has (was, item)) {
                    char *t = s_item_text (item);
                    json_array_append_new (added, json_string (t));
                    size_t used = strlen (text);
                    snprintf (text + used, sizeof text - used, " +%s", t);
                    free (t);
                }
            json_array_foreach (was, i, item)
                if (!now || !s_list_has (now, item)) {
                    char *t = s_item_text (item);
                    json_array_append_new (removed, json_string (t));
                    size_t used = strlen (text);
                    snprintf (text + used, sizeof text - used, " -%s", t);
                    free (t);
                }
            if (json_array_size (added) + json_array_size (removed) == 0)
                snprintf (text + strlen (text), sizeof text - strlen (text), " reordered");
            json_array_append_new (changes, json_pack ("{s:s, s:o, s:o, s:s}", "field", name,
                                   "added", added, "removed", removed, "text", text));
            continue;
        }
        char old_text [128], new_text [128], text [300];
        s_quote (old_text, sizeof old_text, was);
        s_quote (new_text, sizeof new_text, now);
        snprintf (text, sizeof text, "%s: %s -> %s", name, old_text, new_text);
        json_t *change = json_pack ("{s:s}", "field", name);
        json_object_set (change, "old", was? was: json_null ());
        json_object_set (change, "new", now? now: json_null ());
        json_object_set_new (change, "text", json_string (text));
        json_array_append_new (changes, change);
    }
    json_decref (fields);
    json_decref (old_flat);
    json_decref (new_flat);
    return changes;
}

typedef struct {
    json_t *versions;           //  one object per event
    json_t *previous;           //  the entry before, NULL after none or a withdrawal
    bool first;
    stx_status_t rc;
} history_t;

static int
s_history_event (uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    history_t *self = (history_t *) arg;
    Stemx__Event *event = NULL;
    if (stx_event_unpack (data, size, &event) != STX_OK) {
        self->rc = STX_ERR_MALFORMED;
        return 1;
    }
    char time [32], signer [24];
    stx_iso_time (event->broker_time_ms, time, sizeof time);
    s_signer (event, signer, sizeof signer);
    json_t *version = json_pack ("{s:I, s:s, s:s, s:I, s:s, s:s}",
        "seq", (json_int_t) seq, "time", time, "op", s_op_name (event->op),
        "version", (json_int_t) event->version, "origin", event->origin, "signer", signer);
    json_t *changes;
    if (event->op == STEMX__OPERATION__OP_UPSERT && event->entry) {
        json_t *entry = stx_json_from_entry (event->entry);
        if (self->previous)
            changes = s_diff (self->previous, entry);
        else {
            const char *what = self->first && event->version > 1
                ? "earliest version still kept": event->version > 1? "published again"
                : "created";
            changes = json_pack ("[{s:s}]", "text", what);
        }
        json_decref (self->previous);
        self->previous = entry;
    }
    else {
        changes = json_pack ("[{s:s}]", "text", "withdrawn");
        json_decref (self->previous);
        self->previous = NULL;
    }
    json_object_set_new (version, "changes", changes);
    json_array_append_new (self->versions, version);
    self->first = false;
    stx_event_free (&event);
    return 0;
}

static int
s_cmd_history (options_t *options, int argc, char **argv)
{
    const char *key = argv [0];
    stx_store_t *store = NULL;
    if (s_open_store (options, 0, &store))
        return EXIT_REFUSED;
    history_t history = { json_array (), NULL, true, STX_OK };
    stx_meta_t meta;
    Stemx__Event *current = NULL;
    stx_txn_t *txn = NULL;
    stx_status_t rc = stx_store_begin (store, false, &txn);
    if (rc == STX_OK)
        rc = stx_txn_meta (txn, &meta);
    if (rc == STX_OK)
        rc = stx_txn_get (txn, key, &current);
    if (rc == STX_OK)
        rc = stx_txn_history (txn, key, s_history_event, &history);
    if (rc == STX_OK)
        rc = history.rc;
    stx_txn_abort (&txn);
    stx_store_destroy (&store);
    json_decref (history.previous);
    int result = 0;
    if (rc == STX_ERR_NOT_FOUND)
        result = s_fail (EXIT_REFUSED, "%s: not found", key);
    else
    if (rc != STX_OK)
        result = s_fail (EXIT_REFUSED, "%s: %s", key, stx_strerror (rc));
    if (result) {
        json_decref (history.versions);
        stx_event_free (&current);
        return result;
    }
    //  The history database cannot tell what went below the log horizon
    char horizon [160] = "";
    if (meta.log_first > 1)
        snprintf (horizon, sizeof horizon, "history before sequence %" PRIu64
                  " is no longer kept", meta.log_first);
    if (options->json) {
        json_t *json = json_pack ("{s:s, s:I, s:I, s:o}", "key", key,
            "current_version", (json_int_t) current->version,
            "log_first", (json_int_t) meta.log_first, "versions", history.versions);
        if (*horizon)
            json_object_set_new (json, "note", json_string (horizon));
        s_print_json (json);
        json_decref (json);
    }
    else {
        const char *header [] = { "SEQ", "TIME", "OP", "VERSION", "ORIGIN", "SIGNER",
                                  "CHANGES" };
        json_t *rows = json_array ();
        size_t i;
        json_t *version;
        json_array_foreach (history.versions, i, version) {
            char seq [24], number [24];
            snprintf (seq, sizeof seq, "%" JSON_INTEGER_FORMAT,
                      json_integer_value (json_object_get (version, "seq")));
            snprintf (number, sizeof number, "%" JSON_INTEGER_FORMAT,
                      json_integer_value (json_object_get (version, "version")));
            json_t *changes = json_object_get (version, "changes");
            size_t c;
            json_t *change;
            if (options->csv) {
                //  One row per version, its changes joined
                char text [4096] = "";
                json_array_foreach (changes, c, change) {
                    size_t used = strlen (text);
                    snprintf (text + used, sizeof text - used, "%s%s", used? "; ": "",
                              json_string_value (json_object_get (change, "text")));
                }
                const char *cells [] = { seq, json_string_value (json_object_get (version, "time")),
                    json_string_value (json_object_get (version, "op")), number,
                    json_string_value (json_object_get (version, "origin")),
                    json_string_value (json_object_get (version, "signer")), text };
                json_array_append_new (rows, s_row (7, cells));
                continue;
            }
            //  People: one line per change, the version's columns on the first
            json_array_foreach (changes, c, change) {
                const char *text = json_string_value (json_object_get (change, "text"));
                const char *cells [] = { c? "": seq,
                    c? "": json_string_value (json_object_get (version, "time")),
                    c? "": json_string_value (json_object_get (version, "op")),
                    c? "": number,
                    c? "": json_string_value (json_object_get (version, "origin")),
                    c? "": json_string_value (json_object_get (version, "signer")), text };
                json_array_append_new (rows, s_row (7, cells));
            }
        }
        if (*horizon && !options->csv)
            printf ("%s (%s)\n", key, horizon);
        s_print_rows (options, 7, header, rows);
        if (!options->csv) {
            size_t shown = json_array_size (history.versions);
            printf ("%zu event%s; current version %" PRIu64 "%s\n", shown, shown == 1? "": "s",
                    current->version,
                    current->op == STEMX__OPERATION__OP_WITHDRAW? " (withdrawn)": "");
        }
        json_decref (rows);
        json_decref (history.versions);
    }
    stx_event_free (&current);
    return 0;
}

//  --------------------------------------------------------------------------
//  tail

static volatile sig_atomic_t s_interrupted = 0;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_interrupted = 1;
}

//  Does event match the tail's filter? Withdrawals carry no entry: they
//  match on their key's kind and their owner (--org) alone.
static bool
s_tail_match (const Stemx__Event *event, const stx_filter_t *filter)
{
    if (event->op == STEMX__OPERATION__OP_UPSERT)
        return stx_index_match (event->entry, filter);
    if (filter->kind != STX_KIND_NONE && filter->kind != stx_kind_of_key (event->key))
        return false;
    if (filter->org && *filter->org && strcmp (filter->org, event->owner) != 0)
        return false;
    return !(filter->od || filter->helix || filter->municipality || filter->theme
          || filter->status || filter->from || filter->to);
}

static void
s_tail_print (options_t *options, const Stemx__Event *event)
{
    if (options->json) {
        json_t *json = stx_json_from_event (event);
        char *text = json_dumps (json, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts (text);
        free (text);
        json_decref (json);
        return;
    }
    char time [32], seq [24], version [24];
    stx_iso_time (event->broker_time_ms, time, sizeof time);
    s_format_u64 (seq, sizeof seq, event->seq);
    s_format_u64 (version, sizeof version, event->version);
    const char *title = event->op == STEMX__OPERATION__OP_UPSERT
                      ? stx_index_title (event->entry): "";
    if (options->csv) {
        const char *cells [] = { seq, time, s_op_name (event->op), event->key, version,
                                 event->origin, title };
        stx_csv_write (stdout, cells, 7);
        return;
    }
    bool c = options->colour;
    char *safe_key = stx_text_escape (event->key), *safe_origin = stx_text_escape (event->origin),
         *safe_title = stx_text_escape (title);
    printf ("%s  %s%8s%s  %-8s  %s%-40s%s  v%-3s  %-20s  %s\n", time, STX_DIM (c), seq,
            STX_RESET (c), s_op_name (event->op), STX_BOLD (c), safe_key, STX_RESET (c),
            version, safe_origin, safe_title);
    free (safe_key);
    free (safe_origin);
    free (safe_title);
}

static int
s_cmd_tail (options_t *options, int argc, char **argv)
{
    if (options->kind
    &&  (options->filter.kind = stx_kind_from_name (options->kind)) == STX_KIND_NONE)
        return s_usage_error (s_find_command ("tail"), "unknown kind '%s'", options->kind);
    stx_store_t *store = NULL;
    if (s_open_store (options, 0, &store))
        return EXIT_REFUSED;
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);

    stx_meta_t meta;
    stx_status_t rc = stx_store_meta (store, &meta);
    uint64_t next = options->from_seq? options->from_seq: meta.seq + 1;
    if (rc == STX_OK && next < meta.log_first) {
        fprintf (stderr, "stemx: events before sequence %" PRIu64 " are no longer kept; "
                 "starting there\n", meta.log_first);
        next = meta.log_first;
    }
    uint8_t lineage [STX_LINEAGE_SIZE];
    memcpy (lineage, meta.lineage, sizeof lineage);
    if (options->csv) {
        const char *header [] = { "seq", "time", "op", "key", "version", "origin", "title" };
        stx_csv_write (stdout, header, 7);
    }
    fflush (stdout);
    while (rc == STX_OK && !s_interrupted) {
        rc = stx_store_meta (store, &meta);
        if (rc != STX_OK)
            break;
        if (meta.has_lineage && memcmp (lineage, meta.lineage, sizeof lineage) != 0) {
            //  The node took a fresh snapshot of another catalogue
            fprintf (stderr, "stemx: the catalogue was replaced (new lineage); following it "
                     "from sequence %" PRIu64 "\n", meta.seq + 1);
            memcpy (lineage, meta.lineage, sizeof lineage);
            next = meta.seq + 1;
        }
        if (next < meta.log_first)
            next = meta.log_first;      //  a snapshot skipped these
        //  Short read transactions: at most 1000 events each
        while (rc == STX_OK && next <= meta.seq && !s_interrupted) {
            stx_txn_t *txn = NULL;
            rc = stx_store_begin (store, false, &txn);
            for (size_t n = 0; rc == STX_OK && n < 1000 && next <= meta.seq; n++, next++) {
                const uint8_t *data;
                size_t size;
                stx_status_t found = stx_txn_log_get (txn, next, &data, &size);
                if (found == STX_ERR_NOT_FOUND)
                    continue;
                Stemx__Event *event = NULL;
                if (found != STX_OK || stx_event_unpack (data, size, &event) != STX_OK) {
                    rc = found != STX_OK? found: STX_ERR_MALFORMED;
                    break;
                }
                if (s_tail_match (event, &options->filter))
                    s_tail_print (options, event);
                stx_event_free (&event);
            }
            stx_txn_abort (&txn);
            fflush (stdout);
        }
        if (rc == STX_OK && !s_interrupted) {
            struct timespec pause = { 0, TAIL_POLL_MS * 1000000L };
            nanosleep (&pause, NULL);
        }
    }
    stx_store_destroy (&store);
    if (rc != STX_OK)
        return s_fail (EXIT_REFUSED, "cannot read the catalogue: %s", stx_strerror (rc));
    return 0;
}

//  --------------------------------------------------------------------------
//  status

//  Add what a broker reports in DIR/status.json (refusals per reason,
//  accepted events, peers) to json, with "running" telling whether the
//  broker that wrote it is still alive.
static void
s_broker_status (options_t *options, json_t *json)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/status.json", options->data);
    json_t *report = json_load_file (path, 0, NULL);
    bool running = false;
    if (report) {
        json_int_t pid = json_integer_value (json_object_get (report, "pid"));
        running = pid > 0 && (kill ((pid_t) pid, 0) == 0 || errno == EPERM);
        json_object_set (json, "counted_at_seq", json_object_get (report, "seq"));
        const char *fields [] = { "started", "insecure", "registry_keys", "peers", "accepted",
                                  "refusals", "disconnected_revoked", "last_reload",
                                  "replies" };
        for (size_t i = 0; i < sizeof fields / sizeof fields [0]; i++) {
            json_t *value = json_object_get (report, fields [i]);
            if (value)
                json_object_set (json, fields [i], value);
        }
        json_decref (report);
    }
    json_object_set_new (json, "running", json_boolean (running));
}

static void
s_print_broker_status (json_t *json)
{
    if (!json_is_true (json_object_get (json, "running"))) {
        printf ("broker     not running\n");
        return;
    }
    printf ("broker     running since %s%s\n",
            json_string_value (json_object_get (json, "started")) ?: "?",
            json_is_true (json_object_get (json, "insecure")) ? " (INSECURE: no CURVE)" : "");
    printf ("peers      %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " registered keys)\n",
            json_integer_value (json_object_get (json, "peers")),
            json_integer_value (json_object_get (json, "registry_keys")));
    //  The broker rewrites its counters once per heartbeat at most
    json_int_t counted = json_integer_value (json_object_get (json, "counted_at_seq"));
    if (counted != json_integer_value (json_object_get (json, "seq")))
        printf ("counters   as of sequence %" JSON_INTEGER_FORMAT " (written once a second)\n",
                counted);
    printf ("accepted   %" JSON_INTEGER_FORMAT " events since start\n",
            json_integer_value (json_object_get (json, "accepted")));
    const char *reason;
    json_t *count;
    json_int_t total = 0;
    json_object_foreach (json_object_get (json, "refusals"), reason, count)
        total += json_integer_value (count);
    printf ("refused    %" JSON_INTEGER_FORMAT " events\n", total);
    json_object_foreach (json_object_get (json, "refusals"), reason, count)
        if (json_integer_value (count))
            printf ("  %-18s %" JSON_INTEGER_FORMAT "\n", reason, json_integer_value (count));
    json_t *replies = json_object_get (json, "replies");
    json_int_t held = json_integer_value (json_object_get (replies, "held"));
    json_int_t dropped = json_integer_value (json_object_get (replies, "dropped"));
    if (held || dropped)
        printf ("replies    %" JSON_INTEGER_FORMAT " waiting (%" JSON_INTEGER_FORMAT
                " bytes), %" JSON_INTEGER_FORMAT " dropped for peers that do not read\n",
                held, json_integer_value (json_object_get (replies, "held_bytes")), dropped);
}

static int
s_cmd_status (options_t *options, int argc, char **argv)
{
    stx_store_t *store = NULL;
    if (s_open_store (options, 0, &store))
        return EXIT_REFUSED;
    stx_meta_t meta;
    stx_status_t rc = stx_store_meta (store, &meta);
    stx_store_destroy (&store);
    if (rc != STX_OK)
        return s_fail (EXIT_REFUSED, "cannot read the catalogue: %s", stx_strerror (rc));

    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/outbox", options->data);
    bool agent = s_is_dir (path);
    char head [STX_HEAD_SIZE * 2 + 1], lineage [STX_LINEAGE_SIZE * 2 + 1];
    stx_hex (meta.head, STX_HEAD_SIZE, head);
    stx_hex (meta.lineage, STX_LINEAGE_SIZE, lineage);

    json_t *json = json_pack ("{s:s, s:I, s:s, s:s, s:I, s:I}",
        "role", agent ? "agent" : "broker",
        "seq", (json_int_t) meta.seq, "head", head,
        "lineage", meta.has_lineage ? lineage : "",
        "entries", (json_int_t) meta.entries, "log_first", (json_int_t) meta.log_first);

    if (agent) {
        uint64_t pending = 0, rejected = 0;
        stx_outbox_t *outbox = NULL;
        char err [STX_ERRLEN];
        if (stx_outbox_open (options->data, true, &outbox, err, sizeof err) == STX_OK) {
            stx_outbox_depth (outbox, &pending, &rejected);
            stx_outbox_destroy (&outbox);
        }
        json_object_set_new (json, "outbox", json_integer ((json_int_t) pending));
        json_object_set_new (json, "rejected", json_integer ((json_int_t) rejected));

        //  Only the running agent knows whether it hears the broker
        bool running = false, connected = false;
        zsock_t *sock = s_connect_agent (options, true);
        if (sock) {
            Stemx__StatusRequest status = STEMX__STATUS_REQUEST__INIT;
            Stemx__Request request = STEMX__REQUEST__INIT;
            request.body_case = STEMX__REQUEST__BODY_STATUS;
            request.status = &status;
            Stemx__Reply *reply = NULL;
            if (stx_wire_send_request (sock, &request) == 0
            &&  stx_wire_recv_reply (sock, 2000, &reply) == STX_OK
            &&  reply->body_case == STEMX__REPLY__BODY_STATUS) {
                running = true;
                connected = reply->status->connected;
                json_object_set_new (json, "node", json_string (reply->status->node));
                json_object_set_new (json, "broker", json_string (reply->status->broker));
                json_object_set_new (json, "broker_seq",
                                     json_integer ((json_int_t) reply->status->broker_seq));
                if (reply->status->error && *reply->status->error)
                    json_object_set_new (json, "error", json_string (reply->status->error));
                json_object_set_new (json, "unverified",
                                     json_integer ((json_int_t) reply->status->unverified));
            }
            stx_wire_reply_free (&reply);
            zsock_destroy (&sock);
        }
        json_object_set_new (json, "running", json_boolean (running));
        json_object_set_new (json, "connected", json_boolean (connected));
        //  A snapshot's signatures still to verify (the agent's own count
        //  while it runs; the whole catalogue if it stopped before the end)
        if (!json_object_get (json, "unverified"))
            json_object_set_new (json, "unverified",
                                 json_integer ((json_int_t) (meta.unverified? meta.entries: 0)));
    }

    if (!agent)
        s_broker_status (options, json);
    if (options->json)
        s_print_json (json);
    else
    if (options->csv) {
        //  field,value for every plain value (the JSON has the rest)
        const char *header [] = { "field", "value" };
        stx_csv_write (stdout, header, 2);
        const char *key;
        json_t *value;
        json_object_foreach (json, key, value) {
            if (json_is_object (value) || json_is_array (value))
                continue;
            char *text = json_is_string (value)? strdup (json_string_value (value))
                                               : json_dumps (value, JSON_ENCODE_ANY);
            const char *cells [] = { key, text };
            stx_csv_write (stdout, cells, 2);
            free (text);
        }
    }
    else {
        printf ("role       %s\n", agent ? "agent" : "broker");
        if (json_object_get (json, "node"))
            printf ("node       %s\n", json_string_value (json_object_get (json, "node")));
        printf ("sequence   %" PRIu64 "\n", meta.seq);
        printf ("head       %s\n", head);
        printf ("lineage    %s\n", meta.has_lineage ? lineage : "(none yet)");
        printf ("entries    %" PRIu64 "\n", meta.entries);
        if (meta.log_first <= meta.seq)
            printf ("log        %" PRIu64 "..%" PRIu64 "\n", meta.log_first, meta.seq);
        else
            printf ("log        empty\n");
        if (agent) {
            json_t *broker = json_object_get (json, "broker");
            if (!json_is_true (json_object_get (json, "running")))
                printf ("agent      not running\n");
            else
                printf ("connected  %s (%s, broker at %" JSON_INTEGER_FORMAT ")\n",
                        json_is_true (json_object_get (json, "connected")) ? "yes" : "no",
                        json_string_value (broker),
                        json_integer_value (json_object_get (json, "broker_seq")));
            json_int_t unverified = json_integer_value (json_object_get (json, "unverified"));
            if (unverified > 0)
                printf ("verifying  %" JSON_INTEGER_FORMAT " / %" PRIu64 " signatures of the "
                        "snapshot (queries are answered meanwhile)\n",
                        (json_int_t) meta.entries - unverified, meta.entries);
            if (json_object_get (json, "error"))
                printf ("REPLICATION HALTED: %s\n",
                        json_string_value (json_object_get (json, "error")));
            printf ("outbox     %" JSON_INTEGER_FORMAT " pending, %" JSON_INTEGER_FORMAT
                    " rejected\n",
                    json_integer_value (json_object_get (json, "outbox")),
                    json_integer_value (json_object_get (json, "rejected")));
        }
        else
            s_print_broker_status (json);
    }
    json_decref (json);
    return 0;
}

//  --------------------------------------------------------------------------
//  keygen ORG | --broker

static int
s_cmd_keygen (options_t *options, int argc, char **argv)
{
    const command_t *command = s_find_command ("keygen");
    if (options->broker == (argc == 1))
        return s_usage_error (command, "give either an organisation or --broker");
    if (!options->broker && !options->pillar)
        return s_usage_error (command, "--pillar is required for an organisation's key");
    if (options->broker && (options->pillar || options->roles))
        return s_usage_error (command, "the broker's key takes no --pillar or --roles");
    const char *dir = options->out? options->out: ".";
    char path [PATH_MAX], err [STX_ERRLEN] = "";
    stx_status_t rc = options->broker
        ? stx_identity_generate (dir, "broker", "", "", "", path, sizeof path, err, sizeof err)
        : stx_identity_generate (dir, NULL, argv [0], options->pillar,
                                 options->roles? options->roles: "publisher, reader",
                                 path, sizeof path, err, sizeof err);
    if (rc == STX_ERR_INVALID)
        return s_usage_error (command, "%s", err);
    if (rc != STX_OK)
        return s_fail (EXIT_REFUSED, "%s", *err? err: stx_strerror (rc));
    if (options->json) {
        json_t *json = json_pack ("{s:s, s:s+}", "public", path, "secret", path, "_secret");
        s_print_json (json);
        json_decref (json);
    }
    else
        printf ("public key  %s\nsecret key  %s_secret  (keep it private: mode 0600)\n",
                path, path);
    return 0;
}

//  --------------------------------------------------------------------------
//  report: the monitoring reports (cli/stx_cmd_report.c parses its own options)

static int
s_cmd_report (options_t *options, int argc, char **argv)
{
    return stx_cmd_report (options->data, argc, argv);
}

//  --------------------------------------------------------------------------
//  verify

static int
s_cmd_verify (options_t *options, int argc, char **argv)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/outbox", options->data);
    if (!s_is_dir (path))
        return s_fail (EXIT_REFUSED, "%s is not an agent's folder; verify compares an agent's "
                       "replica with its broker", options->data);
    zsock_t *agent = s_connect_agent (options, false);
    if (!agent)
        return EXIT_REFUSED;
    //  Verify waits for one round trip to the broker: seconds, not the
    //  half minute a publish may take
    int timeout_ms = options->timeout_given? options->timeout * 1000: 5000;
    Stemx__VerifyRequest verify = STEMX__VERIFY_REQUEST__INIT;
    verify.timeout_ms = (uint32_t) timeout_ms;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_VERIFY;
    request.verify = &verify;
    Stemx__Reply *reply = NULL;
    stx_status_t rc = stx_wire_send_request (agent, &request) == 0
                    ? stx_wire_recv_reply (agent, timeout_ms + 2000, &reply): STX_ERR_IO;
    zsock_destroy (&agent);
    if (rc != STX_OK || reply->body_case != STEMX__REPLY__BODY_VERIFY) {
        stx_wire_reply_free (&reply);
        return s_fail (EXIT_REFUSED, "the agent did not answer (%s); is it running?",
                       rc == STX_OK? "unexpected reply": stx_strerror (rc));
    }
    const Stemx__Verify *v = reply->verify;
    char local [STX_HEAD_SIZE * 2 + 1] = "", broker [STX_HEAD_SIZE * 2 + 1] = "",
         at_local [STX_HEAD_SIZE * 2 + 1] = "";
    if (v->local_head.len == STX_HEAD_SIZE)
        stx_hex (v->local_head.data, STX_HEAD_SIZE, local);
    if (v->broker_head.len == STX_HEAD_SIZE)
        stx_hex (v->broker_head.data, STX_HEAD_SIZE, broker);
    if (v->head_at_local.len == STX_HEAD_SIZE)
        stx_hex (v->head_at_local.data, STX_HEAD_SIZE, at_local);
    if (options->json) {
        json_t *json = json_pack ("{s:s, s:s, s:I, s:s, s:I, s:s, s:s}",
            "verdict", v->verdict, "text", v->text,
            "local_seq", (json_int_t) v->local_seq, "local_head", local,
            "broker_seq", (json_int_t) v->broker_seq, "broker_head", broker,
            "broker_head_at_local_seq", at_local);
        s_print_json (json);
        json_decref (json);
    }
    else {
        printf ("verdict    %s\n", v->verdict);
        printf ("           %s\n", v->text);
        printf ("local      %" PRIu64 "  %s\n", v->local_seq, local);
        printf ("broker     %" PRIu64 "  %s\n", v->broker_seq, *broker? broker: "(no answer)");
        if (*at_local && v->local_seq != v->broker_seq)
            printf ("broker at  %" PRIu64 "  %s\n", v->local_seq, at_local);
    }
    //  Agreement and lag are healthy; divergence, or not knowing, is not
    int result = strcmp (v->verdict, "agree") == 0 || strcmp (v->verdict, "lag") == 0
               ? 0: EXIT_REFUSED;
    stx_wire_reply_free (&reply);
    return result;
}

//  --------------------------------------------------------------------------
//  The command table: --help is printed from it

static int s_cmd_help (options_t *options, int argc, char **argv);

static const command_t s_commands [] = {
    { "list", s_cmd_list, 1, 1, (const int []) { FILTERS, O_JSON, O_CSV, 0 },
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
    { "show", s_cmd_show, 1, 1, (const int []) { O_VERIFY, O_KEYS, O_JSON, O_CSV, 0 },
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
    { "search", s_cmd_search, 1, -1,
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
    { "history", s_cmd_history, 1, 1, (const int []) { O_JSON, O_CSV, 0 },
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
    { "tail", s_cmd_tail, 0, 0,
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
    { "export", s_cmd_export, 0, 1,
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
    { "publish", s_cmd_publish, 1, 1, (const int []) { O_TIMEOUT, O_JSON, 0 },
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
    { "import", s_cmd_import, 1, 1,
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
    { "withdraw", s_cmd_withdraw, 1, 1, (const int []) { O_EXPECT, O_TIMEOUT, O_JSON, 0 },
      "withdraw KEY [--expect-version N] [--timeout SEC] [--json]",
      "withdraw an entry; the catalogue keeps a tombstone",
      "Only the organisation owning the entry, or an admin (VLAIO), may withdraw\n"
      "it. With --expect-version the broker refuses the withdrawal if the entry has\n"
      "changed since that version (compare-and-set). Exit status 1 if refused.\n\n"
      "Example:\n"
      "  stemx withdraw ini:stem-academie-gent --expect-version 3\n" },
    { "verify", s_cmd_verify, 0, 0, (const int []) { O_TIMEOUT, O_JSON, 0 },
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
    { "status", s_cmd_status, 0, 0, (const int []) { O_JSON, O_CSV, 0 },
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
    { "keygen", s_cmd_keygen, 0, 1,
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
        if (command->fn != s_cmd_help && command->fn != s_cmd_keygen)
            s_print_option (out, s_option_def (O_DATA));
        s_print_option (out, s_option_def (O_HELP));
    }
    if (*command->help)
        fprintf (out, "\n%s", command->help);
}

static int
s_usage_error (const command_t *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "%sstemx: ", STX_RED (s_colour_err));
    vfprintf (stderr, format, args);
    fprintf (stderr, "%s\n", STX_RESET (s_colour_err));
    va_end (args);
    if (command)
        fprintf (stderr, "usage: stemx [--data DIR] %s\n"
                 "try 'stemx %s --help'\n", command->usage, command->name);
    else
        fprintf (stderr, "try 'stemx --help'\n");
    return EXIT_USAGE;
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
    s_colour_err = stx_colour (stderr);

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
    if (command->fn != s_cmd_help && command->fn != s_cmd_keygen && !options.data)
        return s_usage_error (command, "no node folder: give --data DIR or set STEMX_DATA");
    return command->fn (&options, nargs, sub_argv + first);
}
