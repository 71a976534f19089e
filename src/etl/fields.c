/* Typed ECG measurements: a table of POSIX regular expressions over the
 * report page's text, strict value checks, and a small date scanner.
 *
 * Why regexes over the whole text rather than line by line: some layouts
 * put a label and its value on different lines (Philips' "--AXIS--"
 * block), and `[[:space:]]` lets a pattern say so while `[[:blank:]]`
 * keeps the others on one line. */
#include "etl/fields.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/err.h"

#define FIELDS_FILE_MAX (1024 * 1024)
#define REGEX_MAX 4096
#define PATTERN_FIELDS_MAX 8
#define STATEMENT_MAX 1000 /* bytes kept of one statement line */

static const struct {
    const char *name;
    int min, max;
} field_info[FIELDS_COUNT] = {
    [FIELDS_VENT_RATE] = {"vent_rate_bpm", 20, 300},
    [FIELDS_ATRIAL_RATE] = {"atrial_rate_bpm", 20, 400},
    [FIELDS_PR] = {"pr_interval_ms", 50, 400},
    [FIELDS_QRS] = {"qrs_duration_ms", 40, 250},
    [FIELDS_QT] = {"qt_ms", 150, 800},
    [FIELDS_QTC] = {"qtc_ms", 200, 800},
    [FIELDS_P_AXIS] = {"p_axis_deg", -180, 360},
    [FIELDS_R_AXIS] = {"r_axis_deg", -180, 360},
    [FIELDS_T_AXIS] = {"t_axis_deg", -180, 360},
    [FIELDS_INTERPRETATION] = {"interpretation", 0, 0},
    [FIELDS_INTERPRETATION_END] = {"interpretation_end", 0, 0},
    [FIELDS_ACQUIRED_AT] = {"acquired_at", 0, 0},
};

const char *fields_name(enum fields_id id)
{
    return (unsigned)id < FIELDS_COUNT ? field_info[id].name : NULL;
}

void fields_range(enum fields_id id, int *min, int *max)
{
    *min = (unsigned)id < FIELDS_COUNT ? field_info[id].min : 0;
    *max = (unsigned)id < FIELDS_COUNT ? field_info[id].max : 0;
}

/* ------------------------------------------------------------------ */
/* Built-in patterns. Group numbers are written out next to each regex;
 * unit tests cover every label style. */

/* A value: a number, or a missing-value marker ("***", "?", "--"). One
 * group. A lone "-" is not a marker: it is the "-" of "P-R-T". */
#define V "([-+]?[0-9][0-9.,]*|\\*+|\\?+|--+)"
/* Between a label and its value. */
#define S "[[:blank:]]*[:=]?[[:blank:]]*"
/* A label starts a word (one group). */
#define LB "(^|[^[:alnum:]])"
#define BL "[[:blank:]]*"

struct builtin {
    const char *regex;
    int n;
    enum fields_id field[3];
    int group[3];
    char date_order;
};

