/*  =========================================================================
    stx_csv - CSV (RFC 4180) reading and writing, and the catalogue's CSV
    convention for entries

    DESIGN
    ------
    The reader is a small hand-written state machine over a window of the
    document: a field is either quoted (anything but a lone quote, up to
    the closing quote) or unquoted (anything but comma, quote and a line
    end). Positions are offsets in the whole document; the window holds
    the bytes from base on. Over a copied buffer the window is the whole
    document; over a FILE it is refilled on demand and, before each
    refill, drops the bytes before the current record's start (a record
    may need to be read again from its start, see below), so memory is
    bounded by the longest record, not by the file. Each record's fields are copied into one growing buffer,
    NUL-separated, and handed out as pointers into it. Line numbers count
    every LF, so a record whose quoted field spans lines reports the line
    it starts on, and the next record the right one. After a malformed
    record the reader resumes at the next line (for a quote that is never
    closed: the line after the record's first line), so one bad row never
    hides the good ones after it.

    The entry convention is driven by the protobuf-c descriptors, as
    stx_json is: a column is a field path, a nested message that is not a
    list and not a Partner is flattened into dotted columns, everything
    else is one cell. A new field in stemx.proto thus becomes a column
    without touching this file.
    ========================================================================= */

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "stx_csv.h"
#include "stx_validate.h"

//  How much a FILE reader reads at a time
#define S_CHUNK (64 * 1024)

struct _stx_csv_t {
    char *data;                 //  the window, NUL-terminated
    size_t base;                //  document offset of data [0]
    size_t size;                //  document offset just past the window
    size_t capacity;            //  bytes data can hold, without the NUL
    FILE *file;                 //  where more comes from; NULL at its end
    size_t pos;                 //  next byte to read
    size_t line;                //  line of data [pos], 1-based
    char *buffer;               //  the current record's fields, NUL-separated
    size_t used, max;
    size_t *offsets;            //  where each field starts in buffer
    char **fields;              //  pointers handed to the caller
    size_t count, fields_max;
};

