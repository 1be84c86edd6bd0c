/*  =========================================================================
    stx_cmd_status - `stemx status` and `verify`

    The node's position and health (catalogue, outbox, the broker's
    status.json), and the agent's check of its replica against the broker.
    ========================================================================= */

#include "stx_outbox.h"
#include "stx_wire.h"
#include "stx_csv.h"
#include "stx_cli.h"

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

int
stx_cli_cmd_status (options_t *options, int argc, char **argv)
{
    stx_store_t *store = NULL;
    if (stx_cli_open_store (options, 0, &store))
        return EXIT_REFUSED;
    stx_meta_t meta;
    stx_status_t rc = stx_store_meta (store, &meta);
    stx_store_destroy (&store);
    if (rc != STX_OK)
        return stx_cli_fail (EXIT_REFUSED, "cannot read the catalogue: %s", stx_strerror (rc));

    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/outbox", options->data);
    bool agent = stx_cli_is_dir (path);
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
        zsock_t *sock = stx_cli_connect_agent (options, true);
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
        stx_cli_print_json (json);
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
//  verify

int
stx_cli_cmd_verify (options_t *options, int argc, char **argv)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/outbox", options->data);
    if (!stx_cli_is_dir (path))
        return stx_cli_fail (EXIT_REFUSED, "%s is not an agent's folder; verify compares an agent's "
                             "replica with its broker", options->data);
    zsock_t *agent = stx_cli_connect_agent (options, false);
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
        return stx_cli_fail (EXIT_REFUSED, "the agent did not answer (%s); is it running?",
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
        stx_cli_print_json (json);
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
