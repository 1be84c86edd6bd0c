/*  =========================================================================
    stx_agent - the stemx agent as a czmq actor

    An agent keeps a replica of the broker's catalogue in its own store,
    queues local publishes in a durable outbox until the broker answers,
    and serves the CLI on a local ROUTER at ipc://DIR/agent.sock
    (docs/PROTOCOL.md, docs/RELIABILITY.md). stemx-agent's main and the
    tests drive the same actor:

        stx_agent_config_t config;
        stx_agent_config_default (&config);
        config.data_dir = "/var/lib/stemx-agent";
        config.broker = "tcp://127.0.0.1:5670";
        config.updates = "tcp://127.0.0.1:5671";
        zactor_t *agent = stx_agent_new (&config, err, sizeof (err));
        ...
        zactor_destroy (&agent);

    Pipe commands (strings):
      $TERM         end the actor (aborts a snapshot in progress, closes stores)
      ENDPOINT      reply one frame: the local endpoint (ipc://DIR/agent.sock)
      STATUS        reply six frames: state, seq, head (hex), connected
                    ("1"/"0"), broker seq as last heard, and why
                    replication halted ("" unless the state is "halted")
      VERBOSE       log replication steps at debug level
    ========================================================================= */

#ifndef STX_AGENT_H_INCLUDED
#define STX_AGENT_H_INCLUDED

#include <czmq.h>
#include "stx_error.h"

//  What the agent needs; strings are borrowed until stx_agent_new returns.
typedef struct {
    const char *data_dir;       //  folder of the replica, outbox and socket (required)
    const char *name;           //  node name, sent in HELLO [host name]
    const char *broker;         //  broker request endpoint [tcp://127.0.0.1:5670]
    const char *updates;        //  broker updates endpoint [tcp://127.0.0.1:5671]
    size_t map_size;            //  replica LMDB map size at start [0 = store default, 1G]
    size_t map_max;             //  the map grows (doubling) on MDB_MAP_FULL up to [64G]
    int64_t keep_events;        //  own log retention: newest events kept [1000000]
    int64_t keep_days;          //  own log retention: younger events kept [90]; trimmed
                                //  only outside BOTH bounds; negative = keep all
    bool sync;                  //  fsync replica commits [false: the replica
                                //  resyncs from its cookie after a crash]
    int silence_ms;             //  reconnect after this long without a word [5000]
    int connected_ms;           //  "connected" if heard within [3000]
    bool insecure;              //  plain TCP, no signing, no verification [false]
    const char *identities;     //  folder of secret certs, one per organisation
                                //  published for [DATA/identities]
    const char *broker_key;     //  the broker's public cert file [DATA/broker.cert]
    const char *trust;          //  partners' public certs: a copy of the broker's
                                //  registry [DATA/trust]
    const char *trust_retired;  //  retired public certs, verify only
                                //  [DATA/trust-retired, used if it exists]
    bool resync;                //  set the replica aside (DATA/catalogue.before-resync)
                                //  and take a fresh snapshot; the outbox stays [false]
    bool verbose;
} stx_agent_config_t;

//  Fill config with the defaults in brackets above.
void
    stx_agent_config_default (stx_agent_config_t *config);

//  Start an agent: opens (or creates) its replica and outbox in data_dir,
//  unless insecure loads its identities, the broker's key and the trust
//  store (a folder with no identity is an error naming `stemx keygen`),
//  binds the local endpoint, connects to the broker. Returns the actor,
//  which the caller owns and ends with zactor_destroy; or NULL with a
//  one-line reason in err.
zactor_t *
    stx_agent_new (const stx_agent_config_t *config, char *err, size_t errlen);

//  The actor function, for zactor_new; args is an stx_agent_start_t.
typedef struct {
    const stx_agent_config_t *config;
    stx_status_t status;        //  out: STX_OK once running
    char err [STX_ERRLEN];      //  out: why it did not start
} stx_agent_start_t;

void
    stx_agent_actor (zsock_t *pipe, void *args);

#endif
