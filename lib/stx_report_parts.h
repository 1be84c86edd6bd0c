/*  =========================================================================
    stx_report_parts - what the files of the report engine share (private)

    lib/stx_report.c holds the public helpers and the renderers' dispatch;
    stx_report_model.c builds the operational model, stx_report_table.c
    lays it out as generic tables and prints them as text and Markdown,
    stx_report_csv.c, stx_report_json.c and stx_report_html.c are the other
    formats, stx_report_strategic.c builds and renders the strategic report.
    Nothing outside lib/stx_report*.c includes this header.
    ========================================================================= */

#ifndef STX_REPORT_PARTS_H_INCLUDED
#define STX_REPORT_PARTS_H_INCLUDED

#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>
#include "stx_report.h"

//  The helix pillars: ids, English names, the Agenda's Dutch terms, column
//  headers, one-letter marks and chart colours; the ODs of TD 3.2 that
//  infrastructure openings serve
extern const char *const stx_rpt_pillar_ids [STX_PILLARS];
extern const char *const stx_rpt_pillar_names [STX_PILLARS];
extern const char *const stx_rpt_pillar_terms [STX_PILLARS];
extern const char *const stx_rpt_pillar_short [STX_PILLARS];
extern const char stx_rpt_pillar_letter [STX_PILLARS];
extern const char *const stx_rpt_pillar_colours [STX_PILLARS];
extern const char *const stx_rpt_pillar_tints [STX_PILLARS];
#define STX_RPT_INFRA_ODS 3
extern const char *const stx_rpt_infra_ods [STX_RPT_INFRA_ODS];

//  Tables the operational report is laid out in, at most
#define STX_RPT_OP_TABLES 10

#define STX_RPT_AGENDA_FILE "stem-agenda-2030.json"

#define STX_RPT_MAX_COLUMNS 10

typedef struct {
    const char *id;             //  HTML id, e.g. "goals"
    const char *title;
    size_t columns;
    const char *headers [STX_RPT_MAX_COLUMNS];
    bool right [STX_RPT_MAX_COLUMNS];     //  right-aligned (numbers)
    size_t max [STX_RPT_MAX_COLUMNS];     //  text: longest cell in characters, 0 = any
    char **cells;               //  rows * columns owned strings
    int *levels;                //  per row: tree level (0 = top), -1 = total row
    size_t rows, alloc;
    char *note;                 //  a paragraph after the table, or NULL
    char *empty;                //  printed instead of the table when it has no rows
} stx_rpt_table_t;

//  Zeroed heap memory of size bytes; aborts when out of memory.
void *
    stx_rpt_alloc (size_t size);

//  The cell at row, column of table (owned by the table).
const char *
    stx_rpt_cell (const stx_rpt_table_t *table, size_t row, size_t column);

//  Characters (not bytes) in a UTF-8 string
size_t
    stx_rpt_chars (const char *text);

//  One CSV line of count fields
void
    stx_rpt_csv_line (FILE *out, size_t count, ...);

//  A heap copy of text; aborts when out of memory. Caller frees.
char *
    stx_rpt_dup (const char *text);

//  A heap copy of count strings and of the array. Caller frees
//  (stx_rpt_free_list).
char **
    stx_rpt_dup_list (char **items, size_t count);

//  A heap string printed from format; aborts when out of memory. Caller
//  frees.
char *
    stx_rpt_fmt (const char *format, ...)
    __attribute__ ((format (printf, 1, 2)));

//  Free count strings and the array; accepts NULL.
void
    stx_rpt_free_list (char **items, size_t count);

//  The index of the goal with code in self->goals, or -1.
int
    stx_rpt_goal_find (const stx_report_t *self, const char *code);

//  Make room for one more item in an array of count items of size bytes
//  (new room is zeroed).
void *
    stx_rpt_grow (void *array, size_t *alloc_p, size_t count, size_t size);

//  Write the page's doctype, head (title escaped) and style sheet.
void
    stx_rpt_html_head (FILE *out, const char *title);

//  HTML text with & < > " escaped
void
    stx_rpt_html_text (FILE *out, const char *text);

//  items joined with sep; caller frees
char *
    stx_rpt_join (char **items, size_t count, const char *sep);

//  value in decimal as a heap string. Caller frees.
char *
    stx_rpt_num (uint64_t value);

//  The operational report as a JSON document (docs/REPORTS.md). Caller
//  decrefs.
json_t *
    stx_rpt_operational_json (const stx_report_t *self);

//  Lay the operational report out in tables (at most STX_RPT_OP_TABLES);
//  returns how many. Caller destroys each (stx_rpt_table_destroy).
size_t
    stx_rpt_operational_tables (const stx_report_t *self, stx_rpt_table_t **tables);

//  Does [start, end] ("" end = open ended) overlap [from, to]?
bool
    stx_rpt_overlaps (const char *start, const char *end, const char *from, const char *to);

//  Write the operational report as one long CSV table.
void
    stx_rpt_render_csv (const stx_report_t *self, FILE *out);

//  Write the operational report as an HTML page: the count tables, plus
//  the SVG charts drawn from self. The tables stay the caller's.
void
    stx_rpt_render_html (const stx_report_t *self, stx_rpt_table_t **tables, size_t count, FILE *out);

//  Write root as indented JSON with a final newline; root stays the
//  caller's.
void
    stx_rpt_render_json (json_t *root, FILE *out);

//  Write the count tables as Markdown under the report's title.
void
    stx_rpt_render_markdown (const stx_report_t *self, stx_rpt_table_t **tables, size_t count, FILE *out);

//  Write the count tables as aligned text under the report's title.
void
    stx_rpt_render_text (const stx_report_t *self, stx_rpt_table_t **tables, size_t count, FILE *out);

//  qsort, which must not see a NULL base even for no items
void
    stx_rpt_sort (void *base, size_t count, size_t size, int (*compare) (const void *, const void *));

//  Destroy *table_p and its cells; accepts NULL.
void
    stx_rpt_table_destroy (stx_rpt_table_t **table_p);

//  Set the table's column headers: one string per column, borrowed.
void
    stx_rpt_table_head (stx_rpt_table_t *table, ...);

//  Write table as an HTML <table> (cells escaped).
void
    stx_rpt_table_html (const stx_rpt_table_t *table, FILE *out);

//  Write table as a Markdown table.
void
    stx_rpt_table_markdown (const stx_rpt_table_t *table, FILE *out);

//  A new table with HTML id and title (both borrowed) and one letter per
//  column in spec: 'l' left-aligned, 'r' right-aligned. Caller destroys it.
stx_rpt_table_t *
    stx_rpt_table_new (const char *id, const char *title, const char *spec);

//  Add a row of table->columns cells, each taken over (heap strings)
void
    stx_rpt_table_row (stx_rpt_table_t *table, int level, ...);

//  Write table as aligned text under its underlined title.
void
    stx_rpt_table_text (const stx_rpt_table_t *table, FILE *out);

//  Write title and, under it, mark repeated as many characters as it has.
void
    stx_rpt_underline (FILE *out, const char *title, char mark);

//  The year of a YYYY-MM-DD date, or -1.
int
    stx_rpt_year (const char *date);

#endif
