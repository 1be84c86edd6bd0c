/*  =========================================================================
    stx_report - the monitoring reports of section 7 of the STEM-Agenda

    Two reports, each built as a MODEL first (plain data, copied out of the
    catalogue, so it outlives the read transaction and the taxonomy) and
    then rendered by one of five renderers (text, Markdown, CSV, HTML,
    JSON) onto a FILE *:

      operational (7.1)  the actions per OD, grouped under their TD and SD,
                         with counts per helix pillar; the ODs without any
                         action (gaps); how many actions involve 1, 2, 3 or
                         4 pillars; the infrastructure openings per OD
                         3.2.x and provider pillar with their capacity; the
                         network moments, and whether a State-of-the-STEM
                         took place in each biennium.
      strategic (7.2)    per SD, the indicators the catalogue can feed (with
                         their value) and those that need outside data (the
                         aspects of 7.2 and the VARIO core indicators),
                         derived from an operational model and the
                         "monitoring" part of stem-agenda-2030.json.

    Definitions (docs/REPORTS.md explains each number):
      period     [from, to], both days included, YYYY-MM-DD.
      action     an initiative whose period overlaps [from, to]: start <=
                 to and (no end, or end >= from), whatever its status; the
                 very rule of `stemx list initiative --from F --to T`. An
                 action counts once for each of its OD codes, and once for a
                 TD or SD however many of its ODs fall under it.
      pillars    the pillars an action involves: its owner's and its
                 partners' helix_pillar as stored in the entry (filled in by
                 the publishing agent); an unknown ("") pillar counts for
                 none. The lead pillar is the owner's.
      gap        an OD with no action in the period.
      opening    an infrastructure opening whose availability, from its
                 earliest window start to its latest window end, overlaps
                 the period (an opening without any window is not
                 counted). Seats per month = participants per session x
                 sessions per month.
      moment     a network moment whose date (to its end date) overlaps
                 the period.
      biennium   two calendar years starting on 1 January of an odd year
                 (2021-2022, ..., 2025-2026, ..., 2029-2030), so the last
                 one ends with the Agenda in 2030. A biennium "had" its
                 State-of-the-STEM when a state_of_the_stem moment is dated
                 anywhere in it (also outside the report period); the
                 report lists every biennium the period touches.
    The output depends only on the catalogue, the taxonomy and the period:
    no clock is read; the header says "as of sequence N" (the store's
    last applied sequence).
    ========================================================================= */

#ifndef STX_REPORT_H_INCLUDED
#define STX_REPORT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "stx_error.h"
#include "stx_store.h"
#include "stx_taxonomy.h"

//  The helix pillars, in the Agenda's order.
#define STX_PILLARS 4
typedef enum {
    STX_PILLAR_GOVERNMENT,      //  "government" (overheid)
    STX_PILLAR_KNOWLEDGE,       //  "knowledge" (kennisinstellingen)
    STX_PILLAR_INDUSTRY,        //  "industry" (bedrijven)
    STX_PILLAR_CIVIL_SOCIETY    //  "civil_society" (burger)
} stx_pillar_t;

//  Output formats.
typedef enum {
    STX_REPORT_TEXT,            //  aligned tables for a terminal
    STX_REPORT_MARKDOWN,        //  GitHub-flavoured Markdown tables
    STX_REPORT_CSV,             //  one long table: section,key,parent,measure,value,label
    STX_REPORT_HTML,            //  one self-contained page, inline CSS and SVG charts
    STX_REPORT_JSON             //  the model as JSON
} stx_report_format_t;

//  One goal of the tree with its counts.
typedef struct {
    char *code;                 //  "SD1", "TD 1.1" or "OD 1.1.1"
    char *parent;               //  its TD or SD; "" for an SD
    char *title;                //  English title
    int level;                  //  0 SD, 1 TD, 2 OD
    size_t actions;             //  actions serving it (distinct actions)
    size_t lead [STX_PILLARS];  //  of those, led by each pillar
    size_t involved [STX_PILLARS];  //  of those, involving each pillar
    size_t ods;                 //  ODs in it (1 for an OD)
    size_t ods_covered;         //  of those, with at least one action
    size_t openings;            //  openings serving it
    size_t moments;             //  moments with it (or an OD under it) as topic
} stx_report_goal_t;

//  One action (initiative active in the period).
typedef struct {
    char *key;                  //  "ini:..."
    char *title;
    char *owner;                //  "org:..."
    char *start;                //  YYYY-MM-DD
    char *end;                  //  "" = open ended
    char *status;
    char **od_codes;            //  as in the entry
    size_t n_od_codes;
    char **target_groups;
    size_t n_target_groups;
    int lead;                   //  owner's stx_pillar_t, -1 if unknown
    unsigned pillars;           //  bit p set: pillar p involved
    size_t n_pillars;           //  bits set in pillars (0..4)
    char **partners;            //  partner organisations ("org:..."), owner excluded
    size_t n_partners;
} stx_report_action_t;

//  Capacity of a set of openings.
typedef struct {
    size_t openings;
    uint64_t seats_per_session; //  sum of participants per session
    uint64_t sessions_per_month;    //  sum of sessions per month
    uint64_t seats_per_month;   //  sum of (participants x sessions) per opening
} stx_report_capacity_t;

//  Openings of one OD (3.2.1, 3.2.2, 3.2.3, always present; any other OD
//  an opening names is added in code order).
typedef struct {
    char *od_code;
    char *title;                //  English title, "" if the OD is unknown
    stx_report_capacity_t by_pillar [STX_PILLARS];  //  per provider pillar
    stx_report_capacity_t total;    //  all providers (unknown pillars too)
} stx_report_infra_t;

