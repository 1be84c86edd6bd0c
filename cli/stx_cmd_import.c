/*  =========================================================================
    stx_cmd_import - `stemx import FILE|-`: many entries through the agent

    DESIGN
    ------
    The file is read once per phase, never held: phase 0 takes its
    organisations, phase 1 everything else, so that when the agent signs
    an entry its partners' pillars are in the replica. stdin, and anything
    else that cannot be read twice, is first copied to an unlinked file in
    $TMPDIR. A syntax error in JSON spoils the whole file, so JSON is read
    once more before phase 1, to send nothing from a file that turns out
    broken at its end.

    In each phase the entries go through in chunks of up to S_CHUNK_ENTRIES
    converted entries: the chunk is compared with the catalogue in one read
    transaction (unchanged entries are done), its changed entries packed
    and sent to the agent in Publish batches (PUBLISH_BATCH_*). Up to
    S_BATCHES_OUT batches are in flight at once; the agent answers each
    Publish with one Ack whose results carry the event ids, so an Ack is
    matched to its batch by id, in any order. An Error answer carries no
    id: it is counted, nothing more is sent, and the batches that got no
    Ack once every other batch is answered are the refused ones (their
    entries are reported not sent, as before).

    Every entry's outcome row goes to stx_import_summary, which spools it
    for its phase, in file order (a chunk's rows go out when every chunk
    before it is answered), and at the end lists the entries in file
    order, as the whole-file import did. What stays in memory: at most
    S_CHUNKS_MAX chunks, the refusals (for the table people read), and,
    to refuse a key given twice, the phase's keys in stx_keyset (16 bytes
    a key, with where it was first seen).
    ========================================================================= */

#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <sys/stat.h>

#include "stx_cmd_import.h"
#include "stx_import_summary.h"
#include "stx_cli_format.h"
#include "stx_validate.h"
#include "stx_error.h"
#include "stx_event.h"
#include "stx_json.h"
#include "stx_keyset.h"
#include "stx_store.h"
#include "stx_wire.h"

#define EXIT_REFUSED 1
#define EXIT_QUEUED  3          //  as stemx.c: in the agent's outbox, not acked yet
#define EXIT_UNSTORED 4         //  the agent did not confirm it stored them

//  Most events in one Publish request, and their packed bytes at most;
//  well below the broker's message limit (as publish in stemx.c)
#define PUBLISH_BATCH_EVENTS 256
#define PUBLISH_BATCH_BYTES  (512 * 1024)
//  Publish batches in flight at once
#define S_BATCHES_OUT 8
//  Converted entries per chunk, and entries at most (counting refused and
//  other-phase ones); chunks waiting for answers at most
#define S_CHUNK_ENTRIES PUBLISH_BATCH_EVENTS
#define S_CHUNK_ITEMS   1024
#define S_CHUNKS_MAX    (2 * S_BATCHES_OUT)

//  --------------------------------------------------------------------------
//  Where an entry is, "line N" or "section[i]", as a number for the
//  keys seen (stx_keyset): N * 8, or i * 8 + the section's number + 1

static const char *s_sections [] = { "organisations", "initiatives",
                                     "infrastructure_openings", "network_moments" };

static uint64_t
s_where_code (const char *where)
{
    size_t n = 0;
    if (sscanf (where, "line %zu", &n) == 1)
        return (uint64_t) n * 8;
    for (size_t s = 0; s < 4; s++) {
        size_t len = strlen (s_sections [s]);
        if (strncmp (where, s_sections [s], len) == 0 && sscanf (where + len, "[%zu]", &n) == 1)
            return (uint64_t) n * 8 + s + 1;
    }
    return 0;
}

static void
s_where_text (uint64_t code, char *out, size_t size)
{
    if (code % 8 == 0)
        snprintf (out, size, "line %" PRIu64, code / 8);
    else
        snprintf (out, size, "%s[%" PRIu64 "]", s_sections [code % 8 - 1], code / 8);
}

//  --------------------------------------------------------------------------
//  Entries, chunks and batches in flight

