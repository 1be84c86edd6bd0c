/*  =========================================================================
    stx_store - a node's replicated catalogue in one LMDB environment

    One environment (DIR/catalogue/) holds, as named databases:
      entries   key -> packed Event: the latest event of each entry
                (a withdrawal stays as a tombstone)
      index     "<index>=<value>" -> key, DUPSORT (see stx_index.h)
      log       8-byte big-endian seq -> packed Event, appended in order
      ids       16-byte event id -> 8-byte big-endian seq (deduplication)
      meta      lineage (16 bytes), seq, head (32 bytes), log_first
      heads     8-byte big-endian seq -> hash-chain head after that event
      history   entry key -> 8-byte big-endian seqs of its events (DUPSORT)
    so one transaction updates them all and one hot copy backs them up.

    Retention (stx_txn_trim, docs/RELIABILITY.md): log, heads and history
    hold the events from log_first on (heads from log_first - 1); entries
    and ids are never trimmed.

    Every node applies events with the same function (stx_txn_apply), which
    makes the catalogue at sequence N a pure function of events 1..N. The
    broker sequences an event (stx_txn_sequence) by stamping it and applying
    it in its write transaction; many events share one commit (group
    commit), which syncs before it returns.

    Threads: a store and its transactions belong to one thread, except that
    read transactions may be held across loop iterations (MDB_NOTLS). One
    write transaction at a time per environment (LMDB's rule).

    Index keys are "<index>=<value>" (stx_index.h) stored without a NUL;
    a key longer than LMDB's limit (511 bytes) is not indexed, which only
    costs that value its index (stx_txn_query still checks it).
    ========================================================================= */

#ifndef STX_STORE_H_INCLUDED
#define STX_STORE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "stx_error.h"
#include "stx_event.h"
#include "stx_index.h"
#include "stx_policy.h"

typedef struct _stx_store_t stx_store_t;
typedef struct _stx_txn_t stx_txn_t;

//  Flags for stx_store_open.
#define STX_STORE_READONLY  1   //  open an existing store read-only (CLI)
#define STX_STORE_NOSYNC    2   //  replica: commits do not fsync the meta page
                                //  (MDB_NOMETASYNC; a replica resyncs from its cookie)
#define STX_STORE_NOINDEX   4   //  keep no query index (the broker, which never
                                //  queries): an existing index is dropped once, and
                                //  the store stays without one, whoever opens it:
                                //  stx_txn_query, stx_txn_postings, stx_txn_index_has
                                //  and stx_search give STX_ERR_INVALID there
#define STX_STORE_QUERY     8   //  the caller reads the query index (list, search,
                                //  report): refuse a store without one

//  Where a node stands.
typedef struct {
    uint8_t lineage [STX_LINEAGE_SIZE];   //  all zero while the store is empty
    bool has_lineage;
    uint64_t seq;               //  last applied sequence, 0 if none
    uint8_t head [STX_HEAD_SIZE];   //  hash-chain head at seq (zeros at 0)
    uint64_t log_first;         //  oldest sequence in the log (seq + 1 if empty)
    uint64_t entries;           //  entries in the catalogue, tombstones included
    bool unverified;            //  a snapshot's signatures are still being verified
} stx_meta_t;

//  What sequencing one event gave.
typedef struct {
    uint64_t seq;               //  assigned sequence
    uint64_t version;           //  entry version after the event
    bool duplicate;             //  the event id was sequenced before: seq and
                                //  version are the original ones, nothing changed
} stx_sequenced_t;

//  Open (and with flags 0, create) the store in dir/catalogue. map_size is
//  the LMDB map size in bytes (0 = 1 GiB); an existing store keeps the
//  size its file records when that is larger (a map grown at run time
//  never shrinks back at a restart). Clears stale reader slots
//  (mdb_reader_check; stx_store_info tells how many, for the caller to
//  log). Caller owns *self_p. Errors: STX_ERR_NOT_FOUND
//  (read-only and no store there), STX_ERR_INVALID (STX_STORE_QUERY and a
//  store without index, a broker's), STX_ERR_IO, STX_ERR_STORAGE; err says
//  which path and why.
stx_status_t
    stx_store_open (const char *dir, int flags, size_t map_size, stx_store_t **self_p,
                    char *err, size_t errlen);

//  Set the store in DIR/catalogue/ aside as DIR/catalogue.before-resync/
//  (replacing an older one there), so that the next stx_store_open makes
//  an empty one. Nothing else in DIR is touched. No process may have the
//  store open: the caller holds the folder (stx_daemon_lock_dir). *moved_p
//  says whether there was a store to move. STX_ERR_IO with err.
stx_status_t
    stx_store_set_aside (const char *dir, bool *moved_p, char *err, size_t errlen);

