/* Waveforms as data: the ECG leads of a vector page as calibrated samples.
 *
 * Input is what pdf_doc_vectors() collected from the crop page's display
 * list (the one the crops were rendered from): stroked and filled paths as
 * polylines in page space, text runs with their positions, and the images
 * drawn. wave_extract() finds the traces (long polylines monotonic in x,
 * not the grid's short regular lines, not text, not calibration pulses),
 * reads the 1 mV calibration pulses (else the settings' gain), names each
 * trace by the nearest lead label (I, II, III, aVR, aVL, aVF, V1-V6; a
 * full-width strip is a rhythm strip) or, when labels are missing, by the
 * layout's order (3x4 + rhythm, 6x2, 12x1), and resamples each to
 * sample_rate_hz in mV.
 *
 * Pure computation on the collected vectors: no MuPDF, no I/O, no logging
 * of values. Reentrant; a wave_result belongs to the caller. */
#ifndef ETL_ETL_WAVEFORM_H
#define ETL_ETL_WAVEFORM_H

#include <stdbool.h>
#include <stddef.h>

struct pdf_vectors;

struct wave_settings {
    double paper_speed_mm_s; /* PAPER_SPEED_MM_S, default 25 */
    double gain_mm_mv;       /* GAIN_MM_MV, default 10 (when no pulse) */
    int sample_rate_hz;      /* WAVEFORM_SAMPLE_RATE, default 500 */
};

enum wave_status {
    WAVE_EXTRACTED,   /* at least one lead */
    WAVE_RASTER_ONLY, /* no trace paths, but images drawn: a scanned ECG */
    WAVE_NO_TRACES,   /* neither traces nor images (text-only page) */
    WAVE_STATUS_COUNT
};

enum wave_calibration {
    WAVE_CAL_PULSE,    /* the row's 1 mV calibration pulse */
    WAVE_CAL_SETTINGS, /* GAIN_MM_MV */
};

/* Quality flags of a lead (bits). */
#define WAVE_Q_LABEL_FROM_LAYOUT 0x1u /* no label near it: named by layout */
#define WAVE_Q_BASELINE_ESTIMATED                                              \
    0x2u /* no pulse on its row: 0 mV is the trace's median */
#define WAVE_Q_CLIPPED 0x4u  /* flat runs at the trace's extremes */
#define WAVE_Q_GAPS 0x8u     /* samples interpolated across x gaps */
#define WAVE_Q_UNNAMED 0x10u /* no label and no known layout: name "?" */
#define WAVE_Q_COUNT 5

struct wave_lead {
    char name[8];       /* "I" .. "V6" (the standard names), or "?" */
    bool rhythm;        /* a rhythm strip (the full recording width) */
    double start_s;     /* time of samples[0] from the recording start */
    int sample_rate_hz; /* = settings */
    float *samples;     /* mV, n of them, owned */
    size_t n;
    enum wave_calibration calibration;
    double mm_per_mv; /* the gain used */
    unsigned quality; /* WAVE_Q_* */
};

/* Leads in page order: rows top to bottom, then left to right (so for a
 * 3x4 page: I, aVR, V1, V4, II, aVL, ..., then the rhythm strip). */
struct wave_result {
    enum wave_status status;
    struct wave_lead *leads;
    size_t n;
};

/* Extract the leads of v into out (released first, so a result can be
 * reused; zero-initialise a new one). Returns 0 (out->status says what was
 * found), ETL_EINVAL (bad settings: paper speed and gain in (0, 1000],
 * sample rate 1..100000) or ETL_ENOMEM.
 *
 * Bounds, whatever v holds: O(n log n) in its points; at most 64 leads
 * (the longest traces); a trace needing more than 262144 samples is not
 * taken as one; points that are not finite or lie off the page disqualify
 * their path. Times are from the leftmost trace start on the page (a row
 * whose pulse sits right of that starts at its own first trace), sampled
 * from each trace's first x, so start_s is exact to the drawing. */
int wave_extract(const struct pdf_vectors *v, const struct wave_settings *s,
                 struct wave_result *out);
void wave_result_release(struct wave_result *r);

/* "extracted", "raster_only", "no_traces"; "pulse", "settings". */
const char *wave_status_name(enum wave_status s);
const char *wave_calibration_name(enum wave_calibration c);
/* "label_from_layout", "baseline_estimated", "clipped", "gaps",
 * "unnamed": the names
 * of the bits set in quality, in bit order, into out (up to max); returns
 * how many. */
size_t wave_quality_names(unsigned quality, const char **out, size_t max);

#endif
