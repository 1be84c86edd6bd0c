/*  =========================================================================
    stx_ratelimit - a token bucket per peer

    DESIGN
    ------
    A bucket is two numbers, owned by the caller (the broker keeps one per
    organisation). Tokens are refilled lazily when one is taken: rate per
    second times the time since the last refill, capped at burst. The
    refill time only moves forward: a clock that steps back mints nothing,
    and the interval is not counted twice when it moves on again.
    ========================================================================= */

#include <assert.h>
#include "stx_ratelimit.h"

bool
stx_bucket_take (stx_bucket_t *bucket, double rate, double burst, int64_t now_ms)
{
    assert (bucket);
    if (bucket->last_ms == 0) {
        bucket->tokens = burst;
        bucket->last_ms = now_ms;
    }
    else
    if (now_ms > bucket->last_ms) {
        if (rate > 0)
            bucket->tokens += (double) (now_ms - bucket->last_ms) * rate / 1000.0;
        bucket->last_ms = now_ms;
    }
    if (bucket->tokens > burst)
        bucket->tokens = burst;     //  also when burst was lowered
    if (bucket->tokens >= 1.0) {
        bucket->tokens -= 1.0;
        return true;
    }
    return false;
}