//  Close the store; accepts NULL, sets *self_p to NULL. All transactions
//  must have ended.
void
    stx_store_destroy (stx_store_t **self_p);

//  The store's storage figures.
typedef struct {
    size_t map_size;            //  LMDB map size now, in bytes
    size_t map_used;            //  bytes the store's pages take in the map
    int stale_readers;          //  reader slots mdb_reader_check cleared at open
    size_t txns;                //  transactions of this store alive now
} stx_store_info_t;

//  Fill info. Errors: STX_ERR_STORAGE.
stx_status_t
    stx_store_info (stx_store_t *self, stx_store_info_t *info);

//  Grow the map to map_size bytes (nothing if it is that large already),
//  e.g. after STX_ERR_MAP_FULL: abort the transaction, grow, retry. The map
//  is remapped, so no transaction of this store may be alive (not even a
//  read transaction: its data pointers would dangle): STX_ERR_BUSY then,
//  nothing changed. Other processes adopt the new size at their next
//  stx_store_begin (MDB_MAP_RESIZED). The size is recorded in the file at
//  the next commit, and stx_store_open keeps it. Errors: STX_ERR_BUSY,
//  STX_ERR_INVALID (read-only store), STX_ERR_STORAGE.
stx_status_t
    stx_store_grow (stx_store_t *self, size_t map_size);

//  The daemons' answer to STX_ERR_MAP_FULL: double the map, capped at
//  map_max (call with no transaction alive, then retry the aborted work).
//  *map_size_p (may be NULL) gets the map size after the call. Errors:
//  STX_ERR_MAP_FULL (the map is map_max or larger already: nothing more to
//  give), and those of stx_store_grow.
stx_status_t
    stx_store_grow_step (stx_store_t *self, size_t map_max, size_t *map_size_p);

//  Clear reader slots left by dead processes (mdb_reader_check), as
//  stx_store_open does; *cleared (may be NULL) gets how many. Errors:
//  STX_ERR_STORAGE.
stx_status_t
    stx_store_reader_check (stx_store_t *self, int *cleared);

//  Read meta in a short read transaction.
stx_status_t
    stx_store_meta (stx_store_t *self, stx_meta_t *meta);

//  Begin a transaction. Caller owns *txn_p and ends it with commit or
//  abort. Handles MDB_MAP_RESIZED by adopting the new size when no other
//  transaction of this store is alive (remapping would leave their data
//  pointers dangling; otherwise STX_ERR_STORAGE: end them and retry), and
//  a full reader table by clearing stale slots once. Errors:
//  STX_ERR_INVALID (write transaction on a read-only store),
//  STX_ERR_STORAGE.
stx_status_t
    stx_store_begin (stx_store_t *self, bool write, stx_txn_t **txn_p);

//  Commit (a write transaction is synced to disk before this returns,
//  unless STX_STORE_NOSYNC) and free; sets *txn_p to NULL. A read
//  transaction is simply ended. Errors: STX_ERR_MAP_FULL, STX_ERR_STORAGE;
//  the transaction is gone either way.
stx_status_t
    stx_txn_commit (stx_txn_t **txn_p);

//  Abort and free; accepts NULL, sets *txn_p to NULL.
void
    stx_txn_abort (stx_txn_t **txn_p);

//  Meta as seen by this transaction (including its own writes).
stx_status_t
    stx_txn_meta (stx_txn_t *self, stx_meta_t *meta);

//  Set a new random lineage if the store has none (broker, first start).
stx_status_t
    stx_txn_ensure_lineage (stx_txn_t *self);

//  Broker: sequence one event, already validated (and its signature
//  verified). Looks the event id up first (stx_txn_lookup_id with who's
//  org: a duplicate fills out->duplicate, changes nothing and returns
//  STX_OK; an id taken by another origin or event is STX_ERR_CONFLICT); checks
//  expected_version is the key's current version, 0 for a new key (else
//  STX_ERR_CONFLICT with err; replicas check version = expected + 1),
//  refuses a withdrawal of an
//  unknown or already withdrawn key (STX_ERR_NOT_FOUND); when who is not
//  NULL asks stx_policy_check whether that principal may apply it
//  (STX_ERR_UNAUTHORISED with err). Then stamps into event: version,
//  broker time, seq = last + 1, owner (the organisation owning the entry;
//  a withdrawal keeps the withdrawn entry's) and origin (who->org, or the
//  owner when who is NULL, the --insecure mode); then packs and applies it.
//  Nothing in the entry is changed, so the publisher's signature stays
//  valid. event must be heap-allocated (unpacked or from stx_event_new):
//  its strings are replaced. Errors: those above, STX_ERR_MALFORMED,
//  STX_ERR_MAP_FULL, STX_ERR_STORAGE (the transaction must then be
//  aborted); every refusal happens before the first write.
stx_status_t
    stx_txn_sequence (stx_txn_t *self, Stemx__Event *event, const stx_principal_t *who,
                      stx_sequenced_t *out, char *err, size_t errlen);

