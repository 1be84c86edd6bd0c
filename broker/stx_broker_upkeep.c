/*  =========================================================================
    stx_broker_upkeep - status.json and log retention

    The status document, written when it changed at most once per
    heartbeat, and one bounded retention step per heartbeat. Runs in the
    broker's actor thread.
    ========================================================================= */

#include "stx_broker_parts.h"

//  --------------------------------------------------------------------------
//  Status document (DATA/status.json)

char *
stx_bk_status_json (stx_bk_t *self)
{
    char started [32], reload [32];
    char head [STX_HEAD_SIZE * 2 + 1], lineage [STX_LINEAGE_SIZE * 2 + 1];
    stx_daemon_iso_time (self->started, started, sizeof (started));
    if (self->last_reload)
        stx_daemon_iso_time (self->last_reload, reload, sizeof (reload));
    stx_hex (self->meta.head, STX_HEAD_SIZE, head);
    stx_hex (self->meta.lineage, STX_LINEAGE_SIZE, lineage);

    json_t *refusals = json_object ();
    const ProtobufCEnumDescriptor *reasons = &stemx__reason__descriptor;
    for (unsigned index = 0; index < reasons->n_values; index++) {
        int value = reasons->values [index].value;
        assert (value >= 0 && value < STX_BK_REASONS);
        if (value != STEMX__REASON__R_OK)
            json_object_set_new (refusals, reasons->values [index].name,
                                 json_integer ((json_int_t) self->refusals [value]));
    }
    stx_store_info_t info;
    memset (&info, 0, sizeof (info));
    stx_store_info (self->store, &info);
    json_t *storage = json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
        "map_size", (json_int_t) info.map_size,
        "map_used", (json_int_t) info.map_used,
        "map_max", (json_int_t) self->map_max,
        "map_grown", (json_int_t) self->map_grown,
        "log_first", (json_int_t) self->meta.log_first,
        "trimmed", (json_int_t) self->trimmed,
        "full", self->storage_full? json_string (self->storage_full): json_null ());
    assert (storage);
    json_t *replies = json_pack ("{s:I, s:I, s:I}",
        "held", (json_int_t) (self->replies? stx_replyq_held (self->replies): 0),
        "held_bytes", (json_int_t) (self->replies? stx_replyq_held_bytes (self->replies): 0),
        "dropped", (json_int_t) (self->replies_dropped
                                 + (self->replies? stx_replyq_dropped (self->replies): 0)));
    assert (replies);
    json_t *doc = json_pack ("{s:i, s:s, s:I, s:s, s:s, s:b, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:o, s:o}",
        "pid", (int) getpid (),
        "started", started,
        "seq", (json_int_t) self->meta.seq,
        "head", head,
        "lineage", lineage,
        "insecure", self->insecure,
        "registry_keys", (json_int_t) (self->registry? stx_registry_size (self->registry): 0),
        "peers", (json_int_t) zhashx_size (self->peers),
        "accepted", (json_int_t) self->accepted,
        "refusals", refusals,
        "disconnected_revoked", (json_int_t) self->disconnected_revoked,
        "rebinds", (json_int_t) self->rebinds,
        "last_reload", self->last_reload? json_string (reload): json_null (),
        "storage", storage,
        "replies", replies);
    assert (doc);
    char *text = json_dumps (doc, JSON_INDENT (2));
    assert (text);
    json_decref (doc);
    return text;
}

//  Write status.json if it changed since it was last written.
void
stx_bk_status_write (stx_bk_t *self)
{
    char *text = stx_bk_status_json (self);
    if (self->status_written && streq (self->status_written, text)) {
        free (text);
        return;
    }
    char err [STX_ERRLEN] = "";
    size_t length = strlen (text);
    char *line = (char *) malloc (length + 2);
    assert (line);
    memcpy (line, text, length);
    memcpy (line + length, "\n", 2);
    if (stx_daemon_write_file (self->status_path, line, err, sizeof (err)) == STX_OK) {
        free (self->status_written);
        self->status_written = text;
        text = NULL;
    }
    else
        stx_bk_warn (self, "%s", err);
    free (line);
    free (text);
}


//  --------------------------------------------------------------------------
//  Log retention: one bounded step per heartbeat, in a write transaction
//  of its own (between group commits, so publishing waits at most for one
//  step of STX_BK_TRIM_STEP deletions). Entries and event ids are never trimmed.

void
stx_bk_retention_step (stx_bk_t *self)
{
    if (self->keep_events < 0 || self->keep_days < 0)
        return;
    int64_t before_ms = (int64_t) time (NULL) * 1000 - self->keep_days * 86400 * 1000;
    uint64_t trimmed = 0;
    stx_status_t status = stx_store_trim (self->store, (uint64_t) self->keep_events,
                                          before_ms, STX_BK_TRIM_STEP, &trimmed);
    if (status == STX_ERR_MAP_FULL)
        stx_bk_grow (self);          //  deleting needs pages too; the next step retries
    else
    if (status != STX_OK)
        zsys_error ("retention: cannot trim the log: %s", stx_strerror (status));
    if (trimmed) {
        self->trimmed += trimmed;
        stx_bk_refresh_meta (self);
        if (self->verbose)
            zsys_debug ("retention: trimmed %" PRIu64 " events, log starts at %" PRIu64,
                        trimmed, self->meta.log_first);
    }
}
