/*  =========================================================================
    stx_cli_format - aligned text tables for people

    Cells are UTF-8; widths count code points, which is right for the
    Latin scripts of the catalogue (no double-width characters there).
    ========================================================================= */

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>
#include <unistd.h>
#include <time.h>
#include <inttypes.h>
#include <sys/ioctl.h>
#include "stx_cli_format.h"

struct _stx_table_t {
    size_t columns;
    size_t rows;                //  rows in use, header included
    size_t capacity;
    char **cells;               //  rows * columns, row-major; row 0 = header
};

static size_t
s_width (const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if ((*p & 0xC0) != 0x80)
            width++;
    return width;
}

//  Copy at most max characters of text into out (which has room for
//  text), ending with "…" when shortened.
static void
s_print_cell (FILE *out, const char *text, size_t max, size_t pad_to)
{
    size_t width = s_width (text);
    if (width <= max)
        fputs (text, out);
    else {
        size_t kept = 0;
        const unsigned char *p = (const unsigned char *) text;
        while (*p && kept < max - 1) {
            fputc (*p++, out);
            while ((*p & 0xC0) == 0x80)
                fputc (*p++, out);
            kept++;
        }
        fputs ("…", out);
        width = max;
    }
    for (size_t i = width; i < pad_to; i++)
        fputc (' ', out);
}

void
stx_cli_error (bool colour, const char *format, va_list args)
{
    char message [4096];
    vsnprintf (message, sizeof message, format, args);
    char *safe = stx_text_escape (message);
    fprintf (stderr, "%sstemx: %s%s\n", STX_RED (colour), safe, STX_RESET (colour));
    free (safe);
}

char *
stx_text_escape (const char *text)
{
    text = text? text: "";
    size_t len = strlen (text);
    char *out = (char *) malloc (len * 6 + 1);      //  at worst every byte becomes \xHH
    assert (out);
    const unsigned char *p = (const unsigned char *) text;
    char *q = out;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f) {
            q += sprintf (q, *p == '\n'? "\\n": *p == '\t'? "\\t": "\\x%02x", *p);
            p++;
        }
        else
        if (p [0] == 0xc2 && p [1] >= 0x80 && p [1] <= 0x9f) {
            q += sprintf (q, "\\u%04x", p [1]);
            p += 2;
        }
        else
        if (p [0] == 0xe2 && ((p [1] == 0x80 && p [2] >= 0xaa && p [2] <= 0xae)
                           || (p [1] == 0x81 && p [2] >= 0xa6 && p [2] <= 0xa9))) {
            unsigned code = 0x2000 + ((p [1] & 0x3f) << 6) + (p [2] & 0x3f);
            q += sprintf (q, "\\u%04x", code);
            p += 3;
        }
        else
            *q++ = (char) *p++;
    }
    *q = 0;
    return out;
}

stx_table_t *
stx_table_new (size_t columns, const char **headers)
{
    assert (columns > 0);
    stx_table_t *self = calloc (1, sizeof (stx_table_t));
    assert (self);
    self->columns = columns;
    stx_table_add (self, headers);
    return self;
}

void
stx_table_destroy (stx_table_t **self_p)
{
    assert (self_p);
    stx_table_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->rows * self->columns; i++)
        free (self->cells [i]);
    free (self->cells);
    free (self);
    *self_p = NULL;
}

void
stx_table_add (stx_table_t *self, const char **cells)
{
    if (self->rows == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 16;
        self->cells = realloc (self->cells, self->capacity * self->columns * sizeof (char *));
        assert (self->cells);
    }
    for (size_t c = 0; c < self->columns; c++) {
        //  Tabs and newlines would break the alignment, other controls
        //  the terminal: all shown escaped
        self->cells [self->rows * self->columns + c] = stx_text_escape (cells [c]);
    }
    self->rows++;
}

size_t
stx_table_rows (stx_table_t *self)
{
    return self->rows - 1;
}

void
stx_table_print (stx_table_t *self, FILE *out, size_t width)
{
    stx_table_print_styled (self, out, width, false);
}

void
stx_table_print_styled (stx_table_t *self, FILE *out, size_t width, bool colour)
{
    size_t widths [self->columns];
    size_t total = 0;
    for (size_t c = 0; c < self->columns; c++) {
        widths [c] = 0;
        for (size_t r = 0; r < self->rows; r++) {
            size_t w = s_width (self->cells [r * self->columns + c]);
            if (w > widths [c])
                widths [c] = w;
        }
        total += widths [c] + (c ? 2 : 0);
    }
    //  Shorten the widest column, one character at a time, down to a
    //  floor that keeps every column readable
    while (width && total > width) {
        size_t widest = 0;
        for (size_t c = 1; c < self->columns; c++)
            if (widths [c] > widths [widest])
                widest = c;
        if (widths [widest] <= 8)
            break;
        widths [widest]--;
        total--;
    }
    for (size_t r = 0; r < self->rows; r++) {
        if (r == 0)
            fputs (STX_BOLD (colour), out);
        for (size_t c = 0; c < self->columns; c++) {
            bool last = c + 1 == self->columns;
            if (c)
                fputs ("  ", out);
            s_print_cell (out, self->cells [r * self->columns + c], widths [c],
                          last ? 0 : widths [c]);
        }
        if (r == 0)
            fputs (STX_RESET (colour), out);
        fputc ('\n', out);
        if (r == 0) {
            for (size_t c = 0; c < self->columns; c++) {
                if (c)
                    fputs ("  ", out);
                for (size_t i = 0; i < widths [c]; i++)
                    fputc ('-', out);
            }
            fputc ('\n', out);
        }
    }
}

size_t
stx_terminal_width (FILE *out)
{
    if (!isatty (fileno (out)))
        return 0;
    const char *columns = getenv ("COLUMNS");
    if (columns && atoi (columns) > 0)
        return (size_t) atoi (columns);
    struct winsize ws;
    if (ioctl (fileno (out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

bool
stx_colour (FILE *out)
{
    const char *no_colour = getenv ("NO_COLOR");
    const char *term = getenv ("TERM");
    return isatty (fileno (out))
        && !(no_colour && *no_colour)
        && !(term && strcmp (term, "dumb") == 0);
}

void
stx_iso_time (int64_t time_ms, char *out, size_t size)
{
    assert (size >= 21);
    if (time_ms == 0) {
        snprintf (out, size, "-");
        return;
    }
    time_t seconds = (time_t) (time_ms / 1000);
    struct tm tm;
    if (!gmtime_r (&seconds, &tm)) {
        snprintf (out, size, "%" PRId64, time_ms);
        return;
    }
    strftime (out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
stx_progress (FILE *out, const char *label, size_t done, size_t total)
{
    size_t width = stx_terminal_width (out);
    if (width == 0)
        width = 80;
    size_t bar = width > 60? 40: width > 30? width - 30: 10;
    size_t filled = total? bar * (done > total? total: done) / total: bar;
    fprintf (out, "\r%s [", label);
    for (size_t i = 0; i < bar; i++)
        fputc (i < filled? '#': '.', out);
    fprintf (out, "] %zu/%zu", done, total);
    fflush (out);
}

void
stx_progress_end (FILE *out)
{
    fputs ("\r\033[K", out);
    fflush (out);
}