static const struct builtin builtins[] = {
    /* ventricular rate: GE, plain, Philips */
    {LB "Vent(\\.|ricular)?" BL "rate" S V, 1, {FIELDS_VENT_RATE}, {3}, 0},
    {LB "Heart" BL "rate" S V, 1, {FIELDS_VENT_RATE}, {2}, 0},
    {LB "HR" S V, 1, {FIELDS_VENT_RATE}, {2}, 0},
    /* "Rate" alone only at the start of a line: "Atrial rate" is not it. */
    {"^" BL "Rate" S V, 1, {FIELDS_VENT_RATE}, {1}, 0},
    {LB "Atrial" BL "rate" S V, 1, {FIELDS_ATRIAL_RATE}, {2}, 0},
    /* PR: "PR interval 160 ms", "PR: 160 ms", "PR 160" */
    {LB "PR" BL "(interval|int\\.?)?" S V, 1, {FIELDS_PR}, {3}, 0},
    /* QRS duration: "QRS duration 92 ms", "QRSD 92", "QRS: 92 ms" (the
     * bare form needs "ms": "QRS 45" in an axis block is an axis) */
    {LB "QRS" BL "(duration|dur\\.?|width)" S V, 1, {FIELDS_QRS}, {3}, 0},
    {LB "QRSd" S V, 1, {FIELDS_QRS}, {2}, 0},
    {LB "QRS" S V BL "ms", 1, {FIELDS_QRS}, {2}, 0},
    /* QT and QTc: "QT/QTc 380/410 ms", "QT 380", "QTc: 410 ms" */
    {LB "QT" BL "/" BL "QTc[BF]?" S V BL "/" BL V,
     2,
     {FIELDS_QT, FIELDS_QTC},
     {2, 3},
     0},
    {LB "QT" BL "(interval|int\\.?)?" S V, 1, {FIELDS_QT}, {3}, 0},
    {LB "QTc[BF]?" BL "(interval|int\\.?)?" S V, 1, {FIELDS_QTC}, {3}, 0},
    /* axes: "P-R-T axes 60 45 30", Philips' block, "P axis: 60" */
    {LB "P-R-T" BL "axes" S V "[[:blank:]]+" V "[[:blank:]]+" V,
     3,
     {FIELDS_P_AXIS, FIELDS_R_AXIS, FIELDS_T_AXIS},
     {2, 3, 4},
     0},
    {"--" BL "AXIS" BL "--[[:space:]]*P" S V "[[:space:]]+QRS" S V
     "[[:space:]]+T" S V,
     3,
     {FIELDS_P_AXIS, FIELDS_R_AXIS, FIELDS_T_AXIS},
     {1, 2, 3},
     0},
    {LB "P" BL "axis" S V, 1, {FIELDS_P_AXIS}, {2}, 0},
    {LB "(QRS|R)" BL "axis" S V, 1, {FIELDS_R_AXIS}, {3}, 0},
    {"^" BL "axis" S V, 1, {FIELDS_R_AXIS}, {1}, 0},
    {LB "T" BL "axis" S V, 1, {FIELDS_T_AXIS}, {2}, 0},
    /* acquisition time (group 7 is the date text) */
    {LB "(Acquired|Acquisition" BL "(date|time|date/time|date and time)?|"
        "Recorded|Acq\\.?" BL "(date|time)|Date of (test|acquisition)|"
        "Test date)(" BL "on|" BL "at)?" S "([[:alnum:]].*)",
     1,
     {FIELDS_ACQUIRED_AT},
     {7},
     0},
    /* interpretation: a heading alone on its line or followed by ':' */
    {"^" BL "(Interpretation|Diagnosis|Diagnoses|Statements?|Findings|"
     "Conclusions?|Impression)" BL "(:|$)",
     1,
     {FIELDS_INTERPRETATION},
     {0},
     0},
    {"^" BL "(Unconfirmed|Confirmed by|Reviewed by|Referred by|Requested "
     "by|Electronically signed|Signed by|Technician|Tech:|Page [0-9]+ "
     "of [0-9]+|Measurements?" BL ":?" BL "$|Patient" BL ":?" BL "$)",
     1,
     {FIELDS_INTERPRETATION_END},
     {0},
     0},
};

#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

/* ------------------------------------------------------------------ */

struct pattern {
    regex_t re;
    bool compiled;
    char *regex; /* site patterns only, for fields_describe */
    int n;
    enum fields_id field[PATTERN_FIELDS_MAX];
    int group[PATTERN_FIELDS_MAX];
    double scale;
    char date_order; /* 'm', 'd' or 0 */
};

struct fields_set {
    struct pattern *p;
    size_t n;
};

size_t fields_count(const struct fields_set *s)
{
    return s ? s->n : 0;
}

int fields_describe(const struct fields_set *s, struct buf *out)
{
    int rc = 0;
    for (size_t i = 0; !rc && s && i < s->n; i++) {
        const struct pattern *p = &s->p[i];
        if (!p->regex)
            continue;
        rc = buf_printf(out, "[%s", p->regex);
        for (int k = 0; !rc && k < p->n; k++)
            rc = buf_printf(out, "%s%s:%d", k ? "," : "\x1f",
                            field_info[p->field[k]].name, p->group[k]);
        if (!rc)
            rc = buf_printf(out, "\x1f%.17g\x1f%c]", p->scale,
                            p->date_order ? p->date_order : '-');
    }
    return rc;
}

void fields_free(struct fields_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->p[i].compiled)
            regfree(&s->p[i].re);
        free(s->p[i].regex);
    }
    free(s->p);
    free(s);
}

