/*  =========================================================================
    stx_import_summary - what `stemx import` tells at its end

    DESIGN
    ------
    A spool line is "ORDINAL<TAB>ROW", the row in compact JSON (which
    escapes every line break, so a row is one line). The JSON summary is
    what json_dumps (JSON_INDENT (2)) writes for the whole object with the
    rows in "entries", its last member, but built a row at a time: the
    object is dumped with "entries" empty, and each row, dumped with the
    same indent, goes between its brackets indented two levels deeper.
    ========================================================================= */

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "stx_import_summary.h"
#include "stx_cli_format.h"

typedef enum { S_ACCEPTED, S_UNCHANGED, S_REFUSED, S_UNSENT, S_RESULTS } s_result_t;

struct _stx_import_summary_t {
    FILE *spools [2];
    size_t counts [S_RESULTS];
    size_t rows;
    stx_table_t *table;         //  the refusals, for people
};

static s_result_t
s_result (const char *name)
{
    return strcmp (name, "accepted") == 0? S_ACCEPTED
         : strcmp (name, "unchanged") == 0? S_UNCHANGED
         : strcmp (name, "refused") == 0? S_REFUSED: S_UNSENT;
}

stx_import_summary_t *
stx_import_summary_new (FILE *spools [2])
{
    assert (spools [0] && spools [1]);
    stx_import_summary_t *self =
        (stx_import_summary_t *) calloc (1, sizeof (stx_import_summary_t));
    assert (self);
    self->spools [0] = spools [0];
    self->spools [1] = spools [1];
    self->table = stx_table_new (4, (const char *[]) { "WHERE", "KEY", "REASON", "TEXT" });
    return self;
}

void
stx_import_summary_destroy (stx_import_summary_t **self_p)
{
    assert (self_p);
    stx_import_summary_t *self = *self_p;
    if (!self)
        return;
    fclose (self->spools [0]);
    fclose (self->spools [1]);
    stx_table_destroy (&self->table);
    free (self);
    *self_p = NULL;
}

void
stx_import_summary_add (stx_import_summary_t *self, int phase, size_t ordinal, json_t *row)
{
    assert (self && (phase == 0 || phase == 1) && row);
    char *text = json_dumps (row, JSON_COMPACT | JSON_PRESERVE_ORDER);
    assert (text);
    fprintf (self->spools [phase], "%zu\t%s\n", ordinal, text);
    free (text);
    self->counts [s_result (json_string_value (json_object_get (row, "result")))]++;
    self->rows++;
}

size_t
stx_import_summary_count (stx_import_summary_t *self, const char *result)
{
    assert (self && result);
    return self->counts [s_result (result)];
}

typedef struct {
    FILE *file;
    char *line;
    size_t max;
    size_t ordinal;
    const char *row;            //  NULL at the end
} s_spool_t;

static void
s_spool_next (s_spool_t *self)
{
    self->row = NULL;
    if (getline (&self->line, &self->max, self->file) > 0) {
        char *tab = strchr (self->line, '\t');
        assert (tab);
        self->ordinal = strtoul (self->line, NULL, 10);
        self->row = tab + 1;
    }
}

//  Every row of the two spools, in file order, to out (if not NULL) as
//  JSON, and the refusals to the table.
static void
s_merge_rows (stx_import_summary_t *self, FILE *out)
{
    s_spool_t spool [2];
    memset (spool, 0, sizeof spool);
    for (int s = 0; s < 2; s++) {
        spool [s].file = self->spools [s];
        fflush (self->spools [s]);
        fseek (self->spools [s], 0, SEEK_SET);
        s_spool_next (&spool [s]);
    }
    bool first = true;
    while (spool [0].row || spool [1].row) {
        int s = !spool [0].row? 1: !spool [1].row? 0
              : spool [0].ordinal < spool [1].ordinal? 0: 1;
        json_t *row = json_loads (spool [s].row, 0, NULL);
        assert (row);
        if (s_result (json_string_value (json_object_get (row, "result"))) == S_REFUSED) {
            const char *cells [] = {
                json_string_value (json_object_get (row, "where")),
                json_string_value (json_object_get (row, "key")),
                json_string_value (json_object_get (row, "reason")),
                json_string_value (json_object_get (row, "text")) };
            stx_table_add (self->table, cells);
        }
        if (out) {
            char *text = json_dumps (row, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
            assert (text);
            fputs (first? "\n    ": ",\n    ", out);
            for (const char *c = text; *c; c++) {
                fputc (*c, out);
                if (*c == '\n')
                    fputs ("    ", out);
            }
            free (text);
            first = false;
        }
        json_decref (row);
        s_spool_next (&spool [s]);
    }
    free (spool [0].line);
    free (spool [1].line);
}

void
stx_import_summary_print (stx_import_summary_t *self, const char *path, const char *format,
                          bool dry_run, bool json, bool colour)
{
    assert (self && path && format);
    size_t accepted = self->counts [S_ACCEPTED], unchanged = self->counts [S_UNCHANGED];
    size_t refused = self->counts [S_REFUSED], unsent = self->counts [S_UNSENT];
    if (json) {
        json_t *object = json_pack ("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:[]}",
            "file", path, "format", format, "dry_run", dry_run,
            "entries_read", (json_int_t) self->rows, "accepted", (json_int_t) accepted,
            "unchanged", (json_int_t) unchanged, "refused", (json_int_t) refused,
            dry_run? "to_send": "not_sent", (json_int_t) unsent, "entries");
        char *text = json_dumps (object, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        assert (text);
        json_decref (object);
        //  The dump ends in "[]\n}": the rows go between the brackets
        size_t len = strlen (text);
        assert (len > 4 && strcmp (text + len - 4, "[]\n}") == 0);
        fwrite (text, 1, len - 3, stdout);
        s_merge_rows (self, stdout);
        fputs (self->rows? "\n  ]\n}\n": "]\n}\n", stdout);
        free (text);
        return;
    }
    s_merge_rows (self, NULL);
    bool c = colour;
    printf ("%s%s%s: %zu %s read (%s)\n", STX_BOLD (c), path, STX_RESET (c), self->rows,
            self->rows == 1? "entry": "entries", format);
    if (dry_run)
        printf ("  to send    %zu\n", unsent);
    else
        printf ("  %saccepted   %zu%s\n", STX_GREEN (c && accepted), accepted, STX_RESET (c));
    printf ("  unchanged  %zu\n", unchanged);
    printf ("  %srefused    %zu%s\n", STX_RED (c && refused), refused, STX_RESET (c));
    if (unsent && !dry_run)
        printf ("  not sent   %zu (still in the agent's outbox or never sent)\n", unsent);
    if (refused) {
        printf ("\n");
        stx_table_print_styled (self->table, stdout, stx_terminal_width (stdout), c);
    }
}
