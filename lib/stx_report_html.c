/*  =========================================================================
    stx_report_html - the operational report as one HTML page with SVG

    The generic tables, plus inline SVG charts drawn from the model; every
    number in integer or fixed-point formats, so the page is stable.
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

void
stx_rpt_html_head (FILE *out, const char *title)
{
    fputs ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<title>", out);
    stx_rpt_html_text (out, title);
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
    if (stx_rpt_chars (rest) <= width) {
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
                 stx_rpt_pillar_colours [p], stx_rpt_pillar_names [p]);
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
                 x, y, w, height, stx_rpt_pillar_colours [p], goal->code, goal->lead [p],
                 stx_rpt_pillar_names [p]);
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
        stx_rpt_html_text (out, line1);
        fprintf (out, "</text><text x=\"0\" y=\"%.1f\" font-size=\"10\" fill=\"#5b6578\" "
                 "style=\"fill:#5b6578\">", y + 35);
        stx_rpt_html_text (out, line2);
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
        if (stx_rpt_chars (title) > 92) {
            char cut [400];
            snprintf (cut, sizeof (cut), "%s", title);
            size_t at = 88;
            while (at > 0 && cut [at] != ' ')
                at--;
            snprintf (cut + at, sizeof (cut) - at, " …");
            stx_rpt_html_text (out, cut);
        }
        else
            stx_rpt_html_text (out, title);
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
                 y + 14, stx_rpt_pillar_names [p], y + 27, stx_rpt_pillar_terms [p]);
        fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"24\" fill=\"%s\">"
                 "<title>%s: involved in %zu actions</title></rect>",
                 left, y + 4, involved, stx_rpt_pillar_tints [p], stx_rpt_pillar_names [p],
                 self->involved [p]);
        fprintf (out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"24\" fill=\"%s\">"
                 "<title>%s: leads %zu actions</title></rect>",
                 left, y + 4, lead, stx_rpt_pillar_colours [p], stx_rpt_pillar_names [p], self->lead [p]);
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
                     x, y + 6, w, stx_rpt_pillar_colours [p], infra->od_code, stx_rpt_pillar_names [p],
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
            stx_rpt_html_text (out, od->title);
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

void
stx_rpt_render_html (const stx_report_t *self, stx_rpt_table_t **tables, size_t count, FILE *out)
{
    size_t gaps = self->ods - self->ods_covered;
    char title [128];
    snprintf (title, sizeof (title), "STEM-Agenda 2030 – operational monitoring %s to %s",
              self->from, self->to);
    stx_rpt_html_head (out, title);
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
        stx_rpt_table_html (tables [i], out);
    fputs ("</main>\n<footer>Generated by stemx from the replicated STEM catalogue. "
           "Definitions: docs/REPORTS.md.</footer>\n</body>\n</html>\n", out);
}
