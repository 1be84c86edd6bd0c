/*  =========================================================================
    stx_testclient - raw ZeroMQ clients of a test network's broker

    What a partner's own code (or an attacker holding a registered key)
    would open: CURVE sockets to the broker's endpoints, the HELLO that
    starts a session, and a reading of a process's memory to check what
    such a peer costs the broker. Failures are cmocka assertions.
    ========================================================================= */

#ifndef STX_TESTCLIENT_H_INCLUDED
#define STX_TESTCLIENT_H_INCLUDED

#include <czmq.h>
#include "stx_keys.h"
#include "stx_testnet.h"

//  The broker's public certificate of net. Caller destroys it.
zcert_t *
    stx_testclient_broker_cert (stx_testnet_t *net);

//  A socket of type with CURVE client keys cert (NULL with an insecure
//  network), connected to endpoint; a SUB subscribes to everything. Sends
//  time out after 2 s, so a peer the broker cut off never blocks a test.
//  Caller destroys it.
zsock_t *
    stx_testclient_socket (stx_testnet_t *net, int type, zcert_t *cert, const char *endpoint);

//  As stx_testclient_socket, for a peer that means not to read: the
//  smallest queues it can have on its own side (a receive high-water mark
//  of 1, a kernel receive buffer of 4 KiB), so what it is sent piles up
//  at the broker.
zsock_t *
    stx_testclient_deaf (stx_testnet_t *net, int type, zcert_t *cert, const char *endpoint);

//  The identity (secret keys) made for org. Caller destroys it.
stx_identity_t *
    stx_testclient_identity (stx_testnet_t *net, const char *org);

//  Send HELLO on dealer; true if a WELCOME came within timeout_ms.
bool
    stx_testclient_hello (zsock_t *dealer, int timeout_ms);

//  A DEALER as identity that has said HELLO and been welcomed within
//  timeout_ms (the broker answers nothing else first). Caller destroys it.
zsock_t *
    stx_testclient_session (stx_testnet_t *net, stx_identity_t *identity, int timeout_ms);

//  AddressSanitizer keeps freed memory in quarantine and pads every
//  block, so under it a process's RssAnon says nothing about its queues:
//  tests still run their scenarios (for what the sanitizer finds) but do
//  not judge memory bounds when this is false.
#if defined (__SANITIZE_ADDRESS__)
#   define STX_TESTCLIENT_MEASURED false
#else
#   define STX_TESTCLIENT_MEASURED true
#endif

//  The value in KiB of field ("VmRSS", "RssAnon") of /proc/PID/status.
long
    stx_testclient_memory_kib (pid_t pid, const char *field);

#endif
