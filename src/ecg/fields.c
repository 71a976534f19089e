/* Typed ECG measurements: the site's regular expressions over the page
 * text, the interpretation statements, and the glue to the pairing of
 * labels with values by position (fields_geo.c).
 *
 * Why the page's layout rather than the text's order: the text is in
 * content-stream order, which is not the order of the page. MUSE draws
 * the P-R-T axes right to left and its "ms" before the label it belongs
 * to; CardioSoft and Schiller draw all labels, then all values. A regular
 * expression over that text pairs what happens to be adjacent. */
#include "ecg/fields.h"

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

#include "core/err.h"
#include "ecg/fields_int.h"
#include "pdf/pdf.h"

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
/* Built-in patterns: the interpretation heading and the lines that end
 * its statements (the measurements themselves are read by position). */

#define BL "[[:blank:]]*"

struct builtin {
    const char *regex;
    enum fields_id field;
};

static const struct builtin builtins[] = {
    /* a heading alone on its line or followed by ':' */
    {"^" BL "(Interpretation|Diagnosis|Diagnoses|Statements?|Findings|"
     "Conclusions?|Impression)" BL "(:|$)",
     FIELDS_INTERPRETATION},
    {"^" BL "(Unconfirmed|Confirmed by|Reviewed by|Referred by|Requested "
     "by|Electronically signed|Signed by|Technician|Tech:|Page [0-9]+ "
     "of [0-9]+|Measurements?" BL ":?" BL "$|Patient" BL ":?" BL "$)",
     FIELDS_INTERPRETATION_END},
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
    int site_index;  /* index in the site's file; -1 built-in */
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
        s->p[s->n].site_index = (int)i;
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
        p->n = 1;
        p->field[0] = b->field;
        p->scale = 1;
        p->site_index = -1;
    }
    if (rc) {
        fields_free(s);
        return rc;
    }
    *out = s;
    return 0;
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

/* A site pattern as a source. */
static void site_source(char *dst, const struct pattern *p)
{
    snprintf(dst, FIELDS_SOURCE_MAX, "(FIELD_PATTERNS_FILE patterns[%d])",
             p->site_index);
}

static void set_numeric(struct fields_result *r, enum fields_id f,
                        const char *s, size_t n, const struct pattern *p)
{
    double d;
    enum vstate st = read_number(s, n, &d);
    if (st == V_MISSING)
        return;
    if (st == V_OK) {
        d = round(d * p->scale); /* halves away from zero */
        if (d >= field_info[f].min && d <= field_info[f].max) {
            r->has[f] = true;
            r->value[f] = (int32_t)d;
            site_source(r->source[f], p);
            return;
        }
    }
    r->rejected++;
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
             fieldsi_line_is_measurement(line.data) ||
             line_matches(s, line.data, false, FIELDS_INTERPRETATION)))
            break;
        rc = add_statement(r, l, n);
        if (rc || !nl)
            break;
    }
    buf_release(&line);
    return rc;
}

/* The site's patterns and the interpretation, over the text; decided
 * marks the fields they settled. */
static int extract_text(const struct fields_set *s, const char *text,
                        struct fields_result *r, bool *decided)
{
    regmatch_t m[10];
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
                    site_source(r->acquired_source, p);
                } else {
                    r->rejected++;
                }
                break;
            }
            if (p->field[0] == FIELDS_INTERPRETATION) {
                decided[FIELDS_INTERPRETATION] = true;
                int rc =
                    read_statements(s, text, tlen, off + (size_t)m[0].rm_eo, r);
                if (rc)
                    return rc;
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
                                (size_t)(g.rm_eo - g.rm_so), p);
            }
            break;
        }
    }
    return 0;
}

/* The text's lines as spans, one under the other (a line is one run, an
 * em high; characters half an em wide). lines gets a copy of text with
 * each newline made a NUL. */
