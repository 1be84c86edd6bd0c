/*  =========================================================================
    stx_cli - what the commands of `stemx` share

    Helpers for every command (stx_cli.h). Runs in the CLI's one thread;
    owns nothing between calls but the colour setting for stderr.
    ========================================================================= */

#include "stx_csv.h"
#include "stx_cli.h"

//  Largest input file publish reads (import streams its file)
#define INPUT_MAX_BYTES (64 * 1024 * 1024)

//  --------------------------------------------------------------------------
//  Helpers

static bool s_colour_err;       //  stderr may use colour

void
stx_cli_set_colour_err (bool colour)
{
    s_colour_err = colour;
}

bool
stx_cli_colour_err (void)
{
    return s_colour_err;
}

int
stx_cli_fail (int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    stx_cli_error (s_colour_err, format, args);
    va_end (args);
    return code;
}

//  Open the node's catalogue read-only; flags STX_STORE_QUERY for the
//  commands that read the query index (a broker's store keeps none).
//  Returns 0, or EXIT_REFUSED with the reason printed.
int
stx_cli_open_store (options_t *options, int flags, stx_store_t **store_p)
{
    char err [STX_ERRLEN] = "";
    stx_status_t rc = stx_store_open (options->data, STX_STORE_READONLY | flags, 0, store_p,
                                      err, sizeof err);
    if (rc == STX_OK)
        return 0;
    if (rc == STX_ERR_NOT_FOUND)
        return stx_cli_fail (EXIT_REFUSED, "%s holds no stemx catalogue (is --data right?)",
                             options->data);
    if (rc == STX_ERR_INVALID)
        return stx_cli_fail (EXIT_REFUSED, "%s", err);
    return stx_cli_fail (EXIT_REFUSED, "cannot open the catalogue: %s", *err? err: stx_strerror (rc));
}

void
stx_cli_print_json (json_t *json)
{
    char *text = json_dumps (json, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    assert (text);
    puts (text);
    free (text);
}

void
stx_cli_print_table (stx_table_t *table, options_t *options)
{
    stx_table_print_styled (table, stdout, stx_terminal_width (stdout), options->colour);
}

//  Print the table's rows as CSV (header first).
void
stx_cli_print_csv (size_t columns, const char **header, json_t *rows)
{
    stx_csv_write (stdout, header, columns);
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *cells [columns];
        for (size_t c = 0; c < columns; c++)
            cells [c] = json_string_value (json_array_get (row, c));
        stx_csv_write (stdout, cells, columns);
    }
}

bool
stx_cli_is_dir (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

char *
stx_cli_format_u64 (char *buf, size_t size, uint64_t value)
{
    snprintf (buf, size, "%" PRIu64, value);
    return buf;
}

//  Hex of the first 8 bytes of an event's signer, or "unsigned".
void
stx_cli_signer (const Stemx__Event *event, char *out, size_t size)
{
    if (event->signer.len == 0) {
        snprintf (out, size, "unsigned");
        return;
    }
    assert (size >= 17);
    stx_hex (event->signer.data, event->signer.len < 8? event->signer.len: 8, out);
}

const char *
stx_cli_op_name (Stemx__Operation op)
{
    return op == STEMX__OPERATION__OP_UPSERT? "upsert"
         : op == STEMX__OPERATION__OP_WITHDRAW? "withdraw": "unspecified";
}

//  Connect a DEALER to the agent of the data folder. Returns NULL with a
//  message printed if no agent listens there.
zsock_t *
stx_cli_connect_agent (options_t *options, bool quiet)
{
    char path [PATH_MAX];
    char *real = realpath (options->data, NULL);
    if (!real) {
        if (!quiet)
            stx_cli_fail (EXIT_REFUSED, "%s: %s", options->data, strerror (errno));
        return NULL;
    }
    snprintf (path, sizeof path, "%s/agent.sock", real);
    free (real);
    struct stat st;
    if (stat (path, &st) != 0 || !S_ISSOCK (st.st_mode)) {
        if (!quiet)
            stx_cli_fail (EXIT_REFUSED, "no agent is running on %s (start stemx-agent --data %s)",
                          options->data, options->data);
        return NULL;
    }
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    if (zsock_connect (sock, "ipc://%s", path) != 0) {
        if (!quiet)
            stx_cli_fail (EXIT_REFUSED, "cannot connect to the agent at %s", path);
        zsock_destroy (&sock);
    }
    return sock;
}

char *
stx_cli_read_input (const char *path, size_t *size_p)
{
    FILE *file = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!file) {
        stx_cli_fail (EXIT_REFUSED, "%s: %s", path, strerror (errno));
        return NULL;
    }
    size_t size = 0, capacity = 65536;
    char *buffer = malloc (capacity + 1);
    assert (buffer);
    size_t got;
    while ((got = fread (buffer + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size > INPUT_MAX_BYTES) {
            stx_cli_fail (EXIT_REFUSED, "%s: larger than %d MiB", path, INPUT_MAX_BYTES >> 20);
            free (buffer);
            buffer = NULL;
            break;
        }
        if (size == capacity) {
            capacity *= 2;
            buffer = realloc (buffer, capacity + 1);
            assert (buffer);
        }
    }
    if (buffer && ferror (file)) {
        stx_cli_fail (EXIT_REFUSED, "%s: %s", path, strerror (errno));
        free (buffer);
        buffer = NULL;
    }
    if (file != stdin)
        fclose (file);
    if (buffer)
        buffer [size] = 0;
    *size_p = size;
    return buffer;
}

json_t *
stx_cli_row (size_t count, const char **cells)
{
    json_t *row = json_array ();
    for (size_t c = 0; c < count; c++)
        json_array_append_new (row, json_string (cells [c]? cells [c]: ""));
    return row;
}

//  Print rows (arrays of strings) under header as a table or as CSV.
void
stx_cli_print_rows (options_t *options, size_t columns, const char **header, json_t *rows)
{
    if (options->csv) {
        //  Machine headers: lower case
        char names [columns][32];
        const char *lower [columns];
        for (size_t c = 0; c < columns; c++) {
            snprintf (names [c], sizeof names [c], "%s", header [c]);
            for (char *p = names [c]; *p; p++)
                *p = (char) tolower ((unsigned char) *p);
            lower [c] = names [c];
        }
        stx_cli_print_csv (columns, lower, rows);
        return;
    }
    stx_table_t *table = stx_table_new (columns, header);
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *cells [columns];
        for (size_t c = 0; c < columns; c++)
            cells [c] = json_string_value (json_array_get (row, c));
        stx_table_add (table, cells);
    }
    stx_cli_print_table (table, options);
    stx_table_destroy (&table);
}
