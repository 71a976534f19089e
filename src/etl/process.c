/* One PDF: read, open, text, crop renders, JPEG, put -> one result row.
 * Nothing that happens to one PDF escapes this file except through its row:
 * every path ends in a row with a status. */
#include <stdio.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/codec.h"
#include "core/err.h"
#include "core/log.h"
#include "core/utf8.h"
#include "etl/etl_int.h"

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
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32)
        codec_hex(md, 32, false, out);
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

static enum pdf_render_mode etl_render_mode(const struct etl_config *cfg)
{
    return cfg->render_mode == CFG_RENDER_PAGE ? PDF_RENDER_PAGE
                                               : PDF_RENDER_CLIP;
}

/* CROP_PAGE=auto's choice: the first page with traces, else the first
 * scan, else the first page read, else the first page (-1: none). */
static int auto_page(int traces, int raster, int first)
{
    return traces >= 0 ? traces : raster >= 0 ? raster : first >= 0 ? first : 0;
}

bool etl_reads_pages(const struct etl_config *cfg)
{
    return cfg->extract_waveforms || cfg->crop_leads ||
           cfg->crop_page == CFG_PAGE_AUTO;
}

/* Render the crop regions of page (0-based) and encode them into
 * w->jpegs; encoded[i] is set for the regions done. */
static void render_regions(struct etl_ctx *c, struct etl_worker *w,
                           struct pdf_doc *doc, int page, int pages,
                           struct etl_row *row, bool *encoded)
{
    const struct etl_config *cfg = c->cfg;
    struct pdf_irect page_px, boxes[CROP_MAX_REGIONS];
    size_t region_of[CROP_MAX_REGIONS], nbox = 0;
    if (page >= pages) {
        row_problem(row, "missing_page",
                    "crop page %d does not exist (the PDF has %d)", page + 1,
                    pages);
        return;
    }
    int rc = pdf_doc_page_pixels(doc, page, cfg->image_dpi, &page_px);
    if (rc) {
        row_problem(row, etl_errname(rc), "crop page %d: %s", page + 1,
                    etl_strerror(rc));
        return;
    }
    for (size_t i = 0; i < c->crops.n; i++) {
        enum crop_fit fit =
            crops_box(&c->crops, i, cfg->image_dpi, &page_px, &boxes[nbox]);
        if (fit == CROP_OUTSIDE) {
            row_problem(row, "region_outside_page",
                        "region %s lies outside page %d",
                        c->crops.regions[i].name, page + 1);
            continue;
        }
        if (fit == CROP_CLIPPED)
            LOGF(LOG_DEBUG, "region_clipped", LF_S("file_id", row->file_id),
                 LF_S("region", c->crops.regions[i].name));
        region_of[nbox++] = i;
    }
    if (!nbox)
        return;
    struct encode_arg ea = {w, region_of, cfg->image_quality, 0};
    struct pdf_irect redact[CROP_MAX_REGIONS];
    size_t nredact =
        crops_redact_boxes(&c->redact, cfg->image_dpi, &page_px, redact);
    rc =
        pdf_doc_render_redacted(doc, page, cfg->image_dpi, boxes, nbox, redact,
                                nredact, etl_render_mode(cfg), encode_box, &ea);
    if (rc) {
        row_problem(row, etl_errname(rc), "rendering page %d: %s", page + 1,
                    etl_strerror(rc));
        return;
    }
    for (size_t j = 0; j < nbox; j++)
        encoded[region_of[j]] = true;
}

/* Lead crops of page (0-based), redacted as the crops are. */
static void crop_leads(struct etl_ctx *c, struct etl_worker *w,
                       struct pdf_doc *doc, int page,
                       const struct wave_page_info *info, struct etl_row *row)
{
    const struct etl_config *cfg = c->cfg;
    struct pdf_irect page_px, redact[CROP_MAX_REGIONS];
    int rc = pdf_doc_page_pixels(doc, page, cfg->image_dpi, &page_px);
    size_t nredact =
        rc ? 0
           : crops_redact_boxes(&c->redact, cfg->image_dpi, &page_px, redact);
    if (!rc)
        rc = etl_leads_add_page(w->leads, doc, page, cfg->image_dpi, info,
                                redact, nredact, etl_render_mode(cfg));
    if (rc)
        row_problem(row, etl_errname(rc), "lead crops of page %d: %s", page + 1,
                    etl_strerror(rc));
}

