/* One page's vectors to lead segments (see waveform.h for what is read,
 * wave_int.h for the result).
 *
 * Steps, each at most O(n log n) in the points and texts collected:
 *  0. orientation: a page whose long polylines run down or up rather than
 *     across is read in a frame turned back (text direction decides which
 *     way);
 *  1. scale: the grid's 1 mm / 5 mm spacing (straight lines, rectangles or
 *     dots at a regular pitch) gives points per paper millimetre; the
 *     printed legend gives paper speed and gain;
 *  2. polylines: stroked subpaths with finite points on the page, pieces
 *     drawn end to start in the same pen chained;
 *  3. traces: polylines monotonic in x (tiny back-steps allowed), far
 *     longer than a calibration pulse, dense in x, not straight;
 *  4. calibration pulses: up, across ~200 ms, down, as a short path (also
 *     sampled, with sloped edges), as separate strokes, or at the start of
 *     a trace (cut off it);
 *  5. rows: traces by height, side by side without overlapping in x; each
 *     takes the nearest unused pulse at its level beside it;
 *  6. labels: lead names as text (spaced glyphs joined: "a V R"); the
 *     page's labels sit the same way relative to their strips, so the most
 *     common offset from a trace start is learnt, and a label at that
 *     offset from a point inside a long trace splits it there (one
 *     polyline through a row of four leads);
 *  7. names: labels by that offset, else the layout's order; rows of an
 *     unlabelled page whose beats do not line up are one lead wrapped;
 *  8. time: from the leftmost trace start; a grid layout's columns start
 *     at the layout's times (c x duration / columns) when their x says so
 *     to within a tenth of a column;
 *  9. values: mV from the row's pulse, else the legend's or the settings'
 *     gain (0 mV at the trace's median).
 * Distances are in paper millimetres as the grid measures them (1:1
 * without one); neither colour nor drawing order decides, except that a
 * trace's pieces must share a pen to be chained. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "ecg/wave_int.h"
#include "pdf/pdf.h"

#define MM WAVE_MM

/* Limits that bound the work and the output on hostile pages. */
#define MAX_TRACES 64 /* the longest ones are kept */
#define MAX_SPLITS 3  /* per trace: four leads in a row at most */
#define MAX_PIECES (MAX_TRACES * (MAX_SPLITS + 1))
#define MAX_PULSES 256  /* candidate calibration pulses */
#define MAX_LABELS 1024 /* text tokens that read as a lead name */
#define MAX_SOUP 8192   /* straight strokes tried as pulse edges */

/* Shapes, in paper millimetres (mm) or seconds of paper (s). */
#define TRACE_MIN_POINTS 10
#define TRACE_MIN_MM 14.0     /* a pulse with its tails is ~7 mm */
#define TRACE_MAX_STEP_MM 2.5 /* mean vertex spacing of a trace */
#define TRACE_MIN_BEND_MM 0.3 /* off its chord somewhere: not a ruled line */
#define BACKSTEP_PT 0.1       /* x may go back this much (rounding) */
#define JOIN_PT 0.1           /* pieces meeting this close are chained */
#define GAP_S 0.04            /* vertices further apart: WAVE_Q_GAPS */
#define CLIP_RUN_S 0.03       /* flat at an extreme this long: clipped */
#define PULSE_TOL_PT 0.3      /* "vertical", "flat" for pulse edges */
#define PULSE_MIN_MM 2.0
#define PULSE_MAX_MM 40.0
#define PULSE_MIN_S 0.06
#define PULSE_MAX_S 0.5
#define PULSE_MAX_POINTS 400 /* a drawn (sampled) pulse, feet included */
#define PULSE_NEAR_MM 40.0   /* a row's pulse lies this close to it */
#define ROW_TOL_MM 8.0       /* medians of one row's traces lie this close */
#define OVERLAP_PT 2.0       /* side-by-side traces may share an end point */
#define RHYTHM_SPAN 0.9      /* of the widest trace: a rhythm strip ... */
#define SHORT_SPAN 0.6       /* ... when some traces are at most this wide */
#define RASTER_AREA 0.2      /* images on this share of the page: a scan */
#define LABEL_LEFT_MM 40.0   /* a label this far left of a trace start */
#define LABEL_VERT_MM 25.0   /* ... and this far above or below it */
#define LABEL_BAND_MM 4.0    /* offsets this close count as one */
#define LABEL_TOL_MM 4.0     /* a label this close to the learnt offset */
#define SPLIT_MARGIN_S 0.3   /* a split point this far inside a trace */
#define GRID_MIN_LINES 8     /* positions needed to read a pitch */
#define COLUMN_TOL_MM 3.0    /* starts of one column lie this close */
#define SNAP_COLUMN 0.1      /* of a column: x may differ from the layout */
#define BEAT_WINDOW_S 0.04   /* beats of simultaneous leads this close */

const char *const wave_std_names[12] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                        "V1", "V2", "V3",  "V4",  "V5",  "V6"};

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
    size_t first, n; /* in the work points (x made non-decreasing) */
    double x0, x1;   /* first and last x */
    double median;   /* of the vertices' y */
    int row;
    int pulse; /* a pulse cut from its start, or -1 */
};

struct label {
    double x, y, x1; /* baseline start and end */
    double size;
    int lead;
    int trace; /* the trace it names, or -1 */
};

struct row {
    size_t first, n; /* in the row-ordered trace index array */
    double ref;      /* pulse foot, else first trace's median */
    double base;     /* the 0 mV level (row_levels()) */
    double left, right;
    int pulse; /* -1 when none */
};

/* A lead segment to be: a piece [xs, xe] of a trace. */
struct piece {
    int trace;
    double xs, xe;
    bool split_start, split_end; /* cut out of a longer trace there */
    int label;                   /* -1 when none */
    int lead;                    /* -1 when unnamed */
    bool rhythm;
    int col;   /* column in the page's layout, -1 for rhythm strips */
    double t0; /* page time of xs */
    unsigned quality;
};

struct work {
    const struct pdf_vectors *v;
    const struct wave_settings *s;
    int rot;               /* 0, 1: time runs down the page, 3: up it */
    double src_w, src_h;   /* the page as collected */
    double page_w, page_h; /* in the working frame */

    double mm_x, mm_y; /* points per paper millimetre */
    bool grid;
    double *major_y; /* the grid's 5 mm lines, sorted; NULL if unknown */
    size_t nmajor;
    double speed_mm_s, gain_mm_mv;
    bool legend_speed, legend_gain;
    double pt_per_s;

