/*  =========================================================================
    stx_taxonomy - the STEM-Agenda 2030 taxonomy and the catalogue's
    controlled vocabularies

    DESIGN
    One table per vocabulary: an array of the member strings in file order
    (for stx_taxonomy_at) and a czmq zhashx from member to its 1-based
    position (for stx_taxonomy_has, the hot path of validation). The goal
    tree adds one more hash, from any goal code (SD, TD or OD) to an
    s_goal_t holding its English title and its parent's code.

    Ownership: the arrays own the member strings; the hashes duplicate their
    keys (zhashx default) and hold positions or s_goal_t, which the goal
    hash destroys. A goal's parent points into the parent vocabulary's
    array, so it lives as long as the taxonomy.

    Threads: nothing is written after stx_taxonomy_load returns, and
    zhashx_lookup does not modify the hash, so an instance may be shared
    by readers on any number of threads.

    Loading is strict: a missing array, a member that is not a non-empty
    string, or a duplicate member is reported as STX_ERR_MALFORMED with the
    file and the JSON path, so a broken deployment fails at start-up rather
    than at the first entry.
    ========================================================================= */

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include <jansson.h>
#include "stx_taxonomy.h"

#define S_AGENDA_FILE   "stem-agenda-2030.json"
#define S_VOCAB_FILE    "vocabularies.json"

//  A goal of the tree, reached through self->goals.
typedef struct {
    char *title;                //  title_en, owned
    const char *parent;         //  parent's code, owned by its vocabulary; NULL for an SD
} s_goal_t;

//  One vocabulary: members in file order, and a hash for lookups.
typedef struct {
    char **items;               //  owned strings, in file order
    size_t count;
    size_t alloc;
    zhashx_t *index;            //  member -> (void *) (position + 1)
} s_vocab_t;

struct _stx_taxonomy_t {
    s_vocab_t vocab [STX_VOCAB_COUNT];
    zhashx_t *goals;            //  code -> s_goal_t *
};

//  A load in progress: the taxonomy plus the file being read, for errors.
typedef struct {
    stx_taxonomy_t *self;
    const char *file;           //  path of the file being read
    char *err;
    size_t errlen;
} s_loader_t;


static void
s_goal_destroy (void **item_p)
{
    s_goal_t *goal = (s_goal_t *) *item_p;
    if (goal) {
        free (goal->title);
        free (goal);
        *item_p = NULL;
    }
}

//  Append value to vocabulary vocab and set *stored_p to the stored copy;
//  STX_ERR_MALFORMED for a duplicate, STX_ERR_NOMEM.
static stx_status_t
s_vocab_add (s_loader_t *loader, stx_vocab_t vocab, const char *value,
             const char *path, const char **stored_p)
{
    s_vocab_t *v = &loader->self->vocab [vocab];
    if (zhashx_lookup (v->index, value))
        return stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                         "%s: %s: duplicate %s '%s'", loader->file, path,
                         stx_vocab_name (vocab), value);
    if (v->count == v->alloc) {
        size_t alloc = v->alloc? v->alloc * 2: 16;
        char **items = (char **) realloc (v->items, alloc * sizeof (char *));
        if (!items)
            return stx_fail (loader->err, loader->errlen, STX_ERR_NOMEM, "out of memory");
        v->items = items;
        v->alloc = alloc;
    }
    char *copy = strdup (value);
    if (!copy)
        return stx_fail (loader->err, loader->errlen, STX_ERR_NOMEM, "out of memory");
    v->items [v->count++] = copy;
    zhashx_insert (v->index, copy, (void *) (uintptr_t) v->count);
    if (stored_p)
        *stored_p = copy;
    return STX_OK;
}

//  Get member name of object as an array; refuses anything else.
static stx_status_t
s_get_array (s_loader_t *loader, json_t *object, const char *name,
             const char *path, json_t **array_p)
{
    json_t *array = json_object_get (object, name);
    if (!json_is_array (array))
        return stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                         "%s: %s%s%s: expected an array", loader->file,
                         path, *path? ".": "", name);
    *array_p = array;
    return STX_OK;
}

//  Get member name of object as a non-empty string.
static stx_status_t
s_get_string (s_loader_t *loader, json_t *object, const char *name,
              const char *path, const char **value_p)
{
    json_t *value = json_object_get (object, name);
    if (!json_is_string (value) || json_string_length (value) == 0)
        return stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                         "%s: %s.%s: expected a non-empty string",
                         loader->file, path, name);
    *value_p = json_string_value (value);
    return STX_OK;
}

