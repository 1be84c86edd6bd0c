/*  =========================================================================
    stx_group_commit - PUBLISH: admission, verification, the group commit

    Events of the PUBLISH requests of one drain are checked (ids, rate,
    rules), verified on the pool, sequenced in one write transaction,
    committed, then acked and published in sequence order with the bytes
    the log holds. Runs in the broker's actor thread; the pool's workers
    only verify.
    ========================================================================= */

#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  PUBLISH and the group commit

static void
s_publish_destroy (stx_bk_publish_t **self_p)
{
    if (*self_p) {
        stx_bk_publish_t *self = *self_p;
        zframe_destroy (&self->routing_id);
        stx_wire_request_free (&self->request);
        for (size_t index = 0; index < self->count; index++) {
            free (self->texts [index]);
            stx_event_free (&self->events [index]);
        }
        free (self->events);
        free (self->ids);
        free (self->texts);
        free (self->results);
        free (self->result_ptrs);
        free (self->refused);
        free (self->excluded);
        free (self->node);
        free (self->org);
        free (self->pillar);
        free (self);
        *self_p = NULL;
    }
}

void
stx_bk_publish_destructor (void **item)
{
    s_publish_destroy ((stx_bk_publish_t **) item);
}

//  Set the result of one event; text is copied.
static void
s_publish_result (stx_bk_publish_t *self, size_t index, Stemx__Reason reason, const char *text,
                  uint64_t seq, uint64_t version)
{
    Stemx__Result *result = &self->results [index];
    result->reason = reason;
    result->seq = seq;
    result->version = version;
    free (self->texts [index]);
    self->texts [index] = text && *text? strdup (text): NULL;
    result->text = self->texts [index]? self->texts [index]: (char *) "";
}

//  Copy the event id into its result (the request holds the results' ids,
//  so they never point into a freed unpacked event).
static void
s_publish_set_id (stx_bk_publish_t *publish, size_t index, const Stemx__Event *event)
{
    Stemx__Result *result = &publish->results [index];
    if (event->event_id.len != STX_EVENT_ID_SIZE)
        return;
    result->event_id.data = publish->ids [index];
    memcpy (result->event_id.data, event->event_id.data, STX_EVENT_ID_SIZE);
    result->event_id.len = STX_EVENT_ID_SIZE;
}

//  Take one token of the bucket of key (an organisation, or a peer in
//  insecure mode). True if the event may go on; else *retry_ms says when
//  the bucket holds need tokens (the need-th refusal of a request waits
//  for need tokens, so an agent that waits for the first hint finds room).
static bool
s_rate_take (stx_bk_t *self, const char *key, size_t need, uint32_t *retry_ms)
{
    if (self->rate <= 0)
        return true;            //  limits/rate = 0: no limit
    stx_bucket_t *bucket = (stx_bucket_t *) zhashx_lookup (self->buckets, key);
    if (!bucket) {
        if (zhashx_size (self->buckets) >= STX_BK_PEER_MAX)
            zhashx_purge (self->buckets);   //  only insecure peers can get here
        bucket = (stx_bucket_t *) zmalloc (sizeof (stx_bucket_t));
        assert (bucket);
        zhashx_insert (self->buckets, key, bucket);
    }
    int64_t now = zclock_mono ();
    if (stx_bucket_take (bucket, self->rate, self->burst, now))
        return true;
    double wait = ((double) need - bucket->tokens) * 1000.0 / self->rate;
    *retry_ms = wait < 1? 1: wait > 60000? 60000: (uint32_t) wait;
    return false;
}

