/*  =========================================================================
    stx_lmdb - what every LMDB environment of stemx needs

    Functions over the caller's environment and transactions; any thread
    that may use them (MDB_NOTLS). Owns nothing.
    ========================================================================= */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <czmq.h>
#include "stx_lmdb.h"

stx_status_t
stx_lmdb_open (const char *dir, const char *sub, const stx_lmdb_options_t *options,
               const char *advice, MDB_env **env_p, stx_lmdb_opened_t *opened,
               char *path, size_t pathlen, char *err, size_t errlen)
{
    assert (dir && sub && options && advice && env_p && opened && path);
    *env_p = NULL;
    memset (opened, 0, sizeof (*opened));
    if (snprintf (path, pathlen, "%s/%s", dir, sub) >= (int) pathlen)
        return stx_fail (err, errlen, STX_ERR_IO, "%s: path too long", dir);
    char data_file [4200];
    if (snprintf (data_file, sizeof (data_file), "%s/data.mdb", path) >= (int) sizeof (data_file))
        return stx_fail (err, errlen, STX_ERR_IO, "%s: path too long", dir);
    struct stat data_stat;
    if (options->readonly) {
        if (stat (data_file, &data_stat) != 0)
            return stx_fail (err, errlen, STX_ERR_NOT_FOUND, "%s: no %s: %s",
                             path, options->noun, strerror (errno));
    }
    else {
        if (mkdir (dir, 0775) != 0 && errno != EEXIST)
            return stx_fail (err, errlen, STX_ERR_IO, "%s: %s", dir, strerror (errno));
        if (mkdir (path, 0775) != 0 && errno != EEXIST)
            return stx_fail (err, errlen, STX_ERR_IO, "%s: %s", path, strerror (errno));
    }
    //  A new environment takes the configured map size. An existing one
    //  keeps at least the size its file records: set before the open, a
    //  smaller configured size would shrink a map grown at run time back,
    //  and the first write would hit MDB_MAP_FULL again
    bool existed = stat (data_file, &data_stat) == 0 && data_stat.st_size > 0;
    opened->created = !existed && !options->readonly;
    MDB_env *env = NULL;
    const char *step = "mdb_env_create";
    int rc = mdb_env_create (&env);
    if (rc == 0) {
        step = "mdb_env_set_maxdbs";
        rc = mdb_env_set_maxdbs (env, options->maxdbs);
    }
    if (rc == 0 && !options->readonly && !existed) {
        step = "mdb_env_set_mapsize";
        rc = mdb_env_set_mapsize (env, options->map_size);
    }
    if (rc == 0) {
        step = "mdb_env_open";
        unsigned int flags = MDB_NOTLS;
        if (options->readonly)
            flags |= MDB_RDONLY;
        if (options->nometasync)
            flags |= MDB_NOMETASYNC;
        rc = mdb_env_open (env, path, flags, 0664);
    }
    //  A data file shorter than the pages its meta page says are in use
    //  (cut by a full disk, a bad copy): touching those pages would end
    //  the process with SIGBUS, so say what is wrong instead
    size_t truncated_need = 0;
    if (rc == 0 && existed) {
        MDB_envinfo info;
        MDB_stat stat;
        step = "mdb_env_info";
        rc = mdb_env_info (env, &info);
        if (rc == 0)
            rc = mdb_env_stat (env, &stat);
        //  The file's size after the meta: a writer extends the file
        //  before it writes the meta page that counts the new pages
        size_t need = rc == 0? ((size_t) info.me_last_pgno + 1) * stat.ms_psize: 0;
        mdb_filehandle_t fd;
        if (rc == 0 && mdb_env_get_fd (env, &fd) == 0 && fstat (fd, &data_stat) == 0
        &&  (size_t) data_stat.st_size < need)
            truncated_need = need;
    }
    if (truncated_need) {
        mdb_env_close (env);
        return stx_fail (err, errlen, STX_ERR_STORAGE, "%s: %s truncated: %zu of %zu bytes; %s",
                         path, options->name, (size_t) data_stat.st_size, truncated_need,
                         advice);
    }
    if (rc == 0 && !options->readonly && existed) {
        //  Read-only opens take the size recorded in the file; a writer
        //  takes the larger of that and the configured one
        MDB_envinfo info;
        step = "mdb_env_info";
        rc = mdb_env_info (env, &info);
        if (rc == 0 && info.me_mapsize < options->map_size) {
            step = "mdb_env_set_mapsize";
            rc = mdb_env_set_mapsize (env, options->map_size);
        }
        else
        if (rc == 0 && info.me_mapsize > options->map_size && options->map_size_configured)
            zsys_notice ("stx_store: %s: map size %zu KiB as recorded in the %s "
                         "(configured %zu KiB)", path, info.me_mapsize >> 10, options->noun,
                         options->map_size >> 10);
    }
    if (rc == 0) {
        //  Clear reader slots left behind by crashed processes
        step = "mdb_reader_check";
        rc = mdb_reader_check (env, &opened->stale_readers);
    }
    if (rc) {
        stx_lmdb_discard (&env, path, opened->created);
        stx_status_t status = rc == MDB_NOTFOUND? STX_ERR_NOT_FOUND:
                              rc == EACCES || rc == ENOENT? STX_ERR_IO: STX_ERR_STORAGE;
        return stx_fail (err, errlen, status, "%s: %s: %s", path, step, mdb_strerror (rc));
    }
    *env_p = env;
    return STX_OK;
}

