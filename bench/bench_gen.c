/*  =========================================================================
    bench_gen - a deterministic catalogue of benchmark entries

    Initiative number i is a pure function of i (a splitmix64 stream seeded
    with i), so every run, and every workload, publishes the same bytes.
    The values come from the STEM-Agenda taxonomy in config/ (operational
    goals, themes, target groups) and the sample catalogue's regions and
    municipalities, so each entry passes the broker's validation; an
    initiative is about 580 bytes of JSON, like the sample catalogue's.
    Owners are org:bench-0 .. 7, so eight organisations share the load.
    ========================================================================= */

#include <stdio.h>
#include <string.h>
#include "bench.h"

static const char *s_pillars [] = { "government", "knowledge", "industry", "civil_society" };
static const char *s_kinds [] = { "agency", "university", "sector_federation", "stem_academy_npo" };

static const char *s_od [] = {
    "OD 1.1.1", "OD 1.1.2", "OD 1.2.1", "OD 1.2.2", "OD 2.1.1", "OD 2.1.2", "OD 2.2.1",
    "OD 2.2.2", "OD 2.2.3", "OD 2.2.4", "OD 2.3.1", "OD 2.3.2", "OD 2.3.3", "OD 2.3.4",
    "OD 2.3.5", "OD 2.4.1", "OD 2.4.2", "OD 3.1.1", "OD 3.1.2", "OD 3.2.1", "OD 3.2.2",
    "OD 3.2.3", "OD 3.2.4", "OD 3.3.1", "OD 3.3.2", "OD 4.1.1", "OD 4.1.2", "OD 4.1.3",
    "OD 4.1.4", "OD 4.2.1", "OD 4.2.2", "OD 4.2.3"
};
static const char *s_themes [] = {
    "ai", "circular_economy", "climate_sustainability", "cybersecurity", "digitalisation",
    "energy", "entrepreneurship", "industry_4_0", "lifelong_learning", "science_communication"
};
static const char *s_targets [] = {
    "children_youth", "pupils", "teachers_trainers", "girls_women", "jobseekers", "workers",
    "students_higher_education", "parents", "stem_talent", "vulnerable_groups"
};
static const char *s_places [][2] = {
    { "oost-vlaanderen", "Gent" }, { "antwerpen", "Geel" }, { "antwerpen", "Turnhout" },
    { "antwerpen", "Mechelen" }, { "limburg", "Hasselt" }, { "limburg", "Genk" },
    { "west-vlaanderen", "Kortrijk" }
};
static const char *s_statuses [] = { "planned", "running", "running", "completed" };
//  Title and summary words; "robotica" and the municipalities are what the
//  query workload searches for
static const char *s_words [] = {
    "robotica", "programmeren", "techniek", "wetenschap", "labo", "maakplaats",
    "duurzaamheid", "chemie", "elektronica", "ontwerp", "onderzoek", "energie",
    "data", "biotechnologie", "mechatronica", "wiskunde", "sensoren", "drones"
};
static const char *s_formats [] = { "kamp", "traject", "workshop", "academie", "netwerk" };

#define S_COUNT(array) (sizeof (array) / sizeof (array [0]))

//  splitmix64: small, fast, and the same on every machine
static uint64_t
s_next (uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static const char *
s_pick (uint64_t *state, const char **array, size_t count)
{
    return array [s_next (state) % count];
}

//  count distinct values of array, as a JSON array
static json_t *
s_some (uint64_t *state, const char **array, size_t size, size_t count)
{
    json_t *list = json_array ();
    size_t first = s_next (state) % size;
    size_t step = 1 + s_next (state) % (size - 1);
    for (size_t i = 0; i < count; i++)
        json_array_append_new (list, json_string (array [(first + i * step) % size]));
    //  A step sharing a factor with size can repeat: drop repeats
    for (size_t i = json_array_size (list); i-- > 1;)
        for (size_t j = 0; j < i; j++)
            if (strcmp (json_string_value (json_array_get (list, i)),
                        json_string_value (json_array_get (list, j))) == 0) {
                json_array_remove (list, i);
                break;
            }
    return list;
}

json_t *
bench_gen_org (int index)
{
    char id [32], name [64], short_name [16];
    snprintf (id, sizeof id, "org:bench-%d", index);
    snprintf (name, sizeof name, "Benchmark organisation %d", index);
    snprintf (short_name, sizeof short_name, "BENCH%d", index);
    return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "name", name,
                      "short_name", short_name, "helix_pillar", s_pillars [index % 4],
                      "kind", s_kinds [index % 4], "region", "flanders",
                      "municipality", "Gent");
}