//  Add one goal (SD, TD or OD) from a goal object at path.
static stx_status_t
s_add_goal (s_loader_t *loader, stx_vocab_t vocab, json_t *object,
            const char *path, const char *parent, const char **code_p)
{
    if (!json_is_object (object))
        return stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                         "%s: %s: expected an object", loader->file, path);
    const char *code = NULL, *title = NULL;
    stx_status_t rc = s_get_string (loader, object, "code", path, &code);
    if (rc == STX_OK)
        rc = s_get_string (loader, object, "title_en", path, &title);
    if (rc != STX_OK)
        return rc;
    if (zhashx_lookup (loader->self->goals, code))
        return stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                         "%s: %s.code: duplicate goal code '%s'",
                         loader->file, path, code);
    const char *stored;
    rc = s_vocab_add (loader, vocab, code, path, &stored);
    if (rc != STX_OK)
        return rc;
    s_goal_t *goal = (s_goal_t *) calloc (1, sizeof (s_goal_t));
    if (goal)
        goal->title = strdup (title);
    if (!goal || !goal->title) {
        free (goal);
        return stx_fail (loader->err, loader->errlen, STX_ERR_NOMEM, "out of memory");
    }
    goal->parent = parent;
    zhashx_insert (loader->self->goals, stored, goal);
    *code_p = stored;
    return STX_OK;
}

//  Walk strategic_goals[].tactical_goals[].operational_goals[].
static stx_status_t
s_load_goals (s_loader_t *loader, json_t *root)
{
    json_t *sds = NULL;
    stx_status_t rc = s_get_array (loader, root, "strategic_goals", "", &sds);
    char path [128];
    for (size_t i = 0; rc == STX_OK && i < json_array_size (sds); i++) {
        json_t *sd = json_array_get (sds, i);
        const char *sd_code = NULL;
        snprintf (path, sizeof (path), "strategic_goals[%zu]", i);
        rc = s_add_goal (loader, STX_VOCAB_SD, sd, path, NULL, &sd_code);
        json_t *tds = NULL;
        if (rc == STX_OK)
            rc = s_get_array (loader, sd, "tactical_goals", path, &tds);
        for (size_t j = 0; rc == STX_OK && j < json_array_size (tds); j++) {
            json_t *td = json_array_get (tds, j);
            const char *td_code = NULL;
            snprintf (path, sizeof (path), "strategic_goals[%zu].tactical_goals[%zu]", i, j);
            rc = s_add_goal (loader, STX_VOCAB_TD, td, path, sd_code, &td_code);
            json_t *ods = NULL;
            if (rc == STX_OK)
                rc = s_get_array (loader, td, "operational_goals", path, &ods);
            for (size_t k = 0; rc == STX_OK && k < json_array_size (ods); k++) {
                const char *od_code = NULL;
                snprintf (path, sizeof (path),
                          "strategic_goals[%zu].tactical_goals[%zu].operational_goals[%zu]",
                          i, j, k);
                rc = s_add_goal (loader, STX_VOCAB_OD, json_array_get (ods, k),
                                 path, td_code, &od_code);
            }
        }
    }
    return rc;
}

//  Load name[] of root, either an array of strings (strings = true) or an
//  array of objects with an "id" string.
static stx_status_t
s_load_list (s_loader_t *loader, json_t *root, const char *name,
             stx_vocab_t vocab, bool strings)
{
    json_t *array = NULL;
    stx_status_t rc = s_get_array (loader, root, name, "", &array);
    char path [128];
    for (size_t i = 0; rc == STX_OK && i < json_array_size (array); i++) {
        json_t *item = json_array_get (array, i);
        const char *value = NULL;
        snprintf (path, sizeof (path), "%s[%zu]", name, i);
        if (strings) {
            if (json_is_string (item) && json_string_length (item) > 0)
                value = json_string_value (item);
            else
                rc = stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                               "%s: %s: expected a non-empty string",
                               loader->file, path);
        }
        else
        if (json_is_object (item))
            rc = s_get_string (loader, item, "id", path, &value);
        else
            rc = stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                           "%s: %s: expected an object", loader->file, path);
        if (rc == STX_OK)
            rc = s_vocab_add (loader, vocab, value, path, NULL);
    }
    return rc;
}

//  Parse one file under dir; on failure err names the file and reason.
static stx_status_t
s_load_file (s_loader_t *loader, const char *dir, const char *name,
             char *path, size_t pathlen, json_t **root_p)
{
    snprintf (path, pathlen, "%s/%s", dir, name);
    loader->file = path;
    json_error_t error;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        if (json_error_code (&error) == json_error_cannot_open_file)
            return stx_fail (loader->err, loader->errlen, STX_ERR_IO,
                             "%s: %s", path, error.text);
        return stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                         "%s: line %d: %s", path, error.line, error.text);
    }
    if (!json_is_object (root)) {
        json_decref (root);
        return stx_fail (loader->err, loader->errlen, STX_ERR_MALFORMED,
                         "%s: expected a JSON object", path);
    }
    *root_p = root;
    return STX_OK;
}

