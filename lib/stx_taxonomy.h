/*  =========================================================================
    stx_taxonomy - the STEM-Agenda 2030 taxonomy and the catalogue's
    controlled vocabularies

    Loaded from two JSON files in one folder (config/ in the source tree,
    installed beside the daemons' configs):
      stem-agenda-2030.json   goal tree SD > TD > OD, helix pillars, themes,
                              target groups, education and training settings,
                              network-moment and infrastructure-opening kinds;
      vocabularies.json       regions, initiative statuses, organisation
                              kinds (the catalogue's own vocabularies).
    An instance is read-only after load and may be shared between threads.
    ========================================================================= */

#ifndef STX_TAXONOMY_H_INCLUDED
#define STX_TAXONOMY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "stx_error.h"

typedef struct _stx_taxonomy_t stx_taxonomy_t;

//  The vocabularies a value can be checked against.
typedef enum {
    STX_VOCAB_OD,               //  "OD 1.1.1"
    STX_VOCAB_TD,               //  "TD 1.1"
    STX_VOCAB_SD,               //  "SD1"
    STX_VOCAB_PILLAR,           //  government | knowledge | industry | civil_society
    STX_VOCAB_THEME,            //  e.g. digitalisation
    STX_VOCAB_TARGET_GROUP,     //  e.g. pupils
    STX_VOCAB_SETTING,          //  education and training setting, e.g. secondary_tso
    STX_VOCAB_REGION,           //  flanders or a province slug
    STX_VOCAB_STATUS,           //  initiative status
    STX_VOCAB_ORG_KIND,         //  organisation kind, e.g. agency
    STX_VOCAB_INFRA_KIND,       //  government_entity | research_institution | private_sector
    STX_VOCAB_MOMENT_KIND,      //  network_moment | state_of_the_stem
    STX_VOCAB_COUNT
} stx_vocab_t;

//  Load the taxonomy from the two files in dir. Returns STX_OK and sets
//  *self_p, which the caller owns and must destroy; or STX_ERR_IO /
//  STX_ERR_MALFORMED with the file and reason in err.
stx_status_t
    stx_taxonomy_load (const char *dir, stx_taxonomy_t **self_p, char *err, size_t errlen);

//  Destroy a taxonomy; accepts NULL and sets *self_p to NULL.
void
    stx_taxonomy_destroy (stx_taxonomy_t **self_p);

//  True if value is a member of vocabulary vocab (exact, case-sensitive).
bool
    stx_taxonomy_has (const stx_taxonomy_t *self, stx_vocab_t vocab, const char *value);

//  Number of members of vocab, and the member at index (in file order).
//  The string is owned by the taxonomy; valid until it is destroyed.
size_t
    stx_taxonomy_count (const stx_taxonomy_t *self, stx_vocab_t vocab);
const char *
    stx_taxonomy_at (const stx_taxonomy_t *self, stx_vocab_t vocab, size_t index);

//  Parent of an OD (its TD) or of a TD (its SD); NULL for an unknown code
//  or an SD. Owned by the taxonomy.
const char *
    stx_taxonomy_parent (const stx_taxonomy_t *self, const char *code);

//  English title of a goal code (SD, TD or OD); NULL if unknown. Owned by
//  the taxonomy.
const char *
    stx_taxonomy_title (const stx_taxonomy_t *self, const char *code);

//  Short name of a vocabulary, for messages ("OD code", "helix pillar", ...).
const char *
    stx_vocab_name (stx_vocab_t vocab);

#endif
