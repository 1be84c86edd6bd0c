/*  =========================================================================
    stx_error - one status enum for all of stemx

    Fallible functions return an stx_status_t (STX_OK = 0) and put results
    in their last out-parameter. Where a human-readable reason is needed the
    caller passes a buffer of STX_ERRLEN bytes; no globals.
    ========================================================================= */

#ifndef STX_ERROR_H_INCLUDED
#define STX_ERROR_H_INCLUDED

#include <stddef.h>
#include "stemx.pb-c.h"

#define STX_ERRLEN 256

typedef enum {
    STX_OK = 0,
    STX_ERR_NOMEM,          //  out of memory
    STX_ERR_IO,             //  a file or folder could not be read or written
    STX_ERR_NOT_FOUND,      //  no such entry, sequence or file
    STX_ERR_MALFORMED,      //  undecodable bytes or structurally wrong message
    STX_ERR_INVALID,        //  a field is missing or has a wrong value
    STX_ERR_UNKNOWN_CODE,   //  unknown OD code, pillar, theme, ...
    STX_ERR_TOO_LARGE,      //  over a size limit
    STX_ERR_BAD_UTF8,       //  a string is not valid UTF-8
    STX_ERR_BAD_DATES,      //  malformed date/time, or an end before its start
    STX_ERR_CONFLICT,       //  expected_version does not match the current one
    STX_ERR_DUPLICATE,      //  event id already sequenced (resend)
    STX_ERR_GAP,            //  event sequence is not last + 1
    STX_ERR_STALE,          //  event sequence already applied
    STX_ERR_LINEAGE,        //  catalogue lineage differs
    STX_ERR_REFRESH,        //  requested range is below the log horizon
    STX_ERR_MAP_FULL,       //  the LMDB map is full
    STX_ERR_STORAGE,        //  any other LMDB failure
    STX_ERR_TIMEOUT,        //  no answer in time
    STX_ERR_UNAUTHORISED,   //  the peer may not do this
    STX_ERR_BAD_SIGNATURE,  //  signature missing, malformed or not by the origin's key
    STX_ERR_RATE_LIMITED,   //  over the peer's rate allowance
    STX_ERR_NO_SPACE,       //  the disk is full (ENOSPC, EDQUOT, EFBIG on write)
    STX_ERR_BUSY,           //  not now: transactions are open (e.g. growing the map)
    STX_ERR_REPLAY          //  a replica got an event id it already holds under another seq
} stx_status_t;

//  Return a short English description of status. Never NULL; the string
//  is static.
const char *
    stx_strerror (stx_status_t status);

//  Map a status to the reason code carried on the wire.
Stemx__Reason
    stx_status_reason (stx_status_t status);

//  Format into err (errlen bytes, may be NULL) and return status, so a
//  failing path can be `return stx_fail (err, errlen, STX_ERR_INVALID,
//  "%s: required", field);`.
stx_status_t
    stx_fail (char *err, size_t errlen, stx_status_t status, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

#endif
