/*  =========================================================================
    stx_json - JSON <-> protobuf conversion of catalogue entries (jansson)

    DESIGN
    The conversion is driven by the protobuf-c descriptors rather than by
    hand-written code per message: a JSON member maps to the field of the
    same name (protobuf_c_message_descriptor_get_field_by_name), strings to
    strings, non-negative integers to uint32, objects to sub-messages and
    arrays to repeated fields. A new optional field in stemx.proto is thus
    accepted and printed without touching this file. The only special case
    is Partner, which also accepts the short form "org:x".

    Memory: every message, string and array is allocated with malloc and
    laid out as protobuf-c's unpacker would, so one
    protobuf_c_message_free_unpacked (NULL allocator) frees an entry made
    here as well as one unpacked from the wire (stx_entry_free). Counts of
    repeated fields grow as elements are converted, so a half-built message
    is always safe to free on an error path.

    Output rules (so that JSON -> Entry -> JSON reproduces the sample
    catalogue): empty strings and zero numbers are "not given" in proto3 and
    are left out; repeated fields are always printed, as [] when empty;
    sub-messages are printed when present; partners always in object form,
    {"org": ..} plus "helix_pillar" when known. Fields come out in field
    number order, which is the order of the sample records.

    Errors are "<id>: <path>: <reason>" with path in JSON terms
    (period.start, partners[1].org), so a publisher can find the mistake.
    Strings taken from the entry are echoed only as valid UTF-8 and cut
    short, so an error text is always safe to put on the wire.
    ========================================================================= */

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "stx_json.h"
#include "stx_text.h"

#define S_PATH_MAX  160         //  longest field path we print
#define S_ECHO_MAX  80          //  longest piece of input we echo

//  Conversion state: the entry's id for messages, and the caller's buffer.
typedef struct {
    char id [S_ECHO_MAX + 4];   //  echo of the entry id
    char *err;
    size_t errlen;
} s_ctx_t;


//  snprintf for paths and messages that may be cut short on purpose: a
//  cut is harmless here (the buffers are sized for any sane path), and
//  going through a function keeps -Wformat-truncation quiet.
static void
s_format (char *buf, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_format (char *buf, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (buf, size, format, args);
    va_end (args);
}

//  Format "<id>: <path>: <reason>" into the caller's buffer; a message cut
//  by the buffer's size is trimmed back to whole UTF-8 characters.
static stx_status_t
s_fail (s_ctx_t *ctx, stx_status_t status, const char *path, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static stx_status_t
s_fail (s_ctx_t *ctx, stx_status_t status, const char *path, const char *format, ...)
{
    if (!ctx->err || ctx->errlen == 0)
        return status;
    char reason [STX_ERRLEN];
    va_list args;
    va_start (args, format);
    vsnprintf (reason, sizeof (reason), format, args);
    va_end (args);
    return stx_fail_at (ctx->err, ctx->errlen, status, ctx->id, path, reason);
}

//  Path of a member: "name" at the top, "parent.name" below.
static void
s_path_member (char *buf, size_t size, const char *parent, const char *name)
{
    if (*parent)
        s_format (buf, size, "%s.%s", parent, name);
    else
        s_format (buf, size, "%s", name);
}

//  A new message of type desc, all fields at their defaults; NULL if out
//  of memory.
static ProtobufCMessage *
s_message_new (const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *msg = (ProtobufCMessage *) malloc (desc->sizeof_message);
    if (msg)
        desc->message_init (msg);
    return msg;
}

//  Which JSON shape a repeated field wants, for "expected an array of ...".
static const char *
s_element_name (const ProtobufCFieldDescriptor *field)
{
    if (field->type == PROTOBUF_C_TYPE_STRING)
        return "strings";
    if (field->type == PROTOBUF_C_TYPE_UINT32)
        return "integers";
    if (field->descriptor == &stemx__partner__descriptor)
        return "organisations";
    return "objects";
}

static stx_status_t
    s_message_from_json (s_ctx_t *ctx, const ProtobufCMessageDescriptor *desc,
                         json_t *value, const char *path, ProtobufCMessage **msg_p);

//  Convert one scalar or message value into *slot, whose type is field's.
static stx_status_t
s_value_from_json (s_ctx_t *ctx, const ProtobufCFieldDescriptor *field,
                   json_t *value, const char *path, void *slot)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_STRING: {
            if (!json_is_string (value))
                return s_fail (ctx, STX_ERR_INVALID, path, "expected a string");
            const char *text = json_string_value (value);
            if (strlen (text) != json_string_length (value))
                return s_fail (ctx, STX_ERR_INVALID, path, "contains a NUL character");
            char *copy = strdup (text);
            if (!copy)
                return s_fail (ctx, STX_ERR_NOMEM, path, "out of memory");
            *(char **) slot = copy;
            return STX_OK;
        }
        case PROTOBUF_C_TYPE_UINT32: {
            if (!json_is_integer (value)
            ||  json_integer_value (value) < 0
            ||  json_integer_value (value) > (json_int_t) UINT32_MAX)
                return s_fail (ctx, STX_ERR_INVALID, path,
                               "expected an integer from 0 to %" PRIu32, UINT32_MAX);
            *(uint32_t *) slot = (uint32_t) json_integer_value (value);
            return STX_OK;
        }
        case PROTOBUF_C_TYPE_MESSAGE:
            return s_message_from_json (ctx, field->descriptor, value, path,
                                        (ProtobufCMessage **) slot);
        default:
            //  stemx.proto gives entries no other type; a new one needs code.
            return s_fail (ctx, STX_ERR_INVALID, path, "field type not supported");
    }
}

