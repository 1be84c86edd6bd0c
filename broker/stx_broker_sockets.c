/*  =========================================================================
    stx_broker_sockets - sockets, the registry, reload and revocation

    Binds the ROUTER and the PUB with their bounds and CURVE, primes ZAP
    with the registry's active keys, reloads the registry on SIGHUP and
    re-binds both sockets when a reload revokes a key that was seen. Runs
    in the broker's actor thread.
    ========================================================================= */

#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  Sockets, the registry, reload and revocation

//  A ROUTER or PUB with the broker's options (and CURVE unless insecure),
//  bound to endpoint. A re-bind passes retry_ms > 0: the old listener is
//  closed by libzmq's I/O thread a moment after zsock_destroy, so the bind
//  is retried (EADDRINUSE) until then. NULL with err on failure.
static zsock_t *
s_socket_new (stx_bk_t *self, int type, const char *endpoint, const char *what,
              int retry_ms, char *err, size_t errlen)
{
    zsock_t *sock = zsock_new (type);
    assert (sock);
    //  A peer that does not read holds at most STX_BK_ROUTER_HWM replies
    //  (each at most a range or a chunk) in libzmq, and STX_BK_HELD_PEER bytes
    //  in the reply queue; a subscriber STX_BK_PUB_HWM events of STX_BK_PUB_EVENT_MAX
    if (type == ZMQ_ROUTER)
        stx_replyq_prepare (sock, STX_BK_ROUTER_HWM);
    else {
        zsock_set_sndhwm (sock, STX_BK_PUB_HWM);
        zsock_set_rcvhwm (sock, STX_BK_PUB_HWM);
    }
    if (type == ZMQ_PUB) {
        //  Subscribers send subscriptions: a topic is one or two bytes
        zsock_set_maxmsgsize (sock, STX_BK_PUB_MAXMSG);
        //  A subscriber that stops reading, or vanished without a FIN,
        //  stops answering ZMTP PINGs: its connection and queue then go
        zsock_set_heartbeat_ivl (sock, STX_BK_PUB_HEARTBEAT);
        zsock_set_heartbeat_timeout (sock, STX_BK_PUB_DEAD);
    }
    if (type == ZMQ_ROUTER)
        //  A guard against absurd frames; sizes between max_message and
        //  this get a TOO_LARGE answer, larger ones a dropped connection
        zsock_set_maxmsgsize (sock, (int) (self->max_message * 4 < INT_MAX / 2?
                                           self->max_message * 4: INT_MAX / 2));
    if (!self->insecure) {
        //  Security options must be set before the bind
        zcert_apply (stx_identity_cert (self->identity), sock);
        zsock_set_curve_server (sock, 1);
    }
    int64_t deadline = zclock_mono () + retry_ms;
    while (zsock_bind (sock, "%s", endpoint) == -1) {
        int error = zmq_errno ();
        if (error == EADDRINUSE && zclock_mono () < deadline) {
            zclock_sleep (20);
            continue;
        }
        stx_fail (err, errlen, STX_ERR_IO, "cannot bind %s endpoint %s: %s",
                  what, endpoint, zmq_strerror (error));
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

//  Bind (or bind again) both sockets and make the poller. On a first bind
//  the endpoints are the configured ones; a re-bind uses those the first
//  bind resolved (a wildcard port keeps its number).
stx_status_t
stx_bk_sockets_bind (stx_bk_t *self, const char *request, const char *updates, int retry_ms,
                     char *err, size_t errlen)
{
    zpoller_destroy (&self->poller);
    self->router = s_socket_new (self, ZMQ_ROUTER, request, "request", retry_ms, err, errlen);
    if (self->router)
        self->publisher = s_socket_new (self, ZMQ_PUB, updates, "updates", retry_ms,
                                        err, errlen);
    if (!self->router || !self->publisher) {
        zsock_destroy (&self->router);
        self->poller = zpoller_new (self->pipe, NULL);
        assert (self->poller);
        zpoller_set_nonstop (self->poller, true);
        return STX_ERR_IO;
    }
    self->replies = stx_replyq_new (self->router, STX_BK_HELD_PEER, STX_BK_HELD_TOTAL);
    char *bound = zsock_last_endpoint (self->router);
    snprintf (self->request_bound, sizeof (self->request_bound), "%s", bound? bound: request);
    free (bound);
    bound = zsock_last_endpoint (self->publisher);
    snprintf (self->updates_bound, sizeof (self->updates_bound), "%s", bound? bound: updates);
    free (bound);
    stx_daemon_bound_endpoint (self->router, self->request_endpoint,
                               sizeof (self->request_endpoint));
    stx_daemon_bound_endpoint (self->publisher, self->updates_endpoint,
                               sizeof (self->updates_endpoint));
    self->poller = zpoller_new (self->pipe, self->router, NULL);
    assert (self->poller);
    zpoller_set_nonstop (self->poller, true);
    return STX_OK;
}

static bool
s_is_dir (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0 && S_ISDIR (info.st_mode);
}

//  Load the registry folder, and the retired folder if it exists. At start
//  strictly (one bad cert: the broker does not start); with skipped (a
//  reload) leniently: a bad cert or a repeated key is left out and named
//  in skipped, the rest loads, so a key removed in the same change as a
//  bad file is still revoked.
stx_status_t
stx_bk_registry_load (stx_bk_t *self, stx_registry_t **registry_p, zlistx_t *skipped,
                      char *err, size_t errlen)
{
    if (!s_is_dir (self->registry_dir))
        return stx_fail (err, errlen, STX_ERR_NOT_FOUND,
                         "no registry folder %s: create it and copy the partners' public "
                         ".cert files into it (made by 'stemx keygen ORG --pillar P')",
                         self->registry_dir);
    const char *retired = s_is_dir (self->retired_dir)? self->retired_dir: NULL;
    if (skipped)
        return stx_registry_load_lenient (self->registry_dir, retired, registry_p, skipped,
                                          err, errlen);
    return stx_registry_load (self->registry_dir, retired, registry_p, err, errlen);
}

//  Close both sockets and bind them again on the same endpoints: every
//  connection ends, every peer reconnects and passes ZAP again. The only
//  way to drop one peer's CURVE session in libzmq 4.3 (no ROUTER kick, and
//  ZAP runs only at handshake). Snapshot sessions end; peers are forgotten.
static void
s_rebind (stx_bk_t *self)
{
    stx_bk_batch_flush (self);
    zpoller_destroy (&self->poller);
    zhashx_purge (self->sessions);
    zhashx_purge (self->peers);
    zhashx_purge (self->seen_keys);
    self->replies_dropped += stx_replyq_dropped (self->replies);
    stx_replyq_destroy (&self->replies);
    zsock_destroy (&self->router);
    zsock_destroy (&self->publisher);
    char request [256], updates [256], err [STX_ERRLEN] = "";
    snprintf (request, sizeof (request), "%s", self->request_bound);
    snprintf (updates, sizeof (updates), "%s", self->updates_bound);
    if (stx_bk_sockets_bind (self, request, updates, STX_BK_REBIND_MS, err, sizeof (err)) != STX_OK) {
        zsys_error ("re-bind after a revocation failed: %s", err);
        zstr_sendx (self->pipe, "FATAL", err, NULL);
        return;
    }
    self->rebinds++;
    zsys_notice ("re-bound %s and %s: every peer re-authenticates",
                 self->request_bound, self->updates_bound);
}

//  Remove the generation folders under DATA/.zauth except keep (NULL:
//  all). The broker owns that folder; it holds nothing else.
void
stx_bk_zauth_clean (stx_bk_t *self, const char *keep)
{
    DIR *top = opendir (self->zauth_dir);
    if (!top)
        return;
    struct dirent *gen;
    while ((gen = readdir (top))) {
        if (gen->d_name [0] == '.' || (keep && streq (gen->d_name, keep)))
            continue;
        char path [PATH_MAX];
        snprintf (path, sizeof (path), "%s/%s", self->zauth_dir, gen->d_name);
        DIR *inner = opendir (path);
        if (inner) {
            struct dirent *file;
            while ((file = readdir (inner))) {
                if (file->d_name [0] == '.')
                    continue;
                char name [PATH_MAX + 512];
                snprintf (name, sizeof (name), "%s/%s", path, file->d_name);
                unlink (name);
            }
            closedir (inner);
            rmdir (path);
        }
        else
            unlink (path);
    }
    closedir (top);
}

//  Write the public certs zauth admits, one per ACTIVE key of the loaded
//  registry, into a fresh folder DATA/.zauth/gN, point zauth at it and
//  remove the older folders. zauth never reads the operator's registry
//  folder: czmq 4.2.1's zcertstore aborts on two files with the same key
//  (vdab.cert and vdab.cert.bak, an editor's vdab.cert~) and reads
//  subfolders and files the registry ignores, which could let a revoked
//  key with a leftover copy subscribe to PUB. False with err on failure.
bool
stx_bk_zauth_prime (stx_bk_t *self, char *err, size_t errlen)
{
    char gen [32], dir [PATH_MAX];
    snprintf (gen, sizeof (gen), "g%u", ++self->zauth_generation);
    snprintf (dir, sizeof (dir), "%s/%s", self->zauth_dir, gen);
    char reason [STX_ERRLEN] = "";
    if (stx_daemon_mkdir (self->zauth_dir, reason, sizeof (reason)) != STX_OK
    ||  stx_daemon_mkdir (dir, reason, sizeof (reason)) != STX_OK) {
        stx_fail (err, errlen, STX_ERR_IO, "zauth folder: %s", reason);
        return false;
    }
    size_t written = 0;
    for (size_t index = 0; index < stx_registry_size (self->registry); index++) {
        const stx_key_t *key = stx_registry_key (self->registry, index);
        uint8_t public_key [32], secret_key [32];
        if (key->retired || !zmq_z85_decode (public_key, key->curve_key))
            continue;
        memset (secret_key, 0, sizeof (secret_key));
        zcert_t *cert = zcert_new_from (public_key, secret_key);
        assert (cert);
        zcert_set_meta (cert, "org", "%s", key->org);
        char path [PATH_MAX + 32];
        snprintf (path, sizeof (path), "%s/k%05zu.cert", dir, index);
        int rc = zcert_save_public (cert, path);
        zcert_destroy (&cert);
        if (rc != 0) {
            stx_fail (err, errlen, STX_ERR_IO, "cannot write %s: %s", path, strerror (errno));
            return false;
        }
        written++;
    }
    zstr_sendx (self->auth, "CURVE", dir, NULL);
    zsock_wait (self->auth);
    stx_bk_zauth_clean (self, gen);
    if (self->verbose)
        zsys_debug ("zauth admits %zu keys from %s", written, dir);
    return true;
}

//  RELOAD: a new registry, or the old one kept with the error logged.
void
stx_bk_reload (stx_bk_t *self)
{
    if (self->insecure) {
        zsys_notice ("reload: --insecure, no registry to reload");
        return;
    }
    stx_registry_t *registry = NULL;
    char err [STX_ERRLEN] = "";
    zlistx_t *skipped = zlistx_new ();
    assert (skipped);
    zlistx_set_destructor (skipped, (zlistx_destructor_fn *) zstr_free);
    stx_status_t status = stx_bk_registry_load (self, &registry, skipped, err, sizeof (err));
    for (const char *line = (const char *) zlistx_first (skipped); line;
         line = (const char *) zlistx_next (skipped))
        zsys_error ("reload: left out %s", line);
    zlistx_destroy (&skipped);
    if (status != STX_OK) {
        //  Only an unreadable folder gets here
        zsys_error ("reload failed, keeping the previous registry (%zu keys): %s",
                    stx_registry_size (self->registry), err);
        return;
    }
    //  A key seen on the ROUTER that is no longer active is revoked
    size_t revoked = 0;
    for (void *item = zhashx_first (self->seen_keys); item;
         item = zhashx_next (self->seen_keys)) {
        const char *curve = (const char *) zhashx_cursor (self->seen_keys);
        const stx_key_t *now = stx_registry_by_curve (registry, curve);
        if (!now || now->retired) {
            const stx_key_t *old = stx_registry_by_curve (self->registry, curve);
            zsys_warning ("key %s of %s is %s: disconnecting it", curve,
                          old? old->org: "?", now? "retired": "removed");
            revoked++;
        }
    }
    stx_registry_destroy (&self->registry);
    self->registry = registry;
    //  zauth: the new active keys, for new handshakes
    if (!stx_bk_zauth_prime (self, err, sizeof (err)))
        zsys_error ("reload: %s (zauth keeps admitting the previous keys; every request "
                    "is still checked against the new registry)", err);
    zhashx_purge (self->refused_keys);
    self->last_reload = time (NULL);
    zsys_notice ("registry reloaded from %s: %zu keys", self->registry_dir,
                 stx_registry_size (self->registry));
    if (revoked) {
        self->disconnected_revoked += revoked;
        s_rebind (self);
    }
}
