/* One PDF: read, open, text, crop renders, JPEG, put -> one result row.
 * Nothing that happens to one PDF escapes this file except through its row:
 * every path ends in a row with a status. */
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "core/utf8.h"
#include "etl/etl_int.h"

int64_t etl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void etl_row_release(struct etl_row *row)
{
    free(row->source_key);
    free(row->file_id);
    free(row->source_etag);
    buf_release(&row->text);
    for (size_t i = 0; i < row->n_images; i++)
        free(row->image_keys[i]);
    free(row->image_keys);
    buf_release(&row->error);
    fields_result_release(&row->fields);
    wave_result_release(&row->wave);
    memset(row, 0, sizeof(*row));
}

const char *etl_wave_status_name(int wave_status)
{
    if (wave_status == ETL_WAVE_NULL)
        return NULL;
    if (wave_status < 0 || wave_status >= ETL_WAVE_FAILED)
        return "failed";
    return wave_status_name((enum wave_status)wave_status);
}

/* Record a problem: the first one sets error_type; messages accumulate. */
static void row_problem(struct etl_row *row, const char *type, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));
static void row_problem(struct etl_row *row, const char *type, const char *fmt,
                        ...)
{
    if (!row->error_type)
        row->error_type = type;
    if (row->error.len)
        buf_addstr(&row->error, "; ");
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&row->error, fmt, ap);
    va_end(ap);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

struct encode_arg {
    struct etl_worker *w;
    const size_t *region_of; /* box index -> region index */
    int quality;
    int rc;
};

static int encode_box(void *varg, size_t index, const unsigned char *rgb,
                      int width, int height, ptrdiff_t stride)
{
    struct encode_arg *a = varg;
    size_t region = a->region_of[index];
    return img_jpeg_encode(a->w->jpeg, rgb, width, height, stride, a->quality,
                           &a->w->jpegs[region]);
}

/* Edges round outwards: a pixel partly inside an area is painted, since
 * hiding a sliver too much is better than leaving one readable. */
size_t etl_redact_boxes(const struct crop_set *s, int dpi,
                        const struct pdf_irect *page, struct pdf_irect *out)
{
    size_t n = 0;
    double k = s->unit == CROP_UNIT_PX ? 1.0 : dpi / 72.0;
    for (size_t i = 0; i < s->n; i++) {
        const struct crop_region *r = &s->regions[i];
        struct pdf_irect b = {(int)floor(r->x0 * k), (int)floor(r->y0 * k),
                              (int)ceil(r->x1 * k), (int)ceil(r->y1 * k)};
        if (b.x0 < page->x0)
            b.x0 = page->x0;
        if (b.y0 < page->y0)
            b.y0 = page->y0;
        if (b.x1 > page->x1)
            b.x1 = page->x1;
        if (b.y1 > page->y1)
            b.y1 = page->y1;
        if (b.x0 < b.x1 && b.y0 < b.y1)
            out[n++] = b;
    }
    return n;
}

/* The crop page's traces as samples, from the display list the crops were
 * rendered from. Whatever goes wrong here costs the row its waveforms (a
 * problem, so the row is partial), never its crops. Nothing of the samples
 * is logged. */
static void extract_waves(struct etl_ctx *c, struct etl_worker *w,
                          struct pdf_doc *doc, struct etl_row *row)
{
    const struct etl_config *cfg = c->cfg;
    const struct wave_settings ws = {cfg->paper_speed_mm_s, cfg->gain_mm_mv,
                                     cfg->waveform_sample_rate};
    int rc = pdf_doc_vectors(doc, cfg->crop_page - 1, w->vectors);
    if (!rc)
        rc = wave_extract(w->vectors, &ws, &row->wave);
    pdf_vectors_reset(w->vectors); /* the leads own their samples */
    if (rc) {
        wave_result_release(&row->wave);
        row->wave_status = ETL_WAVE_FAILED;
        row->leads_extracted = 0;
        row_problem(row, etl_errname(rc), "waveforms of page %d: %s",
                    cfg->crop_page, etl_strerror(rc));
        return;
    }
    row->wave_status = (int)row->wave.status;
    row->leads_extracted = (int)row->wave.n;
    LOGF(LOG_DEBUG, "waveforms_extracted", LF_S("file_id", row->file_id),
         LF_S("waveform_status", etl_wave_status_name(row->wave_status)),
         LF_I("leads", row->wave.n));
}

