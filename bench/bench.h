/*  =========================================================================
    bench - stemx-bench: throughput, latency and resource use of the real
    programs on loopback, next to the raw limits of the machine

    Every workload runs in a fresh folder under /tmp with its own broker
    and agents (the real stemx-broker, stemx-agent and stemx binaries),
    bounded by a deadline after which everything it started is killed and
    it reports "timeout"; the folder is removed afterwards in every case.
    Results are rows (workload, figure, value, unit, bounding limit) that
    main prints as a table and writes as JSON.

    bench_proc   child processes, RSS sampling, folders, clocks
    bench_net    keys, broker and agents of one workload, replica positions
    bench_gen    the deterministic catalogue generator (NDJSON and entries)
    bench_raw    the machine's limits: zmq, LMDB, fdatasync, Ed25519, SHA-256
    bench_work   ingest, fan-out, latency
    bench_snap   snapshot of a prefilled broker, and queries over it
    ========================================================================= */

#ifndef BENCH_H_INCLUDED
#define BENCH_H_INCLUDED

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define BENCH_PIDS_MAX   32     //  processes one workload may start
#define BENCH_ORGS       8      //  organisations org:bench-0 .. 7

//  ---------------------------------------------------------------------
//  Sizes and options (main)

typedef struct {
    bool quick;                 //  QUICK sizes
    const char *bin;            //  folder of the stemx programs
    const char *src;            //  source tree (config/ for the taxonomy)
    long ingest [2];            //  signed ingest sizes (0 = skip)
    long insecure;              //  --insecure ingest size
    long inflight;              //  one-in-flight events
    long fanout;                //  fan-out ingest size
    int latency_s;              //  seconds of steady publishing
    long snapshot [2];          //  snapshot sizes
    long query;                 //  catalogue size of the query workload
    int timeout_s;              //  per workload deadline
    bool verbose;
} bench_opts_t;

//  ---------------------------------------------------------------------
//  Results (main)

//  Record one figure. limit <= 0: no bounding limit; status is "ok",
//  "timeout" or "failed". Strings are copied.
void
    bench_result (const char *workload, const char *figure, double value, const char *unit,
                  double limit, const char *limit_name, const char *status);

//  Record a workload's final count against what it sent; a mismatch
//  makes stemx-bench exit 1.
void
    bench_count (const char *workload, long sent, long final);

//  The raw limits measured (bench_raw fills them, the others read them).
typedef struct {
    double zmq_msgs_s;          //  512 B PUSH/PULL messages per second
    double lmdb_commits_s;      //  synced single-put commits per second
    double fdatasync_us;        //  one fdatasync of a small write
    double sign_s, verify_s;    //  Ed25519 on 600 B, one core
    double sha256_s;            //  SHA-256 of 600 B
    long cores;                 //  nproc
} bench_limits_t;

extern bench_limits_t bench_limits;

//  The crypto bound of signed ingest with `replicas` agents verifying:
//  cores / (1/sign + (1 + replicas)/verify) events per second.
double
    bench_crypto_bound (int replicas);

//  ---------------------------------------------------------------------
//  Clocks, folders, processes (bench_proc)

double
    bench_now (void);           //  monotonic seconds

void
    bench_sleep_us (long us);

//  One workload's world: a folder and the processes started in it.
typedef struct {
    char dir [64];              //  /tmp/sxb.XXXXXX
    pid_t pids [BENCH_PIDS_MAX];
    int npids;
    double deadline;            //  bench_now () after which waits give up
    bool timed_out;             //  a wait hit the deadline
    double reaped_cpu_s;        //  user + system CPU of the process bench_wait
                                //  reaped last (threads included)
    const bench_opts_t *opts;
} bench_run_t;

//  Make a fresh folder and set the deadline timeout_s from now. Returns
//  false (with a message on stderr) if mkdtemp fails.
bool
    bench_run_init (bench_run_t *run, const bench_opts_t *opts);

//  Kill every process still running (SIGTERM, then SIGKILL after 3 s),
//  stop sampling them and remove the folder.
void
    bench_run_end (bench_run_t *run);

//  True (and run->timed_out set) when the deadline has passed.
bool
    bench_run_expired (bench_run_t *run);

//  Start argv[0] with argv, output appended to log (a path), stdin from
//  /dev/null; the pid is added to run and to the RSS sampler. Returns the
//  pid or -1.
pid_t
    bench_spawn (bench_run_t *run, const char *log, const char *const argv []);

//  Wait for pid (started by bench_spawn) to exit, until the deadline.
//  Returns its exit code, -1 if it did not exit normally, -2 on timeout
//  (the caller's bench_run_end kills it). *maxrss_kb (may be NULL) gets
//  its ru_maxrss, run->reaped_cpu_s its CPU time.
int
    bench_wait (bench_run_t *run, pid_t pid, long *maxrss_kb);