typedef struct {
    size_t ordinal;             //  0-based, in the file
    char where [48];            //  "line 7", "initiatives[3]"
    char *key;
    Stemx__Entry *entry;        //  converted, until compared
    uint8_t id [STX_EVENT_ID_SIZE];
    uint8_t *data;              //  packed event, until answered
    size_t size;
    bool done;                  //  answered, refused here, or unchanged
    bool unchanged;
    Stemx__Reason reason;
    char *text;                 //  refusal text
    uint64_t seq, version;
} s_item_t;

typedef struct {
    s_item_t items [S_CHUNK_ITEMS];
    size_t count, entries;
    size_t batches_out;         //  batches sent and not answered
} s_chunk_t;

typedef struct {
    s_chunk_t *chunk;           //  NULL = free slot
    size_t first, last;         //  items [first, last) of chunk, some sent
    uint64_t order;             //  its place among the batches sent (from 0)
} s_batch_t;

typedef struct {
    const stx_import_options_t *options;
    FILE *file;
    size_t file_size;
    stx_format_t format;
    stx_store_t *store;
    zsock_t *agent;
    bool compare, send;         //  this phase compares with the catalogue / sends
    int result;                 //  exit status so far
    stx_keyset_t *seen;         //  this phase's keys, with where first seen
    s_chunk_t *chunks [S_CHUNKS_MAX];   //  in file order, oldest first
    size_t nchunks;
    s_batch_t batches [S_BATCHES_OUT];
    size_t batches_out, errors; //  batches unanswered; Error answers among them
    uint64_t sent, receipts;    //  batches sent, and the agent's receipts for them
                                //  (in order: batch n is in the outbox once n < receipts)
    int phase;                  //  0: organisations, 1: the rest
    stx_import_summary_t *summary;
    uint64_t last_seq;          //  highest sequence acked
    bool acked;                 //  this phase got an Ack with a sequence
} s_import_t;

static int
s_fail (s_import_t *self, int code, const char *format, ...) __attribute__ ((format (printf, 3, 4)));

static int
s_fail (s_import_t *self, int code, const char *format, ...)
{
    bool colour = self->options->colour_err;
    va_list args;
    va_start (args, format);
    stx_cli_error (colour, format, args);
    va_end (args);
    if (code && self->result == 0)
        self->result = code;
    return code;
}

static const char *
s_reason_name (Stemx__Reason reason)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&stemx__reason__descriptor, reason);
    return value ? value->name : "R_UNKNOWN";
}

static void
s_refuse (s_item_t *item, stx_status_t rc, const char *text)
{
    item->done = true;
    item->reason = stx_status_reason (rc);
    free (item->text);
    item->text = strdup (text);
    assert (item->text);
}

//  One outcome row, as the summary lists it
static json_t *
s_row (s_import_t *self, s_item_t *item)
{
    const char *name = !item->done? (self->options->dry_run? "to_send": "not_sent")
                     : item->reason != STEMX__REASON__R_OK? "refused"
                     : item->unchanged? "unchanged": "accepted";
    json_t *row = json_pack ("{s:s, s:s, s:s}", "key", item->key? item->key: "",
                             "where", item->where, "result", name);
    size_t line;
    if (sscanf (item->where, "line %zu", &line) == 1)
        json_object_set_new (row, "line", json_integer ((json_int_t) line));
    if (item->done && item->reason == STEMX__REASON__R_OK) {
        json_object_set_new (row, "seq", json_integer ((json_int_t) item->seq));
        json_object_set_new (row, "version", json_integer ((json_int_t) item->version));
    }
    if (item->done && item->reason != STEMX__REASON__R_OK) {
        json_object_set_new (row, "reason", json_string (s_reason_name (item->reason)));
        json_object_set_new (row, "text", json_string (item->text? item->text: ""));
    }
    return row;
}

//  Write the rows of the oldest chunks that wait for nothing (all when
//  all is set: what still waits then is not sent), and free them.
static void
s_flush (s_import_t *self, bool all)
{
    while (self->nchunks && (all || self->chunks [0]->batches_out == 0)) {
        s_chunk_t *chunk = self->chunks [0];
        for (size_t i = 0; i < chunk->count; i++) {
            s_item_t *item = &chunk->items [i];
            json_t *row = s_row (self, item);
            stx_import_summary_add (self->summary, self->phase, item->ordinal, row);
            json_decref (row);
            free (item->key);
            free (item->data);
            free (item->text);
            stx_entry_free (&item->entry);
        }
        free (chunk);
        memmove (self->chunks, self->chunks + 1, --self->nchunks * sizeof (s_chunk_t *));
    }
}