    struct pdf_vpoint *pts; /* polylines' points, turned into the frame */
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
    struct piece *pc;
    size_t npc;
    bool single; /* the page is one lead, its rows one after the other */
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

/* A point of the collected page in the working frame. */
static struct pdf_vpoint turn(const struct work *w, struct pdf_vpoint p)
{
    switch (w->rot) {
    case 1: /* time down the page, up the page's +x */
        return (struct pdf_vpoint){p.y, (float)(w->src_w - p.x)};
    case 3: /* time up the page, up the page's -x */
        return (struct pdf_vpoint){(float)(w->src_h - p.y), p.x};
    default:
        return p;
    }
}

/* The working frame's box back in the page as collected. */
static struct wave_box unturn_box(const struct work *w, struct wave_box b)
{
    switch (w->rot) {
    case 1:
        return (struct wave_box){w->src_w - b.y1, b.x0, w->src_w - b.y0, b.x1};
    case 3:
        return (struct wave_box){b.y0, w->src_h - b.x1, b.y1, w->src_h - b.x0};
    default:
        return b;
    }
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

/* A text run's bytes, or NULL when its offsets are out of range. */
static const char *run_text(const struct pdf_vectors *v,
                            const struct pdf_vtext *t)
{
    if (!v->text || t->off > v->text_len || t->len > v->text_len - t->off)
        return NULL;
    return v->text + t->off;
}

/* ---------------------------------------------------- 0. orientation */

/* Span of the subpath along x and along y when it is monotonic in it. */
static void mono_spans(const struct pdf_vpoint *p, size_t n, double *sx,
                       double *sy)
{
    *sx = *sy = 0;
    if (n < TRACE_MIN_POINTS)
        return;
    bool incx = true, decx = true, incy = true, decy = true;
    for (size_t i = 1; i < n; i++) {
        incx &= p[i].x >= p[i - 1].x - BACKSTEP_PT;
        decx &= p[i].x <= p[i - 1].x + BACKSTEP_PT;
        incy &= p[i].y >= p[i - 1].y - BACKSTEP_PT;
        decy &= p[i].y <= p[i - 1].y + BACKSTEP_PT;
    }
    if (incx || decx)
        *sx = fabs((double)p[n - 1].x - p[0].x);
    if (incy || decy)
        *sy = fabs((double)p[n - 1].y - p[0].y);
}

/* Content turned 90 degrees: its traces run along y. Which way is up
 * comes from the text (a page turned clockwise writes downwards), else
 * counter-clockwise, the usual way landscape is put on portrait paper. */
static int find_rotation(const struct pdf_vectors *v)
{
    double along_x = 0, along_y = 0;
    for (size_t i = 0; i < v->npaths; i++) {
        const struct pdf_vpath *p = &v->paths[i];
        if (p->filled || p->first > v->npoints || p->n > v->npoints - p->first)
            continue;
        double sx, sy;
        mono_spans(v->points + p->first, p->n, &sx, &sy);
        /* A straight line is monotonic both ways: it says nothing. */
        if (sx > 0 && sy > 0)
            continue;
        along_x += sx;
        along_y += sy;
    }
    if (!(along_y > 3 * along_x && along_y > 100 * MM))
        return 0;
    size_t down = 0, up = 0;
    for (size_t i = 0; i < v->ntexts; i++) {
        down += v->texts[i].dir == PDF_VDIR_DOWN;
        up += v->texts[i].dir == PDF_VDIR_UP;
    }
    return down > up ? 1 : 3;
}

/* ------------------------------------------------------------ 1. scale */

/* The pitch of a set of line positions (sorted in place), or 0: the
 * median spacing of distinct positions, when most spacings are it, refined
 * over the whole span. */
static double pitch_of(double *pos, size_t n)
{
    if (n < GRID_MIN_LINES)
        return 0;
    qsort(pos, n, sizeof(*pos), cmp_double);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m == 0 || pos[i] - pos[m - 1] > 0.08)
            pos[m++] = pos[i];
    }
    if (m < GRID_MIN_LINES)
        return 0;
    double *d = malloc((m - 1) * sizeof(*d));
    if (!d)
        return 0;
    for (size_t i = 0; i + 1 < m; i++)
        d[i] = pos[i + 1] - pos[i];
    double p = median_of(d, m - 1);
    size_t agree = 0;
    for (size_t i = 0; i + 1 < m; i++)
        agree += fabs(d[i] - p) <= 0.04 * p;
    free(d);
    if (!(p > 0) || agree * 2 < m - 1)
        return 0;
    /* Refine on the positions that fall on the lattice. */
    double k_last = 0, x_last = pos[0];
    for (size_t i = 1; i < m; i++) {
        double k = round((pos[i] - pos[0]) / p);
        if (fabs(pos[i] - pos[0] - k * p) <= 0.1 * p && k > k_last) {
            k_last = k;
            x_last = pos[i];
        }
    }
    return k_last > 0 ? (x_last - pos[0]) / k_last : p;
}

/* Points per millimetre from a grid pitch: a 1 mm or a 5 mm lattice at a
 * scale of 0.7 to 1.45 (pages scaled to fit), else 0. */
static double mm_of_pitch(double p)
{
    if (p >= 0.7 * MM && p <= 1.45 * MM)
        return p;
    if (p >= 3.5 * MM && p <= 7.25 * MM)
        return p / 5;
    return 0;
}

static int push_pos(double **a, size_t *n, size_t *cap, double x)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        double *q = realloc(*a, c * sizeof(*q));
        if (!q)
            return ETL_ENOMEM;
        *a = q;
        *cap = c;
    }
    (*a)[(*n)++] = x;
    return 0;
}

/* A horizontal grid line and its pen. */
struct hline {
    double y;
    uint32_t rgb;
    float width;
};

static int cmp_hline(const void *a, const void *b)
{
    const struct hline *x = a, *y = b;
    if (x->rgb != y->rgb)
        return x->rgb < y->rgb ? -1 : 1;
    if (x->width != y->width)
        return x->width < y->width ? -1 : 1;
    return x->y < y->y ? -1 : x->y > y->y;
}

/* The major (5 mm) horizontal lines, when one pen draws them at that
 * pitch: the one with most lines. Keeps their positions in w->major_y
 * (sorted), for the 0 mV levels of rows without a pulse. */
static int find_major_lines(struct work *w, struct hline *h, size_t n)
{
    if (n == 0)
        return 0;
    qsort(h, n, sizeof(*h), cmp_hline);
    double *ys = malloc((n ? n : 1) * sizeof(*ys));
    if (!ys)
        return ETL_ENOMEM;
    size_t best = 0, best_at = 0;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i; j < n && h[j].rgb == h[i].rgb && h[j].width == h[i].width;
             j++)
            ys[j - i] = h[j].y;
        double p = pitch_of(ys, j - i);
        if (p > 0 && fabs(p - 5 * w->mm_y) <= 0.03 * 5 * w->mm_y &&
            j - i > best) {
            best = j - i;
            best_at = i;
        }
    }
    free(ys);
    if (!best)
        return 0;
    w->major_y = malloc(best * sizeof(*w->major_y));
    if (!w->major_y)
        return ETL_ENOMEM;
    for (size_t i = 0; i < best; i++)
        w->major_y[i] = h[best_at + i].y;
    w->nmajor = best;
    return 0;
}

static int push_hline(struct hline **a, size_t *n, size_t *cap, struct hline h)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        struct hline *q = realloc(*a, c * sizeof(*q));
        if (!q)
            return ETL_ENOMEM;
        *a = q;
        *cap = c;
    }
    (*a)[(*n)++] = h;
    return 0;
}

/* The grid: vertical and horizontal strokes at least 5 mm long (each line
 * of a ruled grid), small rectangles (a grid drawn cell by cell) and dots
 * (a dotted grid) give positions; a regular pitch in them is the grid. */
static int find_grid(struct work *w)
{
    const struct pdf_vectors *v = w->v;
    double *xs = NULL, *ys = NULL;
    struct hline *hl = NULL;
    size_t nx = 0, ny = 0, cx = 0, cy = 0, nh = 0, ch = 0;
    int rc = 0;
    for (size_t i = 0; !rc && i < v->npaths; i++) {
        const struct pdf_vpath *p = &v->paths[i];
        if (p->first > v->npoints || p->n > v->npoints - p->first || p->n < 1 ||
            p->n > 5)
            continue;
        const struct pdf_vpoint *q = v->points + p->first;
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        bool ok = true;
        for (size_t k = 0; ok && k < p->n; k++) {
            struct pdf_vpoint t = turn(w, q[k]);
            ok = finite_pt(t);
            x0 = fmin(x0, t.x);
            x1 = fmax(x1, t.x);
            y0 = fmin(y0, t.y);
            y1 = fmax(y1, t.y);
        }
        if (!ok)
            continue;
        double bw = x1 - x0, bh = y1 - y0;
        if (p->filled && bw <= 0.6 * MM && bh <= 0.6 * MM && p->n >= 3) {
            rc = push_pos(&xs, &nx, &cx, 0.5 * (x0 + x1));
            if (!rc)
                rc = push_pos(&ys, &ny, &cy, 0.5 * (y0 + y1));
        } else if (p->n == 2 && bw <= 0.05 && bh >= 5 * MM) {
            rc = push_pos(&xs, &nx, &cx, x0);
        } else if (p->n == 2 && bh <= 0.05 && bw >= 5 * MM) {
            rc = push_pos(&ys, &ny, &cy, y0);
            if (!rc && !p->filled)
                rc = push_hline(&hl, &nh, &ch,
                                (struct hline){y0, p->rgb, p->width});
        } else if (p->n >= 4 && p->closed && bw >= 0.7 * MM && bw <= 8 * MM &&
                   bh >= 0.7 * MM && bh <= 8 * MM) {
            rc = push_pos(&xs, &nx, &cx, x0);
            if (!rc)
                rc = push_pos(&xs, &nx, &cx, x1);
            if (!rc)
                rc = push_pos(&ys, &ny, &cy, y0);
            if (!rc)
                rc = push_pos(&ys, &ny, &cy, y1);
        }
    }
    double mx = rc ? 0 : mm_of_pitch(pitch_of(xs, nx));
    double my = rc ? 0 : mm_of_pitch(pitch_of(ys, ny));
    free(xs);
    free(ys);
    /* A grid is square: one direction read stands for both, and two that
     * disagree by more than 3% are no grid. */
    if (mx > 0 && my > 0 && fabs(mx - my) > 0.03 * mx)
        mx = my = 0;
    if (mx == 0)
        mx = my;
    if (my == 0)
        my = mx;
    w->grid = mx > 0;
    w->mm_x = w->grid ? mx : MM;
    w->mm_y = w->grid ? my : MM;
    if (!rc && w->grid)
        rc = find_major_lines(w, hl, nh);
    free(hl);
    return rc;
}