//  Broker: look event's id up before charging or sequencing it. Returns
//  STX_ERR_NOT_FOUND if the id is new; STX_OK with out->duplicate set,
//  out->seq and out->version (0 when the original was trimmed from the log
//  and superseded) if event is a resend of the stored event; STX_ERR_CONFLICT
//  with err if the stored event of that id has another origin than org
//  (org NULL: not checked, the --insecure mode) or another signed part
//  (stx_sign_payload). Changes nothing. Errors: STX_ERR_STORAGE.
stx_status_t
    stx_txn_lookup_id (stx_txn_t *self, const Stemx__Event *event, const char *org,
                       stx_sequenced_t *out, char *err, size_t errlen);

//  Publisher (agent): fill in the helix pillar of every Partner of entry
//  that lacks one from the catalogue's Organisation entries (left "" when
//  the organisation is unknown). Done before signing, so the pillars are
//  part of what the origin signs. Errors: STX_ERR_STORAGE.
stx_status_t
    stx_txn_fill_pillars (stx_txn_t *self, Stemx__Entry *entry);

//  Every node: apply one packed, sequenced event: seq must be last + 1
//  (else STX_ERR_STALE or STX_ERR_GAP, nothing changed), and its event id
//  must be new to the store (else STX_ERR_REPLAY, nothing changed: an
//  honest broker sequences an id once, so this is an old event replayed
//  under a new seq). Updates entries,
//  index, log, ids and meta (seq, head) together. Errors also
//  STX_ERR_MALFORMED (undecodable, or key/op/entry wrong; nothing
//  changed), STX_ERR_MAP_FULL, STX_ERR_STORAGE (abort the transaction).
stx_status_t
    stx_txn_apply (stx_txn_t *self, const uint8_t *data, size_t size);

//  stx_txn_apply for a caller that has unpacked data already (to verify
//  it): event must be data unpacked, and stays the caller's. Same checks
//  and errors, without decoding the bytes a second time.
stx_status_t
    stx_txn_apply_event (stx_txn_t *self, const Stemx__Event *event, const uint8_t *data,
                         size_t size);

//  Replica taking a snapshot: drop the whole catalogue, index, log, ids
//  and meta (lineage, seq, head) (call once, first, in the snapshot's
//  write transaction; stx_txn_set_position then sets the meta).
stx_status_t
    stx_txn_clear (stx_txn_t *self);

//  Replica taking a snapshot: store one entry's latest packed event as is,
//  with its index keys and its event id (no sequence check, no log, no
//  meta). Errors: STX_ERR_MALFORMED, STX_ERR_MAP_FULL, STX_ERR_STORAGE.
stx_status_t
    stx_txn_load (stx_txn_t *self, const uint8_t *data, size_t size);

//  Replica taking a snapshot: set lineage, seq and head as the snapshot
//  ended; the log then starts at seq + 1.
//  Mark (or clear) in a write transaction that the catalogue holds a
//  snapshot whose origin signatures are not all verified yet, so that a
//  restart goes on verifying (stx_meta_t.unverified). stx_txn_clear
//  clears it. Errors: STX_ERR_MAP_FULL, STX_ERR_STORAGE.
stx_status_t
    stx_txn_set_unverified (stx_txn_t *self, bool unverified);

stx_status_t
    stx_txn_set_position (stx_txn_t *self, const uint8_t lineage [STX_LINEAGE_SIZE],
                          uint64_t seq, const uint8_t head [STX_HEAD_SIZE]);

//  Latest event of key, tombstones included (check op). Caller owns
//  *event_p (stx_event_free). STX_ERR_NOT_FOUND if never seen.
stx_status_t
    stx_txn_get (stx_txn_t *self, const char *key, Stemx__Event **event_p);

//  Called per matching entry; return non-zero to stop.
typedef int (stx_query_fn) (const Stemx__Event *event, void *arg);

//  Call fn for each live (not withdrawn) entry matching filter, in key
//  order. Always reads through the most selective index the filter names
//  (kind at least); never scans the whole catalogue. The plan: count
//  (mdb_cursor_count) each index key the filter names, kind=, od=, helix=,
//  org=, muni=, theme=, status=; for from/to count the start= keys up to
//  `to`; read the smallest set (an empty filter reads the four kind=
//  keys), sort and dedupe the entry keys, then check every candidate with
//  stx_index_match. The event passed to fn is valid only during the call.
//  Returns STX_OK, STX_ERR_INVALID (a store without index,
//  STX_STORE_NOINDEX) or STX_ERR_STORAGE.
stx_status_t
    stx_txn_query (stx_txn_t *self, const stx_filter_t *filter, stx_query_fn *fn, void *arg);