//  Convert value into field of msg.
static stx_status_t
s_field_from_json (s_ctx_t *ctx, const ProtobufCFieldDescriptor *field,
                   ProtobufCMessage *msg, json_t *value, const char *path)
{
    char *base = (char *) msg;
    if (field->label != PROTOBUF_C_LABEL_REPEATED)
        return s_value_from_json (ctx, field, value, path, base + field->offset);

    if (!json_is_array (value))
        return s_fail (ctx, STX_ERR_INVALID, path, "expected an array of %s",
                       s_element_name (field));
    size_t size = json_array_size (value);
    size_t element = field->type == PROTOBUF_C_TYPE_UINT32? sizeof (uint32_t)
                                                           : sizeof (void *);
    size_t *count = (size_t *) (base + field->quantifier_offset);
    void **array = (void **) (base + field->offset);
    if (size == 0)
        return STX_OK;
    *array = calloc (size, element);
    if (!*array)
        return s_fail (ctx, STX_ERR_NOMEM, path, "out of memory");
    for (size_t index = 0; index < size; index++) {
        char item_path [S_PATH_MAX];
        s_format (item_path, sizeof (item_path), "%s[%zu]", path, index);
        json_t *item = json_array_get (value, index);
        if (json_is_null (item))
            return s_fail (ctx, STX_ERR_INVALID, item_path, "null in an array");
        void *slot = (char *) *array + index * element;
        stx_status_t rc = s_value_from_json (ctx, field, item, item_path, slot);
        if (rc != STX_OK) {
            //  Not counted yet, so a half-built sub-message is ours to free.
            if (field->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **) slot)
                protobuf_c_message_free_unpacked (*(ProtobufCMessage **) slot, NULL);
            return rc;
        }
        (*count)++;
    }
    return STX_OK;
}

