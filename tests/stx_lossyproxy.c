/*  =========================================================================
    stx_lossyproxy - a lossy ZeroMQ proxy between agents and the broker

    DESIGN
    One actor thread owns every socket: a ROUTER and a PUB bound for the
    agents, a SUB connected to the broker's PUB, and one DEALER towards the
    broker per agent socket (keyed by the ROUTER's routing id). Three flows
    - requests (agent -> broker), replies (broker -> agent) and updates
    (broker PUB -> agent SUB) - each draw from their own xorshift PRNG with
    a fixed seed, so the mix of faults is reproducible (their timing is
    not: it follows the traffic). Per message of a flow, one draw in
    0..99 picks: drop, duplicate, reorder (held until the next message of
    the flow has gone, or reorder_ms), delay (queued for 10..delay_ms ms)
    or pass. Held and delayed messages are sent from the loop's timer
    check, so nothing is held longer than its bound. Faults act on whole
    messages: ZeroMQ delivers all parts of a message or none.
    ========================================================================= */

#include "stx_lossyproxy.h"

#define S_FLOWS     3
#define S_PEERS_MAX 64

enum { S_REQUESTS, S_REPLIES, S_UPDATES };
static const char *s_flow_names [S_FLOWS] = { "requests", "replies", "updates" };

enum { S_FORWARDED, S_DROPPED, S_DUPLICATED, S_REORDERED, S_DELAYED, S_COUNTS };

typedef struct {
    zsock_t *out;               //  where it goes (not owned)
    zmsg_t *msg;                //  owned; a ROUTER's routing frame first
    int64_t due;
} s_held_t;

typedef struct {
    zframe_t *routing_id;       //  the agent socket, as the ROUTER knows it
    zsock_t *dealer;            //  its own DEALER to the broker
} s_peer_t;

typedef struct {
    stx_lossyproxy_config_t config;
    char request [256];         //  copies of the broker's endpoints
    char updates [256];
    zsock_t *pipe;
    zsock_t *frontend;          //  ROUTER for agents' DEALERs
    zsock_t *publisher;         //  PUB for agents' SUBs
    zsock_t *subscriber;        //  SUB to the broker's PUB
    zpoller_t *poller;
    s_peer_t peers [S_PEERS_MAX];
    size_t npeers;
    uint64_t rng [S_FLOWS];
    s_held_t held [S_FLOWS];    //  at most one reordered message per flow
    zlistx_t *delayed;          //  s_held_t *
    uint64_t counts [S_FLOWS][S_COUNTS];
    char endpoint_request [64];
    char endpoint_updates [64];
} s_proxy_t;

static uint64_t
s_random (s_proxy_t *self, int flow)
{
    //  xorshift64*
    uint64_t x = self->rng [flow];
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    self->rng [flow] = x;
    return x * 2685821657736338717ULL;
}

static void
s_send (zsock_t *out, zmsg_t **msg_p)
{
    //  Sockets never block (sndtimeo 0); a full pipe is one more loss
    if (zmsg_send (msg_p, out) != 0)
        zmsg_destroy (msg_p);
}

//  Send what flow holds back, if anything.
static void
s_release (s_proxy_t *self, int flow)
{
    if (self->held [flow].msg)
        s_send (self->held [flow].out, &self->held [flow].msg);
}

//  Forward msg on out, after drawing its fate.
static void
s_forward (s_proxy_t *self, int flow, zsock_t *out, zmsg_t **msg_p)
{
    const stx_lossyproxy_config_t *c = &self->config;
    unsigned draw = (unsigned) (s_random (self, flow) % 100);
    uint64_t *count = self->counts [flow];
    count [S_FORWARDED]++;
    if (draw < c->drop) {
        count [S_DROPPED]++;
        zmsg_destroy (msg_p);
        return;
    }
    draw -= c->drop;
    if (draw < c->duplicate) {
        count [S_DUPLICATED]++;
        zmsg_t *copy = zmsg_dup (*msg_p);
        s_send (out, &copy);
    }
    else {
        draw -= c->duplicate;
        if (draw < c->reorder && !self->held [flow].msg) {
            count [S_REORDERED]++;
            self->held [flow].out = out;
            self->held [flow].msg = *msg_p;
            self->held [flow].due = zclock_mono () + c->reorder_ms;
            *msg_p = NULL;
            return;
        }
        draw -= c->reorder;
        if (draw < c->delay) {
            count [S_DELAYED]++;
            s_held_t *item = (s_held_t *) zmalloc (sizeof (s_held_t));
            assert (item);
            item->out = out;
            item->msg = *msg_p;
            *msg_p = NULL;
            int span = c->delay_ms > 10? c->delay_ms - 10: 1;
            item->due = zclock_mono () + 10 + (int64_t) (s_random (self, flow) % span);
            zlistx_add_end (self->delayed, item);
            return;
        }
    }
    s_send (out, msg_p);
    //  A held message goes right after the one that overtook it
    s_release (self, flow);
}

