/* Labels paired with values by where they are printed.
 *
 * Every span is cut into tokens (fields_text.c): labels from the
 * dictionary, numbers, units, dates, words. A label then takes its value
 *   1. from the rest of its own span ("Ventr. Freq.: 61 BPM"),
 *   2. else from the spans to its right on the same baseline, nearest
 *      first, never past text (another label, a word) or a wide gap: the
 *      MUSE row "PR interval" | "146" | "ms", CardioSoft's right-aligned
 *      value column, Schiller's block of values beside its block of labels,
 *   3. else from the span below it in the same column (Kardia's "Heart
 *      Rate:" over "87 BPM") when nothing else claims that span.
 * Spans taken by a label are claimed, so no other label (nor the
 * unlabelled fallbacks below) reads them again. Decoy labels (birth date,
 * maximum rate, RR interval, print date...) claim their values so that
 * nothing mistakes them for a field.
 *
 * Without any label for it, two things may still be read, marked
 * "(unlabelled)" in the provenance: a rate printed with its unit (a lone
 * "67 bpm") and a date with a time of day, each only when it is the only
 * such value on the page that no label (known, or any text ending in ':')
 * stands next to. A date printed over its time ("29.04.2025" above
 * " 8:28:13") or beside a "Time" label's value is one date and time.
 *
 * Each field then takes the values found at the best label priority: one
 * value (however often printed) is kept; several different ones are a
 * conflict, and none is kept. Values found but not kept (out of range,
 * unreadable, wrong unit, a conflict, a compound that does not fit its
 * label) count in fields_rejected. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "ecg/fields_int.h"

/* Geometry, in ems of the label's font size. */
#define BASE_TOL 0.35f  /* same baseline */
#define FIRST_GAP 16.0f /* label to its value on the same baseline */
#define NEXT_GAP 8.0f   /* between the cells of one value */
#define BELOW_MAX 2.6f  /* the value's baseline below the label's */
#define COLUMN_TOL 1.0f /* left edges this close make a column */
#define AXIS_BLOCK 8.0f /* an "Axis" heading over its P, QRS, T lines */
#define NEAR_LEFT 2.0f  /* text this close left of a value labels it */
#define DT_JOIN 1.8f    /* a time under (or beside) its date */

#define MAX_TOKENS ((size_t)1 << 18)
#define MAX_LABELS 4096 /* labels looked at on one page */
#define MAX_CANDS 1024
#define MAX_ROW 256        /* spans looked at along one baseline */
#define ACQ FIELDS_NUMERIC /* candidate field index of acquired_at */

enum { C_OTHER, C_VALUE, C_UNIT, C_TEXT };
enum { ST_OK, ST_MISSING, ST_BAD };

struct gspan {
    const struct fieldsi_span *s;
    uint32_t tok0, ntok;
    uint8_t cls;
    bool claimed;
    bool heading;      /* an axis block heading */
    bool ends_labelly; /* last token a ':' or a label: it names what
                          follows it */
};

struct cand {
    uint8_t field; /* enum fields_id, or ACQ */
    uint8_t prio;  /* label priority; 0 unlabelled */
    uint8_t state;
    int32_t value;
    int64_t ms;
    const char *label, *label2; /* printed label(s), NULL: unlabelled */
    uint16_t len, len2;
};

/* A date without its time, waiting for one. */
struct pending_date {
    struct fieldsi_dt dt;
    uint32_t span; /* the span holding the date */
    uint8_t prio;
    const char *label;
    uint16_t len;
};

struct tval {
    struct fieldsi_dt dt;
    uint32_t span;
    const char *label;
    uint16_t len;
};

struct geo {
    const bool *decided;
    struct gspan *sp;
    size_t n;
    uint32_t *order; /* span indices by baseline, then x */
    struct fieldsi_tok *tok;
    size_t ntok, captok;
    struct cand cand[MAX_CANDS];
    size_t ncand;
    struct pending_date dates[64];
    size_t ndates;
    struct tval times[64];
    size_t ntimes;
    float unlabelled_below; /* no unlabelled value from below this */
};

/* ------------------------------------------------------------------ */
/* Spans */

static const struct fieldsi_span *S(const struct geo *g, uint32_t i)
{
    return g->sp[i].s;
}

static const struct fieldsi_tok *T(const struct geo *g, uint32_t i)
{
    return &g->tok[i];
}

static bool is_value_tok(uint8_t k)
{
    return k == TK_NUM || k == TK_MISSING || k == TK_DT;
}

