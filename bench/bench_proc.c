/*  =========================================================================
    bench_proc - child processes, RSS sampling, folders and clocks

    DESIGN
    A workload's processes are children of stemx-bench, recorded in its
    bench_run_t so that bench_run_end can always kill them, whatever path
    the workload took. Peak memory of the daemons comes from a sampler
    thread that reads RssAnon from /proc/PID/status every 50 ms (the
    daemons never exit by themselves, so wait4's ru_maxrss would come too
    late, and it counts file-backed pages: LMDB's map would swamp it).
    Short-lived commands (the CLI) also get ru_maxrss from wait4. That
    figure includes what the child had between fork and exec, i.e. the
    pages of stemx-bench itself, so bench_spawn first hands freed heap back
    to the kernel (malloc_trim) and main reports the floor it leaves
    (bench_rss_floor: ru_maxrss of /bin/true started the same way).

    Threads: the sampler owns its table under a mutex; everything else
    runs on the main thread.
    ========================================================================= */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define S_SAMPLE_MS   50
#define S_SAMPLED_MAX 256

double
bench_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
bench_sleep_us (long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    nanosleep (&ts, NULL);
}

//  ---------------------------------------------------------------------
//  RSS sampler

typedef struct {
    pid_t pid;
    long peak_kb;
    bool live;
} s_sampled_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_sampled_t s_sampled [S_SAMPLED_MAX];
static int s_nsampled;
static volatile bool s_sampling;
static pthread_t s_sampler;

//  RssAnon of pid in KiB, or -1 if it is gone.
static long
s_rss_anon (pid_t pid)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    long kb = -1;
    while (fgets (line, sizeof line, file))
        if (sscanf (line, "RssAnon: %ld", &kb) == 1)
            break;
    fclose (file);
    return kb;
}

