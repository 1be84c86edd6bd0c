/*  =========================================================================
    test_interop - a client in another language, written from the docs
    alone, against a real broker and agent

    tests/interop/client.py (Python 3, pyzmq, protobuf, PyNaCl from Debian;
    protoc generates its module from proto/stemx.proto here) makes its own
    key from the format SECURITY.md gives, recomputes the worked signing
    example of SECURITY.md, then speaks the protocol over CURVE: HELLO
    first, signed publishes, a refusal for each integrity rule with its
    documented reason, the updates socket, a snapshot and the whole log
    with its hash chain. A real stemx-agent replica then holds its events,
    verified, and agrees with the broker.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <jansson.h>
#include "stx_testnet.h"
#include "stx_testproc.h"

typedef stx_testnet_t world_t;

//  Debian's python3, which the python3-* packages are for (a python3
//  earlier in PATH may be another one)
static const char *
s_python (void)
{
    return access ("/usr/bin/python3", X_OK) == 0? "/usr/bin/python3": "python3";
}

static char *
s_run (const char *const argv [])
{
    char *out = NULL, *err = NULL;
    int rc = stx_proc_run (argv, &out, &err, 60000);
    if (rc != 0)
        fail_msg ("%s %s exited %d: %s%s", argv [0], argv [1], rc, out? out: "", err? err: "");
    free (err);
    return out;
}

//  The network lives in setup and teardown, so a failing step still stops
//  the broker and the agent
static int
s_setup (void **state)
{
    world_t *self = stx_testnet_new ();
    stx_testnet_key (self, "org:vdab", "government", "publisher, reader");
    stx_testnet_key (self, "org:vlaio", "government", "admin, publisher, reader");
    *state = self;
    return 0;
}

static void
test_python_client (void **state)
{
    world_t *self = (world_t *) *state;

    //  The Python module of the schema, and the client's own key
    char script [PATH_MAX + 64], pb2 [PATH_MAX + 64], proto [PATH_MAX + 64], doc [PATH_MAX + 64];
    snprintf (script, sizeof script, "%s/tests/interop/client.py", self->src);
    snprintf (pb2, sizeof pb2, "%s/pb2", self->dir);
    snprintf (proto, sizeof proto, "%s/proto", self->src);
    snprintf (doc, sizeof doc, "%s/docs/SECURITY.md", self->src);
    assert_int_equal (mkdir (pb2, 0700), 0);
    char out_flag [PATH_MAX + 96], include [PATH_MAX + 96];
    snprintf (out_flag, sizeof out_flag, "--python_out=%s", pb2);
    snprintf (include, sizeof include, "-I%s", proto);
    const char *protoc [] = { "/usr/bin/protoc", out_flag, include, "stemx.proto", NULL };
    free (s_run (protoc));
    const char *keygen [] = { s_python (), script, "keygen", "--out", self->keys, "--org",
                              "org:pylab", "--pillar", "industry", "--roles",
                              "publisher, reader", NULL };
    free (s_run (keygen));
    char cert [PATH_MAX * 2], registered [PATH_MAX * 2];
    snprintf (cert, sizeof cert, "%s/pylab.cert", self->keys);
    snprintf (registered, sizeof registered, "%s/registry/pylab.cert", self->node [0]);
    stx_testnet_copy (cert, registered);

    //  The worked signing example of SECURITY.md holds
    const char *example [] = { s_python (), script, "example", "--pb2", pb2, "--doc", doc,
                               NULL };
    char *out = s_run (example);
    assert_non_null (strstr (out, "\"example\": \"ok\""));
    free (out);

    //  The protocol, against the broker; an agent replicates meanwhile
    //  (its trust folder holds the client's public key, as a partner's would)
    const char *gov [] = { "org:vdab", "org:vlaio", NULL };
    stx_testnet_start_broker (self, NULL);
    stx_testnet_start_agent (self, 1, "gov", gov);
    char secret [PATH_MAX * 2], broker [PATH_MAX * 2];
    snprintf (secret, sizeof secret, "%s/pylab.cert_secret", self->keys);
    snprintf (broker, sizeof broker, "%s/broker.cert", self->node [0]);
    const char *run [] = { s_python (), script, "run", "--pb2", pb2, "--request", self->request,
                           "--updates", self->updates, "--broker-cert", broker,
                           "--secret", secret, NULL };
    out = s_run (run);
    json_t *summary = json_loads (out, 0, NULL);
    if (!summary)
        fail_msg ("client printed no JSON: %s", out);
    free (out);
    json_int_t seq = json_integer_value (json_object_get (summary, "seq"));
    assert_true (seq >= 3);

    //  The agent holds the client's events, each verified, at the broker's
    //  head
    stx_testnet_wait_converged (self, 2, (long long) seq);
    assert_int_equal (stx_testnet_cli (self, 1, &out, NULL, "show", "ini:pylab-1", "--verify",
                                       NULL), 0);
    assert_non_null (strstr (out, "valid, signed by org:pylab"));
    free (out);
    assert_int_equal (stx_testnet_cli (self, 1, &out, NULL, "verify", NULL), 0);
    assert_non_null (strstr (out, "agree"));
    free (out);
    json_t *status = stx_testnet_status (self, 1);
    const char *head = json_string_value (json_object_get (summary, "head"));
    assert_string_equal (json_string_value (json_object_get (status, "head")), head);
    json_decref (status);
    json_decref (summary);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_python_client, s_setup, stx_testnet_teardown),
    };
    stx_testnet_filter ();
    return cmocka_run_group_tests (tests, NULL, NULL);
}
