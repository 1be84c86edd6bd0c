/*  =========================================================================
    stx_broker - the stemx broker as a czmq actor

    The broker validates, sequences, persists and fans out events, and
    serves snapshots and log ranges (docs/PROTOCOL.md). It runs as an actor
    so that stemx-broker's main and the tests drive the very same code:

        stx_broker_config_t config;
        stx_broker_config_default (&config);
        config.data_dir = "/var/lib/stemx";
        config.bind = "tcp://127.0.0.1:*";
        zactor_t *broker = stx_broker_new (&config, err, sizeof (err));
        zstr_send (broker, "ENDPOINTS");
        char *request, *updates;
        zstr_recvx (broker, &request, &updates, NULL);
        ...
        zactor_destroy (&broker);

    Security (docs/SECURITY.md): unless config.insecure, both sockets are
    CURVE servers with the broker's key (config.cert_file); a zauth actor
    admits only the keys in config.registry_dir, and every request is
    mapped to its organisation through the stx_registry of that folder
    (plus config.retired_dir, whose keys only verify old signatures).

    Pipe commands (strings):
      $TERM         end the actor (commits nothing half done, closes the store)
      ENDPOINTS     reply two frames: the connectable request and updates
                    endpoints (tcp://127.0.0.1:PORT for wildcard binds)
      STATUS        reply three frames: seq, head (hex), lineage (hex)
      COUNTERS      reply one frame: the status.json document (JSON text)
      RELOAD        reload the registry (SIGHUP); no reply. A key revoked by
                    the reload that was seen connected makes the broker
                    re-bind both sockets, so every peer goes through ZAP
                    again (SECURITY.md, "Revocation")
      VERBOSE       log every request at debug level
    The actor may send "FATAL" <reason> on its own when it cannot go on
    (e.g. a re-bind after a revocation failed).

    Counters (accepted events, refusals per reason, revocations, last
    reload) go to DATA/status.json, at most once per heartbeat when they
    changed; docs/SECURITY.md section 5 lists its fields, and a "storage"
    object tells map size, use, limit, log_first and whether the store is
    refusing events as full (docs/RELIABILITY.md).

    Storage (docs/RELIABILITY.md): MDB_MAP_FULL grows the map (doubling, up
    to map_max) and the batch is tried once more; a map at map_max, a full
    disk or a failing one makes every event of the batch R_STORAGE
    "storage full: ...", logged once, while reads, fetches and snapshots
    go on. Each heartbeat trims the log by at most 1000 events (retention:
    keep_events, keep_days).
    ========================================================================= */

#ifndef STX_BROKER_H_INCLUDED
#define STX_BROKER_H_INCLUDED

#include <czmq.h>
#include "stx_error.h"
#include "stx_validate.h"

//  What the broker needs; strings are borrowed and must outlive startup
//  (stx_broker_new copies them).
typedef struct {
    const char *data_dir;       //  folder of the store (required)
    const char *bind;           //  request ROUTER endpoint [tcp://*:5670]
    const char *publish;        //  updates PUB endpoint [tcp://*:5671]
    const char *taxonomy_dir;   //  folder of the taxonomy JSON files [STX_DATADIR]
    size_t map_size;            //  LMDB map size in bytes at start [0 = store default, 1G]
    size_t map_max;             //  the map grows (doubling) on MDB_MAP_FULL up to [64G];
                                //  below map_size = no growth
    int64_t keep_events;        //  log retention: newest events always kept [1000000]
    int64_t keep_days;          //  log retention: events younger than this kept [90];
                                //  an event outside BOTH bounds may be trimmed; a
                                //  negative value for either keeps the whole log
    size_t max_message;         //  largest request accepted [1 MiB]
    int heartbeat_ms;           //  heartbeat interval on PUB [1000]
    int max_sessions;           //  concurrent snapshot sessions [8]
    int session_timeout_ms;     //  snapshot session is dropped this long after its last
                                //  chunk [30000]
    int session_lifetime_ms;    //  snapshot session is dropped this long after it began
                                //  [300000]
    int org_sessions;           //  snapshot sessions per organisation at once [2]
    int batch_max;              //  messages drained per group commit [1024]
    stx_limits_t limits;        //  entry limits [stx_limits_default]
    int max_batch;              //  events per PUBLISH; more: R_TOO_LARGE [1000]
    double rate;                //  events per second per organisation [50000]
    double burst;               //  token bucket size per organisation [2000000]
    double read_rate;           //  KiB per second of LOG ranges and snapshot chunks per
                                //  organisation [131072]; 0 = no limit
    double read_burst;          //  read token bucket size in KiB [2097152]
    bool insecure;              //  no CURVE, no authentication [false]
    const char *cert_file;      //  broker's secret cert [DATA/broker.cert_secret]
    const char *registry_dir;   //  partners' public certs [DATA/registry]
    const char *retired_dir;    //  retired public certs, optional [DATA/registry-retired]
    bool verbose;               //  log every request
} stx_broker_config_t;

//  Fill config with the defaults in brackets above.
void
    stx_broker_config_default (stx_broker_config_t *config);

//  Start a broker: opens (or creates) the store, ensures its lineage, loads
//  the taxonomy, loads the broker's key and the registry and starts zauth
//  (unless insecure), binds both sockets. Returns the actor, which the
//  caller owns and ends with zactor_destroy; or NULL with a one-line reason
//  in err (e.g. "cannot open store /x: Permission denied", or "no broker
//  key at DATA/broker.cert_secret: run 'stemx keygen --broker --out DATA'").
zactor_t *
    stx_broker_new (const stx_broker_config_t *config, char *err, size_t errlen);

//  The actor function itself, for zactor_new. args is an
//  stx_broker_start_t; see stx_broker_new, which is the usual way in.
typedef struct {
    const stx_broker_config_t *config;
    stx_status_t status;        //  out: STX_OK once running
    char err [STX_ERRLEN];      //  out: why it did not start
} stx_broker_start_t;

void
    stx_broker_actor (zsock_t *pipe, void *args);

#endif
