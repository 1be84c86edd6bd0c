/*  =========================================================================
    stx_cli - what the commands of `stemx` share

    The options every command may take (parsed by stemx.c from the command
    table), the exit statuses, and the helpers to open the catalogue, reach
    the agent and print tables, CSV and JSON. Each command, or family of
    commands, is a stx_cmd_*.c file with its entry point declared here.
    ========================================================================= */

#ifndef STX_CLI_H_INCLUDED
#define STX_CLI_H_INCLUDED

#include <czmq.h>
#include <jansson.h>
#include "stx_store.h"
#include "stx_cli_format.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2
#define EXIT_QUEUED  3          //  in the agent's outbox, not acked by the broker yet
#define EXIT_UNSTORED 4         //  the agent did not confirm it stored the events

typedef struct {
    const char *data;           //  node data folder
    bool json, csv;             //  machine output
    int timeout;                //  seconds to wait for the broker
    bool timeout_given;         //  --timeout was on the command line
    stx_filter_t filter;
    const char *kind;           //  --kind
    const char *format;         //  --format
    const char *out;            //  --out (export) or keygen's folder
    uint64_t from_seq;          //  tail --from-seq
    long limit;                 //  search --limit
    bool dry_run;               //  import --dry-run
    const char *pillar;         //  keygen: helix pillar
    const char *roles;          //  keygen: roles
    bool broker;                //  keygen: the broker's own key
    bool verify;                //  show: check the signature
    const char *keys;           //  show --verify: trust folder
    uint64_t expect_version;    //  withdraw: compare-and-set
    bool colour;                //  stdout may use colour
} options_t;

//  Print "stemx: MESSAGE" on stderr (red on a terminal; untrusted text in
//  the arguments escaped) and return code.
int
    stx_cli_fail (int code, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  Print a usage error for command (its name; NULL = stemx itself) with
//  its usage line, and return EXIT_USAGE.
int
    stx_cli_usage_error (const char *command, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Whether stderr may use colour, as main found it (default false).
void
    stx_cli_set_colour_err (bool colour);
bool
    stx_cli_colour_err (void);

//  Open the node's catalogue read-only; flags STX_STORE_QUERY for the
//  commands that read the query index (a broker's store keeps none).
//  Returns 0 (caller destroys *store_p), or EXIT_REFUSED with the reason
//  printed.
int
    stx_cli_open_store (options_t *options, int flags, stx_store_t **store_p);

//  Print json to stdout, indented, members in order; the caller keeps it.
void
    stx_cli_print_json (json_t *json);

//  Print table to stdout, as wide as the terminal (bold headers when
//  colour is on); the caller keeps it.
void
    stx_cli_print_table (stx_table_t *table, options_t *options);

//  Print rows (arrays of strings) as CSV, header first.
void
    stx_cli_print_csv (size_t columns, const char **header, json_t *rows);

//  Print rows (arrays of strings) under header as a table, or as CSV with
//  lower-case headers under --csv; the caller keeps rows.
void
    stx_cli_print_rows (options_t *options, size_t columns, const char **header, json_t *rows);

//  A JSON array of the count strings cells (NULL as ""). Caller owns it.
json_t *
    stx_cli_row (size_t count, const char **cells);

//  True if path is a folder.
bool
    stx_cli_is_dir (const char *path);

//  value in decimal into buf (size bytes); returns buf.
char *
    stx_cli_format_u64 (char *buf, size_t size, uint64_t value);

//  Hex of the first 8 bytes of an event's signer into out, or "unsigned".
void
    stx_cli_signer (const Stemx__Event *event, char *out, size_t size);

//  "upsert" or "withdraw".
const char *
    stx_cli_op_name (Stemx__Operation op);

//  A DEALER connected to the agent of the data folder. NULL with a
//  message printed (unless quiet) if no agent listens there. Caller
//  destroys it.
zsock_t *
    stx_cli_connect_agent (options_t *options, bool quiet);

//  The whole file at path ("-" = stdin), at most 64 MiB, with a NUL after
//  its *size_p bytes. NULL with a message printed. Caller frees.
char *
    stx_cli_read_input (const char *path, size_t *size_p);

//  The commands. Each takes the parsed options and its positional
//  arguments and returns the exit status; messages go to stderr.
int stx_cli_cmd_publish (options_t *options, int argc, char **argv);   //  stx_cmd_publish.c
int stx_cli_cmd_withdraw (options_t *options, int argc, char **argv);
int stx_cli_cmd_import (options_t *options, int argc, char **argv);
int stx_cli_cmd_export (options_t *options, int argc, char **argv);    //  stx_cmd_query.c
int stx_cli_cmd_list (options_t *options, int argc, char **argv);
int stx_cli_cmd_show (options_t *options, int argc, char **argv);
int stx_cli_cmd_search (options_t *options, int argc, char **argv);
int stx_cli_cmd_history (options_t *options, int argc, char **argv);   //  stx_cmd_history.c
int stx_cli_cmd_tail (options_t *options, int argc, char **argv);
int stx_cli_cmd_status (options_t *options, int argc, char **argv);    //  stx_cmd_status.c
int stx_cli_cmd_verify (options_t *options, int argc, char **argv);
int stx_cli_cmd_keygen (options_t *options, int argc, char **argv);    //  stx_cmd_keygen.c

#endif
