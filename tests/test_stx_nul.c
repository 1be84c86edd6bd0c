/*  =========================================================================
    test_stx_nul - a NUL inside a packed string field is found and named,
    at any depth; clean and undecodable bytes give nothing
    ========================================================================= */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "stx_nul.h"
#include "stemx.pb-c.h"

//  The packed Event of an initiative with two partners, with the byte at
//  the first occurrence of mark + offset set to 0 (mark NULL: untouched).
static uint8_t *
s_packed (const char *mark, size_t offset, size_t *size_p)
{
    Stemx__Partner owner = STEMX__PARTNER__INIT, one = STEMX__PARTNER__INIT,
                   two = STEMX__PARTNER__INIT;
    owner.org = (char *) "org:a";
    one.org = (char *) "org:bbb";
    two.org = (char *) "org:ccc";
    Stemx__Partner *partners [] = { &one, &two };
    Stemx__Initiative ini = STEMX__INITIATIVE__INIT;
    ini.id = (char *) "ini:x";
    ini.title = (char *) "A title";
    ini.owner = &owner;
    ini.n_partners = 2;
    ini.partners = partners;
    Stemx__Entry entry = STEMX__ENTRY__INIT;
    entry.kind_case = STEMX__ENTRY__KIND_INITIATIVE;
    entry.initiative = &ini;
    Stemx__Event event = STEMX__EVENT__INIT;
    event.key = (char *) "ini:x";
    event.client_time_ms = 1780000000000LL;
    event.entry = &entry;
    size_t size = stemx__event__get_packed_size (&event);
    uint8_t *data = (uint8_t *) malloc (size);
    assert_non_null (data);
    stemx__event__pack (&event, data);
    if (mark) {
        uint8_t *at = NULL;
        for (size_t i = 0; i + strlen (mark) <= size && !at; i++)
            if (memcmp (data + i, mark, strlen (mark)) == 0)
                at = data + i;
        assert_non_null (at);
        at [offset] = 0;
    }
    *size_p = size;
    return data;
}

static void
s_expect (const char *mark, size_t offset, const char *expected)
{
    size_t size;
    uint8_t *data = s_packed (mark, offset, &size);
    char path [128];
    bool found = stx_nul_find (&stemx__event__descriptor, data, size, path, sizeof path);
    free (data);
    if (expected) {
        assert_true (found);
        assert_string_equal (path, expected);
    }
    else {
        assert_false (found);
        assert_string_equal (path, "");
    }
}

static void
test_find (void **state)
{
    (void) state;
    s_expect (NULL, 0, NULL);
    s_expect ("ini:x", 2, "key");
    s_expect ("A title", 1, "entry.initiative.title");
    s_expect ("org:a", 4, "entry.initiative.owner.org");
    s_expect ("org:ccc", 5, "entry.initiative.partners[1].org");
    //  Bytes that do not parse are the decoder's to refuse
    const uint8_t junk [] = { 0x1a, 0x7f, 'a' };
    char path [16];
    assert_false (stx_nul_find (&stemx__event__descriptor, junk, sizeof junk, path, sizeof path));
    assert_false (stx_nul_find (&stemx__event__descriptor, NULL, 0, path, sizeof path));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_find),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
