/*  =========================================================================
    stx_reader - the entries of an import file, read one at a time

    DESIGN
    ------
    JSON and NDJSON are read through a window: the bytes of the file from
    `keep` on, refilled `chunk` bytes at a time. Positions are offsets in
    the file; before each refill the window drops what lies before `keep`
    (the start of the element or line being read), so it holds about one
    element, whatever the file's size. Lines are counted as the window
    moves, so a message can name the line anything starts on.

    A JSON array's elements are found by a tokenizer that knows just
    enough JSON to find where a value ends: it counts brackets and braces,
    and skips strings (whose escapes may hide a quote or a bracket). That
    span then goes to json_loadb, which does the real parsing and gives the
    real error messages. Where the span is wrong the element is invalid,
    and json_loadb says so: for valid JSON the tokenizer ends the value
    exactly where jansson does.

    The messages, lines and outcomes are those of the whole-file parser
    this replaced (`stemx import` before streaming), so an import gives
    the same answers; tests/test_cli.c checks them.
    ========================================================================= */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "stx_reader.h"
#include "stx_csv.h"
#include "stx_json.h"

#define S_CHUNK (64 * 1024)

static const char *s_sections [] = { "organisations", "initiatives",
                                     "infrastructure_openings", "network_moments" };
#define S_SECTIONS 4

//  --------------------------------------------------------------------------
//  Formats

stx_format_t
stx_format_named (const char *name)
{
    if (!name)
        return STX_FORMAT_NONE;
    if (strcasecmp (name, "json") == 0)
        return STX_FORMAT_JSON;
    if (strcasecmp (name, "ndjson") == 0 || strcasecmp (name, "jsonl") == 0)
        return STX_FORMAT_NDJSON;
    if (strcasecmp (name, "csv") == 0)
        return STX_FORMAT_CSV;
    return STX_FORMAT_NONE;
}

const char *
stx_format_name (stx_format_t format)
{
    return format == STX_FORMAT_JSON? "json": format == STX_FORMAT_NDJSON? "ndjson"
         : format == STX_FORMAT_CSV? "csv": "none";
}

stx_format_t
stx_format_of_path (const char *path)
{
    const char *dot = strrchr (path, '.');
    const char *slash = strrchr (path, '/');
    if (!dot || (slash && dot < slash))
        return STX_FORMAT_NONE;
    return stx_format_named (dot + 1);
}

//  --------------------------------------------------------------------------
//  The window over the file

typedef struct {
    FILE *file;                 //  NULL once it has given everything
    int error;                  //  errno of the read error that ended it, or 0
    char *data;                 //  bytes [base, size) of the file
    size_t base, size, capacity;
    size_t chunk;
    size_t keep;                //  bytes from here on stay in the window
    size_t counted, line;       //  line (1-based) of the byte at counted
} s_window_t;

static void
s_window_init (s_window_t *self, FILE *file, size_t chunk)
{
    memset (self, 0, sizeof *self);
    self->file = file;
    self->chunk = chunk? chunk: S_CHUNK;
    self->line = 1;
}

//  Count the lines up to pos (which must not go back).
static size_t
s_line_at (s_window_t *self, size_t pos)
{
    assert (pos >= self->counted && self->counted >= self->base && pos <= self->size);
    for (; self->counted < pos; self->counted++)
        self->line += self->data [self->counted - self->base] == '\n';
    return self->line;
}

//  Is there a byte at pos? Reads more of the file when the window ends
//  before it, dropping what lies before keep.
static bool
s_has (s_window_t *self, size_t pos)
{
    while (pos >= self->size && self->file) {
        if (self->keep > self->base) {
            s_line_at (self, self->keep > self->counted? self->keep: self->counted);
            memmove (self->data, self->data + (self->keep - self->base),
                     self->size - self->keep);
            self->base = self->keep;
        }
        if (self->size - self->base + self->chunk > self->capacity) {
            self->capacity = self->size - self->base + self->chunk;
            self->data = (char *) realloc (self->data, self->capacity);
            assert (self->data);
        }
        size_t got = fread (self->data + (self->size - self->base), 1, self->chunk,
                            self->file);
        self->size += got;
        if (got == 0) {
            self->error = ferror (self->file)? (errno? errno: EIO): 0;
            self->file = NULL;
        }
    }
    return pos < self->size;
}

