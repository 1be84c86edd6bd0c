/*  =========================================================================
    fuzz_table - text partners wrote, on its way to an operator's terminal

    The bytes are split at 0x1f into the cells of a three-column table (at
    most 16 rows), which is printed as the CLI prints it, at a width the
    first byte picks; each cell also goes through stx_text_escape alone.

    Invariants (abort on violation):
      - nothing printed holds a control character other than the table's
        own newlines: no C0, DEL or C1 control, no bidi control
        (U+202A-U+202E, U+2066-U+2069), whatever the cells held;
      - an escaped cell is at most six bytes per byte of the cell, and a
        cell without controls comes back unchanged.
    ========================================================================= */

#include "stx_cli_format.h"
#include "fuzz_common.h"

#define S_COLUMNS 3
#define S_CELLS_MAX (S_COLUMNS * 16)

//  True if the NUL-terminated text holds a control a terminal acts on;
//  newline counts only when newline_ok is false.
static bool
s_unsafe (const unsigned char *p, bool newline_ok)
{
    for (; *p; p++) {
        if ((*p < 0x20 && !(newline_ok && *p == '\n')) || *p == 0x7f)
            return true;
        if (p [0] == 0xc2 && p [1] >= 0x80 && p [1] <= 0x9f)
            return true;
        if (p [0] == 0xe2 && ((p [1] == 0x80 && p [2] >= 0xaa && p [2] <= 0xae)
                           || (p [1] == 0x81 && p [2] >= 0xa6 && p [2] <= 0xa9)))
            return true;
    }
    return false;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    size_t width = size? (size_t) data [0]: 0;
    char *copy = (char *) malloc (size + 1);
    FUZZ_CHECK (copy);
    memcpy (copy, data, size);
    copy [size] = 0;
    const char *cells [S_CELLS_MAX] = { NULL };
    size_t count = 0;
    char *cell = size? copy + 1: copy;
    while (cell && count < S_CELLS_MAX) {
        cells [count++] = cell;
        char *end = strchr (cell, 0x1f);
        if (end)
            *end++ = 0;
        cell = end;
    }
    for (size_t i = 0; i < count; i++) {
        char *safe = stx_text_escape (cells [i]);
        FUZZ_CHECK (safe);
        FUZZ_CHECK (!s_unsafe ((const unsigned char *) safe, false));
        FUZZ_CHECK (strlen (safe) <= strlen (cells [i]) * 6);
        if (!s_unsafe ((const unsigned char *) cells [i], false))
            FUZZ_CHECK (strcmp (safe, cells [i]) == 0);
        free (safe);
    }
    const char *headers [S_COLUMNS] = { "KEY", "TITLE", "OWNER" };
    stx_table_t *table = stx_table_new (S_COLUMNS, headers);
    for (size_t row = 0; row * S_COLUMNS < count; row++)
        stx_table_add (table, cells + row * S_COLUMNS);
    char *printed = NULL;
    size_t printed_size = 0;
    FILE *out = open_memstream (&printed, &printed_size);
    FUZZ_CHECK (out);
    stx_table_print (table, out, width);
    fclose (out);
    FUZZ_CHECK (printed);
    FUZZ_CHECK (!s_unsafe ((const unsigned char *) printed, true));
    free (printed);
    stx_table_destroy (&table);
    free (copy);
    return 0;
}
