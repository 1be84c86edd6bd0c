/*  =========================================================================
    bench_snap - a new agent joins a full broker; queries over its replica

    DESIGN
    Publishing N entries through the daemons would take the workload's
    whole budget, so the broker's store is filled in this process with the
    broker's own code path: each event is signed by its owner's key
    (stx_sign_event, as the agent does) and sequenced with
    stx_txn_sequence under that owner's principal (as the broker does
    after authenticating it), S_PREFILL_TXN events per transaction. Then
    the real broker starts on that store and a fresh agent joins: it takes
    a snapshot, verifying every entry's signature.
      queryable  the replica's seq (read-only LMDB) reaches the broker's
      verified   `stemx status --json` says unverified = 0 (a missing
                 field counts as 0: the agent verifies before applying)
    With queries set, the CLI's list / search / report then run over that
    replica, five times each: median wall time and peak ru_maxrss.
    ========================================================================= */

#define _GNU_SOURCE
#include <czmq.h>
#include "bench.h"
#include "stx_event.h"
#include "stx_json.h"
#include "stx_keys.h"
#include "stx_sign.h"
#include "stx_store.h"

#define S_PREFILL_TXN   10000
#define S_QUERY_RUNS    3

//  Sign one entry (JSON, taken) with identity and sequence it as who.
static stx_status_t
s_sequence (stx_txn_t *txn, json_t *json, stx_identity_t *identity,
            const stx_principal_t *who, char *err, size_t errlen)
{
    Stemx__Entry *entry = NULL;
    stx_status_t rc = stx_json_to_entry (json, &entry, err, errlen);
    json_decref (json);
    if (rc != STX_OK)
        return rc;
    //  As the agent does before signing: partners get their pillars
    rc = stx_txn_fill_pillars (txn, entry);
    if (rc != STX_OK) {
        stx_entry_free (&entry);
        return rc;
    }
    char key [64];
    snprintf (key, sizeof key, "%s", stx_entry_key (entry));
    Stemx__Event *event = stx_event_new (key, &entry);
    stx_sign_event (event, identity);
    stx_sequenced_t out;
    rc = stx_txn_sequence (txn, event, who, &out, err, errlen);
    stx_event_free (&event);
    return rc;
}

//  Fill the broker's store with the organisations and count initiatives.
static bool
s_prefill (bench_net_t *net, long count)
{
    char path [PATH_MAX + 32], err [STX_ERRLEN] = "";
    stx_identity_t *ids [BENCH_ORGS] = { NULL };
    stx_principal_t who [BENCH_ORGS];
    stx_registry_t *registry = NULL;
    stx_store_t *store = NULL;
    stx_txn_t *txn = NULL;
    bool ok = false;
    snprintf (path, sizeof path, "%s/registry", net->broker);
    if (stx_registry_load (path, NULL, &registry, err, sizeof err) != STX_OK)
        goto done;
    for (int i = 0; i < BENCH_ORGS; i++) {
        snprintf (path, sizeof path, "%s/bench-%d.cert_secret", net->keys, i);
        if (stx_identity_load (path, &ids [i], err, sizeof err) != STX_OK)
            goto done;
        const stx_key_t *key = stx_registry_by_sign (registry,
                                                     stx_identity_sign_public (ids [i]));
        if (!key)
            goto done;
        who [i] = stx_key_principal (key);
    }
    //  Room for entries, log, heads and history; no index, as the broker
    //  keeps none
    size_t map = (size_t) (count + 1000) * 8192;
    if (stx_store_open (net->broker, STX_STORE_NOINDEX, map, &store, err, sizeof err) != STX_OK
    ||  stx_store_begin (store, true, &txn) != STX_OK || stx_txn_ensure_lineage (txn) != STX_OK)
        goto done;
    //  Organisation entries are an admin's to publish: org:bench-0's
    for (int i = 0; i < BENCH_ORGS; i++)
        if (s_sequence (txn, bench_gen_org (i), ids [0], &who [0], err, sizeof err) != STX_OK)
            goto done;
    for (long i = 0; i < count; i++) {
        int owner = (int) (i % BENCH_ORGS);
        if (s_sequence (txn, bench_gen_initiative (i), ids [owner], &who [owner], err,
                        sizeof err) != STX_OK)
            goto done;
        if ((i + 1) % S_PREFILL_TXN == 0
        &&  (stx_txn_commit (&txn) != STX_OK || stx_store_begin (store, true, &txn) != STX_OK))
            goto done;
    }
    ok = stx_txn_commit (&txn) == STX_OK;
done:
    if (!ok)
        fprintf (stderr, "stemx-bench: prefill: %s\n", *err? err: "failed");
    stx_txn_abort (&txn);
    stx_store_destroy (&store);
    stx_registry_destroy (&registry);
    for (int i = 0; i < BENCH_ORGS; i++)
        stx_identity_destroy (&ids [i]);
    return ok;
}

//  `stemx status --json` of dir says every entry is verified.
static bool
s_verified (bench_run_t *run, const char *dir)
{
    char prog [PATH_MAX], out [PATH_MAX];
    snprintf (prog, sizeof prog, "%s/stemx", run->opts->bin);
    snprintf (out, sizeof out, "%s/status.out", run->dir);
    unlink (out);
    const char *argv [] = { prog, "--data", dir, "status", "--json", NULL };
    if (bench_exec (run, argv, out, NULL, NULL) != 0)
        return false;
    json_t *status = json_load_file (out, 0, NULL);
    json_t *unverified = json_object_get (status, "unverified");
    bool done = status && (!unverified || json_integer_value (unverified) == 0);
    json_decref (status);
    return done;
}

