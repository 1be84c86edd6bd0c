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
    a list of generic tables (stx_rpt_table_t: title, headers, alignment, rows
    with a tree level), which the text, Markdown and HTML renderers print
    each in their own way; CSV (one long table) and JSON are written from
    the model directly. The HTML page adds inline SVG charts drawn from the
    model; every number is printed with integer or fixed-point formats, so
    the output is byte-for-byte stable for a given catalogue and period.

    Files: this one has the public helpers, the tables of pillar names and
    colours, the memory helpers and stx_report_render; the model is built
    in stx_report_model.c, laid out in stx_report_table.c (with the text and
    Markdown renderers), and written by stx_report_csv.c, stx_report_json.c
    and stx_report_html.c; stx_report_strategic.c builds and renders the
    strategic report. They share lib/stx_report_parts.h.

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
#include "stx_report_parts.h"

const char *const stx_rpt_pillar_ids [STX_PILLARS] = {
    "government", "knowledge", "industry", "civil_society"
};
//  English names, and the Agenda's own (Dutch) terms
const char *const stx_rpt_pillar_names [STX_PILLARS] = {
    "Government", "Knowledge institutions", "Industry", "Civil society"
};
const char *const stx_rpt_pillar_terms [STX_PILLARS] = {
    "overheid", "kennisinstellingen", "bedrijven", "burger"
};
//  Column headers and one-letter marks
const char *const stx_rpt_pillar_short [STX_PILLARS] = { "Gov", "Know", "Ind", "Civil" };
const char stx_rpt_pillar_letter [STX_PILLARS] = { 'G', 'K', 'I', 'C' };
//  Chart colours
const char *const stx_rpt_pillar_colours [STX_PILLARS] = {
    "#2f6db5", "#8a4fb8", "#e0861f", "#2f9e5b"
};
const char *const stx_rpt_pillar_tints [STX_PILLARS] = {
    "#c9dbf1", "#e3d3f0", "#f8dcbb", "#c6ead4"
};

//  The ODs of TD 3.2 that infrastructure openings serve (3.2.1 - 3.2.3)
const char *const stx_rpt_infra_ods [STX_RPT_INFRA_ODS] = { "OD 3.2.1", "OD 3.2.2", "OD 3.2.3" };



//  --------------------------------------------------------------------------
//  Memory helpers: abort on out of memory

void *
stx_rpt_alloc (size_t size)
{
    void *data = calloc (1, size? size: 1);
    if (!data)
        abort ();
    return data;
}

char *
stx_rpt_dup (const char *text)
{
    char *copy = strdup (text? text: "");
    if (!copy)
        abort ();
    return copy;
}

char *
stx_rpt_fmt (const char *format, ...)
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
void *
stx_rpt_grow (void *array, size_t *alloc_p, size_t count, size_t size)
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
void
stx_rpt_sort (void *base, size_t count, size_t size, int (*compare) (const void *, const void *))
{
    if (count > 1)
        qsort (base, count, size, compare);
}

char **
stx_rpt_dup_list (char **items, size_t count)
{
    char **copy = (char **) stx_rpt_alloc (count * sizeof (char *));
    for (size_t i = 0; i < count; i++)
        copy [i] = stx_rpt_dup (items [i]);
    return copy;
}

void
stx_rpt_free_list (char **items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free (items [i]);
    free (items);
}

//  items joined with sep; caller frees
char *
stx_rpt_join (char **items, size_t count, const char *sep)
{
    size_t size = 1;
    for (size_t i = 0; i < count; i++)
        size += strlen (items [i]) + strlen (sep);
    char *text = (char *) stx_rpt_alloc (size);
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
    return pillar >= 0 && pillar < STX_PILLARS? stx_rpt_pillar_ids [pillar]: "";
}

int
stx_report_pillar_of (const char *id)
{
    for (int p = 0; id && p < STX_PILLARS; p++)
        if (strcmp (id, stx_rpt_pillar_ids [p]) == 0)
            return p;
    return -1;
}

int
stx_rpt_year (const char *date)
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
    int year = stx_rpt_year (date);
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
bool
stx_rpt_overlaps (const char *start, const char *end, const char *from, const char *to)
{
    if (!start || !*start)
        return false;
    if (strcmp (start, to) > 0)
        return false;
    if (end && *end && strcmp (end, from) < 0)
        return false;
    return true;
}


stx_status_t
stx_report_render (const stx_report_t *self, stx_report_format_t format, FILE *out)
{
    assert (self);
    assert (out);
    if (format == STX_REPORT_CSV)
        stx_rpt_render_csv (self, out);
    else
    if (format == STX_REPORT_JSON) {
        json_t *root = stx_rpt_operational_json (self);
        stx_rpt_render_json (root, out);
        json_decref (root);
    }
    else {
        stx_rpt_table_t *tables [STX_RPT_OP_TABLES];
        size_t count = stx_rpt_operational_tables (self, tables);
        switch (format) {
            case STX_REPORT_TEXT:     stx_rpt_render_text (self, tables, count, out); break;
            case STX_REPORT_MARKDOWN: stx_rpt_render_markdown (self, tables, count, out); break;
            case STX_REPORT_HTML:     stx_rpt_render_html (self, tables, count, out); break;
            case STX_REPORT_CSV:
            case STX_REPORT_JSON:     break;
        }
        for (size_t i = 0; i < count; i++)
            stx_rpt_table_destroy (&tables [i]);
    }
    return fflush (out) == 0 && !ferror (out)? STX_OK: STX_ERR_IO;
}