static int text_spans(const char *text, char **lines, struct fieldsi_span **out,
                      size_t *n)
{
    size_t len = strlen(text), count = 1;
    for (size_t i = 0; i < len; i++)
        count += text[i] == '\n';
    *lines = strdup(text);
    *out = calloc(count, sizeof(**out));
    *n = 0;
    if (!*lines || !*out)
        return ETL_ENOMEM;
    char *p = *lines;
    for (size_t line = 0; line < count; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t chars = 0;
        for (const char *q = p; *q; q++)
            chars += ((unsigned char)*q & 0xc0) != 0x80;
        if (chars) {
            float base = 1.2f * (float)line;
            (*out)[(*n)++] = (struct fieldsi_span){
                p, 0, 0.5f * (float)chars, base - 0.8f, base + 0.2f, base, 1};
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    return 0;
}

/* The layout's spans in the frame of its main writing direction (the
 * direction most of its text runs in; a page drawn sideways reads like an
 * upright one), the others left out. */
static int layout_spans(const struct pdf_layout *l, struct fieldsi_span **out,
                        size_t *n, float *top, float *bottom)
{
    static const float dirs[4][2] = {{1, 0}, {0, -1}, {0, 1}, {-1, 0}};
    size_t bytes[4] = {0};
    *n = 0;
    *out = calloc(l->nspans ? l->nspans : 1, sizeof(**out));
    if (!*out)
        return ETL_ENOMEM;
    for (size_t i = 0; i < l->nspans; i++)
        for (int d = 0; d < 4; d++)
            if (l->spans[i].dx * dirs[d][0] + l->spans[i].dy * dirs[d][1] >
                0.98f)
                bytes[d] += l->spans[i].len;
    int best = 0;
    for (int d = 1; d < 4; d++)
        if (bytes[d] > bytes[best])
            best = d;
    float dx = dirs[best][0], dy = dirs[best][1];
    /* The page's extent down the frame. */
    *top = INFINITY, *bottom = -INFINITY;
    for (int c = 0; c < 4; c++) {
        float x = c & 1 ? l->page_w : 0, y = c & 2 ? l->page_h : 0;
        float v = -x * dy + y * dx;
        *top = fminf(*top, v), *bottom = fmaxf(*bottom, v);
    }
    for (size_t i = 0; i < l->nspans; i++) {
        const struct pdf_span *sp = &l->spans[i];
        if (sp->dx * dx + sp->dy * dy <= 0.98f || !(sp->size > 0) ||
            !isfinite(sp->x0 + sp->x1 + sp->y0 + sp->y1 + sp->bx + sp->by))
            continue;
        /* u along the text, v down the page: (u, v) = (p.d, p.n) with n
         * the direction turned a quarter clockwise. */
        float u0 = INFINITY, u1 = -INFINITY, v0 = INFINITY, v1 = -INFINITY;
        for (int c = 0; c < 4; c++) {
            float x = c & 1 ? sp->x1 : sp->x0, y = c & 2 ? sp->y1 : sp->y0;
            float u = x * dx + y * dy, v = -x * dy + y * dx;
            u0 = fminf(u0, u), u1 = fmaxf(u1, u);
            v0 = fminf(v0, v), v1 = fmaxf(v1, v);
        }
        (*out)[(*n)++] = (struct fieldsi_span){
            l->text + sp->off,          u0,      u1, v0, v1,
            -sp->bx * dy + sp->by * dx, sp->size};
    }
    return 0;
}

int fields_extract_layout(const struct fields_set *s, const char *text,
                          size_t len, const struct pdf_layout *layout,
                          struct fields_result *r)
{
    bool decided[FIELDS_COUNT] = {false};
    struct fieldsi_span *spans = NULL;
    char *lines = NULL;
    size_t n = 0;
    float top = 0, bottom = 0; /* plain text: the page is not known */
    memset(r, 0, sizeof(*r));
    (void)len;
    if (!text)
        return 0;
    int rc = extract_text(s, text, r, decided);
    if (!rc)
        rc = layout ? layout_spans(layout, &spans, &n, &top, &bottom)
                    : text_spans(text, &lines, &spans, &n);
    if (!rc)
        rc = fieldsi_geo(spans, n, top, bottom, decided, r);
    free(spans);
    free(lines);
    if (rc)
        fields_result_release(r);
    return rc;
}

int fields_extract(const struct fields_set *s, const char *text, size_t len,
                   struct fields_result *r)
{
    return fields_extract_layout(s, text, len, NULL, r);
}

int fields_read_count(const struct fields_result *r)
{
    int n = r->has_acquired;
    for (int f = 0; f < FIELDS_NUMERIC; f++)
        n += r->has[f];
    return n;
}
