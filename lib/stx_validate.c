/*  =========================================================================
    stx_validate - checks an entry or event before it is sequenced

    DESIGN
    Stateless and allocation-free: the checks read the entry and the
    taxonomy and write at most one message into the caller's buffer.
    Thread-safe as long as the taxonomy is (it is read-only).

    Order of the checks, cheapest and most fundamental first, so the reason
    given is the one a publisher should fix first:
      1. the packed size of the entry (STX_ERR_TOO_LARGE);
      2. a generic walk over every field through the protobuf-c descriptors:
         each string valid UTF-8 (STX_ERR_BAD_UTF8) and within max_string,
         each list within max_list (STX_ERR_TOO_LARGE). Being descriptor
         driven, a field added to stemx.proto is covered without code;
      3. the id: length (TOO_LARGE), pattern and kind prefix (INVALID);
      4. per kind: required fields (INVALID), codes against the taxonomy
         (UNKNOWN_CODE), dates, times and their order (BAD_DATES).

    Messages are "<id>: <path>: <reason>". Anything echoed from the input
    passes through s_echo, which keeps valid UTF-8 only and cuts it short,
    and a message cut by the buffer is trimmed to whole characters, so the
    text is always safe to carry in a Result on the wire.
    ========================================================================= */

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "stx_kind.h"
#include "stx_text.h"
#include "stx_validate.h"

#define S_PATH_MAX  160         //  longest field path we print
#define S_ECHO_MAX  64          //  longest piece of input we echo

//  Validation state: the limits, the taxonomy and where messages go.
typedef struct {
    const stx_taxonomy_t *taxonomy;
    const stx_limits_t *limits;
    char id [S_ECHO_MAX + 4];   //  echo of the entry id, or its kind
    char *err;
    size_t errlen;
} s_ctx_t;


void
stx_limits_default (stx_limits_t *limits)
{
    assert (limits);
    limits->max_entry_bytes = 65536;
    limits->max_string = 4096;
    limits->max_list = 256;
    limits->max_key = 200;
}

