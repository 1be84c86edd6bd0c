/*  =========================================================================
    stx_flight - the events an agent has in flight, by link, so that it
    keeps dependent events of different identities in order

    The agent publishes each hosted identity over a DEALER of its own (a
    link), and the broker keeps each DEALER's order, not an order across
    them. Two events of one publish depend on each other when the later
    one has the earlier one's key, or names as a party the organisation
    the earlier one writes: such an event waits until the broker has
    answered the one it depends on. Independent events go out at once on
    every link, so interleaved bulk work of several identities is not
    held back.
    ========================================================================= */

#ifndef STX_FLIGHT_H_INCLUDED
#define STX_FLIGHT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _stx_flight_t stx_flight_t;

//  An empty set. Caller owns it (stx_flight_destroy).
stx_flight_t *
    stx_flight_new (void);

//  Destroy; accepts NULL, sets *self_p to NULL.
void
    stx_flight_destroy (stx_flight_t **self_p);

//  True if the packed event (data, size) sent on link would overtake an
//  event in flight on another link that it depends on (its key, or an
//  organisation it names as a party, is in flight there). An undecodable
//  event depends on nothing (the broker refuses it).
bool
    stx_flight_blocks (stx_flight_t *self, const uint8_t *data, size_t size, size_t link);

//  Record the packed event as sent on link (an event id already in flight
//  is left as it is).
void
    stx_flight_add (stx_flight_t *self, const uint8_t *data, size_t size, size_t link);

//  The broker answered the event with this 16-byte id (any answer: taken,
//  refused, or kept pending to be sent again); unknown ids are ignored.
void
    stx_flight_done (stx_flight_t *self, const uint8_t *event_id);

//  Forget the events in flight on link: the broker answered a request on
//  it with an Error, which answers none of them one by one (they stay
//  pending and go again; meanwhile nothing waits for them).
void
    stx_flight_forget_link (stx_flight_t *self, size_t link);

//  Forget everything (the agent sends all pending events again).
void
    stx_flight_clear (stx_flight_t *self);

//  Events in flight.
size_t
    stx_flight_size (stx_flight_t *self);

#endif
