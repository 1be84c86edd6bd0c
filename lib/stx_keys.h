/*  =========================================================================
    stx_keys - organisations' key pairs, and the registry of public keys

    One secret per organisation serves both jobs: an Ed25519 signing key,
    from which the CURVE (X25519) key pair of its ZeroMQ connections is
    derived (libsodium crypto_sign_ed25519_{pk,sk}_to_curve25519). So a
    registered CURVE key and a signing key can never belong to different
    organisations.

    Files are czmq zcert files (ZPL):
      NAME.cert         public: curve public key, and metadata
                            org      = org:<slug>
                            pillar   = government | knowledge | industry | civil_society
                            roles    = publisher, reader | admin, ...
                            sign-key = Z85 of the Ed25519 public key
                            created  = ISO-8601 UTC
      NAME.cert_secret  the same plus the secret keys (mode 0600); the
                        curve secret key, and metadata sign-secret = Z85
                        of the 64-byte Ed25519 secret key

    A registry is a folder of public cert files (subfolders ignored). The
    broker authenticates with its active registry folder; a second folder
    of retired keys is used only to verify old signatures (rotation).
    Agents keep copies of the same folders as their trust store. A loaded
    registry never changes: lookups may be made from several threads.
    ========================================================================= */

#ifndef STX_KEYS_H_INCLUDED
#define STX_KEYS_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include "stx_error.h"
#include "stx_policy.h"

#define STX_SIGN_PUBLIC_SIZE 32
#define STX_SIGN_SECRET_SIZE 64
#define STX_SIGNATURE_SIZE   64

typedef struct _stx_identity_t stx_identity_t;
typedef struct _stx_registry_t stx_registry_t;

//  One registered key, as the registry holds it.
typedef struct {
    const char *org;                    //  "org:<slug>"
    const char *pillar;
    unsigned roles;                     //  STX_ROLE_* bits
    const char *curve_key;              //  Z85 CURVE public key (40 chars)
    uint8_t sign_key [STX_SIGN_PUBLIC_SIZE];
    bool retired;                       //  from the retired folder: verifies, never authenticates
    const char *file;                   //  the cert file it came from
} stx_key_t;

//  Generate a new identity for org and save it as DIR/NAME.cert and
//  DIR/NAME.cert_secret, NAME being the org's slug (org:vdab -> vdab) or,
//  when name is not NULL, name. roles is a list for stx_policy_roles;
//  pillar may be "" (a broker's own key), and so may org when name is
//  given: stx_identity_generate (dir, "broker", "", "", "", ...) makes a
//  broker's key, which no registry accepts. Creates dir if needed. Refuses
//  to overwrite existing files (STX_ERR_IO). On success writes the public
//  file's path into path (path_size bytes) unless path is NULL. Errors:
//  STX_ERR_INVALID (bad org, pillar, roles or name, or path_size too
//  small), STX_ERR_IO; err says which.
stx_status_t
    stx_identity_generate (const char *dir, const char *name, const char *org,
                           const char *pillar, const char *roles,
                           char *path, size_t path_size, char *err, size_t errlen);

//  Load an identity from a secret cert file. Checks that the curve key
//  derives from the signing key. Caller owns *self_p. Errors:
//  STX_ERR_NOT_FOUND, STX_ERR_MALFORMED (not a stemx secret cert), with
//  err naming the file.
stx_status_t
    stx_identity_load (const char *path, stx_identity_t **self_p, char *err, size_t errlen);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_identity_destroy (stx_identity_t **self_p);

//  The identity's organisation ("org:x"; "" for a broker key). Owned by
//  the identity.
const char *
    stx_identity_org (const stx_identity_t *self);

//  The zcert (curve key pair) to apply to a socket. Owned by the
//  identity; valid until it is destroyed.
zcert_t *
    stx_identity_cert (const stx_identity_t *self);

//  The Ed25519 secret key (64 bytes) and public key (32 bytes). Owned by
//  the identity.
const uint8_t *
    stx_identity_sign_secret (const stx_identity_t *self);
const uint8_t *
    stx_identity_sign_public (const stx_identity_t *self);

//  Load every public cert in dir as an active key and, when retired_dir is
//  not NULL, every one in retired_dir as retired. A public cert is a
//  regular file NAME.cert directly in the folder (NAME.cert_secret and
//  subfolders are ignored). A cert whose curve key does not derive from
//  its sign-key, without org (a broker's key) or with an org that is not
//  org:<slug>, without roles or with unknown ones, with an unknown pillar
//  (or none, unless it has the admin role), holding secret keys, or whose
//  CURVE or sign key another cert (active or retired) already has, is
//  refused: STX_ERR_MALFORMED naming the file (a registry is all or
//  nothing, so a typo never silently locks a partner out or lets one in).
//  A folder that cannot be read: STX_ERR_IO naming it. Caller owns
//  *self_p (NULL on error).
stx_status_t
    stx_registry_load (const char *dir, const char *retired_dir, stx_registry_t **self_p,
                       char *err, size_t errlen);

//  Like stx_registry_load, but a bad cert (any reason stx_registry_load
//  refuses one for) or a key another cert loaded earlier (active before
//  retired, each folder in file-name order) already has is left out
//  instead of failing the whole load: one line "FILE: why" per file left
//  out is added to skipped (a zlistx of strings the caller made with
//  zstr_free as destructor; caller owns it). For the broker's reload
//  (SIGHUP), so one bad file does not keep a removed key working. Errors:
//  STX_ERR_IO (a folder cannot be read), err naming it; caller owns
//  *self_p (NULL on error).
stx_status_t
    stx_registry_load_lenient (const char *dir, const char *retired_dir,
                               stx_registry_t **self_p, zlistx_t *skipped,
                               char *err, size_t errlen);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_registry_destroy (stx_registry_t **self_p);

//  The key with this Z85 CURVE public key (active or retired), or NULL.
//  Owned by the registry; valid until it is destroyed.
const stx_key_t *
    stx_registry_by_curve (const stx_registry_t *self, const char *curve_z85);

//  The key with this Ed25519 public key (active or retired), or NULL.
const stx_key_t *
    stx_registry_by_sign (const stx_registry_t *self, const uint8_t sign_key [STX_SIGN_PUBLIC_SIZE]);

//  Number of keys (active and retired).
size_t
    stx_registry_size (const stx_registry_t *self);

//  The key at index (0 .. size - 1): the active keys in file-name order,
//  then the retired ones; NULL past the end. For building a zcertstore or
//  listing keys. Owned by the registry; valid until it is destroyed.
const stx_key_t *
    stx_registry_key (const stx_registry_t *self, size_t index);

//  The principal for key (borrowed strings; valid while the registry is).
stx_principal_t
    stx_key_principal (const stx_key_t *key);

#endif