//  snprintf for paths and messages that may be cut short on purpose: a
//  cut is harmless here (the buffers are sized for any sane path), and
//  going through a function keeps -Wformat-truncation quiet.
static void
s_format (char *buf, size_t size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_format (char *buf, size_t size, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    vsnprintf (buf, size, format, args);
    va_end (args);
}

//  Format "<id>: <path>: <reason>" into the caller's buffer and return
//  status; a message cut by the buffer is trimmed to whole characters.
static stx_status_t
s_fail (s_ctx_t *ctx, stx_status_t status, const char *path, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

static stx_status_t
s_fail (s_ctx_t *ctx, stx_status_t status, const char *path, const char *format, ...)
{
    if (!ctx->err || ctx->errlen == 0)
        return status;
    char reason [STX_ERRLEN];
    va_list args;
    va_start (args, format);
    vsnprintf (reason, sizeof (reason), format, args);
    va_end (args);
    return stx_fail_at (ctx->err, ctx->errlen, status, ctx->id, path, reason);
}

static bool
s_digits (const char *text, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (text [index] < '0' || text [index] > '9')
            return false;
    return true;
}

bool
stx_date_valid (const char *text)
{
    static const int s_days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (!text || strlen (text) != 10
    ||  !s_digits (text, 4) || text [4] != '-'
    ||  !s_digits (text + 5, 2) || text [7] != '-'
    ||  !s_digits (text + 8, 2))
        return false;
    int year = (text [0] - '0') * 1000 + (text [1] - '0') * 100
             + (text [2] - '0') * 10 + (text [3] - '0');
    int month = (text [5] - '0') * 10 + (text [6] - '0');
    int day = (text [8] - '0') * 10 + (text [9] - '0');
    if (month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int last = s_days [month - 1] + (month == 2 && leap? 1: 0);
    return day <= last;
}

//  True if text is a time of day HH:MM, 00:00 to 23:59.
static bool
s_time_valid (const char *text)
{
    if (strlen (text) != 5 || !s_digits (text, 2) || text [2] != ':'
    ||  !s_digits (text + 3, 2))
        return false;
    return (text [0] - '0') * 10 + (text [1] - '0') <= 23
        && (text [3] - '0') * 10 + (text [4] - '0') <= 59;
}

//  True if key matches ^(org|ini|infra|moment):[a-z0-9-]+$. If prefix is
//  not NULL, the key must start with that one.
static bool
s_key_valid (const char *key, const char *prefix)
{
    static const char *s_prefixes [] = { "org:", "ini:", "infra:", "moment:" };
    const char *slug = NULL;
    for (size_t index = 0; index < 4 && !slug; index++) {
        size_t len = strlen (s_prefixes [index]);
        if (strncmp (key, s_prefixes [index], len) == 0
        &&  (!prefix || strcmp (prefix, s_prefixes [index]) == 0))
            slug = key + len;
    }
    if (!slug || *slug == 0)
        return false;
    for (; *slug; slug++)
        if (!((*slug >= 'a' && *slug <= 'z') || (*slug >= '0' && *slug <= '9')
           || *slug == '-'))
            return false;
    return true;
}

//  Step 2: UTF-8 and size limits of every string and list in msg.
//  Refuse a message carrying fields this schema does not know: they would
//  be stored and replicated unvalidated, and read by a later version.
static stx_status_t
s_unknown_field (s_ctx_t *ctx, const ProtobufCMessage *msg, const char *path)
{
    return s_fail (ctx, STX_ERR_MALFORMED, path, "unknown field number %u",
                   (unsigned) msg->unknown_fields [0].tag);
}

//  The path of item of field under path: "path.field" or "path.field[i]".
static void
s_item_path (char *buf, size_t size, const char *path, const char *field, bool repeated,
             size_t item)
{
    if (repeated)
        s_format (buf, size, "%s%s%s[%zu]", path, *path? ".": "", field, item);
    else
        s_format (buf, size, "%s%s%s", path, *path? ".": "", field);
}

//  The long texts (summary, description, conditions) may hold tabs and
//  line breaks (LF, CR: a CSV cell from a CRLF file); no other string may
//  hold a control character.
static bool
s_long_text (const char *field)
{
    return strcmp (field, "summary") == 0 || strcmp (field, "description") == 0
        || strcmp (field, "conditions") == 0;
}

//  True if text (valid UTF-8) holds a C0 control (but tab and line breaks
//  in a long text), DEL or a C1 control: they would reach partners'
//  terminals
static bool
s_controls (const char *text, bool long_text)
{
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        //  C1 controls (U+0080..U+009F) are 0xC2 0x80..0x9F in UTF-8
        if (*c == 0x7f || (c [0] == 0xc2 && c [1] >= 0x80 && c [1] <= 0x9f))
            return true;
        if (*c < 0x20 && !(long_text && (*c == '\t' || *c == '\n' || *c == '\r')))
            return true;
    }
    return false;
}

//  Paths are only formatted for a refusal and for the messages walked
//  into: a valid event costs no formatting of its strings' paths.
static stx_status_t
s_walk (s_ctx_t *ctx, const ProtobufCMessage *msg, const char *path)
{
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const char *base = (const char *) msg;
    if (msg->n_unknown_fields)
        return s_unknown_field (ctx, msg, path);
    for (unsigned index = 0; index < desc->n_fields; index++) {
        const ProtobufCFieldDescriptor *field = &desc->fields [index];
        if (field->type != PROTOBUF_C_TYPE_STRING && field->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        size_t count = 1;
        const void *const *items = (const void *const *) (base + field->offset);
        bool repeated = field->label == PROTOBUF_C_LABEL_REPEATED;
        char item_path [S_PATH_MAX + 24];
        if (repeated) {
            count = *(const size_t *) (base + field->quantifier_offset);
            items = *(const void *const *const *) (base + field->offset);
            if (count > ctx->limits->max_list) {
                char field_path [S_PATH_MAX];
                s_format (field_path, sizeof (field_path), "%s%s%s", path, *path? ".": "",
                          field->name);
                return s_fail (ctx, STX_ERR_TOO_LARGE, field_path,
                               "%zu items, over the limit of %zu",
                               count, ctx->limits->max_list);
            }
        }
        for (size_t item = 0; item < count; item++) {
            if (!items [item])
                continue;
            if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
                s_item_path (item_path, sizeof (item_path), path, field->name, repeated, item);
                stx_status_t rc = s_walk (ctx, (const ProtobufCMessage *) items [item],
                                          item_path);
                if (rc != STX_OK)
                    return rc;
                continue;
            }
            const char *text = (const char *) items [item];
            size_t len = strlen (text);
            bool utf8 = stx_utf8_valid (text, len);
            bool controls = utf8 && s_controls (text, s_long_text (field->name));
            if (utf8 && !controls && len <= ctx->limits->max_string)
                continue;
            s_item_path (item_path, sizeof (item_path), path, field->name, repeated, item);
            if (!utf8)
                return s_fail (ctx, STX_ERR_BAD_UTF8, item_path, "invalid UTF-8");
            if (controls)
                return s_fail (ctx, STX_ERR_INVALID, item_path, "holds control characters%s",
                               s_long_text (field->name)? " (only tab and line breaks may "
                               "stand in a long text)": "");
            return s_fail (ctx, STX_ERR_TOO_LARGE, item_path,
                           "%zu bytes, over the limit of %zu", len, ctx->limits->max_string);
        }
    }
    return STX_OK;
}

//  A required string: "" is refused.
static stx_status_t
s_required (s_ctx_t *ctx, const char *value, const char *path)
{
    if (!value || *value == 0)
        return s_fail (ctx, STX_ERR_INVALID, path, "required");
    return STX_OK;
}

//  A code of vocab, unless empty (required-ness is checked apart).
static stx_status_t
s_code (s_ctx_t *ctx, stx_vocab_t vocab, const char *value, const char *path)
{
    if (value && *value && ctx->taxonomy && !stx_taxonomy_has (ctx->taxonomy, vocab, value)) {
        char echo [S_ECHO_MAX + 4];
        return s_fail (ctx, STX_ERR_UNKNOWN_CODE, path, "unknown %s '%s'",
                       stx_vocab_name (vocab),
                       stx_echo (echo, sizeof (echo), value, S_ECHO_MAX));
    }
    return STX_OK;
}

//  Every item of a list of codes, as path[i].
static stx_status_t
s_codes (s_ctx_t *ctx, stx_vocab_t vocab, char *const *values, size_t count,
         const char *path)
{
    for (size_t index = 0; index < count; index++) {
        char item_path [S_PATH_MAX];
        s_format (item_path, sizeof (item_path), "%s[%zu]", path, index);
        if (!values [index] || *values [index] == 0)
            return s_fail (ctx, STX_ERR_INVALID, item_path, "empty");
        stx_status_t rc = s_code (ctx, vocab, values [index], item_path);
        if (rc != STX_OK)
            return rc;
    }
    return STX_OK;
}

//  A date, unless empty.
static stx_status_t
s_date (s_ctx_t *ctx, const char *value, const char *path)
{
    if (*value && !stx_date_valid (value)) {
        char echo [S_ECHO_MAX + 4];
        return s_fail (ctx, STX_ERR_BAD_DATES, path, "'%s' is not a date (YYYY-MM-DD)",
                       stx_echo (echo, sizeof (echo), value, S_ECHO_MAX));
    }
    return STX_OK;
}

//  A time of day, unless empty.
static stx_status_t
s_time (s_ctx_t *ctx, const char *value, const char *path)
{
    if (*value && !s_time_valid (value)) {
        char echo [S_ECHO_MAX + 4];
        return s_fail (ctx, STX_ERR_BAD_DATES, path, "'%s' is not a time (HH:MM, 00:00-23:59)",
                       stx_echo (echo, sizeof (echo), value, S_ECHO_MAX));
    }
    return STX_OK;
}

//  A partner reference at path: org required and an organisation key, the
//  pillar (if given) a helix pillar.
static stx_status_t
s_partner (s_ctx_t *ctx, const Stemx__Partner *partner, const char *path, bool required)
{
    if (!partner)
        return required? s_fail (ctx, STX_ERR_INVALID, path, "required"): STX_OK;
    char sub_path [S_PATH_MAX];
    s_format (sub_path, sizeof (sub_path), "%s.org", path);
    stx_status_t rc = s_required (ctx, partner->org, sub_path);
    if (rc == STX_OK && !s_key_valid (partner->org, "org:")) {
        char echo [S_ECHO_MAX + 4];
        rc = s_fail (ctx, STX_ERR_INVALID, sub_path,
                     "'%s' is not an organisation key (org:[a-z0-9-]+)",
                     stx_echo (echo, sizeof (echo), partner->org, S_ECHO_MAX));
    }
    s_format (sub_path, sizeof (sub_path), "%s.helix_pillar", path);
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_PILLAR, partner->helix_pillar, sub_path);
    return rc;
}

static stx_status_t
s_partners (s_ctx_t *ctx, Stemx__Partner *const *partners, size_t count, const char *path)
{
    for (size_t index = 0; index < count; index++) {
        char item_path [S_PATH_MAX];
        s_format (item_path, sizeof (item_path), "%s[%zu]", path, index);
        if (!partners [index])
            return s_fail (ctx, STX_ERR_INVALID, item_path, "empty");
        stx_status_t rc = s_partner (ctx, partners [index], item_path, true);
        if (rc != STX_OK)
            return rc;
    }
    return STX_OK;
}

//  end not before start (both dates, either may be empty).
static stx_status_t
s_date_order (s_ctx_t *ctx, const char *start, const char *start_path,
              const char *end, const char *end_path)
{
    if (*start && *end && strcmp (end, start) < 0)
        return s_fail (ctx, STX_ERR_BAD_DATES, end_path, "%s is before %s %s",
                       end, start_path, start);
    return STX_OK;
}

//  end strictly after start (both times, either may be empty).
static stx_status_t
s_time_order (s_ctx_t *ctx, const char *start, const char *start_path,
              const char *end, const char *end_path)
{
    if (*start && *end && strcmp (end, start) <= 0)
        return s_fail (ctx, STX_ERR_BAD_DATES, end_path, "%s is not after %s %s",
                       end, start_path, start);
    return STX_OK;
}

static stx_status_t
s_location (s_ctx_t *ctx, const Stemx__Location *location, const char *path)
{
    if (!location)
        return STX_OK;
    char sub_path [S_PATH_MAX];
    s_format (sub_path, sizeof (sub_path), "%s.region", path);
    return s_code (ctx, STX_VOCAB_REGION, location->region, sub_path);
}

static stx_status_t
s_organisation (s_ctx_t *ctx, const Stemx__Organisation *org)
{
    stx_status_t rc = s_required (ctx, org->name, "name");
    if (rc == STX_OK)
        rc = s_required (ctx, org->helix_pillar, "helix_pillar");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_PILLAR, org->helix_pillar, "helix_pillar");
    if (rc == STX_OK)
        rc = s_required (ctx, org->kind, "kind");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_ORG_KIND, org->kind, "kind");
    if (rc == STX_OK)
        rc = s_required (ctx, org->region, "region");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_REGION, org->region, "region");
    return rc;
}

