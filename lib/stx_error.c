/*  =========================================================================
    stx_error - one status enum for all of stemx
    ========================================================================= */

#include <stdarg.h>
#include <stdio.h>
#include "stx_error.h"

const char *
stx_strerror (stx_status_t status)
{
    switch (status) {
        case STX_OK:               return "ok";
        case STX_ERR_NOMEM:        return "out of memory";
        case STX_ERR_IO:           return "input/output error";
        case STX_ERR_NOT_FOUND:    return "not found";
        case STX_ERR_MALFORMED:    return "malformed message";
        case STX_ERR_INVALID:      return "invalid entry";
        case STX_ERR_UNKNOWN_CODE: return "unknown code";
        case STX_ERR_TOO_LARGE:    return "too large";
        case STX_ERR_BAD_UTF8:     return "invalid UTF-8";
        case STX_ERR_BAD_DATES:    return "bad date";
        case STX_ERR_CONFLICT:     return "version conflict";
        case STX_ERR_DUPLICATE:    return "duplicate event";
        case STX_ERR_GAP:          return "sequence gap";
        case STX_ERR_STALE:        return "sequence already applied";
        case STX_ERR_LINEAGE:      return "catalogue lineage differs";
        case STX_ERR_REFRESH:      return "refresh required";
        case STX_ERR_MAP_FULL:     return "storage full";
        case STX_ERR_STORAGE:      return "storage error";
        case STX_ERR_TIMEOUT:      return "timed out";
        case STX_ERR_UNAUTHORISED: return "not authorised";
        case STX_ERR_BAD_SIGNATURE: return "bad signature";
        case STX_ERR_RATE_LIMITED: return "rate limited";
        case STX_ERR_NO_SPACE:     return "no space left on device";
        case STX_ERR_BUSY:         return "busy";
        case STX_ERR_REPLAY:       return "replayed event id";
    }
    return "unknown status";
}

Stemx__Reason
stx_status_reason (stx_status_t status)
{
    switch (status) {
        case STX_OK:
        case STX_ERR_DUPLICATE:    return STEMX__REASON__R_OK;
        case STX_ERR_MALFORMED:    return STEMX__REASON__R_MALFORMED;
        case STX_ERR_INVALID:      return STEMX__REASON__R_INVALID;
        case STX_ERR_UNKNOWN_CODE: return STEMX__REASON__R_UNKNOWN_CODE;
        case STX_ERR_TOO_LARGE:    return STEMX__REASON__R_TOO_LARGE;
        case STX_ERR_BAD_UTF8:     return STEMX__REASON__R_BAD_UTF8;
        case STX_ERR_BAD_DATES:    return STEMX__REASON__R_BAD_DATES;
        case STX_ERR_CONFLICT:
        case STX_ERR_REPLAY:       return STEMX__REASON__R_CONFLICT;
        case STX_ERR_NOT_FOUND:    return STEMX__REASON__R_NOT_FOUND;
        case STX_ERR_LINEAGE:
        case STX_ERR_REFRESH:      return STEMX__REASON__R_REFRESH_REQUIRED;
        case STX_ERR_UNAUTHORISED: return STEMX__REASON__R_UNAUTHORISED;
        case STX_ERR_BAD_SIGNATURE: return STEMX__REASON__R_BAD_SIGNATURE;
        case STX_ERR_RATE_LIMITED: return STEMX__REASON__R_RATE_LIMITED;
        case STX_ERR_NOMEM:
        case STX_ERR_IO:
        case STX_ERR_GAP:
        case STX_ERR_STALE:
        case STX_ERR_MAP_FULL:
        case STX_ERR_NO_SPACE:
        case STX_ERR_BUSY:
        case STX_ERR_STORAGE:
        case STX_ERR_TIMEOUT:      return STEMX__REASON__R_STORAGE;
    }
    return STEMX__REASON__R_STORAGE;
}

stx_status_t
stx_fail (char *err, size_t errlen, stx_status_t status, const char *format, ...)
{
    if (err && errlen) {
        va_list args;
        va_start (args, format);
        vsnprintf (err, errlen, format, args);
        va_end (args);
    }
    return status;
}
