/*  =========================================================================
    stx_outbox - an agent's durable queue of events waiting for the broker

    DESIGN
    ------
    Its own LMDB environment, DIR/outbox/, with four named databases:
      pending   counter (8-byte big-endian) -> packed Event
      ids       event id -> counter, so an ACK or NACK finds its event
      rejected  counter (8-byte big-endian) -> record (below)
      meta      "next" -> next pending counter (8-byte big-endian)
    A rejected record is reason (4-byte big-endian, signed), text length
    (4-byte big-endian), the text without NUL, then the packed event.

    Counters only grow, so pending order is publish order. Every add, ack
    and reject is one transaction, synced on commit (LMDB's default, no
    NOSYNC flag): when a function returns STX_OK the change is on disk.

    Threads: one outbox belongs to one thread (the agent actor); the
    environment is MDB_NOTLS like the store.
    ========================================================================= */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include <czmq.h>
#include "stx_outbox.h"
#include "stx_lmdb.h"

#define STX_OUTBOX_MAP_SIZE (256UL * 1024 * 1024)

struct _stx_outbox_t {
    MDB_env *env;               //  the environment
    MDB_dbi pending;            //  counter -> packed event
    MDB_dbi ids;                //  event id -> counter
    MDB_dbi rejected;           //  counter -> reason, text, packed event
    MDB_dbi meta;               //  "next"
    size_t max_key;             //  LMDB's key size limit
};

static stx_status_t
s_status (int rc, const char *what)
{
    return stx_lmdb_status (rc, "stx_outbox", what);
}

//  The outbox has no long-lived transactions: a map another process grew
//  is always safe to adopt
static int
s_begin (stx_outbox_t *self, bool write, MDB_txn **txn)
{
    return stx_lmdb_begin (self->env, write? 0: MDB_RDONLY, true, txn);
}


//  --------------------------------------------------------------------------
//  Open or create the outbox