static stx_status_t
s_initiative (s_ctx_t *ctx, const Stemx__Initiative *ini)
{
    stx_status_t rc = s_required (ctx, ini->title, "title");
    if (rc == STX_OK)
        rc = s_partner (ctx, ini->owner, "owner", true);
    if (rc == STX_OK)
        rc = s_partners (ctx, ini->partners, ini->n_partners, "partners");
    if (rc == STX_OK && ini->n_od_codes == 0)
        rc = s_fail (ctx, STX_ERR_INVALID, "od_codes", "required (at least one OD code)");
    if (rc == STX_OK)
        rc = s_codes (ctx, STX_VOCAB_OD, ini->od_codes, ini->n_od_codes, "od_codes");
    if (rc == STX_OK)
        rc = s_codes (ctx, STX_VOCAB_THEME, ini->themes, ini->n_themes, "themes");
    if (rc == STX_OK)
        rc = s_codes (ctx, STX_VOCAB_TARGET_GROUP, ini->target_groups,
                      ini->n_target_groups, "target_groups");
    if (rc == STX_OK && !ini->period)
        rc = s_fail (ctx, STX_ERR_INVALID, "period.start", "required");
    if (rc == STX_OK)
        rc = s_required (ctx, ini->period->start, "period.start");
    if (rc == STX_OK)
        rc = s_date (ctx, ini->period->start, "period.start");
    if (rc == STX_OK)
        rc = s_date (ctx, ini->period->end, "period.end");
    if (rc == STX_OK)
        rc = s_date_order (ctx, ini->period->start, "period.start",
                           ini->period->end, "period.end");
    if (rc == STX_OK)
        rc = s_required (ctx, ini->status, "status");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_STATUS, ini->status, "status");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_REGION, ini->region, "region");
    return rc;
}