static char
s_at (s_window_t *self, size_t pos)
{
    assert (pos >= self->base && pos < self->size);
    return self->data [pos - self->base];
}

static const char *
s_ptr (s_window_t *self, size_t pos)
{
    assert (pos >= self->base && pos <= self->size);
    return self->data + (pos - self->base);
}

static size_t
s_skip_space (s_window_t *self, size_t pos)
{
    while (s_has (self, pos) && isspace ((unsigned char) s_at (self, pos)))
        pos++;
    return pos;
}

//  Past a UTF-8 byte-order mark at pos, if there is one
static size_t
s_skip_bom (s_window_t *self, size_t pos)
{
    if (s_has (self, pos + 2) && memcmp (s_ptr (self, pos), "\xEF\xBB\xBF", 3) == 0)
        return pos + 3;
    return pos;
}

//  The tokenizer: the end (just past it) of the object or array that
//  starts at start, in *end_p. False if the file ends first (*end_p is
//  then the end of the file).
static bool
s_value_end (s_window_t *self, size_t start, size_t *end_p)
{
    size_t depth = 0, pos = start;
    bool in_string = false, escape = false;
    for (; s_has (self, pos); pos++) {
        char c = s_at (self, pos);
        if (in_string) {
            if (escape)
                escape = false;
            else
            if (c == '\\')
                escape = true;
            else
            if (c == '"')
                in_string = false;
        }
        else
        if (c == '"')
            in_string = true;
        else
        if (c == '{' || c == '[')
            depth++;
        else
        if ((c == '}' || c == ']') && --depth == 0) {
            *end_p = pos + 1;
            return true;
        }
    }
    *end_p = pos;
    return false;
}

//  --------------------------------------------------------------------------
//  Sniffing

stx_format_t
stx_format_sniff (FILE *file)
{
    long start = ftell (file);
    s_window_t window;
    s_window_init (&window, file, 0);
    size_t pos = s_skip_space (&window, s_skip_bom (&window, 0));
    stx_format_t format = STX_FORMAT_CSV;
    if (s_has (&window, pos) && s_at (&window, pos) == '[')
        format = STX_FORMAT_JSON;
    else
    if (s_has (&window, pos) && s_at (&window, pos) == '{') {
        //  One document only if nothing but space follows its first
        //  value, and the whole parses
        size_t end;
        format = STX_FORMAT_NDJSON;
        if (s_value_end (&window, pos, &end)
        &&  !s_has (&window, s_skip_space (&window, end))) {
            fseek (file, start, SEEK_SET);
            json_t *whole = json_loadf (file, 0, NULL);
            if (whole)
                format = STX_FORMAT_JSON;
            json_decref (whole);
        }
    }
    free (window.data);
    fseek (file, start, SEEK_SET);
    return format;
}

//  --------------------------------------------------------------------------
//  The reader

typedef enum {
    S_ARRAY_START,              //  before the '['
    S_ARRAY_NEXT,               //  after '[' or ','
    S_DOCUMENT,                 //  a document's entries, from root
    S_NDJSON,
    S_CSV,
    S_END
} s_state_t;

struct _stx_reader_t {
    const char *path;
    stx_format_t format;
    s_state_t state;
    s_window_t window;
    size_t pos;                 //  next byte to read in the window
    size_t count;               //  entries handed out
    //  S_DOCUMENT: the entries of the document, in section order
    json_t *root;
    size_t section, index;
    //  S_NDJSON
    size_t lines;
    //  S_CSV
    FILE *file;
    stx_csv_t *csv;
    char **header;
    size_t columns, id_column;
};

