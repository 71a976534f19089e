/* What a synthetic sample shows: its page-1 report fields, its 12-lead
 * signal and where each layout draws it. Pure functions of (seed, index);
 * no MuPDF here, so the signal can be evaluated anywhere. */
#include "samples/samples_int.h"

#include <assert.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"

/* ------------------------------------------------------------------ PRNG */

/* splitmix64: tiny, fast, and good enough for test data; never rand(),
 * whose sequence differs between C libraries. */
struct smp_rng {
    uint64_t s;
};

static uint64_t rng_next(struct smp_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Independent streams per (seed, index, purpose), so adding a field to the
 * report never changes the waveform of an existing corpus. */
static void rng_init(struct smp_rng *r, uint64_t seed, int index,
                     unsigned stream)
{
    r->s = seed;
    uint64_t a = rng_next(r);
    r->s = a ^ ((uint64_t)(uint32_t)index * 0xd1b54a32d192ed03ULL) ^
           ((uint64_t)stream * 0x8cb92ba72f3d8dd7ULL);
    (void)rng_next(r);
}

uint64_t smp_hash(uint64_t seed, int index, unsigned stream)
{
    struct smp_rng r;
    rng_init(&r, seed, index, stream);
    return rng_next(&r);
}

/* Uniform in [0, 1). */
static double rng_unit(struct smp_rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_range(struct smp_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* Uniform integer in [lo, hi]. */
static int rng_int(struct smp_rng *r, int lo, int hi)
{
    return lo + (int)(rng_unit(r) * (double)(hi - lo + 1));
}

#define PICK(r, arr)                                                           \
    ((arr)[rng_int((r), 0, (int)(sizeof(arr) / sizeof((arr)[0])) - 1)])

/* ----------------------------------------------------------------- dates */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Day number (days since 1900-01-01) to a civil date; a plain loop is
 * plenty for the ~150 years used here. */
static void civil_from_days(long days, int *y, int *m, int *d)
{
    int yr = 1900;
    while (days >= (is_leap(yr) ? 366 : 365)) {
        days -= is_leap(yr) ? 366 : 365;
        yr++;
    }
    int mo = 1;
    while (days >= month_days(yr, mo)) {
        days -= month_days(yr, mo);
        mo++;
    }
    *y = yr;
    *m = mo;
    *d = (int)days + 1;
}

static long days_from_civil(int y, int m, int d)
{
    long days = 0;
    for (int yr = 1900; yr < y; yr++)
        days += is_leap(yr) ? 366 : 365;
    for (int mo = 1; mo < m; mo++)
        days += month_days(y, mo);
    return days + d - 1;
}

/* ---------------------------------------------------------------- report */

/* Latin-1 accents on purpose: text extraction must produce proper UTF-8. */
static const char *const male_names[] = {
    "José", "François", "Jürgen", "Sören", "Björn", "Joël",  "James",  "Wei",
    "Noah", "Kenji",    "Liam",   "Omar",  "Mateo", "Ángel", "Dmitri", "Kwame"};
static const char *const female_names[] = {
    "Zoë",  "Chloé", "Inês",   "Agnès", "Maria", "Aisha",   "Olivia", "Priya",
    "Hana", "Grace", "Ingrid", "Ruth",  "Renée", "Siobhán", "Mei",    "Amara"};
static const char *const last_names[] = {
    "Müller", "Ångström", "Øvrebø",  "Núñez",  "Lefèvre",  "García",
    "Smith",  "Johnson",  "Nguyen",  "Okafor", "Kowalski", "Brown",
    "Tanaka", "Rossi",    "Haddad",  "Novak",  "Fischer",  "Dubois",
    "Jensen", "Walsh",    "Þórsson", "Åberg",  "Gómez",    "Weiß"};
static const char *const institutions[] = {
    "Northgate University Hospital",  "Hôpital Saint-Éloi",
    "Lakeview Cardiology Clinic",     "St. Brendan's Medical Center",
    "Universitätsklinikum Nordstadt", "Riverbend Community Hospital"};
static const char *const devices[] = {"MAC 5500 HD", "MAC 2000",
                                      "PageWriter TC70", "ELI 380",
                                      "CardioSoft CS-12"};
static const char *const extra_findings[] = {"Nonspecific T wave abnormality",
                                             "Possible left atrial enlargement",
                                             "Low voltage QRS",
                                             "Early repolarization",
                                             "Nonspecific ST abnormality",
                                             "Poor R wave progression"};

static void add_interp(struct smp_report *r, const char *s)
{
    assert(r->ninterp < SMP_MAX_INTERP);
    r->interp[r->ninterp++] = s;
}

static void report_init(struct smp_report *r, uint64_t seed, int index)
{
    struct smp_rng g;
    rng_init(&g, seed, index, 1);
    memset(r, 0, sizeof(*r));

    snprintf(r->institution, sizeof(r->institution), "%s",
             PICK(&g, institutions));
    bool male = rng_unit(&g) < 0.5;
    const char *first = male ? PICK(&g, male_names) : PICK(&g, female_names);
    const char *last = PICK(&g, last_names);
    /* Index 0 of every corpus shows the accented example from the issue. */
    if (index == 0) {
        male = true;
        first = "José";
        last = "Müller";
    }
    snprintf(r->name, sizeof(r->name), "%s %s", first, last);
    snprintf(r->sex, sizeof(r->sex), "%s", male ? "Male" : "Female");
    snprintf(r->patient_id, sizeof(r->patient_id), "MRN-%08d",
             rng_int(&g, 1000000, 99999999));

    int y, m, d, ay, am, ad;
    long dob = days_from_civil(1925, 1, 1) + rng_int(&g, 0, 80 * 365);
    civil_from_days(dob, &y, &m, &d);
    snprintf(r->dob, sizeof(r->dob), "%04d-%02d-%02d", y, m, d);
    long acq = days_from_civil(2022, 1, 1) + rng_int(&g, 0, 3 * 365 - 1);
    int secs = rng_int(&g, 0, 86399);
    civil_from_days(acq, &ay, &am, &ad);
    snprintf(r->acquired, sizeof(r->acquired), "%04d-%02d-%02d %02d:%02d:%02d",
             ay, am, ad, secs / 3600, secs / 60 % 60, secs % 60);
    r->age = ay - y - ((am < m || (am == m && ad < d)) ? 1 : 0);
    snprintf(r->device, sizeof(r->device), "%s", PICK(&g, devices));

    /* Intervals: physiologically plausible and mutually consistent (QTc is
     * Bazett's correction of the printed QT at the printed rate). */
    r->vent_rate = rng_int(&g, 45, 130);
    double rr = 60.0 / r->vent_rate;
    r->pr = 2 * rng_int(&g, 60, r->vent_rate > 110 ? 85 : 110);
    r->qrs = 2 * rng_int(&g, 38, 64);
    int qtc_target = rng_int(&g, 370, 490);
    r->qt = 2 * (int)lround(qtc_target * sqrt(rr) / 2.0);
    r->qtc = (int)lround(r->qt / sqrt(rr));
    r->p_axis = rng_int(&g, 0, 75);
    r->r_axis = rng_int(&g, -40, 100);
    r->t_axis = rng_int(&g, -10, 80);

    bool major = false;
    if (r->vent_rate < 60)
        add_interp(r, "Sinus bradycardia");
    else if (r->vent_rate > 100)
        add_interp(r, "Sinus tachycardia");
    else
        add_interp(r, "Normal sinus rhythm");
    if (r->pr > 200) {
        add_interp(r, "First degree AV block");
        major = true;
    }
    if (r->qrs >= 110)
        add_interp(r, "Nonspecific intraventricular conduction delay");
    if (r->r_axis < -30) {
        add_interp(r, "Left axis deviation");
        major = true;
    } else if (r->r_axis > 90) {
        add_interp(r, "Right axis deviation");
        major = true;
    }
    int qtc_limit = strcmp(r->sex, "Male") == 0 ? 450 : 460;
    if (r->qtc > qtc_limit) {
        add_interp(r, "Prolonged QT");
        major = true;
    }
    if (rng_unit(&g) < 0.3)
        add_interp(r, PICK(&g, extra_findings));
    if (r->ninterp == 1 && r->vent_rate >= 60 && r->vent_rate <= 100)
        add_interp(r, "Normal ECG");
    else if (r->ninterp == 1)
        add_interp(r, "Otherwise normal ECG");
    else
        add_interp(r, major ? "Abnormal ECG" : "Borderline ECG");
}

/* ---------------------------------------------------------------- signal */

#define DEG (M_PI / 180.0)

/* Per-lead amplitudes of a wave whose frontal-plane vector has magnitude a
 * (mV) and direction angle (degrees, 0 = patient's left, +90 = feet). Only
 * I and III are projections; the others are Einthoven/Goldberger
 * combinations, so II = I + III holds exactly. */
static void frontal(struct smp_wave *w, double a, double angle)
{
    double i = a * cos(angle * DEG);
    double iii = a * cos((angle - 120.0) * DEG);
    double ii = i + iii;
    w->amp[SAMPLE_LEAD_I] = i;
    w->amp[SAMPLE_LEAD_II] = ii;
    w->amp[SAMPLE_LEAD_III] = iii;
    w->amp[SAMPLE_LEAD_AVR] = -(i + ii) / 2.0;
    w->amp[SAMPLE_LEAD_AVL] = (i - iii) / 2.0;
    w->amp[SAMPLE_LEAD_AVF] = (ii + iii) / 2.0;
}

/* Chest-lead templates (mV): P, septal q, R, S, T; typical R/S
 * progression from V1 to V6. */
static const double precordial[6][SMP_W_COUNT] = {
    {0.06, 0.00, 0.22, -0.95, -0.10}, /* V1 */
    {0.08, 0.00, 0.42, -1.35, 0.45},  /* V2 */
    {0.08, 0.00, 0.78, -0.95, 0.55},  /* V3 */
    {0.09, -0.04, 1.25, -0.60, 0.50}, /* V4 */
    {0.09, -0.07, 1.40, -0.35, 0.40}, /* V5 */
    {0.08, -0.09, 1.15, -0.20, 0.30}, /* V6 */
};

void smp_model_init(struct smp_model *m, uint64_t seed, int index)
{
    memset(m, 0, sizeof(*m));
    report_init(&m->rep, seed, index);
    const struct smp_report *r = &m->rep;
    struct smp_rng g;
    rng_init(&g, seed, index, 2);

    double qrs = r->qrs / 1000.0, pr = r->pr / 1000.0, qt = r->qt / 1000.0;
    struct smp_wave *w = m->wave;
    w[SMP_W_P].at = -pr + 0.045;
    w[SMP_W_P].sigma = 0.018;
    w[SMP_W_Q].at = 0.15 * qrs;
    w[SMP_W_Q].sigma = 0.06 * qrs;
    w[SMP_W_R].at = 0.45 * qrs;
    w[SMP_W_R].sigma = 0.11 * qrs;
    w[SMP_W_S].at = 0.76 * qrs;
    w[SMP_W_S].sigma = 0.09 * qrs;
    w[SMP_W_T].sigma = 0.035 + 0.03 * qt;
    w[SMP_W_T].at = qt - 2.6 * w[SMP_W_T].sigma;

    frontal(&w[SMP_W_P], rng_range(&g, 0.12, 0.22), r->p_axis);
    frontal(&w[SMP_W_Q], rng_range(&g, 0.08, 0.16), r->r_axis + 165.0);
    frontal(&w[SMP_W_R], rng_range(&g, 0.9, 1.6), r->r_axis);
    frontal(&w[SMP_W_S], rng_range(&g, 0.2, 0.45), r->r_axis + 195.0);
    frontal(&w[SMP_W_T], rng_range(&g, 0.25, 0.5), r->t_axis);

    double qrs_gain = rng_range(&g, 0.8, 1.2);
    double t_gain = rng_range(&g, 0.8, 1.2);
    for (int v = 0; v < 6; v++) {
        int lead = SAMPLE_LEAD_V1 + v;
        for (int k = 0; k < SMP_W_COUNT; k++) {
            double gain = k == SMP_W_T ? t_gain : k == SMP_W_P ? 1.0 : qrs_gain;
            w[k].amp[lead] = precordial[v][k] * gain;
        }
    }
    m->lo = w[SMP_W_P].at - 6.0 * w[SMP_W_P].sigma;
    m->hi = w[SMP_W_T].at + 6.0 * w[SMP_W_T].sigma;

    /* QRS onsets with a little sinus variability, from before the start so
     * the recording opens mid-rhythm, to after its end. */
    double rr = 60.0 / r->vent_rate;
    double t = rng_range(&g, 0.05, 1.0) * rr - 2.0 * rr;
    while (t < PDF_SAMPLE_SECONDS + 1.0) {
        assert(m->nbeats < SMP_MAX_BEATS);
        m->onset[m->nbeats++] = t;
        t += rr * (1.0 + rng_range(&g, -0.03, 0.03));
    }

    for (int lead = 0; lead < SAMPLE_LEAD_COUNT; lead++) {
        m->wander_amp[lead] = rng_range(&g, 0.01, 0.05);
        m->wander_omega[lead] = 2.0 * M_PI * rng_range(&g, 0.12, 0.33);
        m->wander_phase[lead] = rng_range(&g, 0.0, 2.0 * M_PI);
    }
}

static double wander(const struct smp_model *m, int lead, double t)
{
    return m->wander_amp[lead] *
           sin(m->wander_omega[lead] * t + m->wander_phase[lead]);
}

double smp_model_eval(const struct smp_model *m, int lead, double t)
{
    double v = 0.0;
    for (int b = 0; b < m->nbeats; b++) {
        double d = t - m->onset[b];
        if (d < m->lo || d > m->hi)
            continue;
        for (int k = 0; k < SMP_W_COUNT; k++) {
            double z = (d - m->wave[k].at) / m->wave[k].sigma;
            v += m->wave[k].amp[lead] * exp(-0.5 * z * z);
        }
    }
    double wi = wander(m, SAMPLE_LEAD_I, t);
    double wiii = wander(m, SAMPLE_LEAD_III, t);
    switch (lead) {
    case SAMPLE_LEAD_I:
        return v + wi;
    case SAMPLE_LEAD_II:
        return v + (wi + wiii);
    case SAMPLE_LEAD_III:
        return v + wiii;
    case SAMPLE_LEAD_AVR:
        return v - (wi + (wi + wiii)) / 2.0;
    case SAMPLE_LEAD_AVL:
        return v + (wi - wiii) / 2.0;
    case SAMPLE_LEAD_AVF:
        return v + ((wi + wiii) + wiii) / 2.0;
    default:
        return v + wander(m, lead, t);
    }
}

double pdf_sample_signal(uint64_t seed, int index, int lead, double t)
{
    if (lead < 0 || lead >= SAMPLE_LEAD_COUNT || index < 0)
        return NAN;
    struct smp_model m;
    smp_model_init(&m, seed, index);
    return smp_model_eval(&m, lead, t);
}

/* -------------------------------------------------------------- geometry */

/* The paper: 270 x 190 mm (54 x 38 large boxes) on the 279.4 x 215.9 mm
 * landscape page, leaving room for a header above and a footer below. The
 * default crop of the original pipeline, (100,100)-(300,300) px at 100 dpi
 * = 25.4-76.2 mm on both axes, falls on the first row in every layout. */
#define GRID_X0_MM 5.0
#define GRID_X1_MM 275.0
#define GRID_Y0_MM 18.0
#define GRID_Y1_MM 208.0
#define TRACE_X0_MM 15.0 /* after the calibration pulse */

static void add_segment(struct pdf_sample_geometry *g, int lead, double t0,
                        double t1, double x0, double y0, double lx, double ly)
{
    assert(g->nsegments < PDF_SAMPLE_MAX_SEGMENTS);
    struct pdf_sample_segment *s = &g->segment[g->nsegments++];
    s->lead = lead;
    s->t0 = t0;
    s->t1 = t1;
    s->points = (int)lround((t1 - t0) / PDF_SAMPLE_DT) + 1;
    s->x0 = x0;
    s->y0 = y0;
    s->label_x = lx;
    s->label_y = ly;
}

static void add_calibration(struct pdf_sample_geometry *g, double y0)
{
    assert(g->ncalibrations < PDF_SAMPLE_MAX_ROWS);
    struct pdf_sample_calibration *c = &g->calibration[g->ncalibrations++];
    c->x0 = (GRID_X0_MM + 3.0) * SMP_MM;
    c->x1 = c->x0 + 0.2 * g->pt_per_s;
    c->y0 = y0;
    c->y1 = y0 - g->pt_per_mv;
}

int pdf_sample_geometry(enum sample_layout layout,
                        struct pdf_sample_geometry *out)
{
    static const int rows3x4[3][4] = {
        {SAMPLE_LEAD_I, SAMPLE_LEAD_AVR, SAMPLE_LEAD_V1, SAMPLE_LEAD_V4},
        {SAMPLE_LEAD_II, SAMPLE_LEAD_AVL, SAMPLE_LEAD_V2, SAMPLE_LEAD_V5},
        {SAMPLE_LEAD_III, SAMPLE_LEAD_AVF, SAMPLE_LEAD_V3, SAMPLE_LEAD_V6}};
    if ((unsigned)layout >= SAMPLE_LAYOUT_COUNT || !out)
        return ETL_EINVAL;
    struct pdf_sample_geometry *g = out;
    memset(g, 0, sizeof(*g));
    g->layout = layout;
    g->pt_per_s = 25.0 * SMP_MM;
    g->pt_per_mv = (layout == SAMPLE_LAYOUT_12X1 ? 5.0 : 10.0) * SMP_MM;
    g->grid_x0 = GRID_X0_MM * SMP_MM;
    g->grid_y0 = GRID_Y0_MM * SMP_MM;
    g->grid_x1 = GRID_X1_MM * SMP_MM;
    g->grid_y1 = GRID_Y1_MM * SMP_MM;
    double x0 = TRACE_X0_MM * SMP_MM;

    switch (layout) {
    case SAMPLE_LAYOUT_3X4:
        for (int r = 0; r < 4; r++) {
            double y0 = (GRID_Y0_MM + 30.0 + 45.0 * r) * SMP_MM;
            add_calibration(g, y0);
            if (r == 3) {
                add_segment(g, SAMPLE_LEAD_II, 0.0, PDF_SAMPLE_SECONDS, x0, y0,
                            x0 + 1.5 * SMP_MM, y0 - 12.0 * SMP_MM);
                break;
            }
            for (int c = 0; c < 4; c++) {
                double cx = x0 + 2.5 * c * g->pt_per_s;
                add_segment(g, rows3x4[r][c], 2.5 * c, 2.5 * (c + 1), cx, y0,
                            cx + 1.5 * SMP_MM, y0 - 12.0 * SMP_MM);
            }
        }
        break;
    case SAMPLE_LAYOUT_6X2:
        for (int r = 0; r < 6; r++) {
            double y0 = (GRID_Y0_MM + 20.0 + 30.0 * r) * SMP_MM;
            add_calibration(g, y0);
            for (int c = 0; c < 2; c++) {
                double cx = x0 + 5.0 * c * g->pt_per_s;
                add_segment(g, c ? SAMPLE_LEAD_V1 + r : SAMPLE_LEAD_I + r,
                            5.0 * c, 5.0 * (c + 1), cx, y0, cx + 1.5 * SMP_MM,
                            y0 - 10.0 * SMP_MM);
            }
        }
        break;
    case SAMPLE_LAYOUT_12X1:
        for (int r = 0; r < 12; r++) {
            double y0 = (GRID_Y0_MM + 12.0 + 15.0 * r) * SMP_MM;
            add_calibration(g, y0);
            add_segment(g, SAMPLE_LEAD_I + r, 0.0, PDF_SAMPLE_SECONDS, x0, y0,
                        (GRID_X0_MM + 1.0) * SMP_MM, y0 - 6.5 * SMP_MM);
        }
        break;
    default:
        return ETL_EINVAL;
    }
    return 0;
}
