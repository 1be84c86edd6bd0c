/*  =========================================================================
    bench_work - ingest, one event in flight, fan-out and latency

    DESIGN
    Each workload builds its own broker and agents (bench_net), imports
    the eight organisations first (entries name them, and the agent fills
    partners' pillars from them), then does the measured part:
      ingest    `stemx import` of N initiatives through one agent hosting
                the eight organisations, from one NDJSON file (the CLI
                streams it)
      inflight  PUBLISH requests of one event on the agent's local ROUTER,
                each waiting for its ACK (= the broker's synced commit)
      fan-out   ingest with extra replica agents; until the last replica
                holds the last event
      fairness  a second agent's single publishes, one every 20 ms, while
                agent a imports: publish->ack of the other organisation
      latency   one event per PUBLISH at a steady rate without waiting;
                every replica's store polled read-only every ~100 us; the
                latency of seq s is the time all replicas hold s minus the
                time its event was sent
    The event id of a latency event starts with its index (8 bytes,
    big-endian) so an ACK finds its send time without a table.
    ========================================================================= */

#define _GNU_SOURCE
#include <czmq.h>
#include <sys/wait.h>
#include "bench.h"
#include "stx_event.h"
#include "stx_json.h"
#include "stx_store.h"
#include "stx_wire.h"


//  Broker, agent "a" hosting every org, organisations imported. dir gets
//  the agent's folder. False on failure or timeout.
static bool
s_setup (bench_run_t *run, bench_net_t *net, bool insecure, char *dir)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/orgs.ndjson", run->dir);
    if (!bench_net_init (net, run, insecure) || !bench_net_start_broker (net)
    ||  (net->agent_pid = bench_net_start_agent (net, "a", -1, dir)) < 0
    ||  !bench_gen_orgs (path))
        return false;
    return bench_net_import (net, dir, path, NULL, NULL, NULL) == 0;
}

//  Record a workload whose set-up failed: none of its count events
//  arrived.
static void
s_failed (bench_run_t *run, const char *workload, const char *figure, long count)
{
    bench_result (workload, figure, 0, "", 0, "", run->timed_out? "timeout": "failed");
    bench_count (workload, count, 0);
    fprintf (stderr, "stemx-bench: %s %s in %s; STEMX_BENCH_KEEP=1 keeps its folder and logs\n",
             workload, run->timed_out? "timed out": "failed", run->dir);
}

//  Write initiatives 0 .. count-1 into run->dir/ini.ndjson (path gets
//  it). False on failure.
static bool
s_gen_file (bench_run_t *run, long count, char *path)
{
    snprintf (path, PATH_MAX, "%s/ini.ndjson", run->dir);
    return bench_gen_initiatives (path, 0, count);
}

//  CPU per event of each hop (user + system, all threads) and of the
//  three together, next to the cryptography an event needs (one sign,
//  a verify in the broker and one in the agent's replica, on one core).
static void
s_cpu_rows (const char *workload, long events, double cli_s, double broker_s, double agent_s,
            bool insecure, const char *status)
{
    if (events <= 0)
        return;
    double crypto_us = insecure? 0: 1e6 / bench_limits.sign_s + 2e6 / bench_limits.verify_s;
    bench_result (workload, "CPU per event: CLI", cli_s * 1e6 / events, "us", 0, "", status);
    bench_result (workload, "CPU per event: broker", broker_s * 1e6 / events, "us", 0, "",
                  status);
    bench_result (workload, "CPU per event: agent", agent_s * 1e6 / events, "us", 0, "",
                  status);
    bench_result (workload, "CPU per event: all three", (cli_s + broker_s + agent_s) * 1e6 / events,
                  "us", crypto_us, "us crypto on one core", status);
}

