/* Unit tests for waveform extraction (src/ecg/waveform.c) and vector
 * collection (pdf_doc_vectors): generated ECG pages of every layout are
 * extracted and compared with the exact signal the generator drew. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/err.h"
#include "ecg/waveform.h"
#include "harness.h"
#include "pdf/pdf.h"
#include "pdf/pdf_int.h"
#include "samples/samples.h"

static const struct wave_settings defaults = {25.0, 10.0, 500};

static struct pdf_engine *engine;
static struct pdf_worker *worker;
static double worst_rms; /* over every lead checked against the truth */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Make a sample, open it and collect page (0-based) vectors into v. */
static int sample_vectors(uint64_t seed, int index, enum sample_kind kind,
                          const struct pdf_sample_options *o, int page,
                          struct pdf_vectors *v)
{
    struct buf pdf;
    buf_init(&pdf, 0);
    int rc = pdf_sample_make_opts(seed, index, kind, o, &pdf, NULL);
    struct pdf_doc *d = NULL;
    if (!rc)
        rc = pdf_doc_open(worker, pdf.data, pdf.len, &d);
    if (!rc)
        rc = pdf_doc_vectors(d, page, v);
    pdf_doc_free(d);
    buf_release(&pdf);
    return rc;
}

/* RMS (mV) of lead l against pdf_sample_signal() at its sample times. */
static double rms_error(uint64_t seed, int index, int lead,
                        const struct wave_lead *l)
{
    double sum = 0;
    for (size_t k = 0; k < l->n; k++) {
        double t = l->start_s + (double)k / l->sample_rate_hz;
        double e = l->samples[k] - pdf_sample_signal(seed, index, lead, t);
        sum += e * e;
    }
    return l->n ? sqrt(sum / (double)l->n) : INFINITY;
}

