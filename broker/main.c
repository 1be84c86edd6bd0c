/*  =========================================================================
    stemx-broker - the broker daemon

    Parses the command line, loads the ZPL config (command line wins over
    config, config over built-in defaults), starts the broker actor, writes
    DATA/endpoints, then waits in the foreground for SIGINT/SIGTERM;
    SIGHUP reloads the key registry (RELOAD to the actor).
    Exit status: 0 after a clean stop, 1 on a startup or fatal error, 2 on
    a usage error. See config/broker.cfg for every key.
    ========================================================================= */

#include <getopt.h>
#include "stx_broker.h"
#include "stx_daemon.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: stemx-broker [options]\n"
        "\n"
        "The stemx broker: validates, sequences and stores events, fans them\n"
        "out to agents and serves snapshots. Runs in the foreground.\n"
        "\n"
        "  -c, --config FILE     ZPL configuration file (see broker.cfg)\n"
        "  -d, --data DIR        store folder                 [broker/data]\n"
        "  -b, --bind EP         request endpoint             [broker/bind, tcp://*:5670]\n"
        "  -p, --publish EP      updates endpoint             [broker/publish, tcp://*:5671]\n"
        "  -t, --taxonomy DIR    taxonomy folder              [broker/taxonomy, %s]\n"
        "      --cert FILE       the broker's secret key      [broker/cert, DIR/broker.cert_secret]\n"
        "      --registry DIR    partners' public keys        [broker/registry, DIR/registry]\n"
        "      --retired DIR     retired public keys          [broker/retired, DIR/registry-retired]\n"
        "      --insecure        no CURVE, no authentication  [broker/insecure = 1]\n"
        "  -v, --verbose         log every request\n"
        "  -h, --help            this help\n"
        "\n"
        "Both sockets use CURVE: make the broker's key with 'stemx keygen --broker\n"
        "--out DIR' and copy each partner's .cert (stemx keygen ORG --pillar P) into\n"
        "the registry folder; SIGHUP reloads it. See docs/SECURITY.md.\n"
        "Binding tcp://127.0.0.1:* picks free ports; the endpoints actually bound\n"
        "are written to DIR/endpoints (request = ..., updates = ...), counters to\n"
        "DIR/status.json. SIGINT or SIGTERM stops the broker cleanly.\n", STX_DATADIR);
}