//  Take a PUBLISH into the current batch: settle resends and the allowance
//  now, keep each other event unpacked for s_batch_check (validation and
//  signatures, on the pool) and sequencing; the store never sees a refused
//  one. who is the authenticated principal, NULL in insecure mode.
//  Refusals are counted and logged when the batch is acked.
void
stx_bk_batch_add (stx_bk_t *self, zframe_t **routing_id_p, Stemx__Request **request_p,
                  const stx_principal_t *who)
{
    stx_bk_publish_t *publish = (stx_bk_publish_t *) zmalloc (sizeof (stx_bk_publish_t));
    assert (publish);
    publish->routing_id = *routing_id_p;
    *routing_id_p = NULL;
    publish->request = *request_p;
    *request_p = NULL;
    Stemx__Publish *body = publish->request->publish;
    size_t count = body->n_events;
    publish->count = count;
    publish->results = (Stemx__Result *) calloc (count + 1, sizeof (Stemx__Result));
    publish->result_ptrs = (Stemx__Result **) calloc (count + 1, sizeof (Stemx__Result *));
    publish->texts = (char **) calloc (count + 1, sizeof (char *));
    publish->refused = (bool *) calloc (count + 1, sizeof (bool));
    publish->excluded = (bool *) calloc (count + 1, sizeof (bool));
    publish->events = (Stemx__Event **) calloc (count + 1, sizeof (Stemx__Event *));
    publish->ids = calloc (count + 1, STX_EVENT_ID_SIZE);
    assert (publish->ids && publish->results && publish->result_ptrs && publish->texts
            && publish->refused && publish->excluded && publish->events);

    char *key = stx_bk_peer_key (publish->routing_id);
    stx_bk_peer_t *peer = (stx_bk_peer_t *) zhashx_lookup (self->peers, key);
    free (key);
    if (peer && peer->node && *peer->node)
        publish->node = strdup (peer->node);
    if (who) {
        publish->secure = true;
        publish->org = strdup (who->org);
        publish->pillar = strdup (who->pillar? who->pillar: "");
        publish->roles = who->roles;
        assert (publish->org && publish->pillar);
    }
    char bucket_key [64];
    if (!who) {
        char *hex = stx_bk_peer_key (publish->routing_id);
        snprintf (bucket_key, sizeof (bucket_key), "peer-%.50s", hex);
        free (hex);
    }

    stx_txn_t *read = NULL;         //  for looking ids up, opened when needed
    size_t limited = 0;
    for (size_t index = 0; index < count; index++) {
        Stemx__Result init = STEMX__RESULT__INIT;
        publish->results [index] = init;
        publish->result_ptrs [index] = &publish->results [index];
        Stemx__Event *event = NULL;
        char err [STX_ERRLEN] = "";
        stx_status_t status = stx_event_unpack (body->events [index].data,
                                                body->events [index].len, &event);
        if (status != STX_OK)
            snprintf (err, sizeof (err), "events[%zu]: undecodable Event", index);
        else {
            s_publish_set_id (publish, index, event);
            //  A resend of a stored event is answered for free with its
            //  first result (after a reconnect an agent resends what it
            //  had in flight: that must not burn its allowance); an id
            //  taken by another organisation or event is a conflict
            stx_sequenced_t known = { 0, 0, false };
            stx_status_t found = STX_ERR_NOT_FOUND;
            if (event->event_id.len == STX_EVENT_ID_SIZE
            && (read || stx_store_begin (self->store, false, &read) == STX_OK))
                found = stx_txn_lookup_id (read, event, who? who->org: NULL, &known,
                                           err, sizeof (err));
            if (found == STX_OK) {
                s_publish_result (publish, index, STEMX__REASON__R_OK, NULL,
                                  known.seq, known.version);
                publish->refused [index] = true;    //  settled: not sequenced again
                stx_event_free (&event);
                continue;
            }
            if (found != STX_ERR_NOT_FOUND)
                status = found;     //  a conflict, or a storage error (R_STORAGE)
            else
            //  The allowance first: a flood costs no validation or crypto
            if (!s_rate_take (self, who? who->org: bucket_key, limited + 1,
                              &publish->results [index].retry_after_ms)) {
                status = stx_fail (err, sizeof (err), STX_ERR_RATE_LIMITED,
                                   "rate limited: %.10g events/s allowed (burst %.10g)",
                                   self->rate, self->burst);
                limited++;
            }
        }
        if (status == STX_OK) {
            publish->events [index] = event;
            continue;
        }
        stx_event_free (&event);
        if (status != STX_OK) {
            Stemx__Reason reason = stx_status_reason (status);
            if (reason == STEMX__REASON__R_OK)
                reason = STEMX__REASON__R_MALFORMED;
            s_publish_result (publish, index, reason, *err? err: stx_strerror (status), 0, 0);
            publish->refused [index] = true;
        }
    }
    stx_txn_abort (&read);
    zlistx_add_end (self->batch, publish);
    self->batch_events += count;
}

