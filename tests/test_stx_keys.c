/*  =========================================================================
    test_stx_keys - identities (generate, load) and the registry of public
    keys (what it accepts, what it refuses and why, lookups)

    Each test works in a fresh mkdtemp folder, removed at the end. Bad
    certs are made by rewriting one metadata line of a good one, as an
    operator's typo or an attacker's paste would.
    ========================================================================= */

#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>
#include <cmocka.h>
#include "stx_keys.h"

//  --------------------------------------------------------------------------
//  Fixture: a fresh folder

static int
s_unlink (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static int
s_setup (void **state)
{
    char *dir = strdup ("/tmp/stx-keys-XXXXXX");
    if (!mkdtemp (dir))
        return -1;
    *state = dir;
    return 0;
}

static int
s_teardown (void **state)
{
    char *dir = (char *) *state;
    nftw (dir, s_unlink, 16, FTW_DEPTH | FTW_PHYS);
    free (dir);
    return 0;
}

//  A path under the fixture's folder
static char *
s_path (void **state, const char *name)
{
    static char paths [32][1024];
    static int next = 0;
    char *path = paths [next++ % 32];
    snprintf (path, 1024, "%s/%s", (const char *) *state, name);
    return path;
}

//  Generate an identity in dir; the public file's path into path.
static void
s_generate (const char *dir, const char *name, const char *org, const char *pillar,
            const char *roles, char *path, size_t path_size)
{
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_identity_generate (dir, name, org, pillar, roles,
                                                 path, path_size, err, sizeof (err));
    if (status != STX_OK)
        fprintf (stderr, "generate %s: %s\n", org, err);
    assert_int_equal (status, STX_OK);
}

static stx_identity_t *
s_load (const char *public_path)
{
    char secret [1100];
    snprintf (secret, sizeof (secret), "%s_secret", public_path);
    stx_identity_t *identity = NULL;
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_identity_load (secret, &identity, err, sizeof (err));
    if (status != STX_OK)
        fprintf (stderr, "load %s: %s\n", secret, err);
    assert_int_equal (status, STX_OK);
    assert_non_null (identity);
    return identity;
}

static char *
s_read (const char *path)
{
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    static char text [8192];
    size_t size = fread (text, 1, sizeof (text) - 1, file);
    text [size] = 0;
    fclose (file);
    return text;
}

//  The value of a metadata line `    name = "value"` of a cert file.
static const char *
s_meta_of (const char *path, const char *name)
{
    static char value [256];
    char *text = s_read (path);
    char pattern [64];
    snprintf (pattern, sizeof (pattern), "\n    %s = \"", name);
    char *start = strstr (text, pattern);
    if (!start)
        return NULL;
    start += strlen (pattern);
    char *end = strchr (start, '"');
    assert_non_null (end);
    snprintf (value, sizeof (value), "%.*s", (int) (end - start), start);
    return value;
}

//  Copy src to dst with the metadata line of name set to value, or
//  removed when value is NULL.
static void
s_rewrite (const char *src, const char *dst, const char *name, const char *value)
{
    char *text = strdup (s_read (src));
    FILE *out = fopen (dst, "w");
    assert_non_null (out);
    char prefix [64];
    snprintf (prefix, sizeof (prefix), "    %s = ", name);
    bool found = false;
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        if (strncmp (line, prefix, strlen (prefix)) == 0) {
            found = true;
            if (value)
                fprintf (out, "%s\"%s\"\n", prefix, value);
        }
        else
            fprintf (out, "%s\n", line);
    }
    fclose (out);
    free (text);
    assert_true (found);
}

static void
s_copy (const char *src, const char *dst)
{
    char *text = s_read (src);
    FILE *out = fopen (dst, "w");
    assert_non_null (out);
    fputs (text, out);
    fclose (out);
}