stx_reader_t *
stx_reader_new (FILE *file, const char *path, stx_format_t format, size_t chunk)
{
    assert (file && path);
    assert (format != STX_FORMAT_NONE);
    stx_reader_t *self = (stx_reader_t *) calloc (1, sizeof (stx_reader_t));
    assert (self);
    self->path = path;
    self->format = format;
    self->file = file;
    s_window_init (&self->window, file, chunk);
    self->state = format == STX_FORMAT_JSON? S_ARRAY_START
                : format == STX_FORMAT_NDJSON? S_NDJSON: S_CSV;
    return self;
}

void
stx_reader_destroy (stx_reader_t **self_p)
{
    assert (self_p);
    stx_reader_t *self = *self_p;
    if (!self)
        return;
    free (self->window.data);
    json_decref (self->root);
    stx_csv_destroy (&self->csv);
    for (size_t c = 0; c < self->columns; c++)
        free (self->header [c]);
    free (self->header);
    free (self);
    *self_p = NULL;
}

void
stx_read_free (stx_read_t *item)
{
    assert (item);
    json_decref (item->object);
    item->object = NULL;
    free (item->key);
    item->key = NULL;
}

size_t
stx_reader_offset (stx_reader_t *self)
{
    assert (self);
    if (self->format == STX_FORMAT_CSV) {
        long offset = ftell (self->file);
        return offset > 0? (size_t) offset: 0;
    }
    return self->pos;
}