stx_csv_t *
stx_csv_new (const char *data, size_t size)
{
    stx_csv_t *self = (stx_csv_t *) calloc (1, sizeof (stx_csv_t));
    assert (self);
    self->data = (char *) malloc (size + 1);
    assert (self->data);
    if (size)
        memcpy (self->data, data, size);
    self->data [size] = 0;
    self->size = self->capacity = size;
    self->line = 1;
    //  Excel writes a byte-order mark
    if (size >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
        self->pos = 3;
    return self;
}

static bool s_has (stx_csv_t *self, size_t pos);

stx_csv_t *
stx_csv_new_file (FILE *file)
{
    assert (file);
    stx_csv_t *self = stx_csv_new ("", 0);
    self->file = file;
    if (s_has (self, 2) && memcmp (self->data, "\xEF\xBB\xBF", 3) == 0)
        self->pos = 3;
    return self;
}

void
stx_csv_destroy (stx_csv_t **self_p)
{
    assert (self_p);
    stx_csv_t *self = *self_p;
    if (!self)
        return;
    free (self->data);
    free (self->buffer);
    free (self->offsets);
    free (self->fields);
    free (self);
    *self_p = NULL;
}

//  Is there a byte at document offset pos? Reads more of the file when
//  the window ends before it.
static bool
s_has (stx_csv_t *self, size_t pos)
{
    while (pos >= self->size && self->file) {
        //  Keep the current record: it may be read again from its start
        size_t drop = self->pos - self->base;
        memmove (self->data, self->data + drop, self->size - self->pos);
        self->base = self->pos;
        if (self->size - self->base + S_CHUNK > self->capacity) {
            self->capacity = self->size - self->base + S_CHUNK;
            self->data = (char *) realloc (self->data, self->capacity + 1);
            assert (self->data);
        }
        size_t used = self->size - self->base;
        size_t got = fread (self->data + used, 1, S_CHUNK, self->file);
        self->size += got;
        self->data [self->size - self->base] = 0;
        if (got == 0)
            self->file = NULL;  //  end of file, or an error the caller sees by ferror
    }
    return pos < self->size;
}

//  The byte at document offset pos, which s_has said is there.
static char
s_at (stx_csv_t *self, size_t pos)
{
    assert (pos >= self->base && pos < self->size);
    return self->data [pos - self->base];
}

static void
s_put (stx_csv_t *self, char c)
{
    if (self->used == self->max) {
        self->max = self->max? self->max * 2: 256;
        self->buffer = (char *) realloc (self->buffer, self->max);
        assert (self->buffer);
    }
    self->buffer [self->used++] = c;
}

static void
s_field_start (stx_csv_t *self)
{
    if (self->count == self->fields_max) {
        self->fields_max = self->fields_max? self->fields_max * 2: 16;
        self->offsets = (size_t *) realloc (self->offsets, self->fields_max * sizeof (size_t));
        self->fields = (char **) realloc (self->fields, self->fields_max * sizeof (char *));
        assert (self->offsets && self->fields);
    }
    self->offsets [self->count++] = self->used;
}

//  Is there a line end (LF or CRLF) at pos? Sets *len to its length.
static bool
s_line_end (stx_csv_t *self, size_t pos, size_t *len)
{
    if (!s_has (self, pos))
        return false;
    if (s_at (self, pos) == '\n') {
        *len = 1;
        return true;
    }
    bool more = s_has (self, pos + 1);
    if (more && s_at (self, pos) == '\r' && s_at (self, pos + 1) == '\n') {
        *len = 2;
        return true;
    }
    //  A CR as the last byte ends the last record too
    if (!more && s_at (self, pos) == '\r') {
        *len = 1;
        return true;
    }
    return false;
}

//  Skip to just after the next LF from pos (or to the end).
static void
s_resync (stx_csv_t *self, size_t pos, size_t line)
{
    while (s_has (self, pos) && s_at (self, pos) != '\n')
        pos++;
    if (s_has (self, pos)) {
        pos++;
        line++;
    }
    self->pos = pos;
    self->line = line;
}

stx_status_t
stx_csv_next (stx_csv_t *self, char ***fields_p, size_t *count_p, size_t *line_p,
              char *err, size_t errlen)
{
    assert (self);
    assert (fields_p && count_p && line_p);
    size_t len;
    //  Empty lines separate nothing
    while (s_line_end (self, self->pos, &len)) {
        self->pos += len;
        self->line++;
    }
    if (!s_has (self, self->pos))
        return STX_ERR_NOT_FOUND;

    size_t start = self->pos, start_line = self->line;
    size_t pos = self->pos, line = self->line;
    *line_p = start_line;
    self->used = 0;
    self->count = 0;
    while (true) {
        s_field_start (self);
        if (s_has (self, pos) && s_at (self, pos) == '"') {
            pos++;
            while (true) {
                if (!s_has (self, pos)) {
                    s_resync (self, start, start_line);
                    return stx_fail (err, errlen, STX_ERR_MALFORMED,
                                     "a quoted field is never closed");
                }
                if (s_at (self, pos) == '"') {
                    if (s_has (self, pos + 1) && s_at (self, pos + 1) == '"') {
                        s_put (self, '"');
                        pos += 2;
                        continue;
                    }
                    pos++;
                    break;
                }
                if (s_at (self, pos) == '\n')
                    line++;
                s_put (self, s_at (self, pos++));
            }
            if (s_has (self, pos) && s_at (self, pos) != ',' && !s_line_end (self, pos, &len)) {
                s_resync (self, pos, line);
                return stx_fail (err, errlen, STX_ERR_MALFORMED,
                                 "text after the closing quote of field %zu", self->count);
            }
        }
        else {
            while (s_has (self, pos) && s_at (self, pos) != ',' && !s_line_end (self, pos, &len)) {
                if (s_at (self, pos) == '"') {
                    s_resync (self, pos, line);
                    return stx_fail (err, errlen, STX_ERR_MALFORMED,
                                     "a quote inside unquoted field %zu "
                                     "(quote the whole field and double the quote)",
                                     self->count);
                }
                s_put (self, s_at (self, pos++));
            }
        }
        s_put (self, 0);
        if (s_has (self, pos) && s_at (self, pos) == ',') {
            pos++;
            continue;
        }
        if (s_line_end (self, pos, &len)) {
            pos += len;
            line++;
        }
        break;
    }
    self->pos = pos;
    self->line = line;
    for (size_t i = 0; i < self->count; i++) {
        self->fields [i] = self->buffer + self->offsets [i];
        if (!stx_utf8_valid (self->fields [i], strlen (self->fields [i])))
            return stx_fail (err, errlen, STX_ERR_BAD_UTF8,
                             "field %zu is not valid UTF-8 (save the file as UTF-8)", i + 1);
    }
    *fields_p = self->fields;
    *count_p = self->count;
    return STX_OK;
}

void
stx_csv_write (FILE *out, const char *const *fields, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *field = fields [i]? fields [i]: "";
        size_t len = strlen (field);
        bool quote = strpbrk (field, ",\"\r\n") != NULL
                  || (len && (field [0] == ' ' || field [len - 1] == ' '));
        if (i)
            fputc (',', out);
        if (!quote) {
            fputs (field, out);
            continue;
        }
        fputc ('"', out);
        for (const char *p = field; *p; p++) {
            if (*p == '"')
                fputc ('"', out);
            fputc (*p, out);
        }
        fputc ('"', out);
    }
    fputs ("\r\n", out);
}


