/* Waveform extraction from a page's vectors (see waveform.h).
 *
 * Steps, each at most O(n log n) in the number of points collected:
 *  1. polylines: stroked subpaths with finite points on the page; pieces
 *     drawn end to start in the same pen are chained (some writers cut a
 *     trace into many short paths);
 *  2. traces: polylines monotonic in x (tiny back-steps allowed), far
 *     longer than a calibration pulse, with many vertices and not straight
 *     (grid lines are straight, however long), dense in x;
 *  3. calibration pulses: up, across ~200 ms, down, in a short path or at
 *     the start of a trace (then cut off it);
 *  4. rows: traces by height, a row's traces side by side without
 *     overlapping in x; each row takes the nearest unused pulse at its
 *     left (or right) end, at its level;
 *  5. names: lead labels matched to trace starts by distance, nearest
 *     pairs first, else the layout's order;
 *  6. samples: the polyline linearly interpolated every 1/rate seconds of
 *     paper from the trace's first x, in mV from the row's baseline.
 * Distances are in paper millimetres (the page is taken at 1:1), times
 * from the paper speed; neither colour nor drawing order decides. */
#include "etl/waveform.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "pdf/pdf.h"

#define MM (72.0 / 25.4) /* points per millimetre */

/* Limits that bound the work and the output on hostile pages. */
#define MAX_TRACES 64           /* the longest ones are kept */
#define MAX_PULSES 256          /* candidate calibration pulses */
#define MAX_LABELS 1024         /* text runs that read as a lead name */
#define MAX_LEAD_SAMPLES 262144 /* a longer "trace" is no printed ECG */

/* Shapes, in paper units. */
#define TRACE_MIN_POINTS 10
#define TRACE_MIN_S 0.6       /* a pulse with its tails is ~0.28 s */
#define TRACE_MAX_STEP_S 0.1  /* mean vertex spacing of a trace */
#define TRACE_MIN_BEND_MM 0.3 /* off its chord somewhere: not a ruled line */
#define BACKSTEP_PT 0.1       /* x may go back this much (rounding) */
#define JOIN_PT 0.1           /* pieces meeting this close are chained */
#define GAP_S 0.04            /* vertices further apart: WAVE_Q_GAPS */
#define CLIP_RUN_S 0.03       /* flat at an extreme this long: clipped */
#define PULSE_TOL_PT 0.3      /* "vertical", "flat" for pulse edges */
#define PULSE_MIN_MM 2.0
#define PULSE_MAX_MM 40.0
#define PULSE_MIN_S 0.08
#define PULSE_MAX_S 0.5
#define ROW_TOL_MM 8.0      /* medians of one row's traces lie this close */
#define OVERLAP_PT 2.0      /* side-by-side traces may share an end point */
#define RHYTHM_SPAN 0.9     /* of the widest trace: a rhythm strip ... */
#define SHORT_SPAN 0.6      /* ... when some traces are at most this wide */
#define RASTER_AREA 0.2     /* images on this share of the page: a scan */
#define LABEL_LEFT_MM 30.0  /* a label's x: this far left of the start */
#define LABEL_RIGHT_MM 10.0 /* ... to this far right of it */
#define LABEL_ABOVE_MM 25.0 /* its baseline: this far above the trace's */
#define LABEL_BELOW_MM 3.0  /* ... to this far below */

static const char *const std_names[12] = {
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};

/* A candidate polyline in the work array. */
struct poly {
    size_t first, n; /* in the work points */
    uint32_t rgb;
    float width;
    bool mono;   /* monotonic in x */
    double xmax; /* its largest x */
};

struct pulse {
    double x0, x1, foot, height; /* rise x, fall x, 0 mV y, 1 mV in pt */
    bool used;
};

struct trace {
    size_t first, n; /* in the work points */
    double x0, x1;   /* first and last x (monotonic) */
    double median;   /* of the vertices' y */
    int row;
    int pulse; /* a pulse cut from its start, or -1 */
    int label; /* assigned label, or -1 */
    bool rhythm;
    unsigned quality;
};

struct label {
    double x, y;
    int lead; /* index in std_names */
    bool used;
};

struct row {
    size_t first, n; /* in the row-ordered trace index array */
    double ref;      /* median of its first trace */
    double left, right;
    int pulse; /* -1 when none */
};

