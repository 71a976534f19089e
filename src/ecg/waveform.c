/* A document's pages to leads (see waveform.h): each page is analysed by
 * wave_page.c into segments on the page's own time axis; here they are
 * placed on the recording's, joined to the leads of earlier pages and
 * resampled onto the recording's grid of 1/rate seconds.
 *
 * A page whose named leads were all seen before either repeats them (its
 * samples match theirs at the same times: a rhythm page, kept as rows of
 * its own) or continues them (it starts where they ended, one vertex
 * step after their last vertex). Any other page starts at the recording's
 * start. Resampling interpolates linearly between vertices, also across
 * the step from one page's last vertex to the next page's first. */
#include "ecg/waveform.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "ecg/wave_int.h"
#include "pdf/pdf.h"

#define MAX_LEADS 64               /* per document */
#define MAX_DOC_SAMPLES (1u << 22) /* all leads of a document: 16 MiB */
#define DUP_MIN_S 0.5              /* overlap needed to call a repeat */
#define DUP_CORR 0.9               /* ... and how alike it must be */
#define CARRY_LEVEL_MM 2.0         /* rows this close are the same row */

struct dlead {
    struct wave_lead l;
    size_t cap;
    int lead;      /* index in wave_std_names, or -1 */
    int64_t k0;    /* index of samples[0] on the recording's grid */
    double last_t; /* time and value of the last vertex taken */
    float last_v;
    double step; /* its segment's vertex step */
    int last_page;
    /* The level and gain its last part was read with (points). */
    double base_y, pt_per_mv;
    bool pulse;
};

struct wave_doc {
    struct wave_settings s;
    struct dlead *leads;
    size_t n;
    size_t samples; /* in all leads */
    struct wave_strip *strips;
    size_t nstrips;
    bool any_raster;
    struct wave_page page;
};

static bool settings_ok(const struct wave_settings *s)
{
    return s && isfinite(s->paper_speed_mm_s) && s->paper_speed_mm_s > 0 &&
           s->paper_speed_mm_s <= 1000 && isfinite(s->gain_mm_mv) &&
           s->gain_mm_mv > 0 && s->gain_mm_mv <= 1000 &&
           s->sample_rate_hz >= 1 && s->sample_rate_hz <= 100000;
}

int wave_doc_new(const struct wave_settings *s, struct wave_doc **out)
{
    *out = NULL;
    if (!settings_ok(s))
        return ETL_EINVAL;
    struct wave_doc *d = calloc(1, sizeof(*d));
    if (!d)
        return ETL_ENOMEM;
    d->s = *s;
    d->page.status = WAVE_NO_TRACES;
    *out = d;
    return 0;
}

static void free_leads(struct wave_doc *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->leads[i].l.samples);
    free(d->leads);
    d->leads = NULL;
    d->n = 0;
    d->samples = 0;
}

void wave_doc_free(struct wave_doc *d)
{
    if (!d)
        return;
    free_leads(d);
    free(d->strips);
    wave_page_release(&d->page);
    free(d);
}

/* The value of segment g at time t (its times shifted by off), walking
 * forward from *j (t never decreases between calls). */
static double seg_at(const struct wave_seg *g, double off, double t, size_t *j)
{
    while (*j + 1 < g->n && g->t[*j + 1] + off < t)
        (*j)++;
    if (*j + 1 >= g->n)
        return g->v[g->n - 1];
    double ta = g->t[*j] + off, tb = g->t[*j + 1] + off;
    if (!(tb > ta) || t <= ta)
        return g->v[*j];
    double f = (t - ta) / (tb - ta);
    f = f > 1 ? 1 : f;
    return g->v[*j] + f * (g->v[*j + 1] - g->v[*j]);
}

static double lead_end(const struct dlead *L)
{
    return (double)(L->k0 + (int64_t)L->l.n - 1) / L->l.sample_rate_hz;
}