static double correlation(uint64_t seed, int index, int lead,
                          const struct wave_lead *l)
{
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = (double)l->n;
    for (size_t k = 0; k < l->n; k++) {
        double t = l->start_s + (double)k / l->sample_rate_hz;
        double x = l->samples[k], y = pdf_sample_signal(seed, index, lead, t);
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    double cov = sxy - sx * sy / n;
    return cov / sqrt((sxx - sx * sx / n) * (syy - sy * sy / n));
}

/* Everything a user would check on one extracted page against the
 * generator's geometry and signal. */
static void check_page(uint64_t seed, int index, enum sample_layout layout,
                       const struct pdf_sample_options *o,
                       const struct wave_result *r)
{
    struct pdf_sample_geometry g;
    CHECK_EQ_INT(pdf_sample_geometry(layout, &g), 0);
    CHECK_EQ_INT(r->status, WAVE_EXTRACTED);
    CHECK_EQ_INT(r->n, g.nsegments);
    if (r->n != (size_t)g.nsegments)
        return;
    double half = 0.5 / defaults.sample_rate_hz;
    for (int i = 0; i < g.nsegments; i++) {
        const struct pdf_sample_segment *seg = &g.segment[i];
        const struct wave_lead *l = &r->leads[i];
        CHECK_EQ_STR(l->name, pdf_sample_lead_name(seg->lead));
        /* The rhythm strip is the only full-width trace among short ones. */
        bool rhythm = layout == SAMPLE_LAYOUT_3X4 && seg->t1 - seg->t0 > 5;
        CHECK_EQ_INT(l->rhythm, rhythm);
        if (fabs(l->start_s - seg->t0) > half)
            HARNESS_FAIL("%s start_s %.6f, want %.6f", l->name, l->start_s,
                         seg->t0);
        CHECK_EQ_INT(l->sample_rate_hz, 500);
        /* Samples cover the segment: (t1 - t0) * rate + 1 of them. */
        CHECK(llabs((long long)l->n -
                    (long long)lround((seg->t1 - seg->t0) * 500 + 1)) <= 1);
        if (o->no_labels)
            CHECK(l->quality & WAVE_Q_LABEL_FROM_LAYOUT);
        else
            CHECK(!(l->quality & WAVE_Q_LABEL_FROM_LAYOUT));
        CHECK(!(l->quality & (WAVE_Q_CLIPPED | WAVE_Q_GAPS | WAVE_Q_UNNAMED)));
        double want_gain = g.pt_per_mv / (72.0 / 25.4);
        /* The page prints its scale ("25 mm/s 10 mm/mV") on a 1 mm grid. */
        CHECK_EQ_INT(l->speed_source, WAVE_SPEED_LEGEND);
        CHECK(fabs(l->paper_speed_mm_s - 25) < 1e-9);
        if (o->no_calibration) {
            /* No pulse: the gain is the legend's (5 mm/mV for 12x1). */
            CHECK_EQ_INT(l->calibration, WAVE_CAL_LEGEND);
            if (fabs(l->mm_per_mv - want_gain) > 0.02)
                HARNESS_FAIL("%s gain %.4f mm/mV, want %.1f", l->name,
                             l->mm_per_mv, want_gain);
            CHECK(l->quality & WAVE_Q_BASELINE_ESTIMATED);
            double c = correlation(seed, index, seg->lead, l);
            if (!(c > 0.99))
                HARNESS_FAIL("%s correlation %.4f", l->name, c);
            /* At the right gain the level is off by the row's median
             * only. */
            double rms = rms_error(seed, index, seg->lead, l);
            if (!(rms < 0.3))
                HARNESS_FAIL("%s rms %.4f mV", l->name, rms);
            continue;
        }
        CHECK_EQ_INT(l->calibration, WAVE_CAL_PULSE);
        if (fabs(l->mm_per_mv - want_gain) > 0.01)
            HARNESS_FAIL("%s gain %.4f mm/mV, want %.1f", l->name, l->mm_per_mv,
                         want_gain);
        CHECK(!(l->quality & WAVE_Q_BASELINE_ESTIMATED));
        double rms = rms_error(seed, index, seg->lead, l);
        if (rms > worst_rms)
            worst_rms = rms;
        if (!(rms < 0.01))
            HARNESS_FAIL("seed %llu index %d %s: rms %.5f mV",
                         (unsigned long long)seed, index, l->name, rms);
    }
}

static void run_layout(enum sample_layout layout,
                       const struct pdf_sample_options *base)
{
    static const uint64_t seeds[2] = {1, 0x5eed2024};
    static const int indexes[3] = {0, 7, 41};
    struct pdf_vectors *v = NULL;
    CHECK_EQ_INT(pdf_vectors_new(&v), 0);
    struct wave_result r = {0};
    struct pdf_sample_options o = *base;
    o.layout = layout;
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < 3; i++) {
            int rc =
                sample_vectors(seeds[s], indexes[i], SAMPLE_GOOD, &o, 1, v);
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(wave_extract(v, &defaults, &r), 0);
            check_page(seeds[s], indexes[i], layout, &o, &r);
        }
    }
    wave_result_release(&r);
    pdf_vectors_free(v);
}

TEST(layout_3x4)
{
    struct pdf_sample_options o = {0};
    run_layout(SAMPLE_LAYOUT_3X4, &o);
}

TEST(layout_6x2)
{
    struct pdf_sample_options o = {0};
    run_layout(SAMPLE_LAYOUT_6X2, &o);
}

TEST(layout_12x1)
{
    struct pdf_sample_options o = {0};
    run_layout(SAMPLE_LAYOUT_12X1, &o);
}

TEST(no_labels_named_by_layout)
{
    struct pdf_sample_options o = {.no_labels = true};
    for (int l = 0; l < SAMPLE_LAYOUT_COUNT; l++)
        run_layout((enum sample_layout)l, &o);
}

TEST(no_calibration_uses_legend)
{
    struct pdf_sample_options o = {.no_calibration = true};
    for (int l = 0; l < SAMPLE_LAYOUT_COUNT; l++)
        run_layout((enum sample_layout)l, &o);
}

