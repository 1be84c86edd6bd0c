/*  =========================================================================
    stx_report - the monitoring reports of section 7 of the STEM-Agenda

    DESIGN
    Building and rendering are separate. stx_report_build reads the
    catalogue once, through stx_txn_query (initiatives and openings with the
    period as a date filter, so "active in the period" means exactly what
    `stemx list --from --to` means; moments without one, because the
    State-of-the-STEM check looks at whole biennia), copies what the
    reports need into plain arrays and counts. Nothing in the model points
    into LMDB or the taxonomy, so it outlives both. stx_strategic_build
    derives the strategic model from the operational one plus the
    "monitoring" part of stem-agenda-2030.json.

    Rendering: the operational and strategic reports are first laid out as
    a list of generic tables (s_table_t: title, headers, alignment, rows
    with a tree level), which the text, Markdown and HTML renderers print
    each in their own way; CSV (one long table) and JSON are written from
    the model directly. The HTML page adds inline SVG charts drawn from the
    model; every number is printed with integer or fixed-point formats, so
    the output is byte-for-byte stable for a given catalogue and period.

    Memory: the model's strings and arrays are owned by the model; helpers
    abort on out of memory (as czmq and stx_event_pack do), so build paths
    only fail on storage or input errors.
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

static const char *s_pillar_ids [STX_PILLARS] = {
    "government", "knowledge", "industry", "civil_society"
};
//  English names, and the Agenda's own (Dutch) terms
static const char *s_pillar_names [STX_PILLARS] = {
    "Government", "Knowledge institutions", "Industry", "Civil society"
};
static const char *s_pillar_terms [STX_PILLARS] = {
    "overheid", "kennisinstellingen", "bedrijven", "burger"
};
//  Column headers and one-letter marks
static const char *s_pillar_short [STX_PILLARS] = { "Gov", "Know", "Ind", "Civil" };
static const char s_pillar_letter [STX_PILLARS] = { 'G', 'K', 'I', 'C' };
//  Chart colours
static const char *s_pillar_colours [STX_PILLARS] = {
    "#2f6db5", "#8a4fb8", "#e0861f", "#2f9e5b"
};
static const char *s_pillar_tints [STX_PILLARS] = {
    "#c9dbf1", "#e3d3f0", "#f8dcbb", "#c6ead4"
};

//  The ODs of TD 3.2 that infrastructure openings serve (3.2.1 - 3.2.3)
static const char *s_infra_ods [] = { "OD 3.2.1", "OD 3.2.2", "OD 3.2.3" };
#define S_INFRA_ODS (sizeof (s_infra_ods) / sizeof (s_infra_ods [0]))

#define S_AGENDA_FILE "stem-agenda-2030.json"


//  --------------------------------------------------------------------------
//  Memory helpers: abort on out of memory

static void *
s_alloc (size_t size)
{
    void *data = calloc (1, size? size: 1);
    if (!data)
        abort ();
    return data;
}

static char *
s_dup (const char *text)
{
    char *copy = strdup (text? text: "");
    if (!copy)
        abort ();
    return copy;
}

static char *
s_fmt (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

static char *
s_fmt (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = NULL;
    if (vasprintf (&text, format, args) < 0)
        abort ();
    va_end (args);
    return text;
}

//  Make room for one more item in an array of count items of size bytes
//  (new room is zeroed).
static void *
s_grow (void *array, size_t *alloc_p, size_t count, size_t size)
{
    if (count < *alloc_p)
        return array;
    size_t alloc = *alloc_p? *alloc_p * 2: 16;
    array = realloc (array, alloc * size);
    if (!array)
        abort ();
    memset ((char *) array + count * size, 0, (alloc - count) * size);
    *alloc_p = alloc;
    return array;
}

//  qsort, which must not see a NULL base even for no items
static void
s_sort (void *base, size_t count, size_t size, int (*compare) (const void *, const void *))
{
    if (count > 1)
        qsort (base, count, size, compare);
}

static char **
s_dup_list (char **items, size_t count)
{
    char **copy = (char **) s_alloc (count * sizeof (char *));
    for (size_t i = 0; i < count; i++)
        copy [i] = s_dup (items [i]);
    return copy;
}

static void
s_free_list (char **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (items [i]);
    free (items);
}

//  items joined with sep; caller frees
static char *
s_join (char **items, size_t count, const char *sep)
{
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen (items [i]) + strlen (sep);
    char *text = (char *) s_alloc (size);
    for (size_t i = 0; i < count; i++) {
        if (i)
            strcat (text, sep);
        strcat (text, items [i]);
    }
    return text;
}


//  --------------------------------------------------------------------------
//  Small public helpers

stx_status_t
stx_report_format_parse (const char *name, stx_report_format_t *format_p)
{
    assert (format_p);
    static const struct {
        const char *name;
        stx_report_format_t format;
    } names [] = {
        { "text", STX_REPORT_TEXT }, { "markdown", STX_REPORT_MARKDOWN },
        { "md", STX_REPORT_MARKDOWN }, { "csv", STX_REPORT_CSV },
        { "html", STX_REPORT_HTML }, { "json", STX_REPORT_JSON }
    };
    for (size_t i = 0; name && i < sizeof (names) / sizeof (names [0]); i++)
        if (strcmp (name, names [i].name) == 0) {
            *format_p = names [i].format;
            return STX_OK;
        }
    return STX_ERR_INVALID;
}

const char *
stx_report_pillar_id (int pillar)
{
    return pillar >= 0 && pillar < STX_PILLARS? s_pillar_ids [pillar]: "";
}

int
stx_report_pillar_of (const char *id)
{
    for (int p = 0; id && p < STX_PILLARS; p++)
        if (strcmp (id, s_pillar_ids [p]) == 0)
            return p;
    return -1;
}

static int
s_year (const char *date)
{
    if (!date || strlen (date) < 4)
        return -1;
    int year = 0;
    for (int i = 0; i < 4; i++) {
        if (date [i] < '0' || date [i] > '9')
            return -1;
        year = year * 10 + (date [i] - '0');
    }
    return year;
}

bool
stx_report_biennium (const char *date, char from [11], char to [11])
{
    int year = s_year (date);
    if (year < 1)
        return false;
    if (year > 9998)
        return false;
    unsigned first = (unsigned) (year % 2? year: year - 1);
    snprintf (from, 11, "%04u-01-01", first % 10000);
    snprintf (to, 11, "%04u-12-31", (first + 1) % 10000);
    return true;
}

//  Does [start, end] ("" end = open ended) overlap [from, to]?
static bool
s_overlaps (const char *start, const char *end, const char *from, const char *to)
{
    if (!start || !*start)
        return false;
    if (strcmp (start, to) > 0)
        return false;
    if (end && *end && strcmp (end, from) < 0)
        return false;
    return true;
}


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

static int
s_goal_find (const stx_report_t *self, const char *code)
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
    self->goals = s_grow (self->goals, &builder->goals_alloc, self->n_goals,
                          sizeof (stx_report_goal_t));
    stx_report_goal_t *goal = &self->goals [self->n_goals++];
    goal->code = s_dup (code);
    goal->parent = s_dup (parent);
    goal->title = s_dup (stx_taxonomy_title (builder->taxonomy, code));
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
        int goal = s_goal_find (self, codes [i]);
        while (goal >= 0) {
            marks [goal] = true;
            goal = s_goal_find (self, self->goals [goal].parent);
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
    self->actions = s_grow (self->actions, &builder->actions_alloc, self->n_actions,
                            sizeof (stx_report_action_t));
    stx_report_action_t *action = &self->actions [self->n_actions++];
    action->key = s_dup (event->key);
    action->title = s_dup (ini->title);
    action->owner = s_dup (ini->owner? ini->owner->org: "");
    action->start = s_dup (ini->period? ini->period->start: "");
    action->end = s_dup (ini->period? ini->period->end: "");
    action->status = s_dup (ini->status);
    action->od_codes = s_dup_list (ini->od_codes, ini->n_od_codes);
    action->n_od_codes = ini->n_od_codes;
    action->target_groups = s_dup_list (ini->target_groups, ini->n_target_groups);
    action->n_target_groups = ini->n_target_groups;
    action->lead = s_pillar_of_partner (ini->owner);
    if (action->lead >= 0)
        action->pillars |= 1u << action->lead;
    action->partners = (char **) s_alloc (ini->n_partners * sizeof (char *));
    for (size_t i = 0; i < ini->n_partners; i++) {
        const Stemx__Partner *partner = ini->partners [i];
        action->partners [action->n_partners++] = s_dup (partner? partner->org: "");
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
    self->openings = s_grow (self->openings, &builder->openings_alloc, self->n_openings,
                             sizeof (stx_report_opening_t));
    stx_report_opening_t *opening = &self->openings [self->n_openings++];
    const char *start, *end;
    stx_index_dates (event->entry, &start, &end);
    opening->key = s_dup (event->key);
    opening->facility = s_dup (infra->facility);
    opening->provider = s_dup (infra->provider? infra->provider->org: "");
    opening->pillar = s_pillar_of_partner (infra->provider);
    opening->od_code = s_dup (infra->od_code);
    opening->municipality = s_dup (infra->location? infra->location->municipality: "");
    opening->start = s_dup (start);
    opening->end = s_dup (end);
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
        builder->sots = s_grow (builder->sots, &builder->sots_alloc, builder->n_sots,
                                sizeof (s_dated_t));
        builder->sots [builder->n_sots].date = s_dup (moment->date);
        builder->sots [builder->n_sots].key = s_dup (event->key);
        builder->n_sots++;
    }
    const char *start, *end;
    stx_index_dates (event->entry, &start, &end);
    if (!s_overlaps (start, end, self->from, self->to))
        return 0;
    self->moments = s_grow (self->moments, &builder->moments_alloc, self->n_moments,
                            sizeof (stx_report_moment_t));
    stx_report_moment_t *item = &self->moments [self->n_moments++];
    item->key = s_dup (event->key);
    item->title = s_dup (moment->title);
    item->kind = s_dup (moment->kind);
    item->date = s_dup (moment->date);
    item->end_date = s_dup (moment->end_date);
    item->organiser = s_dup (moment->organiser? moment->organiser->org: "");
    item->municipality = s_dup (moment->location? moment->location->municipality: "");
    item->capacity = moment->capacity;
    item->topic_od_codes = s_dup_list (moment->topic_od_codes, moment->n_topic_od_codes);
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
    self->infra = s_grow (self->infra, &builder->infra_alloc, self->n_infra,
                          sizeof (stx_report_infra_t));
    stx_report_infra_t *row = &self->infra [self->n_infra++];
    row->od_code = s_dup (od_code);
    row->title = s_dup (stx_taxonomy_title (builder->taxonomy, od_code));
    return row;
}

//  Counts over the collected actions, openings and moments
static void
s_count (s_builder_t *builder)
{
    stx_report_t *self = builder->self;
    bool *marks = (bool *) s_alloc (self->n_goals * sizeof (bool));

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
            up = s_goal_find (self, self->goals [up].parent);
        }
    }
    //  Openings: the three ODs of TD 3.2 always have a row
    for (size_t i = 0; i < S_INFRA_ODS; i++)
        s_infra_row (builder, s_infra_ods [i]);
    s_sort (self->openings, self->n_openings, sizeof (stx_report_opening_t), s_compare_openings);
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
    s_sort (self->infra, self->n_infra, sizeof (stx_report_infra_t), s_compare_infra);
    //  Moments
    s_sort (self->moments, self->n_moments, sizeof (stx_report_moment_t), s_compare_moments);
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
    s_sort (builder->sots, builder->n_sots, sizeof (s_dated_t), s_compare_dated);
    char first [11], last [11], ignore [11];
    stx_report_biennium (self->from, first, ignore);
    stx_report_biennium (self->to, last, ignore);
    for (int year = s_year (first); year <= s_year (last); year += 2) {
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
        char **events = (char **) s_alloc (builder->n_sots * sizeof (char *));
        for (size_t i = 0; i < builder->n_sots; i++)
            if (s_overlaps (builder->sots [i].date, builder->sots [i].date,
                            biennium->from, biennium->to))
                events [biennium->state_of_the_stem++] =
                    s_fmt ("%s %s", builder->sots [i].date, builder->sots [i].key);
        biennium->events = s_join (events, biennium->state_of_the_stem, "; ");
        s_free_list (events, biennium->state_of_the_stem);
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

    stx_report_t *self = (stx_report_t *) s_alloc (sizeof (stx_report_t));
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
        s_free_list (action->od_codes, action->n_od_codes);
        s_free_list (action->target_groups, action->n_target_groups);
        s_free_list (action->partners, action->n_partners);
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
        s_free_list (moment->topic_od_codes, moment->n_topic_od_codes);
    }
    free (self->moments);
    for (size_t i = 0; i < self->n_biennia; i++)
        free (self->biennia [i].events);
    free (self->biennia);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Generic tables: laid out once, printed as text, Markdown or HTML

#define S_MAX_COLUMNS 10

typedef struct {
    const char *id;             //  HTML id, e.g. "goals"
    const char *title;
    size_t columns;
    const char *headers [S_MAX_COLUMNS];
    bool right [S_MAX_COLUMNS];     //  right-aligned (numbers)
    size_t max [S_MAX_COLUMNS];     //  text: longest cell in characters, 0 = any
    char **cells;               //  rows * columns owned strings
    int *levels;                //  per row: tree level (0 = top), -1 = total row
    size_t rows, alloc;
    char *note;                 //  a paragraph after the table, or NULL
    char *empty;                //  printed instead of the table when it has no rows
} s_table_t;

static s_table_t *
s_table_new (const char *id, const char *title, const char *spec)
{
    //  spec: one letter per column, 'l' or 'r', then headers follow via s_table_head
    s_table_t *table = (s_table_t *) s_alloc (sizeof (s_table_t));
    table->id = id;
    table->title = title;
    table->columns = strlen (spec);
    assert (table->columns <= S_MAX_COLUMNS);
    for (size_t c = 0; c < table->columns; c++)
        table->right [c] = spec [c] == 'r';
    return table;
}

static void
s_table_head (s_table_t *table, ...)
{
    va_list args;
    va_start (args, table);
    for (size_t c = 0; c < table->columns; c++)
        table->headers [c] = va_arg (args, const char *);
    va_end (args);
}

//  Add a row of table->columns cells, each taken over (heap strings)
static void
s_table_row (s_table_t *table, int level, ...)
{
    if (table->rows == table->alloc) {
        table->alloc = table->alloc? table->alloc * 2: 16;
        table->cells = realloc (table->cells, table->alloc * table->columns * sizeof (char *));
        table->levels = realloc (table->levels, table->alloc * sizeof (int));
        if (!table->cells || !table->levels)
            abort ();
    }
    va_list args;
    va_start (args, level);
    for (size_t c = 0; c < table->columns; c++) {
        char *cell = va_arg (args, char *);
        table->cells [table->rows * table->columns + c] = cell? cell: s_dup ("");
    }
    va_end (args);
    table->levels [table->rows++] = level;
}

static void
s_table_destroy (s_table_t **table_p)
{
    s_table_t *table = *table_p;
    if (!table)
        return;
    for (size_t i = 0; i < table->rows * table->columns; i++)
        free (table->cells [i]);
    free (table->cells);
    free (table->levels);
    free (table->note);
    free (table->empty);
    free (table);
    *table_p = NULL;
}

static const char *
s_cell (const s_table_t *table, size_t row, size_t column)
{
    return table->cells [row * table->columns + column];
}

//  Characters (not bytes) in a UTF-8 string
static size_t
s_chars (const char *text)
{
    size_t count = 0;
    for (; *text; text++)
        if (((unsigned char) *text & 0xC0) != 0x80)
            count++;
    return count;
}

//  Print text in width characters, cut to max (with "…") when max > 0
static void
s_text_cell (FILE *out, const char *text, size_t width, size_t max, bool right, bool last)
{
    size_t chars = s_chars (text);
    size_t shown = chars;
    if (max && chars > max)
        shown = max;
    if (right)
        for (size_t i = shown; i < width; i++)
            fputc (' ', out);
    if (shown == chars)
        fputs (text, out);
    else {
        //  Keep shown - 1 characters and add an ellipsis
        size_t kept = 0;
        const char *p = text;
        while (*p) {
            if (((unsigned char) *p & 0xC0) != 0x80) {
                if (kept == shown - 1)
                    break;
                kept++;
            }
            fputc (*p++, out);
        }
        fputs ("…", out);
    }
    if (!right && !last)
        for (size_t i = shown; i < width; i++)
            fputc (' ', out);
}

static void
s_underline (FILE *out, const char *title, char mark)
{
    fprintf (out, "%s\n", title);
    for (size_t i = s_chars (title); i > 0; i--)
        fputc (mark, out);
    fputc ('\n', out);
}

static void
s_table_text (const s_table_t *table, FILE *out)
{
    fputc ('\n', out);
    s_underline (out, table->title, '-');
    if (table->rows == 0 && table->empty) {
        fprintf (out, "%s\n", table->empty);
        return;
    }
    size_t width [S_MAX_COLUMNS];
    for (size_t c = 0; c < table->columns; c++) {
        width [c] = s_chars (table->headers [c]);
        for (size_t r = 0; r < table->rows; r++) {
            size_t chars = s_chars (s_cell (table, r, c));
            if (c == 0 && table->levels [r] > 0)
                chars += 2 * (size_t) table->levels [r];
            if (table->max [c] && chars > table->max [c])
                chars = table->max [c];
            if (chars > width [c])
                width [c] = chars;
        }
    }
    for (size_t c = 0; c < table->columns; c++) {
        if (c)
            fputs ("  ", out);
        s_text_cell (out, table->headers [c], width [c], 0, table->right [c],
                     c + 1 == table->columns);
    }
    fputc ('\n', out);
    for (size_t c = 0; c < table->columns; c++) {
        if (c)
            fputs ("  ", out);
        for (size_t i = 0; i < width [c]; i++)
            fputc ('-', out);
    }
    fputc ('\n', out);
    for (size_t r = 0; r < table->rows; r++) {
        for (size_t c = 0; c < table->columns; c++) {
            if (c)
                fputs ("  ", out);
            const char *cell = s_cell (table, r, c);
            if (c == 0 && table->levels [r] > 0) {
                size_t indent = 2 * (size_t) table->levels [r];
                for (size_t i = 0; i < indent; i++)
                    fputc (' ', out);
                s_text_cell (out, cell, width [c] - indent,
                             table->max [c]? table->max [c] - indent: 0,
                             table->right [c], c + 1 == table->columns);
            }
            else
                s_text_cell (out, cell, width [c], table->max [c], table->right [c],
                             c + 1 == table->columns);
        }
        fputc ('\n', out);
    }
    if (table->note)
        fprintf (out, "%s\n", table->note);
}

//  Markdown cell: | escaped, newlines as spaces
static void
s_md_text (FILE *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '|')
            fputs ("\\|", out);
        else
        if (*text == '\n')
            fputc (' ', out);
        else
            fputc (*text, out);
    }
}

static void
s_table_markdown (const s_table_t *table, FILE *out)
{
    fprintf (out, "\n## %s\n\n", table->title);
    if (table->rows == 0 && table->empty) {
        fprintf (out, "%s\n", table->empty);
        return;
    }
    fputc ('|', out);
    for (size_t c = 0; c < table->columns; c++) {
        fputc (' ', out);
        s_md_text (out, table->headers [c]);
        fputs (" |", out);
    }
    fputs ("\n|", out);
    for (size_t c = 0; c < table->columns; c++)
        fputs (table->right [c]? " ---: |": " --- |", out);
    fputc ('\n', out);
    for (size_t r = 0; r < table->rows; r++) {
        int level = table->levels [r];
        fputc ('|', out);
        for (size_t c = 0; c < table->columns; c++) {
            const char *cell = s_cell (table, r, c);
            fputc (' ', out);
            //  Total rows, and the SDs of the goal tree, in bold
            bool bold = *cell && (level == -1
                                  || (level == 0 && c == 0 && strcmp (table->id, "goals") == 0));
            if (c == 0 && level > 0)
                for (int i = 0; i < level; i++)
                    fputs ("&nbsp;&nbsp;", out);
            if (bold)
                fputs ("**", out);
            s_md_text (out, cell);
            if (bold)
                fputs ("**", out);
            fputs (" |", out);
        }
        fputc ('\n', out);
    }
    if (table->note)
        fprintf (out, "\n%s\n", table->note);
}

//  HTML text with & < > " escaped
static void
s_html_text (FILE *out, const char *text)
{
    for (; *text; text++) {
        switch (*text) {
            case '&': fputs ("&amp;", out); break;
            case '<': fputs ("&lt;", out); break;
            case '>': fputs ("&gt;", out); break;
            case '"': fputs ("&quot;", out); break;
            default: fputc (*text, out);
        }
    }
}

static void
s_table_html (const s_table_t *table, FILE *out)
{
    fprintf (out, "<section class=\"block\" id=\"%s\">\n<h2>", table->id);
    s_html_text (out, table->title);
    fputs ("</h2>\n", out);
    if (table->rows == 0 && table->empty) {
        fputs ("<p class=\"empty\">", out);
        s_html_text (out, table->empty);
        fputs ("</p>\n</section>\n", out);
        return;
    }
    fprintf (out, "<table id=\"t-%s\">\n<thead><tr>", table->id);
    for (size_t c = 0; c < table->columns; c++) {
        fputs (table->right [c]? "<th class=\"num\">": "<th>", out);
        s_html_text (out, table->headers [c]);
        fputs ("</th>", out);
    }
    fputs ("</tr></thead>\n<tbody>\n", out);
    for (size_t r = 0; r < table->rows; r++) {
        int level = table->levels [r];
        if (level < 0)
            fputs ("<tr class=\"total\">", out);
        else
            fprintf (out, "<tr class=\"lvl%d\">", level);
        for (size_t c = 0; c < table->columns; c++) {
            fputs (table->right [c]? "<td class=\"num\">": "<td>", out);
            s_html_text (out, s_cell (table, r, c));
            fputs ("</td>", out);
        }
        fputs ("</tr>\n", out);
    }
    fputs ("</tbody>\n</table>\n", out);
    if (table->note) {
        fputs ("<p class=\"note\">", out);
        s_html_text (out, table->note);
        fputs ("</p>\n", out);
    }
    fputs ("</section>\n", out);
}

//  CSV field, quoted when it holds a comma, quote or newline (RFC 4180)
static void
s_csv_field (FILE *out, const char *text)
{
    if (strpbrk (text, ",\"\r\n")) {
        fputc ('"', out);
        for (; *text; text++) {
            if (*text == '"')
                fputc ('"', out);
            fputc (*text, out);
        }
        fputc ('"', out);
    }
    else
        fputs (text, out);
}

//  One CSV line of count fields
static void
s_csv_line (FILE *out, size_t count, ...)
{
    va_list args;
    va_start (args, count);
    for (size_t i = 0; i < count; i++) {
        if (i)
            fputc (',', out);
        const char *field = va_arg (args, const char *);
        s_csv_field (out, field? field: "");
    }
    va_end (args);
    fputs ("\r\n", out);
}


//  --------------------------------------------------------------------------
//  The operational report as tables

static char *
s_num (uint64_t value)
{
    return s_fmt ("%llu", (unsigned long long) value);
}

//  "42%" of part in whole, rounded; "-" when whole is 0
static char *
s_share (uint64_t part, uint64_t whole)
{
    if (whole == 0)
        return s_dup ("-");
    return s_fmt ("%llu%%", (unsigned long long) ((part * 200 + whole) / (2 * whole)));
}

//  "G K - C": the pillars an action involves
static char *
s_pillar_marks (unsigned pillars)
{
    char *text = (char *) s_alloc (2 * STX_PILLARS);
    for (int p = 0; p < STX_PILLARS; p++) {
        text [2 * p] = pillars & (1u << p)? s_pillar_letter [p]: '-';
        text [2 * p + 1] = p + 1 < STX_PILLARS? ' ': '\0';
    }
    return text;
}

static char *
s_pillar_name (int pillar)
{
    return s_dup (pillar >= 0 && pillar < STX_PILLARS? s_pillar_names [pillar]: "unknown");
}

static char *
s_date_range (const char *start, const char *end)
{
    return s_fmt ("%s – %s", start, *end? end: "open");
}

#define S_OP_TABLES 10

static size_t
s_operational_tables (const stx_report_t *self, s_table_t **tables)
{
    size_t count = 0;
    size_t gaps = self->ods - self->ods_covered;

    //  Summary
    s_table_t *table = s_table_new ("summary", "Summary", "lr");
    s_table_head (table, "Measure", "Value");
    s_table_row (table, 0, s_dup ("Actions (initiatives active in the period)"),
                 s_num (self->n_actions));
    s_table_row (table, 0, s_dup ("Operational goals (OD) with at least one action"),
                 s_fmt ("%zu of %zu", self->ods_covered, self->ods));
    s_table_row (table, 0, s_dup ("Gaps: operational goals without an action"), s_num (gaps));
    s_table_row (table, 0, s_dup ("Actions involving all 4 helix pillars"),
                 s_num (self->by_pillar_count [STX_PILLARS]));
    s_table_row (table, 0, s_dup ("Infrastructure openings (OD 3.2.1-3.2.3)"),
                 s_num (self->n_openings));
    s_table_row (table, 0, s_dup ("Seats per month in those openings"),
                 s_num (self->infra_total.seats_per_month));
    s_table_row (table, 0, s_dup ("Network moments"), s_num (self->n_moments));
    s_table_row (table, 0, s_dup ("State-of-the-STEM events"),
                 s_num (self->moments_state_of_the_stem));
    tables [count++] = table;

    //  Actions per goal
    table = s_table_new ("goals", "Actions per goal (SD > TD > OD) and helix pillar", "lrrrrrrl");
    s_table_head (table, "Goal", "Actions", s_pillar_short [0], s_pillar_short [1],
                  s_pillar_short [2], s_pillar_short [3], "ODs covered", "Title");
    table->max [7] = 64;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        s_table_row (table, goal->level, s_dup (goal->code), s_num (goal->actions),
                     s_num (goal->involved [0]), s_num (goal->involved [1]),
                     s_num (goal->involved [2]), s_num (goal->involved [3]),
                     goal->level == 2? s_dup (goal->actions? "yes": "GAP")
                                     : s_fmt ("%zu/%zu", goal->ods_covered, goal->ods),
                     s_dup (goal->title));
    }
    table->note = s_fmt ("Gov, Know, Ind, Civil: actions involving the pillar as owner or "
                         "partner. An action counts once for each of its ODs, and once for "
                         "a TD or SD however many of its ODs fall under it.");
    tables [count++] = table;

    //  Gaps
    table = s_table_new ("gaps", "Gaps: operational goals without an action", "lll");
    s_table_head (table, "OD", "Under", "Title");
    table->max [2] = 80;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        if (goal->level != 2 || goal->actions)
            continue;
        int td = s_goal_find (self, goal->parent);
        s_table_row (table, 0, s_dup (goal->code),
                     s_fmt ("%s, %s", goal->parent, td >= 0? self->goals [td].parent: ""),
                     s_dup (goal->title));
    }
    table->empty = s_fmt ("None: every operational goal has at least one action.");
    tables [count++] = table;

    //  Pillars
    table = s_table_new ("pillars", "Helix pillars", "llrrr");
    s_table_head (table, "Pillar", "Agenda term", "Leading", "Involved", "Share involved");
    for (int p = 0; p < STX_PILLARS; p++)
        s_table_row (table, 0, s_pillar_name (p), s_dup (s_pillar_terms [p]),
                     s_num (self->lead [p]), s_num (self->involved [p]),
                     s_share (self->involved [p], self->n_actions));
    table->note = s_fmt ("Leading: the owner's pillar. Involved: the owner's or a partner's "
                         "pillar. Share of all %zu actions.", self->n_actions);
    tables [count++] = table;

    //  Collaboration
    table = s_table_new ("collaboration", "Quadruple-helix collaboration: pillars per action",
                         "lrr");
    s_table_head (table, "Pillars involved", "Actions", "Share");
    for (int n = 0; n <= STX_PILLARS; n++) {
        if (n == 0 && self->by_pillar_count [0] == 0)
            continue;
        s_table_row (table, 0, n? s_fmt ("%d", n): s_dup ("0 (pillar unknown)"),
                     s_num (self->by_pillar_count [n]),
                     s_share (self->by_pillar_count [n], self->n_actions));
    }
    s_table_row (table, -1, s_dup ("All actions"), s_num (self->n_actions),
                 s_share (self->n_actions, self->n_actions));
    tables [count++] = table;

    //  Infrastructure per OD and pillar
    table = s_table_new ("infra", "Infrastructure openings per OD and provider pillar",
                         "llrrrr");
    s_table_head (table, "OD", "Provider pillar", "Openings", "Seats/session",
                  "Sessions/month", "Seats/month");
    for (size_t i = 0; i < self->n_infra; i++) {
        const stx_report_infra_t *row = &self->infra [i];
        size_t pillars = 0;
        for (int p = 0; p < STX_PILLARS; p++) {
            const stx_report_capacity_t *cap = &row->by_pillar [p];
            if (cap->openings == 0)
                continue;
            pillars++;
            s_table_row (table, 0, s_dup (row->od_code), s_pillar_name (p),
                         s_num (cap->openings), s_num (cap->seats_per_session),
                         s_num (cap->sessions_per_month), s_num (cap->seats_per_month));
        }
        //  A subtotal when it adds something: several pillars, an unknown
        //  one, or no opening at all
        const stx_report_capacity_t *cap = &row->total;
        size_t known = 0;
        for (int p = 0; p < STX_PILLARS; p++)
            known += row->by_pillar [p].openings;
        if (pillars != 1 || known != cap->openings)
            s_table_row (table, pillars? -1: 0, s_dup (row->od_code),
                         s_dup (cap->openings? "all pillars": "none"),
                         s_num (cap->openings), s_num (cap->seats_per_session),
                         s_num (cap->sessions_per_month), s_num (cap->seats_per_month));
    }
    const stx_report_capacity_t *all = &self->infra_total;
    s_table_row (table, -1, s_dup ("All ODs"), s_dup ("all pillars"), s_num (all->openings),
                 s_num (all->seats_per_session), s_num (all->sessions_per_month),
                 s_num (all->seats_per_month));
    table->note = s_fmt ("Openings whose availability overlaps the period. Seats/month: "
                         "participants per session x sessions per month, summed.");
    tables [count++] = table;

    //  Openings
    table = s_table_new ("openings", "Infrastructure openings in the period", "lllllrrr");
    s_table_head (table, "OD", "Facility", "Provider", "Municipality", "Available",
                  "Seats/session", "Sessions/month", "Seats/month");
    table->max [1] = 48;
    for (size_t i = 0; i < self->n_openings; i++) {
        const stx_report_opening_t *opening = &self->openings [i];
        s_table_row (table, 0, s_dup (opening->od_code), s_dup (opening->facility),
                     s_dup (opening->provider), s_dup (opening->municipality),
                     s_date_range (opening->start, opening->end),
                     s_num (opening->seats_per_session), s_num (opening->sessions_per_month),
                     s_num (opening->seats_per_month));
    }
    table->empty = s_fmt ("No infrastructure opening is available in the period.");
    tables [count++] = table;

    //  Moments
    table = s_table_new ("moments", "Network moments in the period", "lllllr");
    s_table_head (table, "Date", "Kind", "Title", "Organiser", "Municipality", "Capacity");
    table->max [2] = 56;
    for (size_t i = 0; i < self->n_moments; i++) {
        const stx_report_moment_t *moment = &self->moments [i];
        s_table_row (table, 0, *moment->end_date? s_fmt ("%s – %s", moment->date,
                                                        moment->end_date)
                                                : s_dup (moment->date),
                     s_dup (strcmp (moment->kind, "state_of_the_stem") == 0
                            ? "State-of-the-STEM": "network moment"),
                     s_dup (moment->title), s_dup (moment->organiser),
                     s_dup (moment->municipality), s_num (moment->capacity));
    }
    if (self->n_moments)
        s_table_row (table, -1, s_dup ("All"), s_fmt ("%zu moments", self->n_moments),
                     s_dup (""), s_dup (""), s_dup (""), s_num (self->moments_capacity));
    table->empty = s_fmt ("No network moment in the period.");
    tables [count++] = table;

    //  Biennia
    table = s_table_new ("biennia", "State-of-the-STEM per biennium", "lll");
    s_table_head (table, "Biennium", "State-of-the-STEM", "Events");
    for (size_t i = 0; i < self->n_biennia; i++) {
        const stx_report_biennium_t *biennium = &self->biennia [i];
        s_table_row (table, 0, s_fmt ("%.4s-%.4s", biennium->from, biennium->to),
                     biennium->state_of_the_stem
                         ? s_fmt ("held (%zu)", biennium->state_of_the_stem)
                         : s_dup ("none"),
                     s_dup (biennium->events));
    }
    table->note = s_fmt ("Bienniums start on 1 January of an odd year (2029-2030 is the "
                         "Agenda's last); the whole biennium is checked, also outside the "
                         "period.");
    tables [count++] = table;

    //  Actions
    table = s_table_new ("actions", "Actions in the period", "lllllll");
    s_table_head (table, "Action", "Status", "Period", "Lead", "Pillars", "ODs", "Title");
    table->max [0] = 44;
    table->max [6] = 56;
    for (size_t i = 0; i < self->n_actions; i++) {
        const stx_report_action_t *action = &self->actions [i];
        s_table_row (table, 0, s_dup (action->key), s_dup (action->status),
                     s_date_range (action->start, action->end),
                     s_dup (stx_report_pillar_id (action->lead)),
                     s_pillar_marks (action->pillars),
                     s_join (action->od_codes, action->n_od_codes, ", "),
                     s_dup (action->title));
    }
    table->note = s_fmt ("Pillars: G government, K knowledge institutions, I industry, "
                         "C civil society (owner and partners).");
    table->empty = s_fmt ("No action in the period.");
    tables [count++] = table;
    assert (count <= S_OP_TABLES);
    return count;
}


//  --------------------------------------------------------------------------
//  Text and Markdown

static void
s_render_text (const stx_report_t *self, s_table_t **tables, size_t count, FILE *out)
{
    s_underline (out, "STEM-Agenda 2030 - operational monitoring (section 7.1)", '=');
    fprintf (out, "Period %s to %s; catalogue as of sequence %llu.\n", self->from, self->to,
             (unsigned long long) self->seq);
    for (size_t i = 0; i < count; i++)
        s_table_text (tables [i], out);
}

static void
s_render_markdown (const stx_report_t *self, s_table_t **tables, size_t count, FILE *out)
{
    fprintf (out, "# STEM-Agenda 2030 – operational monitoring (section 7.1)\n\n"
             "Period **%s** to **%s**; catalogue as of sequence %llu.\n",
             self->from, self->to, (unsigned long long) self->seq);
    for (size_t i = 0; i < count; i++)
        s_table_markdown (tables [i], out);
}


//  --------------------------------------------------------------------------
//  CSV: one long table

static void
s_csv_goal (FILE *out, const stx_report_goal_t *goal, const char *measure, uint64_t value)
{
    char number [24];
    snprintf (number, sizeof (number), "%llu", (unsigned long long) value);
    s_csv_line (out, 6, "goal", goal->code, goal->parent, measure, number, goal->title);
}

static void
s_csv_value (FILE *out, const char *section, const char *key, const char *parent,
             const char *measure, uint64_t value, const char *label)
{
    char number [24];
    snprintf (number, sizeof (number), "%llu", (unsigned long long) value);
    s_csv_line (out, 6, section, key, parent, measure, number, label);
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

static void
s_render_csv (const stx_report_t *self, FILE *out)
{
    char seq [24];
    snprintf (seq, sizeof (seq), "%llu", (unsigned long long) self->seq);
    s_csv_line (out, 6, "section", "key", "parent", "measure", "value", "label");
    s_csv_line (out, 6, "report", "operational", "", "from", self->from, "");
    s_csv_line (out, 6, "report", "operational", "", "to", self->to, "");
    s_csv_line (out, 6, "report", "operational", "", "as_of_seq", seq, "");
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
            snprintf (measure, sizeof (measure), "lead.%s", s_pillar_ids [p]);
            s_csv_goal (out, goal, measure, goal->lead [p]);
        }
        for (int p = 0; p < STX_PILLARS; p++) {
            snprintf (measure, sizeof (measure), "involved.%s", s_pillar_ids [p]);
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
        s_csv_value (out, "pillar", s_pillar_ids [p], "", "lead", self->lead [p],
                     s_pillar_names [p]);
        s_csv_value (out, "pillar", s_pillar_ids [p], "", "involved", self->involved [p],
                     s_pillar_names [p]);
    }
    for (int n = 0; n <= STX_PILLARS; n++) {
        char key [4];
        snprintf (key, sizeof (key), "%d", n);
        s_csv_value (out, "pillars_involved", key, "", "actions", self->by_pillar_count [n], "");
    }
    for (size_t i = 0; i < self->n_infra; i++) {
        const stx_report_infra_t *row = &self->infra [i];
        for (int p = 0; p < STX_PILLARS; p++)
            s_csv_capacity (out, row->od_code, s_pillar_ids [p], &row->by_pillar [p]);
        s_csv_capacity (out, row->od_code, "all", &row->total);
    }
    s_csv_capacity (out, "all", "all", &self->infra_total);
    for (size_t i = 0; i < self->n_openings; i++) {
        const stx_report_opening_t *opening = &self->openings [i];
        const char *key = opening->key;
        s_csv_line (out, 6, "opening", key, opening->od_code, "provider", opening->provider,
                    opening->facility);
        s_csv_line (out, 6, "opening", key, opening->od_code, "pillar",
                    stx_report_pillar_id (opening->pillar), opening->facility);
        s_csv_line (out, 6, "opening", key, opening->od_code, "municipality",
                    opening->municipality, opening->facility);
        s_csv_line (out, 6, "opening", key, opening->od_code, "start", opening->start,
                    opening->facility);
        s_csv_line (out, 6, "opening", key, opening->od_code, "end", opening->end,
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
        char *topics = s_join (moment->topic_od_codes, moment->n_topic_od_codes, ";");
        s_csv_line (out, 6, "moment", moment->key, moment->kind, "date", moment->date,
                    moment->title);
        s_csv_line (out, 6, "moment", moment->key, moment->kind, "end_date", moment->end_date,
                    moment->title);
        s_csv_line (out, 6, "moment", moment->key, moment->kind, "organiser",
                    moment->organiser, moment->title);
        s_csv_line (out, 6, "moment", moment->key, moment->kind, "municipality",
                    moment->municipality, moment->title);
        s_csv_value (out, "moment", moment->key, moment->kind, "capacity", moment->capacity,
                     moment->title);
        s_csv_line (out, 6, "moment", moment->key, moment->kind, "topic_od_codes", topics,
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
        char *ods = s_join (action->od_codes, action->n_od_codes, ";");
        char *groups = s_join (action->target_groups, action->n_target_groups, ";");
        char *partners = s_join (action->partners, action->n_partners, ";");
        char pillars [64] = "";
        for (int p = 0; p < STX_PILLARS; p++)
            if (action->pillars & (1u << p)) {
                if (*pillars)
                    strcat (pillars, ";");
                strcat (pillars, s_pillar_ids [p]);
            }
        const char *key = action->key;
        s_csv_line (out, 6, "action", key, action->owner, "status", action->status,
                    action->title);
        s_csv_line (out, 6, "action", key, action->owner, "start", action->start, action->title);
        s_csv_line (out, 6, "action", key, action->owner, "end", action->end, action->title);
        s_csv_line (out, 6, "action", key, action->owner, "od_codes", ods, action->title);
        s_csv_line (out, 6, "action", key, action->owner, "lead",
                    stx_report_pillar_id (action->lead), action->title);
        s_csv_line (out, 6, "action", key, action->owner, "pillars", pillars, action->title);
        s_csv_value (out, "action", key, action->owner, "n_pillars", action->n_pillars,
                     action->title);
        s_csv_line (out, 6, "action", key, action->owner, "partners", partners, action->title);
        s_csv_line (out, 6, "action", key, action->owner, "target_groups", groups,
                    action->title);
        free (ods);
        free (groups);
        free (partners);
    }
}


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
        json_object_set_new (object, s_pillar_ids [p], json_integer ((json_int_t) counts [p]));
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
    return pillar >= 0? json_string (s_pillar_ids [pillar]): json_null ();
}

static json_t *
s_operational_json (const stx_report_t *self)
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
        json_object_set_new (pillars, s_pillar_ids [p], json_pack ("{s:I, s:I}",
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
            json_object_set_new (by_pillar, s_pillar_ids [p],
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
                json_array_append_new (involved, json_string (s_pillar_ids [p]));
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

static void
s_render_json (json_t *root, FILE *out)
{
    assert (root);
    char *text = json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
    if (!text)
        abort ();
    fputs (text, out);
    fputc ('\n', out);
    free (text);
}


//  --------------------------------------------------------------------------
//  HTML: page, charts

static const char *s_css =
    ":root{--ink:#1d2433;--muted:#5b6578;--line:#d9dee7;--bg:#f5f6f8;--card:#fff;"
    "--accent:#ffe615;--gap:#d64545}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "header{background:#1d2433;color:#fff;padding:22px 32px 18px;"
    "border-bottom:6px solid var(--accent)}\n"
    "header h1{margin:0 0 4px;font-size:24px;font-weight:650;letter-spacing:.2px}\n"
    "header p{margin:0;color:#c9cfdb}\n"
    "main{max-width:1200px;margin:0 auto;padding:20px 32px 40px}\n"
    ".kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin:0 0 18px}\n"
    ".kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:12px 14px}\n"
    ".kpi .v{display:block;font-size:26px;font-weight:700;font-variant-numeric:tabular-nums}\n"
    ".kpi .l{display:block;color:var(--muted);font-size:12px;line-height:1.3}\n"
    ".kpi.alert .v{color:var(--gap)}\n"
    ".charts{display:grid;grid-template-columns:1fr 1fr;gap:16px;margin-bottom:18px}\n"
    ".card{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:14px 16px}\n"
    ".card.wide{grid-column:1/-1}\n"
    ".card h2,.block h2{margin:0 0 8px;font-size:16px;font-weight:650}\n"
    ".card p.caption{margin:6px 0 0;color:var(--muted);font-size:12px}\n"
    "svg{display:block;width:100%;height:auto}\n"
    "svg text{font-family:inherit;fill:var(--ink)}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:4px 0 8px;font-size:12px;"
    "color:var(--muted)}\n"
    ".legend i{display:inline-block;width:11px;height:11px;border-radius:2px;"
    "margin-right:5px;vertical-align:-1px}\n"
    ".block{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:14px 16px;margin-bottom:16px;overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);"
    "vertical-align:top}\n"
    "th{color:var(--muted);font-weight:600;font-size:12px;white-space:nowrap}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "tr.lvl0 td{font-weight:650;background:#eef1f6}\n"
    "#t-goals tr.lvl1 td:first-child{padding-left:20px}\n"
    "#t-goals tr.lvl2 td:first-child{padding-left:36px}\n"
    "#t-goals tr.lvl1 td{font-weight:600}\n"
    "#t-summary tr.lvl0 td,#t-pillars tr.lvl0 td,#t-collaboration tr.lvl0 td,"
    "#t-infra tr.lvl0 td,#t-openings tr.lvl0 td,#t-moments tr.lvl0 td,#t-biennia tr.lvl0 td,"
    "#t-actions tr.lvl0 td,#t-gaps tr.lvl0 td,.strategic tr.lvl0 td{font-weight:400;"
    "background:none}\n"
    "tr.total td{font-weight:650;border-top:2px solid var(--line)}\n"
    "p.note,p.empty{color:var(--muted);font-size:12px;margin:8px 0 0}\n"
    ".tag{display:inline-block;padding:0 6px;border-radius:9px;font-size:11px;"
    "font-weight:600}\n"
    ".tag.fed{background:#d3f0dc;color:#1d6b3a}.tag.out{background:#fde2c4;color:#8a4b0f}\n"
    "footer{color:var(--muted);font-size:12px;text-align:center;padding:0 0 24px}\n";

static void
s_html_head (FILE *out, const char *title)
{
    fputs ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>", out);
    s_html_text (out, title);
    fprintf (out, "</title>\n<style>\n%s</style>\n</head>\n", s_css);
}

//  A "nice" axis maximum at least value, four times a round tick (1, 2,
//  3, 4, 5, 6, 8, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100, ...), so the
//  quarter lines fall on whole numbers
static uint64_t
s_nice_max (uint64_t value)
{
    static const uint64_t bases [] = { 10, 15, 20, 25, 30, 40, 50, 60, 80 };
    static const uint64_t small [] = { 1, 2, 3, 4, 5, 6, 8 };
    for (size_t i = 0; i < sizeof (small) / sizeof (small [0]); i++)
        if (4 * small [i] >= value)
            return 4 * small [i];
    for (uint64_t scale = 1; ; scale *= 10)
        for (size_t i = 0; i < sizeof (bases) / sizeof (bases [0]); i++)
            if (4 * bases [i] * scale >= value)
                return 4 * bases [i] * scale;
}

//  Split text into at most two lines of about width characters at spaces
//  (the second cut with "…"); line1 and line2 get size bytes each
static void
s_wrap2 (const char *text, size_t width, char *line1, char *line2, size_t size)
{
    *line1 = *line2 = '\0';
    //  Byte offset of the last space within the first width characters
    size_t chars = 0, cut = 0, at = 0;
    for (; text [at] && chars <= width; at++) {
        if (((unsigned char) text [at] & 0xC0) != 0x80)
            chars++;
        if (text [at] == ' ' && chars <= width)
            cut = at;
    }
    if (!text [at] && chars <= width) {
        snprintf (line1, size, "%s", text);
        return;
    }
    if (cut == 0)
        cut = at;
    snprintf (line1, size, "%.*s", (int) cut, text);
    const char *rest = text + cut + (text [cut] == ' ');
    if (s_chars (rest) <= width) {
        snprintf (line2, size, "%s", rest);
        return;
    }
    size_t keep = 0, chars2 = 0, last_space = 0;
    for (; rest [keep] && chars2 < width - 2; keep++) {
        if (((unsigned char) rest [keep] & 0xC0) != 0x80)
            chars2++;
        if (rest [keep] == ' ')
            last_space = keep;
    }
    if (last_space)
        keep = last_space;
    snprintf (line2, size, "%.*s …", (int) keep, rest);
}

static void
s_legend_pillars (FILE *out, bool tints)
{
    fputs ("<div class=\"legend\">", out);
    for (int p = 0; p < STX_PILLARS; p++)
        fprintf (out, "<span><i style=\"background:%s\"></i>%s</span>",
                 s_pillar_colours [p], s_pillar_names [p]);
    if (tints)
        fputs ("<span>(solid: leading, pale: involved as owner or partner)</span>", out);
    fputs ("</div>\n", out);
}

//  Vertical grid lines and axis labels for a bar area at x0..x0+width
static void
s_axis (FILE *out, double x0, double width, double top, double bottom, uint64_t max)
{
    for (int i = 0; i <= 4; i++) {
        double x = x0 + width * i / 4.0;
        fprintf (out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e7ee\"/>",
                 x, top, x, bottom);
        uint64_t tick = max * (uint64_t) i / 4;
        if (max % 4 == 0 || i == 0 || i == 4)
            fprintf (out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" "
                     "fill=\"#5b6578\">%llu</text>", x, bottom + 12, (unsigned long long) tick);
    }
    fputc ('\n', out);
}

//  One horizontal bar for a goal: segments per lead pillar, then the
//  value. y is the bar top.
static void
s_goal_bar (FILE *out, const stx_report_goal_t *goal, double x0, double width, double y,
            double height, uint64_t max)
{
    double x = x0;
    for (int p = 0; p < STX_PILLARS; p++) {
        if (!goal->lead [p])
            continue;
        double w = width * (double) goal->lead [p] / (double) max;
        fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\">"
                 "<title>%s: %zu led by %s</title></rect>",
                 x, y, w, height, s_pillar_colours [p], goal->code, goal->lead [p],
                 s_pillar_names [p]);
        x += w;
    }
    //  Actions with no known lead pillar
    size_t led = 0;
    for (int p = 0; p < STX_PILLARS; p++)
        led += goal->lead [p];
    if (goal->actions > led) {
        double w = width * (double) (goal->actions - led) / (double) max;
        fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                 "fill=\"#9aa3b2\"/>", x, y, w, height);
        x += w;
    }
    if (goal->actions)
        fprintf (out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" font-weight=\"600\">%zu</text>",
                 x + 5, y + height / 2 + 4, goal->actions);
    else
        fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"30\" height=\"%.1f\" rx=\"3\" "
                 "fill=\"#d64545\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
                 "font-weight=\"700\" fill=\"#fff\" style=\"fill:#fff\">gap</text>",
                 x0, y, height, x0 + 6, y + height / 2 + 3.5);
    fputc ('\n', out);
}

static void
s_chart_sd (const stx_report_t *self, FILE *out)
{
    uint64_t max = 1;
    size_t sds = 0;
    for (size_t g = 0; g < self->n_goals; g++)
        if (self->goals [g].level == 0) {
            sds++;
            if (self->goals [g].actions > max)
                max = self->goals [g].actions;
        }
    max = s_nice_max (max);
    double row = 52, top = 8, left = 250, width = 250;
    double height = top + row * (double) sds + 22;
    fputs ("<div class=\"card\">\n<h2>Actions per strategic goal (SD)</h2>\n", out);
    s_legend_pillars (out, false);
    fprintf (out, "<svg class=\"chart\" id=\"chart-sd\" data-chart=\"sd\" viewBox=\"0 0 560 %.0f\" "
             "role=\"img\" aria-label=\"Actions per strategic goal\">\n", height);
    s_axis (out, left, width, top - 4, top + row * (double) sds, max);
    size_t i = 0;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        if (goal->level != 0)
            continue;
        double y = top + row * (double) i++;
        char line1 [256], line2 [256];
        s_wrap2 (goal->title, 44, line1, line2, sizeof (line1));
        fprintf (out, "<text x=\"0\" y=\"%.1f\" font-size=\"12\" font-weight=\"700\">%s</text>"
                 "<text x=\"0\" y=\"%.1f\" font-size=\"10\" fill=\"#5b6578\" "
                 "style=\"fill:#5b6578\">", y + 10, goal->code, y + 23);
        s_html_text (out, line1);
        fprintf (out, "</text><text x=\"0\" y=\"%.1f\" font-size=\"10\" fill=\"#5b6578\" "
                 "style=\"fill:#5b6578\">", y + 35);
        s_html_text (out, line2);
        fputs ("</text>", out);
        s_goal_bar (out, goal, left, width, y + 10, 24, max);
    }
    fputs ("</svg>\n<p class=\"caption\">Each bar split by the lead pillar (the owner's). "
           "An action serving several SDs counts for each.</p>\n</div>\n", out);
}

static void
s_chart_od (const stx_report_t *self, FILE *out)
{
    uint64_t max = 1;
    for (size_t g = 0; g < self->n_goals; g++)
        if (self->goals [g].level == 2 && self->goals [g].actions > max)
            max = self->goals [g].actions;
    max = s_nice_max (max);
    double row = 19, top = 6, left = 140, width = 380, label = 560;
    double height = top + row * (double) self->ods + 22;
    fputs ("<div class=\"card wide\">\n<h2>Actions per operational goal (OD)</h2>\n", out);
    s_legend_pillars (out, false);
    fprintf (out, "<svg class=\"chart\" id=\"chart-od\" data-chart=\"od\" "
             "viewBox=\"0 0 1130 %.0f\" role=\"img\" "
             "aria-label=\"Actions per operational goal\">\n", height);
    //  SD bands
    size_t i = 0;
    bool shade = false;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        if (goal->level != 0)
            continue;
        double y = top + row * (double) i;
        double h = row * (double) goal->ods;
        if (shade)
            fprintf (out, "<rect x=\"0\" y=\"%.1f\" width=\"1130\" height=\"%.1f\" "
                     "fill=\"#f3f5f9\"/>", y - 1, h);
        fprintf (out, "<text x=\"4\" y=\"%.1f\" font-size=\"12\" font-weight=\"700\">%s</text>\n",
                 y + 13, goal->code);
        shade = !shade;
        i += goal->ods;
    }
    s_axis (out, left, width, top - 2, top + row * (double) self->ods, max);
    i = 0;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        if (goal->level != 2)
            continue;
        double y = top + row * (double) i++;
        fprintf (out, "<text x=\"60\" y=\"%.1f\" font-size=\"11\">%s</text>", y + 12, goal->code);
        s_goal_bar (out, goal, left, width, y + 2, 14, max);
        fprintf (out, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" fill=\"#5b6578\" "
                 "style=\"fill:#5b6578\">", label, y + 12);
        //  The title, cut to about 90 characters on a word boundary
        const char *title = goal->title;
        if (s_chars (title) > 92) {
            char cut [400];
            snprintf (cut, sizeof (cut), "%s", title);
            size_t at = 88;
            while (at > 0 && cut [at] != ' ')
                at--;
            snprintf (cut + at, sizeof (cut) - at, " …");
            s_html_text (out, cut);
        }
        else
            s_html_text (out, title);
        fputs ("</text>\n", out);
    }
    fprintf (out, "</svg>\n<p class=\"caption\">%zu of %zu operational goals have at least one "
             "action in the period; red marks a gap.</p>\n</div>\n",
             self->ods_covered, self->ods);
}

static void
s_chart_pillars (const stx_report_t *self, FILE *out)
{
    uint64_t max = s_nice_max (self->n_actions? self->n_actions: 1);
    double row = 40, top = 8, left = 172, width = 260;
    double height = top + row * STX_PILLARS + 22;
    fputs ("<div class=\"card\">\n<h2>Helix pillars: leading and involved</h2>\n", out);
    s_legend_pillars (out, true);
    fprintf (out, "<svg class=\"chart\" id=\"chart-pillars\" data-chart=\"pillars\" "
             "viewBox=\"0 0 560 %.0f\" role=\"img\" aria-label=\"Helix pillars\">\n", height);
    s_axis (out, left, width, top - 4, top + row * STX_PILLARS, max);
    for (int p = 0; p < STX_PILLARS; p++) {
        double y = top + row * p;
        double involved = width * (double) self->involved [p] / (double) max;
        double lead = width * (double) self->lead [p] / (double) max;
        fprintf (out, "<text x=\"0\" y=\"%.1f\" font-size=\"12\" font-weight=\"700\">%s</text>"
                 "<text x=\"0\" y=\"%.1f\" font-size=\"10\" fill=\"#5b6578\" "
                 "style=\"fill:#5b6578\">%s</text>",
                 y + 14, s_pillar_names [p], y + 27, s_pillar_terms [p]);
        fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"24\" fill=\"%s\">"
                 "<title>%s: involved in %zu actions</title></rect>",
                 left, y + 4, involved, s_pillar_tints [p], s_pillar_names [p],
                 self->involved [p]);
        fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"24\" fill=\"%s\">"
                 "<title>%s: leads %zu actions</title></rect>",
                 left, y + 4, lead, s_pillar_colours [p], s_pillar_names [p], self->lead [p]);
        fprintf (out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" font-weight=\"600\">"
                 "%zu involved · %zu lead</text>\n",
                 left + (involved > lead? involved: lead) + 6, y + 20, self->involved [p],
                 self->lead [p]);
    }
    fprintf (out, "</svg>\n<p class=\"caption\">Out of %zu actions in the period.</p>\n</div>\n",
             self->n_actions);
}

//  sin and cos by their Taylor series (the library links no libm); angle
//  in [0, 2 pi], error far below what "%.2f" prints.
#define S_PI 3.14159265358979323846

static double
s_sin (double x)
{
    while (x > S_PI)
        x -= 2 * S_PI;
    while (x < -S_PI)
        x += 2 * S_PI;
    double term = x, sum = x;
    for (int n = 1; n < 12; n++) {
        term *= -x * x / ((2 * n) * (2 * n + 1));
        sum += term;
    }
    return sum;
}

static double
s_cos (double x)
{
    return s_sin (x + S_PI / 2);
}

static const char *s_count_colours [STX_PILLARS + 1] = {
    "#9aa3b2", "#cfe0f5", "#8fb5e3", "#4b84c8", "#1d4f8f"
};

static void
s_chart_mix (const stx_report_t *self, FILE *out)
{
    fputs ("<div class=\"card\">\n<h2>Quadruple helix: pillars per action</h2>\n", out);
    fputs ("<svg class=\"chart\" id=\"chart-mix\" data-chart=\"mix\" viewBox=\"0 0 560 200\" "
           "role=\"img\" aria-label=\"Pillars per action\">\n", out);
    double cx = 100, cy = 100, outer = 88, inner = 54;
    uint64_t total = self->n_actions;
    double angle = 0;
    for (int n = 0; n <= STX_PILLARS; n++) {
        uint64_t value = self->by_pillar_count [n];
        if (!value || !total)
            continue;
        double sweep = 2 * S_PI * (double) value / (double) total;
        if (sweep > 2 * S_PI - 1e-6)
            sweep = 2 * S_PI - 1e-4;    //  a full ring: one arc just short
        double a0 = angle, a1 = angle + sweep;
        double x0 = cx + outer * s_sin (a0), y0 = cy - outer * s_cos (a0);
        double x1 = cx + outer * s_sin (a1), y1 = cy - outer * s_cos (a1);
        double x2 = cx + inner * s_sin (a1), y2 = cy - inner * s_cos (a1);
        double x3 = cx + inner * s_sin (a0), y3 = cy - inner * s_cos (a0);
        int large = sweep > S_PI? 1: 0;
        fprintf (out, "<path d=\"M%.2f %.2fA%.0f %.0f 0 %d 1 %.2f %.2fL%.2f %.2f"
                 "A%.0f %.0f 0 %d 0 %.2f %.2fZ\" fill=\"%s\" stroke=\"#fff\" stroke-width=\"1.5\">"
                 "<title>%d pillar%s: %llu actions</title></path>\n",
                 x0, y0, outer, outer, large, x1, y1, x2, y2, inner, inner, large, x3, y3,
                 s_count_colours [n], n, n == 1? "": "s", (unsigned long long) value);
        angle = a1;
    }
    if (!total)
        fprintf (out, "<path d=\"M%.0f %.0fm-88 0a88 88 0 1 0 176 0a88 88 0 1 0 -176 0\" "
                 "fill=\"#eef1f6\"/>\n", cx, cy);
    fprintf (out, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"26\" font-weight=\"700\" "
             "text-anchor=\"middle\">%llu</text><text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
             "text-anchor=\"middle\" fill=\"#5b6578\" style=\"fill:#5b6578\">actions</text>\n",
             cx, cy + 6, (unsigned long long) total, cx, cy + 22);
    //  Legend with counts and bars
    double y = 34;
    for (int n = STX_PILLARS; n >= 0; n--) {
        if (n == 0 && self->by_pillar_count [0] == 0)
            continue;
        uint64_t value = self->by_pillar_count [n];
        double w = total? 170.0 * (double) value / (double) total: 0;
        fprintf (out, "<rect x=\"230\" y=\"%.0f\" width=\"14\" height=\"14\" rx=\"2\" fill=\"%s\"/>"
                 "<text x=\"252\" y=\"%.0f\" font-size=\"12\">%s</text>"
                 "<rect x=\"360\" y=\"%.0f\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>"
                 "<text x=\"%.1f\" y=\"%.0f\" font-size=\"12\" font-weight=\"600\">%llu</text>\n",
                 y, s_count_colours [n], y + 11,
                 n == 4? "all 4 pillars": n == 0? "pillar unknown":
                 n == 1? "1 pillar": n == 2? "2 pillars": "3 pillars",
                 y, w, s_count_colours [n], 366 + w, y + 11, (unsigned long long) value);
        y += 30;
    }
    fputs ("</svg>\n<p class=\"caption\">Pillars an action involves: its owner's and its "
           "partners'.</p>\n</div>\n", out);
}

static void
s_chart_infra (const stx_report_t *self, FILE *out)
{
    uint64_t max = 1;
    for (size_t i = 0; i < self->n_infra; i++)
        if (self->infra [i].total.seats_per_month > max)
            max = self->infra [i].total.seats_per_month;
    max = s_nice_max (max);
    double row = 46, top = 8, left = 120, width = 360;
    double height = top + row * (double) self->n_infra + 22;
    fputs ("<div class=\"card\">\n<h2>Infrastructure openings: seats per month</h2>\n", out);
    s_legend_pillars (out, false);
    fprintf (out, "<svg class=\"chart\" id=\"chart-infra\" data-chart=\"infra\" "
             "viewBox=\"0 0 560 %.0f\" role=\"img\" aria-label=\"Seats per month per OD\">\n",
             height);
    s_axis (out, left, width, top - 4, top + row * (double) self->n_infra, max);
    for (size_t i = 0; i < self->n_infra; i++) {
        const stx_report_infra_t *infra = &self->infra [i];
        double y = top + row * (double) i;
        fprintf (out, "<text x=\"0\" y=\"%.1f\" font-size=\"12\" font-weight=\"700\">%s</text>"
                 "<text x=\"0\" y=\"%.1f\" font-size=\"10\" fill=\"#5b6578\" "
                 "style=\"fill:#5b6578\">%zu opening%s</text>",
                 y + 16, infra->od_code, y + 30, infra->total.openings,
                 infra->total.openings == 1? "": "s");
        double x = left;
        for (int p = 0; p < STX_PILLARS; p++) {
            const stx_report_capacity_t *cap = &infra->by_pillar [p];
            if (!cap->seats_per_month)
                continue;
            double w = width * (double) cap->seats_per_month / (double) max;
            fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"26\" fill=\"%s\">"
                     "<title>%s, %s: %zu openings, %llu seats per month</title></rect>",
                     x, y + 6, w, s_pillar_colours [p], infra->od_code, s_pillar_names [p],
                     cap->openings, (unsigned long long) cap->seats_per_month);
            x += w;
        }
        fprintf (out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" font-weight=\"600\">"
                 "%llu</text>\n",
                 x + 5, y + 23, (unsigned long long) infra->total.seats_per_month);
    }
    fprintf (out, "</svg>\n<p class=\"caption\">%zu openings in the period offer %llu seats "
             "per month in all.</p>\n</div>\n", self->n_openings,
             (unsigned long long) self->infra_total.seats_per_month);
}

//  Fill colour of a coverage cell with count actions
static const char *
s_coverage_colour (size_t count)
{
    return count == 0? "#d64545": count == 1? "#cdeee0": count <= 3? "#7fcfae":
           count <= 6? "#2fa67a": "#16704f";
}

static void
s_chart_coverage (const stx_report_t *self, FILE *out)
{
    //  One row per SD, one cell per OD
    size_t widest = 0, sds = 0;
    for (size_t g = 0; g < self->n_goals; g++)
        if (self->goals [g].level == 0) {
            sds++;
            if (self->goals [g].ods > widest)
                widest = self->goals [g].ods;
        }
    double cell = 78, gap = 6, left = 52, rowh = 54;
    double height = rowh * (double) sds + 4;
    double width = left + (cell + gap) * (double) (widest? widest: 1);
    fprintf (out, "<div class=\"card wide\">\n<h2>Coverage of the %zu operational goals</h2>\n"
             "<div class=\"legend\">"
             "<span><i style=\"background:#d64545\"></i>gap (no action)</span>"
             "<span><i style=\"background:#cdeee0\"></i>1 action</span>"
             "<span><i style=\"background:#7fcfae\"></i>2-3</span>"
             "<span><i style=\"background:#2fa67a\"></i>4-6</span>"
             "<span><i style=\"background:#16704f\"></i>7 or more</span></div>\n", self->ods);
    fprintf (out, "<svg class=\"chart\" id=\"chart-coverage\" data-chart=\"coverage\" "
             "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"Coverage of the operational "
             "goals\">\n", width, height);
    size_t row = 0;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *sd = &self->goals [g];
        if (sd->level != 0)
            continue;
        double y = rowh * (double) row++;
        fprintf (out, "<text x=\"0\" y=\"%.1f\" font-size=\"13\" font-weight=\"700\">%s</text>"
                 "<text x=\"0\" y=\"%.1f\" font-size=\"10\" fill=\"#5b6578\" "
                 "style=\"fill:#5b6578\">%zu/%zu</text>\n",
                 y + 22, sd->code, y + 36, sd->ods_covered, sd->ods);
        size_t col = 0;
        for (size_t o = g + 1; o < self->n_goals && self->goals [o].level != 0; o++) {
            const stx_report_goal_t *od = &self->goals [o];
            if (od->level != 2)
                continue;
            double x = left + (cell + gap) * (double) col++;
            bool dark = od->actions == 0 || od->actions >= 4;
            char count [24] = "gap";
            if (od->actions)
                snprintf (count, sizeof (count), "%zu", od->actions);
            const char *ink = dark? "#ffffff": "#1d2433";
            fprintf (out, "<rect class=\"od %s\" data-od=\"%s\" data-actions=\"%zu\" x=\"%.1f\" "
                     "y=\"%.1f\" width=\"%.0f\" height=\"46\" rx=\"5\" fill=\"%s\"><title>%s: ",
                     od->actions? "covered": "gap", od->code, od->actions, x, y + 2, cell,
                     s_coverage_colour (od->actions), od->code);
            s_html_text (out, od->title);
            fprintf (out, " (%zu actions)</title></rect>", od->actions);
            fprintf (out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" "
                     "fill=\"%s\" style=\"fill:%s\">%s</text>"
                     "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"700\" "
                     "text-anchor=\"middle\" fill=\"%s\" style=\"fill:%s\">%s</text>\n",
                     x + cell / 2, y + 19, ink, ink, od->code + 3,
                     x + cell / 2, y + 38, ink, ink, count);
        }
    }
    fputs ("</svg>\n</div>\n", out);
}

static void
s_kpi (FILE *out, const char *id, const char *value, const char *label, bool alert)
{
    fprintf (out, "<div class=\"kpi%s\"><span class=\"v\" id=\"kpi-%s\">%s</span>"
             "<span class=\"l\">%s</span></div>\n", alert? " alert": "", id, value, label);
}

static void
s_render_html (const stx_report_t *self, s_table_t **tables, size_t count, FILE *out)
{
    size_t gaps = self->ods - self->ods_covered;
    char title [128];
    snprintf (title, sizeof (title), "STEM-Agenda 2030 – operational monitoring %s to %s",
              self->from, self->to);
    s_html_head (out, title);
    fprintf (out, "<body>\n<header>\n<h1>STEM-Agenda 2030 – operational monitoring</h1>\n"
             "<p>Section 7.1 · period %s to %s · catalogue as of sequence %llu</p>\n"
             "</header>\n", self->from, self->to, (unsigned long long) self->seq);
    fprintf (out, "<main id=\"report\" data-report=\"operational\" data-from=\"%s\" "
             "data-to=\"%s\" data-seq=\"%llu\" data-actions=\"%zu\" data-ods=\"%zu\" "
             "data-ods-covered=\"%zu\" data-gaps=\"%zu\"",
             self->from, self->to, (unsigned long long) self->seq, self->n_actions, self->ods,
             self->ods_covered, gaps);
    for (int n = 0; n <= STX_PILLARS; n++)
        fprintf (out, " data-pillars-%d=\"%zu\"", n, self->by_pillar_count [n]);
    fprintf (out, " data-openings=\"%zu\" data-seats-per-month=\"%llu\" data-moments=\"%zu\" "
             "data-state-of-the-stem=\"%zu\">\n", self->n_openings,
             (unsigned long long) self->infra_total.seats_per_month, self->n_moments,
             self->moments_state_of_the_stem);

    char value [64];
    fputs ("<div class=\"kpis\">\n", out);
    snprintf (value, sizeof (value), "%zu", self->n_actions);
    s_kpi (out, "actions", value, "actions (initiatives active in the period)", false);
    snprintf (value, sizeof (value), "%zu/%zu", self->ods_covered, self->ods);
    s_kpi (out, "coverage", value, "operational goals with an action", false);
    snprintf (value, sizeof (value), "%zu", gaps);
    s_kpi (out, "gaps", value, gaps == 1? "gap: OD without an action"
                                        : "gaps: ODs without an action", gaps > 0);
    snprintf (value, sizeof (value), "%zu", self->by_pillar_count [STX_PILLARS]);
    s_kpi (out, "four-pillars", value, "actions involving all 4 helix pillars", false);
    snprintf (value, sizeof (value), "%zu", self->n_openings);
    s_kpi (out, "openings", value, "infrastructure openings", false);
    snprintf (value, sizeof (value), "%zu", self->n_moments);
    s_kpi (out, "moments", value, self->moments_state_of_the_stem
                                  ? "network moments, State-of-the-STEM included"
                                  : "network moments (no State-of-the-STEM)", false);
    fputs ("</div>\n<div class=\"charts\">\n", out);
    s_chart_sd (self, out);
    s_chart_pillars (self, out);
    s_chart_mix (self, out);
    s_chart_infra (self, out);
    s_chart_coverage (self, out);
    s_chart_od (self, out);
    fputs ("</div>\n", out);
    for (size_t i = 0; i < count; i++)
        s_table_html (tables [i], out);
    fputs ("</main>\n<footer>Generated by stemx from the replicated STEM catalogue. "
           "Definitions: docs/REPORTS.md.</footer>\n</body>\n</html>\n", out);
}

stx_status_t
stx_report_render (const stx_report_t *self, stx_report_format_t format, FILE *out)
{
    assert (self);
    assert (out);
    if (format == STX_REPORT_CSV)
        s_render_csv (self, out);
    else
    if (format == STX_REPORT_JSON) {
        json_t *root = s_operational_json (self);
        s_render_json (root, out);
        json_decref (root);
    }
    else {
        s_table_t *tables [S_OP_TABLES];
        size_t count = s_operational_tables (self, tables);
        switch (format) {
            case STX_REPORT_TEXT:     s_render_text (self, tables, count, out); break;
            case STX_REPORT_MARKDOWN: s_render_markdown (self, tables, count, out); break;
            case STX_REPORT_HTML:     s_render_html (self, tables, count, out); break;
            case STX_REPORT_CSV:
            case STX_REPORT_JSON:     break;
        }
        for (size_t i = 0; i < count; i++)
            s_table_destroy (&tables [i]);
    }
    return fflush (out) == 0 && !ferror (out)? STX_OK: STX_ERR_IO;
}


//  --------------------------------------------------------------------------
//  The strategic model

//  Which existing instruments (7.2) measure which aspect: our reading of
//  "measures_en" in the taxonomy, which does not link them itself.
static const struct {
    const char *aspect;
    const char *instruments;    //  comma-separated instrument ids
} s_aspect_instruments [] = {
    { "perception_stem", "wetenschapsbarometer" },
    { "inflow_outflow_stem_studies", "stem_monitor,schoolverlatersrapport" },
};

typedef struct {
    stx_strategic_t *self;
    size_t alloc;
} s_strategic_builder_t;

static void
s_indicator (s_strategic_builder_t *builder, const char *scope, const char *id,
             const char *name, bool fed, uint64_t value, char *detail)
{
    stx_strategic_t *self = builder->self;
    self->indicators = s_grow (self->indicators, &builder->alloc, self->n_indicators,
                               sizeof (stx_indicator_t));
    stx_indicator_t *indicator = &self->indicators [self->n_indicators++];
    indicator->scope = s_dup (scope);
    indicator->id = s_dup (id);
    indicator->name = s_dup (name);
    indicator->fed = fed;
    indicator->value = value;
    indicator->detail = detail? detail: s_dup ("");
    if (fed)
        self->n_fed++;
}

//  The SD an OD falls under, or NULL
static const char *
s_sd_of (const stx_report_t *report, const char *od)
{
    int goal = s_goal_find (report, od);
    while (goal >= 0 && report->goals [goal].level > 0)
        goal = s_goal_find (report, report->goals [goal].parent);
    return goal >= 0? report->goals [goal].code: NULL;
}

static bool
s_serves_sd (const stx_report_t *report, char **codes, size_t count, const char *sd)
{
    for (size_t i = 0; i < count; i++) {
        const char *of = s_sd_of (report, codes [i]);
        if (of && strcmp (of, sd) == 0)
            return true;
    }
    return false;
}

typedef struct {
    const char *name;
    size_t count;
} s_tally_t;

static int
s_compare_tally (const void *a, const void *b)
{
    const s_tally_t *x = (const s_tally_t *) a;
    const s_tally_t *y = (const s_tally_t *) b;
    if (x->count != y->count)
        return x->count > y->count? -1: 1;
    return strcmp (x->name, y->name);
}

//  Catalogue-fed indicators of one SD
static void
s_sd_indicators (s_strategic_builder_t *builder, const stx_report_t *report,
                 const stx_report_goal_t *sd)
{
    const char *code = sd->code;
    s_indicator (builder, code, "actions", "Actions serving the goal", true, sd->actions,
                 s_fmt ("initiatives active in the period with an OD under %s", code));
    //  Gaps of the SD
    char **gaps = (char **) s_alloc (report->n_goals * sizeof (char *));
    size_t n_gaps = 0;
    for (size_t g = 0; g < report->n_goals; g++) {
        const stx_report_goal_t *goal = &report->goals [g];
        if (goal->level == 2 && goal->actions == 0) {
            const char *of = s_sd_of (report, goal->code);
            if (of && strcmp (of, code) == 0)
                gaps [n_gaps++] = goal->code;
        }
    }
    char *gap_list = s_join (gaps, n_gaps, ", ");
    s_indicator (builder, code, "ods_covered", "Operational goals with at least one action", true,
                 sd->ods_covered, n_gaps? s_fmt ("of %zu ODs; gaps: %s", sd->ods, gap_list)
                                        : s_fmt ("of %zu ODs; no gaps", sd->ods));
    free (gap_list);
    free (gaps);

    //  Pillars and target groups of its actions
    size_t histogram [STX_PILLARS + 1] = { 0 };
    s_tally_t *groups = NULL;
    size_t n_groups = 0, groups_alloc = 0;
    for (size_t a = 0; a < report->n_actions; a++) {
        const stx_report_action_t *action = &report->actions [a];
        if (!s_serves_sd (report, action->od_codes, action->n_od_codes, code))
            continue;
        histogram [action->n_pillars]++;
        for (size_t t = 0; t < action->n_target_groups; t++) {
            size_t i = 0;
            while (i < n_groups && strcmp (groups [i].name, action->target_groups [t]) != 0)
                i++;
            if (i == n_groups) {
                groups = s_grow (groups, &groups_alloc, n_groups, sizeof (s_tally_t));
                groups [n_groups].name = action->target_groups [t];
                groups [n_groups++].count = 0;
            }
            groups [i].count++;
        }
    }
    s_indicator (builder, code, "quadruple_helix_actions", "Actions involving all 4 helix pillars",
                 true, histogram [STX_PILLARS],
                 s_fmt ("actions with 1/2/3/4 pillars: %zu/%zu/%zu/%zu", histogram [1],
                        histogram [2], histogram [3], histogram [4]));
    s_sort (groups, n_groups, sizeof (s_tally_t), s_compare_tally);
    char *top = s_dup ("");
    for (size_t i = 0; i < n_groups && i < 3; i++) {
        char *next = s_fmt ("%s%s%s %zu", top, i? ", ": "most named: ", groups [i].name,
                            groups [i].count);
        free (top);
        top = next;
    }
    s_indicator (builder, code, "target_groups_reached", "Target groups its actions address",
                 true, n_groups, n_groups? top: s_dup ("no action names a target group"));
    if (n_groups == 0)
        free (top);
    free (groups);

    s_indicator (builder, code, "network_moments", "Network moments on its goals", true,
                 sd->moments, s_fmt ("moments in the period with a topic OD under %s", code));
    if (sd->openings || strcmp (code, "SD3") == 0) {
        uint64_t seats = 0;
        for (size_t o = 0; o < report->n_openings; o++) {
            const char *of = s_sd_of (report, report->openings [o].od_code);
            if (of && strcmp (of, code) == 0)
                seats += report->openings [o].seats_per_month;
        }
        s_indicator (builder, code, "infrastructure_openings",
                     "Infrastructure openings (OD 3.2.1-3.2.3)", true, sd->openings,
                     s_fmt ("%llu seats per month", (unsigned long long) seats));
    }
}

//  The source text of an outside aspect
static char *
s_aspect_source (json_t *instruments, const char *aspect, const char *roadmap)
{
    for (size_t i = 0; i < sizeof (s_aspect_instruments) / sizeof (s_aspect_instruments [0]);
         i++) {
        if (strcmp (s_aspect_instruments [i].aspect, aspect) != 0)
            continue;
        char *text = s_dup ("");
        size_t index;
        json_t *instrument;
        json_array_foreach (instruments, index, instrument) {
            const char *id = json_string_value (json_object_get (instrument, "id"));
            const char *name = json_string_value (json_object_get (instrument, "name_nl"));
            const char *owner = json_string_value (json_object_get (instrument, "owner_nl"));
            if (!id || !name)
                continue;
            //  Is id in the comma-separated list?
            const char *list = s_aspect_instruments [i].instruments;
            size_t length = strlen (id);
            const char *at = strstr (list, id);
            if (!at || (at [length] != ',' && at [length] != '\0'))
                continue;
            char *next = s_fmt ("%s%s%s (%s)", text, *text? "; ": "outside data: ", name,
                                owner? owner: "");
            free (text);
            text = next;
        }
        return text;
    }
    return s_fmt ("outside data: no existing instrument named; roadmap by %s",
                  roadmap? roadmap: "-");
}

stx_status_t
stx_strategic_build (const stx_report_t *report, const char *taxonomy_dir,
                     stx_strategic_t **self_p, char *err, size_t errlen)
{
    assert (report);
    assert (taxonomy_dir);
    assert (self_p);
    *self_p = NULL;
    char path [4096];
    snprintf (path, sizeof (path), "%s/%s", taxonomy_dir, S_AGENDA_FILE);
    json_error_t error;
    json_t *root = json_load_file (path, 0, &error);
    if (!root)
        return stx_fail (err, errlen, STX_ERR_IO, "%s: %s", path, error.text);
    json_t *strategic = json_object_get (json_object_get (root, "monitoring"), "strategic_part");
    json_t *aspects = json_object_get (strategic, "aspects");
    json_t *instruments = json_object_get (strategic, "existing_instruments");
    json_t *vario = json_object_get (json_object_get (strategic, "vario_core_indicators"),
                                     "indicators");
    json_t *sds = json_object_get (root, "strategic_goals");
    const char *roadmap = json_string_value (json_object_get (strategic, "roadmap"));
    if (!json_is_array (aspects) || !json_is_array (instruments) || !json_is_array (vario)
    ||  !json_is_array (sds)) {
        json_decref (root);
        return stx_fail (err, errlen, STX_ERR_MALFORMED,
                         "%s: monitoring.strategic_part (aspects, existing_instruments, "
                         "vario_core_indicators.indicators) or strategic_goals missing", path);
    }
    stx_strategic_t *self = (stx_strategic_t *) s_alloc (sizeof (stx_strategic_t));
    memcpy (self->from, report->from, sizeof (self->from));
    memcpy (self->to, report->to, sizeof (self->to));
    self->seq = report->seq;
    s_strategic_builder_t builder = { .self = self };

    size_t sd_index = 0;
    for (size_t g = 0; g < report->n_goals; g++) {
        const stx_report_goal_t *sd = &report->goals [g];
        if (sd->level != 0)
            continue;
        if (sd_index < 4)
            self->sd_titles [sd_index++] = s_dup (sd->title);
        s_sd_indicators (&builder, report, sd);
        //  The SD's aspects of 7.2, which need outside data
        size_t index;
        json_t *goal;
        json_array_foreach (sds, index, goal) {
            const char *code = json_string_value (json_object_get (goal, "code"));
            if (!code || strcmp (code, sd->code) != 0)
                continue;
            size_t a;
            json_t *aspect_id;
            json_array_foreach (json_object_get (goal, "monitoring_aspects"), a, aspect_id) {
                const char *id = json_string_value (aspect_id);
                if (!id)
                    continue;
                size_t i;
                json_t *aspect;
                json_array_foreach (aspects, i, aspect) {
                    const char *aid = json_string_value (json_object_get (aspect, "id"));
                    const char *name = json_string_value (json_object_get (aspect, "name_en"));
                    if (aid && name && strcmp (aid, id) == 0)
                        s_indicator (&builder, sd->code, id, name, false, 0,
                                     s_aspect_source (instruments, id, roadmap));
                }
            }
        }
    }
    //  Agenda-wide: the generic aspect (no SD), fed by the catalogue
    size_t organisations = 0, multi = 0;
    {
        char **seen = NULL;
        size_t n_seen = 0, alloc = 0;
        for (size_t a = 0; a < report->n_actions; a++) {
            const stx_report_action_t *action = &report->actions [a];
            if (action->n_pillars >= 2)
                multi++;
            for (size_t p = 0; p <= action->n_partners; p++) {
                const char *org = p == 0? action->owner: action->partners [p - 1];
                if (!*org)
                    continue;
                size_t i = 0;
                while (i < n_seen && strcmp (seen [i], org) != 0)
                    i++;
                if (i == n_seen) {
                    seen = s_grow (seen, &alloc, n_seen, sizeof (char *));
                    seen [n_seen++] = (char *) org;
                }
            }
        }
        organisations = n_seen;
        free (seen);
    }
    size_t index;
    json_t *aspect;
    json_array_foreach (aspects, index, aspect) {
        json_t *goals = json_object_get (aspect, "strategic_goals");
        const char *id = json_string_value (json_object_get (aspect, "id"));
        const char *name = json_string_value (json_object_get (aspect, "name_en"));
        if (!id || !name || json_array_size (goals) > 0)
            continue;
        s_indicator (&builder, "Agenda", id, name, true, organisations,
                     s_fmt ("organisations (owners and partners) in the %zu actions; %zu actions "
                            "with 2 or more pillars; %zu network moments",
                            report->n_actions, multi, report->n_moments));
    }
    size_t held = 0;
    char **held_in = (char **) s_alloc ((report->n_biennia + 1) * sizeof (char *));
    for (size_t i = 0; i < report->n_biennia; i++)
        held_in [i] = s_fmt ("%.4s-%.4s: %s", report->biennia [i].from, report->biennia [i].to,
                             report->biennia [i].state_of_the_stem? "held": "none");
    for (size_t i = 0; i < report->n_biennia; i++)
        if (report->biennia [i].state_of_the_stem)
            held++;
    s_indicator (&builder, "Agenda", "state_of_the_stem",
                 "Bienniums with a State-of-the-STEM event (6.1.5)", true, held,
                 s_join (held_in, report->n_biennia, "; "));
    s_free_list (held_in, report->n_biennia);
    //  The source, up to its first ';' ("VARIO-advies")
    const char *source = json_string_value (json_object_get (
        json_object_get (strategic, "vario_core_indicators"), "source"));
    int source_length = source? (int) strcspn (source, ";"): 0;
    json_t *indicator;
    json_array_foreach (vario, index, indicator) {
        const char *id = json_string_value (json_object_get (indicator, "id"));
        const char *name = json_string_value (json_object_get (indicator, "name_en"));
        if (id && name)
            s_indicator (&builder, "Agenda", id, name, false, 0,
                         s_fmt ("outside data: VARIO core indicator (%.*s)",
                                source? source_length: 5, source? source: "VARIO"));
    }
    json_decref (root);
    *self_p = self;
    return STX_OK;
}

void
stx_strategic_destroy (stx_strategic_t **self_p)
{
    assert (self_p);
    stx_strategic_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n_indicators; i++) {
        free (self->indicators [i].scope);
        free (self->indicators [i].id);
        free (self->indicators [i].name);
        free (self->indicators [i].detail);
    }
    free (self->indicators);
    for (size_t i = 0; i < 4; i++)
        free (self->sd_titles [i]);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Rendering the strategic report

static const char *
s_scope_title (const stx_strategic_t *self, const char *scope)
{
    if (strlen (scope) == 3 && scope [0] == 'S' && scope [1] == 'D'
    &&  scope [2] >= '1' && scope [2] <= '4' && self->sd_titles [scope [2] - '1'])
        return self->sd_titles [scope [2] - '1'];
    return "";
}

//  One table per scope, in order of first appearance
static size_t
s_strategic_tables (const stx_strategic_t *self, s_table_t **tables, size_t max,
                    char **titles)
{
    size_t count = 0;
    for (size_t i = 0; i < self->n_indicators; i++) {
        const char *scope = self->indicators [i].scope;
        if (i > 0 && strcmp (self->indicators [i - 1].scope, scope) == 0)
            continue;
        if (count == max)
            break;
        titles [count] = strcmp (scope, "Agenda") == 0
                       ? s_fmt ("The Agenda as a whole (all SDs)")
                       : s_fmt ("%s – %s", scope, s_scope_title (self, scope));
        s_table_t *table = s_table_new ("strategic", titles [count], "llrl");
        s_table_head (table, "Indicator", "Source", "Value", "Detail");
        table->max [0] = 60;
        for (size_t j = i; j < self->n_indicators
                           && strcmp (self->indicators [j].scope, scope) == 0; j++) {
            const stx_indicator_t *indicator = &self->indicators [j];
            s_table_row (table, 0, s_dup (indicator->name),
                         s_dup (indicator->fed? "catalogue": "outside"),
                         indicator->fed? s_num (indicator->value): s_dup ("-"),
                         s_dup (indicator->detail));
        }
        tables [count++] = table;
    }
    return count;
}

static void
s_strategic_html (const stx_strategic_t *self, s_table_t **tables, size_t count, FILE *out)
{
    char title [128];
    snprintf (title, sizeof (title), "STEM-Agenda 2030 – strategic monitoring %s to %s",
              self->from, self->to);
    s_html_head (out, title);
    fprintf (out, "<body>\n<header>\n<h1>STEM-Agenda 2030 – strategic monitoring</h1>\n"
             "<p>Section 7.2 · period %s to %s · catalogue as of sequence %llu</p>\n"
             "</header>\n<main id=\"report\" data-report=\"strategic\" data-indicators=\"%zu\" "
             "data-fed=\"%zu\">\n<p>%zu of the %zu indicators below come from the catalogue "
             "(<span class=\"tag fed\">catalogue</span>); the others need data from outside "
             "(<span class=\"tag out\">outside</span>).</p>\n",
             self->from, self->to, (unsigned long long) self->seq, self->n_indicators,
             self->n_fed, self->n_fed, self->n_indicators);
    for (size_t i = 0; i < count; i++) {
        const s_table_t *table = tables [i];
        fputs ("<section class=\"block strategic\">\n<h2>", out);
        s_html_text (out, table->title);
        fputs ("</h2>\n<table>\n<thead><tr><th>Indicator</th><th>Source</th>"
               "<th class=\"num\">Value</th><th>Detail</th></tr></thead>\n<tbody>\n", out);
        for (size_t r = 0; r < table->rows; r++) {
            bool fed = strcmp (s_cell (table, r, 1), "catalogue") == 0;
            fputs ("<tr class=\"lvl0\"><td>", out);
            s_html_text (out, s_cell (table, r, 0));
            fprintf (out, "</td><td><span class=\"tag %s\">%s</span></td><td class=\"num\">",
                     fed? "fed": "out", fed? "catalogue": "outside");
            s_html_text (out, s_cell (table, r, 2));
            fputs ("</td><td>", out);
            s_html_text (out, s_cell (table, r, 3));
            fputs ("</td></tr>\n", out);
        }
        fputs ("</tbody>\n</table>\n</section>\n", out);
    }
    fputs ("</main>\n<footer>Generated by stemx from the replicated STEM catalogue. "
           "Definitions: docs/REPORTS.md.</footer>\n</body>\n</html>\n", out);
}

stx_status_t
stx_strategic_render (const stx_strategic_t *self, stx_report_format_t format, FILE *out)
{
    assert (self);
    assert (out);
    if (format == STX_REPORT_CSV) {
        char seq [24];
        snprintf (seq, sizeof (seq), "%llu", (unsigned long long) self->seq);
        s_csv_line (out, 6, "scope", "id", "source", "value", "name", "detail");
        s_csv_line (out, 6, "report", "strategic", "", self->from, "from", "");
        s_csv_line (out, 6, "report", "strategic", "", self->to, "to", "");
        s_csv_line (out, 6, "report", "strategic", "", seq, "as_of_seq", "");
        for (size_t i = 0; i < self->n_indicators; i++) {
            const stx_indicator_t *indicator = &self->indicators [i];
            char value [24] = "";
            if (indicator->fed)
                snprintf (value, sizeof (value), "%llu", (unsigned long long) indicator->value);
            s_csv_line (out, 6, indicator->scope, indicator->id,
                        indicator->fed? "catalogue": "outside", value, indicator->name,
                        indicator->detail);
        }
    }
    else
    if (format == STX_REPORT_JSON) {
        json_t *root = json_object ();
        json_object_set_new (root, "report", json_string ("strategic"));
        json_object_set_new (root, "from", json_string (self->from));
        json_object_set_new (root, "to", json_string (self->to));
        json_object_set_new (root, "as_of_seq", json_integer ((json_int_t) self->seq));
        json_object_set_new (root, "fed", json_integer ((json_int_t) self->n_fed));
        json_t *list = json_array ();
        for (size_t i = 0; i < self->n_indicators; i++) {
            const stx_indicator_t *indicator = &self->indicators [i];
            json_array_append_new (list, json_pack ("{s:s, s:s, s:s, s:s, s:o, s:s}",
                "scope", indicator->scope, "id", indicator->id, "name", indicator->name,
                "source", indicator->fed? "catalogue": "outside",
                "value", indicator->fed? json_integer ((json_int_t) indicator->value)
                                       : json_null (),
                "detail", indicator->detail));
        }
        json_object_set_new (root, "indicators", list);
        s_render_json (root, out);
        json_decref (root);
    }
    else {
        s_table_t *tables [8];
        char *titles [8] = { NULL };
        size_t count = s_strategic_tables (self, tables, 8, titles);
        if (format == STX_REPORT_TEXT) {
            s_underline (out, "STEM-Agenda 2030 - strategic monitoring (section 7.2)", '=');
            fprintf (out, "Period %s to %s; catalogue as of sequence %llu.\n"
                     "%zu of %zu indicators come from the catalogue; the others need data "
                     "from outside.\n", self->from, self->to, (unsigned long long) self->seq,
                     self->n_fed, self->n_indicators);
            for (size_t i = 0; i < count; i++)
                s_table_text (tables [i], out);
        }
        else
        if (format == STX_REPORT_MARKDOWN) {
            fprintf (out, "# STEM-Agenda 2030 – strategic monitoring (section 7.2)\n\n"
                     "Period **%s** to **%s**; catalogue as of sequence %llu. "
                     "%zu of %zu indicators come from the catalogue; the others need data "
                     "from outside.\n", self->from, self->to, (unsigned long long) self->seq,
                     self->n_fed, self->n_indicators);
            for (size_t i = 0; i < count; i++)
                s_table_markdown (tables [i], out);
        }
        else
            s_strategic_html (self, tables, count, out);
        for (size_t i = 0; i < count; i++) {
            s_table_destroy (&tables [i]);
            free (titles [i]);
        }
    }
    return fflush (out) == 0 && !ferror (out)? STX_OK: STX_ERR_IO;
}
