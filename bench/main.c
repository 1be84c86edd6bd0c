/*  =========================================================================
    stemx-bench - benchmarks of the real stemx programs on loopback

    Runs the raw limits first (every bound of the table is measured in the
    same run), then each workload in its own folder with its own
    processes, within a time budget for the whole run, and prints one table: workload, figure, value, unit, the
    bound it is compared with, and the ratio to it. --json FILE writes the
    same rows. Exit status 0 when every workload delivered every event it
    sent (no timing is judged), 1 otherwise, 2 on a usage error.
    ========================================================================= */

#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

static json_t *s_rows;          //  every result, in order
static int s_mismatches;        //  counts that did not match

//  One workload of the plan
typedef enum {
    J_INGEST, J_INSECURE, J_INFLIGHT, J_SNAPSHOT, J_FANOUT, J_FAIRNESS, J_LATENCY,
    J_LATENCY_INSECURE
} s_kind_t;

typedef struct {
    s_kind_t kind;
    long n;                     //  events, or seconds for latency
    int arg;                    //  replicas (fan-out) or rate (latency)
    bool queries;               //  snapshot: run the query workload after
} s_job_t;

void
bench_result (const char *workload, const char *figure, double value, const char *unit,
              double limit, const char *limit_name, const char *status)
{
    json_t *row = json_pack ("{s:s, s:s, s:f, s:s, s:s}", "workload", workload,
                             "figure", figure, "value", value, "unit", unit, "status", status);
    if (limit > 0) {
        json_object_set_new (row, "limit", json_real (limit));
        json_object_set_new (row, "limit_name", json_string (limit_name));
        json_object_set_new (row, "ratio", json_real (value / limit));
    }
    json_array_append_new (s_rows, row);
    printf ("%-28s %-40s %12.6g %-10s", workload, figure, value, unit);
    if (limit > 0)
        printf (" %12.6g %-22s %6.3f", limit, limit_name, value / limit);
    else
        printf (" %12s %-22s %6s", "", "", "");
    printf (" %s\n", status);
    fflush (stdout);
}

void
bench_count (const char *workload, long sent, long final)
{
    char figure [64];
    snprintf (figure, sizeof figure, "events applied (of %ld sent)", sent);
    bench_result (workload, figure, final, "events", 0, "", final == sent? "ok": "mismatch");
    if (final != sent)
        s_mismatches++;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: stemx-bench [options]\n"
        "\n"
        "Benchmarks stemx-broker, stemx-agent and stemx on loopback, next to the\n"
        "machine's raw limits. Full sizes by default; --quick for a run under a minute.\n"
        "\n"
        "  -q, --quick            small sizes (as `make bench QUICK=1`)\n"
        "  -b, --bin DIR          folder of the stemx programs [build]\n"
        "  -s, --source DIR       source tree, for config/ [.]\n"
        "  -j, --json FILE        also write the results as JSON to FILE\n"
        "  -t, --timeout SEC      deadline of each workload [20 quick, 300 full]\n"
        "      --budget SEC       the whole run: a workload's deadline is cut so that\n"
        "                         each one after it keeps 3 s (20 s full) [60 quick,\n"
        "                         600 full]\n"
        "  -o, --only LIST        run only these workloads besides the raw limits\n"
        "                         (comma-separated: ingest, insecure, inflight,\n"
        "                         fanout, fairness, latency, snapshot, query)\n"
        "      --ingest N         signed ingest size (replaces both full sizes)\n"
        "      --insecure-n N     --insecure ingest size\n"
        "      --inflight N       one-in-flight events\n"
        "      --fanout N         fan-out ingest size\n"
        "      --latency-s SEC    seconds of steady publishing\n"
        "      --snapshot N       snapshot catalogue size (replaces both full sizes)\n"
        "      --query N          query catalogue size\n"
        "  -v, --verbose          print the commands it starts\n"
        "  -h, --help             this help\n");
}

static bool
s_wanted (const char *only, const char *name)
{
    if (!only)
        return true;
    size_t len = strlen (name);
    for (const char *p = only; (p = strstr (p, name)); p += len)
        if ((p == only || p [-1] == ',') && (p [len] == ',' || p [len] == 0))
            return true;
    return false;
}