//  One event of the group for the pool: its verdict is written only here.
typedef struct {
    stx_bk_publish_t *publish;
    size_t index;
    stx_status_t status;
    char *text;                 //  the refusal, allocated only for a refusal
} s_check_t;

typedef struct {
    stx_bk_t *broker;
    s_check_t *checks;
} s_checks_t;

static void
s_check_one (void *arg, size_t index)
{
    s_checks_t *checks = (s_checks_t *) arg;
    s_check_t *check = &checks->checks [index];
    stx_bk_t *self = checks->broker;
    const Stemx__Event *event = check->publish->events [check->index];
    char err [STX_ERRLEN] = "";
    stx_status_t status = STX_OK;
    //  A NUL inside a string hides the rest of it from validation, which
    //  sees C strings: look at the bytes first. The path is given as
    //  validation gives it, inside the entry's kind
    const ProtobufCBinaryData *raw = &check->publish->request->publish->events [check->index];
    char path [256];
    if (stx_nul_find (&stemx__event__descriptor, raw->data, raw->len, path, sizeof (path))) {
        const char *inner = path;
        if (strncmp (path, "entry.", 6) == 0 && strchr (path + 6, '.'))
            inner = strchr (path + 6, '.') + 1;
        status = stx_fail_at (err, sizeof (err), STX_ERR_INVALID, event->key, inner,
                              "holds a NUL byte");
    }
    if (status == STX_OK)
        status = stx_validate_event (self->taxonomy, &self->limits, event, err, sizeof (err));
    if (status == STX_OK && check->publish->secure)
        status = stx_sign_verify_as (event, self->registry, check->publish->org,
                                     err, sizeof (err));
    check->status = status;
    if (status != STX_OK)
        check->text = strdup (*err? err: stx_strerror (status));
}

//  Validate and verify every event the group still holds, on all cores
//  (the registry and taxonomy are only read meanwhile); refuse the bad.
static void
s_batch_check (stx_bk_t *self)
{
    size_t count = 0;
    stx_bk_publish_t *publish = (stx_bk_publish_t *) zlistx_first (self->batch);
    for (; publish; publish = (stx_bk_publish_t *) zlistx_next (self->batch))
        for (size_t index = 0; index < publish->count; index++)
            count += publish->events [index] != NULL;
    if (count == 0)
        return;
    s_checks_t checks = { self, (s_check_t *) calloc (count, sizeof (s_check_t)) };
    assert (checks.checks);
    count = 0;
    publish = (stx_bk_publish_t *) zlistx_first (self->batch);
    for (; publish; publish = (stx_bk_publish_t *) zlistx_next (self->batch))
        for (size_t index = 0; index < publish->count; index++)
            if (publish->events [index]) {
                checks.checks [count].publish = publish;
                checks.checks [count++].index = index;
            }
    stx_pool_run (self->pool, s_check_one, &checks, count);
    for (size_t index = 0; index < count; index++) {
        s_check_t *check = &checks.checks [index];
        if (check->status == STX_OK)
            continue;
        Stemx__Reason reason = stx_status_reason (check->status);
        if (reason == STEMX__REASON__R_OK)
            reason = STEMX__REASON__R_MALFORMED;
        s_publish_result (check->publish, check->index, reason, check->text, 0, 0);
        check->publish->refused [check->index] = true;
        stx_event_free (&check->publish->events [check->index]);
        free (check->text);
    }
    free (checks.checks);
}