//  Packed event at seq in the log. *data_p points into the map: caller
//  must not free; valid until the transaction ends. STX_ERR_NOT_FOUND if
//  seq is outside [log_first, seq].
stx_status_t
    stx_txn_log_get (stx_txn_t *self, uint64_t seq, const uint8_t **data_p, size_t *size_p);

//  Iterate the latest packed event of every entry in key order, starting
//  after `after` (NULL = from the first). Calls fn(key, data, size, arg)
//  until it returns non-zero or entries end; data points into the map,
//  valid until the transaction ends. Used by snapshots.
typedef int (stx_entry_fn) (const char *key, const uint8_t *data, size_t size, void *arg);
stx_status_t
    stx_txn_entries (stx_txn_t *self, const char *after, stx_entry_fn *fn, void *arg);

//  The hash-chain head after event seq (32 zero bytes for seq 0). Heads
//  are kept for log_first - 1 .. seq. STX_ERR_NOT_FOUND outside that
//  range: below the log horizon (trimmed, stx_txn_trim), before a
//  replica's snapshot, or beyond the last sequence.
stx_status_t
    stx_txn_head_at (stx_txn_t *self, uint64_t seq, uint8_t head [STX_HEAD_SIZE]);

//  Called per event of a key, oldest first; data points into the map,
//  valid until the transaction ends. Return non-zero to stop.
typedef int (stx_history_fn) (uint64_t seq, const uint8_t *data, size_t size, void *arg);

//  Call fn for every event of key that the log still holds (events below
//  the log horizon, or before a replica's snapshot, are gone). Errors:
//  STX_ERR_STORAGE.
stx_status_t
    stx_txn_history (stx_txn_t *self, const char *key, stx_history_fn *fn, void *arg);

//  A walk over the entry keys filed under one index key, in key order;
//  several can walk side by side in one transaction (a merge of word
//  lists) without copying a list.
typedef struct _stx_postings_t stx_postings_t;

//  Start a walk over the entry keys filed under index_key; an index key
//  that has none (or is longer than LMDB indexes) gives an empty walk.
//  The walk reads self's transaction and must be destroyed before it
//  ends; caller owns *postings_p. Errors: STX_ERR_INVALID (a store
//  without index: *postings_p is NULL), STX_ERR_STORAGE.
stx_status_t
    stx_txn_postings (stx_txn_t *self, const char *index_key, stx_postings_t **postings_p);

//  The entry key the walk stands on, NUL-terminated, valid until the next
//  stx_postings_next or stx_postings_destroy; NULL once the walk is over.
const char *
    stx_postings_key (stx_postings_t *self);

//  Step to the next entry key. Errors: STX_ERR_STORAGE (the walk is then
//  over).
stx_status_t
    stx_postings_next (stx_postings_t *self);

//  End a walk; accepts NULL and sets *self_p to NULL.
void
    stx_postings_destroy (stx_postings_t **self_p);

//  Set *has_p to whether key is filed under index_key (one B-tree probe,
//  nothing loaded). Errors: STX_ERR_TOO_LARGE (index_key is longer than
//  LMDB indexes, so it is never filed: check the loaded entry instead),
//  STX_ERR_INVALID (a store without index), STX_ERR_STORAGE.
stx_status_t
    stx_txn_index_has (stx_txn_t *self, const char *index_key, const char *key, bool *has_p);

//  Log retention, in bounded steps: drop the oldest events of the log
//  while each is older than BOTH bounds - at least keep_events newer
//  events exist, and its broker time (broker_time_ms) is before
//  before_ms - at most max events per call, oldest first. For each one
//  the log record, its history record and the head before it go; meta
//  log_first advances in the same transaction. Entries (tombstones
//  included) and ids (deduplication) are kept forever: queries and
//  stx_txn_get are unaffected, and a resend of a trimmed event is still
//  recognised. Call in a write transaction, commit, and call again while
//  *trimmed_p == max. Errors: STX_ERR_INVALID (read transaction),
//  STX_ERR_MAP_FULL (deleting needs pages too), STX_ERR_STORAGE; abort
//  the transaction then.
stx_status_t
    stx_txn_trim (stx_txn_t *self, uint64_t keep_events, int64_t before_ms, size_t max,
                  uint64_t *trimmed_p);

//  One retention step in a write transaction of its own: stx_txn_trim,
//  committed (synced) if it trimmed anything. *trimmed_p gets how many
//  events went. The store may have no write transaction open (LMDB allows
//  one per environment). Errors: those of stx_store_begin, stx_txn_trim
//  and stx_txn_commit; nothing is trimmed then.
stx_status_t
    stx_store_trim (stx_store_t *self, uint64_t keep_events, int64_t before_ms, size_t max,
                    uint64_t *trimmed_p);

#endif
