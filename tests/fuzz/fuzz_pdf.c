/* libFuzzer target: the per-PDF processor of etl/process.c on bytes in
 * memory, without a store: open, text of page 1 (made valid UTF-8) with
 * its layout and the measurements read from them, the
 * crop regions of page 2 (page 1 for one-page files) mapped to boxes,
 * redaction, rendering in both modes (chosen by the input's length) and
 * JPEG encoding, the vectors of the first three pages and the waveforms
 * read from them as one document, and for every third length
 * the preview PNG, under small time,
 * memory, page and pixel limits so that no input holds the fuzzer for long.
 *
 * Checks: every outcome is a typed error; a box is handed over with the
 * size that was asked for, and its JPEG decodes to that size; the text is
 * valid UTF-8 after sanitising; the layout's spans are valid text inside
 * its buffer; a page past the end is ETL_EPDF_NOPAGE;
 * extracted leads have finite samples and a status that fits them. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/utf8.h"
#include "ecg/crops.h"
#include "ecg/fields.h"
#include "ecg/waveform.h"
#include "fuzz.h"
#include "img/img.h"
#include "pdf/pdf.h"

#define DPI 72 /* keeps renders small; the grid is the same at any dpi */

/* One region inside a Letter page, one straddling its edge, one far off,
 * one in pixels; a redaction over the first. */
static const char crops_json[] =
    "{\"unit\": \"pt\", \"regions\": ["
    "{\"name\": \"inside\", \"x0\": 100, \"y0\": 100, \"x1\": 300, \"y1\": "
    "200},"
    "{\"name\": \"edge\", \"x0\": 500, \"y0\": 500, \"x1\": 900, \"y1\": 900},"
    "{\"name\": \"far\", \"x0\": 5000, \"y0\": 5000, \"x1\": 5100, "
    "\"y1\": 5100},"
    "{\"name\": \"whole\", \"x0\": -10, \"y0\": -10, \"x1\": 2000, "
    "\"y1\": 2000}]}";
static const char redact_json[] =
    "{\"unit\": \"pt\", \"regions\": ["
    "{\"name\": \"hdr\", \"x0\": 90, \"y0\": 90, \"x1\": 150, \"y1\": 150}]}";

static struct {
    bool ready;
    struct pdf_engine *engine;
    struct pdf_worker *worker;
    struct img_jpeg *jpeg;
    struct crop_set crops, redact;
    struct buf out;
    struct pdf_vectors *vectors;
    struct wave_result waves;
    struct pdf_layout *layout;
    struct fields_set *fields;
} F;

static void setup(void)
{
    log_init(LOG_ERROR, LOG_FORMAT_JSON, 2);
    const struct pdf_limits limits = {
        .max_store_bytes = (size_t)16 << 20,
        .timeout_ms = 2000,
        .max_memory = (size_t)256 << 20,
        .max_pages = 2000,
        .max_region_pixels = 4000000,
    };
    struct buf err = BUF_INIT;
    FUZZ_CHECK(pdf_engine_new(&limits, &F.engine) == 0);
    FUZZ_CHECK(pdf_worker_new(F.engine, &F.worker) == 0);
    FUZZ_CHECK(img_jpeg_new(&F.jpeg) == 0);
    FUZZ_CHECK(pdf_vectors_new(&F.vectors) == 0);
    FUZZ_CHECK(pdf_layout_new(&F.layout) == 0);
    FUZZ_CHECK(fields_parse(NULL, NULL, &F.fields, &err) == 0);
    FUZZ_CHECK(crops_parse(crops_json, "fuzz", &F.crops, &err) == 0);
    FUZZ_CHECK(crops_parse(redact_json, "fuzz", &F.redact, &err) == 0);
    buf_release(&err);
    F.ready = true;
}

/* A layout's spans lie in its text, each NUL-terminated valid UTF-8
 * with a finite box and a unit direction. */