static int fail(struct buf *err, const char *source, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct buf *err, const char *source, const char *fmt, ...)
{
    size_t mark = err->len;
    int rc = buf_printf(err, "%s: ", source);
    if (!rc) {
        va_list ap;
        va_start(ap, fmt);
        rc = buf_vprintf(err, fmt, ap);
        va_end(ap);
    }
    if (rc) {
        buf_truncate(err, mark);
        return ETL_ENOMEM;
    }
    return ETL_ECONFIG;
}

/* Compile; on error the message names where and what regcomp said. */
static int compile(struct pattern *p, const char *regex, const char *source,
                   size_t index, struct buf *err)
{
    int rc = regcomp(&p->re, regex, REG_EXTENDED | REG_ICASE | REG_NEWLINE);
    if (rc) {
        char msg[160];
        regerror(rc, &p->re, msg, sizeof(msg));
        return fail(err, source, "patterns[%zu].regex: %s", index, msg);
    }
    p->compiled = true;
    return 0;
}

static int field_by_name(const char *name, enum fields_id *out)
{
    for (int i = 0; i < FIELDS_COUNT; i++) {
        if (strcmp(name, field_info[i].name) == 0) {
            *out = (enum fields_id)i;
            return 0;
        }
    }
    return ETL_EINVAL;
}

static void add_field_names(struct buf *b)
{
    for (int i = 0; i < FIELDS_COUNT; i++)
        buf_printf(b, "%s%s", i ? ", " : "", field_info[i].name);
}

/* One site pattern from its JSON object. */
static int parse_pattern(json_t *o, const char *source, size_t i,
                         struct pattern *p, struct buf *err)
{
    if (!json_is_object(o))
        return fail(err, source, "patterns[%zu]: must be an object", i);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        static const char *const known[] = {"field",  "fields", "regex",
                                            "groups", "scale",  "date_order"};
        bool ok = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
            ok = ok || strcmp(key, known[k]) == 0;
        if (!ok)
            return fail(err, source,
                        "patterns[%zu]: unknown key \"%.40s\" (known: field, "
                        "fields, regex, groups, scale, date_order)",
                        i, key);
    }
    json_t *field = json_object_get(o, "field");
    json_t *fields = json_object_get(o, "fields");
    if (!!field == !!fields)
        return fail(err, source,
                    "patterns[%zu]: give either \"field\" or \"fields\"", i);
    size_t n = fields ? json_array_size(fields) : 1;
    if (fields && (!json_is_array(fields) || n == 0 || n > PATTERN_FIELDS_MAX))
        return fail(err, source,
                    "patterns[%zu].fields: must be a list of 1 to %d field "
                    "names",
                    i, PATTERN_FIELDS_MAX);
    p->n = (int)n;
    for (size_t k = 0; k < n; k++) {
        json_t *f = fields ? json_array_get(fields, k) : field;
        const char *name = json_string_value(f);
        if (!name || field_by_name(name, &p->field[k])) {
            struct buf names = BUF_INIT;
            add_field_names(&names);
            int rc = fail(err, source,
                          "patterns[%zu].%s: unknown field %s%.40s%s (one "
                          "of %s)",
                          i, fields ? "fields" : "field", name ? "\"" : "",
                          name ? name : "(not a string)", name ? "\"" : "",
                          names.data);
            buf_release(&names);
            return rc;
        }
        for (size_t j = 0; j < k; j++)
            if (p->field[j] == p->field[k])
                return fail(err, source,
                            "patterns[%zu].fields: %s appears twice", i,
                            field_info[p->field[k]].name);
        bool text_only = p->field[k] == FIELDS_INTERPRETATION ||
                         p->field[k] == FIELDS_INTERPRETATION_END;
        if (text_only && n > 1)
            return fail(err, source,
                        "patterns[%zu]: %s must be the pattern's only field", i,
                        field_info[p->field[k]].name);
        p->group[k] = text_only ? 0 : (int)k + 1;
    }

    const char *regex = json_string_value(json_object_get(o, "regex"));
    if (!regex || !*regex)
        return fail(err, source,
                    "patterns[%zu].regex: must be a non-empty "
                    "string",
                    i);
    if (strlen(regex) > REGEX_MAX)
        return fail(err, source, "patterns[%zu].regex: longer than %d bytes", i,
                    REGEX_MAX);
    int rc = compile(p, regex, source, i, err);
    if (rc)
        return rc;
    p->regex = strdup(regex);
    if (!p->regex)
        return ETL_ENOMEM;

    json_t *groups = json_object_get(o, "groups");
    if (groups) {
        if (!json_is_array(groups) || json_array_size(groups) != n)
            return fail(err, source,
                        "patterns[%zu].groups: must list one capture group "
                        "per field (%zu)",
                        i, n);
        for (size_t k = 0; k < n; k++) {
            json_t *g = json_array_get(groups, k);
            if (!json_is_integer(g) || json_integer_value(g) < 1 ||
                json_integer_value(g) > 9)
                return fail(err, source,
                            "patterns[%zu].groups[%zu]: must be an integer "
                            "from 1 to 9",
                            i, k);
            p->group[k] = (int)json_integer_value(g);
        }
    }
    for (size_t k = 0; k < n; k++) {
        if ((size_t)p->group[k] > p->re.re_nsub)
            return fail(err, source,
                        "patterns[%zu].regex: has %zu capture group%s, "
                        "field %s needs group %d",
                        i, p->re.re_nsub, p->re.re_nsub == 1 ? "" : "s",
                        field_info[p->field[k]].name, p->group[k]);
    }

    p->scale = 1;
    json_t *scale = json_object_get(o, "scale");
    if (scale) {
        double s = json_number_value(scale);
        if (!json_is_number(scale) || !(s > 0) || !isfinite(s) || s > 1e6)
            return fail(err, source,
                        "patterns[%zu].scale: must be a number above 0 and "
                        "at most 1e6",
                        i);
        for (size_t k = 0; k < n; k++)
            if (p->field[k] >= FIELDS_NUMERIC)
                return fail(err, source,
                            "patterns[%zu].scale: only for numeric fields", i);
        p->scale = s;
    }
    json_t *order = json_object_get(o, "date_order");
    if (order) {
        const char *s = json_string_value(order);
        if (!s || (strcmp(s, "mdy") != 0 && strcmp(s, "dmy") != 0))
            return fail(err, source,
                        "patterns[%zu].date_order: must be \"mdy\" or "
                        "\"dmy\"",
                        i);
        if (p->field[0] != FIELDS_ACQUIRED_AT)
            return fail(err, source,
                        "patterns[%zu].date_order: only for acquired_at", i);
        p->date_order = s[0];
    }
    return 0;
}