//  One opening active in the period.
typedef struct {
    char *key;                  //  "infra:..."
    char *facility;
    char *provider;             //  "org:..."
    int pillar;                 //  provider's stx_pillar_t, -1 if unknown
    char *od_code;
    char *municipality;
    char *start;                //  earliest window start
    char *end;                  //  latest window end, "" = open ended
    uint32_t seats_per_session;
    uint32_t sessions_per_month;
    uint64_t seats_per_month;
} stx_report_opening_t;

//  One network moment in the period.
typedef struct {
    char *key;                  //  "moment:..."
    char *title;
    char *kind;                 //  network_moment | state_of_the_stem
    char *date;
    char *end_date;             //  "" = one day
    char *organiser;
    char *municipality;
    uint32_t capacity;
    char **topic_od_codes;
    size_t n_topic_od_codes;
} stx_report_moment_t;

//  A biennium the period touches.
typedef struct {
    char from [11];             //  YYYY-01-01 of an odd year
    char to [11];               //  YYYY-12-31 of the next year
    size_t state_of_the_stem;   //  state_of_the_stem moments dated in it
    char *events;               //  "DATE KEY" of each, "; "-separated ("" if none)
} stx_report_biennium_t;

//  The operational report. Read-only after stx_report_build.
typedef struct {
    char from [11];             //  the period, YYYY-MM-DD
    char to [11];
    uint64_t seq;               //  store's last sequence when built
    stx_report_goal_t *goals;   //  tree order: SD, its TDs, each followed by its ODs
    size_t n_goals;
    size_t ods;                 //  ODs in the taxonomy (32)
    size_t ods_covered;         //  ODs with at least one action
    stx_report_action_t *actions;   //  in key order
    size_t n_actions;
    size_t lead [STX_PILLARS];  //  actions led by each pillar
    size_t involved [STX_PILLARS];  //  actions involving each pillar
    size_t by_pillar_count [STX_PILLARS + 1];   //  actions involving 0..4 pillars
    stx_report_infra_t *infra;  //  per OD, in code order
    size_t n_infra;
    stx_report_capacity_t infra_total;
    stx_report_opening_t *openings; //  by OD, then key
    size_t n_openings;
    stx_report_moment_t *moments;   //  by date, then key
    size_t n_moments;
    size_t moments_state_of_the_stem;   //  of those, State-of-the-STEM events
    uint64_t moments_capacity;  //  sum of their capacities
    stx_report_biennium_t *biennia; //  in time order
    size_t n_biennia;
} stx_report_t;

//  One indicator of the strategic report.
typedef struct {
    char *scope;                //  "SD1".."SD4", or "Agenda" for Agenda-wide ones
    char *id;                   //  e.g. "actions", "perception_stem", "vario_pisa_timss"
    char *name;                 //  English name
    bool fed;                   //  the catalogue gives its value
    uint64_t value;             //  the value, when fed
    char *detail;               //  fed: what the value holds; otherwise the
                                //  outside source (instrument and owner)
} stx_indicator_t;

//  The strategic report. Read-only after stx_strategic_build.
typedef struct {
    char from [11];
    char to [11];
    uint64_t seq;
    char *sd_titles [4];        //  English titles of SD1..SD4
    stx_indicator_t *indicators;    //  grouped by scope: SD1..SD4, then Agenda
    size_t n_indicators;
    size_t n_fed;               //  how many the catalogue feeds
} stx_strategic_t;

//  Parse a format name: "text", "markdown" (or "md"), "csv", "html",
//  "json". Returns STX_OK, or STX_ERR_INVALID for any other name.
stx_status_t
    stx_report_format_parse (const char *name, stx_report_format_t *format_p);

//  Id of a pillar ("government", ...); "" for a value out of range.
const char *
    stx_report_pillar_id (int pillar);

//  The pillar with that id, or -1.
int
    stx_report_pillar_of (const char *id);

//  The biennium containing date (YYYY-MM-DD): from = 1 January of the odd
//  year, to = 31 December of the next year (each 11 bytes). False if date
//  does not start with a year.
bool
    stx_report_biennium (const char *date, char from [11], char to [11]);

//  Build the operational model over [from, to] (valid dates, from <= to)
//  from one read (or write) transaction. Caller owns *self_p and destroys
//  it with stx_report_destroy. Errors: STX_ERR_INVALID (bad period, err
//  says why), STX_ERR_STORAGE. Aborts on out of memory, as czmq does.
stx_status_t
    stx_report_build (stx_txn_t *txn, const stx_taxonomy_t *taxonomy, const char *from,
                      const char *to, stx_report_t **self_p, char *err, size_t errlen);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_report_destroy (stx_report_t **self_p);

//  Render the operational report in format to out. Returns STX_OK, or
//  STX_ERR_IO if writing failed.
stx_status_t
    stx_report_render (const stx_report_t *self, stx_report_format_t format, FILE *out);

//  Build the strategic model from an operational one and the "monitoring"
//  part (and each SD's monitoring_aspects) of stem-agenda-2030.json in
//  taxonomy_dir. The report is only read. Caller owns *self_p and destroys
//  it with stx_strategic_destroy. Errors: STX_ERR_IO (file unreadable),
//  STX_ERR_MALFORMED (monitoring part missing or misshapen), with err
//  naming the file and the field.
stx_status_t
    stx_strategic_build (const stx_report_t *report, const char *taxonomy_dir,
                         stx_strategic_t **self_p, char *err, size_t errlen);

//  Destroy; accepts NULL and sets *self_p to NULL.
void
    stx_strategic_destroy (stx_strategic_t **self_p);

//  Render the strategic report in format to out. Returns STX_OK, or
//  STX_ERR_IO if writing failed.
stx_status_t
    stx_strategic_render (const stx_strategic_t *self, stx_report_format_t format, FILE *out);

#endif
