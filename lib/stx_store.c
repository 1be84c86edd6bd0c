/*  =========================================================================
    stx_store - a node's replicated catalogue in one LMDB environment

    DESIGN
    ------
    One environment, DIR/catalogue/, seven named databases:
      entries   key -> packed Event, the latest event of each entry
      index     "<index>=<value>" -> key (DUPSORT), see stx_index.c
      log       seq as 8-byte big-endian -> packed Event (MDB_APPEND)
      ids       event id (16 bytes) -> seq as 8-byte big-endian
      meta      "lineage" (16 bytes), "seq" (8 BE), "head" (32 bytes),
                "log_first" (8 BE; absent = 1)
      heads     seq (8 BE) -> head after it, for log_first - 1 .. seq
      history   entry key -> seqs of its events (DUPSORT, DUPFIXED)
    Retention (stx_txn_trim) removes the oldest log, heads and history
    records and advances log_first in one transaction; entries and ids
    stay forever (ids keep resends of trimmed events idempotent).

    Map size. MDB_MAP_FULL may come from a put or from the commit; the
    caller aborts, calls stx_store_grow with no transaction of the store
    alive (the live-transaction count `txns` enforces it: remapping under a
    live transaction leaves its pointers dangling) and retries. A commit's
    ENOSPC/EDQUOT/EFBIG becomes STX_ERR_NO_SPACE and EIO STX_ERR_IO: the
    commit wrote no meta page, so the store is as before the transaction.
    No key or value carries a terminating NUL, so mdb_dump shows them
    plainly. The entry count is mdb_stat of entries, never a counter that
    could drift.

    Invariant 1 rests on s_apply: the broker (stx_txn_sequence) stamps an
    event, packs it and hands the bytes to s_apply; a replica hands the
    bytes it received to the very same s_apply (stx_txn_apply). s_apply
    reads nothing but the bytes and the store, so the catalogue, index and
    (seq, head) at sequence N are a pure function of events 1..N.

    Everything a failing event must not leave behind is checked before
    the first write, so a refused event (conflict, gap, ...) leaves the
    transaction usable for the other events of its batch. A storage error
    after the first write leaves it half done: the caller must abort.

    Index changes are not put as an event is applied: the write
    transaction collects them (stx_index_batch) and puts them sorted
    before it reads the index and when it commits, or once it holds
    S_PENDING_MAX of them. An index put in key order lands next to the
    previous one, where a random one walks the B-tree and dirties a page
    of its own.

    Threads: the environment is opened MDB_NOTLS, so reader slots belong
    to transactions, not threads, and a read transaction may be held
    across loop iterations. LMDB allows one write transaction at a time.
    ========================================================================= */

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <lmdb.h>
#include <sodium.h>
#include <czmq.h>
#include "stx_index_batch.h"
#include "stx_sign.h"
#include "stx_store.h"
#include "stx_lmdb.h"

#define STX_MAP_SIZE_DEFAULT (1024UL * 1024 * 1024)

//  Index changes a write transaction holds before it puts them: a batch of
//  live events or a snapshot part of about 2000 entries, in a few MiB
#define S_PENDING_MAX       (64 * 1024)

struct _stx_store_t {
    MDB_env *env;               //  the environment
    MDB_dbi entries;            //  key -> latest packed event
    MDB_dbi index;              //  index key -> entry keys (DUPSORT)
    MDB_dbi log;                //  seq -> packed event
    MDB_dbi ids;                //  event id -> seq
    MDB_dbi meta;               //  lineage, seq, head, log_first
    MDB_dbi heads;              //  seq -> hash-chain head after it
    MDB_dbi history;            //  entry key -> seqs of its events (DUPSORT, DUPFIXED)
    size_t max_key;             //  LMDB's key size limit (511)
    bool readonly;              //  opened MDB_RDONLY
    bool noindex;               //  keeps no query index (meta "noindex")
    size_t txns;                //  transactions begun and not yet ended
    int stale_readers;          //  reader slots cleared by mdb_reader_check at open
    stx_index_batch_t *pending; //  index changes of the write transaction, not
                                //  yet in LMDB (one write transaction at a time)
};

struct _stx_txn_t {
    stx_store_t *store;         //  the store it belongs to
    MDB_txn *txn;               //  LMDB transaction
    bool write;                 //  a write transaction
    bool broken;                //  an index flush failed half way: commit refuses
};

static stx_status_t
    s_index_flush (stx_txn_t *self);

//  --------------------------------------------------------------------------
//  Translate an LMDB return code; unexpected ones are logged once here.

static stx_status_t
s_status (int rc, const char *what)
{
    return stx_lmdb_status (rc, "stx_store", what);
}

static MDB_val
s_val (const void *data, size_t size)
{
    MDB_val val = { size, (void *) data };
    return val;
}

static MDB_val
s_str (const char *string)
{
    return s_val (string, strlen (string));
}

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Replace a protobuf-c string field, freeing the old value unless it is
//  the shared empty string.
static void
s_set_string (char **field, const char *value)
{
    char *copy = *value? strdup (value): (char *) protobuf_c_empty_string;
    assert (copy);
    if (*field && *field != protobuf_c_empty_string)
        free (*field);
    *field = copy;
}

//  The organisation owning an entry ("" if none).

//  A structurally sound envelope: key storable, op and entry agree.
static bool
s_envelope_ok (stx_store_t *store, const Stemx__Event *event)
{
    size_t key_len = strlen (event->key);
    if (key_len == 0 || key_len > store->max_key)
        return false;
    if (event->op == STEMX__OPERATION__OP_UPSERT)
        return stx_entry_kind (event->entry) != STX_KIND_NONE;
    if (event->op == STEMX__OPERATION__OP_WITHDRAW)
        return event->entry == NULL;
    return false;
}


//  --------------------------------------------------------------------------
//  Open the store

//  The meta key that marks a store without query index
#define S_NOINDEX "noindex"

//  At open: learn whether the store keeps no index; with drop (a writer
//  asking for none), empty the index and mark the store so, once. An
//  LMDB error code.
static int
s_open_noindex (stx_store_t *self, MDB_txn *txn, bool drop)
{
    MDB_val key = { strlen (S_NOINDEX), (void *) S_NOINDEX }, data;
    int rc = mdb_get (txn, self->meta, &key, &data);
    if (rc == MDB_NOTFOUND && drop) {
        data = (MDB_val) { 1, (void *) "1" };
        rc = mdb_drop (txn, self->index, 0);
        if (rc == 0)
            rc = mdb_put (txn, self->meta, &key, &data, 0);
    }
    if (rc == MDB_NOTFOUND)
        return 0;
    self->noindex = rc == 0;
    return rc;
}

//  Remove folder path and the files in it (an LMDB environment has no
//  sub-folders). ENOENT is no error.
static int
s_remove_env_dir (const char *path)
{
    DIR *folder = opendir (path);
    if (!folder)
        return errno == ENOENT? 0: -1;
    struct dirent *item;
    int rc = 0;
    while (rc == 0 && (item = readdir (folder))) {
        if (strcmp (item->d_name, ".") == 0 || strcmp (item->d_name, "..") == 0)
            continue;
        char file [4096 + 256 + 2];
        snprintf (file, sizeof (file), "%s/%s", path, item->d_name);
        rc = unlink (file);
    }
    closedir (folder);
    return rc == 0? rmdir (path): rc;
}

