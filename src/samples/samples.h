/* Synthetic 12-lead ECG report PDFs (`bpecg-etl samples`), written with
 * MuPDF's PDF writer.
 *
 * A good sample has two pages: page 1 (US Letter portrait) is a text report
 * (institution, patient name/ID/DOB/sex, acquisition time, device,
 * measurements, interpretation) as real, extractable base-14 Helvetica text;
 * page 2 (US Letter landscape, 792 x 612 pt) is ECG paper: a 1 mm / 5 mm grid
 * and the twelve leads (3x4 + a lead-II rhythm strip, 6x2 or 12x1) as one
 * vector polyline per lead segment, 1 mV calibration pulses and lead labels.
 * Nothing is patient data: every value derives from (seed, index).
 *
 * The waveform drawn is exactly pdf_sample_signal() sampled every
 * PDF_SAMPLE_DT seconds and placed as pdf_sample_geometry() describes, so a
 * waveform extractor can be checked against the truth (the file stores
 * coordinates rounded to 0.01 pt, i.e. < 0.0004 mV).
 *
 * Determinism: the same (seed, index, kind, options) gives byte-identical
 * output on the same build, for every kind including the encrypted one (the
 * trailer /ID and MuPDF's encryption salts/IVs are derived from the seed).
 *
 * Thread-safety: every function is reentrant; pdf_sample_make() uses its own
 * short-lived MuPDF context, so calls may run on several threads at once.
 * The generator is not on the pipeline's hot path. */
#ifndef ETL_SAMPLES_SAMPLES_H
#define ETL_SAMPLES_SAMPLES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

enum sample_kind {
    SAMPLE_GOOD,        /* page 1 text report + page 2 vector ECG */
    SAMPLE_ONE_PAGE,    /* page 1 only */
    SAMPLE_ENCRYPTED,   /* AES-256, non-empty user password (in meta) */
    SAMPLE_TRUNCATED,   /* a good file cut at 60% of its bytes: no xref */
    SAMPLE_EMPTY,       /* 0 bytes */
    SAMPLE_NOT_PDF,     /* a PNG image stored under a .pdf name */
    SAMPLE_RASTER_ONLY, /* page 2 is one grey image of the ECG, no paths */
    SAMPLE_MANY_PAGES,  /* PDF_SAMPLE_MANY_PAGES pages: 1-2 as usual + text */
    SAMPLE_HUGE_PAGE,   /* page 2 is 14400 x 14400 pt, ECG at its top-left */
    SAMPLE_KIND_COUNT
};

enum sample_layout {
    SAMPLE_LAYOUT_3X4,  /* 3 rows x 4 columns of 2.5 s + lead-II rhythm */
    SAMPLE_LAYOUT_6X2,  /* limb leads 0-5 s left, chest leads 5-10 s right */
    SAMPLE_LAYOUT_12X1, /* 12 rows of 10 s at 5 mm/mV */
    SAMPLE_LAYOUT_COUNT
};

/* Leads in the standard order; also the `lead` argument of
 * pdf_sample_signal(). */
enum sample_lead {
    SAMPLE_LEAD_I,
    SAMPLE_LEAD_II,
    SAMPLE_LEAD_III,
    SAMPLE_LEAD_AVR,
    SAMPLE_LEAD_AVL,
    SAMPLE_LEAD_AVF,
    SAMPLE_LEAD_V1,
    SAMPLE_LEAD_V2,
    SAMPLE_LEAD_V3,
    SAMPLE_LEAD_V4,
    SAMPLE_LEAD_V5,
    SAMPLE_LEAD_V6,
    SAMPLE_LEAD_COUNT
};

#define PDF_SAMPLE_DT 0.004        /* seconds between polyline vertices */
#define PDF_SAMPLE_SECONDS 10.0    /* length of the recording */
#define PDF_SAMPLE_MANY_PAGES 300  /* pages of SAMPLE_MANY_PAGES */
#define PDF_SAMPLE_HUGE_PT 14400.0 /* page-2 side of SAMPLE_HUGE_PAGE */
#define PDF_SAMPLE_RASTER_DPI 100  /* resolution of SAMPLE_RASTER_ONLY */
#define PDF_SAMPLE_VARIANT_INDEX                                               \
    1000000 /* index the CLI uses for variants:                                \
               this + kind */
#define PDF_SAMPLE_MAX_SEGMENTS 16
#define PDF_SAMPLE_MAX_ROWS 12