//  --------------------------------------------------------------------------
//  Entries as rows

#define S_COLUMNS_MAX 64
#define S_COLUMN_LEN  64

static const ProtobufCMessageDescriptor *
s_kind_descriptor (stx_kind_t kind)
{
    switch (kind) {
        case STX_KIND_ORGANISATION:   return &stemx__organisation__descriptor;
        case STX_KIND_INITIATIVE:     return &stemx__initiative__descriptor;
        case STX_KIND_INFRASTRUCTURE: return &stemx__infrastructure_opening__descriptor;
        case STX_KIND_MOMENT:         return &stemx__network_moment__descriptor;
        case STX_KIND_NONE:           break;
    }
    return NULL;
}

//  A nested message flattened into dotted columns (not a list, not a
//  Partner, which is one cell holding its organisation id).
static bool
s_flattened (const ProtobufCFieldDescriptor *field)
{
    return field->type == PROTOBUF_C_TYPE_MESSAGE
        && field->label != PROTOBUF_C_LABEL_REPEATED
        && field->descriptor != &stemx__partner__descriptor;
}

typedef struct {
    char names [S_COLUMNS_MAX][S_COLUMN_LEN];
    const char *list [S_COLUMNS_MAX + 1];
    size_t count;
} s_columns_t;

static void
s_columns_add (s_columns_t *self, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->list [i], name) == 0)
            return;
    assert (self->count < S_COLUMNS_MAX);
    assert (strlen (name) < S_COLUMN_LEN);
    strcpy (self->names [self->count], name);
    self->list [self->count] = self->names [self->count];
    self->count++;
    self->list [self->count] = NULL;
}

static void
s_columns_walk (s_columns_t *self, const ProtobufCMessageDescriptor *desc, const char *prefix)
{
    for (unsigned i = 0; i < desc->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &desc->fields [i];
        char name [S_COLUMN_LEN];
        snprintf (name, sizeof name, "%s%s", prefix, field->name);
        if (s_flattened (field)) {
            char sub [S_COLUMN_LEN + 2];
            snprintf (sub, sizeof sub, "%s.", name);
            s_columns_walk (self, (const ProtobufCMessageDescriptor *) field->descriptor, sub);
        }
        else
            s_columns_add (self, name);
    }
}

const char *const *
stx_csv_columns (stx_kind_t kind)
{
    static s_columns_t columns [5];
    static bool ready = false;
    if (!ready) {
        for (int k = STX_KIND_ORGANISATION; k <= STX_KIND_MOMENT; k++) {
            s_columns_walk (&columns [k], s_kind_descriptor ((stx_kind_t) k), "");
            s_columns_walk (&columns [STX_KIND_NONE], s_kind_descriptor ((stx_kind_t) k), "");
        }
        ready = true;
    }
    if (kind < STX_KIND_NONE || kind > STX_KIND_MOMENT)
        kind = STX_KIND_NONE;
    return columns [kind].list;
}

//  The field a column names in desc, or NULL; a flattened message is no
//  column of its own.
static const ProtobufCFieldDescriptor *
s_column_field (const ProtobufCMessageDescriptor *desc, const char *column)
{
    char part [S_COLUMN_LEN];
    while (desc) {
        const char *dot = strchr (column, '.');
        size_t len = dot? (size_t) (dot - column): strlen (column);
        if (len == 0 || len >= sizeof part)
            return NULL;
        memcpy (part, column, len);
        part [len] = 0;
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field_by_name (desc, part);
        if (!field)
            return NULL;
        if (!dot)
            return s_flattened (field)? NULL: field;
        if (!s_flattened (field))
            return NULL;
        desc = (const ProtobufCMessageDescriptor *) field->descriptor;
        column = dot + 1;
    }
    return NULL;
}

