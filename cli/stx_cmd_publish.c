/*  =========================================================================
    stx_cmd_publish - `stemx publish`, `withdraw` and `import`: events
    through the agent

    One sending path (s_send_events): the events go to the agent over its
    local endpoint in batches, the agent confirms each in its durable outbox
    (a receipt) and answers with the broker's results; the exit status
    tells acked (0), queued but not acked (3) and not stored (4) apart.
    `import` itself is cli/stx_cmd_import.c; this file connects it.
    ========================================================================= */

#include "stx_wire.h"
#include "stx_cmd_import.h"
#include "stx_cli.h"

//  Most events in one Publish request, and their packed bytes at most;
//  well below the broker's message limit.
#define PUBLISH_BATCH_EVENTS 256
#define PUBLISH_BATCH_BYTES  (512 * 1024)

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
        return stx_cli_fail (EXIT_REFUSED, "cannot send to the agent: %s", zmq_strerror (errno));

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
        return stx_cli_fail (EXIT_QUEUED,
                             "queued, not acked: no answer from the broker within %d s; the %zu "
                       "event(s) are in the agent's outbox, which sends them until the "
                       "broker answers (see 'stemx status')", timeout, count);
    if (rc == STX_ERR_TIMEOUT)
        return stx_cli_fail (EXIT_UNSTORED,
                             "not stored: the agent did not confirm within %d s that it holds the "
                       "%zu event(s) (is it stopped or overloaded?); they may never have "
                       "reached it. Publishing again is safe: at worst the same content is "
                       "recorded once more", timeout, count);
    if (rc != STX_OK)
        return stx_cli_fail (EXIT_REFUSED, "bad answer from the agent: %s", stx_strerror (rc));
    int result = 0;
    if (reply->body_case == STEMX__REPLY__BODY_ERROR)
        result = stx_cli_fail (EXIT_REFUSED, "the agent refused the request: %s",
                               reply->error->text);
    else
    if (reply->body_case != STEMX__REPLY__BODY_ACK)
        result = stx_cli_fail (EXIT_REFUSED, "unexpected answer from the agent");
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
                result = stx_cli_fail (EXIT_REFUSED, "%s: no answer for this event", events [i].key);
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
    zsock_t *agent = stx_cli_connect_agent (options, false);
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
            const char *cells [] = { stx_cli_format_u64 (seq, sizeof seq, event->seq),
                                     stx_cli_format_u64 (version, sizeof version, event->version),
                                     event->key, "accepted" };
            stx_table_add (table, cells);
        }
        else
            stx_cli_fail (0, "refused: %s", event->text);
    }
    if (options->json)
        stx_cli_print_json (out);
    else
    if (stx_table_rows (table))
        stx_cli_print_table (table, options);
    stx_table_destroy (&table);
    json_decref (out);
    if (result == 0 && refused)
        result = stx_cli_fail (EXIT_REFUSED, "%zu of %zu entries refused", refused, count);
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

int
stx_cli_cmd_publish (options_t *options, int argc, char **argv)
{
    size_t size;
    char *input = stx_cli_read_input (argv [0], &size);
    if (!input)
        return EXIT_REFUSED;
    json_error_t jerr;
    json_t *root = json_loadb (input, size, JSON_REJECT_DUPLICATES, &jerr);
    free (input);
    if (!root)
        return stx_cli_fail (EXIT_REFUSED, "%s:%d:%d: %s%s", argv [0], jerr.line, jerr.column,
                             json_error_code (&jerr) == json_error_invalid_utf8
                           ? "invalid UTF-8 (entries must be UTF-8): " : "", jerr.text);
    if (!json_is_array (root) && !json_is_object (root)) {
        json_decref (root);
        return stx_cli_fail (EXIT_REFUSED, "%s: expected a JSON entry object or an array of them",
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

int
stx_cli_cmd_withdraw (options_t *options, int argc, char **argv)
{
    if (stx_kind_of_key (argv [0]) == STX_KIND_NONE)
        return stx_cli_usage_error ("withdraw",
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
    return stx_cli_connect_agent ((options_t *) arg, false);
}

int
stx_cli_cmd_import (options_t *options, int argc, char **argv)
{
    stx_format_t format = stx_format_named (options->format);
    if (options->format && format == STX_FORMAT_NONE)
        return stx_cli_usage_error ("import",
                                    "--format takes json, ndjson or csv, not '%s'", options->format);
    stx_import_options_t import = {
        .data = options->data, .path = argv [0], .format = format,
        .timeout = options->timeout, .dry_run = options->dry_run, .json = options->json,
        .colour = options->colour, .colour_err = stx_cli_colour_err (),
        .connect = s_import_connect, .connect_arg = options
    };
    return stx_cmd_import (&import);
}
