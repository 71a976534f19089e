/* Documents: open, page text (as PyMuPDF 1.21 prints it) and rendering. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "pdf/pdf_int.h"

/* Readers accept the header anywhere in the first 1024 bytes (PDF 1.7,
 * Annex H). A file MuPDF cannot open is a damaged PDF if it has one, and
 * not a PDF at all (an HTML or XML error body, say) if it has none. */
static bool has_pdf_header(const void *data, size_t len)
{
    size_t n = len < 1024 ? len : 1024;
    return n >= 5 && memmem(data, n, "%PDF-", 5) != NULL;
}

static void log_caught(fz_context *ctx, const char *op, int rc)
{
    char text[PDF_LOG_MESSAGE_MAX];
    LOGF(LOG_DEBUG, "pdf_op_failed", LF_S("op", op),
         LF_S("error", etl_errname(rc)),
         LF_S("message",
              pdf_log_message(fz_caught_message(ctx), text, sizeof(text))));
}

int pdf_doc_open(struct pdf_worker *w, const void *data, size_t len,
                 struct pdf_doc **out)
{
    *out = NULL;
    if (!w || (!data && len))
        return ETL_EINVAL;
    if (len == 0)
        return ETL_EPDF_EMPTY;
    struct pdf_doc *d = calloc(1, sizeof(*d));
    if (!d)
        return ETL_ENOMEM;
    d->w = w;
    d->page_no = -1;
    pdf_deadline_arm(d);

    fz_context *ctx = w->ctx;
    fz_stream *stm = NULL;
    pdf_document *pdf = NULL;
    int count = 0, rc = pdf_op_begin(d);
    if (rc)
        goto out;
    fz_var(stm);
    fz_var(pdf);
    fz_var(count);
    fz_var(rc);
    fz_try(ctx)
    {
        /* fz_open_memory borrows the bytes: no copy of the PDF. */
        stm = fz_open_memory(ctx, data, len);
        pdf = pdf_open_document_with_stream(ctx, stm);
        /* MuPDF already tried the empty user password while opening;
         * asking again is cheap and makes the rule explicit. */
        if (pdf_needs_password(ctx, pdf) &&
            !pdf_authenticate_password(ctx, pdf, ""))
            rc = ETL_EPDF_ENCRYPTED;
        else
            count = fz_count_pages(ctx, &pdf->super);
    }
    fz_always(ctx)
    {
        fz_drop_stream(ctx, stm);
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, has_pdf_header(data, len) ? ETL_EPDF_DAMAGED
                                                            : ETL_EPDF_NOTPDF);
        log_caught(ctx, "open", rc);
    }
    rc = pdf_op_end(d, rc);
    if (!rc && w->e->limits.max_pages > 0 && count > w->e->limits.max_pages)
        rc = ETL_EPDF_TOOCOMPLEX;
    d->pdf = pdf;
    d->page_count = count > 0 ? count : 0;