//  Events still waiting in the batches in flight
static size_t
s_events_out (s_import_t *self, bool receipted)
{
    size_t events = 0;
    for (size_t b = 0; b < S_BATCHES_OUT; b++)
        if (self->batches [b].chunk && (self->batches [b].order < self->receipts) == receipted)
            for (size_t i = self->batches [b].first; i < self->batches [b].last; i++)
                events += !self->batches [b].chunk->items [i].done
                       && self->batches [b].chunk->items [i].data;
    return events;
}

//  Stop waiting for the batches in flight: their unanswered entries are
//  not sent, as far as this import knows.
static void
s_abandon (s_import_t *self)
{
    for (size_t b = 0; b < S_BATCHES_OUT; b++)
        if (self->batches [b].chunk) {
            self->batches [b].chunk->batches_out--;
            self->batches [b].chunk = NULL;
        }
    self->batches_out = self->errors = 0;
    self->send = false;
}

//  Which batch in flight holds the event with this id, or NULL
static s_batch_t *
s_batch_of (s_import_t *self, const ProtobufCBinaryData *id)
{
    if (id->len != STX_EVENT_ID_SIZE)
        return NULL;
    for (size_t b = 0; b < S_BATCHES_OUT; b++) {
        s_batch_t *batch = &self->batches [b];
        for (size_t i = batch->first; batch->chunk && i < batch->last; i++)
            if (batch->chunk->items [i].data
            &&  memcmp (batch->chunk->items [i].id, id->data, STX_EVENT_ID_SIZE) == 0)
                return batch;
    }
    return NULL;
}

//  Take one Ack: every result to its entry.
static void
s_take_ack (s_import_t *self, Stemx__Ack *ack)
{
    s_batch_t *batch = ack->n_results? s_batch_of (self, &ack->results [0]->event_id): NULL;
    if (!batch) {
        s_fail (self, EXIT_REFUSED, "unexpected answer from the agent");
        self->errors++;             //  as an Error: some batch will get no Ack
        self->send = false;
        return;
    }
    s_chunk_t *chunk = batch->chunk;
    for (size_t r = 0; r < ack->n_results; r++) {
        Stemx__Result *res = ack->results [r];
        for (size_t i = batch->first; i < batch->last; i++) {
            s_item_t *item = &chunk->items [i];
            if (item->data && !item->done && res->event_id.len == STX_EVENT_ID_SIZE
            &&  memcmp (res->event_id.data, item->id, STX_EVENT_ID_SIZE) == 0) {
                item->done = true;
                item->reason = res->reason;
                item->seq = res->seq;
                item->version = res->version;
                if (res->reason != STEMX__REASON__R_OK)
                    item->text = strdup (res->text);
                else
                if (res->seq > self->last_seq) {
                    self->last_seq = res->seq;
                    self->acked = true;
                }
            }
        }
    }
    for (size_t i = batch->first; i < batch->last; i++)
        if (chunk->items [i].data && !chunk->items [i].done) {
            s_fail (self, EXIT_REFUSED, "%s: no answer for this event", chunk->items [i].key);
            self->send = false;
        }
    chunk->batches_out--;
    batch->chunk = NULL;
    self->batches_out--;
}

