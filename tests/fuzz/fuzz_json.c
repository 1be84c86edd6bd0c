/*  =========================================================================
    fuzz_json - JSON a publisher gives `stemx publish`, into entries and back

    The bytes are parsed as the CLI does (json_loadb, duplicates refused;
    NULs allowed, so the converter's own NUL check is reached). For the
    object, or each element of an array: stx_json_to_entry ->
    stx_validate_entry -> stx_json_from_entry -> stx_json_to_entry.

    Invariants (abort on violation):
      - a refusal's error text is non-empty, within its buffer, valid UTF-8,
        and a refused conversion leaves no entry behind;
      - an entry that converted once converts again from its own JSON, to
        the same packed bytes and the same JSON text;
      - it survives the protobuf wire form: pack, unpack, same JSON;
      - validation gives the same verdict on the copy.
    ========================================================================= */

#include <jansson.h>
#include "stx_json.h"
#include "fuzz_common.h"

#define S_MAX_ELEMENTS 64       //  elements of an array looked at

//  Packed bytes of entry; caller frees.
static uint8_t *
s_pack (const Stemx__Entry *entry, size_t *size_p)
{
    *size_p = stemx__entry__get_packed_size (entry);
    uint8_t *bytes = (uint8_t *) malloc (*size_p + 1);
    FUZZ_CHECK (bytes);
    FUZZ_CHECK (stemx__entry__pack (entry, bytes) == *size_p);
    return bytes;
}

//  JSON text of entry, keys in field order; caller frees.
static char *
s_dump (const Stemx__Entry *entry)
{
    json_t *json = stx_json_from_entry (entry);
    FUZZ_CHECK (json);
    char *text = json_dumps (json, JSON_COMPACT);
    FUZZ_CHECK (text);
    json_decref (json);
    return text;
}

static void
s_check_one (const stx_taxonomy_t *taxonomy, const json_t *object)
{
    char err [STX_ERRLEN] = "";
    Stemx__Entry *entry = NULL;
    stx_status_t rc = stx_json_to_entry (object, &entry, err, sizeof (err));
    if (rc != STX_OK) {
        FUZZ_CHECK (entry == NULL);
        fuzz_check_error_text (err, sizeof (err));
        return;
    }
    FUZZ_CHECK (entry);
    FUZZ_CHECK (stx_entry_kind (entry) != STX_KIND_NONE);
    FUZZ_CHECK (stx_kind_of_key (stx_entry_key (entry)) == stx_entry_kind (entry));

    err [0] = 0;
    stx_status_t verdict = stx_validate_entry (taxonomy, NULL, entry, err, sizeof (err));
    if (verdict != STX_OK)
        fuzz_check_error_text (err, sizeof (err));

    //  Entry -> JSON -> Entry again
    json_t *json = stx_json_from_entry (entry);
    FUZZ_CHECK (json);
    Stemx__Entry *copy = NULL;
    err [0] = 0;
    rc = stx_json_to_entry (json, &copy, err, sizeof (err));
    if (rc != STX_OK)
        fprintf (stderr, "fuzz_json: own JSON refused: %s\n", err);
    FUZZ_CHECK (rc == STX_OK && copy);
    json_decref (json);

    size_t size, copy_size;
    uint8_t *bytes = s_pack (entry, &size);
    uint8_t *copy_bytes = s_pack (copy, &copy_size);
    FUZZ_CHECK (size == copy_size);
    FUZZ_CHECK (memcmp (bytes, copy_bytes, size) == 0);
    free (copy_bytes);

    char *text = s_dump (entry);
    char *copy_text = s_dump (copy);
    FUZZ_CHECK (strcmp (text, copy_text) == 0);
    free (copy_text);

    //  Through the wire form
    Stemx__Entry *unpacked = stemx__entry__unpack (NULL, size, bytes);
    FUZZ_CHECK (unpacked);
    char *unpacked_text = s_dump (unpacked);
    FUZZ_CHECK (strcmp (text, unpacked_text) == 0);
    free (unpacked_text);
    stx_entry_free (&unpacked);
    free (bytes);
    free (text);

    char copy_err [STX_ERRLEN] = "";
    FUZZ_CHECK (stx_validate_entry (taxonomy, NULL, copy, copy_err, sizeof (copy_err))
                == verdict);
    stx_entry_free (&copy);
    stx_entry_free (&entry);
    FUZZ_CHECK (entry == NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const stx_taxonomy_t *taxonomy = fuzz_taxonomy ();
    json_error_t error;
    json_t *root = json_loadb ((const char *) data, size,
                               JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
    if (!root)
        return 0;
    if (json_is_array (root)) {
        size_t index;
        json_t *element;
        json_array_foreach (root, index, element) {
            if (index == S_MAX_ELEMENTS)
                break;
            s_check_one (taxonomy, element);
        }
    }
    else
        s_check_one (taxonomy, root);
    json_decref (root);
    return 0;
}
