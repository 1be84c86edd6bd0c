/*  =========================================================================
    stx_cmd_keygen - `stemx keygen`

    An organisation's key pair, or the broker's own (lib/stx_keys).
    ========================================================================= */

#include "stx_sign.h"
#include "stx_cli.h"

//  --------------------------------------------------------------------------
//  keygen ORG | --broker

int
stx_cli_cmd_keygen (options_t *options, int argc, char **argv)
{
    const char *command = "keygen";
    if (options->broker == (argc == 1))
        return stx_cli_usage_error (command, "give either an organisation or --broker");
    if (!options->broker && !options->pillar)
        return stx_cli_usage_error (command, "--pillar is required for an organisation's key");
    if (options->broker && (options->pillar || options->roles))
        return stx_cli_usage_error (command, "the broker's key takes no --pillar or --roles");
    const char *dir = options->out? options->out: ".";
    char path [PATH_MAX], err [STX_ERRLEN] = "";
    stx_status_t rc = options->broker
        ? stx_identity_generate (dir, "broker", "", "", "", path, sizeof path, err, sizeof err)
        : stx_identity_generate (dir, NULL, argv [0], options->pillar,
                                 options->roles? options->roles: "publisher, reader",
                                 path, sizeof path, err, sizeof err);
    if (rc == STX_ERR_INVALID)
        return stx_cli_usage_error (command, "%s", err);
    if (rc != STX_OK)
        return stx_cli_fail (EXIT_REFUSED, "%s", *err? err: stx_strerror (rc));
    if (options->json) {
        json_t *json = json_pack ("{s:s, s:s+}", "public", path, "secret", path, "_secret");
        stx_cli_print_json (json);
        json_decref (json);
    }
    else
        printf ("public key  %s\nsecret key  %s_secret  (keep it private: mode 0600)\n",
                path, path);
    return 0;
}