/* Read the pages of WAVEFORM_PAGES in order for waveforms, lead crops and
 * CROP_PAGE=auto, rendering the crop regions when the crop page comes by
 * (its display list is then built once for both). Whatever goes wrong
 * here costs the row its waveforms or lead crops (a problem, so the row is
 * partial), never its crops. Nothing of the samples is logged. */
static void read_pages(struct etl_ctx *c, struct etl_worker *w,
                       struct pdf_doc *doc, int pages, struct etl_row *row,
                       bool *encoded)
{
    const struct etl_config *cfg = c->cfg;
    const struct wave_settings ws = {cfg->paper_speed_mm_s, cfg->gain_mm_mv,
                                     cfg->waveform_sample_rate};
    bool autocrop = cfg->crop_page == CFG_PAGE_AUTO;
    int crop = autocrop ? -1 : cfg->crop_page - 1;
    int raster = -1, first = -1;
    bool cropped = false;
    struct wave_doc *wd = NULL;
    int rc = wave_doc_new(&ws, &wd);
    if (w->leads)
        etl_leads_reset(w->leads);
    for (int p = 0; !rc && p < pages; p++) {
        if (!cfg_pages_has(&cfg->waveform_pages, p + 1))
            continue;
        /* CROP_PAGE=auto alone needs only the first page with traces. */
        if (cropped && !cfg->extract_waveforms && !cfg->crop_leads)
            break;
        struct wave_page_info info;
        rc = pdf_doc_vectors(doc, p, w->vectors);
        if (!rc)
            rc = wave_doc_add_page(wd, p, w->vectors, &info);
        pdf_vectors_reset(w->vectors); /* the leads own their samples */
        if (rc) {
            row_problem(row, etl_errname(rc), "waveforms of page %d: %s", p + 1,
                        etl_strerror(rc));
            break;
        }
        first = first < 0 ? p : first;
        if (raster < 0 && info.status == WAVE_RASTER_ONLY)
            raster = p;
        if (autocrop && crop < 0 && info.status == WAVE_EXTRACTED)
            crop = p;
        if (!cropped && p == crop) {
            render_regions(c, w, doc, p, pages, row, encoded);
            cropped = true;
        }
        if (w->leads && info.nstrips)
            crop_leads(c, w, doc, p, &info, row);
    }
    if (!cropped) {
        if (crop < 0)
            crop = auto_page(-1, raster, first);
        render_regions(c, w, doc, crop, pages, row, encoded);
    }
    if (!rc)
        rc = wave_doc_finish(wd, &row->wave);
    wave_doc_free(wd);
    if (rc) {
        wave_result_release(&row->wave);
        if (cfg->extract_waveforms)
            row->wave_status = ETL_WAVE_FAILED;
    } else if (cfg->extract_waveforms) {
        row->wave_status = (int)row->wave.status;
        row->leads_extracted = (int)row->wave.n;
        LOGF(LOG_DEBUG, "waveforms_extracted", LF_S("file_id", row->file_id),
             LF_S("waveform_status", etl_wave_status_name(row->wave_status)),
             LF_I("leads", row->wave.n));
    }
    if (w->leads) {
        rc = etl_leads_encode(w->leads, w->jpeg, cfg->image_quality,
                              w->lead_jpegs, w->lead_names, &w->n_lead_jpegs);
        if (rc)
            row_problem(row, etl_errname(rc), "lead crops: %s",
                        etl_strerror(rc));
        else if (etl_leads_over_budget(w->leads))
            row_problem(row, "too_complex",
                        "lead crops: over 24 million pixels, some strips "
                        "left out");
        etl_leads_reset(w->leads);
    }
    if (!cfg->extract_waveforms)
        wave_result_release(&row->wave);
}