//  Convert a JSON object (or, for a Partner, a string) into a new message
//  of type desc. The top-level entry object has path "".
static stx_status_t
s_message_from_json (s_ctx_t *ctx, const ProtobufCMessageDescriptor *desc,
                     json_t *value, const char *path, ProtobufCMessage **msg_p)
{
    bool partner = desc == &stemx__partner__descriptor;
    if (!json_is_object (value) && !(partner && json_is_string (value))) {
        if (partner)
            return s_fail (ctx, STX_ERR_INVALID, path,
                           "expected \"org:...\" or {\"org\": ..., \"helix_pillar\": ...}");
        return s_fail (ctx, STX_ERR_INVALID, path, "expected an object");
    }
    ProtobufCMessage *msg = s_message_new (desc);
    if (!msg)
        return s_fail (ctx, STX_ERR_NOMEM, path, "out of memory");
    *msg_p = msg;               //  the caller frees it, even on error

    if (partner && json_is_string (value)) {
        char org_path [S_PATH_MAX];
        s_path_member (org_path, sizeof (org_path), path, "org");
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field_by_name (desc, "org");
        assert (field);
        stx_status_t rc = s_value_from_json (ctx, field, value, org_path,
                                             (char *) msg + field->offset);
        if (rc != STX_OK)
            return rc;
    }
    else {
        const char *key;
        json_t *member;
        json_object_foreach (value, key, member) {
            char member_path [S_PATH_MAX];
            s_path_member (member_path, sizeof (member_path), path, key);
            //  An exported event carries "_meta"; re-importing it is fine.
            if (*path == 0 && strcmp (key, "_meta") == 0)
                continue;
            const ProtobufCFieldDescriptor *field =
                protobuf_c_message_descriptor_get_field_by_name (desc, key);
            if (!field)
                return s_fail (ctx, STX_ERR_INVALID, member_path, "unknown field");
            if (json_is_null (member))
                continue;
            stx_status_t rc = s_field_from_json (ctx, field, msg, member, member_path);
            if (rc != STX_OK)
                return rc;
        }
    }
    if (partner && *((Stemx__Partner *) msg)->org == 0) {
        char org_path [S_PATH_MAX];
        s_path_member (org_path, sizeof (org_path), path, "org");
        return s_fail (ctx, STX_ERR_INVALID, org_path, "required");
    }
    return STX_OK;
}

//  True if the field at dotted path (e.g. "period.start") is given: a
//  non-empty string, a non-empty list, a present message.
static bool
s_given (const ProtobufCMessage *msg, const char *path)
{
    char name [64];
    const char *dot = strchr (path, '.');
    size_t len = dot? (size_t) (dot - path): strlen (path);
    assert (len < sizeof (name));
    memcpy (name, path, len);
    name [len] = 0;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, name);
    assert (field);
    const char *base = (const char *) msg;
    if (field->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *) (base + field->quantifier_offset) > 0;
    if (field->type == PROTOBUF_C_TYPE_STRING)
        return **(char * const *) (base + field->offset) != 0;
    if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub = *(ProtobufCMessage * const *) (base + field->offset);
        return sub && (!dot || s_given (sub, dot + 1));
    }
    return true;
}

//  Required fields per kind, as JSON paths.
static const char *s_required_organisation [] = {
    "name", "helix_pillar", "kind", "region", NULL
};
static const char *s_required_initiative [] = {
    "title", "owner", "od_codes", "period.start", "status", NULL
};
static const char *s_required_infrastructure [] = {
    "provider", "kind", "od_code", "facility", "location.municipality", NULL
};
static const char *s_required_moment [] = {
    "organiser", "title", "kind", "date", NULL
};

