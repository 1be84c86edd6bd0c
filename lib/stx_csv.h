/*  =========================================================================
    stx_csv - CSV (RFC 4180) reading and writing, and the catalogue's CSV
    convention for entries

    The reader takes a whole document in memory, or reads a FILE as it
    goes, and hands out one record at a time with the line it starts on: fields separated by commas,
    records by CRLF or LF, a field in double quotes may hold commas, line
    breaks and doubled quotes (""). A leading UTF-8 byte-order mark is
    skipped and empty lines are ignored. A malformed record (a quote inside
    an unquoted field, text after a closing quote, a quote never closed,
    invalid UTF-8) is reported with its line number and skipped, so the
    records after it can still be read.

    The writer quotes a field only when it must (comma, quote, CR, LF, or
    leading/trailing space) and ends records with CRLF.

    Entries as CSV rows (one row per entry, the first row names the
    columns):
      - columns are the entry's JSON field names (config/sample/
        catalogue.json); fields of a nested object are dotted:
        period.start, location.municipality,
        capacity.participants_per_session, audience.target_groups;
      - a list of strings or of organisations (partners, co_organisers) is
        one cell, items separated by ";" (spaces around them are dropped):
        "OD 3.2.1;OD 3.2.2", "org:agoria;org:vdab";
      - a partner is its organisation id ("org:vdab"); its helix pillar is
        filled in by the publishing agent, as for JSON;
      - a cell starting with "[" in a list column is a JSON array; the
        writer uses that form for lists of objects (availability windows)
        and for lists with an item containing ";";
      - an empty cell means "not given"; the id column is required and its
        prefix (org:, ini:, infra:, moment:) names the row's kind, so one
        file may mix kinds: a column that the row's kind lacks must then
        be empty in that row.
    ========================================================================= */

#ifndef STX_CSV_H_INCLUDED
#define STX_CSV_H_INCLUDED

#include <stdio.h>
#include <jansson.h>
#include "stx_error.h"
#include "stx_json.h"

typedef struct _stx_csv_t stx_csv_t;

//  New reader over size bytes of data (copied; need not end in NUL).
//  Caller owns the reader and destroys it with stx_csv_destroy.
stx_csv_t *
    stx_csv_new (const char *data, size_t size);

//  New reader over what remains of file, read as records are asked for:
//  memory is bounded by the longest record (a quote never closed makes
//  the rest of the file one record), not by the file. The file stays the
//  caller's: it must outlive the reader, is not closed, and a read error
//  looks like the end of the file (check ferror). Caller owns the reader
//  and destroys it with stx_csv_destroy.
stx_csv_t *
    stx_csv_new_file (FILE *file);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_csv_destroy (stx_csv_t **self_p);

//  Read the next record. On STX_OK *fields_p points to *count_p
//  NUL-terminated fields (caller must not free; valid until the next call
//  or destroy) and *line_p is the line the record starts on (1-based).
//  Returns STX_ERR_NOT_FOUND at the end; STX_ERR_MALFORMED or
//  STX_ERR_BAD_UTF8 for a malformed record, with *line_p set and err
//  saying what is wrong ("quote never closed", ...); the next call goes
//  on with the line after it.
stx_status_t
    stx_csv_next (stx_csv_t *self, char ***fields_p, size_t *count_p, size_t *line_p,
                  char *err, size_t errlen);

//  Write one record of count fields (NULL writes an empty field) to out,
//  quoted as needed, ended by CRLF.
void
    stx_csv_write (FILE *out, const char *const *fields, size_t count);

//  The CSV columns of kind, in field order, as a NULL-terminated list of
//  static strings; with STX_KIND_NONE the columns of every kind (each
//  name once, in the order organisation, initiative, infrastructure,
//  moment). Never NULL.
const char *const *
    stx_csv_columns (stx_kind_t kind);

//  The cells of one entry, given as JSON in the shape stx_json_from_entry
//  prints, for count columns (names as stx_csv_columns gives). Caller owns
//  the array and each string (stx_csv_cells_free); a column the entry
//  lacks gives "".
char **
    stx_csv_cells (const json_t *entry, const char *const *columns, size_t count);

//  Free what stx_csv_cells returned; accepts NULL.
void
    stx_csv_cells_free (char **cells, size_t count);

//  Build an entry's JSON object from one row: header names count columns,
//  cells their values. Caller owns *object_p (json_decref). The object is
//  only shaped here; stx_json_to_entry and validation check the values.
//  Errors (STX_ERR_INVALID, err says which column): no or empty id, an
//  unknown kind, a column the kind does not have holding a value, a
//  number that is not a whole number, a JSON list cell that does not
//  parse.
stx_status_t
    stx_csv_to_json (const char *const *header, const char *const *cells, size_t count,
                     json_t **object_p, char *err, size_t errlen);

#endif