//  Wait for one answer from the agent and take it.
static void
s_take_reply (s_import_t *self)
{
    assert (self->batches_out > self->errors);
    int timeout = self->options->timeout;
    Stemx__Reply *reply = NULL;
    stx_status_t rc = stx_wire_recv_reply (self->agent, timeout * 1000, &reply);
    if (rc == STX_ERR_TIMEOUT) {
        size_t queued = s_events_out (self, true), unstored = s_events_out (self, false);
        if (unstored == 0)
            s_fail (self, EXIT_QUEUED,
                    "queued, not acked: no answer from the broker within %d s; the %zu "
                    "event(s) are in the agent's outbox, which sends them until the broker "
                    "answers (see 'stemx status')", timeout, queued);
        else
            s_fail (self, EXIT_UNSTORED,
                    "not stored: the agent did not confirm within %d s that it holds %zu "
                    "event(s) (is it stopped or overloaded?); they may never have reached "
                    "it. %zu more are in its outbox. Importing again is safe: what is "
                    "already in the catalogue is unchanged", timeout, unstored, queued);
        s_abandon (self);
    }
    else
    if (rc != STX_OK) {
        s_fail (self, EXIT_REFUSED, "bad answer from the agent: %s", stx_strerror (rc));
        s_abandon (self);
    }
    else
    if (reply->body_case == STEMX__REPLY__BODY_RECEIPT)
        self->receipts++;
    else
    if (reply->body_case == STEMX__REPLY__BODY_ACK)
        s_take_ack (self, reply->ack);
    else {
        //  An Error says not for which request: send no more, and let the
        //  other batches' Acks tell which one it was. The agent sends one
        //  in place of a receipt, so the receipts after it stay in step
        self->receipts++;
        if (reply->body_case == STEMX__REPLY__BODY_ERROR)
            s_fail (self, EXIT_REFUSED, "the agent refused the request: %s", reply->error->text);
        else
            s_fail (self, EXIT_REFUSED, "unexpected answer from the agent");
        self->errors++;
        self->send = false;
    }
    stx_wire_reply_free (&reply);
    if (self->batches_out && self->batches_out == self->errors)
        s_abandon (self);
}

//  Send items [first, last) of chunk that are packed as one Publish.
static void
s_send_batch (s_import_t *self, s_chunk_t *chunk, size_t first, size_t last)
{
    if (!self->agent) {
        self->agent = self->options->connect (self->options->connect_arg);
        if (!self->agent) {
            self->send = false;
            self->result = EXIT_REFUSED;
            return;
        }
    }
    while (self->send && self->batches_out == S_BATCHES_OUT)
        s_take_reply (self);
    if (!self->send)
        return;
    size_t count = 0;
    ProtobufCBinaryData datas [PUBLISH_BATCH_EVENTS];
    for (size_t i = first; i < last; i++)
        if (chunk->items [i].data) {
            datas [count].data = chunk->items [i].data;
            datas [count++].len = chunk->items [i].size;
        }
    if (stx_wire_send_publish (self->agent, datas, count) != 0) {
        s_fail (self, EXIT_REFUSED, "cannot send to the agent: %s", zmq_strerror (errno));
        self->send = false;
        return;
    }
    size_t b = 0;
    while (self->batches [b].chunk)
        b++;
    self->batches [b] = (s_batch_t) { chunk, first, last, self->sent++ };
    self->batches_out++;
    chunk->batches_out++;
}

//  Compare the chunk's entries with the catalogue's current versions, in
//  one read transaction: partners' pillars are filled in from the
//  catalogue first, as the agent does before signing, so both sides are
//  in the same form. Unchanged entries are done, the others packed.
static void
s_compare (s_import_t *self, s_chunk_t *chunk)
{
    stx_txn_t *txn = NULL;
    stx_status_t rc = stx_store_begin (self->store, false, &txn);
    for (size_t i = 0; i < chunk->count && rc == STX_OK; i++) {
        s_item_t *item = &chunk->items [i];
        if (item->done || !item->entry)
            continue;
        rc = stx_txn_fill_pillars (txn, item->entry);
        Stemx__Event *current = NULL;
        if (rc == STX_OK && stx_txn_get (txn, item->key, &current) == STX_OK
        &&  current->op == STEMX__OPERATION__OP_UPSERT && current->entry) {
            json_t *now = stx_json_from_entry (current->entry);
            json_t *given = stx_json_from_entry (item->entry);
            if (json_equal (now, given)) {
                item->done = item->unchanged = true;
                item->reason = STEMX__REASON__R_OK;
                item->version = current->version;
                item->seq = current->seq;
            }
            json_decref (now);
            json_decref (given);
        }
        stx_event_free (&current);
        if (!item->done && !self->options->dry_run) {
            Stemx__Event *event = stx_event_new (item->key, &item->entry);
            memcpy (item->id, event->event_id.data, STX_EVENT_ID_SIZE);
            item->data = stx_event_pack (event, &item->size);
            stx_event_free (&event);
        }
        stx_entry_free (&item->entry);
    }
    stx_txn_abort (&txn);
    if (rc != STX_OK) {
        s_fail (self, EXIT_REFUSED, "cannot read the catalogue: %s", stx_strerror (rc));
        self->compare = self->send = false;
    }
}

