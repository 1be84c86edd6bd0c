/*  =========================================================================
    stx_cli_format - aligned text tables for people

    Columns are sized to their widest cell (counted in characters, not
    bytes, so "Agentschap Innoveren & Ondernemen" and "industriële" line
    up) and, when the table would not fit the given width, the widest
    column is shortened with "…" until it does. Also: colour only where it
    belongs, ISO-8601 times and a progress bar for terminals.
    ========================================================================= */

#ifndef STX_CLI_FORMAT_H_INCLUDED
#define STX_CLI_FORMAT_H_INCLUDED

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct _stx_table_t stx_table_t;

//  Print "stemx: MESSAGE" to stderr, MESSAGE formatted from format and
//  args and escaped as stx_text_escape does (messages echo what partners
//  and files wrote); red when colour is true.
void
    stx_cli_error (bool colour, const char *format, va_list args);

//  text as a terminal may show it: every control character a partner
//  could have written - C0 (tab and newline included), DEL, C1 - and the
//  Unicode bidi controls (U+202A-U+202E, U+2066-U+2069) written visibly as
//  \xHH or \uHHHH, so no escape sequence or reordering reaches the
//  terminal. Everything else, other UTF-8 included, is kept. Caller
//  frees; NULL gives "".
char *
    stx_text_escape (const char *text);

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

//  Print header, rule and rows as above; the header in bold when colour
//  is true.
void
    stx_table_print_styled (stx_table_t *self, FILE *out, size_t width, bool colour);

//  Width of the terminal on out, or 0 if out is not a terminal (then
//  nothing is shortened). $COLUMNS overrides.
size_t
    stx_terminal_width (FILE *out);

//  True if output to out may use colour: out is a terminal, NO_COLOR is
//  unset or empty (https://no-color.org) and TERM is not "dumb".
bool
    stx_colour (FILE *out);

//  ANSI styles for stx_colour outputs ("" when colour is false).
#define STX_BOLD(c)   ((c)? "\033[1m": "")
#define STX_RED(c)    ((c)? "\033[31m": "")
#define STX_GREEN(c)  ((c)? "\033[32m": "")
#define STX_YELLOW(c) ((c)? "\033[33m": "")
#define STX_DIM(c)    ((c)? "\033[2m": "")
#define STX_RESET(c)  ((c)? "\033[0m": "")

//  Format a time in milliseconds since the Unix epoch as ISO-8601 UTC
//  with seconds, "2026-11-28T11:47:08Z", into out (at least 21 bytes);
//  "-" for 0.
void
    stx_iso_time (int64_t time_ms, char *out, size_t size);

//  Draw (or redraw) a one-line progress bar "label [#####.....] done/total"
//  on out, which should be a terminal; stx_progress_end clears the line.
void
    stx_progress (FILE *out, const char *label, size_t done, size_t total);
void
    stx_progress_end (FILE *out);

#endif