static int parse_site(const char *json, const char *source,
                      struct fields_set *s, struct buf *err)
{
    json_error_t je;
    int rc = 0;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return fail(err, source, "line %d, column %d: %s", je.line, je.column,
                    je.text);
    json_t *list = json_object_get(root, "patterns");
    if (!json_is_object(root) || json_object_size(root) != 1 ||
        !json_is_array(list)) {
        rc = fail(err, source,
                  "must be an object with one key, \"patterns\": a list");
        goto out;
    }
    size_t n = json_array_size(list);
    if (n > FIELDS_MAX_PATTERNS) {
        rc = fail(err, source, "patterns: more than %d", FIELDS_MAX_PATTERNS);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc =
            parse_pattern(json_array_get(list, i), source, i, &s->p[s->n], err);
        /* Counted even on failure so fields_free releases the regex. */
        s->n++;
        if (rc)
            goto out;
    }
out:
    json_decref(root);
    return rc;
}

int fields_parse(const char *json, const char *source, struct fields_set **out,
                 struct buf *err)
{
    *out = NULL;
    struct fields_set *s = calloc(1, sizeof(*s));
    if (!s)
        return ETL_ENOMEM;
    s->p = calloc(FIELDS_MAX_PATTERNS + NBUILTINS, sizeof(*s->p));
    int rc = s->p ? 0 : ETL_ENOMEM;
    if (!rc && json)
        rc = parse_site(json, source ? source : "FIELD_PATTERNS_FILE", s, err);
    for (size_t i = 0; !rc && i < NBUILTINS; i++) {
        struct pattern *p = &s->p[s->n];
        const struct builtin *b = &builtins[i];
        rc = compile(p, b->regex, "built-in", i, err);
        s->n++;
        p->n = b->n;
        for (int k = 0; k < b->n; k++) {
            p->field[k] = b->field[k];
            p->group[k] = b->group[k];
        }
        p->scale = 1;
        p->date_order = b->date_order;
    }
    if (rc) {
        fields_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int fields_load_file(const char *path, struct fields_set **out, struct buf *err)
{
    if (!path)
        return fields_parse(NULL, NULL, out, err);
    struct buf text = BUF_INIT;
    *out = NULL;
    /* Opened without blocking, a regular file only; messages name the
     * variable (cfg_file_read). */
    int rc =
        cfg_file_read("FIELD_PATTERNS_FILE", path, FIELDS_FILE_MAX, &text, err);
    if (!rc)
        rc = fields_parse(text.data, path, out, err);
    buf_release(&text);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Values */

enum vstate { V_MISSING, V_BAD, V_OK };

/* Read a captured number: sign, digits, one '.' or ',' decimal mark;
 * trailing '.' or ',' (end of a sentence, a list) are not part of it. */
static enum vstate read_number(const char *s, size_t n, double *out)
{
    char t[40];
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && (isspace((unsigned char)s[n - 1]) || s[n - 1] == '.' ||
                 s[n - 1] == ','))
        n--;
    if (n == 0 || s[0] == '*' || s[0] == '?' ||
        (n >= 2 && s[0] == '-' && s[1] == '-'))
        return V_MISSING;
    if (n >= sizeof(t))
        return V_BAD;
    int marks = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ',' || c == '.') {
            c = '.';
            marks++;
        } else if (!isdigit((unsigned char)c) &&
                   !(i == 0 && (c == '-' || c == '+'))) {
            return V_BAD;
        }
        t[i] = c;
    }
    t[n] = '\0';
    if (marks > 1)
        return V_BAD;
    char *end;
    errno = 0;
    double d = strtod(t, &end);
    if (errno || *end || !isfinite(d))
        return V_BAD;
    *out = d;
    return V_OK;
}