//  The chunk is complete: compare it, send its changed entries in
//  batches, and queue it for its rows.
static void
s_chunk_close (s_import_t *self, s_chunk_t *chunk)
{
    if (self->compare)
        s_compare (self, chunk);
    for (size_t i = 0; i < chunk->count; i++)
        stx_entry_free (&chunk->items [i].entry);
    size_t first = 0;
    while (self->send && first < chunk->count) {
        size_t last = first, events = 0, bytes = 0;
        for (; last < chunk->count && events < PUBLISH_BATCH_EVENTS; last++) {
            s_item_t *item = &chunk->items [last];
            if (!item->data)
                continue;
            if (events && bytes + item->size > PUBLISH_BATCH_BYTES)
                break;
            events++;
            bytes += item->size;
        }
        if (events)
            s_send_batch (self, chunk, first, last);
        first = last;
    }
    while (self->nchunks == S_CHUNKS_MAX && self->batches_out > self->errors)
        s_take_reply (self);
    s_flush (self, false);
    assert (self->nchunks < S_CHUNKS_MAX);
    self->chunks [self->nchunks++] = chunk;
    s_flush (self, false);
}

//  --------------------------------------------------------------------------
//  Phases

//  An unlinked temporary file in $TMPDIR, for reading and writing; NULL
//  with a message printed if none can be made.
static FILE *
s_temp_file (s_import_t *self)
{
    const char *dir = getenv ("TMPDIR");
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/stemx-import-XXXXXX", dir && *dir? dir: "/tmp");
    int fd = mkstemp (path);
    if (fd < 0) {
        s_fail (self, EXIT_REFUSED, "cannot make a temporary file in %s: %s",
                dir && *dir? dir: "/tmp", strerror (errno));
        return NULL;
    }
    unlink (path);
    FILE *file = fdopen (fd, "w+");
    assert (file);
    return file;
}

//  Is this an organisation? The kind is the id's prefix (stx_json_to_entry)
static bool
s_is_organisation (const json_t *object)
{
    json_t *id = json_is_object (object)? json_object_get (object, "id"): NULL;
    return json_is_string (id) && stx_kind_of_key (json_string_value (id))
                                  == STX_KIND_ORGANISATION;
}

//  Fill item from what the reader read: its key, its entry or refusal,
//  and "each key once per file".
static void
s_item_take (s_import_t *self, s_item_t *item, stx_read_t *read)
{
    snprintf (item->where, sizeof item->where, "%s", read->where);
    if (!read->object) {
        item->key = read->key? read->key: strdup ("");
        read->key = NULL;
        s_refuse (item, read->status, read->text);
        return;
    }
    json_t *id = json_is_object (read->object)? json_object_get (read->object, "id"): NULL;
    if (json_is_string (id) && *json_string_value (id))
        item->key = strdup (json_string_value (id));
    else {
        char key [32];
        snprintf (key, sizeof key, "[%zu]", item->ordinal);
        item->key = strdup (key);
    }
    char err [STX_ERRLEN];
    stx_status_t rc = json_is_object (read->object)
        ? stx_json_to_entry (read->object, &item->entry, err, sizeof err)
        : stx_fail (err, sizeof err, STX_ERR_INVALID, "%s: expected a JSON object", item->key);
    json_decref (read->object);
    read->object = NULL;
    if (rc != STX_OK) {
        s_refuse (item, rc, err);
        return;
    }
    free (item->key);
    item->key = strdup (stx_entry_key (item->entry));
    //  A dry run says what the broker would refuse: its structure, sizes,
    //  counts, UTF-8, controls and dates, with the default limits (codes
    //  are the broker's taxonomy's to check)
    if (self->options->dry_run
    &&  (rc = stx_validate_entry (NULL, NULL, item->entry, err, sizeof err)) != STX_OK) {
        s_refuse (item, rc, err);
        stx_entry_free (&item->entry);
        return;
    }
    uint64_t code;
    if (stx_keyset_add (self->seen, item->key, s_where_code (item->where), &code)) {
        char first [48];
        s_where_text (code, first, sizeof first);
        snprintf (err, sizeof err, "%s: given before, at %s (each entry once per file)",
                  item->key, first);
        s_refuse (item, STX_ERR_INVALID, err);
        stx_entry_free (&item->entry);
    }
}

