/*  =========================================================================
    bench_net - the broker and agents of one workload, with real keys

    The set-up an operator makes (and tests/stx_testnet.c makes for the
    tests): the broker's key, one key per organisation with the broker's
    registry of their public halves, and per agent a folder of the secret
    keys it publishes for, a trust folder and the broker's public key.
    Keys are made in-process with stx_keys, the same code as `stemx
    keygen`. Every daemon runs with its default configuration.
    ========================================================================= */

#define _GNU_SOURCE
#include <czmq.h>
#include <dirent.h>
#include <sys/stat.h>
#include "bench.h"
#include "stx_keys.h"
#include "stx_store.h"

static const char *s_pillars [] = { "government", "knowledge", "industry", "civil_society" };

static bool
s_copy (const char *from, const char *to)
{
    zfile_t *file = zfile_new (NULL, from);
    bool ok = file && zfile_input (file) == 0;
    zchunk_t *chunk = ok? zfile_read (file, zfile_cursize (file), 0): NULL;
    zfile_destroy (&file);
    FILE *out = chunk? fopen (to, "w"): NULL;
    ok = out && fwrite (zchunk_data (chunk), 1, zchunk_size (chunk), out) == zchunk_size (chunk);
    if (out)
        fclose (out);
    zchunk_destroy (&chunk);
    if (ok && strstr (to, "_secret"))
        chmod (to, 0600);
    return ok;
}

//  Copy the files of from whose names end in suffix (and, if prefix is
//  not NULL, start with it) into to.
static bool
s_copy_matching (const char *from, const char *to, const char *prefix, const char *suffix)
{
    mkdir (to, 0700);
    DIR *dir = opendir (from);
    if (!dir)
        return false;
    bool ok = true;
    struct dirent *file;
    size_t slen = strlen (suffix);
    while ((file = readdir (dir))) {
        size_t len = strlen (file->d_name);
        if (len <= slen || strcmp (file->d_name + len - slen, suffix) != 0
        ||  (prefix && strncmp (file->d_name, prefix, strlen (prefix)) != 0))
            continue;
        char a [PATH_MAX * 2], b [PATH_MAX * 2];
        snprintf (a, sizeof a, "%s/%s", from, file->d_name);
        snprintf (b, sizeof b, "%s/%s", to, file->d_name);
        ok = ok && s_copy (a, b);
    }
    closedir (dir);
    return ok;
}

bool
bench_net_init (bench_net_t *net, bench_run_t *run, bool insecure)
{
    memset (net, 0, sizeof *net);
    net->run = run;
    net->insecure = insecure;
    snprintf (net->keys, sizeof net->keys, "%s/keys", run->dir);
    snprintf (net->broker, sizeof net->broker, "%s/broker", run->dir);
    mkdir (net->keys, 0700);
    mkdir (net->broker, 0700);
    if (insecure)
        return true;
    char registry [PATH_MAX + 16], err [STX_ERRLEN];
    snprintf (registry, sizeof registry, "%s/registry", net->broker);
    mkdir (registry, 0700);
    if (stx_identity_generate (net->broker, "broker", "", "", "", NULL, 0,
                               err, sizeof err) != STX_OK) {
        fprintf (stderr, "stemx-bench: broker key: %s\n", err);
        return false;
    }
    for (int i = 0; i < BENCH_ORGS; i++) {
        char org [32];
        snprintf (org, sizeof org, "org:bench-%d", i);
        if (stx_identity_generate (net->keys, NULL, org, s_pillars [i % 4],
                                   i == 0? "admin, publisher, reader": "publisher, reader",
                                   NULL, 0, err, sizeof err) != STX_OK) {
            fprintf (stderr, "stemx-bench: key %s: %s\n", org, err);
            return false;
        }
    }
    return s_copy_matching (net->keys, registry, NULL, ".cert");
}

bool
bench_net_start_broker (bench_net_t *net)
{
    char prog [PATH_MAX], taxonomy [PATH_MAX], log [PATH_MAX], endpoints [PATH_MAX + 16];
    snprintf (prog, sizeof prog, "%s/stemx-broker", net->run->opts->bin);
    snprintf (taxonomy, sizeof taxonomy, "%s/config", net->run->opts->src);
    snprintf (log, sizeof log, "%s/broker.log", net->run->dir);
    snprintf (endpoints, sizeof endpoints, "%s/endpoints", net->broker);
    const char *argv [] = { prog, "--data", net->broker, "--taxonomy", taxonomy,
                            "--bind", "tcp://127.0.0.1:*", "--publish", "tcp://127.0.0.1:*",
                            net->insecure? "--insecure": NULL, NULL };
    net->broker_pid = bench_spawn (net->run, log, argv);
    if (net->broker_pid < 0 || !bench_wait_path (net->run, endpoints))
        return false;
    //  The file appears complete: stx_daemon writes it aside, then renames
    zconfig_t *config = zconfig_load (endpoints);
    if (!config)
        return false;
    snprintf (net->request, sizeof net->request, "%s", zconfig_get (config, "request", ""));
    snprintf (net->updates, sizeof net->updates, "%s", zconfig_get (config, "updates", ""));
    zconfig_destroy (&config);
    return *net->request && *net->updates;
}