void
bench_work_ingest (const bench_opts_t *opts, const char *name, long count, bool insecure)
{
    bench_run_t run;
    bench_net_t net;
    char dir [PATH_MAX], workload [64];
    snprintf (workload, sizeof workload, "%s %ldk", name, count / 1000);
    if (!bench_run_init (&run, opts))
        return;
    char file [PATH_MAX];
    if (!s_setup (&run, &net, insecure, dir) || !s_gen_file (&run, count, file)) {
        s_failed (&run, workload, "setup", count);
        bench_run_end (&run);
        return;
    }
    double wall;
    long maxrss, anon;
    double broker_cpu = bench_cpu_s (net.broker_pid), agent_cpu = bench_cpu_s (net.agent_pid);
    int rc = bench_net_import (&net, dir, file, &wall, &maxrss, &anon);
    double cli_cpu = run.reaped_cpu_s;
    uint64_t broker_seq = bench_store_seq (net.broker);
    long applied = (long) broker_seq - BENCH_ORGS;
    const char *status = rc == 0? "ok": rc == -2? "timeout": "failed";
    //  The agent applies its own events as the broker publishes them:
    //  its share of the work ends when its replica has them all
    if (rc == 0 && bench_wait_seq (&run, (char (*) [PATH_MAX]) dir, 1, broker_seq,
                                   bench_now ()) < 0)
        status = "timeout";
    broker_cpu = bench_cpu_s (net.broker_pid) - broker_cpu;
    agent_cpu = bench_cpu_s (net.agent_pid) - agent_cpu;
    double bound = insecure? bench_limits.zmq_msgs_s: bench_crypto_bound (1);
    bench_result (workload, "events/s (import wall time)", applied / wall, "events/s", bound,
                  insecure? "zmq msg/s": "crypto 1 sign + 2 verify", status);
    bench_result (workload, "wall time", wall, "s", 0, "", status);
    bench_result (workload, "peak RssAnon broker", bench_peak_rss (net.broker_pid) / 1024.0,
                  "MiB", 0, "", status);
    bench_result (workload, "peak RssAnon agent", bench_peak_rss (net.agent_pid) / 1024.0,
                  "MiB", 0, "", status);
    bench_result (workload, "peak RssAnon CLI (sampled)", anon / 1024.0, "MiB", 0, "", status);
    bench_result (workload, "CLI ru_maxrss", maxrss / 1024.0, "MiB", 0, "", status);
    s_cpu_rows (workload, applied, cli_cpu, broker_cpu, agent_cpu, insecure, status);
    if (rc != 0)
        fprintf (stderr, "stemx-bench: %s: import %s; STEMX_BENCH_KEEP=1 keeps the logs\n",
                 workload, rc == -2? "timed out": "failed");
    bench_count (workload, count, applied);
    bench_run_end (&run);
}

//  ---------------------------------------------------------------------
//  The agent's local API

//  Initiative index as a packed unsigned event; its id starts with index.
static uint8_t *
s_pack_initiative (long index, size_t *size_p)
{
    json_t *json = bench_gen_initiative (index);
    Stemx__Entry *entry = NULL;
    char err [STX_ERRLEN];
    stx_status_t rc = stx_json_to_entry (json, &entry, err, sizeof err);
    json_decref (json);
    if (rc != STX_OK) {
        fprintf (stderr, "stemx-bench: generated initiative: %s\n", err);
        return NULL;
    }
    char key [40];
    snprintf (key, sizeof key, "%s", stx_entry_key (entry));
    Stemx__Event *event = stx_event_new (key, &entry);
    uint64_t be = __builtin_bswap64 ((uint64_t) index);
    memcpy (event->event_id.data, &be, sizeof be);
    uint8_t *data = stx_event_pack (event, size_p);
    stx_event_free (&event);
    return data;
}

static zsock_t *
s_connect_local (const char *dir)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    assert (sock);
    zsock_set_sndhwm (sock, 0);
    zsock_set_rcvhwm (sock, 0);
    if (zsock_connect (sock, "ipc://%s/agent.sock", dir) != 0)
        zsock_destroy (&sock);
    return sock;
}

