/*  =========================================================================
    stx_report_strategic - the strategic report: model and rendering

    Derived from the operational model plus the "monitoring" part of
    stem-agenda-2030.json, and printed in every format.
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
    self->indicators = stx_rpt_grow (self->indicators, &builder->alloc, self->n_indicators,
                                     sizeof (stx_indicator_t));
    stx_indicator_t *indicator = &self->indicators [self->n_indicators++];
    indicator->scope = stx_rpt_dup (scope);
    indicator->id = stx_rpt_dup (id);
    indicator->name = stx_rpt_dup (name);
    indicator->fed = fed;
    indicator->value = value;
    indicator->detail = detail? detail: stx_rpt_dup ("");
    if (fed)
        self->n_fed++;
}

//  The SD an OD falls under, or NULL
static const char *
s_sd_of (const stx_report_t *report, const char *od)
{
    int goal = stx_rpt_goal_find (report, od);
    while (goal >= 0 && report->goals [goal].level > 0)
        goal = stx_rpt_goal_find (report, report->goals [goal].parent);
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
                 stx_rpt_fmt ("initiatives active in the period with an OD under %s", code));
    //  Gaps of the SD
    char **gaps = (char **) stx_rpt_alloc (report->n_goals * sizeof (char *));
    size_t n_gaps = 0;
    for (size_t g = 0; g < report->n_goals; g++) {
        const stx_report_goal_t *goal = &report->goals [g];
        if (goal->level == 2 && goal->actions == 0) {
            const char *of = s_sd_of (report, goal->code);
            if (of && strcmp (of, code) == 0)
                gaps [n_gaps++] = goal->code;
        }
    }
    char *gap_list = stx_rpt_join (gaps, n_gaps, ", ");
    s_indicator (builder, code, "ods_covered", "Operational goals with at least one action", true,
                 sd->ods_covered, n_gaps? stx_rpt_fmt ("of %zu ODs; gaps: %s", sd->ods, gap_list)
                                        : stx_rpt_fmt ("of %zu ODs; no gaps", sd->ods));
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
                groups = stx_rpt_grow (groups, &groups_alloc, n_groups, sizeof (s_tally_t));
                groups [n_groups].name = action->target_groups [t];
                groups [n_groups++].count = 0;
            }
            groups [i].count++;
        }
    }
    s_indicator (builder, code, "quadruple_helix_actions", "Actions involving all 4 helix pillars",
                 true, histogram [STX_PILLARS],
                 stx_rpt_fmt ("actions with 1/2/3/4 pillars: %zu/%zu/%zu/%zu", histogram [1],
                              histogram [2], histogram [3], histogram [4]));
    stx_rpt_sort (groups, n_groups, sizeof (s_tally_t), s_compare_tally);
    char *top = stx_rpt_dup ("");
    for (size_t i = 0; i < n_groups && i < 3; i++) {
        char *next = stx_rpt_fmt ("%s%s%s %zu", top, i? ", ": "most named: ", groups [i].name,
                                  groups [i].count);
        free (top);
        top = next;
    }
    s_indicator (builder, code, "target_groups_reached", "Target groups its actions address",
                 true, n_groups, n_groups? top: stx_rpt_dup ("no action names a target group"));
    if (n_groups == 0)
        free (top);
    free (groups);

    s_indicator (builder, code, "network_moments", "Network moments on its goals", true,
                 sd->moments, stx_rpt_fmt ("moments in the period with a topic OD under %s", code));
    if (sd->openings || strcmp (code, "SD3") == 0) {
        uint64_t seats = 0;
        for (size_t o = 0; o < report->n_openings; o++) {
            const char *of = s_sd_of (report, report->openings [o].od_code);
            if (of && strcmp (of, code) == 0)
                seats += report->openings [o].seats_per_month;
        }
        s_indicator (builder, code, "infrastructure_openings",
                     "Infrastructure openings (OD 3.2.1-3.2.3)", true, sd->openings,
                     stx_rpt_fmt ("%llu seats per month", (unsigned long long) seats));
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
        char *text = stx_rpt_dup ("");
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
            char *next = stx_rpt_fmt ("%s%s%s (%s)", text, *text? "; ": "outside data: ", name,
                                      owner? owner: "");
            free (text);
            text = next;
        }
        return text;
    }
    return stx_rpt_fmt ("outside data: no existing instrument named; roadmap by %s",
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
    snprintf (path, sizeof (path), "%s/%s", taxonomy_dir, STX_RPT_AGENDA_FILE);
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
    stx_strategic_t *self = (stx_strategic_t *) stx_rpt_alloc (sizeof (stx_strategic_t));
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
            self->sd_titles [sd_index++] = stx_rpt_dup (sd->title);
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
                    seen = stx_rpt_grow (seen, &alloc, n_seen, sizeof (char *));
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
                     stx_rpt_fmt ("organisations (owners and partners) in the %zu actions; %zu actions "
                                  "with 2 or more pillars; %zu network moments",
                            report->n_actions, multi, report->n_moments));
    }
    size_t held = 0;
    char **held_in = (char **) stx_rpt_alloc ((report->n_biennia + 1) * sizeof (char *));
    for (size_t i = 0; i < report->n_biennia; i++)
        held_in [i] = stx_rpt_fmt ("%.4s-%.4s: %s", report->biennia [i].from, report->biennia [i].to,
                                   report->biennia [i].state_of_the_stem? "held": "none");
    for (size_t i = 0; i < report->n_biennia; i++)
        if (report->biennia [i].state_of_the_stem)
            held++;
    s_indicator (&builder, "Agenda", "state_of_the_stem",
                 "Bienniums with a State-of-the-STEM event (6.1.5)", true, held,
                 stx_rpt_join (held_in, report->n_biennia, "; "));
    stx_rpt_free_list (held_in, report->n_biennia);
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
                         stx_rpt_fmt ("outside data: VARIO core indicator (%.*s)",
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
s_strategic_tables (const stx_strategic_t *self, stx_rpt_table_t **tables, size_t max,
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
                       ? stx_rpt_fmt ("The Agenda as a whole (all SDs)")
                       : stx_rpt_fmt ("%s – %s", scope, s_scope_title (self, scope));
        stx_rpt_table_t *table = stx_rpt_table_new ("strategic", titles [count], "llrl");
        stx_rpt_table_head (table, "Indicator", "Source", "Value", "Detail");
        table->max [0] = 60;
        for (size_t j = i; j < self->n_indicators
                           && strcmp (self->indicators [j].scope, scope) == 0; j++) {
            const stx_indicator_t *indicator = &self->indicators [j];
            stx_rpt_table_row (table, 0, stx_rpt_dup (indicator->name),
                               stx_rpt_dup (indicator->fed? "catalogue": "outside"),
                         indicator->fed? stx_rpt_num (indicator->value): stx_rpt_dup ("-"),
                         stx_rpt_dup (indicator->detail));
        }
        tables [count++] = table;
    }
    return count;
}

static void
s_strategic_html (const stx_strategic_t *self, stx_rpt_table_t **tables, size_t count, FILE *out)
{
    char title [128];
    snprintf (title, sizeof (title), "STEM-Agenda 2030 – strategic monitoring %s to %s",
              self->from, self->to);
    stx_rpt_html_head (out, title);
    fprintf (out, "<body>\n<header>\n<h1>STEM-Agenda 2030 – strategic monitoring</h1>\n"
             "<p>Section 7.2 · period %s to %s · catalogue as of sequence %llu</p>\n"
             "</header>\n<main id=\"report\" data-report=\"strategic\" data-indicators=\"%zu\" "
             "data-fed=\"%zu\">\n<p>%zu of the %zu indicators below come from the catalogue "
             "(<span class=\"tag fed\">catalogue</span>); the others need data from outside "
             "(<span class=\"tag out\">outside</span>).</p>\n",
             self->from, self->to, (unsigned long long) self->seq, self->n_indicators,
             self->n_fed, self->n_fed, self->n_indicators);
    for (size_t i = 0; i < count; i++) {
        const stx_rpt_table_t *table = tables [i];
        fputs ("<section class=\"block strategic\">\n<h2>", out);
        stx_rpt_html_text (out, table->title);
        fputs ("</h2>\n<table>\n<thead><tr><th>Indicator</th><th>Source</th>"
               "<th class=\"num\">Value</th><th>Detail</th></tr></thead>\n<tbody>\n", out);
        for (size_t r = 0; r < table->rows; r++) {
            bool fed = strcmp (stx_rpt_cell (table, r, 1), "catalogue") == 0;
            fputs ("<tr class=\"lvl0\"><td>", out);
            stx_rpt_html_text (out, stx_rpt_cell (table, r, 0));
            fprintf (out, "</td><td><span class=\"tag %s\">%s</span></td><td class=\"num\">",
                     fed? "fed": "out", fed? "catalogue": "outside");
            stx_rpt_html_text (out, stx_rpt_cell (table, r, 2));
            fputs ("</td><td>", out);
            stx_rpt_html_text (out, stx_rpt_cell (table, r, 3));
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
        stx_rpt_csv_line (out, 6, "scope", "id", "source", "value", "name", "detail");
        stx_rpt_csv_line (out, 6, "report", "strategic", "", self->from, "from", "");
        stx_rpt_csv_line (out, 6, "report", "strategic", "", self->to, "to", "");
        stx_rpt_csv_line (out, 6, "report", "strategic", "", seq, "as_of_seq", "");
        for (size_t i = 0; i < self->n_indicators; i++) {
            const stx_indicator_t *indicator = &self->indicators [i];
            char value [24] = "";
            if (indicator->fed)
                snprintf (value, sizeof (value), "%llu", (unsigned long long) indicator->value);
            stx_rpt_csv_line (out, 6, indicator->scope, indicator->id,
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
        stx_rpt_render_json (root, out);
        json_decref (root);
    }
    else {
        stx_rpt_table_t *tables [8];
        char *titles [8] = { NULL };
        size_t count = s_strategic_tables (self, tables, 8, titles);
        if (format == STX_REPORT_TEXT) {
            stx_rpt_underline (out, "STEM-Agenda 2030 - strategic monitoring (section 7.2)", '=');
            fprintf (out, "Period %s to %s; catalogue as of sequence %llu.\n"
                     "%zu of %zu indicators come from the catalogue; the others need data "
                     "from outside.\n", self->from, self->to, (unsigned long long) self->seq,
                     self->n_fed, self->n_indicators);
            for (size_t i = 0; i < count; i++)
                stx_rpt_table_text (tables [i], out);
        }
        else
        if (format == STX_REPORT_MARKDOWN) {
            fprintf (out, "# STEM-Agenda 2030 – strategic monitoring (section 7.2)\n\n"
                     "Period **%s** to **%s**; catalogue as of sequence %llu. "
                     "%zu of %zu indicators come from the catalogue; the others need data "
                     "from outside.\n", self->from, self->to, (unsigned long long) self->seq,
                     self->n_fed, self->n_indicators);
            for (size_t i = 0; i < count; i++)
                stx_rpt_table_markdown (tables [i], out);
        }
        else
            s_strategic_html (self, tables, count, out);
        for (size_t i = 0; i < count; i++) {
            stx_rpt_table_destroy (&tables [i]);
            free (titles [i]);
        }
    }
    return fflush (out) == 0 && !ferror (out)? STX_OK: STX_ERR_IO;
}