/* Text in lines: runs upright in the working frame, sorted by baseline,
 * then along it. */
static int cmp_run(const void *a, const void *b, void *arg)
{
    const struct work *w = arg;
    const struct pdf_vtext *x = &w->v->texts[*(const size_t *)a];
    const struct pdf_vtext *y = &w->v->texts[*(const size_t *)b];
    struct pdf_vpoint px = turn(w, (struct pdf_vpoint){x->x, x->y});
    struct pdf_vpoint py = turn(w, (struct pdf_vpoint){y->x, y->y});
    if (px.y != py.y)
        return px.y < py.y ? -1 : 1;
    return px.x < py.x ? -1 : px.x > py.x;
}

/* A run in the working frame. */
struct wrun {
    double x, y, x1, size;
    const char *s;
    size_t len;
};

static bool get_run(const struct work *w, size_t i, struct wrun *out)
{
    const struct pdf_vtext *t = &w->v->texts[i];
    const char *s = run_text(w->v, t);
    /* Upright in the working frame only. */
    int dir = ((int)t->dir - w->rot + 4) % 4;
    if (!s || dir != PDF_VDIR_RIGHT || !(t->size > 0))
        return false;
    struct pdf_vpoint a = turn(w, (struct pdf_vpoint){t->x, t->y});
    struct pdf_vpoint b = turn(w, (struct pdf_vpoint){t->x1, t->y1});
    if (!on_page(w, a))
        return false;
    *out = (struct wrun){a.x, a.y, b.x, t->size, s, t->len};
    return true;
}

/* Runs in reading order; lines[i] is the line number of order[i]. */
static int text_lines(struct work *w, size_t **order_out, size_t **line_out,
                      size_t *n_out)
{
    const struct pdf_vectors *v = w->v;
    size_t n = 0;
    size_t *order = malloc((v->ntexts ? v->ntexts : 1) * sizeof(*order));
    size_t *line = malloc((v->ntexts ? v->ntexts : 1) * sizeof(*line));
    if (!order || !line) {
        free(order);
        free(line);
        return ETL_ENOMEM;
    }
    struct wrun r;
    for (size_t i = 0; i < v->ntexts; i++) {
        if (get_run(w, i, &r))
            order[n++] = i;
    }
    qsort_r(order, n, sizeof(*order), cmp_run, w);
    /* Lines: a run joins the line when its baseline is level with the
     * line's first run; then each line is sorted by x. */
    size_t nl = 0;
    double y0 = 0, size0 = 0;
    for (size_t i = 0; i < n; i++) {
        get_run(w, order[i], &r);
        if (i == 0 || fabs(r.y - y0) > 0.25 * fmax(size0, r.size)) {
            if (i)
                nl++;
            y0 = r.y;
            size0 = r.size;
        }
        line[i] = nl;
    }
    /* Runs of one line may have baselines a hair apart, which sorted them
     * out of x order: sort each line by x (insertion: lines are short). */
    for (size_t i = 1; i < n; i++) {
        size_t k = i;
        struct wrun a, b;
        while (k > 0 && line[k - 1] == line[k]) {
            get_run(w, order[k - 1], &a);
            get_run(w, order[k], &b);
            if (!(b.x < a.x))
                break;
            size_t t = order[k - 1];
            order[k - 1] = order[k];
            order[k] = t;
            k--;
        }
    }
    *order_out = order;
    *line_out = line;
    *n_out = n;
    return 0;
}

/* Lowercase ASCII, and the Cyrillic letters legends use folded to the
 * Latin ones they look like ("мм/сек" reads "mm/sek", "мВ" "mv"). Writes
 * at most cap - 1 bytes and a NUL. */
static void fold(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0xd0 || c == 0xd1) {
            if (i + 1 >= len)
                break;
            unsigned char d = (unsigned char)s[i + 1];
            unsigned cp = ((c & 0x1fu) << 6) | (d & 0x3fu);
            static const struct {
                unsigned cp;
                char to;
            } map[] = {{0x43c, 'm'}, {0x41c, 'm'}, {0x441, 's'}, {0x421, 's'},
                       {0x432, 'v'}, {0x412, 'v'}, {0x435, 'e'}, {0x415, 'e'},
                       {0x43a, 'k'}, {0x41a, 'k'}};
            char to = '?';
            for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
                if (map[k].cp == cp)
                    to = map[k].to;
            }
            out[o++] = to;
            i++;
            continue;
        }
        out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[o] = '\0';
}

/* Values printed as "<number> mm/s" and "<number> mm/mV" in a folded line;
 * every one read is counted in its tally. */
struct tally {
    double value[8];
    int count[8];
    int n;
};

static void tally_add(struct tally *t, double v)
{
    for (int i = 0; i < t->n; i++) {
        if (fabs(t->value[i] - v) < 1e-6) {
            t->count[i]++;
            return;
        }
    }
    if (t->n < 8) {
        t->value[t->n] = v;
        t->count[t->n++] = 1;
    }
}

/* The value printed most often; 0 when none, or when two tie. */
static double tally_best(const struct tally *t)
{
    int best = -1, top = 0;
    bool tie = false;
    for (int i = 0; i < t->n; i++) {
        if (t->count[i] > top) {
            top = t->count[i];
            best = i;
            tie = false;
        } else if (t->count[i] == top) {
            tie = true;
        }
    }
    return best < 0 || tie ? 0 : t->value[best];
}

