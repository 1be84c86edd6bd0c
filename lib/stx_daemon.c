/*  =========================================================================
    stx_daemon - what stemx-broker and stemx-agent share as daemons

    DESIGN
    Only main threads call these helpers (before the actor starts, or while
    waiting for it), so nothing here is shared between threads. Signals:
    czmq's handler sets zsys_interrupted on SIGINT/SIGTERM; the actors run
    their pollers "nonstop" and leave only on $TERM, so the one shutdown
    path is: main wakes from stx_daemon_wait, destroys the actor, which
    ends its transactions, closes its store and returns.
    ========================================================================= */

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "stx_daemon.h"

void
stx_daemon_log_init (const char *ident)
{
    zsys_init ();
    zsys_set_logident (ident);
    zsys_set_logstream (stderr);
    zsys_catch_interrupts ();
}

stx_status_t
stx_daemon_config_load (const char *path, zconfig_t **config_p, char *err, size_t errlen)
{
    assert (config_p);
    *config_p = NULL;
    if (!path) {
        *config_p = zconfig_new ("root", NULL);
        return STX_OK;
    }
    if (access (path, R_OK) != 0)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot read config %s: %s",
                         path, strerror (errno));
    *config_p = zconfig_load (path);
    if (!*config_p)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot parse config %s (ZPL)", path);
    return STX_OK;
}

const char *
stx_daemon_config_str (zconfig_t *config, const char *path, const char *dflt)
{
    const char *value = config? zconfig_get (config, path, NULL): NULL;
    return value && *value? value: dflt;
}

stx_status_t
stx_daemon_config_size (zconfig_t *config, const char *path, size_t dflt, size_t *value_p,
                        char *err, size_t errlen)
{
    assert (value_p);
    *value_p = dflt;
    const char *text = stx_daemon_config_str (config, path, NULL);
    if (!text)
        return STX_OK;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (errno || end == text || *text == '-')
        return stx_fail (err, errlen, STX_ERR_INVALID, "%s: not a size: '%s'", path, text);
    unsigned long long unit = 1;
    if (*end == 'K' || *end == 'k')
        unit = 1024ULL, end++;
    else
    if (*end == 'M' || *end == 'm')
        unit = 1024ULL * 1024, end++;
    else
    if (*end == 'G' || *end == 'g')
        unit = 1024ULL * 1024 * 1024, end++;
    if (*end && !(streq (end, "B") || streq (end, "iB") || streq (end, "b")))
        return stx_fail (err, errlen, STX_ERR_INVALID, "%s: not a size: '%s'", path, text);
    if (value > SIZE_MAX / unit)
        return stx_fail (err, errlen, STX_ERR_INVALID, "%s: too large: '%s'", path, text);
    *value_p = (size_t) (value * unit);
    return STX_OK;
}

stx_status_t
stx_daemon_config_int (zconfig_t *config, const char *path, int dflt, int *value_p,
                       char *err, size_t errlen)
{
    assert (value_p);
    *value_p = dflt;
    const char *text = stx_daemon_config_str (config, path, NULL);
    if (!text)
        return STX_OK;
    char *end = NULL;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || end == text || *end || value < INT_MIN || value > INT_MAX)
        return stx_fail (err, errlen, STX_ERR_INVALID, "%s: not an integer: '%s'", path, text);
    *value_p = (int) value;
    return STX_OK;
}

stx_status_t
stx_daemon_config_storage (zconfig_t *config, const char *section,
                           stx_storage_config_t *storage, char *err, size_t errlen)
{
    assert (section);
    assert (storage);
    char map_size [64], map_max [64];
    snprintf (map_size, sizeof (map_size), "%s/map_size", section);
    snprintf (map_max, sizeof (map_max), "%s/map_max", section);
    int keep_events = STX_KEEP_EVENTS_DEFAULT, keep_days = STX_KEEP_DAYS_DEFAULT;
    stx_status_t status = stx_daemon_config_size (config, map_size, STX_MAP_SIZE_DEFAULT_BYTES,
                                                  &storage->map_size, err, errlen);
    if (status == STX_OK)
        status = stx_daemon_config_size (config, map_max, STX_MAP_MAX_DEFAULT_BYTES,
                                         &storage->map_max, err, errlen);
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "log/keep_events", keep_events, &keep_events,
                                        err, errlen);
    if (status == STX_OK)
        status = stx_daemon_config_int (config, "log/keep_days", keep_days, &keep_days,
                                        err, errlen);
    if (status != STX_OK)
        return status;
    if (storage->map_size == 0)         //  "0 = the default", as before
        storage->map_size = STX_MAP_SIZE_DEFAULT_BYTES;
    if (storage->map_max < storage->map_size)
        storage->map_max = storage->map_size;
    storage->keep_events = keep_events;
    storage->keep_days = keep_days;
    return STX_OK;
}