stx_status_t
stx_json_to_entry (const json_t *object, Stemx__Entry **entry_p, char *err, size_t errlen)
{
    assert (entry_p);
    *entry_p = NULL;
    s_ctx_t ctx = { "entry", err, errlen };
    if (!json_is_object (object))
        return s_fail (&ctx, STX_ERR_INVALID, "", "expected an object");

    json_t *id = json_object_get (object, "id");
    if (!id || json_is_null (id) || (json_is_string (id) && json_string_length (id) == 0))
        return stx_fail (err, errlen, STX_ERR_INVALID, "id: required");
    if (!json_is_string (id))
        return stx_fail (err, errlen, STX_ERR_INVALID, "id: expected a string");
    stx_echo (ctx.id, sizeof (ctx.id), json_string_value (id), S_ECHO_MAX);

    const ProtobufCMessageDescriptor *desc = NULL;
    const char **required = NULL;
    stx_kind_t kind = stx_kind_of_key (json_string_value (id));
    switch (kind) {
        case STX_KIND_ORGANISATION:
            desc = &stemx__organisation__descriptor;
            required = s_required_organisation;
            break;
        case STX_KIND_INITIATIVE:
            desc = &stemx__initiative__descriptor;
            required = s_required_initiative;
            break;
        case STX_KIND_INFRASTRUCTURE:
            desc = &stemx__infrastructure_opening__descriptor;
            required = s_required_infrastructure;
            break;
        case STX_KIND_MOMENT:
            desc = &stemx__network_moment__descriptor;
            required = s_required_moment;
            break;
        case STX_KIND_NONE:
            return stx_fail (err, errlen, STX_ERR_INVALID,
                             "id '%s': unknown kind (expected org:, ini:, infra: or moment:)",
                             ctx.id);
    }
    ProtobufCMessage *msg = NULL;
    stx_status_t rc = s_message_from_json (&ctx, desc, (json_t *) object, "", &msg);
    for (size_t index = 0; rc == STX_OK && required [index]; index++)
        if (!s_given (msg, required [index]))
            rc = s_fail (&ctx, STX_ERR_INVALID, required [index], "required");

    Stemx__Entry *entry = NULL;
    if (rc == STX_OK) {
        entry = (Stemx__Entry *) malloc (sizeof (Stemx__Entry));
        if (!entry)
            rc = s_fail (&ctx, STX_ERR_NOMEM, "", "out of memory");
    }
    if (rc != STX_OK) {
        if (msg)
            protobuf_c_message_free_unpacked (msg, NULL);
        return rc;
    }
    stemx__entry__init (entry);
    switch (kind) {
        case STX_KIND_ORGANISATION:
            entry->kind_case = STEMX__ENTRY__KIND_ORGANISATION;
            entry->organisation = (Stemx__Organisation *) msg;
            break;
        case STX_KIND_INITIATIVE:
            entry->kind_case = STEMX__ENTRY__KIND_INITIATIVE;
            entry->initiative = (Stemx__Initiative *) msg;
            break;
        case STX_KIND_INFRASTRUCTURE:
            entry->kind_case = STEMX__ENTRY__KIND_INFRASTRUCTURE;
            entry->infrastructure = (Stemx__InfrastructureOpening *) msg;
            break;
        case STX_KIND_MOMENT:
            entry->kind_case = STEMX__ENTRY__KIND_MOMENT;
            entry->moment = (Stemx__NetworkMoment *) msg;
            break;
        case STX_KIND_NONE:
            assert (false);
    }
    *entry_p = entry;
    return STX_OK;
}

//  A JSON string of text; bytes that are not valid UTF-8 (an entry not yet
//  validated) become U+FFFD so the output is always valid JSON.
static json_t *
s_json_string (const char *text)
{
    json_t *string = json_string (text);
    if (string)
        return string;
    size_t len = strlen (text);
    char *clean = (char *) malloc (len * 3 + 1);
    if (!clean)
        return NULL;
    size_t out = 0;
    for (size_t in = 0; in < len;) {
        size_t char_len = stx_utf8_char (text + in, len - in);
        if (char_len) {
            memcpy (clean + out, text + in, char_len);
            out += char_len;
            in += char_len;
        }
        else {
            memcpy (clean + out, "\xEF\xBF\xBD", 3);
            out += 3;
            in++;
        }
    }
    clean [out] = 0;
    string = json_string (clean);
    free (clean);
    return string;
}

static json_t *
    s_message_to_json (const ProtobufCMessage *msg);

//  One scalar or message value at slot as JSON, NULL when not given.
static json_t *
s_value_to_json (const ProtobufCFieldDescriptor *field, const void *slot, bool in_list)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char *text = *(char * const *) slot;
            if (!text || (*text == 0 && !in_list))
                return in_list? json_string (""): NULL;
            return s_json_string (text);
        }
        case PROTOBUF_C_TYPE_UINT32: {
            uint32_t number = *(const uint32_t *) slot;
            return number || in_list? json_integer (number): NULL;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *sub = *(ProtobufCMessage * const *) slot;
            return sub? s_message_to_json (sub): NULL;
        }
        default:
            return NULL;
    }
}