//  A fatal error: the reading ends here.
static stx_status_t
s_spoilt (stx_reader_t *self, char *err, size_t errlen, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static stx_status_t
s_spoilt (stx_reader_t *self, char *err, size_t errlen, const char *format, ...)
{
    self->state = S_END;
    int used = snprintf (err, errlen, "%s: ", self->path);
    va_list args;
    va_start (args, format);
    if (used >= 0 && (size_t) used < errlen)
        vsnprintf (err + used, errlen - (size_t) used, format, args);
    va_end (args);
    return STX_ERR_MALFORMED;
}

static void
s_item_init (stx_read_t *item, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_item_init (stx_read_t *item, const char *format, ...)
{
    memset (item, 0, sizeof *item);
    va_list args;
    va_start (args, format);
    vsnprintf (item->where, sizeof item->where, format, args);
    va_end (args);
}

static void
s_refuse (stx_read_t *item, stx_status_t status, const char *text)
{
    item->status = status;
    snprintf (item->text, sizeof item->text, "%s", text);
}

//  json_load_callback's source: the window's bytes from pos, then the file
static size_t
s_document_read (void *buffer, size_t size, void *arg)
{
    stx_reader_t *self = (stx_reader_t *) arg;
    if (!s_has (&self->window, self->pos))
        return 0;
    size_t have = self->window.size - self->pos;
    size_t give = have < size? have: size;
    memcpy (buffer, s_ptr (&self->window, self->pos), give);
    self->pos += give;
    self->window.keep = self->pos;
    return give;
}

//  One JSON document that is an object: an entry, or a catalogue in the
//  shape of config/sample/catalogue.json (its four lists of entries).
static stx_status_t
s_document_load (stx_reader_t *self, char *err, size_t errlen)
{
    json_error_t jerr;
    self->root = json_load_callback (s_document_read, self, JSON_REJECT_DUPLICATES, &jerr);
    if (!self->root)
        return s_spoilt (self, err, errlen, "line %d: %s", jerr.line, jerr.text);
    self->state = S_DOCUMENT;
    if (json_object_get (self->root, "id"))
        return STX_OK;
    for (size_t s = 0; s < S_SECTIONS; s++)
        if (json_is_array (json_object_get (self->root, s_sections [s])))
            return STX_OK;
    return s_spoilt (self, err, errlen, "expected an entry, an array of entries, or a "
                     "catalogue with organisations, initiatives, infrastructure_openings "
                     "or network_moments");
}

static stx_status_t
s_document_next (stx_reader_t *self, stx_read_t *item)
{
    if (json_object_get (self->root, "id")) {
        self->state = S_END;
        s_item_init (item, "line 1");
        item->object = json_incref (self->root);
        return STX_OK;
    }
    for (; self->section < S_SECTIONS; self->section++, self->index = 0) {
        json_t *list = json_object_get (self->root, s_sections [self->section]);
        if (json_is_array (list) && self->index < json_array_size (list)) {
            s_item_init (item, "%s[%zu]", s_sections [self->section], self->index + 1);
            item->object = json_incref (json_array_get (list, self->index++));
            return STX_OK;
        }
    }
    self->state = S_END;
    return STX_ERR_NOT_FOUND;
}

//  The next element of a JSON array, each with the line it starts on.
static stx_status_t
s_array_next (stx_reader_t *self, stx_read_t *item, char *err, size_t errlen)
{
    s_window_t *window = &self->window;
    size_t pos = s_skip_space (window, self->pos);
    window->keep = pos;
    size_t line = s_line_at (window, pos);
    if (s_has (window, pos) && s_at (window, pos) == ']' && self->count == 0) {
        self->state = S_END;
        return STX_ERR_NOT_FOUND;
    }
    if (!s_has (window, pos) || s_at (window, pos) != '{')
        return s_spoilt (self, err, errlen, "line %zu: expected an entry object '{...}'", line);
    size_t end;
    s_value_end (window, pos, &end);
    json_error_t jerr;
    json_t *object = json_loadb (s_ptr (window, pos), end - pos,
                                 JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
    if (!object)
        return s_spoilt (self, err, errlen, "line %zu: %s%s", line + (size_t) jerr.line - 1,
                         json_error_code (&jerr) == json_error_invalid_utf8
                             ? "invalid UTF-8 (entries must be UTF-8): " : "", jerr.text);
    pos = s_skip_space (window, pos + (size_t) jerr.position);
    if (s_has (window, pos) && (s_at (window, pos) == ',' || s_at (window, pos) == ']')) {
        self->state = s_at (window, pos) == ','? S_ARRAY_NEXT: S_END;
        self->pos = pos + 1;
        s_item_init (item, "line %zu", line);
        item->object = object;
        return STX_OK;
    }
    json_decref (object);
    return s_spoilt (self, err, errlen, "line %zu: expected ',' or ']' after an entry",
                     s_line_at (window, pos));
}

//  One JSON object per line; a bad line is refused on its own.
static stx_status_t
s_ndjson_next (stx_reader_t *self, stx_read_t *item)
{
    s_window_t *window = &self->window;
    while (s_has (window, self->pos)) {
        size_t start = self->pos, end = start;
        window->keep = start;
        self->lines++;
        while (s_has (window, end) && s_at (window, end) != '\n')
            end++;
        self->pos = end + 1;
        size_t skip = start;
        while (skip < end && isspace ((unsigned char) s_at (window, skip)))
            skip++;
        if (skip == end)
            continue;
        s_item_init (item, "line %zu", self->lines);
        json_error_t jerr;
        item->object = json_loadb (s_ptr (window, start), end - start,
                                   JSON_REJECT_DUPLICATES, &jerr);
        if (!item->object) {
            char reason [STX_ERRLEN];
            snprintf (reason, sizeof reason, "%s%s",
                      json_error_code (&jerr) == json_error_invalid_utf8
                          ? "invalid UTF-8: " : "", jerr.text);
            s_refuse (item, STX_ERR_MALFORMED, reason);
        }
        return STX_OK;
    }
    self->state = S_END;
    return STX_ERR_NOT_FOUND;
}

//  The header: known columns, each once, id among them.
static stx_status_t
s_csv_header (stx_reader_t *self, char *err, size_t errlen)
{
    self->csv = stx_csv_new_file (self->file);
    char **fields;
    size_t count, line;
    char reason [STX_ERRLEN] = "";
    stx_status_t rc = stx_csv_next (self->csv, &fields, &count, &line, reason, sizeof reason);
    if (rc == STX_ERR_NOT_FOUND) {
        self->state = S_END;
        return rc;
    }
    if (rc != STX_OK)
        return s_spoilt (self, err, errlen, "line %zu: %s", line, reason);
    const char *const *known = stx_csv_columns (STX_KIND_NONE);
    self->columns = self->id_column = count;
    self->header = (char **) calloc (count, sizeof (char *));
    assert (self->header);
    for (size_t c = 0; c < count; c++) {
        self->header [c] = strdup (fields [c]);
        assert (self->header [c]);
        bool found = false;
        for (size_t k = 0; known [k] && !found; k++)
            found = strcmp (known [k], fields [c]) == 0;
        for (size_t d = 0; d < c && found; d++)
            if (strcmp (self->header [d], fields [c]) == 0)
                return s_spoilt (self, err, errlen, "line %zu: column '%s' is named twice",
                                 line, fields [c]);
        if (!found)
            return s_spoilt (self, err, errlen, "line %zu: unknown column '%s' (columns are "
                             "the entries' field names, nested ones dotted: see "
                             "'stemx help import')", line, fields [c]);
        if (strcmp (fields [c], "id") == 0)
            self->id_column = c;
    }
    if (self->id_column == count)
        return s_spoilt (self, err, errlen, "line %zu: no 'id' column in the header row", line);
    return STX_OK;
}

//  A CSV row; a malformed one is refused with its line.
static stx_status_t
s_csv_next (stx_reader_t *self, stx_read_t *item)
{
    char **fields;
    size_t count, line;
    char reason [STX_ERRLEN] = "";
    stx_status_t rc = stx_csv_next (self->csv, &fields, &count, &line, reason, sizeof reason);
    if (rc == STX_ERR_NOT_FOUND) {
        self->state = S_END;
        return rc;
    }
    s_item_init (item, "line %zu", line);
    if (rc != STX_OK) {
        s_refuse (item, rc, reason);
        return STX_OK;
    }
    if (count != self->columns) {
        snprintf (reason, sizeof reason, "%zu fields, but the header row names %zu",
                  count, self->columns);
        rc = STX_ERR_MALFORMED;
    }
    else
        rc = stx_csv_to_json ((const char *const *) self->header, (const char *const *) fields,
                              count, &item->object, reason, sizeof reason);
    if (rc != STX_OK) {
        s_refuse (item, rc, reason);
        item->key = strdup (self->id_column < count? fields [self->id_column]: "");
        assert (item->key);
    }
    return STX_OK;
}

stx_status_t
stx_reader_next (stx_reader_t *self, stx_read_t *item, char *err, size_t errlen)
{
    assert (self && item);
    stx_status_t rc = STX_OK;
    if (self->state == S_ARRAY_START) {
        //  Editors on Windows start UTF-8 with a byte-order mark
        size_t pos = s_skip_space (&self->window, s_skip_bom (&self->window, 0));
        self->pos = pos;
        if (s_has (&self->window, pos) && s_at (&self->window, pos) == '[') {
            self->pos = pos + 1;
            self->state = S_ARRAY_NEXT;
        }
        else {
            self->pos = s_skip_bom (&self->window, 0);
            rc = s_document_load (self, err, errlen);
        }
    }
    if (self->state == S_CSV && !self->csv)
        rc = s_csv_header (self, err, errlen);
    if (rc != STX_OK)
        return rc;
    switch (self->state) {
        case S_ARRAY_NEXT: rc = s_array_next (self, item, err, errlen); break;
        case S_DOCUMENT:   rc = s_document_next (self, item); break;
        case S_NDJSON:     rc = s_ndjson_next (self, item); break;
        case S_CSV:        rc = s_csv_next (self, item); break;
        case S_ARRAY_START:
        case S_END:        rc = STX_ERR_NOT_FOUND; break;
    }
    if (rc == STX_OK)
        self->count++;
    //  A read error looks like the end to the code above: tell them apart
    if (rc == STX_ERR_NOT_FOUND && (self->window.error || ferror (self->file))) {
        self->state = S_END;
        snprintf (err, errlen, "%s: %s", self->path,
                  strerror (self->window.error? self->window.error: EIO));
        return STX_ERR_IO;
    }
    return rc;
}