//  One query, S_QUERY_RUNS times: median wall time, largest ru_maxrss.
static void
s_query (bench_run_t *run, const char *workload, const char *dir, const char *label,
         const char *const args [])
{
    char prog [PATH_MAX], out [PATH_MAX];
    snprintf (prog, sizeof prog, "%s/stemx", run->opts->bin);
    snprintf (out, sizeof out, "%s/query.out", run->dir);
    const char *argv [16] = { prog, "--data", dir };
    int argc = 3;
    for (int i = 0; args [i] && argc < 15; i++)
        argv [argc++] = args [i];
    argv [argc] = NULL;
    double walls [S_QUERY_RUNS];
    long maxrss = 0;
    int runs = 0, rc = 0;
    for (; runs < S_QUERY_RUNS && rc == 0; runs++) {
        unlink (out);
        long rss = 0;
        rc = bench_exec (run, argv, out, &walls [runs], &rss);
        maxrss = rss > maxrss? rss: maxrss;
    }
    //  Insertion sort of a few
    for (int i = 1; i < runs; i++)
        for (int j = i; j > 0 && walls [j] < walls [j - 1]; j--) {
            double t = walls [j];
            walls [j] = walls [j - 1];
            walls [j - 1] = t;
        }
    const char *status = rc == 0? "ok": rc == -2? "timeout": "failed";
    char figure [96];
    snprintf (figure, sizeof figure, "%s: median wall", label);
    bench_result (workload, figure, walls [runs / 2] * 1000, "ms", 0, "", status);
    snprintf (figure, sizeof figure, "%s: ru_maxrss", label);
    bench_result (workload, figure, maxrss / 1024.0, "MiB", 0, "", status);
    long lines = 0;
    FILE *file = fopen (out, "r");
    for (int c; file && (c = getc (file)) != EOF; )
        lines += c == '\n';
    if (file)
        fclose (file);
    snprintf (figure, sizeof figure, "%s: lines printed", label);
    bench_result (workload, figure, lines, "lines", 0, "", status);
}

static void
s_queries (bench_run_t *run, long count, const char *dir)
{
    char workload [64];
    snprintf (workload, sizeof workload, "query %ldk", count / 1000);
    bench_result (workload, "ru_maxrss floor (/bin/true, fork copy)",
                  bench_rss_floor (run->opts) / 1024.0, "MiB", 0, "", "ok");
    //  Selective lists (a few rows per thousand entries) and a broad one
    //  (one in sixteen), whose time is that of printing its rows
    s_query (run, workload, dir, "list od+muni+theme",
             (const char *[]) { "list", "initiative", "--od", "OD 3.2.1", "--municipality",
                                "Gent", "--theme", "ai", NULL });
    s_query (run, workload, dir, "list org+status+muni",
             (const char *[]) { "list", "initiative", "--org", "org:bench-3", "--status",
                                "planned", "--municipality", "Geel", NULL });
    s_query (run, workload, dir, "list od (broad)",
             (const char *[]) { "list", "initiative", "--od", "OD 3.2.1", NULL });
    s_query (run, workload, dir, "search robotica Gent",
             (const char *[]) { "search", "robotica", "Gent", NULL });
    s_query (run, workload, dir, "report operational",
             (const char *[]) { "report", "operational", NULL });
}

void
bench_snap_run (const bench_opts_t *opts, long count, bool queries)
{
    bench_run_t run;
    bench_net_t net;
    char dir [PATH_MAX], workload [64];
    snprintf (workload, sizeof workload, "snapshot %ldk", count / 1000);
    if (!bench_run_init (&run, opts))
        return;
    double start = bench_now ();
    if (!bench_net_init (&net, &run, false) || !s_prefill (&net, count)) {
        bench_result (workload, "prefill", 0, "", 0, "", "failed");
        bench_count (workload, count, 0);
        bench_run_end (&run);
        return;
    }
    bench_result (workload, "prefill in-process", count / (bench_now () - start),
                  "events/s", 0, "", "ok");
    uint64_t want = BENCH_ORGS + (uint64_t) count;
    if (!bench_net_start_broker (&net)) {
        bench_result (workload, "broker start", 0, "", 0, "",
                      run.timed_out? "timeout": "failed");
        bench_count (workload, count, 0);
        bench_run_end (&run);
        return;
    }
    start = bench_now ();
    pid_t agent = bench_net_start_agent (&net, "s", 0, dir);
    bool ok = agent > 0;
    char dirs [1][PATH_MAX];
    snprintf (dirs [0], PATH_MAX, "%s", dir);
    double queryable = ok? bench_wait_seq (&run, dirs, 1, want, start): -1;
    double verified = -1;
    while (queryable >= 0 && !bench_run_expired (&run))
        if (s_verified (&run, dir)) {
            verified = bench_now () - start;
            break;
        }
        else
            bench_sleep_us (50000);
    const char *status = verified >= 0? "ok": run.timed_out? "timeout": "failed";
    bench_result (workload, "join -> queryable (seq = broker's)", queryable, "s", 0, "",
                  queryable >= 0? "ok": status);
    bench_result (workload, "join -> fully verified", verified, "s", 0, "", status);
    bench_result (workload, "entries/s to queryable", queryable > 0? count / queryable: 0,
                  "entries/s", bench_limits.verify_s * bench_limits.cores,
                  "verify/s on all cores", status);
    bench_result (workload, "peak RssAnon agent", bench_peak_rss (agent) / 1024.0,
                  "MiB", 0, "", status);
    bench_result (workload, "peak RssAnon broker", bench_peak_rss (net.broker_pid) / 1024.0,
                  "MiB", 0, "", status);
    bench_count (workload, count, (long) bench_store_seq (dir) - BENCH_ORGS);
    if (queries && queryable >= 0)
        s_queries (&run, count, dir);
    bench_run_end (&run);
}
