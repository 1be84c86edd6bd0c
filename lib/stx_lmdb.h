/*  =========================================================================
    stx_lmdb - what every LMDB environment of stemx needs: opening it safely,
    beginning transactions, reading LMDB's errors, big-endian keys

    The catalogue (stx_store) and the outbox (stx_outbox) are each one LMDB
    environment in a folder of the node's data folder. Both open it the
    same way: a writer creates the folder; a data file shorter than the
    pages its meta page counts is refused before anything touches them (it
    would end the process with SIGBUS); an existing map keeps at least the
    size its file records; stale reader slots are cleared; an environment
    that could not be created leaves no file behind. Both begin
    transactions the same way, adopting a map another process grew.
    ========================================================================= */

#ifndef STX_LMDB_H_INCLUDED
#define STX_LMDB_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>
#include "stx_error.h"

//  How to open an environment.
typedef struct {
    const char *noun;           //  what it is, for "no NOUN" ("store", "outbox")
    const char *name;           //  ... and for "NAME truncated" ("catalogue", "outbox")
    unsigned int maxdbs;        //  named databases
    size_t map_size;            //  a new map's size, and a writer's minimum
    bool map_size_configured;   //  map_size was configured: say when the file's is larger
    bool readonly;              //  MDB_RDONLY: the folder must hold one already
    bool nometasync;            //  MDB_NOMETASYNC
} stx_lmdb_options_t;

//  What opening found.
typedef struct {
    bool created;               //  there was no data file: this open made it
    int stale_readers;          //  reader slots cleared (mdb_reader_check)
} stx_lmdb_opened_t;

//  Open (a writer: create dir and dir/sub if missing) the environment in
//  folder dir/sub; its path goes to path (pathlen bytes). On success the
//  caller owns *env_p (stx_lmdb_discard on a failure that follows, else
//  mdb_env_close). Errors, with err naming the path and the step:
//  STX_ERR_NOT_FOUND (read-only and no data file), STX_ERR_IO (folders,
//  permissions, a path too long), STX_ERR_STORAGE (LMDB; or "NAME
//  truncated: N of M bytes; ADVICE" for a data file cut short).
stx_status_t
    stx_lmdb_open (const char *dir, const char *sub, const stx_lmdb_options_t *options,
                   const char *advice, MDB_env **env_p, stx_lmdb_opened_t *opened,
                   char *path, size_t pathlen, char *err, size_t errlen);

//  Close *env_p after a failed open and, if the open created the data
//  file, remove it and the lock file: a half-made file records its map
//  size, and every later start would take it. Sets *env_p to NULL.
void
    stx_lmdb_discard (MDB_env **env_p, const char *path, bool created);

//  Begin a transaction (flags 0 or MDB_RDONLY). A map another process
//  grew (MDB_MAP_RESIZED) is adopted and the begin retried, but only when
//  alone is true: remapping moves the map, so no other transaction of this
//  process may be alive (LMDB does not check it); else MDB_MAP_RESIZED is
//  returned. A full reader table is cleared of stale slots and the begin
//  retried. Returns LMDB's code.
int
    stx_lmdb_begin (MDB_env *env, unsigned int flags, bool alone, MDB_txn **txn_p);

//  STX_OK, STX_ERR_NOT_FOUND, STX_ERR_MAP_FULL, STX_ERR_NO_SPACE (ENOSPC,
//  EDQUOT, EFBIG: a commit's writes hit a full disk), STX_ERR_IO (EIO,
//  which is also how LMDB reports a short write) for an LMDB return code;
//  anything else is STX_ERR_STORAGE and logged once as "module: what:
//  reason".
stx_status_t
    stx_lmdb_status (int rc, const char *module, const char *what);

//  Big-endian integers, so keys sort as numbers.
void
    stx_lmdb_put_be64 (uint64_t value, uint8_t out [8]);
uint64_t
    stx_lmdb_get_be64 (const uint8_t in [8]);
void
    stx_lmdb_put_be32 (uint32_t value, uint8_t out [4]);
uint32_t
    stx_lmdb_get_be32 (const uint8_t in [4]);

#endif