int
main (int argc, char *argv [])
{
    bench_opts_t opts = {
        .bin = "build", .src = ".",
        .ingest = { 100000, 1000000 }, .insecure = 200000, .inflight = 2000,
        .fanout = 20000, .latency_s = 5, .snapshot = { 100000, 1000000 },
        .query = 1000000, .timeout_s = 0
    };
    const char *json_path = NULL, *only = NULL;
    long ingest = 0, insecure = 0, inflight = 0, fanout = 0, snapshot = 0, query = 0;
    int latency_s = 0, budget_s = 0;
    enum { O_BUDGET = 255, O_INGEST = 256, O_INSECURE, O_INFLIGHT, O_FANOUT, O_LATENCY, O_SNAPSHOT, O_QUERY };
    static struct option options [] = {
        { "quick", no_argument, NULL, 'q' },
        { "bin", required_argument, NULL, 'b' },
        { "source", required_argument, NULL, 's' },
        { "json", required_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "only", required_argument, NULL, 'o' },
        { "budget", required_argument, NULL, O_BUDGET },
        { "ingest", required_argument, NULL, O_INGEST },
        { "insecure-n", required_argument, NULL, O_INSECURE },
        { "inflight", required_argument, NULL, O_INFLIGHT },
        { "fanout", required_argument, NULL, O_FANOUT },
        { "latency-s", required_argument, NULL, O_LATENCY },
        { "snapshot", required_argument, NULL, O_SNAPSHOT },
        { "query", required_argument, NULL, O_QUERY },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "qb:s:j:t:o:vh", options, NULL)) != -1)
        switch (option) {
            case 'q': opts.quick = true; break;
            case 'b': opts.bin = optarg; break;
            case 's': opts.src = optarg; break;
            case 'j': json_path = optarg; break;
            case 't': opts.timeout_s = atoi (optarg); break;
            case 'o': only = optarg; break;
            case O_BUDGET: budget_s = atoi (optarg); break;
            case O_INGEST: ingest = atol (optarg); break;
            case O_INSECURE: insecure = atol (optarg); break;
            case O_INFLIGHT: inflight = atol (optarg); break;
            case O_FANOUT: fanout = atol (optarg); break;
            case O_LATENCY: latency_s = atoi (optarg); break;
            case O_SNAPSHOT: snapshot = atol (optarg); break;
            case O_QUERY: query = atol (optarg); break;
            case 'v': opts.verbose = true; break;
            case 'h': s_usage (stdout); return 0;
            default: s_usage (stderr); return 2;
        }
    if (optind < argc) {
        s_usage (stderr);
        return 2;
    }
    if (opts.quick) {
        opts.ingest [0] = 5000, opts.ingest [1] = 0;
        opts.insecure = 5000, opts.inflight = 300, opts.fanout = 5000, opts.latency_s = 2;
        opts.snapshot [0] = 5000, opts.snapshot [1] = 0, opts.query = 5000;
    }
    if (ingest)
        opts.ingest [0] = ingest, opts.ingest [1] = 0;
    if (snapshot)
        opts.snapshot [0] = snapshot, opts.snapshot [1] = 0;
    opts.insecure = insecure? insecure: opts.insecure;
    opts.inflight = inflight? inflight: opts.inflight;
    opts.fanout = fanout? fanout: opts.fanout;
    opts.latency_s = latency_s? latency_s: opts.latency_s;
    opts.query = query? query: opts.query;
    if (opts.timeout_s <= 0)
        opts.timeout_s = opts.quick? 20: 300;
    if (budget_s <= 0)
        budget_s = opts.quick? 60: 600;
    double reserve_s = opts.quick? 3: 20;

    s_rows = json_array ();
    bench_sampler_start ();
    printf ("%-28s %-40s %12s %-10s %12s %-22s %6s %s\n", "WORKLOAD", "FIGURE", "VALUE",
            "UNIT", "LIMIT", "BOUND", "RATIO", "STATUS");
    double budget_end = bench_now () + budget_s;
    //  The bounds first, always: every later ratio needs them
    bench_raw_limits (&opts);

    //  The plan. The --insecure workloads go last: against a broker that
    //  rate limits them they can only run into their deadline
    s_job_t jobs [16];
    int njobs = 0;
    for (int i = 0; i < 2; i++)
        if (opts.ingest [i] && s_wanted (only, "ingest"))
            jobs [njobs++] = (s_job_t) { J_INGEST, opts.ingest [i], 0, false };
    if (opts.inflight && s_wanted (only, "inflight"))
        jobs [njobs++] = (s_job_t) { J_INFLIGHT, opts.inflight, 0, false };
    //  The query workload runs over the replica of the snapshot workload
    //  of its size, or over one of its own
    bool queried = false;
    for (int i = 0; i < 2; i++)
        if (opts.snapshot [i] && s_wanted (only, "snapshot")) {
            bool queries = s_wanted (only, "query") && opts.snapshot [i] == opts.query;
            jobs [njobs++] = (s_job_t) { J_SNAPSHOT, opts.snapshot [i], 0, queries };
            queried = queried || queries;
        }
    if (!queried && opts.query && s_wanted (only, "query"))
        jobs [njobs++] = (s_job_t) { J_SNAPSHOT, opts.query, 0, true };
    if (opts.fanout && s_wanted (only, "fanout")) {
        jobs [njobs++] = (s_job_t) { J_FANOUT, opts.fanout, 4, false };
        jobs [njobs++] = (s_job_t) { J_FANOUT, opts.fanout, 16, false };
    }
    if (opts.fanout && s_wanted (only, "fairness"))
        jobs [njobs++] = (s_job_t) { J_FAIRNESS, opts.fanout, 0, false };
    if (opts.latency_s && s_wanted (only, "latency"))
        jobs [njobs++] = (s_job_t) { J_LATENCY, opts.latency_s, 2000, false };
    if (opts.insecure && s_wanted (only, "insecure"))
        jobs [njobs++] = (s_job_t) { J_INSECURE, opts.insecure, 0, false };
    if (opts.latency_s && s_wanted (only, "latency"))
        jobs [njobs++] = (s_job_t) { J_LATENCY_INSECURE, opts.latency_s, 10000, false };

    //  Each job gets its timeout, cut so that every job after it still
    //  has `reserve` seconds before the end of the budget
    int timeout_s = opts.timeout_s;
    for (int i = 0; i < njobs; i++) {
        double left = budget_end - bench_now () - reserve_s * (njobs - 1 - i);
        opts.timeout_s = left < timeout_s? (int) left: timeout_s;
        if (opts.timeout_s < 1)
            opts.timeout_s = 1;
        s_job_t *job = &jobs [i];
        switch (job->kind) {
            case J_INGEST:
                bench_work_ingest (&opts, "ingest", job->n, false);
                break;
            case J_INSECURE:
                bench_work_ingest (&opts, "ingest-insecure", job->n, true);
                break;
            case J_INFLIGHT:
                bench_work_inflight (&opts, job->n);
                break;
            case J_SNAPSHOT:
                bench_snap_run (&opts, job->n, job->queries);
                break;
            case J_FANOUT:
                bench_work_fanout (&opts, job->n, job->arg);
                break;
            case J_FAIRNESS:
                bench_work_fairness (&opts, job->n);
                break;
            case J_LATENCY:
                bench_work_latency (&opts, (int) job->n, job->arg, 4, false);
                break;
            case J_LATENCY_INSECURE:
                bench_work_latency (&opts, (int) job->n, job->arg, 4, true);
                break;
        }
    }
    bench_sampler_stop ();

    if (json_path) {
        json_t *doc = json_pack ("{s:b, s:I, s:O}", "quick", opts.quick,
                                 "cores", (json_int_t) bench_limits.cores, "results", s_rows);
        if (json_dump_file (doc, json_path, JSON_INDENT (2)) != 0)
            fprintf (stderr, "stemx-bench: cannot write %s\n", json_path);
        json_decref (doc);
    }
    json_decref (s_rows);
    if (s_mismatches)
        fprintf (stderr, "stemx-bench: %d workload(s) did not deliver every event\n",
                 s_mismatches);
    return s_mismatches? 1: 0;
}