/* TEXT_PAGE=auto looks at this many pages at most: the measurement block
 * is on the first page or two of a report, and a 300-page PDF should not
 * cost 300 text pages. */
#define AUTO_TEXT_PAGES 16

/* The text of page (0-based) into text, made valid UTF-8, and its
 * measurements (from its layout) into f. Returns the text's error; one
 * of the measurements (memory) goes to *fields_rc, f then empty. */
static int page_fields(struct etl_ctx *c, struct etl_worker *w,
                       struct pdf_doc *doc, int page, struct buf *text,
                       struct fields_result *f, int *fields_rc)
{
    memset(f, 0, sizeof(*f));
    *fields_rc = 0;
    /* The text and its layout from one pass over the page. */
    int rc = pdf_doc_text_layout(doc, page, text, w->layout);
    if (!rc)
        rc = utf8_sanitize(text);
    if (!rc)
        *fields_rc = fields_extract_layout(c->fields, text->data, text->len,
                                           w->layout, f);
    pdf_layout_reset(w->layout);
    return rc;
}

/* The text column and the measurements: of TEXT_PAGE, or with auto of
 * the page among the first AUTO_TEXT_PAGES where the most measurements
 * are read (the first of equals; a page that fails is passed over, and
 * only when every page fails is that a problem of the row). */
static void read_text_page(struct etl_ctx *c, struct etl_worker *w,
                           struct pdf_doc *doc, struct etl_row *row, int pages)
{
    const struct etl_config *cfg = c->cfg;
    bool automatic = cfg->text_page == CFG_PAGE_AUTO;
    int first = automatic ? 0 : cfg->text_page - 1;
    int last = automatic ? (pages < AUTO_TEXT_PAGES ? pages : AUTO_TEXT_PAGES)
                         : cfg->text_page;
    if (first >= pages) {
        if (automatic)
            row_problem(row, "missing_page", "the PDF has no pages");
        else
            row_problem(row, "missing_page",
                        "text page %d does not exist (the PDF has %d)",
                        cfg->text_page, pages);
        return;
    }
    /* One page: its text straight into the row; auto keeps the best. */
    struct buf text = BUF_INIT;
    struct buf *page_text = automatic ? &text : &row->text;
    int best = -1, best_count = -1, rc = 0, failed_page = 0, best_frc = 0;
    for (int p = first; p < last; p++) {
        struct fields_result f;
        int frc;
        buf_reset(page_text);
        int prc = page_fields(c, w, doc, p, page_text, &f, &frc);
        if (prc) {
            if (!rc) {
                rc = prc;
                failed_page = p + 1;
            }
            /* Out of time or memory: the next page would be too. */
            if (prc == ETL_EPDF_TIMEOUT || prc == ETL_EPDF_TOOCOMPLEX ||
                prc == ETL_ENOMEM)
                break;
            continue;
        }
        int count = fields_read_count(&f);
        if (count <= best_count) {
            fields_result_release(&f);
            continue;
        }
        fields_result_release(&row->fields);
        row->fields = f;
        if (automatic) {
            buf_reset(&row->text);
            if (buf_add(&row->text, text.data, text.len)) {
                rc = ETL_ENOMEM;
                best = -1;
                break;
            }
        }
        best = p;
        best_count = count;
        best_frc = frc;
        if (count == FIELDS_NUMERIC + 1)
            break; /* nothing can read more */
    }
    buf_release(&text);
    if (best < 0) {
        buf_reset(&row->text);
        fields_result_release(&row->fields);
        row_problem(row, etl_errname(rc), "text of page %d: %s", failed_page,
                    etl_strerror(rc));
        return;
    }
    row->has_text = true;
    log_payload("pdf_text", row->text.data, row->text.len,
                (size_t)cfg->debug_payloads);
    if (best_frc)
        row_problem(row, etl_errname(best_frc), "measurements: %s",
                    etl_strerror(best_frc));
    if (automatic)
        LOGF(LOG_DEBUG, "text_page_chosen", LF_S("file_id", row->file_id),
             LF_I("page", best + 1), LF_I("fields", best_count));
}