static stx_status_t
s_availability (s_ctx_t *ctx, const Stemx__AvailabilityWindow *window, const char *path)
{
    static const char *s_weekdays [] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
    char from [S_PATH_MAX], to [S_PATH_MAX], start [S_PATH_MAX], end [S_PATH_MAX];
    s_format (from, sizeof (from), "%s.from", path);
    s_format (to, sizeof (to), "%s.to", path);
    s_format (start, sizeof (start), "%s.start_time", path);
    s_format (end, sizeof (end), "%s.end_time", path);
    stx_status_t rc = s_date (ctx, window->from, from);
    if (rc == STX_OK)
        rc = s_date (ctx, window->to, to);
    if (rc == STX_OK)
        rc = s_date_order (ctx, window->from, from, window->to, to);
    for (size_t index = 0; rc == STX_OK && index < window->n_weekdays; index++) {
        bool known = false;
        for (size_t day = 0; day < 7 && !known; day++)
            known = strcmp (window->weekdays [index], s_weekdays [day]) == 0;
        if (!known) {
            char echo [S_ECHO_MAX + 4];
            char day_path [S_PATH_MAX];
            s_format (day_path, sizeof (day_path), "%s.weekdays[%zu]", path, index);
            rc = s_fail (ctx, STX_ERR_BAD_DATES, day_path,
                         "'%s' is not a weekday (mon..sun)",
                         stx_echo (echo, sizeof (echo), window->weekdays [index], S_ECHO_MAX));
        }
    }
    if (rc == STX_OK)
        rc = s_time (ctx, window->start_time, start);
    if (rc == STX_OK)
        rc = s_time (ctx, window->end_time, end);
    if (rc == STX_OK)
        rc = s_time_order (ctx, window->start_time, start, window->end_time, end);
    return rc;
}