static void set_numeric(struct fields_result *r, enum fields_id f,
                        const char *s, size_t n, double scale)
{
    double d;
    enum vstate st = read_number(s, n, &d);
    if (st == V_MISSING)
        return;
    if (st == V_OK) {
        d = round(d * scale); /* halves away from zero */
        if (d >= field_info[f].min && d <= field_info[f].max) {
            r->has[f] = true;
            r->value[f] = (int32_t)d;
            return;
        }
    }
    r->rejected++;
}

/* ------------------------------------------------------------------ */
/* Dates */

static bool leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(long y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the "days from
 * civil" method: years start in March so the leap day is last). */
static int64_t days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

/* Up to max digits; returns how many were read (0 = none). */
static int digits(const char **p, int max, long *v)
{
    int n = 0;
    *v = 0;
    while (n < max && isdigit((unsigned char)(*p)[n])) {
        *v = *v * 10 + ((*p)[n] - '0');
        n++;
    }
    if (isdigit((unsigned char)(*p)[n]))
        return 0; /* too many digits */
    *p += n;
    return n;
}

static int month_name(const char **p)
{
    static const char *const names[] = {
        "january", "february", "march",     "april",   "may",      "june",
        "july",    "august",   "september", "october", "november", "december"};
    size_t n = 0;
    while (isalpha((unsigned char)(*p)[n]))
        n++;
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(names[m]);
        if ((n == 3 || n == full || (m == 8 && n == 4)) && n <= full &&
            strncasecmp(*p, names[m], n) == 0) {
            *p += n;
            if (**p == '.')
                (*p)++;
            return m + 1;
        }
    }
    return 0;
}