static int
s_send_publish (zsock_t *sock, uint8_t *data, size_t size)
{
    ProtobufCBinaryData event = { size, data };
    return stx_wire_send_publish (sock, &event, 1);
}

//  The next answer to a publish that is not the agent's receipt (which
//  comes first: the events are in its outbox), within timeout_ms.
static stx_status_t
s_recv_answer (zsock_t *sock, int timeout_ms, Stemx__Reply **reply_p)
{
    double deadline = bench_now () + timeout_ms / 1000.0;
    while (true) {
        int left = (int) ((deadline - bench_now ()) * 1000);
        stx_status_t rc = stx_wire_recv_reply (sock, left > 0? left: 0, reply_p);
        if (rc != STX_OK || (*reply_p)->body_case != STEMX__REPLY__BODY_RECEIPT)
            return rc;
        stx_wire_reply_free (reply_p);
    }
}

//  The first result of an ACK: its index (from the event id) and seq.
//  False for anything else or a refusal.
static bool
s_ack_result (Stemx__Reply *reply, long *index, uint64_t *seq)
{
    if (reply->body_case != STEMX__REPLY__BODY_ACK || reply->ack->n_results < 1)
        return false;
    Stemx__Result *result = reply->ack->results [0];
    if (result->reason != STEMX__REASON__R_OK || result->event_id.len != STX_EVENT_ID_SIZE) {
        static bool told;
        if (!told)
            fprintf (stderr, "stemx-bench: refused: %s\n", result->text);
        told = true;
        return false;
    }
    uint64_t be;
    memcpy (&be, result->event_id.data, sizeof be);
    *index = (long) __builtin_bswap64 (be);
    *seq = result->seq;
    return true;
}

void
bench_work_inflight (const bench_opts_t *opts, long count)
{
    bench_run_t run;
    bench_net_t net;
    char dir [PATH_MAX], workload [64];
    snprintf (workload, sizeof workload, "inflight-1 %ld", count);
    if (!bench_run_init (&run, opts))
        return;
    zsock_t *sock = NULL;
    if (!s_setup (&run, &net, false, dir) || !(sock = s_connect_local (dir))) {
        s_failed (&run, workload, "setup", count);
        bench_run_end (&run);
        return;
    }
    long acked = 0;
    double start = bench_now ();
    for (long i = 0; i < count && !bench_run_expired (&run); i++) {
        size_t size;
        uint8_t *data = s_pack_initiative (i, &size);
        if (!data || s_send_publish (sock, data, size) != 0) {
            free (data);
            break;
        }
        free (data);
        Stemx__Reply *reply = NULL;
        int left_ms = (int) ((run.deadline - bench_now ()) * 1000);
        if (s_recv_answer (sock, left_ms > 0? left_ms: 1, &reply) != STX_OK)
            break;
        long index;
        uint64_t seq;
        acked += s_ack_result (reply, &index, &seq);
        stx_wire_reply_free (&reply);
    }
    double wall = bench_now () - start;
    zsock_destroy (&sock);
    const char *status = acked == count? "ok": run.timed_out? "timeout": "failed";
    bench_result (workload, "acked events/s, one in flight", acked / wall, "events/s",
                  bench_limits.fdatasync_us > 0? 1e6 / bench_limits.fdatasync_us: 0,
                  "1/fdatasync", status);
    bench_result (workload, "mean publish->ack", acked? wall / acked * 1000: 0, "ms", 0, "",
                  status);
    bench_count (workload, count, (long) bench_store_seq (net.broker) - BENCH_ORGS);
    bench_run_end (&run);
}

//  ---------------------------------------------------------------------
//  Replicas

//  Start count replica agents r0.. (each hosting one org, as a pure
//  replica still needs an identity); dirs get their folders.
static bool
s_start_replicas (bench_net_t *net, int count, char dirs [][PATH_MAX])
{
    for (int i = 0; i < count; i++) {
        char name [16];
        snprintf (name, sizeof name, "r%d", i);
        if (bench_net_start_agent (net, name, i % BENCH_ORGS, dirs [i]) < 0)
            return false;
    }
    return true;
}

