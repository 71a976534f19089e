/* Crop regions: strict parsing (a typo in a region must stop the run, not
 * silently produce wrong crops for a whole dataset) and the mapping of a
 * region to the pixel grid of a full-page render. */
#include "ecg/crops.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define COORD_MAX 1e6

static const char *const coord_names[4] = {"x0", "y0", "x1", "y1"};

/* Builds the one error line: "<source>: <path>: <reason>". */
struct perr {
    struct buf *err;
    const char *source;
};

static int perr_fail(const struct perr *pe, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int perr_fail(const struct perr *pe, const char *fmt, ...)
{
    size_t mark = pe->err->len;
    int rc = buf_printf(pe->err, "%s: ", pe->source);
    if (rc == 0) {
        va_list ap;
        va_start(ap, fmt);
        rc = buf_vprintf(pe->err, fmt, ap);
        va_end(ap);
    }
    if (rc) {
        buf_truncate(pe->err, mark);
        return ETL_ENOMEM;
    }
    return ETL_ECONFIG;
}

/* A JSON string for a message: quoted, non-printable bytes escaped, long
 * ones cut, so a hostile name cannot forge log lines. Returns q. */
static const char *quote(const char *s, char *q, size_t qlen)
{
    size_t o = 0;
    q[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (o + 8 >= qlen) {
            memcpy(q + o, "...", 3);
            o += 3;
            break;
        }
        if (*p == '"' || *p == '\\') {
            q[o++] = '\\';
            q[o++] = (char)*p;
        } else if (*p < 0x20 || *p >= 0x7f) {
            o += (size_t)snprintf(q + o, qlen - o, "\\x%02x", *p);
        } else {
            q[o++] = (char)*p;
        }
    }
    q[o++] = '"';
    q[o] = '\0';
    return q;
}

static bool name_ok(const char *name, size_t len)
{
    if (len < 1 || len >= CROP_NAME_MAX || strlen(name) != len)
        return false;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
                  ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* One coordinate; where is "regions[2]" or "[2]". */
static int parse_coord(const struct perr *pe, const char *where, int k,
                       const json_t *v, double *out)
{
    if (!v || !json_is_number(v))
        return perr_fail(pe, "%s.%s: must be a number", where, coord_names[k]);
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > COORD_MAX)
        return perr_fail(pe, "%s.%s: %g is out of range (-1e6 to 1e6)", where,
                         coord_names[k], d);
    *out = d;
    return 0;
}

static int check_box(const struct perr *pe, const char *where,
                     const struct crop_region *r)
{
    if (!(r->x0 < r->x1))
        return perr_fail(pe, "%s.x1: must be greater than x0", where);
    if (!(r->y0 < r->y1))
        return perr_fail(pe, "%s.y1: must be greater than y0", where);
    return 0;
}

static int parse_region(const struct perr *pe, size_t i, const json_t *o,
                        struct crop_region *r)
{
    static const char *const keys[] = {"name", "x0", "y0", "x1", "y1"};
    char where[32], q[96];
    snprintf(where, sizeof(where), "regions[%zu]", i);
    if (!json_is_object(o))
        return perr_fail(pe,
                         "%s: must be an object {\"name\", \"x0\", "
                         "\"y0\", \"x1\", \"y1\"}",
                         where);

    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val)
    {
        bool known = false;
        for (size_t k = 0; k < 5; k++)
            known = known || strcmp(key, keys[k]) == 0;
        if (!known)
            return perr_fail(pe,
                             "%s: unknown key %s (expected name, x0, y0, "
                             "x1, y1)",
                             where, quote(key, q, sizeof(q)));
    }
    for (size_t k = 0; k < 5; k++)
        if (!json_object_get(o, keys[k]))
            return perr_fail(pe, "%s: missing \"%s\"", where, keys[k]);

    const json_t *name = json_object_get(o, "name");
    if (!json_is_string(name))
        return perr_fail(pe, "%s.name: must be a string", where);
    const char *s = json_string_value(name);
    if (!name_ok(s, json_string_length(name)))
        return perr_fail(pe,
                         "%s.name: %s is not a valid name (1 to %d of A-Z "
                         "a-z 0-9 _ . -, not \".\" or \"..\")",
                         where, quote(s, q, sizeof(q)), CROP_NAME_MAX - 1);
    memcpy(r->name, s, strlen(s) + 1);

    double *c[4] = {&r->x0, &r->y0, &r->x1, &r->y1};
    for (int k = 0; k < 4; k++) {
        int rc =
            parse_coord(pe, where, k, json_object_get(o, keys[k + 1]), c[k]);
        if (rc)
            return rc;
    }
    return check_box(pe, where, r);
}