static bool
s_storage_failure (stx_status_t status)
{
    switch (status) {
        case STX_ERR_MAP_FULL:
        case STX_ERR_STORAGE:
        case STX_ERR_NOMEM:
        case STX_ERR_IO:
        case STX_ERR_GAP:
        case STX_ERR_STALE:
        case STX_ERR_TIMEOUT:
            return true;
        default:
            return false;
    }
}

//  One attempt at sequencing the whole batch in one write transaction.
//  Returns STX_OK with the transaction committed; or the storage error, after
//  which the caller decides (an event was excluded: redo; else give up).
static stx_status_t
s_batch_attempt (stx_bk_t *self, bool *excluded_one, char *err, size_t errlen)
{
    *excluded_one = false;
    stx_txn_t *txn = NULL;
    stx_status_t status = stx_store_begin (self->store, true, &txn);
    if (status != STX_OK)
        return stx_fail (err, errlen, status, "cannot begin write: %s", stx_strerror (status));

    stx_bk_publish_t *publish = (stx_bk_publish_t *) zlistx_first (self->batch);
    while (publish) {
        for (size_t index = 0; index < publish->count; index++) {
            if (publish->refused [index] || publish->excluded [index])
                continue;
            //  Sequencing restamps what it sets, so a redone attempt may
            //  take the same unpacked event again
            Stemx__Event *event = publish->events [index];
            assert (event);
            if (publish->node) {
                if (event->node && event->node != protobuf_c_empty_string)
                    free (event->node);
                event->node = strdup (publish->node);
                assert (event->node);
            }
            stx_sequenced_t out = { 0, 0, false };
            char text [STX_ERRLEN] = "";
            stx_principal_t principal = { publish->org, publish->pillar, publish->roles };
            //  A new event names known organisations with their own pillars
            //  (a resend gets its first answer, whatever changed since)
            status = STX_OK;
            if (event->event_id.len == STX_EVENT_ID_SIZE
            &&  stx_txn_lookup_id (txn, event, publish->secure? publish->org: NULL, &out, text,
                                   sizeof (text))
                == STX_ERR_NOT_FOUND)
                status = stx_parties_check (txn, event, (int64_t) zclock_time (),
                                            self->registry, true, text, sizeof (text));
            if (status == STX_OK)
                status = stx_txn_sequence (txn, event, publish->secure? &principal: NULL,
                                           &out, text, sizeof (text));
            if (status == STX_ERR_DUPLICATE)
                out.duplicate = true, status = STX_OK;
            if (status == STX_OK)
                s_publish_result (publish, index, STEMX__REASON__R_OK, NULL, out.seq, out.version);
            else
            if (status == STX_ERR_MAP_FULL || status == STX_ERR_NO_SPACE
            ||  status == STX_ERR_IO) {
                //  The store is full, not this event: the whole batch waits
                //  (the caller grows the map and retries, or refuses all)
                stx_txn_abort (&txn);
                return stx_fail (err, errlen, status, "%s", text);
            }
            else
            if (s_storage_failure (status)) {
                //  Leave this event out and let the caller redo the batch
                char line [STX_ERRLEN + 32];
                snprintf (line, sizeof (line), "%s: %s", stx_strerror (status), text);
                s_publish_result (publish, index, STEMX__REASON__R_STORAGE, line, 0, 0);
                publish->excluded [index] = true;
                *excluded_one = true;
                stx_txn_abort (&txn);
                return stx_fail (err, errlen, status, "%s", line);
            }
            else
                s_publish_result (publish, index, stx_status_reason (status),
                                  *text? text: stx_strerror (status), 0, 0);
        }
        publish = (stx_bk_publish_t *) zlistx_next (self->batch);
    }
    status = stx_txn_commit (&txn);
    if (status != STX_OK)
        return stx_fail (err, errlen, status, "commit failed: %s", stx_strerror (status));
    return STX_OK;
}

