/*  =========================================================================
    stx_report_json - the operational report as JSON

    Written from the model directly (jansson), members in a fixed order.
    ========================================================================= */

#define _GNU_SOURCE
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "stx_report.h"
#include "stx_index.h"
#include "stx_kind.h"
#include "stx_validate.h"
#include "stx_report_parts.h"

//  --------------------------------------------------------------------------
//  JSON

static json_t *
s_json_list (char **items, size_t count)
{
    json_t *array = json_array ();
    for (size_t i = 0; i < count; i++)
        json_array_append_new (array, json_string (items [i]));
    return array;
}

static json_t *
s_json_pillars (const size_t counts [STX_PILLARS])
{
    json_t *object = json_object ();
    for (int p = 0; p < STX_PILLARS; p++)
        json_object_set_new (object, stx_rpt_pillar_ids [p], json_integer ((json_int_t) counts [p]));
    return object;
}

static json_t *
s_json_capacity (const stx_report_capacity_t *cap)
{
    return json_pack ("{s:I, s:I, s:I, s:I}",
                      "openings", (json_int_t) cap->openings,
                      "seats_per_session", (json_int_t) cap->seats_per_session,
                      "sessions_per_month", (json_int_t) cap->sessions_per_month,
                      "seats_per_month", (json_int_t) cap->seats_per_month);
}

static json_t *
s_json_pillar (int pillar)
{
    return pillar >= 0? json_string (stx_rpt_pillar_ids [pillar]): json_null ();
}