int
main (int argc, char *argv [])
{
    const char *config_file = NULL, *data = NULL, *bind = NULL, *publish = NULL;
    const char *taxonomy = NULL, *cert = NULL, *registry = NULL, *retired = NULL;
    bool verbose = false, insecure = false;
    enum { OPT_CERT = 256, OPT_REGISTRY, OPT_RETIRED, OPT_INSECURE };
    static struct option options [] = {
        { "config",   required_argument, NULL, 'c' },
        { "data",     required_argument, NULL, 'd' },
        { "bind",     required_argument, NULL, 'b' },
        { "publish",  required_argument, NULL, 'p' },
        { "taxonomy", required_argument, NULL, 't' },
        { "cert",     required_argument, NULL, OPT_CERT },
        { "registry", required_argument, NULL, OPT_REGISTRY },
        { "retired",  required_argument, NULL, OPT_RETIRED },
        { "insecure", no_argument,       NULL, OPT_INSECURE },
        { "verbose",  no_argument,       NULL, 'v' },
        { "help",     no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "c:d:b:p:t:vh", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_file = optarg; break;
            case 'd': data = optarg; break;
            case 'b': bind = optarg; break;
            case 'p': publish = optarg; break;
            case 't': taxonomy = optarg; break;
            case OPT_CERT: cert = optarg; break;
            case OPT_REGISTRY: registry = optarg; break;
            case OPT_RETIRED: retired = optarg; break;
            case OPT_INSECURE: insecure = true; break;
            case 'v': verbose = true; break;
            case 'h': s_usage (stdout); return 0;
            default:  s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "stemx-broker: unexpected argument '%s' (see --help)\n", argv [optind]);
        return 2;
    }
    stx_daemon_log_init ("stemx-broker");

    char err [STX_ERRLEN] = "";
    zconfig_t *config = NULL;
    if (stx_daemon_config_load (config_file, &config, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "stemx-broker: %s\n", err);
        return 1;
    }
    stx_broker_config_t settings;
    stx_broker_config_default (&settings);
    settings.data_dir = data? data: stx_daemon_config_str (config, "broker/data", NULL);
    settings.bind = bind? bind: stx_daemon_config_str (config, "broker/bind", settings.bind);
    settings.publish = publish? publish:
                       stx_daemon_config_str (config, "broker/publish", settings.publish);
    settings.taxonomy_dir = taxonomy? taxonomy:
                            stx_daemon_config_str (config, "broker/taxonomy", settings.taxonomy_dir);
    settings.verbose = verbose || atoi (stx_daemon_config_str (config, "broker/verbose", "0"));
    settings.insecure = insecure || atoi (stx_daemon_config_str (config, "broker/insecure", "0"));
    settings.cert_file = cert? cert: stx_daemon_config_str (config, "broker/cert", NULL);
    settings.registry_dir = registry? registry:
                            stx_daemon_config_str (config, "broker/registry", NULL);
    settings.retired_dir = retired? retired: stx_daemon_config_str (config, "broker/retired", NULL);
    size_t entry_bytes = settings.limits.max_entry_bytes;
    int strings = (int) settings.limits.max_string, lists = (int) settings.limits.max_list;
    int rate = (int) settings.rate, burst = (int) settings.burst;
    int read_rate = (int) settings.read_rate, read_burst = (int) settings.read_burst;
    stx_storage_config_t storage;
    stx_status_t status = stx_daemon_config_storage (config, "broker", &storage,
                                                     err, sizeof (err));
    settings.map_size = storage.map_size;
    settings.map_max = storage.map_max;
    settings.keep_events = storage.keep_events;
    settings.keep_days = storage.keep_days;
    if (status == STX_OK)
        status = stx_daemon_config_size (config, "limits/max_message", settings.max_message,
                                         &settings.max_message, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_size (config, "limits/max_entry", entry_bytes,
                                         &settings.limits.max_entry_bytes, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "limits/max_string", strings,
                                        &strings, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "limits/max_list", lists,
                                        &lists, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "limits/max_batch", settings.max_batch,
                                        &settings.max_batch, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "limits/rate", rate, &rate, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "limits/burst", burst, &burst, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "limits/read_rate", read_rate, &read_rate,
                                        err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "limits/read_burst", read_burst, &read_burst,
                                        err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "snapshot/lifetime", settings.session_lifetime_ms,
                                        &settings.session_lifetime_ms, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "snapshot/per_org", settings.org_sessions,
                                        &settings.org_sessions, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "broker/heartbeat", settings.heartbeat_ms,
                                        &settings.heartbeat_ms, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "snapshot/sessions", settings.max_sessions,
                                        &settings.max_sessions, err, sizeof (err));
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "snapshot/timeout", settings.session_timeout_ms,
                                        &settings.session_timeout_ms, err, sizeof (err));
    if (status == STX_OK && (strings <= 0 || lists <= 0))
        status = stx_fail (err, sizeof (err), STX_ERR_INVALID,
                           "limits/max_string and limits/max_list must be positive");
    if (status == STX_OK && (read_rate < 0 || read_burst <= 0 || settings.org_sessions <= 0
                         || settings.session_lifetime_ms <= 0))
        status = stx_fail (err, sizeof (err), STX_ERR_INVALID,
                           "limits/read_burst, snapshot/per_org and snapshot/lifetime must be "
                           "positive, limits/read_rate not negative (0 = no read limit)");
    if (status == STX_OK && (settings.max_batch <= 0 || rate < 0 || burst <= 0))
        status = stx_fail (err, sizeof (err), STX_ERR_INVALID,
                           "limits/max_batch and limits/burst must be positive, "
                           "limits/rate not negative (0 = no rate limit)");
    if (status == STX_OK && !settings.data_dir)
        status = stx_fail (err, sizeof (err), STX_ERR_INVALID,
                           "no data folder: give --data DIR or broker/data in the config");
    if (status != STX_OK) {
        fprintf (stderr, "stemx-broker: %s\n", err);
        zconfig_destroy (&config);
        return status == STX_ERR_INVALID? 2: 1;
    }
    settings.limits.max_string = (size_t) strings;
    settings.limits.max_list = (size_t) lists;
    settings.rate = rate;
    settings.burst = burst;
    settings.read_rate = read_rate;
    settings.read_burst = read_burst;

    //  Before the actor starts, so that its threads keep SIGHUP blocked
    stx_daemon_catch_hangup ();

    zactor_t *broker = stx_broker_new (&settings, err, sizeof (err));
    if (!broker) {
        fprintf (stderr, "stemx-broker: %s\n", err);
        zconfig_destroy (&config);
        return 1;
    }
    zstr_send (broker, "ENDPOINTS");
    char *request = NULL, *updates = NULL;
    zstr_recvx (broker, &request, &updates, NULL);
    const char *names [] = { "request", "updates" };
    const char *values [] = { request, updates };
    int rc = 0;
    if (stx_daemon_write_endpoints (settings.data_dir, "stemx-broker", names, values, 2,
                                    err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "stemx-broker: %s\n", err);
        rc = 1;
    }
    zstr_free (&request);
    zstr_free (&updates);
    if (rc == 0)
        rc = stx_daemon_wait_reload (broker, "RELOAD");
    zactor_destroy (&broker);
    zconfig_destroy (&config);
    return rc;
}