static stx_status_t
s_infrastructure (s_ctx_t *ctx, const Stemx__InfrastructureOpening *infra)
{
    stx_status_t rc = s_partner (ctx, infra->provider, "provider", true);
    if (rc == STX_OK)
        rc = s_required (ctx, infra->kind, "kind");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_INFRA_KIND, infra->kind, "kind");
    //  The Agenda ties openings to OD 3.2.1-3.2.3, but any OD is accepted.
    if (rc == STX_OK)
        rc = s_required (ctx, infra->od_code, "od_code");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_OD, infra->od_code, "od_code");
    if (rc == STX_OK)
        rc = s_required (ctx, infra->facility, "facility");
    if (rc == STX_OK)
        rc = s_required (ctx, infra->location? infra->location->municipality: NULL,
                         "location.municipality");
    if (rc == STX_OK)
        rc = s_location (ctx, infra->location, "location");
    for (size_t index = 0; rc == STX_OK && index < infra->n_availability; index++) {
        char path [S_PATH_MAX];
        s_format (path, sizeof (path), "availability[%zu]", index);
        if (!infra->availability [index])
            rc = s_fail (ctx, STX_ERR_INVALID, path, "empty");
        else
            rc = s_availability (ctx, infra->availability [index], path);
    }
    if (rc == STX_OK && infra->audience) {
        rc = s_codes (ctx, STX_VOCAB_TARGET_GROUP, infra->audience->target_groups,
                      infra->audience->n_target_groups, "audience.target_groups");
        if (rc == STX_OK)
            rc = s_codes (ctx, STX_VOCAB_SETTING, infra->audience->settings,
                          infra->audience->n_settings, "audience.settings");
    }
    if (rc == STX_OK)
        rc = s_codes (ctx, STX_VOCAB_THEME, infra->themes, infra->n_themes, "themes");
    return rc;
}