struct pdf_sample_options {
    enum sample_layout layout; /* default (zeroed struct): 3x4 */
    /* Variants for testing waveform extraction's fallbacks; false (the
     * default) draws exactly what was drawn before they existed. meta
     * then says "labels":false / "calibration":false. */
    bool no_labels;      /* page 2 without the lead label texts */
    bool no_calibration; /* page 2 without the 1 mV calibration pulses */
};

/* Where a layout puts the signal on page 2. Coordinates are MuPDF page
 * space (points, origin top-left, y down) and are the same for the Letter
 * page and the huge page (the ECG sits at the top-left of both). */
struct pdf_sample_segment {
    int lead;      /* enum sample_lead */
    double t0, t1; /* seconds of the recording drawn, t1 included */
    int points;    /* vertices: t_k = t0 + k * PDF_SAMPLE_DT, k < points */
    double x0, y0; /* position of t0 at 0 mV */
    double label_x, label_y; /* baseline origin of the lead label text */
};

/* A 1 mV calibration pulse: rises at x0 from baseline y0 to y1 (= y0 -
 * pt_per_mv), falls at x1 (x1 - x0 = 200 ms). */
struct pdf_sample_calibration {
    double x0, x1, y0, y1;
};

struct pdf_sample_geometry {
    enum sample_layout layout;
    double pt_per_s;                           /* 25 mm/s */
    double pt_per_mv;                          /* 10 mm/mV (5 mm/mV for 12x1) */
    double grid_x0, grid_y0, grid_x1, grid_y1; /* the ECG paper */
    int nsegments; /* in drawing order: the k-th black stroked path of
                      page 2 is segment k */
    struct pdf_sample_segment segment[PDF_SAMPLE_MAX_SEGMENTS];
    int ncalibrations;
    struct pdf_sample_calibration calibration[PDF_SAMPLE_MAX_ROWS];
};

/* Stable names: "good", "one_page", "encrypted", "truncated", "empty",
 * "not_pdf", "raster_only", "many_pages", "huge_page"; "?" if out of range.
 * pdf_sample_kind_parse() returns 0 or ETL_EINVAL. */
const char *pdf_sample_kind_name(enum sample_kind k);
int pdf_sample_kind_parse(const char *s, enum sample_kind *out);

/* "3x4", "6x2", "12x1"; "?" if out of range. Parse: 0 or ETL_EINVAL. */
const char *pdf_sample_layout_name(enum sample_layout l);
int pdf_sample_layout_parse(const char *s, enum sample_layout *out);

/* "I", "II", "III", "aVR", "aVL", "aVF", "V1".."V6"; "?" if out of range. */
const char *pdf_sample_lead_name(int lead);

/* Make sample number index (>= 0) of the corpus for seed, with the default
 * options (3x4 layout). pdf's contents are replaced by the file's bytes;
 * meta's (if not NULL) by one line of JSON (no newline) describing what was
 * drawn:
 *   kind, seed, index, bytes, pages (null when the file does not open as
 *   is), page_sizes ([[w,h],...] of pages 1-2 in pt), layout, page2
 *   ("vector"|"raster"|"none"), encrypted, user_password (encrypted only),
 *   truncated_from (truncated only), and for every PDF kind the page-1
 *   fields: institution, name, patient_id, dob, age, sex, acquired, device,
 *   vent_rate, pr, qrs, qt, qtc, p_axis, r_axis, t_axis, interpretation[].
 * Text values are UTF-8 (names carry Latin-1 accents). On error pdf and meta
 * are left empty. Errors: ETL_EINVAL (bad kind/index/options), ETL_ENOMEM,
 * ETL_ETOOBIG (a buf cap), ETL_EPDF (MuPDF failed). */
int pdf_sample_make(uint64_t seed, int index, enum sample_kind kind,
                    struct buf *pdf, struct buf *meta);
/* Same with options (NULL = defaults). */
int pdf_sample_make_opts(uint64_t seed, int index, enum sample_kind kind,
                         const struct pdf_sample_options *opts, struct buf *pdf,
                         struct buf *meta);

/* The exact signal (mV) of lead at time t seconds from the start of the
 * recording, as drawn in sample (seed, index) of any kind and layout: a sum
 * of Gaussian P/Q/R/S/T waves per beat at the sample's heart rate and
 * intervals, plus slow baseline wander. Limb leads follow a frontal-plane
 * dipole, so II = I + III and aVR + aVL + aVF = 0. NAN for an invalid lead
 * or index. Pure function; cheap enough to call per vertex. */
double pdf_sample_signal(uint64_t seed, int index, int lead, double t);

/* Describe where layout puts each lead segment and calibration pulse.
 * Returns 0 or ETL_EINVAL. */
int pdf_sample_geometry(enum sample_layout layout,
                        struct pdf_sample_geometry *out);

#endif
