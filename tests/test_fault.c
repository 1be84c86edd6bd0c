/*  =========================================================================
    test_fault - durability and convergence under crashes, stalls, a lossy
    network and a full disk

    Real broker and agent processes on loopback (stx_testnet), fed by the
    real CLI (`stemx publish FILE --json`). Every event has a key of its
    own (ini:fault-<stream>-<n>), so "exactly once" is checkable in the
    broker's store, opened read-only: each key at most once in the log, no
    event id twice, every key some publisher saw acked present at the seq
    it was acked with, the hash chain recomputed from the log equal to the
    stored heads; and every replica at the broker's (seq, head).

      a. kill -9 the broker 10 times during a steady stream from 3 agents
      b. kill -9 an agent mid-publish, and a replica mid-apply
      c. a lossy proxy (drop, duplicate, reorder, delay) between an agent
         and the broker - with --insecure, since CURVE ends at the broker
      d. one agent stopped (SIGSTOP) for 30 s while the others publish
      e. an LMDB map that fills up, then is enlarged
      f. an agent offline while the broker trims its log past the agent's
         position comes back through a fresh snapshot
      g. a soak: 15 cycles of kill -9 broker, kill -9 agent and SIGSTOP
         agent under 3 publishers, each CLI's exit status checked against
         what the nodes hold

    Each test prints its figures in one line starting "FAULT x:" (run with
    `ctest -L fault --verbose` to see them); docs/RELIABILITY.md quotes a
    run. Waits are polls on conditions with deadlines; the only pacing is
    the publishing rate of test d, spread over its 30 s stop.
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include "stx_event.h"
#include "stx_outbox.h"
#include "stx_store.h"
#include "stx_testproc.h"
#include "stx_testnet.h"
#include "stx_lossyproxy.h"

typedef stx_testnet_t world_t;

#define S_PREFIX        "ini:fault-"
#define S_STREAMS_MAX   4
#define S_POLL_MS       5           //  polling period of the loops below
#define S_SETTLE_MS     90000       //  CLIs finish and outboxes drain within this

static const char *s_orgs [] = { "org:vdab", "org:agoria", "org:ugent", "org:vlaio" };
static const char *s_pillars [] = { "government", "industry", "knowledge", "government" };


//  ---------------------------------------------------------------------
//  Nodes' stores, read from the test process (short read-only opens)

static bool
s_meta (const char *dir, stx_meta_t *meta)
{
    stx_store_t *store = NULL;
    char err [STX_ERRLEN];
    if (stx_store_open (dir, STX_STORE_READONLY, 0, &store, err, sizeof err) != STX_OK)
        return false;
    bool ok = stx_store_meta (store, meta) == STX_OK;
    stx_store_destroy (&store);
    return ok;
}

static uint64_t
s_seq (const char *dir)
{
    stx_meta_t meta;
    return s_meta (dir, &meta)? meta.seq: 0;
}

static int
s_outbox_key (const uint8_t *data, size_t size, void *arg)
{
    Stemx__Event *event = NULL;
    if (stx_event_unpack (data, size, &event) == STX_OK)
        zhashx_update ((zhashx_t *) arg, event->key, (void *) "queued");
    stx_event_free (&event);
    return 0;
}

//  Events pending in the outbox of the agent at dir; their keys go to
//  keys if not NULL. 0 if there is no outbox yet.
static uint64_t
s_outbox (const char *dir, zhashx_t *keys)
{
    stx_outbox_t *outbox = NULL;
    char err [STX_ERRLEN];
    if (stx_outbox_open (dir, true, &outbox, err, sizeof err) != STX_OK)
        return 0;
    uint64_t pending = 0, rejected = 0;
    assert_int_equal (stx_outbox_depth (outbox, &pending, &rejected), STX_OK);
    if (keys)
        assert_int_equal (stx_outbox_pending (outbox, 0, s_outbox_key, keys), STX_OK);
    stx_outbox_destroy (&outbox);
    return pending;
}

static uint64_t
s_outbox_rejected (const char *dir)
{
    stx_outbox_t *outbox = NULL;
    char err [STX_ERRLEN];
    if (stx_outbox_open (dir, true, &outbox, err, sizeof err) != STX_OK)
        return 0;
    uint64_t pending = 0, rejected = 0;
    assert_int_equal (stx_outbox_depth (outbox, &pending, &rejected), STX_OK);
    stx_outbox_destroy (&outbox);
    return rejected;
}


//  ---------------------------------------------------------------------
//  The exactly-once check

typedef struct {
    uint64_t seq;               //  where the key is in the log
    unsigned count;             //  how many times
} s_found_t;

typedef struct {
    uint64_t seq;               //  the node's sequence
    size_t events;              //  fault-test events in its log
    size_t lost;                //  keys that must be there and are not
    size_t dup;                 //  keys more than once, plus event ids more than once
    size_t mismatched;          //  keys acked with a seq other than their log position
    bool chain_ok;              //  the log hashes to the stored heads
} check_t;

static void
s_found_destructor (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Walk the whole log of the node at dir. must (may be NULL): keys that
//  must be present; acked (may be NULL): key -> the seq its publisher was
//  told, as (void *) (uintptr_t) seq.
static check_t
s_check (const char *dir, zhashx_t *must, zhashx_t *acked)
{
    check_t check = { 0, 0, 0, 0, 0, true };
    stx_store_t *store = NULL;
    char err [STX_ERRLEN];
    if (stx_store_open (dir, STX_STORE_READONLY, 0, &store, err, sizeof err) != STX_OK)
        fail_msg ("%s", err);
    stx_txn_t *txn = NULL;
    assert_int_equal (stx_store_begin (store, false, &txn), STX_OK);
    stx_meta_t meta;
    assert_int_equal (stx_txn_meta (txn, &meta), STX_OK);
    check.seq = meta.seq;

    zhashx_t *found = zhashx_new ();
    zhashx_set_destructor (found, s_found_destructor);
    zhashx_t *ids = zhashx_new ();
    uint8_t head [STX_HEAD_SIZE] = { 0 };
    if (meta.log_first > 1
    &&  stx_txn_head_at (txn, meta.log_first - 1, head) != STX_OK)
        check.chain_ok = false;     //  nothing to start the chain from
    for (uint64_t seq = meta.log_first; seq <= meta.seq; seq++) {
        const uint8_t *data;
        size_t size;
        if (stx_txn_log_get (txn, seq, &data, &size) != STX_OK) {
            fprintf (stderr, "%s: seq %" PRIu64 " missing from the log\n", dir, seq);
            check.chain_ok = false;
            continue;
        }
        stx_chain_next (head, data, size, head);
        uint8_t stored [STX_HEAD_SIZE];
        if (stx_txn_head_at (txn, seq, stored) != STX_OK
        ||  memcmp (stored, head, STX_HEAD_SIZE) != 0)
            check.chain_ok = false;
        Stemx__Event *event = NULL;
        if (stx_event_unpack (data, size, &event) != STX_OK || event->seq != seq) {
            fprintf (stderr, "%s: seq %" PRIu64 " undecodable or misnumbered\n", dir, seq);
            check.chain_ok = false;
            stx_event_free (&event);
            continue;
        }
        char id [STX_EVENT_ID_SIZE * 2 + 1];
        stx_hex (event->event_id.data, event->event_id.len < STX_EVENT_ID_SIZE
                 ? event->event_id.len: STX_EVENT_ID_SIZE, id);
        if (zhashx_insert (ids, id, (void *) "seen") != 0) {
            fprintf (stderr, "%s: event id %s twice (seq %" PRIu64 ")\n", dir, id, seq);
            check.dup++;
        }
        if (strncmp (event->key, S_PREFIX, strlen (S_PREFIX)) == 0) {
            check.events++;
            if (event->version != 1) {
                fprintf (stderr, "%s: %s at version %" PRIu64 " (seq %" PRIu64 ")\n", dir,
                         event->key, event->version, seq);
                check.dup++;
            }
            s_found_t *item = (s_found_t *) zhashx_lookup (found, event->key);
            if (item) {
                fprintf (stderr, "%s: %s at seq %" PRIu64 " and %" PRIu64 "\n", dir,
                         event->key, item->seq, seq);
                item->count++;
                check.dup++;
            }
            else {
                item = (s_found_t *) calloc (1, sizeof (s_found_t));
                assert_non_null (item);
                item->seq = seq;
                item->count = 1;
                zhashx_insert (found, event->key, item);
            }
        }
        stx_event_free (&event);
    }
    if (memcmp (head, meta.head, STX_HEAD_SIZE) != 0)
        check.chain_ok = false;

    //  A key not in the log may predate it: a replica's log starts where
    //  its last snapshot ended. Then the catalogue must hold it, sequenced
    //  below the log and once (version 1: each key is published once)
    if (must)
        for (void *item = zhashx_first (must); item; item = zhashx_next (must)) {
            const char *key = (const char *) zhashx_cursor (must);
            if (zhashx_lookup (found, key))
                continue;
            Stemx__Event *event = NULL;
            if (meta.log_first > 1 && stx_txn_get (txn, key, &event) == STX_OK
            &&  event->seq < meta.log_first) {
                if (event->version != 1) {
                    fprintf (stderr, "%s: %s at version %" PRIu64 "\n", dir, key,
                             event->version);
                    check.dup++;
                }
            }
            else
            if (check.lost++ < 10)
                fprintf (stderr, "%s: %s is missing (log %" PRIu64 "..%" PRIu64 ")\n", dir,
                         key, meta.log_first, meta.seq);
            stx_event_free (&event);
        }
    stx_txn_abort (&txn);
    stx_store_destroy (&store);

    if (acked)
        for (void *item = zhashx_first (acked); item; item = zhashx_next (acked)) {
            const char *key = (const char *) zhashx_cursor (acked);
            s_found_t *where = (s_found_t *) zhashx_lookup (found, key);
            if (where && where->seq != (uint64_t) (uintptr_t) item) {
                if (check.mismatched++ < 10)
                    fprintf (stderr, "%s: %s acked at seq %" PRIu64 ", in the log at %" PRIu64
                             "\n", dir, key, (uint64_t) (uintptr_t) item, where->seq);
            }
        }
    zhashx_destroy (&ids);
    zhashx_destroy (&found);
    return check;
}

static void
s_assert_check (const check_t *check, const char *what)
{
    if (check->lost || check->dup || check->mismatched || !check->chain_ok)
        fail_msg ("%s: lost=%zu dup=%zu mismatched=%zu chain=%s", what, check->lost,
                  check->dup, check->mismatched, check->chain_ok? "ok": "BROKEN");
}


//  ---------------------------------------------------------------------
//  Publishing streams: one `stemx publish --json` at a time per stream

typedef struct {
    zhashx_t *attempted;        //  key -> "1": handed to a CLI
    zhashx_t *acked;            //  key -> seq the CLI reported (uintptr_t)
    zhashx_t *claimed;          //  key -> "1": acked, or said to be in the outbox
} ledger_t;

static void
s_ledger_init (ledger_t *ledger)
{
    ledger->attempted = zhashx_new ();
    ledger->acked = zhashx_new ();
    ledger->claimed = zhashx_new ();
}

static void
s_ledger_destroy (ledger_t *ledger)
{
    zhashx_destroy (&ledger->attempted);
    zhashx_destroy (&ledger->acked);
    zhashx_destroy (&ledger->claimed);
}

typedef struct {
    world_t *world;
    ledger_t *ledger;
    int node;                   //  the agent it publishes through
    char tag [16];              //  keys are S_PREFIX TAG "-" N
    const char *owner;
    int batch;                  //  events per CLI
    int limit;                  //  stop after this many events (0 = no limit)
    const char *timeout;        //  the CLI's --timeout
    bool allow_storage;         //  R_STORAGE refusals are expected (test e)
    bool soak;                  //  any exit status may come (test f): count each
    int next;                   //  next event number
    int run_first;              //  the running CLI's first event number
    size_t exits [5];           //  test f: CLIs that exited 0..4
    pid_t pid;                  //  the running CLI, 0 if none
    int64_t started;            //  when it started
    int runs;                   //  CLIs started
    int64_t last_done_start;    //  start time of the last CLI collected
    size_t acked;               //  events accepted
    size_t storage_refused;     //  R_STORAGE refusals
    bool storage_full;          //  one of them said "storage full"
    char storage_text [256];
    size_t failures;            //  CLIs that exited non-zero otherwise
    char file [PATH_MAX + 64], out [PATH_MAX + 64], err [PATH_MAX + 64];
} stream_t;

static void
s_stream_init (stream_t *self, world_t *world, ledger_t *ledger, int node, const char *tag,
               const char *owner, int batch, const char *timeout)
{
    memset (self, 0, sizeof *self);
    self->world = world;
    self->ledger = ledger;
    self->node = node;
    snprintf (self->tag, sizeof self->tag, "%s", tag);
    self->owner = owner;
    self->batch = batch;
    self->timeout = timeout;
    snprintf (self->file, sizeof self->file, "%s/stream-%s.json", world->dir, tag);
    snprintf (self->out, sizeof self->out, "%s/stream-%s.out", world->dir, tag);
    snprintf (self->err, sizeof self->err, "%s/stream-%s.err", world->dir, tag);
}

//  A small valid initiative owned by owner.
static json_t *
s_entry (const char *key, const char *owner)
{
    return json_pack ("{s:s, s:s, s:s, s:[s], s:{s:s}, s:s}", "id", key,
                      "title", key, "owner", owner, "od_codes", "OD 1.1.1",
                      "period", "start", "2026-01-01", "status", "running");
}

//  Run argv with stdout and stderr into files; returns the pid.
static pid_t
s_spawn (const char *const argv [], const char *out_path, const char *err_path)
{
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int null = open ("/dev/null", O_RDONLY);
        if (out < 0 || err < 0 || null < 0)
            _exit (126);
        dup2 (out, STDOUT_FILENO);
        dup2 (err, STDERR_FILENO);
        dup2 (null, STDIN_FILENO);
        execv (argv [0], (char *const *) argv);
        _exit (127);
    }
    return pid;
}

//  Write count events (numbers first..) of tag into path; record them as
//  attempted in ledger (if not NULL) and in keys (if not NULL).
static void
s_write_batch (const char *path, const char *tag, const char *owner, int first, int count,
               ledger_t *ledger, zhashx_t *keys)
{
    json_t *array = json_array ();
    for (int n = first; n < first + count; n++) {
        char key [64];
        snprintf (key, sizeof key, S_PREFIX "%s-%d", tag, n);
        json_array_append_new (array, s_entry (key, owner));
        if (ledger)
            zhashx_update (ledger->attempted, key, (void *) "1");
        if (keys)
            zhashx_update (keys, key, (void *) "1");
    }
    assert_int_equal (json_dump_file (array, path, 0), 0);
    json_decref (array);
}

static pid_t
s_publish_start (world_t *world, int node, const char *file, const char *timeout,
                 const char *out, const char *err)
{
    char prog [PATH_MAX + 8];
    snprintf (prog, sizeof prog, "%s/stemx", world->bin);
    const char *argv [] = { prog, "--data", world->node [node], "publish", file, "--json",
                            "--timeout", timeout, NULL };
    return s_spawn (argv, out, err);
}

static void
s_stream_start (stream_t *self)
{
    int count = self->batch;
    if (self->limit && self->next + count > self->limit)
        count = self->limit - self->next;
    if (count <= 0)
        return;
    s_write_batch (self->file, self->tag, self->owner, self->next, count, self->ledger, NULL);
    self->run_first = self->next;
    self->next += count;
    self->started = zclock_mono ();
    self->runs++;
    self->pid = s_publish_start (self->world, self->node, self->file, self->timeout,
                                 self->out, self->err);
}

//  Read what a finished CLI printed: every accepted key into the ledger.
static void
s_stream_collect (stream_t *self, int status)
{
    char *text = stx_read_file (self->out);
    json_t *rows = text? json_loads (text, 0, NULL): NULL;
    free (text);
    size_t i;
    json_t *row;
    json_array_foreach (rows, i, row) {
        const char *key = json_string_value (json_object_get (row, "key"));
        const char *result = json_string_value (json_object_get (row, "result"));
        assert_non_null (key);
        assert_non_null (result);
        if (strcmp (result, "accepted") == 0) {
            json_int_t seq = json_integer_value (json_object_get (row, "seq"));
            assert_true (seq > 0);
            zhashx_update (self->ledger->acked, key, (void *) (uintptr_t) seq);
            zhashx_update (self->ledger->claimed, key, (void *) "1");
            self->acked++;
            continue;
        }
        const char *reason = json_string_value (json_object_get (row, "reason"));
        const char *why = json_string_value (json_object_get (row, "text"));
        if (self->allow_storage && reason && strcmp (reason, "R_STORAGE") == 0) {
            self->storage_refused++;
            if (why && strstr (why, "storage full")) {
                self->storage_full = true;
                snprintf (self->storage_text, sizeof self->storage_text, "%s", why);
            }
        }
        else
            fail_msg ("%s refused: %s %s", key, reason? reason: "?", why? why: "");
    }
    json_decref (rows);
    int code = WIFEXITED (status)? WEXITSTATUS (status): -1;
    if (self->soak && code >= 0 && code <= 4 && code != 2) {
        //  3: "queued, not acked" - a claim that the events are in the
        //  agent's durable outbox, so they must land; 4 ("not stored")
        //  and 1 (no agent, refused) claim nothing
        self->exits [code]++;
        for (int n = self->run_first; code == 3 && n < self->next; n++) {
            char key [64];
            snprintf (key, sizeof key, S_PREFIX "%s-%d", self->tag, n);
            zhashx_update (self->ledger->claimed, key, (void *) "1");
        }
        self->last_done_start = self->started;
        return;
    }
    bool clean = code == 0;
    if (!clean && !self->storage_refused) {
        char *err = stx_read_file (self->err);
        fprintf (stderr, "stream %s: the CLI exited with status %d: %s", self->tag, status,
                 err? err: "");
        free (err);
        self->failures++;
    }
    self->last_done_start = self->started;
}

//  Reap the stream's CLI if it finished; start the next if go. Returns
//  true while a CLI runs.
static bool
s_stream_pump (stream_t *self, bool go)
{
    if (self->pid > 0) {
        int status;
        pid_t done = waitpid (self->pid, &status, WNOHANG);
        if (done == 0)
            return true;
        assert_int_equal (done, self->pid);
        self->pid = 0;
        s_stream_collect (self, status);
    }
    if (go)
        s_stream_start (self);
    return self->pid > 0;
}

static size_t
s_pump (stream_t *streams, size_t count, bool go)
{
    size_t running = 0;
    for (size_t index = 0; index < count; index++)
        running += s_stream_pump (&streams [index], go);
    return running;
}

//  Let every stream's CLI finish (starting no new one), then wait until
//  the outboxes of agents 1..nodes-1 are empty; returns the broker's seq
//  then: nothing more can be sequenced, every replica must reach it.
static uint64_t
s_settle (world_t *world, stream_t *streams, size_t count, int nodes)
{
    int64_t deadline = zclock_mono () + S_SETTLE_MS;
    while (s_pump (streams, count, false)) {
        if (zclock_mono () > deadline)
            fail_msg ("publishing CLIs still running after %d s; logs in %s",
                      S_SETTLE_MS / 1000, world->dir);
        zclock_sleep (S_POLL_MS * 4);
    }
    for (int node = 1; node < nodes; node++)
        while (s_outbox (world->node [node], NULL) > 0) {
            if (zclock_mono () > deadline)
                fail_msg ("node %d's outbox still holds %" PRIu64 " events; logs in %s", node,
                          s_outbox (world->node [node], NULL), world->dir);
            zclock_sleep (S_POLL_MS * 4);
        }
    return s_seq (world->node [0]);
}

static size_t
s_failures (stream_t *streams, size_t count)
{
    size_t failures = 0;
    for (size_t index = 0; index < count; index++)
        failures += streams [index].failures;
    return failures;
}


//  ---------------------------------------------------------------------
//  Set-up

static const char *
s_write_config (world_t *self, const char *name, const char *text)
{
    static char path [PATH_MAX + 64];
    snprintf (path, sizeof path, "%s/%s", self->dir, name);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    return path;
}

//  The fault tests measure durability and convergence, not the rate
//  limiter (test_security does): tests b and e publish faster than the
//  default allowance, so limits/rate = 0 for all but the soak (g).
#define S_CONFIG_NO_RATE "limits\n    rate = 0\n"

//  A broker with config text, and agents 1..agents, agent n hosting the
//  key of s_orgs [n - 1].
static world_t *
s_world (const char *config_text, int agents)
{
    world_t *self = stx_testnet_new ();
    for (int n = 0; n < 4; n++)
        stx_testnet_key (self, s_orgs [n], s_pillars [n],
                         n == 3? "admin, publisher, reader": "publisher, reader");
    stx_testnet_start_broker (self, s_write_config (self, "broker.cfg", config_text));
    for (int n = 1; n <= agents; n++) {
        char name [16];
        snprintf (name, sizeof name, "agent%d", n);
        const char *orgs [] = { s_orgs [n - 1], NULL };
        stx_testnet_start_agent (self, n, name, orgs);
    }
    return self;
}

static int
s_setup_three (void **state)
{
    *state = s_world (S_CONFIG_NO_RATE, 3);
    return 0;
}

static int
s_setup_two (void **state)
{
    *state = s_world (S_CONFIG_NO_RATE, 2);
    return 0;
}

//  Set by each test as its last step: a test that failed keeps its
//  folder (processes' logs and data) for a post-mortem
static bool s_passed;

static int
s_teardown (void **state)
{
    world_t *self = (world_t *) *state;
    bool keep = !s_passed && !getenv ("STEMX_TEST_KEEP");
    if (keep)
        setenv ("STEMX_TEST_KEEP", "1", 1);
    //  A test that failed may leave an agent stopped
    for (int n = 0; n < STX_TESTNET_NODES; n++)
        if (self->pid [n] > 0)
            kill (self->pid [n], SIGCONT);
    stx_testnet_destroy (&self);
    if (keep)
        unsetenv ("STEMX_TEST_KEEP");
    s_passed = false;
    return 0;
}


//  ---------------------------------------------------------------------
//  a. kill -9 the broker 10 times during a steady stream from 3 agents

#define A_CYCLES 10

static void
test_broker_kill (void **state)
{
    world_t *self = (world_t *) *state;
    int64_t began = zclock_mono ();
    ledger_t ledger;
    s_ledger_init (&ledger);
    //  A steady stream per agent, and per agent one more that publishes
    //  only while the broker is down
    stream_t streams [6];
    for (int n = 0; n < 6; n++) {
        char tag [8];
        snprintf (tag, sizeof tag, n < 3? "a%d": "a%do", n % 3 + 1);
        s_stream_init (&streams [n], self, &ledger, n % 3 + 1, tag, s_orgs [n % 3],
                       n < 3? 10: 5, "60");
    }
    int64_t converge_max = 0, converge_sum = 0, down_sum = 0;
    uint64_t in_flight_sum = 0;
    size_t acked_at_kill = 0;
    for (int cycle = 1; cycle <= A_CYCLES; cycle++) {
        //  The stream runs until the broker has sequenced a varying
        //  number of new events and some publish is in flight (queued in
        //  an agent's outbox, not yet acked), so the kill lands mid-publish
        uint64_t target = s_seq (self->node [0]) + 20 + (uint64_t) (cycle * 17) % 40;
        int64_t deadline = zclock_mono () + 60000;
        uint64_t in_flight = 0;
        while (true) {
            s_pump (streams, 3, true);
            if (s_seq (self->node [0]) >= target) {
                in_flight = 0;
                for (int node = 1; node <= 3; node++)
                    in_flight += s_outbox (self->node [node], NULL);
                if (in_flight > 0)
                    break;
            }
            if (zclock_mono () > deadline)
                fail_msg ("cycle %d: the broker did not reach seq %" PRIu64 " with a publish "
                          "in flight", cycle, target);
            zclock_sleep (1);
        }
        in_flight_sum += in_flight;

        //  What the publishers saw acked must be on disk when the broker dies
        zhashx_t *acked = zhashx_dup (ledger.acked);
        int status = stx_testnet_stop (self, 0, SIGKILL);
        assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
        int64_t killed = zclock_mono ();
        check_t check = s_check (self->node [0], acked, acked);
        s_assert_check (&check, "after kill -9");
        acked_at_kill = zhashx_size (acked);
        zhashx_destroy (&acked);

        //  Every other cycle the broker stays down until every agent has
        //  noticed (status "connected": false, after 3 s of silence) and
        //  holds a publish made during the outage in its outbox
        if (cycle % 2 == 0) {
            int runs [3];
            for (int n = 0; n < 3; n++)
                runs [n] = streams [n + 3].runs;
            deadline = zclock_mono () + 60000;
            while (true) {
                s_pump (streams, 3, true);
                bool all = true;
                for (int n = 0; n < 3; n++) {
                    s_stream_pump (&streams [n + 3], streams [n + 3].runs == runs [n]);
                    all = all && streams [n + 3].runs > runs [n]
                              && s_outbox (self->node [n + 1], NULL) > 0;
                }
                for (int n = 1; n <= 3 && all; n++) {
                    json_t *status = stx_testnet_status (self, n);
                    all = json_is_false (json_object_get (status, "connected"));
                    json_decref (status);
                }
                if (all)
                    break;
                if (zclock_mono () > deadline) {
                    for (int n = 0; n < 3; n++) {
                        json_t *status = stx_testnet_status (self, n + 1);
                        char *text = status? json_dumps (status, JSON_COMPACT): NULL;
                        fprintf (stderr, "agent %d: outage publish %s, outbox %" PRIu64
                                 ", status %s\n", n + 1, streams [n + 3].runs > runs [n]
                                 ? "started": "not started", s_outbox (self->node [n + 1], NULL),
                                 text? text: "(none)");
                        free (text);
                        json_decref (status);
                    }
                    fail_msg ("cycle %d: the agents did not notice the outage; logs in %s",
                              cycle, self->dir);
                }
                zclock_sleep (S_POLL_MS * 10);
            }
        }
        //  Back on the same endpoints; each stream goes on until it has
        //  had a publish started after the restart answered
        stx_testnet_restart_broker (self);
        int64_t restarted = zclock_mono ();
        down_sum += restarted - killed;
        deadline = zclock_mono () + 60000;
        while (true) {
            bool all = true;
            for (int n = 0; n < 3; n++) {
                bool done = streams [n].last_done_start > restarted;
                s_stream_pump (&streams [n], !done);
                s_stream_pump (&streams [n + 3], false);
                all = all && done;
            }
            if (all)
                break;
            if (zclock_mono () > deadline)
                fail_msg ("cycle %d: publishing did not resume within 60 s; logs in %s",
                          cycle, self->dir);
            zclock_sleep (S_POLL_MS);
        }
        uint64_t want = s_settle (self, streams, 6, 4);
        stx_testnet_wait_converged (self, 4, (long long) want);
        int64_t converged = zclock_mono () - restarted;
        for (int node = 1; node <= 3; node++)
            assert_int_equal (s_outbox_rejected (self->node [node]), 0);
        converge_sum += converged;
        if (converged > converge_max)
            converge_max = converged;
        check = s_check (self->node [0], ledger.attempted, ledger.acked);
        s_assert_check (&check, "after restart");
        printf ("  a: cycle %d: killed at seq>=%" PRIu64 " with %" PRIu64 " events in flight (%zu"
                " acked so far), down %" PRId64 " ms, converged at %" PRIu64 " in %" PRId64
                " ms\n", cycle, target, in_flight, acked_at_kill, restarted - killed, want,
                converged);
        fflush (stdout);
    }
    //  Every replica's log passes the same check as the broker's
    check_t check = s_check (self->node [0], ledger.attempted, ledger.acked);
    for (int node = 1; node <= 3; node++) {
        check_t replica = s_check (self->node [node], ledger.attempted, NULL);
        s_assert_check (&replica, "replica");
    }
    printf ("FAULT a: cycles=%d acked=%zu published=%zu lost=%zu dup=%zu "
            "converge_ms_max=%" PRId64 " converge_ms_mean=%" PRId64 " down_ms_mean=%" PRId64
            " in_flight_at_kills=%" PRIu64 " seq=%" PRIu64 " cli_failures=%zu elapsed_s=%"
            PRId64 "\n", A_CYCLES,
            zhashx_size (ledger.acked), zhashx_size (ledger.attempted), check.lost, check.dup,
            converge_max, converge_sum / A_CYCLES, down_sum / A_CYCLES, in_flight_sum, check.seq,
            s_failures (streams, 6), (zclock_mono () - began) / 1000);
    fflush (stdout);
    s_assert_check (&check, "at the end");
    assert_int_equal (check.events, zhashx_size (ledger.attempted));
    assert_int_equal (s_failures (streams, 6), 0);
    s_ledger_destroy (&ledger);
    s_passed = true;
}


//  ---------------------------------------------------------------------
//  b. kill -9 an agent mid-publish, and a replica mid-apply

#define B_ROUNDS 6
#define B_EVENTS 500            //  the CLI sends them as PUBLISHes of 256 + 244

static void
test_agent_kill (void **state)
{
    world_t *self = (world_t *) *state;
    int64_t began = zclock_mono ();
    int64_t converge_max = 0;
    size_t queued_total = 0, landed_total = 0;
    char detail [1024] = "";
    size_t used = 0;
    ledger_t ledger;            //  acked: what a CLI saw acked before the kill
    s_ledger_init (&ledger);
    for (int round = 0; round < B_ROUNDS; round++) {
        uint64_t base = s_seq (self->node [0]);
        char tag [8], file [PATH_MAX + 32], out [PATH_MAX + 32], err [PATH_MAX + 32];
        snprintf (tag, sizeof tag, "b%d", round);
        snprintf (file, sizeof file, "%s/%s.json", self->dir, tag);
        snprintf (out, sizeof out, "%s/%s.out", self->dir, tag);
        snprintf (err, sizeof err, "%s/%s.err", self->dir, tag);
        s_write_batch (file, tag, s_orgs [0], 0, B_EVENTS, &ledger, NULL);
        pid_t cli = s_publish_start (self, 1, file, "30", out, err);

        //  Kill the publishing agent (1) while the publish is in flight,
        //  at one of four points: its outbox holds the first PUBLISH;
        //  the broker sequenced it (its ACK may be in flight); the second
        //  PUBLISH is queued; the broker sequenced that too. Kill the
        //  replica (2) as soon as it applied any of them (even rounds) or
        //  the first PUBLISH (odd rounds). The publisher applies its own
        //  events too, so it may die mid-apply as well.
        zhashx_t *queued = zhashx_new ();
        bool publisher_killed = false, replica_killed = false;
        uint64_t replica_at = 0, pending_at_kill = 0, broker_at_kill = 0;
        int64_t deadline = zclock_mono () + 60000;
        while (!publisher_killed || !replica_killed) {
            if (zclock_mono () > deadline)
                fail_msg ("round %d: nothing to kill within 60 s; logs in %s", round, self->dir);
            if (!publisher_killed) {
                uint64_t pending = s_outbox (self->node [1], NULL);
                uint64_t seq = s_seq (self->node [0]);
                int status;
                bool cli_done = waitpid (cli, &status, WNOHANG) == cli;
                if (cli_done)
                    cli = 0;
                bool hit = round % 4 == 0? pending > 0
                         : round % 4 == 1? seq > base
                         : round % 4 == 2? seq >= base + 256 && pending > 0
                         : seq > base + 256;
                if (hit || cli_done) {
                    stx_testnet_stop (self, 1, SIGKILL);
                    publisher_killed = true;
                    broker_at_kill = s_seq (self->node [0]) - base;
                    if (cli > 0) {
                        kill (cli, SIGKILL);
                        waitpid (cli, &status, 0);
                    }
                    //  What the CLI saw acked, and what the dead agent queued
                    char *text = stx_read_file (out);
                    json_t *rows = text? json_loads (text, 0, NULL): NULL;
                    free (text);
                    size_t i;
                    json_t *row;
                    json_array_foreach (rows, i, row)
                        if (strcmp (json_string_value (json_object_get (row, "result")),
                                    "accepted") == 0)
                            zhashx_update (ledger.acked, json_string_value (
                                json_object_get (row, "key")), (void *) (uintptr_t)
                                json_integer_value (json_object_get (row, "seq")));
                    json_decref (rows);
                    pending_at_kill = s_outbox (self->node [1], queued);
                    stx_testnet_restart_agent (self, 1, "agent1");
                }
            }
            if (!replica_killed) {
                uint64_t seq = s_seq (self->node [2]);
                if (seq > base + (round % 2? 255: 0)) {
                    stx_testnet_stop (self, 2, SIGKILL);
                    replica_killed = true;
                    replica_at = seq - base;
                }
            }
            zclock_sleep (1);
        }
        int64_t restarted = zclock_mono ();
        stx_testnet_restart_agent (self, 2, "agent2");

        uint64_t want = s_settle (self, NULL, 0, 3);
        stx_testnet_wait_converged (self, 3, (long long) want);
        int64_t converged = zclock_mono () - restarted;
        if (converged > converge_max)
            converge_max = converged;
        assert_int_equal (s_outbox_rejected (self->node [1]), 0);

        //  Everything the agent had queued landed, once; nothing twice
        check_t check = s_check (self->node [0], queued, ledger.acked);
        s_assert_check (&check, "agent kill");
        size_t landed = (size_t) (want - base);
        assert_true (landed >= zhashx_size (queued));
        queued_total += pending_at_kill;
        landed_total += landed;
        used += snprintf (detail + used, sizeof detail - used,
                          "%s[round %d: publisher killed at broker+%" PRIu64 " with %" PRIu64
                          " queued, replica at +%" PRIu64 ", %zu landed]",
                          round? "\n  b: ": "", round, broker_at_kill, pending_at_kill,
                          replica_at, landed);
        zhashx_destroy (&queued);
    }
    //  The agents killed mid-apply have sound logs too
    for (int node = 1; node <= 2; node++) {
        check_t replica = s_check (self->node [node], NULL, NULL);
        s_assert_check (&replica, "replica");
    }
    check_t check = s_check (self->node [0], NULL, ledger.acked);
    printf ("FAULT b: rounds=%d events_per_round=%d queued_at_kill=%zu landed=%zu lost=%zu "
            "dup=%zu converge_ms_max=%" PRId64 " elapsed_s=%" PRId64 "\n  b: %s\n", B_ROUNDS,
            B_EVENTS, queued_total, landed_total, check.lost, check.dup, converge_max,
            (zclock_mono () - began) / 1000, detail);
    fflush (stdout);
    s_assert_check (&check, "at the end");
    assert_int_equal (check.events, landed_total);
    s_ledger_destroy (&ledger);
    s_passed = true;
}


//  ---------------------------------------------------------------------
//  c. a lossy proxy between an agent and the broker

#define C_EVENTS 40             //  per stream

static int
s_setup_lossy (void **state)
{
    world_t *self = stx_testnet_new ();
    //  CURVE ends at the broker: a proxy can only see (and mangle) plain
    //  frames, so this test runs broker and agents with --insecure
    self->insecure = true;
    stx_testnet_start_broker (self, s_write_config (self, "broker.cfg", S_CONFIG_NO_RATE));
    *state = self;
    return 0;
}

static void
test_lossy_proxy (void **state)
{
    world_t *self = (world_t *) *state;
    int64_t began = zclock_mono ();
    stx_lossyproxy_config_t config = {
        .request = self->request, .updates = self->updates,
        .drop = 10, .duplicate = 5, .reorder = 5, .delay = 5,
        .delay_ms = 500, .reorder_ms = 300, .seed = 20260601
    };
    zactor_t *proxy = stx_lossyproxy_new (&config);
    assert_non_null (proxy);
    zstr_send (proxy, "ENDPOINTS");
    char *request = NULL, *updates = NULL;
    assert_int_equal (zstr_recvx (proxy, &request, &updates, NULL), 2);
    stx_testnet_route_agent (self, 1, request, updates);
    zstr_free (&request);
    zstr_free (&updates);
    const char *none [] = { NULL };
    stx_testnet_start_agent (self, 1, "lossy", none);
    stx_testnet_start_agent (self, 2, "direct", none);
    //  Without a registry, the parties an entry names are known from their
    //  organisation entries only: those go first, over the direct agent,
    //  and both replicas hold them before the lossy agent fills pillars in
    json_t *orgs = json_array ();
    for (int n = 0; n < 3; n++)
        json_array_append_new (orgs, json_pack ("{s:s, s:s, s:s, s:s, s:s}", "id", s_orgs [n],
                                                "name", s_orgs [n], "helix_pillar",
                                                s_pillars [n], "kind", "agency",
                                                "region", "flanders"));
    const char *path = stx_testnet_write_json (self, "orgs.json", orgs);
    json_decref (orgs);
    assert_int_equal (stx_testnet_cli (self, 2, NULL, NULL, "publish", path, NULL), 0);
    stx_testnet_wait_converged (self, 3, 3);

    //  Two streams through the lossy agent, one through the direct one
    ledger_t ledger;
    s_ledger_init (&ledger);
    stream_t streams [3];
    s_stream_init (&streams [0], self, &ledger, 1, "c1", "org:vdab", 10, "60");
    s_stream_init (&streams [1], self, &ledger, 1, "c2", "org:agoria", 10, "60");
    s_stream_init (&streams [2], self, &ledger, 2, "c3", "org:ugent", 10, "60");
    for (int n = 0; n < 3; n++)
        streams [n].limit = C_EVENTS;
    int64_t deadline = zclock_mono () + 120000;
    while (s_pump (streams, 3, true)) {
        if (zclock_mono () > deadline)
            fail_msg ("publishing through the proxy took over 120 s; logs in %s", self->dir);
        zclock_sleep (S_POLL_MS * 4);
    }
    int64_t published = zclock_mono ();
    uint64_t want = s_settle (self, streams, 3, 3);
    stx_testnet_wait_converged (self, 3, (long long) want);
    int64_t converged = zclock_mono () - published;

    check_t check = s_check (self->node [0], ledger.attempted, ledger.acked);
    check_t lossy = s_check (self->node [1], ledger.attempted, NULL);
    for (int node = 1; node <= 2; node++)
        assert_int_equal (s_outbox_rejected (self->node [node]), 0);
    zstr_send (proxy, "STATS");
    char *stats = zstr_recv (proxy);
    zstr_send (proxy, "TOTALS");
    char *forwarded = NULL, *dropped = NULL, *duplicated = NULL, *reordered = NULL;
    char *delayed = NULL;
    assert_int_equal (zstr_recvx (proxy, &forwarded, &dropped, &duplicated, &reordered,
                                  &delayed, NULL), 5);
    printf ("FAULT c: events=%zu acked=%zu lost=%zu dup=%zu converge_ms=%" PRId64
            " publish_ms=%" PRId64 " messages=%s dropped=%s duplicated=%s reordered=%s"
            " delayed=%s cli_failures=%zu\n  c: %s\n",
            zhashx_size (ledger.attempted), zhashx_size (ledger.acked), check.lost, check.dup,
            converged, published - began, forwarded, dropped, duplicated, reordered, delayed,
            s_failures (streams, 3), stats);
    fflush (stdout);
    s_assert_check (&check, "lossy proxy");
    s_assert_check (&lossy, "the proxied replica");
    assert_int_equal (check.events, zhashx_size (ledger.attempted));
    //  The proxy did its job: every kind of fault happened
    assert_true (atoi (dropped) > 0 && atoi (duplicated) > 0);
    assert_true (atoi (reordered) > 0 && atoi (delayed) > 0);
    zstr_free (&stats);
    zstr_free (&forwarded);
    zstr_free (&dropped);
    zstr_free (&duplicated);
    zstr_free (&reordered);
    zstr_free (&delayed);
    //  Agents first, while the proxy still carries their goodbyes
    stx_testnet_stop (self, 1, SIGTERM);
    zactor_destroy (&proxy);
    s_ledger_destroy (&ledger);
    s_passed = true;
}


//  ---------------------------------------------------------------------
//  d. one subscriber stopped for 30 s while the others publish

#define D_STOP_MS   30000
#define D_EVENTS    2400        //  published by agents 1 and 2 during the stop
#define D_BATCH     50

static void
test_stopped_agent (void **state)
{
    world_t *self = (world_t *) *state;
    ledger_t ledger;
    s_ledger_init (&ledger);
    stream_t streams [2];
    s_stream_init (&streams [0], self, &ledger, 1, "d1", s_orgs [0], D_BATCH, "60");
    s_stream_init (&streams [1], self, &ledger, 2, "d2", s_orgs [1], D_BATCH, "60");
    //  Everyone active first
    s_pump (streams, 2, true);
    stx_testnet_wait_converged (self, 4, (long long) s_settle (self, streams, 2, 3));

    uint64_t before = s_seq (self->node [0]);
    assert_int_equal (kill (self->pid [3], SIGSTOP), 0);
    int64_t stopped = zclock_mono ();
    //  The others publish D_EVENTS, spread over the stop
    int first [2];
    for (int n = 0; n < 2; n++) {
        first [n] = streams [n].next;
        streams [n].limit = first [n] + D_EVENTS / 2;
    }
    int64_t spread = D_STOP_MS - 3000;
    while (true) {
        int64_t elapsed = zclock_mono () - stopped;
        int allowed = (int) (D_EVENTS * (elapsed < spread? elapsed: spread) / spread);
        int started = streams [0].next - first [0] + streams [1].next - first [1];
        size_t running = s_pump (streams, 2, started < allowed);
        if (elapsed >= D_STOP_MS && running == 0 && started >= D_EVENTS)
            break;
        if (elapsed > D_STOP_MS + 60000)
            fail_msg ("the others did not publish %d events; logs in %s", D_EVENTS, self->dir);
        zclock_sleep (S_POLL_MS * 2);
    }
    //  ... and replicate among themselves meanwhile
    uint64_t want = s_settle (self, streams, 2, 3);
    stx_testnet_wait_converged (self, 3, (long long) want);
    assert_int_equal (s_seq (self->node [3]), before);
    int64_t stop_ms = zclock_mono () - stopped;

    assert_int_equal (kill (self->pid [3], SIGCONT), 0);
    int64_t resumed = zclock_mono ();
    stx_testnet_wait_converged (self, 4, (long long) want);
    int64_t catchup = zclock_mono () - resumed;

    check_t check = s_check (self->node [0], ledger.attempted, ledger.acked);
    check_t stalled = s_check (self->node [3], ledger.attempted, NULL);
    for (int node = 1; node <= 2; node++)
        assert_int_equal (s_outbox_rejected (self->node [node]), 0);
    printf ("FAULT d: stopped_ms=%" PRId64 " published_while_stopped=%" PRIu64 " acked=%zu "
            "lost=%zu dup=%zu catchup_ms=%" PRId64 " cli_failures=%zu\n", stop_ms,
            want - before, zhashx_size (ledger.acked), check.lost, check.dup, catchup,
            s_failures (streams, 2));
    fflush (stdout);
    s_assert_check (&check, "broker");
    s_assert_check (&stalled, "the stopped replica");
    assert_true (want - before >= D_EVENTS);
    assert_int_equal (s_failures (streams, 2), 0);
    s_ledger_destroy (&ledger);
    s_passed = true;
}


//  ---------------------------------------------------------------------
//  e. an LMDB map that fills up, then is enlarged

#define E_MAP   "1M"

static int
s_setup_full (void **state)
{
    *state = s_world ("broker\n    map_size = " E_MAP "\n    map_max = " E_MAP "\n"
                      S_CONFIG_NO_RATE, 2);
    return 0;
}

static void
test_map_full (void **state)
{
    world_t *self = (world_t *) *state;
    ledger_t ledger;
    s_ledger_init (&ledger);
    stream_t stream;
    s_stream_init (&stream, self, &ledger, 1, "e1", s_orgs [0], 25, "30");
    stream.allow_storage = true;
    stream.limit = 20000;

    //  Publish until the broker says its storage is full
    int64_t deadline = zclock_mono () + 120000;
    while (s_stream_pump (&stream, !stream.storage_full) || !stream.storage_full) {
        if (!stream.pid && stream.next >= stream.limit)
            fail_msg ("%d events fit in a %s map: never full", stream.limit, E_MAP);
        if (zclock_mono () > deadline)
            fail_msg ("the map did not fill within 120 s; logs in %s", self->dir);
        zclock_sleep (S_POLL_MS);
    }
    size_t fitted = zhashx_size (ledger.acked);
    zhashx_t *acked = zhashx_dup (ledger.acked);

    //  The broker stays up, keeps its log sound and serves reads: the
    //  replica and an agent started now (a snapshot) reach its seq
    int status;
    assert_int_equal (waitpid (self->pid [0], &status, WNOHANG), 0);
    uint64_t full_seq = s_seq (self->node [0]);
    check_t check = s_check (self->node [0], acked, acked);
    s_assert_check (&check, "storage full");
    const char *orgs [] = { s_orgs [2], NULL };
    stx_testnet_start_agent (self, 3, "agent3", orgs);
    stx_testnet_wait_converged (self, 4, (long long) full_seq);
    uint64_t refused_pending = s_outbox (self->node [1], NULL);
    assert_true (refused_pending > 0);      //  kept for later, not rejected
    assert_int_equal (s_outbox_rejected (self->node [1]), 0);

    //  A larger map: the refused events land, new ones are accepted
    int64_t enlarged = zclock_mono ();
    assert_true (WIFEXITED (stx_testnet_stop (self, 0, SIGTERM)));
    const char *large = s_write_config (self, "broker-large.cfg",
                                        "broker\n    map_size = 64M\n    map_max = 64M\n"
                                        S_CONFIG_NO_RATE);
    assert_true (strlen (large) < sizeof self->config);
    memcpy (self->config, large, strlen (large) + 1);
    stx_testnet_restart_broker (self);
    stream.allow_storage = false;
    stream.limit = stream.next + 100;
    while (s_stream_pump (&stream, true))
        zclock_sleep (S_POLL_MS);
    uint64_t want = s_settle (self, &stream, 1, 4);
    stx_testnet_wait_converged (self, 4, (long long) want);
    int64_t converged = zclock_mono () - enlarged;

    check = s_check (self->node [0], ledger.attempted, ledger.acked);
    assert_int_equal (s_outbox_rejected (self->node [1]), 0);
    printf ("FAULT e: map=%s accepted_before_full=%zu full_at_seq=%" PRIu64
            " storage_refusals=%zu pending_while_full=%" PRIu64 " published=%zu acked=%zu"
            " lost=%zu dup=%zu converge_ms=%" PRId64 "\n  e: refusal text: %s\n", E_MAP,
            fitted, full_seq, stream.storage_refused, refused_pending,
            zhashx_size (ledger.attempted), zhashx_size (ledger.acked), check.lost, check.dup,
            converged, stream.storage_text);
    fflush (stdout);
    s_assert_check (&check, "after enlarging");
    assert_int_equal (check.events, zhashx_size (ledger.attempted));
    assert_int_equal (stream.failures, 0);
    zhashx_destroy (&acked);
    s_ledger_destroy (&ledger);
    s_passed = true;
}


//  ---------------------------------------------------------------------
//  f. An agent offline while the broker trims its log past the agent's
//  position comes back through a fresh snapshot

static int
s_setup_horizon (void **state)
{
    *state = s_world (S_CONFIG_NO_RATE "log\n    keep_events = 5\n    keep_days = 0\n", 2);
    return 0;
}

static void
test_offline_past_horizon (void **state)
{
    world_t *self = (world_t *) *state;
    char path [PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/horizon.json", self->dir);
    s_write_batch (path, "horizon", s_orgs [0], 0, 10, NULL, NULL);
    assert_int_equal (stx_testnet_cli (self, 1, NULL, NULL, "publish", path, NULL), 0);
    stx_testnet_wait_converged (self, 3, 10);

    assert_true (WIFEXITED (stx_testnet_stop (self, 2, SIGTERM)));
    s_write_batch (path, "horizon", s_orgs [0], 10, 40, NULL, NULL);
    assert_int_equal (stx_testnet_cli (self, 1, NULL, NULL, "publish", path, NULL), 0);
    //  The broker keeps 5 events: wait until agent2's next one is gone
    int64_t deadline = zclock_mono () + 30000;
    json_int_t log_first = 0;
    while (log_first <= 11 && zclock_mono () < deadline) {
        json_t *status = stx_testnet_status (self, 0);
        log_first = json_integer_value (json_object_get (status, "log_first"));
        json_decref (status);
        if (log_first <= 11)
            zclock_sleep (100);
    }
    assert_true (log_first > 11);

    stx_testnet_restart_agent (self, 2, "agent2");
    int64_t began = zclock_mono ();
    stx_testnet_wait_converged (self, 3, 50);
    //  Its log now starts where its snapshot ended, not at 11
    json_t *status = stx_testnet_status (self, 2);
    assert_true (json_integer_value (json_object_get (status, "log_first")) > 11);
    assert_int_equal (json_integer_value (json_object_get (status, "entries")), 50);
    json_decref (status);
    printf ("FAULT f: agent offline past the horizon (broker log_first %lld) converged by "
            "snapshot in %lld ms\n", (long long) log_first, (long long) (zclock_mono () - began));
    s_passed = true;
}

//  ---------------------------------------------------------------------
//  g. A soak: what each CLI said is true, through 15 cycles of kill -9 of
//  the broker, kill -9 of the publishing agent and SIGSTOP of it

#define G_CYCLES    15
#define G_RUN_MS    1500        //  publishing between faults
#define G_DOWN_MS   3500        //  longer than the CLIs' --timeout of 3 s

static int
s_setup_soak (void **state)
{
    *state = s_world ("", 2);           //  the default configuration
    return 0;
}

//  Keep the streams publishing for ms.
static void
s_pump_for (stream_t *streams, size_t count, int ms)
{
    int64_t until = zclock_mono () + ms;
    while (zclock_mono () < until) {
        s_pump (streams, count, true);
        zclock_sleep (S_POLL_MS);
    }
}

static void
test_soak (void **state)
{
    world_t *self = (world_t *) *state;
    ledger_t ledger;
    s_ledger_init (&ledger);
    stream_t streams [3];
    for (int n = 0; n < 3; n++) {
        char tag [8];
        snprintf (tag, sizeof tag, "g%d", n);
        s_stream_init (&streams [n], self, &ledger, 1, tag, s_orgs [0], 1, "3");
        streams [n].soak = true;
    }
    int kills [3] = { 0, 0, 0 };
    for (int cycle = 0; cycle < G_CYCLES; cycle++) {
        s_pump_for (streams, 3, G_RUN_MS);
        int fault = cycle % 3;
        kills [fault]++;
        if (fault == 0) {
            stx_testnet_stop (self, 0, SIGKILL);
            s_pump_for (streams, 3, G_DOWN_MS);
            stx_testnet_restart_broker (self);
        }
        else
        if (fault == 1) {
            stx_testnet_stop (self, 1, SIGKILL);
            s_pump_for (streams, 3, G_DOWN_MS);
            stx_testnet_restart_agent (self, 1, "agent1");
        }
        else {
            assert_int_equal (kill (self->pid [1], SIGSTOP), 0);
            s_pump_for (streams, 3, G_DOWN_MS);
            assert_int_equal (kill (self->pid [1], SIGCONT), 0);
        }
    }
    uint64_t want = s_settle (self, streams, 3, 3);
    stx_testnet_wait_converged (self, 3, (long long) want);

    //  Every event a CLI said was acked or queued is on every node once;
    //  what it said nothing about may or may not be
    size_t exits [5] = { 0 };
    for (int n = 0; n < 3; n++)
        for (int code = 0; code < 5; code++)
            exits [code] += streams [n].exits [code];
    check_t checks [3];
    for (int node = 0; node < 3; node++)
        checks [node] = s_check (self->node [node], ledger.claimed,
                                 node == 0? ledger.acked: NULL);
    printf ("FAULT g: cycles=%d (kill -9 broker %d, kill -9 agent %d, SIGSTOP agent %d) "
            "publishes=%zu acked=%zu queued=%zu unstored=%zu refused=%zu in_log=%zu "
            "lost=%zu dup=%zu\n", G_CYCLES, kills [0], kills [1], kills [2],
            zhashx_size (ledger.attempted), exits [0], exits [3], exits [4], exits [1],
            checks [0].events, checks [0].lost, checks [0].dup);
    fflush (stdout);
    s_assert_check (&checks [0], "broker");
    s_assert_check (&checks [1], "the publishing agent");
    s_assert_check (&checks [2], "the replica");
    assert_int_equal (s_outbox_rejected (self->node [1]), 0);
    assert_int_equal (s_failures (streams, 3), 0);
    //  The cycles did what they are for: acks, and claims of the outbox
    assert_true (exits [0] > 0);
    assert_true (exits [3] > 0);
    s_ledger_destroy (&ledger);
    s_passed = true;
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_broker_kill, s_setup_three, s_teardown),
        cmocka_unit_test_setup_teardown (test_agent_kill, s_setup_two, s_teardown),
        cmocka_unit_test_setup_teardown (test_lossy_proxy, s_setup_lossy, s_teardown),
        cmocka_unit_test_setup_teardown (test_stopped_agent, s_setup_three, s_teardown),
        cmocka_unit_test_setup_teardown (test_map_full, s_setup_full, s_teardown),
        cmocka_unit_test_setup_teardown (test_offline_past_horizon, s_setup_horizon, s_teardown),
        cmocka_unit_test_setup_teardown (test_soak, s_setup_soak, s_teardown),
    };
    //  STEMX_FAULT_TESTS=test_lossy_proxy (a cmocka pattern) runs a subset
    const char *only = getenv ("STEMX_FAULT_TESTS");
    if (only && *only)
        cmocka_set_test_filter (only);
    stx_testnet_filter ();
    return cmocka_run_group_tests (tests, NULL, NULL);
}