/* Open, extract and render; the CPU-heavy part, run on a CPU queue thread
 * (cpu_work). encoded[i] is set for regions whose JPEG is in w->jpegs[i]. */
static void pdf_work(struct etl_ctx *c, struct etl_worker *w,
                     struct etl_row *row, bool *encoded)
{
    const struct etl_config *cfg = c->cfg;
    struct pdf_doc *doc = NULL;
    int rc = pdf_doc_open(w->pdf, w->bytes.data, w->bytes.len, &doc);
    if (rc) {
        row_problem(row, etl_errname(rc), "%s", etl_strerror(rc));
        return;
    }
    int pages = pdf_doc_page_count(doc);
    row->page_count = pages;

    read_text_page(c, w, doc, row, pages);

    struct pdf_irect page_px, boxes[CROP_MAX_REGIONS];
    size_t region_of[CROP_MAX_REGIONS], nbox = 0;
    if (cfg->crop_page > pages) {
        row_problem(row, "missing_page",
                    "crop page %d does not exist (the PDF has %d)",
                    cfg->crop_page, pages);
        goto out;
    }
    rc = pdf_doc_page_pixels(doc, cfg->crop_page - 1, cfg->image_dpi, &page_px);
    if (rc) {
        row_problem(row, etl_errname(rc), "crop page %d: %s", cfg->crop_page,
                    etl_strerror(rc));
        goto out;
    }
    for (size_t i = 0; i < c->crops.n; i++) {
        enum crop_fit fit =
            crops_box(&c->crops, i, cfg->image_dpi, &page_px, &boxes[nbox]);
        if (fit == CROP_OUTSIDE) {
            row_problem(row, "region_outside_page",
                        "region %s lies outside page %d",
                        c->crops.regions[i].name, cfg->crop_page);
            continue;
        }
        if (fit == CROP_CLIPPED)
            LOGF(LOG_DEBUG, "region_clipped", LF_S("file_id", row->file_id),
                 LF_S("region", c->crops.regions[i].name));
        region_of[nbox++] = i;
    }
    if (nbox) {
        struct encode_arg ea = {w, region_of, cfg->image_quality, 0};
        enum pdf_render_mode mode = cfg->render_mode == CFG_RENDER_PAGE
                                        ? PDF_RENDER_PAGE
                                        : PDF_RENDER_CLIP;
        struct pdf_irect redact[CROP_MAX_REGIONS];
        size_t nredact =
            etl_redact_boxes(&c->redact, cfg->image_dpi, &page_px, redact);
        rc = pdf_doc_render_redacted(doc, cfg->crop_page - 1, cfg->image_dpi,
                                     boxes, nbox, redact, nredact, mode,
                                     encode_box, &ea);
        if (rc) {
            row_problem(row, etl_errname(rc), "rendering page %d: %s",
                        cfg->crop_page, etl_strerror(rc));
        } else {
            for (size_t j = 0; j < nbox; j++)
                encoded[region_of[j]] = true;
        }
    }
    if (cfg->extract_waveforms)
        extract_waves(c, w, doc, row);
out:
    row->repaired = pdf_doc_repaired(doc);
    pdf_doc_free(doc);
}

struct cpu_call {
    struct etl_ctx *c;
    struct etl_worker *w;
    struct etl_row *row;
    bool *encoded;
};

/* pdf_work() on a CPU thread (cpuq_run), whose log lines name the PDF too. */
static void cpu_work(void *arg)
{
    struct cpu_call *a = arg;
    log_context_set("file_id", a->row->file_id);
    pdf_work(a->c, a->w, a->row, a->encoded);
    log_context_set("file_id", NULL);
}