/* Does g (at its page times) repeat L where both cover the same time? */
static bool repeats(const struct dlead *L, const struct wave_seg *g)
{
    double rate = L->l.sample_rate_hz;
    double a = fmax(g->t[0], L->l.start_s);
    double b = fmin(g->t[g->n - 1], lead_end(L));
    if (b - a < DUP_MIN_S)
        return false;
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, n = 0;
    size_t j = 0;
    for (int64_t k = (int64_t)ceil(a * rate); (double)k / rate <= b; k++) {
        int64_t i = k - L->k0;
        if (i < 0 || (size_t)i >= L->l.n)
            continue;
        double x = L->l.samples[i], y = seg_at(g, 0, (double)k / rate, &j);
        sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y, n++;
    }
    double vx = sxx - sx * sx / n, vy = syy - sy * sy / n;
    if (!(n > 2) || !(vx > 0) || !(vy > 0))
        return false;
    return (sxy - sx * sy / n) / sqrt(vx * vy) >= DUP_CORR;
}

/* Does L already hold g (at its page times): over all of g's time, alike? */
static bool covers(const struct dlead *L, const struct wave_seg *g)
{
    return L && g->t[0] >= L->l.start_s - L->step &&
           g->t[g->n - 1] <= lead_end(L) + L->step && repeats(L, g);
}

static struct dlead *find_lead(struct wave_doc *d, int lead, bool rhythm)
{
    for (size_t i = 0; lead >= 0 && i < d->n; i++) {
        if (d->leads[i].lead == lead && d->leads[i].l.rhythm == rhythm)
            return &d->leads[i];
    }
    return NULL;
}

static int push_sample(struct wave_doc *d, struct dlead *L, float v)
{
    if (L->l.n >= WAVE_MAX_LEAD_SAMPLES || d->samples >= MAX_DOC_SAMPLES)
        return 1; /* full: the rest is dropped, flagged by the caller */
    if (L->l.n == L->cap) {
        size_t c = L->cap ? 2 * L->cap : 1024;
        float *q = realloc(L->l.samples, c * sizeof(*q));
        if (!q)
            return ETL_ENOMEM;
        L->l.samples = q;
        L->cap = c;
    }
    L->l.samples[L->l.n++] = v;
    d->samples++;
    return 0;
}

/* Resample g (times shifted by off, values v * gain + shift) onto the
 * grid after L's last sample; between L's last vertex and g's first the
 * line joins them. */
static int append(struct wave_doc *d, struct dlead *L, const struct wave_seg *g,
                  double off, double gain, double shift)
{
    double rate = d->s.sample_rate_hz;
    double first = g->t[0] + off, last = g->t[g->n - 1] + off;
    if (L->l.n == 0) {
        L->k0 = (int64_t)ceil(first * rate - 1e-6);
        L->l.start_s = (double)L->k0 / rate;
    }
    size_t j = 0;
    for (int64_t k = L->k0 + (int64_t)L->l.n;; k++) {
        double t = (double)k / rate;
        if (g->open_end ? t > last - 1e-6 : t > last + 1e-6)
            break;
        double v;
        if (t < first && L->l.n > 0 && first > L->last_t) {
            double f = (t - L->last_t) / (first - L->last_t);
            v = L->last_v + f * (g->v[0] * gain + shift - L->last_v);
        } else {
            v = seg_at(g, off, t, &j) * gain + shift;
        }
        int rc = push_sample(d, L, (float)v);
        if (rc == 1) {
            L->l.quality |= WAVE_Q_GAPS;
            break;
        }
        if (rc)
            return rc;
    }
    L->last_t = last;
    L->last_v = (float)(g->v[g->n - 1] * gain + shift);
    L->step = g->step;
    return 0;
}

