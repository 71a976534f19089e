/* Typed ECG measurements from a report page.
 *
 * Labels are paired with values by where they are printed (fields_geo.c):
 * a value in the label's own text run ("Ventr. Freq.: 61 BPM"), to its
 * right on the same baseline (MUSE's "PR interval" | "146" | "ms",
 * value columns beside label columns), or below it in the same column
 * (Kardia's "Heart Rate:" over "87 BPM"). The label dictionary covers
 * English, German, French, Spanish, Italian, Russian and Chinese and the
 * abbreviations devices print (VR, HR, PRI, PQ, QRSD, QTcB, P-R-T,
 * P-QRS-T Winkel, ЧСС, ...); compound values follow the label's order
 * ("QT/QTc 408/390ms", "P-R-T: 40° -15° 75°"); units are checked (a rate
 * in ms is not a rate) and seconds scaled to ms. With no layout (plain
 * text) every line is one run, one under the other.
 *
 * A site adds regular expressions from a JSON file (FIELD_PATTERNS_FILE),
 * matched over the page text before anything else; a field a site pattern
 * matched is decided by it:
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
 * several values); "regex" (POSIX extended, case-insensitive, REG_NEWLINE:
 * `^`/`$` at line ends); optional "groups" (the capture group of each
 * field, default 1, 2, ...), "scale" (numeric fields: multiply the value),
 * "date_order" ("mdy" or "dmy": how acquired_at reads a numeric date with
 * slashes, which is otherwise ambiguous and left null). Site patterns are
 * tried in file order; for each field the first that matches decides, at
 * its first match; a missing value ("---", "*", "?") leaves it null.
 *
 * Rules (the README states them too):
 * - Numbers may carry a sign and decimals (rounded to the nearest integer,
 *   halves away from zero). A number outside the field's physiological
 *   range, an unreadable one, one with another field's unit, values that
 *   disagree or that do not fit the label (one value for "QT/QTc") are not
 *   kept: the field stays null and `rejected` counts them. Nothing is
 *   guessed.
 * - Without any label, a rate with its unit ("67 bpm") and a date with a
 *   time are read only when they are the only such value on the page and
 *   no text ending in ':' stands by them; their source is "(unlabelled)".
 * - interpretation: the lines after a heading (and the rest of the
 *   heading's own line), trimmed, until a blank line, an end line
 *   (built-in: "Unconfirmed ...", "Confirmed by", "Reviewed by",
 *   "Referred by", "Page N of M", ...), a line holding a measurement, or
 *   FIELDS_MAX_STATEMENTS lines.
 * - acquired_at: a date with a time of day (a date alone stays null), in
 *   the formats of fields_date.c; a wall-clock time without a zone,
 *   returned as milliseconds since the epoch as if that time were UTC. An
 *   impossible date is rejected. Birth, print and report dates are not it.
 * - Patient identifiers are never fields.
 *
 * Thread-safety: a field set is immutable once built; fields_extract may
 * run on several threads at once with the same set. */
#ifndef ETL_ECG_FIELDS_H
#define ETL_ECG_FIELDS_H

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
/* Bytes of a field's source, with its NUL. */
#define FIELDS_SOURCE_MAX 64

struct fields_set;
struct pdf_layout;

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
    /* Where each value kept came from ("" for none): the label as printed
     * ("Herzfrequenz", "QT/QTcB", "Дата+Время" for a date and a time
     * under two labels), "(unlabelled)", or "(FIELD_PATTERNS_FILE
     * patterns[N])". Valid UTF-8. */
    char source[FIELDS_NUMERIC][FIELDS_SOURCE_MAX];
    char acquired_source[FIELDS_SOURCE_MAX];
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
void fields_free(struct fields_set *s);
/* Number of patterns (built-in included), for logs. */
size_t fields_count(const struct fields_set *s);
/* Append a canonical text of the site's patterns ("" for none), so a
 * settings hash changes when they do. ETL_ENOMEM. */
int fields_describe(const struct fields_set *s, struct buf *out);

/* Read the fields of a page: its text (NUL-terminated, len bytes; site
 * patterns and interpretation) and its layout (pdf_doc_text_layout();
 * NULL reads the text as lines, one under the other). *out is reset
 * first. ETL_ENOMEM only. */
int fields_extract_layout(const struct fields_set *s, const char *text,
                          size_t len, const struct pdf_layout *layout,
                          struct fields_result *out);
/* fields_extract_layout() without a layout. */
int fields_extract(const struct fields_set *s, const char *text, size_t len,
                   struct fields_result *out);
/* How many values were read: numeric fields kept plus acquired_at (what
 * TEXT_PAGE=auto compares pages by). */
int fields_read_count(const struct fields_result *r);
void fields_result_release(struct fields_result *r);

/* Parse a date and time of day at the start of s (after blanks; order 'm'
 * or 'd' for slash dates, 0 to refuse them). Returns 1 and sets *ms when
 * one was read, 0 when s holds no date with a time, -1 for an impossible
 * date or time (e.g. 2024-02-30). Exposed for tests. */
int fields_parse_datetime(const char *s, char order, int64_t *ms);

#endif