static void classify(struct geo *g, struct gspan *sp)
{
    bool value = false, unit = false, text = false;
    for (uint32_t i = sp->tok0; i < sp->tok0 + sp->ntok; i++) {
        uint8_t k = g->tok[i].kind;
        value = value || is_value_tok(k);
        unit = unit || k == TK_UNIT;
        text = text || k == TK_LABEL || k == TK_WORD;
    }
    sp->cls = text ? C_TEXT : value ? C_VALUE : unit ? C_UNIT : C_OTHER;
    if (sp->heading)
        sp->cls = C_TEXT;
    if (sp->ntok) {
        const struct fieldsi_tok *last = &g->tok[sp->tok0 + sp->ntok - 1];
        sp->ends_labelly =
            last->kind == TK_LABEL ||
            (last->kind == TK_SEP && sp->s->text[last->off] != '=');
    }
}

static int cmp_base(const void *a, const void *b, void *arg)
{
    const struct geo *g = arg;
    const struct fieldsi_span *x = S(g, *(const uint32_t *)a);
    const struct fieldsi_span *y = S(g, *(const uint32_t *)b);
    if (x->base != y->base)
        return x->base < y->base ? -1 : 1;
    if (x->x0 != y->x0)
        return x->x0 < y->x0 ? -1 : 1;
    return 0;
}