static int new_lead(struct wave_doc *d, const struct wave_seg *g, int page,
                    const char *layout, struct dlead **out)
{
    *out = NULL;
    if (d->n >= MAX_LEADS)
        return 0;
    if (d->n % 16 == 0) {
        struct dlead *q = realloc(d->leads, (d->n + 16) * sizeof(*q));
        if (!q)
            return ETL_ENOMEM;
        d->leads = q;
    }
    struct dlead *L = &d->leads[d->n++];
    memset(L, 0, sizeof(*L));
    L->lead = g->lead;
    snprintf(L->l.name, sizeof(L->l.name), "%s",
             g->lead >= 0 ? wave_std_names[g->lead] : "?");
    L->l.rhythm = g->rhythm;
    L->l.sample_rate_hz = d->s.sample_rate_hz;
    L->l.calibration = g->calibration;
    L->l.mm_per_mv = g->mm_per_mv;
    L->l.speed_source = g->speed_source;
    L->l.paper_speed_mm_s = g->speed_mm_s;
    L->l.quality = g->quality;
    L->l.page = page;
    L->l.pages = 1;
    L->last_page = page;
    snprintf(L->l.layout, sizeof(L->l.layout), "%s", layout);
    *out = L;
    return 0;
}

/* Where this page's times go on the recording: 0, or (a continuation)
 * after the end of the leads it continues. *repeat says the page repeats
 * leads already read. */
static double page_offset(const struct wave_doc *d, const struct wave_page *p,
                          bool *repeat)
{
    *repeat = false;
    size_t named = 0, seen = 0;
    double end = -INFINITY, start = INFINITY;
    for (size_t i = 0; i < p->nseg; i++) {
        const struct wave_seg *g = &p->seg[i];
        if (g->lead < 0)
            continue;
        named++;
        const struct dlead *L =
            find_lead((struct wave_doc *)d, g->lead, g->rhythm);
        if (!L)
            continue;
        seen++;
        *repeat |= repeats(L, g);
        end = fmax(end, L->last_t + L->step);
        start = fmin(start, g->t[0]);
    }
    if (named == 0 || seen < named || *repeat)
        return 0;
    return end - start;
}

