/*  =========================================================================
    stx_testclient - raw ZeroMQ clients of a test network's broker

    Test-side only; runs in the test's thread and owns nothing beyond what
    each call returns.
    ========================================================================= */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "stx_wire.h"
#include "stx_testclient.h"

zcert_t *
stx_testclient_broker_cert (stx_testnet_t *net)
{
    char path [PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/broker.cert", net->node [0]);
    zcert_t *cert = zcert_load (path);
    assert_non_null (cert);
    return cert;
}

static zsock_t *
s_socket_new (stx_testnet_t *net, int type, zcert_t *cert, const char *endpoint, bool deaf)
{
    zsock_t *sock = zsock_new (type);
    assert_non_null (sock);
    zsock_set_sndtimeo (sock, 2000);
    if (deaf) {
        zsock_set_rcvhwm (sock, 1);
        zsock_set_rcvbuf (sock, 4096);
    }
    if (cert) {
        zcert_t *broker = stx_testclient_broker_cert (net);
        zcert_apply (cert, sock);
        zsock_set_curve_serverkey (sock, zcert_public_txt (broker));
        zcert_destroy (&broker);
    }
    if (type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    assert_int_equal (zsock_connect (sock, "%s", endpoint), 0);
    return sock;
}

zsock_t *
stx_testclient_socket (stx_testnet_t *net, int type, zcert_t *cert, const char *endpoint)
{
    return s_socket_new (net, type, cert, endpoint, false);
}

zsock_t *
stx_testclient_deaf (stx_testnet_t *net, int type, zcert_t *cert, const char *endpoint)
{
    return s_socket_new (net, type, cert, endpoint, true);
}

stx_identity_t *
stx_testclient_identity (stx_testnet_t *net, const char *org)
{
    stx_identity_t *identity = NULL;
    char err [STX_ERRLEN];
    if (stx_identity_load (stx_testnet_cert (net, org, true), &identity, err, sizeof err))
        fail_msg ("%s", err);
    return identity;
}

bool
stx_testclient_hello (zsock_t *dealer, int timeout_ms)
{
    Stemx__Hello hello = STEMX__HELLO__INIT;
    hello.node = (char *) "raw";
    Stemx__Request request = STEMX__REQUEST__INIT;
    request.body_case = STEMX__REQUEST__BODY_HELLO;
    request.hello = &hello;
    stx_wire_send_request (dealer, &request);
    Stemx__Reply *reply = NULL;
    stx_status_t rc = stx_wire_recv_reply (dealer, timeout_ms, &reply);
    bool welcomed = rc == STX_OK && reply->body_case == STEMX__REPLY__BODY_WELCOME;
    stx_wire_reply_free (&reply);
    return welcomed;
}

zsock_t *
stx_testclient_session (stx_testnet_t *net, stx_identity_t *identity, int timeout_ms)
{
    zsock_t *dealer = stx_testclient_socket (net, ZMQ_DEALER, stx_identity_cert (identity),
                                             net->request);
    assert_true (stx_testclient_hello (dealer, timeout_ms));
    return dealer;
}

long
stx_testclient_memory_kib (pid_t pid, const char *field)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    size_t length = strlen (field);
    long kib = -1;
    while (fgets (line, sizeof line, file))
        if (strncmp (line, field, length) == 0 && line [length] == ':')
            kib = atol (line + length + 1);
    fclose (file);
    if (kib < 0)
        fail_msg ("no %s in %s", field, path);
    return kib;
}