stx_status_t
stx_daemon_mkdir (const char *dir, char *err, size_t errlen)
{
    assert (dir);
    char path [PATH_MAX];
    if (strlen (dir) >= sizeof (path))
        return stx_fail (err, errlen, STX_ERR_IO, "%s: path too long", dir);
    strcpy (path, dir);
    for (char *slash = path + 1; ; slash++) {
        if (*slash == '/' || *slash == 0) {
            char saved = *slash;
            *slash = 0;
            if (mkdir (path, 0750) != 0 && errno != EEXIST)
                return stx_fail (err, errlen, STX_ERR_IO, "cannot create %s: %s",
                                 path, strerror (errno));
            *slash = saved;
            if (saved == 0)
                break;
        }
    }
    struct stat info;
    if (stat (dir, &info) != 0 || !S_ISDIR (info.st_mode))
        return stx_fail (err, errlen, STX_ERR_IO, "%s: not a folder", dir);
    return STX_OK;
}

stx_status_t
stx_daemon_lock_dir (const char *dir, const char *kind, int *fd_p, char *err, size_t errlen)
{
    assert (dir);
    assert (kind);
    assert (fd_p);
    *fd_p = -1;
    char path [PATH_MAX];
    if (snprintf (path, sizeof (path), "%s/lock", dir) >= (int) sizeof (path))
        return stx_fail (err, errlen, STX_ERR_IO, "%s: path too long", dir);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot open %s: %s", path, strerror (errno));
    if (flock (fd, LOCK_EX | LOCK_NB) != 0) {
        int error = errno;
        close (fd);
        if (error == EWOULDBLOCK)
            return stx_fail (err, errlen, STX_ERR_BUSY,
                             "another %s is running on %s (it holds %s); stop it first",
                             kind, dir, path);
        return stx_fail (err, errlen, STX_ERR_IO, "cannot lock %s: %s", path, strerror (error));
    }
    *fd_p = fd;
    return STX_OK;
}

void
stx_daemon_unlock_dir (int *fd_p)
{
    assert (fd_p);
    if (*fd_p >= 0)
        close (*fd_p);
    *fd_p = -1;
}

char *
stx_daemon_abspath (const char *path)
{
    assert (path);
    char *result = NULL;
    if (*path == '/')
        result = strdup (path);
    else {
        char cwd [PATH_MAX];
        if (!getcwd (cwd, sizeof (cwd)))
            return NULL;
        if (streq (path, "."))
            result = strdup (cwd);
        else {
            size_t size = strlen (cwd) + strlen (path) + 2;
            result = (char *) malloc (size);
            if (result)
                snprintf (result, size, "%s/%s", cwd, path);
        }
    }
    size_t length = result? strlen (result): 0;
    while (length > 1 && result [length - 1] == '/')
        result [--length] = 0;
    return result;
}

int
stx_daemon_bound_endpoint (zsock_t *sock, char *out, size_t outlen)
{
    assert (sock);
    char *endpoint = zsock_last_endpoint (sock);
    if (!endpoint || !*endpoint) {
        free (endpoint);
        return -1;
    }
    const char *wildcard = "tcp://0.0.0.0:";
    if (strncmp (endpoint, wildcard, strlen (wildcard)) == 0)
        snprintf (out, outlen, "tcp://127.0.0.1:%s", endpoint + strlen (wildcard));
    else
        snprintf (out, outlen, "%s", endpoint);
    free (endpoint);
    return 0;
}

stx_status_t
stx_daemon_write_endpoints (const char *dir, const char *writer, const char **names,
                            const char **values, size_t count, char *err, size_t errlen)
{
    char path [PATH_MAX], temp [PATH_MAX];
    snprintf (path, sizeof (path), "%s/endpoints", dir);
    snprintf (temp, sizeof (temp), "%s/endpoints.tmp", dir);
    FILE *file = fopen (temp, "w");
    if (!file)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot write %s: %s", temp, strerror (errno));
    fprintf (file, "#   %s endpoints, written at start (pid %d)\n", writer, (int) getpid ());
    for (size_t index = 0; index < count; index++)
        fprintf (file, "%s = %s\n", names [index], values [index]);
    bool failed = fflush (file) != 0 || fsync (fileno (file)) != 0;
    failed = (fclose (file) != 0) || failed;
    if (failed || rename (temp, path) != 0) {
        int error = errno;
        unlink (temp);
        return stx_fail (err, errlen, STX_ERR_IO, "cannot write %s: %s", path, strerror (error));
    }
    return STX_OK;
}

