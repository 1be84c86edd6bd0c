/*  =========================================================================
    stx_daemon - what stemx-broker and stemx-agent share as daemons

    ZPL configuration with defaults, logging through zsys, data folders,
    the endpoints file, and the foreground wait for SIGINT/SIGTERM. The
    daemons' mains are thin: parse the command line, load the config, start
    their actor, write the endpoints file, wait, stop the actor.

    The endpoints file (DIR/endpoints) is ZPL, one connectable endpoint per
    line, written to DIR/endpoints.tmp and renamed, so a reader never sees
    half of it:
        #   stemx-broker endpoints, written at start
        request = tcp://127.0.0.1:5670
        updates = tcp://127.0.0.1:5671
    A wildcard bind (tcp://0.0.0.0:PORT, or a star for the host) is written as
    127.0.0.1, the address a local reader can connect to.
    ========================================================================= */

#ifndef STX_DAEMON_H_INCLUDED
#define STX_DAEMON_H_INCLUDED

#include <stdbool.h>
#include <czmq.h>
#include "stx_error.h"

//  Initialise zsys for a daemon: log identity, log lines to stderr with
//  timestamps (systemd's journal picks them up), SIGINT/SIGTERM set
//  zsys_interrupted. zsys has no level filter: the actors print debug
//  lines only when told VERBOSE.
void
    stx_daemon_log_init (const char *ident);

//  Load the ZPL file at path. path NULL gives an empty configuration (every
//  key takes its default). Caller owns *config_p (zconfig_destroy).
//  Errors: STX_ERR_IO (no such file or unreadable), err naming the path.
stx_status_t
    stx_daemon_config_load (const char *path, zconfig_t **config_p, char *err, size_t errlen);

//  A string key ("broker/bind"); default if absent or empty. Owned by
//  config (or the default); valid until config is destroyed.
const char *
    stx_daemon_config_str (zconfig_t *config, const char *path, const char *dflt);

//  A size key: a non-negative number with an optional K, M or G suffix
//  (powers of 1024). STX_ERR_INVALID if it is not one, err naming the key.
stx_status_t
    stx_daemon_config_size (zconfig_t *config, const char *path, size_t dflt, size_t *value_p,
                            char *err, size_t errlen);

//  An integer key (e.g. milliseconds, counts). STX_ERR_INVALID as above.
stx_status_t
    stx_daemon_config_int (zconfig_t *config, const char *path, int dflt, int *value_p,
                           char *err, size_t errlen);

//  Storage and log retention settings, shared by both daemons.
typedef struct {
    size_t map_size;            //  SECTION/map_size: LMDB map size at start [1G]
    size_t map_max;             //  SECTION/map_max: the map grows (doubling) up to [64G];
                                //  raised to map_size if smaller (no growth then)
    int64_t keep_events;        //  log/keep_events: the newest events always kept [1000000]
    int64_t keep_days;          //  log/keep_days: events younger than this kept [90]
                                //  an event is trimmed only when outside BOTH bounds; a
                                //  negative value for either keeps the whole log
} stx_storage_config_t;

#define STX_MAP_SIZE_DEFAULT_BYTES  ((size_t) 1 << 30)
#define STX_MAP_MAX_DEFAULT_BYTES   ((size_t) 64 << 30)
#define STX_KEEP_EVENTS_DEFAULT     1000000
#define STX_KEEP_DAYS_DEFAULT       90

//  Read section/map_size, section/map_max ("broker" or "agent"),
//  log/keep_events and log/keep_days into *storage, defaults as above.
//  STX_ERR_INVALID with err naming the key if one is not a number.
stx_status_t
    stx_daemon_config_storage (zconfig_t *config, const char *section,
                               stx_storage_config_t *storage, char *err, size_t errlen);

//  Create dir and its parents (mode 0750) if missing. STX_ERR_IO with err.
stx_status_t
    stx_daemon_mkdir (const char *dir, char *err, size_t errlen);

//  Take DIR/lock (made if missing) for this process, so that no second
//  daemon of kind ("stemx-agent") runs on the same folder: two would write
//  one store and one outbox. The lock (flock) is the kernel's: it goes
//  with the process, also on kill -9. *fd_p gets the descriptor to keep
//  open while the daemon runs (stx_daemon_unlock_dir). STX_ERR_BUSY with
//  err naming the folder if another process holds it; STX_ERR_IO.
stx_status_t
    stx_daemon_lock_dir (const char *dir, const char *kind, int *fd_p, char *err, size_t errlen);

//  Let the folder go: close *fd_p if open (>= 0) and set it to -1.
void
    stx_daemon_unlock_dir (int *fd_p);

//  Absolute form of path (relative ones are taken from the current folder),
//  without a trailing slash. Caller owns the result (free). NULL on error.
char *
    stx_daemon_abspath (const char *path);

//  The connectable form of a socket's last bound endpoint into out
//  (outlen bytes): "tcp://0.0.0.0:5670" becomes "tcp://127.0.0.1:5670".
//  Returns 0, or -1 if the socket has no bound endpoint.
int
    stx_daemon_bound_endpoint (zsock_t *sock, char *out, size_t outlen);

//  Write dir/endpoints atomically with count name = value lines, under a
//  comment naming the writer. STX_ERR_IO with err.
stx_status_t
    stx_daemon_write_endpoints (const char *dir, const char *writer, const char **names,
                                const char **values, size_t count, char *err, size_t errlen);

//  Read one endpoint (e.g. "request") from dir/endpoints. Caller owns
//  *value_p (free). STX_ERR_NOT_FOUND if there is no file or no such name.
stx_status_t
    stx_daemon_read_endpoint (const char *dir, const char *name, char **value_p);

//  Wait in the foreground until SIGINT/SIGTERM, or until the actor sends
//  "FATAL" <reason> on its pipe (logged). Returns 0 after a signal, 1 after
//  a fatal actor error. The caller then destroys the actor.
int
    stx_daemon_wait (zactor_t *actor);

//  In an actor that failed to start: wait for "$TERM" on pipe (or the pipe
//  closing), so that zactor_destroy on the caller's side has a live peer.
void
    stx_daemon_await_term (zsock_t *pipe);

//  Catch SIGHUP with sigaction: each one sets a flag (nothing else runs in
//  the handler) that stx_daemon_wait_reload turns into a command to the
//  actor. Also blocks SIGHUP in the calling thread, so call it from main
//  BEFORE starting the actor: the actor's thread (and any it starts)
//  inherits the block and never sees its poll interrupted by a reload;
//  stx_daemon_wait_reload unblocks it in the main thread only.
void
    stx_daemon_catch_hangup (void);

//  Like stx_daemon_wait, and on each SIGHUP sends command (one frame, e.g.
//  "RELOAD") to the actor, which must not reply to it. A SIGHUP that
//  arrives while one is still pending is merged with it. Returns as
//  stx_daemon_wait.
int
    stx_daemon_wait_reload (zactor_t *actor, const char *command);

//  Format a wall-clock time (seconds since the Unix epoch) as ISO-8601
//  UTC, "2026-03-01T12:00:00Z", into out (at least 21 bytes).
void
    stx_daemon_iso_time (time_t when, char *out, size_t outlen);

//  Write text to path atomically (path.tmp, fsync, rename), mode 0644.
//  STX_ERR_IO with err naming the path.
stx_status_t
    stx_daemon_write_file (const char *path, const char *text, char *err, size_t errlen);

#endif
