/*  =========================================================================
    stx_admission - every request, before its handler

    Reads the ROUTER: the sender's key (unknown or retired: R_UNAUTHORISED),
    one frame of at most max_message, decodable, HELLO first, the roles
    the request needs; then dispatches. Runs in the broker's actor thread.
    ========================================================================= */

#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  Requests

//  The registered key of the peer that sent frame, or NULL after refusing
//  it: no User-Id (not a CURVE connection), an unknown key (removed from
//  the registry since the handshake) or a retired one. Logged once per key
//  until the next reload.
static const stx_key_t *
s_authenticate (stx_bk_t *self, zframe_t *routing_id, zframe_t *frame)
{
    const char *user = zframe_meta (frame, "User-Id");
    const stx_key_t *key = user && *user? stx_registry_by_curve (self->registry, user): NULL;
    if (key && !key->retired) {
        if (!zhashx_lookup (self->seen_keys, user))
            zhashx_insert (self->seen_keys, user, (void *) "seen");
        return key;
    }
    char text [160];
    snprintf (text, sizeof (text), "key %.40s is %s", user && *user? user: "(none)",
              key? "retired": "not registered");
    const char *logged = user && *user? user: "(none)";
    if (!zhashx_lookup (self->refused_keys, logged)) {
        if (zhashx_size (self->refused_keys) >= STX_BK_PEER_MAX)
            zhashx_purge (self->refused_keys);
        zhashx_insert (self->refused_keys, logged, (void *) "logged");
        char who [64];
        stx_bk_warn (self, "refused request from %s: %s%s%.100s%s%.200s%s",
                     stx_bk_peer_name (self, routing_id, who, sizeof (who)), text,
                key? " (": "", key? key->org: "", key? ", ": "", key? key->file: "",
                key? ")": "");
    }
    stx_bk_send_error (self, routing_id, STEMX__REASON__R_UNAUTHORISED, text);
    return NULL;
}

