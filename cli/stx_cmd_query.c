/*  =========================================================================
    stx_cmd_query - `stemx export`, `list`, `show` and `search`

    Read commands: each opens the node's catalogue read-only in short read
    transactions, so they work on a broker's or an agent's folder, with or
    without its daemon running.
    ========================================================================= */

#include "stx_search.h"
#include "stx_csv.h"
#include "stx_sign.h"
#include "stx_cmd_import.h"
#include "stx_cli.h"

//  Most distinct words a search takes
#define SEARCH_TERMS_MAX 16

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
    if (stx_cli_open_store (options, STX_STORE_QUERY, &store))
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
        stx_cli_fail (EXIT_REFUSED, "query failed: %s", stx_strerror (rc));
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

int
stx_cli_cmd_export (options_t *options, int argc, char **argv)
{
    const char *command = "export";
    stx_kind_t kind = STX_KIND_NONE;
    if (argc == 1 && (kind = stx_kind_from_name (argv [0])) == STX_KIND_NONE)
        return stx_cli_usage_error (command, "unknown kind '%s' (organisation, initiative, "
                                    "infrastructure or moment)", argv [0]);
    stx_format_t format = stx_format_named (options->format);
    if (options->format && format == STX_FORMAT_NONE)
        return stx_cli_usage_error (command, "--format takes json, ndjson or csv, not '%s'",
                                    options->format);
    if ((options->json || options->csv) && options->format)
        return stx_cli_usage_error (command, "give either --format or --json / --csv");
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
            return stx_cli_fail (EXIT_REFUSED, "%s: %s", options->out, strerror (errno));
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
            return stx_cli_fail (EXIT_REFUSED, "%s: %s", options->out, strerror (errno));
        }
        fprintf (stderr, "stemx: exported %zu entries to %s (%s)\n", count, options->out,
                 stx_format_name (format));
    }
    else
    if (fflush (stdout) != 0)
        return stx_cli_fail (EXIT_REFUSED, "cannot write: %s", strerror (errno));
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
            row = stx_cli_row (5, cells);
            break;
        }
        case STX_KIND_INITIATIVE: {
            const Stemx__Initiative *ini = entry->initiative;
            s_join (buf, sizeof buf, ini->od_codes, ini->n_od_codes);
            const char *cells [] = { ini->id, ini->title, s_org (ini->owner),
                ini->period? ini->period->start: "", ini->period? ini->period->end: "",
                ini->status, buf };
            row = stx_cli_row (7, cells);
            break;
        }
        case STX_KIND_INFRASTRUCTURE: {
            const Stemx__InfrastructureOpening *infra = entry->infrastructure;
            snprintf (num, sizeof num, "%u", infra->capacity
                      ? infra->capacity->participants_per_session : 0);
            const char *cells [] = { infra->id, infra->facility, s_org (infra->provider),
                infra->od_code, infra->location? infra->location->municipality: "", num };
            row = stx_cli_row (6, cells);
            break;
        }
        case STX_KIND_MOMENT: {
            const Stemx__NetworkMoment *moment = entry->moment;
            const char *cells [] = { moment->id, moment->date, moment->kind, moment->title,
                moment->location? moment->location->municipality: "" };
            row = stx_cli_row (5, cells);
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

int
stx_cli_cmd_list (options_t *options, int argc, char **argv)
{
    stx_kind_t kind = stx_kind_from_name (argv [0]);
    if (kind == STX_KIND_NONE)
        return stx_cli_usage_error ("list",
            "unknown kind '%s' (organisation, initiative, infrastructure or moment)", argv [0]);
    options->filter.kind = kind;
    stx_store_t *store = NULL;
    if (stx_cli_open_store (options, STX_STORE_QUERY, &store))
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
        result = stx_cli_fail (EXIT_REFUSED, "query failed: %s", stx_strerror (rc));
    else
    if (options->json)
        stx_cli_print_json (list.array);
    else {
        const char **header = kind == STX_KIND_ORGANISATION? s_org_h
                            : kind == STX_KIND_INITIATIVE? s_ini_h
                            : kind == STX_KIND_INFRASTRUCTURE? s_infra_h: s_moment_h;
        size_t columns = kind == STX_KIND_ORGANISATION? 5: kind == STX_KIND_INITIATIVE? 7
                       : kind == STX_KIND_INFRASTRUCTURE? 6: 5;
        stx_cli_print_rows (options, columns, header, list.rows);
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
        if (!stx_cli_is_dir (keys))
            snprintf (keys, sizeof keys, "%s/registry", options->data);
    }
    if (!stx_cli_is_dir (keys))
        return stx_cli_usage_error ("show",
            "--verify needs the partners' public keys: no %s/trust or %s/registry; give --keys DIR",
            options->data, options->data);
    snprintf (retired, sizeof retired, "%s-retired", keys);
    stx_registry_t *registry = NULL;
    stx_status_t rc = stx_registry_load (keys, stx_cli_is_dir (retired)? retired: NULL, &registry,
                                         err, sizeof err);
    if (rc != STX_OK) {
        stx_cli_fail (EXIT_REFUSED, "cannot load the keys in %s: %s", keys, err);
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
    if (stx_cli_open_store (options, 0, &store))
        return EXIT_REFUSED;
    stx_txn_t *txn = NULL;
    stx_status_t rc = stx_store_begin (store, false, &txn);
    if (rc == STX_OK) {
        rc = stx_txn_get (txn, key, event_p);
        stx_txn_abort (&txn);
    }
    stx_store_destroy (&store);
    if (rc == STX_ERR_NOT_FOUND)
        return stx_cli_fail (EXIT_REFUSED, "%s: not found", key);
    if (rc != STX_OK)
        return stx_cli_fail (EXIT_REFUSED, "%s: %s", key, stx_strerror (rc));
    return 0;
}

int
stx_cli_cmd_show (options_t *options, int argc, char **argv)
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
        stx_cli_print_json (json);
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

//  Rows of the search results, for stx_cli_print_rows and --json
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
    json_array_append_new (self->rows, stx_cli_row (5, cells));
    return 0;
}

int
stx_cli_cmd_search (options_t *options, int argc, char **argv)
{
    const char *command = "search";
    stx_kind_t kind = STX_KIND_NONE;
    if (options->kind && (kind = stx_kind_from_name (options->kind)) == STX_KIND_NONE)
        return stx_cli_usage_error (command, "unknown kind '%s'", options->kind);
    terms_t terms = { { NULL }, 0 };
    for (int i = 0; i < argc; i++)
        stx_index_tokens (argv [i], s_add_term, &terms);
    if (terms.count == 0)
        return stx_cli_usage_error (command, "nothing to search for: give words of at least 3 "
                                    "letters that are not stop words (de, het, the, ...)");
    stx_store_t *store = NULL;
    if (stx_cli_open_store (options, STX_STORE_QUERY, &store)) {
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
        result = stx_cli_fail (EXIT_REFUSED, "search failed: %s", stx_strerror (rc));
    else {
        size_t shown = json_array_size (out.json);
        if (options->json)
            stx_cli_print_json (out.json);
        else {
            const char *header [] = { "KEY", "KIND", "TITLE", "SCORE", "MATCHED" };
            stx_cli_print_rows (options, 5, header, out.rows);
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
