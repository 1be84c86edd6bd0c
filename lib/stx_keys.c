/*  =========================================================================
    stx_keys - organisations' key pairs, and the registry of public keys

    DESIGN
    ------
    One Ed25519 key pair per organisation; its CURVE (X25519) pair is
    derived from it with libsodium's crypto_sign_ed25519_{pk,sk}_to_
    curve25519, so whoever holds a registered CURVE key also holds the
    matching signing key, and the registry can check that every cert's
    CURVE key derives from its sign-key (a sign-key pasted from another
    cert is caught at load time).

    Files are read with zconfig rather than zcert_load: zcert_load prefers
    NAME_secret when it exists, and the registry must read exactly the
    public file it names in its errors. Files are written with czmq's
    zcert_save_public / zcert_save_secret after both names have been
    claimed with O_CREAT | O_EXCL (the public file 0644, the secret one
    0600), so an existing identity is never overwritten, even by a
    concurrent keygen, and the secret file is never world-readable.

    The registry is immutable once loaded: its keys live in one array (load
    order: active files by name, then retired files by name) and two
    sorted arrays of pointers answer lookups by bsearch. Nothing is cached
    on lookup, so a loaded registry may be read from several threads.

    Secret key bytes are wiped (sodium_memzero) before they are freed.
    ========================================================================= */

#define _GNU_SOURCE
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sodium.h>
#include "stx_keys.h"

#define S_Z85_PUBLIC 40         //  Z85 length of a 32-byte key
#define S_Z85_SECRET 80         //  Z85 length of a 64-byte key
#define S_ORG_MAX    128        //  longest "org:<slug>" accepted

struct _stx_identity_t {
    zcert_t *cert;              //  CURVE pair and public metadata
    char *org;                  //  "org:x" or "" (a broker's key)
    uint8_t sign_secret [STX_SIGN_SECRET_SIZE];
    uint8_t sign_public [STX_SIGN_PUBLIC_SIZE];
};

//  A registered key and the strings its stx_key_t points to.
typedef struct {
    stx_key_t key;              //  what callers see
    char curve [S_Z85_PUBLIC + 1];
    size_t index;               //  load order, for error messages
} s_key_t;

struct _stx_registry_t {
    s_key_t **keys;             //  load order; owns the keys
    s_key_t **by_curve;         //  sorted by Z85 CURVE key
    s_key_t **by_sign;          //  sorted by Ed25519 public key bytes
    size_t size;
    size_t capacity;
};


//  --------------------------------------------------------------------------
//  Helpers

static void
s_sodium_init (void)
{
    int rc = sodium_init ();
    assert (rc >= 0);
}