/* The seed's form: [[x0, y0, x1, y1], ...] in pixels. */
static int parse_box(const struct perr *pe, size_t i, const json_t *a,
                     struct crop_region *r)
{
    char where[32];
    snprintf(where, sizeof(where), "[%zu]", i);
    if (!json_is_array(a) || json_array_size(a) != 4)
        return perr_fail(pe,
                         "%s: must be a list of 4 numbers [x0, y0, x1, "
                         "y1]",
                         where);
    snprintf(r->name, sizeof(r->name), "region_%zu", i);
    double *c[4] = {&r->x0, &r->y0, &r->x1, &r->y1};
    for (int k = 0; k < 4; k++) {
        int rc = parse_coord(pe, where, k, json_array_get(a, (size_t)k), c[k]);
        if (rc)
            return rc;
    }
    return check_box(pe, where, r);
}

static int check_count(const struct perr *pe, const char *what, size_t n)
{
    if (n >= 1 && n <= CROP_MAX_REGIONS)
        return 0;
    return perr_fail(pe, "%s: must hold 1 to %d regions (it has %zu)", what,
                     CROP_MAX_REGIONS, n);
}

static int parse_object(const struct perr *pe, const json_t *root,
                        struct crop_set *set)
{
    char q[96];
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)root, key, val)
    {
        if (strcmp(key, "unit") != 0 && strcmp(key, "regions") != 0)
            return perr_fail(pe, "unknown key %s (expected unit, regions)",
                             quote(key, q, sizeof(q)));
    }

    set->unit = CROP_UNIT_PT;
    const json_t *unit = json_object_get(root, "unit");
    if (unit) {
        const char *u = json_is_string(unit) ? json_string_value(unit) : "";
        if (strcmp(u, "pt") == 0)
            set->unit = CROP_UNIT_PT;
        else if (strcmp(u, "px") == 0)
            set->unit = CROP_UNIT_PX;
        else
            return perr_fail(pe, "unit: must be \"pt\" or \"px\"");
    }

    const json_t *regions = json_object_get(root, "regions");
    if (!regions)
        return perr_fail(pe, "missing \"regions\"");
    if (!json_is_array(regions))
        return perr_fail(pe, "regions: must be a list of regions");
    size_t n = json_array_size(regions);
    int rc = check_count(pe, "regions", n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rc = parse_region(pe, i, json_array_get(regions, i), &set->regions[i]);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(set->regions[j].name, set->regions[i].name) == 0)
                return perr_fail(pe, "regions[%zu].name: duplicate \"%s\"", i,
                                 set->regions[i].name);
        }
    }
    set->n = n;
    return 0;
}

static int parse_list(const struct perr *pe, const json_t *root,
                      struct crop_set *set)
{
    size_t n = json_array_size(root);
    int rc = check_count(pe, "list", n);
    if (rc)
        return rc;
    set->unit = CROP_UNIT_PX;
    for (size_t i = 0; i < n; i++) {
        rc = parse_box(pe, i, json_array_get(root, i), &set->regions[i]);
        if (rc)
            return rc;
    }
    set->n = n;
    return 0;
}