//  The JSON value at a dotted path, or NULL.
static const json_t *
s_json_at (const json_t *object, const char *path)
{
    char part [S_COLUMN_LEN];
    while (object && json_is_object (object)) {
        const char *dot = strchr (path, '.');
        size_t len = dot? (size_t) (dot - path): strlen (path);
        if (len >= sizeof part)
            return NULL;
        memcpy (part, path, len);
        part [len] = 0;
        object = json_object_get (object, part);
        if (!dot)
            return object;
        path = dot + 1;
    }
    return NULL;
}

static char *
s_scalar_text (const json_t *value)
{
    char number [32];
    if (json_is_string (value))
        return strdup (json_string_value (value));
    if (json_is_integer (value)) {
        snprintf (number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value (value));
        return strdup (number);
    }
    if (json_is_object (value)) {
        //  A partner: its organisation
        const json_t *org = json_object_get (value, "org");
        return strdup (json_is_string (org)? json_string_value (org): "");
    }
    return strdup ("");
}

//  Can this list be written "a;b;c" and read back the same?
static bool
s_list_plain (const json_t *list)
{
    size_t i;
    const json_t *item;
    json_array_foreach (list, i, item) {
        if (json_is_object (item) && !json_is_string (json_object_get (item, "org")))
            return false;
        if (json_is_array (item))
            return false;
        if (json_is_string (item)) {
            const char *text = json_string_value (item);
            size_t len = strlen (text);
            if (len == 0 || strchr (text, ';') || isspace ((unsigned char) text [0])
            ||  isspace ((unsigned char) text [len - 1]) || (i == 0 && text [0] == '['))
                return false;
        }
    }
    return true;
}

char **
stx_csv_cells (const json_t *entry, const char *const *columns, size_t count)
{
    char **cells = (char **) calloc (count? count: 1, sizeof (char *));
    assert (cells);
    for (size_t c = 0; c < count; c++) {
        const json_t *value = s_json_at (entry, columns [c]);
        if (!json_is_array (value)) {
            cells [c] = s_scalar_text (value);
            assert (cells [c]);
            continue;
        }
        if (!s_list_plain (value)) {
            cells [c] = json_dumps (value, JSON_COMPACT | JSON_ENCODE_ANY);
            assert (cells [c]);
            continue;
        }
        size_t size = 1, i;
        const json_t *item;
        char *parts [json_array_size (value) + 1];
        json_array_foreach (value, i, item) {
            parts [i] = s_scalar_text (item);
            assert (parts [i]);
            size += strlen (parts [i]) + 1;
        }
        char *cell = (char *) malloc (size);
        assert (cell);
        *cell = 0;
        json_array_foreach (value, i, item) {
            if (i)
                strcat (cell, ";");
            strcat (cell, parts [i]);
            free (parts [i]);
        }
        cells [c] = cell;
    }
    return cells;
}

void
stx_csv_cells_free (char **cells, size_t count)
{
    if (!cells)
        return;
    for (size_t c = 0; c < count; c++)
        free (cells [c]);
    free (cells);
}

//  Set value at a dotted path of object, making the objects on the way.
//  Takes ownership of value. Returns false if the path is already set.
static bool
s_json_set (json_t *object, const char *path, json_t *value)
{
    char part [S_COLUMN_LEN];
    while (true) {
        const char *dot = strchr (path, '.');
        size_t len = dot? (size_t) (dot - path): strlen (path);
        assert (len < sizeof part);
        memcpy (part, path, len);
        part [len] = 0;
        if (!dot) {
            if (json_object_get (object, part)) {
                json_decref (value);
                return false;
            }
            json_object_set_new (object, part, value);
            return true;
        }
        json_t *child = json_object_get (object, part);
        if (!child) {
            child = json_object ();
            json_object_set_new (object, part, child);
        }
        object = child;
        path = dot + 1;
    }
}

//  A copy of text without leading and trailing white space.
static char *
s_trim (const char *text, size_t len)
{
    while (len && isspace ((unsigned char) *text)) {
        text++;
        len--;
    }
    while (len && isspace ((unsigned char) text [len - 1]))
        len--;
    char *copy = (char *) malloc (len + 1);
    assert (copy);
    memcpy (copy, text, len);
    copy [len] = 0;
    return copy;
}

//  A cell as a whole number 0..2^32-1, or NULL.
static json_t *
s_number (const char *cell)
{
    char *text = s_trim (cell, strlen (cell));
    json_t *value = NULL;
    if (*text && strlen (text) <= 10 && strspn (text, "0123456789") == strlen (text)) {
        unsigned long long number = strtoull (text, NULL, 10);
        if (number <= UINT32_MAX)
            value = json_integer ((json_int_t) number);
    }
    free (text);
    return value;
}