//  "org:<slug>", slug [a-z0-9-]+
static bool
s_org_valid (const char *org)
{
    if (!org || strncmp (org, "org:", 4) != 0)
        return false;
    size_t len = strlen (org);
    if (len == 4 || len > S_ORG_MAX)
        return false;
    for (const char *p = org + 4; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

static bool
s_pillar_valid (const char *pillar)
{
    static const char *pillars [] = { "government", "knowledge", "industry", "civil_society" };
    for (size_t i = 0; i < sizeof pillars / sizeof pillars [0]; i++)
        if (pillar && strcmp (pillar, pillars [i]) == 0)
            return true;
    return false;
}

//  Decode Z85 text of exactly size bytes; false if absent or malformed.
static bool
s_z85_decode (const char *text, uint8_t *out, size_t size)
{
    if (!text || strlen (text) != size * 5 / 4)
        return false;
    return zmq_z85_decode (out, text) != NULL;
}

//  A metadata value of a cert file, or NULL.
static const char *
s_meta (zconfig_t *root, const char *name)
{
    zconfig_t *metadata = zconfig_locate (root, "metadata");
    zconfig_t *item = metadata? zconfig_locate (metadata, name): NULL;
    return item? zconfig_value (item): NULL;
}

static const char *
s_curve (zconfig_t *root, const char *name)
{
    zconfig_t *curve = zconfig_locate (root, "curve");
    zconfig_t *item = curve? zconfig_locate (curve, name): NULL;
    return item? zconfig_value (item): NULL;
}


//  --------------------------------------------------------------------------
//  Generate a new identity and save it as DIR/NAME.cert and .cert_secret

stx_status_t
stx_identity_generate (const char *dir, const char *name, const char *org,
                       const char *pillar, const char *roles,
                       char *path, size_t path_size, char *err, size_t errlen)
{
    assert (dir);
    org = org? org: "";
    pillar = pillar? pillar: "";
    roles = roles? roles: "";
    s_sodium_init ();

    if (*org && !s_org_valid (org))
        return stx_fail (err, errlen, STX_ERR_INVALID,
                         "org '%.100s': not org:<slug> (slug of a-z, 0-9 and -)", org);
    if (*pillar && !s_pillar_valid (pillar))
        return stx_fail (err, errlen, STX_ERR_INVALID,
                         "pillar '%.100s': not government, knowledge, industry or civil_society",
                         pillar);
    unsigned bits;
    stx_status_t status = stx_policy_roles (roles, &bits, err, errlen);
    if (status != STX_OK)
        return status;
    const char *base = name? name: (*org? org + 4: NULL);
    if (!base)
        return stx_fail (err, errlen, STX_ERR_INVALID, "a key without org needs a name");
    if (!*base || *base == '.' || strchr (base, '/'))
        return stx_fail (err, errlen, STX_ERR_INVALID,
                         "name '%.100s': not a plain file name", base);

    char public_path [PATH_MAX];
    char secret_path [PATH_MAX];
    if (snprintf (public_path, sizeof (public_path), "%s/%s.cert", dir, base)
            >= (int) sizeof (public_path)
    ||  snprintf (secret_path, sizeof (secret_path), "%s/%s.cert_secret", dir, base)
            >= (int) sizeof (secret_path))
        return stx_fail (err, errlen, STX_ERR_INVALID, "%.200s: path too long", dir);
    if (path && strlen (public_path) >= path_size)
        return stx_fail (err, errlen, STX_ERR_INVALID, "%.200s: path buffer too small",
                         public_path);
    if (mkdir (dir, 0775) != 0 && errno != EEXIST)
        return stx_fail (err, errlen, STX_ERR_IO, "%.200s: %s", dir, strerror (errno));

    //  Claim both names first: an existing identity is never overwritten
    int fd = open (public_path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        return stx_fail (err, errlen, STX_ERR_IO, "%.200s: %s%s", public_path,
                         strerror (errno), errno == EEXIST? " (not overwritten)": "");
    close (fd);
    fd = open (secret_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        int error = errno;
        unlink (public_path);
        return stx_fail (err, errlen, STX_ERR_IO, "%.200s: %s%s", secret_path,
                         strerror (error), error == EEXIST? " (not overwritten)": "");
    }
    close (fd);

    uint8_t sign_public [STX_SIGN_PUBLIC_SIZE];
    uint8_t sign_secret [STX_SIGN_SECRET_SIZE];
    uint8_t curve_public [32];
    uint8_t curve_secret [32];
    crypto_sign_keypair (sign_public, sign_secret);
    int rc = crypto_sign_ed25519_pk_to_curve25519 (curve_public, sign_public);
    assert (rc == 0);
    rc = crypto_sign_ed25519_sk_to_curve25519 (curve_secret, sign_secret);
    assert (rc == 0);

    char sign_key_txt [S_Z85_PUBLIC + 1];
    char sign_secret_txt [S_Z85_SECRET + 1];
    zmq_z85_encode (sign_key_txt, sign_public, STX_SIGN_PUBLIC_SIZE);
    zmq_z85_encode (sign_secret_txt, sign_secret, STX_SIGN_SECRET_SIZE);
    char created [32];
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (created, sizeof (created), "%Y-%m-%dT%H:%M:%SZ", &tm);

    //  zcert_save_secret sets czmq's "private" umask, then czmq's default
    //  one: keep the process's own umask instead
    mode_t saved_umask = umask (077);
    zcert_t *cert = zcert_new_from (curve_public, curve_secret);
    assert (cert);
    zcert_set_meta (cert, "org", "%s", org);
    zcert_set_meta (cert, "pillar", "%s", pillar);
    zcert_set_meta (cert, "roles", "%s", roles);
    zcert_set_meta (cert, "sign-key", "%s", sign_key_txt);
    zcert_set_meta (cert, "created", "%s", created);
    rc = zcert_save_public (cert, public_path);
    if (rc == 0) {
        zcert_set_meta (cert, "sign-secret", "%s", sign_secret_txt);
        rc = zcert_save_secret (cert, secret_path);
    }
    if (rc == 0)
        rc = chmod (secret_path, 0600);
    zcert_destroy (&cert);
    umask (saved_umask);
    sodium_memzero (sign_secret, sizeof (sign_secret));
    sodium_memzero (curve_secret, sizeof (curve_secret));
    sodium_memzero (sign_secret_txt, sizeof (sign_secret_txt));
    if (rc != 0) {
        unlink (public_path);
        unlink (secret_path);
        return stx_fail (err, errlen, STX_ERR_IO, "%.200s: could not be written", public_path);
    }
    if (path)
        snprintf (path, path_size, "%s", public_path);
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Load an identity from a secret cert file

stx_status_t
stx_identity_load (const char *path, stx_identity_t **self_p, char *err, size_t errlen)
{
    assert (path);
    assert (self_p);
    *self_p = NULL;
    s_sodium_init ();
    struct stat st;
    if (stat (path, &st) != 0)
        return stx_fail (err, errlen, errno == ENOENT? STX_ERR_NOT_FOUND: STX_ERR_IO,
                         "%.200s: %s", path, strerror (errno));
    zconfig_t *root = zconfig_load (path);
    if (!root)
        return stx_fail (err, errlen, STX_ERR_MALFORMED, "%.200s: not a cert file", path);

    stx_status_t status = STX_OK;
    const char *why = NULL;
    uint8_t curve_public [32], curve_secret [32];
    uint8_t derived_public [32], derived_secret [32];
    uint8_t sign_public [STX_SIGN_PUBLIC_SIZE], sign_secret [STX_SIGN_SECRET_SIZE];
    const char *org = s_meta (root, "org");
    org = org? org: "";
    if (!s_z85_decode (s_curve (root, "public-key"), curve_public, 32))
        why = "no valid curve public-key";
    else
    if (!s_z85_decode (s_curve (root, "secret-key"), curve_secret, 32))
        why = "no valid curve secret-key (a public cert, not a secret one?)";
    else
    if (!s_z85_decode (s_meta (root, "sign-key"), sign_public, STX_SIGN_PUBLIC_SIZE))
        why = "no valid sign-key";
    else
    if (!s_z85_decode (s_meta (root, "sign-secret"), sign_secret, STX_SIGN_SECRET_SIZE))
        why = "no valid sign-secret (not a stemx secret cert)";
    else
    if (*org && !s_org_valid (org))
        why = "org is not org:<slug>";
    else
    if (memcmp (sign_secret + 32, sign_public, STX_SIGN_PUBLIC_SIZE) != 0)
        why = "sign-secret does not match sign-key";
    else
    if (crypto_sign_ed25519_pk_to_curve25519 (derived_public, sign_public) != 0
    ||  memcmp (derived_public, curve_public, 32) != 0)
        why = "curve public-key does not derive from sign-key";
    else
    if (crypto_sign_ed25519_sk_to_curve25519 (derived_secret, sign_secret) != 0
    ||  memcmp (derived_secret, curve_secret, 32) != 0)
        why = "curve secret-key does not derive from sign-secret";

    if (why)
        status = stx_fail (err, errlen, STX_ERR_MALFORMED, "%.200s: %s", path, why);
    else {
        stx_identity_t *self = (stx_identity_t *) zmalloc (sizeof (stx_identity_t));
        assert (self);
        self->org = strdup (org);
        assert (self->org);
        memcpy (self->sign_public, sign_public, sizeof (sign_public));
        memcpy (self->sign_secret, sign_secret, sizeof (sign_secret));
        self->cert = zcert_new_from (curve_public, curve_secret);
        assert (self->cert);
        //  Public metadata only: the cert may be saved or shown
        zconfig_t *metadata = zconfig_locate (root, "metadata");
        for (zconfig_t *item = metadata? zconfig_child (metadata): NULL; item;
             item = zconfig_next (item))
            if (strcmp (zconfig_name (item), "sign-secret") != 0)
                zcert_set_meta (self->cert, zconfig_name (item), "%s",
                                zconfig_value (item)? zconfig_value (item): "");
        *self_p = self;
    }
    sodium_memzero (sign_secret, sizeof (sign_secret));
    sodium_memzero (curve_secret, sizeof (curve_secret));
    sodium_memzero (derived_secret, sizeof (derived_secret));
    //  The parsed tree holds the secrets as text: wipe them before freeing
    const char *names [] = { "secret-key", "sign-secret" };
    for (size_t i = 0; i < 2; i++) {
        char *text = (char *) (i == 0? s_curve (root, names [i]): s_meta (root, names [i]));
        if (text)
            sodium_memzero (text, strlen (text));
    }
    zconfig_destroy (&root);
    return status;
}


//  --------------------------------------------------------------------------
//  Destroy an identity

void
stx_identity_destroy (stx_identity_t **self_p)
{
    assert (self_p);
    stx_identity_t *self = *self_p;
    if (self) {
        zcert_destroy (&self->cert);
        free (self->org);
        sodium_memzero (self->sign_secret, sizeof (self->sign_secret));
        free (self);
        *self_p = NULL;
    }
}

const char *
stx_identity_org (const stx_identity_t *self)
{
    assert (self);
    return self->org;
}

zcert_t *
stx_identity_cert (const stx_identity_t *self)
{
    assert (self);
    return self->cert;
}

const uint8_t *
stx_identity_sign_secret (const stx_identity_t *self)
{
    assert (self);
    return self->sign_secret;
}

const uint8_t *
stx_identity_sign_public (const stx_identity_t *self)
{
    assert (self);
    return self->sign_public;
}


//  --------------------------------------------------------------------------
//  Registry: load one public cert file, or explain why not

static void
s_key_destroy (s_key_t **key_p)
{
    s_key_t *key = *key_p;
    if (key) {
        free ((char *) key->key.org);
        free ((char *) key->key.pillar);
        free ((char *) key->key.file);
        free (key);
        *key_p = NULL;
    }
}

static stx_status_t
s_load_cert (const char *path, bool retired, s_key_t **key_p, char *err, size_t errlen)
{
    *key_p = NULL;
    zconfig_t *root = zconfig_load (path);
    if (!root)
        return stx_fail (err, errlen, STX_ERR_MALFORMED, "%.200s: not a cert file", path);

    char why [STX_ERRLEN] = "";
    uint8_t curve_public [32], derived [32], sign_key [STX_SIGN_PUBLIC_SIZE];
    unsigned roles = 0;
    const char *org = s_meta (root, "org");
    const char *pillar = s_meta (root, "pillar");
    const char *roles_txt = s_meta (root, "roles");
    pillar = pillar? pillar: "";
    if (s_curve (root, "secret-key") || s_meta (root, "sign-secret"))
        snprintf (why, sizeof (why), "holds secret keys (a registry takes public certs only)");
    else
    if (!s_z85_decode (s_curve (root, "public-key"), curve_public, 32))
        snprintf (why, sizeof (why), "no valid curve public-key");
    else
    if (!org || !*org)
        snprintf (why, sizeof (why), "no org (a broker's own key is never registered)");
    else
    if (!s_org_valid (org))
        snprintf (why, sizeof (why), "org '%.100s' is not org:<slug>", org);
    else
    if (!roles_txt)
        snprintf (why, sizeof (why), "no roles");
    else
    if (stx_policy_roles (roles_txt, &roles, why, sizeof (why)) != STX_OK) {
        //  why names the unknown role
    }
    else
    if (roles == 0)
        snprintf (why, sizeof (why), "no roles");
    else
    if (*pillar && !s_pillar_valid (pillar))
        snprintf (why, sizeof (why), "unknown pillar '%.100s'", pillar);
    else
    if (!*pillar && !(roles & STX_ROLE_ADMIN))
        snprintf (why, sizeof (why), "no pillar (only an admin key may have none)");
    else
    if (!s_z85_decode (s_meta (root, "sign-key"), sign_key, STX_SIGN_PUBLIC_SIZE))
        snprintf (why, sizeof (why), "no valid sign-key");
    else
    if (crypto_sign_ed25519_pk_to_curve25519 (derived, sign_key) != 0
    ||  memcmp (derived, curve_public, 32) != 0)
        snprintf (why, sizeof (why),
                  "curve public-key does not derive from sign-key (tampered or mixed-up cert)");

    stx_status_t status = STX_OK;
    if (*why)
        status = stx_fail (err, errlen, STX_ERR_MALFORMED, "%.200s: %s", path, why);
    else {
        s_key_t *key = (s_key_t *) zmalloc (sizeof (s_key_t));
        assert (key);
        key->key.org = strdup (org);
        key->key.pillar = strdup (pillar);
        key->key.file = strdup (path);
        assert (key->key.org && key->key.pillar && key->key.file);
        key->key.roles = roles;
        key->key.retired = retired;
        memcpy (key->key.sign_key, sign_key, STX_SIGN_PUBLIC_SIZE);
        zmq_z85_encode (key->curve, curve_public, 32);
        key->key.curve_key = key->curve;
        *key_p = key;
    }
    zconfig_destroy (&root);
    return status;
}

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

//  Load every regular file NAME.cert directly in dir, in name order. With
//  skipped (lenient), a bad cert is recorded there ("file: why") and left
//  out instead of failing the load.
static stx_status_t
s_load_dir (stx_registry_t *self, const char *dir, bool retired, zlistx_t *skipped,
            char *err, size_t errlen)
{
    DIR *handle = opendir (dir);
    if (!handle)
        return stx_fail (err, errlen, STX_ERR_IO, "%.200s: %s", dir, strerror (errno));
    zlistx_t *names = zlistx_new ();
    assert (names);
    zlistx_set_destructor (names, (zlistx_destructor_fn *) zstr_free);
    struct dirent *entry;
    while ((entry = readdir (handle))) {
        size_t len = strlen (entry->d_name);
        if (len > 5 && strcmp (entry->d_name + len - 5, ".cert") == 0)
            zlistx_add_end (names, strdup (entry->d_name));
    }
    closedir (handle);

    size_t count = zlistx_size (names);
    char **sorted = (char **) calloc (count + 1, sizeof (char *));
    assert (sorted);
    size_t i = 0;
    for (char *name = (char *) zlistx_first (names); name; name = (char *) zlistx_next (names))
        sorted [i++] = name;
    qsort (sorted, count, sizeof (char *), s_compare_names);

    stx_status_t status = STX_OK;
    for (i = 0; i < count && status == STX_OK; i++) {
        char path [PATH_MAX];
        if (snprintf (path, sizeof (path), "%s/%s", dir, sorted [i]) >= (int) sizeof (path)) {
            status = stx_fail (err, errlen, STX_ERR_IO, "%.200s: path too long", dir);
            break;
        }
        struct stat st;
        if (stat (path, &st) != 0 || !S_ISREG (st.st_mode))
            continue;               //  a subfolder or a dangling link
        s_key_t *key;
        status = s_load_cert (path, retired, &key, err, errlen);
        if (status == STX_ERR_MALFORMED && skipped) {
            zlistx_add_end (skipped, strdup (err && errlen? err: path));
            status = STX_OK;
            continue;
        }
        if (status == STX_OK) {
            if (self->size == self->capacity) {
                self->capacity = self->capacity? self->capacity * 2: 16;
                self->keys = (s_key_t **) realloc (self->keys,
                                                   self->capacity * sizeof (s_key_t *));
                assert (self->keys);
            }
            key->index = self->size;
            self->keys [self->size++] = key;
        }
    }
    free (sorted);
    zlistx_destroy (&names);
    return status;
}

static int
s_compare_curve (const void *a, const void *b)
{
    return strcmp ((*(s_key_t * const *) a)->curve, (*(s_key_t * const *) b)->curve);
}

static int
s_compare_sign (const void *a, const void *b)
{
    return memcmp ((*(s_key_t * const *) a)->key.sign_key,
                   (*(s_key_t * const *) b)->key.sign_key, STX_SIGN_PUBLIC_SIZE);
}

//  Sort the lookup arrays; refuse a key registered twice, naming the file
//  loaded later and the one it repeats.
static stx_status_t
s_index (stx_registry_t *self, char *err, size_t errlen)
{
    size_t bytes = (self->size? self->size: 1) * sizeof (s_key_t *);
    self->by_curve = (s_key_t **) malloc (bytes);
    self->by_sign = (s_key_t **) malloc (bytes);
    assert (self->by_curve && self->by_sign);
    if (self->size) {
        memcpy (self->by_curve, self->keys, self->size * sizeof (s_key_t *));
        memcpy (self->by_sign, self->keys, self->size * sizeof (s_key_t *));
    }
    qsort (self->by_curve, self->size, sizeof (s_key_t *), s_compare_curve);
    qsort (self->by_sign, self->size, sizeof (s_key_t *), s_compare_sign);
    //  CURVE keys first: they are what authenticates
    for (int pass = 0; pass < 2; pass++) {
        s_key_t **sorted = pass == 0? self->by_curve: self->by_sign;
        int (*compare) (const void *, const void *) = pass == 0? s_compare_curve: s_compare_sign;
        for (size_t i = 1; i < self->size; i++) {
            if (compare (&sorted [i - 1], &sorted [i]) != 0)
                continue;
            s_key_t *later = sorted [i - 1]->index > sorted [i]->index? sorted [i - 1]: sorted [i];
            s_key_t *first = later == sorted [i - 1]? sorted [i]: sorted [i - 1];
            return stx_fail (err, errlen, STX_ERR_MALFORMED, "%.200s: same %s as %.200s",
                             later->key.file, pass == 0? "CURVE key": "sign-key",
                             first->key.file);
        }
    }
    return STX_OK;
}


//  --------------------------------------------------------------------------
//  Load a registry

stx_status_t
stx_registry_load (const char *dir, const char *retired_dir, stx_registry_t **self_p,
                   char *err, size_t errlen)
{
    assert (dir);
    assert (self_p);
    *self_p = NULL;
    s_sodium_init ();
    stx_registry_t *self = (stx_registry_t *) zmalloc (sizeof (stx_registry_t));
    assert (self);
    stx_status_t status = s_load_dir (self, dir, false, NULL, err, errlen);
    if (status == STX_OK && retired_dir)
        status = s_load_dir (self, retired_dir, true, NULL, err, errlen);
    if (status == STX_OK)
        status = s_index (self, err, errlen);
    if (status != STX_OK)
        stx_registry_destroy (&self);
    *self_p = self;
    return status;
}

//  Leave out every key whose CURVE or sign key an earlier loaded key has
//  (the first one wins), recording "file: same ... as file" in skipped.
static void
s_drop_duplicates (stx_registry_t *self, zlistx_t *skipped)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->size; i++) {
        s_key_t *key = self->keys [i];
        s_key_t *first = NULL;
        for (size_t j = 0; j < kept && !first; j++)
            if (streq (self->keys [j]->curve, key->curve)
            ||  memcmp (self->keys [j]->key.sign_key, key->key.sign_key,
                        STX_SIGN_PUBLIC_SIZE) == 0)
                first = self->keys [j];
        if (first) {
            char *line = zsys_sprintf ("%.200s: same key as %.200s", key->key.file,
                                       first->key.file);
            assert (line);
            zlistx_add_end (skipped, strdup (line));
            zstr_free (&line);
            s_key_destroy (&key);
        }
        else {
            key->index = kept;
            self->keys [kept++] = key;
        }
    }
    self->size = kept;
}

stx_status_t
stx_registry_load_lenient (const char *dir, const char *retired_dir, stx_registry_t **self_p,
                           zlistx_t *skipped, char *err, size_t errlen)
{
    assert (dir);
    assert (self_p);
    assert (skipped);
    *self_p = NULL;
    s_sodium_init ();
    stx_registry_t *self = (stx_registry_t *) zmalloc (sizeof (stx_registry_t));
    assert (self);
    char why [STX_ERRLEN] = "";
    stx_status_t status = s_load_dir (self, dir, false, skipped, why, sizeof (why));
    if (status == STX_OK && retired_dir)
        status = s_load_dir (self, retired_dir, true, skipped, why, sizeof (why));
    if (status == STX_OK) {
        s_drop_duplicates (self, skipped);
        status = s_index (self, why, sizeof (why));
    }
    if (status != STX_OK) {
        stx_fail (err, errlen, status, "%s", why);
        stx_registry_destroy (&self);
    }
    *self_p = self;
    return status;
}


//  --------------------------------------------------------------------------
//  Destroy a registry

void
stx_registry_destroy (stx_registry_t **self_p)
{
    assert (self_p);
    stx_registry_t *self = *self_p;
    if (self) {
        for (size_t i = 0; i < self->size; i++)
            s_key_destroy (&self->keys [i]);
        free (self->keys);
        free (self->by_curve);
        free (self->by_sign);
        free (self);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Lookups

static int
s_find_curve (const void *key, const void *elem)
{
    return strcmp ((const char *) key, (*(s_key_t * const *) elem)->curve);
}

static int
s_find_sign (const void *key, const void *elem)
{
    return memcmp (key, (*(s_key_t * const *) elem)->key.sign_key, STX_SIGN_PUBLIC_SIZE);
}

const stx_key_t *
stx_registry_by_curve (const stx_registry_t *self, const char *curve_z85)
{
    assert (self);
    if (!curve_z85 || !self->size)
        return NULL;
    s_key_t **found = (s_key_t **) bsearch (curve_z85, self->by_curve, self->size,
                                            sizeof (s_key_t *), s_find_curve);
    return found? &(*found)->key: NULL;
}

const stx_key_t *
stx_registry_by_sign (const stx_registry_t *self, const uint8_t sign_key [STX_SIGN_PUBLIC_SIZE])
{
    assert (self);
    if (!sign_key || !self->size)
        return NULL;
    s_key_t **found = (s_key_t **) bsearch (sign_key, self->by_sign, self->size,
                                            sizeof (s_key_t *), s_find_sign);
    return found? &(*found)->key: NULL;
}

size_t
stx_registry_size (const stx_registry_t *self)
{
    assert (self);
    return self->size;
}

const stx_key_t *
stx_registry_key (const stx_registry_t *self, size_t index)
{
    assert (self);
    return index < self->size? &self->keys [index]->key: NULL;
}

stx_principal_t
stx_key_principal (const stx_key_t *key)
{
    assert (key);
    stx_principal_t principal = { key->org, key->pillar, key->roles };
    return principal;
}