void
bench_work_fanout (const bench_opts_t *opts, long count, int replicas)
{
    bench_run_t run;
    bench_net_t net;
    char dir [PATH_MAX], workload [64];
    char (*dirs) [PATH_MAX] = calloc (replicas, PATH_MAX);
    snprintf (workload, sizeof workload, "fanout-%d %ldk", replicas, count / 1000);
    if (!bench_run_init (&run, opts)) {
        free (dirs);
        return;
    }
    char file [PATH_MAX];
    if (!s_setup (&run, &net, false, dir) || !s_start_replicas (&net, replicas, dirs)
    ||  bench_wait_seq (&run, dirs, replicas, BENCH_ORGS, bench_now ()) < 0
    ||  !s_gen_file (&run, count, file)) {
        s_failed (&run, workload, "setup", count);
        bench_run_end (&run);
        free (dirs);
        return;
    }
    double start = bench_now (), wall;
    long maxrss, anon;
    int rc = bench_net_import (&net, dir, file, &wall, &maxrss, &anon);
    double took = rc == 0? bench_wait_seq (&run, dirs, replicas, BENCH_ORGS + count, start): -1;
    const char *status = took >= 0? "ok": run.timed_out? "timeout": "failed";
    bench_result (workload, "import wall time", wall, "s", 0, "", rc == 0? "ok": status);
    bench_result (workload, "until the last replica has all", took, "s", 0, "", status);
    bench_result (workload, "fan-out time / ingest time", took > 0? took / wall: 0, "", 0, "",
                  status);
    bench_result (workload, "events/s to every replica", took > 0? count / took: 0, "events/s",
                  bench_crypto_bound (1 + replicas), "crypto bound", status);
    uint64_t least = UINT64_MAX;
    for (int i = 0; i < replicas; i++) {
        uint64_t seq = bench_store_seq (dirs [i]);
        least = seq < least? seq: least;
    }
    bench_count (workload, count, (long) least - BENCH_ORGS);
    bench_run_end (&run);
    free (dirs);
}

//  ---------------------------------------------------------------------
//  Latency

static int
s_compare (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y? -1: x > y;
}

