/* Typed ECG measurements from the text of a report page.
 *
 * A field set is a list of patterns, each a POSIX extended regular
 * expression matched case-insensitively against the whole page text with
 * REG_NEWLINE (so `^`/`$` are line boundaries, `.` and `[^...]` never cross
 * a line, and `[[:space:]]` may). Built-in patterns cover the common label
 * styles:
 *
 *   GE MUSE:   "Vent. rate 72 BPM", "PR interval 160 ms", "QRS duration 92
 *              ms", "QT/QTc 380/410 ms", "P-R-T axes 60 45 30"
 *   Philips:   "HR 72" / "Rate 72", "PR 160", "QRSD 92", "QT 380",
 *              "QTc 410", and a "--AXIS--" block of "P 60", "QRS 45", "T 30"
 *   plain:     "Heart rate: 72 bpm", "PR interval: 160 ms", "QRS axis: 45",
 *              "Acquired: 2024-07-18 17:31:00", an "Interpretation" heading
 *              followed by one statement per line
 *
 * and a site adds its own from a JSON file (FIELD_PATTERNS_FILE):
 *
 *   {"patterns": [
 *     {"field": "vent_rate_bpm", "regex": "Ventricular rate[: ]+([0-9]+)"},
 *     {"fields": ["qt_ms", "qtc_ms"], "regex": "QT/QTc ([0-9]+)/([0-9]+)"},
 *     {"field": "qrs_duration_ms", "regex": "QRS ([0-9.]+) s",
 *      "scale": 1000},
 *     {"field": "acquired_at", "regex": "Recorded: (.*)",
 *      "date_order": "dmy"},
 *     {"field": "interpretation", "regex": "^Diagnosis:"},
 *     {"field": "interpretation_end", "regex": "^Signed"}]}
 *
 * Keys: "field" (one name) or "fields" (several, for one regex that reads
 * several values); "regex"; optional "groups" (the capture group of each
 * field, default 1, 2, ...), "scale" (numeric fields: multiply the value),
 * "date_order" ("mdy" or "dmy": how acquired_at reads a numeric date with
 * slashes, which is otherwise ambiguous and left null). The site's
 * patterns are tried before the built-in ones, in file order.
 *
 * Rules (the README states them too):
 * - For each field the first pattern that matches decides, at its first
 *   match in the text; a pattern matching with a missing value ("---",
 *   "*", "?") leaves the field null without trying other patterns.
 * - Numbers may carry a sign and decimals (rounded to the nearest integer,
 *   halves away from zero). A number outside the field's physiological
 *   range, or an unreadable one, is not kept: the field stays null and
 *   `rejected` counts it. Nothing is guessed.
 * - interpretation: the lines after the heading (and the rest of the
 *   heading's own line), trimmed, until a blank line, an end line
 *   (built-in: "Unconfirmed ...", "Confirmed by", "Reviewed by",
 *   "Referred by", "Page N of M", ...), a line holding a measurement, or
 *   FIELDS_MAX_STATEMENTS lines.
 * - acquired_at: a date with a time of day (a date alone stays null): ISO
 *   "2024-07-18 17:31[:00]", "18-Jul-2024 17:31", "Jul 18, 2024 5:31 PM",
 *   "18.07.2024 17:31", and with date_order "07/18/2024 17:31". Reports
 *   give a wall-clock time without a zone: it is returned as milliseconds
 *   since the epoch as if that time were UTC. An impossible date is
 *   rejected.
 * - Patient identifiers are never fields.
 *
 * Thread-safety: a field set is immutable once built; fields_extract may
 * run on several threads at once with the same set. */
#ifndef ETL_ETL_FIELDS_H
#define ETL_ETL_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum fields_id {
    FIELDS_VENT_RATE,   /* vent_rate_bpm    20..300 */
    FIELDS_ATRIAL_RATE, /* atrial_rate_bpm  20..400 (flutter waves) */
    FIELDS_PR,          /* pr_interval_ms   50..400 */
    FIELDS_QRS,         /* qrs_duration_ms  40..250 */
    FIELDS_QT,          /* qt_ms           150..800 */
    FIELDS_QTC,         /* qtc_ms          200..800 */
    FIELDS_P_AXIS,      /* p_axis_deg     -180..360, as printed */
    FIELDS_R_AXIS,      /* r_axis_deg     -180..360 */
    FIELDS_T_AXIS,      /* t_axis_deg     -180..360 */
    FIELDS_NUMERIC,     /* count of the INT32 fields above */
    FIELDS_INTERPRETATION = FIELDS_NUMERIC, /* statements heading */
    FIELDS_INTERPRETATION_END,              /* line ending the statements */
    FIELDS_ACQUIRED_AT,
    FIELDS_COUNT
};

#define FIELDS_MAX_STATEMENTS 32
#define FIELDS_MAX_PATTERNS 256

struct fields_set;

/* What one page's text yields. Owned by the caller: fields_result_release
 * frees the statements. */
struct fields_result {
    bool has[FIELDS_NUMERIC];
    int32_t value[FIELDS_NUMERIC];
    bool has_interpretation; /* a heading was found (statements may be 0) */
    char **statements;       /* trimmed lines, valid UTF-8 if the text is */
    size_t nstatements;
    bool has_acquired;
    int64_t acquired_ms; /* wall-clock time as if UTC */
    int rejected;        /* values found but not kept */
};

/* Column name of a field ("vent_rate_bpm", ..., "interpretation",
 * "interpretation_end", "acquired_at"); NULL out of range. */
const char *fields_name(enum fields_id id);
/* Accepted range of a numeric field. */
void fields_range(enum fields_id id, int *min, int *max);

/* The built-in patterns plus those of json (NULL = none). source names
 * the JSON for messages (a file path or a setting name). On a bad pattern
 * returns ETL_ECONFIG and appends one line to err naming source, the
 * pattern's index and the problem, e.g.
 *   "f.json: patterns[2].regex: Unmatched ( or \\(". */
int fields_parse(const char *json, const char *source, struct fields_set **out,
                 struct buf *err);
/* fields_parse() of a file's contents (at most 1 MiB); path NULL gives
 * the built-in patterns only. */
int fields_load_file(const char *path, struct fields_set **out,
                     struct buf *err);
void fields_free(struct fields_set *s);
/* Number of patterns (built-in included), for logs. */
size_t fields_count(const struct fields_set *s);
/* Append a canonical text of the site's patterns ("" for none), so a
 * settings hash changes when they do. ETL_ENOMEM. */
int fields_describe(const struct fields_set *s, struct buf *out);

/* Read the fields from text (NUL-terminated, len bytes). *out is reset
 * first. ETL_ENOMEM only. */
int fields_extract(const struct fields_set *s, const char *text, size_t len,
                   struct fields_result *out);
void fields_result_release(struct fields_result *r);

/* Parse a date and time of day at the start of s (the formats above;
 * order 'm' or 'd' for slash dates, 0 to refuse them). Returns 1 and sets
 * *ms when one was read, 0 when s holds no date with a time, -1 for an
 * impossible date or time (e.g. 2024-02-30). Exposed for tests. */
int fields_parse_datetime(const char *s, char order, int64_t *ms);

#endif
