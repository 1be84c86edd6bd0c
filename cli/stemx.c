/*  =========================================================================
    stemx - the operators' command line

    Read commands (list, show, status) open the node's LMDB catalogue
    read-only, so they work the same on a broker's or an agent's data folder
    and whether its daemon runs or not. Write commands (publish) talk to the
    agent over its local endpoint (ipc in its data folder): the agent first
    stores the events in its durable outbox, then forwards them, and answers
    when the broker has answered.

    Commands live in one table (s_commands) from which --help is printed.
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
#include "stx_outbox.h"
#include "stx_wire.h"
#include "stx_validate.h"
#include "stx_cli_format.h"
#include "stx_keys.h"
#include "stx_sign.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2

//  Most events in one Publish request, and their packed bytes at most;
//  well below the broker's message limit.
#define PUBLISH_BATCH_EVENTS 256
#define PUBLISH_BATCH_BYTES  (512 * 1024)
//  Largest input file publish reads
#define INPUT_MAX_BYTES (64 * 1024 * 1024)

//  Which options a command accepts
#define OPT_JSON     1
#define OPT_FILTERS  2
#define OPT_TIMEOUT  4
#define OPT_KEYGEN   8
#define OPT_VERIFY   16
#define OPT_EXPECT   32

typedef struct {
    const char *data;           //  node data folder
    bool json;                  //  machine output
    int timeout;                //  seconds to wait for the broker
    stx_filter_t filter;
    unsigned given;             //  OPT_* bits seen on the command line
    const char *pillar;         //  keygen: helix pillar
    const char *roles;          //  keygen: roles
    const char *out;            //  keygen: folder for the files
    bool broker;                //  keygen: the broker's own key
    bool verify;                //  show: check the signature
    const char *keys;           //  show --verify: trust folder
    uint64_t expect_version;    //  withdraw: compare-and-set
} options_t;

typedef int (command_fn) (options_t *options, int argc, char **argv);

typedef struct {
    const char *name;
    command_fn *fn;
    int min_args, max_args;     //  positional arguments after the name
    unsigned options;           //  OPT_* accepted
    const char *usage;
    const char *summary;
    const char *help;           //  details and examples
} command_t;

static const command_t *s_find_command (const char *name);
static int s_usage_error (const command_t *command, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  --------------------------------------------------------------------------
//  Helpers

static int
s_fail (int code, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static int
s_fail (int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fputs ("stemx: ", stderr);
    vfprintf (stderr, format, args);
    fputc ('\n', stderr);
    va_end (args);
    return code;
}

static int
s_open_store (options_t *options, stx_store_t **store_p)
{
    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_store_open (options->data, STX_STORE_READONLY, 0, store_p,
                                      err, sizeof err);
    if (rc == STX_OK)
        return 0;
    if (rc == STX_ERR_NOT_FOUND)
        return s_fail (EXIT_REFUSED, "%s holds no stemx catalogue (is --data right?)",
                       options->data);
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

static bool
s_is_dir (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
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

//  --------------------------------------------------------------------------
//  publish FILE|-

typedef struct {
    char *key;
    uint8_t id [STX_EVENT_ID_SIZE];
    uint8_t *data;              //  packed event
    size_t size;
    bool done;
    Stemx__Reason reason;
    char *text;                 //  refusal text (local or the broker's)
    uint64_t seq, version;
} pending_t;

static char *
s_read_input (const char *path, size_t *size_p)
{
    FILE *file = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!file) {
        s_fail (EXIT_REFUSED, "%s: %s", path, strerror (errno));
        return NULL;
    }
    size_t size = 0, capacity = 65536;
    char *buffer = malloc (capacity);
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
            buffer = realloc (buffer, capacity);
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
    *size_p = size;
    return buffer;
}

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
    Stemx__Publish publish = STEMX__PUBLISH__INIT;
    publish.n_events = count;
    publish.events = datas;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PUBLISH;
    request.publish = &publish;
    if (stx_wire_send_request (agent, &request) != 0)
        return s_fail (EXIT_REFUSED, "cannot send to the agent: %s", zmq_strerror (errno));

    Stemx__Reply *reply = NULL;
    stx_status_t rc = stx_wire_recv_reply (agent, timeout * 1000, &reply);
    if (rc == STX_ERR_TIMEOUT)
        return s_fail (EXIT_REFUSED,
                       "no answer from the broker within %d s; the agent keeps the %zu "
                       "event(s) in its outbox and sends them when the broker is reachable "
                       "(see 'stemx status')", timeout, count);
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

static int
s_send_and_report (options_t *options, pending_t *events, size_t count);

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
        json_t *object = json_is_array (root) ? json_array_get (root, i) : root;
        pending_t *event = &events [i];
        char err [STX_ERRLEN];
        Stemx__Entry *entry = NULL;
        stx_status_t rc = json_is_object (object)
            ? stx_json_to_entry (object, &entry, err, sizeof err)
            : stx_fail (err, sizeof err, STX_ERR_INVALID, "[%zu]: expected a JSON object", i);
        if (rc != STX_OK) {
            char key [64];
            json_t *id = json_is_object (object) ? json_object_get (object, "id") : NULL;
            snprintf (key, sizeof key, "%s", json_is_string (id)? json_string_value (id): "");
            if (!*key)
                snprintf (key, sizeof key, "[%zu]", i);
            event->key = strdup (key);
            event->done = true;
            event->reason = stx_status_reason (rc);
            event->text = strdup (err);
            continue;
        }
        event->key = strdup (stx_entry_key (entry));
        Stemx__Event *ev = stx_event_new (event->key, &entry);
        memcpy (event->id, ev->event_id.data, STX_EVENT_ID_SIZE);
        event->data = stx_event_pack (ev, &event->size);
        stx_event_free (&ev);
    }
    json_decref (root);
    return s_send_and_report (options, events, count);
}

//  Send the events not yet done through the agent, print every result,
//  and free events. Returns the exit status.
static int
s_send_and_report (options_t *options, pending_t *events, size_t count)
{
    int result = 0;
    zsock_t *agent = NULL;
    size_t first = 0;
    while (first < count && result == 0) {
        //  Gather the next batch of events that still need sending
        while (first < count && events [first].done)
            first++;
        if (first == count)
            break;
        size_t last = first, bytes = 0;
        while (last < count && !events [last].done
        &&     last - first < PUBLISH_BATCH_EVENTS
        &&     (last == first || bytes + events [last].size <= PUBLISH_BATCH_BYTES))
            bytes += events [last++].size;
        if (!agent && !(agent = s_connect_agent (options, false)))
            result = EXIT_REFUSED;
        else
            result = s_publish_batch (agent, events, first, last, options->timeout);
        first = last;
    }
    zsock_destroy (&agent);

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
            snprintf (seq, sizeof seq, "%" PRIu64, event->seq);
            snprintf (version, sizeof version, "%" PRIu64, event->version);
            const char *cells [] = { seq, version, event->key, "accepted" };
            stx_table_add (table, cells);
        }
        else
            fprintf (stderr, "stemx: refused: %s\n", event->text);
    }
    if (options->json)
        s_print_json (out);
    else
    if (stx_table_rows (table))
        stx_table_print (table, stdout, stx_terminal_width (stdout));
    stx_table_destroy (&table);
    json_decref (out);
    if (result == 0 && refused)
        result = s_fail (EXIT_REFUSED, "%zu of %zu entries refused", refused, count);
    for (size_t i = 0; i < count; i++) {
        free (events [i].key);
        free (events [i].data);
        free (events [i].text);
    }
    free (events);
    return result;
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
    return s_send_and_report (options, event, 1);
}

//  --------------------------------------------------------------------------
//  list KIND

typedef struct {
    options_t *options;
    stx_kind_t kind;
    stx_table_t *table;
    json_t *array;
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
    switch (stx_entry_kind (entry)) {
        case STX_KIND_ORGANISATION: {
            const Stemx__Organisation *org = entry->organisation;
            const char *cells [] = { org->id, org->name, org->helix_pillar, org->kind,
                                     org->region };
            stx_table_add (self->table, cells);
            break;
        }
        case STX_KIND_INITIATIVE: {
            const Stemx__Initiative *ini = entry->initiative;
            s_join (buf, sizeof buf, ini->od_codes, ini->n_od_codes);
            const char *cells [] = { ini->id, ini->title, s_org (ini->owner),
                ini->period? ini->period->start: "", ini->period? ini->period->end: "",
                ini->status, buf };
            stx_table_add (self->table, cells);
            break;
        }
        case STX_KIND_INFRASTRUCTURE: {
            const Stemx__InfrastructureOpening *infra = entry->infrastructure;
            snprintf (num, sizeof num, "%u", infra->capacity
                      ? infra->capacity->participants_per_session : 0);
            const char *cells [] = { infra->id, infra->facility, s_org (infra->provider),
                infra->od_code, infra->location? infra->location->municipality: "", num };
            stx_table_add (self->table, cells);
            break;
        }
        case STX_KIND_MOMENT: {
            const Stemx__NetworkMoment *moment = entry->moment;
            const char *cells [] = { moment->id, moment->date, moment->kind, moment->title,
                moment->location? moment->location->municipality: "" };
            stx_table_add (self->table, cells);
            break;
        }
        case STX_KIND_NONE:
            break;
    }
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

static int
s_cmd_list (options_t *options, int argc, char **argv)
{
    stx_kind_t kind = stx_kind_from_name (argv [0]);
    if (kind == STX_KIND_NONE)
        return s_usage_error (s_find_command ("list"),
            "unknown kind '%s' (organisation, initiative, infrastructure or moment)", argv [0]);
    options->filter.kind = kind;
    stx_store_t *store = NULL;
    if (s_open_store (options, &store))
        return EXIT_REFUSED;

    list_t list = { options, kind, NULL, NULL };
    if (options->json)
        list.array = json_array ();
    else {
        static const char *org_h [] = { "KEY", "NAME", "PILLAR", "KIND", "REGION" };
        static const char *ini_h [] = { "KEY", "TITLE", "OWNER", "START", "END", "STATUS", "OD" };
        static const char *infra_h [] = { "KEY", "FACILITY", "PROVIDER", "OD", "MUNICIPALITY",
                                          "SEATS" };
        static const char *moment_h [] = { "KEY", "DATE", "KIND", "TITLE", "MUNICIPALITY" };
        list.table = kind == STX_KIND_ORGANISATION? stx_table_new (5, org_h)
                   : kind == STX_KIND_INITIATIVE?   stx_table_new (7, ini_h)
                   : kind == STX_KIND_INFRASTRUCTURE? stx_table_new (6, infra_h)
                   : stx_table_new (5, moment_h);
    }
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
        stx_table_print (list.table, stdout, stx_terminal_width (stdout));
        size_t rows = stx_table_rows (list.table);
        printf ("%zu %s\n", rows, s_kind_noun (kind, rows));
    }
    stx_table_destroy (&list.table);
    json_decref (list.array);
    return result;
}

//  --------------------------------------------------------------------------
//  show KEY

//  Print a JSON value for people: "field: value" lines, nested objects
//  indented, lists of scalars joined by commas.
static void
s_print_value (const char *name, json_t *value, int depth)
{
    printf ("%*s%s:", depth * 2, "", name);
    if (json_is_object (value)) {
        putchar ('\n');
        const char *key;
        json_t *item;
        json_object_foreach (value, key, item)
            s_print_value (key, item, depth + 1);
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
                s_print_value (label, item, depth + 1);
            }
            return;
        }
        json_array_foreach (value, i, item) {
            char *text = json_dumps (item, JSON_ENCODE_ANY);
            printf ("%s %s", i ? "," : "", json_is_string (item)? json_string_value (item): text);
            free (text);
        }
        putchar ('\n');
        return;
    }
    if (json_is_string (value))
        printf (" %s\n", json_string_value (value));
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

static int
s_cmd_show (options_t *options, int argc, char **argv)
{
    stx_store_t *store = NULL;
    if (s_open_store (options, &store))
        return EXIT_REFUSED;
    stx_txn_t *txn = NULL;
    Stemx__Event *event = NULL;
    stx_status_t rc = stx_store_begin (store, false, &txn);
    if (rc == STX_OK) {
        rc = stx_txn_get (txn, argv [0], &event);
        stx_txn_abort (&txn);
    }
    stx_store_destroy (&store);
    if (rc == STX_ERR_NOT_FOUND)
        return s_fail (EXIT_REFUSED, "%s: not found", argv [0]);
    if (rc != STX_OK)
        return s_fail (EXIT_REFUSED, "%s: %s", argv [0], stx_strerror (rc));

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
    else {
        if (event->op == STEMX__OPERATION__OP_WITHDRAW)
            printf ("%s was withdrawn at sequence %" PRIu64 "\n", event->key, event->seq);
        const char *key;
        json_t *value;
        json_object_foreach (json, key, value)
            if (strcmp (key, "_signature") != 0)
                s_print_value (key, value, 0);
    }
    if (options->verify && !options->json)
        printf ("signature: %s\n", json_string_value (json_object_get (
            json_object_get (json, "_signature"), "text")));
    json_decref (json);
    stx_event_free (&event);
    return result;
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
                                  "refusals", "disconnected_revoked", "last_reload" };
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
}

static int
s_cmd_status (options_t *options, int argc, char **argv)
{
    stx_store_t *store = NULL;
    if (s_open_store (options, &store))
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
            }
            stx_wire_reply_free (&reply);
            zsock_destroy (&sock);
        }
        json_object_set_new (json, "running", json_boolean (running));
        json_object_set_new (json, "connected", json_boolean (connected));
    }

    if (!agent)
        s_broker_status (options, json);
    if (options->json)
        s_print_json (json);
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
//  The command table: --help is printed from it

static int s_cmd_help (options_t *options, int argc, char **argv);

static const command_t s_commands [] = {
    { "publish", s_cmd_publish, 1, 1, OPT_JSON | OPT_TIMEOUT,
      "publish FILE|- [--timeout SEC] [--json]",
      "publish one JSON entry or an array of them through the agent",
      "Reads entries in the shape of config/sample/catalogue.json (the id prefix\n"
      "org:, ini:, infra: or moment: names the kind). The agent stores them in its\n"
      "durable outbox, sends them to the broker and answers when the broker has:\n"
      "each accepted entry is printed with its sequence number and version; each\n"
      "refusal with its reason on stderr, and the exit status is then 1.\n"
      "If the broker does not answer within --timeout seconds (default 30) the\n"
      "events stay in the outbox and are sent when it is reachable again.\n\n"
      "Examples:\n"
      "  stemx --data /var/lib/stemx publish initiative.json\n"
      "  jq '.initiatives' catalogue.json | stemx publish -\n" },
    { "list", s_cmd_list, 1, 1, OPT_JSON | OPT_FILTERS,
      "list KIND [--od CODE] [--helix PILLAR] [--org ORG] [--municipality M]\n"
      "           [--theme T] [--status S] [--from DATE] [--to DATE] [--json]",
      "list the entries of one kind, filtered",
      "KIND is organisation, initiative, infrastructure or moment (plurals and\n"
      "org, ini, infra work too). Filters combine with AND; --from/--to keep the\n"
      "entries whose dates overlap that period. Every filter is answered through an\n"
      "index of the catalogue.\n\n"
      "Examples:\n"
      "  stemx list initiative --od 'OD 3.2.1'\n"
      "  stemx list initiative --helix industry --from 2026-01-01 --to 2026-12-31\n"
      "  stemx list moment --municipality Gent --json\n" },
    { "show", s_cmd_show, 1, 1, OPT_JSON | OPT_VERIFY,
      "show KEY [--verify [--keys DIR]] [--json]",
      "show one entry with its sequence, version and origin",
      "With --verify it checks the origin organisation's signature of the current\n"
      "version against the partners' public keys (the node's trust/ or registry/\n"
      "folder, or --keys DIR) and says who signed it; exit status 1 if the\n"
      "signature does not hold.\n\n"
      "Examples:\n"
      "  stemx show ini:stem-academie-gent --verify\n"
      "  stemx show org:vlaio\n"
      "  stemx show ini:stem-academie-gent --json\n" },
    { "status", s_cmd_status, 0, 0, OPT_JSON,
      "status [--json]",
      "show the node's sequence, hash-chain head, connection and outbox",
      "On an agent's folder it also asks the running agent whether it hears the\n"
      "broker. Two nodes with the same sequence and head hold the same catalogue.\n\n"
      "Example:\n"
      "  stemx --data node1 status --json\n" },
    { "withdraw", s_cmd_withdraw, 1, 1, OPT_JSON | OPT_TIMEOUT | OPT_EXPECT,
      "withdraw KEY [--expect-version N] [--timeout SEC] [--json]",
      "withdraw an entry; the catalogue keeps a tombstone",
      "Only the organisation owning the entry, or an admin (VLAIO), may withdraw\n"
      "it. With --expect-version the broker refuses the withdrawal if the entry has\n"
      "changed since that version (compare-and-set).\n\n"
      "Example:\n"
      "  stemx withdraw ini:stem-academie-gent --expect-version 3\n" },
    { "keygen", s_cmd_keygen, 0, 1, OPT_JSON | OPT_KEYGEN,
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
    { "help", s_cmd_help, 0, 1, 0,
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
        "\nExit status: 0 success, 1 refused / not found / failed, 2 usage error.\n");
}

static void
s_print_command_help (const command_t *command, FILE *out)
{
    fprintf (out, "usage: stemx [--data DIR] %s\n\n%s.\n\n%s", command->usage,
             command->summary, command->help);
}

static int
s_usage_error (const command_t *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fputs ("stemx: ", stderr);
    vfprintf (stderr, format, args);
    fputc ('\n', stderr);
    va_end (args);
    if (command)
        fprintf (stderr, "usage: stemx [--data DIR] %s\n", command->usage);
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

enum {
    O_OD = 256, O_HELIX, O_ORG, O_MUNICIPALITY, O_THEME, O_STATUS, O_FROM, O_TO, O_TIMEOUT,
    O_PILLAR, O_ROLES, O_OUT, O_BROKER, O_VERIFY, O_KEYS, O_EXPECT
};

int
main (int argc, char *argv [])
{
    //  czmq must not install its own signal handlers in a CLI
    zsys_handler_set (NULL);
    setlocale (LC_ALL, "");

    static const struct option long_options [] = {
        { "data",         required_argument, NULL, 'd' },
        { "json",         no_argument,       NULL, 'j' },
        { "help",         no_argument,       NULL, 'h' },
        { "od",           required_argument, NULL, O_OD },
        { "helix",        required_argument, NULL, O_HELIX },
        { "org",          required_argument, NULL, O_ORG },
        { "municipality", required_argument, NULL, O_MUNICIPALITY },
        { "theme",        required_argument, NULL, O_THEME },
        { "status",       required_argument, NULL, O_STATUS },
        { "from",         required_argument, NULL, O_FROM },
        { "to",           required_argument, NULL, O_TO },
        { "timeout",      required_argument, NULL, O_TIMEOUT },
        { "pillar",       required_argument, NULL, O_PILLAR },
        { "roles",        required_argument, NULL, O_ROLES },
        { "out",          required_argument, NULL, O_OUT },
        { "broker",       no_argument,       NULL, O_BROKER },
        { "verify",       no_argument,       NULL, O_VERIFY },
        { "keys",         required_argument, NULL, O_KEYS },
        { "expect-version", required_argument, NULL, O_EXPECT },
        { NULL, 0, NULL, 0 }
    };
    options_t options = { .data = getenv ("STEMX_DATA"), .timeout = 30 };
    bool help = false;
    int opt;
    opterr = 0;
    while ((opt = getopt_long (argc, argv, "d:jh", long_options, NULL)) != -1) {
        switch (opt) {
            case 'd': options.data = optarg; break;
            case 'j': options.json = true; options.given |= OPT_JSON; break;
            case 'h': help = true; break;
            case O_OD:           options.filter.od = optarg; break;
            case O_HELIX:        options.filter.helix = optarg; break;
            case O_ORG:          options.filter.org = optarg; break;
            case O_MUNICIPALITY: options.filter.municipality = optarg; break;
            case O_THEME:        options.filter.theme = optarg; break;
            case O_STATUS:       options.filter.status = optarg; break;
            case O_FROM:         options.filter.from = optarg; break;
            case O_TO:           options.filter.to = optarg; break;
            case O_TIMEOUT:
                options.timeout = atoi (optarg);
                options.given |= OPT_TIMEOUT;
                if (options.timeout <= 0)
                    return s_usage_error (NULL, "--timeout takes a number of seconds > 0");
                break;
            case O_PILLAR: options.pillar = optarg; options.given |= OPT_KEYGEN; break;
            case O_ROLES:  options.roles = optarg; options.given |= OPT_KEYGEN; break;
            case O_OUT:    options.out = optarg; options.given |= OPT_KEYGEN; break;
            case O_BROKER: options.broker = true; options.given |= OPT_KEYGEN; break;
            case O_VERIFY: options.verify = true; options.given |= OPT_VERIFY; break;
            case O_KEYS:   options.keys = optarg; options.given |= OPT_VERIFY; break;
            case O_EXPECT: {
                char *end;
                options.expect_version = strtoull (optarg, &end, 10);
                options.given |= OPT_EXPECT;
                if (*end || !*optarg || options.expect_version == 0)
                    return s_usage_error (NULL, "--expect-version takes a version number > 0");
                break;
            }
            default:
                if (optopt >= O_OD || optopt == 'd')
                    return s_usage_error (NULL, "option '%s' needs a value", argv [optind - 1]);
                return s_usage_error (NULL, "unknown option '%s'", argv [optind - 1]);
        }
        if (opt >= O_OD && opt <= O_TO)
            options.given |= OPT_FILTERS;
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
    int nargs = argc - optind - 1;
    if (nargs < command->min_args || nargs > command->max_args)
        return s_usage_error (command, "%s takes %s argument%s", command->name,
                              command->min_args == command->max_args
                                  ? (command->min_args ? "one" : "no") : "at most one",
                              command->max_args == 1 && command->min_args == 1 ? "" : "s");
    unsigned refused = options.given & ~command->options;
    if (refused)
        return s_usage_error (command, "%s does not take %s", command->name,
                              refused & OPT_FILTERS ? "filters"
                              : refused & OPT_JSON ? "--json"
                              : refused & OPT_KEYGEN ? "--pillar, --roles, --out or --broker"
                              : refused & OPT_VERIFY ? "--verify or --keys"
                              : refused & OPT_EXPECT ? "--expect-version" : "--timeout");
    if (options.filter.from && !stx_date_valid (options.filter.from))
        return s_usage_error (command, "--from: expected a date YYYY-MM-DD");
    if (options.filter.to && !stx_date_valid (options.filter.to))
        return s_usage_error (command, "--to: expected a date YYYY-MM-DD");
    if (command->fn != s_cmd_help && command->fn != s_cmd_keygen && !options.data)
        return s_usage_error (command, "no node folder: give --data DIR or set STEMX_DATA");
    return command->fn (&options, nargs, argv + optind + 1);
}
