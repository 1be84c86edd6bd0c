/*  =========================================================================
    stx_nul - find a string field with an embedded NUL in packed protobuf

    protobuf-c hands strings over as C strings, so everything after an
    embedded NUL is invisible to validation yet still in the bytes that
    were signed: the signature then seems "altered". Looking at the packed
    bytes first gives the honest refusal, naming the field.
    ========================================================================= */

#ifndef STX_NUL_H_INCLUDED
#define STX_NUL_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

//  True if a string field of message desc, at any depth of the packed
//  bytes (data, size), holds a NUL byte; path then gets its field path,
//  e.g. "entry.initiative.partners[1].org". Bytes that do not parse are
//  left to the decoder (false).
bool
    stx_nul_find (const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t size,
                  char *path, size_t pathlen);

#endif