stx_status_t
stx_outbox_open (const char *dir, bool readonly, stx_outbox_t **self_p,
                 char *err, size_t errlen)
{
    assert (dir);
    assert (self_p);
    *self_p = NULL;
    stx_lmdb_options_t options = {
        .noun = "outbox", .name = "outbox", .maxdbs = 4,
        .map_size = STX_OUTBOX_MAP_SIZE, .readonly = readonly
    };
    char path [4096];
    stx_lmdb_opened_t opened;
    MDB_env *env = NULL;
    stx_status_t status = stx_lmdb_open (dir, "outbox", &options,
        "restore it from a backup; the events in it may not have reached the broker",
        &env, &opened, path, sizeof (path), err, errlen);
    if (status != STX_OK)
        return status;
    stx_outbox_t *self = (stx_outbox_t *) calloc (1, sizeof (stx_outbox_t));
    assert (self);
    self->env = env;
    self->max_key = (size_t) mdb_env_get_maxkeysize (self->env);
    MDB_txn *txn = NULL;
    const char *step = "mdb_txn_begin";
    int rc = s_begin (self, !readonly, &txn);
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs [] = {
        { "pending", &self->pending },
        { "ids", &self->ids },
        { "rejected", &self->rejected },
        { "meta", &self->meta }
    };
    for (size_t i = 0; rc == 0 && i < sizeof (dbs) / sizeof (dbs [0]); i++) {
        step = dbs [i].name;
        rc = mdb_dbi_open (txn, dbs [i].name, readonly? 0: MDB_CREATE, dbs [i].dbi);
    }
    if (rc == 0) {
        step = "mdb_txn_commit";
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (rc) {
        if (txn)
            mdb_txn_abort (txn);
        stx_lmdb_discard (&self->env, path, opened.created);
        free (self);
        status = rc == MDB_NOTFOUND? STX_ERR_NOT_FOUND:
                              rc == EACCES || rc == ENOENT? STX_ERR_IO: STX_ERR_STORAGE;
        return stx_fail (err, errlen, status, "%s: %s: %s", path, step, mdb_strerror (rc));
    }
    *self_p = self;
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Close

void
stx_outbox_destroy (stx_outbox_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mdb_env_close ((*self_p)->env);
        free (*self_p);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Append count packed events in one synced commit

stx_status_t
stx_outbox_add (stx_outbox_t *self, const uint8_t **datas, const size_t *sizes, size_t count)
{
    assert (self);
    assert (datas || count == 0);
    assert (sizes || count == 0);
    //  Check every event before writing any
    for (size_t i = 0; i < count; i++) {
        Stemx__Event *event;
        if (stx_event_unpack (datas [i], sizes [i], &event) != STX_OK)
            return STX_ERR_MALFORMED;
        //  ack and reject find events by a STX_EVENT_ID_SIZE id: an event
        //  with any other id could never leave the outbox
        bool ok = event->event_id.len == STX_EVENT_ID_SIZE;
        stx_event_free (&event);
        if (!ok)
            return STX_ERR_MALFORMED;
    }
    MDB_txn *txn;
    int rc = s_begin (self, true, &txn);
    if (rc)
        return s_status (rc, "mdb_txn_begin");

    uint64_t next = 1;
    MDB_val key = { 4, (void *) "next" }, data;
    rc = mdb_get (txn, self->meta, &key, &data);
    if (rc == 0 && data.mv_size == 8)
        next = stx_lmdb_get_be64 ((const uint8_t *) data.mv_data);
    else
    if (rc == MDB_NOTFOUND)
        rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        Stemx__Event *event;
        stx_event_unpack (datas [i], sizes [i], &event);
        assert (event);
        MDB_val id = { event->event_id.len, event->event_id.data };
        uint8_t counter [8];
        stx_lmdb_put_be64 (next, counter);
        data.mv_size = 8;
        data.mv_data = counter;
        //  An id already pending is a resend of the same event: keep one
        rc = mdb_put (txn, self->ids, &id, &data, MDB_NOOVERWRITE);
        if (rc == 0) {
            MDB_val seq = { 8, counter }, value = { sizes [i], (void *) datas [i] };
            rc = mdb_put (txn, self->pending, &seq, &value, MDB_APPEND);
            next++;
        }
        else
        if (rc == MDB_KEYEXIST)
            rc = 0;
        stx_event_free (&event);
    }
    if (rc == 0) {
        uint8_t counter [8];
        stx_lmdb_put_be64 (next, counter);
        data.mv_size = 8;
        data.mv_data = counter;
        rc = mdb_put (txn, self->meta, &key, &data, 0);
    }
    if (rc) {
        mdb_txn_abort (txn);
        return s_status (rc, "add");
    }
    return s_status (mdb_txn_commit (txn), "mdb_txn_commit");
}


//  --------------------------------------------------------------------------
//  Call fn (or seq_fn, with the position) for up to max pending events
//  from position from on, oldest first

static stx_status_t
s_scan (stx_outbox_t *self, uint64_t from, size_t max, stx_outbox_fn *fn,
        stx_outbox_seq_fn *seq_fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = s_begin (self, false, &txn);
    if (rc)
        return s_status (rc, "mdb_txn_begin");
    rc = mdb_cursor_open (txn, self->pending, &cursor);
    if (rc == 0) {
        uint8_t be [8];
        stx_lmdb_put_be64 (from, be);
        MDB_val key = { 8, be }, data;
        size_t sent = 0;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
        while (rc == 0 && (max == 0 || sent < max)) {
            sent++;
            uint64_t seq = key.mv_size == 8? stx_lmdb_get_be64 ((const uint8_t *) key.mv_data): 0;
            if (fn? fn ((const uint8_t *) data.mv_data, data.mv_size, arg)
                  : seq_fn (seq, (const uint8_t *) data.mv_data, data.mv_size, arg))
                break;
            rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
        }
        mdb_cursor_close (cursor);
    }
    mdb_txn_abort (txn);
    return rc == MDB_NOTFOUND? STX_OK: s_status (rc, "pending");
}

stx_status_t
stx_outbox_pending (stx_outbox_t *self, size_t max, stx_outbox_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    return s_scan (self, 0, max, fn, NULL, arg);
}

stx_status_t
stx_outbox_pending_from (stx_outbox_t *self, uint64_t from, size_t max,
                         stx_outbox_seq_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    return s_scan (self, from, max, NULL, fn, arg);
}


//  --------------------------------------------------------------------------
//  Remove a pending event by id; *data_p (if not NULL) gets a copy of its
//  bytes (caller frees). MDB_NOTFOUND if not pending.

static int
s_remove (stx_outbox_t *self, MDB_txn *txn, const uint8_t *id, uint8_t **data_p,
          size_t *size_p)
{
    MDB_val key = { STX_EVENT_ID_SIZE, (void *) id }, counter, data;
    int rc = mdb_get (txn, self->ids, &key, &counter);
    if (rc)
        return rc;
    uint8_t be [8];
    assert (counter.mv_size == 8);
    memcpy (be, counter.mv_data, 8);
    MDB_val seq = { 8, be };
    rc = mdb_get (txn, self->pending, &seq, &data);
    if (rc == 0 && data_p) {
        *data_p = (uint8_t *) malloc (data.mv_size? data.mv_size: 1);
        assert (*data_p);
        memcpy (*data_p, data.mv_data, data.mv_size);
        *size_p = data.mv_size;
    }
    if (rc == 0)
        rc = mdb_del (txn, self->pending, &seq, NULL);
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = mdb_del (txn, self->ids, &key, NULL);
    return rc;
}


//  --------------------------------------------------------------------------
//  Move the pending event id to the rejected list with its reason and text

static int
s_reject (stx_outbox_t *self, MDB_txn *txn, const uint8_t id [STX_EVENT_ID_SIZE],
          int reason, const char *text)
{
    if (!text)
        text = "";
    uint8_t *event = NULL;
    size_t event_size = 0;
    int rc = s_remove (self, txn, id, &event, &event_size);
    if (rc == MDB_NOTFOUND)
        return 0;               //  not pending: nothing to do
    uint64_t next = 1;
    MDB_cursor *cursor = NULL;
    if (rc == 0)
        rc = mdb_cursor_open (txn, self->rejected, &cursor);
    if (rc == 0) {
        MDB_val key, data;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_LAST);
        if (rc == 0 && key.mv_size == 8)
            next = stx_lmdb_get_be64 ((const uint8_t *) key.mv_data) + 1;
        if (rc == MDB_NOTFOUND)
            rc = 0;
        mdb_cursor_close (cursor);
    }
    if (rc == 0) {
        size_t text_len = strlen (text);
        size_t size = 8 + text_len + event_size;
        uint8_t *record = (uint8_t *) malloc (size);
        assert (record);
        stx_lmdb_put_be32 ((uint32_t) reason, record);
        stx_lmdb_put_be32 ((uint32_t) text_len, record + 4);
        memcpy (record + 8, text, text_len);
        if (event_size)
            memcpy (record + 8 + text_len, event, event_size);
        uint8_t be [8];
        stx_lmdb_put_be64 (next, be);
        MDB_val key = { 8, be }, data = { size, record };
        rc = mdb_put (txn, self->rejected, &key, &data, MDB_APPEND);
        free (record);
    }
    free (event);
    return rc;
}


//  --------------------------------------------------------------------------
//  The broker's answers: remove the acked, move the refused

stx_status_t
stx_outbox_settle (stx_outbox_t *self, const uint8_t (*acked) [STX_EVENT_ID_SIZE],
                   size_t nacked, const stx_refusal_t *refused, size_t nrefused)
{
    assert (self);
    assert (acked || nacked == 0);
    assert (refused || nrefused == 0);
    if (nacked == 0 && nrefused == 0)
        return STX_OK;
    MDB_txn *txn;
    int rc = s_begin (self, true, &txn);
    if (rc)
        return s_status (rc, "mdb_txn_begin");
    for (size_t i = 0; rc == 0 && i < nacked; i++) {
        rc = s_remove (self, txn, acked [i], NULL, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;             //  acked before
    }
    for (size_t i = 0; rc == 0 && i < nrefused; i++)
        rc = s_reject (self, txn, refused [i].id, refused [i].reason, refused [i].text);
    if (rc) {
        mdb_txn_abort (txn);
        return s_status (rc, "settle");
    }
    //  One flush instead of two: a system crash may undo this commit
    //  (never an add: those flush the meta page too), which costs only a
    //  resend that the broker answers again from its id index
    mdb_env_set_flags (self->env, MDB_NOMETASYNC, 1);
    rc = mdb_txn_commit (txn);
    mdb_env_set_flags (self->env, MDB_NOMETASYNC, 0);
    return s_status (rc, "mdb_txn_commit");
}

stx_status_t
stx_outbox_ack (stx_outbox_t *self, const uint8_t (*ids) [STX_EVENT_ID_SIZE], size_t count)
{
    return stx_outbox_settle (self, ids, count, NULL, 0);
}

stx_status_t
stx_outbox_reject (stx_outbox_t *self, const uint8_t id [STX_EVENT_ID_SIZE],
                   int reason, const char *text)
{
    assert (id);
    stx_refusal_t refusal = { id, reason, text };
    return stx_outbox_settle (self, NULL, 0, &refusal, 1);
}


//  --------------------------------------------------------------------------
//  Number of pending and of rejected events

stx_status_t
stx_outbox_depth (stx_outbox_t *self, uint64_t *pending, uint64_t *rejected)
{
    assert (self);
    MDB_txn *txn;
    int rc = s_begin (self, false, &txn);
    if (rc)
        return s_status (rc, "mdb_txn_begin");
    MDB_stat stat;
    rc = mdb_stat (txn, self->pending, &stat);
    if (rc == 0 && pending)
        *pending = stat.ms_entries;
    if (rc == 0)
        rc = mdb_stat (txn, self->rejected, &stat);
    if (rc == 0 && rejected)
        *rejected = stat.ms_entries;
    mdb_txn_abort (txn);
    return s_status (rc, "mdb_stat");
}


//  --------------------------------------------------------------------------
//  Call fn for every rejected event, oldest first

stx_status_t
stx_outbox_rejected (stx_outbox_t *self, stx_rejected_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    MDB_txn *txn;
    MDB_cursor *cursor;
    int rc = s_begin (self, false, &txn);
    if (rc)
        return s_status (rc, "mdb_txn_begin");
    rc = mdb_cursor_open (txn, self->rejected, &cursor);
    if (rc == 0) {
        MDB_val key, data;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);
        while (rc == 0) {
            const uint8_t *record = (const uint8_t *) data.mv_data;
            if (data.mv_size < 8) {
                rc = MDB_CORRUPTED;
                break;
            }
            int reason = (int) stx_lmdb_get_be32 (record);
            size_t text_len = stx_lmdb_get_be32 (record + 4);
            if (8 + text_len > data.mv_size) {
                rc = MDB_CORRUPTED;
                break;
            }
            char *text = (char *) malloc (text_len + 1);
            assert (text);
            memcpy (text, record + 8, text_len);
            text [text_len] = 0;
            int stop = fn (record + 8 + text_len, data.mv_size - 8 - text_len,
                           reason, text, arg);
            free (text);
            if (stop)
                break;
            rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
        }
        mdb_cursor_close (cursor);
    }
    mdb_txn_abort (txn);
    return rc == 0 || rc == MDB_NOTFOUND? STX_OK: s_status (rc, "rejected");
}