void
bench_work_latency (const bench_opts_t *opts, int seconds, int rate, int replicas,
                    bool insecure)
{
    bench_run_t run;
    bench_net_t net;
    char dir [PATH_MAX], workload [64];
    snprintf (workload, sizeof workload, "latency%s %d/s x%d", insecure? "-insecure": "",
              rate, replicas);
    long count = (long) seconds * rate;
    char (*dirs) [PATH_MAX] = calloc (replicas, PATH_MAX);
    uint8_t **events = calloc (count, sizeof *events);
    size_t *sizes = calloc (count, sizeof *sizes);
    double *sent = calloc (count, sizeof *sent);
    uint64_t *seqs = calloc (count, sizeof *seqs);
    double *applied = calloc (count + 1, sizeof *applied);
    stx_store_t **stores = calloc (replicas, sizeof *stores);
    zsock_t *sock = NULL;
    if (!bench_run_init (&run, opts))
        goto done;
    bool ready = s_setup (&run, &net, insecure, dir) && s_start_replicas (&net, replicas, dirs)
              && bench_wait_seq (&run, dirs, replicas, BENCH_ORGS, bench_now ()) >= 0
              && (sock = s_connect_local (dir));
    for (int i = 0; ready && i < replicas; i++) {
        char err [STX_ERRLEN];
        ready = stx_store_open (dirs [i], STX_STORE_READONLY, 0, &stores [i], err,
                                sizeof err) == STX_OK;
    }
    //  Pack every event before the clock starts
    for (long i = 0; ready && i < count; i++)
        ready = (events [i] = s_pack_initiative (i, &sizes [i])) != NULL;
    if (!ready) {
        s_failed (&run, workload, "setup", count);
        goto done;
    }
    long next = 0, acked = 0;
    uint64_t all = BENCH_ORGS;              //  seq every replica holds
    double start = bench_now (), last_applied = start;
    while (!bench_run_expired (&run) && (all < BENCH_ORGS + (uint64_t) count)) {
        double now = bench_now ();
        //  Steady rate: a late loop catches up with a burst
        while (next < count && now >= start + (double) next / rate) {
            if (s_send_publish (sock, events [next], sizes [next]) != 0)
                break;
            sent [next++] = now;
        }
        while (zsock_events (sock) & ZMQ_POLLIN) {
            Stemx__Reply *reply = NULL;
            long index;
            uint64_t seq;
            if (stx_wire_recv_reply (sock, 0, &reply) != STX_OK)
                break;
            if (s_ack_result (reply, &index, &seq) && index >= 0 && index < count) {
                seqs [index] = seq;
                acked++;
            }
            stx_wire_reply_free (&reply);
        }
        uint64_t least = UINT64_MAX;
        for (int i = 0; i < replicas; i++) {
            stx_meta_t meta = { .seq = 0 };
            stx_store_meta (stores [i], &meta);
            least = meta.seq < least? meta.seq: least;
        }
        now = bench_now ();
        for (; all < least && all < BENCH_ORGS + (uint64_t) count; all++)
            applied [all + 1 - BENCH_ORGS] = last_applied = now;
        bench_sleep_us (100);
    }
    //  Acks of the last events may still be on their way
    double grace = bench_now () + 2;
    while (acked < next && bench_now () < grace) {
        Stemx__Reply *reply = NULL;
        long index;
        uint64_t seq;
        if (stx_wire_recv_reply (sock, 100, &reply) != STX_OK)
            continue;
        if (s_ack_result (reply, &index, &seq) && index >= 0 && index < count) {
            seqs [index] = seq;
            acked++;
        }
        stx_wire_reply_free (&reply);
    }
    double *lat = calloc (count + 1, sizeof *lat);
    long measured = 0;
    for (long i = 0; i < count; i++) {
        long s = (long) seqs [i] - BENCH_ORGS;
        if (seqs [i] && s >= 1 && s <= count && applied [s] > 0)
            lat [measured++] = (applied [s] - sent [i]) * 1000;
    }
    qsort (lat, measured, sizeof *lat, s_compare);
    const char *status = measured == count? "ok": run.timed_out? "timeout": "failed";
    double p50 = measured? lat [measured / 2]: 0;
    double p99 = measured? lat [(long) (measured * 0.99)]: 0;
    double p999 = measured? lat [(long) (measured * 0.999)]: 0;
    double send_s = next > 0? next / (sent [next - 1] - start + 1e-9): 0;
    bench_result (workload, "send rate reached", send_s, "events/s", rate, "rate asked", status);
    bench_result (workload, "applied on all replicas", last_applied > start
                  ? (all - BENCH_ORGS) / (last_applied - start): 0, "events/s", rate,
                  "rate asked", status);
    bench_result (workload, "publish->applied on all, p50", p50, "ms", 0, "", status);
    bench_result (workload, "publish->applied on all, p99", p99, "ms", 0, "", status);
    bench_result (workload, "publish->applied on all, p99.9", p999, "ms", 0, "", status);
    bench_count (workload, count, (long) all - BENCH_ORGS);
    free (lat);
done:
    for (int i = 0; i < replicas; i++)
        stx_store_destroy (&stores [i]);
    zsock_destroy (&sock);
    if (*run.dir)
        bench_run_end (&run);
    for (long i = 0; i < count; i++)
        free (events [i]);
    free (events);
    free (sizes);
    free (sent);
    free (seqs);
    free (applied);
    free (stores);
    free (dirs);
}

//  ---------------------------------------------------------------------
//  Fairness: another organisation's publish while one imports