//  Wait until the node's catalogue has applied seq, up to timeout_ms.
static bool
s_wait_applied (s_import_t *self, uint64_t seq, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        stx_meta_t meta;
        if (stx_store_meta (self->store, &meta) == STX_OK && meta.seq >= seq)
            return true;
        if (zclock_mono () > deadline)
            return false;
        zclock_sleep (50);
    }
}

//  Read the file once: phase 0 takes the organisations, phase 1 the rest
//  (and counts every entry). Returns 0, or EXIT_REFUSED when the file
//  cannot be read (a message is printed; what was sent stays sent).
static int
s_phase (s_import_t *self, int phase)
{
    self->phase = phase;
    fseek (self->file, 0, SEEK_SET);
    stx_reader_t *reader = stx_reader_new (self->file, self->options->path, self->format, 0);
    bool show = isatty (fileno (stderr)) && !self->options->json && !self->options->dry_run;
    const char *label = phase == 0? "import organisations (KiB)": "import entries (KiB)";
    s_chunk_t *chunk = NULL;
    size_t ordinal = 0;
    stx_read_t read;
    char err [PATH_MAX + STX_ERRLEN];
    stx_status_t rc;
    while ((rc = stx_reader_next (reader, &read, err, sizeof err)) == STX_OK) {
        size_t at = ordinal++;
        bool mine = read.object && s_is_organisation (read.object);
        if (phase == 1)
            mine = !mine;
        if (!mine) {
            stx_read_free (&read);
            continue;
        }
        if (!chunk) {
            chunk = (s_chunk_t *) calloc (1, sizeof (s_chunk_t));
            assert (chunk);
        }
        s_item_t *item = &chunk->items [chunk->count++];
        item->ordinal = at;
        s_item_take (self, item, &read);
        chunk->entries += item->entry != NULL;
        if (chunk->entries == S_CHUNK_ENTRIES || chunk->count == S_CHUNK_ITEMS) {
            s_chunk_close (self, chunk);
            chunk = NULL;
            if (show)
                stx_progress (stderr, label, stx_reader_offset (reader) / 1024,
                              self->file_size / 1024);
        }
    }
    if (chunk)
        s_chunk_close (self, chunk);
    while (self->batches_out > self->errors)
        s_take_reply (self);
    s_flush (self, true);
    if (show)
        stx_progress_end (stderr);
    stx_reader_destroy (&reader);
    if (rc != STX_ERR_NOT_FOUND)
        return s_fail (self, EXIT_REFUSED, "%s", err);
    return 0;
}

//  --------------------------------------------------------------------------
//  The command

//  Open the file so that it can be read more than once: a regular file as
//  it is, anything else (stdin, a pipe) copied to a temporary file.
static FILE *
s_open_input (s_import_t *self)
{
    const char *path = self->options->path;
    bool is_stdin = strcmp (path, "-") == 0;
    FILE *file = is_stdin? stdin: fopen (path, "rb");
    if (!file) {
        s_fail (self, EXIT_REFUSED, "%s: %s", path, strerror (errno));
        return NULL;
    }
    struct stat st;
    if (!is_stdin && fstat (fileno (file), &st) == 0 && S_ISREG (st.st_mode)) {
        self->file_size = (size_t) st.st_size;
        return file;
    }
    FILE *copy = s_temp_file (self);
    char buffer [65536];
    size_t got;
    while (copy && (got = fread (buffer, 1, sizeof buffer, file)) > 0)
        if (fwrite (buffer, 1, got, copy) != got) {
            s_fail (self, EXIT_REFUSED, "cannot copy %s to a temporary file: %s", path,
                    strerror (errno));
            fclose (copy);
            copy = NULL;
        }
    if (copy && ferror (file)) {
        s_fail (self, EXIT_REFUSED, "%s: %s", path, strerror (errno));
        fclose (copy);
        copy = NULL;
    }
    if (!is_stdin)
        fclose (file);
    if (copy) {
        self->file_size = (size_t) ftell (copy);
        fseek (copy, 0, SEEK_SET);
    }
    return copy;
}