//  Send held and delayed messages that are due; return ms to the next due.
static int
s_timers (s_proxy_t *self)
{
    int64_t now = zclock_mono ();
    int64_t next = now + 50;
    for (int flow = 0; flow < S_FLOWS; flow++)
        if (self->held [flow].msg) {
            if (self->held [flow].due <= now)
                s_release (self, flow);
            else
            if (self->held [flow].due < next)
                next = self->held [flow].due;
        }
    s_held_t *item = (s_held_t *) zlistx_first (self->delayed);
    while (item) {
        if (item->due <= now) {
            s_send (item->out, &item->msg);
            zlistx_delete (self->delayed, zlistx_cursor (self->delayed));
            item = (s_held_t *) zlistx_first (self->delayed);
            continue;
        }
        if (item->due < next)
            next = item->due;
        item = (s_held_t *) zlistx_next (self->delayed);
    }
    return (int) (next - now);
}

static void
s_held_destructor (void **item_p)
{
    s_held_t *item = (s_held_t *) *item_p;
    if (item) {
        zmsg_destroy (&item->msg);
        free (item);
        *item_p = NULL;
    }
}

//  The DEALER of the agent socket routing_id, made on first sight.
static zsock_t *
s_peer_dealer (s_proxy_t *self, zframe_t *routing_id)
{
    for (size_t index = 0; index < self->npeers; index++)
        if (zframe_eq (self->peers [index].routing_id, routing_id))
            return self->peers [index].dealer;
    if (self->npeers == S_PEERS_MAX) {
        //  Forget the oldest; agents make new sockets when they reconnect
        zpoller_remove (self->poller, self->peers [0].dealer);
        zsock_destroy (&self->peers [0].dealer);
        zframe_destroy (&self->peers [0].routing_id);
        memmove (&self->peers [0], &self->peers [1], (S_PEERS_MAX - 1) * sizeof (s_peer_t));
        self->npeers--;
    }
    s_peer_t *peer = &self->peers [self->npeers++];
    peer->routing_id = zframe_dup (routing_id);
    peer->dealer = zsock_new (ZMQ_DEALER);
    assert (peer->dealer);
    zsock_set_sndtimeo (peer->dealer, 0);
    zsock_set_linger (peer->dealer, 0);
    int rc = zsock_connect (peer->dealer, "%s", self->request);
    assert (rc == 0);
    zpoller_add (self->poller, peer->dealer);
    return peer->dealer;
}

static void
s_on_frontend (s_proxy_t *self)
{
    zmsg_t *msg = zmsg_recv (self->frontend);
    if (!msg)
        return;
    zframe_t *routing_id = zmsg_pop (msg);
    if (routing_id) {
        zsock_t *dealer = s_peer_dealer (self, routing_id);
        s_forward (self, S_REQUESTS, dealer, &msg);
    }
    zframe_destroy (&routing_id);
    zmsg_destroy (&msg);
}

static void
s_on_dealer (s_proxy_t *self, zsock_t *dealer)
{
    zmsg_t *msg = zmsg_recv (dealer);
    if (!msg)
        return;
    for (size_t index = 0; index < self->npeers; index++)
        if (self->peers [index].dealer == dealer) {
            zmsg_pushmem (msg, zframe_data (self->peers [index].routing_id),
                          zframe_size (self->peers [index].routing_id));
            s_forward (self, S_REPLIES, self->frontend, &msg);
            break;
        }
    zmsg_destroy (&msg);
}

