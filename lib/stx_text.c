/*  =========================================================================
    stx_text - UTF-8 and the safe echo of untrusted text in messages

    Pure functions over the caller's buffers; any thread.
    ========================================================================= */

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include "stx_text.h"

//  Length of the well-formed UTF-8 character at data (size bytes left),
//  or 0 if there is none: Unicode table 3-7, which rules out overlongs,
//  surrogates (ED A0..BF) and code points above U+10FFFF.
static size_t
s_utf8_char (const unsigned char *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned char c = data [0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char low = 0x80, high = 0xBF;  //  range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else
    if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            low = 0xA0;                     //  no overlong 3-byte forms
        else
        if (c == 0xED)
            high = 0x9F;                    //  no surrogates
    }
    else
    if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            low = 0x90;                     //  no overlong 4-byte forms
        else
        if (c == 0xF4)
            high = 0x8F;                    //  nothing above U+10FFFF
    }
    else
        return 0;                           //  C0, C1, F5..FF, continuation
    if (size < len || data [1] < low || data [1] > high)
        return 0;
    for (size_t index = 2; index < len; index++)
        if (data [index] < 0x80 || data [index] > 0xBF)
            return 0;
    return len;
}

size_t
stx_utf8_char (const char *data, size_t size)
{
    return s_utf8_char ((const unsigned char *) data, size);
}

bool
stx_utf8_valid (const char *data, size_t size)
{
    const unsigned char *bytes = (const unsigned char *) data;
    size_t index = 0;
    while (index < size) {
        if (bytes [index] < 0x80) {
            index++;
            continue;
        }
        size_t len = s_utf8_char (bytes + index, size - index);
        if (len == 0)
            return false;
        index += len;
    }
    return true;
}

const char *
stx_echo (char *buf, size_t size, const char *text, size_t max)
{
    assert (size > max + 3);
    const unsigned char *bytes = (const unsigned char *) text;
    size_t in = 0, out = 0, len = strlen (text);
    while (in < len) {
        size_t char_len = s_utf8_char (bytes + in, len - in);
        if (out + (char_len? char_len: 1) > max) {
            memcpy (buf + out, "...", 3);
            out += 3;
            break;
        }
        if (char_len == 0 || (char_len == 1 && (bytes [in] < 0x20 || bytes [in] == 0x7F))) {
            buf [out++] = '?';
            in += char_len? char_len: 1;
        }
        else {
            memcpy (buf + out, text + in, char_len);
            out += char_len;
            in += char_len;
        }
    }
    buf [out] = 0;
    return buf;
}

stx_status_t
stx_fail_at (char *err, size_t errlen, stx_status_t status, const char *id, const char *path,
             const char *reason)
{
    if (!err || errlen == 0)
        return status;
    if (*path)
        snprintf (err, errlen, "%s: %s: %s", id, path, reason);
    else
        snprintf (err, errlen, "%s: %s", id, reason);
    size_t len = strlen (err);
    while (len > 0 && !stx_utf8_valid (err, len))
        err [--len] = 0;
    return status;
}
