/*  =========================================================================
    stx_cmd_history - `stemx history` and `tail`

    What the log holds of one key, as versions and differences, and the
    log as it grows (tail polls the read-only catalogue).
    ========================================================================= */

#include "stx_csv.h"
#include "stx_cli.h"

//  How often tail looks for new events
#define TAIL_POLL_MS 200

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
    stx_cli_signer (event, signer, sizeof signer);
    json_t *version = json_pack ("{s:I, s:s, s:s, s:I, s:s, s:s}",
        "seq", (json_int_t) seq, "time", time, "op", stx_cli_op_name (event->op),
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

int
stx_cli_cmd_history (options_t *options, int argc, char **argv)
{
    const char *key = argv [0];
    stx_store_t *store = NULL;
    if (stx_cli_open_store (options, 0, &store))
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
        result = stx_cli_fail (EXIT_REFUSED, "%s: not found", key);
    else
    if (rc != STX_OK)
        result = stx_cli_fail (EXIT_REFUSED, "%s: %s", key, stx_strerror (rc));
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
        stx_cli_print_json (json);
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
                json_array_append_new (rows, stx_cli_row (7, cells));
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
                json_array_append_new (rows, stx_cli_row (7, cells));
            }
        }
        if (*horizon && !options->csv)
            printf ("%s (%s)\n", key, horizon);
        stx_cli_print_rows (options, 7, header, rows);
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
    stx_cli_format_u64 (seq, sizeof seq, event->seq);
    stx_cli_format_u64 (version, sizeof version, event->version);
    const char *title = event->op == STEMX__OPERATION__OP_UPSERT
                      ? stx_index_title (event->entry): "";
    if (options->csv) {
        const char *cells [] = { seq, time, stx_cli_op_name (event->op), event->key, version,
                                 event->origin, title };
        stx_csv_write (stdout, cells, 7);
        return;
    }
    bool c = options->colour;
    char *safe_key = stx_text_escape (event->key), *safe_origin = stx_text_escape (event->origin),
         *safe_title = stx_text_escape (title);
    printf ("%s  %s%8s%s  %-8s  %s%-40s%s  v%-3s  %-20s  %s\n", time, STX_DIM (c), seq,
            STX_RESET (c), stx_cli_op_name (event->op), STX_BOLD (c), safe_key, STX_RESET (c),
            version, safe_origin, safe_title);
    free (safe_key);
    free (safe_origin);
    free (safe_title);
}

int
stx_cli_cmd_tail (options_t *options, int argc, char **argv)
{
    if (options->kind
    &&  (options->filter.kind = stx_kind_from_name (options->kind)) == STX_KIND_NONE)
        return stx_cli_usage_error ("tail", "unknown kind '%s'", options->kind);
    stx_store_t *store = NULL;
    if (stx_cli_open_store (options, 0, &store))
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
        return stx_cli_fail (EXIT_REFUSED, "cannot read the catalogue: %s", stx_strerror (rc));
    return 0;
}
