/*  =========================================================================
    stx_broker_common - what the broker's request handlers share

    Warnings (at most STX_BK_WARN_PER_TICK per heartbeat), peer names for
    logs, Error replies and their counters, the readers' allowance, the
    heartbeat. Runs in the broker's actor thread.
    ========================================================================= */

#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  Small helpers

void
stx_bk_warn (stx_bk_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

//  Log a refusal once; past STX_BK_WARN_PER_TICK per heartbeat, only count
//  them, so a flooding peer cannot flood the log.
void
stx_bk_warn (stx_bk_t *self, const char *format, ...)
{
    if (self->warnings >= STX_BK_WARN_PER_TICK) {
        self->suppressed++;
        return;
    }
    self->warnings++;
    char line [512];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof (line), format, args);
    va_end (args);
    zsys_warning ("%s", line);
}

char *
stx_bk_peer_key (zframe_t *routing_id)
{
    return zframe_strhex (routing_id);
}

//  Name of a peer for logs: its HELLO name, else its routing id.
const char *
stx_bk_peer_name (stx_bk_t *self, zframe_t *routing_id, char *buffer, size_t size)
{
    char *key = stx_bk_peer_key (routing_id);
    stx_bk_peer_t *peer = (stx_bk_peer_t *) zhashx_lookup (self->peers, key);
    if (peer && peer->node && *peer->node) {
        //  Checked at HELLO; still, never a control character in a log line
        snprintf (buffer, size, "%s", peer->node);
        for (char *c = buffer; *c; c++)
            if ((unsigned char) *c < 0x20 || *c == 0x7f)
                *c = '?';
    }
    else
        snprintf (buffer, size, "peer-%s", key);
    free (key);
    return buffer;
}

//  Count one refusal (an Error reply or a refused Result).
void
stx_bk_count_refusal (stx_bk_t *self, Stemx__Reason reason)
{
    if ((unsigned) reason < STX_BK_REASONS && reason != STEMX__REASON__R_OK)
        self->refusals [reason]++;
}

void
stx_bk_send_error (stx_bk_t *self, zframe_t *routing_id, Stemx__Reason reason, const char *text)
{
    stx_bk_count_refusal (self, reason);
    Stemx__Error error = STEMX__ERROR__INIT;
    error.reason = reason;
    error.text = (char *) text;
    Stemx__Reply reply = STEMX__REPLY__INIT;
    reply.body_case = STEMX__REPLY__BODY_ERROR;
    reply.error = &error;
    stx_replyq_send (self->replies, routing_id, &reply);
}

//  Publish a heartbeat: the broker's position, which shows a subscriber
//  what it has missed.
void
stx_bk_heartbeat (stx_bk_t *self)
{
    if (!self->publisher)
        return;
    Stemx__Heartbeat heartbeat = STEMX__HEARTBEAT__INIT;
    heartbeat.lineage.data = self->meta.lineage;
    heartbeat.lineage.len = STX_LINEAGE_SIZE;
    heartbeat.seq = self->meta.seq;
    heartbeat.head.data = self->meta.head;
    heartbeat.head.len = STX_HEAD_SIZE;
    stx_wire_send_heartbeat (self->publisher, &heartbeat);
}

//  Reads (LOG ranges and snapshot chunks) are charged to the reader (its
//  organisation; a peer when insecure) in KiB, from a token bucket of
//  read_burst KiB refilled at read_rate KiB/s. A read may start while the
//  bucket holds a KiB; its whole size is charged once it is sent (the
//  bucket may go below zero: the next read waits until it refilled).
static stx_bucket_t *
s_read_bucket (stx_bk_t *self, const char *reader)
{
    stx_bucket_t *bucket = (stx_bucket_t *) zhashx_lookup (self->read_buckets, reader);
    if (!bucket) {
        if (zhashx_size (self->read_buckets) >= STX_BK_PEER_MAX)
            zhashx_purge (self->read_buckets);      //  only insecure peers can get here
        bucket = (stx_bucket_t *) zmalloc (sizeof (stx_bucket_t));
        assert (bucket);
        zhashx_insert (self->read_buckets, reader, bucket);
    }
    return bucket;
}

bool
stx_bk_read_allowed (stx_bk_t *self, const char *reader)
{
    if (self->read_rate <= 0)
        return true;            //  limits/read_rate = 0: no limit
    stx_bucket_t *bucket = s_read_bucket (self, reader);
    if (!stx_bucket_take (bucket, self->read_rate, self->read_burst, zclock_mono ()))
        return false;
    bucket->tokens += 1.0;      //  only looked: the read is charged when sent
    return true;
}

void
stx_bk_read_charge (stx_bk_t *self, const char *reader, size_t bytes)
{
    if (self->read_rate > 0)
        s_read_bucket (self, reader)->tokens -= (double) bytes / 1024.0;
}

void
stx_bk_read_refuse (stx_bk_t *self, zframe_t *routing_id, const char *what)
{
    char text [160];
    snprintf (text, sizeof (text), "%s: read rate limited: %.10g KiB/s allowed (burst %.10g KiB)",
              what, self->read_rate, self->read_burst);
    stx_bk_send_error (self, routing_id, STEMX__REASON__R_RATE_LIMITED, text);
}

void
stx_bk_refresh_meta (stx_bk_t *self)
{
    stx_status_t status = stx_store_meta (self->store, &self->meta);
    if (status != STX_OK)
        zsys_error ("cannot read store meta: %s", stx_strerror (status));
}
