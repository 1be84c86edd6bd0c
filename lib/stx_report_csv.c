/*  =========================================================================
    stx_report_csv - the operational report as one long CSV table

    Written from the model directly, one row per figure.
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
//  CSV: one long table

static void
s_csv_goal (FILE *out, const stx_report_goal_t *goal, const char *measure, uint64_t value)
{
    char number [24];
    snprintf (number, sizeof (number), "%llu", (unsigned long long) value);
    stx_rpt_csv_line (out, 6, "goal", goal->code, goal->parent, measure, number, goal->title);
}

static void
s_csv_value (FILE *out, const char *section, const char *key, const char *parent,
             const char *measure, uint64_t value, const char *label)
{
    char number [24];
    snprintf (number, sizeof (number), "%llu", (unsigned long long) value);
    stx_rpt_csv_line (out, 6, section, key, parent, measure, number, label);
}

static void
s_csv_capacity (FILE *out, const char *od, const char *pillar,
                const stx_report_capacity_t *cap)
{
    char measure [64];
    snprintf (measure, sizeof (measure), "%s.openings", pillar);
    s_csv_value (out, "infra", od, "", measure, cap->openings, "");
    snprintf (measure, sizeof (measure), "%s.seats_per_session", pillar);
    s_csv_value (out, "infra", od, "", measure, cap->seats_per_session, "");
    snprintf (measure, sizeof (measure), "%s.sessions_per_month", pillar);
    s_csv_value (out, "infra", od, "", measure, cap->sessions_per_month, "");
    snprintf (measure, sizeof (measure), "%s.seats_per_month", pillar);
    s_csv_value (out, "infra", od, "", measure, cap->seats_per_month, "");
}

void
stx_rpt_render_csv (const stx_report_t *self, FILE *out)
{
    char seq [24];
    snprintf (seq, sizeof (seq), "%llu", (unsigned long long) self->seq);
    stx_rpt_csv_line (out, 6, "section", "key", "parent", "measure", "value", "label");
    stx_rpt_csv_line (out, 6, "report", "operational", "", "from", self->from, "");
    stx_rpt_csv_line (out, 6, "report", "operational", "", "to", self->to, "");
    stx_rpt_csv_line (out, 6, "report", "operational", "", "as_of_seq", seq, "");
    s_csv_value (out, "summary", "", "", "actions", self->n_actions, "");
    s_csv_value (out, "summary", "", "", "ods", self->ods, "");
    s_csv_value (out, "summary", "", "", "ods_covered", self->ods_covered, "");
    s_csv_value (out, "summary", "", "", "gaps", self->ods - self->ods_covered, "");
    s_csv_value (out, "summary", "", "", "openings", self->n_openings, "");
    s_csv_value (out, "summary", "", "", "seats_per_month", self->infra_total.seats_per_month, "");
    s_csv_value (out, "summary", "", "", "moments", self->n_moments, "");
    s_csv_value (out, "summary", "", "", "state_of_the_stem", self->moments_state_of_the_stem, "");
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        char measure [64];
        s_csv_goal (out, goal, "actions", goal->actions);
        for (int p = 0; p < STX_PILLARS; p++) {
            snprintf (measure, sizeof (measure), "lead.%s", stx_rpt_pillar_ids [p]);
            s_csv_goal (out, goal, measure, goal->lead [p]);
        }
        for (int p = 0; p < STX_PILLARS; p++) {
            snprintf (measure, sizeof (measure), "involved.%s", stx_rpt_pillar_ids [p]);
            s_csv_goal (out, goal, measure, goal->involved [p]);
        }
        s_csv_goal (out, goal, "ods", goal->ods);
        s_csv_goal (out, goal, "ods_covered", goal->ods_covered);
        s_csv_goal (out, goal, "openings", goal->openings);
        s_csv_goal (out, goal, "moments", goal->moments);
    }
    for (size_t g = 0; g < self->n_goals; g++)
        if (self->goals [g].level == 2 && self->goals [g].actions == 0)
            s_csv_value (out, "gap", self->goals [g].code, self->goals [g].parent, "actions", 0,
                         self->goals [g].title);
    for (int p = 0; p < STX_PILLARS; p++) {
        s_csv_value (out, "pillar", stx_rpt_pillar_ids [p], "", "lead", self->lead [p],
                     stx_rpt_pillar_names [p]);
        s_csv_value (out, "pillar", stx_rpt_pillar_ids [p], "", "involved", self->involved [p],
                     stx_rpt_pillar_names [p]);
    }
    for (int n = 0; n <= STX_PILLARS; n++) {
        char key [4];
        snprintf (key, sizeof (key), "%d", n);
        s_csv_value (out, "pillars_involved", key, "", "actions", self->by_pillar_count [n], "");
    }
    for (size_t i = 0; i < self->n_infra; i++) {
        const stx_report_infra_t *row = &self->infra [i];
        for (int p = 0; p < STX_PILLARS; p++)
            s_csv_capacity (out, row->od_code, stx_rpt_pillar_ids [p], &row->by_pillar [p]);
        s_csv_capacity (out, row->od_code, "all", &row->total);
    }
    s_csv_capacity (out, "all", "all", &self->infra_total);
    for (size_t i = 0; i < self->n_openings; i++) {
        const stx_report_opening_t *opening = &self->openings [i];
        const char *key = opening->key;
        stx_rpt_csv_line (out, 6, "opening", key, opening->od_code, "provider", opening->provider,
                          opening->facility);
        stx_rpt_csv_line (out, 6, "opening", key, opening->od_code, "pillar",
                          stx_report_pillar_id (opening->pillar), opening->facility);
        stx_rpt_csv_line (out, 6, "opening", key, opening->od_code, "municipality",
                          opening->municipality, opening->facility);
        stx_rpt_csv_line (out, 6, "opening", key, opening->od_code, "start", opening->start,
                          opening->facility);
        stx_rpt_csv_line (out, 6, "opening", key, opening->od_code, "end", opening->end,
                          opening->facility);
        s_csv_value (out, "opening", key, opening->od_code, "seats_per_session",
                     opening->seats_per_session, opening->facility);
        s_csv_value (out, "opening", key, opening->od_code, "sessions_per_month",
                     opening->sessions_per_month, opening->facility);
        s_csv_value (out, "opening", key, opening->od_code, "seats_per_month",
                     opening->seats_per_month, opening->facility);
    }
    for (size_t i = 0; i < self->n_moments; i++) {
        const stx_report_moment_t *moment = &self->moments [i];
        char *topics = stx_rpt_join (moment->topic_od_codes, moment->n_topic_od_codes, ";");
        stx_rpt_csv_line (out, 6, "moment", moment->key, moment->kind, "date", moment->date,
                          moment->title);
        stx_rpt_csv_line (out, 6, "moment", moment->key, moment->kind, "end_date", moment->end_date,
                          moment->title);
        stx_rpt_csv_line (out, 6, "moment", moment->key, moment->kind, "organiser",
                          moment->organiser, moment->title);
        stx_rpt_csv_line (out, 6, "moment", moment->key, moment->kind, "municipality",
                          moment->municipality, moment->title);
        s_csv_value (out, "moment", moment->key, moment->kind, "capacity", moment->capacity,
                     moment->title);
        stx_rpt_csv_line (out, 6, "moment", moment->key, moment->kind, "topic_od_codes", topics,
                          moment->title);
        free (topics);
    }
    for (size_t i = 0; i < self->n_biennia; i++) {
        const stx_report_biennium_t *biennium = &self->biennia [i];
        char key [16];
        snprintf (key, sizeof (key), "%.4s-%.4s", biennium->from, biennium->to);
        s_csv_value (out, "biennium", key, "", "state_of_the_stem",
                     biennium->state_of_the_stem, biennium->events);
    }
    for (size_t i = 0; i < self->n_actions; i++) {
        const stx_report_action_t *action = &self->actions [i];
        char *ods = stx_rpt_join (action->od_codes, action->n_od_codes, ";");
        char *groups = stx_rpt_join (action->target_groups, action->n_target_groups, ";");
        char *partners = stx_rpt_join (action->partners, action->n_partners, ";");
        char pillars [64] = "";
        for (int p = 0; p < STX_PILLARS; p++)
            if (action->pillars & (1u << p)) {
                if (*pillars)
                    strcat (pillars, ";");
                strcat (pillars, stx_rpt_pillar_ids [p]);
            }
        const char *key = action->key;
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "status", action->status,
                          action->title);
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "start", action->start, action->title);
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "end", action->end, action->title);
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "od_codes", ods, action->title);
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "lead",
                          stx_report_pillar_id (action->lead), action->title);
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "pillars", pillars, action->title);
        s_csv_value (out, "action", key, action->owner, "n_pillars", action->n_pillars,
                     action->title);
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "partners", partners, action->title);
        stx_rpt_csv_line (out, 6, "action", key, action->owner, "target_groups", groups,
                          action->title);
        free (ods);
        free (groups);
        free (partners);
    }
}