static void scan_legend(const char *s, struct tally *speed, struct tally *gain)
{
    for (const char *p = s; *p; p++) {
        if (!(*p >= '0' && *p <= '9') ||
            (p > s &&
             ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.' || p[-1] == ',')))
            continue;
        char *end = NULL;
        char num[16];
        size_t k = 0;
        const char *q = p;
        while (k + 1 < sizeof(num) &&
               ((*q >= '0' && *q <= '9') || *q == '.' || *q == ',')) {
            num[k++] = *q == ',' ? '.' : *q;
            q++;
        }
        num[k] = '\0';
        double v = strtod(num, &end);
        if (!end || *end || !(v > 0))
            continue;
        while (*q == ' ')
            q++;
        if (strncmp(q, "mm", 2) != 0)
            continue;
        q += 2;
        while (*q == ' ')
            q++;
        if (*q != '/')
            continue;
        q++;
        while (*q == ' ')
            q++;
        if (q[0] == 'm' && q[1] == 'v' && !(q[2] >= 'a' && q[2] <= 'z')) {
            if (v >= 1 && v <= 100)
                tally_add(gain, v);
        } else if (q[0] == 's' &&
                   (!(q[1] >= 'a' && q[1] <= 'z') ||
                    strncmp(q, "sec", 3) == 0 || strncmp(q, "sek", 3) == 0)) {
            if (v >= 5 && v <= 200)
                tally_add(speed, v);
        }
    }
}

/* The legend: each line's text (runs joined by spaces) is scanned. */
static int read_legend(struct work *w, const size_t *order, const size_t *line,
                       size_t n)
{
    struct tally speed = {0}, gain = {0};
    char buf[512];
    for (size_t i = 0; i < n;) {
        size_t o = 0;
        size_t j = i;
        for (; j < n && line[j] == line[i]; j++) {
            struct wrun r;
            get_run(w, order[j], &r);
            if (o && o + 1 < sizeof(buf))
                buf[o++] = ' ';
            if (o + 1 < sizeof(buf)) {
                fold(r.s, r.len, buf + o, sizeof(buf) - o);
                o += strlen(buf + o);
            }
        }
        buf[o] = '\0';
        scan_legend(buf, &speed, &gain);
        i = j;
    }
    double sp = tally_best(&speed), g = tally_best(&gain);
    w->legend_speed = sp > 0;
    w->legend_gain = g > 0;
    w->speed_mm_s = sp > 0 ? sp : w->s->paper_speed_mm_s;
    w->gain_mm_mv = g > 0 ? g : w->s->gain_mm_mv;
    return 0;
}

/* ----------------------------------------------------- 6a. label texts */

int wave_lead_of(const char *s, size_t len)
{
    while (len && (s[len - 1] == ':' || s[len - 1] == '.'))
        len--;
    /* Roman numerals I, II, III as one character (U+2160..U+2162). */
    if (len == 3 && (unsigned char)s[0] == 0xe2 &&
        (unsigned char)s[1] == 0x85 && (unsigned char)s[2] >= 0xa0 &&
        (unsigned char)s[2] <= 0xa2)
        return (unsigned char)s[2] - 0xa0;
    if (len == 0 || len > 3)
        return -1;
    char t[4] = {0};
    memcpy(t, s, len);
    for (int i = 0; i < 12; i++) {
        if (strcmp(t, wave_std_names[i]) == 0)
            return i;
    }
    /* Case variants of the augmented and chest leads only: a lowercase
     * "i" is a word, not lead I. */
    for (size_t i = 0; i < len; i++)
        t[i] = (char)(t[i] >= 'a' && t[i] <= 'z' ? t[i] - 32 : t[i]);
    for (int i = 3; i < 12; i++) {
        char u[4] = {0};
        for (size_t k = 0; wave_std_names[i][k]; k++) {
            char c = wave_std_names[i][k];
            u[k] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
        }
        if (strcmp(t, u) == 0)
            return i;
    }
    return -1;
}

static bool is_lead_word(const char *s, size_t len)
{
    char f[16];
    fold(s, len, f, sizeof(f));
    return strcmp(f, "lead") == 0 || strcmp(f, "lead:") == 0 ||
           strcmp(f, "ableitung") == 0;
}

/* Lead labels: a run that is a lead name, or up to four short runs side by
 * side on a line that together are one (glyphs placed one by one: "a",
 * "V", "R"), optionally after the word "Lead". */
static int collect_labels(struct work *w, const size_t *order,
                          const size_t *line, size_t n)
{
    w->lab = malloc(MAX_LABELS * sizeof(*w->lab));
    if (!w->lab)
        return ETL_ENOMEM;
    for (size_t i = 0; i < n && w->nlab < MAX_LABELS; i++) {
        struct wrun a, b;
        get_run(w, order[i], &a);
        size_t first = i;
        if (is_lead_word(a.s, a.len) && i + 1 < n && line[i + 1] == line[i])
            first = i + 1;
        char joined[16];
        size_t jl = 0;
        double end = a.x;
        int lead = -1;
        size_t used = first;
        for (size_t j = first; j < n && j < first + 4 && line[j] == line[i];
             j++) {
            get_run(w, order[j], &b);
            if (j > first && (b.x - end > 0.6 * b.size || b.x < end - 1))
                break;
            if (jl + b.len >= sizeof(joined))
                break;
            memcpy(joined + jl, b.s, b.len);
            jl += b.len;
            end = b.x1;
            int l = wave_lead_of(joined, jl);
            if (l >= 0) {
                lead = l;
                used = j;
            }
        }
        if (lead < 0)
            continue;
        get_run(w, order[used], &b);
        w->lab[w->nlab++] = (struct label){a.x, a.y, b.x1, a.size, lead, -1};
        i = used;
    }
    return 0;
}

/* ----------------------------------------------------- 2. polylines */

/* Copy the usable stroked subpaths into the work points, chaining a
 * piece onto the previous one when it starts where that ended in the same
 * pen and the join stays monotonic, unless both are long enough to be
 * traces on their own (adjacent columns of a 3x4 page touch end to
 * start). */
static int collect_polys(struct work *w)
{
    const struct pdf_vectors *v = w->v;
    /* calloc throughout: clang's analyzer cannot follow which entries were
     * written, and would see the later reads as of garbage. */
    w->pts = calloc(v->npoints ? v->npoints : 1, sizeof(*w->pts));
    w->polys = calloc(v->npaths ? v->npaths : 1, sizeof(*w->polys));
    if (!w->pts || !w->polys)
        return ETL_ENOMEM;
    double min_span = TRACE_MIN_MM * w->mm_x;
    for (size_t i = 0; i < v->npaths; i++) {
        const struct pdf_vpath *p = &v->paths[i];
        if (p->filled || p->n < 2 || p->first > v->npoints ||
            p->n > v->npoints - p->first)
            continue;
        struct pdf_vpoint *dst = w->pts + w->npts;
        bool ok = true;
        for (size_t k = 0; ok && k < p->n; k++) {
            dst[k] = turn(w, v->points[p->first + k]);
            ok = on_page(w, dst[k]);
        }
        if (!ok)
            continue;
        double xmax = dst[0].x;
        for (size_t k = 1; k < p->n; k++)
            xmax = fmax(xmax, dst[k].x);
        bool mono = monotonic(dst, p->n);
        struct poly *last = w->npolys ? &w->polys[w->npolys - 1] : NULL;
        if (last && last->mono && mono && last->rgb == p->rgb &&
            last->width == p->width) {
            const struct pdf_vpoint *end = &w->pts[last->first + last->n - 1];
            double dx = dst[0].x - end->x, dy = dst[0].y - end->y;
            double span_last = last->xmax - w->pts[last->first].x;
            double span_this = xmax - dst[0].x;
            if (fabs(dx) <= JOIN_PT && fabs(dy) <= JOIN_PT &&
                dst[0].x >= last->xmax - BACKSTEP_PT &&
                !(span_last >= min_span && span_this >= min_span)) {
                /* The shared point once. */
                memmove(dst, dst + 1, (p->n - 1) * sizeof(*dst));
                w->npts += p->n - 1;
                last->n += p->n - 1;
                last->xmax = fmax(last->xmax, xmax);
                continue;
            }
        }
        w->polys[w->npolys++] =
            (struct poly){w->npts, p->n, p->rgb, p->width, mono, xmax};
        w->npts += p->n;
    }
    return 0;
}

/* ------------------------------------------------------------ 4. pulses */

static bool pulse_size_ok(const struct work *w, double h, double across)
{
    return h >= PULSE_MIN_MM * w->mm_y && h <= PULSE_MAX_MM * w->mm_y &&
           across >= PULSE_MIN_S * w->pt_per_s &&
           across <= PULSE_MAX_S * w->pt_per_s;
}

/* A pulse at p[0..3]: up, right across, down by the same height. */
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
    if (!pulse_size_ok(w, h, across) ||
        fabs(down - h) > fmax(PULSE_TOL_PT, 0.02 * h))
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

/* A pulse drawn as one short path of any number of vertices (a sampled
 * square wave has sloped edges): every vertex at the foot or at the top,
 * the top ones one stretch 60-500 ms wide, the path open below it (a box
 * is not a pulse). */
static bool pulse_shape(const struct work *w, const struct pdf_vpoint *p,
                        size_t n, struct pulse *out)
{
    if (n < 4 || n > PULSE_MAX_POINTS)
        return false;
    double top = p[0].y;
    double foot = top;
    for (size_t i = 1; i < n; i++) {
        top = fmin(top, p[i].y);
        foot = fmax(foot, p[i].y);
    }
    double h = foot - top;
    double tol = fmax(PULSE_TOL_PT, 0.03 * h);
    if (!(fabs(p[0].y - foot) <= tol))
        return false;
    size_t first_top = n, last_top = 0;
    for (size_t i = 0; i < n; i++) {
        bool at_top = fabs(p[i].y - top) <= tol;
        if (!at_top && !(fabs(p[i].y - foot) <= tol))
            return false;
        if (at_top) {
            first_top = first_top < n ? first_top : i;
            last_top = i;
        }
    }
    if (first_top >= n)
        return false;
    for (size_t i = first_top; i <= last_top; i++) {
        if (!(fabs(p[i].y - top) <= tol))
            return false;
    }
    double x0 = p[first_top].x, x1 = p[last_top].x;
    if (!monotonic(p, n) || !pulse_size_ok(w, h, x1 - x0))
        return false;
    /* The edges: the foot vertices next to the top. */
    double rise = first_top ? 0.5 * (p[first_top - 1].x + x0) : x0;
    double fall = last_top + 1 < n ? 0.5 * (x1 + p[last_top + 1].x) : x1;
    *out = (struct pulse){rise, fall, foot, h, false};
    return true;
}

static void add_pulse(struct work *w, const struct pulse *p)
{
    if (w->npu < MAX_PULSES)
        w->pu[w->npu++] = *p;
}

/* A straight stroke, for pulses drawn edge by edge. */
struct edge {
    double a, b0, b1; /* x (vertical) or y (horizontal); its span */
};

static int cmp_edge(const void *x, const void *y)
{
    const struct edge *a = x, *b = y;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* Pulses drawn as separate strokes: a horizontal top 60-500 ms wide whose
 * ends each meet the top of a vertical edge of the same length (the 1 mV
 * height), with no stroke closing the box at the foot. */
static int find_pulse_strokes(struct work *w)
{
    const struct pdf_vectors *v = w->v;
    struct edge *hz = malloc(MAX_SOUP * sizeof(*hz));
    struct edge *vt = malloc(MAX_SOUP * sizeof(*vt));
    if (!hz || !vt) {
        free(hz);
        free(vt);
        return ETL_ENOMEM;
    }
    size_t nh = 0, nv = 0;
    for (size_t i = 0; i < v->npaths; i++) {
        const struct pdf_vpath *p = &v->paths[i];
        if (p->filled || p->n != 2 || p->first > v->npoints ||
            p->n > v->npoints - p->first)
            continue;
        struct pdf_vpoint a = turn(w, v->points[p->first]);
        struct pdf_vpoint b = turn(w, v->points[p->first + 1]);
        if (!on_page(w, a) || !on_page(w, b))
            continue;
        double dx = fabs((double)a.x - b.x), dy = fabs((double)a.y - b.y);
        if (dy <= PULSE_TOL_PT && dx >= PULSE_MIN_S * w->pt_per_s &&
            dx <= PULSE_MAX_S * w->pt_per_s && nh < MAX_SOUP)
            hz[nh++] = (struct edge){0.5 * (a.y + b.y), fmin(a.x, (double)b.x),
                                     fmax(a.x, (double)b.x)};
        else if (dx <= PULSE_TOL_PT && dy >= PULSE_MIN_MM * w->mm_y &&
                 dy <= PULSE_MAX_MM * w->mm_y && nv < MAX_SOUP)
            vt[nv++] = (struct edge){0.5 * (a.x + b.x), fmin(a.y, (double)b.y),
                                     fmax(a.y, (double)b.y)};
    }
    qsort(vt, nv, sizeof(*vt), cmp_edge);
    for (size_t i = 0; i < nh && w->npu < MAX_PULSES; i++) {
        const struct edge *t = &hz[i];
        double hgt[2] = {0, 0};
        for (int side = 0; side < 2; side++) {
            double x = side ? t->b1 : t->b0;
            /* First vertical edge at x (binary search), then the ones
             * after it within tolerance. */
            size_t lo = 0, hi = nv;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (vt[mid].a < x - PULSE_TOL_PT)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            for (size_t k = lo; k < nv && vt[k].a <= x + PULSE_TOL_PT; k++) {
                if (fabs(vt[k].b0 - t->a) <= PULSE_TOL_PT)
                    hgt[side] = vt[k].b1 - vt[k].b0;
            }
        }
        double h = 0.5 * (hgt[0] + hgt[1]);
        if (!(hgt[0] > 0 && hgt[1] > 0) ||
            fabs(hgt[0] - hgt[1]) > fmax(PULSE_TOL_PT, 0.03 * h))
            continue;
        bool closed = false;
        for (size_t k = 0; k < nh && !closed; k++)
            closed = fabs(hz[k].a - (t->a + h)) <= PULSE_TOL_PT &&
                     hz[k].b0 <= t->b0 + PULSE_TOL_PT &&
                     hz[k].b1 >= t->b1 - PULSE_TOL_PT;
        if (!closed)
            add_pulse(w, &(struct pulse){t->b0, t->b1, t->a + h, h, false});
    }
    free(hz);
    free(vt);
    return 0;
}

/* ------------------------------------------------------------ 3. traces */

static bool bends(const struct pdf_vpoint *p, size_t n, double mm)
{
    double ax = p[0].x, ay = p[0].y;
    double dx = p[n - 1].x - ax, dy = p[n - 1].y - ay;
    double len = dist(dx, dy);
    if (!(len > 0))
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        double off = fabs((p[i].x - ax) * dy - (p[i].y - ay) * dx) / len;
        if (off > TRACE_MIN_BEND_MM * mm)
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
    w->pu = calloc(MAX_PULSES, sizeof(*w->pu));
    if (!w->tr || !w->pu)
        return ETL_ENOMEM;
    double min_span = TRACE_MIN_MM * w->mm_x;
    double sample_pt = w->pt_per_s / w->s->sample_rate_hz;
    for (size_t i = 0; i < w->npolys; i++) {
        const struct poly *pl = &w->polys[i];
        const struct pdf_vpoint *p = w->pts + pl->first;
        size_t n = pl->n;
        struct pulse pu;
        if (pulse_shape(w, p, n, &pu) ||
            (n <= 64 && find_pulse(w, p, n, n, &pu))) {
            add_pulse(w, &pu);
            continue;
        }
        if (n < TRACE_MIN_POINTS || !pl->mono)
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
            span / (double)(n - 1) > TRACE_MAX_STEP_MM * w->mm_x)
            continue;
        if (span / sample_pt >= WAVE_MAX_LEAD_SAMPLES || !bends(p, n, w->mm_y))
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

/* -------------------------------------------------------------- 5. rows */

static bool overlaps(const struct trace *a, const struct trace *b)
{
    return a->x0 < b->x1 - OVERLAP_PT && b->x0 < a->x1 - OVERLAP_PT;
}

/* Sort trace indices by median y or by first x. A merge sort rather than
 * qsort: its comparator would need the traces through global state. */
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
        bool joins = r && fabs(t->median - r->ref) <= ROW_TOL_MM * w->mm_y;
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
 * trace or right of its last, within PULSE_NEAR_MM; a pulse cut off a
 * trace's start belongs to that trace's row. The row's 0 mV level becomes
 * the pulse's foot. */
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
    double near = PULSE_NEAR_MM * w->mm_x;
    for (size_t r = 0; r < w->nrows; r++) {
        struct row *row = &w->rows[r];
        if (row->pulse >= 0)
            continue;
        double best = INFINITY;
        for (size_t i = 0; i < w->npu; i++) {
            const struct pulse *p = &w->pu[i];
            bool left =
                p->x1 <= row->left + 2 * MM && p->x1 >= row->left - near;
            bool right =
                p->x0 >= row->right - 2 * MM && p->x0 <= row->right + near;
            double d = fabs(p->foot - row->ref);
            if (p->used || !(left || right) || d > p->height || d >= best)
                continue;
            best = d;
            row->pulse = (int)i;
        }
        if (row->pulse >= 0)
            w->pu[row->pulse].used = true;
    }
    for (size_t r = 0; r < w->nrows; r++) {
        if (w->rows[r].pulse >= 0)
            w->rows[r].ref = w->pu[w->rows[r].pulse].foot;
    }
}

/* ---------------------------------------------- 6b. label placement */

/* Could label lb belong to trace t: over its span or left of its start
 * (by at most LABEL_LEFT_MM), within LABEL_VERT_MM of its level. */
static bool label_near(const struct work *w, const struct label *lb,
                       const struct trace *t, double *dy)
{
    *dy = lb->y - w->rows[t->row].ref;
    return lb->x >= t->x0 - LABEL_LEFT_MM * w->mm_x &&
           lb->x <= t->x1 - 2 * w->mm_x && fabs(*dy) <= LABEL_VERT_MM * w->mm_y;
}

/* The vertical offset (label baseline minus its trace's 0 mV level) the
 * page's labels share: every pair of a label and a trace it could belong
 * to votes; the LABEL_BAND_MM window holding most votes wins, and its mean
 * is the offset. Returns the votes it got. */
static int learn_offset(const struct work *w, double *mdy, size_t *votes)
{
    *votes = 0;
    *mdy = 0;
    size_t cap = w->nlab * w->ntr, n = 0; /* <= 1024 * 64 */
    double *dy = malloc((cap ? cap : 1) * sizeof(*dy));
    if (!dy)
        return ETL_ENOMEM;
    for (size_t l = 0; l < w->nlab; l++) {
        for (size_t t = 0; t < w->ntr; t++) {
            if (label_near(w, &w->lab[l], &w->tr[t], &dy[n]))
                n++;
        }
    }
    qsort(dy, n, sizeof(*dy), cmp_double);
    double band = LABEL_BAND_MM * w->mm_y;
    size_t best = 0, bi = 0;
    for (size_t i = 0, j = 0; i < n; i++) {
        while (j < n && dy[j] - dy[i] <= band)
            j++;
        if (j - i > best) {
            best = j - i;
            bi = i;
        }
    }
    double sum = 0;
    for (size_t i = bi; i < bi + best; i++)
        sum += dy[i];
    *votes = best;
    *mdy = best ? sum / (double)best : 0;
    free(dy);
    return 0;
}

static int cmp_double_asc(const void *a, const void *b)
{
    return cmp_double(a, b);
}

/* Each label goes to the trace at the page's label offset whose start is
 * nearest it in x; a trace then takes its name from its first label, and
 * is cut where each further label says a new lead starts (one polyline
 * through a row of leads: the labels keep the spacing of the columns). */
static void make_pieces(struct work *w, double mdy)
{
    double tol = LABEL_TOL_MM * w->mm_y;
    for (size_t l = 0; l < w->nlab; l++) {
        struct label *lb = &w->lab[l];
        double best = INFINITY;
        lb->trace = -1;
        for (size_t t = 0; t < w->ntr; t++) {
            double dy, d = fabs(lb->x - w->tr[t].x0);
            if (label_near(w, lb, &w->tr[t], &dy) && fabs(dy - mdy) <= tol &&
                d < best) {
                best = d;
                lb->trace = (int)t;
            }
        }
    }
    double margin = SPLIT_MARGIN_S * w->pt_per_s;
    for (size_t r = 0; r < w->nrows; r++) {
        const struct row *row = &w->rows[r];
        for (size_t k = 0; k < row->n; k++) {
            int ti = (int)w->order[row->first + k];
            const struct trace *t = &w->tr[ti];
            /* Its labels in x order (few: insertion). */
            int mine[MAX_SPLITS + 1];
            size_t nm = 0;
            for (size_t l = 0; l < w->nlab; l++) {
                if (w->lab[l].trace != ti || nm > MAX_SPLITS)
                    continue;
                size_t at = nm++;
                while (at > 0 && w->lab[mine[at - 1]].x > w->lab[l].x) {
                    mine[at] = mine[at - 1];
                    at--;
                }
                mine[at] = (int)l;
            }
            /* Pieces from each label's cut that lies well inside. */
            double xs = t->x0;
            size_t c = 0;
            while (w->npc < MAX_PIECES) {
                double xe = t->x1;
                size_t next = c + 1;
                for (; next < nm; next++) {
                    double cut =
                        t->x0 + (w->lab[mine[next]].x - w->lab[mine[0]].x);
                    if (cut > xs + margin && cut < t->x1 - margin) {
                        xe = cut;
                        break;
                    }
                }
                int label = c < nm ? mine[c] : -1;
                w->pc[w->npc++] =
                    (struct piece){.trace = ti,
                                   .xs = xs,
                                   .xe = xe,
                                   .split_start = xs > t->x0,
                                   .split_end = xe < t->x1,
                                   .label = label,
                                   .lead = label >= 0 ? w->lab[label].lead : -1,
                                   .col = -1};
                if (!(xe < t->x1))
                    break;
                xs = xe;
                c = next;
            }
        }
    }
}

/* The widest piece spans the recording: one at least RHYTHM_SPAN of it is
 * a rhythm strip when the page also has short pieces. */
static void mark_rhythm(struct work *w)
{
    double widest = 0;
    bool has_short = false;
    for (size_t i = 0; i < w->npc; i++)
        widest = fmax(widest, w->pc[i].xe - w->pc[i].xs);
    for (size_t i = 0; i < w->npc; i++)
        has_short |= w->pc[i].xe - w->pc[i].xs <= SHORT_SPAN * widest;
    for (size_t i = 0; i < w->npc; i++)
        w->pc[i].rhythm =
            has_short && w->pc[i].xe - w->pc[i].xs >= RHYTHM_SPAN * widest;
}

/* ------------------------------------------------------- 7. layout */

/* y of the trace's polyline at x (binary search). */
static double y_at_x(const struct work *w, const struct trace *t, double x)
{
    const struct pdf_vpoint *p = w->pts + t->first;
    size_t lo = 0, hi = t->n - 1;
    if (x <= p[0].x)
        return p[0].y;
    if (x >= p[hi].x)
        return p[hi].y;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].x <= x)
            lo = mid;
        else
            hi = mid;
    }
    double xa = p[lo].x, xb = p[hi].x;
    double f = xb > xa ? (x - xa) / (xb - xa) : 0;
    return p[lo].y + f * (p[hi].y - p[lo].y);
}