struct work {
    const struct pdf_vectors *v;
    const struct wave_settings *s;
    double pt_per_s, page_w, page_h;
    struct pdf_vpoint *pts; /* polylines' points, copied */
    size_t npts;
    struct poly *polys;
    size_t npolys;
    struct trace *tr;
    size_t ntr;
    struct pulse *pu;
    size_t npu;
    struct label *lab;
    size_t nlab;
    struct row *rows;
    size_t nrows;
    size_t *order; /* traces in row order */
};

/* ------------------------------------------------------------- helpers */

/* Distance; hypot() would need GLIBC_2.35, newer than the Lambda runtime. */
static double dist(double dx, double dy)
{
    return sqrt(dx * dx + dy * dy);
}

static bool finite_pt(struct pdf_vpoint p)
{
    return isfinite(p.x) && isfinite(p.y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of n values (sorted in place). */
static double median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static bool on_page(const struct work *w, struct pdf_vpoint p)
{
    return finite_pt(p) && p.x >= -1 && p.y >= -1 && p.x <= w->page_w + 1 &&
           p.y <= w->page_h + 1;
}

/* x never goes back by more than BACKSTEP_PT. */
static bool monotonic(const struct pdf_vpoint *p, size_t n)
{
    double hi = p[0].x;
    for (size_t i = 1; i < n; i++) {
        if (p[i].x < hi - BACKSTEP_PT)
            return false;
        if (p[i].x > hi)
            hi = p[i].x;
    }
    return true;
}

/* ----------------------------------------------------- 1. polylines */

/* Copy the usable stroked subpaths into the work points, chaining a
 * piece onto the previous one when it starts where that ended in the same
 * pen and the join stays monotonic, unless both are long enough to be
 * traces on their own (adjacent columns of a 3x4 page touch end to
 * start). */
static int collect_polys(struct work *w)
{
    const struct pdf_vectors *v = w->v;
    w->pts = malloc((v->npoints ? v->npoints : 1) * sizeof(*w->pts));
    w->polys = malloc((v->npaths ? v->npaths : 1) * sizeof(*w->polys));
    if (!w->pts || !w->polys)
        return ETL_ENOMEM;
    double min_span = TRACE_MIN_S * w->pt_per_s;
    for (size_t i = 0; i < v->npaths; i++) {
        const struct pdf_vpath *p = &v->paths[i];
        if (p->filled || p->n < 2 || p->first > v->npoints ||
            p->n > v->npoints - p->first)
            continue;
        const struct pdf_vpoint *src = v->points + p->first;
        bool ok = true;
        double xmax = src[0].x;
        for (size_t k = 0; ok && k < p->n; k++) {
            ok = on_page(w, src[k]);
            xmax = fmax(xmax, src[k].x);
        }
        if (!ok)
            continue;
        bool mono = monotonic(src, p->n);
        struct poly *last = w->npolys ? &w->polys[w->npolys - 1] : NULL;
        if (last && last->mono && mono && last->rgb == p->rgb &&
            last->width == p->width) {
            const struct pdf_vpoint *end = &w->pts[last->first + last->n - 1];
            double dx = src[0].x - end->x, dy = src[0].y - end->y;
            double span_last = last->xmax - w->pts[last->first].x;
            double span_this = xmax - src[0].x;
            if (fabs(dx) <= JOIN_PT && fabs(dy) <= JOIN_PT &&
                src[0].x >= last->xmax - BACKSTEP_PT &&
                !(span_last >= min_span && span_this >= min_span)) {
                /* The shared point once. */
                memcpy(w->pts + w->npts, src + 1, (p->n - 1) * sizeof(*src));
                w->npts += p->n - 1;
                last->n += p->n - 1;
                last->xmax = fmax(last->xmax, xmax);
                continue;
            }
        }
        memcpy(w->pts + w->npts, src, p->n * sizeof(*src));
        w->polys[w->npolys++] =
            (struct poly){w->npts, p->n, p->rgb, p->width, mono, xmax};
        w->npts += p->n;
    }
    return 0;
}

/* ------------------------------------------------------------ 3. pulses */

/* A pulse at p[i..i+3]: up, right across, down by the same height. */
static bool pulse_at(const struct work *w, const struct pdf_vpoint *p,
                     struct pulse *out)
{
    double h = p[0].y - p[1].y;
    double across = p[2].x - p[1].x;
    double down = p[3].y - p[2].y;
    if (fabs((double)p[1].x - p[0].x) > PULSE_TOL_PT ||
        fabs((double)p[3].x - p[2].x) > PULSE_TOL_PT ||
        fabs((double)p[2].y - p[1].y) > PULSE_TOL_PT)
        return false;
    if (h < PULSE_MIN_MM * MM || h > PULSE_MAX_MM * MM ||
        fabs(down - h) > fmax(PULSE_TOL_PT, 0.02 * h))
        return false;
    if (across < PULSE_MIN_S * w->pt_per_s ||
        across > PULSE_MAX_S * w->pt_per_s)
        return false;
    *out = (struct pulse){.x0 = 0.5 * (p[0].x + p[1].x),
                          .x1 = 0.5 * (p[2].x + p[3].x),
                          .foot = 0.5 * (p[0].y + p[3].y),
                          .height = 0.5 * (h + down)};
    return true;
}

/* The first pulse among the first `within` vertices of p; returns the
 * index of its last vertex, or 0 when there is none. */
static size_t find_pulse(const struct work *w, const struct pdf_vpoint *p,
                         size_t n, size_t within, struct pulse *out)
{
    for (size_t i = 0; i + 3 < n && i < within; i++) {
        if (pulse_at(w, p + i, out))
            return i + 3;
    }
    return 0;
}

static void add_pulse(struct work *w, const struct pulse *p)
{
    if (w->npu < MAX_PULSES)
        w->pu[w->npu++] = *p;
}

/* ------------------------------------------------------------ 2. traces */

static bool bends(const struct pdf_vpoint *p, size_t n)
{
    double ax = p[0].x, ay = p[0].y;
    double dx = p[n - 1].x - ax, dy = p[n - 1].y - ay;
    double len = dist(dx, dy);
    if (!(len > 0))
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        double off = fabs((p[i].x - ax) * dy - (p[i].y - ay) * dx) / len;
        if (off > TRACE_MIN_BEND_MM * MM)
            return true;
    }
    return false;
}

static int cmp_span_desc(const void *a, const void *b)
{
    const struct trace *x = a, *y = b;
    double sx = x->x1 - x->x0, sy = y->x1 - y->x0;
    return sx > sy ? -1 : sx < sy;
}

static int find_traces(struct work *w)
{
    /* calloc: clang's analyzer cannot follow qsort's permutation and would
     * see the sorted traces as uninitialized. */
    w->tr = calloc(w->npolys ? w->npolys : 1, sizeof(*w->tr));
    w->pu = malloc(MAX_PULSES * sizeof(*w->pu));
    if (!w->tr || !w->pu)
        return ETL_ENOMEM;
    double min_span = TRACE_MIN_S * w->pt_per_s;
    double sample_pt = w->pt_per_s / w->s->sample_rate_hz;
    for (size_t i = 0; i < w->npolys; i++) {
        const struct poly *pl = &w->polys[i];
        const struct pdf_vpoint *p = w->pts + pl->first;
        size_t n = pl->n;
        struct pulse pu;
        if (n <= 64 && find_pulse(w, p, n, n, &pu)) {
            add_pulse(w, &pu);
            continue;
        }
        if (n < TRACE_MIN_POINTS || !monotonic(p, n))
            continue;
        /* A trace drawn with its pulse first: cut off the pulse and the
         * flat step after it (at most 0.1 s of paper); the trace starts
         * at the first point past them. */
        int pulse = -1;
        size_t cut = find_pulse(w, p, n, 32, &pu);
        if (cut) {
            double stop = pu.x1 + 0.1 * w->pt_per_s;
            while (cut + 1 < n && fabs(p[cut + 1].y - pu.foot) <= 0.01 &&
                   p[cut + 1].x <= stop)
                cut++;
            if (w->npu < MAX_PULSES)
                pulse = (int)w->npu;
            add_pulse(w, &pu);
            p += cut + 1;
            n -= cut + 1;
            if (n < TRACE_MIN_POINTS)
                continue;
        }
        double x0 = p[0].x, x1 = x0;
        for (size_t k = 1; k < n; k++)
            x1 = p[k].x > x1 ? p[k].x : x1;
        double span = x1 - x0;
        if (span < min_span ||
            span / (double)(n - 1) > TRACE_MAX_STEP_S * w->pt_per_s)
            continue;
        if (span / sample_pt >= MAX_LEAD_SAMPLES || !bends(p, n))
            continue;
        /* Flatten the tiny back-steps so x never decreases. */
        struct pdf_vpoint *q = w->pts + (p - w->pts);
        for (size_t k = 1; k < n; k++)
            q[k].x = q[k].x < q[k - 1].x ? q[k - 1].x : q[k].x;
        w->tr[w->ntr++] = (struct trace){.first = (size_t)(p - w->pts),
                                         .n = n,
                                         .x0 = x0,
                                         .x1 = x1,
                                         .pulse = pulse,
                                         .label = -1,
                                         .row = -1};
    }
    if (w->ntr > MAX_TRACES) {
        /* No ECG page has this many: keep the longest. */
        qsort(w->tr, w->ntr, sizeof(*w->tr), cmp_span_desc);
        w->ntr = MAX_TRACES;
    }
    for (size_t i = 0; i < w->ntr; i++) {
        struct trace *t = &w->tr[i];
        double *ys = malloc((t->n ? t->n : 1) * sizeof(*ys));
        if (!ys)
            return ETL_ENOMEM;
        for (size_t k = 0; k < t->n; k++)
            ys[k] = w->pts[t->first + k].y;
        t->median = median_of(ys, t->n);
        free(ys);
    }
    return 0;
}

/* -------------------------------------------------------------- 4. rows */

static bool overlaps(const struct trace *a, const struct trace *b)
{
    return a->x0 < b->x1 - OVERLAP_PT && b->x0 < a->x1 - OVERLAP_PT;
}

/* Sort trace indices by median y or by first x. A merge sort rather than
 * qsort: its comparator would need the traces through global state, and
 * wave_extract() is reentrant. */
static void sort_idx(size_t *idx, size_t *tmp, size_t n, const struct trace *t,
                     bool by_x0)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid || b < hi) {
                bool take_a;
                if (a >= mid)
                    take_a = false;
                else if (b >= hi)
                    take_a = true;
                else {
                    double ka = by_x0 ? t[idx[a]].x0 : t[idx[a]].median;
                    double kb = by_x0 ? t[idx[b]].x0 : t[idx[b]].median;
                    take_a = !(kb < ka);
                }
                tmp[k++] = take_a ? idx[a++] : idx[b++];
            }
        }
        memcpy(idx, tmp, n * sizeof(*idx));
    }
}

