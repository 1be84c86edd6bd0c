/*  =========================================================================
    stx_cmd_import - `stemx import FILE|-`: many entries through the agent

    stemx import FILE|- [--format json|ndjson|csv] [--dry-run]
                        [--timeout SEC] [--json]

    Reads a JSON array of entries (or a catalogue document), NDJSON or CSV
    (stx_reader.h), compares each entry with the node's current version,
    and sends the changed ones to the node's agent, organisations first so
    that the other entries find their partners' pillars. Memory does not
    grow with the file: the file is read once per phase and the entries go
    through in batches (stx_cmd_import.c has the design).
    ========================================================================= */

#ifndef STX_CMD_IMPORT_H_INCLUDED
#define STX_CMD_IMPORT_H_INCLUDED

#include <czmq.h>
#include "stx_reader.h"

//  Opens a DEALER to the node's agent. Returns NULL, with the reason
//  printed on stderr, when no agent can be reached. Caller owns the socket.
typedef zsock_t *(stx_connect_fn) (void *arg);

typedef struct {
    const char *data;           //  the node's data folder
    const char *path;           //  the file, or "-" for stdin
    stx_format_t format;        //  --format, or STX_FORMAT_NONE
    int timeout;                //  seconds to wait for each answer
    bool dry_run;               //  compare only, send nothing
    bool json;                  //  print the summary as JSON
    bool colour;                //  stdout may use colour
    bool colour_err;            //  stderr may use colour
    stx_connect_fn *connect;    //  reaches the agent, when there is something to send
    void *connect_arg;
} stx_import_options_t;

//  Run the import. Prints a summary on stdout (a table, or JSON with
//  --json) with every entry's outcome: accepted, unchanged, refused (with
//  its line and reason), or not sent; errors go to stderr as "stemx: ...".
//  Returns the exit status: 0 when every entry was accepted or unchanged
//  (or, with dry_run, checked), 1 when one was refused or not sent, the
//  file is unreadable or spoilt by a syntax error, the catalogue cannot
//  be read or the agent not reached.
int
    stx_cmd_import (const stx_import_options_t *options);

#endif
