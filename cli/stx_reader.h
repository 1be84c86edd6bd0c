/*  =========================================================================
    stx_reader - the entries of an import file, read one at a time

    `stemx import` takes a JSON array of entry objects, one JSON document
    (an entry, or a catalogue with organisations, initiatives,
    infrastructure_openings and network_moments lists), NDJSON (one
    object per line) or CSV with a header row (stx_csv.h). This reader
    hands out the entries one by one with where they are in the file
    ("line 7", "initiatives[3]"), so that the memory import needs does not
    grow with the file: a JSON array is cut into its elements by a small
    tokenizer and each element alone goes to jansson; NDJSON is read a line
    at a time, CSV a record at a time.

    Two kinds of error: a syntax error in a JSON array or document, or a
    bad CSV header row, spoils the whole file (the rest cannot be trusted)
    and ends the reading; a bad NDJSON line or CSV row is refused on its
    own and the reading goes on.

    The one exception to bounded memory is the single JSON document: it is
    parsed whole, as its shape is only known at its end.
    ========================================================================= */

#ifndef STX_READER_H_INCLUDED
#define STX_READER_H_INCLUDED

#include <stdio.h>
#include <jansson.h>
#include "stx_error.h"

typedef enum {
    STX_FORMAT_NONE,            //  not known (yet)
    STX_FORMAT_JSON,            //  an array of entries, or one document
    STX_FORMAT_NDJSON,          //  one entry object per line
    STX_FORMAT_CSV              //  a header row, then one entry per row
} stx_format_t;

//  The format a --format value names (json, ndjson or jsonl, csv; any
//  case), or STX_FORMAT_NONE for NULL or anything else.
stx_format_t
    stx_format_named (const char *name);

//  "json", "ndjson", "csv" or "none".
const char *
    stx_format_name (stx_format_t format);

//  The format a file name's extension names, or STX_FORMAT_NONE.
stx_format_t
    stx_format_of_path (const char *path);

//  Guess the format of what remains of file from its content: '[' (after
//  an optional byte-order mark and white space) is JSON, '{' is JSON when
//  the whole rest is one valid JSON document and NDJSON otherwise,
//  anything else CSV. Reads no further than the first value unless that
//  is followed by white space only (then it parses the rest). The file
//  must be seekable: it is put back where it was.
stx_format_t
    stx_format_sniff (FILE *file);

typedef struct _stx_reader_t stx_reader_t;

//  One entry as read.
typedef struct {
    json_t *object;             //  the entry; NULL when refused here
    stx_status_t status;        //  STX_OK, or why it is refused
    char text [STX_ERRLEN];     //  the refusal, for people
    char *key;                  //  a refused CSV row's id cell, else NULL;
                                //  caller owns it (free)
    char where [48];            //  "line 7", "initiatives[3]"
} stx_read_t;

//  New reader over what remains of file in format (not STX_FORMAT_NONE).
//  path names the file in messages. chunk is how many bytes to read at a
//  time; 0 means 64 KiB (tests use tiny chunks to make elements straddle
//  reads). The file stays the caller's and must outlive the reader.
//  Caller owns the reader and destroys it with stx_reader_destroy.
stx_reader_t *
    stx_reader_new (FILE *file, const char *path, stx_format_t format, size_t chunk);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_reader_destroy (stx_reader_t **self_p);

//  Read the next entry into *item. Returns STX_OK with item->object set
//  (caller owns it: json_decref) or, for an entry refused here, with
//  item->object NULL and item->status and item->text saying why (and
//  item->key, which the caller then owns, for a CSV row).
//  Returns STX_ERR_NOT_FOUND at the end. A syntax error that spoils the
//  file returns STX_ERR_MALFORMED, or STX_ERR_IO for a read error, with
//  err holding the message for people ("FILE: line 3: ..."); the reader
//  then stays at its end.
stx_status_t
    stx_reader_next (stx_reader_t *self, stx_read_t *item, char *err, size_t errlen);

//  Free what item holds (its object and key) and set them to NULL.
void
    stx_read_free (stx_read_t *item);

//  How many bytes of the file the reader has consumed, for progress.
size_t
    stx_reader_offset (stx_reader_t *self);

#endif