static void
s_handle_message (stx_bk_t *self, zmsg_t *msg)
{
    char who [64];
    zframe_t *routing_id = zmsg_pop (msg);
    if (!routing_id)
        return;
    //  Who is asking, from the CURVE key (frames of one message share it)
    stx_principal_t principal = { NULL, NULL, 0 };
    if (!self->insecure) {
        zframe_t *first = zmsg_first (msg);
        const stx_key_t *key = s_authenticate (self, routing_id, first? first: routing_id);
        if (!key) {
            zframe_destroy (&routing_id);
            return;
        }
        principal = stx_key_principal (key);
    }
    if (zmsg_size (msg) != 1) {
        char text [96];
        snprintf (text, sizeof (text), "expected one frame, got %zu", zmsg_size (msg));
        stx_bk_warn (self, "malformed request from %s: %s",
                     stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_MALFORMED, text);
        zframe_destroy (&routing_id);
        return;
    }
    zframe_t *frame = zmsg_first (msg);
    Stemx__Request *request = NULL;
    stx_status_t status = stx_wire_decode_request (frame, self->max_message, &request);
    if (status != STX_OK) {
        char text [128];
        if (status == STX_ERR_TOO_LARGE)
            snprintf (text, sizeof (text), "message of %zu bytes is over the limit of %zu",
                      zframe_size (frame), self->max_message);
        else
            snprintf (text, sizeof (text), "undecodable request (%zu bytes)", zframe_size (frame));
        stx_bk_warn (self, "refused request from %s: %s",
                     stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
        stx_bk_send_error (self, routing_id, stx_status_reason (status), text);
        zframe_destroy (&routing_id);
        return;
    }
    if (self->verbose)
        zsys_debug ("%s from %s", stx_wire_request_name (request),
                    stx_bk_peer_name (self, routing_id, who, sizeof (who)));
    //  A node name with a NUL in it: refused as its control character
    char nul_path [64];
    if (request->body_case == STEMX__REQUEST__BODY_HELLO
    &&  stx_nul_find (&stemx__request__descriptor, zframe_data (frame), zframe_size (frame),
                      nul_path, sizeof (nul_path))) {
        const char *text = "hello: node name holds control characters";
        stx_bk_warn (self, "refused request from %s: %s",
                     stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_INVALID, text);
        stx_wire_request_free (&request);
        zframe_destroy (&routing_id);
        return;
    }
    //  HELLO comes first on every connection: it names the node stamped
    //  into its events, and a peer that never said it holds no state here
    if (request->body_case != STEMX__REQUEST__BODY_HELLO
    &&  !stx_bk_peer_touch (self, routing_id, false)) {
        char text [160];
        snprintf (text, sizeof (text), "%s: say HELLO first on this connection (the broker "
                  "holds no session for it), then repeat", stx_wire_request_name (request));
        stx_bk_warn (self, "refused request from %s: %s",
                     stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_NO_SESSION, text);
        stx_wire_request_free (&request);
        zframe_destroy (&routing_id);
        return;
    }

    //  Roles: PUBLISH needs publisher or admin; any registered role reads
    //  (a publishing agent is a replica too)
    bool denied = false;
    if (!self->insecure) {
        if (request->body_case == STEMX__REQUEST__BODY_PUBLISH)
            denied = !(principal.roles & (STX_ROLE_PUBLISHER | STX_ROLE_ADMIN));
        else
            denied = !(principal.roles & (STX_ROLE_READER | STX_ROLE_PUBLISHER | STX_ROLE_ADMIN));
    }
    if (denied) {
        char text [160];
        if (request->body_case == STEMX__REQUEST__BODY_PUBLISH)
            snprintf (text, sizeof (text), "publish: %.100s has no publisher role", principal.org);
        else
            snprintf (text, sizeof (text), "%s: %.100s has no role",
                      stx_wire_request_name (request), principal.org);
        stx_bk_warn (self, "refused request from %s: %s",
                     stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
        stx_bk_send_error (self, routing_id, STEMX__REASON__R_UNAUTHORISED, text);
        stx_wire_request_free (&request);
        zframe_destroy (&routing_id);
        return;
    }
    if (request->body_case == STEMX__REQUEST__BODY_PUBLISH) {
        size_t events = request->publish->n_events;
        if (self->max_batch > 0 && events > (size_t) self->max_batch) {
            char text [128];
            snprintf (text, sizeof (text), "publish of %zu events is over the limit of %d",
                      events, self->max_batch);
            stx_bk_warn (self, "refused request from %s: %s",
                         stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
            stx_bk_send_error (self, routing_id, STEMX__REASON__R_TOO_LARGE, text);
            stx_wire_request_free (&request);
            zframe_destroy (&routing_id);
            return;
        }
        stx_bk_batch_add (self, &routing_id, &request, self->insecure? NULL: &principal);
        return;
    }
    //  Any other request first completes the batch, keeping per-peer order
    stx_bk_batch_flush (self);
    //  Reads are charged to the organisation (to the peer when insecure)
    char reader [128];
    if (principal.org)
        snprintf (reader, sizeof (reader), "%.120s", principal.org);
    else {
        char *hex = stx_bk_peer_key (routing_id);
        snprintf (reader, sizeof (reader), "peer-%.100s", hex);
        free (hex);
    }
    switch (request->body_case) {
        case STEMX__REQUEST__BODY_HELLO:
            stx_bk_handle_hello (self, routing_id, request->hello, principal.org);
            break;
        case STEMX__REQUEST__BODY_SNAPSHOT:
            stx_bk_handle_snapshot (self, routing_id, request->snapshot, reader);
            break;
        case STEMX__REQUEST__BODY_CREDIT:
            stx_bk_handle_credit (self, routing_id, request->credit);
            break;
        case STEMX__REQUEST__BODY_FETCH:
            stx_bk_handle_fetch (self, routing_id, request->fetch, reader);
            break;
        case STEMX__REQUEST__BODY_PING:
            stx_bk_handle_ping (self, routing_id, request->ping);
            break;
        default: {
            char text [96];
            snprintf (text, sizeof (text), "%s: not served by the broker",
                      stx_wire_request_name (request));
            stx_bk_warn (self, "refused request from %s: %s",
                         stx_bk_peer_name (self, routing_id, who, sizeof (who)), text);
            stx_bk_send_error (self, routing_id, STEMX__REASON__R_MALFORMED, text);
            break;
        }
    }
    stx_wire_request_free (&request);
    zframe_destroy (&routing_id);
}

//  Drain what is ready (up to batch_max messages, and no more PUBLISH
//  once the group holds STX_BK_GROUP_EVENTS events), then group-commit. The
//  ROUTER fair-queues its peers, so a bounded group takes turns between
//  them: one organisation's bulk import delays another's publish by about
//  two groups, not by its backlog.
void
stx_bk_drain_router (stx_bk_t *self)
{
    for (int count = 0; count < self->batch_max; count++) {
        if (count > 0 && !(zsock_events (self->router) & ZMQ_POLLIN))
            break;
        if (self->batch_events >= STX_BK_GROUP_EVENTS)
            break;
        zmsg_t *msg = zmsg_recv (self->router);
        if (!msg)
            break;
        s_handle_message (self, msg);
        zmsg_destroy (&msg);
    }
    stx_bk_batch_flush (self);
}
