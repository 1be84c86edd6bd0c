/*  =========================================================================
    stx_report_model - the operational model: one pass over the catalogue

    What stx_report_build counts (module comment of stx_report.c). Runs in
    the caller's thread; the model owns every string and array it holds.
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
//  Building the operational model

typedef struct {
    char *date;
    char *key;
} s_dated_t;

typedef struct {
    stx_report_t *self;
    const stx_taxonomy_t *taxonomy;
    size_t goals_alloc, actions_alloc, openings_alloc, moments_alloc, infra_alloc;
    s_dated_t *sots;            //  every State-of-the-STEM moment (for biennia)
    size_t n_sots, sots_alloc;
} s_builder_t;

int
stx_rpt_goal_find (const stx_report_t *self, const char *code)
{
    for (size_t i = 0; code && i < self->n_goals; i++)
        if (strcmp (self->goals [i].code, code) == 0)
            return (int) i;
    return -1;
}

static void
s_goal_add (s_builder_t *builder, const char *code, const char *parent, int level)
{
    stx_report_t *self = builder->self;
    self->goals = stx_rpt_grow (self->goals, &builder->goals_alloc, self->n_goals,
                                sizeof (stx_report_goal_t));
    stx_report_goal_t *goal = &self->goals [self->n_goals++];
    goal->code = stx_rpt_dup (code);
    goal->parent = stx_rpt_dup (parent);
    goal->title = stx_rpt_dup (stx_taxonomy_title (builder->taxonomy, code));
    goal->level = level;
}

//  The goal tree in document order: each SD, then each of its TDs
//  followed by that TD's ODs.
static void
s_build_goals (s_builder_t *builder)
{
    const stx_taxonomy_t *taxonomy = builder->taxonomy;
    size_t sds = stx_taxonomy_count (taxonomy, STX_VOCAB_SD);
    size_t tds = stx_taxonomy_count (taxonomy, STX_VOCAB_TD);
    size_t ods = stx_taxonomy_count (taxonomy, STX_VOCAB_OD);
    for (size_t s = 0; s < sds; s++) {
        const char *sd = stx_taxonomy_at (taxonomy, STX_VOCAB_SD, s);
        s_goal_add (builder, sd, "", 0);
        for (size_t t = 0; t < tds; t++) {
            const char *td = stx_taxonomy_at (taxonomy, STX_VOCAB_TD, t);
            const char *parent = stx_taxonomy_parent (taxonomy, td);
            if (!parent || strcmp (parent, sd) != 0)
                continue;
            s_goal_add (builder, td, sd, 1);
            for (size_t o = 0; o < ods; o++) {
                const char *od = stx_taxonomy_at (taxonomy, STX_VOCAB_OD, o);
                const char *od_parent = stx_taxonomy_parent (taxonomy, od);
                if (od_parent && strcmp (od_parent, td) == 0)
                    s_goal_add (builder, od, td, 2);
            }
        }
    }
    builder->self->ods = 0;
    for (size_t i = 0; i < builder->self->n_goals; i++)
        if (builder->self->goals [i].level == 2)
            builder->self->ods++;
}

//  Mark in marks (one per goal) each OD of codes with its TD and SD; codes
//  the tree does not know are skipped.
static void
s_mark_goals (const stx_report_t *self, char **codes, size_t count, bool *marks)
{
    memset (marks, 0, self->n_goals * sizeof (bool));
    for (size_t i = 0; i < count; i++) {
        int goal = stx_rpt_goal_find (self, codes [i]);
        while (goal >= 0) {
            marks [goal] = true;
            goal = stx_rpt_goal_find (self, self->goals [goal].parent);
        }
    }
}

static int
s_pillar_of_partner (const Stemx__Partner *partner)
{
    return partner? stx_report_pillar_of (partner->helix_pillar): -1;
}

static int
s_collect_action (const Stemx__Event *event, void *arg)
{
    s_builder_t *builder = (s_builder_t *) arg;
    stx_report_t *self = builder->self;
    if (!event->entry || event->entry->kind_case != STEMX__ENTRY__KIND_INITIATIVE
    ||  !event->entry->initiative)
        return 0;
    const Stemx__Initiative *ini = event->entry->initiative;
    self->actions = stx_rpt_grow (self->actions, &builder->actions_alloc, self->n_actions,
                                  sizeof (stx_report_action_t));
    stx_report_action_t *action = &self->actions [self->n_actions++];
    action->key = stx_rpt_dup (event->key);
    action->title = stx_rpt_dup (ini->title);
    action->owner = stx_rpt_dup (ini->owner? ini->owner->org: "");
    action->start = stx_rpt_dup (ini->period? ini->period->start: "");
    action->end = stx_rpt_dup (ini->period? ini->period->end: "");
    action->status = stx_rpt_dup (ini->status);
    action->od_codes = stx_rpt_dup_list (ini->od_codes, ini->n_od_codes);
    action->n_od_codes = ini->n_od_codes;
    action->target_groups = stx_rpt_dup_list (ini->target_groups, ini->n_target_groups);
    action->n_target_groups = ini->n_target_groups;
    action->lead = s_pillar_of_partner (ini->owner);
    if (action->lead >= 0)
        action->pillars |= 1u << action->lead;
    action->partners = (char **) stx_rpt_alloc (ini->n_partners * sizeof (char *));
    for (size_t i = 0; i < ini->n_partners; i++) {
        const Stemx__Partner *partner = ini->partners [i];
        action->partners [action->n_partners++] = stx_rpt_dup (partner? partner->org: "");
        int pillar = s_pillar_of_partner (partner);
        if (pillar >= 0)
            action->pillars |= 1u << pillar;
    }
    for (int p = 0; p < STX_PILLARS; p++)
        if (action->pillars & (1u << p))
            action->n_pillars++;
    return 0;
}

static int
s_collect_opening (const Stemx__Event *event, void *arg)
{
    s_builder_t *builder = (s_builder_t *) arg;
    stx_report_t *self = builder->self;
    if (!event->entry || event->entry->kind_case != STEMX__ENTRY__KIND_INFRASTRUCTURE
    ||  !event->entry->infrastructure)
        return 0;
    const Stemx__InfrastructureOpening *infra = event->entry->infrastructure;
    self->openings = stx_rpt_grow (self->openings, &builder->openings_alloc, self->n_openings,
                                   sizeof (stx_report_opening_t));
    stx_report_opening_t *opening = &self->openings [self->n_openings++];
    const char *start, *end;
    stx_index_dates (event->entry, &start, &end);
    opening->key = stx_rpt_dup (event->key);
    opening->facility = stx_rpt_dup (infra->facility);
    opening->provider = stx_rpt_dup (infra->provider? infra->provider->org: "");
    opening->pillar = s_pillar_of_partner (infra->provider);
    opening->od_code = stx_rpt_dup (infra->od_code);
    opening->municipality = stx_rpt_dup (infra->location? infra->location->municipality: "");
    opening->start = stx_rpt_dup (start);
    opening->end = stx_rpt_dup (end);
    if (infra->capacity) {
        opening->seats_per_session = infra->capacity->participants_per_session;
        opening->sessions_per_month = infra->capacity->sessions_per_month;
    }
    opening->seats_per_month = (uint64_t) opening->seats_per_session
                             * opening->sessions_per_month;
    return 0;
}

static int
s_collect_moment (const Stemx__Event *event, void *arg)
{
    s_builder_t *builder = (s_builder_t *) arg;
    stx_report_t *self = builder->self;
    if (!event->entry || event->entry->kind_case != STEMX__ENTRY__KIND_MOMENT
    ||  !event->entry->moment)
        return 0;
    const Stemx__NetworkMoment *moment = event->entry->moment;
    if (strcmp (moment->kind, "state_of_the_stem") == 0 && *moment->date) {
        builder->sots = stx_rpt_grow (builder->sots, &builder->sots_alloc, builder->n_sots,
                                      sizeof (s_dated_t));
        builder->sots [builder->n_sots].date = stx_rpt_dup (moment->date);
        builder->sots [builder->n_sots].key = stx_rpt_dup (event->key);
        builder->n_sots++;
    }
    const char *start, *end;
    stx_index_dates (event->entry, &start, &end);
    if (!stx_rpt_overlaps (start, end, self->from, self->to))
        return 0;
    self->moments = stx_rpt_grow (self->moments, &builder->moments_alloc, self->n_moments,
                                  sizeof (stx_report_moment_t));
    stx_report_moment_t *item = &self->moments [self->n_moments++];
    item->key = stx_rpt_dup (event->key);
    item->title = stx_rpt_dup (moment->title);
    item->kind = stx_rpt_dup (moment->kind);
    item->date = stx_rpt_dup (moment->date);
    item->end_date = stx_rpt_dup (moment->end_date);
    item->organiser = stx_rpt_dup (moment->organiser? moment->organiser->org: "");
    item->municipality = stx_rpt_dup (moment->location? moment->location->municipality: "");
    item->capacity = moment->capacity;
    item->topic_od_codes = stx_rpt_dup_list (moment->topic_od_codes, moment->n_topic_od_codes);
    item->n_topic_od_codes = moment->n_topic_od_codes;
    return 0;
}

static int
s_compare_dated (const void *a, const void *b)
{
    const s_dated_t *x = (const s_dated_t *) a;
    const s_dated_t *y = (const s_dated_t *) b;
    int rc = strcmp (x->date, y->date);
    return rc? rc: strcmp (x->key, y->key);
}

static int
s_compare_moments (const void *a, const void *b)
{
    const stx_report_moment_t *x = (const stx_report_moment_t *) a;
    const stx_report_moment_t *y = (const stx_report_moment_t *) b;
    int rc = strcmp (x->date, y->date);
    return rc? rc: strcmp (x->key, y->key);
}

static int
s_compare_openings (const void *a, const void *b)
{
    const stx_report_opening_t *x = (const stx_report_opening_t *) a;
    const stx_report_opening_t *y = (const stx_report_opening_t *) b;
    int rc = strcmp (x->od_code, y->od_code);
    return rc? rc: strcmp (x->key, y->key);
}

static int
s_compare_infra (const void *a, const void *b)
{
    return strcmp (((const stx_report_infra_t *) a)->od_code,
                   ((const stx_report_infra_t *) b)->od_code);
}

static void
s_capacity_add (stx_report_capacity_t *capacity, const stx_report_opening_t *opening)
{
    capacity->openings++;
    capacity->seats_per_session += opening->seats_per_session;
    capacity->sessions_per_month += opening->sessions_per_month;
    capacity->seats_per_month += opening->seats_per_month;
}

static stx_report_infra_t *
s_infra_row (s_builder_t *builder, const char *od_code)
{
    stx_report_t *self = builder->self;
    for (size_t i = 0; i < self->n_infra; i++)
        if (strcmp (self->infra [i].od_code, od_code) == 0)
            return &self->infra [i];
    self->infra = stx_rpt_grow (self->infra, &builder->infra_alloc, self->n_infra,
                                sizeof (stx_report_infra_t));
    stx_report_infra_t *row = &self->infra [self->n_infra++];
    row->od_code = stx_rpt_dup (od_code);
    row->title = stx_rpt_dup (stx_taxonomy_title (builder->taxonomy, od_code));
    return row;
}

//  Counts over the collected actions, openings and moments
static void
s_count (s_builder_t *builder)
{
    stx_report_t *self = builder->self;
    bool *marks = (bool *) stx_rpt_alloc (self->n_goals * sizeof (bool));

    for (size_t a = 0; a < self->n_actions; a++) {
        const stx_report_action_t *action = &self->actions [a];
        s_mark_goals (self, action->od_codes, action->n_od_codes, marks);
        for (size_t g = 0; g < self->n_goals; g++) {
            if (!marks [g])
                continue;
            stx_report_goal_t *goal = &self->goals [g];
            goal->actions++;
            if (action->lead >= 0)
                goal->lead [action->lead]++;
            for (int p = 0; p < STX_PILLARS; p++)
                if (action->pillars & (1u << p))
                    goal->involved [p]++;
        }
        if (action->lead >= 0)
            self->lead [action->lead]++;
        for (int p = 0; p < STX_PILLARS; p++)
            if (action->pillars & (1u << p))
                self->involved [p]++;
        self->by_pillar_count [action->n_pillars]++;
    }
    //  Coverage: each OD adds itself to its TD and SD
    for (size_t g = 0; g < self->n_goals; g++) {
        if (self->goals [g].level != 2)
            continue;
        bool covered = self->goals [g].actions > 0;
        if (covered)
            self->ods_covered++;
        int up = (int) g;
        while (up >= 0) {
            self->goals [up].ods++;
            if (covered)
                self->goals [up].ods_covered++;
            up = stx_rpt_goal_find (self, self->goals [up].parent);
        }
    }
    //  Openings: the three ODs of TD 3.2 always have a row
    for (size_t i = 0; i < STX_RPT_INFRA_ODS; i++)
        s_infra_row (builder, stx_rpt_infra_ods [i]);
    stx_rpt_sort (self->openings, self->n_openings, sizeof (stx_report_opening_t), s_compare_openings);
    for (size_t o = 0; o < self->n_openings; o++) {
        const stx_report_opening_t *opening = &self->openings [o];
        stx_report_infra_t *row = s_infra_row (builder, opening->od_code);
        if (opening->pillar >= 0)
            s_capacity_add (&row->by_pillar [opening->pillar], opening);
        s_capacity_add (&row->total, opening);
        s_capacity_add (&self->infra_total, opening);
        char *code = opening->od_code;
        s_mark_goals (self, &code, 1, marks);
        for (size_t g = 0; g < self->n_goals; g++)
            if (marks [g])
                self->goals [g].openings++;
    }
    stx_rpt_sort (self->infra, self->n_infra, sizeof (stx_report_infra_t), s_compare_infra);
    //  Moments
    stx_rpt_sort (self->moments, self->n_moments, sizeof (stx_report_moment_t), s_compare_moments);
    for (size_t m = 0; m < self->n_moments; m++) {
        const stx_report_moment_t *moment = &self->moments [m];
        if (strcmp (moment->kind, "state_of_the_stem") == 0)
            self->moments_state_of_the_stem++;
        self->moments_capacity += moment->capacity;
        s_mark_goals (self, moment->topic_od_codes, moment->n_topic_od_codes, marks);
        for (size_t g = 0; g < self->n_goals; g++)
            if (marks [g])
                self->goals [g].moments++;
    }
    free (marks);

    //  Biennia the period touches, and the State-of-the-STEM in each
    stx_rpt_sort (builder->sots, builder->n_sots, sizeof (s_dated_t), s_compare_dated);
    char first [11], last [11], ignore [11];
    stx_report_biennium (self->from, first, ignore);
    stx_report_biennium (self->to, last, ignore);
    for (int year = stx_rpt_year (first); year <= stx_rpt_year (last); year += 2) {
        self->biennia = (stx_report_biennium_t *) realloc (self->biennia,
            (self->n_biennia + 1) * sizeof (stx_report_biennium_t));
        if (!self->biennia)
            abort ();
        stx_report_biennium_t *biennium = &self->biennia [self->n_biennia++];
        memset (biennium, 0, sizeof (*biennium));
        snprintf (biennium->from, sizeof (biennium->from), "%04u-01-01",
                  (unsigned) year % 10000);
        snprintf (biennium->to, sizeof (biennium->to), "%04u-12-31",
                  (unsigned) (year + 1) % 10000);
        char **events = (char **) stx_rpt_alloc (builder->n_sots * sizeof (char *));
        for (size_t i = 0; i < builder->n_sots; i++)
            if (stx_rpt_overlaps (builder->sots [i].date, builder->sots [i].date,
                                  biennium->from, biennium->to))
                events [biennium->state_of_the_stem++] =
                    stx_rpt_fmt ("%s %s", builder->sots [i].date, builder->sots [i].key);
        biennium->events = stx_rpt_join (events, biennium->state_of_the_stem, "; ");
        stx_rpt_free_list (events, biennium->state_of_the_stem);
    }
}

stx_status_t
stx_report_build (stx_txn_t *txn, const stx_taxonomy_t *taxonomy, const char *from,
                  const char *to, stx_report_t **self_p, char *err, size_t errlen)
{
    assert (txn);
    assert (taxonomy);
    assert (self_p);
    *self_p = NULL;
    if (!stx_date_valid (from))
        return stx_fail (err, errlen, STX_ERR_INVALID, "from: expected a date YYYY-MM-DD");
    if (!stx_date_valid (to))
        return stx_fail (err, errlen, STX_ERR_INVALID, "to: expected a date YYYY-MM-DD");
    if (strcmp (from, to) > 0)
        return stx_fail (err, errlen, STX_ERR_INVALID, "the period ends (%s) before it starts (%s)",
                         to, from);
    stx_meta_t meta;
    stx_status_t status = stx_txn_meta (txn, &meta);
    if (status != STX_OK)
        return stx_fail (err, errlen, status, "reading the store's meta: %s",
                         stx_strerror (status));

    stx_report_t *self = (stx_report_t *) stx_rpt_alloc (sizeof (stx_report_t));
    snprintf (self->from, sizeof (self->from), "%s", from);
    snprintf (self->to, sizeof (self->to), "%s", to);
    self->seq = meta.seq;
    s_builder_t builder = { .self = self, .taxonomy = taxonomy };
    s_build_goals (&builder);

    stx_filter_t filter = { .kind = STX_KIND_INITIATIVE, .from = from, .to = to };
    status = stx_txn_query (txn, &filter, s_collect_action, &builder);
    if (status == STX_OK) {
        filter.kind = STX_KIND_INFRASTRUCTURE;
        status = stx_txn_query (txn, &filter, s_collect_opening, &builder);
    }
    if (status == STX_OK) {
        stx_filter_t moments = { .kind = STX_KIND_MOMENT };
        status = stx_txn_query (txn, &moments, s_collect_moment, &builder);
    }
    if (status == STX_OK)
        s_count (&builder);
    for (size_t i = 0; i < builder.n_sots; i++) {
        free (builder.sots [i].date);
        free (builder.sots [i].key);
    }
    free (builder.sots);
    if (status != STX_OK) {
        stx_report_destroy (&self);
        return stx_fail (err, errlen, status, "reading the catalogue: %s", stx_strerror (status));
    }
    *self_p = self;
    return STX_OK;
}

void
stx_report_destroy (stx_report_t **self_p)
{
    assert (self_p);
    stx_report_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_goals; i++) {
        free (self->goals [i].code);
        free (self->goals [i].parent);
        free (self->goals [i].title);
    }
    free (self->goals);
    for (size_t i = 0; i < self->n_actions; i++) {
        stx_report_action_t *action = &self->actions [i];
        free (action->key);
        free (action->title);
        free (action->owner);
        free (action->start);
        free (action->end);
        free (action->status);
        stx_rpt_free_list (action->od_codes, action->n_od_codes);
        stx_rpt_free_list (action->target_groups, action->n_target_groups);
        stx_rpt_free_list (action->partners, action->n_partners);
    }
    free (self->actions);
    for (size_t i = 0; i < self->n_infra; i++) {
        free (self->infra [i].od_code);
        free (self->infra [i].title);
    }
    free (self->infra);
    for (size_t i = 0; i < self->n_openings; i++) {
        stx_report_opening_t *opening = &self->openings [i];
        free (opening->key);
        free (opening->facility);
        free (opening->provider);
        free (opening->od_code);
        free (opening->municipality);
        free (opening->start);
        free (opening->end);
    }
    free (self->openings);
    for (size_t i = 0; i < self->n_moments; i++) {
        stx_report_moment_t *moment = &self->moments [i];
        free (moment->key);
        free (moment->title);
        free (moment->kind);
        free (moment->date);
        free (moment->end_date);
        free (moment->organiser);
        free (moment->municipality);
        stx_rpt_free_list (moment->topic_od_codes, moment->n_topic_od_codes);
    }
    free (self->moments);
    for (size_t i = 0; i < self->n_biennia; i++)
        free (self->biennia [i].events);
    free (self->biennia);
    free (self);
    *self_p = NULL;
}