void
stx_lmdb_discard (MDB_env **env_p, const char *path, bool created)
{
    assert (env_p);
    if (*env_p)
        mdb_env_close (*env_p);
    *env_p = NULL;
    if (created) {
        char file [4200];
        snprintf (file, sizeof (file), "%s/data.mdb", path);
        unlink (file);
        snprintf (file, sizeof (file), "%s/lock.mdb", path);
        unlink (file);
    }
}

int
stx_lmdb_begin (MDB_env *env, unsigned int flags, bool alone, MDB_txn **txn_p)
{
    int rc = mdb_txn_begin (env, NULL, flags, txn_p);
    if (rc == MDB_MAP_RESIZED && alone) {
        //  Another process grew the map: adopt its size and retry
        rc = mdb_env_set_mapsize (env, 0);
        if (rc == 0)
            rc = mdb_txn_begin (env, NULL, flags, txn_p);
    }
    else
    if (rc == MDB_READERS_FULL) {
        int dead = 0;
        mdb_reader_check (env, &dead);
        rc = mdb_txn_begin (env, NULL, flags, txn_p);
    }
    return rc;
}

stx_status_t
stx_lmdb_status (int rc, const char *module, const char *what)
{
    switch (rc) {
        case MDB_SUCCESS:  return STX_OK;
        case MDB_NOTFOUND: return STX_ERR_NOT_FOUND;
        case MDB_MAP_FULL: return STX_ERR_MAP_FULL;
        //  A commit writes the dirty pages with pwrite: a full disk or a
        //  failing one shows here as errno (the transaction is aborted,
        //  the meta page unchanged, so nothing is half written). LMDB
        //  reports a short write - a disk filling up in mid-write - as
        //  EIO. The caller reports these: it knows how often it tried.
        case ENOSPC:
        case EDQUOT:
        case EFBIG:
            return STX_ERR_NO_SPACE;
        case EIO:
            return STX_ERR_IO;
        default:
            zsys_error ("%s: %s: %s", module, what, mdb_strerror (rc));
            return STX_ERR_STORAGE;
    }
}

void
stx_lmdb_put_be64 (uint64_t value, uint8_t out [8])
{
    for (int i = 7; i >= 0; i--) {
        out [i] = (uint8_t) (value & 0xff);
        value >>= 8;
    }
}

uint64_t
stx_lmdb_get_be64 (const uint8_t in [8])
{
    uint64_t value = 0;
    for (int i = 0; i < 8; i++)
        value = (value << 8) | in [i];
    return value;
}

void
stx_lmdb_put_be32 (uint32_t value, uint8_t out [4])
{
    out [0] = (uint8_t) (value >> 24);
    out [1] = (uint8_t) (value >> 16);
    out [2] = (uint8_t) (value >> 8);
    out [3] = (uint8_t) value;
}

uint32_t
stx_lmdb_get_be32 (const uint8_t in [4])
{
    return ((uint32_t) in [0] << 24) | ((uint32_t) in [1] << 16)
         | ((uint32_t) in [2] << 8) | in [3];
}