static stx_status_t
s_moment (s_ctx_t *ctx, const Stemx__NetworkMoment *moment)
{
    stx_status_t rc = s_partner (ctx, moment->organiser, "organiser", true);
    if (rc == STX_OK)
        rc = s_partners (ctx, moment->co_organisers, moment->n_co_organisers,
                         "co_organisers");
    if (rc == STX_OK)
        rc = s_required (ctx, moment->title, "title");
    if (rc == STX_OK)
        rc = s_required (ctx, moment->kind, "kind");
    if (rc == STX_OK)
        rc = s_code (ctx, STX_VOCAB_MOMENT_KIND, moment->kind, "kind");
    if (rc == STX_OK)
        rc = s_required (ctx, moment->date, "date");
    if (rc == STX_OK)
        rc = s_date (ctx, moment->date, "date");
    if (rc == STX_OK)
        rc = s_date (ctx, moment->end_date, "end_date");
    if (rc == STX_OK)
        rc = s_date_order (ctx, moment->date, "date", moment->end_date, "end_date");
    if (rc == STX_OK)
        rc = s_time (ctx, moment->start_time, "start_time");
    if (rc == STX_OK)
        rc = s_time (ctx, moment->end_time, "end_time");
    //  Over several days the last day may end earlier than the first began.
    if (rc == STX_OK && (*moment->end_date == 0 || strcmp (moment->end_date, moment->date) == 0))
        rc = s_time_order (ctx, moment->start_time, "start_time",
                           moment->end_time, "end_time");
    if (rc == STX_OK)
        rc = s_location (ctx, moment->location, "location");
    if (rc == STX_OK)
        rc = s_codes (ctx, STX_VOCAB_OD, moment->topic_od_codes,
                      moment->n_topic_od_codes, "topic_od_codes");
    if (rc == STX_OK)
        rc = s_codes (ctx, STX_VOCAB_THEME, moment->themes, moment->n_themes, "themes");
    return rc;
}

//  Step 3: the id's length, pattern and prefix. path is "id" for an entry,
//  "key" for an event.
static stx_status_t
s_key (s_ctx_t *ctx, const char *key, const char *path, const char *prefix)
{
    stx_status_t rc = s_required (ctx, key, path);
    if (rc != STX_OK)
        return rc;
    if (strlen (key) > ctx->limits->max_key)
        return s_fail (ctx, STX_ERR_TOO_LARGE, path, "%zu bytes, over the limit of %zu",
                       strlen (key), ctx->limits->max_key);
    if (!s_key_valid (key, NULL))
        return s_fail (ctx, STX_ERR_INVALID, path,
                       "must match ^(org|ini|infra|moment):[a-z0-9-]+$");
    if (prefix && !s_key_valid (key, prefix))
        return s_fail (ctx, STX_ERR_INVALID, path, "must start with '%s' (the entry is of kind %s)",
                       prefix, stx_kind_name (stx_kind_of_key (prefix)));
    return STX_OK;
}

stx_status_t
stx_validate_entry (const stx_taxonomy_t *taxonomy, const stx_limits_t *limits,
                    const Stemx__Entry *entry, char *err, size_t errlen)
{
    stx_limits_t defaults;
    if (!limits) {
        stx_limits_default (&defaults);
        limits = &defaults;
    }
    s_ctx_t ctx = { taxonomy, limits, "entry", err, errlen };
    stx_kind_t kind = stx_entry_kind (entry);
    if (kind == STX_KIND_NONE)
        return s_fail (&ctx, STX_ERR_INVALID, "",
                       "empty (no organisation, initiative, infrastructure or moment)");
    const char *key = stx_entry_key (entry);
    if (*key)
        stx_echo (ctx.id, sizeof (ctx.id), key, S_ECHO_MAX);
    else
        s_format (ctx.id, sizeof (ctx.id), "%s", stx_kind_name (kind));

    if (entry->base.n_unknown_fields)
        return s_unknown_field (&ctx, &entry->base, "");
    const ProtobufCMessage *msg = NULL;
    const char *prefix = NULL;
    switch (kind) {
        case STX_KIND_ORGANISATION:
            msg = &entry->organisation->base;
            prefix = "org:";
            break;
        case STX_KIND_INITIATIVE:
            msg = &entry->initiative->base;
            prefix = "ini:";
            break;
        case STX_KIND_INFRASTRUCTURE:
            msg = &entry->infrastructure->base;
            prefix = "infra:";
            break;
        case STX_KIND_MOMENT:
            msg = &entry->moment->base;
            prefix = "moment:";
            break;
        case STX_KIND_NONE:
            assert (false);
    }
    //  Per-field limits first, so that an oversized entry is refused with
    //  the name of the field that makes it so
    stx_status_t rc = s_walk (&ctx, msg, "");
    if (rc == STX_OK) {
        size_t size = protobuf_c_message_get_packed_size (&entry->base);
        if (size > limits->max_entry_bytes)
            rc = s_fail (&ctx, STX_ERR_TOO_LARGE, "", "entry is %zu bytes, over the limit of %zu",
                         size, limits->max_entry_bytes);
    }
    if (rc == STX_OK)
        rc = s_key (&ctx, key, "id", prefix);
    if (rc != STX_OK)
        return rc;
    switch (kind) {
        case STX_KIND_ORGANISATION:   return s_organisation (&ctx, entry->organisation);
        case STX_KIND_INITIATIVE:     return s_initiative (&ctx, entry->initiative);
        case STX_KIND_INFRASTRUCTURE: return s_infrastructure (&ctx, entry->infrastructure);
        case STX_KIND_MOMENT:         return s_moment (&ctx, entry->moment);
        case STX_KIND_NONE:           break;
    }
    return STX_OK;
}

