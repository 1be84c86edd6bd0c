/*  =========================================================================
    stx_wire - Request/Reply framing on ZeroMQ sockets

    DESIGN
    Every request and every reply is exactly one ZeroMQ frame holding the
    packed protobuf message; a ROUTER adds the routing-id frame in front.
    Packing goes straight into a zframe of the exact packed size, so a
    message is copied once (into the frame) and libzmq takes the frame
    without copying it again. Decoding enforces the size limit before
    protobuf-c sees the bytes, and refuses a message with no body set, so
    callers only ever see well-formed requests.

    Threads: stateless; any thread may call any function on its own
    sockets. Nothing here touches the store.
    ========================================================================= */

#include "stx_wire.h"

//  Send one packed frame; the frame is always gone afterwards.
static int
s_send_frame (zsock_t *sock, zframe_t *frame)
{
    int rc = zframe_send (&frame, sock, 0);
    zframe_destroy (&frame);    //  zframe_send leaves it on some failures
    return rc == 0? 0: -1;
}

int
stx_wire_send_request (zsock_t *sock, const Stemx__Request *request)
{
    assert (sock);
    assert (request);
    size_t size = stemx__request__get_packed_size (request);
    zframe_t *frame = zframe_new (NULL, size);
    assert (frame);
    size_t packed = stemx__request__pack (request, zframe_data (frame));
    assert (packed == size);
    return s_send_frame (sock, frame);
}

int
stx_wire_send_publish (zsock_t *sock, ProtobufCBinaryData *events, size_t count)
{
    Stemx__Publish publish = STEMX__PUBLISH__INIT;
    publish.n_events = count;
    publish.events = events;
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_PUBLISH;
    request.publish = &publish;
    return stx_wire_send_request (sock, &request);
}

int
stx_wire_send_reply (zsock_t *sock, zframe_t *routing_id, const Stemx__Reply *reply)
{
    assert (sock);
    assert (reply);
    size_t size = stemx__reply__get_packed_size (reply);
    zframe_t *frame = zframe_new (NULL, size);
    assert (frame);
    size_t packed = stemx__reply__pack (reply, zframe_data (frame));
    assert (packed == size);
    if (routing_id
    &&  zframe_send (&routing_id, sock, ZFRAME_MORE | ZFRAME_REUSE) != 0) {
        zframe_destroy (&frame);
        return -1;
    }
    return s_send_frame (sock, frame);
}

stx_status_t
stx_wire_decode_request (zframe_t *frame, size_t max_size, Stemx__Request **request_p)
{
    assert (frame);
    assert (request_p);
    *request_p = NULL;
    size_t size = zframe_size (frame);
    if (max_size && size > max_size)
        return STX_ERR_TOO_LARGE;
    Stemx__Request *request = stemx__request__unpack (NULL, size, zframe_data (frame));
    if (!request)
        return STX_ERR_MALFORMED;
    if (request->body_case == STEMX__REQUEST__BODY__NOT_SET) {
        stemx__request__free_unpacked (request, NULL);
        return STX_ERR_MALFORMED;
    }
    *request_p = request;
    return STX_OK;
}

stx_status_t
stx_wire_decode_reply (zframe_t *frame, Stemx__Reply **reply_p)
{
    assert (frame);
    assert (reply_p);
    *reply_p = NULL;
    Stemx__Reply *reply = stemx__reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    if (!reply)
        return STX_ERR_MALFORMED;
    if (reply->body_case == STEMX__REPLY__BODY__NOT_SET) {
        stemx__reply__free_unpacked (reply, NULL);
        return STX_ERR_MALFORMED;
    }
    *reply_p = reply;
    return STX_OK;
}

stx_status_t
stx_wire_recv_reply (zsock_t *sock, int timeout_ms, Stemx__Reply **reply_p)
{
    assert (sock);
    assert (reply_p);
    *reply_p = NULL;
    zmq_pollitem_t item = { zsock_resolve (sock), 0, ZMQ_POLLIN, 0 };
    int rc = zmq_poll (&item, 1, timeout_ms);
    if (rc < 0)
        return STX_ERR_IO;      //  interrupted, or the context is gone
    if (rc == 0)
        return STX_ERR_TIMEOUT;
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return STX_ERR_IO;
    stx_status_t status = STX_ERR_MALFORMED;
    if (zmsg_size (msg) == 1)
        status = stx_wire_decode_reply (zmsg_first (msg), reply_p);
    zmsg_destroy (&msg);
    return status;
}

