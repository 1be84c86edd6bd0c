/*  =========================================================================
    bench_raw - the machine's limits, measured in the same run

    The figures stemx's own are compared against: what ZeroMQ moves over
    tcp loopback, what LMDB commits with a sync, what one fdatasync costs,
    what one core signs, verifies and hashes. Each is measured for a fixed
    short time or count, so the whole set takes a few seconds.
    ========================================================================= */

#define _GNU_SOURCE
#include <czmq.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"

bench_limits_t bench_limits;

#define S_MSG_SIZE   512
#define S_SIGNED     600

//  ---------------------------------------------------------------------
//  ZeroMQ: PUSH in this thread, PULL in another, messages per second

typedef struct {
    char endpoint [64];
    long count;
} s_pull_args_t;

static void *
s_puller (void *arg)
{
    s_pull_args_t *args = (s_pull_args_t *) arg;
    void *ctx = zsys_init ();
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    int hwm = 100000;
    zmq_setsockopt (pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_connect (pull, args->endpoint);
    char buffer [S_MSG_SIZE];
    for (long i = 0; i < args->count; i++)
        zmq_recv (pull, buffer, sizeof buffer, 0);
    zmq_close (pull);
    return NULL;
}

static double
s_zmq_rate (long count)
{
    void *ctx = zsys_init ();
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    int hwm = 100000, linger = 0;
    zmq_setsockopt (push, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (push, ZMQ_LINGER, &linger, sizeof linger);
    s_pull_args_t args = { "", count };
    if (zmq_bind (push, "tcp://127.0.0.1:*") != 0) {
        zmq_close (push);
        return 0;
    }
    size_t size = sizeof args.endpoint;
    zmq_getsockopt (push, ZMQ_LAST_ENDPOINT, args.endpoint, &size);
    pthread_t thread;
    pthread_create (&thread, NULL, s_puller, &args);
    char message [S_MSG_SIZE];
    memset (message, 'x', sizeof message);
    //  The first message waits for the connection: start the clock after it
    zmq_send (push, message, sizeof message, 0);
    double start = bench_now ();
    for (long i = 1; i < count; i++)
        zmq_send (push, message, sizeof message, 0);
    pthread_join (thread, NULL);
    double took = bench_now () - start;
    zmq_close (push);
    return (count - 1) / took;
}

//  ---------------------------------------------------------------------
//  LMDB: commits of one 512-byte put each, synced (the default)

static double
s_lmdb_rate (const char *dir, int count)
{
    MDB_env *env = NULL;
    MDB_dbi dbi;
    if (mdb_env_create (&env) || mdb_env_set_mapsize (env, 64 << 20)
    ||  mdb_env_open (env, dir, 0, 0600)) {
        mdb_env_close (env);
        return 0;
    }
    char value [S_MSG_SIZE];
    memset (value, 'v', sizeof value);
    double start = bench_now ();
    for (int i = 0; i < count; i++) {
        MDB_txn *txn;
        uint64_t key = __builtin_bswap64 ((uint64_t) i);
        MDB_val k = { sizeof key, &key }, v = { sizeof value, value };
        if (mdb_txn_begin (env, NULL, 0, &txn))
            break;
        if (mdb_dbi_open (txn, NULL, 0, &dbi) || mdb_put (txn, dbi, &k, &v, MDB_APPEND)) {
            mdb_txn_abort (txn);
            break;
        }
        if (mdb_txn_commit (txn))
            break;
    }
    double took = bench_now () - start;
    mdb_env_close (env);
    return count / took;
}

//  One small write + fdatasync, the best of a few (microseconds)
static double
s_fdatasync_us (const char *dir)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/sync", dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return 0;
    double best = 1e9;
    char block [512] = { 0 };
    for (int i = 0; i < 20; i++) {
        double start = bench_now ();
        if (pwrite (fd, block, sizeof block, 0) != sizeof block || fdatasync (fd) != 0)
            break;
        double took = bench_now () - start;
        if (took < best)
            best = took;
    }
    close (fd);
    return best * 1e6;
}

//  ---------------------------------------------------------------------
//  libsodium on one core

static void
s_crypto_rates (double seconds)
{
    unsigned char pk [crypto_sign_PUBLICKEYBYTES], sk [crypto_sign_SECRETKEYBYTES];
    unsigned char message [S_SIGNED], signature [crypto_sign_BYTES], hash [32];
    crypto_sign_keypair (pk, sk);
    randombytes_buf (message, sizeof message);
    long count = 0;
    double start = bench_now ();
    while (bench_now () - start < seconds)
        for (int i = 0; i < 100; i++, count++)
            crypto_sign_detached (signature, NULL, message, sizeof message, sk);
    bench_limits.sign_s = count / (bench_now () - start);
    count = 0;
    start = bench_now ();
    while (bench_now () - start < seconds)
        for (int i = 0; i < 100; i++, count++)
            if (crypto_sign_verify_detached (signature, message, sizeof message, pk) != 0)
                return;
    bench_limits.verify_s = count / (bench_now () - start);
    count = 0;
    start = bench_now ();
    while (bench_now () - start < seconds)
        for (int i = 0; i < 1000; i++, count++)
            crypto_hash_sha256 (hash, message, sizeof message);
    bench_limits.sha256_s = count / (bench_now () - start);
}

double
bench_crypto_bound (int replicas)
{
    if (bench_limits.sign_s <= 0 || bench_limits.verify_s <= 0)
        return 0;
    return bench_limits.cores
         / (1 / bench_limits.sign_s + (1 + replicas) / bench_limits.verify_s);
}

void
bench_raw_limits (const bench_opts_t *opts)
{
    bench_limits.cores = sysconf (_SC_NPROCESSORS_ONLN);
    if (sodium_init () < 0)
        fprintf (stderr, "stemx-bench: sodium_init failed\n");
    char dir [] = "/tmp/sxb.XXXXXX";
    if (!mkdtemp (dir)) {
        fprintf (stderr, "stemx-bench: mkdtemp failed\n");
        return;
    }
    bench_limits.zmq_msgs_s = s_zmq_rate (opts->quick? 200000: 2000000);
    bench_limits.lmdb_commits_s = s_lmdb_rate (dir, opts->quick? 200: 1000);
    bench_limits.fdatasync_us = s_fdatasync_us (dir);
    s_crypto_rates (opts->quick? 0.2: 1.0);
    bench_remove_tree (dir);

    bench_result ("raw", "zmq tcp 512 B push/pull", bench_limits.zmq_msgs_s, "msg/s",
                  0, "", "ok");
    bench_result ("raw", "lmdb synced commit, 1 put 512 B", bench_limits.lmdb_commits_s,
                  "commits/s", 0, "", "ok");
    bench_result ("raw", "fdatasync 512 B", bench_limits.fdatasync_us, "us", 0, "", "ok");
    bench_result ("raw", "ed25519 sign 600 B", bench_limits.sign_s, "/s/core", 0, "", "ok");
    bench_result ("raw", "ed25519 verify 600 B", bench_limits.verify_s, "/s/core", 0, "", "ok");
    bench_result ("raw", "sha256 600 B", bench_limits.sha256_s, "/s/core", 0, "", "ok");
    bench_result ("raw", "cores", bench_limits.cores, "", 0, "", "ok");
}