static void
s_on_pipe (s_proxy_t *self, bool *terminated)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        *terminated = true;
    else
    if (streq (command, "ENDPOINTS"))
        zstr_sendx (self->pipe, self->endpoint_request, self->endpoint_updates, NULL);
    else
    if (streq (command, "STATS")) {
        char text [1024] = "";
        size_t used = 0;
        for (int flow = 0; flow < S_FLOWS; flow++) {
            const uint64_t *count = self->counts [flow];
            used += snprintf (text + used, sizeof text - used,
                              "%s%s: forwarded=%" PRIu64 " dropped=%" PRIu64
                              " duplicated=%" PRIu64 " reordered=%" PRIu64 " delayed=%" PRIu64,
                              flow? "; ": "", s_flow_names [flow], count [S_FORWARDED],
                              count [S_DROPPED], count [S_DUPLICATED], count [S_REORDERED],
                              count [S_DELAYED]);
        }
        zstr_send (self->pipe, text);
    }
    else
    if (streq (command, "TOTALS")) {
        char values [S_COUNTS][24];
        for (int kind = 0; kind < S_COUNTS; kind++) {
            uint64_t sum = 0;
            for (int flow = 0; flow < S_FLOWS; flow++)
                sum += self->counts [flow][kind];
            snprintf (values [kind], sizeof values [kind], "%" PRIu64, sum);
        }
        zstr_sendx (self->pipe, values [0], values [1], values [2], values [3], values [4],
                    NULL);
    }
    zstr_free (&command);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    s_proxy_t *self = (s_proxy_t *) args;
    self->pipe = pipe;
    self->frontend = zsock_new (ZMQ_ROUTER);
    self->publisher = zsock_new (ZMQ_PUB);
    self->subscriber = zsock_new (ZMQ_SUB);
    assert (self->frontend && self->publisher && self->subscriber);
    zsock_set_sndtimeo (self->frontend, 0);
    zsock_set_sndtimeo (self->publisher, 0);
    zsock_set_sndhwm (self->publisher, 100000);
    zsock_set_rcvhwm (self->subscriber, 100000);
    zsock_set_linger (self->frontend, 0);
    zsock_set_linger (self->publisher, 0);
    zsock_set_subscribe (self->subscriber, "");
    int port_request = zsock_bind (self->frontend, "tcp://127.0.0.1:*");
    int port_updates = zsock_bind (self->publisher, "tcp://127.0.0.1:*");
    assert (port_request > 0 && port_updates > 0);
    snprintf (self->endpoint_request, sizeof self->endpoint_request, "tcp://127.0.0.1:%d",
              port_request);
    snprintf (self->endpoint_updates, sizeof self->endpoint_updates, "tcp://127.0.0.1:%d",
              port_updates);
    int rc = zsock_connect (self->subscriber, "%s", self->updates);
    assert (rc == 0);
    self->delayed = zlistx_new ();
    zlistx_set_destructor (self->delayed, s_held_destructor);
    for (int flow = 0; flow < S_FLOWS; flow++)
        self->rng [flow] = (self->config.seed ^ (0x9E3779B97F4A7C15ULL * (flow + 1))) | 1;
    self->poller = zpoller_new (pipe, self->frontend, self->subscriber, NULL);
    assert (self->poller);
    zsock_signal (pipe, 0);

    bool terminated = false;
    while (!terminated) {
        int wait = s_timers (self);
        void *which = zpoller_wait (self->poller, wait > 0? wait: 0);
        if (which == pipe)
            s_on_pipe (self, &terminated);
        else
        if (which == self->frontend)
            s_on_frontend (self);
        else
        if (which == self->subscriber) {
            zmsg_t *msg = zmsg_recv (self->subscriber);
            if (msg)
                s_forward (self, S_UPDATES, self->publisher, &msg);
            zmsg_destroy (&msg);
        }
        else
        if (which)
            s_on_dealer (self, (zsock_t *) which);
        else
        if (zpoller_terminated (self->poller))
            break;
    }
    for (int flow = 0; flow < S_FLOWS; flow++)
        zmsg_destroy (&self->held [flow].msg);
    zlistx_destroy (&self->delayed);
    zpoller_destroy (&self->poller);
    for (size_t index = 0; index < self->npeers; index++) {
        zsock_destroy (&self->peers [index].dealer);
        zframe_destroy (&self->peers [index].routing_id);
    }
    zsock_destroy (&self->subscriber);
    zsock_destroy (&self->publisher);
    zsock_destroy (&self->frontend);
    free (self);
}

zactor_t *
stx_lossyproxy_new (const stx_lossyproxy_config_t *config)
{
    assert (config && config->request && config->updates);
    assert (config->drop + config->duplicate + config->reorder + config->delay <= 100);
    s_proxy_t *self = (s_proxy_t *) zmalloc (sizeof (s_proxy_t));
    assert (self);
    self->config = *config;
    snprintf (self->request, sizeof self->request, "%s", config->request);
    snprintf (self->updates, sizeof self->updates, "%s", config->updates);
    self->config.request = self->request;
    self->config.updates = self->updates;
    if (self->config.reorder_ms <= 0)
        self->config.reorder_ms = 200;
    if (self->config.delay_ms <= 0)
        self->config.delay_ms = 300;
    return zactor_new (s_actor, self);
}