stx_status_t
stx_daemon_read_endpoint (const char *dir, const char *name, char **value_p)
{
    assert (value_p);
    *value_p = NULL;
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/endpoints", dir);
    if (access (path, R_OK) != 0)
        return STX_ERR_NOT_FOUND;
    zconfig_t *config = zconfig_load (path);
    if (!config)
        return STX_ERR_NOT_FOUND;
    const char *value = zconfig_get (config, name, NULL);
    if (value && *value)
        *value_p = strdup (value);
    zconfig_destroy (&config);
    return *value_p? STX_OK: STX_ERR_NOT_FOUND;
}

int
stx_daemon_wait (zactor_t *actor)
{
    assert (actor);
    zpoller_t *poller = zpoller_new (actor, NULL);
    assert (poller);
    int rc = 0;
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, 1000);
        if (which == actor) {
            zmsg_t *msg = zmsg_recv (actor);
            char *command = msg? zmsg_popstr (msg): NULL;
            if (command && streq (command, "FATAL")) {
                char *reason = zmsg_popstr (msg);
                zsys_error ("fatal: %s", reason? reason: "unknown error");
                free (reason);
                rc = 1;
            }
            free (command);
            zmsg_destroy (&msg);
            if (rc)
                break;
        }
        else
        if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    if (rc == 0)
        zsys_notice ("interrupted, shutting down");
    return rc;
}

static volatile sig_atomic_t s_hangup = 0;

static void
s_on_hangup (int signum)
{
    (void) signum;
    s_hangup = 1;
}

void
stx_daemon_catch_hangup (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof (action));
    action.sa_handler = s_on_hangup;
    sigemptyset (&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction (SIGHUP, &action, NULL);
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
}

int
stx_daemon_wait_reload (zactor_t *actor, const char *command)
{
    assert (actor);
    assert (command);
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_UNBLOCK, &set, NULL);

    zmq_pollitem_t items [] = { { zsock_resolve (actor), 0, ZMQ_POLLIN, 0 } };
    int rc = 0;
    while (!zsys_interrupted) {
        if (s_hangup) {
            s_hangup = 0;
            zsys_notice ("SIGHUP: reloading");
            zstr_send (actor, command);
        }
        int ready = zmq_poll (items, 1, 1000);
        if (ready == -1) {
            if (zmq_errno () == EINTR)
                continue;       //  a signal: the loop condition decides
            break;
        }
        if (ready == 0 || !(items [0].revents & ZMQ_POLLIN))
            continue;
        zmsg_t *msg = zmsg_recv (actor);
        char *name = msg? zmsg_popstr (msg): NULL;
        if (name && streq (name, "FATAL")) {
            char *reason = zmsg_popstr (msg);
            zsys_error ("fatal: %s", reason? reason: "unknown error");
            free (reason);
            rc = 1;
        }
        free (name);
        zmsg_destroy (&msg);
        if (rc)
            break;
    }
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    if (rc == 0)
        zsys_notice ("interrupted, shutting down");
    return rc;
}

void
stx_daemon_iso_time (time_t when, char *out, size_t outlen)
{
    struct tm parts;
    gmtime_r (&when, &parts);
    strftime (out, outlen, "%Y-%m-%dT%H:%M:%SZ", &parts);
}

stx_status_t
stx_daemon_write_file (const char *path, const char *text, char *err, size_t errlen)
{
    assert (path && text);
    char temp [PATH_MAX];
    if (snprintf (temp, sizeof (temp), "%s.tmp", path) >= (int) sizeof (temp))
        return stx_fail (err, errlen, STX_ERR_IO, "%s: path too long", path);
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd == -1)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot write %s: %s", temp, strerror (errno));
    size_t size = strlen (text), done = 0;
    bool failed = false;
    while (done < size && !failed) {
        ssize_t wrote = write (fd, text + done, size - done);
        if (wrote < 0 && errno != EINTR)
            failed = true;
        else
        if (wrote > 0)
            done += (size_t) wrote;
    }
    failed = failed || fsync (fd) != 0;
    failed = (close (fd) != 0) || failed;
    if (failed || rename (temp, path) != 0) {
        int error = errno;
        unlink (temp);
        return stx_fail (err, errlen, STX_ERR_IO, "cannot write %s: %s", path, strerror (error));
    }
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  A failed actor still answers $TERM

void
stx_daemon_await_term (zsock_t *pipe)
{
    while (true) {
        char *command = zstr_recv (pipe);
        bool term = !command || streq (command, "$TERM");
        free (command);
        if (term)
            break;
    }
}