int etl_crop_page(struct pdf_doc *doc, const struct etl_config *cfg, int *page)
{
    *page = cfg->crop_page - 1;
    if (cfg->crop_page != CFG_PAGE_AUTO)
        return 0;
    const struct wave_settings ws = {cfg->paper_speed_mm_s, cfg->gain_mm_mv,
                                     cfg->waveform_sample_rate};
    struct pdf_vectors *v = NULL;
    struct wave_result r = {0};
    int raster = -1, first = -1, found = -1;
    int rc = pdf_vectors_new(&v);
    for (int p = 0; !rc && found < 0 && p < pdf_doc_page_count(doc); p++) {
        if (!cfg_pages_has(&cfg->waveform_pages, p + 1))
            continue;
        rc = pdf_doc_vectors(doc, p, v);
        if (!rc)
            rc = wave_extract(v, &ws, &r);
        if (rc)
            break;
        first = first < 0 ? p : first;
        if (r.status == WAVE_EXTRACTED)
            found = p;
        else if (r.status == WAVE_RASTER_ONLY && raster < 0)
            raster = p;
    }
    wave_result_release(&r);
    pdf_vectors_free(v);
    *page = auto_page(found, raster, first);
    return rc;
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

    if (etl_reads_pages(cfg))
        read_pages(c, w, doc, pages, row, encoded);
    else
        render_regions(c, w, doc, cfg->crop_page - 1, pages, row, encoded);
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

/* What the writes of one PDF's images came to. */
struct puts {
    int failed_rc; /* the first error, for the destination's health check */
    bool any_ok;
    struct buf key, what;
};

/* Store one image; its key (relative to the destination root) goes into
 * the row. An image that cannot be written fails the row (its other
 * outputs are of no use to a dataset that expects every image). */
static void put_image(struct etl_ctx *c, struct etl_row *row, const char *name,
                      const struct buf *jpeg, struct puts *ps)
{
    buf_reset(&ps->key);
    buf_printf(&ps->key, "%s%s/%s.jpg", c->image_prefix, row->file_id, name);
    int rc =
        store_put(c->dst, ps->key.data, jpeg->data, jpeg->len, "image/jpeg", 0);
    if (rc) {
        const char *detail = store_last_error();
        LOGF(LOG_WARN, "image_put_failed", LF_S("key", ps->key.data),
             LF_S("error", etl_strerror(rc)), LF_S("detail", detail));
        /* The write decides the row's status and type, whatever problem
         * came first. */
        row->output_failed = true;
        row->error_type = c->put_error;
        row_problem(row, c->put_error, "writing %s: %s%s%s", ps->key.data,
                    etl_strerror(rc), *detail ? ": " : "", detail);
        if (!ps->failed_rc) {
            ps->failed_rc = rc;
            buf_printf(&ps->what, "writing %s: %s%s%s", ps->key.data,
                       etl_strerror(rc), *detail ? ": " : "", detail);
        }
        return;
    }
    ps->any_ok = true;
    row->image_keys[row->n_images] = buf_detach(&ps->key, NULL);
    if (row->image_keys[row->n_images])
        row->n_images++;
}

/* Write the encoded crops, then the lead crops; their keys go into the
 * row in that order (regions in region order). The first error is
 * reported to the destination's health check. */
static void put_images(struct etl_ctx *c, struct etl_worker *w,
                       struct etl_row *row, const bool *encoded)
{
    size_t want = w->n_lead_jpegs;
    for (size_t i = 0; i < c->crops.n; i++)
        want += encoded[i];
    if (!want)
        return;
    row->image_keys = calloc(want, sizeof(*row->image_keys));
    if (!row->image_keys) {
        row_problem(row, "out_of_memory", "out of memory");
        return;
    }
    struct puts ps = {0, false, BUF_INIT, BUF_INIT};
    for (size_t i = 0; i < c->crops.n; i++) {
        if (encoded[i])
            put_image(c, row, c->crops.regions[i].name, &w->jpegs[i], &ps);
    }
    for (size_t i = 0; i < w->n_lead_jpegs; i++)
        put_image(c, row, w->lead_names[i], &w->lead_jpegs[i], &ps);
    etl_dest_note(c, ps.failed_rc, ps.any_ok, ps.what.data);
    buf_release(&ps.key);
    buf_release(&ps.what);
}

/* Destination-wide errors: every later put would fail the same way. */
static bool dest_wide(int rc)
{
    return rc == ETL_ENOSPC || rc == ETL_EROFS || rc == ETL_ENOTDIR ||
           rc == ETL_EAUTH || rc == ETL_ENOTFOUND;
}

void etl_dest_note(struct etl_ctx *c, int failed_rc, bool any_ok,
                   const char *what)
{
    if (!failed_rc && !any_ok)
        return;
    pthread_mutex_lock(&c->dest_lock);
    if (!failed_rc) {
        c->dest_streak = c->dest_fatal = 0;
        c->dest_streak_rc = 0;
    } else {
        if (c->dest_streak == 0)
            c->dest_streak_rc = failed_rc;
        else if (c->dest_streak_rc != failed_rc)
            c->dest_streak_rc = 0;
        c->dest_streak++;
        c->dest_fatal = dest_wide(failed_rc) ? c->dest_fatal + 1 : 0;
        bool broken =
            c->dest_fatal >= ETL_DEST_FATAL_STREAK ||
            (c->dest_streak_rc && c->dest_streak >= ETL_DEST_SAME_STREAK);
        if (broken && !atomic_load(&c->dest_broken)) {
            snprintf(c->dest_reason, sizeof(c->dest_reason),
                     "%u PDFs in a row could not write their outputs, the "
                     "last %s",
                     c->dest_streak, what ? what : etl_strerror(failed_rc));
            atomic_store(&c->dest_broken, true);
            LOGF(LOG_ERROR, "destination_broken",
                 LF_S("reason", c->dest_reason));
        }
    }
    pthread_mutex_unlock(&c->dest_lock);
}

int etl_row_init(const struct etl_ctx *c, const char *key, int64_t size,
                 struct etl_row *row)
{
    memset(row, 0, sizeof(*row));
    buf_init(&row->text, 0);
    buf_init(&row->error, 0);
    row->page_count = -1;
    row->repaired = -1;
    row->wave_status = ETL_WAVE_NULL;
    row->size_bytes = size;
    row->status = ETL_STATUS_FAILED;
    struct buf text = BUF_INIT, id = BUF_INIT;
    if (etl_key_text(key, &text) || etl_file_id(key, c->src_prefix, &id)) {
        buf_release(&text);
        buf_release(&id);
        return ETL_ENOMEM;
    }
    row->source_key = buf_detach(&text, NULL);
    row->file_id = buf_detach(&id, NULL);
    return row->source_key && row->file_id ? 0 : ETL_ENOMEM;
}

/* Why a listed key cannot be processed, or NULL: it must be one that
 * reads safely and whose crops' keys fit. */
static const char *key_unusable(const struct etl_ctx *c, const char *key,
                                const char *file_id, struct buf *why)
{
    size_t n = strlen(key);
    if (!utf8_valid(key, n))
        return "the key is not valid UTF-8; source_key holds it "
               "percent-escaped (%XX for each byte that is not UTF-8, and "
               "for '%')";
    if (n > STORE_KEY_MAX) {
        buf_printf(why,
                   "the key is %zu bytes long, more than an object key "
                   "may have (%d)",
                   n, STORE_KEY_MAX);
        return why->data;
    }
    if (store_key_readable(key))
        return "the key is absolute or has an empty, \".\" or \"..\" part, "
               "so it cannot be read safely";
    /* Lead crops' names are at most ETL_LEAD_NAME_MAX - 1 bytes. */
    size_t longest = c->cfg->crop_leads ? ETL_LEAD_NAME_MAX - 1 : 0;
    for (size_t i = 0; i < c->crops.n; i++) {
        size_t len = strlen(c->crops.regions[i].name);
        if (len > longest)
            longest = len;
    }
    size_t crop = strlen(c->image_prefix) + strlen(file_id) + 1 + longest + 4;
    if (crop > STORE_KEY_MAX) {
        buf_printf(why,
                   "its crops' keys would be %zu bytes long, more than "
                   "an object key may have (%d)",
                   crop, STORE_KEY_MAX);
        return why->data;
    }
    return NULL;
}

void etl_process_pdf(struct etl_ctx *c, struct etl_worker *w, const char *key,
                     int64_t listed_size, struct etl_row *row)
{
    const struct etl_config *cfg = c->cfg;
    double t0 = clock_mono_ms();
    bool encoded[CROP_MAX_REGIONS] = {false};

    w->n_lead_jpegs = 0;
    struct buf why = BUF_INIT;
    if (etl_row_init(c, key, listed_size, row)) {
        row_problem(row, "out_of_memory", "out of memory");
        goto out;
    }
    /* Lines logged while on this PDF (MuPDF's warnings too) name it. */
    log_context_set("file_id", row->file_id);
    const char *unusable = key_unusable(c, key, row->file_id, &why);
    if (unusable) {
        row_problem(row, "bad_key", "%s", unusable);
        goto out;
    }

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
    buf_release(&why);
    log_context_set("file_id", NULL);
    /* A buffer grown by one huge PDF should not pin memory for the rest of
     * the run. */
    if (w->bytes.cap > (64u << 20))
        buf_release(&w->bytes);
    else
        buf_reset(&w->bytes);

    /* A failed output fails the row, whatever else it got; success is
     * every region's crop and every lead crop found, written. */
    bool usable = !row->output_failed && row->source_key && row->file_id;
    if (usable && row->n_images == c->crops.n + w->n_lead_jpegs &&
        !row->error_type)
        row->status = ETL_STATUS_SUCCESS;
    else if (usable && (row->has_text || row->n_images))
        row->status = ETL_STATUS_PARTIAL;
    else
        row->status = ETL_STATUS_FAILED;
    row->processing_time_ms = clock_mono_ms() - t0;
    row->processed_at_ms = clock_wall_ms();
}