double
bench_cpu_s (pid_t pid)
{
    char path [64], line [1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char *got = fgets (line, sizeof line, file);
    fclose (file);
    //  The command name (field 2) may hold spaces: count from its ')'
    char *rest = got? strrchr (line, ')'): NULL;
    unsigned long utime, stime;
    if (!rest || sscanf (rest + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                         &utime, &stime) != 2)
        return -1;
    return (double) (utime + stime) / sysconf (_SC_CLK_TCK);
}

static void *
s_sampler_main (void *arg)
{
    while (s_sampling) {
        pthread_mutex_lock (&s_lock);
        for (int i = 0; i < s_nsampled; i++)
            if (s_sampled [i].live) {
                long kb = s_rss_anon (s_sampled [i].pid);
                if (kb > s_sampled [i].peak_kb)
                    s_sampled [i].peak_kb = kb;
            }
        pthread_mutex_unlock (&s_lock);
        bench_sleep_us (S_SAMPLE_MS * 1000);
    }
    return NULL;
}

void
bench_sampler_start (void)
{
    s_sampling = true;
    pthread_create (&s_sampler, NULL, s_sampler_main, NULL);
}

void
bench_sampler_stop (void)
{
    s_sampling = false;
    pthread_join (s_sampler, NULL);
}

static void
s_sample_add (pid_t pid)
{
    pthread_mutex_lock (&s_lock);
    //  Reuse the slot of a finished process once the table is full
    int slot = s_nsampled < S_SAMPLED_MAX? s_nsampled++: -1;
    for (int i = 0; slot < 0 && i < S_SAMPLED_MAX; i++)
        if (!s_sampled [i].live)
            slot = i;
    if (slot >= 0)
        s_sampled [slot] = (s_sampled_t) { pid, 0, true };
    pthread_mutex_unlock (&s_lock);
}

//  Stop sampling pid (it exited); its peak stays readable.
static void
s_sample_end (pid_t pid)
{
    pthread_mutex_lock (&s_lock);
    for (int i = 0; i < s_nsampled; i++)
        if (s_sampled [i].pid == pid)
            s_sampled [i].live = false;
    pthread_mutex_unlock (&s_lock);
}

long
bench_peak_rss (pid_t pid)
{
    long kb = 0;
    pthread_mutex_lock (&s_lock);
    for (int i = s_nsampled - 1; i >= 0; i--)
        if (s_sampled [i].pid == pid) {
            kb = s_sampled [i].peak_kb;
            break;
        }
    pthread_mutex_unlock (&s_lock);
    return kb;
}

//  ---------------------------------------------------------------------
//  A workload's folder and processes

bool
bench_run_init (bench_run_t *run, const bench_opts_t *opts)
{
    memset (run, 0, sizeof *run);
    run->opts = opts;
    //  Short: the agents' ipc socket paths must stay within 107 bytes
    //  $TMPDIR (e.g. /dev/shm, to take the disk out of a figure); kept
    //  short, as ipc socket paths are at most 107 bytes
    const char *base = getenv ("TMPDIR");
    snprintf (run->dir, sizeof run->dir, "%s/sxb.XXXXXX",
              base && *base && strlen (base) < 48? base: "/tmp");
    if (!mkdtemp (run->dir)) {
        fprintf (stderr, "stemx-bench: mkdtemp: %s\n", strerror (errno));
        return false;
    }
    run->deadline = bench_now () + opts->timeout_s;
    return true;
}

bool
bench_run_expired (bench_run_t *run)
{
    if (bench_now () >= run->deadline)
        run->timed_out = true;
    return run->timed_out;
}

//  Forget pid in run (it has been reaped).
static void
s_forget (bench_run_t *run, pid_t pid)
{
    for (int i = 0; i < run->npids; i++)
        if (run->pids [i] == pid)
            run->pids [i] = 0;
    s_sample_end (pid);
}

void
bench_run_end (bench_run_t *run)
{
    //  Agents were started after the broker: stop them first
    for (int i = run->npids - 1; i >= 0; i--)
        if (run->pids [i] > 0)
            kill (run->pids [i], SIGTERM);
    double give_up = bench_now () + 3;
    for (int i = run->npids - 1; i >= 0; i--) {
        pid_t pid = run->pids [i];
        if (pid <= 0)
            continue;
        while (waitpid (pid, NULL, WNOHANG) == 0) {
            if (bench_now () > give_up) {
                kill (pid, SIGKILL);
                waitpid (pid, NULL, 0);
                break;
            }
            bench_sleep_us (10000);
        }
        s_forget (run, pid);
    }
    if (getenv ("STEMX_BENCH_KEEP"))
        fprintf (stderr, "stemx-bench: STEMX_BENCH_KEEP: kept %s\n", run->dir);
    else
        bench_remove_tree (run->dir);
}

static pid_t
s_fork_exec (const char *log, const char *const argv [])
{
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open (log? log: "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2 (fd, STDOUT_FILENO);
            dup2 (fd, STDERR_FILENO);
            close (fd);
        }
        int null = open ("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2 (null, STDIN_FILENO);
        execv (argv [0], (char *const *) argv);
        fprintf (stderr, "exec %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    return pid;
}

pid_t
bench_spawn (bench_run_t *run, const char *log, const char *const argv [])
{
    //  A finished process's slot serves again (a workload may poll
    //  `stemx status` hundreds of times); live processes keep theirs
    int slot = 0;
    while (slot < run->npids && run->pids [slot] != 0)
        slot++;
    if (slot == BENCH_PIDS_MAX)
        return -1;
    //  The child's ru_maxrss counts our pages until it execs: keep them few
    malloc_trim (0);
    pid_t pid = s_fork_exec (log, argv);
    if (pid < 0)
        return -1;
    run->pids [slot] = pid;
    if (slot == run->npids)
        run->npids++;
    s_sample_add (pid);
    if (run->opts->verbose) {
        fprintf (stderr, "stemx-bench: [%d]", (int) pid);
        for (int i = 0; argv [i]; i++)
            fprintf (stderr, " %s", argv [i]);
        fprintf (stderr, "\n");
    }
    return pid;
}

int
bench_wait (bench_run_t *run, pid_t pid, long *maxrss_kb)
{
    int status = 0;
    struct rusage usage;
    while (true) {
        pid_t done = wait4 (pid, &status, WNOHANG, &usage);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR)
            return -1;
        if (bench_run_expired (run))
            return -2;
        bench_sleep_us (2000);
    }
    s_forget (run, pid);
    if (maxrss_kb)
        *maxrss_kb = usage.ru_maxrss;
    run->reaped_cpu_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6
                      + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

int
bench_exec (bench_run_t *run, const char *const argv [], const char *out_path,
            double *wall_s, long *maxrss_kb)
{
    double start = bench_now ();
    pid_t pid = bench_spawn (run, out_path, argv);
    if (pid < 0)
        return -1;
    int rc = bench_wait (run, pid, maxrss_kb);
    if (wall_s)
        *wall_s = bench_now () - start;
    return rc;
}

bool
bench_wait_path (bench_run_t *run, const char *path)
{
    struct stat st;
    while (stat (path, &st) != 0) {
        if (bench_run_expired (run))
            return false;
        bench_sleep_us (20000);
    }
    return true;
}

static int
s_remove (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

void
bench_remove_tree (const char *path)
{
    nftw (path, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}

long
bench_rss_floor (const bench_opts_t *opts)
{
    bench_run_t run;
    if (!bench_run_init (&run, opts))
        return 0;
    const char *argv [] = { "/bin/true", NULL };
    long maxrss = 0;
    bench_exec (&run, argv, NULL, NULL, &maxrss);
    bench_run_end (&run);
    return maxrss;
}
