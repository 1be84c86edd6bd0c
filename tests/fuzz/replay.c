/*  =========================================================================
    replay - run a fuzz target over saved inputs, without libFuzzer

    Linked with one fuzz target (its LLVMFuzzerTestOneInput) into a plain
    program for the normal build, whatever the compiler: every file of
    every folder (or file) named on the command line is fed to the target
    once, in name order. A broken invariant aborts, so the ctest fails;
    under STEMX_SANITIZE, ASan and LeakSanitizer check each run too. This
    is how the seed corpus and the crashing inputs kept in
    tests/fuzz/regressions/<target>/ run in every build.

    Usage: replay PATH...   exit 0 when every input ran, 1 if a path could
    not be read; an empty or missing folder is fine (nothing to replay).
    ========================================================================= */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Feed one file to the target. Returns 0, or -1 if it cannot be read.
static int
s_replay_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "replay: %s: %s\n", path, strerror (errno));
        return -1;
    }
    size_t size = 0, max = 4096;
    uint8_t *data = (uint8_t *) malloc (max);
    size_t got;
    while (data && (got = fread (data + size, 1, max - size, file)) > 0) {
        size += got;
        if (size == max) {
            max *= 2;
            uint8_t *bigger = (uint8_t *) realloc (data, max);
            if (!bigger)
                free (data);
            data = bigger;
        }
    }
    int failed = ferror (file) || !data;
    fclose (file);
    if (failed) {
        fprintf (stderr, "replay: %s: cannot read\n", path);
        free (data);
        return -1;
    }
    //  An exact-size copy, so ASan sees a read one byte too far
    uint8_t *exact = (uint8_t *) malloc (size? size: 1);
    if (!exact) {
        free (data);
        return -1;
    }
    memcpy (exact, data, size);
    free (data);
    LLVMFuzzerTestOneInput (exact, size);
    free (exact);
    return 0;
}

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

//  Feed every regular file of a folder, in name order. Returns the number
//  of files replayed, or -1 on a read error.
static int
s_replay_dir (const char *dir_path)
{
    DIR *dir = opendir (dir_path);
    if (!dir)
        return errno == ENOENT? 0: -1;
    char **names = NULL;
    size_t count = 0, max = 0;
    struct dirent *item;
    while ((item = readdir (dir))) {
        if (item->d_name [0] == '.')
            continue;           //  ., .. and dot files such as .gitkeep
        if (count == max) {
            max = max? max * 2: 64;
            char **bigger = (char **) realloc (names, max * sizeof (char *));
            if (!bigger)
                break;
            names = bigger;
        }
        names [count] = strdup (item->d_name);
        if (names [count])
            count++;
    }
    closedir (dir);
    if (count)
        qsort (names, count, sizeof (char *), s_compare_names);
    int replayed = 0;
    for (size_t index = 0; index < count; index++) {
        char path [4096];
        snprintf (path, sizeof (path), "%s/%s", dir_path, names [index]);
        struct stat info;
        if (stat (path, &info) == 0 && S_ISREG (info.st_mode)) {
            if (s_replay_file (path) != 0)
                replayed = -1;
            else
            if (replayed >= 0)
                replayed++;
        }
        free (names [index]);
    }
    free (names);
    return replayed;
}

int
main (int argc, char *argv [])
{
    if (argc < 2) {
        fprintf (stderr, "usage: %s FOLDER-OR-FILE...\n", argv [0]);
        return 2;
    }
    int status = 0, total = 0;
    for (int arg = 1; arg < argc; arg++) {
        struct stat info;
        int replayed;
        if (stat (argv [arg], &info) == 0 && S_ISREG (info.st_mode))
            replayed = s_replay_file (argv [arg]) == 0? 1: -1;
        else
            replayed = s_replay_dir (argv [arg]);
        if (replayed < 0)
            status = 1;
        else
            total += replayed;
        printf ("replay: %s: %d inputs\n", argv [arg], replayed < 0? 0: replayed);
    }
    printf ("replay: %d inputs, %s\n", total, status? "read errors": "all passed");
    return status;
}
