/* Internals of waveform extraction shared by wave_page.c (one page's
 * vectors to lead segments) and waveform.c (a document's pages to leads). */
#ifndef ETL_ECG_WAVE_INT_H
#define ETL_ECG_WAVE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "ecg/waveform.h"

#define WAVE_MM (72.0 / 25.4)        /* points per millimetre at 1:1 */
#define WAVE_MAX_LEAD_SAMPLES 262144 /* a longer lead is no printed ECG */

/* The standard lead names, in the standard order (index = lead number). */
extern const char *const wave_std_names[12];

/* One lead segment drawn on a page, in the page's own time: t[0] is the
 * first vertex, t non-decreasing, v in mV. */
struct wave_seg {
    int lead;    /* index in wave_std_names, or -1 (unnamed) */
    bool rhythm; /* a rhythm strip */
    unsigned quality;
    enum wave_calibration calibration;
    double mm_per_mv;
    enum wave_speed_source speed_source;
    double speed_mm_s;
    double step; /* median time between vertices (s) */
    /* How v was read: its row's 0 mV level and 1 mV in points, and whether
     * a pulse on the page gave them (a continued page without pulses takes
     * the earlier page's for a row at the same place). */
    double base_y, pt_per_mv;
    bool pulse;
    double *t; /* n times (s), owned */
    float *v;  /* n values (mV), owned */
    size_t n;
    bool open_end;       /* cut where the next lead starts: samples stop short
                            of t[n - 1] */
    struct wave_box box; /* the strip on the page, for lead crops */
};

/* What one page holds. */
struct wave_page {
    enum wave_status status;
    struct wave_seg *seg; /* rows top to bottom, then left to right */
    size_t nseg;
    char layout[16]; /* "3x4+1", "6x2", "12x1", "6x1", "1x3w", ... */
};

/* Analyse one page's vectors into out (zero-initialised or released).
 * Returns 0, ETL_ENOMEM. Settings are checked by the caller. */
int wave_page_analyze(const struct pdf_vectors *v,
                      const struct wave_settings *s, struct wave_page *out);
void wave_page_release(struct wave_page *p);

/* The lead a label's text names (UTF-8, len bytes), or -1: the standard
 * names as written, case variants of the augmented and chest leads
 * ("AVR", "v1"), Unicode Roman numerals, with a trailing ':' or '.'.
 * Exposed for tests. */
int wave_lead_of(const char *s, size_t len);

#endif
