/*  =========================================================================
    fuzz_common - what the fuzz targets share: the taxonomy, loaded once

    Each target is one LLVMFuzzerTestOneInput, linked either with libFuzzer
    (clang, the fuzz build) or with tests/fuzz/replay.c (any compiler, the
    normal build). The taxonomy is read once from config/ of the source
    tree: $STEMX_SOURCE_DIR/config if set, else the folder compiled in as
    STEMX_FUZZ_CONFIG_DIR. It stays loaded for the life of the process and
    is freed at exit, so LeakSanitizer sees nothing.

    FUZZ_CHECK aborts with a message when an invariant is broken: unlike
    assert it is never compiled out, and libFuzzer keeps the input.
    ========================================================================= */

#ifndef FUZZ_COMMON_H_INCLUDED
#define FUZZ_COMMON_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stx_taxonomy.h"
#include "stx_validate.h"

#define FUZZ_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf (stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            abort (); \
        } \
    } while (0)

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static stx_taxonomy_t *s_fuzz_taxonomy = NULL;

static void
s_fuzz_taxonomy_free (void)
{
    stx_taxonomy_destroy (&s_fuzz_taxonomy);
}

//  The taxonomy of the source tree; aborts if it cannot be loaded (a
//  setup error, not a finding).
static inline const stx_taxonomy_t *
fuzz_taxonomy (void)
{
    if (s_fuzz_taxonomy)
        return s_fuzz_taxonomy;
    char dir [4096];
    const char *source = getenv ("STEMX_SOURCE_DIR");
    if (source && *source)
        snprintf (dir, sizeof (dir), "%s/config", source);
    else {
#ifdef STEMX_FUZZ_CONFIG_DIR
        snprintf (dir, sizeof (dir), "%s", STEMX_FUZZ_CONFIG_DIR);
#else
        snprintf (dir, sizeof (dir), "config");
#endif
    }
    char err [256] = "";
    if (stx_taxonomy_load (dir, &s_fuzz_taxonomy, err, sizeof (err)) != STX_OK) {
        fprintf (stderr, "fuzz: cannot load the taxonomy from %s: %s\n"
                         "fuzz: set STEMX_SOURCE_DIR to the source tree\n", dir, err);
        abort ();
    }
    atexit (s_fuzz_taxonomy_free);
    return s_fuzz_taxonomy;
}

//  An error text must be NUL-terminated within its buffer, non-empty and
//  valid UTF-8: it goes on the wire as a Result's text.
static inline void
fuzz_check_error_text (const char *err, size_t errlen)
{
    size_t len = strnlen (err, errlen);
    FUZZ_CHECK (len < errlen);
    FUZZ_CHECK (len > 0);
    FUZZ_CHECK (stx_utf8_valid (err, len));
}

#endif