//  Run argv to completion (stdout to out_path, may be NULL for
//  /dev/null); as bench_wait. *wall_s gets its wall time.
int
    bench_exec (bench_run_t *run, const char *const argv [], const char *out_path,
                double *wall_s, long *maxrss_kb);

//  ru_maxrss in KiB of /bin/true started by bench_exec now: the part of
//  every ru_maxrss figure that is stemx-bench's own pages, copied by fork.
long
    bench_rss_floor (const bench_opts_t *opts);

//  User + system CPU seconds pid has used so far, all its threads
//  (/proc/PID/stat); -1 if it cannot be read.
double
    bench_cpu_s (pid_t pid);

//  Peak RssAnon in KiB seen for pid since it started (sampled every 50 ms).
long
    bench_peak_rss (pid_t pid);

//  Start / stop the sampler thread (main).
void
    bench_sampler_start (void);
void
    bench_sampler_stop (void);

//  Poll every 20 ms until path exists or the deadline; true if it does.
bool
    bench_wait_path (bench_run_t *run, const char *path);

//  Remove a folder tree.
void
    bench_remove_tree (const char *path);

//  ---------------------------------------------------------------------
//  Network of one workload (bench_net)

typedef struct {
    bench_run_t *run;
    bool insecure;
    char keys [PATH_MAX];       //  every org's key pair
    char broker [PATH_MAX];     //  broker's data folder
    char request [128], updates [128];
    pid_t broker_pid;
    pid_t agent_pid;            //  the publishing agent of s_setup
} bench_net_t;

//  Make the broker's key, the org keys (org:bench-0 admin) and registry
//  in run's folder (not in insecure mode: nothing to make). Returns false
//  on failure.
bool
    bench_net_init (bench_net_t *net, bench_run_t *run, bool insecure);

//  Start the broker on ephemeral loopback ports with no config file and
//  wait for its endpoints file. Returns false on failure or timeout.
bool
    bench_net_start_broker (bench_net_t *net);

//  Prepare agent folder run->dir/NAME (the secret key of org:bench-ORG,
//  or of every org when org is -1; the trust folder; the broker's key)
//  and start it; wait for its socket. An agent needs one identity even
//  as a pure replica. Writes the folder into dir (PATH_MAX). Returns the
//  pid or -1.
pid_t
    bench_net_start_agent (bench_net_t *net, const char *name, int org, char *dir);

//  Last applied sequence of the store in dir, read-only (0 if it does
//  not exist yet). Opens and closes the store: for occasional polls.
uint64_t
    bench_store_seq (const char *dir);

//  Run `stemx --data DIR import FILE --timeout 600` until the deadline.
//  Returns the exit code (-2 on timeout); *wall_s, *maxrss_kb and
//  *peak_anon_kb (sampled) get its figures (any may be NULL).
int
    bench_net_import (bench_net_t *net, const char *dir, const char *file, double *wall_s,
                      long *maxrss_kb, long *peak_anon_kb);

//  Poll the stores of dirs until each has seq >= want or the deadline.
//  Returns the time it took from `since` (bench_now), or -1 on timeout.
double
    bench_wait_seq (bench_run_t *run, char dirs [][PATH_MAX], int count, uint64_t want,
                    double since);

//  ---------------------------------------------------------------------
//  Catalogue generator (bench_gen)

//  Write the BENCH_ORGS organisations, one JSON object per line, to path.
bool
    bench_gen_orgs (const char *path);

//  The JSON of initiative number index (deterministic). Caller owns it
//  (json_decref).
json_t *
    bench_gen_initiative (long index);

//  Write initiatives first .. first + count - 1 as NDJSON to path.
bool
    bench_gen_initiatives (const char *path, long first, long count);

//  The JSON of organisation index. Caller owns it.
json_t *
    bench_gen_org (int index);

//  ---------------------------------------------------------------------
//  Workloads; each records its results and counts

void
    bench_raw_limits (const bench_opts_t *opts);
void
    bench_work_ingest (const bench_opts_t *opts, const char *name, long count, bool insecure);
void
    bench_work_inflight (const bench_opts_t *opts, long count);
void
    bench_work_fanout (const bench_opts_t *opts, long count, int replicas);
void
    bench_work_latency (const bench_opts_t *opts, int seconds, int rate, int replicas,
                        bool insecure);
void
    bench_work_fairness (const bench_opts_t *opts, long count);
void
    bench_snap_run (const bench_opts_t *opts, long count, bool queries);

#endif