/* Write the encoded crops; their keys go into the row in region order. */
static void put_images(struct etl_ctx *c, struct etl_worker *w,
                       struct etl_row *row, const bool *encoded)
{
    size_t want = 0;
    for (size_t i = 0; i < c->crops.n; i++)
        want += encoded[i];
    if (!want)
        return;
    row->image_keys = calloc(want, sizeof(*row->image_keys));
    if (!row->image_keys) {
        row_problem(row, "out_of_memory", "out of memory");
        return;
    }
    struct buf key = BUF_INIT;
    for (size_t i = 0; i < c->crops.n; i++) {
        if (!encoded[i])
            continue;
        buf_reset(&key);
        buf_printf(&key, "%s%s/%s.jpg", c->image_prefix, row->file_id,
                   c->crops.regions[i].name);
        int rc = store_put(c->dst, key.data, w->jpegs[i].data, w->jpegs[i].len,
                           "image/jpeg", 0);
        if (rc) {
            LOGF(LOG_WARN, "image_put_failed", LF_S("key", key.data),
                 LF_S("error", etl_strerror(rc)));
            row_problem(row, c->put_error, "writing %s: %s%s%s", key.data,
                        etl_strerror(rc), *store_last_error() ? ": " : "",
                        store_last_error());
            continue;
        }
        /* The key in the row is relative to the destination root. */
        row->image_keys[row->n_images] = buf_detach(&key, NULL);
        if (row->image_keys[row->n_images])
            row->n_images++;
    }
    buf_release(&key);
}

void etl_process_pdf(struct etl_ctx *c, struct etl_worker *w, const char *key,
                     int64_t listed_size, struct etl_row *row)
{
    const struct etl_config *cfg = c->cfg;
    double t0 = mono_ms();
    bool encoded[CROP_MAX_REGIONS] = {false};

    memset(row, 0, sizeof(*row));
    buf_init(&row->text, 0);
    buf_init(&row->error, 0);
    row->page_count = -1;
    row->repaired = -1;
    row->wave_status = ETL_WAVE_NULL;
    row->size_bytes = listed_size;
    row->source_key = strdup(key);
    struct buf id = BUF_INIT;
    if (!row->source_key || etl_file_id(key, c->src_prefix, &id)) {
        row_problem(row, "out_of_memory", "out of memory");
        goto out;
    }
    row->file_id = buf_detach(&id, NULL);
    /* Lines logged while on this PDF (MuPDF's warnings too) name it. */
    log_context_set("file_id", row->file_id);

    struct store_info info = {0};
    int rc =
        store_get(c->src, key, (size_t)cfg->max_pdf_bytes, &w->bytes, &info);
    if (rc == ETL_ETOOBIG) {
        row_problem(row, "too_large", "larger than MAX_PDF_BYTES (%lld)",
                    (long long)cfg->max_pdf_bytes);
        goto out;
    }
    if (rc) {
        row_problem(row, rc == ETL_ENOTFOUND ? "not_found" : c->get_error,
                    "reading %s: %s%s%s", key, etl_strerror(rc),
                    *store_last_error() ? ": " : "", store_last_error());
        goto out;
    }
    row->size_bytes = (int64_t)w->bytes.len;
    row->source_etag = strdup(info.etag);
    sha256_hex(w->bytes.data, w->bytes.len, row->sha256);

    /* On a CPU thread; time spent waiting for one is queueing, not this
     * PDF's cost. */
    struct cpu_call call = {c, w, row, encoded};
    t0 += cpuq_run(c->cpu, cpu_work, &call);

    put_images(c, w, row, encoded);

out:
    log_context_set("file_id", NULL);
    /* A buffer grown by one huge PDF should not pin memory for the rest of
     * the run. */
    if (w->bytes.cap > (64u << 20))
        buf_release(&w->bytes);
    else
        buf_reset(&w->bytes);

    if (row->n_images == c->crops.n && !row->error_type)
        row->status = ETL_STATUS_SUCCESS;
    else if (row->has_text || row->n_images)
        row->status = ETL_STATUS_PARTIAL;
    else
        row->status = ETL_STATUS_FAILED;
    row->processing_time_ms = mono_ms() - t0;
    row->processed_at_ms = etl_now_ms();
}