TEST(other_sample_rate_and_order)
{
    /* 250 Hz: half the samples, same start times and accuracy. */
    struct pdf_vectors *v = NULL;
    CHECK_EQ_INT(pdf_vectors_new(&v), 0);
    struct pdf_sample_options o = {.layout = SAMPLE_LAYOUT_3X4};
    CHECK_EQ_INT(sample_vectors(3, 5, SAMPLE_GOOD, &o, 1, v), 0);
    struct wave_settings s = defaults;
    s.sample_rate_hz = 250;
    struct wave_result r = {0};
    CHECK_EQ_INT(wave_extract(v, &s, &r), 0);
    CHECK_EQ_INT(r.n, 13);
    /* Page order: rows top to bottom, then left to right. */
    static const char *const want[13] = {"I",   "aVR", "V1", "V4",  "II",
                                         "aVL", "V2",  "V5", "III", "aVF",
                                         "V3",  "V6",  "II"};
    for (size_t i = 0; i < r.n && i < 13; i++) {
        CHECK_EQ_STR(r.leads[i].name, want[i]);
        CHECK_EQ_INT(r.leads[i].sample_rate_hz, 250);
    }
    if (r.n == 13) {
        CHECK(fabs(r.leads[3].start_s - 7.5) < 0.002);
        CHECK(r.leads[12].rhythm && r.leads[12].start_s == 0);
        CHECK(llabs((long long)r.leads[12].n - 2501) <= 1);
    }
    /* A result is reused: the next extraction replaces it. */
    CHECK_EQ_INT(wave_extract(v, &defaults, &r), 0);
    CHECK_EQ_INT(r.n, 13);
    CHECK_EQ_INT(r.leads[0].sample_rate_hz, 500);
    wave_result_release(&r);
    CHECK_EQ_INT(r.n, 0);
    pdf_vectors_free(v);
}

/* The ECG at the top-left of a 14400 pt page: the same leads; and what
 * collecting and extracting a page costs (printed, not asserted). */
TEST(huge_page_and_cost)
{
    struct pdf_vectors *v = NULL;
    CHECK_EQ_INT(pdf_vectors_new(&v), 0);
    struct pdf_sample_options o = {0};
    CHECK_EQ_INT(sample_vectors(1, 7, SAMPLE_HUGE_PAGE, &o, 1, v), 0);
    CHECK(v->page_w == 14400);
    struct wave_result r = {0};
    CHECK_EQ_INT(wave_extract(v, &defaults, &r), 0);
    check_page(1, 7, SAMPLE_LAYOUT_3X4, &o, &r);

    struct buf pdf;
    buf_init(&pdf, 0);
    CHECK_EQ_INT(pdf_sample_make(1, 7, SAMPLE_GOOD, &pdf, NULL), 0);
    struct pdf_doc *d = NULL;
    CHECK_EQ_INT(pdf_doc_open(worker, pdf.data, pdf.len, &d), 0);
    double t0 = now_s();
    CHECK_EQ_INT(pdf_doc_vectors(d, 1, v), 0);
    double t1 = now_s();
    CHECK_EQ_INT(wave_extract(v, &defaults, &r), 0);
    double t2 = now_s();
    CHECK_EQ_INT(r.n, 13);
    printf("3x4 page: %zu points, %zu paths, %zu texts; vectors %.1f ms "
           "(display list included), extraction %.1f ms\n",
           v->npoints, v->npaths, v->ntexts, (t1 - t0) * 1e3, (t2 - t1) * 1e3);
    pdf_doc_free(d);
    buf_release(&pdf);
    wave_result_release(&r);
    pdf_vectors_free(v);
}

