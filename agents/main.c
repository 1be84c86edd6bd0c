/*  =========================================================================
    stemx-agent - the agent daemon

    Parses the command line, loads the ZPL config (command line wins over
    config, config over built-in defaults), starts the agent actor, writes
    DATA/endpoints (local = ipc://DATA/agent.sock), then waits in the
    foreground for SIGINT/SIGTERM. Exit status: 0 after a clean stop, 1 on
    a startup or fatal error, 2 on a usage error. See config/agent.cfg.
    ========================================================================= */

#include <getopt.h>
#include "stx_agent.h"
#include "stx_daemon.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: stemx-agent [options]\n"
        "\n"
        "The stemx agent: keeps a replica of the broker's catalogue, queues\n"
        "local publishes in a durable outbox, and serves the stemx CLI on\n"
        "ipc://DIR/agent.sock. Runs in the foreground.\n"
        "\n"
        "  -c, --config FILE     ZPL configuration file (see agent.cfg)\n"
        "  -d, --data DIR        replica and outbox folder   [agent/data]\n"
        "  -b, --broker EP       broker request endpoint     [agent/broker, tcp://127.0.0.1:5670]\n"
        "  -u, --updates EP      broker updates endpoint     [agent/updates, tcp://127.0.0.1:5671]\n"
        "  -n, --name NAME       node name sent to the broker [agent/name, host name]\n"
        "      --identities DIR  secret certs, one per organisation published for\n"
        "                                                    [agent/identities, DIR/identities]\n"
        "      --broker-key FILE the broker's public cert    [agent/broker_key, DIR/broker.cert]\n"
        "      --trust DIR       partners' public certs (the broker's registry)\n"
        "                                                    [agent/trust, DIR/trust]\n"
        "      --trust-retired DIR  retired public certs, to verify old events\n"
        "                                                    [agent/trust_retired, DIR/trust-retired]\n"
        "      --insecure        plain TCP, no signing, no verification (tests only)\n"
        "                                                    [agent/insecure = 1]\n"
        "      --resync          rebuild the replica: set DIR/catalogue aside as\n"
        "                        DIR/catalogue.before-resync and take a fresh\n"
        "                        snapshot; the outbox (DIR/outbox) is kept\n"
        "  -v, --verbose         log replication steps\n"
        "  -h, --help            this help\n"
        "\n"
        "The broker's actual endpoints are in its DATA/endpoints file. By default\n"
        "every connection to the broker uses CURVE, and every event is signed by\n"
        "its organisation and verified by every replica; make an identity with\n"
        "`stemx keygen ORG --pillar PILLAR --out DIR/identities`.\n"
        "SIGINT or SIGTERM stops the agent cleanly.\n");
}

int
main (int argc, char *argv [])
{
    const char *config_file = NULL, *data = NULL, *broker = NULL, *updates = NULL;
    const char *name = NULL, *identities = NULL, *broker_key = NULL, *trust = NULL;
    const char *trust_retired = NULL;
    bool verbose = false, insecure = false, resync = false;
    static struct option options [] = {
        { "config",  required_argument, NULL, 'c' },
        { "data",    required_argument, NULL, 'd' },
        { "broker",  required_argument, NULL, 'b' },
        { "updates", required_argument, NULL, 'u' },
        { "name",    required_argument, NULL, 'n' },
        { "identities",    required_argument, NULL, 'I' },
        { "broker-key",    required_argument, NULL, 'K' },
        { "trust",         required_argument, NULL, 'T' },
        { "trust-retired", required_argument, NULL, 'R' },
        { "insecure",      no_argument,       NULL, 'X' },
        { "resync",        no_argument,       NULL, 'S' },
        { "verbose", no_argument,       NULL, 'v' },
        { "help",    no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "c:d:b:u:n:vh", options, NULL)) != -1) {
        switch (option) {
            case 'c': config_file = optarg; break;
            case 'd': data = optarg; break;
            case 'b': broker = optarg; break;
            case 'u': updates = optarg; break;
            case 'n': name = optarg; break;
            case 'I': identities = optarg; break;
            case 'K': broker_key = optarg; break;
            case 'T': trust = optarg; break;
            case 'R': trust_retired = optarg; break;
            case 'X': insecure = true; break;
            case 'S': resync = true; break;
            case 'v': verbose = true; break;
            case 'h': s_usage (stdout); return 0;
            default:  s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "stemx-agent: unexpected argument '%s' (see --help)\n", argv [optind]);
        return 2;
    }
    stx_daemon_log_init ("stemx-agent");

    char err [STX_ERRLEN] = "";
    zconfig_t *config = NULL;
    if (stx_daemon_config_load (config_file, &config, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "stemx-agent: %s\n", err);
        return 1;
    }
    stx_agent_config_t settings;
    stx_agent_config_default (&settings);
    settings.data_dir = data? data: stx_daemon_config_str (config, "agent/data", NULL);
    settings.name = name? name: stx_daemon_config_str (config, "agent/name", NULL);
    settings.broker = broker? broker: stx_daemon_config_str (config, "agent/broker", settings.broker);
    settings.updates = updates? updates:
                       stx_daemon_config_str (config, "agent/updates", settings.updates);
    settings.verbose = verbose || atoi (stx_daemon_config_str (config, "agent/verbose", "0"));
    settings.sync = atoi (stx_daemon_config_str (config, "agent/sync", "0")) != 0;
    settings.resync = resync;
    settings.insecure = insecure
                     || atoi (stx_daemon_config_str (config, "agent/insecure", "0")) != 0;
    settings.identities = identities? identities:
                          stx_daemon_config_str (config, "agent/identities", NULL);
    settings.broker_key = broker_key? broker_key:
                          stx_daemon_config_str (config, "agent/broker_key", NULL);
    settings.trust = trust? trust: stx_daemon_config_str (config, "agent/trust", NULL);
    settings.trust_retired = trust_retired? trust_retired:
                             stx_daemon_config_str (config, "agent/trust_retired", NULL);
    stx_storage_config_t storage;
    stx_status_t status = stx_daemon_config_storage (config, "agent", &storage,
                                                     err, sizeof (err));
    settings.map_size = storage.map_size;
    settings.map_max = storage.map_max;
    settings.keep_events = storage.keep_events;
    settings.keep_days = storage.keep_days;
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "agent/silence", settings.silence_ms,
                                        &settings.silence_ms, err, sizeof (err));
    if (status == STX_OK && !settings.data_dir)
        status = stx_fail (err, sizeof (err), STX_ERR_INVALID,
                           "no data folder: give --data DIR or agent/data in the config");
    if (status != STX_OK) {
        fprintf (stderr, "stemx-agent: %s\n", err);
        zconfig_destroy (&config);
        return 2;
    }
    zactor_t *agent = stx_agent_new (&settings, err, sizeof (err));
    if (!agent) {
        fprintf (stderr, "stemx-agent: %s\n", err);
        zconfig_destroy (&config);
        return 1;
    }
    zstr_send (agent, "ENDPOINT");
    char *local = zstr_recv (agent);
    const char *names [] = { "local", "broker", "updates" };
    const char *values [] = { local, settings.broker, settings.updates };
    int rc = 0;
    if (stx_daemon_write_endpoints (settings.data_dir, "stemx-agent", names, values, 3,
                                    err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "stemx-agent: %s\n", err);
        rc = 1;
    }
    zstr_free (&local);
    if (rc == 0)
        rc = stx_daemon_wait (agent);
    zactor_destroy (&agent);
    zconfig_destroy (&config);
    return rc;
}
