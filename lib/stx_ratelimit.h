/*  =========================================================================
    stx_ratelimit - a token bucket per peer

    The broker keeps one bucket per authenticated organisation: each
    published event takes a token; tokens come back at `rate` per second up
    to `burst`. An event that finds the bucket empty is refused with "rate
    limited" (the peer stays connected and may retry). Time is passed in,
    so the module is tested without clocks.
    ========================================================================= */

#ifndef STX_RATELIMIT_H_INCLUDED
#define STX_RATELIMIT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double tokens;              //  tokens now
    int64_t last_ms;            //  when tokens was computed; 0 = never
} stx_bucket_t;

//  Take one token from bucket at time now_ms (monotonic milliseconds,
//  greater than 0, e.g. zclock_mono ()), refilling at rate tokens per
//  second up to burst first. A new bucket (zeroed) starts full. A time
//  earlier than the last one refills nothing. Returns true if a token was
//  taken.
bool
    stx_bucket_take (stx_bucket_t *bucket, double rate, double burst, int64_t now_ms);

#endif