bool
bench_gen_orgs (const char *path)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return false;
    for (int i = 0; i < BENCH_ORGS; i++) {
        json_t *org = bench_gen_org (i);
        json_dumpf (org, file, JSON_COMPACT);
        fputc ('\n', file);
        json_decref (org);
    }
    return fclose (file) == 0;
}

json_t *
bench_gen_initiative (long index)
{
    uint64_t state = (uint64_t) index * 2654435761u + 1;
    int owner = (int) (index % BENCH_ORGS);
    const char **place = s_places [s_next (&state) % S_COUNT (s_places)];
    char id [40], title [160], summary [400], start [16], end [16];
    snprintf (id, sizeof id, "ini:bench-%07ld", index);
    snprintf (title, sizeof title, "%s en %s %s in %s, editie %ld",
              s_pick (&state, s_words, S_COUNT (s_words)),
              s_pick (&state, s_words, S_COUNT (s_words)),
              s_pick (&state, s_formats, S_COUNT (s_formats)), place [1], index);
    snprintf (summary, sizeof summary,
              "Een %s rond %s, %s en %s voor jongeren en leerkrachten in %s.",
              s_pick (&state, s_formats, S_COUNT (s_formats)),
              s_pick (&state, s_words, S_COUNT (s_words)),
              s_pick (&state, s_words, S_COUNT (s_words)),
              s_pick (&state, s_words, S_COUNT (s_words)), place [1]);
    int year = 2024 + (int) (s_next (&state) % 4);
    snprintf (start, sizeof start, "%d-%02d-01", year, 1 + (int) (s_next (&state) % 12));
    snprintf (end, sizeof end, "%d-%02d-28", year + 1 + (int) (s_next (&state) % 3),
              1 + (int) (s_next (&state) % 12));
    //  Partners carry their pillar, as the agent fills it in before signing
    json_t *partners = json_array ();
    for (int i = 1; i <= 2; i++) {
        int org = (owner + i * 3) % BENCH_ORGS;
        char ref [32];
        snprintf (ref, sizeof ref, "org:bench-%d", org);
        json_array_append_new (partners, json_pack ("{s:s, s:s}", "org", ref,
                                                    "helix_pillar", s_pillars [org % 4]));
    }
    json_t *od = s_some (&state, s_od, S_COUNT (s_od), 2);
    char owner_ref [32];
    snprintf (owner_ref, sizeof owner_ref, "org:bench-%d", owner);
    return json_pack ("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:s, s:s}, "
                      "s:s, s:s, s:s, s:[s]}",
                      "id", id, "title", title, "summary", summary, "owner", owner_ref,
                      "partners", partners, "od_codes", od,
                      "themes", s_some (&state, s_themes, S_COUNT (s_themes), 2),
                      "target_groups", s_some (&state, s_targets, S_COUNT (s_targets), 2),
                      "period", "start", start, "end", end,
                      "status", s_pick (&state, s_statuses, S_COUNT (s_statuses)),
                      "region", place [0], "municipality", place [1],
                      "doc_refs", json_string_value (json_array_get (od, 0)));
}

bool
bench_gen_initiatives (const char *path, long first, long count)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return false;
    for (long i = first; i < first + count; i++) {
        json_t *ini = bench_gen_initiative (i);
        json_dumpf (ini, file, JSON_COMPACT);
        fputc ('\n', file);
        json_decref (ini);
    }
    return fclose (file) == 0;
}
