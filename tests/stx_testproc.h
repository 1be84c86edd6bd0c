/*  =========================================================================
    stx_testproc - start, stop and run the real stemx programs from tests

    Tests drive the same binaries operators run: each daemon is a child
    process with its output in a log file of the test's folder, and every
    wait is a poll on a condition with a deadline, never a fixed sleep.
    ========================================================================= */

#ifndef STX_TESTPROC_H_INCLUDED
#define STX_TESTPROC_H_INCLUDED

#include <stdbool.h>
#include <sys/types.h>

//  Start argv[0] (a path) with argv, stdout and stderr appended to
//  log_path. Returns the child's pid; aborts if fork fails.
pid_t
    stx_proc_start (const char *log_path, const char *const argv []);

//  Send sig to pid and wait up to timeout_ms for it to exit (then
//  SIGKILL). Returns its wait status.
int
    stx_proc_stop (pid_t pid, int sig, int timeout_ms);

//  Run argv to completion with stdin from /dev/null, capturing stdout into
//  *out_p and stderr into *err_p (caller frees; either may be NULL to
//  discard). Kills it after timeout_ms. Returns the exit code, or -1 if it
//  did not exit normally.
int
    stx_proc_run (const char *const argv [], char **out_p, char **err_p, int timeout_ms);

//  Poll every 20 ms, up to timeout_ms, until path exists. True if it does.
bool
    stx_wait_path (const char *path, int timeout_ms);

//  Read a whole file; caller frees. NULL if it cannot be read.
char *
    stx_read_file (const char *path);

//  Remove a folder tree (rm -rf).
void
    stx_remove_tree (const char *path);

#endif
