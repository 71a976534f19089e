/* libFuzzer target: the measurement reader (ecg/fields*.c) on a page
 * layout, as pdf_doc_text_layout() hands it over, and on the same bytes as
 * plain text.
 *
 * Input: one span a line, "X Y SIZE DIR|TEXT" (X, Y the baseline origin,
 * SIZE the font size, DIR 0-3 the writing direction: right, up, down,
 * left), or a line without '|' as text at the next line's place. The
 * numbers are read leniently (garbage is 0), so mutations explore
 * positions as well as text; a page's spans are capped like
 * pdf_layout's.
 *
 * Checks: the result is 0 (or ETL_ENOMEM); every value kept lies in its
 * field's range and names a non-empty, NUL-terminated, valid UTF-8
 * source; an acquisition time lies between 1900 and 2200; rejected is not
 * negative; a field is kept at most once; reading the same input again
 * gives the same result (no state between calls). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/utf8.h"
#include "ecg/fields.h"
#include "fuzz.h"
#include "pdf/pdf.h"

#define MAX_SPANS 4096

static struct fields_set *set;

static bool valid_source(const char *s)
{
    size_t n = strnlen(s, FIELDS_SOURCE_MAX);
    if (n == 0 || n >= FIELDS_SOURCE_MAX)
        return false;
    struct buf b = BUF_INIT;
    bool ok = buf_add(&b, s, n) == 0 && utf8_sanitize(&b) == 0 && b.len == n &&
              memcmp(b.data, s, n) == 0;
    buf_release(&b);
    return ok;
}

static void check(const struct fields_result *r)
{
    FUZZ_CHECK(r->rejected >= 0);
    for (int f = 0; f < FIELDS_NUMERIC; f++) {
        if (!r->has[f]) {
            FUZZ_CHECK(r->source[f][0] == '\0');
            continue;
        }
        int min, max;
        fields_range((enum fields_id)f, &min, &max);
        FUZZ_CHECK(r->value[f] >= min && r->value[f] <= max);
        FUZZ_CHECK(valid_source(r->source[f]));
    }
    if (r->has_acquired) {
        /* 1900-01-01 and 2201-01-01 */
        FUZZ_CHECK(r->acquired_ms >= -2208988800000LL &&
                   r->acquired_ms < 7289654400000LL);
        FUZZ_CHECK(valid_source(r->acquired_source));
    }
    FUZZ_CHECK(r->nstatements <= FIELDS_MAX_STATEMENTS);
    FUZZ_CHECK(fields_read_count(r) <= FIELDS_NUMERIC + 1);
}

static bool same(const struct fields_result *a, const struct fields_result *b)
{
    if (a->rejected != b->rejected || a->has_acquired != b->has_acquired ||
        (a->has_acquired && a->acquired_ms != b->acquired_ms))
        return false;
    for (int f = 0; f < FIELDS_NUMERIC; f++)
        if (a->has[f] != b->has[f] || (a->has[f] && a->value[f] != b->value[f]))
            return false;
    return true;
}

/* Lenient number: digits with an optional sign and point; else 0. */
static float number(const char **p, const char *end)
{
    while (*p < end && **p == ' ')
        (*p)++;
    char t[24];
    size_t n = 0;
    while (*p < end && n < sizeof(t) - 1 &&
           (strchr("+-.0123456789", **p) && **p != '\0'))
        t[n++] = *(*p)++;
    t[n] = '\0';
    float v = strtof(t, NULL);
    return isfinite(v) && fabsf(v) < 1e6f ? v : 0;
}

static void build(const char *s, size_t len, struct pdf_layout *l,
                  struct buf *text)
{
    static const float dirs[4][2] = {{1, 0}, {0, -1}, {0, 1}, {-1, 0}};
    const char *p = s, *end = s + len;
    float y = 0;
    while (p < end && l->nspans < MAX_SPANS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *bar = memchr(p, '|', (size_t)(le - p));
        float x = 0, size = 10, base = y;
        int dir = 0;
        const char *t = p;
        if (bar) {
            const char *q = p;
            x = number(&q, bar);
            base = number(&q, bar);
            size = number(&q, bar);
            dir = (int)number(&q, bar) & 3;
            t = bar + 1;
        }
        y += 12;
        size_t n = (size_t)(le - t);
        p = nl ? nl + 1 : end;
        if (n == 0 || memchr(t, '\0', n))
            continue;
        struct pdf_span *sp = &l->spans[l->nspans++];
        float dx = dirs[dir][0], dy = dirs[dir][1];
        float w = 0.5f * size * (float)n;
        /* the reading frame's box, turned into page space */
        float u0 = x, u1 = x + w, v0 = base - 0.8f * size,
              v1 = base + 0.2f * size;
        float xa = u0 * dx - v0 * dy, xb = u1 * dx - v1 * dy;
        float ya = u0 * dy + v0 * dx, yb = u1 * dy + v1 * dx;
        sp->off = text->len;
        sp->len = n;
        sp->x0 = fminf(xa, xb), sp->x1 = fmaxf(xa, xb);
        sp->y0 = fminf(ya, yb), sp->y1 = fmaxf(ya, yb);
        sp->bx = u0 * dx - base * dy;
        sp->by = u0 * dy + base * dx;
        sp->size = size;
        sp->dx = dx, sp->dy = dy;
        sp->line = (uint32_t)l->nspans;
        buf_add(text, t, n);
        buf_addch(text, '\0');
    }
    /* Spans keep the input's bytes, invalid UTF-8 included: a layout's
     * text is valid, but the reader must not depend on it. */
    l->text = text->data;
    l->text_len = text->len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!set) {
        struct buf err = BUF_INIT;
        FUZZ_CHECK(fields_parse(NULL, NULL, &set, &err) == 0);
        buf_release(&err);
    }
    if (size > 1 << 20)
        return 0;
    struct pdf_layout l = {0};
    struct buf text = BUF_INIT, page = BUF_INIT;
    l.spans = calloc(MAX_SPANS, sizeof(*l.spans));
    FUZZ_CHECK(l.spans != NULL);
    build((const char *)data, size, &l, &text);
    /* The page text: the input as text, valid UTF-8 as the pipeline
     * gives it. */
    FUZZ_CHECK(buf_add(&page, data, size) == 0);
    FUZZ_CHECK(utf8_sanitize(&page) == 0);

    struct fields_result a, b;
    int rc = fields_extract_layout(set, page.data, page.len, &l, &a);
    FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
    if (rc == 0) {
        check(&a);
        FUZZ_CHECK(fields_extract_layout(set, page.data, page.len, &l, &b) ==
                   0);
        FUZZ_CHECK(same(&a, &b));
        fields_result_release(&b);
        fields_result_release(&a);
    }
    /* And as plain text, lines one under the other. */
    rc = fields_extract(set, page.data, page.len, &a);
    FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
    if (rc == 0) {
        check(&a);
        fields_result_release(&a);
    }
    free(l.spans);
    buf_release(&text);
    buf_release(&page);
    return 0;
}