//  The map is full: end what holds read transactions (snapshot sessions)
//  and double the map, up to map_max. True if it grew.
bool
stx_bk_grow (stx_bk_t *self)
{
    stx_store_info_t info;
    if (stx_store_info (self->store, &info) != STX_OK || info.map_size >= self->map_max)
        return false;
    stx_bk_sessions_end (self, "busy: the broker is growing its store, retry the snapshot");
    size_t size = 0;
    stx_status_t status = stx_store_grow_step (self->store, self->map_max, &size);
    if (status != STX_OK) {
        zsys_error ("storage: cannot grow the map from %.1f MiB: %s",
                    info.map_size / 1048576.0, stx_strerror (status));
        return false;
    }
    self->map_grown++;
    zsys_notice ("storage: map grown from %.1f MiB to %.1f MiB (broker/map_max %.1f MiB)",
                 info.map_size / 1048576.0, size / 1048576.0, self->map_max / 1048576.0);
    return true;
}

//  The text every event of a batch refused for storage gets.
static void
s_storage_text (stx_status_t status, const char *err, char *text, size_t size)
{
    if (status == STX_ERR_MAP_FULL)
        snprintf (text, size,
                  "storage full: the catalogue reached its map size limit (map_max)");
    else
    if (status == STX_ERR_NO_SPACE)
        snprintf (text, size, "storage full: no space left on device");
    else
    if (status == STX_ERR_IO)
        snprintf (text, size, "storage full: input/output error writing the store "
                  "(a full or failing disk)");
    else
        snprintf (text, size, "storage error: %s", err);
}

//  Attempt the batch, leaving out events that hit a storage error of their
//  own; on MDB_MAP_FULL grow the map and try once more.
static stx_status_t
s_batch_commit (stx_bk_t *self, char *err, size_t errlen)
{
    stx_status_t status;
    bool excluded_one;
    bool grown = false;
    while (true) {
        do
            status = s_batch_attempt (self, &excluded_one, err, errlen);
        while (status != STX_OK && excluded_one);
        if (status != STX_ERR_MAP_FULL || grown || !stx_bk_grow (self))
            break;
        grown = true;
    }
    return status;
}