stx_status_t
stx_store_set_aside (const char *dir, bool *moved_p, char *err, size_t errlen)
{
    assert (dir);
    assert (moved_p);
    *moved_p = false;
    char path [4096], aside [4096];
    if (snprintf (path, sizeof (path), "%s/catalogue", dir) >= (int) sizeof (path)
    ||  snprintf (aside, sizeof (aside), "%s/catalogue.before-resync", dir)
        >= (int) sizeof (aside))
        return stx_fail (err, errlen, STX_ERR_IO, "%s: path too long", dir);
    struct stat info;
    if (stat (path, &info) != 0) {
        if (errno == ENOENT)
            return STX_OK;
        return stx_fail (err, errlen, STX_ERR_IO, "%s: %s", path, strerror (errno));
    }
    if (s_remove_env_dir (aside) != 0)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot remove the older %s: %s",
                         aside, strerror (errno));
    if (rename (path, aside) != 0)
        return stx_fail (err, errlen, STX_ERR_IO, "cannot move %s to %s: %s",
                         path, aside, strerror (errno));
    *moved_p = true;
    return STX_OK;
}

stx_status_t
stx_store_open (const char *dir, int flags, size_t map_size, stx_store_t **self_p,
                char *err, size_t errlen)
{
    assert (dir);
    assert (self_p);
    *self_p = NULL;
    bool readonly = (flags & STX_STORE_READONLY) != 0;

    int rc = sodium_init ();
    assert (rc >= 0);
    stx_lmdb_options_t options = {
        .noun = "store", .name = "catalogue", .maxdbs = 8,
        .map_size = map_size? map_size: STX_MAP_SIZE_DEFAULT,
        .map_size_configured = map_size != 0,
        .readonly = readonly, .nometasync = (flags & STX_STORE_NOSYNC) != 0
    };
    char path [4096];
    stx_lmdb_opened_t opened;
    MDB_env *env = NULL;
    stx_status_t status = stx_lmdb_open (dir, "catalogue", &options,
        "restore it from a backup, or (an agent's replica) start the agent with --resync "
        "to take a fresh snapshot", &env, &opened, path, sizeof (path), err, errlen);
    if (status != STX_OK)
        return status;

    stx_store_t *self = (stx_store_t *) calloc (1, sizeof (stx_store_t));
    assert (self);
    self->readonly = readonly;
    self->env = env;
    self->stale_readers = opened.stale_readers;     //  the daemons log it (stx_store_info)
    MDB_txn *txn = NULL;
    const char *step = "mdb_txn_begin";
    self->max_key = (size_t) mdb_env_get_maxkeysize (self->env);
    rc = mdb_txn_begin (self->env, NULL, readonly? MDB_RDONLY: 0, &txn);
    struct {
        const char *name;
        MDB_dbi *dbi;
        unsigned int flags;
    } dbs [] = {
        { "entries", &self->entries, 0 },
        { "index", &self->index, MDB_DUPSORT },
        { "log", &self->log, 0 },
        { "ids", &self->ids, 0 },
        { "meta", &self->meta, 0 },
        { "heads", &self->heads, 0 },
        { "history", &self->history, MDB_DUPSORT | MDB_DUPFIXED }
    };
    for (size_t i = 0; rc == 0 && i < sizeof (dbs) / sizeof (dbs [0]); i++) {
        step = dbs [i].name;
        rc = mdb_dbi_open (txn, dbs [i].name, dbs [i].flags | (readonly? 0: MDB_CREATE),
                           dbs [i].dbi);
    }
    if (rc == 0) {
        step = "noindex";
        rc = s_open_noindex (self, txn, !readonly && (flags & STX_STORE_NOINDEX));
    }
    if (rc == 0) {
        step = "mdb_txn_commit";
        rc = mdb_txn_commit (txn);
        txn = NULL;
    }
    if (rc) {
        if (txn)
            mdb_txn_abort (txn);
        //  A store that could not be created leaves nothing behind
        stx_lmdb_discard (&self->env, path, opened.created);
        free (self);
        status = rc == MDB_NOTFOUND? STX_ERR_NOT_FOUND:
                              rc == EACCES || rc == ENOENT? STX_ERR_IO: STX_ERR_STORAGE;
        return stx_fail (err, errlen, status, "%s: %s: %s", path, step, mdb_strerror (rc));
    }
    if (self->noindex && (flags & STX_STORE_QUERY)) {
        mdb_env_close (self->env);
        free (self);
        return stx_fail (err, errlen, STX_ERR_INVALID, "%s is a broker's store, which keeps "
                         "no query index: use an agent's data folder", dir);
    }
    *self_p = self;
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Close the store

void
stx_store_destroy (stx_store_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        stx_store_t *self = *self_p;
        mdb_env_close (self->env);
        stx_index_batch_destroy (&self->pending);
        free (self);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Read meta in a short read transaction

stx_status_t
stx_store_meta (stx_store_t *self, stx_meta_t *meta)
{
    assert (self);
    stx_txn_t *txn;
    stx_status_t status = stx_store_begin (self, false, &txn);
    if (status == STX_OK) {
        status = stx_txn_meta (txn, meta);
        stx_txn_abort (&txn);
    }
    return status;
}


//  --------------------------------------------------------------------------
//  Begin a transaction

stx_status_t
stx_store_begin (stx_store_t *self, bool write, stx_txn_t **txn_p)
{
    assert (self);
    assert (txn_p);
    *txn_p = NULL;
    if (write && self->readonly)
        return STX_ERR_INVALID;
    MDB_txn *txn = NULL;
    unsigned int flags = write? 0: MDB_RDONLY;
    //  A map another process grew is adopted only with no other transaction
    //  of ours alive: MDB_NOTLS lets a read transaction outlive a loop
    //  iteration, and its data pointers point into the map
    int rc = stx_lmdb_begin (self->env, flags, self->txns == 0, &txn);
    if (rc == MDB_MAP_RESIZED) {
        zsys_warning ("stx_store: map grown by another process; "
                      "end open transactions before beginning a new one");
        return STX_ERR_STORAGE;
    }
    if (rc)
        return s_status (rc, "mdb_txn_begin");

    stx_txn_t *self_txn = (stx_txn_t *) calloc (1, sizeof (stx_txn_t));
    assert (self_txn);
    self_txn->store = self;
    self_txn->txn = txn;
    self_txn->write = write;
    self->txns++;
    *txn_p = self_txn;
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Commit and free the transaction

stx_status_t
stx_txn_commit (stx_txn_t **txn_p)
{
    assert (txn_p);
    stx_txn_t *self = *txn_p;
    assert (self);
    stx_status_t status = self->broken? STX_ERR_STORAGE: s_index_flush (self);
    if (status != STX_OK) {
        stx_txn_abort (txn_p);
        return status;
    }
    int rc = 0;
    if (self->write)
        rc = mdb_txn_commit (self->txn);
    else
        mdb_txn_abort (self->txn);
    assert (self->store->txns > 0);
    self->store->txns--;
    free (self);
    *txn_p = NULL;
    return s_status (rc, "mdb_txn_commit");
}


//  --------------------------------------------------------------------------
//  Abort and free the transaction

void
stx_txn_abort (stx_txn_t **txn_p)
{
    assert (txn_p);
    if (*txn_p) {
        if ((*txn_p)->write && (*txn_p)->store->pending)
            stx_index_batch_clear ((*txn_p)->store->pending);
        mdb_txn_abort ((*txn_p)->txn);
        assert ((*txn_p)->store->txns > 0);
        (*txn_p)->store->txns--;
        free (*txn_p);
        *txn_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Map size and reader table

stx_status_t
stx_store_info (stx_store_t *self, stx_store_info_t *info)
{
    assert (self);
    assert (info);
    memset (info, 0, sizeof (*info));
    MDB_envinfo env_info;
    MDB_stat stat;
    int rc = mdb_env_info (self->env, &env_info);
    if (rc == 0)
        rc = mdb_env_stat (self->env, &stat);
    if (rc)
        return s_status (rc, "mdb_env_info");
    info->map_size = env_info.me_mapsize;
    info->map_used = (env_info.me_last_pgno + 1) * (size_t) stat.ms_psize;
    info->stale_readers = self->stale_readers;
    info->txns = self->txns;
    return STX_OK;
}

stx_status_t
stx_store_grow (stx_store_t *self, size_t map_size)
{
    assert (self);
    if (self->readonly)
        return STX_ERR_INVALID;
    //  mdb_env_set_mapsize remaps the file: with a transaction of ours
    //  alive its pointers into the old map would dangle (LMDB does not
    //  check; py-lmdb#379)
    if (self->txns > 0)
        return STX_ERR_BUSY;
    MDB_envinfo info;
    int rc = mdb_env_info (self->env, &info);
    if (rc == 0 && map_size > info.me_mapsize)
        rc = mdb_env_set_mapsize (self->env, map_size);
    return s_status (rc, "mdb_env_set_mapsize");
}

stx_status_t
stx_store_grow_step (stx_store_t *self, size_t map_max, size_t *map_size_p)
{
    assert (self);
    MDB_envinfo info;
    int rc = mdb_env_info (self->env, &info);
    if (rc)
        return s_status (rc, "mdb_env_info");
    if (map_size_p)
        *map_size_p = info.me_mapsize;
    if (info.me_mapsize >= map_max)
        return STX_ERR_MAP_FULL;
    size_t size = info.me_mapsize > map_max / 2? map_max: info.me_mapsize * 2;
    stx_status_t status = stx_store_grow (self, size);
    if (status == STX_OK && map_size_p)
        *map_size_p = size;
    return status;
}

stx_status_t
stx_store_reader_check (stx_store_t *self, int *cleared)
{
    assert (self);
    int dead = 0;
    int rc = mdb_reader_check (self->env, &dead);
    if (cleared)
        *cleared = dead;
    return s_status (rc, "mdb_reader_check");
}


//  --------------------------------------------------------------------------
//  Meta helpers

static stx_status_t
s_meta_get_u64 (stx_txn_t *self, const char *name, uint64_t *value, bool *found)
{
    MDB_val key = s_str (name), data;
    int rc = mdb_get (self->txn, self->store->meta, &key, &data);
    *found = false;
    *value = 0;
    if (rc == MDB_NOTFOUND)
        return STX_OK;
    if (rc)
        return s_status (rc, name);
    if (data.mv_size != 8)
        return s_status (MDB_CORRUPTED, name);
    *value = stx_lmdb_get_be64 ((const uint8_t *) data.mv_data);
    *found = true;
    return STX_OK;
}

static stx_status_t
s_meta_put (stx_txn_t *self, const char *name, const void *value, size_t size)
{
    MDB_val key = s_str (name), data = s_val (value, size);
    return s_status (mdb_put (self->txn, self->store->meta, &key, &data, 0), name);
}

static stx_status_t
s_meta_put_u64 (stx_txn_t *self, const char *name, uint64_t value)
{
    uint8_t be [8];
    stx_lmdb_put_be64 (value, be);
    return s_meta_put (self, name, be, 8);
}


//  Just (seq, head): what every apply reads.
static stx_status_t
s_position (stx_txn_t *self, uint64_t *seq, uint8_t head [STX_HEAD_SIZE])
{
    bool found;
    stx_status_t status = s_meta_get_u64 (self, "seq", seq, &found);
    if (status != STX_OK)
        return status;
    MDB_val key = s_str ("head"), data;
    int rc = mdb_get (self->txn, self->store->meta, &key, &data);
    if (rc == 0 && data.mv_size == STX_HEAD_SIZE)
        memcpy (head, data.mv_data, STX_HEAD_SIZE);
    else
    if (rc == MDB_NOTFOUND)
        memset (head, 0, STX_HEAD_SIZE);
    else
        return s_status (rc? rc: MDB_CORRUPTED, "head");
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Meta as seen by this transaction

stx_status_t
stx_txn_meta (stx_txn_t *self, stx_meta_t *meta)
{
    assert (self);
    assert (meta);
    memset (meta, 0, sizeof (*meta));

    MDB_val key = s_str ("lineage"), data;
    int rc = mdb_get (self->txn, self->store->meta, &key, &data);
    if (rc == 0 && data.mv_size == STX_LINEAGE_SIZE) {
        memcpy (meta->lineage, data.mv_data, STX_LINEAGE_SIZE);
        meta->has_lineage = true;
    }
    else
    if (rc && rc != MDB_NOTFOUND)
        return s_status (rc, "lineage");

    key = s_str ("head");
    rc = mdb_get (self->txn, self->store->meta, &key, &data);
    if (rc == 0 && data.mv_size == STX_HEAD_SIZE)
        memcpy (meta->head, data.mv_data, STX_HEAD_SIZE);
    else
    if (rc && rc != MDB_NOTFOUND)
        return s_status (rc, "head");

    bool found;
    stx_status_t status = s_meta_get_u64 (self, "seq", &meta->seq, &found);
    uint64_t unverified = 0;
    if (status == STX_OK)
        status = s_meta_get_u64 (self, "unverified", &unverified, &found);
    meta->unverified = unverified != 0;
    if (status == STX_OK)
        status = s_meta_get_u64 (self, "log_first", &meta->log_first, &found);
    if (status != STX_OK)
        return status;
    if (!found)
        meta->log_first = 1;

    MDB_stat stat;
    rc = mdb_stat (self->txn, self->store->entries, &stat);
    if (rc)
        return s_status (rc, "mdb_stat");
    meta->entries = stat.ms_entries;
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Set a new random lineage if the store has none

stx_status_t
stx_txn_ensure_lineage (stx_txn_t *self)
{
    assert (self);
    stx_meta_t meta;
    stx_status_t status = stx_txn_meta (self, &meta);
    if (status != STX_OK || meta.has_lineage)
        return status;
    uint8_t lineage [STX_LINEAGE_SIZE];
    randombytes_buf (lineage, sizeof (lineage));
    return s_meta_put (self, "lineage", lineage, sizeof (lineage));
}


//  --------------------------------------------------------------------------
//  Index maintenance: add or remove the index keys of one entry

//  Put (add) or delete one pair of the index at the cursor. An LMDB code.
static int
s_index_put (const void *index_key, size_t index_size, const void *entry_key,
             size_t entry_size, bool add, void *arg)
{
    MDB_cursor *cursor = (MDB_cursor *) arg;
    MDB_val key = s_val (index_key, index_size), data = s_val (entry_key, entry_size);
    int rc;
    if (add) {
        //  Appending after the key's last entry key is the common case (a
        //  snapshot arrives in key order); LMDB says KEYEXIST when it is not
        rc = mdb_cursor_put (cursor, &key, &data, MDB_APPENDDUP | MDB_NODUPDATA);
        if (rc == MDB_KEYEXIST)
            rc = mdb_cursor_put (cursor, &key, &data, MDB_NODUPDATA);
        if (rc == MDB_KEYEXIST)
            rc = 0;
    }
    else {
        rc = mdb_cursor_get (cursor, &key, &data, MDB_GET_BOTH);
        if (rc == 0)
            rc = mdb_cursor_del (cursor, 0);
        else
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    return rc;
}

//  Put the write transaction's pending index changes, in key order. After
//  a failure the transaction is marked broken: its commit refuses (a query
//  inside it may fail this way, and its caller need not know to abort).
static stx_status_t
s_index_flush (stx_txn_t *self)
{
    stx_store_t *store = self->store;
    if (!self->write || !store->pending || stx_index_batch_count (store->pending) == 0)
        return STX_OK;
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->txn, store->index, &cursor);
    if (rc) {
        stx_index_batch_clear (store->pending);
        self->broken = true;
        return s_status (rc, "index");
    }
    rc = stx_index_batch_drain (store->pending, s_index_put, cursor);
    mdb_cursor_close (cursor);
    //  Some changes are in and the rest is gone: never commit this
    self->broken = rc != 0;
    return s_status (rc, "index");
}

typedef struct {
    stx_txn_t *txn;
    MDB_val key;                //  entry key, the DUPSORT data
    bool add;
} s_index_ctx_t;

static int
s_index_one (const char *index_key, void *arg)
{
    s_index_ctx_t *ctx = (s_index_ctx_t *) arg;
    stx_store_t *store = ctx->txn->store;
    size_t size = strlen (index_key);
    //  Keys over LMDB's limit cannot be stored; no node stores them, and
    //  stx_index_match still checks the value, so queries stay right.
    if (size > store->max_key)
        return 0;
    if (!store->pending)
        store->pending = stx_index_batch_new ();
    stx_index_batch_add (store->pending, index_key, size, ctx->key.mv_data,
                         ctx->key.mv_size, ctx->add);
    return 0;
}

static stx_status_t
s_index_update (stx_txn_t *self, const Stemx__Event *event, bool add)
{
    if (event->op != STEMX__OPERATION__OP_UPSERT || !event->entry || self->store->noindex)
        return STX_OK;          //  tombstones have no index keys
    assert (self->write);
    s_index_ctx_t ctx = { self, s_str (event->key), add };
    stx_index_keys (event->entry, s_index_one, &ctx);
    if (stx_index_batch_count (self->store->pending) >= S_PENDING_MAX)
        return s_index_flush (self);
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Latest event of key, or NULL in *event_p if none.

static stx_status_t
s_latest (stx_txn_t *self, const char *key, Stemx__Event **event_p)
{
    *event_p = NULL;
    MDB_val mkey = s_str (key), data;
    if (mkey.mv_size == 0 || mkey.mv_size > self->store->max_key)
        return STX_OK;
    int rc = mdb_get (self->txn, self->store->entries, &mkey, &data);
    if (rc == MDB_NOTFOUND)
        return STX_OK;
    if (rc)
        return s_status (rc, "entries");
    if (stx_event_unpack ((const uint8_t *) data.mv_data, data.mv_size, event_p) != STX_OK)
        return s_status (MDB_CORRUPTED, "entries");
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  The one apply path. With load, the event is a snapshot's latest event
//  of its key: no sequence check, no log, no meta.

//  event is data unpacked (the caller's, not changed). When known is true,
//  *current is the key's latest stored event as the caller looked it up
//  (borrowed, may be NULL for a new key), saving a second lookup.
static stx_status_t
s_apply_event (stx_txn_t *self, const Stemx__Event *event, const uint8_t *data, size_t size,
               bool load, bool known, const Stemx__Event *current)
{
    stx_store_t *store = self->store;
    Stemx__Event *previous = NULL;
    stx_status_t status = STX_OK;
    if (!s_envelope_ok (store, event))
        return STX_ERR_MALFORMED;
    uint64_t last = 0;
    uint8_t head [STX_HEAD_SIZE];
    if (!load) {
        status = s_position (self, &last, head);
        if (status == STX_OK && event->seq <= last)
            status = STX_ERR_STALE;
        else
        if (status == STX_OK && event->seq > last + 1)
            status = STX_ERR_GAP;
    }
    //  A replica never takes an event id it holds already: the broker
    //  sequences each id once, so a known id under a new seq is a replay
    //  (an old, validly signed event re-sequenced: a rollback)
    if (status == STX_OK && !load && event->event_id.len > 0
    &&  event->event_id.len <= store->max_key) {
        MDB_val key = s_val (event->event_id.data, event->event_id.len), value;
        int rc = mdb_get (self->txn, store->ids, &key, &value);
        if (rc == 0)
            status = STX_ERR_REPLAY;
        else
        if (rc != MDB_NOTFOUND)
            status = s_status (rc, "ids");
    }
    //  Nothing written so far; from here on a failure means abort
    if (status == STX_OK && !known)
        status = s_latest (self, event->key, &previous);
    if (status == STX_OK && (known? current: previous))
        status = s_index_update (self, known? current: previous, false);
    if (status == STX_OK) {
        MDB_val key = s_str (event->key), value = s_val (data, size);
        status = s_status (mdb_put (self->txn, store->entries, &key, &value, 0), "entries");
    }
    if (status == STX_OK)
        status = s_index_update (self, event, true);
    if (status == STX_OK && !load) {
        uint8_t seq [8];
        stx_lmdb_put_be64 (event->seq, seq);
        MDB_val key = s_val (seq, 8), value = s_val (data, size);
        status = s_status (mdb_put (self->txn, store->log, &key, &value, MDB_APPEND), "log");
    }
    if (status == STX_OK && event->event_id.len > 0 && event->event_id.len <= store->max_key) {
        uint8_t seq [8];
        stx_lmdb_put_be64 (event->seq, seq);
        MDB_val key = s_val (event->event_id.data, event->event_id.len), value = s_val (seq, 8);
        status = s_status (mdb_put (self->txn, store->ids, &key, &value, 0), "ids");
    }
    if (status == STX_OK && !load) {
        stx_chain_next (head, data, size, head);
        status = s_meta_put_u64 (self, "seq", event->seq);
        if (status == STX_OK)
            status = s_meta_put (self, "head", head, STX_HEAD_SIZE);
        uint8_t seq [8];
        stx_lmdb_put_be64 (event->seq, seq);
        //  The head after every event, so a replica at any sequence the
        //  log still covers can be compared with the broker (stemx verify)
        if (status == STX_OK) {
            MDB_val key = s_val (seq, 8), value = s_val (head, STX_HEAD_SIZE);
            status = s_status (mdb_put (self->txn, store->heads, &key, &value, MDB_APPEND),
                               "heads");
        }
        //  Which events touched this key, for stemx history
        if (status == STX_OK) {
            MDB_val key = s_str (event->key), value = s_val (seq, 8);
            status = s_status (mdb_put (self->txn, store->history, &key, &value, 0), "history");
        }
    }
    stx_event_free (&previous);
    return status;
}

static stx_status_t
s_apply (stx_txn_t *self, const uint8_t *data, size_t size, bool load)
{
    Stemx__Event *event;
    stx_status_t status = stx_event_unpack (data, size, &event);
    if (status == STX_OK)
        status = s_apply_event (self, event, data, size, load, false, NULL);
    stx_event_free (&event);
    return status;
}


//  --------------------------------------------------------------------------
//  Every node: apply one packed, sequenced event

stx_status_t
stx_txn_apply (stx_txn_t *self, const uint8_t *data, size_t size)
{
    assert (self);
    return s_apply (self, data, size, false);
}

stx_status_t
stx_txn_apply_event (stx_txn_t *self, const Stemx__Event *event, const uint8_t *data,
                     size_t size)
{
    assert (self);
    assert (event);
    return s_apply_event (self, event, data, size, false, false, NULL);
}


//  --------------------------------------------------------------------------
//  Fill in the helix pillar of a partner from its organisation entry.

static stx_status_t
s_fill_pillar (stx_txn_t *self, Stemx__Partner *partner)
{
    if (!partner || !*partner->org || *partner->helix_pillar)
        return STX_OK;
    Stemx__Event *org;
    stx_status_t status = s_latest (self, partner->org, &org);
    if (status == STX_OK && org
    &&  org->op == STEMX__OPERATION__OP_UPSERT
    &&  org->entry && org->entry->kind_case == STEMX__ENTRY__KIND_ORGANISATION
    &&  org->entry->organisation)
        s_set_string (&partner->helix_pillar, org->entry->organisation->helix_pillar);
    stx_event_free (&org);
    return status;
}

stx_status_t
stx_txn_fill_pillars (stx_txn_t *self, Stemx__Entry *entry)
{
    stx_status_t status = STX_OK;
    if (!entry)
        return status;
    if (entry->kind_case == STEMX__ENTRY__KIND_INITIATIVE && entry->initiative) {
        Stemx__Initiative *ini = entry->initiative;
        status = s_fill_pillar (self, ini->owner);
        for (size_t i = 0; status == STX_OK && i < ini->n_partners; i++)
            status = s_fill_pillar (self, ini->partners [i]);
    }
    else
    if (entry->kind_case == STEMX__ENTRY__KIND_INFRASTRUCTURE && entry->infrastructure)
        status = s_fill_pillar (self, entry->infrastructure->provider);
    else
    if (entry->kind_case == STEMX__ENTRY__KIND_MOMENT && entry->moment) {
        Stemx__NetworkMoment *moment = entry->moment;
        status = s_fill_pillar (self, moment->organiser);
        for (size_t i = 0; status == STX_OK && i < moment->n_co_organisers; i++)
            status = s_fill_pillar (self, moment->co_organisers [i]);
    }
    return status;
}


//  --------------------------------------------------------------------------
//  Broker: is this event id known already?

stx_status_t
stx_txn_lookup_id (stx_txn_t *self, const Stemx__Event *event, const char *org,
                   stx_sequenced_t *out, char *err, size_t errlen)
{
    assert (self);
    assert (event);
    assert (out);
    memset (out, 0, sizeof (*out));
    stx_store_t *store = self->store;
    if (event->event_id.len == 0 || event->event_id.len > store->max_key)
        return STX_ERR_NOT_FOUND;
    MDB_val key = s_val (event->event_id.data, event->event_id.len), data;
    int rc = mdb_get (self->txn, store->ids, &key, &data);
    if (rc == MDB_NOTFOUND || (rc == 0 && data.mv_size != 8))
        return STX_ERR_NOT_FOUND;
    const char *name = event->key && *event->key? event->key: "(no key)";
    if (rc)
        return stx_fail (err, errlen, s_status (rc, "ids"), "%.200s: storage error: %s",
                         name, mdb_strerror (rc));
    uint64_t seq = stx_lmdb_get_be64 ((const uint8_t *) data.mv_data);
    Stemx__Event *original = NULL;
    uint8_t be [8];
    stx_lmdb_put_be64 (seq, be);
    key = s_val (be, 8);
    if (mdb_get (self->txn, store->log, &key, &data) == 0)
        stx_event_unpack ((const uint8_t *) data.mv_data, data.mv_size, &original);
    else
    if (event->key) {
        //  Below the log horizon: the latest event may still be it
        s_latest (self, event->key, &original);
        if (original && original->seq != seq)
            stx_event_free (&original);
    }
    stx_status_t status = STX_OK;
    if (original) {
        //  The same id from another organisation, or with other content,
        //  is not a resend (an honest agent resends byte-identical events)
        const char *origin = original->origin? original->origin: "";
        size_t mine_size = 0, theirs_size = 0;
        uint8_t *mine = stx_sign_payload (event, &mine_size);
        uint8_t *theirs = stx_sign_payload (original, &theirs_size);
        bool same = mine_size == theirs_size && memcmp (mine, theirs, mine_size) == 0;
        free (mine);
        free (theirs);
        if (org && strcmp (origin, org) != 0)
            status = stx_fail (err, errlen, STX_ERR_CONFLICT,
                               "%.200s: event id already used by %.100s (seq %llu)", name,
                               *origin? origin: "another organisation",
                               (unsigned long long) seq);
        else
        if (!same)
            status = stx_fail (err, errlen, STX_ERR_CONFLICT,
                               "%.200s: event id already used by another event (seq %llu)",
                               name, (unsigned long long) seq);
        else
            out->version = original->version;
    }
    //  else: trimmed and superseded; origin and content cannot be compared
    //  any more, and it is answered as the resend it almost surely is
    stx_event_free (&original);
    if (status == STX_OK) {
        out->duplicate = true;
        out->seq = seq;
    }
    return status;
}


//  --------------------------------------------------------------------------
//  Broker: sequence one event

stx_status_t
stx_txn_sequence (stx_txn_t *self, Stemx__Event *event, const stx_principal_t *who,
                  stx_sequenced_t *out, char *err, size_t errlen)
{
    assert (self);
    assert (event);
    assert (out);
    memset (out, 0, sizeof (*out));
    stx_store_t *store = self->store;
    if (event->event_id.len != STX_EVENT_ID_SIZE)
        return stx_fail (err, errlen, STX_ERR_MALFORMED, "event_id: must be %d bytes",
                         STX_EVENT_ID_SIZE);
    if (!s_envelope_ok (store, event))
        return stx_fail (err, errlen, STX_ERR_MALFORMED,
                         "%.200s: key, op and entry do not agree", event->key);

    //  A resend: answer with what the first sending got (or a conflict
    //  when the id is taken by another organisation's or another event)
    stx_status_t found = stx_txn_lookup_id (self, event, who? who->org: NULL, out,
                                            err, errlen);
    if (found != STX_ERR_NOT_FOUND)
        return found;

    Stemx__Event *current;
    uint64_t last = 0;
    uint8_t head [STX_HEAD_SIZE];
    stx_status_t status = s_latest (self, event->key, &current);
    if (status == STX_OK)
        status = s_position (self, &last, head);
    if (status != STX_OK) {
        stx_event_free (&current);
        return stx_fail (err, errlen, status, "%.200s: storage error", event->key);
    }
    uint64_t version = current? current->version: 0;
    bool live = current && current->op == STEMX__OPERATION__OP_UPSERT;
    if (event->op == STEMX__OPERATION__OP_WITHDRAW && !live) {
        const char *why = current? "already withdrawn": "no such entry";
        stx_event_free (&current);
        return stx_fail (err, errlen, STX_ERR_NOT_FOUND, "%.200s: %s", event->key, why);
    }
    if (who) {
        status = stx_policy_check (who, current, event, err, errlen);
        if (status != STX_OK) {
            stx_event_free (&current);
            return status;
        }
    }
    //  After the policy: who may not write the key learns nothing of it
    if (event->expected_version != version) {
        stx_event_free (&current);
        return stx_fail (err, errlen, STX_ERR_CONFLICT,
                         "%.200s: expected version %llu, current %llu", event->key,
                         (unsigned long long) event->expected_version,
                         (unsigned long long) version);
    }
    //  Stamp: from here on the event is accepted. The owner survives a
    //  withdrawal in the tombstone, so the policy can still tell whose the
    //  key was.
    {
        const char *owner = event->op == STEMX__OPERATION__OP_UPSERT
                          ? stx_entry_owner (event->entry)
                          : (current->owner && *current->owner
                             ? current->owner: stx_entry_owner (current->entry));
        s_set_string (&event->owner, owner);
        s_set_string (&event->origin, who? who->org: owner);
        event->version = version + 1;
        event->broker_time_ms = s_now_ms ();
        event->seq = last + 1;

        size_t size;
        uint8_t *packed = stx_event_pack (event, &size);
        status = s_apply_event (self, event, packed, size, false, true, current);
        free (packed);
    }
    stx_event_free (&current);
    if (status != STX_OK)
        return stx_fail (err, errlen, status, "%.200s: %s", event->key, stx_strerror (status));
    out->seq = event->seq;
    out->version = event->version;
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Snapshot: drop everything

stx_status_t
stx_txn_clear (stx_txn_t *self)
{
    assert (self);
    stx_store_t *store = self->store;
    if (store->pending)
        stx_index_batch_clear (store->pending);
    MDB_dbi dbis [] = { store->entries, store->index, store->log, store->ids, store->meta,
                        store->heads, store->history };
    for (size_t i = 0; i < sizeof (dbis) / sizeof (dbis [0]); i++) {
        int rc = mdb_drop (self->txn, dbis [i], 0);
        if (rc)
            return s_status (rc, "mdb_drop");
    }
    return store->noindex? s_meta_put (self, S_NOINDEX, "1", 1): STX_OK;
}


//  --------------------------------------------------------------------------
//  Snapshot: store one entry's latest event

stx_status_t
stx_txn_load (stx_txn_t *self, const uint8_t *data, size_t size)
{
    assert (self);
    return s_apply (self, data, size, true);
}


//  --------------------------------------------------------------------------
//  Snapshot: set lineage, seq and head

stx_status_t
stx_txn_set_unverified (stx_txn_t *self, bool unverified)
{
    assert (self);
    return s_meta_put_u64 (self, "unverified", unverified? 1: 0);
}

stx_status_t
stx_txn_set_position (stx_txn_t *self, const uint8_t lineage [STX_LINEAGE_SIZE],
                      uint64_t seq, const uint8_t head [STX_HEAD_SIZE])
{
    assert (self);
    assert (lineage);
    assert (head);
    stx_status_t status = s_meta_put (self, "lineage", lineage, STX_LINEAGE_SIZE);
    if (status == STX_OK)
        status = s_meta_put_u64 (self, "seq", seq);
    if (status == STX_OK)
        status = s_meta_put (self, "head", head, STX_HEAD_SIZE);
    if (status == STX_OK)
        status = s_meta_put_u64 (self, "log_first", seq + 1);
    if (status == STX_OK && seq > 0) {
        uint8_t be [8];
        stx_lmdb_put_be64 (seq, be);
        MDB_val key = s_val (be, 8), value = s_val (head, STX_HEAD_SIZE);
        status = s_status (mdb_put (self->txn, self->store->heads, &key, &value, 0), "heads");
    }
    return status;
}


//  --------------------------------------------------------------------------
//  Hash-chain head after event seq

stx_status_t
stx_txn_head_at (stx_txn_t *self, uint64_t seq, uint8_t head [STX_HEAD_SIZE])
{
    assert (self);
    if (seq == 0) {
        memset (head, 0, STX_HEAD_SIZE);
        return STX_OK;
    }
    uint8_t be [8];
    stx_lmdb_put_be64 (seq, be);
    MDB_val key = s_val (be, 8), value;
    int rc = mdb_get (self->txn, self->store->heads, &key, &value);
    if (rc == MDB_NOTFOUND)
        return STX_ERR_NOT_FOUND;
    if (rc)
        return s_status (rc, "heads");
    if (value.mv_size != STX_HEAD_SIZE)
        return STX_ERR_STORAGE;
    memcpy (head, value.mv_data, STX_HEAD_SIZE);
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Every event of one key that the log still holds

stx_status_t
stx_txn_history (stx_txn_t *self, const char *key, stx_history_fn *fn, void *arg)
{
    assert (self);
    assert (key);
    assert (fn);
    stx_store_t *store = self->store;
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->txn, store->history, &cursor);
    if (rc)
        return s_status (rc, "history");
    MDB_val k = s_str (key), v;
    stx_status_t status = STX_OK;
    for (rc = mdb_cursor_get (cursor, &k, &v, MDB_SET_KEY); rc == 0;
         rc = mdb_cursor_get (cursor, &k, &v, MDB_NEXT_DUP)) {
        if (v.mv_size != 8)
            continue;
        uint64_t seq = stx_lmdb_get_be64 ((const uint8_t *) v.mv_data);
        MDB_val log_key = s_val (v.mv_data, 8), data;
        int found = mdb_get (self->txn, store->log, &log_key, &data);
        if (found == MDB_NOTFOUND)
            continue;           //  below the log horizon
        if (found) {
            status = s_status (found, "log");
            break;
        }
        if (fn (seq, (const uint8_t *) data.mv_data, data.mv_size, arg))
            break;
    }
    if (status == STX_OK && rc && rc != MDB_NOTFOUND)
        status = s_status (rc, "history");
    mdb_cursor_close (cursor);
    return status;
}


//  --------------------------------------------------------------------------
//  Walks over the entry keys of one index key

struct _stx_postings_t {
    MDB_cursor *cursor;
    bool done;
    char key [512];             //  the current entry key: DUPSORT data fit
                                //  LMDB's key size (511)
};

//  Copy the cursor's value into self->key, or end the walk on rc.
static stx_status_t
s_postings_at (stx_postings_t *self, int rc, const MDB_val *value)
{
    if (rc) {
        self->done = true;
        return rc == MDB_NOTFOUND? STX_OK: s_status (rc, "index");
    }
    assert (value->mv_size < sizeof self->key);
    memcpy (self->key, value->mv_data, value->mv_size);
    self->key [value->mv_size] = 0;
    return STX_OK;
}

stx_status_t
stx_txn_postings (stx_txn_t *self, const char *index_key, stx_postings_t **postings_p)
{
    assert (self);
    assert (index_key);
    assert (postings_p);
    *postings_p = NULL;
    if (self->store->noindex)
        return STX_ERR_INVALID;
    stx_status_t status = s_index_flush (self);
    if (status != STX_OK)
        return status;
    stx_postings_t *postings = (stx_postings_t *) calloc (1, sizeof *postings);
    assert (postings);
    int rc = mdb_cursor_open (self->txn, self->store->index, &postings->cursor);
    if (rc) {
        free (postings);
        return s_status (rc, "index");
    }
    size_t len = strlen (index_key);
    if (len == 0 || len > self->store->max_key)
        postings->done = true;
    else {
        MDB_val k = s_val (index_key, len), v;
        status = s_postings_at (postings, mdb_cursor_get (postings->cursor, &k, &v,
                                                          MDB_SET_KEY), &v);
    }
    if (status != STX_OK)
        stx_postings_destroy (&postings);
    *postings_p = postings;
    return status;
}

const char *
stx_postings_key (stx_postings_t *self)
{
    assert (self);
    return self->done? NULL: self->key;
}

stx_status_t
stx_postings_next (stx_postings_t *self)
{
    assert (self);
    if (self->done)
        return STX_OK;
    MDB_val k, v;
    return s_postings_at (self, mdb_cursor_get (self->cursor, &k, &v, MDB_NEXT_DUP), &v);
}

void
stx_postings_destroy (stx_postings_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        mdb_cursor_close ((*self_p)->cursor);
        free (*self_p);
        *self_p = NULL;
    }
}

stx_status_t
stx_txn_index_has (stx_txn_t *self, const char *index_key, const char *key, bool *has_p)
{
    assert (self);
    assert (index_key);
    assert (key);
    assert (has_p);
    *has_p = false;
    if (self->store->noindex)
        return STX_ERR_INVALID;
    size_t len = strlen (index_key);
    if (len > self->store->max_key)
        return STX_ERR_TOO_LARGE;
    if (len == 0 || !*key)
        return STX_OK;
    stx_status_t status = s_index_flush (self);
    if (status != STX_OK)
        return status;
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->txn, self->store->index, &cursor);
    if (rc)
        return s_status (rc, "index");
    MDB_val k = s_val (index_key, len), v = s_str (key);
    rc = mdb_cursor_get (cursor, &k, &v, MDB_GET_BOTH);
    mdb_cursor_close (cursor);
    *has_p = rc == 0;
    return rc == 0 || rc == MDB_NOTFOUND? STX_OK: s_status (rc, "index");
}

//  --------------------------------------------------------------------------
//  Latest event of key

stx_status_t
stx_txn_get (stx_txn_t *self, const char *key, Stemx__Event **event_p)
{
    assert (self);
    assert (key);
    assert (event_p);
    stx_status_t status = s_latest (self, key, event_p);
    if (status == STX_OK && !*event_p)
        status = STX_ERR_NOT_FOUND;
    return status;
}


//  --------------------------------------------------------------------------
//  Query helpers: a list of candidate entry keys

typedef struct {
    char **items;
    size_t count;
    size_t max;
} s_keylist_t;

static void
s_keylist_add (s_keylist_t *self, const MDB_val *value)
{
    if (self->count == self->max) {
        self->max = self->max? self->max * 2: 64;
        self->items = (char **) realloc (self->items, self->max * sizeof (char *));
        assert (self->items);
    }
    char *key = (char *) malloc (value->mv_size + 1);
    assert (key);
    memcpy (key, value->mv_data, value->mv_size);
    key [value->mv_size] = 0;
    self->items [self->count++] = key;
}

static void
s_keylist_destroy (s_keylist_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->items [i]);
    free (self->items);
}

static int
s_compare_keys (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

//  Number of entries under one index key (0 if none).
static stx_status_t
s_index_count (MDB_cursor *cursor, const char *index_key, size_t *count)
{
    MDB_val key = s_str (index_key), data;
    *count = 0;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return STX_OK;
    if (rc == 0)
        rc = mdb_cursor_count (cursor, count);
    return s_status (rc, "index");
}

//  Append the entries under one index key to list.
static stx_status_t
s_index_collect (MDB_cursor *cursor, const char *index_key, s_keylist_t *list)
{
    MDB_val key = s_str (index_key), data;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_SET);
    while (rc == 0) {
        s_keylist_add (list, &data);
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT_DUP);
    }
    return rc == MDB_NOTFOUND? STX_OK: s_status (rc, "index");
}

//  Walk the start=<date> keys with date <= to (or all if to is NULL):
//  count them (stopping once over limit) or, with list, collect them.
static stx_status_t
s_index_dates (MDB_cursor *cursor, const char *to, size_t limit, size_t *count,
               s_keylist_t *list)
{
    const char *prefix = "start=";
    size_t prefix_len = strlen (prefix);
    MDB_val key = s_str (prefix), data;
    *count = 0;
    int rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
    while (rc == 0) {
        if (key.mv_size < prefix_len || memcmp (key.mv_data, prefix, prefix_len) != 0)
            break;
        size_t date_len = key.mv_size - prefix_len;
        const char *date = (const char *) key.mv_data + prefix_len;
        if (to) {
            size_t to_len = strlen (to);
            int cmp = memcmp (date, to, date_len < to_len? date_len: to_len);
            if (cmp > 0 || (cmp == 0 && date_len > to_len))
                break;
        }
        if (list) {
            s_keylist_add (list, &data);
            rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
        }
        else {
            size_t here;
            rc = mdb_cursor_count (cursor, &here);
            if (rc)
                break;
            *count += here;
            if (*count > limit)
                break;
            rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT_NODUP);
        }
    }
    return rc == MDB_NOTFOUND? STX_OK: s_status (rc, "index");
}


//  --------------------------------------------------------------------------
//  Call fn for each live entry matching filter, in key order

stx_status_t
stx_txn_query (stx_txn_t *self, const stx_filter_t *filter, stx_query_fn *fn, void *arg)
{
    assert (self);
    assert (filter);
    assert (fn);
    stx_store_t *store = self->store;
    if (store->noindex)
        return STX_ERR_INVALID;
    stx_status_t flushed = s_index_flush (self);
    if (flushed != STX_OK)
        return flushed;
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->txn, store->index, &cursor);
    if (rc)
        return s_status (rc, "mdb_cursor_open");

    //  Candidate index keys the filter names
    struct {
        const char *prefix;
        const char *value;
    } fields [] = {
        { "kind", filter->kind != STX_KIND_NONE? stx_kind_name (filter->kind): NULL },
        { "od", filter->od },
        { "helix", filter->helix },
        { "org", filter->org },
        { "muni", filter->municipality },
        { "theme", filter->theme },
        { "status", filter->status }
    };
    const char *from = filter->from && *filter->from? filter->from: NULL;
    const char *to = filter->to && *filter->to? filter->to: NULL;

    stx_status_t status = STX_OK;
    char best [1024] = "";
    size_t best_count = SIZE_MAX;
    bool empty = false;         //  some named index key has no entries
    //  Every indexed key the filter names, to probe candidates against
    char probes [sizeof (fields) / sizeof (fields [0])][1024];
    size_t nprobes = 0;
    for (size_t i = 0; i < sizeof (fields) / sizeof (fields [0]); i++) {
        if (!fields [i].value || !*fields [i].value)
            continue;
        char index_key [1024];
        int len = snprintf (index_key, sizeof (index_key), "%s=%s",
                            fields [i].prefix, fields [i].value);
        if (len < 0 || (size_t) len > store->max_key)
            continue;           //  never indexed; stx_index_match checks it
        size_t count;
        status = s_index_count (cursor, index_key, &count);
        if (status != STX_OK)
            break;
        if (count == 0) {
            empty = true;
            break;
        }
        //  The kind is not probed: nearly every candidate has it, and the
        //  check after loading sees it for free
        if (strcmp (fields [i].prefix, "kind") != 0)
            strcpy (probes [nprobes++], index_key);
        if (count < best_count) {
            best_count = count;
            strcpy (best, index_key);
        }
    }
    bool use_dates = false;
    if (status == STX_OK && !empty && (from || to)) {
        size_t count;
        status = s_index_dates (cursor, to, best_count, &count, NULL);
        if (status == STX_OK && count < best_count) {
            best_count = count;
            use_dates = true;
            empty = count == 0;
        }
    }
    s_keylist_t list = { NULL, 0, 0 };
    if (status == STX_OK && !empty) {
        if (use_dates) {
            size_t count;
            status = s_index_dates (cursor, to, SIZE_MAX, &count, &list);
        }
        else
        if (*best)
            status = s_index_collect (cursor, best, &list);
        else {
            //  No usable filter: every kind, through the kind index
            for (int kind = STX_KIND_ORGANISATION;
                 status == STX_OK && kind <= STX_KIND_MOMENT; kind++) {
                char index_key [64];
                snprintf (index_key, sizeof (index_key), "kind=%s",
                          stx_kind_name ((stx_kind_t) kind));
                status = s_index_collect (cursor, index_key, &list);
            }
        }
    }

    //  Key order, each key once; a candidate missing from another named
    //  index key is passed over without loading it (one B-tree probe
    //  each), and only the rest are loaded for the real check of every field
    if (list.count)
        qsort (list.items, list.count, sizeof (char *), s_compare_keys);
    for (size_t i = 0; status == STX_OK && i < list.count; i++) {
        if (i > 0 && strcmp (list.items [i], list.items [i - 1]) == 0)
            continue;
        bool indexed = true;
        for (size_t probe = 0; indexed && probe < nprobes; probe++) {
            if (strcmp (probes [probe], best) == 0)
                continue;
            MDB_val key = s_str (probes [probe]), data = s_str (list.items [i]);
            rc = mdb_cursor_get (cursor, &key, &data, MDB_GET_BOTH);
            if (rc == MDB_NOTFOUND)
                indexed = false;
            else
            if (rc)
                status = s_status (rc, "index");
        }
        if (!indexed || status != STX_OK)
            continue;
        Stemx__Event *event;
        status = s_latest (self, list.items [i], &event);
        int stop = 0;
        if (status == STX_OK && event
        &&  event->op == STEMX__OPERATION__OP_UPSERT
        &&  stx_index_match (event->entry, filter))
            stop = fn (event, arg);
        stx_event_free (&event);
        if (stop)
            break;
    }
    mdb_cursor_close (cursor);
    s_keylist_destroy (&list);
    return status;
}


//  --------------------------------------------------------------------------
//  Packed event at seq in the log

stx_status_t
stx_txn_log_get (stx_txn_t *self, uint64_t seq, const uint8_t **data_p, size_t *size_p)
{
    assert (self);
    assert (data_p);
    assert (size_p);
    *data_p = NULL;
    *size_p = 0;
    stx_meta_t meta;
    stx_status_t status = stx_txn_meta (self, &meta);
    if (status != STX_OK)
        return status;
    if (seq < meta.log_first || seq > meta.seq)
        return STX_ERR_NOT_FOUND;
    uint8_t be [8];
    stx_lmdb_put_be64 (seq, be);
    MDB_val key = s_val (be, 8), data;
    int rc = mdb_get (self->txn, self->store->log, &key, &data);
    if (rc)
        return s_status (rc, "log");
    *data_p = (const uint8_t *) data.mv_data;
    *size_p = data.mv_size;
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Iterate the latest packed event of every entry, after `after`

stx_status_t
stx_txn_entries (stx_txn_t *self, const char *after, stx_entry_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    MDB_cursor *cursor;
    int rc = mdb_cursor_open (self->txn, self->store->entries, &cursor);
    if (rc)
        return s_status (rc, "mdb_cursor_open");
    MDB_val key, data;
    if (after && *after) {
        key = s_str (after);
        if (key.mv_size > self->store->max_key)
            key.mv_size = self->store->max_key;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_SET_RANGE);
        if (rc == 0 && key.mv_size == strlen (after)
        &&  memcmp (key.mv_data, after, key.mv_size) == 0)
            rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    else
        rc = mdb_cursor_get (cursor, &key, &data, MDB_FIRST);

    char name [1024];
    while (rc == 0) {
        assert (key.mv_size < sizeof (name));
        memcpy (name, key.mv_data, key.mv_size);
        name [key.mv_size] = 0;
        if (fn (name, (const uint8_t *) data.mv_data, data.mv_size, arg))
            break;
        rc = mdb_cursor_get (cursor, &key, &data, MDB_NEXT);
    }
    mdb_cursor_close (cursor);
    return rc == 0 || rc == MDB_NOTFOUND? STX_OK: s_status (rc, "entries");
}


//  --------------------------------------------------------------------------
//  Retention: drop the oldest events of the log

stx_status_t
stx_txn_trim (stx_txn_t *self, uint64_t keep_events, int64_t before_ms, size_t max,
              uint64_t *trimmed_p)
{
    assert (self);
    assert (trimmed_p);
    *trimmed_p = 0;
    if (!self->write)
        return STX_ERR_INVALID;
    stx_store_t *store = self->store;
    uint64_t seq, first;
    bool found;
    stx_status_t status = s_meta_get_u64 (self, "seq", &seq, &found);
    if (status == STX_OK)
        status = s_meta_get_u64 (self, "log_first", &first, &found);
    if (status != STX_OK)
        return status;
    if (!found)
        first = 1;
    //  Only events with at least keep_events newer ones may go
    uint64_t last = seq > keep_events? seq - keep_events: 0;
    uint64_t next = first;
    while (status == STX_OK && next <= last && *trimmed_p < max) {
        uint8_t be [8];
        stx_lmdb_put_be64 (next, be);
        MDB_val key = s_val (be, 8), data;
        int rc = mdb_get (self->txn, store->log, &key, &data);
        if (rc) {
            status = s_status (rc == MDB_NOTFOUND? MDB_CORRUPTED: rc, "log");
            break;
        }
        Stemx__Event *event = NULL;
        if (stx_event_unpack ((const uint8_t *) data.mv_data, data.mv_size, &event) != STX_OK) {
            status = s_status (MDB_CORRUPTED, "log");
            break;
        }
        if (event->broker_time_ms >= before_ms) {
            stx_event_free (&event);
            break;              //  young enough: it and every later one stay
        }
        //  The history record of its key, the head before it (heads cover
        //  log_first - 1 .. seq), and the event itself
        MDB_val hkey = s_str (event->key), hval = s_val (be, 8);
        rc = hkey.mv_size && hkey.mv_size <= store->max_key
           ? mdb_del (self->txn, store->history, &hkey, &hval): 0;
        stx_event_free (&event);
        if (rc == 0 || rc == MDB_NOTFOUND) {
            uint8_t prev [8];
            stx_lmdb_put_be64 (next - 1, prev);
            MDB_val pkey = s_val (prev, 8);
            rc = next > 1? mdb_del (self->txn, store->heads, &pkey, NULL): 0;
        }
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = mdb_del (self->txn, store->log, &key, NULL);
        status = s_status (rc, "trim");
        if (status == STX_OK) {
            next++;
            (*trimmed_p)++;
        }
    }
    if (status == STX_OK && next != first)
        status = s_meta_put_u64 (self, "log_first", next);
    return status;
}


stx_status_t
stx_store_trim (stx_store_t *self, uint64_t keep_events, int64_t before_ms, size_t max,
                uint64_t *trimmed_p)
{
    assert (self);
    assert (trimmed_p);
    *trimmed_p = 0;
    stx_txn_t *txn = NULL;
    uint64_t trimmed = 0;
    stx_status_t status = stx_store_begin (self, true, &txn);
    if (status == STX_OK)
        status = stx_txn_trim (txn, keep_events, before_ms, max, &trimmed);
    if (status == STX_OK && trimmed)
        status = stx_txn_commit (&txn);
    stx_txn_abort (&txn);
    if (status == STX_OK)
        *trimmed_p = trimmed;
    return status;
}
