/* Waveforms as data: the ECG leads of a document's vector pages as
 * calibrated samples.
 *
 * Input is what pdf_doc_vectors() collected from each page's display list:
 * stroked and filled paths as polylines in page space, text runs with
 * their positions, and the images drawn. For each page, extraction finds
 * the traces (long polylines monotonic in x, not the grid's regular lines,
 * not text, not calibration pulses; a page whose content is turned 90
 * degrees is read turned back), reads the scale off the page itself (the
 * printed legend, "25 mm/s 10 mm/mV", for paper speed and gain; the ECG
 * grid's measured 1 mm / 5 mm spacing for how many points a paper
 * millimetre is, so a page scaled to fit still reads right; the 1 mV
 * calibration pulses for gain and the 0 mV level; else the settings), names
 * each trace by its lead label (left of, above, below or inside the strip,
 * also when spaced out as "a V R"; the page's labels share one placement,
 * which is learnt from the page) or by the layout's order (3x4 + rhythm
 * strips, 6x2, 12x1, 6x1, a single lead), splits a polyline that runs
 * through a row of leads at its column boundaries, and puts each segment
 * on the recording's time axis (columns of a grid layout at the layout's
 * times; the rows of a single lead one after the other).
 *
 * Pages are then joined into one recording: leads that are new on a page
 * start at the recording's start (a report printing limb leads on page 1
 * and chest leads on page 2), and a page that continues leads already seen
 * (a 30 s recording printed 7.5 s a page) is appended to them, so each lead
 * comes out once, with continuous time. A page repeating leads already
 * seen over the same time (a rhythm page) gives rows of its own.
 *
 * Pure computation on the collected vectors: no MuPDF, no I/O, no logging
 * of values. Reentrant; results belong to the caller. */
#ifndef ETL_ECG_WAVEFORM_H
#define ETL_ECG_WAVEFORM_H

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
    WAVE_CAL_LEGEND,   /* the printed gain ("10 mm/mV") */
    WAVE_CAL_GRID,     /* GAIN_MM_MV in the grid's measured millimetres */
    WAVE_CAL_SETTINGS, /* GAIN_MM_MV at 1:1 */
};

enum wave_speed_source {
    WAVE_SPEED_LEGEND,   /* the printed paper speed ("25 mm/s") */
    WAVE_SPEED_GRID,     /* PAPER_SPEED_MM_S in the grid's millimetres */
    WAVE_SPEED_SETTINGS, /* PAPER_SPEED_MM_S at 1:1 */
};

/* A box on a page: points, page space (origin top-left, y down). */
struct wave_box {
    double x0, y0, x1, y1;
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
    enum wave_speed_source speed_source;
    double paper_speed_mm_s; /* the paper speed used */
    unsigned quality;        /* WAVE_Q_* */
    int page;                /* first page it is drawn on (0-based) */
    int pages;               /* how many pages it spans */
    char layout[16];         /* its first page's layout: "3x4+1", "6x2", ... */
};

/* Leads in document order: pages in order, and on each page rows top to
 * bottom, then left to right (so for a 3x4 page: I, aVR, V1, V4, II, aVL,
 * ..., then the rhythm strip); a lead continued on later pages stays where
 * it first appeared. */
struct wave_result {
    enum wave_status status;
    struct wave_lead *leads;
    size_t n;
};

/* A document being read page by page. */
struct wave_doc;

/* Where a lead is drawn on the page just added (for lead crops): the box
 * of its strip, label included. */
struct wave_strip {
    size_t lead;  /* index into the result's leads */
    char name[8]; /* the lead's name and rhythm flag, as in the result */
    bool rhythm;
    struct wave_box box;
};

struct wave_page_info {
    enum wave_status status;         /* of this page */
    const struct wave_strip *strips; /* owned by the doc, valid until the
                                        next call on it */
    size_t nstrips;
};

/* A new document (ETL_EINVAL for bad settings: paper speed and gain in
 * (0, 1000], sample rate 1..100000; ETL_ENOMEM). */
int wave_doc_new(const struct wave_settings *s, struct wave_doc **out);
void wave_doc_free(struct wave_doc *d);
/* Read page (0-based) from its vectors, joining its leads to those of the
 * pages added before (add pages in order). info (may be NULL) says what
 * the page held. Returns 0 or ETL_ENOMEM; a page that holds no ECG adds
 * nothing. Bounds: as wave_extract(), per page; at most 64 leads in all. */
int wave_doc_add_page(struct wave_doc *d, int page, const struct pdf_vectors *v,
                      struct wave_page_info *info);
/* Move the leads into out (released first): status WAVE_EXTRACTED when any
 * page gave a lead, else WAVE_RASTER_ONLY when a page was a scan, else
 * WAVE_NO_TRACES. The doc is empty afterwards. */
int wave_doc_finish(struct wave_doc *d, struct wave_result *out);

/* The leads of one page (a document of one page): out is released first,
 * so a result can be reused (zero-initialise a new one). Returns 0
 * (out->status says what was found), ETL_EINVAL (bad settings) or
 * ETL_ENOMEM.
 *
 * Bounds, whatever v holds: O(n log n) in its points; at most 64 traces
 * (the longest ones), split into at most 4 leads each; a trace needing more
 * than 262144 samples is not taken as one; points that are not finite or
 * lie off the page disqualify their path. Times are from the leftmost
 * trace start on the page (a row whose pulse sits right of that starts at
 * its own first trace), sampled on the recording's grid of 1/rate
 * seconds. */
int wave_extract(const struct pdf_vectors *v, const struct wave_settings *s,
                 struct wave_result *out);
void wave_result_release(struct wave_result *r);

/* "extracted", "raster_only", "no_traces"; "pulse", "legend", "grid",
 * "settings"; "legend", "grid", "settings". */
const char *wave_status_name(enum wave_status s);
const char *wave_calibration_name(enum wave_calibration c);
const char *wave_speed_source_name(enum wave_speed_source s);
/* "label_from_layout", "baseline_estimated", "clipped", "gaps",
 * "unnamed": the names of the bits set in quality, in bit order, into out
 * (up to max); returns how many. */
size_t wave_quality_names(unsigned quality, const char **out, size_t max);

#endif