static int make_rows(struct work *w)
{
    size_t n = w->ntr;
    w->order = calloc(n ? n : 1, sizeof(*w->order));
    size_t *tmp = calloc(n ? n : 1, sizeof(*tmp));
    w->rows = calloc(n ? n : 1, sizeof(*w->rows));
    if (!w->order || !tmp || !w->rows) {
        free(tmp);
        return ETL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        w->order[i] = i;
    sort_idx(w->order, tmp, n, w->tr, false);
    /* Greedy: a trace joins the current row when it is level with the
     * row's first trace and overlaps none of its traces in x. Traces per
     * row are bounded by MAX_TRACES, so this stays small. */
    for (size_t i = 0; i < n; i++) {
        struct trace *t = &w->tr[w->order[i]];
        struct row *r = w->nrows ? &w->rows[w->nrows - 1] : NULL;
        bool joins = r && fabs(t->median - r->ref) <= ROW_TOL_MM * MM;
        for (size_t k = 0; joins && r && k < r->n; k++)
            joins = !overlaps(t, &w->tr[w->order[r->first + k]]);
        if (!joins) {
            w->rows[w->nrows++] = (struct row){.first = i,
                                               .ref = t->median,
                                               .left = t->x0,
                                               .right = t->x1,
                                               .pulse = -1};
            r = &w->rows[w->nrows - 1];
        }
        r->n++;
        r->left = fmin(r->left, t->x0);
        r->right = fmax(r->right, t->x1);
        t->row = (int)(r - w->rows);
    }
    for (size_t r = 0; r < w->nrows; r++)
        sort_idx(w->order + w->rows[r].first, tmp, w->rows[r].n, w->tr, true);
    free(tmp);
    return 0;
}

/* Each row takes the nearest unused pulse at its level, left of its first
 * trace or right of its last; a pulse cut off a trace's start belongs to
 * that trace's row. */
static void match_pulses(struct work *w)
{
    for (size_t r = 0; r < w->nrows; r++) {
        struct row *row = &w->rows[r];
        for (size_t k = 0; k < row->n && row->pulse < 0; k++) {
            const struct trace *t = &w->tr[w->order[row->first + k]];
            if (t->pulse >= 0 && !w->pu[t->pulse].used) {
                row->pulse = t->pulse;
                w->pu[t->pulse].used = true;
            }
        }
    }
    for (size_t r = 0; r < w->nrows; r++) {
        struct row *row = &w->rows[r];
        if (row->pulse >= 0)
            continue;
        double best = INFINITY;
        for (size_t i = 0; i < w->npu; i++) {
            const struct pulse *p = &w->pu[i];
            bool beside =
                p->x1 <= row->left + 2 * MM || p->x0 >= row->right - 2 * MM;
            double d = fabs(p->foot - row->ref);
            if (p->used || !beside || d > p->height || d >= best)
                continue;
            best = d;
            row->pulse = (int)i;
        }
        if (row->pulse >= 0)
            w->pu[row->pulse].used = true;
    }
}

/* ------------------------------------------------------------- 5. names */

/* The lead a label's text names, or -1: the standard names as written,
 * and common variants ("AVR", "avr", "v1"), with a trailing ':' or '.'. */
static int lead_of(const char *s, size_t len)
{
    while (len && (s[len - 1] == ':' || s[len - 1] == '.'))
        len--;
    if (len == 0 || len > 3)
        return -1;
    char t[4] = {0};
    memcpy(t, s, len);
    for (int i = 0; i < 12; i++) {
        if (strcmp(t, std_names[i]) == 0)
            return i;
    }
    /* Case variants of the augmented and chest leads only: a lowercase
     * "i" is a word, not lead I. */
    for (size_t i = 0; i < len; i++)
        t[i] = (char)(t[i] >= 'a' && t[i] <= 'z' ? t[i] - 32 : t[i]);
    for (int i = 3; i < 12; i++) {
        char u[4] = {0};
        for (size_t k = 0; std_names[i][k]; k++) {
            char c = std_names[i][k];
            u[k] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
        }
        if (strcmp(t, u) == 0)
            return i;
    }
    return -1;
}

static int collect_labels(struct work *w)
{
    const struct pdf_vectors *v = w->v;
    w->lab = malloc(MAX_LABELS * sizeof(*w->lab));
    if (!w->lab)
        return ETL_ENOMEM;
    for (size_t i = 0; i < v->ntexts && w->nlab < MAX_LABELS; i++) {
        const struct pdf_vtext *t = &v->texts[i];
        if (!v->text || t->off > v->text_len || t->len > v->text_len - t->off)
            continue;
        struct pdf_vpoint at = {t->x, t->y};
        if (!on_page(w, at))
            continue;
        int lead = lead_of(v->text + t->off, t->len);
        if (lead >= 0)
            w->lab[w->nlab++] = (struct label){t->x, t->y, lead, false};
    }
    return 0;
}

/* The trace's 0 mV level: its row's pulse foot, else its median. */
static double base_y(const struct work *w, const struct trace *t)
{
    const struct row *r = &w->rows[t->row];
    return r->pulse >= 0 ? w->pu[r->pulse].foot : t->median;
}

struct pair {
    double cost;
    size_t label, trace;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? -1 : 1;
    if (x->trace != y->trace)
        return x->trace < y->trace ? -1 : 1;
    return x->label < y->label ? -1 : x->label > y->label;
}

/* Labels left of / above a trace's start, nearest pairs first, each label
 * and trace used once. */
static int assign_labels(struct work *w)
{
    size_t np = 0, cap = w->nlab * w->ntr; /* <= 1024 * 64 */
    struct pair *pairs = malloc((cap ? cap : 1) * sizeof(*pairs));
    if (!pairs)
        return ETL_ENOMEM;
    for (size_t t = 0; t < w->ntr; t++) {
        const struct trace *tr = &w->tr[t];
        double bx = tr->x0, by = base_y(w, tr);
        for (size_t l = 0; l < w->nlab; l++) {
            const struct label *lb = &w->lab[l];
            if (lb->x < bx - LABEL_LEFT_MM * MM ||
                lb->x > bx + LABEL_RIGHT_MM * MM ||
                lb->y < by - LABEL_ABOVE_MM * MM ||
                lb->y > by + LABEL_BELOW_MM * MM)
                continue;
            pairs[np++] = (struct pair){dist(lb->x - bx, lb->y - by), l, t};
        }
    }
    qsort(pairs, np, sizeof(*pairs), cmp_pair);
    for (size_t i = 0; i < np; i++) {
        struct trace *tr = &w->tr[pairs[i].trace];
        struct label *lb = &w->lab[pairs[i].label];
        if (tr->label >= 0 || lb->used)
            continue;
        tr->label = (int)pairs[i].label;
        lb->used = true;
    }
    free(pairs);
    return 0;
}

/* The widest trace spans the recording: one at least RHYTHM_SPAN of it is
 * a rhythm strip when the page also has short segments. */
static void mark_rhythm(struct work *w)
{
    double widest = 0;
    bool has_short = false;
    for (size_t i = 0; i < w->ntr; i++)
        widest = fmax(widest, w->tr[i].x1 - w->tr[i].x0);
    for (size_t i = 0; i < w->ntr; i++)
        has_short |= w->tr[i].x1 - w->tr[i].x0 <= SHORT_SPAN * widest;
    for (size_t i = 0; i < w->ntr; i++)
        w->tr[i].rhythm =
            has_short && w->tr[i].x1 - w->tr[i].x0 >= RHYTHM_SPAN * widest;
}

/* Names by position in a known layout (3x4 + rhythm, 6x2, 12x1) for the
 * traces without a label: -1 when the layout is not recognised. */
static int layout_lead(const struct trace *t, size_t row_index, size_t nrows,
                       size_t ncols, double col_span, double origin,
                       int rhythm_no)
{
    static const int rows3x4[3][4] = {
        {0, 3, 6, 9}, {1, 4, 7, 10}, {2, 5, 8, 11}};
    static const int rhythm3x4[3] = {1, 6, 10}; /* II, V1, V5 */
    if (t->rhythm)
        return nrows == 3 && ncols == 4 && rhythm_no < 3 ? rhythm3x4[rhythm_no]
                                                         : -1;
    long col = col_span > 0 ? lround((t->x0 - origin) / col_span) : 0;
    if (col < 0 || (size_t)col >= ncols || row_index >= nrows)
        return -1;
    if (nrows == 3 && ncols == 4)
        return rows3x4[row_index][col];
    if (nrows == 6 && ncols == 2)
        return (int)(col ? 6 + row_index : row_index);
    if (nrows == 12 && ncols == 1)
        return (int)row_index;
    return -1;
}

/* ------------------------------------------------------------ 6. samples */

/* y (page space) of the polyline at x, walking forward from *j (x never
 * decreases between calls; the trace's x were made non-decreasing). */
static double y_at(const struct pdf_vpoint *p, size_t n, double x, size_t *j)
{
    while (*j + 1 < n && p[*j + 1].x < x)
        (*j)++;
    if (*j + 1 >= n)
        return p[n - 1].y;
    double xa = p[*j].x, xb = p[*j + 1].x;
    if (!(xb > xa))
        return p[*j].y;
    double f = (x - xa) / (xb - xa);
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    return p[*j].y + f * (p[*j + 1].y - p[*j].y);
}

static unsigned shape_flags(const struct work *w, const struct pdf_vpoint *p,
                            size_t n)
{
    unsigned q = 0;
    double lo = p[0].y;
    double hi = lo;
    for (size_t i = 1; i < n; i++) {
        if (p[i].x - p[i - 1].x > GAP_S * w->pt_per_s)
            q |= WAVE_Q_GAPS;
        lo = fmin(lo, p[i].y);
        hi = fmax(hi, p[i].y);
    }
    if (hi - lo < 1.0 * MM)
        return q;
    /* A run of vertices at either extreme lasting CLIP_RUN_S. */
    for (int side = 0; side < 2; side++) {
        double ext = side ? hi : lo;
        size_t start = 0;
        bool in = false;
        for (size_t i = 0; i < n; i++) {
            bool at = fabs(p[i].y - ext) <= 0.05;
            if (at && !in)
                start = i;
            in = at;
            if (in && p[i].x - p[start].x >= CLIP_RUN_S * w->pt_per_s)
                q |= WAVE_Q_CLIPPED;
        }
    }
    return q;
}

static int make_lead(const struct work *w, const struct trace *t, double origin,
                     struct wave_lead *out)
{
    const struct row *r = &w->rows[t->row];
    const struct pdf_vpoint *p = w->pts + t->first;
    double step = w->pt_per_s / w->s->sample_rate_hz;
    size_t n = (size_t)floor((t->x1 - t->x0) / step + 1e-9) + 1;
    float *s = malloc(n * sizeof(*s));
    double *ys = malloc(n * sizeof(*ys));
    if (!s || !ys) {
        free(s);
        free(ys);
        return ETL_ENOMEM;
    }
    size_t j = 0;
    for (size_t k = 0; k < n; k++)
        ys[k] = y_at(p, t->n, t->x0 + (double)k * step, &j);

    double base, pt_per_mv;
    out->quality = shape_flags(w, p, t->n);
    if (r->pulse >= 0) {
        base = w->pu[r->pulse].foot;
        pt_per_mv = w->pu[r->pulse].height;
        out->calibration = WAVE_CAL_PULSE;
    } else {
        pt_per_mv = w->s->gain_mm_mv * MM;
        out->calibration = WAVE_CAL_SETTINGS;
        out->quality |= WAVE_Q_BASELINE_ESTIMATED;
        /* The median of the samples (even in time), not of the vertices,
         * which a writer may thin out on flat stretches. */
        double *tmp = malloc(n * sizeof(*tmp));
        if (!tmp) {
            free(s);
            free(ys);
            return ETL_ENOMEM;
        }
        memcpy(tmp, ys, n * sizeof(*tmp));
        base = median_of(tmp, n);
        free(tmp);
    }
    for (size_t k = 0; k < n; k++)
        s[k] = (float)((base - ys[k]) / pt_per_mv);
    free(ys);
    out->samples = s;
    out->n = n;
    out->mm_per_mv = pt_per_mv / MM;
    out->sample_rate_hz = w->s->sample_rate_hz;
    out->rhythm = t->rhythm;
    out->start_s = (t->x0 - origin) / w->pt_per_s;
    return 0;
}

static int make_leads(struct work *w, struct wave_result *out)
{
    if (w->ntr == 0)
        return 0;
    out->leads = calloc(w->ntr, sizeof(*out->leads));
    if (!out->leads)
        return ETL_ENOMEM;

    /* The recording starts at the leftmost trace: rows start together on
     * every common layout. A row whose pulse lies right of that start is
     * indented and starts at its own first trace. */
    double page_left = INFINITY, col_span = 0;
    for (size_t i = 0; i < w->ntr; i++)
        page_left = fmin(page_left, w->tr[i].x0);

    /* The layout, for naming unlabelled traces: rows of short traces and
     * how many side by side; the column pitch is their median width. */
    size_t nrows = 0, ncols = 0, nshort = 0;
    double *spans = malloc(w->ntr * sizeof(*spans));
    if (!spans)
        return ETL_ENOMEM;
    for (size_t r = 0; r < w->nrows; r++) {
        size_t cols = 0;
        for (size_t k = 0; k < w->rows[r].n; k++) {
            const struct trace *t = &w->tr[w->order[w->rows[r].first + k]];
            if (!t->rhythm) {
                cols++;
                spans[nshort++] = t->x1 - t->x0;
            }
        }
        nrows += cols > 0;
        ncols = cols > ncols ? cols : ncols;
    }
    col_span = median_of(spans, nshort);
    free(spans);

    size_t row_index = 0;
    int rhythm_no = 0;
    for (size_t r = 0; r < w->nrows; r++) {
        const struct row *row = &w->rows[r];
        double origin = page_left;
        if (row->pulse >= 0 && w->pu[row->pulse].x0 > page_left)
            origin = row->left;
        bool any_short = false;
        for (size_t k = 0; k < row->n; k++) {
            const struct trace *t = &w->tr[w->order[row->first + k]];
            struct wave_lead *l = &out->leads[out->n];
            int rc = make_lead(w, t, origin, l);
            if (rc)
                return rc;
            out->n++;
            int lead = t->label >= 0 ? w->lab[t->label].lead : -1;
            if (lead < 0) {
                lead = layout_lead(t, row_index, nrows, ncols, col_span, origin,
                                   rhythm_no);
                l->quality |=
                    lead >= 0 ? WAVE_Q_LABEL_FROM_LAYOUT : WAVE_Q_UNNAMED;
            }
            snprintf(l->name, sizeof(l->name), "%s",
                     lead >= 0 ? std_names[lead] : "?");
            rhythm_no += t->rhythm;
            any_short |= !t->rhythm;
        }
        row_index += any_short;
    }
    return 0;
}

/* ------------------------------------------------------------------- API */

static bool settings_ok(const struct wave_settings *s)
{
    return s && isfinite(s->paper_speed_mm_s) && s->paper_speed_mm_s > 0 &&
           s->paper_speed_mm_s <= 1000 && isfinite(s->gain_mm_mv) &&
           s->gain_mm_mv > 0 && s->gain_mm_mv <= 1000 &&
           s->sample_rate_hz >= 1 && s->sample_rate_hz <= 100000;
}

static void work_free(struct work *w)
{
    free(w->pts);
    free(w->polys);
    free(w->tr);
    free(w->pu);
    free(w->lab);
    free(w->rows);
    free(w->order);
}

int wave_extract(const struct pdf_vectors *v, const struct wave_settings *s,
                 struct wave_result *out)
{
    if (!out)
        return ETL_EINVAL;
    wave_result_release(out);
    if (!v || !settings_ok(s))
        return ETL_EINVAL;
    struct work w = {.v = v, .s = s};
    w.pt_per_s = s->paper_speed_mm_s * MM;
    /* A page of no size (or none given) holds no trace: every point is
     * off it. */
    w.page_w = isfinite(v->page_w) && v->page_w > 0 ? v->page_w : -2;
    w.page_h = isfinite(v->page_h) && v->page_h > 0 ? v->page_h : -2;

    int rc = collect_polys(&w);
    if (!rc)
        rc = find_traces(&w);
    if (!rc)
        rc = make_rows(&w);
    if (!rc) {
        match_pulses(&w);
        mark_rhythm(&w);
        rc = collect_labels(&w);
    }
    if (!rc)
        rc = assign_labels(&w);
    if (!rc)
        rc = make_leads(&w, out);
    work_free(&w);
    if (rc) {
        wave_result_release(out);
        return rc;
    }
    double page_area = w.page_w > 0 && w.page_h > 0 ? w.page_w * w.page_h : 0;
    if (out->n > 0)
        out->status = WAVE_EXTRACTED;
    else if (page_area > 0 && v->nimages > 0 &&
             v->image_area >= RASTER_AREA * page_area)
        out->status = WAVE_RASTER_ONLY;
    else
        out->status = WAVE_NO_TRACES;
    return 0;
}

void wave_result_release(struct wave_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->leads[i].samples);
    free(r->leads);
    r->leads = NULL;
    r->n = 0;
    r->status = WAVE_NO_TRACES;
}

const char *wave_status_name(enum wave_status s)
{
    switch (s) {
    case WAVE_EXTRACTED:
        return "extracted";
    case WAVE_RASTER_ONLY:
        return "raster_only";
    case WAVE_NO_TRACES:
        return "no_traces";
    default:
        return "?";
    }
}

const char *wave_calibration_name(enum wave_calibration c)
{
    switch (c) {
    case WAVE_CAL_PULSE:
        return "pulse";
    case WAVE_CAL_SETTINGS:
        return "settings";
    default:
        return "?";
    }
}

size_t wave_quality_names(unsigned quality, const char **out, size_t max)
{
    static const char *const names[WAVE_Q_COUNT] = {
        "label_from_layout", "baseline_estimated", "clipped", "gaps",
        "unnamed"};
    size_t n = 0;
    for (unsigned b = 0; b < WAVE_Q_COUNT && n < max; b++) {
        if (quality & (1u << b))
            out[n++] = names[b];
    }
    return n;
}
