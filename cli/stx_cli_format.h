/*  =========================================================================
    stx_cli_format - aligned text tables for people

    Columns are sized to their widest cell (counted in characters, not
    bytes, so "Agentschap Innoveren & Ondernemen" and "industriële" line
    up) and, when the table would not fit the given width, the widest
    column is shortened with "…" until it does.
    ========================================================================= */

#ifndef STX_CLI_FORMAT_H_INCLUDED
#define STX_CLI_FORMAT_H_INCLUDED

#include <stddef.h>
#include <stdio.h>

typedef struct _stx_table_t stx_table_t;

//  New table with columns headers (copied). Caller owns the result and
//  destroys it with stx_table_destroy.
stx_table_t *
    stx_table_new (size_t columns, const char **headers);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_table_destroy (stx_table_t **self_p);

//  Add one row of `columns` cells (copied; NULL prints as empty).
void
    stx_table_add (stx_table_t *self, const char **cells);

//  Number of rows added.
size_t
    stx_table_rows (stx_table_t *self);

//  Print header, rule and rows to out, fitting width characters (0 = no
//  limit).
void
    stx_table_print (stx_table_t *self, FILE *out, size_t width);

//  Width of the terminal on out, or 0 if out is not a terminal (then
//  nothing is shortened). $COLUMNS overrides.
size_t
    stx_terminal_width (FILE *out);

#endif
