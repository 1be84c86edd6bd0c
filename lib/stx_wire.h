/*  =========================================================================
    stx_wire - Request/Reply framing on ZeroMQ sockets

    Every message between a DEALER (agent or CLI) and a ROUTER (broker, or
    an agent's local endpoint) is one frame holding a packed Request or
    Reply (proto/stemx.proto); a ROUTER adds/strips the routing-id frame.
    The broker's PUB sends two frames: topic "E" + packed Event, or topic
    "H" + packed Heartbeat. This module keeps ProtobufCMessage packing in
    one place; it knows nothing of the store.
    ========================================================================= */

#ifndef STX_WIRE_H_INCLUDED
#define STX_WIRE_H_INCLUDED

#include <czmq.h>
#include "stx_error.h"

#define STX_TOPIC_EVENT     "E"
#define STX_TOPIC_HEARTBEAT "H"

//  Send request as one frame on a DEALER. Returns 0, or -1 if the socket
//  refused it (errno from libzmq).
int
    stx_wire_send_request (zsock_t *sock, const Stemx__Request *request);

//  Send a Publish request of count packed events (not consumed) on a
//  DEALER, as stx_wire_send_request. Returns 0 or -1.
int
    stx_wire_send_publish (zsock_t *sock, ProtobufCBinaryData *events, size_t count);

//  Send reply on a ROUTER to the peer routing_id (not consumed; may be
//  NULL on a DEALER). Returns 0 or -1.
int
    stx_wire_send_reply (zsock_t *sock, zframe_t *routing_id, const Stemx__Reply *reply);

//  Decode one frame as a Request. Caller owns *request_p and frees it
//  with stx_wire_request_free. STX_ERR_MALFORMED if undecodable or with no
//  body set; STX_ERR_TOO_LARGE if over max_size bytes (0 = no limit).
stx_status_t
    stx_wire_decode_request (zframe_t *frame, size_t max_size, Stemx__Request **request_p);

//  Receive one Reply on a DEALER, waiting at most timeout_ms (-1 =
//  forever). Caller owns *reply_p (stx_wire_reply_free). Errors:
//  STX_ERR_TIMEOUT, STX_ERR_MALFORMED, STX_ERR_IO (interrupted).
stx_status_t
    stx_wire_recv_reply (zsock_t *sock, int timeout_ms, Stemx__Reply **reply_p);

//  Decode one frame as a Reply; as stx_wire_decode_request.
stx_status_t
    stx_wire_decode_reply (zframe_t *frame, Stemx__Reply **reply_p);

//  Free a decoded request or reply; accept NULL and set the pointer NULL.
void
    stx_wire_request_free (Stemx__Request **request_p);
void
    stx_wire_reply_free (Stemx__Reply **reply_p);

//  Publish one packed event or heartbeat on a PUB socket as two frames:
//  topic, then size bytes of data (copied). Returns 0 or -1.
int
    stx_wire_publish (zsock_t *sock, const char *topic, const uint8_t *data, size_t size);

//  Pack and publish a Heartbeat under topic "H". Returns 0 or -1.
int
    stx_wire_send_heartbeat (zsock_t *sock, const Stemx__Heartbeat *heartbeat);

//  Decode one frame as a Heartbeat. Caller owns *heartbeat_p and frees it
//  with stx_wire_heartbeat_free. STX_ERR_MALFORMED if undecodable.
stx_status_t
    stx_wire_decode_heartbeat (zframe_t *frame, Stemx__Heartbeat **heartbeat_p);
void
    stx_wire_heartbeat_free (Stemx__Heartbeat **heartbeat_p);

//  Name of a request or reply body, for logs ("hello", "ack", ...).
const char *
    stx_wire_request_name (const Stemx__Request *request);
const char *
    stx_wire_reply_name (const Stemx__Reply *reply);

#endif