static void skip_blanks(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* The date part: 1 read (y/m/d set), 0 none. */
static int scan_date(const char **pp, char order, long *y, int *m, int *d)
{
    const char *p = *pp;
    long a, b, c;
    int na = digits(&p, 4, &a);
    if (na == 4 && (*p == '-' || *p == '/' || *p == '.')) {
        char sep = *p++; /* ISO order: year first */
        if (digits(&p, 2, &b) && *p == sep && (p++, digits(&p, 2, &c))) {
            *y = a, *m = (int)b, *d = (int)c;
            *pp = p;
            return 1;
        }
        return 0;
    }
    if (na >= 1 && na <= 2 && (*p == '-' || *p == ' ' || *p == '.') &&
        isalpha((unsigned char)p[1])) {
        p++; /* 18-Jul-2024, 18 July 2024 */
        int mon = month_name(&p);
        if (mon && (*p == '-' || *p == ' ' || *p == '.')) {
            p++;
            if (digits(&p, 4, &c) == 4) {
                *y = c, *m = mon, *d = (int)a;
                *pp = p;
                return 1;
            }
        }
        return 0;
    }
    if (na == 0 && isalpha((unsigned char)*p)) {
        int mon = month_name(&p); /* Jul 18, 2024 */
        skip_blanks(&p);
        if (mon && digits(&p, 2, &b)) {
            if (*p == ',')
                p++;
            skip_blanks(&p);
            if (digits(&p, 4, &c) == 4) {
                *y = c, *m = mon, *d = (int)b;
                *pp = p;
                return 1;
            }
        }
        return 0;
    }
    if (na >= 1 && na <= 2 && (*p == '.' || *p == '/')) {
        char sep = *p++;
        if (!digits(&p, 2, &b) || *p != sep)
            return 0;
        p++;
        if (digits(&p, 4, &c) != 4)
            return 0;
        /* 18.07.2024: day first wherever dots are used. */
        if (sep == '.' || order == 'd') {
            *y = c, *m = (int)b, *d = (int)a;
        } else if (order == 'm') {
            *y = c, *m = (int)a, *d = (int)b;
        } else {
            return 0; /* 07/08/2024: which is the month? Not guessed. */
        }
        *pp = p;
        return 1;
    }
    return 0;
}

int fields_parse_datetime(const char *s, char order, int64_t *ms)
{
    const char *p = s;
    long y = 0, hh, mi, ss = 0;
    int m = 0, d = 0;
    skip_blanks(&p);
    if (!scan_date(&p, order, &y, &m, &d))
        return 0;
    /* Separator: 'T', blanks, a comma, "at". */
    if (*p == 'T' || *p == 't') {
        p++;
    } else {
        bool any = false;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
            any = true;
        }
        if (strncasecmp(p, "at ", 3) == 0) {
            p += 3;
            skip_blanks(&p);
        }
        if (!any)
            return 0;
    }
    if (!digits(&p, 2, &hh) || *p != ':')
        return 0;
    p++;
    if (digits(&p, 2, &mi) != 2)
        return 0;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &ss) != 2)
            return 0;
        if (*p == '.' || *p == ',') { /* fractions of a second: dropped */
            p++;
            while (isdigit((unsigned char)*p))
                p++;
        }
    }
    skip_blanks(&p);
    bool am = strncasecmp(p, "AM", 2) == 0 || strncasecmp(p, "a.m.", 4) == 0;
    bool pm = strncasecmp(p, "PM", 2) == 0 || strncasecmp(p, "p.m.", 4) == 0;
    if (am || pm) {
        if (hh < 1 || hh > 12)
            return -1;
        hh = hh % 12 + (pm ? 12 : 0);
    }
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 ||
        d > month_days(y, m) || hh > 23 || mi > 59 || ss > 59)
        return -1;
    int64_t days = days_from_civil(y, m, d);
    *ms = ((days * 24 + hh) * 60 + mi) * 60000 + (int64_t)ss * 1000;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Extraction */

void fields_result_release(struct fields_result *r)
{
    for (size_t i = 0; i < r->nstatements; i++)
        free(r->statements[i]);
    free(r->statements);
    memset(r, 0, sizeof(*r));
}

static bool line_is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* Does any pattern of a kind (numeric fields, or one text field) match
 * inside this one line? */
static bool line_matches(const struct fields_set *s, const char *line,
                         bool numeric, enum fields_id which)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct pattern *p = &s->p[i];
        bool want =
            numeric ? p->field[0] < FIELDS_NUMERIC : p->field[0] == which;
        if (want && regexec(&p->re, line, 0, NULL, 0) == 0)
            return true;
    }
    return false;
}

static int add_statement(struct fields_result *r, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n > STATEMENT_MAX) {
        n = STATEMENT_MAX;
        while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--; /* not inside a UTF-8 sequence */
    }
    if (!r->statements) {
        r->statements = calloc(FIELDS_MAX_STATEMENTS, sizeof(char *));
        if (!r->statements)
            return ETL_ENOMEM;
    }
    char *c = strndup(s, n);
    if (!c)
        return ETL_ENOMEM;
    r->statements[r->nstatements++] = c;
    return 0;
}