//  Sequence, commit, ack, publish: the whole batch, then empty it.
void
stx_bk_batch_flush (stx_bk_t *self)
{
    if (zlistx_size (self->batch) == 0)
        return;
    s_batch_check (self);
    uint64_t before = self->meta.seq;
    char err [STX_ERRLEN] = "";
    stx_status_t status = s_batch_commit (self, err, sizeof (err));

    if (status != STX_OK) {
        //  Nothing of this batch is stored: no event is acked
        char text [STX_ERRLEN + 32];
        s_storage_text (status, err, text, sizeof (text));
        //  Logged once while the condition lasts; the broker keeps serving
        if (!self->storage_full || strcmp (self->storage_full, text) != 0) {
            zsys_error ("refusing events: %s (%s); reads, fetches and snapshots go on",
                        text, err);
            free (self->storage_full);
            self->storage_full = strdup (text);
            assert (self->storage_full);
        }
        self->storage_refused++;
        stx_bk_publish_t *publish = (stx_bk_publish_t *) zlistx_first (self->batch);
        while (publish) {
            for (size_t index = 0; index < publish->count; index++) {
                Stemx__Result *result = &publish->results [index];
                if (publish->refused [index] || publish->excluded [index])
                    continue;
                //  A resend of an event committed earlier stays acked
                if (result->reason == STEMX__REASON__R_OK
                &&  result->seq != 0 && result->seq <= before)
                    continue;
                s_publish_result (publish, index, STEMX__REASON__R_STORAGE, text, 0, 0);
            }
            publish = (stx_bk_publish_t *) zlistx_next (self->batch);
        }
    }
    stx_bk_refresh_meta (self);
    if (status != STX_OK && self->meta.seq != before)
        zsys_error ("store moved from %" PRIu64 " to %" PRIu64 " on a failed commit",
                    before, self->meta.seq);
    if (status == STX_OK && self->storage_full && self->meta.seq > before) {
        zsys_notice ("storing events again after %" PRIu64 " refused batches (%s)",
                     self->storage_refused, self->storage_full);
        zstr_free (&self->storage_full);
        self->storage_refused = 0;
    }

    if (self->meta.seq > before)
        self->accepted += self->meta.seq - before;

    //  Acks, only now that the commit is synced. Each refusal is counted;
    //  the log gets one line per reason per request, naming the first
    //  event refused for it (and at most STX_BK_WARN_PER_TICK lines a heartbeat)
    stx_bk_publish_t *publish = (stx_bk_publish_t *) zlistx_first (self->batch);
    while (publish) {
        size_t counts [STX_BK_REASONS] = { 0 };
        const char *first [STX_BK_REASONS] = { NULL };
        for (size_t index = 0; index < publish->count; index++) {
            const Stemx__Result *result = &publish->results [index];
            if (result->reason == STEMX__REASON__R_OK || (unsigned) result->reason >= STX_BK_REASONS)
                continue;
            stx_bk_count_refusal (self, result->reason);
            if (counts [result->reason]++ == 0)
                first [result->reason] = result->text;
        }
        for (int reason = 1; reason < STX_BK_REASONS; reason++) {
            if (counts [reason] == 0)
                continue;
            char who [64], more [64] = "";
            if (counts [reason] > 1)
                snprintf (more, sizeof (more), " (and %zu more like it)", counts [reason] - 1);
            stx_bk_warn (self, "refused event from %s%s%s%s: %s%s",
                         stx_bk_peer_name (self, publish->routing_id, who, sizeof (who)),
                    publish->org? " (": "", publish->org? publish->org: "",
                    publish->org? ")": "", first [reason], more);
        }
        Stemx__Ack ack = STEMX__ACK__INIT;
        ack.n_results = publish->count;
        ack.results = publish->result_ptrs;
        Stemx__Reply reply = STEMX__REPLY__INIT;
        reply.body_case = STEMX__REPLY__BODY_ACK;
        reply.ack = &ack;
        stx_replyq_send (self->replies, publish->routing_id, &reply);
        publish = (stx_bk_publish_t *) zlistx_next (self->batch);
    }
    zlistx_purge (self->batch);
    self->batch_events = 0;

    //  Fan out the new events, in order, as the log holds them
    if (self->meta.seq > before) {
        stx_txn_t *txn = NULL;
        bool skipped = false;
        status = stx_store_begin (self->store, false, &txn);
        for (uint64_t seq = before + 1; status == STX_OK && seq <= self->meta.seq; seq++) {
            const uint8_t *data;
            size_t size;
            status = stx_txn_log_get (txn, seq, &data, &size);
            //  A subscriber's queue is bounded in messages (STX_BK_PUB_HWM), so
            //  its bytes are bounded only if every message is small: a
            //  larger event is left to the replicas' FETCH, which the
            //  heartbeat after this group starts at once
            if (status == STX_OK && size <= STX_BK_PUB_EVENT_MAX)
                stx_wire_publish (self->publisher, STX_TOPIC_EVENT, data, size);
            else
            if (status == STX_OK)
                skipped = true;
        }
        if (status != STX_OK)
            zsys_error ("cannot read the log to publish: %s (replicas will fetch)",
                        stx_strerror (status));
        stx_txn_abort (&txn);
        if (skipped)
            stx_bk_heartbeat (self);
        if (self->verbose)
            zsys_debug ("committed %" PRIu64 " events, seq %" PRIu64,
                        self->meta.seq - before, self->meta.seq);
    }
}