TEST(raster_and_text_pages)
{
    struct pdf_vectors *v = NULL;
    CHECK_EQ_INT(pdf_vectors_new(&v), 0);
    struct wave_result r = {0};

    /* A scanned ECG: one image over the page, no paths. */
    CHECK_EQ_INT(sample_vectors(1, 2, SAMPLE_RASTER_ONLY, NULL, 1, v), 0);
    CHECK(v->nimages >= 1);
    CHECK(v->image_area > 0.9 * v->page_w * v->page_h);
    CHECK_EQ_INT(wave_extract(v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_RASTER_ONLY);
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_STR(wave_status_name(r.status), "raster_only");

    /* The text report page and a continuation page. */
    CHECK_EQ_INT(sample_vectors(1, 2, SAMPLE_ONE_PAGE, NULL, 0, v), 0);
    CHECK(v->ntexts > 10);
    CHECK_EQ_INT(wave_extract(v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_NO_TRACES);
    CHECK_EQ_INT(r.n, 0);
    CHECK_EQ_INT(sample_vectors(1, 2, SAMPLE_MANY_PAGES, NULL, 2, v), 0);
    CHECK_EQ_INT(wave_extract(v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_NO_TRACES);
    CHECK_EQ_STR(wave_status_name(r.status), "no_traces");

    /* A page that does not exist. */
    CHECK_EQ_INT(sample_vectors(1, 2, SAMPLE_ONE_PAGE, NULL, 1, v),
                 ETL_EPDF_NOPAGE);
    CHECK_EQ_INT(v->npaths, 0);
    wave_result_release(&r);
    pdf_vectors_free(v);
}

/* What the collector sees on page 2: the page size, the label texts as
 * runs at the generator's positions, black traces of width 0.6. */
TEST(vectors_collected)
{
    struct pdf_vectors *v = NULL;
    CHECK_EQ_INT(pdf_vectors_new(&v), 0);
    CHECK_EQ_INT(sample_vectors(9, 1, SAMPLE_GOOD, NULL, 1, v), 0);
    CHECK(fabs(v->page_w - 792) < 0.01 && fabs(v->page_h - 612) < 0.01);
    CHECK_EQ_INT(v->nimages, 0);
    struct pdf_sample_geometry g;
    pdf_sample_geometry(SAMPLE_LAYOUT_3X4, &g);
    int found = 0;
    for (int s = 0; s < g.nsegments; s++) {
        const char *name = pdf_sample_lead_name(g.segment[s].lead);
        for (size_t i = 0; i < v->ntexts; i++) {
            const struct pdf_vtext *t = &v->texts[i];
            if (strcmp(v->text + t->off, name) == 0 && t->len == strlen(name) &&
                fabs(t->x - g.segment[s].label_x) < 0.01 &&
                fabs(t->y - g.segment[s].label_y) < 0.01 &&
                fabs(t->size - 9) < 0.01 && t->x1 > t->x) {
                found++;
                break;
            }
        }
    }
    CHECK_EQ_INT(found, g.nsegments);
    /* The first black stroked path is the first segment, its vertices at
     * the generator's x positions. */
    const struct pdf_vpath *first = NULL;
    for (size_t i = 0; i < v->npaths && !first; i++) {
        if (!v->paths[i].filled && v->paths[i].rgb == 0)
            first = &v->paths[i];
    }
    CHECK(first != NULL);
    if (first) {
        CHECK_EQ_INT(first->n, g.segment[0].points);
        CHECK(fabs(first->width - 0.6) < 1e-4);
        CHECK(fabs(v->points[first->first].x - g.segment[0].x0) < 0.01);
    }
    /* The grid is pale and thin. */
    CHECK(v->npaths > 400);
    pdf_vectors_free(v);
}

static int count_image(void *arg, size_t index, const unsigned char *rgb, int w,
                       int h, ptrdiff_t stride)
{
    (void)index, (void)rgb, (void)stride;
    if (w > 0 && h > 0)
        (*(int *)arg)++;
    return 0;
}

/* Rendering the crops and then collecting the vectors interprets page 2
 * once: both use the display list kept in the document. */
TEST(display_list_shared)
{
    struct buf pdf;
    buf_init(&pdf, 0);
    CHECK_EQ_INT(pdf_sample_make(4, 4, SAMPLE_GOOD, &pdf, NULL), 0);
    struct pdf_doc *d = NULL;
    CHECK_EQ_INT(pdf_doc_open(worker, pdf.data, pdf.len, &d), 0);
    struct pdf_vectors *v = NULL;
    CHECK_EQ_INT(pdf_vectors_new(&v), 0);
    struct buf text;
    buf_init(&text, 0);
    CHECK_EQ_INT(pdf_doc_text(d, 0, &text), 0);
    CHECK_EQ_INT(pdfi_doc_lists_built(d), 0);

    struct pdf_irect box = {100, 100, 300, 300};
    int calls = 0;
    CHECK_EQ_INT(pdf_doc_render(d, 1, 100, &box, 1, PDF_RENDER_CLIP,
                                count_image, &calls),
                 0);
    CHECK_EQ_INT(calls, 1);
    CHECK_EQ_INT(pdfi_doc_lists_built(d), 1);
    CHECK_EQ_INT(pdf_doc_vectors(d, 1, v), 0);
    CHECK_EQ_INT(pdfi_doc_lists_built(d), 1);
    CHECK(v->npaths > 0);
    size_t npoints = v->npoints;
    /* Again, and a second render: still one list, the same vectors. */
    CHECK_EQ_INT(pdf_doc_vectors(d, 1, v), 0);
    CHECK_EQ_INT(v->npoints, npoints);
    CHECK_EQ_INT(pdf_doc_render(d, 1, 100, &box, 1, PDF_RENDER_PAGE,
                                count_image, &calls),
                 0);
    CHECK_EQ_INT(pdfi_doc_lists_built(d), 1);
    /* Another page drops it; coming back builds a new one. */
    CHECK_EQ_INT(pdf_doc_vectors(d, 0, v), 0);
    CHECK_EQ_INT(pdfi_doc_lists_built(d), 2);
    CHECK_EQ_INT(pdf_doc_vectors(d, 1, v), 0);
    CHECK_EQ_INT(pdfi_doc_lists_built(d), 3);
    CHECK_EQ_INT(v->npoints, npoints);
    /* Vectors first, render after: also one list. */
    pdf_doc_free(d);
    CHECK_EQ_INT(pdf_doc_open(worker, pdf.data, pdf.len, &d), 0);
    CHECK_EQ_INT(pdf_doc_vectors(d, 1, v), 0);
    CHECK_EQ_INT(pdf_doc_render(d, 1, 100, &box, 1, PDF_RENDER_CLIP,
                                count_image, &calls),
                 0);
    CHECK_EQ_INT(pdfi_doc_lists_built(d), 1);
    pdf_doc_free(d);
    pdf_vectors_free(v);
    buf_release(&text);
    buf_release(&pdf);
}

/* ------------------------------------------------ hostile vectors */

static void add_path(struct pdf_vectors *v, const struct pdf_vpoint *p,
                     size_t n, uint32_t rgb)
{
    v->paths[v->npaths++] = (struct pdf_vpath){
        .first = v->npoints, .n = n, .rgb = rgb, .width = 0.6f};
    memcpy(v->points + v->npoints, p, n * sizeof(*p));
    v->npoints += n;
}

TEST(hostile_vectors)
{
    enum { NPTS = 1 << 20 };
    struct pdf_vectors v = {.page_w = 792, .page_h = 612};
    v.points = calloc(NPTS * 2, sizeof(*v.points));
    v.paths = calloc(NPTS, sizeof(*v.paths));
    v.cap_points = NPTS * 2;
    v.cap_paths = NPTS;
    struct wave_result r = {0};
    CHECK(v.points && v.paths);
    if (!v.points || !v.paths)
        goto out;

    /* Nothing at all. */
    CHECK_EQ_INT(wave_extract(&v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_NO_TRACES);

    /* Bad settings. */
    struct wave_settings bad = defaults;
    bad.sample_rate_hz = 0;
    CHECK_EQ_INT(wave_extract(&v, &bad, &r), ETL_EINVAL);
    bad = defaults;
    bad.paper_speed_mm_s = NAN;
    CHECK_EQ_INT(wave_extract(&v, &bad, &r), ETL_EINVAL);
    CHECK_EQ_INT(wave_extract(NULL, &defaults, &r), ETL_EINVAL);

    /* A trace-like polyline with NaN and infinite vertices, one that
     * leaves the page, and a good one: only the good one is a lead. */
    struct pdf_vpoint p[400];
    for (int k = 0; k < 400; k++)
        p[k] = (struct pdf_vpoint){50 + k * 0.5f,
                                   (float)(300 + 20 * sin(k * 0.1))};
    add_path(&v, p, 400, 0);
    p[10].y = NAN;
    p[20].x = INFINITY;
    add_path(&v, p, 400, 0);
    p[10].y = 300;
    p[20].x = 60;
    p[399].x = 1e30f;
    add_path(&v, p, 400, 0);
    v.points[v.npoints++] = (struct pdf_vpoint){NAN, NAN};
    CHECK_EQ_INT(wave_extract(&v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_EXTRACTED);
    CHECK_EQ_INT(r.n, 1);
    if (r.n == 1) {
        /* Alone on the page, unlabelled: a single-lead recording, lead
         * I by the layout; no pulse. */
        CHECK_EQ_STR(r.leads[0].name, "I");
        CHECK(r.leads[0].quality & WAVE_Q_LABEL_FROM_LAYOUT);
        CHECK(r.leads[0].quality & WAVE_Q_BASELINE_ESTIMATED);
        CHECK_EQ_INT(r.leads[0].calibration, WAVE_CAL_SETTINGS);
        CHECK(r.leads[0].start_s == 0);
        for (size_t k = 0; k < r.leads[0].n; k++)
            CHECK(isfinite(r.leads[0].samples[k]));
        const char *names[WAVE_Q_COUNT];
        size_t nq = wave_quality_names(r.leads[0].quality, names, 5);
        CHECK_EQ_INT(nq, 2);
        CHECK_EQ_STR(names[0], "label_from_layout");
        CHECK_EQ_STR(names[1], "baseline_estimated");
    }

    /* A zero-size page: nothing lies on it. */
    v.page_w = 0;
    CHECK_EQ_INT(wave_extract(&v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_NO_TRACES);
    v.page_w = NAN;
    v.nimages = 1;
    v.image_area = 1e12;
    CHECK_EQ_INT(wave_extract(&v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_NO_TRACES);

    /* One huge path of a million vertices zigzagging across the page,
     * then half a million tiny monotonic paths: quick, and bounded. */
    v.page_w = 792;
    v.npoints = v.npaths = 0;
    v.nimages = 0;
    v.image_area = 0;
    for (size_t k = 0; k < NPTS; k++)
        v.points[k] =
            (struct pdf_vpoint){(float)(k % 7919) * 0.1f, (float)(k % 613)};
    v.paths[0] = (struct pdf_vpath){.first = 0, .n = NPTS};
    v.npoints = NPTS;
    v.npaths = 1;
    for (size_t k = 0; k < NPTS / 2; k++) {
        size_t at = v.npoints;
        v.points[at] = (struct pdf_vpoint){(float)(k % 790), 5};
        v.points[at + 1] = (struct pdf_vpoint){(float)(k % 790) + 1, 6};
        v.paths[v.npaths++] = (struct pdf_vpath){.first = at, .n = 2};
        v.npoints += 2;
    }
    double t0 = now_s();
    CHECK_EQ_INT(wave_extract(&v, &defaults, &r), 0);
    double took = now_s() - t0;
    CHECK_EQ_INT(r.status, WAVE_NO_TRACES);
    printf("hostile: %zu points, %zu paths in %.3f s\n", v.npoints, v.npaths,
           took);
    CHECK(took < 5.0);

    /* Many trace-like polylines: at most 64 leads come out. */
    v.npoints = v.npaths = 0;
    for (int row = 0; row < 200; row++) {
        for (int k = 0; k < 400; k++)
            p[k] = (struct pdf_vpoint){50 + k * 0.5f,
                                       (float)(3 * row + sin(k * 0.1))};
        add_path(&v, p, 400, 0);
    }
    CHECK_EQ_INT(wave_extract(&v, &defaults, &r), 0);
    CHECK(r.n <= 64 && r.n > 0);

    /* Paths whose ranges point outside the points. */
    v.paths[0].first = v.npoints + 5;
    v.paths[1].n = (size_t)-1;
    CHECK_EQ_INT(wave_extract(&v, &defaults, &r), 0);
out:
    wave_result_release(&r);
    free(v.points);
    free(v.paths);
}

/* Pages drawn another way than the generator's: the pulse and the trace
 * in one path, a trace cut into one path per segment, labels spelled
 * "AVR", a row without a pulse. Built by hand from the same signal. */
struct hand {
    struct pdf_vectors v;
    struct pdf_vpoint pts[16384];
    struct pdf_vpath paths[8192];
    struct pdf_vtext texts[8];
    char text[64];
};

static void hand_point(struct hand *h, double x, double y, bool new_path)
{
    struct pdf_vectors *v = &h->v;
    if (new_path)
        v->paths[v->npaths++] =
            (struct pdf_vpath){.first = v->npoints, .width = 0.6f};
    v->points[v->npoints++] = (struct pdf_vpoint){(float)x, (float)y};
    v->paths[v->npaths - 1].n++;
}

static void hand_label(struct hand *h, const char *s, double x, double y)
{
    struct pdf_vectors *v = &h->v;
    size_t off = v->text_len ? v->text_len + 1 : 0;
    memcpy(v->text + off, s, strlen(s) + 1);
    v->texts[v->ntexts++] = (struct pdf_vtext){.off = off,
                                               .len = strlen(s),
                                               .x = (float)x,
                                               .y = (float)y,
                                               .x1 = (float)(x + 12),
                                               .y1 = (float)y,
                                               .size = 9.0f};
    v->text_len = off + strlen(s);
}

#define PT_MM (72.0 / 25.4)

/* A 1 mV pulse at 10 mm/mV from x = 20 at baseline y0, its tail ending at
 * x = 40. */
static void hand_pulse(struct hand *h, double y0, bool new_path)
{
    double top = y0 - 10 * PT_MM, x1 = 20 + 5 * PT_MM;
    hand_point(h, 15, y0, new_path);
    hand_point(h, 20, y0, false);
    hand_point(h, 20, top, false);
    hand_point(h, x1, top, false);
    hand_point(h, x1, y0, false);
    hand_point(h, 40, y0, false);
}

/* Lead `lead` for 10 s from x = 40, a vertex every 4 ms, at 10 mm/mV. */
static void hand_trace(struct hand *h, int lead, double y0, bool continues,
                       bool pieces)
{
    double pt_per_s = 25 * PT_MM, prev_x = 0, prev_y = 0;
    for (int k = 0; k <= 2500; k++) {
        double t = k * 0.004;
        double x = 40 + t * pt_per_s;
        double y = y0 - pdf_sample_signal(1, 3, lead, t) * 10 * PT_MM;
        if (pieces && k > 0) {
            hand_point(h, prev_x, prev_y, true);
            hand_point(h, x, y, false);
        } else if (!pieces) {
            hand_point(h, x, y, k == 0 && !continues);
        }
        prev_x = x;
        prev_y = y;
    }
}

TEST(other_drawings)
{
    struct hand *h = calloc(1, sizeof(*h));
    CHECK(h != NULL);
    if (!h)
        return;
    h->v = (struct pdf_vectors){.page_w = 792,
                                .page_h = 612,
                                .points = h->pts,
                                .cap_points = 16384,
                                .paths = h->paths,
                                .cap_paths = 8192,
                                .texts = h->texts,
                                .cap_texts = 8,
                                .text = h->text,
                                .text_cap = sizeof(h->text)};
    /* Row 1: pulse and trace in one path. */
    hand_pulse(h, 150, true);
    hand_trace(h, SAMPLE_LEAD_II, 150, true, false);
    hand_label(h, "II", 44, 150 - 12 * PT_MM);
    /* Row 2: the pulse alone, the trace one path per segment. */
    hand_pulse(h, 320, true);
    hand_trace(h, SAMPLE_LEAD_V5, 320, false, true);
    hand_label(h, "V5", 44, 320 - 12 * PT_MM);
    /* Row 3: no pulse, label in capitals. */
    hand_trace(h, SAMPLE_LEAD_AVR, 490, false, false);
    hand_label(h, "AVR", 44, 490 - 12 * PT_MM);

    struct wave_result r = {0};
    CHECK_EQ_INT(wave_extract(&h->v, &defaults, &r), 0);
    CHECK_EQ_INT(r.status, WAVE_EXTRACTED);
    CHECK_EQ_INT(r.n, 3);
    static const char *const want[3] = {"II", "V5", "aVR"};
    static const int lead[3] = {SAMPLE_LEAD_II, SAMPLE_LEAD_V5,
                                SAMPLE_LEAD_AVR};
    for (size_t i = 0; i < r.n && i < 3; i++) {
        const struct wave_lead *l = &r.leads[i];
        CHECK_EQ_STR(l->name, want[i]);
        CHECK(!l->rhythm);
        CHECK(fabs(l->start_s) < 1e-3);
        CHECK(llabs((long long)l->n - 5001) <= 1);
        CHECK(!(l->quality & (WAVE_Q_LABEL_FROM_LAYOUT | WAVE_Q_GAPS)));
        if (i < 2) {
            CHECK_EQ_INT(l->calibration, WAVE_CAL_PULSE);
            CHECK(fabs(l->mm_per_mv - 10) < 0.01);
            double rms = rms_error(1, 3, lead[i], l);
            if (!(rms < 0.01))
                HARNESS_FAIL("%s rms %.5f", l->name, rms);
        } else {
            CHECK_EQ_INT(l->calibration, WAVE_CAL_SETTINGS);
            CHECK(l->quality & WAVE_Q_BASELINE_ESTIMATED);
            CHECK(correlation(1, 3, lead[i], l) > 0.999);
        }
    }
    wave_result_release(&r);
    free(h);
}

TEST(names)
{
    CHECK_EQ_STR(wave_status_name(WAVE_EXTRACTED), "extracted");
    CHECK_EQ_STR(wave_calibration_name(WAVE_CAL_PULSE), "pulse");
    CHECK_EQ_STR(wave_calibration_name(WAVE_CAL_SETTINGS), "settings");
    const char *n[WAVE_Q_COUNT];
    CHECK_EQ_INT(wave_quality_names(0x1f, n, WAVE_Q_COUNT), 5);
    CHECK_EQ_STR(n[0], "label_from_layout");
    CHECK_EQ_STR(n[3], "gaps");
    CHECK_EQ_INT(wave_quality_names(0x1f, n, 2), 2);
}

int main(void)
{
    if (pdf_engine_new(NULL, &engine) || pdf_worker_new(engine, &worker)) {
        fprintf(stderr, "no engine\n");
        return 1;
    }
    RUN(layout_3x4);
    RUN(layout_6x2);
    RUN(layout_12x1);
    RUN(no_labels_named_by_layout);
    RUN(no_calibration_uses_legend);
    RUN(other_sample_rate_and_order);
    RUN(huge_page_and_cost);
    RUN(raster_and_text_pages);
    RUN(vectors_collected);
    RUN(display_list_shared);
    RUN(hostile_vectors);
    RUN(other_drawings);
    RUN(names);
    printf("worst RMS error against the drawn signal: %.5f mV\n", worst_rms);
    pdf_worker_free(worker);
    pdf_engine_free(engine);
    return harness_done();
}