int crops_parse(const char *json, const char *source, struct crop_set *out,
                struct buf *err)
{
    const struct perr pe = {err, source ? source : "crop regions"};
    /* A crop_set is a few KiB: parse into a heap copy so out is written
     * only on success. */
    struct crop_set *set = calloc(1, sizeof(*set));
    json_t *root = NULL;
    int rc;
    if (!set)
        return ETL_ENOMEM;

    json_error_t je;
    /* Whole numbers as doubles: no separate "integer too big" path, and
     * duplicate keys are an error rather than last-one-wins. */
    root = json_loads(json,
                      JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
                          JSON_DECODE_INT_AS_REAL,
                      &je);
    if (!root && json[strspn(json, " \t\r\n")] == '\0') {
        rc = perr_fail(&pe, "is empty");
        goto out;
    }
    if (!root) {
        /* jansson quotes the offending input: keep the message one line. */
        for (char *p = je.text; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        rc = perr_fail(&pe, "not valid JSON: %s (line %d, column %d)", je.text,
                       je.line, je.column);
        goto out;
    }
    if (json_is_object(root))
        rc = parse_object(&pe, root, set);
    else if (json_is_array(root))
        rc = parse_list(&pe, root, set);
    else
        rc = perr_fail(&pe, "must be an object {\"unit\": ..., \"regions\": "
                            "[...]} or a list of [x0, y0, x1, y1] boxes");
    if (rc == 0)
        *out = *set;
out:
    json_decref(root);
    free(set);
    return rc;
}

void crops_default(struct crop_set *out)
{
    memset(out, 0, sizeof(*out));
    out->unit = CROP_UNIT_PX;
    out->n = 1;
    struct crop_region *r = &out->regions[0];
    snprintf(r->name, sizeof(r->name), "region_0");
    r->x0 = 100;
    r->y0 = 100;
    r->x1 = 300;
    r->y1 = 300;
}

/* Nearest pixel edge, clamped far inside int range: coordinates are
 * bounded by 1e6 but dpi is the caller's. */
static int to_px(double v, double scale)
{
    double p = floor(v * scale + 0.5);
    if (p > 1e9)
        p = 1e9;
    if (p < -1e9)
        p = -1e9;
    return (int)p;
}

/* b cut to page; whether anything is left. */
static bool clip(struct pdf_irect *b, const struct pdf_irect *page)
{
    if (b->x0 < page->x0)
        b->x0 = page->x0;
    if (b->y0 < page->y0)
        b->y0 = page->y0;
    if (b->x1 > page->x1)
        b->x1 = page->x1;
    if (b->y1 > page->y1)
        b->y1 = page->y1;
    return b->x0 < b->x1 && b->y0 < b->y1;
}

enum crop_fit crops_box(const struct crop_set *s, size_t i, int dpi,
                        const struct pdf_irect *page, struct pdf_irect *box)
{
    assert(i < s->n);
    const struct crop_region *r = &s->regions[i];
    double scale = s->unit == CROP_UNIT_PT ? dpi / 72.0 : 1.0;
    struct pdf_irect want = {to_px(r->x0, scale), to_px(r->y0, scale),
                             to_px(r->x1, scale), to_px(r->y1, scale)};
    struct pdf_irect got = want;
    if (!clip(&got, page)) {
        *box = (struct pdf_irect){0, 0, 0, 0};
        return CROP_OUTSIDE;
    }
    *box = got;
    if (memcmp(&got, &want, sizeof(got)) == 0)
        return CROP_INSIDE;
    return CROP_CLIPPED;
}

size_t crops_redact_boxes(const struct crop_set *s, int dpi,
                          const struct pdf_irect *page, struct pdf_irect *out)
{
    size_t n = 0;
    double k = s->unit == CROP_UNIT_PX ? 1.0 : dpi / 72.0;
    for (size_t i = 0; i < s->n; i++) {
        const struct crop_region *r = &s->regions[i];
        struct pdf_irect b = {(int)floor(r->x0 * k), (int)floor(r->y0 * k),
                              (int)ceil(r->x1 * k), (int)ceil(r->y1 * k)};
        if (clip(&b, page))
            out[n++] = b;
    }
    return n;
}
