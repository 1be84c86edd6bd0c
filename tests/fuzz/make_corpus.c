/*  =========================================================================
    make_corpus - write the fuzz targets' seed corpora from the sample
    catalogue

    Run once by hand when the schema or the sample changes; its output is
    committed in tests/fuzz/corpus/<target>/. Deterministic: fixed event
    ids and times, so a rerun rewrites the same bytes.

        cmake --build build --target fuzz_make_corpus
        build/fuzz_make_corpus config/sample/catalogue.json tests/fuzz/corpus

    Writes packed Events (upserts of each kind, a withdrawal, a broker-
    stamped event) for fuzz_event; JSON entries of each kind, a small array
    and an exported event for fuzz_json; packed Requests, Replies and a
    Heartbeat of each type for fuzz_request.
    ========================================================================= */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "stx_event.h"
#include "stx_json.h"

#define S_TIME_MS   1795000000000LL     //  2026-11-18, a fixed client time

static const char *s_out = NULL;
static int s_files = 0;

static void
s_write (const char *target, const char *name, const void *data, size_t size)
{
    char path [4096];
    snprintf (path, sizeof (path), "%s/%s", s_out, target);
    if (mkdir (path, 0755) != 0 && errno != EEXIST) {
        perror (path);
        exit (1);
    }
    snprintf (path, sizeof (path), "%s/%s/%s", s_out, target, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file) != 0) {
        perror (path);
        exit (1);
    }
    s_files++;
}

static void
s_write_json (const char *name, const json_t *json)
{
    char *text = json_dumps (json, JSON_COMPACT);
    assert (text);
    s_write ("fuzz_json", name, text, strlen (text));
    free (text);
}

static void
s_write_message (const char *target, const char *name, const ProtobufCMessage *msg)
{
    size_t size = protobuf_c_message_get_packed_size (msg);
    uint8_t *data = (uint8_t *) malloc (size + 1);
    assert (data);
    protobuf_c_message_pack (msg, data);
    s_write (target, name, data, size);
    free (data);
}

//  An event for record (NULL = withdraw key) with a fixed id and time.
static Stemx__Event *
s_event (const json_t *record, const char *key, uint8_t id_byte)
{
    Stemx__Entry *entry = NULL;
    if (record) {
        char err [STX_ERRLEN];
        if (stx_json_to_entry (record, &entry, err, sizeof (err)) != STX_OK) {
            fprintf (stderr, "make_corpus: %s\n", err);
            exit (1);
        }
        key = stx_entry_key (entry);
    }
    char *key_copy = strdup (key);
    Stemx__Event *event = stx_event_new (key_copy, &entry);
    free (key_copy);
    memset (event->event_id.data, id_byte, event->event_id.len);
    event->client_time_ms = S_TIME_MS + id_byte;
    return event;
}

//  The name of a file for an id: "org:vlaio" -> "upsert-org-vlaio.pb".
static void
s_name (char *buf, size_t size, const char *prefix, const char *id, const char *suffix)
{
    snprintf (buf, size, "%s-%s%s", prefix, id, suffix);
    for (char *c = buf; *c; c++)
        if (*c == ':')
            *c = '-';
}