static void check_layout(const struct pdf_layout *l)
{
    FUZZ_CHECK(l->nspans <= PDF_LAYOUT_MAX_SPANS);
    for (size_t i = 0; i < l->nspans; i++) {
        const struct pdf_span *s = &l->spans[i];
        FUZZ_CHECK(s->len > 0 && s->off + s->len < l->text_cap);
        FUZZ_CHECK(l->text[s->off + s->len] == '\0');
        FUZZ_CHECK(strlen(l->text + s->off) == s->len);
        FUZZ_CHECK(utf8_valid(l->text + s->off, s->len));
        FUZZ_CHECK(s->x0 <= s->x1 || !isfinite(s->x0 + s->x1));
        FUZZ_CHECK(!(s->dx * s->dx + s->dy * s->dy > 1.01f));
        FUZZ_CHECK(i == 0 || s->off > l->spans[i - 1].off);
    }
}

static bool pdf_error(int rc)
{
    return rc == ETL_ENOMEM || rc == ETL_EPDF || rc == ETL_EPDF_NOTPDF ||
           rc == ETL_EPDF_EMPTY || rc == ETL_EPDF_ENCRYPTED ||
           rc == ETL_EPDF_DAMAGED || rc == ETL_EPDF_NOPAGE ||
           rc == ETL_EPDF_TIMEOUT || rc == ETL_EPDF_TOOCOMPLEX;
}

struct want {
    const struct pdf_irect *boxes;
    size_t n, seen;
};

static int on_box(void *arg, size_t index, const unsigned char *rgb, int w,
                  int h, ptrdiff_t stride)
{
    struct want *want = arg;
    FUZZ_CHECK(index == want->seen && index < want->n);
    want->seen++;
    const struct pdf_irect *b = &want->boxes[index];
    FUZZ_CHECK(w == b->x1 - b->x0 && h == b->y1 - b->y0);
    FUZZ_CHECK(stride >= (ptrdiff_t)w * 3);
    /* Touch the first and last pixel: ASan checks they are there. */
    volatile unsigned char sink = rgb[0];
    sink = rgb[(size_t)(h - 1) * (size_t)stride + (size_t)w * 3 - 1];
    (void)sink;
    int rc = img_jpeg_encode(F.jpeg, rgb, w, h, stride, 85, &F.out);
    if (rc)
        return rc;
    int jw = 0, jh = 0;
    FUZZ_CHECK(img_jpeg_size(F.out.data, F.out.len, &jw, &jh) == 0);
    FUZZ_CHECK(jw == w && jh == h);
    return 0;
}

static void crops_of(struct pdf_doc *doc, int page, enum pdf_render_mode mode,
                     bool size_selects_preview)
{
    struct pdf_irect px, boxes[CROP_MAX_REGIONS], redact[CROP_MAX_REGIONS];
    int rc = pdf_doc_page_pixels(doc, page, DPI, &px);
    FUZZ_CHECK(rc == 0 || pdf_error(rc));
    if (rc)
        return;
    FUZZ_CHECK(px.x0 <= px.x1 && px.y0 <= px.y1);
    const char *names[CROP_MAX_REGIONS];
    size_t n = 0;
    for (size_t i = 0; i < F.crops.n; i++) {
        if (crops_box(&F.crops, i, DPI, &px, &boxes[n]) != CROP_OUTSIDE)
            names[n++] = F.crops.regions[i].name;
    }
    size_t nredact = 0;
    for (size_t i = 0; i < F.redact.n; i++) {
        if (crops_box(&F.redact, i, DPI, &px, &redact[nredact]) != CROP_OUTSIDE)
            nredact++;
    }
    if (size_selects_preview) {
        /* `bpecg-etl preview`: the page with the regions drawn, as PNG. */
        struct pdf_mark marks[CROP_MAX_REGIONS];
        for (size_t i = 0; i < n; i++)
            marks[i] = (struct pdf_mark){boxes[i], names[i], 0xff0000u};
        struct buf png = BUF_INIT;
        rc = pdf_doc_preview(doc, page, DPI, redact, nredact, marks, n, &png);
        FUZZ_CHECK(rc == 0 || pdf_error(rc));
        if (rc == 0)
            FUZZ_CHECK(png.len > 8 &&
                       !memcmp(png.data, "\x89PNG\r\n\x1a\n", 8));
        buf_release(&png);
    }
    if (!n)
        return;
    struct want want = {boxes, n, 0};
    rc = pdf_doc_render_redacted(doc, page, DPI, boxes, n, redact, nredact,
                                 mode, on_box, &want);
    FUZZ_CHECK(rc == 0 || rc == ETL_EIMAGE || pdf_error(rc));
    if (rc == 0)
        FUZZ_CHECK(want.seen == n);
}