//  Read the file up to the end (all) or its first entry, to find what
//  spoils it before anything is sent: a JSON syntax error anywhere, a bad
//  CSV header row.
static int
s_check (s_import_t *self, bool all)
{
    stx_reader_t *reader = stx_reader_new (self->file, self->options->path, self->format, 0);
    stx_read_t read;
    char err [PATH_MAX + STX_ERRLEN];
    stx_status_t rc;
    while ((rc = stx_reader_next (reader, &read, err, sizeof err)) == STX_OK) {
        stx_read_free (&read);
        if (!all)
            break;
    }
    stx_reader_destroy (&reader);
    fseek (self->file, 0, SEEK_SET);
    if (rc != STX_OK && rc != STX_ERR_NOT_FOUND)
        return s_fail (self, EXIT_REFUSED, "%s", err);
    return 0;
}

static int
s_open_store (s_import_t *self)
{
    const char *data = self->options->data;
    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_store_open (data, STX_STORE_READONLY, 0, &self->store, err, sizeof err);
    if (rc == STX_ERR_NOT_FOUND)
        return s_fail (self, EXIT_REFUSED, "%s holds no stemx catalogue (is --data right?)",
                       data);
    if (rc != STX_OK)
        return s_fail (self, EXIT_REFUSED, "cannot open the catalogue: %s",
                       *err? err: stx_strerror (rc));
    return 0;
}

int
stx_cmd_import (const stx_import_options_t *options)
{
    s_import_t self;
    memset (&self, 0, sizeof self);
    self.options = options;
    self.format = options->format;
    self.file = s_open_input (&self);
    if (!self.file)
        return EXIT_REFUSED;
    if (self.format == STX_FORMAT_NONE)
        self.format = stx_format_of_path (options->path);
    if (self.format == STX_FORMAT_NONE)
        self.format = stx_format_sniff (self.file);
    FILE *spools [2] = { NULL, NULL };
    int result = 0;
    if (self.format != STX_FORMAT_NDJSON)
        result = s_check (&self, self.format == STX_FORMAT_JSON);
    if (result == 0 && (!(spools [0] = s_temp_file (&self)) || !(spools [1] = s_temp_file (&self))))
        result = EXIT_REFUSED;
    if (result) {
        if (spools [0])
            fclose (spools [0]);
        fclose (self.file);
        return result;
    }
    self.summary = stx_import_summary_new (spools);
    //  Without a catalogue nothing is compared or sent, but every entry
    //  is still read and reported
    self.compare = s_open_store (&self) == 0;
    self.send = self.compare && !options->dry_run;
    for (int phase = 0; phase < 2 && result == 0; phase++) {
        self.acked = false;
        self.seen = stx_keyset_new ();
        result = s_phase (&self, phase);
        stx_keyset_destroy (&self.seen);
        //  The agent answers once the broker has stored them; the replica
        //  applies them a moment later
        if (self.acked && !s_wait_applied (&self, self.last_seq, options->timeout * 1000))
            fprintf (stderr, "stemx: note: %s has not yet applied sequence %" PRIu64 "\n",
                     options->data, self.last_seq);
        //  After a failure the rest is read, to be reported, not sent
        if (self.result)
            self.compare = self.send = false;
    }
    if (result == 0) {
        stx_import_summary_print (self.summary, options->path, stx_format_name (self.format),
                                  options->dry_run, options->json, options->colour);
        result = self.result;
        size_t refused = stx_import_summary_count (self.summary, "refused");
        size_t entries = refused + stx_import_summary_count (self.summary, "accepted")
                       + stx_import_summary_count (self.summary, "unchanged")
                       + stx_import_summary_count (self.summary, "not_sent");
        if (result == 0 && refused)
            result = s_fail (&self, EXIT_REFUSED, "%zu of %zu entries refused", refused, entries);
        if (result == 0 && stx_import_summary_count (self.summary, "not_sent")
        &&  !options->dry_run)
            result = EXIT_REFUSED;
    }
    stx_import_summary_destroy (&self.summary);
    zsock_destroy (&self.agent);
    stx_store_destroy (&self.store);
    fclose (self.file);
    return result;
}