int
main (int argc, char *argv [])
{
    if (argc != 3) {
        fprintf (stderr, "usage: %s CATALOGUE.json OUT-FOLDER\n", argv [0]);
        return 2;
    }
    s_out = argv [2];
    if (mkdir (s_out, 0755) != 0 && errno != EEXIST) {
        perror (s_out);
        return 1;
    }
    json_error_t error;
    json_t *root = json_load_file (argv [1], 0, &error);
    if (!root) {
        fprintf (stderr, "%s: %s\n", argv [1], error.text);
        return 1;
    }
    static const char *sections [] = {
        "organisations", "initiatives", "infrastructure_openings", "network_moments"
    };
    char name [256];
    uint8_t id_byte = 1;
    Stemx__Event *events [8];
    size_t n_events = 0;
    json_t *array = json_array ();

    //  Two records of each kind: raw JSON, and a packed upsert
    for (size_t section = 0; section < 4; section++) {
        json_t *records = json_object_get (root, sections [section]);
        for (size_t index = 0; index < 2; index++) {
            json_t *record = json_array_get (records, index);
            assert (record);
            const char *id = json_string_value (json_object_get (record, "id"));
            s_name (name, sizeof (name), "entry", id, ".json");
            s_write_json (name, record);
            if (index == 0 && section != 2)
                json_array_append (array, record);

            Stemx__Event *event = s_event (record, NULL, id_byte++);
            s_name (name, sizeof (name), "upsert", id, ".pb");
            s_write_message ("fuzz_event", name, &event->base);
            events [n_events++] = event;
        }
    }
    s_write_json ("array-of-three.json", array);
    json_decref (array);

    //  A withdrawal, and an upsert as the broker stamps and fans it out
    Stemx__Event *withdraw = s_event (NULL, "ini:vdab-beroepenfilms", id_byte++);
    s_write_message ("fuzz_event", "withdraw-ini-vdab-beroepenfilms.pb", &withdraw->base);
    Stemx__Event *stamped = s_event (json_array_get (json_object_get (root, "organisations"), 0),
                                     NULL, id_byte++);
    static uint8_t signature [64], signer [32];
    memset (signature, 0x5a, sizeof (signature));
    memset (signer, 0xa5, sizeof (signer));
    stamped->origin = strdup ("org:vlaio");
    stamped->node = strdup ("vlaio");
    stamped->owner = strdup ("org:vlaio");
    stamped->version = 3;
    stamped->expected_version = 2;
    stamped->seq = 42;
    stamped->broker_time_ms = S_TIME_MS + 1000;
    stamped->signature.data = (uint8_t *) malloc (sizeof (signature));
    memcpy (stamped->signature.data, signature, sizeof (signature));
    stamped->signature.len = sizeof (signature);
    stamped->signer.data = (uint8_t *) malloc (sizeof (signer));
    memcpy (stamped->signer.data, signer, sizeof (signer));
    stamped->signer.len = sizeof (signer);
    s_write_message ("fuzz_event", "stamped-org-vlaio.pb", &stamped->base);
    json_t *exported = stx_json_from_event (stamped);
    s_write_json ("exported-event-org-vlaio.json", exported);
    json_decref (exported);

    //  Packed events as they travel inside requests and replies
    ProtobufCBinaryData packed [3];
    Stemx__Event *carried [3] = { events [0], events [2], withdraw };
    for (size_t index = 0; index < 3; index++)
        packed [index].data = stx_event_pack (carried [index], &packed [index].len);
    uint8_t lineage [16], head [32];
    memset (lineage, 0x11, sizeof (lineage));
    memset (head, 0x22, sizeof (head));

    //  Requests, one of each type
    Stemx__Hello hello = STEMX__HELLO__INIT;
    hello.node = (char *) "vdab";
    hello.lineage.data = lineage;
    hello.lineage.len = sizeof (lineage);
    hello.last_seq = 41;
    Stemx__Publish publish = STEMX__PUBLISH__INIT;
    publish.events = packed;
    publish.n_events = 3;
    Stemx__SnapshotRequest snapshot = STEMX__SNAPSHOT_REQUEST__INIT;
    snapshot.credit = 4;
    Stemx__Credit credit = STEMX__CREDIT__INIT;
    credit.credit = 8;
    Stemx__Fetch fetch = STEMX__FETCH__INIT;
    fetch.from = 1;
    fetch.to = 10;
    Stemx__Ping ping = STEMX__PING__INIT;
    ping.seq = 41;
    Stemx__StatusRequest status_request = STEMX__STATUS_REQUEST__INIT;

    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_HELLO;
    request.hello = &hello;
    s_write_message ("fuzz_request", "request-hello.pb", &request.base);
    request.body_case = STEMX__REQUEST__BODY_PUBLISH;
    request.publish = &publish;
    s_write_message ("fuzz_request", "request-publish.pb", &request.base);
    request.body_case = STEMX__REQUEST__BODY_SNAPSHOT;
    request.snapshot = &snapshot;
    s_write_message ("fuzz_request", "request-snapshot.pb", &request.base);
    request.body_case = STEMX__REQUEST__BODY_CREDIT;
    request.credit = &credit;
    s_write_message ("fuzz_request", "request-credit.pb", &request.base);
    request.body_case = STEMX__REQUEST__BODY_FETCH;
    request.fetch = &fetch;
    s_write_message ("fuzz_request", "request-fetch.pb", &request.base);
    request.body_case = STEMX__REQUEST__BODY_PING;
    request.ping = &ping;
    s_write_message ("fuzz_request", "request-ping.pb", &request.base);
    request.body_case = STEMX__REQUEST__BODY_STATUS;
    request.status = &status_request;
    s_write_message ("fuzz_request", "request-status.pb", &request.base);

    //  Replies, one of each type
    Stemx__Welcome welcome = STEMX__WELCOME__INIT;
    welcome.lineage.data = lineage;
    welcome.lineage.len = sizeof (lineage);
    welcome.seq = 42;
    welcome.head.data = head;
    welcome.head.len = sizeof (head);
    welcome.log_first = 1;
    Stemx__Result ok = STEMX__RESULT__INIT, refused = STEMX__RESULT__INIT;
    ok.event_id = events [0]->event_id;
    ok.seq = 42;
    ok.version = 1;
    refused.event_id = events [2]->event_id;
    refused.reason = STEMX__REASON__R_UNKNOWN_CODE;
    refused.text = (char *) "ini:x: od_codes[1]: unknown OD code 'OD 9.9.9'";
    Stemx__Result *results [2] = { &ok, &refused };
    Stemx__Ack ack = STEMX__ACK__INIT;
    ack.results = results;
    ack.n_results = 2;
    Stemx__SnapshotChunk chunk = STEMX__SNAPSHOT_CHUNK__INIT;
    chunk.events = packed;
    chunk.n_events = 2;
    Stemx__SnapshotEnd snapshot_end = STEMX__SNAPSHOT_END__INIT;
    snapshot_end.lineage = welcome.lineage;
    snapshot_end.seq = 42;
    snapshot_end.head = welcome.head;
    snapshot_end.entries = 2;
    Stemx__LogRange log = STEMX__LOG_RANGE__INIT;
    log.events = packed;
    log.n_events = 3;
    log.last = 42;
    Stemx__Pong pong = STEMX__PONG__INIT;
    pong.seq = 42;
    pong.head = welcome.head;
    Stemx__Error error_body = STEMX__ERROR__INIT;
    error_body.reason = STEMX__REASON__R_REFRESH_REQUIRED;
    error_body.text = (char *) "range below the log horizon";
    Stemx__NodeStatus node_status = STEMX__NODE_STATUS__INIT;
    node_status.node = (char *) "vdab";
    node_status.broker = (char *) "tcp://127.0.0.1:5670";
    node_status.connected = 1;
    node_status.seq = 42;
    node_status.head = welcome.head;
    node_status.outbox = 1;
    node_status.broker_seq = 42;

    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_WELCOME;
    reply.welcome = &welcome;
    s_write_message ("fuzz_request", "reply-welcome.pb", &reply.base);
    reply.body_case = STEMX__REPLY__BODY_ACK;
    reply.ack = &ack;
    s_write_message ("fuzz_request", "reply-ack.pb", &reply.base);
    reply.body_case = STEMX__REPLY__BODY_CHUNK;
    reply.chunk = &chunk;
    s_write_message ("fuzz_request", "reply-chunk.pb", &reply.base);
    reply.body_case = STEMX__REPLY__BODY_SNAPSHOT_END;
    reply.snapshot_end = &snapshot_end;
    s_write_message ("fuzz_request", "reply-snapshot-end.pb", &reply.base);
    reply.body_case = STEMX__REPLY__BODY_LOG;
    reply.log = &log;
    s_write_message ("fuzz_request", "reply-log.pb", &reply.base);
    reply.body_case = STEMX__REPLY__BODY_PONG;
    reply.pong = &pong;
    s_write_message ("fuzz_request", "reply-pong.pb", &reply.base);
    reply.body_case = STEMX__REPLY__BODY_ERROR;
    reply.error = &error_body;
    s_write_message ("fuzz_request", "reply-error.pb", &reply.base);
    reply.body_case = STEMX__REPLY__BODY_STATUS;
    reply.status = &node_status;
    s_write_message ("fuzz_request", "reply-status.pb", &reply.base);

    Stemx__Heartbeat heartbeat = STEMX__HEARTBEAT__INIT;
    heartbeat.lineage = welcome.lineage;
    heartbeat.seq = 42;
    heartbeat.head = welcome.head;
    s_write_message ("fuzz_request", "heartbeat.pb", &heartbeat.base);

    for (size_t index = 0; index < 3; index++)
        free (packed [index].data);
    for (size_t index = 0; index < n_events; index++)
        stx_event_free (&events [index]);
    stx_event_free (&withdraw);
    stx_event_free (&stamped);
    json_decref (root);
    printf ("make_corpus: %d files in %s\n", s_files, s_out);
    return 0;
}
