/*  =========================================================================
    stx_agent_requests - CLI requests waiting for the broker's results

    Each event of a CLI request waits, found by event id, until the broker
    answers it; then the CLI gets the results. Runs in the agent's actor
    thread.
    ========================================================================= */

#include "stx_agent_parts.h"

//  --------------------------------------------------------------------------
//  CLI requests waiting for results

void
stx_ag_request_destroy (stx_ag_request_t **self_p)
{
    if (*self_p) {
        stx_ag_request_t *self = *self_p;
        free (self->waiters);
        zframe_destroy (&self->routing_id);
        for (size_t index = 0; index < self->count; index++)
            free (self->texts [index]);
        free (self->texts);
        free (self->ids);
        free (self->results);
        free (self->result_ptrs);
        free (self->done);
        free (self);
        *self_p = NULL;
    }
}

void
stx_ag_request_destructor (void **item)
{
    stx_ag_request_destroy ((stx_ag_request_t **) item);
}

stx_ag_request_t *
stx_ag_request_new (zframe_t *routing_id, size_t count)
{
    stx_ag_request_t *self = (stx_ag_request_t *) zmalloc (sizeof (stx_ag_request_t));
    assert (self);
    self->routing_id = zframe_dup (routing_id);
    self->count = count;
    self->remaining = count;
    self->ids = calloc (count + 1, STX_EVENT_ID_SIZE);
    self->results = (Stemx__Result *) calloc (count + 1, sizeof (Stemx__Result));
    self->result_ptrs = (Stemx__Result **) calloc (count + 1, sizeof (Stemx__Result *));
    self->texts = (char **) calloc (count + 1, sizeof (char *));
    self->done = (bool *) calloc (count + 1, sizeof (bool));
    self->waiters = (stx_ag_waiter_t *) calloc (count + 1, sizeof (stx_ag_waiter_t));
    assert (self->ids && self->results && self->result_ptrs && self->texts && self->done
            && self->waiters);
    for (size_t index = 0; index < count; index++) {
        Stemx__Result init = STEMX__RESULT__INIT;
        self->results [index] = init;
        self->results [index].event_id.data = self->ids [index];
        self->results [index].event_id.len = STX_EVENT_ID_SIZE;
        self->result_ptrs [index] = &self->results [index];
    }
    self->created = zclock_mono ();
    return self;
}



//  Index the events of request by id, so results find it in O(1).
void
stx_ag_request_wait (stx_ag_agent_t *self, stx_ag_request_t *request)
{
    for (size_t index = 0; index < request->count; index++) {
        if (request->done [index])
            continue;
        stx_ag_waiter_t *waiter = &request->waiters [index];
        waiter->request = request;
        waiter->index = index;
        //  The key is the first waiter's own copy of the id (no duplicate
        //  kept), so later ones join its chain and leave the key alone
        stx_ag_waiter_t *head = (stx_ag_waiter_t *) zhashx_lookup (self->waiting, request->ids [index]);
        if (head) {
            waiter->next = head->next;
            head->next = waiter;
        }
        else
            zhashx_insert (self->waiting, request->ids [index], waiter);
    }
}

//  Take request's waiters out of the index (before it is destroyed).
void
stx_ag_request_unwait (stx_ag_agent_t *self, stx_ag_request_t *request)
{
    for (size_t index = 0; index < request->count; index++) {
        stx_ag_waiter_t *mine = &request->waiters [index];
        if (!mine->request)
            continue;
        stx_ag_waiter_t *head = (stx_ag_waiter_t *) zhashx_lookup (self->waiting, request->ids [index]);
        if (head == mine) {
            zhashx_delete (self->waiting, request->ids [index]);
            if (mine->next)
                zhashx_insert (self->waiting, mine->next->request->ids [mine->next->index],
                               mine->next);
        }
        else
            for (stx_ag_waiter_t *waiter = head; waiter; waiter = waiter->next)
                if (waiter->next == mine) {
                    waiter->next = mine->next;
                    break;
                }
        mine->request = NULL;
    }
}

//  Record the broker's result for one event in every CLI request waiting
//  for it.
void
stx_ag_requests_settle (stx_ag_agent_t *self, const Stemx__Result *result)
{
    if (result->event_id.len != STX_EVENT_ID_SIZE)
        return;
    stx_ag_waiter_t *waiter = (stx_ag_waiter_t *) zhashx_lookup (self->waiting, result->event_id.data);
    for (; waiter; waiter = waiter->next) {
        stx_ag_request_t *request = waiter->request;
        size_t index = waiter->index;
        if (request->done [index])
            continue;
        Stemx__Result *mine = &request->results [index];
        mine->reason = result->reason;
        mine->seq = result->seq;
        mine->version = result->version;
        free (request->texts [index]);
        request->texts [index] = strdup (result->text? result->text: "");
        mine->text = request->texts [index];
        request->done [index] = true;
        request->remaining--;
    }
}

//  Answer every CLI request that has all its results.
void
stx_ag_requests_reply (stx_ag_agent_t *self)
{
    stx_ag_request_t *request = (stx_ag_request_t *) zlistx_first (self->requests);
    while (request) {
        if (request->remaining == 0) {
            Stemx__Ack ack = STEMX__ACK__INIT;
            ack.n_results = request->count;
            ack.results = request->result_ptrs;
            Stemx__Reply reply = STEMX__REPLY__INIT;
            reply.body_case = STEMX__REPLY__BODY_ACK;
            reply.ack = &ack;
            stx_wire_send_reply (self->local, request->routing_id, &reply);
            stx_ag_request_unwait (self, request);
            zlistx_delete (self->requests, zlistx_cursor (self->requests));
            request = (stx_ag_request_t *) zlistx_first (self->requests);
        }
        else
            request = (stx_ag_request_t *) zlistx_next (self->requests);
    }
}
