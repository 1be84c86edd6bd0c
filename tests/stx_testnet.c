/*  =========================================================================
    stx_testnet - a broker and agents on loopback, with real keys, for tests
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "stx_keys.h"
#include "stx_testproc.h"
#include "stx_testnet.h"

#define S_WAIT_MS 60000

static json_t *s_catalogue;

//  snprintf that fails the test instead of silently cutting a path short
static void
s_path (char *buf, size_t size, const char *format, ...) __attribute__ ((format (printf, 3, 4)));

static void
s_path (char *buf, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int len = vsnprintf (buf, size, format, args);
    va_end (args);
    assert_true (len >= 0 && (size_t) len < size);
}

void
stx_testnet_copy (const char *from, const char *to)
{
    char *text = stx_read_file (from);
    assert_non_null (text);
    FILE *file = fopen (to, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    free (text);
    if (strstr (to, "_secret"))
        chmod (to, 0600);
}

static void
s_mkdir (const char *path)
{
    assert_true (mkdir (path, 0700) == 0 || errno == EEXIST);
}

void
stx_testnet_filter (void)
{
    if (getenv ("STX_TEST_FILTER"))
        cmocka_set_test_filter (getenv ("STX_TEST_FILTER"));
}

stx_testnet_t *
stx_testnet_new (void)
{
    stx_testnet_t *self = calloc (1, sizeof (stx_testnet_t));
    assert_non_null (self);
    const char *bin = getenv ("STEMX_BIN_DIR");
    const char *src = getenv ("STEMX_SOURCE_DIR");
    assert_non_null (bin);
    assert_non_null (src);
    s_path (self->bin, sizeof self->bin, "%s", bin);
    s_path (self->src, sizeof self->src, "%s", src);
    s_path (self->dir, sizeof self->dir, "%s/stemx-test-XXXXXX", P_tmpdir);
    assert_non_null (mkdtemp (self->dir));
    s_path (self->keys, sizeof self->keys, "%s/keys", self->dir);
    s_mkdir (self->keys);
    s_path (self->node [0], sizeof self->node [0], "%s/broker", self->dir);
    s_mkdir (self->node [0]);
    char registry [PATH_MAX];
    s_path (registry, sizeof registry, "%s/registry", self->node [0]);
    s_mkdir (registry);

    char path [PATH_MAX], err [STX_ERRLEN];
    assert_int_equal (stx_identity_generate (self->node [0], "broker", "", "", "",
                                             path, sizeof path, err, sizeof err), STX_OK);
    return self;
}

void
stx_testnet_destroy (stx_testnet_t **self_p)
{
    stx_testnet_t *self = *self_p;
    if (!self)
        return;
    bool clean = true;
    //  Agents first, then the broker; each must exit cleanly on SIGTERM
    for (int n = STX_TESTNET_NODES - 1; n >= 0; n--)
        if (self->pid [n] > 0) {
            int status = stx_testnet_stop (self, n, SIGTERM);
            if (!WIFEXITED (status) || WEXITSTATUS (status) != 0) {
                fprintf (stderr, "node %d exited with status %d; logs kept in %s\n",
                         n, status, self->dir);
                clean = false;
            }
        }
    if (clean && !getenv ("STEMX_TEST_KEEP"))
        stx_remove_tree (self->dir);
    else
    if (clean)
        fprintf (stderr, "STEMX_TEST_KEEP: logs kept in %s\n", self->dir);
    json_decref (s_catalogue);
    s_catalogue = NULL;
    free (self);
    *self_p = NULL;
    assert_true (clean);
}

int
stx_testnet_teardown (void **state)
{
    stx_testnet_t *self = (stx_testnet_t *) *state;
    stx_testnet_destroy (&self);
    return 0;
}

const char *
stx_testnet_cert (stx_testnet_t *self, const char *org, bool secret)
{
    static char path [PATH_MAX];
    const char *slug = strchr (org, ':');
    s_path (path, sizeof path, "%s/%s.cert%s", self->keys, slug? slug + 1: org,
            secret? "_secret": "");
    return path;
}

void
stx_testnet_key (stx_testnet_t *self, const char *org, const char *pillar, const char *roles)
{
    char path [PATH_MAX], err [STX_ERRLEN], registered [PATH_MAX * 2];
    stx_status_t rc = stx_identity_generate (self->keys, NULL, org, pillar, roles,
                                             path, sizeof path, err, sizeof err);
    if (rc != STX_OK)
        fail_msg ("keygen %s: %s", org, err);
    s_path (registered, sizeof registered, "%s/registry/%s", self->node [0], strrchr (path, '/') + 1);
    stx_testnet_copy (path, registered);
}

json_t *
stx_testnet_catalogue (stx_testnet_t *self)
{
    if (!s_catalogue) {
        char path [PATH_MAX];
        s_path (path, sizeof path, "%s/config/sample/catalogue.json", self->src);
        s_catalogue = json_load_file (path, 0, NULL);
        assert_non_null (s_catalogue);
    }
    return s_catalogue;
}

void
stx_testnet_sample_keys (stx_testnet_t *self)
{
    size_t i;
    json_t *org;
    json_array_foreach (json_object_get (stx_testnet_catalogue (self), "organisations"), i, org) {
        const char *id = json_string_value (json_object_get (org, "id"));
        stx_testnet_key (self, id, json_string_value (json_object_get (org, "helix_pillar")),
                         strcmp (id, "org:vlaio") == 0
                         ? "admin, publisher, reader": "publisher, reader");
    }
}

static void
s_start_broker (stx_testnet_t *self, const char *bind, const char *publish);

void
stx_testnet_start_broker (stx_testnet_t *self, const char *config)
{
    s_path (self->config, sizeof self->config, "%s", config? config: "");
    s_start_broker (self, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*");
}

void
stx_testnet_restart_broker (stx_testnet_t *self)
{
    char request [256], updates [256];
    s_path (request, sizeof request, "%s", self->request);
    s_path (updates, sizeof updates, "%s", self->updates);
    s_start_broker (self, request, updates);
}

static void
s_start_broker (stx_testnet_t *self, const char *bind, const char *publish)
{
    char taxonomy [PATH_MAX], log [PATH_MAX], endpoints [PATH_MAX];
    s_path (taxonomy, sizeof taxonomy, "%s/config", self->src);
    s_path (log, sizeof log, "%s/broker.log", self->dir);
    s_path (endpoints, sizeof endpoints, "%s/endpoints", self->node [0]);
    unlink (endpoints);
    const char *argv [32] = { NULL, "--data", self->node [0], "--taxonomy", taxonomy,
                              "--bind", bind, "--publish", publish };
    char prog [PATH_MAX];
    s_path (prog, sizeof prog, "%s/stemx-broker", self->bin);
    argv [0] = prog;
    int argc = 9;
    if (*self->config) {
        argv [argc++] = "-c";
        argv [argc++] = self->config;
    }
    if (self->insecure)
        argv [argc++] = "--insecure";
    argv [argc] = NULL;
    //  A restart binds the ports it had. While the broker was down another
    //  process may have taken one: czmq binds "tcp://127.0.0.1:*" to the
    //  first free port from 49152 up (another test's broker), and the
    //  ports are in the kernel's ephemeral range (a client's outgoing
    //  connection). Then the broker exits with "Address already in use":
    //  start it again, for up to 30 s.
    int64_t deadline = zclock_mono () + 30000;
    while (true) {
        struct stat before;
        size_t offset = stat (log, &before) == 0? (size_t) before.st_size: 0;
        self->pid [0] = stx_proc_start (log, argv);
        int status = 0;
        bool exited = false;
        while (!stx_wait_path (endpoints, 20) && zclock_mono () < deadline)
            if (waitpid (self->pid [0], &status, WNOHANG) == self->pid [0]) {
                exited = true;
                break;
            }
        if (!exited && stx_wait_path (endpoints, 0))
            break;
        char *text = exited? stx_read_file (log): NULL;
        bool in_use = text && strlen (text) >= offset
                   && strstr (text + offset, "Address already in use")
                   && strncmp (bind, "tcp://127.0.0.1:*", 17) != 0;
        free (text);
        if (exited)
            self->pid [0] = 0;
        if (!in_use || zclock_mono () >= deadline)
            fail_msg ("the broker wrote no endpoints file; see %s", log);
        //  Keep the log readable: say what happened, then try again
        FILE *file = fopen (log, "a");
        if (file) {
            fprintf (file, "stx_testnet: port in use, starting the broker again\n");
            fclose (file);
        }
        zclock_sleep (50);
    }
    zconfig_t *config = zconfig_load (endpoints);
    assert_non_null (config);
    s_path (self->request, sizeof self->request, "%s", zconfig_get (config, "request", ""));
    s_path (self->updates, sizeof self->updates, "%s", zconfig_get (config, "updates", ""));
    zconfig_destroy (&config);
    assert_true (strncmp (self->request, "tcp://127.0.0.1:", 16) == 0);
    assert_true (strncmp (self->updates, "tcp://127.0.0.1:", 16) == 0);
}

//  Copy every file of the keys folder whose name matches (secret or
//  public, for the orgs listed or all) into dir.
static void
s_copy_keys (stx_testnet_t *self, const char *dir, bool secret, const char **orgs)
{
    s_mkdir (dir);
    DIR *keys = opendir (self->keys);
    assert_non_null (keys);
    struct dirent *file;
    while ((file = readdir (keys))) {
        const char *name = file->d_name;
        size_t len = strlen (name);
        bool is_secret = len > 12 && strcmp (name + len - 12, ".cert_secret") == 0;
        bool is_public = len > 5 && strcmp (name + len - 5, ".cert") == 0;
        if (secret? !is_secret: !is_public)
            continue;
        bool wanted = orgs == NULL;
        for (const char **org = orgs; org && *org && !wanted; org++) {
            const char *slug = strchr (*org, ':') + 1;
            wanted = strncmp (name, slug, strlen (slug)) == 0 && name [strlen (slug)] == '.';
        }
        if (!wanted)
            continue;
        char from [PATH_MAX], to [PATH_MAX];
        s_path (from, sizeof from, "%s/%s", self->keys, name);
        s_path (to, sizeof to, "%s/%s", dir, name);
        stx_testnet_copy (from, to);
    }
    closedir (keys);
}

void
stx_testnet_start_agent (stx_testnet_t *self, int index, const char *name, const char **orgs)
{
    assert_true (index > 0 && index < STX_TESTNET_NODES);
    s_path (self->node [index], sizeof self->node [index], "%s/%s", self->dir, name);
    s_mkdir (self->node [index]);
    char path [PATH_MAX], broker [PATH_MAX];
    s_path (path, sizeof path, "%s/identities", self->node [index]);
    s_copy_keys (self, path, true, orgs);
    s_path (path, sizeof path, "%s/trust", self->node [index]);
    s_copy_keys (self, path, false, NULL);
    s_path (path, sizeof path, "%s/broker.cert", self->node [index]);
    s_path (broker, sizeof broker, "%s/broker.cert", self->node [0]);
    stx_testnet_copy (broker, path);
    stx_testnet_restart_agent (self, index, name);
}

void
stx_testnet_restart_agent (stx_testnet_t *self, int index, const char *name)
{
    char log [PATH_MAX], sock [PATH_MAX], prog [PATH_MAX];
    s_path (log, sizeof log, "%s/%s.log", self->dir, name);
    s_path (sock, sizeof sock, "%s/agent.sock", self->node [index]);
    s_path (prog, sizeof prog, "%s/stemx-agent", self->bin);
    const char *request = *self->via_request [index]? self->via_request [index]: self->request;
    const char *updates = *self->via_updates [index]? self->via_updates [index]: self->updates;
    const char *options [3] = { NULL, NULL, NULL };
    int count = 0;
    if (self->agent_option [index])
        options [count++] = self->agent_option [index];
    if (self->insecure)
        options [count++] = "--insecure";
    self->agent_option [index] = NULL;
    const char *argv [] = { prog, "--data", self->node [index], "--name", name,
                            "--broker", request, "--updates", updates,
                            options [0], options [1], NULL };
    unlink (sock);
    self->pid [index] = stx_proc_start (log, argv);
    if (!stx_wait_path (sock, 10000))
        fail_msg ("agent %s did not start; see %s", name, log);
}

void
stx_testnet_route_agent (stx_testnet_t *self, int index, const char *request,
                         const char *updates)
{
    assert_true (index > 0 && index < STX_TESTNET_NODES);
    s_path (self->via_request [index], sizeof self->via_request [index], "%s",
            request? request: "");
    s_path (self->via_updates [index], sizeof self->via_updates [index], "%s",
            updates? updates: "");
}

int
stx_testnet_stop (stx_testnet_t *self, int index, int sig)
{
    assert_true (self->pid [index] > 0);
    int status = stx_proc_stop (self->pid [index], sig, 10000);
    self->pid [index] = 0;
    return status;
}

int
stx_testnet_cli (stx_testnet_t *self, int node, char **out_p, char **err_p, ...)
{
    char prog [PATH_MAX];
    s_path (prog, sizeof prog, "%s/stemx", self->bin);
    const char *argv [32] = { prog, "--data", self->node [node] };
    int argc = 3;
    va_list args;
    va_start (args, err_p);
    const char *arg;
    while ((arg = va_arg (args, const char *)) && argc < 31)
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;
    return stx_proc_run (argv, out_p, err_p, 60000);
}

json_t *
stx_testnet_status (stx_testnet_t *self, int node)
{
    char *out = NULL;
    int rc = stx_testnet_cli (self, node, &out, NULL, "status", "--json", NULL);
    json_t *json = rc == 0? json_loads (out, 0, NULL): NULL;
    free (out);
    return json;
}

void
stx_testnet_wait_converged (stx_testnet_t *self, int count, long long want)
{
    assert_true (count <= STX_TESTNET_NODES);
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    char last [STX_TESTNET_NODES][128];
    while (zclock_mono () < deadline) {
        bool same = true;
        char ref [80] = "";
        for (int n = 0; n < count; n++) {
            json_t *status = stx_testnet_status (self, n);
            json_int_t seq = json_integer_value (json_object_get (status, "seq"));
            const char *head = json_string_value (json_object_get (status, "head"));
            snprintf (last [n], sizeof last [n], "%lld %s", (long long) seq, head? head: "-");
            if (!head || seq != want)
                same = false;
            else
            if (!*ref)
                snprintf (ref, sizeof ref, "%s", head);
            else
            if (strcmp (ref, head) != 0)
                same = false;
            json_decref (status);
        }
        if (same)
            return;
        zclock_sleep (100);
    }
    for (int n = 0; n < count; n++)
        fprintf (stderr, "node %d (%s): %s\n", n, self->node [n], last [n]);
    fail_msg ("no convergence at %lld within %d s; logs in %s", want, S_WAIT_MS / 1000,
              self->dir);
}

const char *
stx_testnet_write_json (stx_testnet_t *self, const char *name, json_t *json)
{
    static char path [PATH_MAX];
    s_path (path, sizeof path, "%s/%s", self->dir, name);
    assert_int_equal (json_dump_file (json, path, JSON_INDENT (1)), 0);
    return path;
}