/* First position in order whose baseline is >= b. */
static size_t lower_bound(const struct geo *g, float b)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (S(g, g->order[mid])->base < b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static float fmaxf2(float a, float b)
{
    return a > b ? a : b;
}

static bool same_base(const struct fieldsi_span *a,
                      const struct fieldsi_span *b)
{
    return fabsf(a->base - b->base) <= BASE_TOL * fmaxf2(a->size, b->size);
}

/* The spans right of a (starting at its right edge, less a little) on its
 * baseline, nearest first, into out (at most MAX_ROW). */
static size_t row_right(const struct geo *g, uint32_t a, float from,
                        uint32_t *out)
{
    const struct fieldsi_span *s = S(g, a);
    float tol = 2 * BASE_TOL * s->size;
    size_t n = 0;
    for (size_t k = lower_bound(g, s->base - tol);
         k < g->n && S(g, g->order[k])->base <= s->base + tol && n < MAX_ROW;
         k++) {
        uint32_t j = g->order[k];
        const struct fieldsi_span *r = S(g, j);
        if (j == a || !same_base(s, r) || r->x0 < from - 0.5f * s->size)
            continue;
        size_t at = n++;
        while (at > 0 && S(g, out[at - 1])->x0 > r->x0) {
            out[at] = out[at - 1];
            at--;
        }
        out[at] = j;
    }
    return n;
}

/* The nearest span left of a on its baseline, within max ems, or -1. */
static long left_neighbour(const struct geo *g, uint32_t a, float max)
{
    const struct fieldsi_span *s = S(g, a);
    float tol = 2 * BASE_TOL * s->size;
    long best = -1;
    float best_x = -INFINITY;
    for (size_t k = lower_bound(g, s->base - tol);
         k < g->n && S(g, g->order[k])->base <= s->base + tol; k++) {
        uint32_t j = g->order[k];
        const struct fieldsi_span *l = S(g, j);
        if (j == a || !same_base(s, l) || l->x1 > s->x0 + 0.5f * s->size ||
            s->x0 - l->x1 > max * s->size)
            continue;
        if (l->x1 > best_x) {
            best_x = l->x1;
            best = (long)j;
        }
    }
    return best;
}

static bool column_match(const struct fieldsi_span *a,
                         const struct fieldsi_span *b, float tol_em)
{
    float overlap = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
    return overlap > 0 || fabsf(a->x0 - b->x0) <= tol_em * a->size;
}

/* The nearest span below a (dir > 0) or above it (dir < 0), within max
 * ems, in its column; -1 if none. */
static long vertical_neighbour(const struct geo *g, uint32_t a, int dir,
                               float max)
{
    const struct fieldsi_span *s = S(g, a);
    float lo = dir > 0 ? s->base + 0.3f * s->size : s->base - max * s->size;
    float hi = dir > 0 ? s->base + max * s->size : s->base - 0.3f * s->size;
    long best = -1;
    float best_d = INFINITY;
    for (size_t k = lower_bound(g, lo);
         k < g->n && S(g, g->order[k])->base <= hi; k++) {
        uint32_t j = g->order[k];
        const struct fieldsi_span *b = S(g, j);
        if (j == a || !column_match(s, b, COLUMN_TOL))
            continue;
        float d = fabsf(b->base - s->base) + 0.01f * fabsf(b->x0 - s->x0);
        if (d < best_d) {
            best_d = d;
            best = (long)j;
        }
    }
    return best;
}

/* ------------------------------------------------------------------ */
/* Collecting a label's values */

struct coll {
    const struct fieldsi_label *l;
    int want, n;
    uint8_t st[3], unit[3];
    double v[3];
    uint8_t pre_unit; /* given before the values (in the label) */
    bool extra;       /* more values than the label names */
    bool last_num;    /* the last token taken was a number */
    bool after_slash;
    /* dates */
    bool has_dt;
    struct fieldsi_dt dt;
    uint32_t date_span;
};

static bool date_label(const struct fieldsi_label *l)
{
    return l->kind == LK_ACQ || l->kind == LK_DATE || l->kind == LK_TIME;
}

/* Take tokens [i, end) for c's label: returns where it stopped. */
static uint32_t collect(const struct geo *g, struct coll *c, uint32_t i,
                        uint32_t end, uint32_t span)
{
    const struct fieldsi_label *l = c->l;
    for (; i < end; i++) {
        const struct fieldsi_tok *t = T(g, i);
        if (date_label(l) || (l->kind == LK_DECOY && t->kind == TK_DT)) {
            if (t->kind != TK_DT)
                return i;
            if (!c->has_dt) {
                c->has_dt = true;
                c->dt = t->dt;
                c->date_span = span;
                c->n = 1;
                continue;
            }
            /* a date then its time, as two tokens */
            if (c->dt.date && !c->dt.time && !t->dt.date && t->dt.time) {
                c->dt.time = true;
                c->dt.hh = t->dt.hh, c->dt.mi = t->dt.mi, c->dt.ss = t->dt.ss;
                c->dt.ampm_bad = t->dt.ampm_bad;
                continue;
            }
            return i;
        }
        switch (t->kind) {
        case TK_NUM:
        case TK_MISSING:
            if (c->n == c->want) {
                if (c->after_slash || c->last_num)
                    c->extra = true;
                return i;
            }
            c->st[c->n] = t->kind == TK_MISSING ? ST_MISSING
                          : t->bad              ? ST_BAD
                                                : ST_OK;
            c->v[c->n] = t->num;
            c->unit[c->n] = FU_NONE;
            c->n++;
            c->last_num = true;
            c->after_slash = false;
            break;
        case TK_UNIT:
            if (c->n == 0)
                c->pre_unit = t->unit;
            else if (c->unit[c->n - 1] == FU_NONE)
                c->unit[c->n - 1] = t->unit;
            c->last_num = false;
            break;
        case TK_SLASH:
            if (c->n == 0)
                return i;
            c->after_slash = true;
            c->last_num = false;
            break;
        case TK_COMMA:
            if (c->n == 0 || c->n >= c->want)
                return i;
            c->last_num = false;
            break;
        default:
            return i;
        }
    }
    return i;
}

/* The unit a value was printed with: its own, else the next value's (a
 * unit printed once after "408/390ms" is every value's), else the one in
 * the label ("PR (ms)"). */
static uint8_t unit_of(const struct coll *c, int k)
{
    for (int j = k; j < c->n; j++)
        if (c->unit[j] != FU_NONE)
            return c->unit[j];
    return c->pre_unit;
}

static bool rate_field(int f)
{
    return f == FIELDS_VENT_RATE || f == FIELDS_ATRIAL_RATE;
}

static bool axis_field(int f)
{
    return f == FIELDS_P_AXIS || f == FIELDS_R_AXIS || f == FIELDS_T_AXIS;
}

static void add_cand(struct geo *g, const struct cand *c)
{
    if (g->ncand < MAX_CANDS)
        g->cand[g->ncand++] = *c;
}

static const char *label_text(const struct geo *g, uint32_t span, uint32_t tok,
                              uint16_t *len)
{
    const struct fieldsi_tok *t = T(g, tok);
    *len = (uint16_t)(t->len > 0xffff ? 0xffff : t->len);
    return S(g, span)->text + t->off;
}

/* One numeric value of field f as a candidate. */
static void num_cand(struct geo *g, const struct coll *c, int k, int f,
                     const char *label, uint16_t len)
{
    struct cand cd = {.field = (uint8_t)f,
                      .prio = c->l->prio,
                      .state = c->st[k],
                      .label = label,
                      .len = len};
    if (cd.state == ST_OK) {
        uint8_t u = unit_of(c, k);
        double scale = 1;
        bool fits;
        if (rate_field(f))
            fits = u == FU_NONE || u == FU_RATE;
        else if (axis_field(f))
            /* dicom-ecg-plot prints "P-R-T Axis: 74 52 57 ms": the label
             * names three axes, the unit is a slip. */
            fits = u == FU_NONE || u == FU_DEG || (c->l->n == 3 && u == FU_MS);
        else
            fits = u == FU_NONE || u == FU_MS || u == FU_S;
        if (u == FU_S && !axis_field(f) && !rate_field(f))
            scale = 1000;
        int min, max;
        fields_range((enum fields_id)f, &min, &max);
        double d = round(c->v[k] * scale); /* halves away from zero */
        if (fits && d >= min && d <= max)
            cd.value = (int32_t)d;
        else
            cd.state = ST_BAD;
    }
    add_cand(g, &cd);
}

/* What a label's collected values give. Returns false when they give
 * nothing (the label may look further). */
static bool emit(struct geo *g, const struct coll *c, uint32_t span,
                 uint32_t tok)
{
    const struct fieldsi_label *l = c->l;
    uint16_t len;
    const char *label = label_text(g, span, tok, &len);
    if (c->n == 0)
        return false;
    if (l->kind == LK_DECOY)
        return true;
    if (date_label(l)) {
        const struct fieldsi_dt *dt = &c->dt;
        if (l->kind == LK_TIME) {
            if (!dt->date && dt->time && g->ntimes < 64)
                g->times[g->ntimes++] =
                    (struct tval){*dt, c->date_span, label, len};
            return true;
        }
        if (dt->date && dt->time) {
            struct cand cd = {
                .field = ACQ, .prio = l->prio, .label = label, .len = len};
            cd.state = fieldsi_dt_ms(dt, &cd.ms) > 0 ? ST_OK : ST_BAD;
            add_cand(g, &cd);
        } else if (dt->date && g->ndates < 64) {
            g->dates[g->ndates++] =
                (struct pending_date){*dt, c->date_span, l->prio, label, len};
        }
        return true;
    }
    if (c->extra || c->n < c->want) {
        /* "QT/QTc 380 ms", "HR 72/80": which value is which is not
         * known. */
        struct cand cd = {.field = (uint8_t)l->field[0],
                          .prio = l->prio,
                          .state = ST_BAD,
                          .label = label,
                          .len = len};
        for (int k = 0; k < c->n; k++) {
            if (c->st[k] == ST_MISSING)
                continue;
            cd.field = (uint8_t)l->field[k < l->n ? k : 0];
            add_cand(g, &cd);
        }
        return true;
    }
    if (l->kind == LK_QRS) {
        /* "QRS" alone: a duration in ms, an axis in degrees, else not a
         * label at all (an amplitude, a lead). */
        uint8_t u = unit_of(c, 0);
        if (u == FU_MS || u == FU_S)
            num_cand(g, c, 0, FIELDS_QRS, label, len);
        else if (u == FU_DEG)
            num_cand(g, c, 0, FIELDS_R_AXIS, label, len);
        return true;
    }
    for (int k = 0; k < c->n; k++)
        num_cand(g, c, k, l->field[k], label, len);
    return true;
}

static void coll_init(struct coll *c, const struct fieldsi_label *l)
{
    memset(c, 0, sizeof(*c));
    c->l = l;
    c->want = l->n ? l->n : 1;
}

/* Walk right along the baseline from span start (whose right edge is
 * from), feeding value spans to c. first: the first value may be
 * FIRST_GAP away, later cells NEXT_GAP. Claims what it takes. */
static void walk_right(struct geo *g, struct coll *c, uint32_t start,
                       float from, bool first)
{
    uint32_t row[MAX_ROW];
    size_t n = row_right(g, start, from, row);
    float x = from, size = S(g, start)->size;
    for (size_t k = 0; k < n; k++) {
        struct gspan *r = &g->sp[row[k]];
        float gap = r->s->x0 - x;
        float max = (first && c->n == 0 ? FIRST_GAP : NEXT_GAP) * size;
        if (gap > max || r->cls == C_TEXT || r->claimed)
            return;
        if (r->cls == C_OTHER) {
            x = r->s->x1;
            continue;
        }
        if (c->n == c->want && r->cls == C_VALUE &&
            !(date_label(c->l) && c->dt.date && !c->dt.time)) {
            /* A full set, then another value: a row of values (one per
             * lead, say), not this label's one. */
            if (!date_label(c->l))
                c->extra = true;
            return;
        }
        struct coll save = *c;
        uint32_t stop = collect(g, c, r->tok0, r->tok0 + r->ntok, row[k]);
        if (stop != r->tok0 + r->ntok) {
            /* Something else in it: not this label's. */
            bool extra = c->extra;
            *c = save;
            c->extra = extra;
            return;
        }
        r->claimed = true;
        x = r->s->x1;
    }
}

/* A label that ends its span: the values to its right, else below. */
static void look_around(struct geo *g, uint32_t span, uint32_t tok,
                        struct coll *c)
{
    walk_right(g, c, span, S(g, span)->x1, true);
    if (c->n || c->extra) {
        emit(g, c, span, tok);
        return;
    }
    long b = vertical_neighbour(g, span, +1, BELOW_MAX);
    if (b < 0)
        return;
    struct gspan *bs = &g->sp[b];
    if (bs->cls != C_VALUE || bs->claimed)
        return;
    /* The value has a label of its own: text close by on its left, or a
     * label (text ending in ':') as far as labels stand from values. */
    long left = left_neighbour(g, (uint32_t)b, FIRST_GAP);
    if (left >= 0 && g->sp[left].cls == C_TEXT &&
        (g->sp[left].ends_labelly ||
         bs->s->x0 - S(g, (uint32_t)left)->x1 <= NEAR_LEFT * bs->s->size))
        return;
    uint32_t stop = collect(g, c, bs->tok0, bs->tok0 + bs->ntok, (uint32_t)b);
    if (stop != bs->tok0 + bs->ntok) {
        coll_init(c, c->l);
        return;
    }
    bs->claimed = true;
    walk_right(g, c, (uint32_t)b, bs->s->x1, false);
    emit(g, c, span, tok);
}

/* "72 BPM Average": a rate with its unit right before the label. */
static void after_label(struct geo *g, uint32_t si, uint32_t i)
{
    uint32_t t0 = g->sp[si].tok0;
    if (i < t0 + 2 || T(g, i - 1)->kind != TK_UNIT ||
        T(g, i - 1)->unit != FU_RATE || T(g, i - 2)->kind != TK_NUM)
        return;
    struct coll c;
    coll_init(&c, T(g, i)->label);
    collect(g, &c, i - 2, i, si);
    emit(g, &c, si, i);
}

/* In-span pairing for every label of one span. Labels that end it are
 * queued for look_around: pend gets their span, token and the unit given
 * in the label, three entries each. Labels of fields a site pattern
 * decided still claim their values. */
static void labels_in_span(struct geo *g, uint32_t si, uint32_t *pend,
                           size_t *npend)
{
    struct gspan *sp = &g->sp[si];
    if (sp->heading)
        return;
    uint32_t end = sp->tok0 + sp->ntok;
    for (uint32_t i = sp->tok0; i < end; i++) {
        const struct fieldsi_tok *t = T(g, i);
        if (t->kind != TK_LABEL)
            continue;
        if (t->label->kind == LK_AFTER) {
            after_label(g, si, i);
            continue;
        }
        struct coll c;
        coll_init(&c, t->label);
        uint32_t j = i + 1;
        /* ':' '=', units and a parenthesis ("PR (ms)") after the label */
        for (;;) {
            if (j < end && T(g, j)->kind == TK_SEP) {
                j++;
            } else if (j < end && T(g, j)->kind == TK_UNIT) {
                c.pre_unit = T(g, j)->unit;
                j++;
            } else if (j < end && T(g, j)->kind == TK_OPEN) {
                uint32_t k = j + 1;
                while (k < end && k < j + 8 && T(g, k)->kind != TK_CLOSE &&
                       T(g, k)->kind != TK_OPEN)
                    k++;
                if (k >= end || T(g, k)->kind != TK_CLOSE)
                    break;
                for (uint32_t u = j + 1; u < k; u++)
                    if (T(g, u)->kind == TK_UNIT)
                        c.pre_unit = T(g, u)->unit;
                j = k + 1;
            } else {
                break;
            }
        }
        if (j == end) {
            if (*npend + 3 <= 3 * MAX_LABELS) {
                pend[(*npend)++] = si;
                pend[(*npend)++] = i;
                /* the unit in the label goes along */
                pend[(*npend)++] = c.pre_unit;
            }
            break;
        }
        if (!is_value_tok(T(g, j)->kind)) {
            i = j - 1; /* prose ("PR prolonged"), or another label */
            continue;
        }
        uint32_t stop = collect(g, &c, j, end, si);
        emit(g, &c, si, i);
        i = (stop > j ? stop : j + 1) - 1;
    }
}

/* ------------------------------------------------------------------ */
/* Philips' axis block: "--AXIS--" over "P 60", "QRS 45", "T 30". */

static void axis_blocks(struct geo *g)
{
    for (size_t h = 0; h < g->n; h++) {
        if (!g->sp[h].heading)
            continue;
        const struct fieldsi_span *hs = S(g, (uint32_t)h);
        float lo = hs->base + 0.3f * hs->size;
        float hi = hs->base + AXIS_BLOCK * hs->size;
        for (size_t k = lower_bound(g, lo);
             k < g->n && S(g, g->order[k])->base <= hi; k++) {
            struct gspan *sp = &g->sp[g->order[k]];
            if (!sp->ntok || !column_match(hs, sp->s, 3 * COLUMN_TOL))
                continue;
            struct fieldsi_tok *t = &g->tok[sp->tok0];
            int f = -1;
            if (t->kind == TK_LABEL && t->label->kind == LK_QRS) {
                f = FIELDS_R_AXIS;
            } else if (t->kind == TK_WORD && t->len == 1) {
                char ch = sp->s->text[t->off];
                f = ch == 'P' || ch == 'p'   ? FIELDS_P_AXIS
                    : ch == 'R' || ch == 'r' ? FIELDS_R_AXIS
                    : ch == 'T' || ch == 't' ? FIELDS_T_AXIS
                                             : -1;
            }
            if (f < 0)
                continue;
            /* the value may not be a duration ("QRS 92 ms") */
            bool ms = false;
            for (uint32_t i = sp->tok0 + 1; i < sp->tok0 + sp->ntok; i++)
                ms =
                    ms || (g->tok[i].kind == TK_UNIT &&
                           (g->tok[i].unit == FU_MS || g->tok[i].unit == FU_S));
            if (ms)
                continue;
            t->kind = TK_LABEL;
            t->label = fieldsi_axis_label((enum fields_id)f);
            sp->cls = C_TEXT;
        }
    }
}

/* ------------------------------------------------------------------ */
/* Dates with their times, and values with no label */

static bool time_only_span(const struct geo *g, uint32_t i,
                           struct fieldsi_dt *dt)
{
    const struct gspan *sp = &g->sp[i];
    if (sp->cls != C_VALUE || sp->ntok != 1)
        return false;
    const struct fieldsi_tok *t = T(g, sp->tok0);
    if (t->kind != TK_DT || t->dt.date || !t->dt.time)
        return false;
    *dt = t->dt;
    return true;
}

/* Is this span claimed by a TIME label (and which)? */
static const struct tval *time_label_of(const struct geo *g, uint32_t i)
{
    for (size_t k = 0; k < g->ntimes; k++)
        if (g->times[k].span == i)
            return &g->times[k];
    return NULL;
}

/* The time printed beside or under the date in span di, or a Time
 * label's. */
static bool find_time(const struct geo *g, uint32_t di, bool labelled,
                      struct fieldsi_dt *tm, const struct tval **tl)
{
    *tl = NULL;
    uint32_t row[MAX_ROW];
    size_t n = row_right(g, di, S(g, di)->x1, row);
    if (n && row[0] != di &&
        S(g, row[0])->x0 - S(g, di)->x1 <= 3 * S(g, di)->size &&
        time_only_span(g, row[0], tm) &&
        (!g->sp[row[0]].claimed || time_label_of(g, row[0]))) {
        *tl = time_label_of(g, row[0]);
        return true;
    }
    long b = vertical_neighbour(g, di, +1, DT_JOIN);
    if (b >= 0 && time_only_span(g, (uint32_t)b, tm) &&
        (!g->sp[b].claimed || time_label_of(g, (uint32_t)b))) {
        *tl = time_label_of(g, (uint32_t)b);
        return true;
    }
    if (labelled && g->ntimes == 1) {
        *tm = g->times[0].dt;
        *tl = &g->times[0];
        return true;
    }
    return false;
}

static void date_time_cand(struct geo *g, const struct pending_date *d)
{
    struct fieldsi_dt tm;
    const struct tval *tl;
    if (!find_time(g, d->span, d->label != NULL, &tm, &tl))
        return;
    struct fieldsi_dt dt = d->dt;
    dt.time = true;
    dt.hh = tm.hh, dt.mi = tm.mi, dt.ss = tm.ss;
    dt.ampm_bad = tm.ampm_bad;
    struct cand cd = {
        .field = ACQ, .prio = d->prio, .label = d->label, .len = d->len};
    if (d->label && tl) {
        cd.label2 = tl->label;
        cd.len2 = tl->len;
    }
    cd.state = fieldsi_dt_ms(&dt, &cd.ms) > 0 ? ST_OK : ST_BAD;
    add_cand(g, &cd);
}

/* Text naming span i: text left of it on its baseline (as far as a label
 * may stand from its value) ending in ':' or a label, or such text right
 * above it. */
static bool has_label_near(const struct geo *g, uint32_t i)
{
    long l = left_neighbour(g, i, FIRST_GAP);
    if (l >= 0 && g->sp[l].cls == C_TEXT && g->sp[l].ends_labelly)
        return true;
    long a = vertical_neighbour(g, i, -1, BELOW_MAX);
    return a >= 0 && g->sp[a].cls == C_TEXT && g->sp[a].ends_labelly;
}

static void unlabelled(struct geo *g)
{
    for (uint32_t i = 0; i < g->n; i++) {
        const struct gspan *sp = &g->sp[i];
        if (sp->cls != C_VALUE || sp->claimed || !sp->ntok)
            continue;
        const struct fieldsi_tok *t = T(g, sp->tok0);
        bool rate = t->kind == TK_NUM && !t->bad && sp->ntok >= 2 &&
                    T(g, sp->tok0 + 1)->kind == TK_UNIT &&
                    T(g, sp->tok0 + 1)->unit == FU_RATE;
        bool date = t->kind == TK_DT && t->dt.date;
        if ((!rate && !date) || sp->s->base > g->unlabelled_below ||
            has_label_near(g, i))
            continue;
        if (rate) {
            struct cand cd = {.field = FIELDS_VENT_RATE, .prio = 0};
            double d = round(t->num);
            int min, max;
            fields_range(FIELDS_VENT_RATE, &min, &max);
            cd.state = d >= min && d <= max ? ST_OK : ST_BAD;
            if (cd.state == ST_OK) /* a printed number may not fit an int */
                cd.value = (int32_t)d;
            add_cand(g, &cd);
        } else if (t->dt.time) {
            struct cand cd = {.field = ACQ, .prio = 0};
            cd.state = fieldsi_dt_ms(&t->dt, &cd.ms) > 0 ? ST_OK : ST_BAD;
            add_cand(g, &cd);
        } else {
            struct pending_date d = {t->dt, i, 0, NULL, 0};
            date_time_cand(g, &d);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Deciding */

static void decide(struct geo *g, int field, struct fields_result *r)
{
    int best = -1;
    for (size_t k = 0; k < g->ncand; k++)
        if (g->cand[k].field == field && g->cand[k].prio > best)
            best = g->cand[k].prio;
    if (best < 0)
        return;
    const struct cand *keep = NULL;
    int distinct = 0, bad = 0;
    for (size_t k = 0; k < g->ncand; k++) {
        const struct cand *c = &g->cand[k];
        if (c->field != field || c->prio != best)
            continue;
        if (c->state == ST_BAD) {
            bad++;
        } else if (c->state == ST_OK) {
            bool seen = false;
            for (size_t j = 0; j < k && !seen; j++) {
                const struct cand *o = &g->cand[j];
                seen = o->field == field && o->prio == best &&
                       o->state == ST_OK &&
                       (field == ACQ ? o->ms == c->ms : o->value == c->value);
            }
            if (!seen) {
                distinct++;
                keep = keep ? keep : c;
            }
        }
    }
    if (distinct == 1) {
        r->rejected += bad;
        char *src = field == ACQ ? r->acquired_source : r->source[field];
        if (keep->label)
            fieldsi_set_source(src, keep->label, keep->len, keep->label2,
                               keep->len2);
        else
            fieldsi_set_source(src, "(unlabelled)", 12, NULL, 0);
        if (field == ACQ) {
            r->has_acquired = true;
            r->acquired_ms = keep->ms;
        } else {
            r->has[field] = true;
            r->value[field] = keep->value;
        }
        return;
    }
    r->rejected += bad + (distinct > 1 ? distinct : 0);
}

void fieldsi_set_source(char *dst, const char *label, size_t len,
                        const char *label2, size_t len2)
{
    size_t o = 0;
    for (int part = 0; part < 2; part++) {
        const char *s = part ? label2 : label;
        size_t n = part ? len2 : len;
        if (!s)
            continue;
        if (part && o < FIELDS_SOURCE_MAX - 1)
            dst[o++] = '+';
        while (n && (s[n - 1] == ' ' || s[n - 1] == ':'))
            n--;
        bool blank = false;
        for (size_t i = 0; i < n && o < FIELDS_SOURCE_MAX - 1; i++) {
            char c = s[i];
            if (c == ' ' || c == '\t') {
                blank = o > 0;
                continue;
            }
            if (blank && o < FIELDS_SOURCE_MAX - 2)
                dst[o++] = ' ';
            blank = false;
            dst[o++] = c;
        }
    }
    /* Cut short inside a character: drop that character. */
    size_t start = o;
    while (start && ((unsigned char)dst[start - 1] & 0xc0) == 0x80)
        start--;
    if (start) {
        unsigned char lead = (unsigned char)dst[start - 1];
        size_t need = lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
        if (start - 1 + need > o)
            o = start - 1;
    }
    dst[o] = '\0';
}

/* ------------------------------------------------------------------ */

int fieldsi_geo(const struct fieldsi_span *spans, size_t n, float top,
                float bottom, const bool *decided, struct fields_result *r)
{
    struct geo *g = calloc(1, sizeof(*g));
    uint32_t *pend = NULL;
    int rc = ETL_ENOMEM;
    if (!g)
        return ETL_ENOMEM;
    g->decided = decided;
    /* Unlabelled values only from the page's upper half (the header):
     * a timestamp in the footer is when it was printed. */
    g->unlabelled_below = bottom > top ? top + 0.5f * (bottom - top) : INFINITY;
    g->n = n;
    g->sp = calloc(n ? n : 1, sizeof(*g->sp));
    g->order = calloc(n ? n : 1, sizeof(*g->order));
    pend = calloc(3 * MAX_LABELS, sizeof(*pend));
    if (!g->sp || !g->order || !pend)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct gspan *sp = &g->sp[i];
        sp->s = &spans[i];
        sp->tok0 = (uint32_t)g->ntok;
        sp->heading = fieldsi_axis_heading(spans[i].text);
        long k = fieldsi_tokenize(spans[i].text, &g->tok, &g->ntok, &g->captok,
                                  MAX_TOKENS);
        if (k < 0)
            goto out;
        sp->ntok = (uint32_t)k;
        classify(g, sp);
        g->order[i] = (uint32_t)i;
    }
    qsort_r(g->order, n, sizeof(*g->order), cmp_base, g);
    axis_blocks(g);

    /* Labels in reading order: in their span, then around it. */
    size_t npend = 0;
    for (size_t k = 0; k < n; k++)
        labels_in_span(g, g->order[k], pend, &npend);
    for (size_t k = 0; k + 3 <= npend; k += 3) {
        struct coll c;
        coll_init(&c, T(g, pend[k + 1])->label);
        c.pre_unit = (uint8_t)pend[k + 2];
        look_around(g, pend[k], pend[k + 1], &c);
    }
    for (size_t k = 0; k < g->ndates; k++)
        date_time_cand(g, &g->dates[k]);
    unlabelled(g);

    for (int f = 0; f < FIELDS_NUMERIC; f++)
        if (!decided[f])
            decide(g, f, r);
    if (!decided[FIELDS_ACQUIRED_AT])
        decide(g, ACQ, r);
    rc = 0;
out:
    free(pend);
    if (g) {
        free(g->sp);
        free(g->order);
        free(g->tok);
        free(g);
    }
    return rc;
}

bool fieldsi_line_is_measurement(const char *line)
{
    struct fieldsi_tok *tok = NULL;
    size_t ntok = 0, cap = 0;
    bool yes = false;
    long n = fieldsi_tokenize(line, &tok, &ntok, &cap, 512);
    for (long i = 0; i + 1 < n && !yes; i++) {
        if (tok[i].kind != TK_LABEL || tok[i].label->kind == LK_DECOY ||
            date_label(tok[i].label))
            continue;
        long j = i + 1;
        while (j < n && (tok[j].kind == TK_SEP || tok[j].kind == TK_UNIT))
            j++;
        yes = j < n && (tok[j].kind == TK_NUM || tok[j].kind == TK_MISSING);
    }
    free(tok);
    return yes;
}
