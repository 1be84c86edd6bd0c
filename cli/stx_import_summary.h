/*  =========================================================================
    stx_import_summary - what `stemx import` tells at its end

    Every entry's outcome row ({key, where, result, line, seq, version,
    reason, text}, as `stemx import --json` lists it) is written as it is
    known to a spool file for the phase it belongs to, not kept in memory;
    each phase gives its rows in file order. At the end the two spools are
    merged by the entries' ordinals, so the summary lists every entry in
    file order, as JSON or, for people, as counts and a table of the
    refusals (which alone are held in memory, to size the table).
    ========================================================================= */

#ifndef STX_IMPORT_SUMMARY_H_INCLUDED
#define STX_IMPORT_SUMMARY_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

typedef struct _stx_import_summary_t stx_import_summary_t;

//  New summary spooling phase p's rows to spools [p], two files open for
//  reading and writing (unlinked temporary files). Takes ownership of
//  both: they are closed on destroy. Caller owns the summary and destroys
//  it with stx_import_summary_destroy.
stx_import_summary_t *
    stx_import_summary_new (FILE *spools [2]);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_import_summary_destroy (stx_import_summary_t **self_p);

//  Add the outcome row (not taken; its "result" is accepted, unchanged,
//  refused, not_sent or to_send) of entry ordinal, 0-based in the file,
//  read in phase 0 or 1. Within a phase, rows come in file order.
void
    stx_import_summary_add (stx_import_summary_t *self, int phase, size_t ordinal,
                            json_t *row);

//  How many rows had result ("accepted", ...; "not_sent" and "to_send"
//  count together as not sent).
size_t
    stx_import_summary_count (stx_import_summary_t *self, const char *result);

//  Print the summary on stdout: with json, the object `stemx import --json`
//  prints (file, format, dry_run, counts, then every row in file order);
//  else the counts and, if any, the table of refusals. path and format
//  name the file and its format; colour styles the text.
void
    stx_import_summary_print (stx_import_summary_t *self, const char *path,
                              const char *format, bool dry_run, bool json, bool colour);

#endif
