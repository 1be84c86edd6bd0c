/*  =========================================================================
    fuzz_event - a packed Event from the wire, through every consumer

    The bytes are what a broker gets in a Publish or a replica gets on the
    PUB socket. Path: stx_event_unpack -> stx_validate_event ->
    stx_json_from_event + json_dumps -> stx_index_keys / stx_index_match,
    and for an event that validates, the round trips every node relies on.

    Invariants (abort on violation):
      - a refusal's error text is non-empty, within its buffer, valid UTF-8;
      - any decodable event converts to JSON that dumps and parses back;
      - index keys come in strictly increasing strcmp order, each
        "<index>=<value>" with a non-empty value; the entry matches a filter
        on each of its keys, on its kind, and the empty filter;
      - a valid event packs, unpacks and packs again to the same bytes, the
        copy validates and converts to the same JSON;
      - a valid entry goes Entry -> JSON -> Entry to the same packed bytes.
    ========================================================================= */

#include <jansson.h>
#include "stx_event.h"
#include "stx_index.h"
#include "stx_json.h"
#include "fuzz_common.h"

//  Checks each index key as stx_index_keys hands it over.
typedef struct {
    char *previous;             //  the key before, to check the order
    size_t count;
    const Stemx__Entry *entry;
    bool valid;                 //  the entry passed validation
} s_keys_state_t;

static int
s_check_key (const char *index_key, void *arg)
{
    s_keys_state_t *state = (s_keys_state_t *) arg;
    FUZZ_CHECK (index_key);
    const char *equals = strchr (index_key, '=');
    FUZZ_CHECK (equals && equals > index_key && equals [1]);
    if (state->previous)
        FUZZ_CHECK (strcmp (state->previous, index_key) < 0);
    free (state->previous);
    state->previous = strdup (index_key);
    FUZZ_CHECK (state->previous);
    state->count++;

    //  The entry matches a filter on exactly this key
    stx_filter_t filter = { .kind = STX_KIND_NONE };
    size_t prefix_len = (size_t) (equals - index_key);
    const char *value = equals + 1;
    if (strncmp (index_key, "od", prefix_len) == 0 && prefix_len == 2)
        filter.od = value;
    else
    if (strncmp (index_key, "helix", prefix_len) == 0 && prefix_len == 5)
        filter.helix = value;
    else
    if (strncmp (index_key, "org", prefix_len) == 0 && prefix_len == 3)
        filter.org = value;
    else
    if (strncmp (index_key, "muni", prefix_len) == 0 && prefix_len == 4)
        filter.municipality = value;
    else
    if (strncmp (index_key, "theme", prefix_len) == 0 && prefix_len == 5)
        filter.theme = value;
    else
    if (strncmp (index_key, "status", prefix_len) == 0 && prefix_len == 6)
        filter.status = value;
    else
    if (strncmp (index_key, "word", prefix_len) == 0 && prefix_len == 4)
        filter.word = value;
    else
    if (strncmp (index_key, "kind", prefix_len) == 0 && prefix_len == 4) {
        filter.kind = stx_kind_from_name (value);
        FUZZ_CHECK (filter.kind == stx_entry_kind (state->entry));
    }
    else
    if (strncmp (index_key, "start", prefix_len) == 0 && prefix_len == 5) {
        //  On a valid entry, start <= end, so [start, start] overlaps it
        if (!state->valid)
            return 0;
        filter.from = value;
        filter.to = value;
    }
    else
        FUZZ_CHECK (!"unknown index");
    FUZZ_CHECK (stx_index_match (state->entry, &filter));
    return 0;
}

static void
s_check_index (const Stemx__Entry *entry, bool valid)
{
    s_keys_state_t state = { NULL, 0, entry, valid };
    FUZZ_CHECK (stx_index_keys (entry, s_check_key, &state) == 0);
    free (state.previous);
    if (entry) {
        stx_filter_t any = { .kind = STX_KIND_NONE };
        FUZZ_CHECK (stx_index_match (entry, &any));
    }
    else
        FUZZ_CHECK (state.count == 0);
    const char *start, *end;
    stx_index_dates (entry, &start, &end);
    FUZZ_CHECK (start && end);
}

//  JSON of event; must exist, dump and parse back equal. Caller owns it.
static json_t *
s_event_json (const Stemx__Event *event)
{
    json_t *json = stx_json_from_event (event);
    FUZZ_CHECK (json);
    char *text = json_dumps (json, JSON_COMPACT);
    FUZZ_CHECK (text);
    json_error_t error;
    json_t *parsed = json_loads (text, 0, &error);
    FUZZ_CHECK (parsed);
    FUZZ_CHECK (json_equal (json, parsed));
    json_decref (parsed);
    free (text);
    return json;
}

//  A valid entry survives Entry -> JSON -> Entry unchanged.
static void
s_check_entry_json (const Stemx__Entry *entry)
{
    json_t *json = stx_json_from_entry (entry);
    FUZZ_CHECK (json);
    char err [STX_ERRLEN] = "";
    Stemx__Entry *copy = NULL;
    stx_status_t rc = stx_json_to_entry (json, &copy, err, sizeof (err));
    if (rc != STX_OK)
        fprintf (stderr, "fuzz_event: JSON of a valid entry refused: %s\n", err);
    FUZZ_CHECK (rc == STX_OK);
    size_t size = stemx__entry__get_packed_size (entry);
    size_t copy_size = stemx__entry__get_packed_size (copy);
    FUZZ_CHECK (size == copy_size);
    uint8_t *bytes = (uint8_t *) malloc (size + 1);
    uint8_t *copy_bytes = (uint8_t *) malloc (copy_size + 1);
    FUZZ_CHECK (bytes && copy_bytes);
    stemx__entry__pack (entry, bytes);
    stemx__entry__pack (copy, copy_bytes);
    FUZZ_CHECK (memcmp (bytes, copy_bytes, size) == 0);
    free (bytes);
    free (copy_bytes);
    stx_entry_free (&copy);
    json_decref (json);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const stx_taxonomy_t *taxonomy = fuzz_taxonomy ();
    Stemx__Event *event = NULL;
    if (stx_event_unpack (data, size, &event) != STX_OK) {
        FUZZ_CHECK (event == NULL);
        return 0;
    }
    FUZZ_CHECK (event);

    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_validate_event (taxonomy, NULL, event, err, sizeof (err));
    bool valid = rc == STX_OK;
    if (!valid)
        fuzz_check_error_text (err, sizeof (err));

    json_t *json = s_event_json (event);
    s_check_index (event->entry, valid);

    if (valid) {
        //  Repack, unpack, repack: the same bytes, the same meaning
        size_t packed_size;
        uint8_t *packed = stx_event_pack (event, &packed_size);
        Stemx__Event *copy = NULL;
        FUZZ_CHECK (stx_event_unpack (packed, packed_size, &copy) == STX_OK);
        size_t repacked_size;
        uint8_t *repacked = stx_event_pack (copy, &repacked_size);
        FUZZ_CHECK (repacked_size == packed_size);
        FUZZ_CHECK (memcmp (packed, repacked, packed_size) == 0);
        FUZZ_CHECK (stx_validate_event (taxonomy, NULL, copy, err, sizeof (err)) == STX_OK);
        json_t *copy_json = s_event_json (copy);
        FUZZ_CHECK (json_equal (json, copy_json));
        json_decref (copy_json);
        free (packed);
        free (repacked);
        stx_event_free (&copy);
        if (event->entry)
            s_check_entry_json (event->entry);
    }
    json_decref (json);
    stx_event_free (&event);
    FUZZ_CHECK (event == NULL);
    return 0;
}