/* Beat times (s from the piece start) of a piece: peaks of the slope, at
 * least 40% of its largest, 250 ms apart. At most max. */
static size_t beats(const struct work *w, const struct piece *pc, double *out,
                    size_t max)
{
    const struct trace *t = &w->tr[pc->trace];
    double dt = 0.004, span = (pc->xe - pc->xs) / w->pt_per_s;
    size_t n = (size_t)(span / dt);
    if (n < 8 || n > 65536)
        return 0;
    double *s = malloc(n * sizeof(*s));
    if (!s)
        return 0;
    double prev = y_at_x(w, t, pc->xs), top = 0;
    for (size_t k = 0; k < n; k++) {
        double y = y_at_x(w, t, pc->xs + (double)(k + 1) * dt * w->pt_per_s);
        s[k] = fabs(y - prev);
        prev = y;
        top = fmax(top, s[k]);
    }
    size_t nb = 0;
    size_t win = (size_t)(0.25 / dt);
    for (size_t k = 0; k < n && nb < max; k++) {
        if (!(s[k] >= 0.4 * top) || !(top > 0))
            continue;
        /* The largest within the window ahead of k. */
        size_t best = k;
        for (size_t j = k; j < n && j < k + win; j++)
            best = s[j] > s[best] ? j : best;
        out[nb++] = (double)best * dt;
        k = best + win;
    }
    free(s);
    return nb;
}