int wave_doc_add_page(struct wave_doc *d, int page, const struct pdf_vectors *v,
                      struct wave_page_info *info)
{
    if (info)
        *info = (struct wave_page_info){.status = WAVE_NO_TRACES};
    d->nstrips = 0;
    int rc = wave_page_analyze(v, &d->s, &d->page);
    if (rc)
        return rc;
    const struct wave_page *p = &d->page;
    d->any_raster |= p->status == WAVE_RASTER_ONLY;
    if (p->nseg) {
        struct wave_strip *s = realloc(d->strips, p->nseg * sizeof(*s));
        if (!s)
            return ETL_ENOMEM;
        d->strips = s;
    }
    bool repeat;
    double off = page_offset(d, p, &repeat);
    for (size_t i = 0; i < p->nseg; i++) {
        const struct wave_seg *g = &p->seg[i];
        struct dlead *L = find_lead(d, g->lead, g->rhythm);
        bool second = false;
        if (repeat && L) {
            /* A page repeating leads already read: what is already there
             * (as a lead or as its rhythm strip) is not written twice; the
             * rest are second rows of their leads, rhythm strips. */
            if (covers(L, g) || covers(find_lead(d, g->lead, !g->rhythm), g))
                continue;
            L = NULL;
            second = true;
        }
        /* Appended only where it starts after the lead's end, across at
         * most a few vertex steps (or 0.1 s); else a row of its own. */
        if (L) {
            double gap = g->t[0] + off - L->last_t;
            if (!(gap > -0.5 * L->step && gap <= fmax(4 * L->step, 0.1)))
                L = NULL;
        }
        double gain = 1, shift = 0;
        if (L) {
            if (L->last_page != page)
                L->l.pages++;
            L->last_page = page;
            unsigned q = g->quality;
            enum wave_calibration cal = g->calibration;
            /* A continued page in the same layout without its own pulse
             * (a device prints it on the first page only): its rows read
             * with the level and gain of the earlier part's pulse. */
            if (!g->pulse && L->pulse &&
                fabs(g->base_y - L->base_y) <= CARRY_LEVEL_MM * WAVE_MM) {
                gain = g->pt_per_mv / L->pt_per_mv;
                shift = (L->base_y - g->base_y) / L->pt_per_mv;
                q &= ~WAVE_Q_BASELINE_ESTIMATED;
                cal = WAVE_CAL_PULSE;
            } else {
                L->base_y = g->base_y;
                L->pt_per_mv = g->pt_per_mv;
                L->pulse = g->pulse;
            }
            /* The lead is as well calibrated as its least well calibrated
             * part (the enums go from the page's own to the settings'). */
            if (cal > L->l.calibration)
                L->l.calibration = cal;
            if (g->speed_source > L->l.speed_source)
                L->l.speed_source = g->speed_source;
            L->l.quality |= q;
        } else {
            rc = new_lead(d, g, page, p->layout, &L);
            if (rc)
                return rc;
            if (!L)
                continue; /* MAX_LEADS */
            L->l.rhythm |= second;
            L->base_y = g->base_y;
            L->pt_per_mv = g->pt_per_mv;
            L->pulse = g->pulse;
        }
        rc = append(d, L, g, off, gain, shift);
        if (rc)
            return rc;
        if (L->l.n == 0 && L == &d->leads[d->n - 1]) {
            /* New, and shorter than one step of the grid: not a lead. */
            free(L->l.samples);
            d->n--;
            continue;
        }
        struct wave_strip *st = &d->strips[d->nstrips++];
        *st = (struct wave_strip){.lead = (size_t)(L - d->leads),
                                  .rhythm = L->l.rhythm,
                                  .box = g->box};
        memcpy(st->name, L->l.name, sizeof(st->name));
    }
    if (info)
        *info = (struct wave_page_info){p->status, d->strips, d->nstrips};
    return 0;
}

int wave_doc_finish(struct wave_doc *d, struct wave_result *out)
{
    wave_result_release(out);
    /* Every lead holds a sample (add_page drops those that do not), so the
     * indices the strips gave stay valid. */
    if (d->n) {
        out->leads = calloc(d->n, sizeof(*out->leads));
        if (!out->leads)
            return ETL_ENOMEM;
        for (size_t i = 0; i < d->n; i++) {
            out->leads[out->n++] = d->leads[i].l;
            d->leads[i].l.samples = NULL;
        }
    }
    out->status = out->n          ? WAVE_EXTRACTED
                  : d->any_raster ? WAVE_RASTER_ONLY
                                  : WAVE_NO_TRACES;
    free_leads(d);
    d->any_raster = false;
    d->nstrips = 0;
    return 0;
}

int wave_extract(const struct pdf_vectors *v, const struct wave_settings *s,
                 struct wave_result *out)
{
    if (!out)
        return ETL_EINVAL;
    wave_result_release(out);
    if (!v)
        return ETL_EINVAL;
    struct wave_doc *d = NULL;
    int rc = wave_doc_new(s, &d);
    if (!rc)
        rc = wave_doc_add_page(d, 0, v, NULL);
    if (!rc)
        rc = wave_doc_finish(d, out);
    wave_doc_free(d);
    if (rc)
        wave_result_release(out);
    return rc;
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
    case WAVE_CAL_LEGEND:
        return "legend";
    case WAVE_CAL_GRID:
        return "grid";
    case WAVE_CAL_SETTINGS:
        return "settings";
    default:
        return "?";
    }
}

const char *wave_speed_source_name(enum wave_speed_source s)
{
    switch (s) {
    case WAVE_SPEED_LEGEND:
        return "legend";
    case WAVE_SPEED_GRID:
        return "grid";
    case WAVE_SPEED_SETTINGS:
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