pid_t
bench_net_start_agent (bench_net_t *net, const char *name, int org, char *dir)
{
    snprintf (dir, PATH_MAX, "%s/%s", net->run->dir, name);
    mkdir (dir, 0700);
    if (!net->insecure) {
        char path [PATH_MAX + 32], from [PATH_MAX + 32];
        char prefix [32];
        snprintf (prefix, sizeof prefix, "bench-%d.", org);
        snprintf (path, sizeof path, "%s/identities", dir);
        s_copy_matching (net->keys, path, org < 0? NULL: prefix, ".cert_secret");
        snprintf (path, sizeof path, "%s/trust", dir);
        s_copy_matching (net->keys, path, NULL, ".cert");
        snprintf (path, sizeof path, "%s/broker.cert", dir);
        snprintf (from, sizeof from, "%s/broker.cert", net->broker);
        if (!s_copy (from, path))
            return -1;
    }
    char prog [PATH_MAX], log [PATH_MAX + 16], sock [PATH_MAX + 16];
    snprintf (prog, sizeof prog, "%s/stemx-agent", net->run->opts->bin);
    snprintf (log, sizeof log, "%s/%s.log", net->run->dir, name);
    snprintf (sock, sizeof sock, "%s/agent.sock", dir);
    const char *argv [] = { prog, "--data", dir, "--name", name, "--broker", net->request,
                            "--updates", net->updates, net->insecure? "--insecure": NULL,
                            NULL };
    pid_t pid = bench_spawn (net->run, log, argv);
    if (pid < 0 || !bench_wait_path (net->run, sock))
        return -1;
    return pid;
}

uint64_t
bench_store_seq (const char *dir)
{
    stx_store_t *store = NULL;
    char err [STX_ERRLEN];
    stx_meta_t meta = { .seq = 0 };
    if (stx_store_open (dir, STX_STORE_READONLY, 0, &store, err, sizeof err) == STX_OK)
        stx_store_meta (store, &meta);
    stx_store_destroy (&store);
    return meta.seq;
}

int
bench_net_import (bench_net_t *net, const char *dir, const char *file, double *wall_s,
                  long *maxrss_kb, long *peak_anon_kb)
{
    char prog [PATH_MAX], log [PATH_MAX + 16];
    snprintf (prog, sizeof prog, "%s/stemx", net->run->opts->bin);
    snprintf (log, sizeof log, "%s/import.log", net->run->dir);
    const char *argv [] = { prog, "--data", dir, "import", file, "--timeout", "600", NULL };
    double start = bench_now ();
    pid_t pid = bench_spawn (net->run, log, argv);
    if (pid < 0)
        return -1;
    int rc = bench_wait (net->run, pid, maxrss_kb);
    if (wall_s)
        *wall_s = bench_now () - start;
    if (peak_anon_kb)
        *peak_anon_kb = bench_peak_rss (pid);
    return rc;
}

double
bench_wait_seq (bench_run_t *run, char dirs [][PATH_MAX], int count, uint64_t want,
                double since)
{
    //  Keep each store open: reopening per poll would cost more than the
    //  poll and blur the figure
    stx_store_t *stores [BENCH_PIDS_MAX] = { NULL };
    int done = 0;
    bool reached [BENCH_PIDS_MAX] = { false };
    double took = -1;
    while (!bench_run_expired (run)) {
        for (int i = 0; i < count; i++) {
            char err [STX_ERRLEN];
            if (reached [i])
                continue;
            if (!stores [i]
            &&  stx_store_open (dirs [i], STX_STORE_READONLY, 0, &stores [i], err,
                                sizeof err) != STX_OK)
                continue;
            stx_meta_t meta;
            if (stx_store_meta (stores [i], &meta) == STX_OK && meta.seq >= want) {
                reached [i] = true;
                done++;
            }
        }
        if (done == count) {
            took = bench_now () - since;
            break;
        }
        bench_sleep_us (1000);
    }
    for (int i = 0; i < count; i++)
        stx_store_destroy (&stores [i]);
    return took;
}