json_t *
stx_rpt_operational_json (const stx_report_t *self)
{
    json_t *root = json_object ();
    json_object_set_new (root, "report", json_string ("operational"));
    json_object_set_new (root, "from", json_string (self->from));
    json_object_set_new (root, "to", json_string (self->to));
    json_object_set_new (root, "as_of_seq", json_integer ((json_int_t) self->seq));
    json_object_set_new (root, "summary", json_pack ("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
        "actions", (json_int_t) self->n_actions,
        "ods", (json_int_t) self->ods,
        "ods_covered", (json_int_t) self->ods_covered,
        "gaps", (json_int_t) (self->ods - self->ods_covered),
        "openings", (json_int_t) self->n_openings,
        "seats_per_month", (json_int_t) self->infra_total.seats_per_month,
        "moments", (json_int_t) self->n_moments,
        "state_of_the_stem", (json_int_t) self->moments_state_of_the_stem));

    json_t *goals = json_array ();
    json_t *gaps = json_array ();
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        json_t *item = json_object ();
        json_object_set_new (item, "code", json_string (goal->code));
        json_object_set_new (item, "parent", *goal->parent? json_string (goal->parent)
                                                          : json_null ());
        json_object_set_new (item, "level", json_string (goal->level == 0? "SD":
                                                         goal->level == 1? "TD": "OD"));
        json_object_set_new (item, "title", json_string (goal->title));
        json_object_set_new (item, "actions", json_integer ((json_int_t) goal->actions));
        json_object_set_new (item, "lead", s_json_pillars (goal->lead));
        json_object_set_new (item, "involved", s_json_pillars (goal->involved));
        json_object_set_new (item, "ods", json_integer ((json_int_t) goal->ods));
        json_object_set_new (item, "ods_covered", json_integer ((json_int_t) goal->ods_covered));
        json_object_set_new (item, "openings", json_integer ((json_int_t) goal->openings));
        json_object_set_new (item, "moments", json_integer ((json_int_t) goal->moments));
        json_array_append_new (goals, item);
        if (goal->level == 2 && goal->actions == 0)
            json_array_append_new (gaps, json_string (goal->code));
    }
    json_object_set_new (root, "goals", goals);
    json_object_set_new (root, "gaps", gaps);

    json_t *pillars = json_object ();
    for (int p = 0; p < STX_PILLARS; p++)
        json_object_set_new (pillars, stx_rpt_pillar_ids [p], json_pack ("{s:I, s:I}",
            "lead", (json_int_t) self->lead [p], "involved", (json_int_t) self->involved [p]));
    json_object_set_new (root, "pillars", pillars);
    json_t *histogram = json_object ();
    for (int n = 0; n <= STX_PILLARS; n++) {
        char key [4];
        snprintf (key, sizeof (key), "%d", n);
        json_object_set_new (histogram, key, json_integer ((json_int_t) self->by_pillar_count [n]));
    }
    json_object_set_new (root, "pillars_involved", histogram);

    json_t *infra = json_array ();
    for (size_t i = 0; i < self->n_infra; i++) {
        const stx_report_infra_t *row = &self->infra [i];
        json_t *by_pillar = json_object ();
        for (int p = 0; p < STX_PILLARS; p++)
            json_object_set_new (by_pillar, stx_rpt_pillar_ids [p],
                                 s_json_capacity (&row->by_pillar [p]));
        json_array_append_new (infra, json_pack ("{s:s, s:s, s:o, s:o}",
            "od", row->od_code, "title", row->title, "by_pillar", by_pillar,
            "total", s_json_capacity (&row->total)));
    }
    json_t *openings = json_array ();
    for (size_t i = 0; i < self->n_openings; i++) {
        const stx_report_opening_t *o = &self->openings [i];
        json_array_append_new (openings, json_pack (
            "{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:I, s:I, s:I}",
            "key", o->key, "facility", o->facility, "provider", o->provider,
            "pillar", s_json_pillar (o->pillar), "od", o->od_code,
            "municipality", o->municipality, "start", o->start,
            "end", *o->end? json_string (o->end): json_null (),
            "seats_per_session", (json_int_t) o->seats_per_session,
            "sessions_per_month", (json_int_t) o->sessions_per_month,
            "seats_per_month", (json_int_t) o->seats_per_month));
    }
    json_object_set_new (root, "infrastructure", json_pack ("{s:o, s:o, s:o}",
        "per_od", infra, "total", s_json_capacity (&self->infra_total), "openings", openings));

    json_t *moments = json_array ();
    for (size_t i = 0; i < self->n_moments; i++) {
        const stx_report_moment_t *m = &self->moments [i];
        json_array_append_new (moments, json_pack ("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:I, s:o}",
            "key", m->key, "title", m->title, "kind", m->kind, "date", m->date,
            "end_date", *m->end_date? json_string (m->end_date): json_null (),
            "organiser", m->organiser, "municipality", m->municipality,
            "capacity", (json_int_t) m->capacity,
            "topic_od_codes", s_json_list (m->topic_od_codes, m->n_topic_od_codes)));
    }
    json_t *biennia = json_array ();
    for (size_t i = 0; i < self->n_biennia; i++) {
        const stx_report_biennium_t *b = &self->biennia [i];
        json_array_append_new (biennia, json_pack ("{s:s, s:s, s:I, s:s}",
            "from", b->from, "to", b->to, "state_of_the_stem", (json_int_t) b->state_of_the_stem,
            "events", b->events));
    }
    json_object_set_new (root, "moments", json_pack ("{s:o, s:I, s:I, s:o}",
        "list", moments, "state_of_the_stem", (json_int_t) self->moments_state_of_the_stem,
        "capacity", (json_int_t) self->moments_capacity, "biennia", biennia));

    json_t *actions = json_array ();
    for (size_t i = 0; i < self->n_actions; i++) {
        const stx_report_action_t *a = &self->actions [i];
        json_t *involved = json_array ();
        for (int p = 0; p < STX_PILLARS; p++)
            if (a->pillars & (1u << p))
                json_array_append_new (involved, json_string (stx_rpt_pillar_ids [p]));
        json_array_append_new (actions, json_pack (
            "{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o}",
            "key", a->key, "title", a->title, "owner", a->owner, "start", a->start,
            "end", *a->end? json_string (a->end): json_null (), "status", a->status,
            "od_codes", s_json_list (a->od_codes, a->n_od_codes),
            "lead", s_json_pillar (a->lead), "pillars", involved,
            "partners", s_json_list (a->partners, a->n_partners),
            "target_groups", s_json_list (a->target_groups, a->n_target_groups)));
    }
    json_object_set_new (root, "actions", actions);
    return root;
}

void
stx_rpt_render_json (json_t *root, FILE *out)
{
    assert (root);
    char *text = json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    if (!text)
        abort ();
    fputs (text, out);
    fputc ('\n', out);
    free (text);
}
