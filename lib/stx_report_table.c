/*  =========================================================================
    stx_report_table - the operational report as generic tables, printed
    as text and Markdown

    Tables are laid out once (stx_rpt_table_t) and printed by the text,
    Markdown and HTML renderers; this file has the first two.
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
//  Generic tables: laid out once, printed as text, Markdown or HTML


stx_rpt_table_t *
stx_rpt_table_new (const char *id, const char *title, const char *spec)
{
    //  spec: one letter per column, 'l' or 'r', then headers follow via stx_rpt_table_head
    stx_rpt_table_t *table = (stx_rpt_table_t *) stx_rpt_alloc (sizeof (stx_rpt_table_t));
    table->id = id;
    table->title = title;
    table->columns = strlen (spec);
    assert (table->columns <= STX_RPT_MAX_COLUMNS);
    for (size_t c = 0; c < table->columns; c++)
        table->right [c] = spec [c] == 'r';
    return table;
}

void
stx_rpt_table_head (stx_rpt_table_t *table, ...)
{
    va_list args;
    va_start (args, table);
    for (size_t c = 0; c < table->columns; c++)
        table->headers [c] = va_arg (args, const char *);
    va_end (args);
}

//  Add a row of table->columns cells, each taken over (heap strings)
void
stx_rpt_table_row (stx_rpt_table_t *table, int level, ...)
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
        table->cells [table->rows * table->columns + c] = cell? cell: stx_rpt_dup ("");
    }
    va_end (args);
    table->levels [table->rows++] = level;
}

void
stx_rpt_table_destroy (stx_rpt_table_t **table_p)
{
    stx_rpt_table_t *table = *table_p;
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

const char *
stx_rpt_cell (const stx_rpt_table_t *table, size_t row, size_t column)
{
    return table->cells [row * table->columns + column];
}

//  Characters (not bytes) in a UTF-8 string
size_t
stx_rpt_chars (const char *text)
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
    size_t chars = stx_rpt_chars (text);
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

void
stx_rpt_underline (FILE *out, const char *title, char mark)
{
    fprintf (out, "%s\n", title);
    for (size_t i = stx_rpt_chars (title); i > 0; i--)
        fputc (mark, out);
    fputc ('\n', out);
}

void
stx_rpt_table_text (const stx_rpt_table_t *table, FILE *out)
{
    fputc ('\n', out);
    stx_rpt_underline (out, table->title, '-');
    if (table->rows == 0 && table->empty) {
        fprintf (out, "%s\n", table->empty);
        return;
    }
    size_t width [STX_RPT_MAX_COLUMNS];
    for (size_t c = 0; c < table->columns; c++) {
        width [c] = stx_rpt_chars (table->headers [c]);
        for (size_t r = 0; r < table->rows; r++) {
            size_t chars = stx_rpt_chars (stx_rpt_cell (table, r, c));
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
            const char *cell = stx_rpt_cell (table, r, c);
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

void
stx_rpt_table_markdown (const stx_rpt_table_t *table, FILE *out)
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
            const char *cell = stx_rpt_cell (table, r, c);
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
void
stx_rpt_html_text (FILE *out, const char *text)
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

void
stx_rpt_table_html (const stx_rpt_table_t *table, FILE *out)
{
    fprintf (out, "<section class=\"block\" id=\"%s\">\n<h2>", table->id);
    stx_rpt_html_text (out, table->title);
    fputs ("</h2>\n", out);
    if (table->rows == 0 && table->empty) {
        fputs ("<p class=\"empty\">", out);
        stx_rpt_html_text (out, table->empty);
        fputs ("</p>\n</section>\n", out);
        return;
    }
    fprintf (out, "<table id=\"t-%s\">\n<thead><tr>", table->id);
    for (size_t c = 0; c < table->columns; c++) {
        fputs (table->right [c]? "<th class=\"num\">": "<th>", out);
        stx_rpt_html_text (out, table->headers [c]);
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
            stx_rpt_html_text (out, stx_rpt_cell (table, r, c));
            fputs ("</td>", out);
        }
        fputs ("</tr>\n", out);
    }
    fputs ("</tbody>\n</table>\n", out);
    if (table->note) {
        fputs ("<p class=\"note\">", out);
        stx_rpt_html_text (out, table->note);
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
void
stx_rpt_csv_line (FILE *out, size_t count, ...)
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

char *
stx_rpt_num (uint64_t value)
{
    return stx_rpt_fmt ("%llu", (unsigned long long) value);
}

//  "42%" of part in whole, rounded; "-" when whole is 0
static char *
s_share (uint64_t part, uint64_t whole)
{
    if (whole == 0)
        return stx_rpt_dup ("-");
    return stx_rpt_fmt ("%llu%%", (unsigned long long) ((part * 200 + whole) / (2 * whole)));
}

//  "G K - C": the pillars an action involves
static char *
s_pillar_marks (unsigned pillars)
{
    char *text = (char *) stx_rpt_alloc (2 * STX_PILLARS);
    for (int p = 0; p < STX_PILLARS; p++) {
        text [2 * p] = pillars & (1u << p)? stx_rpt_pillar_letter [p]: '-';
        text [2 * p + 1] = p + 1 < STX_PILLARS? ' ': '\0';
    }
    return text;
}

static char *
s_pillar_name (int pillar)
{
    return stx_rpt_dup (pillar >= 0 && pillar < STX_PILLARS? stx_rpt_pillar_names [pillar]: "unknown");
}

static char *
s_date_range (const char *start, const char *end)
{
    return stx_rpt_fmt ("%s – %s", start, *end? end: "open");
}


size_t
stx_rpt_operational_tables (const stx_report_t *self, stx_rpt_table_t **tables)
{
    size_t count = 0;
    size_t gaps = self->ods - self->ods_covered;

    //  Summary
    stx_rpt_table_t *table = stx_rpt_table_new ("summary", "Summary", "lr");
    stx_rpt_table_head (table, "Measure", "Value");
    stx_rpt_table_row (table, 0, stx_rpt_dup ("Actions (initiatives active in the period)"),
                       stx_rpt_num (self->n_actions));
    stx_rpt_table_row (table, 0, stx_rpt_dup ("Operational goals (OD) with at least one action"),
                       stx_rpt_fmt ("%zu of %zu", self->ods_covered, self->ods));
    stx_rpt_table_row (table, 0, stx_rpt_dup ("Gaps: operational goals without an action"), stx_rpt_num (gaps));
    stx_rpt_table_row (table, 0, stx_rpt_dup ("Actions involving all 4 helix pillars"),
                       stx_rpt_num (self->by_pillar_count [STX_PILLARS]));
    stx_rpt_table_row (table, 0, stx_rpt_dup ("Infrastructure openings (OD 3.2.1-3.2.3)"),
                       stx_rpt_num (self->n_openings));
    stx_rpt_table_row (table, 0, stx_rpt_dup ("Seats per month in those openings"),
                       stx_rpt_num (self->infra_total.seats_per_month));
    stx_rpt_table_row (table, 0, stx_rpt_dup ("Network moments"), stx_rpt_num (self->n_moments));
    stx_rpt_table_row (table, 0, stx_rpt_dup ("State-of-the-STEM events"),
                       stx_rpt_num (self->moments_state_of_the_stem));
    tables [count++] = table;

    //  Actions per goal
    table = stx_rpt_table_new ("goals", "Actions per goal (SD > TD > OD) and helix pillar", "lrrrrrrl");
    stx_rpt_table_head (table, "Goal", "Actions", stx_rpt_pillar_short [0], stx_rpt_pillar_short [1],
                        stx_rpt_pillar_short [2], stx_rpt_pillar_short [3], "ODs covered", "Title");
    table->max [7] = 64;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        stx_rpt_table_row (table, goal->level, stx_rpt_dup (goal->code), stx_rpt_num (goal->actions),
                           stx_rpt_num (goal->involved [0]), stx_rpt_num (goal->involved [1]),
                     stx_rpt_num (goal->involved [2]), stx_rpt_num (goal->involved [3]),
                     goal->level == 2? stx_rpt_dup (goal->actions? "yes": "GAP")
                                     : stx_rpt_fmt ("%zu/%zu", goal->ods_covered, goal->ods),
                     stx_rpt_dup (goal->title));
    }
    table->note = stx_rpt_fmt ("Gov, Know, Ind, Civil: actions involving the pillar as owner or "
                               "partner. An action counts once for each of its ODs, and once for "
                         "a TD or SD however many of its ODs fall under it.");
    tables [count++] = table;

    //  Gaps
    table = stx_rpt_table_new ("gaps", "Gaps: operational goals without an action", "lll");
    stx_rpt_table_head (table, "OD", "Under", "Title");
    table->max [2] = 80;
    for (size_t g = 0; g < self->n_goals; g++) {
        const stx_report_goal_t *goal = &self->goals [g];
        if (goal->level != 2 || goal->actions)
            continue;
        int td = stx_rpt_goal_find (self, goal->parent);
        stx_rpt_table_row (table, 0, stx_rpt_dup (goal->code),
                           stx_rpt_fmt ("%s, %s", goal->parent, td >= 0? self->goals [td].parent: ""),
                     stx_rpt_dup (goal->title));
    }
    table->empty = stx_rpt_fmt ("None: every operational goal has at least one action.");
    tables [count++] = table;

    //  Pillars
    table = stx_rpt_table_new ("pillars", "Helix pillars", "llrrr");
    stx_rpt_table_head (table, "Pillar", "Agenda term", "Leading", "Involved", "Share involved");
    for (int p = 0; p < STX_PILLARS; p++)
        stx_rpt_table_row (table, 0, s_pillar_name (p), stx_rpt_dup (stx_rpt_pillar_terms [p]),
                           stx_rpt_num (self->lead [p]), stx_rpt_num (self->involved [p]),
                     s_share (self->involved [p], self->n_actions));
    table->note = stx_rpt_fmt ("Leading: the owner's pillar. Involved: the owner's or a partner's "
                               "pillar. Share of all %zu actions.", self->n_actions);
    tables [count++] = table;

    //  Collaboration
    table = stx_rpt_table_new ("collaboration", "Quadruple-helix collaboration: pillars per action",
                               "lrr");
    stx_rpt_table_head (table, "Pillars involved", "Actions", "Share");
    for (int n = 0; n <= STX_PILLARS; n++) {
        if (n == 0 && self->by_pillar_count [0] == 0)
            continue;
        stx_rpt_table_row (table, 0, n? stx_rpt_fmt ("%d", n): stx_rpt_dup ("0 (pillar unknown)"),
                           stx_rpt_num (self->by_pillar_count [n]),
                     s_share (self->by_pillar_count [n], self->n_actions));
    }
    stx_rpt_table_row (table, -1, stx_rpt_dup ("All actions"), stx_rpt_num (self->n_actions),
                       s_share (self->n_actions, self->n_actions));
    tables [count++] = table;

    //  Infrastructure per OD and pillar
    table = stx_rpt_table_new ("infra", "Infrastructure openings per OD and provider pillar",
                               "llrrrr");
    stx_rpt_table_head (table, "OD", "Provider pillar", "Openings", "Seats/session",
                        "Sessions/month", "Seats/month");
    for (size_t i = 0; i < self->n_infra; i++) {
        const stx_report_infra_t *row = &self->infra [i];
        size_t pillars = 0;
        for (int p = 0; p < STX_PILLARS; p++) {
            const stx_report_capacity_t *cap = &row->by_pillar [p];
            if (cap->openings == 0)
                continue;
            pillars++;
            stx_rpt_table_row (table, 0, stx_rpt_dup (row->od_code), s_pillar_name (p),
                               stx_rpt_num (cap->openings), stx_rpt_num (cap->seats_per_session),
                         stx_rpt_num (cap->sessions_per_month), stx_rpt_num (cap->seats_per_month));
        }
        //  A subtotal when it adds something: several pillars, an unknown
        //  one, or no opening at all
        const stx_report_capacity_t *cap = &row->total;
        size_t known = 0;
        for (int p = 0; p < STX_PILLARS; p++)
            known += row->by_pillar [p].openings;
        if (pillars != 1 || known != cap->openings)
            stx_rpt_table_row (table, pillars? -1: 0, stx_rpt_dup (row->od_code),
                               stx_rpt_dup (cap->openings? "all pillars": "none"),
                         stx_rpt_num (cap->openings), stx_rpt_num (cap->seats_per_session),
                         stx_rpt_num (cap->sessions_per_month), stx_rpt_num (cap->seats_per_month));
    }
    const stx_report_capacity_t *all = &self->infra_total;
    stx_rpt_table_row (table, -1, stx_rpt_dup ("All ODs"), stx_rpt_dup ("all pillars"), stx_rpt_num (all->openings),
                       stx_rpt_num (all->seats_per_session), stx_rpt_num (all->sessions_per_month),
                 stx_rpt_num (all->seats_per_month));
    table->note = stx_rpt_fmt ("Openings whose availability overlaps the period. Seats/month: "
                               "participants per session x sessions per month, summed.");
    tables [count++] = table;

    //  Openings
    table = stx_rpt_table_new ("openings", "Infrastructure openings in the period", "lllllrrr");
    stx_rpt_table_head (table, "OD", "Facility", "Provider", "Municipality", "Available",
                        "Seats/session", "Sessions/month", "Seats/month");
    table->max [1] = 48;
    for (size_t i = 0; i < self->n_openings; i++) {
        const stx_report_opening_t *opening = &self->openings [i];
        stx_rpt_table_row (table, 0, stx_rpt_dup (opening->od_code), stx_rpt_dup (opening->facility),
                           stx_rpt_dup (opening->provider), stx_rpt_dup (opening->municipality),
                     s_date_range (opening->start, opening->end),
                     stx_rpt_num (opening->seats_per_session), stx_rpt_num (opening->sessions_per_month),
                     stx_rpt_num (opening->seats_per_month));
    }
    table->empty = stx_rpt_fmt ("No infrastructure opening is available in the period.");
    tables [count++] = table;

    //  Moments
    table = stx_rpt_table_new ("moments", "Network moments in the period", "lllllr");
    stx_rpt_table_head (table, "Date", "Kind", "Title", "Organiser", "Municipality", "Capacity");
    table->max [2] = 56;
    for (size_t i = 0; i < self->n_moments; i++) {
        const stx_report_moment_t *moment = &self->moments [i];
        stx_rpt_table_row (table, 0, *moment->end_date? stx_rpt_fmt ("%s – %s", moment->date,
                                                        moment->end_date)
                                                : stx_rpt_dup (moment->date),
                     stx_rpt_dup (strcmp (moment->kind, "state_of_the_stem") == 0
                            ? "State-of-the-STEM": "network moment"),
                     stx_rpt_dup (moment->title), stx_rpt_dup (moment->organiser),
                     stx_rpt_dup (moment->municipality), stx_rpt_num (moment->capacity));
    }
    if (self->n_moments)
        stx_rpt_table_row (table, -1, stx_rpt_dup ("All"), stx_rpt_fmt ("%zu moments", self->n_moments),
                           stx_rpt_dup (""), stx_rpt_dup (""), stx_rpt_dup (""), stx_rpt_num (self->moments_capacity));
    table->empty = stx_rpt_fmt ("No network moment in the period.");
    tables [count++] = table;

    //  Biennia
    table = stx_rpt_table_new ("biennia", "State-of-the-STEM per biennium", "lll");
    stx_rpt_table_head (table, "Biennium", "State-of-the-STEM", "Events");
    for (size_t i = 0; i < self->n_biennia; i++) {
        const stx_report_biennium_t *biennium = &self->biennia [i];
        stx_rpt_table_row (table, 0, stx_rpt_fmt ("%.4s-%.4s", biennium->from, biennium->to),
                           biennium->state_of_the_stem
                         ? stx_rpt_fmt ("held (%zu)", biennium->state_of_the_stem)
                         : stx_rpt_dup ("none"),
                     stx_rpt_dup (biennium->events));
    }
    table->note = stx_rpt_fmt ("Bienniums start on 1 January of an odd year (2029-2030 is the "
                               "Agenda's last); the whole biennium is checked, also outside the "
                         "period.");
    tables [count++] = table;

    //  Actions
    table = stx_rpt_table_new ("actions", "Actions in the period", "lllllll");
    stx_rpt_table_head (table, "Action", "Status", "Period", "Lead", "Pillars", "ODs", "Title");
    table->max [0] = 44;
    table->max [6] = 56;
    for (size_t i = 0; i < self->n_actions; i++) {
        const stx_report_action_t *action = &self->actions [i];
        stx_rpt_table_row (table, 0, stx_rpt_dup (action->key), stx_rpt_dup (action->status),
                           s_date_range (action->start, action->end),
                     stx_rpt_dup (stx_report_pillar_id (action->lead)),
                     s_pillar_marks (action->pillars),
                     stx_rpt_join (action->od_codes, action->n_od_codes, ", "),
                     stx_rpt_dup (action->title));
    }
    table->note = stx_rpt_fmt ("Pillars: G government, K knowledge institutions, I industry, "
                               "C civil society (owner and partners).");
    table->empty = stx_rpt_fmt ("No action in the period.");
    tables [count++] = table;
    assert (count <= STX_RPT_OP_TABLES);
    return count;
}


//  --------------------------------------------------------------------------
//  Text and Markdown

void
stx_rpt_render_text (const stx_report_t *self, stx_rpt_table_t **tables, size_t count, FILE *out)
{
    stx_rpt_underline (out, "STEM-Agenda 2030 - operational monitoring (section 7.1)", '=');
    fprintf (out, "Period %s to %s; catalogue as of sequence %llu.\n", self->from, self->to,
             (unsigned long long) self->seq);
    for (size_t i = 0; i < count; i++)
        stx_rpt_table_text (tables [i], out);
}

void
stx_rpt_render_markdown (const stx_report_t *self, stx_rpt_table_t **tables, size_t count, FILE *out)
{
    fprintf (out, "# STEM-Agenda 2030 – operational monitoring (section 7.1)\n\n"
             "Period **%s** to **%s**; catalogue as of sequence %llu.\n",
             self->from, self->to, (unsigned long long) self->seq);
    for (size_t i = 0; i < count; i++)
        stx_rpt_table_markdown (tables [i], out);
}