/* The statement lines after a heading that ends at text[from]: the rest
 * of the heading's own line, then one statement per line. Blank lines
 * before the first statement are skipped; after it one ends the list. */
static int read_statements(const struct fields_set *s, const char *text,
                           size_t len, size_t from, struct fields_result *r)
{
    struct buf line = BUF_INIT;
    int rc = 0;
    size_t at = from;
    r->has_interpretation = true;
    while (at <= len && r->nstatements < FIELDS_MAX_STATEMENTS) {
        const char *l = text + at;
        const char *nl = memchr(l, '\n', len - at);
        size_t n = nl ? (size_t)(nl - l) : len - at;
        bool heading_line = at == from;
        at += n + 1;
        if (line_is_blank(l, n)) {
            if (r->nstatements == 0 && nl)
                continue;
            break;
        }
        buf_reset(&line);
        rc = buf_add(&line, l, n);
        if (rc)
            break;
        /* The heading's own line may hold a statement, never the end. */
        if (!heading_line &&
            (line_matches(s, line.data, false, FIELDS_INTERPRETATION_END) ||
             line_matches(s, line.data, true, 0) ||
             line_matches(s, line.data, false, FIELDS_INTERPRETATION)))
            break;
        rc = add_statement(r, l, n);
        if (rc || !nl)
            break;
    }
    buf_release(&line);
    return rc;
}

int fields_extract(const struct fields_set *s, const char *text, size_t len,
                   struct fields_result *r)
{
    bool decided[FIELDS_COUNT] = {false};
    regmatch_t m[10];
    memset(r, 0, sizeof(*r));
    if (!text)
        return 0;
    (void)len;
    size_t tlen = strlen(text); /* regexec stops at a NUL anyway */

    for (size_t i = 0; i < s->n; i++) {
        const struct pattern *p = &s->p[i];
        bool wanted = false;
        for (int k = 0; k < p->n; k++)
            wanted = wanted || !decided[p->field[k]];
        if (!wanted || p->field[0] == FIELDS_INTERPRETATION_END)
            continue;
        /* acquired_at: "Acquisition device: ..." is not a date; look at
         * the pattern's next match instead. */
        size_t off = 0;
        while (off <= tlen) {
            int flags = off > 0 && text[off - 1] != '\n' ? REG_NOTBOL : 0;
            if (regexec(&p->re, text + off, 10, m, flags) != 0)
                break;
            if (p->field[0] == FIELDS_ACQUIRED_AT) {
                regmatch_t g = m[p->group[0]];
                int64_t ms = 0;
                int got = 0;
                if (g.rm_so >= 0) {
                    char t[128];
                    size_t n = (size_t)(g.rm_eo - g.rm_so);
                    snprintf(t, sizeof(t), "%.*s",
                             (int)(n < sizeof(t) ? n : sizeof(t) - 1),
                             text + off + g.rm_so);
                    got = fields_parse_datetime(t, p->date_order, &ms);
                }
                if (got == 0) {
                    /* No date here: try further on (past this match). */
                    off += (size_t)(m[0].rm_eo > m[0].rm_so ? m[0].rm_eo
                                                            : m[0].rm_so + 1);
                    continue;
                }
                decided[FIELDS_ACQUIRED_AT] = true;
                if (got > 0) {
                    r->has_acquired = true;
                    r->acquired_ms = ms;
                } else {
                    r->rejected++;
                }
                break;
            }
            if (p->field[0] == FIELDS_INTERPRETATION) {
                decided[FIELDS_INTERPRETATION] = true;
                int rc =
                    read_statements(s, text, tlen, off + (size_t)m[0].rm_eo, r);
                if (rc) {
                    fields_result_release(r);
                    return rc;
                }
                break;
            }
            for (int k = 0; k < p->n; k++) {
                enum fields_id f = p->field[k];
                regmatch_t g = m[p->group[k]];
                if (decided[f])
                    continue;
                decided[f] = true;
                if (g.rm_so >= 0)
                    set_numeric(r, f, text + off + g.rm_so,
                                (size_t)(g.rm_eo - g.rm_so), p->scale);
            }
            break;
        }
    }
    return 0;
}
