/*  =========================================================================
    stx_nul - find a string field with an embedded NUL in packed protobuf

    A walk of the wire format (varint tags, length-delimited fields)
    guided by the message descriptors; the schema has no recursive
    messages, so the depth is bounded by it (and by S_DEPTH_MAX anyway).
    ========================================================================= */

#include <stdio.h>
#include <string.h>
#include "stx_nul.h"

#define S_DEPTH_MAX 16
#define S_FIELDS_MAX 64                 //  field numbers whose items are counted

//  Read a varint at *p (not past end); false if it does not fit.
static bool
s_varint (const uint8_t **p, const uint8_t *end, uint64_t *value)
{
    uint64_t result = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        result |= (uint64_t) (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = result;
            return true;
        }
    }
    return false;
}

static bool
s_walk (const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end,
        char *path, size_t pathlen, int depth)
{
    unsigned counts [S_FIELDS_MAX] = { 0 };
    size_t base = strlen (path);
    while (p < end) {
        uint64_t tag, len;
        if (!s_varint (&p, end, &tag))
            return false;
        unsigned wire = (unsigned) (tag & 7);
        uint64_t number = tag >> 3;
        if (wire == 0) {
            if (!s_varint (&p, end, &len))
                return false;
            continue;
        }
        if (wire == 1 || wire == 5) {
            size_t skip = wire == 1? 8: 4;
            if ((size_t) (end - p) < skip)
                return false;
            p += skip;
            continue;
        }
        if (wire != 2 || !s_varint (&p, end, &len) || len > (uint64_t) (end - p))
            return false;
        const ProtobufCFieldDescriptor *field = number <= UINT32_MAX
            ? protobuf_c_message_descriptor_get_field (desc, (unsigned) number): NULL;
        unsigned item = number < S_FIELDS_MAX? counts [number]++: 0;
        if (field && (field->type == PROTOBUF_C_TYPE_STRING
                   || (field->type == PROTOBUF_C_TYPE_MESSAGE && depth < S_DEPTH_MAX))) {
            if (field->label == PROTOBUF_C_LABEL_REPEATED)
                snprintf (path + base, pathlen - base, "%s%s[%u]", base? ".": "", field->name,
                          item);
            else
                snprintf (path + base, pathlen - base, "%s%s", base? ".": "", field->name);
            if (field->type == PROTOBUF_C_TYPE_STRING) {
                if (memchr (p, 0, (size_t) len))
                    return true;
            }
            else
            if (s_walk ((const ProtobufCMessageDescriptor *) field->descriptor, p, p + len,
                        path, pathlen, depth + 1))
                return true;
            path [base] = 0;
        }
        p += len;
    }
    return false;
}

bool
stx_nul_find (const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
              char *path, size_t pathlen)
{
    if (!desc || !data || !path || pathlen == 0)
        return false;
    path [0] = 0;
    bool found = s_walk (desc, data, data + size, path, pathlen, 0);
    if (!found)
        path [0] = 0;
    return found;
}
