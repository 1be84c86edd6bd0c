/*  =========================================================================
    stx_outbox - an agent's durable queue of events waiting for the broker

    A separate LMDB environment (DIR/outbox/), so queuing a publish never
    waits for the catalogue's writer (which may be busy with a snapshot).
    A publish is written and synced here before the CLI hears "queued"; it
    leaves only on the broker's ACK (removed) or NACK (moved to the
    rejected list with its reason). Pending events keep their order.
    ========================================================================= */

#ifndef STX_OUTBOX_H_INCLUDED
#define STX_OUTBOX_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "stx_error.h"
#include "stx_event.h"

typedef struct _stx_outbox_t stx_outbox_t;

//  Open or create (unless readonly) the outbox in dir/outbox. Caller owns
//  *self_p. Errors: STX_ERR_NOT_FOUND (read-only and none), STX_ERR_IO,
//  STX_ERR_STORAGE.
stx_status_t
    stx_outbox_open (const char *dir, bool readonly, stx_outbox_t **self_p,
                     char *err, size_t errlen);

//  Close; accepts NULL, sets *self_p to NULL.
void
    stx_outbox_destroy (stx_outbox_t **self_p);

//  Append count packed events (datas[i], sizes[i]) in one synced commit.
//  An event whose id is already pending is skipped (a retried publish).
//  Errors: STX_ERR_MALFORMED (some event does not decode or its id is not
//  STX_EVENT_ID_SIZE bytes, so no ACK or NACK could ever remove it),
//  STX_ERR_MAP_FULL, STX_ERR_STORAGE; in each case nothing was added.
stx_status_t
    stx_outbox_add (stx_outbox_t *self, const uint8_t **datas, const size_t *sizes, size_t count);

//  Called per pending event in order; return non-zero to stop.
typedef int (stx_outbox_fn) (const uint8_t *data, size_t size, void *arg);

//  Call fn for up to max pending events, oldest first (max 0 = all).
stx_status_t
    stx_outbox_pending (stx_outbox_t *self, size_t max, stx_outbox_fn *fn, void *arg);

//  Called per pending event with its position in the outbox (positions
//  grow with every event added, and are never reused).
typedef int (stx_outbox_seq_fn) (uint64_t seq, const uint8_t *data, size_t size, void *arg);

//  Call fn for up to max pending events at position from or later, oldest
//  first (max 0 = all): an agent that sends within a window resumes where
//  it stopped. Errors: STX_ERR_STORAGE.
stx_status_t
    stx_outbox_pending_from (stx_outbox_t *self, uint64_t from, size_t max,
                             stx_outbox_seq_fn *fn, void *arg);

//  One refusal of the broker: the event id, its reason code and text.
typedef struct {
    const uint8_t *id;          //  STX_EVENT_ID_SIZE bytes
    int reason;
    const char *text;           //  may be NULL
} stx_refusal_t;

//  Settle one ACK of the broker in one commit: remove each pending event
//  whose id is in acked (nacked ids of STX_EVENT_ID_SIZE bytes), and move
//  each refused one to the rejected list with its reason and text. Ids
//  not pending are ignored (an ACK can arrive twice). The commit flushes
//  the data but not the meta page (MDB_NOMETASYNC): after a system crash
//  it may be undone, and the events are sent again and answered again.
//  Errors: STX_ERR_MAP_FULL, STX_ERR_STORAGE; nothing changed then.
stx_status_t
    stx_outbox_settle (stx_outbox_t *self, const uint8_t (*acked) [STX_EVENT_ID_SIZE],
                       size_t nacked, const stx_refusal_t *refused, size_t nrefused);

//  stx_outbox_settle of acked events only.
stx_status_t
    stx_outbox_ack (stx_outbox_t *self, const uint8_t (*ids) [STX_EVENT_ID_SIZE], size_t count);

//  stx_outbox_settle of one refused event: id moves to the rejected list
//  with its reason code and text. Ignored if not pending.
stx_status_t
    stx_outbox_reject (stx_outbox_t *self, const uint8_t id [STX_EVENT_ID_SIZE],
                       int reason, const char *text);

//  Number of pending and of rejected events.
stx_status_t
    stx_outbox_depth (stx_outbox_t *self, uint64_t *pending, uint64_t *rejected);

//  Called per rejected event: its packed bytes, reason code and text.
typedef int (stx_rejected_fn) (const uint8_t *data, size_t size, int reason,
                               const char *text, void *arg);

//  Call fn for every rejected event, oldest first.
stx_status_t
    stx_outbox_rejected (stx_outbox_t *self, stx_rejected_fn *fn, void *arg);

#endif