void
stx_wire_request_free (Stemx__Request **request_p)
{
    assert (request_p);
    if (*request_p) {
        stemx__request__free_unpacked (*request_p, NULL);
        *request_p = NULL;
    }
}

void
stx_wire_reply_free (Stemx__Reply **reply_p)
{
    assert (reply_p);
    if (*reply_p) {
        stemx__reply__free_unpacked (*reply_p, NULL);
        *reply_p = NULL;
    }
}

int
stx_wire_publish (zsock_t *sock, const char *topic, const uint8_t *data, size_t size)
{
    assert (sock);
    assert (topic);
    zframe_t *frame = zframe_new (topic, strlen (topic));
    assert (frame);
    if (zframe_send (&frame, sock, ZFRAME_MORE) != 0) {
        zframe_destroy (&frame);
        return -1;
    }
    frame = zframe_new (data, size);
    assert (frame);
    return s_send_frame (sock, frame);
}

int
stx_wire_send_heartbeat (zsock_t *sock, const Stemx__Heartbeat *heartbeat)
{
    assert (heartbeat);
    uint8_t buffer [256];
    size_t size = stemx__heartbeat__get_packed_size (heartbeat);
    assert (size <= sizeof (buffer));   //  16 + 32 bytes and a varint
    stemx__heartbeat__pack (heartbeat, buffer);
    return stx_wire_publish (sock, STX_TOPIC_HEARTBEAT, buffer, size);
}

stx_status_t
stx_wire_decode_heartbeat (zframe_t *frame, Stemx__Heartbeat **heartbeat_p)
{
    assert (frame);
    assert (heartbeat_p);
    *heartbeat_p = stemx__heartbeat__unpack (NULL, zframe_size (frame), zframe_data (frame));
    return *heartbeat_p? STX_OK: STX_ERR_MALFORMED;
}

void
stx_wire_heartbeat_free (Stemx__Heartbeat **heartbeat_p)
{
    assert (heartbeat_p);
    if (*heartbeat_p) {
        stemx__heartbeat__free_unpacked (*heartbeat_p, NULL);
        *heartbeat_p = NULL;
    }
}

const char *
stx_wire_request_name (const Stemx__Request *request)
{
    if (!request)
        return "none";
    switch (request->body_case) {
        case STEMX__REQUEST__BODY_HELLO:    return "hello";
        case STEMX__REQUEST__BODY_PUBLISH:  return "publish";
        case STEMX__REQUEST__BODY_SNAPSHOT: return "snapshot";
        case STEMX__REQUEST__BODY_CREDIT:   return "credit";
        case STEMX__REQUEST__BODY_FETCH:    return "fetch";
        case STEMX__REQUEST__BODY_PING:     return "ping";
        case STEMX__REQUEST__BODY_STATUS:   return "status";
        case STEMX__REQUEST__BODY_VERIFY:   return "verify";
        default:                            return "none";
    }
}

const char *
stx_wire_reply_name (const Stemx__Reply *reply)
{
    if (!reply)
        return "none";
    switch (reply->body_case) {
        case STEMX__REPLY__BODY_WELCOME:      return "welcome";
        case STEMX__REPLY__BODY_ACK:          return "ack";
        case STEMX__REPLY__BODY_CHUNK:        return "chunk";
        case STEMX__REPLY__BODY_SNAPSHOT_END: return "snapshot-end";
        case STEMX__REPLY__BODY_LOG:          return "log";
        case STEMX__REPLY__BODY_PONG:         return "pong";
        case STEMX__REPLY__BODY_ERROR:        return "error";
        case STEMX__REPLY__BODY_STATUS:       return "status";
        case STEMX__REPLY__BODY_VERIFY:       return "verify";
        case STEMX__REPLY__BODY_RECEIPT:      return "receipt";
        default:                              return "none";
    }
}