stx_status_t
stx_validate_event (const stx_taxonomy_t *taxonomy, const stx_limits_t *limits,
                    const Stemx__Event *event, char *err, size_t errlen)
{
    assert (taxonomy);
    stx_limits_t defaults;
    if (!limits) {
        stx_limits_default (&defaults);
        limits = &defaults;
    }
    s_ctx_t ctx = { taxonomy, limits, "event", err, errlen };
    if (!event)
        return s_fail (&ctx, STX_ERR_MALFORMED, "", "missing");
    const char *key = event->key? event->key: "";
    if (*key)
        stx_echo (ctx.id, sizeof (ctx.id), key, S_ECHO_MAX);
    if (event->event_id.len != 16)
        return s_fail (&ctx, STX_ERR_MALFORMED, "event_id", "expected 16 bytes, got %zu",
                       event->event_id.len);

    //  Strings of the envelope a publisher may fill.
    const char *strings [] = { event->origin, event->node };
    const char *names [] = { "origin", "node" };
    for (size_t index = 0; index < 2; index++) {
        const char *text = strings [index]? strings [index]: "";
        if (!stx_utf8_valid (text, strlen (text)))
            return s_fail (&ctx, STX_ERR_BAD_UTF8, names [index], "invalid UTF-8");
        if (strlen (text) > limits->max_string)
            return s_fail (&ctx, STX_ERR_TOO_LARGE, names [index],
                           "%zu bytes, over the limit of %zu", strlen (text),
                           limits->max_string);
    }
    if (event->base.n_unknown_fields)
        return s_unknown_field (&ctx, &event->base, "");
    if (event->op != STEMX__OPERATION__OP_UPSERT && event->op != STEMX__OPERATION__OP_WITHDRAW)
        return s_fail (&ctx, STX_ERR_MALFORMED, "op", "expected upsert or withdraw, got %d",
                       (int) event->op);
    if (!stx_utf8_valid (key, strlen (key)))
        return s_fail (&ctx, STX_ERR_BAD_UTF8, "key", "invalid UTF-8");
    stx_status_t rc = s_key (&ctx, key, "key", NULL);
    if (rc != STX_OK)
        return rc;

    bool has_entry = event->entry != NULL;
    if (event->op == STEMX__OPERATION__OP_WITHDRAW) {
        if (has_entry)
            return s_fail (&ctx, STX_ERR_MALFORMED, "entry", "a withdrawal carries no entry");
        return STX_OK;
    }
    if (!has_entry || stx_entry_kind (event->entry) == STX_KIND_NONE)
        return s_fail (&ctx, STX_ERR_MALFORMED, "entry", "an upsert needs an entry");
    const char *id = stx_entry_key (event->entry);
    if (strcmp (id, key) != 0) {
        char echo [S_ECHO_MAX + 4];
        return stx_fail (err, errlen, STX_ERR_INVALID,
                         "key '%s' does not match entry id '%s'", ctx.id,
                         stx_echo (echo, sizeof (echo), id, S_ECHO_MAX));
    }
    return stx_validate_entry (taxonomy, limits, event->entry, err, errlen);
}

const char *
stx_node_name_invalid (const char *node)
{
    assert (node);
    size_t size = strlen (node);
    if (size > STX_NODE_MAX)
        return "is longer than 64 bytes";
    if (!stx_utf8_valid (node, size))
        return "is not valid UTF-8";
    if (s_controls (node, false))
        return "holds control characters";
    return NULL;
}