//  B is a second agent hosting one organisation (its own connection to
//  the broker); every S_FAIR_IVL ms it publishes one event and waits for
//  its ack, for as long as agent a's bulk import runs. The latencies of
//  those acks are the figure: a fair broker answers them within a group
//  or two, however long a's backlog is.
#define S_FAIR_ORG      7
#define S_FAIR_IVL      20
#define S_FAIR_FIRST    100000000L      //  B's initiative indexes: apart from a's

void
bench_work_fairness (const bench_opts_t *opts, long count)
{
    bench_run_t run;
    bench_net_t net;
    char dir [PATH_MAX], dir_b [PATH_MAX], file [PATH_MAX], workload [64];
    snprintf (workload, sizeof workload, "fairness %ldk", count / 1000);
    if (!bench_run_init (&run, opts))
        return;
    zsock_t *sock = NULL;
    if (!s_setup (&run, &net, false, dir) || !s_gen_file (&run, count, file)
    ||  bench_net_start_agent (&net, "b", S_FAIR_ORG, dir_b) < 0
    ||  bench_wait_seq (&run, (char (*) [PATH_MAX]) dir_b, 1, BENCH_ORGS, bench_now ()) < 0
    ||  !(sock = s_connect_local (dir_b))) {
        s_failed (&run, workload, "setup", count);
        bench_run_end (&run);
        return;
    }
    char prog [PATH_MAX], log [PATH_MAX + 16];
    snprintf (prog, sizeof prog, "%s/stemx", opts->bin);
    snprintf (log, sizeof log, "%s/import.log", run.dir);
    const char *argv [] = { prog, "--data", dir, "import", file, "--timeout", "600", NULL };
    double start = bench_now ();
    pid_t pid = bench_spawn (&run, log, argv);
    long max = 1 + (long) (opts->timeout_s * 1000 / S_FAIR_IVL);
    double *lat = calloc (max, sizeof *lat);
    long samples = 0, lost = 0;
    int status = 0;
    bool importing = pid > 0;
    while (importing && samples + lost < max && !bench_run_expired (&run)) {
        long index = S_FAIR_FIRST + S_FAIR_ORG + BENCH_ORGS * (samples + lost);
        size_t size;
        uint8_t *data = s_pack_initiative (index, &size);
        double sent = bench_now ();
        Stemx__Reply *reply = NULL;
        long got = -1;
        uint64_t seq;
        if (data && s_send_publish (sock, data, size) == 0
        &&  s_recv_answer (sock, 5000, &reply) == STX_OK
        &&  s_ack_result (reply, &got, &seq) && got == index)
            lat [samples++] = (bench_now () - sent) * 1000;
        else
            lost++;
        stx_wire_reply_free (&reply);
        free (data);
        bench_sleep_us (S_FAIR_IVL * 1000);
        importing = waitpid (pid, &status, WNOHANG) == 0;
    }
    double wall = bench_now () - start;
    if (importing)
        bench_wait (&run, pid, NULL);
    qsort (lat, samples, sizeof *lat, s_compare);
    const char *verdict = lost == 0 && samples > 0? "ok": run.timed_out? "timeout": "failed";
    bench_result (workload, "other org's publishes during the import", samples, "acks", 0, "",
                  verdict);
    bench_result (workload, "other org's publish->ack, p50", samples? lat [samples / 2]: 0,
                  "ms", 0, "", verdict);
    bench_result (workload, "other org's publish->ack, p99",
                  samples? lat [(long) (samples * 0.99)]: 0, "ms", 50, "target", verdict);
    bench_result (workload, "other org's publish->ack, max", samples? lat [samples - 1]: 0,
                  "ms", 0, "", verdict);
    uint64_t seq = bench_store_seq (net.broker);
    bench_result (workload, "import events/s meanwhile",
                  wall > 0? ((long) seq - BENCH_ORGS - samples) / wall: 0, "events/s",
                  bench_crypto_bound (1), "crypto bound", verdict);
    bench_count (workload, count + samples, (long) seq - BENCH_ORGS);
    free (lat);
    zsock_destroy (&sock);
    bench_run_end (&run);
}