out:
    if (rc) {
        pdf_doc_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void pdf_doc_free(struct pdf_doc *d)
{
    if (!d)
        return;
    pdf_deadline_disarm(d);
    fz_context *ctx = d->w->ctx;
    fz_drop_display_list(ctx, d->list);
    fz_drop_page(ctx, d->page);
    fz_drop_document(ctx, d->pdf ? &d->pdf->super : NULL);
    /* MuPDF holds back a repeated warning to count it: print it now, while
     * the log context still names this document, and let the next document
     * start afresh (its first warning, if equal to this one's last, would
     * be counted instead of printed). */
    fz_flush_warnings(ctx);
    free(d);
}

int pdf_doc_page_count(const struct pdf_doc *d)
{
    return d ? d->page_count : 0;
}

bool pdf_doc_repaired(const struct pdf_doc *d)
{
    if (!d || !d->pdf)
        return false;
    return pdf_was_repaired(d->w->ctx, d->pdf) != 0;
}

/* Load page (keeping it for the next operation). Inside an operation. */
int pdfi_load_page(struct pdf_doc *d, int page)
{
    if (page < 0 || page >= d->page_count)
        return ETL_EPDF_NOPAGE;
    if (d->page && d->page_no == page)
        return 0;
    fz_context *ctx = d->w->ctx;
    int rc = 0;
    fz_var(rc);
    fz_drop_display_list(ctx, d->list);
    d->list = NULL;
    fz_drop_page(ctx, d->page);
    d->page = NULL;
    d->page_no = -1;
    fz_try(ctx)
    {
        d->page = fz_load_page(ctx, &d->pdf->super, page);
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
        log_caught(ctx, "load_page", rc);
    }
    if (!rc)
        d->page_no = page;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Text. PyMuPDF 1.21's page.get_text() is: flags PRESERVE_LIGATURES |
 * PRESERVE_WHITESPACE | MEDIABOX_CLIP, the page's /Rotate temporarily set
 * to 0, a text page over fz_bound_page() filled by fz_run_page() (so
 * annotations count too), then every text line's characters whose
 * (corrected) bounding box lies inside the page, each line ended by a
 * newline unless its last character was one; decoded as UTF-8 with
 * replacement. */

#define PYMUPDF_TEXT_FLAGS                                                     \
    (FZ_STEXT_PRESERVE_LIGATURES | FZ_STEXT_PRESERVE_WHITESPACE |              \
     FZ_STEXT_MEDIABOX_CLIP)

/* A /Rotate as PyMuPDF normalises it: multiples of 90 in [0, 360), any
 * other value counts as 0. */
static int norm_rotation(int r)
{
    r %= 360;
    if (r < 0)
        r += 360;
    return r % 90 ? 0 : r;
}

/* PyMuPDF recomputes a glyph's quad when the font's ascender and
 * descender span less than one em (fonts with bogus metrics), so such
 * glyphs are not dropped by the page-box test. Same float arithmetic. */
static fz_quad char_quad(fz_context *ctx, const fz_stext_line *line,
                         const fz_stext_char *ch)
{
    if (line->wmode)
        return ch->quad;
    fz_font *font = ch->font;
    float asc = fz_font_ascender(ctx, font);
    float dsc = fz_font_descender(ctx, font);
    float fsize = ch->size;
    float span = asc - dsc + FLT_EPSILON;
    if (span >= 1)
        return ch->quad;
    if (asc < 1e-3) { /* e.g. a glyphless OCR font */
        dsc = -0.1f;
        asc = 0.9f;
        span = 1.0f;
    }
    if (span < 1) {
        dsc = dsc / span;
        asc = asc / span;
    }
    span = asc - dsc;
    asc = asc * fsize / span;
    dsc = dsc * fsize / span;

    /* Work in the glyph's own frame: origin at (0,0), baseline along x. */
    float c = line->dir.x, s = line->dir.y;
    fz_matrix derot = fz_make_matrix(c, -s, s, c, 0, 0);
    fz_matrix rot = fz_make_matrix(c, s, -s, c, 0, 0);
    if (c == -1) {
        derot.d = 1;
        rot.d = 1;
    }
    fz_matrix to0 = fz_make_matrix(1, 0, 0, 1, -ch->origin.x, -ch->origin.y);
    fz_matrix back = fz_make_matrix(1, 0, 0, 1, ch->origin.x, ch->origin.y);
    fz_quad q = fz_transform_quad(fz_transform_quad(ch->quad, to0), derot);
    if (c == 1 && q.ul.y > 0) {
        q.ul.y = q.ur.y = asc;
        q.ll.y = q.lr.y = dsc;
    } else {
        q.ul.y = q.ur.y = -asc;
        q.ll.y = q.lr.y = -dsc;
    }
    if (q.ll.x < 0)
        q.ll.x = q.ul.x = 0;
    if (q.lr.x - q.ll.x < FLT_EPSILON) {
        int glyph = fz_encode_character(ctx, font, ch->c);
        if (glyph) {
            float adv = fz_advance_glyph(ctx, font, glyph, line->wmode);
            q.lr.x = q.ll.x + adv * fsize;
            q.ur.x = q.lr.x;
        }
    }
    return fz_transform_quad(fz_transform_quad(q, rot), back);
}

static fz_rect char_bbox(fz_context *ctx, const fz_stext_line *line,
                         const fz_stext_char *ch)
{
    fz_rect r = fz_rect_from_quad(char_quad(ctx, line, ch));
    if (line->wmode && r.y1 < r.y0 + ch->size)
        r.y0 = r.y1 - ch->size;
    return r;
}

/* The text (out, may be NULL) and the layout (acc, may be NULL) in one
 * walk: the layout gets exactly the characters the text holds. */
static void print_text(fz_context *ctx, fz_stext_page *tp, fz_buffer *out,
                       struct pdfi_layout_acc *acc)
{
    fz_rect page = tp->mediabox;
    bool everything = fz_is_infinite_rect(page);
    for (fz_stext_block *b = tp->first_block; b; b = b->next) {
        if (b->type != FZ_STEXT_BLOCK_TEXT)
            continue;
        for (fz_stext_line *l = b->u.t.first_line; l; l = l->next) {
            int last = 0;
            if (acc)
                pdfi_layout_line(acc, l);
            for (fz_stext_char *ch = l->first_char; ch; ch = ch->next) {
                fz_rect box = fz_empty_rect;
                if (!everything) {
                    box = char_bbox(ctx, l, ch);
                    if (!fz_contains_rect(page, box))
                        continue;
                } else if (acc) {
                    box = fz_rect_from_quad(ch->quad);
                }
                if (acc)
                    pdfi_layout_char(acc, ch, box);
                last = ch->c;
                if (!out)
                    continue;
                if (ch->c >= 0xd800 && ch->c <= 0xdfff) {
                    /* MuPDF writes a surrogate as three bytes that
                     * Python's UTF-8 decoder replaces one by one. */
                    for (int i = 0; i < 3; i++)
                        fz_append_string(ctx, out, "\xef\xbf\xbd");
                } else {
                    char utf[FZ_UTFMAX];
                    int n = fz_runetochar(utf, ch->c);
                    fz_append_data(ctx, out, utf, (size_t)n);
                }
            }
            if (out && last != '\n' && last > 0)
                fz_append_byte(ctx, out, '\n');
        }
    }
}

int pdf_doc_text(struct pdf_doc *d, int page, struct buf *out)
{
    if (!out)
        return ETL_EINVAL;
    return pdf_doc_text_layout(d, page, out, NULL);
}

int pdf_doc_text_layout(struct pdf_doc *d, int page, struct buf *out,
                        struct pdf_layout *layout)
{
    if (!d || (!out && !layout))
        return ETL_EINVAL;
    if (layout)
        pdf_layout_reset(layout);
    int rc = pdf_op_begin(d);
    if (rc)
        return rc;
    rc = pdfi_load_page(d, page);
    if (rc)
        return pdf_op_end(d, rc);

    fz_context *ctx = d->w->ctx;
    fz_stext_page *tp = NULL;
    fz_device *dev = NULL;
    fz_buffer *text = NULL;
    pdf_obj *pobj = pdf_page_from_fz_page(ctx, d->page)->obj;
    int rotate = 0;
    struct pdfi_layout_acc acc;
    if (layout)
        pdfi_layout_begin(&acc, layout);
    fz_var(acc);
    fz_var(tp);
    fz_var(dev);
    fz_var(text);
    fz_var(rotate);
    fz_try(ctx)
    {
        rotate = norm_rotation(pdf_to_int(
            ctx, pdf_dict_get_inheritable(ctx, pobj, PDF_NAME(Rotate))));
        if (rotate)
            pdf_dict_put_int(ctx, pobj, PDF_NAME(Rotate), 0);
        fz_stext_options opts = {.flags = PYMUPDF_TEXT_FLAGS};
        tp = fz_new_stext_page(ctx, fz_bound_page(ctx, d->page));
        dev = fz_new_stext_device(ctx, tp, &opts);
        fz_run_page(ctx, d->page, dev, fz_identity, &d->cookie);
        fz_close_device(ctx, dev);
        if (out)
            text = fz_new_buffer(ctx, 1024);
        if (layout && !fz_is_infinite_rect(tp->mediabox)) {
            layout->page_w = tp->mediabox.x1 - tp->mediabox.x0;
            layout->page_h = tp->mediabox.y1 - tp->mediabox.y0;
        }
        print_text(ctx, tp, text, layout ? &acc : NULL);
    }
    fz_always(ctx)
    {
        fz_drop_device(ctx, dev);
        fz_drop_stext_page(ctx, tp);
        if (rotate) {
            fz_try(ctx)
            {
                pdf_dict_put_int(ctx, pobj, PDF_NAME(Rotate), rotate);
            }
            fz_catch(ctx)
            {
                /* Only rendering of a later call could notice. */
                fz_warn(ctx, "cannot restore page rotation");
            }
        }
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
        log_caught(ctx, "text", rc);
    }
    rc = pdf_op_end(d, rc);
    if (layout) {
        int lrc = pdfi_layout_end(&acc);
        if (!rc)
            rc = lrc;
        if (rc)
            pdf_layout_reset(layout);
    }
    if (!rc && out) {
        unsigned char *data = NULL;
        size_t len = fz_buffer_storage(ctx, text, &data);
        rc = buf_add(out, data, len);
    }
    fz_drop_buffer(ctx, text);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Rendering */

/* PyMuPDF builds its matrix from the double dpi / 72. */
fz_matrix pdfi_dpi_matrix(int dpi)
{
    float zoom = (float)(dpi / 72.0);
    return fz_scale(zoom, zoom);
}

fz_irect pdfi_page_irect(fz_context *ctx, fz_page *page, int dpi)
{
    return fz_round_rect(
        fz_transform_rect(fz_bound_page(ctx, page), pdfi_dpi_matrix(dpi)));
}

int pdf_doc_page_pixels(struct pdf_doc *d, int page, int dpi,
                        struct pdf_irect *out)
{
    if (!d || !out || dpi <= 0)
        return ETL_EINVAL;
    int rc = pdf_op_begin(d);
    if (rc)
        return rc;
    rc = pdfi_load_page(d, page);
    if (!rc) {
        fz_context *ctx = d->w->ctx;
        fz_irect r = {0, 0, 0, 0};
        fz_var(r);
        fz_try(ctx)
        {
            r = pdfi_page_irect(ctx, d->page, dpi);
        }
        fz_catch(ctx)
        {
            rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
            log_caught(ctx, "bound_page", rc);
        }
        *out = (struct pdf_irect){r.x0, r.y0, r.x1, r.y1};
    }
    return pdf_op_end(d, rc);
}

/* A clip is drawn with this many extra pixels around it (within the
 * page) and the box handed out is a view inside: the rasteriser cuts the
 * edges that cross its clip with rounded intersections, so pixels next to
 * a clip edge can differ slightly from a full-page render. One point keeps
 * that to a few stroke-edge pixels in 100,000, by up to 16 levels (`make
 * bench` measures it: "clip against page mode"). A wider margin makes clip
 * crops match page crops more often, but every path that reaches into it
 * is rasterised along its whole length: two points pulled the next lead
 * column's trace into the original's region on the generated ECG pages and
 * cost 14% of the CPU per PDF. */
static int clip_margin(int dpi)
{
    return (dpi + 71) / 72;
}

static bool box_ok(const struct pdf_irect *b)
{
    return b->x0 < b->x1 && b->y0 < b->y1;
}

static bool box_inside(const struct pdf_irect *b, fz_irect r)
{
    return b->x0 >= r.x0 && b->y0 >= r.y0 && b->x1 <= r.x1 && b->y1 <= r.y1;
}

static bool too_many_pixels(const struct pdf_engine *e, fz_irect r)
{
    int64_t n = (int64_t)(r.x1 - r.x0) * (r.y1 - r.y0);
    return e->limits.max_region_pixels > 0 && n > e->limits.max_region_pixels;
}

/* Draw list into a new white RGB pixmap covering box, as mutool draw does:
 * the draw device gets the identity and the list is run with ctm (passing
 * ctm to both would scale twice). PyMuPDF's get_pixmap() puts the matrix
 * on the device and runs the list with the identity instead: the same
 * product, and the same pixels. */
static fz_pixmap *draw_box(fz_context *ctx, fz_display_list *list,
                           fz_matrix ctm, fz_irect box, fz_rect scissor,
                           fz_cookie *cookie)
{
    fz_pixmap *pix =
        fz_new_pixmap_with_bbox(ctx, fz_device_rgb(ctx), box, NULL, 0);
    fz_device *dev = NULL;
    fz_var(dev);
    fz_try(ctx)
    {
        fz_clear_pixmap_with_value(ctx, pix, 0xff);
        dev = fz_new_draw_device(ctx, fz_identity, pix);
        fz_run_display_list(ctx, list, dev, ctm, scissor, cookie);
        fz_close_device(ctx, dev);
    }
    fz_always(ctx)
    {
        fz_drop_device(ctx, dev);
    }
    fz_catch(ctx)
    {
        fz_drop_pixmap(ctx, pix);
        fz_rethrow(ctx);
    }
    return pix;
}

/* draw_box() with the exception turned into a code. */
static int draw_box_rc(fz_context *ctx, fz_display_list *list, fz_matrix ctm,
                       fz_irect box, fz_rect scissor, fz_cookie *cookie,
                       const char *op, fz_pixmap **out)
{
    int rc = 0;
    fz_var(rc);
    *out = NULL;
    fz_try(ctx)
    {
        *out = draw_box(ctx, list, ctm, box, scissor, cookie);
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
        log_caught(ctx, op, rc);
    }
    return rc;
}

fz_display_list *pdfi_page_list(fz_context *ctx, fz_page *page,
                                fz_cookie *cookie)
{
    fz_display_list *list = fz_new_display_list(ctx, fz_bound_page(ctx, page));
    fz_device *dev = NULL;
    fz_var(dev);
    fz_try(ctx)
    {
        dev = fz_new_list_device(ctx, list);
        fz_run_page(ctx, page, dev, fz_identity, cookie);
        fz_close_device(ctx, dev);
    }
    fz_always(ctx)
    {
        fz_drop_device(ctx, dev);
    }
    fz_catch(ctx)
    {
        fz_drop_display_list(ctx, list);
        fz_rethrow(ctx);
    }
    return list;
}

int pdfi_doc_list(struct pdf_doc *d, fz_display_list **out)
{
    *out = NULL;
    if (!d->page)
        return ETL_EPDF_NOPAGE;
    if (d->list) {
        *out = d->list;
        return 0;
    }
    fz_context *ctx = d->w->ctx;
    fz_display_list *list = NULL;
    int rc = 0;
    fz_var(list);
    fz_var(rc);
    fz_try(ctx)
    {
        list = pdfi_page_list(ctx, d->page, &d->cookie);
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
        log_caught(ctx, "display_list", rc);
    }
    if (rc)
        return rc;
    d->lists_built++;
    /* Interpretation stopped by the clock may leave a partial list without
     * an exception: never keep one for the next operation. */
    if (atomic_load(&d->expired)) {
        fz_drop_display_list(ctx, list);
        return ETL_EPDF_TIMEOUT;
    }
    d->list = list;
    *out = list;
    return 0;
}

unsigned pdfi_doc_lists_built(const struct pdf_doc *d)
{
    return d ? d->lists_built : 0;
}

/* b grown by m pixels on every side. A function rather than a compound
 * literal: gcc -O0 warns that literals in a function using setjmp (fz_try)
 * might be clobbered. */
static fz_irect grown_irect(const struct pdf_irect *b, int m)
{
    fz_irect r = {b->x0 - m, b->y0 - m, b->x1 + m, b->y1 + m};
    return r;
}

void pdfi_paint_white(fz_context *ctx, fz_pixmap *pix,
                      const struct pdf_irect *areas, size_t n)
{
    fz_irect pb = fz_pixmap_bbox(ctx, pix);
    unsigned char *s = fz_pixmap_samples(ctx, pix);
    ptrdiff_t stride = fz_pixmap_stride(ctx, pix);
    int comps = fz_pixmap_components(ctx, pix);
    for (size_t i = 0; i < n; i++) {
        fz_irect a = {areas[i].x0, areas[i].y0, areas[i].x1, areas[i].y1};
        fz_irect r = fz_intersect_irect(a, pb);
        if (fz_is_empty_irect(r))
            continue;
        for (int y = r.y0; y < r.y1; y++)
            memset(s + (ptrdiff_t)(y - pb.y0) * stride +
                       (ptrdiff_t)(r.x0 - pb.x0) * comps,
                   0xff, (size_t)(r.x1 - r.x0) * (size_t)comps);
    }
}

static int64_t irect_area(fz_irect r)
{
    return fz_is_empty_irect(r) ? 0 : (int64_t)(r.x1 - r.x0) * (r.y1 - r.y0);
}

static fz_irect irect_union(fz_irect a, fz_irect b)
{
    fz_irect r = {a.x0 < b.x0 ? a.x0 : b.x0, a.y0 < b.y0 ? a.y0 : b.y0,
                  a.x1 > b.x1 ? a.x1 : b.x1, a.y1 > b.y1 ? a.y1 : b.y1};
    return r;
}

/* Give fn each box as a view into pix, which covers every box. */
static int hand_out_views(fz_context *ctx, fz_pixmap *pix,
                          const struct pdf_irect *boxes, size_t n,
                          pdf_image_fn fn, void *arg)
{
    const unsigned char *s = fz_pixmap_samples(ctx, pix);
    ptrdiff_t stride = fz_pixmap_stride(ctx, pix);
    int px = fz_pixmap_x(ctx, pix), py = fz_pixmap_y(ctx, pix);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const struct pdf_irect *b = &boxes[i];
        const unsigned char *p =
            s + (ptrdiff_t)(b->y0 - py) * stride + (ptrdiff_t)(b->x0 - px) * 3;
        rc = fn(arg, i, p, b->x1 - b->x0, b->y1 - b->y0, stride);
    }
    return rc;
}

int pdf_doc_render(struct pdf_doc *d, int page, int dpi,
                   const struct pdf_irect *boxes, size_t n,
                   enum pdf_render_mode mode, pdf_image_fn fn, void *arg)
{
    return pdf_doc_render_redacted(d, page, dpi, boxes, n, NULL, 0, mode, fn,
                                   arg);
}

int pdf_doc_render_redacted(struct pdf_doc *d, int page, int dpi,
                            const struct pdf_irect *boxes, size_t n,
                            const struct pdf_irect *redact, size_t nredact,
                            enum pdf_render_mode mode, pdf_image_fn fn,
                            void *arg)
{
    if (!d || dpi <= 0 || (n && !boxes) || !fn || (nredact && !redact) ||
        (mode != PDF_RENDER_CLIP && mode != PDF_RENDER_PAGE))
        return ETL_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!box_ok(&boxes[i]))
            return ETL_EINVAL;
    }
    int rc = pdf_op_begin(d);
    if (rc)
        return rc;
    rc = pdfi_load_page(d, page);
    if (rc)
        return pdf_op_end(d, rc);

    fz_context *ctx = d->w->ctx;
    const struct pdf_engine *e = d->w->e;
    fz_display_list *list = NULL;
    fz_pixmap *pix = NULL;
    fz_matrix ctm = pdfi_dpi_matrix(dpi);
    fz_irect full = {0, 0, 0, 0};
    int cb_rc = 0;
    fz_var(list);
    fz_var(pix);
    fz_var(full);

    fz_try(ctx)
    {
        full = pdfi_page_irect(ctx, d->page, dpi);
    }
    fz_catch(ctx)
    {
        rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
        log_caught(ctx, "bound_page", rc);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        const struct pdf_irect *b = &boxes[i];
        if (!box_inside(b, full))
            rc = ETL_EINVAL;
        else if (too_many_pixels(e, grown_irect(b, 0)))
            rc = ETL_EPDF_TOOCOMPLEX;
    }
    /* A full render is one region too: a 200 x 200 inch page would
     * otherwise take gigabytes. */
    if (!rc && mode == PDF_RENDER_PAGE && too_many_pixels(e, full))
        rc = ETL_EPDF_TOOCOMPLEX;
    if (rc || n == 0)
        goto out;

    /* Kept in d: collecting the page's vectors afterwards reuses it. */
    rc = pdfi_doc_list(d, &list);
    if (rc)
        goto out;

    if (mode == PDF_RENDER_PAGE) {
        /* One full render, exactly page.get_pixmap(dpi=dpi); the boxes
         * are views into it. */
        fz_try(ctx)
        {
            pix = draw_box(ctx, list, ctm, full, fz_infinite_rect, &d->cookie);
        }
        fz_catch(ctx)
        {
            rc = pdf_caught_code(ctx, ETL_EPDF_DAMAGED);
            log_caught(ctx, "render_page", rc);
        }
        if (rc || atomic_load(&d->expired))
            goto out;
        pdfi_paint_white(ctx, pix, redact, nredact);
        cb_rc = hand_out_views(ctx, pix, boxes, n, fn, arg);
        goto out;
    }

    /* Clip mode. Each run of the list strokes every path whose bounds meet
     * the scissor, in full, so several boxes on one page cost far more
     * drawn one by one than drawn once as their union: when the union is
     * not much larger than the boxes (with their margins), draw it once and
     * hand out views into it; otherwise draw each box alone, the list
     * culled to it by the scissor. */
    int m = clip_margin(dpi);
    fz_irect uni = fz_empty_irect;
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        fz_irect a = fz_intersect_irect(grown_irect(&boxes[i], m), full);
        uni = i ? irect_union(uni, a) : a;
        sum += irect_area(a);
    }
    if (n > 1 && irect_area(uni) <= sum + sum / 2 && !too_many_pixels(e, uni)) {
        rc = draw_box_rc(ctx, list, ctm, uni, fz_rect_from_irect(uni),
                         &d->cookie, "render_union", &pix);
        if (rc || atomic_load(&d->expired))
            goto out;
        pdfi_paint_white(ctx, pix, redact, nredact);
        cb_rc = hand_out_views(ctx, pix, boxes, n, fn, arg);
        goto out;
    }
    for (size_t i = 0; !cb_rc && i < n; i++) {
        const struct pdf_irect *b = &boxes[i];
        fz_irect area = fz_intersect_irect(grown_irect(b, m), full);
        rc = draw_box_rc(ctx, list, ctm, area, fz_rect_from_irect(area),
                         &d->cookie, "render_clip", &pix);
        if (rc || atomic_load(&d->expired))
            break;
        /* Painted over the drawn pixels: the same result as painting the
         * full page, whatever the clip. */
        pdfi_paint_white(ctx, pix, redact, nredact);
        ptrdiff_t stride = fz_pixmap_stride(ctx, pix);
        const unsigned char *p = fz_pixmap_samples(ctx, pix) +
                                 (ptrdiff_t)(b->y0 - area.y0) * stride +
                                 (ptrdiff_t)(b->x0 - area.x0) * 3;
        cb_rc = fn(arg, i, p, b->x1 - b->x0, b->y1 - b->y0, stride);
        fz_drop_pixmap(ctx, pix);
        pix = NULL;
    }

out:
    fz_drop_pixmap(ctx, pix);
    rc = pdf_op_end(d, rc);
    /* A callback's own error is returned as is. */
    return rc ? rc : cb_rc;
}
