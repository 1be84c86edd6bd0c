/*  =========================================================================
    stx_lossyproxy - a lossy ZeroMQ proxy between agents and the broker

    For fault tests: an actor in the test process that sits between
    agents and a broker and drops, duplicates, reorders and delays whole
    messages, with a fixed-seed PRNG, in each direction:

        agent DEALER -> ROUTER [proxy] DEALER (one per agent socket) -> broker ROUTER
        agent SUB    <- PUB    [proxy] SUB                          <- broker PUB

    Each agent socket that connects gets a DEALER of its own towards the
    broker, so the broker sees one peer per agent socket, as without the
    proxy. Every fault is bounded: a reordered message is held until the
    next one of its flow has passed (at most reorder_ms), a delayed one at
    most delay_ms. CURVE ends at the broker, so the broker and the proxied
    agents must run with --insecure: a proxy cannot forward encrypted
    frames it did not negotiate.

    Commands on the actor's pipe (after zactor_new):
      "ENDPOINTS"  -> two strings: request endpoint, updates endpoint
      "STATS"      -> one string: the counts, "flow: forwarded=N dropped=N
                      duplicated=N reordered=N delayed=N; ..." (three flows)
      "TOTALS"     -> five strings: forwarded, dropped, duplicated,
                      reordered, delayed (decimal), summed over the flows
    ========================================================================= */

#ifndef STX_LOSSYPROXY_H_INCLUDED
#define STX_LOSSYPROXY_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

typedef struct {
    const char *request;        //  the broker's request endpoint
    const char *updates;        //  the broker's updates endpoint
    unsigned drop;              //  percent of messages dropped
    unsigned duplicate;         //  percent sent twice
    unsigned reorder;           //  percent held back behind the next one
    unsigned delay;             //  percent delayed
    int delay_ms;               //  longest delay
    int reorder_ms;             //  longest hold of a reordered message
    uint64_t seed;              //  PRNG seed (each flow derives its own)
} stx_lossyproxy_config_t;

//  Start the proxy; binds tcp://127.0.0.1:* for both sides towards the
//  agents. config is copied. Caller destroys it with zactor_destroy.
zactor_t *
    stx_lossyproxy_new (const stx_lossyproxy_config_t *config);

#endif