/* Unlabelled full-width rows whose beats line up are simultaneous leads;
 * rows whose beats do not are one lead wrapped. */
static bool rows_simultaneous(const struct work *w)
{
    double a[128], b[128];
    size_t agree = 0, total = 0;
    for (size_t i = 0; i + 1 < w->npc; i++) {
        size_t na = beats(w, &w->pc[i], a, 128);
        size_t nb = beats(w, &w->pc[i + 1], b, 128);
        if (na < 2 || nb < 2)
            continue;
        for (size_t x = 0; x < na; x++) {
            bool hit = false;
            for (size_t y = 0; y < nb && !hit; y++)
                hit = fabs(a[x] - b[y]) <= BEAT_WINDOW_S;
            agree += hit;
            total++;
        }
    }
    return total == 0 || agree * 10 >= total * 6;
}

/* Columns: piece starts (rhythm strips aside) clustered by x; returns how
 * many, each piece's col set. */
static size_t find_columns(struct work *w)
{
    double xs[MAX_PIECES] = {0};
    size_t n = 0;
    for (size_t i = 0; i < w->npc; i++) {
        if (!w->pc[i].rhythm)
            xs[n++] = w->pc[i].xs;
    }
    qsort(xs, n, sizeof(*xs), cmp_double_asc);
    double cols[MAX_PIECES];
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (nc == 0 || xs[i] - cols[nc - 1] > COLUMN_TOL_MM * w->mm_x)
            cols[nc++] = xs[i];
    }
    for (size_t i = 0; i < w->npc; i++) {
        struct piece *pc = &w->pc[i];
        pc->col = -1;
        for (size_t c = 0; !pc->rhythm && c < nc; c++) {
            if (pc->xs >= cols[c] - 0.01 &&
                (c + 1 == nc || pc->xs < cols[c + 1] - 0.01))
                pc->col = (int)c;
        }
    }
    return nc;
}

/* Names by position in a known layout for pieces without a label: -1 when
 * the layout is not one of them. */
