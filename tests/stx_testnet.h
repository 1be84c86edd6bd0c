/*  =========================================================================
    stx_testnet - a broker and agents on loopback, with real keys, for tests

    Builds the same set-up an operator would: the broker's key and one key
    per organisation (stx_keys), the broker's registry of public keys, and
    per agent a folder of the secret keys it publishes for, a trust folder
    of public keys and the broker's public key. Then starts the real
    programs (stx_testproc) and drives the real CLI. Failures are cmocka
    assertions. Every process is stopped and the folder removed at destroy.
    ========================================================================= */

#ifndef STX_TESTNET_H_INCLUDED
#define STX_TESTNET_H_INCLUDED

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#define STX_TESTNET_NODES 8     //  node 0 is the broker, 1.. agents

typedef struct {
    char dir [PATH_MAX];        //  the test's temporary folder
    char bin [PATH_MAX];        //  where the programs are ($STEMX_BIN_DIR)
    char src [PATH_MAX];        //  the source tree ($STEMX_SOURCE_DIR)
    char keys [PATH_MAX];       //  every generated key pair
    char node [STX_TESTNET_NODES][PATH_MAX];    //  data folders
    pid_t pid [STX_TESTNET_NODES];
    char request [256];         //  broker endpoints, once started
    char updates [256];
    char config [PATH_MAX];     //  the broker's config file, "" if none
    //  Set before starting nodes (both default to off / empty):
    bool insecure;              //  broker and agents run with --insecure (no
                                //  CURVE, no signatures): tests that must see
                                //  plaintext frames, e.g. through a proxy
    char via_request [STX_TESTNET_NODES][256];  //  agent n connects here instead
    char via_updates [STX_TESTNET_NODES][256];  //  of the broker ("" = broker)
    const char *agent_option [STX_TESTNET_NODES];   //  one more option for agent
                                //  n's next (re)start only (e.g. "--resync")
} stx_testnet_t;

//  Copy the file from to to (a secret cert gets mode 0600).
void
    stx_testnet_copy (const char *from, const char *to);

//  Run only the tests whose names match the glob in STX_TEST_FILTER, if
//  the environment sets it (e.g. STX_TEST_FILTER=test_integrity).
void
    stx_testnet_filter (void);

//  New test network in a fresh temporary folder, with the broker's key
//  made. Caller destroys it.
stx_testnet_t *
    stx_testnet_new (void);

//  Stop every process (SIGTERM; asserts each exits 0) and remove the folder
//  (kept when the environment sets STEMX_TEST_KEEP).
void
    stx_testnet_destroy (stx_testnet_t **self_p);

//  A cmocka teardown for a test whose state is a network: destroys it.
int
    stx_testnet_teardown (void **state);

//  Make a key for org and register its public half with the broker.
void
    stx_testnet_key (stx_testnet_t *self, const char *org, const char *pillar, const char *roles);

//  Make keys for every organisation of the sample catalogue (org:vlaio
//  with the admin role).
void
    stx_testnet_sample_keys (stx_testnet_t *self);

//  Start the broker (node 0) on ephemeral loopback ports, with the ZPL
//  config file config (NULL = none).
void
    stx_testnet_start_broker (stx_testnet_t *self, const char *config);

//  Start the broker again on the endpoints it had (after a stop).
void
    stx_testnet_restart_broker (stx_testnet_t *self);

//  Prepare agent node index (1..) named name, hosting the secret keys of
//  orgs (NULL-terminated list of "org:x"; NULL = every key made), with a
//  trust folder of every public key. Then start it.
void
    stx_testnet_start_agent (stx_testnet_t *self, int index, const char *name, const char **orgs);

//  Make agent node index connect to request / updates (e.g. a proxy in
//  front of the broker) instead of the broker's endpoints, from its next
//  (re)start on. NULL or "" = the broker's own endpoint.
void
    stx_testnet_route_agent (stx_testnet_t *self, int index, const char *request,
                             const char *updates);

//  Start an agent whose folder is already prepared (a restart).
void
    stx_testnet_restart_agent (stx_testnet_t *self, int index, const char *name);

//  Stop node index with signal sig; returns its wait status.
int
    stx_testnet_stop (stx_testnet_t *self, int index, int sig);

//  Run `stemx --data NODE args...` (NULL-terminated). Returns the exit
//  code; *out_p / *err_p (may be NULL) get stdout / stderr, caller frees.
int
    stx_testnet_cli (stx_testnet_t *self, int node, char **out_p, char **err_p, ...);

//  `stemx status --json` of node, or NULL if it failed. Caller decrefs.
json_t *
    stx_testnet_status (stx_testnet_t *self, int node);

//  Poll until nodes 0..count-1 all report seq == want and the same head.
void
    stx_testnet_wait_converged (stx_testnet_t *self, int count, long long want);

//  Write json to DIR/name and return the path (static buffer).
const char *
    stx_testnet_write_json (stx_testnet_t *self, const char *name, json_t *json);

//  The key files of org: DIR/keys/SLUG.cert and .cert_secret (static buffer).
const char *
    stx_testnet_cert (stx_testnet_t *self, const char *org, bool secret);

//  The string value of json, or "(missing)": cmocka's assert_string_equal
//  would crash on NULL instead of reporting the mismatch.
static inline const char *
stx_testnet_str (json_t *json)
{
    const char *text = json_string_value (json);
    return text? text: "(missing)";
}

//  The sample catalogue (borrowed; valid until destroy).
json_t *
    stx_testnet_catalogue (stx_testnet_t *self);

#endif