stx_status_t
stx_taxonomy_load (const char *dir, stx_taxonomy_t **self_p, char *err, size_t errlen)
{
    assert (dir);
    assert (self_p);
    *self_p = NULL;
    stx_taxonomy_t *self = (stx_taxonomy_t *) calloc (1, sizeof (stx_taxonomy_t));
    if (!self)
        return stx_fail (err, errlen, STX_ERR_NOMEM, "out of memory");
    self->goals = zhashx_new ();
    assert (self->goals);
    zhashx_set_destructor (self->goals, s_goal_destroy);
    for (int vocab = 0; vocab < STX_VOCAB_COUNT; vocab++) {
        self->vocab [vocab].index = zhashx_new ();
        assert (self->vocab [vocab].index);
    }
    s_loader_t loader = { self, NULL, err, errlen };
    char path [PATH_MAX + 64];
    json_t *root = NULL;

    stx_status_t rc = s_load_file (&loader, dir, S_AGENDA_FILE, path, sizeof (path), &root);
    if (rc == STX_OK)
        rc = s_load_goals (&loader, root);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "helix_pillars", STX_VOCAB_PILLAR, false);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "themes", STX_VOCAB_THEME, false);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "target_groups", STX_VOCAB_TARGET_GROUP, false);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "education_and_training_settings",
                          STX_VOCAB_SETTING, false);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "network_moment_kinds", STX_VOCAB_MOMENT_KIND, false);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "infrastructure_opening_kinds",
                          STX_VOCAB_INFRA_KIND, false);
    json_decref (root);
    root = NULL;

    if (rc == STX_OK)
        rc = s_load_file (&loader, dir, S_VOCAB_FILE, path, sizeof (path), &root);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "region", STX_VOCAB_REGION, true);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "initiative_status", STX_VOCAB_STATUS, true);
    if (rc == STX_OK)
        rc = s_load_list (&loader, root, "organisation_kind", STX_VOCAB_ORG_KIND, true);
    json_decref (root);

    if (rc != STX_OK)
        stx_taxonomy_destroy (&self);
    *self_p = self;
    return rc;
}

void
stx_taxonomy_destroy (stx_taxonomy_t **self_p)
{
    assert (self_p);
    stx_taxonomy_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->goals);
        for (int vocab = 0; vocab < STX_VOCAB_COUNT; vocab++) {
            s_vocab_t *v = &self->vocab [vocab];
            zhashx_destroy (&v->index);
            for (size_t i = 0; i < v->count; i++)
                free (v->items [i]);
            free (v->items);
        }
        free (self);
        *self_p = NULL;
    }
}

bool
stx_taxonomy_has (const stx_taxonomy_t *self, stx_vocab_t vocab, const char *value)
{
    assert (self);
    if ((unsigned) vocab >= STX_VOCAB_COUNT || !value)
        return false;
    return zhashx_lookup (self->vocab [vocab].index, value) != NULL;
}

size_t
stx_taxonomy_count (const stx_taxonomy_t *self, stx_vocab_t vocab)
{
    assert (self);
    if ((unsigned) vocab >= STX_VOCAB_COUNT)
        return 0;
    return self->vocab [vocab].count;
}

const char *
stx_taxonomy_at (const stx_taxonomy_t *self, stx_vocab_t vocab, size_t index)
{
    assert (self);
    if ((unsigned) vocab >= STX_VOCAB_COUNT || index >= self->vocab [vocab].count)
        return NULL;
    return self->vocab [vocab].items [index];
}

const char *
stx_taxonomy_parent (const stx_taxonomy_t *self, const char *code)
{
    assert (self);
    if (!code)
        return NULL;
    s_goal_t *goal = (s_goal_t *) zhashx_lookup (self->goals, code);
    return goal? goal->parent: NULL;
}

const char *
stx_taxonomy_title (const stx_taxonomy_t *self, const char *code)
{
    assert (self);
    if (!code)
        return NULL;
    s_goal_t *goal = (s_goal_t *) zhashx_lookup (self->goals, code);
    return goal? goal->title: NULL;
}

const char *
stx_vocab_name (stx_vocab_t vocab)
{
    switch (vocab) {
        case STX_VOCAB_OD:           return "OD code";
        case STX_VOCAB_TD:           return "TD code";
        case STX_VOCAB_SD:           return "SD code";
        case STX_VOCAB_PILLAR:       return "helix pillar";
        case STX_VOCAB_THEME:        return "theme";
        case STX_VOCAB_TARGET_GROUP: return "target group";
        case STX_VOCAB_SETTING:      return "education setting";
        case STX_VOCAB_REGION:       return "region";
        case STX_VOCAB_STATUS:       return "initiative status";
        case STX_VOCAB_ORG_KIND:     return "organisation kind";
        case STX_VOCAB_INFRA_KIND:   return "infrastructure kind";
        case STX_VOCAB_MOMENT_KIND:  return "moment kind";
        case STX_VOCAB_COUNT:        break;
    }
    return "vocabulary";
}