static int layout_lead(const struct piece *pc, size_t row_index, size_t nrows,
                       size_t ncols, size_t nrhythm)
{
    static const int rows3x4[3][4] = {
        {0, 3, 6, 9}, {1, 4, 7, 10}, {2, 5, 8, 11}};
    /* One rhythm strip under a 3x4 is lead II on every device seen; which
     * three leads three strips are differs between devices: unnamed. */
    if (pc->rhythm)
        return nrows == 3 && ncols == 4 && nrhythm == 1 ? 1 : -1;
    size_t col = pc->col < 0 ? 0 : (size_t)pc->col;
    if (col >= ncols || row_index >= nrows)
        return -1;
    if (nrows == 3 && ncols == 4)
        return rows3x4[row_index][col];
    if (nrows == 6 && ncols == 2)
        return (int)(col ? 6 + row_index : row_index);
    if (nrows == 12 && ncols == 1)
        return (int)row_index;
    if (nrows == 6 && ncols == 1) /* a six-lead device: the limb leads */
        return (int)row_index;
    return -1;
}

static unsigned small(size_t n)
{
    return (unsigned)(n > 99 ? 99 : n);
}

static void set_layout_name(struct work *w, struct wave_page *out, size_t nrows,
                            size_t ncols, size_t nrhythm)
{
    if (w->single)
        snprintf(out->layout, sizeof(out->layout), "1x%uw", small(w->nrows));
    else if (nrhythm)
        snprintf(out->layout, sizeof(out->layout), "%ux%u+%u", small(nrows),
                 small(ncols), small(nrhythm));
    else
        snprintf(out->layout, sizeof(out->layout), "%ux%u", small(nrows),
                 small(ncols));
}

/* Names for unlabelled pieces, and the page time of each piece's start. */
static void name_and_time(struct work *w, struct wave_page *out)
{
    size_t ncols = find_columns(w);
    /* Rows of short pieces, and rhythm strips. */
    size_t nrows = 0, nrhythm = 0, nlabelled = 0;
    int last_row = -1;
    for (size_t i = 0; i < w->npc; i++) {
        const struct piece *pc = &w->pc[i];
        int row = w->tr[pc->trace].row;
        if (!pc->rhythm && row != last_row) {
            nrows++;
            last_row = row;
        }
        nrhythm += pc->rhythm;
        nlabelled += pc->lead >= 0;
    }
    /* An unlabelled page of full-width rows: simultaneous leads, or one
     * lead wrapped over the rows. */
    w->single = nlabelled == 0 && ncols <= 1 && nrhythm == 0 &&
                (w->npc == 1 || !rows_simultaneous(w));
    double origin = INFINITY;
    for (size_t i = 0; i < w->npc; i++)
        origin = fmin(origin, w->pc[i].xs);

    /* The layout's column duration, from the rhythm strip when there is
     * one (it spans the recording), else from the columns' extent;
     * rounded to 0.1 s when that is within 2% (columns of 2.5 s). */
    double col_dur = 0;
    if (ncols >= 2) {
        double span = 0;
        for (size_t i = 0; i < w->npc; i++) {
            const struct piece *pc = &w->pc[i];
            if (nrhythm ? pc->rhythm : true)
                span = fmax(span, pc->xe - origin);
        }
        col_dur = span / w->pt_per_s / (double)ncols;
        double r = round(col_dur * 10) / 10;
        if (r > 0 && fabs(r - col_dur) <= 0.02 * r)
            col_dur = r;
    }

    size_t row_index = 0;
    last_row = -1;
    double t_next = 0;   /* single lead: where the next row starts */
    double trace_t0 = 0; /* time of the current trace's start */
    for (size_t i = 0; i < w->npc; i++) {
        struct piece *pc = &w->pc[i];
        const struct trace *t = &w->tr[pc->trace];
        const struct row *row = &w->rows[t->row];
        if (!pc->rhythm && t->row != last_row) {
            if (last_row >= 0)
                row_index++;
            last_row = t->row;
        }
        double row_origin = origin;
        if (row->pulse >= 0 && w->pu[row->pulse].x0 > origin)
            row_origin = row->left;
        double tx = (pc->xs - row_origin) / w->pt_per_s;
        pc->t0 = tx;
        if (col_dur > 0 && pc->col >= 0) {
            double nominal = pc->col * col_dur;
            if (fabs(tx - nominal) <= SNAP_COLUMN * col_dur)
                pc->t0 = nominal;
        }
        /* A cut inside a trace moves to the time it snapped to: x and time
         * stay one line along the trace. */
        if (!pc->split_start) {
            trace_t0 = pc->t0;
        } else if (i > 0 && w->pc[i - 1].trace == pc->trace) {
            double x = t->x0 + (pc->t0 - trace_t0) * w->pt_per_s;
            if (x > w->pc[i - 1].xs && x < pc->xe) {
                pc->xs = x;
                w->pc[i - 1].xe = x;
            }
        }
        if (w->single) {
            pc->t0 = t_next;
            const struct pdf_vpoint *p = w->pts + t->first;
            double step = t->n > 1 ? (p[t->n - 1].x - p[0].x) /
                                         (double)(t->n - 1) / w->pt_per_s
                                   : 0;
            t_next = pc->t0 + (pc->xe - pc->xs) / w->pt_per_s + step;
            pc->lead = 0;
            pc->quality |= WAVE_Q_LABEL_FROM_LAYOUT;
            continue;
        }
        if (pc->lead < 0) {
            pc->lead = layout_lead(pc, row_index, nrows, ncols, nrhythm);
            pc->quality |=
                pc->lead >= 0 ? WAVE_Q_LABEL_FROM_LAYOUT : WAVE_Q_UNNAMED;
        }
    }
    set_layout_name(w, out, nrows, ncols, nrhythm);
}

/* ------------------------------------------------------------ 9. values */

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
    if (hi - lo < 1.0 * w->mm_y)
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

/* The vertices of piece pc (the polyline between xs and xe) into a new
 * array; *n_out of them. A cut end gets a vertex at the cut holding the
 * value of the piece's own nearest vertex: the stroke across a column
 * boundary joins two different leads and belongs to neither. */
static struct pdf_vpoint *piece_points(const struct work *w,
                                       const struct piece *pc, size_t *n_out)
{
    const struct trace *t = &w->tr[pc->trace];
    const struct pdf_vpoint *p = w->pts + t->first;
    struct pdf_vpoint *q = malloc((t->n + 2) * sizeof(*q));
    if (!q)
        return NULL;
    size_t n = pc->split_start ? 1 : 0;
    for (size_t k = 0; k < t->n; k++) {
        if ((pc->split_start ? p[k].x > pc->xs : p[k].x >= pc->xs) &&
            (pc->split_end ? p[k].x < pc->xe : p[k].x <= pc->xe))
            q[n++] = p[k];
    }
    if (n <= (pc->split_start ? 1u : 0u)) {
        *n_out = 0;
        return q;
    }
    if (pc->split_start)
        q[0] = (struct pdf_vpoint){(float)pc->xs, q[1].y};
    if (pc->split_end) {
        q[n] = (struct pdf_vpoint){(float)pc->xe, q[n - 1].y};
        n++;
    }
    *n_out = n;
    return q;
}

/* The 0 mV level of each row: its pulse's foot, else the median of its
 * traces over time (a row's leads share one level). A page that puts the
 * 0 mV level of every row on a 5 mm grid line (its pulses' feet, and each
 * other row's median within 1 mm of one) has that line as the level of
 * the rows without a pulse. */
static void row_levels(struct work *w)
{
    size_t loose = 0;
    for (size_t r = 0; r < w->nrows; r++) {
        struct row *row = &w->rows[r];
        if (row->pulse >= 0) {
            row->base = w->pu[row->pulse].foot;
            continue;
        }
        loose++;
        double ys[4096];
        size_t m = 0;
        for (size_t i = 0; i < w->npc; i++) {
            const struct piece *pc = &w->pc[i];
            const struct trace *t = &w->tr[pc->trace];
            if (t->row != (int)r)
                continue;
            /* The median level over time (not of the vertices, which a
             * writer may thin out on flat stretches). */
            double step = (pc->xe - pc->xs) / 512;
            for (int k = 0; k < 512 && m < 4096 && step > 0; k++)
                ys[m++] = y_at_x(w, t, pc->xs + (k + 0.5) * step);
        }
        row->base = m ? median_of(ys, m) : row->ref;
    }
    if (!w->nmajor || loose < 2)
        return;
    for (size_t r = 0; r < w->nrows; r++) {
        const struct row *row = &w->rows[r];
        double d = INFINITY;
        for (size_t i = 0; i < w->nmajor; i++)
            d = fmin(d, fabs(w->major_y[i] - row->base));
        if (d > (row->pulse >= 0 ? 0.3 : 1.0) * w->mm_y)
            return;
    }
    for (size_t r = 0; r < w->nrows; r++) {
        struct row *row = &w->rows[r];
        double best = row->base, d = INFINITY;
        for (size_t i = 0; row->pulse < 0 && i < w->nmajor; i++) {
            if (fabs(w->major_y[i] - row->base) < d) {
                d = fabs(w->major_y[i] - row->base);
                best = w->major_y[i];
            }
        }
        row->base = best;
    }
}