/* The waveforms of the first pages as one document (as `run` reads
 * WAVEFORM_PAGES), from the display lists the renderings kept or built. */
static void waves_of(struct pdf_doc *doc, int pages)
{
    static const struct wave_settings settings = {25.0, 10.0, 500};
    struct wave_doc *wd = NULL;
    FUZZ_CHECK(wave_doc_new(&settings, &wd) == 0);
    for (int page = 0; page < pages && page < 3; page++) {
        int rc = pdf_doc_vectors(doc, page, F.vectors);
        FUZZ_CHECK(rc == 0 || pdf_error(rc));
        if (rc)
            break;
        FUZZ_CHECK(F.vectors->npoints <= PDF_VECTORS_MAX_POINTS);
        struct wave_page_info info;
        rc = wave_doc_add_page(wd, page, F.vectors, &info);
        FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
        for (size_t i = 0; rc == 0 && i < info.nstrips; i++)
            FUZZ_CHECK(info.strips[i].box.x0 <= info.strips[i].box.x1 &&
                       info.strips[i].box.y0 <= info.strips[i].box.y1);
    }
    int rc = wave_doc_finish(wd, &F.waves);
    wave_doc_free(wd);
    FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
    if (rc)
        return;
    FUZZ_CHECK((F.waves.status == WAVE_EXTRACTED) == (F.waves.n > 0));
    for (size_t i = 0; i < F.waves.n; i++) {
        const struct wave_lead *l = &F.waves.leads[i];
        FUZZ_CHECK(l->n > 0 && memchr(l->name, 0, sizeof(l->name)));
        FUZZ_CHECK(isfinite(l->start_s) && l->mm_per_mv > 0);
        for (size_t k = 0; k < l->n; k++)
            FUZZ_CHECK(isfinite(l->samples[k]));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!F.ready)
        setup();
    struct pdf_doc *doc = NULL;
    int rc = pdf_doc_open(F.worker, data, size, &doc);
    FUZZ_CHECK(rc == 0 || pdf_error(rc));
    FUZZ_CHECK((rc == 0) == (doc != NULL));
    if (rc)
        return 0;

    int pages = pdf_doc_page_count(doc);
    FUZZ_CHECK(pages >= 0 && pages <= 2000);
    struct buf text = BUF_INIT;
    if (pages >= 1) {
        /* The text with its layout, as the pipeline reads page 1. */
        rc = pdf_doc_text_layout(doc, 0, &text, F.layout);
        FUZZ_CHECK(rc == 0 || pdf_error(rc));
        if (rc == 0) {
            FUZZ_CHECK(strlen(text.data) <= text.len);
            check_layout(F.layout);
            struct fields_result fr;
            if (utf8_sanitize(&text) == 0) {
                FUZZ_CHECK(utf8_valid(text.data, text.len));
                rc = fields_extract_layout(F.fields, text.data, text.len,
                                           F.layout, &fr);
                FUZZ_CHECK(rc == 0 || rc == ETL_ENOMEM);
                if (rc == 0)
                    fields_result_release(&fr);
            }
        } else {
            FUZZ_CHECK(F.layout->nspans == 0);
        }
        pdf_layout_reset(F.layout);
    }
    buf_reset(&text);
    rc = pdf_doc_text(doc, pages, &text);
    FUZZ_CHECK(rc == ETL_EPDF_NOPAGE || rc == ETL_EPDF_TIMEOUT ||
               rc == ETL_EPDF_TOOCOMPLEX);
    buf_release(&text);

    if (pages >= 1) {
        enum pdf_render_mode mode =
            size % 2 ? PDF_RENDER_PAGE : PDF_RENDER_CLIP;
        crops_of(doc, pages >= 2 ? 1 : 0, mode, size % 3 == 0);
        waves_of(doc, pages);
    }
    (void)pdf_doc_repaired(doc);
    pdf_doc_free(doc);
    return 0;
}
