/*  =========================================================================
    stx_text - UTF-8 and the safe echo of untrusted text in messages

    What the JSON conversion and the validation share to speak about input
    they refuse: well-formed UTF-8 (no overlongs, no surrogates, nothing
    above U+10FFFF), an echo of input cut short and stripped of control
    characters, and the one format of a field-level refusal.
    ========================================================================= */

#ifndef STX_TEXT_H_INCLUDED
#define STX_TEXT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "stx_error.h"

//  True if the size bytes at data are well-formed UTF-8 (no overlongs, no
//  surrogates, nothing above U+10FFFF).
bool
    stx_utf8_valid (const char *data, size_t size);

//  Length of the well-formed UTF-8 character at data (size bytes left), or
//  0 if the bytes there are not one.
size_t
    stx_utf8_char (const char *data, size_t size);

//  Copy text into buf (size bytes, more than max + 3) as valid UTF-8 of at
//  most max bytes, replacing bad bytes and control characters by '?' and
//  marking a cut with "...", so input can be echoed in a message safely.
//  Returns buf.
const char *
    stx_echo (char *buf, size_t size, const char *text, size_t max);

//  Write "<id>: <path>: <reason>" (or "<id>: <reason>" when path is "")
//  into err (errlen bytes; may be NULL), trimmed back to whole UTF-8
//  characters if the buffer cuts it, and return status. The one format of
//  every field-level refusal, from JSON conversion and from validation.
stx_status_t
    stx_fail_at (char *err, size_t errlen, stx_status_t status, const char *id,
                 const char *path, const char *reason);

#endif