//  Load the registry in dir (no retired folder) and expect a refusal
//  whose message names file and says why.
static void
s_refused (const char *dir, const char *file, const char *why)
{
    stx_registry_t *registry = (stx_registry_t *) 1;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_registry_load (dir, NULL, &registry, err, sizeof (err)),
                      STX_ERR_MALFORMED);
    assert_null (registry);
    if (!strstr (err, file) || !strstr (err, why))
        fprintf (stderr, "unexpected error: %s (want %s, %s)\n", err, file, why);
    assert_non_null (strstr (err, file));
    assert_non_null (strstr (err, why));
}


//  --------------------------------------------------------------------------
//  Generate and load an identity: files, keys, metadata, modes

static void
test_generate_load (void **state)
{
    char path [1024];
    char *dir = s_path (state, "keys");         //  created by generate
    s_generate (dir, NULL, "org:vdab", "government", "publisher, reader", path, sizeof (path));
    assert_string_equal (path, s_path (state, "keys/vdab.cert"));

    //  The secret file is 0600; the public one holds no secret
    struct stat st;
    char secret_path [1100];
    snprintf (secret_path, sizeof (secret_path), "%s_secret", path);
    assert_int_equal (stat (secret_path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    char *public_text = s_read (path);
    assert_null (strstr (public_text, "secret"));
    assert_string_equal (s_meta_of (path, "org"), "org:vdab");
    assert_string_equal (s_meta_of (path, "pillar"), "government");
    assert_string_equal (s_meta_of (path, "roles"), "publisher, reader");
    const char *created = s_meta_of (path, "created");
    assert_int_equal (strlen (created), 20);          //  2026-01-01T00:00:00Z
    assert_int_equal (created [10], 'T');
    assert_int_equal (created [19], 'Z');
    assert_non_null (s_meta_of (secret_path, "sign-secret"));
    assert_int_equal (strlen (s_meta_of (secret_path, "sign-secret")), 80);

    stx_identity_t *identity = s_load (path);
    assert_string_equal (stx_identity_org (identity), "org:vdab");
    const uint8_t *sign_public = stx_identity_sign_public (identity);
    const uint8_t *sign_secret = stx_identity_sign_secret (identity);

    //  The sign-key on file is the identity's public key
    char z85 [41];
    zmq_z85_encode (z85, sign_public, 32);
    assert_string_equal (s_meta_of (path, "sign-key"), z85);

    //  The CURVE pair derives from the signing pair
    uint8_t curve_public [32], curve_secret [32];
    assert_int_equal (crypto_sign_ed25519_pk_to_curve25519 (curve_public, sign_public), 0);
    assert_int_equal (crypto_sign_ed25519_sk_to_curve25519 (curve_secret, sign_secret), 0);
    zcert_t *cert = stx_identity_cert (identity);
    assert_memory_equal (zcert_public_key (cert), curve_public, 32);
    assert_memory_equal (zcert_secret_key (cert), curve_secret, 32);
    uint8_t check [32];
    crypto_scalarmult_base (check, curve_secret);
    assert_memory_equal (check, curve_public, 32);
    zmq_z85_encode (z85, curve_public, 32);
    assert_string_equal (zcert_public_txt (cert), z85);
    //  The cert carries the public metadata, never the signing secret
    assert_string_equal (zcert_meta (cert, "org"), "org:vdab");
    assert_null (zcert_meta (cert, "sign-secret"));

    //  The signing pair works
    uint8_t signature [64];
    crypto_sign_detached (signature, NULL, (const uint8_t *) "hello", 5, sign_secret);
    assert_int_equal (crypto_sign_verify_detached (signature, (const uint8_t *) "hello", 5,
                                                   sign_public), 0);
    stx_identity_destroy (&identity);
    assert_null (identity);
    stx_identity_destroy (&identity);

    //  An explicit name; a path buffer may be omitted
    char err [STX_ERRLEN];
    assert_int_equal (stx_identity_generate (dir, "vdab-2026", "org:vdab", "government",
                                             "publisher", NULL, 0, err, sizeof (err)), STX_OK);
    assert_int_equal (stat (s_path (state, "keys/vdab-2026.cert_secret"), &st), 0);
}


//  --------------------------------------------------------------------------
//  Never overwrite an identity

static void
test_no_overwrite (void **state)
{
    char path [1024], again [1024] = "";
    char *dir = (char *) *state;
    s_generate (dir, NULL, "org:a", "industry", "publisher", path, sizeof (path));
    char *before = strdup (s_read (path));
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_identity_generate (dir, NULL, "org:a", "industry", "publisher",
                                             again, sizeof (again), err, sizeof (err)),
                      STX_ERR_IO);
    assert_non_null (strstr (err, "a.cert"));
    assert_non_null (strstr (err, "not overwritten"));
    assert_string_equal (s_read (path), before);

    //  Only the secret left: still refused, and no public file left behind
    assert_int_equal (unlink (path), 0);
    assert_int_equal (stx_identity_generate (dir, NULL, "org:a", "industry", "publisher",
                                             again, sizeof (again), err, sizeof (err)),
                      STX_ERR_IO);
    assert_non_null (strstr (err, "a.cert_secret"));
    struct stat st;
    assert_int_not_equal (stat (path, &st), 0);
    free (before);
}


//  --------------------------------------------------------------------------
//  Bad arguments to generate

static void
test_generate_invalid (void **state)
{
    char *dir = (char *) *state;
    char path [1024], err [STX_ERRLEN];
    struct {
        const char *name, *org, *pillar, *roles, *why;
    } cases [] = {
        { NULL, "vdab", "government", "publisher", "org:<slug>" },
        { NULL, "org:VDAB", "government", "publisher", "org:<slug>" },
        { NULL, "org:", "government", "publisher", "org:<slug>" },
        { NULL, "org:a b", "government", "publisher", "org:<slug>" },
        { NULL, "org:a", "banking", "publisher", "banking" },
        { NULL, "org:a", "industry", "publisher, root", "root" },
        { NULL, "", "", "", "needs a name" },
        { "../x", "org:a", "industry", "publisher", "../x" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        *err = 0;
        assert_int_equal (stx_identity_generate (dir, cases [i].name, cases [i].org,
                                                 cases [i].pillar, cases [i].roles,
                                                 path, sizeof (path), err, sizeof (err)),
                          STX_ERR_INVALID);
        if (!strstr (err, cases [i].why))
            fprintf (stderr, "case %zu: %s\n", i, err);
        assert_non_null (strstr (err, cases [i].why));
    }
    //  A too small path buffer is refused before anything is written
    char small [8];
    assert_int_equal (stx_identity_generate (dir, NULL, "org:a", "industry", "publisher",
                                             small, sizeof (small), err, sizeof (err)),
                      STX_ERR_INVALID);
    struct stat st;
    assert_int_not_equal (stat (s_path (state, "a.cert"), &st), 0);
}


//  --------------------------------------------------------------------------
//  Loading identities: missing, public, tampered

static void
test_identity_load_errors (void **state)
{
    char *dir = (char *) *state;
    char a [1024], b [1024], err [STX_ERRLEN];
    s_generate (dir, NULL, "org:a", "industry", "publisher", a, sizeof (a));
    s_generate (dir, NULL, "org:b", "knowledge", "publisher", b, sizeof (b));
    stx_identity_t *identity = NULL;

    assert_int_equal (stx_identity_load (s_path (state, "none.cert_secret"), &identity,
                                         err, sizeof (err)), STX_ERR_NOT_FOUND);
    assert_non_null (strstr (err, "none.cert_secret"));
    assert_null (identity);

    //  A public cert is not an identity
    assert_int_equal (stx_identity_load (a, &identity, err, sizeof (err)), STX_ERR_MALFORMED);
    assert_non_null (strstr (err, "a.cert"));
    assert_non_null (strstr (err, "secret-key"));

    //  Not a cert at all
    FILE *file = fopen (s_path (state, "junk.cert_secret"), "w");
    fputs ("hello\n", file);
    fclose (file);
    assert_int_equal (stx_identity_load (s_path (state, "junk.cert_secret"), &identity,
                                         err, sizeof (err)), STX_ERR_MALFORMED);
    assert_non_null (strstr (err, "junk.cert_secret"));

    //  b's sign-key pasted into a's secret file
    char a_secret [1100], b_secret [1100];
    snprintf (a_secret, sizeof (a_secret), "%s_secret", a);
    snprintf (b_secret, sizeof (b_secret), "%s_secret", b);
    char *b_key = strdup (s_meta_of (b, "sign-key"));
    s_rewrite (a_secret, s_path (state, "mixed.cert_secret"), "sign-key", b_key);
    assert_int_equal (stx_identity_load (s_path (state, "mixed.cert_secret"), &identity,
                                         err, sizeof (err)), STX_ERR_MALFORMED);
    assert_non_null (strstr (err, "mixed.cert_secret"));
    assert_non_null (strstr (err, "sign-key"));
    //  ... and b's whole signing pair: the CURVE keys no longer derive
    char *b_sk = strdup (s_meta_of (b_secret, "sign-secret"));
    s_rewrite (s_path (state, "mixed.cert_secret"), s_path (state, "mixed2.cert_secret"),
               "sign-secret", b_sk);
    assert_int_equal (stx_identity_load (s_path (state, "mixed2.cert_secret"), &identity,
                                         err, sizeof (err)), STX_ERR_MALFORMED);
    assert_non_null (strstr (err, "derive"));
    assert_null (identity);
    free (b_key);
    free (b_sk);
}


//  --------------------------------------------------------------------------
//  A broker's own key: no org, loads as an identity, never registered

static void
test_broker_identity (void **state)
{
    char *dir = (char *) *state;
    char path [1024];
    s_generate (dir, "broker", "", "", "", path, sizeof (path));
    assert_string_equal (path, s_path (state, "broker.cert"));
    stx_identity_t *identity = s_load (path);
    assert_string_equal (stx_identity_org (identity), "");
    assert_non_null (stx_identity_cert (identity));
    stx_identity_destroy (&identity);

    s_refused (dir, "broker.cert", "no org");
}


//  --------------------------------------------------------------------------
//  A registry: public certs only, subfolders ignored, lookups, retired keys

static void
test_registry (void **state)
{
    char *dir = (char *) *state;
    char a [1024], b [1024], vlaio [1024], old [1024], nested [1024];
    char *retired = s_path (state, "retired");
    char *deeper = s_path (state, "retired/deeper");
    s_generate (dir, NULL, "org:a", "industry", "publisher, reader", a, sizeof (a));
    s_generate (dir, NULL, "org:b", "knowledge", "reader", b, sizeof (b));
    s_generate (dir, NULL, "org:vlaio", "", "admin, reader", vlaio, sizeof (vlaio));
    s_generate (retired, NULL, "org:a", "industry", "publisher", old, sizeof (old));
    s_generate (deeper, NULL, "org:c", "industry", "publisher", nested, sizeof (nested));
    //  A file that is not a .cert, and a folder named like one
    FILE *file = fopen (s_path (state, "README"), "w");
    fputs ("not a cert\n", file);
    fclose (file);
    assert_int_equal (mkdir (s_path (state, "folder.cert"), 0755), 0);

    stx_identity_t *id_a = s_load (a);
    stx_identity_t *id_old = s_load (old);
    stx_identity_t *id_nested = s_load (nested);

    stx_registry_t *registry = NULL;
    char err [STX_ERRLEN] = "";
    stx_status_t status = stx_registry_load (dir, NULL, &registry, err, sizeof (err));
    if (status != STX_OK)
        fprintf (stderr, "registry: %s\n", err);
    assert_int_equal (status, STX_OK);
    assert_int_equal (stx_registry_size (registry), 3);   //  a, b, vlaio
    //  In file-name order
    assert_string_equal (stx_registry_key (registry, 0)->org, "org:a");
    assert_string_equal (stx_registry_key (registry, 1)->org, "org:b");
    assert_string_equal (stx_registry_key (registry, 2)->org, "org:vlaio");
    assert_null (stx_registry_key (registry, 3));

    const char *curve_a = zcert_public_txt (stx_identity_cert (id_a));
    const stx_key_t *key = stx_registry_by_curve (registry, curve_a);
    assert_non_null (key);
    assert_string_equal (key->org, "org:a");
    assert_string_equal (key->pillar, "industry");
    assert_int_equal (key->roles, STX_ROLE_PUBLISHER | STX_ROLE_READER);
    assert_string_equal (key->curve_key, curve_a);
    assert_memory_equal (key->sign_key, stx_identity_sign_public (id_a), 32);
    assert_false (key->retired);
    assert_string_equal (key->file, a);
    assert_ptr_equal (stx_registry_by_sign (registry, stx_identity_sign_public (id_a)), key);
    stx_principal_t principal = stx_key_principal (key);
    assert_string_equal (principal.org, "org:a");
    assert_string_equal (principal.pillar, "industry");
    assert_int_equal (principal.roles, STX_ROLE_PUBLISHER | STX_ROLE_READER);

    key = stx_registry_by_sign (registry, stx_registry_key (registry, 2)->sign_key);
    assert_string_equal (key->org, "org:vlaio");
    assert_string_equal (key->pillar, "");              //  admin: no pillar needed
    assert_int_equal (key->roles, STX_ROLE_ADMIN | STX_ROLE_READER);

    //  The retired key is not known without its folder
    assert_null (stx_registry_by_sign (registry, stx_identity_sign_public (id_old)));
    assert_null (stx_registry_by_curve (registry, zcert_public_txt (stx_identity_cert (id_old))));
    assert_null (stx_registry_by_curve (registry, "not a key"));
    assert_null (stx_registry_by_curve (registry, NULL));
    stx_registry_destroy (&registry);
    assert_null (registry);
    stx_registry_destroy (&registry);

    //  With the retired folder: its key flagged retired; its subfolder ignored
    assert_int_equal (stx_registry_load (dir, retired, &registry, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_registry_size (registry), 4);
    key = stx_registry_by_curve (registry, zcert_public_txt (stx_identity_cert (id_old)));
    assert_non_null (key);
    assert_true (key->retired);
    assert_string_equal (key->org, "org:a");
    assert_string_equal (key->file, old);
    assert_ptr_equal (stx_registry_key (registry, 3), key);
    assert_false (stx_registry_by_curve (registry, curve_a)->retired);
    assert_null (stx_registry_by_sign (registry, stx_identity_sign_public (id_nested)));
    stx_registry_destroy (&registry);

    //  An empty folder is an empty registry; a missing one an error
    assert_int_equal (stx_registry_load (deeper, NULL, &registry, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_registry_size (registry), 1);
    stx_registry_destroy (&registry);
    assert_int_equal (mkdir (s_path (state, "empty"), 0755), 0);
    assert_int_equal (stx_registry_load (s_path (state, "empty"), NULL, &registry,
                                         err, sizeof (err)), STX_OK);
    assert_int_equal (stx_registry_size (registry), 0);
    assert_null (stx_registry_by_curve (registry, curve_a));
    stx_registry_destroy (&registry);
    assert_int_equal (stx_registry_load (s_path (state, "missing"), NULL, &registry,
                                         err, sizeof (err)), STX_ERR_IO);
    assert_non_null (strstr (err, "missing"));
    assert_null (registry);
    assert_int_equal (stx_registry_load (dir, s_path (state, "missing"), &registry,
                                         err, sizeof (err)), STX_ERR_IO);
    assert_null (registry);

    stx_identity_destroy (&id_a);
    stx_identity_destroy (&id_old);
    stx_identity_destroy (&id_nested);
}


//  --------------------------------------------------------------------------
//  What a registry refuses, each case in its own folder, naming the file

static void
test_registry_refusals (void **state)
{
    char *keys = s_path (state, "keys");
    char a [1024], b [1024], vlaio [1024];
    s_generate (keys, NULL, "org:a", "industry", "publisher", a, sizeof (a));
    s_generate (keys, NULL, "org:b", "knowledge", "publisher", b, sizeof (b));
    s_generate (keys, NULL, "org:vlaio", "government", "admin", vlaio, sizeof (vlaio));
    char *b_key = strdup (s_meta_of (b, "sign-key"));
    char dir [1024], file [1100];
    int n = 0;

    //  Each case: a folder with b.cert (good) and one bad file
#define S_CASE(name) \
    snprintf (dir, sizeof (dir), "%s/case%d", (char *) *state, n++); \
    assert_int_equal (mkdir (dir, 0755), 0); \
    snprintf (file, sizeof (file), "%s/b.cert", dir); \
    s_copy (b, file); \
    snprintf (file, sizeof (file), "%s/" name, dir)

    //  Tampered: another identity's sign-key pasted in
    S_CASE ("x.cert");
    s_rewrite (a, file, "sign-key", b_key);
    s_refused (dir, "x.cert", "does not derive from sign-key");

    //  No org, an org that is not a slug
    S_CASE ("x.cert");
    s_rewrite (a, file, "org", NULL);
    s_refused (dir, "x.cert", "no org");
    S_CASE ("x.cert");
    s_rewrite (a, file, "org", "Org A");
    s_refused (dir, "x.cert", "org:<slug>");

    //  Roles: unknown, missing, empty
    S_CASE ("x.cert");
    s_rewrite (a, file, "roles", "publisher, superuser");
    s_refused (dir, "x.cert", "superuser");
    S_CASE ("x.cert");
    s_rewrite (a, file, "roles", NULL);
    s_refused (dir, "x.cert", "no roles");
    S_CASE ("x.cert");
    s_rewrite (a, file, "roles", "");
    s_refused (dir, "x.cert", "no roles");

    //  Pillar: unknown; none for a non-admin (an admin may have none)
    S_CASE ("x.cert");
    s_rewrite (a, file, "pillar", "banking");
    s_refused (dir, "x.cert", "banking");
    S_CASE ("x.cert");
    s_rewrite (a, file, "pillar", "");
    s_refused (dir, "x.cert", "no pillar");

    //  No sign-key
    S_CASE ("x.cert");
    s_rewrite (a, file, "sign-key", NULL);
    s_refused (dir, "x.cert", "sign-key");

    //  The same key twice, under two names: the later file is named
    S_CASE ("a.cert");
    s_copy (a, file);
    snprintf (file, sizeof (file), "%s/c.cert", dir);
    s_copy (a, file);
    s_refused (dir, "c.cert", "same CURVE key as");
    s_refused (dir, "a.cert", "same CURVE key as");

    //  The same key active and retired
    S_CASE ("a.cert");
    s_copy (a, file);
    char retired [1100];
    snprintf (retired, sizeof (retired), "%s/retired", dir);
    assert_int_equal (mkdir (retired, 0755), 0);
    snprintf (file, sizeof (file), "%s/retired/a-old.cert", dir);
    s_copy (a, file);
    stx_registry_t *registry = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_registry_load (dir, NULL, &registry, err, sizeof (err)), STX_OK);
    stx_registry_destroy (&registry);
    assert_int_equal (stx_registry_load (dir, retired, &registry, err, sizeof (err)),
                      STX_ERR_MALFORMED);
    assert_non_null (strstr (err, "a-old.cert"));
    assert_null (registry);

    //  A secret file renamed to .cert
    S_CASE ("x.cert");
    char secret [1100];
    snprintf (secret, sizeof (secret), "%s_secret", a);
    s_copy (secret, file);
    s_refused (dir, "x.cert", "secret");

    //  A broker's key
    S_CASE ("broker.cert");
    char broker [1024];
    s_generate (dir, "broker", "", "", "", broker, sizeof (broker));
    s_refused (dir, "broker.cert", "no org");

    //  Not a cert at all
    S_CASE ("x.cert");
    FILE *out = fopen (file, "w");
    fputs ("curve\n    public-key = \"short\"\n", out);
    fclose (out);
    s_refused (dir, "x.cert", "public-key");
#undef S_CASE

    //  The folder of good keys, with its *_secret files, loads
    assert_int_equal (stx_registry_load (keys, NULL, &registry, err, sizeof (err)), STX_OK);
    assert_int_equal (stx_registry_size (registry), 3);
    stx_registry_destroy (&registry);
    free (b_key);
}


//  F7: the lenient load (the broker's reload) leaves bad certs and
//  repeated keys out, naming each file, and keeps the good ones
static void
test_registry_lenient (void **state)
{
    char *keys = s_path (state, "keys");
    char a [1024], b [1024];
    s_generate (keys, NULL, "org:a", "industry", "publisher", a, sizeof (a));
    s_generate (keys, NULL, "org:b", "knowledge", "publisher", b, sizeof (b));
    char *dir = s_path (state, "registry");
    assert_int_equal (mkdir (dir, 0755), 0);
    char file [1100];
    snprintf (file, sizeof (file), "%s/a.cert", dir);
    s_copy (a, file);
    snprintf (file, sizeof (file), "%s/a2.cert", dir);      //  the same key again
    s_copy (a, file);
    snprintf (file, sizeof (file), "%s/bad.cert", dir);     //  roles unknown
    s_rewrite (b, file, "roles", "superuser");

    //  Strict: the whole folder is refused
    stx_registry_t *registry = NULL;
    char err [STX_ERRLEN] = "";
    assert_int_equal (stx_registry_load (dir, NULL, &registry, err, sizeof (err)),
                      STX_ERR_MALFORMED);
    assert_null (registry);

    //  Lenient: a.cert is in, a2.cert and bad.cert are named and left out
    zlistx_t *skipped = zlistx_new ();
    zlistx_set_destructor (skipped, (zlistx_destructor_fn *) zstr_free);
    assert_int_equal (stx_registry_load_lenient (dir, NULL, &registry, skipped,
                                                 err, sizeof (err)), STX_OK);
    assert_int_equal (stx_registry_size (registry), 1);
    assert_string_equal (stx_registry_key (registry, 0)->org, "org:a");
    assert_int_equal (zlistx_size (skipped), 2);
    bool named_bad = false, named_copy = false;
    for (const char *line = (const char *) zlistx_first (skipped); line;
         line = (const char *) zlistx_next (skipped)) {
        named_bad |= strstr (line, "bad.cert") && strstr (line, "superuser");
        named_copy |= strstr (line, "a2.cert") && strstr (line, "same key as");
    }
    assert_true (named_bad && named_copy);
    stx_registry_destroy (&registry);
    zlistx_destroy (&skipped);

    //  A folder that cannot be read is still an error
    skipped = zlistx_new ();
    assert_int_equal (stx_registry_load_lenient (s_path (state, "none"), NULL, &registry,
                                                 skipped, err, sizeof (err)), STX_ERR_IO);
    assert_null (registry);
    zlistx_destroy (&skipped);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_generate_load, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_no_overwrite, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_generate_invalid, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_identity_load_errors, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_identity, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_registry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_registry_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_registry_lenient, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