//  A message as a JSON object, fields in field-number order.
static json_t *
s_message_to_json (const ProtobufCMessage *msg)
{
    json_t *object = json_object ();
    if (!object)
        return NULL;
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *) msg;
    for (unsigned index = 0; index < desc->n_fields; index++) {
        const ProtobufCFieldDescriptor *field = &desc->fields [index];
        json_t *value;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *) (base + field->quantifier_offset);
            const char *array = *(char * const *) (base + field->offset);
            size_t element = field->type == PROTOBUF_C_TYPE_UINT32? sizeof (uint32_t)
                                                                   : sizeof (void *);
            value = json_array ();
            for (size_t item = 0; value && item < count; item++)
                json_array_append_new (value,
                    s_value_to_json (field, array + item * element, true));
        }
        else
            value = s_value_to_json (field, base + field->offset, false);
        if (value)
            json_object_set_new (object, field->name, value);
    }
    return object;
}

//  The message held by an entry; NULL for an empty entry.
static const ProtobufCMessage *
s_entry_message (const Stemx__Entry *entry)
{
    switch (stx_entry_kind (entry)) {
        case STX_KIND_ORGANISATION:   return &entry->organisation->base;
        case STX_KIND_INITIATIVE:     return &entry->initiative->base;
        case STX_KIND_INFRASTRUCTURE: return &entry->infrastructure->base;
        case STX_KIND_MOMENT:         return &entry->moment->base;
        case STX_KIND_NONE:           break;
    }
    return NULL;
}

json_t *
stx_json_from_entry (const Stemx__Entry *entry)
{
    const ProtobufCMessage *msg = s_entry_message (entry);
    return msg? s_message_to_json (msg): json_object ();
}

//  Milliseconds since the epoch as "2026-11-28T11:47:08.123Z"; null for 0
//  (not stamped yet).
static json_t *
s_time_to_json (int64_t time_ms)
{
    if (time_ms == 0)
        return json_null ();
    int64_t millis = time_ms % 1000;
    int64_t seconds = time_ms / 1000;
    if (millis < 0) {
        millis += 1000;
        seconds--;
    }
    time_t clock = (time_t) seconds;
    struct tm tm;
    char text [64];
    if (!gmtime_r (&clock, &tm))
        return json_null ();
    size_t len = strftime (text, sizeof (text), "%Y-%m-%dT%H:%M:%S", &tm);
    s_format (text + len, sizeof (text) - len, ".%03dZ", (int) millis);
    return json_string (text);
}

json_t *
stx_json_from_event (const Stemx__Event *event)
{
    assert (event);
    json_t *object;
    if (event->op == STEMX__OPERATION__OP_UPSERT && stx_entry_kind (event->entry) != STX_KIND_NONE)
        object = stx_json_from_entry (event->entry);
    else {
        object = json_object ();
        if (object)
            json_object_set_new (object, "id", s_json_string (event->key? event->key: ""));
    }
    json_t *meta = json_object ();
    if (!object || !meta) {
        json_decref (object);
        json_decref (meta);
        return NULL;
    }
    const char *op = event->op == STEMX__OPERATION__OP_UPSERT? "upsert"
                   : event->op == STEMX__OPERATION__OP_WITHDRAW? "withdraw"
                   : "unspecified";
    json_object_set_new (meta, "seq", json_integer ((json_int_t) event->seq));
    json_object_set_new (meta, "version", json_integer ((json_int_t) event->version));
    json_object_set_new (meta, "op", json_string (op));
    json_object_set_new (meta, "origin", s_json_string (event->origin? event->origin: ""));
    json_object_set_new (meta, "node", s_json_string (event->node? event->node: ""));
    json_object_set_new (meta, "broker_time", s_time_to_json (event->broker_time_ms));
    json_object_set_new (meta, "client_time", s_time_to_json (event->client_time_ms));
    json_object_set_new (object, "_meta", meta);
    return object;
}

void
stx_entry_free (Stemx__Entry **entry_p)
{
    assert (entry_p);
    if (*entry_p) {
        protobuf_c_message_free_unpacked (&(*entry_p)->base, NULL);
        *entry_p = NULL;
    }
}