/* The strip's box: the piece's extent and its label's, between the
 * midlines to the rows above and below (or the trace's own height and
 * 3 mm when it is alone), on the page. */
static struct wave_box strip_box(const struct work *w, const struct piece *pc,
                                 const struct pdf_vpoint *q, size_t n,
                                 double pitch)
{
    const struct row *row = &w->rows[w->tr[pc->trace].row];
    struct wave_box b = {pc->xs, row->ref, pc->xe, row->ref};
    if (pitch > 0) {
        b.y0 = row->ref - 0.5 * pitch;
        b.y1 = row->ref + 0.5 * pitch;
    } else {
        for (size_t k = 0; k < n; k++) {
            b.y0 = fmin(b.y0, q[k].y);
            b.y1 = fmax(b.y1, q[k].y);
        }
        b.y0 -= 3 * w->mm_y;
        b.y1 += 3 * w->mm_y;
    }
    if (pc->label >= 0) {
        const struct label *lb = &w->lab[pc->label];
        b.x0 = fmin(b.x0, lb->x);
        b.x1 = fmax(b.x1, lb->x1);
        b.y0 = fmin(b.y0, lb->y - lb->size);
        b.y1 = fmax(b.y1, lb->y + 0.3 * lb->size);
    }
    b.x0 = fmax(0, b.x0 - w->mm_x);
    b.x1 = fmin(w->page_w, b.x1 + w->mm_x);
    b.y0 = fmax(0, b.y0);
    b.y1 = fmin(w->page_h, b.y1);
    return unturn_box(w, b);
}

/* The distance between neighbouring rows (median), 0 for one row. */
static double row_pitch(const struct work *w)
{
    if (w->nrows < 2)
        return 0;
    double d[MAX_TRACES] = {0};
    for (size_t r = 0; r + 1 < w->nrows; r++)
        d[r] = fabs(w->rows[r + 1].ref - w->rows[r].ref);
    return median_of(d, w->nrows - 1);
}

static int make_segment(const struct work *w, const struct piece *pc,
                        double pitch, struct wave_seg *out)
{
    const struct row *row = &w->rows[w->tr[pc->trace].row];
    size_t n = 0;
    struct pdf_vpoint *q = piece_points(w, pc, &n);
    if (!q)
        return ETL_ENOMEM;
    if (n < 2) {
        free(q);
        return 0;
    }
    out->t = malloc(n * sizeof(*out->t));
    out->v = malloc(n * sizeof(*out->v));
    if (!out->t || !out->v) {
        free(q);
        return ETL_ENOMEM;
    }
    double base = row->base, pt_per_mv;
    out->quality = pc->quality | shape_flags(w, q, n);
    if (row->pulse >= 0) {
        pt_per_mv = w->pu[row->pulse].height;
        out->calibration = WAVE_CAL_PULSE;
    } else {
        pt_per_mv = w->gain_mm_mv * w->mm_y;
        out->calibration = w->legend_gain ? WAVE_CAL_LEGEND
                           : w->grid      ? WAVE_CAL_GRID
                                          : WAVE_CAL_SETTINGS;
        out->quality |= WAVE_Q_BASELINE_ESTIMATED;
    }
    double xs = q[0].x;
    for (size_t k = 0; k < n; k++) {
        out->t[k] = pc->t0 + ((double)q[k].x - xs) / w->pt_per_s;
        out->v[k] = (float)((base - q[k].y) / pt_per_mv);
    }
    out->n = n;
    out->base_y = base;
    out->pt_per_mv = pt_per_mv;
    out->pulse = row->pulse >= 0;
    out->lead = pc->lead;
    out->rhythm = pc->rhythm;
    out->mm_per_mv = pt_per_mv / w->mm_y;
    out->speed_mm_s = w->speed_mm_s;
    out->speed_source = w->legend_speed ? WAVE_SPEED_LEGEND
                        : w->grid       ? WAVE_SPEED_GRID
                                        : WAVE_SPEED_SETTINGS;
    double *gaps = malloc((n - 1) * sizeof(*gaps));
    if (!gaps) {
        free(q);
        return ETL_ENOMEM;
    }
    for (size_t k = 0; k + 1 < n; k++)
        gaps[k] = out->t[k + 1] - out->t[k];
    out->step = median_of(gaps, n - 1);
    free(gaps);
    out->open_end = pc->split_end;
    out->box = strip_box(w, pc, q, n, pitch);
    free(q);
    return 0;
}

/* ------------------------------------------------------------------- API */

static void work_free(struct work *w)
{
    free(w->major_y);
    free(w->pts);
    free(w->polys);
    free(w->tr);
    free(w->pu);
    free(w->lab);
    free(w->rows);
    free(w->order);
    free(w->pc);
}

void wave_page_release(struct wave_page *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nseg; i++) {
        free(p->seg[i].t);
        free(p->seg[i].v);
    }
    free(p->seg);
    memset(p, 0, sizeof(*p));
    p->status = WAVE_NO_TRACES;
}

static int analyze(struct work *w, struct wave_page *out)
{
    size_t *order = NULL, *line = NULL, nruns = 0;
    int rc = find_grid(w);
    if (!rc)
        rc = text_lines(w, &order, &line, &nruns);
    if (!rc)
        rc = read_legend(w, order, line, nruns);
    if (!rc)
        rc = collect_labels(w, order, line, nruns);
    free(order);
    free(line);
    if (rc)
        return rc;
    w->pt_per_s = w->speed_mm_s * w->mm_x;
    rc = collect_polys(w);
    if (!rc)
        rc = find_traces(w);
    if (!rc)
        rc = find_pulse_strokes(w);
    if (!rc)
        rc = make_rows(w);
    if (rc)
        return rc;
    match_pulses(w);
    double mdy = 0;
    size_t votes = 0;
    rc = learn_offset(w, &mdy, &votes);
    if (rc)
        return rc;
    w->pc = calloc(MAX_PIECES, sizeof(*w->pc));
    if (!w->pc)
        return ETL_ENOMEM;
    make_pieces(w, mdy);
    mark_rhythm(w);
    name_and_time(w, out);
    if (w->npc == 0)
        return 0;
    out->seg = calloc(w->npc, sizeof(*out->seg));
    if (!out->seg)
        return ETL_ENOMEM;
    row_levels(w);
    double pitch = row_pitch(w);
    for (size_t i = 0; i < w->npc; i++) {
        rc = make_segment(w, &w->pc[i], pitch, &out->seg[out->nseg]);
        if (rc)
            return rc;
        if (out->seg[out->nseg].n >= 2)
            out->nseg++;
    }
    return 0;
}

int wave_page_analyze(const struct pdf_vectors *v,
                      const struct wave_settings *s, struct wave_page *out)
{
    wave_page_release(out);
    struct work w = {.v = v, .s = s};
    /* A page of no size (or none given) holds no trace: every point is
     * off it. */
    w.src_w = isfinite(v->page_w) && v->page_w > 0 ? v->page_w : -2;
    w.src_h = isfinite(v->page_h) && v->page_h > 0 ? v->page_h : -2;
    w.rot = find_rotation(v);
    w.page_w = w.rot ? w.src_h : w.src_w;
    w.page_h = w.rot ? w.src_w : w.src_h;
    int rc = analyze(&w, out);
    work_free(&w);
    if (rc) {
        wave_page_release(out);
        return rc;
    }
    double page_area = w.src_w > 0 && w.src_h > 0 ? w.src_w * w.src_h : 0;
    if (out->nseg > 0)
        out->status = WAVE_EXTRACTED;
    else if (page_area > 0 && v->nimages > 0 &&
             v->image_area >= RASTER_AREA * page_area)
        out->status = WAVE_RASTER_ONLY;
    else
        out->status = WAVE_NO_TRACES;
    return 0;
}
