/*  =========================================================================
    stx_testproc - start, stop and run the real stemx programs from tests
    ========================================================================= */

#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "stx_testproc.h"

static long long
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

pid_t
stx_proc_start (const char *log_path, const char *const argv [])
{
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
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

int
stx_proc_stop (pid_t pid, int sig, int timeout_ms)
{
    int status = 0;
    kill (pid, sig);
    long long deadline = s_now_ms () + timeout_ms;
    while (s_now_ms () < deadline) {
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid)
            return status;
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep (&ts, NULL);
    }
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    return status;
}

//  Append what fd has to *buffer, growing it. False on end of file.
static bool
s_drain (int fd, char **buffer, size_t *size)
{
    char chunk [4096];
    ssize_t got = read (fd, chunk, sizeof chunk);
    if (got <= 0)
        return false;
    *buffer = realloc (*buffer, *size + got + 1);
    assert (*buffer);
    memcpy (*buffer + *size, chunk, got);
    *size += got;
    (*buffer) [*size] = 0;
    return true;
}

int
stx_proc_run (const char *const argv [], char **out_p, char **err_p, int timeout_ms)
{
    int out_pipe [2], err_pipe [2];
    assert (pipe (out_pipe) == 0 && pipe (err_pipe) == 0);
    pid_t pid = fork ();
    assert (pid >= 0);
    if (pid == 0) {
        dup2 (out_pipe [1], STDOUT_FILENO);
        dup2 (err_pipe [1], STDERR_FILENO);
        close (out_pipe [0]);
        close (err_pipe [0]);
        int null = open ("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2 (null, STDIN_FILENO);
        execv (argv [0], (char *const *) argv);
        fprintf (stderr, "exec %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    close (out_pipe [1]);
    close (err_pipe [1]);
    char *out = calloc (1, 1), *err = calloc (1, 1);
    size_t out_size = 0, err_size = 0;
    struct pollfd fds [2] = { { out_pipe [0], POLLIN, 0 }, { err_pipe [0], POLLIN, 0 } };
    long long deadline = s_now_ms () + timeout_ms;
    bool killed = false;
    while (fds [0].fd >= 0 || fds [1].fd >= 0) {
        long long left = deadline - s_now_ms ();
        if (left <= 0 && !killed) {
            kill (pid, SIGKILL);
            killed = true;
        }
        if (poll (fds, 2, left > 0 ? (int) left : 100) < 0 && errno != EINTR)
            break;
        if (fds [0].revents && !s_drain (out_pipe [0], &out, &out_size))
            fds [0].fd = -1;
        if (fds [1].revents && !s_drain (err_pipe [0], &err, &err_size))
            fds [1].fd = -1;
    }
    close (out_pipe [0]);
    close (err_pipe [0]);
    int status;
    waitpid (pid, &status, 0);
    if (out_p)
        *out_p = out;
    else
        free (out);
    if (err_p)
        *err_p = err;
    else
        free (err);
    return WIFEXITED (status) && !killed ? WEXITSTATUS (status) : -1;
}

bool
stx_wait_path (const char *path, int timeout_ms)
{
    long long deadline = s_now_ms () + timeout_ms;
    struct stat st;
    while (stat (path, &st) != 0) {
        if (s_now_ms () >= deadline)
            return false;
        struct timespec ts = { 0, 20 * 1000000 };
        nanosleep (&ts, NULL);
    }
    return true;
}

char *
stx_read_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fseek (file, 0, SEEK_SET);
    char *buffer = malloc (size + 1);
    assert (buffer);
    size_t got = fread (buffer, 1, size, file);
    buffer [got] = 0;
    fclose (file);
    return buffer;
}

static int
s_remove (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

void
stx_remove_tree (const char *path)
{
    nftw (path, s_remove, 16, FTW_DEPTH | FTW_PHYS);
}