//  One cell as the JSON value of field.
static stx_status_t
s_cell_value (const ProtobufCFieldDescriptor *field, const char *column, const char *cell,
              json_t **value_p, char *err, size_t errlen)
{
    *value_p = NULL;
    if (field->label != PROTOBUF_C_LABEL_REPEATED) {
        if (field->type == PROTOBUF_C_TYPE_UINT32) {
            *value_p = s_number (cell);
            if (!*value_p)
                return stx_fail (err, errlen, STX_ERR_INVALID,
                                 "%s: expected a whole number, not '%.40s'", column, cell);
        }
        else
        if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
            char *org = s_trim (cell, strlen (cell));
            *value_p = json_string (org);
            free (org);
        }
        else
            *value_p = json_string (cell);
        return *value_p? STX_OK: stx_fail (err, errlen, STX_ERR_BAD_UTF8,
                                           "%s: not valid UTF-8", column);
    }
    const char *p = cell;
    while (isspace ((unsigned char) *p))
        p++;
    if (*p == '[') {
        json_error_t jerr;
        json_t *list = json_loads (p, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_array (list)) {
            json_decref (list);
            return stx_fail (err, errlen, STX_ERR_INVALID,
                             "%s: a cell starting with '[' must be a JSON array (%s)",
                             column, jerr.text);
        }
        *value_p = list;
        return STX_OK;
    }
    if (field->type == PROTOBUF_C_TYPE_MESSAGE && field->descriptor != &stemx__partner__descriptor)
        return stx_fail (err, errlen, STX_ERR_INVALID,
                         "%s: expected a JSON array of objects, e.g. [{\"from\": \"2026-09-01\"}]",
                         column);
    json_t *list = json_array ();
    while (*p) {
        const char *end = strchr (p, ';');
        size_t len = end? (size_t) (end - p): strlen (p);
        char *item = s_trim (p, len);
        if (*item) {
            json_t *value = field->type == PROTOBUF_C_TYPE_UINT32? s_number (item)
                                                                 : json_string (item);
            if (!value) {
                stx_status_t rc = stx_fail (err, errlen, STX_ERR_INVALID,
                                            "%s: '%.40s' is not a whole number", column, item);
                free (item);
                json_decref (list);
                return rc;
            }
            json_array_append_new (list, value);
        }
        free (item);
        p += len;
        if (*p == ';')
            p++;
    }
    *value_p = list;
    return STX_OK;
}

stx_status_t
stx_csv_to_json (const char *const *header, const char *const *cells, size_t count,
                 json_t **object_p, char *err, size_t errlen)
{
    assert (object_p);
    *object_p = NULL;
    const char *id = NULL;
    for (size_t c = 0; c < count; c++)
        if (strcmp (header [c], "id") == 0)
            id = cells [c];
    if (!id || !*id)
        return stx_fail (err, errlen, STX_ERR_INVALID, "id: required");
    stx_kind_t kind = stx_kind_of_key (id);
    const ProtobufCMessageDescriptor *desc = s_kind_descriptor (kind);
    if (!desc)
        return stx_fail (err, errlen, STX_ERR_INVALID,
                         "%.80s: unknown kind (the id starts with org:, ini:, infra: or moment:)",
                         id);
    json_t *object = json_object ();
    for (size_t c = 0; c < count; c++) {
        if (!cells [c] || !*cells [c])
            continue;
        const ProtobufCFieldDescriptor *field = s_column_field (desc, header [c]);
        if (!field) {
            json_decref (object);
            return stx_fail (err, errlen, STX_ERR_INVALID, "%.80s: column '%.60s' is not a "
                             "field of %s", id, header [c], stx_kind_name (kind));
        }
        json_t *value;
        char reason [STX_ERRLEN];
        stx_status_t rc = s_cell_value (field, header [c], cells [c], &value,
                                        reason, sizeof reason);
        if (rc != STX_OK) {
            json_decref (object);
            return stx_fail (err, errlen, rc, "%.80s: %s", id, reason);
        }
        if (!s_json_set (object, header [c], value)) {
            json_decref (object);
            return stx_fail (err, errlen, STX_ERR_INVALID, "column '%.60s' is given twice",
                             header [c]);
        }
    }
    *object_p = object;
    return STX_OK;
}
